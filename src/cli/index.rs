//! `codectx index`: builds or updates the repository's index, with progress, and
//! prints the run's counters.
//!
//! The lexical, symbol and graph index is published first and answers at once.
//! With an embedder configured, the embeddings then follow in a background
//! `codectx embed` process (its output in `<index>/embed.log`), unless `--wait`
//! computes them in this process before returning.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use codectx_core::{Config, EmbedProvider, EmbedStats, IndexEvent, IndexProgress, IndexStats};
use codectx_service::{ContextService, Engine};
use futures::StreamExt;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::{check_dir, engine_for, EmbedArgs, LOCAL_REPOSITORY};

/// The background embedding run's output, in the index folder.
pub(crate) const EMBED_LOG: &str = "embed.log";

/// The arguments of `codectx index` (its help text is the variant's in `Command`).
#[derive(Args)]
pub(crate) struct IndexArgs {
    /// Repository root.
    #[arg(default_value = ".")]
    path: PathBuf,
    /// Index folder (default <PATH>/.codectx).
    #[arg(long, value_name = "DIR")]
    index_dir: Option<PathBuf>,
    /// Skip files larger than this many bytes (default 1 MiB).
    #[arg(long, value_name = "BYTES")]
    max_file_size: Option<u64>,
    /// Only index paths matching this glob (repeatable).
    #[arg(long = "include", value_name = "GLOB")]
    include: Vec<String>,
    /// Never index paths matching this glob (repeatable).
    #[arg(long = "exclude", value_name = "GLOB")]
    exclude: Vec<String>,
    /// Worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Build the lexical index only (no embeddings), as `--embedder none`.
    #[arg(long)]
    no_embed: bool,
    /// Rebuild from scratch instead of updating the current index (the repair
    /// for a damaged index; the embedding cache is still used).
    #[arg(long)]
    rebuild: bool,
    #[command(flatten)]
    embed: EmbedArgs,
    /// Compute the embeddings in this process before returning, instead of in a
    /// background `codectx embed` after the lexical index is published.
    #[arg(long)]
    wait: bool,
    /// Print the run's counters as JSON on stdout, and its progress as JSON lines
    /// on stderr (`{"phase":"parse","done":120,"total":800}`).
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(args: IndexArgs, config_path: Option<&Path>) -> Result<()> {
    let IndexArgs { path, index_dir, max_file_size, include, exclude, threads, no_embed, rebuild, embed, wait, json } =
        args;
    let root = check_dir(&path)?;
    let mut config = Config::discover(config_path, Some(&root))?;
    if let Some(bytes) = max_file_size {
        config.index.max_file_size = bytes;
    }
    config.index.include.extend(include);
    config.index.exclude.extend(exclude);
    if let Some(threads) = threads {
        config.index.threads = threads;
    }
    embed.apply(&mut config.embed)?;
    if no_embed {
        config.embed.provider = EmbedProvider::None;
    }
    // Without --wait, the run builds the lexical index alone and the embeddings
    // follow in the background.
    let background = !wait && config.embed.provider != EmbedProvider::None;
    let embed_config = config.embed.clone();
    if background {
        config.embed.provider = EmbedProvider::None;
    }
    let index_dir = index_dir.unwrap_or_else(|| root.join(codectx_core::DEFAULT_INDEX_DIR));
    let engine = engine_for(&root, Some(index_dir.clone()), config)?;
    if rebuild {
        engine.request_rebuild(LOCAL_REPOSITORY)?;
    }
    let mut stats = index_with_progress(&engine, json).await?;
    if !background {
        return print_index_stats(&stats, json, None);
    }
    // The embedder must load here, so that a missing runtime or model is reported
    // now rather than in a log.
    let check = embed_config.clone();
    let loaded = tokio::task::spawn_blocking(move || codectx_embed::from_config(&check)).await?;
    match loaded {
        Err(error) => {
            stats.embeddings =
                Some(EmbedStats { error: Some(codectx_embed::runtime::message(error)), ..EmbedStats::default() });
            print_index_stats(&stats, json, None)
        }
        Ok(_) => {
            codectx_index::vectors::mark_pending(&index_dir, stats.generation, stats.chunks)?;
            let pid = spawn_background_embed(&root, &index_dir, config_path, &embed)?;
            let note = format!(
                "embeddings: computing in the background (pid {pid}, log {}); the index answers now and uses the \
                 vectors as they arrive (`codectx embed` waits for them)",
                index_dir.join(EMBED_LOG).display()
            );
            print_index_stats(&stats, json, Some(&note))
        }
    }
}

/// Starts `codectx embed` for the index at `index_dir` as a detached process
/// (its own process group, so that the terminal's Ctrl-C does not stop it; its
/// output in [`EMBED_LOG`]), with the same configuration file and embedder
/// flags. Returns its process id.
fn spawn_background_embed(root: &Path, index_dir: &Path, config_path: Option<&Path>, embed: &EmbedArgs) -> Result<u32> {
    let exe = std::env::current_exe().context("cannot find the codectx executable to embed in the background")?;
    let log_path = index_dir.join(EMBED_LOG);
    let log = std::fs::File::create(&log_path).with_context(|| format!("cannot write {}", log_path.display()))?;
    let mut command = std::process::Command::new(exe);
    command.arg("embed").arg("-C").arg(root).arg("--index-dir").arg(index_dir);
    if let Some(config) = config_path {
        command.arg("--config").arg(config);
    }
    command
        .args(embed.to_args())
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().with_context(|| format!("cannot write {}", log_path.display()))?)
        .stderr(log);
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let child = command.spawn().context("cannot start the background embedding run")?;
    Ok(child.id())
}

