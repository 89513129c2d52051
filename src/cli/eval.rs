//! `codectx eval`: retrieval quality (file and function Acc@k, MRR, bundle recall)
//! on SWE-bench-style instances or on the repository's own history, and the
//! instance sources that `train-ranker` and `tune` share.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use codectx_core::Config;
use indicatif::{ProgressBar, ProgressStyle};

use super::EmbedArgs;

/// Where `eval` and `train-ranker` get their instances: a dataset over clones,
/// or a repository's own history.
#[derive(Args, Clone)]
pub(crate) struct InstanceArgs {
    /// JSON-lines file of instances (instance_id, repo, base_commit, problem_statement, gold_files, gold_functions).
    #[arg(long, value_name = "FILE.jsonl", required_unless_present = "from_history")]
    dataset: Option<PathBuf>,
    /// Folder of git clones, as DIR/<owner>/<name> (bare or not).
    #[arg(long, value_name = "DIR", required_unless_present = "from_history")]
    repos: Option<PathBuf>,
    /// Use the repository's own history instead of a dataset: each of the newest --last
    /// commits that survive the filters (no merges, reverts, bots, formatting, tests-only
    /// or huge commits) is an instance whose query is the commit message and whose gold is
    /// the source files and functions it modified, ranked at its parent commit. The
    /// instances are saved to <work-dir>/history.jsonl.
    #[arg(long, conflicts_with_all = ["dataset", "repos"])]
    from_history: bool,
    /// With --from-history: the repository (a work tree or a bare git folder).
    #[arg(short = 'C', long = "repo", default_value = ".", value_name = "PATH")]
    repo: PathBuf,
    /// With --from-history: how many of the newest qualifying commits.
    #[arg(long, default_value_t = 150, value_name = "N")]
    last: usize,
}

impl InstanceArgs {
    /// The instances and the clones folder that holds their repositories.
    pub(crate) fn load(&self, work_dir: &Path) -> Result<(Vec<codectx_eval::dataset::Instance>, PathBuf)> {
        match (&self.dataset, &self.repos) {
            (Some(dataset), Some(repos)) if !self.from_history => {
                Ok((codectx_eval::dataset::load(dataset)?, repos.clone()))
            }
            _ => history_instances(&self.repo, self.last, work_dir),
        }
    }
}

/// The arguments of `codectx eval` (its help text is the variant's in `Command`).
#[derive(Args)]
pub(crate) struct EvalArgs {
    #[command(flatten)]
    source: InstanceArgs,
    /// Configurations to compare, comma-separated: bm25, lexical, graph, semantic,
    /// hybrid, each optionally tuned as PRESET+KEY=VALUE (e.g. hybrid+vector_weight=2).
    #[arg(long, value_delimiter = ',', default_value = "bm25,lexical")]
    mode: Vec<String>,
    /// Only the first N instances.
    #[arg(long)]
    limit: Option<usize>,
    /// Work folder: work trees, indexes and the per-instance result cache (resumable).
    #[arg(long, default_value = ".codectx-eval", value_name = "DIR")]
    work_dir: PathBuf,
    /// Token budgets for bundle recall, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "4000,8000,16000")]
    budget: Vec<usize>,
    /// Write every per-instance result (ranks of each gold file and function) to this JSON file.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Print the summaries as JSON.
    #[arg(long)]
    json: bool,
    /// The embedder for semantic and hybrid modes (default: `[embed]` of the config).
    #[command(flatten)]
    embed: EmbedArgs,
    /// Write the learned rankers' features of every instance and configuration to this
    /// JSON-lines file, for `training/train_ranker.py`: the first 50 fused files, before
    /// reranking, and the function ranker's candidate definitions, each with its gold
    /// label. Bypasses the result cache.
    #[arg(long, value_name = "FILE.jsonl")]
    dump_features: Option<PathBuf>,
    /// Rerank with this LightGBM model (text format, from `training/train_ranker.py`)
    /// instead of the shipped one, in every configuration that reranks
    /// (`+rerank_candidates=N`, or a preset that does).
    #[arg(long, value_name = "FILE")]
    ranker_model: Option<PathBuf>,
    /// Order definitions with this function ranker (from `training/train_ranker.py
    /// --unit function` or `train-ranker --unit function`) in every configuration
    /// (`+function_files=N` uses the shipped one).
    #[arg(long, value_name = "FILE")]
    function_ranker_model: Option<PathBuf>,
}

