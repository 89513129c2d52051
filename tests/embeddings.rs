//! Embeddings end to end: the embedder trait on the tiny test model (any machine
//! with onnxruntime installed by `scripts/setup.sh`) and on the real
//! all-MiniLM-L6-v2 (when `../shared/models` exists), the LanceDB round trip, the
//! embedding cache across edits and commits, the remote embedder against a
//! loopback `/v1/embeddings` stub, and a query lexical search misses and hybrid
//! search finds.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use codectx_core::{EmbedConfig, EmbedProvider, EmbedStats, ModelVariant, SearchRequest};
use codectx_embed::{cosine, embed_batched, Embedder, FastembedEmbedder, RemoteEmbedder};
use codectx_index::{IndexSnapshot, Indexer, VectorSearch};
use codectx_retrieve::{ChunkRef, RetrieveOptions};

use crate::util::{self, codectx, run};

fn tiny_model_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tiny-embed-model")
}

fn tiny_config(max_tokens: usize) -> EmbedConfig {
    EmbedConfig {
        model: Some(tiny_model_dir().display().to_string()),
        max_tokens,
        batch_size: 2,
        threads: 1,
        ..EmbedConfig::default()
    }
}

fn tiny_embedder(max_tokens: usize) -> Arc<dyn Embedder> {
    Arc::new(FastembedEmbedder::load(&tiny_config(max_tokens)).unwrap_or_else(|error| {
        panic!("load the tiny test model (onnxruntime comes from `scripts/setup.sh --deps-only`): {error}")
    }))
}

/// The shared all-MiniLM-L6-v2 folder, when this checkout sits beside `shared/`.
fn shared_model_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/models/all-MiniLM-L6-v2");
    if dir.join("tokenizer.json").is_file() {
        Some(dir)
    } else {
        eprintln!("skipped: no {} (the real-model checks need it)", dir.display());
        None
    }
}

fn shared_embedder(dir: &Path, variant: ModelVariant) -> Arc<dyn Embedder> {
    let config = EmbedConfig { model: Some(dir.display().to_string()), variant, ..EmbedConfig::default() };
    Arc::new(FastembedEmbedder::load(&config).expect("load all-MiniLM-L6-v2"))
}

#[test]
fn the_tiny_model_loads_batches_and_keeps_near_duplicates_close() {
    let embedder = tiny_embedder(64);
    assert_eq!(embedder.dimension(), 16);
    assert!(embedder.model_id().starts_with("tiny-embed-model/model.onnx#"), "{}", embedder.model_id());
    let texts = [
        "Retry the upload when the HTTP request fails",
        "retry upload request after timeout",
        "sort the database table index",
    ];
    let alone: Vec<Vec<f32>> = texts.iter().map(|text| embedder.embed(&[text]).unwrap().remove(0)).collect();
    // Batched by length (batch size 2), in input order, the same vectors as one by one.
    let mut progress = Vec::new();
    let batched = embed_batched(embedder.as_ref(), &texts, &mut |step| progress.push(step.done)).unwrap();
    assert_eq!(progress, vec![2, 3]);
    for (one, many) in alone.iter().zip(&batched) {
        let norm: f32 = one.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "vectors are L2-normalised: {norm}");
        assert!(one.iter().zip(many).all(|(a, b)| (a - b).abs() < 1e-4), "padding changes nothing");
    }
    assert!(
        cosine(&alone[0], &alone[1]) > cosine(&alone[0], &alone[2]) + 0.3,
        "texts that share words land closer: {} vs {}",
        cosine(&alone[0], &alone[1]),
        cosine(&alone[0], &alone[2])
    );
}

#[test]
fn the_real_model_puts_paraphrases_closer_than_unrelated_text() {
    let Some(dir) = shared_model_dir() else { return };
    for variant in [ModelVariant::Fp32, ModelVariant::Int8] {
        let embedder = shared_embedder(&dir, variant);
        assert_eq!(embedder.dimension(), 384);
        let vectors = embedder
            .embed(&[
                "retry the upload when the request fails",
                "send the file again after a transient error",
                "parse the command line arguments",
            ])
            .unwrap();
        let paraphrase = cosine(&vectors[0], &vectors[1]);
        let unrelated = cosine(&vectors[0], &vectors[2]);
        assert!(paraphrase > unrelated + 0.1, "{variant:?}: paraphrase {paraphrase} vs unrelated {unrelated}");
    }
}

