//! Embedders: text → fixed-size `f32` vectors, behind one trait.
//!
//! - [`FastembedEmbedder`]: ONNX Runtime in process through fastembed. A local model
//!   folder (fastembed's user-defined model API) or a named fastembed model
//!   (downloaded from the Hugging Face hub on first use). onnxruntime itself is
//!   loaded at run time from `libonnxruntime.so` ([`runtime::onnxruntime_library`]).
//! - [`RemoteEmbedder`]: an OpenAI-compatible `POST {url}/embeddings` endpoint, batched,
//!   retried with exponential backoff, honouring `429` and `Retry-After`.
//!
//! Every vector an embedder returns is L2-normalised, so the dot product is the
//! cosine similarity. [`embed_batched`] sorts texts by length before batching, so
//! that a batch pads to a similar length (padding is wasted arithmetic).

mod local;
mod remote;
pub mod runtime;

use std::time::Instant;

pub use codectx_core::{EmbedConfig, EmbedProvider, Error, ModelVariant, Result};
pub use local::FastembedEmbedder;
pub use remote::RemoteEmbedder;

/// Something that turns texts into vectors.
///
/// Implementations are `Send + Sync`; a call may block for a long time (model
/// inference, HTTP), so async callers run it on a blocking thread.
pub trait Embedder: Send + Sync + std::fmt::Debug {
    /// Identifies the model and everything that changes its vectors (file hash,
    /// truncation length). Stored with every vector; a change re-embeds the index.
    fn model_id(&self) -> &str;
    /// Length of every vector (384 for all-MiniLM-L6-v2).
    fn dimension(&self) -> usize;
    /// Largest batch one [`Embedder::embed`] call should get.
    fn batch_size(&self) -> usize;
    /// Embeds `texts`, one L2-normalised vector of [`Embedder::dimension`] floats per
    /// text, in order. Texts longer than the model's limit are truncated.
    ///
    /// Errors: [`Error::Embedding`] when inference or the endpoint fails.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>>;
}

/// Progress of [`embed_batched`]: texts done out of the total, and the elapsed time.
#[derive(Debug, Clone, Copy)]
pub struct EmbedProgress {
    /// Texts embedded so far.
    pub done: usize,
    /// Texts in all.
    pub total: usize,
    /// Seconds since the call began.
    pub elapsed_secs: f64,
}

impl EmbedProgress {
    /// Texts per second so far.
    pub fn rate(&self) -> f64 {
        if self.elapsed_secs > 0.0 {
            self.done as f64 / self.elapsed_secs
        } else {
            0.0
        }
    }
}

/// Embeds many texts: sorted by length (longest first, so the first batches show the
/// worst case in the rate), cut into batches of [`Embedder::batch_size`], results put
/// back in input order. `progress` is called after every batch.
pub fn embed_batched(
    embedder: &dyn Embedder,
    texts: &[&str],
    progress: &mut dyn FnMut(EmbedProgress),
) -> Result<Vec<Vec<f32>>> {
    let started = Instant::now();
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_by_key(|&index| std::cmp::Reverse(texts[index].len()));
    let mut out: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
    let batch_size = embedder.batch_size().max(1);
    let mut done = 0;
    for batch in order.chunks(batch_size) {
        let inputs: Vec<&str> = batch.iter().map(|&index| texts[index]).collect();
        let vectors = embedder.embed(&inputs)?;
        if vectors.len() != inputs.len() {
            return Err(Error::Embedding(format!(
                "{} returned {} vectors for {} texts",
                embedder.model_id(),
                vectors.len(),
                inputs.len()
            )));
        }
        for (&index, vector) in batch.iter().zip(vectors) {
            out[index] = vector;
        }
        done += batch.len();
        progress(EmbedProgress { done, total: texts.len(), elapsed_secs: started.elapsed().as_secs_f64() });
    }
    Ok(out)
}

/// Builds the embedder `config` selects. `Ok(None)` for `provider = "none"`.
///
/// Errors: [`Error::Embedding`] naming the fix when onnxruntime cannot be found or
/// loaded, the model folder is incomplete, the named model is unknown or cannot be
/// downloaded, or `remote` has no URL or model.
pub fn from_config(config: &EmbedConfig) -> Result<Option<Box<dyn Embedder>>> {
    Ok(match config.provider {
        EmbedProvider::None => None,
        EmbedProvider::Fastembed => Some(Box::new(FastembedEmbedder::load(config)?)),
        EmbedProvider::Remote => Some(Box::new(RemoteEmbedder::new(config)?)),
    })
}

/// Checks that every vector has `dimension` floats (0 = not known yet) and
/// L2-normalises them; the error names `source` (model id or endpoint).
pub(crate) fn unit_vectors(source: &str, dimension: usize, mut vectors: Vec<Vec<f32>>) -> Result<Vec<Vec<f32>>> {
    for vector in &mut vectors {
        if dimension != 0 && vector.len() != dimension {
            return Err(Error::Embedding(format!(
                "{source} returned a vector of {} floats, expected {dimension}",
                vector.len()
            )));
        }
        normalize(vector);
    }
    Ok(vectors)
}

/// Scales `vector` to unit L2 length in place (a zero vector stays zero).
pub fn normalize(vector: &mut [f32]) {
    let norm = vector.iter().map(|value| value * value).sum::<f32>().sqrt();
    if norm > 0.0 {
        for value in vector {
            *value /= norm;
        }
    }
}

/// Cosine similarity of two vectors of the same length (dot product of the
/// normalised vectors); 0 when either is zero.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm_a = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let norm_b = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm_a == 0.0 || norm_b == 0.0 {
        0.0
    } else {
        dot / (norm_a * norm_b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Embeds a text as `[len, 1]`, recording batch sizes.
    #[derive(Debug)]
    struct Lengths {
        calls: AtomicUsize,
    }

    impl Embedder for Lengths {
        fn model_id(&self) -> &str {
            "lengths"
        }
        fn dimension(&self) -> usize {
            2
        }
        fn batch_size(&self) -> usize {
            2
        }
        fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
            self.calls.fetch_add(1, Ordering::Relaxed);
            let lengths: Vec<usize> = texts.iter().map(|text| text.len()).collect();
            // Sorted by length: a batch never mixes the longest with the shortest.
            assert!(lengths.windows(2).all(|pair| pair[0] >= pair[1]), "batch not length-sorted: {lengths:?}");
            Ok(texts.iter().map(|text| vec![text.len() as f32, 1.0]).collect())
        }
    }

    #[test]
    fn batches_by_length_and_restores_input_order() {
        let embedder = Lengths { calls: AtomicUsize::new(0) };
        let texts = ["a", "aaaa", "aa", "aaaaa", "aaa"];
        let mut reports = Vec::new();
        let vectors = embed_batched(&embedder, &texts, &mut |progress| reports.push(progress.done)).unwrap();
        let lengths: Vec<f32> = vectors.iter().map(|vector| vector[0]).collect();
        assert_eq!(lengths, vec![1.0, 4.0, 2.0, 5.0, 3.0]);
        assert_eq!(embedder.calls.load(Ordering::Relaxed), 3);
        assert_eq!(reports, vec![2, 4, 5]);
    }

    #[test]
    fn cosine_and_normalize() {
        let mut vector = vec![3.0, 4.0];
        normalize(&mut vector);
        assert!((vector[0] - 0.6).abs() < 1e-6 && (vector[1] - 0.8).abs() < 1e-6);
        assert!((cosine(&[1.0, 0.0], &[2.0, 0.0]) - 1.0).abs() < 1e-6);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
    }
}
