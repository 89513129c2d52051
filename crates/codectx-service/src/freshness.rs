//! Live freshness: the index queue of each repository, the file watcher that
//! feeds it, and requests that wait for a fresh enough generation.
//!
//! **Queue.** Every reason to re-index (a watched file changed, `HEAD` moved,
//! `IndexRepository` / `RefreshRepository`, a request waiting for pending
//! changes) *requests* a run: it bumps the repository's request counter and gets
//! that number as its ticket. One driver task per repository runs the indexer
//! whenever requests are ahead of what has been indexed; a run covers every
//! request made before it started, so a burst of requests becomes one or two
//! runs, never a backlog. Runs of one repository are serialized (and the
//! indexer's lock file keeps other processes out); across repositories at most
//! `[server] index_concurrency` runs go at once (a semaphore), the rest queue.
//!
//! **Generations.** A run builds the new generation beside the current one and
//! switches `CURRENT` atomically; requests hold the snapshot they started with,
//! so they see the old generation or the new one, never half of either.
//!
//! **Watcher.** [`watch`] puts a `notify` watch (inotify on Linux, FSEvents on
//! macOS) on every folder the indexer walks (ignored trees such as `target/` or
//! `node_modules/` are not watched), plus git's `HEAD`, `packed-refs` and
//! `refs/`. Events are debounced (`[server] watch_debounce_ms`), filtered by the
//! walker's rules, counted as pending changes, and a run is requested. New
//! folders get watches as they appear.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use codectx_core::{EmbedConfig, EmbedProvider, Error, IndexConfig, IndexProgress, IndexStats, Result};
use codectx_index::Indexer;
use notify_debouncer_full::notify::event::{AccessKind, AccessMode, ModifyKind};
use notify_debouncer_full::notify::{EventKind, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{new_debouncer, DebounceEventResult, Debouncer, RecommendedCache};
use tokio::sync::{broadcast, watch, Notify, Semaphore};

use crate::embedder::{load_embedder, EmbedderSlot};

/// What the index queue of a repository has done, as published to waiters.
#[derive(Debug, Clone, Default)]
pub(crate) struct RunState {
    /// The highest ticket covered by a finished run (successful or not).
    pub completed: u64,
    /// The ticket the run in progress covers (0: none running).
    pub running: u64,
    /// The outcome of the last finished run.
    pub last: Option<Result<IndexStats>>,
    /// Seconds since the Unix epoch when the last run finished (0: none yet).
    pub finished_unix: u64,
}

/// The index queue and watcher state of one repository.
pub(crate) struct Freshness {
    /// Tickets handed out so far (the last request's number).
    requested: AtomicU64,
    /// Wakes the driver when a request arrives or the repository goes.
    wake: Notify,
    state: watch::Sender<RunState>,
    /// Progress of runs: (ticket the run covers, progress).
    progress: broadcast::Sender<(u64, IndexProgress)>,
    /// Changed paths seen by the watcher and not yet taken by a run.
    pending_paths: AtomicU64,
    /// Changed paths the run in progress took.
    running_paths: AtomicU64,
    /// Whether the driver task was started.
    driver: AtomicBool,
    /// Set when the repository is removed: the driver and watcher stop.
    closed: AtomicBool,
    /// The live watcher, if any (dropping it stops watching).
    watcher: Mutex<Option<WatchHandle>>,
    /// Whether the next run rebuilds from scratch ([`Indexer::rebuild`]): set
    /// when the served generation was found damaged, cleared when a run starts
    /// (and set again if that run fails).
    rebuild: AtomicBool,
    /// Why the served generation is unusable (damage found by a request), until
    /// a rebuild succeeds.
    damage: Mutex<Option<String>>,
    /// Index runs finished in this process (successful or not).
    runs: AtomicU64,
}

impl Default for Freshness {
    fn default() -> Self {
        Freshness {
            requested: AtomicU64::new(0),
            wake: Notify::new(),
            state: watch::Sender::new(RunState::default()),
            progress: broadcast::Sender::new(1024),
            pending_paths: AtomicU64::new(0),
            running_paths: AtomicU64::new(0),
            driver: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            watcher: Mutex::new(None),
            rebuild: AtomicBool::new(false),
            damage: Mutex::new(None),
            runs: AtomicU64::new(0),
        }
    }
}

impl Freshness {
    /// The state published after each run.
    pub fn state(&self) -> RunState {
        self.state.borrow().clone()
    }

    /// A receiver of the run state, to wait on.
    pub fn subscribe(&self) -> watch::Receiver<RunState> {
        self.state.subscribe()
    }

    /// A receiver of run progress (subscribe before requesting, so that nothing is missed).
    pub fn progress(&self) -> broadcast::Receiver<(u64, IndexProgress)> {
        self.progress.subscribe()
    }

    /// Tickets handed out so far.
    pub fn requested(&self) -> u64 {
        self.requested.load(Ordering::SeqCst)
    }

    /// Whether a watcher is live.
    pub fn watching(&self) -> bool {
        self.watcher.lock().expect("watcher lock").is_some()
    }

    /// Changed paths not covered by a finished run.
    pub fn pending_changes(&self) -> u64 {
        self.pending_paths.load(Ordering::SeqCst) + self.running_paths.load(Ordering::SeqCst)
    }

    /// Index runs finished in this process, successful or not.
    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::SeqCst)
    }

    /// Why the served generation is unusable, while a rebuild is pending.
    pub fn damage(&self) -> Option<String> {
        self.damage.lock().expect("damage lock").clone()
    }

    /// Records damage of the served generation and marks the next run as a
    /// rebuild from scratch. Returns whether the damage is new (no rebuild was
    /// pending yet), so that the caller requests one run, not one per request.
    pub fn record_damage(&self, why: String) -> bool {
        *self.damage.lock().expect("damage lock") = Some(why);
        !self.rebuild.swap(true, Ordering::SeqCst)
    }

    /// Makes the next run a rebuild from scratch (`codectx index --rebuild`).
    pub fn request_rebuild(&self) {
        self.rebuild.store(true, Ordering::SeqCst);
    }

    /// Stops the driver and the watcher (the repository was removed).
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.watcher.lock().expect("watcher lock").take();
        self.wake.notify_one();
    }
}

