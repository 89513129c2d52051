//! Load test over loopback gRPC: concurrent clients call `GetContext` across
//! several repositories while one of them is re-indexed again and again (a file
//! edited, then `RefreshRepository`). Reports, per concurrency level, the p50 /
//! p99 / max latency, throughput, errors by status code, the index runs done
//! meanwhile, and the server's RSS over time (this process: the server runs
//! in-process, the clients are cheap next to it).
//!
//! ```text
//! cargo bench --profile dev --bench load
//! CODECTX_BENCH_CORPUS=/src/sympy CODECTX_LOAD_CLIENTS=1,8,32,128 CODECTX_LOAD_SECS=30 \
//!     CODECTX_LOAD_REPOS=3 cargo bench --profile dev --bench load
//! ```
//!
//! `CODECTX_LOAD_CHURN=0` leaves every repository still (no re-indexing), to
//! compare. Lexical retrieval (embeddings off) so that the figures measure the server,
//! not the embedding model. `max_in_flight` is the server default (64), or
//! `CODECTX_LOAD_MAX_IN_FLIGHT`: levels above it can show load shedding
//! (`ResourceExhausted`); any other error code fails the run.
//! Under `cargo test --all-targets` it runs a 2-second smoke pass with 2 clients.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use codectx_core::{Config, EmbedProvider};
use codectx_proto::v1::{self as pb, code_context_client::CodeContextClient};
use codectx_service::{Engine, RepositorySpec};

const QUERIES: &[&str] = &[
    "where are files skipped because they are too large or binary?",
    "the resolve function returns the wrong value when the config is missing",
    "how is the token budget enforced when packing chunks?",
    "Traceback (most recent call last):\n  File \"src/main.rs\", line 10, in main\nValueError: invalid literal",
    "parse the configuration file and report a clear error",
    "which function walks the repository and honours gitignore",
];

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

/// The first indexed source file of a repository (to edit between runs).
fn a_source_file(root: &Path) -> std::path::PathBuf {
    let scratch = std::env::temp_dir().join("codectx-load-walk");
    let (files, _) = codectx_index::walk::walk(root, &scratch, &Default::default()).expect("walk");
    files
        .iter()
        .find(|file| [".rs", ".py", ".go", ".ts", ".js", ".java"].iter().any(|ext| file.rel_path.ends_with(ext)))
        .expect("a source file in the corpus")
        .abs_path
        .clone()
}

