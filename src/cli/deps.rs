//! `codectx deps`: a file's imports and the files that import it.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use clap::Args;
use codectx_service::ContextService;

use super::{open_engine, RepoArgs, LOCAL_REPOSITORY};

/// The arguments of `codectx deps` (its help text is the variant's in `Command`).
#[derive(Args)]
pub(crate) struct DepsArgs {
    /// Repository-relative path.
    path: String,
    #[command(flatten)]
    repo: RepoArgs,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(args: DepsArgs, config_path: Option<&Path>) -> Result<()> {
    let DepsArgs { path, repo, json } = args;
    let (engine, _) = open_engine(&repo, config_path)?;
    let dependencies = engine.file_dependencies(LOCAL_REPOSITORY, &path).await?;
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &dependencies)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(out, "{} imports:", dependencies.path)?;
    for edge in &dependencies.imports {
        let target = if edge.to_path.is_empty() { "(external)".to_string() } else { edge.to_path.clone() };
        writeln!(out, "  :{:<5} {} -> {}", edge.line, edge.module, target)?;
    }
    writeln!(out, "imported by:")?;
    for edge in &dependencies.imported_by {
        writeln!(out, "  {}:{} ({})", edge.from_path, edge.line, edge.module)?;
    }
    Ok(())
}