/// What an index run needs besides the repository: shared by all repositories.
#[derive(Clone)]
pub(crate) struct Runner {
    pub index: IndexConfig,
    pub embed: EmbedConfig,
    /// The embedder of index runs (its own model session).
    pub embedder: EmbedderSlot,
    /// Slots for runs at once across repositories.
    pub slots: Arc<Semaphore>,
    /// Runs waiting for a slot.
    pub waiting: Arc<AtomicUsize>,
    /// Runs executing.
    pub running: Arc<AtomicUsize>,
}

impl Runner {
    /// A runner allowing `concurrency` runs at once (0: the number of CPUs).
    pub fn new(index: IndexConfig, embed: EmbedConfig, concurrency: usize) -> Runner {
        let concurrency = match concurrency {
            0 => std::thread::available_parallelism().map_or(1, |cpus| cpus.get()),
            n => n,
        };
        Runner {
            index,
            embed,
            embedder: Arc::default(),
            slots: Arc::new(Semaphore::new(concurrency)),
            waiting: Arc::new(AtomicUsize::new(0)),
            running: Arc::new(AtomicUsize::new(0)),
        }
    }
}

/// The parts of a repository the queue needs.
pub(crate) struct QueueTarget {
    /// Name, for logs.
    pub name: String,
    pub root: PathBuf,
    pub index_dir: Option<PathBuf>,
    pub fresh: Arc<Freshness>,
    /// Held for the length of each run (also taken by removal, to wait for one).
    pub indexing: Arc<tokio::sync::Mutex<()>>,
    /// Called after a successful run, on a blocking thread, to open the new generation.
    pub reload: Arc<dyn Fn() + Send + Sync>,
}

/// Requests an index run of `target` and returns its ticket: the run that
/// covers it starts after this call. Starts the repository's driver task on first
/// use (so it must be called within a Tokio runtime).
pub(crate) fn request(target: &Arc<QueueTarget>, runner: &Runner) -> u64 {
    let ticket = target.fresh.requested.fetch_add(1, Ordering::SeqCst) + 1;
    if !target.fresh.driver.swap(true, Ordering::SeqCst) {
        tokio::spawn(drive(target.clone(), runner.clone()));
    }
    target.fresh.wake.notify_one();
    ticket
}

