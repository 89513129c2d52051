//! Observability: the Prometheus endpoint (`ServeOptions::metrics` in process,
//! `codectx serve --metrics-addr` as a binary) exports per-RPC latency histograms
//! with their status codes, the shed counter and the in-flight gauge, answers 404
//! off `/metrics`; index runs export their duration and embedding cache counters.
//!
//! The metrics recorder is one per process, shared by every server the tests start,
//! so counts are asserted as at least what this test did.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use codectx_core::{Config, EmbedConfig, ModelConfig};
use codectx_proto::v1::{GetContextRequest, IndexRepositoryRequest};
use codectx_service::{Engine, RepositorySpec};
use tonic::Code;

use crate::util::{self, fixture_root, shared_index, TestServer};

const REPO: &str = "fixture";

fn engine(root: PathBuf, index_dir: PathBuf, model: ModelConfig, embed: EmbedConfig) -> Engine {
    let config = Config { index: util::index_config(), model, embed, ..Config::default() };
    let spec = RepositorySpec { name: REPO.into(), root, index_dir: Some(index_dir) };
    Engine::new(vec![spec], config).expect("engine")
}

fn context_request(repository: &str, query: &str) -> GetContextRequest {
    GetContextRequest { repository: repository.into(), query: query.into(), token_budget: 1000, ..Default::default() }
}

/// A loopback listener for the metrics endpoint, and its address.
async fn metrics_listener() -> (tokio::net::TcpListener, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the metrics listener");
    let addr = listener.local_addr().expect("metrics address");
    (listener, addr)
}

/// An HTTP/1.1 answer: status code, lowercased headers, body.
struct HttpAnswer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl HttpAnswer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }
}

/// `METHOD path` on `addr` with a plain TCP stream (`Connection: close`, read to the end).
async fn http(addr: SocketAddr, method: &'static str, path: &'static str) -> HttpAnswer {
    tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).expect("connect to the metrics endpoint");
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(stream, "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).expect("read the answer");
        let raw = String::from_utf8(raw).expect("a UTF-8 answer");
        let (head, body) = raw.split_once("\r\n\r\n").expect("headers end");
        let mut lines = head.lines();
        let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().expect("a status code");
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
            .collect();
        HttpAnswer { status, headers, body: body.to_string() }
    })
    .await
    .expect("HTTP client thread")
}

/// `GET /metrics`, checked: 200 and the Prometheus text format.
async fn scrape(addr: SocketAddr) -> String {
    let answer = http(addr, "GET", "/metrics").await;
    assert_eq!(answer.status, 200, "GET /metrics: {}", answer.body);
    let content_type = answer.header("content-type").unwrap_or_default();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "content type {content_type:?}");
    answer.body
}