pub(crate) async fn run(args: EvalArgs, config_path: Option<&Path>) -> Result<()> {
    let EvalArgs {
        source,
        mode,
        limit,
        work_dir,
        budget,
        report,
        json,
        embed,
        dump_features,
        ranker_model,
        function_ranker_model,
    } = args;
    let ranker = match &ranker_model {
        Some(path) => Some(Arc::new(codectx_retrieve::rerank::FileRanker::load(path)?)),
        None => None,
    };
    let function_ranker = match &function_ranker_model {
        Some(path) => Some(Arc::new(codectx_retrieve::rerank::FunctionRanker::load(path)?)),
        None => None,
    };
    let mut config = Config::discover(config_path, None)?;
    embed.apply(&mut config.embed)?;
    let (mut instances, repos) = source.load(&work_dir)?;
    if let Some(limit) = limit {
        instances.truncate(limit);
    }
    let mut configs = Vec::new();
    for name in &mode {
        let mut options = codectx_retrieve::RetrieveOptions::parse(name)
            .map_err(|reason| codectx_core::Error::InvalidArgument(format!("--mode: {reason}")))?;
        if let Some(ranker) = &ranker {
            if options.rerank_candidates > 0 {
                options.file_ranker = Some(ranker.clone());
            }
        }
        if let Some(ranker) = &function_ranker {
            options.function_ranker = Some(ranker.clone());
            if options.function_files == 0 {
                options.function_files = codectx_retrieve::definitions::DEFAULT_FUNCTION_FILES;
            }
        }
        configs.push(codectx_eval::EvalConfig { name: name.clone(), options });
    }
    let embedder = if configs.iter().any(|config| config.options.uses_vectors()) {
        let embed_config = config.embed.clone();
        let embedder = tokio::task::spawn_blocking(move || codectx_embed::from_config(&embed_config))
            .await??
            .ok_or_else(|| {
                codectx_core::Error::InvalidArgument(
                    "semantic and hybrid modes need an embedder ([embed] provider is none)".into(),
                )
            })?;
        Some((Arc::from(embedder), config.embed.clone()))
    } else {
        None
    };
    let options = codectx_eval::EvalOptions {
        instances,
        repos,
        work_dir,
        configs,
        index: config.index,
        budgets: budget,
        embedder,
        dump_features,
    };
    tokio::task::spawn_blocking(move || run_eval(options, report, json)).await?
}

/// `codectx eval --from-history`: the instances of the repository's newest
/// `last` qualifying commits (saved to `<work_dir>/history.jsonl`) and the
/// clones folder that holds the repository under its folder name.
pub(crate) fn history_instances(
    repo: &Path,
    last: usize,
    work_dir: &Path,
) -> Result<(Vec<codectx_eval::dataset::Instance>, PathBuf)> {
    let root = std::fs::canonicalize(repo).map_err(|_| codectx_core::Error::PathNotFound(repo.to_path_buf()))?;
    // The repository as named (a symbolic link keeps its own name), `.` by its real one.
    let named = if repo.file_name().is_some() { repo.to_path_buf() } else { root.clone() };
    let options = codectx_history::HistoryOptions { last, ..Default::default() };
    let scan = codectx_history::scan(&root, &options)?;
    let name = named.file_name().map_or_else(|| "repository".to_string(), |name| name.to_string_lossy().into_owned());
    let instances = codectx_eval::dataset::from_history(&name, &scan);
    let dropped: Vec<String> =
        scan.dropped.iter().map(|(reason, count)| format!("{} {count}", reason.name())).collect();
    eprintln!(
        "from history: {} instances from {} commits read (dropped: {})",
        instances.len(),
        scan.walked,
        if dropped.is_empty() { "none".to_string() } else { dropped.join(", ") }
    );
    if instances.is_empty() {
        Err(codectx_core::Error::InvalidArgument(format!(
            "{}: no commit in the last {} read qualifies as an instance (a message of 40+ bytes modifying 1 to 8 source files)",
            root.display(),
            scan.walked
        )))?;
    }
    std::fs::create_dir_all(work_dir).with_context(|| format!("cannot create {}", work_dir.display()))?;
    codectx_eval::dataset::save(&work_dir.join("history.jsonl"), &instances)?;
    let clones = match named.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        Some(_) => PathBuf::from("."),
        None => PathBuf::from("/"),
    };
    Ok((instances, clones))
}

