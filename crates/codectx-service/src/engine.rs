//! [`Engine`]: the [`crate::ContextService`] over repositories on local disk: the
//! repositories it serves, its configuration, the query planner and the index
//! runner. Serving a request is in [`crate::service`], the generation it is
//! served from in [`crate::generations`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use codectx_core::{Config, ContextRequest, EmbedConfig, Error, Result, RetrievalMode};
use codectx_index::IndexSnapshot;
use codectx_retrieve::plan::QueryPlan;
use codectx_retrieve::RetrieveOptions;

use crate::embedder::{load_embedder, EmbedderSlot};
use crate::freshness::{Freshness, QueueTarget, Runner};

/// A repository to serve: its name, root and optional index folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositorySpec {
    /// Name clients use (`requests`).
    pub name: String,
    /// Root folder.
    pub root: PathBuf,
    /// Index folder (default `<root>/.codectx`).
    pub index_dir: Option<PathBuf>,
}

impl RepositorySpec {
    /// The index folder: `index_dir`, or `<root>/.codectx`.
    pub fn index_dir(&self) -> PathBuf {
        self.index_dir.clone().unwrap_or_else(|| self.root.join(codectx_core::DEFAULT_INDEX_DIR))
    }
}

pub(crate) struct Repository {
    pub(crate) spec: RepositorySpec,
    /// The generation served, reloaded when `CURRENT` moves.
    pub(crate) snapshot: RwLock<Option<Arc<IndexSnapshot>>>,
    /// Its index queue (runs, their outcome, the watcher): see [`crate::freshness`].
    pub(crate) queue: Arc<QueueTarget>,
    /// Whether it came from the registry (and so can be removed at run time).
    pub(crate) registered: bool,
}

impl Repository {
    pub(crate) fn new(spec: RepositorySpec, registered: bool) -> Arc<Repository> {
        Arc::new_cyclic(|weak: &std::sync::Weak<Repository>| {
            let weak = weak.clone();
            let queue = Arc::new(QueueTarget {
                name: spec.name.clone(),
                root: spec.root.clone(),
                index_dir: spec.index_dir.clone(),
                fresh: Arc::default(),
                indexing: Arc::default(),
                reload: Arc::new(move || {
                    if let Some(repository) = weak.upgrade() {
                        if let Err(error) = repository.current_snapshot() {
                            tracing::warn!(%error, "opening the new generation failed");
                        }
                    }
                }),
            });
            Repository { spec, snapshot: RwLock::new(None), queue, registered }
        })
    }

    pub(crate) fn fresh(&self) -> &Freshness {
        &self.queue.fresh
    }

    /// The repository's current generation: the cached snapshot while `CURRENT` still
    /// names it, else the new one, opened and cached.
    pub(crate) fn current_snapshot(&self) -> Result<Arc<IndexSnapshot>> {
        let index_dir = self.spec.index_dir();
        let on_disk = current_generation_number(&index_dir);
        if let Some(snapshot) = self.snapshot.read().expect("snapshot lock").as_ref() {
            if on_disk == Some(snapshot.generation()) {
                crate::telemetry::record_snapshot_cache(true);
                return Ok(snapshot.clone());
            }
        }
        crate::telemetry::record_snapshot_cache(false);
        let snapshot = Arc::new(IndexSnapshot::open(&index_dir)?);
        *self.snapshot.write().expect("snapshot lock") = Some(snapshot.clone());
        Ok(snapshot)
    }
}

/// The domain service over local repositories.
///
/// Cheap to share (`Arc<Engine>`). Snapshots are opened lazily and re-opened when
/// another process (`codectx index`) publishes a new generation, so a long-running
/// server serves fresh indexes; a request holds its snapshot for its whole
/// duration and never sees half an update.
pub struct Engine {
    pub(crate) repositories: RwLock<BTreeMap<String, Arc<Repository>>>,
    /// The run-time registry, when `[server] storage_root` is set.
    pub(crate) registry: Option<Arc<std::sync::Mutex<crate::registry::Registry>>>,
    pub(crate) config: Config,
    pub(crate) planner: Planner,
    /// Runs the index queues: config, the index embedder (a second model session,
    /// so that an index run never holds up query embedding) and the slots for
    /// runs at once across repositories.
    pub(crate) runner: Runner,
    /// Whether [`Engine::start_watching`] was called (repositories added later
    /// are watched too).
    pub(crate) watching: std::sync::atomic::AtomicBool,
    /// Whether damage a request finds in a served index starts a rebuild
    /// ([`Engine::heal_damaged_indexes`]).
    pub(crate) heal: std::sync::atomic::AtomicBool,
}

/// The served retrieval options and the query embedder: plans each request
/// through [`codectx_retrieve::plan::plan`], the same plan `codectx eval` runs.
/// Cheap to clone into a blocking task.
#[derive(Clone)]
pub(crate) struct Planner {
    options: RetrieveOptions,
    embed: EmbedConfig,
    /// Embeds queries (its own model session).
    embedder: EmbedderSlot,
}

