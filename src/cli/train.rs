//! `codectx train-ranker` and `codectx tune`: a file or function ranker
//! learned from the user's own data. codectx ranks the instances (labelled ones, or commits of
//! the repository's history) and dumps the learned ranker's features of their
//! candidates (`codectx eval --dump-features`), holds out the newest share, and
//! runs `training/train_ranker.py` (compiled into the binary; LightGBM
//! LambdaMART, boosting on top of the shipped model unless `--from-scratch`),
//! which scores the held-out instances before and after.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use clap::Args;

/// The training script, as in the repository's `training/` folder.
const TRAIN_SCRIPT: &str = include_str!("../../training/train_ranker.py");

/// Which learned ranker to train.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// The file ranker (`codectx_retrieve::rerank`; config key `ranker_model`).
    File,
    /// The function ranker (`codectx_retrieve::definitions`; config key `function_ranker_model`).
    Function,
}

impl Unit {
    /// `file` or `function`: the script's `--unit` and the model's file name.
    pub fn name(self) -> &'static str {
        match self {
            Unit::File => "file",
            Unit::Function => "function",
        }
    }

    /// The config key that selects a model of this unit.
    fn config_key(self) -> &'static str {
        match self {
            Unit::File => "ranker_model",
            Unit::Function => "function_ranker_model",
        }
    }

    /// Prefix of the script's side files (`holdout.json`, `manifest.json`).
    fn prefix(self) -> &'static str {
        match self {
            Unit::File => "",
            Unit::Function => "function-",
        }
    }

    fn features(self) -> &'static [&'static str] {
        match self {
            Unit::File => &codectx_retrieve::rerank::FILE_FEATURES,
            Unit::Function => &codectx_retrieve::definitions::FUNCTION_FEATURES,
        }
    }

    fn shipped_text(self) -> &'static str {
        match self {
            Unit::File => codectx_retrieve::rerank::FileRanker::shipped_text(),
            Unit::Function => codectx_retrieve::rerank::FunctionRanker::shipped_text(),
        }
    }
}

/// How `train-ranker` and `tune` train.
#[derive(Args, Clone)]
pub struct TrainArgs {
    /// Which ranker to train: the file ranker, or the function ranker that orders the
    /// definitions of the first files.
    #[arg(long, value_enum, default_value_t = Unit::File)]
    pub unit: Unit,
    /// Share of the instances (the newest) held out and scored before and after.
    #[arg(long, default_value_t = 0.2, value_name = "SHARE")]
    pub holdout: f64,
    /// Boosting rounds (trees added).
    #[arg(long, default_value_t = 30, value_name = "N")]
    pub rounds: usize,
    /// Train a new model instead of boosting on top of the shipped one.
    #[arg(long)]
    pub from_scratch: bool,
    /// The Python 3 interpreter to run training/train_ranker.py with.
    #[arg(long, env = "CODECTX_PYTHON", default_value = "python3", value_name = "PATH")]
    pub python: String,
}

/// What to train on and how.
pub struct TrainOptions {
    /// The instances, in time order for history (oldest first).
    pub instances: Vec<codectx_eval::dataset::Instance>,
    /// The clones folder of the instances (see `codectx_eval::EvalOptions::repos`).
    pub repos: PathBuf,
    /// Work folder: work trees, indexes, the feature dump, the script's outputs.
    pub work_dir: PathBuf,
    /// Index options.
    pub index: codectx_core::IndexConfig,
    /// How to train.
    pub train: TrainArgs,
    /// Where the model goes.
    pub out: PathBuf,
    /// Write `out` only when the held-out instances rank better (Acc@5 and MRR
    /// not lower, one of them higher).
    pub keep_if_better: bool,
}

/// Metrics of the held-out instances (files or functions), as `train_ranker.py` writes them.
struct Scores {
    acc1: f64,
    acc5: f64,
    mrr: f64,
    instances: u64,
}

impl Scores {
    /// Reads `{"acc@1": …, "acc@5": …, "mrr": …, "instances": …}`.
    fn from_json(value: &serde_json::Value) -> Result<Scores> {
        let number = |key: &str| value[key].as_f64().with_context(|| format!("holdout.json: no {key}"));
        Ok(Scores {
            acc1: number("acc@1")?,
            acc5: number("acc@5")?,
            mrr: number("mrr")?,
            instances: number("instances")? as u64,
        })
    }
}

