//! The TOML configuration.
//!
//! Looked up, in order: `--config FILE`; `<repo>/.codectx.toml`. Every field has a
//! default, so an empty file (or none) is a valid configuration. Example:
//!
//! ```toml
//! [index]
//! max_file_size = 1048576      # bytes; larger files are skipped and counted
//! chunk_tokens = 400           # cap of a chunk, o200k tokens
//! exclude = ["vendor/**", "*.min.js"]
//!
//! [secrets]                    # see `codectx secrets` for the rules in force
//! allow_paths = [".env.test"]  # indexed although a built-in glob (.env.*) excludes it
//! disable = ["generic-assignment"]
//!
//! [model]
//! model = "gpt-4o-mini"
//! base_url = "https://api.openai.com/v1"
//!
//! listen = "127.0.0.1:50051"
//! [[repos]]
//! name = "requests"
//! path = "/src/requests"
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Error, Result, SecretsConfig};

/// The whole configuration.
///
/// In the file, `[secrets]` is a section of its own; here it is
/// [`IndexConfig::secrets`], because it decides what the indexer reads and the
/// index records it (the private `ConfigFile` is the file's layout).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "ConfigFile", into = "ConfigFile")]
pub struct Config {
    /// Indexing options.
    pub index: IndexConfig,
    /// Retrieval options.
    pub retrieval: RetrievalConfig,
    /// The model `ask` / `Generate` call.
    pub model: ModelConfig,
    /// Chunk embeddings: which embedder, which model, what is embedded.
    pub embed: EmbedConfig,
    /// Address `codectx serve` listens on (`127.0.0.1:50051` when unset).
    pub listen: Option<String>,
    /// Repositories `codectx serve` serves, besides those given with `--repo`.
    pub repos: Vec<RepoEntry>,
    /// The service's registry of repositories added at run time.
    pub server: ServerConfig,
}

/// The layout of a configuration file: the sections of [`Config`], with
/// `[secrets]` at the top level. A section added to [`Config`] is added here too
/// (the conversions below list every field, so the compiler points here).
#[derive(Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ConfigFile {
    index: IndexConfig,
    retrieval: RetrievalConfig,
    model: ModelConfig,
    embed: EmbedConfig,
    listen: Option<String>,
    repos: Vec<RepoEntry>,
    server: ServerConfig,
    secrets: SecretsConfig,
}

impl From<ConfigFile> for Config {
    fn from(file: ConfigFile) -> Config {
        let ConfigFile { mut index, retrieval, model, embed, listen, repos, server, secrets } = file;
        index.secrets = secrets;
        Config { index, retrieval, model, embed, listen, repos, server }
    }
}

impl From<Config> for ConfigFile {
    fn from(config: Config) -> ConfigFile {
        let Config { mut index, retrieval, model, embed, listen, repos, server } = config;
        let secrets = std::mem::take(&mut index.secrets);
        ConfigFile { index, retrieval, model, embed, listen, repos, server, secrets }
    }
}

