//! `codectx symbols`: definitions by name or qualified name.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use clap::Args;
use codectx_service::ContextService;

use super::{open_engine, RepoArgs, LOCAL_REPOSITORY};

/// The arguments of `codectx symbols` (its help text is the variant's in `Command`).
#[derive(Args)]
pub(crate) struct SymbolsArgs {
    /// The name.
    name: String,
    #[command(flatten)]
    repo: RepoArgs,
    /// Most results.
    #[arg(short = 'k', long, default_value_t = 50)]
    limit: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(args: SymbolsArgs, config_path: Option<&Path>) -> Result<()> {
    let SymbolsArgs { name, repo, limit, json } = args;
    let (engine, _) = open_engine(&repo, config_path)?;
    let symbols = engine.symbols(LOCAL_REPOSITORY, &name, limit).await?;
    if symbols.is_empty() {
        return Err(codectx_core::Error::NotFound(format!("no symbol named {name}")).into());
    }
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &symbols)?;
        writeln!(out)?;
        return Ok(());
    }
    for symbol in symbols {
        writeln!(
            out,
            "{}:{}-{}  {} {}\n      {}",
            symbol.path,
            symbol.span.start_line,
            symbol.span.end_line,
            symbol.kind,
            symbol.qualified_name,
            symbol.signature
        )?;
    }
    Ok(())
}
