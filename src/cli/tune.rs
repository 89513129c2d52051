//! `codectx tune`: the learned ranker adapted to this repository from its own
//! history, kept only when the held-out commits rank better.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use codectx_core::Config;

use super::eval::history_instances;
use super::{check_dir, train};

/// The arguments of `codectx tune` (its help text is the variant's in `Command`).
#[derive(Args)]
pub(crate) struct TuneArgs {
    /// The repository (a work tree or a bare git folder).
    #[arg(short = 'C', long = "repo", default_value = ".", value_name = "PATH")]
    repo: PathBuf,
    /// How many of the newest qualifying commits to learn from and score.
    #[arg(long, default_value_t = 150, value_name = "N")]
    last: usize,
    #[command(flatten)]
    train: train::TrainArgs,
}

pub(crate) async fn run(args: TuneArgs, config_path: Option<&Path>) -> Result<()> {
    let TuneArgs { repo, last, train } = args;
    let root = check_dir(&repo)?;
    let config = Config::discover(config_path, Some(&root))?;
    let dir = root.join(codectx_core::DEFAULT_INDEX_DIR);
    let work_dir = dir.join("tune");
    let (instances, repos) = history_instances(&root, last, &work_dir)?;
    let out = dir.join(match train.unit {
        train::Unit::File => "ranker.txt",
        train::Unit::Function => "function-ranker.txt",
    });
    let options =
        train::TrainOptions { instances, repos, work_dir, index: config.index, train, out, keep_if_better: true };
    tokio::task::spawn_blocking(move || train::train(options)).await?
}
