//! The subcommands, one module each (its clap arguments and its `run`), and what
//! they share: the repository flags, the embedder flags, path filters and opening
//! the [`Engine`] on the repository the CLI works on.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Args;
use codectx_core::{Config, PathFilter};
use codectx_service::{Engine, RepositorySpec};

pub(crate) mod ask;
pub(crate) mod deps;
pub(crate) mod embed;
pub(crate) mod eval;
pub(crate) mod graph;
pub(crate) mod index;
pub(crate) mod mcp;
pub(crate) mod refs;
pub(crate) mod repo;
pub(crate) mod search;
pub(crate) mod secrets;
pub(crate) mod serve;
pub(crate) mod symbols;
pub(crate) mod train;
pub(crate) mod train_ranker;
pub(crate) mod tune;

/// Name under which the CLI serves the repository it works on.
pub(crate) const LOCAL_REPOSITORY: &str = "local";

#[derive(Args, Clone)]
pub(crate) struct RepoArgs {
    /// Repository root.
    // The id is not `path`: that would clash with the `path` positional of `deps`.
    #[arg(short = 'C', long = "repo", id = "repo_path", default_value = ".", value_name = "PATH")]
    pub(crate) path: PathBuf,
    /// Index folder (default <repo>/.codectx).
    #[arg(long, value_name = "DIR")]
    pub(crate) index_dir: Option<PathBuf>,
}

/// Which embedder computes chunk vectors (overrides `[embed]` in the config).
#[derive(Args, Clone, Default)]
pub(crate) struct EmbedArgs {
    /// `fastembed` (ONNX model in process, the default), `remote` (OpenAI-compatible
    /// /v1/embeddings) or `none`. Overrides CODECTX_EMBEDDER, which overrides the config.
    #[arg(long, value_name = "KIND")]
    embedder: Option<String>,
    /// fastembed: a model folder or a fastembed model name; remote: the model name.
    #[arg(long, value_name = "MODEL")]
    embed_model: Option<String>,
    /// `int8` (model_quantized.onnx, default) or `fp32` (model.onnx) of a model folder.
    #[arg(long, value_name = "VARIANT")]
    embed_variant: Option<String>,
    /// Tokens of each chunk that are embedded (default 128).
    #[arg(long, value_name = "TOKENS")]
    embed_max_tokens: Option<usize>,
    /// remote: base URL up to /v1.
    #[arg(long, value_name = "URL")]
    embed_url: Option<String>,
}

impl EmbedArgs {
    /// Applies the flags to `config`.
    pub(crate) fn apply(&self, config: &mut codectx_core::EmbedConfig) -> Result<()> {
        if let Some(kind) = &self.embedder {
            config.provider = codectx_core::EmbedProvider::parse(kind)?;
        }
        if let Some(model) = &self.embed_model {
            config.model = Some(model.clone());
        }
        if let Some(variant) = &self.embed_variant {
            config.variant = codectx_core::ModelVariant::parse(variant)?;
        }
        if let Some(tokens) = self.embed_max_tokens {
            config.max_tokens = tokens;
        }
        if let Some(url) = &self.embed_url {
            config.url = Some(url.clone());
        }
        Ok(())
    }

    /// The flags given, as command-line arguments again (for the background
    /// `codectx embed` that `codectx index` starts).
    pub(crate) fn to_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        let mut flag = |name: &str, value: Option<String>| {
            if let Some(value) = value {
                args.push(format!("--{name}"));
                args.push(value);
            }
        };
        flag("embedder", self.embedder.clone());
        flag("embed-model", self.embed_model.clone());
        flag("embed-variant", self.embed_variant.clone());
        flag("embed-max-tokens", self.embed_max_tokens.map(|tokens| tokens.to_string()));
        flag("embed-url", self.embed_url.clone());
        args
    }
}

pub(crate) fn parse_mode(mode: Option<&str>) -> Result<Option<codectx_core::RetrievalMode>> {
    Ok(mode.map(codectx_core::RetrievalMode::parse).transpose()?)
}

#[derive(Args, Clone, Default)]
pub(crate) struct FilterArgs {
    /// Only paths matching this glob (repeatable).
    #[arg(long = "include", value_name = "GLOB")]
    include: Vec<String>,
    /// No paths matching this glob (repeatable).
    #[arg(long = "exclude", value_name = "GLOB")]
    exclude: Vec<String>,
}

impl FilterArgs {
    pub(crate) fn filter(&self) -> PathFilter {
        PathFilter { include: self.include.clone(), exclude: self.exclude.clone() }
    }
}

pub(crate) fn check_dir(path: &Path) -> Result<PathBuf> {
    let metadata = std::fs::metadata(path).map_err(|_| codectx_core::Error::PathNotFound(path.to_path_buf()))?;
    if !metadata.is_dir() {
        return Err(codectx_core::Error::NotADirectory(path.to_path_buf()).into());
    }
    path.canonicalize().with_context(|| format!("cannot resolve {}", path.display()))
}

pub(crate) fn engine_for(root: &Path, index_dir: Option<PathBuf>, config: Config) -> Result<Engine> {
    let spec = RepositorySpec { name: LOCAL_REPOSITORY.into(), root: root.to_path_buf(), index_dir };
    Ok(Engine::new(vec![spec], config)?)
}

pub(crate) fn open_engine(repo: &RepoArgs, config: Option<&Path>) -> Result<(Engine, Config)> {
    open_engine_with(repo, config, |_| {})
}

pub(crate) fn open_engine_with(
    repo: &RepoArgs,
    config: Option<&Path>,
    adjust: impl FnOnce(&mut Config),
) -> Result<(Engine, Config)> {
    let root = check_dir(&repo.path)?;
    let mut config = Config::discover(config, Some(&root))?;
    adjust(&mut config);
    let engine = engine_for(&root, repo.index_dir.clone(), config.clone())?;
    Ok((engine, config))
}