/// A progress display on stderr: with a terminal, one bar for the index phases
/// (walk, parse, write, commit) and one for the embeddings, each with its rate
/// and ETA; with `json`, one JSON line per update; otherwise nothing.
pub(crate) struct Progress {
    bars: Option<(MultiProgress, ProgressBar, ProgressBar)>,
    json: bool,
}

impl Progress {
    pub(crate) fn new(json: bool) -> Progress {
        let bars = (!json && std::io::stderr().is_terminal()).then(|| {
            let multi = MultiProgress::new();
            let index = multi.add(ProgressBar::new(0));
            index.set_style(style("files"));
            index.enable_steady_tick(Duration::from_millis(120));
            let embed = multi.add(ProgressBar::hidden());
            (multi, index, embed)
        });
        Progress { bars, json }
    }

    pub(crate) fn update(&mut self, progress: &IndexProgress) {
        if self.json {
            eprintln!(
                "{}",
                serde_json::json!({"phase": progress.phase, "done": progress.done, "total": progress.total})
            );
            return;
        }
        let Some((multi, index, embed)) = &mut self.bars else { return };
        let bar = if progress.phase == "embed" {
            if embed.is_hidden() {
                // The index bar is done: the embeddings get their own.
                index.finish();
                let bar = multi.add(ProgressBar::new(0));
                bar.set_style(style("chunks"));
                bar.set_prefix("embed");
                bar.enable_steady_tick(Duration::from_millis(120));
                *embed = bar;
            }
            embed
        } else {
            if index.prefix() != progress.phase {
                index.set_prefix(progress.phase.clone());
                index.reset();
            }
            index
        };
        bar.set_length(progress.total);
        bar.set_position(progress.done);
    }

    pub(crate) fn finish(&self) {
        if let Some((multi, index, embed)) = &self.bars {
            index.finish_and_clear();
            embed.finish_and_clear();
            let _ = multi.clear();
        }
    }
}

fn style(unit: &str) -> ProgressStyle {
    ProgressStyle::with_template(&format!(
        "{{spinner}} {{prefix:>7}} [{{bar:30}}] {{pos}}/{{len}} {unit} {{per_sec}} eta {{eta}}"
    ))
    .expect("valid template")
    .progress_chars("=> ")
}

async fn index_with_progress(engine: &Engine, json: bool) -> Result<IndexStats> {
    let mut progress = Progress::new(json);
    let mut events = engine.index(LOCAL_REPOSITORY).await?;
    while let Some(event) = events.next().await {
        match event? {
            IndexEvent::Progress(update) => progress.update(&update),
            IndexEvent::Done(stats) => {
                progress.finish();
                return Ok(*stats);
            }
        }
    }
    progress.finish();
    anyhow::bail!("the index run ended without a result")
}

/// Prints the run's counters; `background` is the embeddings line when they are
/// being computed in the background (on stderr with `json`).
fn print_index_stats(stats: &IndexStats, json: bool, background: Option<&str>) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, stats)?;
        writeln!(out)?;
        if let Some(note) = background {
            eprintln!("codectx: {note}");
        }
        return Ok(());
    }
    writeln!(
        out,
        "indexed {} files ({:.1} MB): {} parsed, {} unchanged, {} removed; {} symbols, {} chunks, {}/{} imports resolved; generation {} in {:.2}s",
        stats.files,
        stats.bytes as f64 / 1e6,
        stats.parsed,
        stats.reused,
        stats.removed,
        stats.symbols,
        stats.chunks,
        stats.resolved_imports,
        stats.imports,
        stats.generation,
        stats.elapsed_ms as f64 / 1000.0
    )?;
    writeln!(
        out,
        "skipped: {} binary, {} over the size cap, {} secret ([secrets]), {} behind links leading outside the repository, {} unreadable; {} not valid UTF-8 (decoded lossily unless configured to skip); {} parse timeouts",
        stats.skipped_binary, stats.skipped_too_large, stats.skipped_secret, stats.skipped_outside_root, stats.unreadable, stats.invalid_utf8, stats.parse_timeouts
    )?;
    if stats.parsed > 0 || stats.removed > 0 {
        writeln!(out, "dependency graph: edges of {} files re-resolved", stats.graph_updated)?;
    }
    match &stats.embeddings {
        None if background.is_some() => writeln!(out, "{}", background.unwrap_or_default())?,
        None => writeln!(out, "embeddings: off")?,
        Some(embed) => {
            if embed.chunks_updated > 0 || embed.error.is_none() {
                writeln!(out, "{}", embed_line(embed))?;
            }
            if let Some(error) = &embed.error {
                drop(out);
                eprintln!(
                    "codectx: warning: embeddings skipped: {error}; the lexical index is complete, and queries use \
                     lexical mode until `codectx embed` succeeds"
                );
            }
        }
    }
    Ok(())
}

/// The one-line summary of an embedding run: model, chunks updated, cache hits,
/// chunks embedded and their rate, the table's size and time.
pub(crate) fn embed_line(embed: &EmbedStats) -> String {
    let rate = if embed.embed_ms > 0 { embed.embedded as f64 * 1000.0 / embed.embed_ms as f64 } else { 0.0 };
    format!(
        "embeddings ({} × {}): {} chunks updated, {} from the cache ({:.1}% hit rate), {} embedded ({:.1} chunks/s); {} vectors{} in {:.2}s",
        embed.model_id,
        embed.dimension,
        embed.chunks_updated,
        embed.cache_hits,
        embed.hit_rate() * 100.0,
        embed.embedded,
        rate,
        embed.vectors,
        if embed.ann_index { " (IVF-PQ index)" } else { "" },
        embed.elapsed_ms as f64 / 1000.0
    )
}