/// `[server]`: where a long-running `codectx serve` keeps what it was told at run
/// time, what it may index, who may call it and how many calls it takes at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Folder holding `registry.json` (the repositories added with
    /// `AddRepository` / `codectx repo add`) and their indexes under `indexes/`.
    /// Unset: repositories cannot be added at run time.
    pub storage_root: Option<PathBuf>,
    /// Folders under which added repositories must lie (after resolving `..` and
    /// symbolic links). Empty: `AddRepository` is refused, so that a client can
    /// never make the server read `/` or a home folder.
    pub allowed_roots: Vec<PathBuf>,
    /// Bearer tokens (`[[server.tokens]]`). None: the server asks for no token
    /// (for a loopback-only or single-user setup). Any: every RPC but health
    /// checks and reflection needs `authorization: Bearer <token>`.
    pub tokens: Vec<TokenConfig>,
    /// Calls in flight (a stream counts until it ends) beyond which new calls are
    /// refused with `RESOURCE_EXHAUSTED` (default 64; 0 = no limit).
    pub max_in_flight: usize,
    /// PEM certificate chain for TLS (with `tls_key`); unset: plaintext.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Address of the Prometheus metrics endpoint (`GET /metrics`, plain HTTP,
    /// e.g. `"127.0.0.1:9464"`); unset (the default): no endpoint. It has no
    /// authentication and no TLS, so bind it to loopback or a private network.
    /// `codectx serve --metrics-addr` overrides it.
    pub metrics_addr: Option<String>,
    /// Whether `codectx serve` watches each repository's working tree (files and
    /// git `HEAD`) and re-indexes it incrementally when something changes
    /// (default true).
    pub watch: bool,
    /// Quiet time, in milliseconds, that a burst of file events must be followed
    /// by before it triggers an index run (default 200): a save, a checkout or a
    /// build writing many files becomes one run.
    pub watch_debounce_ms: u64,
    /// Index runs at once across all repositories (default 1; 0 = the number of
    /// CPUs). Each run uses every indexing thread, so more rarely helps; further
    /// runs queue, one per repository at most.
    pub index_concurrency: usize,
    /// The longest a request may wait for freshness (`min_commit`, waiting for
    /// pending changes), in milliseconds (default 60000).
    pub max_wait_ms: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            storage_root: None,
            allowed_roots: Vec::new(),
            tokens: Vec::new(),
            max_in_flight: 64,
            tls_cert: None,
            tls_key: None,
            metrics_addr: None,
            watch: true,
            watch_debounce_ms: 200,
            index_concurrency: 1,
            max_wait_ms: 60_000,
        }
    }
}

/// One bearer token of the server and what it may do.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TokenConfig {
    /// A label for logs (never the token).
    pub name: String,
    /// Name of the environment variable holding the token (preferred: keeps the
    /// secret out of the file).
    pub token_env: Option<String>,
    /// The token itself, when not from the environment.
    pub token: Option<String>,
    /// Repositories it may query; `"*"` for all.
    pub repositories: Vec<String>,
    /// Whether it may add, remove and (re-)index repositories.
    pub admin: bool,
}

/// A repository to serve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepoEntry {
    /// Name clients use (`requests`).
    pub name: String,
    /// Root folder of the repository.
    pub path: PathBuf,
    /// Index folder, if not `<path>/.codectx`.
    #[serde(default)]
    pub index_dir: Option<PathBuf>,
}

/// Indexing options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IndexConfig {
    /// Files larger than this many bytes are skipped and counted (default 1 MiB).
    pub max_file_size: u64,
    /// Cap of one chunk in `o200k_base` tokens (default 400). A single line longer
    /// than the cap stays whole.
    pub chunk_tokens: usize,
    /// Lines of a text window chunk for files without a grammar (default 60).
    pub window_lines: usize,
    /// Per-file parse timeout in milliseconds (default 2000); on timeout the file
    /// is indexed as text windows.
    pub parse_timeout_ms: u64,
    /// Only index paths matching one of these globs (all when empty).
    pub include: Vec<String>,
    /// Never index paths matching one of these globs (gitignore-style globs,
    /// matched against repository-relative paths).
    pub exclude: Vec<String>,
    /// Skip files that are not valid UTF-8 instead of decoding them lossily.
    pub skip_invalid_utf8: bool,
    /// Follow symbolic links (loops are detected and skipped). Default true.
    pub follow_links: bool,
    /// Respect `.gitignore`, `.ignore` and global git excludes. Default true.
    pub respect_gitignore: bool,
    /// Index hidden files (names starting with `.`). Default false.
    pub hidden: bool,
    /// Worker threads for parsing (0 = one per core).
    pub threads: usize,
    /// The secret filter: files the walker skips, text redacted from what the
    /// index hands out. Written as the `[secrets]` section of the file, not
    /// under `[index]`; the index records the rules it was built with.
    #[serde(skip)]
    pub secrets: SecretsConfig,
}

impl Default for IndexConfig {
    fn default() -> Self {
        IndexConfig {
            max_file_size: 1024 * 1024,
            chunk_tokens: 400,
            window_lines: 60,
            parse_timeout_ms: 2000,
            include: Vec::new(),
            exclude: Vec::new(),
            skip_invalid_utf8: false,
            follow_links: true,
            respect_gitignore: true,
            hidden: false,
            threads: 0,
            secrets: SecretsConfig::default(),
        }
    }
}

