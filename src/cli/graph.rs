//! `codectx graph`: the call and containment graph around a symbol.

use std::io::Write;
use std::path::Path;

use anyhow::Result;
use clap::Args;
use codectx_service::ContextService;

use super::{open_engine, RepoArgs, LOCAL_REPOSITORY};

/// The arguments of `codectx graph` (its help text is the variant's in `Command`).
#[derive(Args)]
pub(crate) struct GraphArgs {
    /// Bare or qualified name.
    name: String,
    #[command(flatten)]
    repo: RepoArgs,
    /// Hops from the symbol (1..=3).
    #[arg(long, default_value_t = 1)]
    depth: u32,
    /// Which edges to follow: both, callers or callees.
    #[arg(long, default_value = "both", value_parser = ["both", "callers", "callees"])]
    direction: String,
    /// Most nodes (1..=500).
    #[arg(long, default_value_t = 50)]
    max_nodes: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(args: GraphArgs, config_path: Option<&Path>) -> Result<()> {
    let GraphArgs { name, repo, depth, direction, max_nodes, json } = args;
    let (engine, _) = open_engine(&repo, config_path)?;
    let direction = codectx_core::GraphDirection::parse(&direction)?;
    let request = codectx_core::SymbolGraphRequest { name, depth, direction, max_nodes };
    let graph = engine.symbol_graph(LOCAL_REPOSITORY, request).await?;
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &graph)?;
        writeln!(out)?;
    } else {
        out.write_all(graph.render().as_bytes())?;
    }
    Ok(())
}
