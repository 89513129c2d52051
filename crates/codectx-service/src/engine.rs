//! [`Engine`]: the [`ContextService`] over repositories on local disk.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use codectx_core::{
    quote, Config, ContextBundle, ContextRequest, EmbedConfig, Error, FieldKind, FileDependencies, GenerateEvent,
    GenerateRequest, IndexEvent, IndexProgress, References, RepositoryInfo, Result, RetrievalMode, SearchHit,
    SearchRequest, SymbolInfo, Usage,
};
use codectx_embed::Embedder;
use codectx_index::IndexSnapshot;
use codectx_model::{build_messages, ChatClient, ChatDelta};
use codectx_retrieve::{ChunkRef, RetrieveOptions};
use futures::StreamExt;
use tokio::sync::mpsc;

use crate::freshness::{self, Freshness, QueueTarget, Runner};
use crate::{BoxFuture, ContextService, ResultStream};

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

struct Repository {
    spec: RepositorySpec,
    /// The generation served, reloaded when `CURRENT` moves.
    snapshot: RwLock<Option<Arc<IndexSnapshot>>>,
    /// Its index queue (runs, their outcome, the watcher): see [`crate::freshness`].
    queue: Arc<QueueTarget>,
    /// Whether it came from the registry (and so can be removed at run time).
    registered: bool,
}

impl Repository {
    fn new(spec: RepositorySpec, registered: bool) -> Arc<Repository> {
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
                        if let Err(error) = current_snapshot(&repository) {
                            tracing::warn!(%error, "opening the new generation failed");
                        }
                    }
                }),
            });
            Repository { spec, snapshot: RwLock::new(None), queue, registered }
        })
    }

    fn fresh(&self) -> &Freshness {
        &self.queue.fresh
    }
}

/// The domain service over local repositories.
///
/// Cheap to share (`Arc<Engine>`). Snapshots are opened lazily and re-opened when
/// another process (`codectx index`) publishes a new generation, so a long-running
/// server serves fresh indexes; a request holds its snapshot for its whole
/// duration and never sees half an update.
pub struct Engine {
    repositories: RwLock<BTreeMap<String, Arc<Repository>>>,
    /// The run-time registry, when `[server] storage_root` is set.
    registry: Option<Arc<std::sync::Mutex<crate::registry::Registry>>>,
    config: Config,
    planner: Planner,
    /// Runs the index queues: config, the index embedder (a second model session,
    /// so that an index run never holds up query embedding) and the slots for
    /// runs at once across repositories.
    runner: Runner,
    /// Whether [`Engine::start_watching`] was called (repositories added later
    /// are watched too).
    watching: std::sync::atomic::AtomicBool,
    /// Whether damage a request finds in a served index starts a rebuild
    /// ([`Engine::heal_damaged_indexes`]).
    heal: std::sync::atomic::AtomicBool,
}

/// An embedder loaded on first use; `Err` keeps why embeddings are unavailable.
pub(crate) type EmbedderSlot = Arc<OnceLock<std::result::Result<Arc<dyn Embedder>, String>>>;

pub(crate) fn load_embedder(slot: &EmbedderSlot, config: &EmbedConfig) -> Result<Arc<dyn Embedder>> {
    slot.get_or_init(|| match codectx_embed::from_config(config) {
        Ok(Some(embedder)) => Ok(Arc::from(embedder)),
        Ok(None) => Err("embeddings are off ([embed] provider = \"none\")".to_string()),
        Err(error) => Err(codectx_embed::runtime::message(error)),
    })
    .clone()
    .map_err(Error::Embedding)
}

/// Chooses the signals of a query and embeds it when they include vectors. Cheap
/// to clone into a blocking task.
#[derive(Clone)]
struct Planner {
    options: RetrieveOptions,
    embed: EmbedConfig,
    /// Embeds queries (its own model session).
    embedder: EmbedderSlot,
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
}

