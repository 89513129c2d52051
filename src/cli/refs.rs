//! `codectx refs`: definitions, references, callers and callees of a symbol.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use clap::Args;
use codectx_service::ContextService;

use super::{open_engine, RepoArgs, LOCAL_REPOSITORY};

/// The arguments of `codectx refs` (its help text is the variant's in `Command`).
#[derive(Args)]
pub(crate) struct RefsArgs {
    /// Bare or qualified name.
    name: String,
    #[command(flatten)]
    repo: RepoArgs,
    /// Most references shown.
    #[arg(short = 'k', long, default_value_t = 100)]
    limit: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(args: RefsArgs, config_path: Option<&Path>) -> Result<()> {
    let RefsArgs { name, repo, limit, json } = args;
    let (engine, _) = open_engine(&repo, config_path)?;
    let references = engine.references(LOCAL_REPOSITORY, &name, limit.clamp(1, 1000), "").await?;
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &references)?;
        writeln!(out)?;
        return Ok(());
    }
    let show = |out: &mut std::io::StdoutLock,
                title: &str,
                symbols: &[codectx_core::SymbolInfo]|
     -> std::io::Result<()> {
        writeln!(out, "{title}:")?;
        for symbol in symbols {
            writeln!(out, "  {}:{}  {} {}", symbol.path, symbol.span.start_line, symbol.kind, symbol.qualified_name)?;
        }
        Ok(())
    };
    show(&mut out, "definitions", &references.definitions)?;
    writeln!(out, "references ({} in all):", references.total_references)?;
    for site in &references.references {
        writeln!(out, "  {}:{}  [{}]  {}", site.path, site.line, site.enclosing, site.text)?;
    }
    show(&mut out, "callers", &references.callers)?;
    show(&mut out, "callees", &references.callees)?;
    Ok(())
}