/// Retrieval options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetrievalConfig {
    /// Token budget when a request gives none (default 8000).
    pub default_budget: usize,
    /// Candidates each signal contributes to the fusion (default 200).
    pub candidates_per_signal: usize,
    /// The `k` of reciprocal rank fusion (default 30, tuned on the dev set; Cormack et al. 2009 use 60).
    pub rrf_k: f32,
    /// Whether lexical and hybrid retrieval end with the learned file ranker
    /// (LambdaMART over the fusion's features, `codectx_retrieve::rerank`); default
    /// true. False also turns `rank_functions` off.
    pub rerank: bool,
    /// Whether the learned function ranker (`codectx_retrieve::definitions`) orders
    /// the definitions of the first 10 files and its first 3 lead the context;
    /// default false (on the dev set: function Acc@5 up, Acc@10 down, slower; docs/evaluation.md).
    pub rank_functions: bool,
    /// A file ranker to use instead of the shipped one: a LightGBM text model from
    /// `training/train_ranker.py` (relative paths from the working directory).
    /// A file that does not load fails the start with an error naming it.
    pub ranker_model: Option<std::path::PathBuf>,
    /// A function ranker to use instead of the shipped one (LightGBM text model
    /// from `codectx train-ranker --unit function`); loaded like `ranker_model`,
    /// used when `rank_functions` is true.
    pub function_ranker_model: Option<std::path::PathBuf>,
}

impl Default for RetrievalConfig {
    fn default() -> Self {
        RetrievalConfig {
            default_budget: crate::DEFAULT_TOKEN_BUDGET,
            candidates_per_signal: 200,
            rrf_k: 30.0,
            rerank: true,
            rank_functions: false,
            ranker_model: None,
            function_ranker_model: None,
        }
    }
}

/// Which embedder computes chunk vectors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmbedProvider {
    /// fastembed (ONNX Runtime in process): a named fastembed model, downloaded
    /// from the Hugging Face hub on first use, or a local model folder.
    #[default]
    Fastembed,
    /// An OpenAI-compatible `POST {url}/embeddings` endpoint (OpenAI, vLLM, TEI, Ollama).
    Remote,
    /// No embeddings: the index is lexical only.
    None,
}

impl EmbedProvider {
    /// `fastembed`, `remote` or `none`.
    ///
    /// Errors: [`Error::InvalidArgument`] naming the accepted values.
    pub fn parse(name: &str) -> Result<EmbedProvider> {
        match name {
            "fastembed" => Ok(EmbedProvider::Fastembed),
            "remote" => Ok(EmbedProvider::Remote),
            "none" => Ok(EmbedProvider::None),
            other => Err(Error::InvalidArgument(format!("embedder {other:?}: expected fastembed, remote or none"))),
        }
    }
}

/// Which ONNX file of a local model folder is loaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelVariant {
    /// `model_quantized.onnx` (int8 dynamic quantization; ~1.6x the fp32 throughput on CPU).
    #[default]
    Int8,
    /// `model.onnx` (fp32).
    Fp32,
}

impl ModelVariant {
    /// `int8` or `fp32`.
    ///
    /// Errors: [`Error::InvalidArgument`] naming the accepted values.
    pub fn parse(name: &str) -> Result<ModelVariant> {
        match name {
            "int8" => Ok(ModelVariant::Int8),
            "fp32" => Ok(ModelVariant::Fp32),
            other => Err(Error::InvalidArgument(format!("model variant {other:?}: expected int8 or fp32"))),
        }
    }
}