const TRANSFER: &str = r#""""Moving blobs to the bucket."""


def push_blob(client, blob, attempts=3):
    """Send a blob to the bucket; on a transient failure wait, then send it again."""
    for n in range(attempts):
        try:
            return client.put(blob)
        except TransientError:
            time.sleep(2 ** n)
    raise GaveUp(blob)


def list_blobs(client, prefix):
    """Names in the bucket under a prefix."""
    return [entry.name for entry in client.list(prefix)]
"#;

const LOGIN: &str = r#""""Sign-in."""


def sign_in(user, password):
    """Check a password; lock the account after too many failed attempts."""
    if user.failed_attempts > 5:
        raise Locked(user)
    return user.check(password)
"#;

const REPORT: &str = r#""""Monthly report."""


def render_report(rows):
    """Format rows as a table."""
    return "\n".join(" | ".join(str(cell) for cell in row) for row in rows)
"#;

fn write_repo(root: &Path) {
    for (path, text) in [("storage/transfer.py", TRANSFER), ("auth/login.py", LOGIN), ("reports/monthly.py", REPORT)] {
        let file = root.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }
}

fn index(root: &Path, index_dir: &Path, embedder: &Arc<dyn Embedder>, config: &EmbedConfig) -> EmbedStats {
    let indexer = Indexer::new(root, Some(index_dir), util::index_config())
        .expect("indexer")
        .with_embedder(embedder.clone(), config.clone());
    let stats = indexer.run(&|_| {}).expect("index");
    let embeddings = stats.embeddings.expect("the embedding phase ran");
    assert_eq!(embeddings.error, None);
    embeddings
}

fn chunks_of(index_dir: &Path, path: &str) -> u64 {
    let snapshot = IndexSnapshot::open(index_dir).unwrap();
    snapshot.file(path).map_or(0, |(_, entry)| entry.parsed.chunks.len() as u64)
}

fn lance_versions(index_dir: &Path) -> usize {
    std::fs::read_dir(index_dir.join("vectors/chunks.lance/_versions")).map_or(0, |entries| entries.count())
}

#[test]
fn the_cache_embeds_each_chunk_once_across_edits_commits_and_models() {
    let repo = util::temp_dir();
    let index_dir = util::temp_dir();
    write_repo(repo.path());
    let embedder = tiny_embedder(64);
    let config = tiny_config(64);

    let first = index(repo.path(), index_dir.path(), &embedder, &config);
    let total = ["storage/transfer.py", "auth/login.py", "reports/monthly.py"]
        .iter()
        .map(|path| chunks_of(index_dir.path(), path))
        .sum::<u64>();
    assert!(total >= 3, "{total} chunks");
    assert_eq!((first.embedded, first.cache_hits, first.vectors), (total, 0, total), "{first:?}");

    // Nothing changed: nothing embedded, nothing rewritten.
    let again = index(repo.path(), index_dir.path(), &embedder, &config);
    assert_eq!((again.embedded, again.chunks_updated, again.vectors), (0, 0, total), "{again:?}");

    // One function edited: exactly its chunk is embedded; the file's other chunks
    // come from the cache.
    let edited = TRANSFER.replace("time.sleep(2 ** n)", "time.sleep(3 ** n)");
    std::fs::write(repo.path().join("storage/transfer.py"), &edited).unwrap();
    let edit = index(repo.path(), index_dir.path(), &embedder, &config);
    let file_chunks = chunks_of(index_dir.path(), "storage/transfer.py");
    assert_eq!(edit.embedded, 1, "{edit:?}");
    assert_eq!(edit.chunks_updated, file_chunks);
    assert_eq!(edit.cache_hits, file_chunks - 1);
    assert_eq!(edit.vectors, total);

    // Back to the first "commit": every vector is a cache hit.
    std::fs::write(repo.path().join("storage/transfer.py"), TRANSFER).unwrap();
    let back = index(repo.path(), index_dir.path(), &embedder, &config);
    assert_eq!((back.embedded, back.cache_hits), (0, file_chunks), "{back:?}");

    // A deleted file leaves the table.
    std::fs::remove_file(repo.path().join("reports/monthly.py")).unwrap();
    let removed = index(repo.path(), index_dir.path(), &embedder, &config);
    let report_chunks = total - file_chunks - chunks_of(index_dir.path(), "auth/login.py");
    assert_eq!(removed.vectors, total - report_chunks, "{removed:?}");
    // Versions are pruned after every run: no pile of `_versions` manifests.
    assert!(lance_versions(index_dir.path()) <= 2, "{} versions", lance_versions(index_dir.path()));

    // Another model: a clean re-embed, not a schema error.
    let other = tiny_embedder(32);
    assert_ne!(other.model_id(), embedder.model_id());
    let switched = index(repo.path(), index_dir.path(), &other, &tiny_config(32));
    assert_eq!(switched.embedded, total - report_chunks, "{switched:?}");
    assert_eq!(switched.model_id, other.model_id());

    // Vector search answers in terms of the snapshot's chunks.
    let snapshot = IndexSnapshot::open(index_dir.path()).unwrap();
    let vectors = VectorSearch::open(index_dir.path()).unwrap().expect("a vector table");
    let hits = vectors.query(&snapshot, other.as_ref(), "bucket blob transient", 5).unwrap();
    assert!(!hits.is_empty());
    for ((file, ordinal), similarity) in &hits {
        assert!(snapshot.chunk(*file, *ordinal).is_some());
        assert!((-1.0..=1.0001).contains(similarity));
    }
    // Querying with the old model is refused with a clear message.
    let error = vectors.query(&snapshot, embedder.as_ref(), "bucket", 5).unwrap_err().to_string();
    assert!(error.contains("re-run `codectx index`"), "{error}");
}