struct Level {
    clients: usize,
    requests: u64,
    seconds: f64,
    latencies_ms: Vec<f64>,
    errors: BTreeMap<String, u64>,
    index_runs: u64,
    rss: Vec<f64>,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn level(addr: std::net::SocketAddr, repos: &[String], churn: &Path, clients: usize, secs: u64) -> Level {
    let stop = Arc::new(AtomicBool::new(false));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(Mutex::new(BTreeMap::<String, u64>::new()));
    let index_runs = Arc::new(AtomicU64::new(0));
    let rss = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();

    let sampler = {
        let (stop, rss) = (stop.clone(), rss.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                rss.lock().unwrap().push(rss_mib());
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    };
    // One repository re-indexes continuously: edit, refresh, repeat
    // (`CODECTX_LOAD_CHURN=0` turns it off, to see the queries alone).
    let churn_on = std::env::var("CODECTX_LOAD_CHURN").map_or(true, |value| value != "0");
    let churner = {
        let (stop, index_runs, churn, repo) = (stop.clone(), index_runs.clone(), churn.to_path_buf(), repos[0].clone());
        tokio::spawn(async move {
            let mut client = CodeContextClient::connect(format!("http://{addr}")).await.expect("connect");
            let original = std::fs::read(&churn).unwrap();
            let mut round = 0u64;
            while churn_on && !stop.load(Ordering::Relaxed) {
                round += 1;
                let mut text = original.clone();
                text.extend_from_slice(format!("\n// load-test edit {round}\n").as_bytes());
                std::fs::write(&churn, text).unwrap();
                let request = pb::RefreshRepositoryRequest { repository: repo.clone() };
                if let Ok(response) = client.refresh_repository(request).await {
                    let mut stream = response.into_inner();
                    while let Ok(Some(_)) = stream.message().await {}
                    index_runs.fetch_add(1, Ordering::Relaxed);
                }
            }
            std::fs::write(&churn, original).unwrap();
        })
    };
    let mut tasks = Vec::new();
    for client_index in 0..clients {
        let (stop, latencies, errors, repos) = (stop.clone(), latencies.clone(), errors.clone(), repos.to_vec());
        tasks.push(tokio::spawn(async move {
            let mut client = CodeContextClient::connect(format!("http://{addr}")).await.expect("connect");
            let mut mine = Vec::new();
            let mut round = client_index;
            while !stop.load(Ordering::Relaxed) {
                round += 1;
                let request = pb::GetContextRequest {
                    repository: repos[round % repos.len()].clone(),
                    query: QUERIES[round % QUERIES.len()].into(),
                    token_budget: 8000,
                    ..Default::default()
                };
                let sent = Instant::now();
                match client.get_context(request).await {
                    Ok(_) => mine.push(sent.elapsed().as_secs_f64() * 1000.0),
                    Err(status) => {
                        *errors.lock().unwrap().entry(format!("{:?}", status.code())).or_default() += 1;
                        // A shed call is retried after a pause, as the message asks.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
            latencies.lock().unwrap().extend(mine);
        }));
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    let seconds = started.elapsed().as_secs_f64();
    churner.await.unwrap();
    sampler.await.unwrap();
    let mut latencies_ms = std::mem::take(&mut *latencies.lock().unwrap());
    latencies_ms.sort_by(f64::total_cmp);
    let errors = std::mem::take(&mut *errors.lock().unwrap());
    let requests = latencies_ms.len() as u64 + errors.values().sum::<u64>();
    let rss = std::mem::take(&mut *rss.lock().unwrap());
    Level { clients, requests, seconds, latencies_ms, errors, index_runs: index_runs.load(Ordering::Relaxed), rss }
}

fn main() {
    let benchmarking = std::env::args().any(|arg| arg == "--bench");
    let levels: Vec<usize> = match std::env::var("CODECTX_LOAD_CLIENTS") {
        Ok(value) => value.split(',').filter_map(|part| part.trim().parse().ok()).collect(),
        Err(_) if benchmarking => vec![1, 4, 16, 64, 128],
        Err(_) => vec![2],
    };
    let secs: u64 = std::env::var("CODECTX_LOAD_SECS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(if benchmarking { 20 } else { 2 });
    let repo_count: usize =
        std::env::var("CODECTX_LOAD_REPOS").ok().and_then(|value| value.parse().ok()).unwrap_or(3).max(1);
    let max_in_flight: usize =
        std::env::var("CODECTX_LOAD_MAX_IN_FLIGHT").ok().and_then(|value| value.parse().ok()).unwrap_or(64);

    let corpus = common::corpus();
    let scratch = tempfile::tempdir().expect("temp dir");
    // Repository 0 is a copy (its files are edited); the others index the corpus in place.
    let churn_root = scratch.path().join("churn");
    common::copy_dir(&corpus, &churn_root);
    let mut specs = Vec::new();
    let mut names = Vec::new();
    let index_started = Instant::now();
    for index in 0..repo_count {
        let name = format!("repo{index}");
        let root = if index == 0 { churn_root.clone() } else { corpus.clone() };
        let index_dir = scratch.path().join(format!("index-{index}"));
        codectx_index::Indexer::new(&root, Some(&index_dir), Default::default())
            .expect("indexer")
            .run(&|_| {})
            .expect("index");
        specs.push(RepositorySpec { name: name.clone(), root, index_dir: Some(index_dir) });
        names.push(name);
    }
    let mut config = Config::default();
    config.embed.provider = EmbedProvider::None;
    let engine = Arc::new(Engine::new(specs, config).expect("engine"));
    codectx_core::tokens::warm_up();
    let churn = a_source_file(&churn_root);
    println!(
        "corpus {} ({} repositories, indexed in {:.1} s); re-indexing {} continuously; {secs} s per level; \
         max_in_flight {max_in_flight}",
        corpus.display(),
        repo_count,
        index_started.elapsed().as_secs_f64(),
        churn.strip_prefix(&churn_root).unwrap().display()
    );

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().unwrap();
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(codectx_server::serve_with(
            engine,
            listener,
            async move {
                let _ = stopped.await;
            },
            codectx_server::ServeOptions { max_in_flight, ..Default::default() },
        ));
        println!(
            "| clients | requests | throughput req/s | p50 ms | p99 ms | max ms | errors | index runs | RSS MiB min/max |"
        );
        println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        for clients in levels {
            let level = level(addr, &names, &churn, clients, secs).await;
            let errors = if level.errors.is_empty() {
                "0".to_string()
            } else {
                level.errors.iter().map(|(code, count)| format!("{code} {count}")).collect::<Vec<_>>().join(", ")
            };
            let (rss_min, rss_max) =
                level.rss.iter().fold((f64::MAX, 0.0f64), |(low, high), &value| (low.min(value), high.max(value)));
            println!(
                "| {} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} | {:.0}/{:.0} |",
                level.clients,
                level.requests,
                level.latencies_ms.len() as f64 / level.seconds,
                percentile(&level.latencies_ms, 0.5),
                percentile(&level.latencies_ms, 0.99),
                level.latencies_ms.last().copied().unwrap_or(0.0),
                errors,
                level.index_runs,
                rss_min,
                rss_max,
            );
            let samples: Vec<String> = level.rss.iter().map(|value| format!("{value:.0}")).collect();
            println!("  RSS MiB per second: {}", samples.join(" "));
            assert!(!level.latencies_ms.is_empty(), "some requests succeeded at {clients} clients");
            assert!(
                level.errors.keys().all(|code| code == "ResourceExhausted"),
                "only load shedding may fail a call: {:?}",
                level.errors
            );
        }
        let _ = shutdown.send(());
        server.await.expect("server task").expect("server ran");
    });
}