/// Embedding options (`[embed]`). See docs/configuration.md (Embeddings) for the
/// default model and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmbedConfig {
    /// The embedder (default `fastembed`). `none` turns embeddings off.
    pub provider: EmbedProvider,
    /// fastembed: a model folder path (holding `model.onnx` / `model_quantized.onnx`,
    /// `tokenizer.json`, `config.json`, `special_tokens_map.json`,
    /// `tokenizer_config.json`), or a fastembed model code (`Xenova/all-MiniLM-L6-v2`,
    /// `jinaai/jina-embeddings-v2-base-code`, ...). remote: the model name sent in
    /// the request. Default: see [`EmbedConfig::DEFAULT_MODEL`].
    pub model: Option<String>,
    /// int8 or fp32 file of a local model folder (default int8).
    pub variant: ModelVariant,
    /// Tokens of a chunk that are embedded (the model's word pieces; default 128,
    /// capped by the model's own limit). Longer chunks are truncated: the path,
    /// container header, signature, docstring and first lines of the body carry
    /// the meaning, and 128 tokens embed twice as fast as 256 (docs/configuration.md, Embeddings).
    pub max_tokens: usize,
    /// Texts per inference batch (default 32); chunks are batched by similar length.
    pub batch_size: usize,
    /// Threads of the embedding pool (0 = all cores). Queries keep being served
    /// while it runs.
    pub threads: usize,
    /// remote: base URL up to and including `/v1`.
    pub url: Option<String>,
    /// remote: environment variable holding the bearer token (default `CODECTX_EMBED_API_KEY`,
    /// then `OPENAI_API_KEY`).
    pub api_key_env: Option<String>,
    /// remote: request timeout in seconds (default 60).
    pub timeout_secs: u64,
    /// Path of `libonnxruntime.so` (default: `ORT_DYLIB_PATH`, else where
    /// `scripts/setup.sh` installs it).
    pub ort_dylib_path: Option<PathBuf>,
    /// Rows above which the vector table gets an ANN index (IVF-PQ); below it,
    /// search is exact (default 20 000: `benches/vector_search.rs` measured exact
    /// search at ~24 ms p50 for 20k rows of 384 floats on 2 cores and ~150 ms for
    /// 50k, where IVF-PQ answers in ~4 ms at recall@10 0.96).
    pub ann_threshold: usize,
}

impl EmbedConfig {
    /// The model used when none is configured: `all-MiniLM-L6-v2` (384 dimensions),
    /// as a local folder under the codectx data folder when `scripts/setup.sh` put
    /// one there, else fastembed's `Xenova/all-MiniLM-L6-v2` from the hub.
    pub const DEFAULT_MODEL: &'static str = "all-MiniLM-L6-v2";
}

impl Default for EmbedConfig {
    fn default() -> Self {
        EmbedConfig {
            provider: EmbedProvider::Fastembed,
            model: None,
            variant: ModelVariant::Int8,
            max_tokens: 128,
            batch_size: 32,
            threads: 0,
            url: None,
            api_key_env: None,
            timeout_secs: 60,
            ort_dylib_path: None,
            ann_threshold: 20_000,
        }
    }
}

/// The folder codectx keeps per-user data in (the onnxruntime library and models
/// installed by `scripts/setup.sh`): `$CODECTX_HOME`, else
/// `$XDG_DATA_HOME/codectx`, else `~/.local/share/codectx`.
pub fn data_home() -> Option<PathBuf> {
    if let Some(home) = std::env::var_os("CODECTX_HOME").filter(|value| !value.is_empty()) {
        return Some(PathBuf::from(home));
    }
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|value| !value.is_empty()) {
        return Some(PathBuf::from(xdg).join("codectx"));
    }
    std::env::var_os("HOME")
        .filter(|value| !value.is_empty())
        .map(|home| PathBuf::from(home).join(".local/share/codectx"))
}

/// The model `ask` and `Generate` call: any OpenAI-compatible
/// `/v1/chat/completions` endpoint (OpenAI, vLLM, Ollama, llama.cpp server).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// Model name sent in the request (`gpt-4o-mini`, `qwen2.5-coder:7b`). No model
    /// configured means `ask` prints the assembled context instead.
    pub model: Option<String>,
    /// Base URL up to and including `/v1` (`http://localhost:11434/v1`). Default
    /// `https://api.openai.com/v1` when a model is set.
    pub base_url: Option<String>,
    /// Most completion tokens (default: the server's).
    pub max_tokens: Option<u32>,
    /// Sampling temperature (default 0.2).
    pub temperature: Option<f32>,
    /// Request timeout in seconds (default 300).
    pub timeout_secs: Option<u64>,
}

impl ModelConfig {
    /// Default base URL when a model is set but no URL.
    pub const DEFAULT_BASE_URL: &'static str = "https://api.openai.com/v1";

