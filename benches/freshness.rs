//! Freshness latency: a file is saved in a watched repository; how long until a
//! `GetContext` bundle (through the domain service, as the gRPC adapter calls it)
//! holds the new code. Covers the watcher's debounce (`[server]
//! watch_debounce_ms`, default 200 ms), the incremental index run and the switch
//! to the new generation. Also a commit: how long until `min_commit` is served.
//!
//! ```text
//! CODECTX_BENCH_CORPUS=/src/pytest cargo bench --profile dev --bench freshness
//! ```
//!
//! Lexical (embeddings off): with embeddings the changed file's new chunks are
//! embedded too, which adds the model's time for one file. Under `cargo test
//! --all-targets` it runs 2 rounds as a smoke test.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use codectx_core::{Config, ContextRequest, EmbedProvider};
use codectx_service::{ContextService, Engine, RepositorySpec};

fn git(dir: &Path, args: &[&str]) -> String {
    let output = std::process::Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=bench", "-c", "user.email=bench@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .output()
        .expect("git");
    assert!(output.status.success(), "git {args:?}");
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let benchmarking = std::env::args().any(|arg| arg == "--bench");
    let rounds = if benchmarking { 20 } else { 2 };
    let corpus = common::corpus();
    let scratch = tempfile::tempdir().expect("temp dir");
    let root = scratch.path().join("repo");
    common::copy_dir(&corpus, &root);
    std::fs::write(root.join(".gitignore"), ".codectx/\n").unwrap();
    git(&root, &["init", "-q", "-b", "main"]);
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-q", "-m", "base"]);
    let started = Instant::now();
    let stats =
        codectx_index::Indexer::new(&root, None, Default::default()).expect("indexer").run(&|_| {}).expect("index");
    println!(
        "corpus {}: {} files, {} chunks, indexed in {:.1} s; {rounds} rounds",
        corpus.display(),
        stats.files,
        stats.chunks,
        started.elapsed().as_secs_f64()
    );
    let (files, _) = codectx_index::walk::walk(&root, &root.join(".codectx"), &Default::default()).expect("walk");
    let target = files
        .iter()
        .find(|file| file.rel_path.ends_with(".py") || file.rel_path.ends_with(".rs"))
        .expect("a Python or Rust file")
        .abs_path
        .clone();
    let rust = target.extension().is_some_and(|ext| ext == "rs");

    let mut config = Config::default();
    config.embed.provider = EmbedProvider::None;
    let debounce = config.server.watch_debounce_ms;
    let spec = RepositorySpec { name: "bench".into(), root: root.clone(), index_dir: None };
    let engine = Engine::new(vec![spec], config).expect("engine");
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async move {
        engine.start_watching().await;
        // The catch-up run at start.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let original = std::fs::read_to_string(&target).unwrap();
        let mut saves = Vec::new();
        for round in 0..rounds {
            let marker = format!("freshness_bench_marker_{round}");
            let code = if rust {
                format!("\n\npub fn {marker}() -> u32 {{\n    {round}\n}}\n")
            } else {
                format!("\n\ndef {marker}():\n    return {round}\n")
            };
            std::fs::write(&target, format!("{original}{code}")).unwrap();
            let saved = Instant::now();
            loop {
                let bundle = engine.get_context("bench", ContextRequest::new(marker.clone())).await.expect("context");
                if bundle.blocks.iter().any(|block| block.text.contains(&marker)) {
                    break;
                }
                assert!(saved.elapsed() < Duration::from_secs(120), "round {round}: not visible after 120 s");
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            saves.push(saved.elapsed().as_secs_f64() * 1000.0);
            // Let the watcher settle between rounds.
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        saves.sort_by(f64::total_cmp);
        println!(
            "file saved -> in a bundle: p50 {:.0} ms, p90 {:.0} ms, max {:.0} ms (debounce {debounce} ms, {rounds} saves)",
            percentile(&saves, 0.5),
            percentile(&saves, 0.9),
            saves.last().unwrap()
        );

        git(&root, &["commit", "-q", "-am", "bench edit"]);
        let head = git(&root, &["rev-parse", "HEAD"]);
        let committed = Instant::now();
        let mut request = ContextRequest::new("freshness bench");
        request.freshness.min_commit = Some(head.clone());
        request.freshness.wait_timeout_ms = 60_000;
        let bundle = engine.get_context("bench", request).await.expect("min_commit reached");
        assert_eq!(bundle.commit, head);
        println!("commit -> min_commit served: {:.0} ms", committed.elapsed().as_secs_f64() * 1000.0);
    });
}