#[test]
fn hybrid_search_finds_what_lexical_search_misses() {
    let Some(dir) = shared_model_dir() else { return };
    let repo = util::temp_dir();
    let index_dir = util::temp_dir();
    write_repo(repo.path());
    let embedder = shared_embedder(&dir, ModelVariant::Int8);
    let config = EmbedConfig { model: Some(dir.display().to_string()), ..EmbedConfig::default() };
    index(repo.path(), index_dir.path(), &embedder, &config);
    let snapshot = IndexSnapshot::open(index_dir.path()).unwrap();
    let query = "where do we retry failed uploads?";
    let request = SearchRequest { query: query.into(), limit: 10, filter: Default::default(), mode: None };

    let lexical = codectx_retrieve::search(&snapshot, &request, &RetrieveOptions::default()).unwrap();
    assert!(
        lexical.iter().all(|hit| hit.path != "storage/transfer.py"),
        "lexical search has no word of the query in transfer.py: {:?}",
        lexical.iter().map(|hit| &hit.path).collect::<Vec<_>>()
    );

    let vectors = snapshot.vectors().expect("vectors");
    let hits: Vec<(ChunkRef, f32)> = vectors
        .query(&snapshot, embedder.as_ref(), query, 50)
        .unwrap()
        .into_iter()
        .map(|((file, ordinal), similarity)| (ChunkRef { file, ordinal }, similarity))
        .collect();
    let hybrid =
        codectx_retrieve::search_hybrid(&snapshot, &request, &hits, &RetrieveOptions::preset("hybrid").unwrap())
            .unwrap();
    let position = hybrid.iter().position(|hit| hit.path == "storage/transfer.py");
    assert!(matches!(position, Some(0..=2)), "hybrid ranks transfer.py in the top 3: {position:?}");
    let found = &hybrid[position.unwrap()];
    assert!(
        found.signals.iter().any(|signal| signal.signal == codectx_core::Signal::Vector),
        "the hit says the vector signal found it: {:?}",
        found.signals
    );
    let semantic =
        codectx_retrieve::search_hybrid(&snapshot, &request, &hits, &RetrieveOptions::preset("semantic").unwrap())
            .unwrap();
    assert_eq!(semantic[0].path, "storage/transfer.py", "semantic search ranks it first");
}

/// A loopback `/v1/embeddings` that answers the first request with 429 and then
/// with deterministic vectors; it counts requests.
struct EmbeddingsStub {
    url: String,
    requests: Arc<AtomicUsize>,
}