/// The driver of one repository's queue: runs the indexer while requests are
/// ahead of the last finished run; exits when the repository is closed.
async fn drive(target: Arc<QueueTarget>, runner: Runner) {
    let fresh = &target.fresh;
    loop {
        loop {
            if fresh.closed.load(Ordering::SeqCst) {
                return;
            }
            if fresh.requested() > fresh.state.borrow().completed {
                break;
            }
            fresh.wake.notified().await;
        }
        crate::telemetry::set_index_queue_depth(runner.waiting.fetch_add(1, Ordering::SeqCst) + 1);
        let permit = runner.slots.clone().acquire_owned().await;
        crate::telemetry::set_index_queue_depth(runner.waiting.fetch_sub(1, Ordering::SeqCst) - 1);
        let Ok(_permit) = permit else { return };
        let _running = target.indexing.lock().await;
        if fresh.closed.load(Ordering::SeqCst) {
            return;
        }
        // Everything requested up to now is covered by this run.
        let covers = fresh.requested();
        let taken = fresh.pending_paths.swap(0, Ordering::SeqCst);
        fresh.running_paths.store(taken, Ordering::SeqCst);
        fresh.state.send_modify(|state| state.running = covers);
        crate::telemetry::set_index_running(runner.running.fetch_add(1, Ordering::SeqCst) + 1);
        let started = Instant::now();
        let outcome = {
            let (target, runner) = (target.clone(), runner.clone());
            tokio::task::spawn_blocking(move || run_index(&target, &runner, covers))
                .await
                .unwrap_or_else(|error| Err(Error::Internal(format!("index worker: {error}"))))
        };
        crate::telemetry::set_index_running(runner.running.fetch_sub(1, Ordering::SeqCst) - 1);
        crate::telemetry::record_index_run(&target.name, outcome.as_ref().ok(), started.elapsed().as_secs_f64());
        let outcome = match outcome {
            Ok(stats) => {
                let reload = target.reload.clone();
                let _ = tokio::task::spawn_blocking(move || reload()).await;
                tracing::info!(
                    repository = %target.name,
                    generation = stats.generation,
                    parsed = stats.parsed,
                    removed = stats.removed,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "index run finished"
                );
                Ok(stats)
            }
            Err(error) => {
                // The changes are still pending: the next run retries them.
                fresh.pending_paths.fetch_add(taken, Ordering::SeqCst);
                // Watched (a server): nobody may be waiting on this run, so it is logged.
                // Otherwise whoever asked for it gets the error (and a CLI prints it once).
                if fresh.watching() {
                    tracing::warn!(repository = %target.name, %error, "index run failed; the previous generation stays current");
                } else {
                    tracing::debug!(repository = %target.name, %error, "index run failed; the previous generation stays current");
                }
                Err(error)
            }
        };
        fresh.running_paths.store(0, Ordering::SeqCst);
        fresh.runs.fetch_add(1, Ordering::SeqCst);
        fresh.state.send_modify(|state| {
            state.completed = covers;
            state.running = 0;
            state.last = Some(outcome);
            state.finished_unix = codectx_core::unix_now();
        });
    }
}

/// One incremental index run (blocking): the lexical generation, then the
/// vectors when an embedder is configured. An embedder that does not load leaves
/// the lexical index complete and says why in `stats.embeddings.error`.
fn run_index(target: &QueueTarget, runner: &Runner, covers: u64) -> Result<IndexStats> {
    let rebuild = target.fresh.rebuild.swap(false, Ordering::SeqCst);
    let outcome = run_indexer(target, runner, covers, rebuild);
    match &outcome {
        // Still to do: the next run rebuilds.
        Err(_) if rebuild => target.fresh.rebuild.store(true, Ordering::SeqCst),
        Ok(_) if rebuild => {
            let damage = target.fresh.damage.lock().expect("damage lock").take();
            if let Some(damage) = damage {
                tracing::info!(repository = %target.name, %damage, "damaged index rebuilt");
            }
        }
        _ => {}
    }
    outcome
}