impl Planner {
    /// The plan of `query` over `snapshot` in the requested `mode` (see
    /// [`ContextRequest::mode`]): an explicit `semantic` or `hybrid` fails with
    /// [`Error::Embedding`] when the index has no embeddings or the embedder does
    /// not load; no mode means hybrid when both are there, else lexical.
    pub(crate) fn plan(&self, snapshot: &IndexSnapshot, query: &str, mode: Option<RetrievalMode>) -> Result<QueryPlan> {
        codectx_retrieve::plan::plan(&self.options, snapshot, query, mode, || {
            load_embedder(&self.embedder, &self.embed)
        })
    }
}

impl Engine {
    /// An engine serving `repositories` with `config`.
    ///
    /// Errors: [`Error::InvalidArgument`] for an empty or duplicate name,
    /// [`Error::PathNotFound`] / [`Error::NotADirectory`] for a bad root.
    pub fn new(repositories: Vec<RepositorySpec>, config: Config) -> Result<Engine> {
        let mut map = BTreeMap::new();
        for spec in repositories {
            if spec.name.trim().is_empty() {
                return Err(Error::InvalidArgument("a repository name is empty".into()));
            }
            let metadata = std::fs::metadata(&spec.root).map_err(|_| Error::PathNotFound(spec.root.clone()))?;
            if !metadata.is_dir() {
                return Err(Error::NotADirectory(spec.root.clone()));
            }
            let name = spec.name.clone();
            if map.insert(name.clone(), Repository::new(spec, false)).is_some() {
                return Err(Error::InvalidArgument(format!("repository {name} is given twice")));
            }
        }
        // Repositories added at run time, from the storage root's registry. One
        // whose folder is gone is still listed (its queries fail with the path).
        let registry = match &config.server.storage_root {
            Some(root) => {
                let registry = crate::registry::Registry::open(root)?;
                for entry in registry.entries() {
                    if map.contains_key(&entry.name) {
                        return Err(Error::InvalidArgument(format!(
                            "repository {} is both configured and in the registry at {}",
                            entry.name,
                            root.display()
                        )));
                    }
                    let spec = RepositorySpec {
                        name: entry.name.clone(),
                        root: entry.root.clone(),
                        index_dir: Some(entry.index_dir.clone()),
                    };
                    map.insert(entry.name.clone(), Repository::new(spec, true));
                }
                Some(Arc::new(std::sync::Mutex::new(registry)))
            }
            None => None,
        };
        let file_ranker = match (&config.retrieval.ranker_model, config.retrieval.rerank) {
            (_, false) => None,
            (Some(path), true) => Some(Arc::new(codectx_retrieve::rerank::FileRanker::load(path)?)),
            (None, true) => Some(codectx_retrieve::rerank::FileRanker::shipped()),
        };
        let rank_functions = config.retrieval.rerank && config.retrieval.rank_functions;
        let function_ranker = match (&config.retrieval.function_ranker_model, rank_functions) {
            (_, false) => None,
            (Some(path), true) => Some(Arc::new(codectx_retrieve::rerank::FunctionRanker::load(path)?)),
            (None, true) => Some(codectx_retrieve::rerank::FunctionRanker::shipped()),
        };
        let options = RetrieveOptions {
            candidates: config.retrieval.candidates_per_signal.max(10),
            function_files: if function_ranker.is_some() {
                codectx_retrieve::definitions::DEFAULT_FUNCTION_FILES
            } else {
                0
            },
            function_ranker,
            rrf_k: config.retrieval.rrf_k,
            rerank_candidates: if file_ranker.is_some() {
                codectx_retrieve::rerank::DEFAULT_RERANK_CANDIDATES
            } else {
                0
            },
            file_ranker,
            ..RetrieveOptions::default()
        };
        let planner = Planner { options, embed: config.embed.clone(), embedder: Arc::default() };
        let runner = Runner::new(config.index.clone(), config.embed.clone(), config.server.index_concurrency);
        Ok(Engine {
            repositories: RwLock::new(map),
            registry,
            config,
            planner,
            runner,
            watching: std::sync::atomic::AtomicBool::new(false),
            heal: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The served repository `name`.
    ///
    /// Errors: [`Error::UnknownRepository`].
    pub(crate) fn repository(&self, name: &str) -> Result<Arc<Repository>> {
        self.repositories
            .read()
            .expect("repositories lock")
            .get(name)
            .cloned()
            .ok_or_else(|| Error::UnknownRepository(name.to_string()))
    }

    /// Every served repository, by name.
    pub(crate) fn all_repositories(&self) -> Vec<(String, Arc<Repository>)> {
        let map = self.repositories.read().expect("repositories lock");
        map.iter().map(|(name, repository)| (name.clone(), repository.clone())).collect()
    }

    /// Gives a request without a token budget the configured `[retrieval] default_budget`.
    pub(crate) fn default_budget(&self, request: &mut ContextRequest) {
        if request.token_budget == 0 {
            request.token_budget = self.config.retrieval.default_budget;
        }
    }
}

/// Runs `work` on a blocking thread (CPU work and file I/O never stall the async runtime).
pub(crate) async fn run_blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(|error| Error::Internal(format!("worker thread: {error}")))?
}

/// The number of the generation `CURRENT` names, if any.
pub(crate) fn current_generation_number(index_dir: &Path) -> Option<u64> {
    codectx_index::store::current_generation(index_dir).ok().flatten().map(|(number, _)| number)
}