impl Planner {
    /// The options and vector hits for a request's `mode` (see
    /// [`ContextRequest::mode`]): an explicit `semantic` or `hybrid` fails with
    /// [`Error::Embedding`] when the index has no embeddings or the embedder does
    /// not load; no mode means hybrid when both are there, else lexical.
    fn plan(
        &self,
        snapshot: &IndexSnapshot,
        query: &str,
        mode: Option<RetrievalMode>,
    ) -> Result<(RetrieveOptions, Vec<(ChunkRef, f32)>)> {
        let mode = match mode {
            Some(mode) => mode,
            None => {
                let ready = snapshot.vectors().is_some() && load_embedder(&self.embedder, &self.embed).is_ok();
                if ready {
                    RetrievalMode::Hybrid
                } else {
                    RetrievalMode::Lexical
                }
            }
        };
        let options = codectx_retrieve::plan::mode_options(&self.options, mode);
        if mode == RetrievalMode::Lexical {
            return Ok((options, Vec::new()));
        }
        let vectors = snapshot.vectors().ok_or_else(|| {
            Error::Embedding(format!(
                "the index at {} has no embeddings (mode {}): run `codectx index` with an embedder configured",
                snapshot.index_dir().display(),
                mode.name()
            ))
        })?;
        let embedder = load_embedder(&self.embedder, &self.embed)?;
        let hits = vectors
            .query(
                snapshot,
                embedder.as_ref(),
                &codectx_retrieve::plan::embedded_text(query),
                options.vector_candidates,
            )?
            .into_iter()
            .map(|((file, ordinal), similarity)| (ChunkRef { file, ordinal }, similarity))
            .collect();
        Ok((options, hits))
    }
}

impl Engine {
    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn repository(&self, name: &str) -> Result<Arc<Repository>> {
        self.repositories
            .read()
            .expect("repositories lock")
            .get(name)
            .cloned()
            .ok_or_else(|| Error::UnknownRepository(name.to_string()))
    }

    fn all_repositories(&self) -> Vec<(String, Arc<Repository>)> {
        let map = self.repositories.read().expect("repositories lock");
        map.iter().map(|(name, repository)| (name.clone(), repository.clone())).collect()
    }

    /// The current snapshot of a repository, opened (or re-opened after a new
    /// generation was published) on a blocking thread.
    async fn snapshot(&self, name: &str) -> Result<Arc<IndexSnapshot>> {
        let repository = self.repository(name)?;
        let opened = run_blocking(move || current_snapshot(&repository)).await;
        self.check_damage(name, opened)
    }

    /// Runs `work` on a blocking thread over the current snapshot of `name`;
    /// damage either step finds goes through [`Engine::check_damage`].
    async fn on_snapshot<T: Send + 'static>(
        &self,
        name: &str,
        work: impl FnOnce(Arc<IndexSnapshot>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let snapshot = self.snapshot(name).await?;
        let result = run_blocking(move || work(snapshot)).await;
        self.check_damage(name, result)
    }

