//! The `codectx` command line: `index`, `search`, `ask`, `symbols`, `deps`, `serve`, `mcp`.
//!
//! Every command but `index` goes through the same domain service
//! ([`codectx_service::ContextService`]) that the gRPC server exposes, so `ask` and
//! `GetContext` cannot disagree. Errors print as one line, `codectx: error: ...`;
//! the exit code is 2 for a user's mistake (bad path, no index, bad query, model
//! endpoint unreachable) and 1 otherwise.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

mod train;
use clap::{Args, Parser, Subcommand};
use codectx_core::{
    Config, ContextBundle, ContextRequest, GenerateEvent, GenerateRequest, IndexEvent, IndexStats, ModelOverrides,
    PathFilter, SearchRequest,
};
use codectx_service::{ContextService, Engine, RepositorySpec};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};

/// Name under which the CLI serves the repository it works on.
const LOCAL_REPOSITORY: &str = "local";

/// `--version`: the crate version and the index format it reads and writes
/// (an index of another format is rebuilt by `codectx index`).
static VERSION: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!("{} (index format {})", env!("CARGO_PKG_VERSION"), codectx_core::INDEX_FORMAT_VERSION)
});

#[derive(Parser)]
#[command(
    name = "codectx",
    version = VERSION.as_str(),
    about = "Repository-scale context engine: index a repository, then assemble the most relevant multi-file context for a question within a token budget."
)]
struct Cli {
    /// Configuration file (TOML). Default: <repo>/.codectx.toml if present.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Log filter (e.g. `info`, `codectx_index=debug`); logs go to stderr.
    #[arg(long, global = true, env = "CODECTX_LOG", default_value = "warn")]
    log: String,
    /// Log as JSON lines.
    #[arg(long, global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct RepoArgs {
    /// Repository root.
    // The id is not `path`: that would clash with the `path` positional of `deps`.
    #[arg(short = 'C', long = "repo", id = "repo_path", default_value = ".", value_name = "PATH")]
    path: PathBuf,
    /// Index folder (default <repo>/.codectx).
    #[arg(long, value_name = "DIR")]
    index_dir: Option<PathBuf>,
}

/// Where `eval` and `train-ranker` get their instances: a dataset over clones,
/// or a repository's own history.
#[derive(Args, Clone)]
struct InstanceArgs {
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
    fn load(&self, work_dir: &Path) -> Result<(Vec<codectx_eval::dataset::Instance>, PathBuf)> {
        match (&self.dataset, &self.repos) {
            (Some(dataset), Some(repos)) if !self.from_history => {
                Ok((codectx_eval::dataset::load(dataset)?, repos.clone()))
            }
            _ => history_instances(&self.repo, self.last, work_dir),
        }
    }
}

/// Which embedder computes chunk vectors (overrides `[embed]` in the config).
#[derive(Args, Clone, Default)]
struct EmbedArgs {
    /// `fastembed` (ONNX model in process, the default), `remote` (OpenAI-compatible
    /// /v1/embeddings) or `none`. Overrides CODECTX_EMBEDDER, which overrides the config.
    #[arg(long, value_name = "KIND")]
    embedder: Option<String>,
    /// fastembed: a model folder or a fastembed model name; remote: the model name.
    #[arg(long, value_name = "MODEL")]
    embed_model: Option<String>,
    /// `int8` (model_quantized.onnx, default) or `fp32` (model.onnx) of a model folder.
    #[arg(long, value_name = "VARIANT")]
    embed_variant: Option<String>,
    /// Tokens of each chunk that are embedded (default 128).
    #[arg(long, value_name = "TOKENS")]
    embed_max_tokens: Option<usize>,
    /// remote: base URL up to /v1.
    #[arg(long, value_name = "URL")]
    embed_url: Option<String>,
}

impl EmbedArgs {
    /// Applies the flags to `config`.
    fn apply(&self, config: &mut codectx_core::EmbedConfig) -> Result<()> {
        if let Some(kind) = &self.embedder {
            config.provider = codectx_core::EmbedProvider::parse(kind)?;
        }
        if let Some(model) = &self.embed_model {
            config.model = Some(model.clone());
        }
        if let Some(variant) = &self.embed_variant {
            config.variant = codectx_core::ModelVariant::parse(variant)?;
        }
        if let Some(tokens) = self.embed_max_tokens {
            config.max_tokens = tokens;
        }
        if let Some(url) = &self.embed_url {
            config.url = Some(url.clone());
        }
        Ok(())
    }
}

fn parse_mode(mode: Option<&str>) -> Result<Option<codectx_core::RetrievalMode>> {
    Ok(mode.map(codectx_core::RetrievalMode::parse).transpose()?)
}

#[derive(Args, Clone, Default)]
struct FilterArgs {
    /// Only paths matching this glob (repeatable).
    #[arg(long = "include", value_name = "GLOB")]
    include: Vec<String>,
    /// No paths matching this glob (repeatable).
    #[arg(long = "exclude", value_name = "GLOB")]
    exclude: Vec<String>,
}