    /// Overlays the environment: `CODECTX_MODEL`, `CODECTX_BASE_URL` fill unset fields.
    pub fn with_env(mut self) -> Self {
        if self.model.is_none() {
            self.model = std::env::var("CODECTX_MODEL").ok().filter(|value| !value.is_empty());
        }
        if self.base_url.is_none() {
            self.base_url = std::env::var("CODECTX_BASE_URL").ok().filter(|value| !value.is_empty());
        }
        self
    }

    /// The API key: `CODECTX_API_KEY`, else `OPENAI_API_KEY`, else none (local servers).
    pub fn api_key() -> Option<String> {
        ["CODECTX_API_KEY", "OPENAI_API_KEY"]
            .iter()
            .find_map(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
    }
}

impl Config {
    /// Reads and parses a TOML file. A missing file is [`Error::Io`], a malformed
    /// one [`Error::Config`] with the parser's message.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::io(path, source))?;
        Config::parse(&text).map_err(|reason| Error::Config { path: path.to_path_buf(), reason })
    }

    /// Parses TOML text and checks the `[secrets]` globs and patterns; the error
    /// is the parser's one-line message, or the one of [`crate::SecretRules::new`].
    pub fn parse(text: &str) -> std::result::Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|error| error.message().to_string())?;
        crate::SecretRules::new(&config.index.secrets)?;
        Ok(config)
    }

    /// `explicit` if given, else `<repo>/.codectx.toml` if it exists, else defaults;
    /// then `CODECTX_EMBEDDER` (`fastembed`, `remote`, `none`) overrides `[embed] provider`.
    pub fn discover(explicit: Option<&Path>, repo: Option<&Path>) -> Result<Config> {
        let mut config = Config::default();
        if let Some(path) = explicit {
            config = Config::load(path)?;
        } else if let Some(repo) = repo {
            let candidate = repo.join(".codectx.toml");
            if candidate.is_file() {
                config = Config::load(&candidate)?;
            }
        }
        if let Some(value) = std::env::var("CODECTX_EMBEDDER").ok().filter(|value| !value.is_empty()) {
            config.embed.provider = EmbedProvider::parse(&value)?;
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_config_and_rejects_unknown_keys() {
        let config = Config::parse(
            "listen = \"127.0.0.1:1\"\n[index]\nmax_file_size = 10\nexclude = [\"a/**\"]\n[model]\nmodel = \"m\"\n[[repos]]\nname = \"r\"\npath = \"/x\"\n",
        )
        .unwrap();
        assert_eq!(config.index.max_file_size, 10);
        assert_eq!(config.index.chunk_tokens, 400);
        assert_eq!(config.model.model.as_deref(), Some("m"));
        assert_eq!(config.repos[0].name, "r");
        let error = Config::parse("[index]\nmax_filesize = 1\n").unwrap_err();
        assert!(error.contains("max_filesize"), "{error}");
    }

    #[test]
    fn the_secrets_section_reaches_the_index_config_and_is_checked() {
        assert_eq!(Config::parse("").unwrap().index.secrets, SecretsConfig::default());
        let config = Config::parse(
            "[secrets]\nallow_paths = [\".env.test\"]\ndisable = [\"jwt\"]\n[[secrets.pattern]]\nname = \"x\"\nregex = 'x_[0-9]{4}'\n",
        )
        .unwrap();
        assert_eq!(config.index.secrets.allow_paths, vec![".env.test".to_string()]);
        assert_eq!(config.index.secrets.patterns[0].name, "x");
        let round_trip = Config::parse(&toml::to_string(&config).unwrap()).unwrap();
        assert_eq!(round_trip, config);
        let error = Config::parse("[secrets]\nexclude_paths = [\"a[\"]\n").unwrap_err();
        assert!(error.starts_with("[secrets] exclude_paths"), "{error}");
        let error = Config::parse("[[secrets.pattern]]\nname = \"bad\"\nregex = '(x'\n").unwrap_err();
        assert!(error.starts_with("[secrets] pattern \"bad\": invalid regex") && !error.contains('\n'), "{error}");
        let error = Config::parse("[index.secrets]\nenabled = false\n").unwrap_err();
        assert!(error.contains("secrets"), "{error}");
    }
}
