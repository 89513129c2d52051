//! `codectx mcp`: one repository over the Model Context Protocol on stdin/stdout.

use std::path::Path;
use std::sync::Arc;

use anyhow::Result;
use clap::Args;

use super::{open_engine, RepoArgs, LOCAL_REPOSITORY};

/// The arguments of `codectx mcp` (its help text is the variant's in `Command`).
#[derive(Args)]
pub(crate) struct McpArgs {
    #[command(flatten)]
    repo: RepoArgs,
}

pub(crate) async fn run(args: McpArgs, config_path: Option<&Path>) -> Result<()> {
    let McpArgs { repo } = args;
    let (engine, _) = open_engine(&repo, config_path)?;
    // Warm the tokenizer so the first request does not pay for it.
    tokio::task::spawn_blocking(codectx_core::tokens::warm_up);
    tracing::info!(root = %repo.path.display(), "serving MCP on stdin/stdout");
    // Stdout carries the protocol: nothing else may be printed there.
    codectx_mcp::serve_stdio(Arc::new(engine), LOCAL_REPOSITORY).await?;
    Ok(())
}