fn run_indexer(target: &QueueTarget, runner: &Runner, covers: u64, rebuild: bool) -> Result<IndexStats> {
    let indexer = Indexer::new(&target.root, target.index_dir.as_deref(), runner.index.clone())?.rebuild(rebuild);
    let mut load_error = None;
    let indexer = match runner.embed.provider {
        EmbedProvider::None => indexer,
        _ => match load_embedder(&runner.embedder, &runner.embed) {
            Ok(embedder) => indexer.with_embedder(embedder, runner.embed.clone()),
            Err(error) => {
                load_error = Some(error.to_string());
                indexer
            }
        },
    };
    let progress = target.fresh.progress.clone();
    let mut stats = indexer.run(&|step| {
        // Progress is advisory: nobody listening is fine.
        let _ = progress.send((covers, step.clone()));
    })?;
    if let Some(error) = load_error {
        stats.embeddings = Some(codectx_core::EmbedStats { error: Some(error), ..Default::default() });
    }
    Ok(stats)
}

/// Waits until a run covering `ticket` has finished and returns its outcome (or a
/// later run's, which covers it too).
pub(crate) async fn outcome(fresh: &Freshness, ticket: u64) -> Result<IndexStats> {
    let mut receiver = fresh.subscribe();
    let last = match receiver.wait_for(|state| state.completed >= ticket).await {
        Ok(state) => state.last.clone(),
        Err(_) => return Err(Error::Internal("the index queue stopped".into())),
    };
    last.unwrap_or_else(|| Err(Error::Internal("the index run left no outcome".into())))
}

/// [`outcome`], or `None` at `deadline`.
pub(crate) async fn wait_for(fresh: &Freshness, ticket: u64, deadline: Instant) -> Option<Result<IndexStats>> {
    tokio::time::timeout_at(deadline.into(), outcome(fresh, ticket)).await.ok()
}

