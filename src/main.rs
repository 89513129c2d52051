//! The `codectx` command line: `index`, `embed`, `search`, `ask`, `symbols`, `refs`, `graph`,
//! `deps`, `eval`, `train-ranker`, `tune`, `mcp`, `secrets`, `repo`, `serve`.
//!
//! Each subcommand is a module of [`cli`]: its clap arguments and its `run`. Every
//! command but `index` goes through the same domain service
//! ([`codectx_service::ContextService`]) that the gRPC server exposes, so `ask` and
//! `GetContext` cannot disagree. Errors print as one line, `codectx: error: ...`;
//! the exit code is 2 for a user's mistake (bad path, no index, bad query, model
//! endpoint unreachable) and 1 otherwise.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

mod cli;

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
    Index(cli::index::IndexArgs),
    /// Bring the index's embeddings up to date with its current generation (the run
    /// `codectx index` starts in the background; waits for one in progress).
    Embed(cli::embed::EmbedCommandArgs),
    /// Ranked chunks and symbols for a query.
    Search(cli::search::SearchArgs),
    /// Assemble the context for a question; with a model configured, ask it and stream the answer.
    Ask(cli::ask::AskArgs),
    /// Symbol definitions by name or qualified name (`Session.get`, `walk::Walker::new`).
    Symbols(cli::symbols::SymbolsArgs),
    /// Definitions, references, callers and callees of a symbol.
    Refs(cli::refs::RefsArgs),
    /// The call and containment graph around a symbol's definitions.
    Graph(cli::graph::GraphArgs),
    /// Imports of a file and the files that import it.
    Deps(cli::deps::DepsArgs),
    /// Measure retrieval quality on SWE-bench-style instances (file/function Acc@k, MRR, bundle recall),
    /// or on a repository's own history (--from-history).
    Eval(cli::eval::EvalArgs),
    /// Train a learned file (or, with --unit function, function) ranker on your own data:
    /// labelled instances (--dataset and --repos) or the repository's history (--from-history). By default it boosts on top
    /// of the shipped model; the newest share of the instances is held out and scored
    /// before and after. Needs Python 3 with lightgbm and numpy.
    TrainRanker(cli::train_ranker::TrainRankerArgs),
    /// Adapt the learned file ranker (--unit function: the function ranker) to this
    /// repository from its own history: boosts on top of the shipped model with the older
    /// commits, scores the newest ones before and after, and keeps the result
    /// (<repo>/.codectx/ranker.txt, function-ranker.txt) only when it ranks them better. Needs Python 3 with lightgbm and numpy.
    Tune(cli::tune::TuneArgs),
    /// Serve one repository over the Model Context Protocol on stdin/stdout (for coding agents).
    Mcp(cli::mcp::McpArgs),
    /// The secret filter (`[secrets]`): print the rules in force (files never indexed,
    /// patterns redacted as [REDACTED <name>]), or `scan` a repository with them.
    Secrets(cli::secrets::SecretsArgs),
    /// Manage the repositories of a running `codectx serve` (its run-time registry,
    /// kept under `[server] storage_root`). Sends `CODECTX_TOKEN` as the bearer
    /// token when set (an admin token for add, rm and index).
    Repo(cli::repo::RegistryArgs),
    /// Serve indexed repositories over gRPC (health checking and reflection included).
    Serve(cli::serve::ServeArgs),
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
    let config = cli.config.as_deref();
    match cli.command {
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
        Command::Index(args) => cli::index::run(args, config).await,
        Command::Embed(args) => cli::embed::run(args, config).await,
        Command::Search(args) => cli::search::run(args, config).await,
        Command::Ask(args) => cli::ask::run(args, config).await,
        Command::Symbols(args) => cli::symbols::run(args, config).await,
        Command::Refs(args) => cli::refs::run(args, config).await,
        Command::Graph(args) => cli::graph::run(args, config).await,
        Command::Deps(args) => cli::deps::run(args, config).await,
        Command::Eval(args) => cli::eval::run(args, config).await,
        Command::TrainRanker(args) => cli::train_ranker::run(args, config).await,
        Command::Tune(args) => cli::tune::run(args, config).await,
        Command::Mcp(args) => cli::mcp::run(args, config).await,
        Command::Secrets(args) => cli::secrets::run(args, config),
        Command::Repo(args) => cli::repo::run(args, config).await,
        Command::Serve(args) => cli::serve::run(args, config).await,
    }
}