/// The sum of the samples of `name` whose labels include every `key="value"` of
/// `labels` (`None` when there is no such sample).
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut found = None;
    for line in text.lines().filter(|line| !line.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else { continue };
        let (series_name, series_labels) = match series.split_once('{') {
            Some((series_name, rest)) => (series_name, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        let matches = series_name == name
            && labels
                .iter()
                .all(|(key, value)| series_labels.split(',').any(|pair| pair == format!("{key}=\"{value}\"")));
        if matches {
            *found.get_or_insert(0.0) += value.parse::<f64>().unwrap_or_else(|_| panic!("a number in {line:?}"));
        }
    }
    found
}

/// [`sample`], which must exist and be at least `min`.
fn assert_at_least(text: &str, name: &str, labels: &[(&str, &str)], min: f64) {
    let value = sample(text, name, labels).unwrap_or_else(|| panic!("no {name} {labels:?} in /metrics:\n{text}"));
    assert!(value >= min, "{name} {labels:?} = {value}, expected at least {min}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rpc_latency_and_status_codes_are_exported_at_metrics() {
    let (listener, metrics_addr) = metrics_listener().await;
    let options = codectx_server::ServeOptions { metrics: Some(listener), ..Default::default() };
    let engine =
        engine(fixture_root(), shared_index().index_dir.clone(), ModelConfig::default(), EmbedConfig::default());
    let server = TestServer::start_with(engine, options).await;
    let mut client = server.client().await;

    let bundle = client.get_context(context_request(REPO, "where is the Go server started?")).await;
    assert!(!bundle.expect("GetContext").into_inner().files.is_empty());
    let unknown = client.get_context(context_request("no-such-repository", "anything")).await;
    assert_eq!(unknown.expect_err("an unknown repository fails").code(), Code::NotFound);

    let text = scrape(metrics_addr).await;
    assert!(text.contains("# TYPE codectx_request_duration_seconds histogram"), "{text}");
    let ok = [("rpc", "GetContext"), ("code", "Ok")];
    let not_found = [("rpc", "GetContext"), ("code", "NotFound")];
    for labels in [ok, not_found] {
        let mut with_le = labels.to_vec();
        with_le.push(("le", "+Inf"));
        assert_at_least(&text, "codectx_request_duration_seconds_bucket", &with_le, 1.0);
        assert_at_least(&text, "codectx_request_duration_seconds_count", &labels, 1.0);
        assert_at_least(&text, "codectx_requests_total", &labels, 1.0);
    }
    // The finite buckets are there too (a histogram, not a summary).
    assert!(
        sample(
            &text,
            "codectx_request_duration_seconds_bucket",
            &[("rpc", "GetContext"), ("code", "Ok"), ("le", "60")]
        )
        .is_some(),
        "{text}"
    );
    assert!(sample(&text, "codectx_requests_in_flight", &[]).is_some(), "the in-flight gauge: {text}");

    // Only /metrics, only GET.
    assert_eq!(http(metrics_addr, "GET", "/").await.status, 404);
    assert_eq!(http(metrics_addr, "GET", "/metrics/x").await.status, 404);
    let post = http(metrics_addr, "POST", "/metrics").await;
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));

    server.stop().await;
    // The endpoint stops with the server.
    let started = std::time::Instant::now();
    while tokio::net::TcpStream::connect(metrics_addr).await.is_ok() {
        assert!(started.elapsed() < Duration::from_secs(10), "the metrics listener closes with the server");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shed_calls_and_calls_in_flight_are_exported() {
    // A Generate call on a model that never answers stays in flight, so with
    // max_in_flight = 1 the next call is shed.
    let model = util::black_hole_model();
    let (listener, metrics_addr) = metrics_listener().await;
    let options = codectx_server::ServeOptions { max_in_flight: 1, metrics: Some(listener), ..Default::default() };
    let engine = engine(fixture_root(), shared_index().index_dir.clone(), model, EmbedConfig::default());
    let server = TestServer::start_with(engine, options).await;
    let mut client = server.client().await;

    let stuck = util::stuck_generate(client.clone(), REPO);
    let waiting = std::time::Instant::now();
    loop {
        assert!(waiting.elapsed() < Duration::from_secs(30), "Generate is admitted within 30 s");
        match client.get_context(context_request(REPO, "redirects")).await {
            Err(status) if status.code() == Code::ResourceExhausted => break,
            Ok(_) => {
                // Generate not admitted yet.
                assert!(!stuck.is_finished(), "the Generate call ended: {:?}", stuck.await);
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            Err(status) => panic!("unexpected {status:?}"),
        }
    }

    let text = scrape(metrics_addr).await;
    assert_at_least(&text, "codectx_requests_shed_total", &[("rpc", "GetContext")], 1.0);
    assert_at_least(&text, "codectx_requests_total", &[("rpc", "GetContext"), ("code", "ResourceExhausted")], 1.0);
    // The stuck Generate is in flight (other tests' calls can only add to the gauge).
    assert_at_least(&text, "codectx_requests_in_flight", &[], 1.0);

    stuck.abort();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_serve_command_exposes_metrics_with_metrics_addr() {
    let dir = util::temp_dir();
    let config = util::fixture_serve_config(dir.path(), REPO);
    let util::ServeProcess { mut child, addr, stderr, .. } =
        util::spawn_serve_with(&config, &["--metrics-addr", "127.0.0.1:0"]);
    let announced = loop {
        let line = stderr.recv_timeout(Duration::from_secs(30)).expect("codectx serve says where metrics are");
        if let Some(rest) = line.strip_prefix("codectx: metrics on http://") {
            break rest.strip_suffix("/metrics").expect("the /metrics URL").to_string();
        }
    };
    let metrics_addr: SocketAddr = announced.parse().expect("a socket address");
    assert!(metrics_addr.ip().is_loopback() && metrics_addr.port() != 0, "{metrics_addr}");

    let mut client = codectx_proto::v1::code_context_client::CodeContextClient::connect(format!("http://{addr}"))
        .await
        .expect("connect");
    client.get_context(context_request(REPO, "where is the Go server started?")).await.expect("GetContext");
    let unknown = client.get_context(context_request("no-such-repository", "anything")).await;
    assert_eq!(unknown.expect_err("an unknown repository fails").code(), Code::NotFound);

    let text = scrape(metrics_addr).await;
    // A process of its own: the counts are exactly this test's calls.
    assert_eq!(sample(&text, "codectx_requests_total", &[("rpc", "GetContext"), ("code", "Ok")]), Some(1.0), "{text}");
    assert_eq!(
        sample(&text, "codectx_request_duration_seconds_count", &[("rpc", "GetContext"), ("code", "NotFound")]),
        Some(1.0),
        "{text}"
    );
    assert!(text.contains("# HELP codectx_request_duration_seconds"), "{text}");
    assert_eq!(http(metrics_addr, "GET", "/").await.status, 404);

    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_run_metrics_are_exported() {
    let repo = util::fixture_copy();
    let index_dir = util::temp_dir();
    // The tiny test model (onnxruntime from `scripts/setup.sh`), so that runs embed.
    let embed = EmbedConfig {
        model: Some(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tiny-embed-model").display().to_string(),
        ),
        max_tokens: 64,
        batch_size: 2,
        threads: 1,
        ..EmbedConfig::default()
    };
    let (listener, metrics_addr) = metrics_listener().await;
    let options = codectx_server::ServeOptions { metrics: Some(listener), ..Default::default() };
    let engine = engine(repo.path().to_path_buf(), index_dir.path().to_path_buf(), ModelConfig::default(), embed);
    let server = TestServer::start_with(engine, options).await;
    let client = server.client().await;
    let index = || {
        let mut client = client.clone();
        async move {
            let mut events = client
                .index_repository(IndexRepositoryRequest { repository: REPO.into() })
                .await
                .expect("IndexRepository")
                .into_inner();
            while events.message().await.expect("index event").is_some() {}
        }
    };

    // First run: every chunk is embedded (cache misses).
    index().await;
    let first = scrape(metrics_addr).await;
    let repository = [("repository", REPO)];
    assert_at_least(&first, "codectx_index_duration_seconds_count", &[("repository", REPO), ("outcome", "ok")], 1.0);
    assert_at_least(&first, "codectx_index_files_parsed_total", &repository, 1.0);
    assert_at_least(&first, "codectx_embedding_cache_misses_total", &repository, 1.0);
    assert!(sample(&first, "codectx_embedding_cache_hits_total", &repository).is_some(), "{first}");

    // A file gains a function: its other chunks come from the embedding cache.
    let path = repo.path().join("pyapp/sessions.py");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("\n\ndef added_for_metrics():\n    return 42\n");
    std::fs::write(&path, text).unwrap();
    index().await;
    let second = scrape(metrics_addr).await;
    assert_at_least(&second, "codectx_index_duration_seconds_count", &[("repository", REPO), ("outcome", "ok")], 2.0);
    assert_at_least(&second, "codectx_index_files_reused_total", &repository, 1.0);
    assert_at_least(&second, "codectx_embedding_cache_hits_total", &repository, 1.0);
    assert!(sample(&second, "codectx_embedding_cache_hit_ratio", &repository).is_some(), "{second}");
    assert!(sample(&second, "codectx_index_queue_depth", &[]).is_some(), "{second}");

    server.stop().await;
}