/// A live watcher; dropping it stops watching.
pub(crate) struct WatchHandle {
    _debouncer: Arc<Mutex<Debouncer<RecommendedWatcher, RecommendedCache>>>,
    _task: AbortOnDrop,
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Where git keeps `HEAD` and the refs of a working tree.
#[derive(Clone)]
struct GitPaths {
    /// The folder with `HEAD` (`.git`, or a linked worktree's folder).
    dir: PathBuf,
    /// The folder with `refs/` and `packed-refs` (the same, or the common folder).
    common: PathBuf,
}

fn git_paths(root: &Path) -> Option<GitPaths> {
    let dir = codectx_index::git::git_dir(root)?;
    let common = std::fs::read_to_string(dir.join("commondir"))
        .ok()
        .map(|text| dir.join(text.trim()))
        .unwrap_or_else(|| dir.clone());
    let common = common.canonicalize().unwrap_or(common);
    let dir = dir.canonicalize().unwrap_or(dir);
    Some(GitPaths { dir, common })
}

/// Starts watching `target`'s working tree: every folder the indexer walks, and
/// git's `HEAD` and refs. Each debounced batch of relevant events adds to the
/// pending changes and requests a run (see the [module docs](self)).
///
/// Errors: [`Error::Internal`] when the watcher cannot start or a folder cannot
/// be watched (on Linux, usually the inotify limit: raise
/// `fs.inotify.max_user_watches`).
pub(crate) async fn watch(target: Arc<QueueTarget>, runner: Runner, debounce: Duration) -> Result<()> {
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<Vec<PathBuf>>();
    let debouncer = new_debouncer(debounce, None, move |result: DebounceEventResult| match result {
        Ok(events) => {
            let paths: Vec<PathBuf> = events
                .into_iter()
                .filter(|event| may_change_content(&event.event.kind))
                .flat_map(|event| event.event.paths)
                .collect();
            if !paths.is_empty() {
                let _ = sender.send(paths);
            }
        }
        Err(errors) => {
            for error in errors {
                tracing::warn!(%error, "file watcher error");
            }
        }
    })
    .map_err(|error| Error::Internal(format!("file watcher: {error}")))?;
    let debouncer = Arc::new(Mutex::new(debouncer));

    let root = target.root.canonicalize().map_err(|error| Error::io(&target.root, error))?;
    let index_dir = target.index_dir.clone().unwrap_or_else(|| root.join(codectx_core::DEFAULT_INDEX_DIR));
    let index_dir = index_dir.canonicalize().unwrap_or(index_dir);
    let git = git_paths(&root);
    let watched: Arc<Mutex<HashSet<PathBuf>>> = Arc::default();
    {
        let (debouncer, root, index_dir, config, watched) =
            (debouncer.clone(), root.clone(), index_dir.clone(), runner.index.clone(), watched.clone());
        let git = git.clone();
        tokio::task::spawn_blocking(move || -> Result<()> {
            let dirs = codectx_index::walk::walk_dirs(&root, &root, &index_dir, &config)?;
            let mut debouncer = debouncer.lock().expect("watcher lock");
            let mut watched = watched.lock().expect("watched lock");
            for dir in dirs {
                debouncer.watch(&dir, RecursiveMode::NonRecursive).map_err(|error| watch_error(&dir, error))?;
                watched.insert(dir);
            }
            if let Some(GitPaths { dir, common }) = git {
                debouncer.watch(&dir, RecursiveMode::NonRecursive).map_err(|error| watch_error(&dir, error))?;
                if common != dir {
                    debouncer
                        .watch(&common, RecursiveMode::NonRecursive)
                        .map_err(|error| watch_error(&common, error))?;
                }
                let refs = common.join("refs");
                if refs.is_dir() {
                    debouncer.watch(&refs, RecursiveMode::Recursive).map_err(|error| watch_error(&refs, error))?;
                }
            }
            Ok(())
        })
        .await
        .map_err(|error| Error::Internal(format!("watcher setup: {error}")))??;
    }

    let task = {
        let (debouncer, target, runner) = (debouncer.clone(), target.clone(), runner.clone());
        tokio::spawn(async move {
            while let Some(paths) = receiver.recv().await {
                let classify = {
                    let (debouncer, root, index_dir, config, watched) =
                        (debouncer.clone(), root.clone(), index_dir.clone(), runner.index.clone(), watched.clone());
                    let git = git.clone();
                    tokio::task::spawn_blocking(move || {
                        relevant_changes(&paths, &root, &index_dir, &config, git.as_ref(), &debouncer, &watched)
                    })
                };
                let changed = classify.await.unwrap_or(0);
                if changed > 0 {
                    target.fresh.pending_paths.fetch_add(changed, Ordering::SeqCst);
                    tracing::debug!(repository = %target.name, changed, "files changed; index run requested");
                    request(&target, &runner);
                }
            }
        })
    };
    *target.fresh.watcher.lock().expect("watcher lock") =
        Some(WatchHandle { _debouncer: debouncer, _task: AbortOnDrop(task) });
    Ok(())
}

/// Whether a file-system event can change what the index holds: a file or
/// folder created, written, renamed or removed. Opening, reading and closing a
/// file unwritten (`inotify`'s `IN_OPEN`, `IN_ACCESS`, `IN_CLOSE_NOWRITE`) and
/// metadata changes (permissions, timestamps, `IN_ATTRIB`) cannot: each index
/// run opens every file it walks (and git's `HEAD`), so counting those made every
/// run request the next one, a loop on an idle server.
fn may_change_content(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(_) | EventKind::Remove(_) => true,
        EventKind::Modify(ModifyKind::Metadata(_)) => false,
        EventKind::Modify(_) => true,
        // A file opened for writing was closed: its content may be new.
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        // The backend lost events (a queue overflow) or cannot say what happened.
        EventKind::Any | EventKind::Other => true,
    }
}

fn watch_error(path: &Path, error: notify_debouncer_full::notify::Error) -> Error {
    Error::Internal(format!(
        "cannot watch {}: {error} (on Linux, raise fs.inotify.max_user_watches, or set [server] watch = false)",
        path.display()
    ))
}

