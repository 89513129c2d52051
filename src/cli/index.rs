//! `codectx index`: builds or updates the repository's index, with a progress bar,
//! and prints the run's counters.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use codectx_core::{Config, IndexEvent, IndexStats};
use codectx_service::{ContextService, Engine};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};

use super::{check_dir, engine_for, EmbedArgs, LOCAL_REPOSITORY};

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
    /// Print the run's counters as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(args: IndexArgs, config_path: Option<&Path>) -> Result<()> {
    let IndexArgs { path, index_dir, max_file_size, include, exclude, threads, no_embed, rebuild, embed, json } = args;
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
        config.embed.provider = codectx_core::EmbedProvider::None;
    }
    let engine = engine_for(&root, index_dir, config)?;
    if rebuild {
        engine.request_rebuild(LOCAL_REPOSITORY)?;
    }
    let stats = index_with_progress(&engine).await?;
    print_index_stats(&stats, json)
}

async fn index_with_progress(engine: &Engine) -> Result<IndexStats> {
    let bar = if std::io::stderr().is_terminal() { ProgressBar::new(0) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {prefix:>7} [{bar:30}] {pos}/{len} files {per_sec} eta {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    let mut events = engine.index(LOCAL_REPOSITORY).await?;
    while let Some(event) = events.next().await {
        match event? {
            IndexEvent::Progress(progress) => {
                if bar.prefix() != progress.phase {
                    bar.set_prefix(progress.phase.clone());
                    let unit = if progress.phase == "embed" { "chunks" } else { "files" };
                    bar.set_style(
                        ProgressStyle::with_template(&format!(
                            "{{spinner}} {{prefix:>7}} [{{bar:30}}] {{pos}}/{{len}} {unit} {{per_sec}} eta {{eta}}"
                        ))
                        .expect("valid template")
                        .progress_chars("=> "),
                    );
                    bar.reset();
                }
                bar.set_length(progress.total);
                bar.set_position(progress.done);
            }
            IndexEvent::Done(stats) => {
                bar.finish_and_clear();
                return Ok(*stats);
            }
        }
    }
    bar.finish_and_clear();
    anyhow::bail!("the index run ended without a result")
}

fn print_index_stats(stats: &IndexStats, json: bool) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, stats)?;
        writeln!(out)?;
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
        None => writeln!(out, "embeddings: off")?,
        Some(embed) => {
            if embed.chunks_updated > 0 || embed.error.is_none() {
                let rate =
                    if embed.embed_ms > 0 { embed.embedded as f64 * 1000.0 / embed.embed_ms as f64 } else { 0.0 };
                writeln!(
                    out,
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
                )?;
            }
            if let Some(error) = &embed.error {
                drop(out);
                eprintln!("codectx: warning: embeddings skipped: {error}; the lexical index is complete");
            }
        }
    }
    Ok(())
}
