//! Time to first answer: from the start of `codectx index` on a repository with
//! no index to the first answered query, with embeddings on (the default: the
//! lexical, symbol and graph index is published first and the embeddings follow
//! in a background `codectx embed`), beside the time of a lexical-only index run
//! (`--no-embed`) of the same repository. Target (issue 16): at most 1.3×.
//!
//! ```text
//! CODECTX_BENCH_CORPUS=/src/sympy cargo bench --profile dev --bench first_answer
//! ```
//!
//! Each figure runs the `codectx` binary as a user would, on a cold index folder
//! (and so a cold embedding cache). The embedder is the configured default
//! (all-MiniLM-L6-v2 after `scripts/setup.sh`), or the model folder in
//! `CODECTX_BENCH_EMBED_MODEL`. The background embedding run is stopped after the
//! first answer unless `CODECTX_BENCH_FULL=1`, which waits for it (`codectx
//! embed`) and reports the time until every chunk has its vector. Under `cargo
//! test --all-targets` it runs once on this project's `crates/` with the tiny
//! test model, as a smoke test.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Instant;

const QUERY: &str = "where are the results of two signals fused into one ranking";

fn codectx() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_codectx"));
    command.env("CODECTX_LOG", "warn").env_remove("CODECTX_EMBEDDER");
    command
}

fn checked(command: &mut Command, what: &str) -> Output {
    let output = command.output().unwrap_or_else(|error| panic!("{what}: {error}"));
    assert!(output.status.success(), "{what}: {}", String::from_utf8_lossy(&output.stderr));
    output
}

fn main() {
    let benchmarking = std::env::args().any(|arg| arg == "--bench");
    let corpus = common::corpus();
    let model = match std::env::var("CODECTX_BENCH_EMBED_MODEL") {
        Ok(model) => Some(model),
        Err(_) if benchmarking => None,
        Err(_) => Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tiny-embed-model").display().to_string()),
    };
    let scratch = tempfile::tempdir().expect("temp dir");
    // The embedder of every command (the index run, the query, `codectx embed`).
    let config = scratch.path().join("codectx.toml");
    let model_line = model.map(|model| format!("model = {model:?}\n")).unwrap_or_default();
    std::fs::write(&config, format!("[embed]\nprovider = \"fastembed\"\n{model_line}")).expect("write the config");
    let embed_args = ["--config".to_string(), config.display().to_string()];
    let lexical_dir = scratch.path().join("lexical");
    let hybrid_dir = scratch.path().join("hybrid");

    let started = Instant::now();
    checked(
        codectx().arg("index").arg(&corpus).arg("--index-dir").arg(&lexical_dir).arg("--no-embed"),
        "index --no-embed",
    );
    let lexical = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let indexed =
        checked(codectx().arg("index").arg(&corpus).arg("--index-dir").arg(&hybrid_dir).args(&embed_args), "index");
    let index_done = started.elapsed().as_secs_f64();
    let searched = checked(
        codectx()
            .args(["search", QUERY, "-k", "5", "-C"])
            .arg(&corpus)
            .arg("--index-dir")
            .arg(&hybrid_dir)
            .args(&embed_args),
        "search",
    );
    let first_answer = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&indexed.stdout);
    let note = String::from_utf8_lossy(&searched.stderr);
    let coverage = note.lines().find(|line| line.contains("vector signal covers")).unwrap_or("(complete)").trim();
    assert!(!searched.stdout.is_empty(), "the first query answered");
    let pid = stdout
        .split("(pid ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|pid| pid.parse::<u32>().ok())
        .expect("index says which process embeds in the background");

    println!("corpus {}", corpus.display());
    println!("lexical-only index (--no-embed):           {lexical:>8.2} s");
    println!("index with embeddings, lexical published:  {index_done:>8.2} s");
    println!(
        "first answered query:                      {first_answer:>8.2} s  ({:.2}× the lexical-only index; target ≤ 1.3×)",
        first_answer / lexical
    );
    println!("first query saw: {coverage}");
    if benchmarking && std::env::var_os("CODECTX_BENCH_FULL").is_none() {
        // Stop the background run: the next bench should not share the cores with it.
        let _ = Command::new("kill").arg(pid.to_string()).status();
        return;
    }
    let embedded = checked(
        codectx().arg("embed").arg("-C").arg(&corpus).arg("--index-dir").arg(&hybrid_dir).args(&embed_args),
        "embed",
    );
    println!(
        "every chunk embedded:                      {:>8.2} s  ({})",
        started.elapsed().as_secs_f64(),
        String::from_utf8_lossy(&embedded.stdout).trim()
    );
}
