//! fastembed: a local model folder or a named hub model, run by ONNX Runtime.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use codectx_core::{EmbedConfig, Error, ModelVariant, Result};
use fastembed::{
    EmbeddingModel, InitOptionsUserDefined, Pooling, QuantizationMode, TextEmbedding, TextInitOptions, TokenizerFiles,
    UserDefinedEmbeddingModel,
};

use crate::{runtime, unit_vectors, Embedder};

/// The four tokenizer files fastembed's user-defined model API takes.
const TOKENIZER_FILES: [&str; 4] =
    ["tokenizer.json", "config.json", "special_tokens_map.json", "tokenizer_config.json"];

/// An embedder running an ONNX model in process (fastembed + ONNX Runtime).
///
/// Inference runs on ONNX Runtime's own intra-op thread pool ([`EmbedConfig::threads`]
/// threads), not on the caller's tokio or rayon threads, so a server keeps
/// answering queries while an index embeds. One session serves one call at a time
/// (fastembed needs `&mut`); the indexer and the query path each hold their own.
pub struct FastembedEmbedder {
    model: Mutex<TextEmbedding>,
    model_id: String,
    dimension: usize,
    batch_size: usize,
}

impl std::fmt::Debug for FastembedEmbedder {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("FastembedEmbedder")
            .field("model_id", &self.model_id)
            .field("dimension", &self.dimension)
            .finish()
    }
}

/// Where the model comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelSource {
    /// A folder with an ONNX file and the tokenizer files.
    Folder(PathBuf),
    /// A fastembed model, downloaded from the Hugging Face hub into fastembed's cache.
    Named(EmbeddingModel),
}

impl FastembedEmbedder {
    /// Loads the model `config` names (see [`resolve_model`]).
    ///
    /// Errors: [`Error::Embedding`] when onnxruntime is missing, the folder lacks a
    /// file, the name is unknown, or the download fails (no network).
    pub fn load(config: &EmbedConfig) -> Result<Self> {
        let source = resolve_model(config)?;
        let environment = runtime::environment(config.ort_dylib_path.as_deref())?;
        let threads = match config.threads {
            0 => std::thread::available_parallelism().map_or(1, |count| count.get()),
            threads => threads,
        };
        let max_tokens = config.max_tokens.max(8);
        let batch_size = config.batch_size.max(1);
        match source {
            ModelSource::Folder(dir) => {
                let onnx = onnx_file(&dir, config.variant)?;
                let onnx_bytes = read(&onnx)?;
                let mut files = Vec::with_capacity(4);
                for name in TOKENIZER_FILES {
                    files.push(read(&dir.join(name))?);
                }
                let [tokenizer_file, config_file, special_tokens_map_file, tokenizer_config_file]: [Vec<u8>; 4] =
                    files.try_into().map_err(|_| Error::Internal("four tokenizer files".into()))?;
                let digest = blake3::hash(&onnx_bytes).to_hex();
                let model_id = format!(
                    "{}/{}#{}@{max_tokens}",
                    dir.file_name().and_then(|name| name.to_str()).unwrap_or("model"),
                    onnx.file_name().and_then(|name| name.to_str()).unwrap_or("model.onnx"),
                    &digest[..12]
                );
                let model = UserDefinedEmbeddingModel::new(
                    onnx_bytes,
                    TokenizerFiles { tokenizer_file, config_file, special_tokens_map_file, tokenizer_config_file },
                )
                .with_pooling(pooling(&dir))
                // Batches are allowed for the int8 file too: its activations are quantized
                // per batch (DynamicQuantizeLinear), so a vector moves slightly with its
                // batch-mates; batching by length keeps those alike. Measured on the dev set.
                .with_quantization(QuantizationMode::None);
                let options = InitOptionsUserDefined::new()
                    .with_environment(environment)
                    .with_max_length(max_tokens)
                    .with_intra_threads(threads);
                let model = TextEmbedding::try_new_from_user_defined(model, options)
                    .map_err(|error| Error::Embedding(format!("model {}: {error}", dir.display())))?;
                Self::finish(model, model_id, batch_size)
            }
            ModelSource::Named(name) => {
                let info = TextEmbedding::get_model_info(&name)
                    .map_err(|error| Error::Embedding(format!("{name:?}: {error}")))?;
                let model_id = format!("fastembed:{}@{max_tokens}", info.model_code);
                let code = info.model_code.clone();
                let mut options = TextInitOptions::new(name)
                    .with_environment(environment)
                    .with_max_length(max_tokens)
                    .with_intra_threads(threads)
                    .with_show_download_progress(false);
                if let Some(home) = codectx_core::data_home() {
                    options = options.with_cache_dir(home.join("fastembed"));
                }
                let model = TextEmbedding::try_new(options).map_err(|error| {
                    Error::Embedding(format!(
                        "fastembed model {code}: {error} (it is downloaded from the Hugging Face hub on first use; \
                         offline, give a local model folder: --embed-model DIR or [embed] model, or \
                         CODECTX_MODEL_SOURCE=DIR scripts/setup.sh --deps-only; or an OpenAI-compatible \
                         embeddings endpoint: [embed] provider = \"remote\" with url)"
                    ))
                })?;
                Self::finish(model, model_id, batch_size)
            }
        }
    }

