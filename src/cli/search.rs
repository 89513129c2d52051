//! `codectx search`: ranked chunks and symbols for a query.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use clap::Args;
use codectx_core::SearchRequest;
use codectx_service::ContextService;

use super::{open_engine, parse_mode, FilterArgs, RepoArgs, LOCAL_REPOSITORY};

/// The arguments of `codectx search` (its help text is the variant's in `Command`).
#[derive(Args)]
pub(crate) struct SearchArgs {
    /// The query.
    query: String,
    #[command(flatten)]
    repo: RepoArgs,
    /// Number of results.
    #[arg(short = 'k', long, default_value_t = 10)]
    limit: usize,
    #[command(flatten)]
    filter: FilterArgs,
    /// `lexical`, `semantic` or `hybrid` (default: hybrid when the index has embeddings).
    #[arg(long, value_name = "MODE")]
    mode: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(args: SearchArgs, config_path: Option<&Path>) -> Result<()> {
    let SearchArgs { query, repo, limit, filter, mode, json } = args;
    let mode = parse_mode(mode.as_deref())?;
    let (engine, _) = open_engine(&repo, config_path)?;
    let request = SearchRequest { query, limit, filter: filter.filter(), mode };
    let hits = engine.search(LOCAL_REPOSITORY, request).await?;
    note_partial_vectors(&engine).await;
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &hits)?;
        writeln!(out)?;
        return Ok(());
    }
    for (rank, hit) in hits.iter().enumerate() {
        let symbol = if hit.symbol.is_empty() { String::new() } else { format!("  {}", hit.symbol) };
        let kind = hit.symbol_kind.map(|kind| format!(" ({kind})")).unwrap_or_default();
        writeln!(
            out,
            "{:>2}. {}:{}-{}{symbol}{kind}  [{:.4} {}]",
            rank + 1,
            hit.path,
            hit.span.start_line,
            hit.span.end_line,
            hit.score,
            codectx_retrieve::describe_signals(&hit.signals)
        )?;
        for line in hit.preview.lines().take(3) {
            writeln!(out, "      {line}")?;
        }
    }
    if hits.is_empty() {
        writeln!(out, "no results")?;
    }
    Ok(())
}

/// On stderr, when the vector signal covers only part of the index (the
/// embeddings are still being computed).
async fn note_partial_vectors(engine: &codectx_service::Engine) {
    if let Ok(status) = engine.index_status(LOCAL_REPOSITORY).await {
        if let Some(coverage) = status.vector_coverage.filter(codectx_core::VectorCoverage::is_partial) {
            eprintln!("codectx: note: {}", coverage.note());
        }
    }
}
