//! Embedding throughput of codectx's fastembed embedder against onnxruntime's own
//! Python API, same machine, same run, same texts, same model file and batches.
//!
//! ```text
//! CODECTX_BENCH_CORPUS=/path/to/repo cargo bench --bench embed_throughput
//! ```
//!
//! - `CODECTX_BENCH_CORPUS`: repository whose chunks are embedded (required);
//! - `CODECTX_BENCH_MODEL`: model folder (default `../shared/models/all-MiniLM-L6-v2`);
//! - `CODECTX_BENCH_CHUNKS`: chunks embedded per run (default 512);
//! - `CODECTX_BENCH_MAX_TOKENS`: truncation (default 128, the `[embed]` default).
//!
//! The texts are what the indexer embeds ([`codectx_index::vectors::embedding_text`])
//! for the corpus's first chunks in path order. The Python side
//! (`scripts/bench_onnxruntime.py`) tokenizes with the same tokenizer.json,
//! batches the same length-sorted texts, mean-pools and normalises.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use codectx_core::{EmbedConfig, ModelVariant};
use codectx_embed::{embed_batched, Embedder, FastembedEmbedder};
use codectx_index::{IndexSnapshot, Indexer};

fn main() {
    if !std::env::args().any(|arg| arg == "--bench") {
        return; // `cargo test --all-targets`: nothing to measure
    }
    let Some(corpus) = std::env::var_os("CODECTX_BENCH_CORPUS").map(PathBuf::from) else {
        eprintln!("embed_throughput: set CODECTX_BENCH_CORPUS to a repository folder");
        return;
    };
    let model = std::env::var_os("CODECTX_BENCH_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/models/all-MiniLM-L6-v2"));
    let chunks: usize = std::env::var("CODECTX_BENCH_CHUNKS").ok().and_then(|value| value.parse().ok()).unwrap_or(512);
    let max_tokens: usize =
        std::env::var("CODECTX_BENCH_MAX_TOKENS").ok().and_then(|value| value.parse().ok()).unwrap_or(128);
    let threads = std::thread::available_parallelism().map_or(1, |count| count.get());

    let index_dir = tempfile::tempdir().expect("temp dir");
    Indexer::new(&corpus, Some(index_dir.path()), Default::default()).expect("indexer").run(&|_| {}).expect("index");
    let snapshot = IndexSnapshot::open(index_dir.path()).expect("snapshot");
    let mut texts = Vec::new();
    'files: for (file, entry) in snapshot.files().iter().enumerate() {
        for (ordinal, chunk) in entry.parsed.chunks.iter().enumerate() {
            let code = snapshot.chunk_text(file as u32, ordinal as u32).expect("chunk text");
            texts.push(codectx_index::vectors::embedding_text(&entry.record.path, chunk, &code, max_tokens));
            if texts.len() == chunks {
                break 'files;
            }
        }
    }
    let texts_file = index_dir.path().join("texts.json");
    std::fs::write(&texts_file, serde_json::to_string(&texts).expect("json")).expect("write texts");
    println!(
        "{} chunks of {}, truncated at {max_tokens} tokens, batch 32, {threads} threads, model {}",
        texts.len(),
        corpus.display(),
        model.display()
    );
    println!("variant | codectx chunks/s | onnxruntime (Python) chunks/s | tokens/s (Python) | codectx / onnxruntime");
    let ort_path = codectx_core::data_home().map(|home| home.join("onnxruntime")).unwrap_or_default();
    for (variant, file) in [(ModelVariant::Fp32, "model.onnx"), (ModelVariant::Int8, "model_quantized.onnx")] {
        let config = EmbedConfig {
            model: Some(model.display().to_string()),
            variant,
            max_tokens,
            batch_size: 32,
            threads,
            ..EmbedConfig::default()
        };
        let embedder = FastembedEmbedder::load(&config).expect("load model");
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        embedder.embed(&refs[..32.min(refs.len())]).expect("warm-up");
        let started = Instant::now();
        embed_batched(&embedder, &refs, &mut |_| {}).expect("embed");
        let ours = texts.len() as f64 / started.elapsed().as_secs_f64();

        let python = Command::new("python3")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/bench_onnxruntime.py"))
            .arg("--model")
            .arg(&model)
            .args(["--onnx", file, "--batch", "32"])
            .arg("--texts")
            .arg(&texts_file)
            .args(["--max-tokens", &max_tokens.to_string(), "--threads", &threads.to_string()])
            .env("PYTHONPATH", &ort_path)
            .output()
            .expect("run python3");
        let (theirs, tokens) = match serde_json::from_slice::<serde_json::Value>(&python.stdout) {
            Ok(value) => (value["chunks_per_s"].as_f64().unwrap_or(0.0), value["tokens_per_s"].as_f64().unwrap_or(0.0)),
            Err(_) => {
                eprintln!("python side failed: {}", String::from_utf8_lossy(&python.stderr));
                (0.0, 0.0)
            }
        };
        println!(
            "{:<7} | {ours:>16.1} | {theirs:>29.1} | {tokens:>17.0} | {:>6.2}",
            format!("{variant:?}").to_lowercase(),
            if theirs > 0.0 { ours / theirs } else { 0.0 }
        );
    }
}