    /// From now on, damage that a request finds in a repository's served index
    /// (a truncated or corrupt file: [`Error::CorruptIndex`]) starts a rebuild
    /// from scratch of that repository in the background, while the others keep
    /// serving; [`ContextService::index_status`] reports the damage until the
    /// rebuild succeeds. `codectx serve` turns this on; a one-shot CLI command
    /// leaves it off and tells the user to run `codectx index --rebuild`.
    pub fn heal_damaged_indexes(&self) {
        self.heal.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Makes the next index run of `repository` a rebuild from scratch
    /// ([`codectx_index::Indexer::rebuild`]): `codectx index --rebuild`.
    ///
    /// Errors: [`Error::UnknownRepository`].
    pub fn request_rebuild(&self, repository: &str) -> Result<()> {
        self.repository(repository)?.fresh().request_rebuild();
        Ok(())
    }

    /// Passes `result` through; when it is [`Error::CorruptIndex`], the
    /// repository's cached snapshot is dropped, the damage recorded, and (with
    /// [`Engine::heal_damaged_indexes`]) one rebuild requested.
    fn check_damage<T>(&self, name: &str, result: Result<T>) -> Result<T> {
        if let Err(error @ Error::CorruptIndex { .. }) = &result {
            if let Ok(repository) = self.repository(name) {
                *repository.snapshot.write().expect("snapshot lock") = None;
                let new = repository.fresh().record_damage(error.to_string());
                if new {
                    if self.heal.load(std::sync::atomic::Ordering::SeqCst) {
                        tracing::error!(repository = %name, %error, "the served index is damaged; rebuilding it");
                        freshness::request(&repository.queue, &self.runner);
                    } else {
                        // A one-shot command: the error itself tells the user what to do.
                        tracing::debug!(repository = %name, %error, "the index is damaged");
                    }
                }
            }
        }
        result
    }

    /// Starts a file watcher on every served repository (and on repositories
    /// added later), and requests a catch-up run for each one already indexed,
    /// so that changes made while the server was down are picked up. Called by
    /// `codectx serve` unless `[server] watch = false`; needs a Tokio runtime.
    ///
    /// A repository whose watcher cannot start (inotify limit, folder gone) is
    /// logged and served without one; the others are watched.
    pub async fn start_watching(&self) {
        self.watching.store(true, std::sync::atomic::Ordering::SeqCst);
        for (name, repository) in self.all_repositories() {
            self.watch_repository(&name, &repository).await;
        }
    }

    async fn watch_repository(&self, name: &str, repository: &Arc<Repository>) {
        let debounce = Duration::from_millis(self.config.server.watch_debounce_ms.max(1));
        if let Err(error) = freshness::watch(repository.queue.clone(), self.runner.clone(), debounce).await {
            tracing::error!(repository = %name, %error, "not watching this repository");
            return;
        }
        if current_generation_number(&repository.spec.index_dir()).is_some() {
            freshness::request(&repository.queue, &self.runner);
        }
        tracing::info!(repository = %name, root = %repository.spec.root.display(), "watching for changes");
    }

    /// The snapshot a request may be served from under `freshness`: the current
    /// one at once when it asks for nothing; otherwise waits (see
    /// [`codectx_core::Freshness`]) until a generation satisfies it, or fails with
    /// [`Error::DeadlineExceeded`] at the deadline, or with the index run's error
    /// when the run it waited for failed.
    async fn fresh_snapshot(&self, name: &str, freshness: &codectx_core::Freshness) -> Result<Arc<IndexSnapshot>> {
        let snapshot = self.wait_for_snapshot(name, freshness).await;
        self.check_damage(name, snapshot)
    }

    async fn wait_for_snapshot(&self, name: &str, freshness: &codectx_core::Freshness) -> Result<Arc<IndexSnapshot>> {
        let repository = self.repository(name)?;
        if !freshness.waits() {
            return run_blocking(move || current_snapshot(&repository)).await;
        }
        let max_wait = self.config.server.max_wait_ms.max(1);
        let wait_ms = match freshness.wait_timeout_ms {
            0 => max_wait,
            ms => ms.min(max_wait),
        };
        let deadline = std::time::Instant::now() + Duration::from_millis(wait_ms);
        let fresh = repository.fresh();

        if freshness.wait_for_pending {
            let state = fresh.state();
            let ticket = if fresh.watching() {
                // The watcher has requested a run for every change it saw.
                fresh.requested().max(state.running)
            } else {
                freshness::request(&repository.queue, &self.runner)
            };
            if ticket > state.completed {
                match freshness::wait_for(fresh, ticket, deadline).await {
                    None => {
                        return Err(Error::DeadlineExceeded(format!(
                            "pending changes of {name} were not indexed within {wait_ms} ms"
                        )))
                    }
                    Some(Err(error)) => return Err(error),
                    Some(Ok(_)) => {}
                }
            }
        }

        let Some(min_commit) = freshness.min_commit.clone() else {
            return run_blocking(move || current_snapshot(&repository)).await;
        };
        let mut state = fresh.subscribe();
        loop {
            state.borrow_and_update();
            let (repo, min) = (repository.clone(), min_commit.clone());
            let (snapshot, reached, head) = run_blocking(move || {
                let snapshot = current_snapshot(&repo)?;
                let reached = commit_reaches(&repo.spec.root, &snapshot.manifest().commit, &min);
                let head = codectx_index::git_head(&repo.spec.root).unwrap_or_default();
                Ok((snapshot, reached, head))
            })
            .await?;
            if reached {
                return Ok(snapshot);
            }
            let indexed = snapshot.manifest().commit.clone();
            // The working tree is at another commit than the index and no run is
            // coming (unwatched, or the event was missed): ask for one.
            let pending = fresh.requested() > fresh.state().completed;
            if !head.is_empty() && head != indexed && !pending {
                freshness::request(&repository.queue, &self.runner);
            }
            // Unwatched trees are polled for HEAD moves.
            let poll = Duration::from_millis(if fresh.watching() { 5_000 } else { 250 });
            let wake = (std::time::Instant::now() + poll).min(deadline);
            let _ = tokio::time::timeout_at(wake.into(), state.changed()).await;
            if std::time::Instant::now() >= deadline {
                return Err(Error::DeadlineExceeded(format!(
                    "{name} is indexed at commit {} (working tree at {}); min_commit {min_commit} not reached within {wait_ms} ms",
                    short(&indexed),
                    short(&head)
                )));
            }
        }
    }

    fn default_budget(&self, request: &mut ContextRequest) {
        if request.token_budget == 0 {
            request.token_budget = self.config.retrieval.default_budget;
        }
    }
}

fn current_snapshot(repository: &Repository) -> Result<Arc<IndexSnapshot>> {
    let index_dir = repository.spec.index_dir();
    let on_disk = current_generation_number(&index_dir);
    if let Some(snapshot) = repository.snapshot.read().expect("snapshot lock").as_ref() {
        if on_disk == Some(snapshot.generation()) {
            crate::telemetry::record_snapshot_cache(true);
            return Ok(snapshot.clone());
        }
    }
    crate::telemetry::record_snapshot_cache(false);
    let snapshot = Arc::new(IndexSnapshot::open(&index_dir)?);
    *repository.snapshot.write().expect("snapshot lock") = Some(snapshot.clone());
    Ok(snapshot)
}

/// Whether the indexed commit `served` satisfies `min_commit`: it starts with
/// those digits, or `git merge-base --is-ancestor` says `min_commit` is an
/// ancestor of it. Without a `git` program, or for a commit git does not know,
/// only the first test counts.
fn commit_reaches(root: &Path, served: &str, min_commit: &str) -> bool {
    if served.is_empty() {
        return false;
    }
    if served.starts_with(&min_commit.to_ascii_lowercase()) {
        return true;
    }
    std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["merge-base", "--is-ancestor", min_commit, served])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The first 12 digits of a commit, or `none`.
fn short(commit: &str) -> &str {
    if commit.is_empty() {
        "none"
    } else {
        &commit[..commit.len().min(12)]
    }
}

fn current_generation_number(index_dir: &Path) -> Option<u64> {
    codectx_index::store::current_generation(index_dir).ok().flatten().map(|(number, _)| number)
}

async fn run_blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(|error| Error::Internal(format!("worker thread: {error}")))?
}