impl FilterArgs {
    fn filter(&self) -> PathFilter {
        PathFilter { include: self.include.clone(), exclude: self.exclude.clone() }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Print a shell completion script to stdout (e.g. `codectx completions bash >
    /// ~/.local/share/bash-completion/completions/codectx`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout (e.g. `codectx man > ~/.local/share/man/man1/codectx.1`).
    Man,
    /// Index a repository (incremental: unchanged files are not re-parsed).
    Index {
        /// Repository root.
        #[arg(default_value = ".")]
        path: PathBuf,
        /// Index folder (default <PATH>/.codectx).
        #[arg(long, value_name = "DIR")]
        index_dir: Option<PathBuf>,
        /// Skip files larger than this many bytes (default 1 MiB).
        #[arg(long, value_name = "BYTES")]
        max_file_size: Option<u64>,
        /// Only index paths matching this glob (repeatable).
        #[arg(long = "include", value_name = "GLOB")]
        include: Vec<String>,
        /// Never index paths matching this glob (repeatable).
        #[arg(long = "exclude", value_name = "GLOB")]
        exclude: Vec<String>,
        /// Worker threads (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
        /// Build the lexical index only (no embeddings), as `--embedder none`.
        #[arg(long)]
        no_embed: bool,
        /// Rebuild from scratch instead of updating the current index (the repair
        /// for a damaged index; the embedding cache is still used).
        #[arg(long)]
        rebuild: bool,
        #[command(flatten)]
        embed: EmbedArgs,
        /// Print the run's counters as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Ranked chunks and symbols for a query.
    Search {
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
    },
    /// Assemble the context for a question; with a model configured, ask it and stream the answer.
    Ask {
        /// The question or instruction.
        question: String,
        #[command(flatten)]
        repo: RepoArgs,
        /// Token budget of the context (o200k_base tokens).
        #[arg(long, value_name = "TOKENS")]
        budget: Option<usize>,
        /// Most distinct files in the context.
        #[arg(long, default_value_t = 0)]
        max_files: usize,
        /// No context expansion (related signatures, repo map): chunks only.
        #[arg(long)]
        no_expand: bool,
        /// `lexical`, `semantic` or `hybrid` (default: hybrid when the index has embeddings).
        #[arg(long, value_name = "MODE")]
        mode: Option<String>,
        #[command(flatten)]
        filter: FilterArgs,
        /// Model to call (OpenAI-compatible). Also CODECTX_MODEL or [model] in the config.
        #[arg(long)]
        model: Option<String>,
        /// Base URL of the model endpoint, up to /v1. Also CODECTX_BASE_URL.
        #[arg(long)]
        base_url: Option<String>,
        /// Most completion tokens.
        #[arg(long)]
        max_tokens: Option<u32>,
        /// Print JSON (the bundle, or the answer with its sources).
        #[arg(long)]
        json: bool,
    },
    /// Symbol definitions by name or qualified name (`Session.get`, `walk::Walker::new`).
    Symbols {
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
    },
    /// Definitions, references, callers and callees of a symbol.
    Refs {
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
    },
    /// The call and containment graph around a symbol's definitions.
    Graph {
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
    },
    /// Imports of a file and the files that import it.
    Deps {
        /// Repository-relative path.
        path: String,
        #[command(flatten)]
        repo: RepoArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Measure retrieval quality on SWE-bench-style instances (file/function Acc@k, MRR, bundle recall),
    /// or on a repository's own history (--from-history).
    Eval {
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
    },
    /// Train a learned file (or, with --unit function, function) ranker on your own data:
    /// labelled instances (--dataset and --repos) or the repository's history (--from-history). By default it boosts on top
    /// of the shipped model; the newest share of the instances is held out and scored
    /// before and after. Needs Python 3 with lightgbm and numpy.
    TrainRanker {
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
    },
    /// Adapt the learned file ranker (--unit function: the function ranker) to this
    /// repository from its own history: boosts on top of the shipped model with the older
    /// commits, scores the newest ones before and after, and keeps the result
    /// (<repo>/.codectx/ranker.txt, function-ranker.txt) only when it ranks them better. Needs Python 3 with lightgbm and numpy.
    Tune {
        /// The repository (a work tree or a bare git folder).
        #[arg(short = 'C', long = "repo", default_value = ".", value_name = "PATH")]
        repo: PathBuf,
        /// How many of the newest qualifying commits to learn from and score.
        #[arg(long, default_value_t = 150, value_name = "N")]
        last: usize,
        #[command(flatten)]
        train: train::TrainArgs,
    },
    /// Serve one repository over the Model Context Protocol on stdin/stdout (for coding agents).
    Mcp {
        #[command(flatten)]
        repo: RepoArgs,
    },
    /// The secret filter (`[secrets]`): print the rules in force (files never indexed,
    /// patterns redacted as [REDACTED <name>]), or `scan` a repository with them.
    Secrets {
        #[command(subcommand)]
        action: Option<SecretsAction>,
        #[command(flatten)]
        repo: RepoArgs,
        /// Print JSON.
        #[arg(long, global = true)]
        json: bool,
    },
    /// Serve indexed repositories over gRPC (health checking and reflection included).
    /// Manage the repositories of a running `codectx serve` (its run-time registry,
    /// kept under `[server] storage_root`). Sends `CODECTX_TOKEN` as the bearer
    /// token when set (an admin token for add, rm and index).
    Repo {
        #[command(subcommand)]
        action: RepoAction,
        /// The server's address (default: `listen` in the config, else 127.0.0.1:50051);
        /// `https://HOST:PORT` for a TLS server (system roots, plus the PEM CA in
        /// CODECTX_CA_CERT).
        #[arg(long, global = true, value_name = "ADDR")]
        server: Option<String>,
    },
    Serve {
        /// Address to listen on (default 127.0.0.1:50051, or `listen` in the config).
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// A repository to serve, as NAME=PATH (repeatable; also [[repos]] in the config).
        #[arg(long = "repo", value_name = "NAME=PATH")]
        repos: Vec<String>,
        /// Serve Prometheus metrics at http://ADDR/metrics (default: `[server] metrics_addr`
        /// in the config, else off). No authentication: bind it to loopback or a private network.
        #[arg(long, value_name = "ADDR")]
        metrics_addr: Option<String>,
        /// Do not watch the repositories for changes (`[server] watch = false`): they
        /// are then re-indexed only by RefreshRepository / `codectx repo index`.
        #[arg(long)]
        no_watch: bool,
    },
}

#[derive(Subcommand)]
enum SecretsAction {
    /// List what the rules keep out of a repository: the files they exclude, and the
    /// `path:line` of each span they redact with the pattern's name (never the secret).
    Scan {
        /// Repository root (default: the --repo folder).
        path: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum RepoAction {
    /// Register a folder (inside the server's `allowed_roots`) and index it.
    Add {
        /// Name clients will use.
        name: String,
        /// The repository's root folder.
        path: PathBuf,
        /// Register only; index later with `codectx repo index NAME`.
        #[arg(long)]
        no_index: bool,
    },
    /// Stop serving a registered repository.
    Rm {
        /// Its name.
        name: String,
        /// Also delete its index.
        #[arg(long)]
        delete_index: bool,
    },
    /// List the served repositories.
    Ls,
    /// Where a repository's index stands.
    Status {
        /// Its name.
        name: String,
    },
    /// (Re-)index a served repository, with progress.
    Index {
        /// Its name.
        name: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.log, cli.log_json);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("codectx: error: cannot start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let chain: Vec<String> = error.chain().map(|cause| cause.to_string()).collect();
            let mut line = chain.first().cloned().unwrap_or_default();
            for cause in chain.iter().skip(1) {
                if !line.contains(cause.as_str()) {
                    line.push_str(": ");
                    line.push_str(cause);
                }
            }
            eprintln!("codectx: error: {line}");
            let user_error = error.chain().any(|cause| {
                cause.downcast_ref::<codectx_core::Error>().is_some_and(codectx_core::Error::is_user_error)
            });
            ExitCode::from(if user_error { 2 } else { 1 })
        }
    }
}

fn init_logging(filter: &str, json: bool) {
    let filter =
        tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Index {
            path,
            index_dir,
            max_file_size,
            include,
            exclude,
            threads,
            no_embed,
            rebuild,
            embed,
            json,
        } => {
            let root = check_dir(&path)?;
            let mut config = Config::discover(cli.config.as_deref(), Some(&root))?;
            if let Some(bytes) = max_file_size {
                config.index.max_file_size = bytes;
            }
            config.index.include.extend(include);
            config.index.exclude.extend(exclude);
            if let Some(threads) = threads {
                config.index.threads = threads;
            }
            embed.apply(&mut config.embed)?;
            if no_embed {
                config.embed.provider = codectx_core::EmbedProvider::None;
            }
            let engine = engine_for(&root, index_dir, config)?;
            if rebuild {
                engine.request_rebuild(LOCAL_REPOSITORY)?;
            }
            let stats = index_with_progress(&engine).await?;
            print_index_stats(&stats, json)
        }
        Command::Search { query, repo, limit, filter, mode, json } => {
            let mode = parse_mode(mode.as_deref())?;
            let (engine, _) = open_engine(&repo, cli.config.as_deref())?;
            let request = SearchRequest { query, limit, filter: filter.filter(), mode };
            let hits = engine.search(LOCAL_REPOSITORY, request).await?;
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
        Command::Ask {
            question,
            repo,
            budget,
            max_files,
            no_expand,
            mode,
            filter,
            model,
            base_url,
            max_tokens,
            json,
        } => {
            let mode = parse_mode(mode.as_deref())?;
            let (engine, config) = open_engine_with(&repo, cli.config.as_deref(), |config| {
                if base_url.is_some() {
                    config.model.base_url = base_url.clone();
                }
                if model.is_some() {
                    config.model.model = model.clone();
                }
            })?;
            let request = ContextRequest {
                query: question,
                token_budget: budget.unwrap_or(config.retrieval.default_budget),
                max_files,
                filter: filter.filter(),
                expansion: codectx_core::Expansion { enabled: !no_expand, ..Default::default() },
                mode,
                freshness: Default::default(),
            };
            let model_config = config.model.clone().with_env();
            if model_config.model.is_none() {
                let bundle = engine.get_context(LOCAL_REPOSITORY, request).await?;
                return print_context(&bundle, json);
            }
            let generate = GenerateRequest {
                context: request,
                model: ModelOverrides { model: None, max_tokens, temperature: None },
            };
            ask_model(&engine, generate, json).await
        }
        Command::Symbols { name, repo, limit, json } => {
            let (engine, _) = open_engine(&repo, cli.config.as_deref())?;
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
        Command::Refs { name, repo, limit, json } => {
            let (engine, _) = open_engine(&repo, cli.config.as_deref())?;
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
                    writeln!(
                        out,
                        "  {}:{}  {} {}",
                        symbol.path, symbol.span.start_line, symbol.kind, symbol.qualified_name
                    )?;
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
        Command::Graph { name, repo, depth, direction, max_nodes, json } => {
            let (engine, _) = open_engine(&repo, cli.config.as_deref())?;
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
        Command::Deps { path, repo, json } => {
            let (engine, _) = open_engine(&repo, cli.config.as_deref())?;
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
        Command::Serve { listen, repos, metrics_addr, no_watch } => {
            serve(cli.config.as_deref(), listen, repos, metrics_addr, no_watch).await
        }
        Command::Repo { action, server } => repo_command(cli.config.as_deref(), server, action).await,
        Command::Secrets { action, repo, json } => secrets_command(cli.config.as_deref(), action, &repo, json),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "codectx",
                &mut std::io::stdout(),
            );
            Ok(())
        }
        Command::Man => {
            match clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(&mut std::io::stdout()) {
                // `codectx man | head` closes the pipe early: not an error.
                Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                other => Ok(other?),
            }
        }
        Command::TrainRanker { source, train, out, work_dir, keep_if_better } => {
            let config = Config::discover(cli.config.as_deref(), None)?;
            let (instances, repos) = source.load(&work_dir)?;
            let out = out.unwrap_or_else(|| PathBuf::from(format!("{}-ranker.txt", train.unit.name())));
            let options =
                train::TrainOptions { instances, repos, work_dir, index: config.index, train, out, keep_if_better };
            tokio::task::spawn_blocking(move || train::train(options)).await?
        }
        Command::Tune { repo, last, train } => {
            let root = check_dir(&repo)?;
            let config = Config::discover(cli.config.as_deref(), Some(&root))?;
            let dir = root.join(codectx_core::DEFAULT_INDEX_DIR);
            let work_dir = dir.join("tune");
            let (instances, repos) = history_instances(&root, last, &work_dir)?;
            let out = dir.join(match train.unit {
                train::Unit::File => "ranker.txt",
                train::Unit::Function => "function-ranker.txt",
            });
            let options = train::TrainOptions {
                instances,
                repos,
                work_dir,
                index: config.index,
                train,
                out,
                keep_if_better: true,
            };
            tokio::task::spawn_blocking(move || train::train(options)).await?
        }
        Command::Mcp { repo } => {
            let (engine, _) = open_engine(&repo, cli.config.as_deref())?;
            // Warm the tokenizer so the first request does not pay for it.
            tokio::task::spawn_blocking(codectx_core::tokens::warm_up);
            tracing::info!(root = %repo.path.display(), "serving MCP on stdin/stdout");
            // Stdout carries the protocol: nothing else may be printed there.
            codectx_mcp::serve_stdio(Arc::new(engine), LOCAL_REPOSITORY).await?;
            Ok(())
        }
        Command::Eval {
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
        } => {
            let ranker = match &ranker_model {
                Some(path) => Some(Arc::new(codectx_retrieve::rerank::FileRanker::load(path)?)),
                None => None,
            };
            let function_ranker = match &function_ranker_model {
                Some(path) => Some(Arc::new(codectx_retrieve::rerank::FunctionRanker::load(path)?)),
                None => None,
            };
            let mut config = Config::discover(cli.config.as_deref(), None)?;
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
    }
}

/// `codectx secrets [scan [PATH]]`: the rules of the discovered config, or what
/// they find in a repository.
fn secrets_command(config: Option<&Path>, action: Option<SecretsAction>, repo: &RepoArgs, json: bool) -> Result<()> {
    let path = match &action {
        Some(SecretsAction::Scan { path: Some(path) }) => path.as_path(),
        _ => repo.path.as_path(),
    };
    let root = check_dir(path)?;
    let config = Config::discover(config, Some(&root))?;
    let index_dir = repo.index_dir.clone().unwrap_or_else(|| root.join(codectx_core::DEFAULT_INDEX_DIR));
    let mut out = std::io::stdout().lock();
    let Some(SecretsAction::Scan { .. }) = action else {
        let rules =
            codectx_core::SecretRules::new(&config.index.secrets).map_err(codectx_core::Error::InvalidArgument)?;
        if json {
            serde_json::to_writer_pretty(&mut out, &rules.active())?;
            writeln!(out)?;
            return Ok(());
        }
        out.write_all(rules.active().render().as_bytes())?;
        if codectx_index::secrets::indexed_rules(&index_dir).is_some_and(|indexed| indexed != config.index.secrets) {
            writeln!(
                out,
                "\nnote: the index at {} was built with other rules, which its answers still apply: run `codectx index`",
                index_dir.display()
            )?;
        }
        return Ok(());
    };
    let findings = codectx_index::secrets::scan(&root, &index_dir, &config.index)?;
    if json {
        serde_json::to_writer_pretty(&mut out, &findings)?;
        writeln!(out)?;
        return Ok(());
    }
    for finding in &findings {
        writeln!(out, "{finding}")?;
    }
    let excluded = findings.iter().filter(|finding| finding.excluded).count();
    let mut redacted_files: Vec<&str> =
        findings.iter().filter(|finding| !finding.excluded).map(|finding| finding.path.as_str()).collect();
    redacted_files.dedup();
    writeln!(
        out,
        "{excluded} files excluded; {} spans redacted in {} files",
        findings.len() - excluded,
        redacted_files.len()
    )?;
    Ok(())
}

fn check_dir(path: &Path) -> Result<PathBuf> {
    let metadata = std::fs::metadata(path).map_err(|_| codectx_core::Error::PathNotFound(path.to_path_buf()))?;
    if !metadata.is_dir() {
        return Err(codectx_core::Error::NotADirectory(path.to_path_buf()).into());
    }
    path.canonicalize().with_context(|| format!("cannot resolve {}", path.display()))
}

fn engine_for(root: &Path, index_dir: Option<PathBuf>, config: Config) -> Result<Engine> {
    let spec = RepositorySpec { name: LOCAL_REPOSITORY.into(), root: root.to_path_buf(), index_dir };
    Ok(Engine::new(vec![spec], config)?)
}

fn open_engine(repo: &RepoArgs, config: Option<&Path>) -> Result<(Engine, Config)> {
    open_engine_with(repo, config, |_| {})
}

fn open_engine_with(
    repo: &RepoArgs,
    config: Option<&Path>,
    adjust: impl FnOnce(&mut Config),
) -> Result<(Engine, Config)> {
    let root = check_dir(&repo.path)?;
    let mut config = Config::discover(config, Some(&root))?;
    adjust(&mut config);
    let engine = engine_for(&root, repo.index_dir.clone(), config.clone())?;
    Ok((engine, config))
}

async fn index_with_progress(engine: &Engine) -> Result<IndexStats> {
    let bar = if std::io::stderr().is_terminal() { ProgressBar::new(0) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {prefix:>7} [{bar:30}] {pos}/{len} files {per_sec} eta {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    let mut events = engine.index(LOCAL_REPOSITORY).await?;
    while let Some(event) = events.next().await {
        match event? {
            IndexEvent::Progress(progress) => {
                if bar.prefix() != progress.phase {
                    bar.set_prefix(progress.phase.clone());
                    let unit = if progress.phase == "embed" { "chunks" } else { "files" };
                    bar.set_style(
                        ProgressStyle::with_template(&format!(
                            "{{spinner}} {{prefix:>7}} [{{bar:30}}] {{pos}}/{{len}} {unit} {{per_sec}} eta {{eta}}"
                        ))
                        .expect("valid template")
                        .progress_chars("=> "),
                    );
                    bar.reset();
                }
                bar.set_length(progress.total);
                bar.set_position(progress.done);
            }
            IndexEvent::Done(stats) => {
                bar.finish_and_clear();
                return Ok(*stats);
            }
        }
    }
    bar.finish_and_clear();
    anyhow::bail!("the index run ended without a result")
}

fn print_index_stats(stats: &IndexStats, json: bool) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, stats)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "indexed {} files ({:.1} MB): {} parsed, {} unchanged, {} removed; {} symbols, {} chunks, {}/{} imports resolved; generation {} in {:.2}s",
        stats.files,
        stats.bytes as f64 / 1e6,
        stats.parsed,
        stats.reused,
        stats.removed,
        stats.symbols,
        stats.chunks,
        stats.resolved_imports,
        stats.imports,
        stats.generation,
        stats.elapsed_ms as f64 / 1000.0
    )?;
    writeln!(
        out,
        "skipped: {} binary, {} over the size cap, {} secret ([secrets]), {} behind links leading outside the repository, {} unreadable; {} not valid UTF-8 (decoded lossily unless configured to skip); {} parse timeouts",
        stats.skipped_binary, stats.skipped_too_large, stats.skipped_secret, stats.skipped_outside_root, stats.unreadable, stats.invalid_utf8, stats.parse_timeouts
    )?;
    if stats.parsed > 0 || stats.removed > 0 {
        writeln!(out, "dependency graph: edges of {} files re-resolved", stats.graph_updated)?;
    }
    match &stats.embeddings {
        None => writeln!(out, "embeddings: off")?,
        Some(embed) => {
            if embed.chunks_updated > 0 || embed.error.is_none() {
                let rate =
                    if embed.embed_ms > 0 { embed.embedded as f64 * 1000.0 / embed.embed_ms as f64 } else { 0.0 };
                writeln!(
                    out,
                    "embeddings ({} × {}): {} chunks updated, {} from the cache ({:.1}% hit rate), {} embedded ({:.1} chunks/s); {} vectors{} in {:.2}s",
                    embed.model_id,
                    embed.dimension,
                    embed.chunks_updated,
                    embed.cache_hits,
                    embed.hit_rate() * 100.0,
                    embed.embedded,
                    rate,
                    embed.vectors,
                    if embed.ann_index { " (IVF-PQ index)" } else { "" },
                    embed.elapsed_ms as f64 / 1000.0
                )?;
            }
            if let Some(error) = &embed.error {
                drop(out);
                eprintln!("codectx: warning: embeddings skipped: {error}; the lexical index is complete");
            }
        }
    }
    Ok(())
}

fn print_context(bundle: &ContextBundle, json: bool) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, bundle)?;
        writeln!(out)?;
        return Ok(());
    }
    out.write_all(bundle.render().as_bytes())?;
    writeln!(out, "Ranked source files:")?;
    for (rank, file) in bundle.files.iter().take(15).enumerate() {
        writeln!(out, "{:>3}. {}  ({:.4})", rank + 1, file.path, file.score)?;
    }
    writeln!(
        out,
        "\n{} of {} tokens used in {} blocks.",
        bundle.tokens_used,
        bundle.token_budget,
        bundle.blocks.len()
    )?;
    writeln!(
        out,
        "No model is configured, so this is the assembled context. To get an answer, set one: `codectx ask --model gpt-4o-mini \"...\"` (key from CODECTX_API_KEY or OPENAI_API_KEY), or --base-url http://localhost:11434/v1 for a local server."
    )?;
    Ok(())
}

async fn ask_model(engine: &Engine, request: GenerateRequest, json: bool) -> Result<()> {
    let mut events = engine.generate(LOCAL_REPOSITORY, request).await?;
    let mut out = std::io::stdout();
    let mut answer = String::new();
    let mut bundle = None;
    while let Some(event) = events.next().await {
        match event? {
            GenerateEvent::Context(context) => bundle = Some(context),
            GenerateEvent::Token(token) => {
                if !json {
                    out.write_all(token.as_bytes())?;
                    out.flush()?;
                }
                answer.push_str(&token);
            }
            GenerateEvent::Done { sources, usage } => {
                if json {
                    let value =
                        serde_json::json!({ "answer": answer, "sources": sources, "usage": usage, "context": bundle });
                    serde_json::to_writer_pretty(&mut out, &value)?;
                    writeln!(out)?;
                } else {
                    writeln!(out, "\n\nSources:")?;
                    for source in &sources {
                        writeln!(out, "  {source}")?;
                    }
                    writeln!(
                        out,
                        "({} context tokens, {} prompt tokens, {} completion tokens)",
                        usage.context_tokens, usage.prompt_tokens, usage.completion_tokens
                    )?;
                }
            }
        }
    }
    Ok(())
}

/// `codectx eval --from-history`: the instances of the repository's newest
/// `last` qualifying commits (saved to `<work_dir>/history.jsonl`) and the
/// clones folder that holds the repository under its folder name.
fn history_instances(
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

/// `codectx repo ...`: the registry RPCs of a running server.
async fn repo_command(config_path: Option<&Path>, server: Option<String>, action: RepoAction) -> Result<()> {
    use codectx_proto::v1 as pb;
    let config = Config::discover(config_path, None)?;
    let address = server.or(config.listen.clone()).unwrap_or_else(|| "127.0.0.1:50051".to_string());
    let endpoint = if address.contains("://") { address.clone() } else { format!("http://{address}") };
    let mut endpoint = tonic::transport::Endpoint::from_shared(endpoint)
        .map_err(|_| codectx_core::Error::InvalidArgument(format!("--server {address:?} is not an address")))?;
    if address.starts_with("https://") {
        // The system's roots, plus the CA in CODECTX_CA_CERT (a self-signed server).
        codectx_server::install_crypto_provider();
        let mut tls = tonic::transport::ClientTlsConfig::new().with_native_roots();
        if let Some(path) = std::env::var_os("CODECTX_CA_CERT") {
            let pem = std::fs::read(&path).map_err(|error| codectx_core::Error::io(&path, error))?;
            tls = tls.ca_certificate(tonic::transport::Certificate::from_pem(pem));
        }
        endpoint = endpoint.tls_config(tls).context("TLS configuration")?;
    }
    let channel = endpoint.connect().await.with_context(|| format!("cannot reach codectx serve at {address}"))?;
    let token =
        match std::env::var("CODECTX_TOKEN") {
            Ok(token) if !token.is_empty() => Some(format!("Bearer {token}").parse().map_err(|_| {
                codectx_core::Error::InvalidArgument("CODECTX_TOKEN is not a valid header value".into())
            })?),
            _ => None,
        };
    let mut client = pb::code_context_client::CodeContextClient::with_interceptor(channel, Bearer(token));
    let status_error = |status: tonic::Status| anyhow::anyhow!("{}", status.message());
    let mut out = std::io::stdout().lock();
    match action {
        RepoAction::Add { name, path, no_index } => {
            let path = std::path::absolute(&path).with_context(|| format!("{}", path.display()))?;
            let added = client
                .add_repository(pb::AddRepositoryRequest { name: name.clone(), path: path.display().to_string() })
                .await
                .map_err(status_error)?
                .into_inner();
            writeln!(out, "added {} ({})", added.name, added.root)?;
            if !no_index {
                drop(out);
                return repo_index(&mut client, &name).await;
            }
        }
        RepoAction::Rm { name, delete_index } => {
            client
                .remove_repository(pb::RemoveRepositoryRequest { name: name.clone(), delete_index })
                .await
                .map_err(status_error)?;
            writeln!(out, "removed {name}{}", if delete_index { " and its index" } else { "" })?;
        }
        RepoAction::Ls => {
            let list =
                client.list_repositories(pb::ListRepositoriesRequest {}).await.map_err(status_error)?.into_inner();
            for repository in list.repositories {
                let state = if repository.indexed {
                    format!(
                        "{} files, {} chunks, commit {:.12}",
                        repository.files, repository.chunks, repository.commit
                    )
                } else {
                    "not indexed".to_string()
                };
                writeln!(out, "{:<24} {}  ({state})", repository.name, repository.root)?;
            }
        }
        RepoAction::Status { name } => {
            let status = client
                .get_index_status(pb::GetIndexStatusRequest { repository: name })
                .await
                .map_err(status_error)?
                .into_inner();
            let repository = status.repository.unwrap_or_default();
            writeln!(out, "{} ({})", repository.name, repository.root)?;
            writeln!(
                out,
                "generation {}, commit {}, fingerprint {}, {} files, {} chunks{}",
                status.generation,
                if repository.commit.is_empty() { "-" } else { &repository.commit },
                if repository.fingerprint.is_empty() { "-" } else { &repository.fingerprint },
                repository.files,
                repository.chunks,
                if status.indexing { "; indexing now" } else { "" }
            )?;
            if let Some(run) = status.last_run {
                writeln!(
                    out,
                    "last run: {} parsed, {} reused, {} removed in {:.2}s",
                    run.parsed,
                    run.reused,
                    run.removed,
                    run.elapsed_ms as f64 / 1000.0
                )?;
            }
            if !status.last_error.is_empty() {
                writeln!(out, "last error: {}", status.last_error)?;
            }
            if !status.damage.is_empty() {
                writeln!(out, "damaged, rebuilding from scratch: {}", status.damage)?;
            }
        }
        RepoAction::Index { name } => {
            drop(out);
            return repo_index(&mut client, &name).await;
        }
    }
    Ok(())
}

/// Adds `authorization: Bearer $CODECTX_TOKEN` to each request when the
/// variable is set (servers with `[[server.tokens]]` require it).
#[derive(Clone)]
struct Bearer(Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>);

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut request: tonic::Request<()>) -> std::result::Result<tonic::Request<()>, tonic::Status> {
        if let Some(token) = &self.0 {
            request.metadata_mut().insert("authorization", token.clone());
        }
        Ok(request)
    }
}

type RepoClient = codectx_proto::v1::code_context_client::CodeContextClient<
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, Bearer>,
>;

/// Streams `IndexRepository` for `name`, printing the phases and the stats.
async fn repo_index(client: &mut RepoClient, name: &str) -> Result<()> {
    use codectx_proto::v1 as pb;
    use futures::StreamExt;
    let mut stream = client
        .index_repository(pb::IndexRepositoryRequest { repository: name.to_string() })
        .await
        .map_err(|status| anyhow::anyhow!("{}", status.message()))?
        .into_inner();
    let mut phase = String::new();
    while let Some(event) = stream.next().await {
        let event = event.map_err(|status| anyhow::anyhow!("{}", status.message()))?;
        match event.event {
            Some(pb::index_event::Event::Progress(progress)) if progress.phase != phase => {
                eprintln!("{name}: {}", progress.phase);
                phase = progress.phase;
            }
            Some(pb::index_event::Event::Done(stats)) => {
                println!(
                    "indexed {name}: {} files ({} parsed, {} reused, {} removed), {} chunks, generation {} in {:.2}s",
                    stats.files,
                    stats.parsed,
                    stats.reused,
                    stats.removed,
                    stats.chunks,
                    stats.generation,
                    stats.elapsed_ms as f64 / 1000.0
                );
            }
            _ => {}
        }
    }
    Ok(())
}

async fn serve(
    config_path: Option<&Path>,
    listen: Option<String>,
    repos: Vec<String>,
    metrics_addr: Option<String>,
    no_watch: bool,
) -> Result<()> {
    let config = Config::discover(config_path, None)?;
    let watch = config.server.watch && !no_watch;
    let mut specs: Vec<RepositorySpec> = config
        .repos
        .iter()
        .map(|entry| RepositorySpec {
            name: entry.name.clone(),
            root: entry.path.clone(),
            index_dir: entry.index_dir.clone(),
        })
        .collect();
    for repo in repos {
        let (name, path) = repo
            .split_once('=')
            .ok_or_else(|| codectx_core::Error::InvalidArgument(format!("--repo {repo:?} is not NAME=PATH")))?;
        specs.push(RepositorySpec { name: name.to_string(), root: check_dir(Path::new(path))?, index_dir: None });
    }
    if specs.is_empty() && config.server.storage_root.is_none() {
        return Err(codectx_core::Error::InvalidArgument(
            "no repository to serve: give --repo NAME=PATH, [[repos]] in --config, or a [server] storage_root \
             to add repositories at run time"
                .into(),
        )
        .into());
    }
    let address = listen.or(config.listen.clone()).unwrap_or_else(|| "127.0.0.1:50051".to_string());
    let address: SocketAddr = address.parse().map_err(|_| {
        codectx_core::Error::InvalidArgument(format!("--listen {address:?} is not an address like 127.0.0.1:50051"))
    })?;
    let metrics_addr: Option<SocketAddr> = match metrics_addr.or(config.server.metrics_addr.clone()) {
        None => None,
        Some(address) => Some(address.parse().map_err(|_| {
            codectx_core::Error::InvalidArgument(format!(
                "--metrics-addr {address:?} is not an address like 127.0.0.1:9464"
            ))
        })?),
    };
    if metrics_addr.is_some() {
        // Before the engine starts, so that index runs at start-up are counted.
        codectx_server::metrics_endpoint::install_recorder()?;
    }
    let auth = Arc::new(codectx_server::auth::Auth::from_config(&config.server.tokens)?);
    let max_in_flight = config.server.max_in_flight;
    let tls = match (&config.server.tls_cert, &config.server.tls_key) {
        (Some(cert), Some(key)) => Some((
            std::fs::read(cert).map_err(|error| codectx_core::Error::io(cert, error))?,
            std::fs::read(key).map_err(|error| codectx_core::Error::io(key, error))?,
        )),
        (None, None) => None,
        _ => {
            return Err(codectx_core::Error::InvalidArgument(
                "[server] needs both tls_cert and tls_key, or neither".into(),
            )
            .into())
        }
    };
    let engine = Arc::new(Engine::new(specs, config)?);
    // A damaged index of one repository is rebuilt in the background; the others keep serving.
    engine.heal_damaged_indexes();
    // Warm the tokenizer so the first request does not pay for it.
    tokio::task::spawn_blocking(codectx_core::tokens::warm_up);
    let listener =
        tokio::net::TcpListener::bind(address).await.with_context(|| format!("cannot listen on {address}"))?;
    let bound = listener.local_addr()?;
    eprintln!("codectx: serving {} repositories on {bound}", engine.list_repositories().await?.len());
    if auth.enabled() {
        eprintln!("codectx: bearer tokens required ([[server.tokens]])");
    }
    if watch {
        // Watches every repository and catches up on changes made while it was down.
        engine.start_watching().await;
        eprintln!("codectx: watching repositories for changes");
    }
    let metrics = match metrics_addr {
        None => None,
        Some(address) => {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("cannot listen on {address} for metrics"))?;
            eprintln!("codectx: metrics on http://{}/metrics", listener.local_addr()?);
            Some(listener)
        }
    };
    let options = codectx_server::ServeOptions { auth, max_in_flight, tls, metrics };
    codectx_server::serve_with(engine, listener, codectx_server::shutdown_signal(), options).await?;
    eprintln!("codectx: shut down");
    Ok(())
}
