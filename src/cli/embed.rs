//! `codectx embed`: brings the index's embeddings up to date with its current
//! generation: the run `codectx index` starts in the background, or one of the
//! user's own. When another embedding run of the same index is in progress, it
//! shows that run's progress, waits for it, then finishes what is left.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use codectx_core::{Config, EmbedProvider, IndexProgress};
use codectx_index::Indexer;

use super::index::{embed_line, Progress};
use super::{check_dir, EmbedArgs};

/// The arguments of `codectx embed` (its help text is the variant's in `Command`).
#[derive(Args)]
pub(crate) struct EmbedCommandArgs {
    /// Repository root.
    #[arg(short = 'C', long = "repo", default_value = ".", value_name = "PATH")]
    repo: PathBuf,
    /// Index folder (default <repo>/.codectx).
    #[arg(long, value_name = "DIR")]
    index_dir: Option<PathBuf>,
    #[command(flatten)]
    embed: EmbedArgs,
    /// Print the run's counters as JSON on stdout, and its progress as JSON lines
    /// on stderr.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(args: EmbedCommandArgs, config_path: Option<&Path>) -> Result<()> {
    let EmbedCommandArgs { repo, index_dir, embed, json } = args;
    let root = check_dir(&repo)?;
    let mut config = Config::discover(config_path, Some(&root))?;
    embed.apply(&mut config.embed)?;
    if config.embed.provider == EmbedProvider::None {
        return Err(codectx_core::Error::InvalidArgument(
            "embeddings are off ([embed] provider = \"none\", or CODECTX_EMBEDDER=none): give --embedder fastembed or remote"
                .into(),
        )
        .into());
    }
    let index_dir = index_dir.unwrap_or_else(|| root.join(codectx_core::DEFAULT_INDEX_DIR));
    let embed_config = config.embed.clone();
    let embedder = tokio::task::spawn_blocking(move || codectx_embed::from_config(&embed_config))
        .await?
        .map_err(|error| codectx_core::Error::Embedding(codectx_embed::runtime::message(error)))?
        .ok_or_else(|| codectx_core::Error::InvalidArgument("embeddings are off".into()))?;
    let indexer = Indexer::new(&root, Some(&index_dir), config.index.clone())?
        .with_embedder(Arc::from(embedder), config.embed.clone());
    let stats = tokio::task::spawn_blocking(move || -> Result<codectx_core::EmbedStats> {
        let progress = std::sync::Mutex::new(Progress::new(json));
        let update =
            |update: &IndexProgress| progress.lock().unwrap_or_else(std::sync::PoisonError::into_inner).update(update);
        let waiting = Arc::new(AtomicBool::new(false));
        let watcher = watch_other_run(&index_dir, waiting.clone(), &update);
        let stats = std::thread::scope(|scope| {
            if let Some(watch) = watcher {
                scope.spawn(watch);
            }
            let stats = indexer.embed_current(&|update_| {
                // Our own run has the lock now: stop showing the other one.
                waiting.store(false, Ordering::SeqCst);
                update(update_)
            });
            waiting.store(false, Ordering::SeqCst);
            stats
        });
        progress.lock().unwrap_or_else(std::sync::PoisonError::into_inner).finish();
        Ok(stats?)
    })
    .await??;
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &stats)?;
        writeln!(out)?;
    } else {
        writeln!(out, "{}", embed_line(&stats))?;
    }
    Ok(())
}

/// When another process holds the index's embedding lock: says so, and returns
/// a watcher that shows that run's progress (from its progress record) until
/// `waiting` goes false.
fn watch_other_run<'a>(
    index_dir: &'a Path,
    waiting: Arc<AtomicBool>,
    update: &'a (dyn Fn(&IndexProgress) + Sync),
) -> Option<impl FnOnce() + Send + 'a> {
    let lock_path = index_dir.join(codectx_index::store::EMBED_LOCK_FILE);
    let lock = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&lock_path).ok()?;
    if lock.try_lock().is_ok() {
        return None;
    }
    drop(lock);
    eprintln!("codectx: another embedding run of this index is in progress; waiting for it");
    waiting.store(true, Ordering::SeqCst);
    Some(move || {
        while waiting.load(Ordering::SeqCst) {
            if let Some(progress) = codectx_index::vectors::read_progress(index_dir) {
                update(&IndexProgress { phase: "embed".into(), done: progress.embedded, total: progress.chunks });
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    })
}