impl ContextService for Engine {
    fn get_context(&self, repository: &str, mut request: ContextRequest) -> BoxFuture<'_, Result<ContextBundle>> {
        let repository = repository.to_string();
        Box::pin(async move {
            self.default_budget(&mut request);
            request.validate()?;
            let snapshot = self.fresh_snapshot(&repository, &request.freshness).await?;
            let planner = self.planner.clone();
            let bundle = run_blocking(move || {
                let (options, hits) = planner.plan(&snapshot, &request.query, request.mode)?;
                codectx_retrieve::assemble_hybrid(&snapshot, &request, &hits, &options)
            })
            .await;
            self.check_damage(&repository, bundle)
        })
    }

    fn generate(
        &self,
        repository: &str,
        mut request: GenerateRequest,
    ) -> BoxFuture<'_, Result<ResultStream<GenerateEvent>>> {
        let repository = repository.to_string();
        Box::pin(async move {
            // An unknown repository is reported as such, whatever the model setup.
            self.repository(&repository)?;
            let model_config = self.config.model.clone().with_env();
            let model = request.model.model.clone().or(model_config.model.clone()).ok_or(Error::NoModel)?;
            let base_url = model_config
                .base_url
                .clone()
                .unwrap_or_else(|| codectx_core::ModelConfig::DEFAULT_BASE_URL.to_string());
            let timeout = Duration::from_secs(model_config.timeout_secs.unwrap_or(300));
            let client = ChatClient::new(&base_url, codectx_core::ModelConfig::api_key(), timeout)?;
            self.default_budget(&mut request.context);
            let question = request.context.query.clone();
            let bundle = self.get_context(&repository, request.context.clone()).await?;
            let messages = build_messages(&bundle, &question);
            let prompt_text: String = messages.iter().map(|message| message.content.as_str()).collect();
            let max_tokens = request.model.max_tokens.or(model_config.max_tokens);
            let temperature = request.model.temperature.or(model_config.temperature).or(Some(0.2));
            let stream = client.stream_chat(&model, messages, max_tokens, temperature).await?;

            let sources: Vec<String> = bundle
                .blocks
                .iter()
                .map(|block| format!("{}:{}-{}", block.path, block.start_line, block.end_line))
                .collect();
            let context_tokens = bundle.tokens_used;
            let (sender, receiver) = mpsc::channel::<Result<GenerateEvent>>(64);
            tokio::spawn(async move {
                if sender.send(Ok(GenerateEvent::Context(bundle))).await.is_err() {
                    return;
                }
                let mut stream = stream;
                let mut answer = String::new();
                let mut reported: Option<(u32, u32)> = None;
                while let Some(item) = stream.next().await {
                    match item {
                        Ok(ChatDelta::Token(token)) => {
                            answer.push_str(&token);
                            if sender.send(Ok(GenerateEvent::Token(token))).await.is_err() {
                                return; // the client went away
                            }
                        }
                        Ok(ChatDelta::Usage { prompt_tokens, completion_tokens }) => {
                            reported = Some((prompt_tokens, completion_tokens));
                        }
                        Err(error) => {
                            let _ = sender.send(Err(error)).await;
                            return;
                        }
                    }
                }
                let (prompt_tokens, completion_tokens) = reported.unwrap_or_else(|| {
                    (codectx_core::tokens::count(&prompt_text) as u32, codectx_core::tokens::count(&answer) as u32)
                });
                let usage = Usage { context_tokens, prompt_tokens, completion_tokens };
                let _ = sender.send(Ok(GenerateEvent::Done { sources, usage })).await;
            });
            Ok(tokio_stream_from(receiver))
        })
    }

    fn search(&self, repository: &str, request: SearchRequest) -> BoxFuture<'_, Result<Vec<SearchHit>>> {
        let repository = repository.to_string();
        Box::pin(async move {
            request.validate()?;
            let planner = self.planner.clone();
            self.on_snapshot(&repository, move |snapshot| {
                let (options, hits) = planner.plan(&snapshot, &request.query, request.mode)?;
                codectx_retrieve::search_hybrid(&snapshot, &request, &hits, &options)
            })
            .await
        })
    }

    fn symbols(&self, repository: &str, name: &str, limit: usize) -> BoxFuture<'_, Result<Vec<SymbolInfo>>> {
        let repository = repository.to_string();
        let name = name.trim().to_string();
        Box::pin(async move {
            codectx_core::validate_symbol_name(&name)?;
            let snapshot = self.snapshot(&repository).await?;
            let mut found = snapshot.find_symbols(&name);
            found.sort_by_key(|reference| (reference.file, reference.symbol));
            Ok(found
                .into_iter()
                .take(limit.max(1))
                .map(|reference| codectx_retrieve::references::symbol_info(&snapshot, reference))
                .collect())
        })
    }

    fn references(
        &self,
        repository: &str,
        name: &str,
        page_size: usize,
        page_token: &str,
    ) -> BoxFuture<'_, Result<References>> {
        let repository = repository.to_string();
        let (name, page_token) = (name.to_string(), page_token.to_string());
        Box::pin(async move {
            codectx_core::validate_symbol_name(&name)?;
            codectx_core::validate_field(FieldKind::Name, "page token", &page_token)?;
            self.on_snapshot(&repository, move |snapshot| {
                codectx_retrieve::references::references(&snapshot, &name, page_size, &page_token)
            })
            .await
        })
    }

    fn symbol_graph(
        &self,
        repository: &str,
        request: codectx_core::SymbolGraphRequest,
    ) -> BoxFuture<'_, Result<codectx_core::SymbolGraph>> {
        let repository = repository.to_string();
        Box::pin(async move {
            request.validate()?;
            self.on_snapshot(&repository, move |snapshot| {
                codectx_retrieve::references::symbol_graph(&snapshot, &request)
            })
            .await
        })
    }

    fn file_dependencies(&self, repository: &str, path: &str) -> BoxFuture<'_, Result<FileDependencies>> {
        let repository = repository.to_string();
        let path = path.trim_start_matches("./").to_string();
        Box::pin(async move {
            codectx_core::validate_field(FieldKind::Path, "path", &path)?;
            if path.trim().is_empty() {
                return Err(Error::InvalidArgument("the path is empty".into()));
            }
            let snapshot = self.snapshot(&repository).await?;
            let (file, entry) = snapshot.file(&path).ok_or_else(|| {
                Error::NotFound(format!("{} is not in the index of {}", quote(&path), quote(&repository)))
            })?;
            let imports = entry
                .parsed
                .imports
                .iter()
                .map(|import| codectx_core::DependencyEdge {
                    from_path: path.clone(),
                    to_path: import.resolved.clone().unwrap_or_default(),
                    module: import.module.clone(),
                    line: import.line,
                })
                .collect();
            let imported_by = snapshot
                .imported_by(file)
                .iter()
                .map(|&(from, import_index)| {
                    let from_entry = snapshot.file_at(from);
                    let import = &from_entry.parsed.imports[import_index as usize];
                    codectx_core::DependencyEdge {
                        from_path: from_entry.record.path.clone(),
                        to_path: path.clone(),
                        module: import.module.clone(),
                        line: import.line,
                    }
                })
                .collect();
            Ok(FileDependencies { path, imports, imported_by })
        })
    }

    fn index(&self, repository: &str) -> BoxFuture<'_, Result<ResultStream<IndexEvent>>> {
        let repository = repository.to_string();
        Box::pin(async move {
            let repository = self.repository(&repository)?;
            // Subscribe before requesting, so that no progress of the run is missed.
            let mut progress = repository.fresh().progress();
            let ticket = freshness::request(&repository.queue, &self.runner);
            let queue = repository.queue.clone();
            let (sender, receiver) = mpsc::channel::<Result<IndexEvent>>(256);
            tokio::spawn(async move {
                let fresh = &queue.fresh;
                if fresh.state().completed < ticket {
                    let queued = IndexProgress { phase: "queued".into(), done: 0, total: 0 };
                    let _ = sender.try_send(Ok(IndexEvent::Progress(queued)));
                }
                let done = freshness::outcome(fresh, ticket);
                tokio::pin!(done);
                loop {
                    tokio::select! {
                        step = progress.recv() => match step {
                            Ok((covers, step)) if covers >= ticket => {
                                // Advisory: dropped when the client reads slowly.
                                let _ = sender.try_send(Ok(IndexEvent::Progress(step)));
                            }
                            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                            Err(tokio::sync::broadcast::error::RecvError::Closed) => {}
                        },
                        outcome = &mut done => {
                            let _ = sender.send(outcome.map(|stats| IndexEvent::Done(Box::new(stats)))).await;
                            return;
                        }
                    }
                }
            });
            Ok(tokio_stream_from(receiver))
        })
    }

    fn list_repositories(&self) -> BoxFuture<'_, Result<Vec<RepositoryInfo>>> {
        Box::pin(async move {
            let mut out = Vec::new();
            for (name, repository) in self.all_repositories() {
                let snapshot = {
                    let repository = repository.clone();
                    let opened = run_blocking(move || current_snapshot(&repository)).await;
                    self.check_damage(&name, opened).ok()
                };
                out.push(repository_info(&name, &repository, snapshot.as_deref()));
            }
            Ok(out)
        })
    }

    fn add_repository(&self, name: &str, path: &str) -> BoxFuture<'_, Result<RepositoryInfo>> {
        let (name, path) = (name.trim().to_string(), path.trim().to_string());
        Box::pin(async move {
            crate::registry::validate_name(&name)?;
            codectx_core::validate_field(FieldKind::Path, "repository path", &path)?;
            let path = PathBuf::from(path);
            let Some(registry) = &self.registry else {
                return Err(Error::PermissionDenied(
                    "this server has no [server] storage_root, so repositories cannot be added at run time".into(),
                ));
            };
            let allowed = self.config.server.allowed_roots.clone();
            let root = run_blocking(move || crate::registry::confine(&path, &allowed)).await?;
            if self.repositories.read().expect("repositories lock").contains_key(&name) {
                return Err(Error::AlreadyExists(format!("repository {name}")));
            }
            // The registry file is written (and fsynced) on a blocking thread; the
            // registry refuses a name it already has, so concurrent adds of one
            // name cannot both succeed.
            let entry = {
                let (registry, name) = (registry.clone(), name.clone());
                run_blocking(move || {
                    let mut registry = registry.lock().expect("registry lock");
                    let entry = crate::registry::RegistryEntry { index_dir: registry.index_dir_for(&name), name, root };
                    registry.add(entry.clone())?;
                    Ok(entry)
                })
                .await?
            };
            let spec = RepositorySpec { name: name.clone(), root: entry.root, index_dir: Some(entry.index_dir) };
            let repository = Repository::new(spec, true);
            self.repositories.write().expect("repositories lock").insert(name.clone(), repository.clone());
            if self.watching.load(std::sync::atomic::Ordering::SeqCst) {
                self.watch_repository(&name, &repository).await;
            }
            Ok(repository_info(&name, &repository, None))
        })
    }

    fn remove_repository(&self, name: &str, delete_index: bool) -> BoxFuture<'_, Result<()>> {
        let name = name.trim().to_string();
        Box::pin(async move {
            let repository = self.repository(&name)?;
            if !repository.registered {
                return Err(Error::InvalidArgument(format!(
                    "repository {name} comes from the configuration or the command line, not the registry"
                )));
            }
            let registry = self.registry.as_ref().ok_or_else(|| Error::UnknownRepository(name.clone()))?;
            // Wait for an index run in progress to finish before the folder goes.
            let _running = repository.queue.indexing.lock().await;
            {
                let (registry, name) = (registry.clone(), name.clone());
                run_blocking(move || registry.lock().expect("registry lock").remove(&name).map(|_| ())).await?;
            }
            self.repositories.write().expect("repositories lock").remove(&name);
            repository.fresh().close();
            if delete_index {
                let index_dir = repository.spec.index_dir();
                run_blocking(move || match std::fs::remove_dir_all(&index_dir) {
                    Ok(()) => Ok(()),
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err(error) => Err(Error::io(&index_dir, error)),
                })
                .await?;
            }
            Ok(())
        })
    }

    fn index_status(&self, repository: &str) -> BoxFuture<'_, Result<codectx_core::IndexStatus>> {
        let name = repository.trim().to_string();
        Box::pin(async move {
            let repository = self.repository(&name)?;
            let (snapshot, head_commit) = {
                let repository = repository.clone();
                run_blocking(move || {
                    let head = codectx_index::git_head(&repository.spec.root).unwrap_or_default();
                    Ok((current_snapshot(&repository), head))
                })
                .await?
            };
            let snapshot = self.check_damage(&name, snapshot).ok();
            let fresh = repository.fresh();
            let state = fresh.state();
            let (last_run, last_error) = match state.last {
                Some(Ok(stats)) => (Some(stats), None),
                Some(Err(error)) => (None, Some(error.to_string())),
                None => (None, None),
            };
            let requested = fresh.requested();
            Ok(codectx_core::IndexStatus {
                repository: repository_info(&name, &repository, snapshot.as_deref()),
                generation: snapshot.as_ref().map_or(0, |snapshot| snapshot.generation()),
                indexed_unix: snapshot.as_ref().map_or(0, |snapshot| snapshot.manifest().created_unix),
                indexing: state.running > 0,
                last_run,
                last_error,
                watching: fresh.watching(),
                pending_changes: fresh.pending_changes(),
                queued: requested > state.completed.max(state.running),
                head_commit,
                last_run_unix: state.finished_unix,
                index_runs: fresh.runs(),
                damage: fresh.damage(),
            })
        })
    }
}

/// What [`RepositoryInfo`] says of a repository and its current snapshot, if any.
fn repository_info(name: &str, repository: &Repository, snapshot: Option<&IndexSnapshot>) -> RepositoryInfo {
    match snapshot {
        Some(snapshot) => {
            let stats = &snapshot.manifest().stats;
            RepositoryInfo {
                name: name.to_string(),
                root: repository.spec.root.display().to_string(),
                indexed: true,
                fingerprint: snapshot.manifest().fingerprint.clone(),
                commit: snapshot.manifest().commit.clone(),
                files: stats.files,
                chunks: stats.chunks,
                symbols: stats.symbols,
            }
        }
        None => RepositoryInfo {
            name: name.to_string(),
            root: repository.spec.root.display().to_string(),
            indexed: false,
            fingerprint: String::new(),
            commit: String::new(),
            files: 0,
            chunks: 0,
            symbols: 0,
        },
    }
}

fn tokio_stream_from<T: Send + 'static>(mut receiver: mpsc::Receiver<T>) -> futures::stream::BoxStream<'static, T> {
    futures::stream::poll_fn(move |context| receiver.poll_recv(context)).boxed()
}