fn start_embeddings_stub(failures: usize) -> EmbeddingsStub {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let seen = counter.fetch_add(1, Ordering::SeqCst);
            let response = if seen < failures {
                let text = r#"{"error":"rate limited"}"#;
                format!(
                    "HTTP/1.1 429 Too Many Requests\r\nretry-after: 0\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                    text.len()
                )
            } else {
                let request: serde_json::Value = serde_json::from_slice(&body).unwrap();
                let inputs = request["input"].as_array().unwrap();
                // Answer out of order: the embedder must sort by `index`.
                let data: Vec<serde_json::Value> = inputs
                    .iter()
                    .enumerate()
                    .rev()
                    .map(|(index, text)| {
                        let length = text.as_str().unwrap().len() as f32;
                        serde_json::json!({"object": "embedding", "index": index, "embedding": [length, 1.0, 0.0]})
                    })
                    .collect();
                let text = serde_json::json!({"object": "list", "data": data, "model": request["model"]}).to_string();
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                    text.len()
                )
            };
            let _ = stream.write_all(response.as_bytes());
        }
    });
    EmbeddingsStub { url, requests }
}

#[test]
fn the_remote_embedder_retries_a_429_and_batches() {
    let stub = start_embeddings_stub(1);
    let config = EmbedConfig {
        provider: EmbedProvider::Remote,
        model: Some("test-embedder".into()),
        url: Some(stub.url.clone()),
        batch_size: 2,
        ..EmbedConfig::default()
    };
    let embedder = RemoteEmbedder::new(&config).expect("the 429 is retried");
    assert_eq!(stub.requests.load(Ordering::SeqCst), 2, "one 429, then the probe succeeded");
    assert_eq!(embedder.dimension(), 3);
    assert!(embedder.model_id().contains("test-embedder"));
    let texts = ["a", "bbbb", "cc"];
    let vectors = embed_batched(&embedder, &texts, &mut |_| {}).unwrap();
    assert_eq!(stub.requests.load(Ordering::SeqCst), 4, "3 texts in batches of 2");
    for (text, vector) in texts.iter().zip(&vectors) {
        let expected = text.len() as f32 / ((text.len() * text.len()) as f32 + 1.0).sqrt();
        assert!((vector[0] - expected).abs() < 1e-5, "{text}: {vector:?} (normalised, in input order)");
    }
}

#[test]
fn a_remote_embedder_that_is_down_is_a_clear_error() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = EmbedConfig {
        provider: EmbedProvider::Remote,
        model: Some("m".into()),
        url: Some(format!("http://127.0.0.1:{port}/v1")),
        timeout_secs: 2,
        ..EmbedConfig::default()
    };
    let message = RemoteEmbedder::new(&config).unwrap_err().to_string();
    assert!(message.contains(&format!("127.0.0.1:{port}/v1/embeddings")), "{message}");
    assert!(message.contains("attempts"), "{message}");
}