    fn finish(mut model: TextEmbedding, model_id: String, batch_size: usize) -> Result<Self> {
        // The dimension is whatever the model outputs: probe it once.
        let probe = model
            .embed(["dimension probe"], None)
            .map_err(|error| Error::Embedding(format!("{model_id}: first inference failed: {error}")))?;
        let dimension = probe.first().map_or(0, Vec::len);
        if dimension == 0 {
            return Err(Error::Embedding(format!("{model_id}: the model returned an empty vector")));
        }
        Ok(FastembedEmbedder { model: Mutex::new(model), model_id, dimension, batch_size })
    }
}

impl Embedder for FastembedEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let mut model = self.model.lock().map_err(|_| Error::Internal("embedder lock poisoned".into()))?;
        let vectors = model
            .embed(texts, Some(texts.len()))
            .map_err(|error| Error::Embedding(format!("{}: {error}", self.model_id)))?;
        unit_vectors(&self.model_id, self.dimension, vectors)
    }
}

/// Which model `config` means:
/// - `model` is a folder → that folder;
/// - `model` is a fastembed model code (`Xenova/all-MiniLM-L6-v2`) or variant name
///   (`AllMiniLML6V2Q`), case-insensitive → that named model;
/// - no `model` → `<data home>/models/all-MiniLM-L6-v2` when `scripts/setup.sh` put
///   a copy there, else the named all-MiniLM-L6-v2 (`AllMiniLML6V2Q` for int8,
///   `AllMiniLML6V2` for fp32).
///
/// Errors: [`Error::Embedding`] for a name that is neither, listing what is accepted.
pub fn resolve_model(config: &EmbedConfig) -> Result<ModelSource> {
    let Some(model) = config.model.as_deref().filter(|model| !model.is_empty()) else {
        if let Some(folder) = codectx_core::data_home().map(|home| home.join("models").join(EmbedConfig::DEFAULT_MODEL))
        {
            if folder.join("tokenizer.json").is_file() {
                return Ok(ModelSource::Folder(folder));
            }
        }
        return Ok(ModelSource::Named(match config.variant {
            ModelVariant::Int8 => EmbeddingModel::AllMiniLML6V2Q,
            ModelVariant::Fp32 => EmbeddingModel::AllMiniLML6V2,
        }));
    };
    let path = expand_home(model);
    if path.is_dir() {
        return Ok(ModelSource::Folder(path));
    }
    let wanted = model.to_ascii_lowercase();
    let supported = TextEmbedding::list_supported_models();
    if let Some(info) = supported.iter().find(|info| {
        info.model_code.to_ascii_lowercase() == wanted || format!("{:?}", info.model).to_ascii_lowercase() == wanted
    }) {
        return Ok(ModelSource::Named(info.model.clone()));
    }
    if model.starts_with(['.', '/', '~']) {
        return Err(Error::Embedding(format!("model folder {model} does not exist")));
    }
    let mut codes: Vec<&str> = supported.iter().map(|info| info.model_code.as_str()).collect();
    codes.sort_unstable();
    codes.dedup();
    Err(Error::Embedding(format!(
        "unknown model {model}: give a model folder (ONNX file + tokenizer.json, config.json, special_tokens_map.json, \
         tokenizer_config.json) or one of fastembed's models: {}",
        codes.join(", ")
    )))
}

fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

/// The ONNX file of a folder for `variant`: int8 prefers `model_quantized.onnx`
/// (also under `onnx/`), fp32 `model.onnx`; either falls back to the other with a
/// warning when its file is missing.
fn onnx_file(dir: &Path, variant: ModelVariant) -> Result<PathBuf> {
    let (first, second) = match variant {
        ModelVariant::Int8 => ("model_quantized.onnx", "model.onnx"),
        ModelVariant::Fp32 => ("model.onnx", "model_quantized.onnx"),
    };
    let candidates = |name: &str| [dir.join(name), dir.join("onnx").join(name)];
    if let Some(found) = candidates(first).into_iter().find(|path| path.is_file()) {
        return Ok(found);
    }
    if let Some(found) = candidates(second).into_iter().find(|path| path.is_file()) {
        tracing::info!(folder = %dir.display(), "no {first}; using {}", found.display());
        return Ok(found);
    }
    Err(Error::Embedding(format!("model folder {} has neither {first} nor {second}", dir.display())))
}

/// Mean pooling unless `1_Pooling/config.json` (sentence-transformers) asks for CLS.
fn pooling(dir: &Path) -> Pooling {
    let config = std::fs::read(dir.join("1_Pooling/config.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok());
    match config {
        Some(config) if config["pooling_mode_cls_token"].as_bool() == Some(true) => Pooling::Cls,
        _ => Pooling::Mean,
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|error| Error::Embedding(format!("cannot read {}: {error}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_folders_names_and_rejects_unknown_models() {
        let dir = tempfile::tempdir().unwrap();
        let folder = EmbedConfig { model: Some(dir.path().display().to_string()), ..EmbedConfig::default() };
        assert_eq!(resolve_model(&folder).unwrap(), ModelSource::Folder(dir.path().to_path_buf()));

        let named = EmbedConfig { model: Some("xenova/ALL-MiniLM-L6-v2".into()), ..EmbedConfig::default() };
        assert!(matches!(resolve_model(&named).unwrap(), ModelSource::Named(_)));

        let unknown = EmbedConfig { model: Some("no-such-model".into()), ..EmbedConfig::default() };
        let message = resolve_model(&unknown).unwrap_err().to_string();
        assert!(message.contains("unknown model no-such-model"), "{message}");
        assert!(message.contains("jinaai/jina-embeddings-v2-base-code"), "{message}");

        let missing = EmbedConfig { model: Some("/no/such/folder".into()), ..EmbedConfig::default() };
        assert!(resolve_model(&missing).unwrap_err().to_string().contains("does not exist"));
    }

    #[test]
    fn a_folder_without_an_onnx_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let message = onnx_file(dir.path(), ModelVariant::Int8).unwrap_err().to_string();
        assert!(message.contains("neither model_quantized.onnx nor model.onnx"), "{message}");
        std::fs::write(dir.path().join("model.onnx"), b"x").unwrap();
        assert_eq!(onnx_file(dir.path(), ModelVariant::Int8).unwrap(), dir.path().join("model.onnx"));
    }
}