/// Runs the whole training; prints the held-out figures and where the model went.
///
/// Errors: the evaluation's errors; a one-line error when Python, lightgbm or
/// numpy is missing or the script fails (its last line of output quoted).
pub fn train(options: TrainOptions) -> Result<()> {
    if !(options.train.holdout > 0.0 && options.train.holdout < 1.0) {
        bail!("invalid argument: --holdout {} is outside (0, 1)", options.train.holdout);
    }
    let held = ((options.instances.len() as f64) * options.train.holdout).ceil() as usize;
    if options.instances.len() < 10 || held == 0 || held >= options.instances.len() {
        bail!(
            "invalid argument: {} instances are too few to train on and hold some out (at least 10)",
            options.instances.len()
        );
    }
    std::fs::create_dir_all(&options.work_dir)
        .with_context(|| format!("cannot create {}", options.work_dir.display()))?;
    let work = std::fs::canonicalize(&options.work_dir)?;
    // The features as serving computes them: the file features of the fused order
    // (before the file ranker), the function features after it.
    let served = codectx_retrieve::RetrieveOptions::preset("lexical").expect("the lexical preset");
    let unit = options.train.unit;
    let dump = work.join("features.jsonl");
    let dataset = work.join("instances.jsonl");
    codectx_eval::dataset::save(&dataset, &options.instances)?;
    let held_ids: Vec<&str> = options.instances[options.instances.len() - held..]
        .iter()
        .map(|instance| instance.instance_id.as_str())
        .collect();
    let eval = codectx_eval::EvalOptions {
        instances: options.instances.clone(),
        repos: options.repos.clone(),
        work_dir: work.join("eval"),
        configs: vec![codectx_eval::EvalConfig { name: "lexical".into(), options: served }],
        index: options.index.clone(),
        budgets: vec![codectx_core::DEFAULT_TOKEN_BUDGET],
        embedder: None,
        dump_features: Some(dump.clone()),
    };
    eprintln!("ranking {} instances to collect their features ({} held out)", options.instances.len(), held);
    let report = codectx_eval::run(&eval, &|_| {})?;
    if !report.failures.is_empty() {
        eprintln!(
            "{} instances could not be ranked (first: {}: {})",
            report.failures.len(),
            report.failures[0].0,
            report.failures[0].1
        );
    }

    let script = work.join("train_ranker.py");
    std::fs::write(&script, TRAIN_SCRIPT)?;
    let names = work.join("feature-names.json");
    std::fs::write(&names, serde_json::to_string(unit.features())?)?;
    let holdout = work.join("holdout.txt");
    std::fs::write(&holdout, held_ids.join("\n") + "\n")?;
    let out_dir = work.join("model");
    let mut command = Command::new(&options.train.python);
    // scripts/setup.sh installs lightgbm and numpy under the codectx data folder.
    if let Some(packages) = codectx_core::data_home().map(|home| home.join("python")).filter(|dir| dir.is_dir()) {
        let mut paths = vec![packages];
        paths.extend(std::env::var_os("PYTHONPATH").iter().flat_map(std::env::split_paths));
        command.env("PYTHONPATH", std::env::join_paths(paths)?);
    }
    command
        .arg(&script)
        .arg("--unit")
        .arg(unit.name())
        .arg("--features")
        .arg(&dump)
        .arg("--dataset")
        .arg(&dataset)
        .arg("--feature-names")
        .arg(&names)
        .arg("--holdout")
        .arg(&holdout)
        .arg("--rounds")
        .arg(options.train.rounds.to_string())
        .arg("--out-dir")
        .arg(&out_dir);
    if !options.train.from_scratch {
        let shipped = work.join(format!("shipped-{}-ranker.txt", unit.name()));
        std::fs::write(&shipped, unit.shipped_text())?;
        command.arg("--init-model").arg(&shipped);
    }
    let output = command.output().map_err(|error| {
        anyhow::anyhow!(
            "cannot run {} ({error}): training needs Python 3 with lightgbm and numpy",
            options.train.python
        )
    })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or("no output");
        let hint = if stderr.contains("No module named") { " (pip install lightgbm numpy)" } else { "" };
        bail!("training failed{hint}: {last}");
    }
    let holdout_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join(format!("{}holdout.json", unit.prefix())))?)?;
    let (before, after) = (Scores::from_json(&holdout_json["before"])?, Scores::from_json(&holdout_json["after"])?);
    let baseline = if options.train.from_scratch { "fused order" } else { "shipped model" };
    println!(
        "{} ranker, held out {} instances: {baseline} Acc@1 {:.3} Acc@5 {:.3} MRR {:.3} -> trained Acc@1 {:.3} Acc@5 {:.3} MRR {:.3}",
        unit.name(),
        after.instances,
        before.acc1,
        before.acc5,
        before.mrr,
        after.acc1,
        after.acc5,
        after.mrr
    );
    let better =
        after.acc5 >= before.acc5 && after.mrr >= before.mrr && (after.acc5 > before.acc5 || after.mrr > before.mrr);
    if options.keep_if_better && !better {
        println!("not kept: the trained model does not rank the held-out instances better; the shipped model stays");
        return Ok(());
    }
    install(&out_dir.join(format!("{}-ranker.txt", unit.name())), &options.out)?;
    for side in ["manifest.json", "holdout.json"] {
        install(&out_dir.join(format!("{}{side}", unit.prefix())), &options.out.with_extension(side))?;
    }
    println!(
        "wrote {}; use it with\n  [retrieval]\n  {} = \"{}\"",
        options.out.display(),
        unit.config_key(),
        std::fs::canonicalize(&options.out)?.display()
    );
    Ok(())
}

/// Copies `from` to `to` through a temporary file renamed into place.
fn install(from: &Path, to: &Path) -> Result<()> {
    if let Some(parent) = to.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let partial = to.with_extension("partial");
    std::fs::copy(from, &partial).with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, to).with_context(|| format!("cannot write {}", to.display()))?;
    Ok(())
}