#[test]
fn index_without_onnxruntime_builds_the_lexical_index_and_names_the_fix() {
    let index_dir = util::temp_dir();
    let done = run(codectx()
        .arg("index")
        .arg(util::fixture_root())
        .arg("--index-dir")
        .arg(index_dir.path())
        .args(["--embedder", "fastembed", "--embed-model"])
        .arg(tiny_model_dir())
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so"))
    .success();
    assert!(done.stdout.contains("indexed "), "{}", done.stdout);
    let warning: Vec<&str> = done.stderr.lines().filter(|line| line.starts_with("codectx: warning:")).collect();
    assert_eq!(warning.len(), 1, "{}", done.stderr);
    assert!(warning[0].contains("/nonexistent/libonnxruntime.so"), "{}", warning[0]);
    assert!(warning[0].contains("scripts/setup.sh"), "{}", warning[0]);
    // The lexical index answers.
    let search = run(codectx()
        .args(["search", "resolve_redirects", "--json", "-C"])
        .arg(util::fixture_root())
        .arg("--index-dir")
        .arg(index_dir.path()))
    .success();
    assert!(search.stdout.contains("pyapp/sessions.py"), "{}", search.stdout);
    // Asking for vectors on that index is a one-line user error.
    run(codectx()
        .args(["search", "resolve_redirects", "--mode", "hybrid", "-C"])
        .arg(util::fixture_root())
        .arg("--index-dir")
        .arg(index_dir.path()))
    .assert_user_error(&["no embeddings"]);
}

#[test]
fn cli_index_embeds_and_search_reports_the_vector_signal() {
    let repo = util::temp_dir();
    let index_dir = util::temp_dir();
    write_repo(repo.path());
    let done = run(codectx()
        .arg("index")
        .arg(repo.path())
        .arg("--index-dir")
        .arg(index_dir.path())
        .args(["--embedder", "fastembed", "--embed-model"])
        .arg(tiny_model_dir())
        .args(["--wait", "--json"]))
    .success();
    let stats: serde_json::Value = serde_json::from_str(&done.stdout).unwrap();
    assert!(stats["embeddings"]["vectors"].as_u64().unwrap() >= 3, "{}", done.stdout);
    assert_eq!(stats["embeddings"]["error"], serde_json::Value::Null);
    // The query embedder comes from the same flags through the config's [embed].
    let config = repo.path().join(".codectx.toml");
    std::fs::write(&config, format!("[embed]\nmodel = {:?}\nbatch_size = 2\n", tiny_model_dir().display().to_string()))
        .unwrap();
    let search = run(codectx()
        .args(["search", "bucket blob transient failure", "--mode", "semantic", "--json", "-C"])
        .arg(repo.path())
        .arg("--index-dir")
        .arg(index_dir.path())
        .env("CODECTX_EMBEDDER", "fastembed"))
    .success();
    let hits = search.json();
    let first = &hits.as_array().expect("hits")[0];
    assert!(
        first["signals"].as_array().unwrap().iter().any(|signal| signal["signal"] == "vector"),
        "{}",
        search.stdout
    );
}

#[test]
fn index_answers_before_the_embeddings_and_embed_waits_for_them() {
    let repo = util::temp_dir();
    let index_dir = util::temp_dir();
    write_repo(repo.path());
    std::fs::write(
        repo.path().join(".codectx.toml"),
        format!("[embed]\nmodel = {:?}\nbatch_size = 2\n", tiny_model_dir().display().to_string()),
    )
    .unwrap();
    let with_embedder = |command: &mut std::process::Command| {
        command
            .arg("-C")
            .arg(repo.path())
            .arg("--index-dir")
            .arg(index_dir.path())
            .env("CODECTX_EMBEDDER", "fastembed");
    };
    let done = run(codectx()
        .arg("index")
        .arg(repo.path())
        .arg("--index-dir")
        .arg(index_dir.path())
        .env("CODECTX_EMBEDDER", "fastembed"))
    .success();
    // The lexical index is published and answers before any vector exists.
    assert!(done.stdout.contains("embeddings: computing in the background (pid "), "{}", done.stdout);
    let mut search = codectx();
    search.args(["search", "transfer_blob", "--mode", "lexical", "--json"]);
    with_embedder(&mut search);
    let hits = run(&mut search).success().json();
    assert_eq!(hits[0]["path"], "storage/transfer.py", "{hits:#}");

    // `codectx embed` waits for the background run (or does the work itself).
    let mut embed = codectx();
    embed.arg("embed");
    with_embedder(&mut embed);
    let embedded = run(&mut embed).success();
    assert!(embedded.stdout.starts_with("embeddings ("), "{}", embedded.stdout);
    let progress = codectx_index::vectors::read_progress(index_dir.path()).expect("a progress record");
    assert!(progress.complete && progress.embedded == progress.chunks && progress.chunks >= 3, "{progress:?}");

    // Complete now: no note, and the vector signal answers.
    let mut ask = codectx();
    ask.args(["ask", "bucket blob transient failure", "--json"]);
    with_embedder(&mut ask);
    let asked = run(&mut ask).success();
    assert!(asked.json().get("vector_coverage").is_none(), "{}", asked.stdout);
    assert!(!asked.stderr.contains("vector signal covers"), "{}", asked.stderr);
    let mut semantic = codectx();
    semantic.args(["search", "bucket blob transient failure", "--mode", "semantic", "--json"]);
    with_embedder(&mut semantic);
    let hits = run(&mut semantic).success().json();
    assert!(hits[0]["signals"].as_array().unwrap().iter().any(|signal| signal["signal"] == "vector"), "{hits:#}");
    assert!(std::fs::read_to_string(index_dir.path().join("embed.log")).is_ok(), "the background run's log");
}

/// A deterministic embedder (a vector from the text's bytes) that fails once it
/// has embedded `budget` texts, as a killed or failing model would.
#[derive(Debug)]
struct Budgeted {
    budget: std::sync::atomic::AtomicUsize,
}

impl Embedder for Budgeted {
    fn model_id(&self) -> &str {
        "budgeted"
    }
    fn dimension(&self) -> usize {
        4
    }
    fn batch_size(&self) -> usize {
        32
    }
    fn embed(&self, texts: &[&str]) -> codectx_core::Result<Vec<Vec<f32>>> {
        let left = self.budget.load(std::sync::atomic::Ordering::SeqCst);
        if texts.len() > left {
            return Err(codectx_core::Error::Embedding("the model went away".into()));
        }
        self.budget.store(left - texts.len(), std::sync::atomic::Ordering::SeqCst);
        Ok(texts
            .iter()
            .map(|text| {
                let sum: u32 = text.bytes().map(u32::from).sum();
                let vector = [1.0, (sum % 7) as f32, (sum % 11) as f32, (text.len() % 13) as f32];
                let norm = vector.iter().map(|value| value * value).sum::<f32>().sqrt();
                vector.iter().map(|value| value / norm).collect()
            })
            .collect())
    }
}

#[test]
fn embeddings_become_visible_batch_by_batch_central_files_first_and_resume() {
    let repo = util::temp_dir();
    let index_dir = util::temp_dir();
    // `core.py` is what every other module imports: the most central file.
    std::fs::write(repo.path().join("core.py"), "def shared_helper(value):\n    return value * 2\n").unwrap();
    for module in 0..60 {
        let mut text = String::from("from core import shared_helper\n\n");
        for function in 0..4 {
            text.push_str(&format!(
                "def handler_{module}_{function}(request):\n    total = shared_helper(request)\n    return total + {function}\n\n"
            ));
        }
        std::fs::write(repo.path().join(format!("module_{module:02}.py")), text).unwrap();
    }
    let indexer = |budget: usize| {
        Indexer::new(repo.path(), Some(index_dir.path()), util::index_config()).expect("indexer").with_embedder(
            Arc::new(Budgeted { budget: std::sync::atomic::AtomicUsize::new(budget) }),
            EmbedConfig::default(),
        )
    };
    // The model fails after the first group of texts: the run still publishes
    // the lexical generation, and what was embedded is in the table.
    let stats = indexer(150).run(&|_| {}).expect("the lexical index is built");
    let embeddings = stats.embeddings.expect("the embedding phase ran");
    assert!(embeddings.error.as_deref().is_some_and(|error| error.contains("went away")), "{embeddings:?}");
    let snapshot = IndexSnapshot::open(index_dir.path()).unwrap();
    let coverage = snapshot.vector_coverage().expect("coverage is known");
    assert!(coverage.is_partial() && coverage.embedded >= 100, "{coverage:?}");
    let vectors = snapshot.vectors().expect("the first batch is in the table");
    let store = vectors.store();
    let state = store.state("budgeted", 4).unwrap();
    let codectx_vector::TableState::Files(files) = state else { panic!("a table of the same model: {state:?}") };
    assert!(files.contains_key("core.py"), "the central file is embedded first: {:?}", files.keys());
    assert!(files.len() < 61, "{}", files.len());

    // The next run finishes from there: only the files without rows are embedded.
    let finished = indexer(usize::MAX).embed_current(&|_| {}).expect("embeddings complete");
    assert_eq!(finished.chunks_updated, coverage.total - coverage.embedded, "{finished:?}");
    let coverage = IndexSnapshot::open(index_dir.path()).unwrap().vector_coverage().unwrap();
    assert_eq!(coverage.embedded, coverage.total, "{coverage:?}");
    assert!(!coverage.is_partial());
    // The long-lived snapshot sees the rows appended since it opened the table.
    let reopened = snapshot.vectors().expect("the table");
    let codectx_vector::TableState::Files(files) = reopened.store().state("budgeted", 4).unwrap() else { panic!() };
    assert_eq!(files.len(), 61);
}
