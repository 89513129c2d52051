//! `codectx train-ranker`: a file or function ranker trained on the user's own
//! labelled instances or history (the training itself is in [`super::train`]).

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use codectx_core::Config;

use super::eval::InstanceArgs;
use super::train;

/// The arguments of `codectx train-ranker` (its help text is the variant's in `Command`).
#[derive(Args)]
pub(crate) struct TrainRankerArgs {
    #[command(flatten)]
    source: InstanceArgs,
    #[command(flatten)]
    train: train::TrainArgs,
    /// Where the model goes (LightGBM text format; its manifest and held-out scores beside
    /// it). Default: file-ranker.txt or function-ranker.txt.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Work folder: work trees, indexes, features (resumable).
    #[arg(long, default_value = ".codectx-train", value_name = "DIR")]
    work_dir: PathBuf,
    /// Write --out only when the held-out instances rank better than before.
    #[arg(long)]
    keep_if_better: bool,
}

pub(crate) async fn run(args: TrainRankerArgs, config_path: Option<&Path>) -> Result<()> {
    let TrainRankerArgs { source, train, out, work_dir, keep_if_better } = args;
    let config = Config::discover(config_path, None)?;
    let (instances, repos) = source.load(&work_dir)?;
    let out = out.unwrap_or_else(|| PathBuf::from(format!("{}-ranker.txt", train.unit.name())));
    let options = train::TrainOptions { instances, repos, work_dir, index: config.index, train, out, keep_if_better };
    tokio::task::spawn_blocking(move || train::train(options)).await?
}