/// How many of `paths` are changes the index must see: files the walker would
/// index (or that are gone), new folders (which also get watches), and moves of
/// git's `HEAD` or refs. Paths in the index folder, ignored files and git's
/// other files do not count.
fn relevant_changes(
    paths: &[PathBuf],
    root: &Path,
    index_dir: &Path,
    config: &IndexConfig,
    git: Option<&GitPaths>,
    debouncer: &Mutex<Debouncer<RecommendedWatcher, RecommendedCache>>,
    watched: &Mutex<HashSet<PathBuf>>,
) -> u64 {
    let mut seen = HashSet::new();
    let mut changed = 0u64;
    // What the walk would visit, per folder: each folder of the batch is listed once
    // (`None`: it could not be, so its files count).
    let mut listed: HashMap<PathBuf, Option<HashSet<PathBuf>>> = HashMap::new();
    for path in paths {
        if !seen.insert(path.clone()) || path.starts_with(index_dir) {
            continue;
        }
        if let Some(git) = git {
            if path.starts_with(&git.dir) || path.starts_with(&git.common) {
                let name = path.file_name().and_then(|name| name.to_str()).unwrap_or("");
                let head_or_ref = (path == &git.dir.join("HEAD"))
                    || path == &git.common.join("packed-refs")
                    || (path.starts_with(git.common.join("refs")) && !name.ends_with(".lock"));
                changed += u64::from(head_or_ref);
                continue;
            }
        }
        if !path.starts_with(root) {
            continue;
        }
        match std::fs::symlink_metadata(path) {
            // Gone (deleted, or renamed away): it may have been indexed. A folder's
            // watches went with it; one made again at that path is watched anew.
            Err(_) => {
                watched.lock().expect("watched lock").retain(|dir| !dir.starts_with(path));
                changed += 1;
            }
            Ok(metadata) if metadata.is_dir() => {
                if watched.lock().expect("watched lock").contains(path) {
                    continue; // a folder's own metadata changed; its files report themselves
                }
                let dirs = codectx_index::walk::walk_dirs(root, path, index_dir, config).unwrap_or_default();
                if dirs.is_empty() {
                    continue; // an ignored folder
                }
                let mut debouncer = debouncer.lock().expect("watcher lock");
                let mut watched = watched.lock().expect("watched lock");
                for dir in dirs {
                    if let Err(error) = debouncer.watch(&dir, RecursiveMode::NonRecursive) {
                        tracing::warn!("{}", watch_error(&dir, error));
                    }
                    watched.insert(dir);
                }
                // A folder moved or copied in brings files the index has not seen.
                changed += 1;
            }
            Ok(_) => {
                let Some(folder) = path.parent() else { continue };
                let entries = listed
                    .entry(folder.to_path_buf())
                    .or_insert_with(|| codectx_index::walk::included_entries(root, folder, index_dir, config).ok());
                if entries.as_ref().is_none_or(|entries| entries.contains(path)) {
                    changed += 1;
                }
            }
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use notify_debouncer_full::notify::event::{CreateKind, DataChange, MetadataKind, RemoveKind, RenameMode};

    use super::*;

    #[test]
    fn reads_and_metadata_do_not_count_as_changes_writes_creates_renames_and_removes_do() {
        let quiet = [
            EventKind::Access(AccessKind::Open(AccessMode::Any)),
            EventKind::Access(AccessKind::Read),
            EventKind::Access(AccessKind::Close(AccessMode::Read)),
            EventKind::Access(AccessKind::Any),
            EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime)),
            EventKind::Modify(ModifyKind::Metadata(MetadataKind::Any)),
            EventKind::Modify(ModifyKind::Metadata(MetadataKind::Permissions)),
        ];
        for kind in quiet {
            assert!(!may_change_content(&kind), "{kind:?} must not trigger a run");
        }
        let changes = [
            EventKind::Create(CreateKind::File),
            EventKind::Create(CreateKind::Folder),
            EventKind::Remove(RemoveKind::File),
            EventKind::Modify(ModifyKind::Data(DataChange::Any)),
            EventKind::Modify(ModifyKind::Name(RenameMode::From)),
            EventKind::Modify(ModifyKind::Name(RenameMode::To)),
            EventKind::Modify(ModifyKind::Any),
            EventKind::Access(AccessKind::Close(AccessMode::Write)),
            EventKind::Other,
        ];
        for kind in changes {
            assert!(may_change_content(&kind), "{kind:?} must trigger a run");
        }
    }
}