fn run_eval(options: codectx_eval::EvalOptions, report_path: Option<PathBuf>, json: bool) -> Result<()> {
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(options.instances.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} eval [{bar:30}] {pos}/{len} instances, eta {eta} {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let report = codectx_eval::run(&options, &|progress| {
        bar.set_position(progress.done as u64);
        bar.set_message(progress.instance_id.clone());
    })?;
    bar.finish_and_clear();
    if let Some(path) = report_path {
        let file = std::fs::File::create(&path).with_context(|| format!("cannot write {}", path.display()))?;
        serde_json::to_writer_pretty(std::io::BufWriter::new(file), &report)?;
    }
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, &report.summaries)?;
        writeln!(out)?;
        return Ok(());
    }
    // The mode column fits the longest configuration name.
    let width = report.summaries.iter().map(|summary| summary.config.len()).max().unwrap_or(0).max(10);
    writeln!(
        out,
        "{:<width$} {:>4} {:>6} {:>6} {:>6} {:>6} {:>6} {:>7} {:>7} {:>6} {:>22} {:>14} {:>6}",
        "mode",
        "n",
        "Acc@1",
        "Acc@3",
        "Acc@5",
        "Acc@10",
        "R@5",
        "fAcc@5",
        "fAcc@10",
        "MRR",
        "bundle files 4k/8k/16k",
        "bundle fn 8k",
        "ms"
    )?;
    for summary in &report.summaries {
        let bundle: Vec<String> = summary.bundle_file_recall.values().map(|value| format!("{value:.3}")).collect();
        writeln!(
            out,
            "{:<width$} {:>4} {:>6.3} {:>6.3} {:>6.3} {:>6.3} {:>6.3} {:>7.3} {:>7.3} {:>6.3} {:>22} {:>14.3} {:>6.1}",
            summary.config,
            summary.instances,
            summary.file_acc[&1],
            summary.file_acc[&3],
            summary.file_acc[&5],
            summary.file_acc[&10],
            summary.file_recall[&5],
            summary.function_acc[&5],
            summary.function_acc[&10],
            summary.mrr,
            bundle.join("/"),
            summary.bundle_function_recall.get(&8000).copied().unwrap_or(0.0),
            summary.median_rank_ms
        )?;
    }
    let index = &report.index;
    writeln!(
        out,
        "indexing: {} commits, {} files parsed, {} reused ({:.1}% reuse), checkout {:.1}s, index {:.1}s, {} missing blobs",
        index.commits,
        index.parsed,
        index.reused,
        100.0 * index.reused as f64 / (index.parsed + index.reused).max(1) as f64,
        index.checkout_ms as f64 / 1000.0,
        index.index_ms as f64 / 1000.0,
        index.missing_blobs
    )?;
    if index.embed_chunks_updated > 0 {
        writeln!(
            out,
            "embeddings: {} chunks updated across commits, {} from the cache ({:.1}% hit rate), {} embedded; embedding phase {:.1}s of the index time; query embedding {:.1}s",
            index.embed_chunks_updated,
            index.embed_cache_hits,
            100.0 * index.embed_cache_hits as f64 / index.embed_chunks_updated.max(1) as f64,
            index.embedded,
            index.embed_ms as f64 / 1000.0,
            index.query_embed_ms as f64 / 1000.0
        )?;
    }
    if !index.vector_search_ms.is_empty() {
        let mut samples = index.vector_search_ms.clone();
        samples.sort_by(f64::total_cmp);
        let quantile = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        writeln!(
            out,
            "vector search per query (after the query embedding; first query on each commit's table): p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms over {} queries; tables opened and their ANN index loaded in {:.1}s",
            quantile(0.5),
            quantile(0.95),
            samples[samples.len() - 1],
            samples.len(),
            index.vector_open_ms as f64 / 1000.0
        )?;
    }
    for (instance, error) in &report.failures {
        writeln!(out, "failed: {instance}: {error}")?;
    }
    Ok(())
}
