//! Helpers shared by the integration tests: the fixture, a shared index of it,
//! running the `codectx` binary, temp dirs, and a stub of an OpenAI-compatible
//! model endpoint.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Mutex, Once, OnceLock};
use std::time::{Duration, SystemTime};

use codectx_core::{IndexConfig, IndexStats};
use codectx_index::{IndexSnapshot, Indexer};

/// Size cap the tests index with (64 KiB): `data/big.py` is over it.
pub const MAX_FILE_SIZE: u64 = 64 * 1024;

/// Environment variables of the user's shell that would change what the binary does.
const CLEARED_ENV: &[&str] = &[
    "CODECTX_MODEL",
    "CODECTX_BASE_URL",
    "CODECTX_API_KEY",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "CODECTX_FAILPOINT",
    "CODECTX_LOG",
    "RUST_LOG",
    "ORT_DYLIB_PATH",
    "CODECTX_EMBED_API_KEY",
];

/// Runs `git args` in `dir` as a fixed test identity (no signing) and returns
/// its trimmed standard output; panics with git's stderr when it fails.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=Ada", "-c", "user.email=ada@example.org", "-c", "commit.gpgsign=false"])
        .args(args)
        .output()
        .expect("git runs");
    assert!(output.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Server authentication with two bearer tokens: `reader`, allowed the named
/// repositories, and `admin`, allowed every repository with admin rights.
pub fn reader_and_admin(
    reader: &str,
    repositories: &[&str],
    admin: &str,
) -> std::sync::Arc<codectx_server::auth::Auth> {
    let tokens = [
        codectx_core::TokenConfig {
            name: "reader".into(),
            token: Some(reader.into()),
            repositories: repositories.iter().map(|name| name.to_string()).collect(),
            ..codectx_core::TokenConfig::default()
        },
        codectx_core::TokenConfig {
            name: "admin".into(),
            token: Some(admin.into()),
            repositories: vec!["*".into()],
            admin: true,
            ..codectx_core::TokenConfig::default()
        },
    ];
    std::sync::Arc::new(codectx_server::auth::Auth::from_config(&tokens).expect("valid tokens"))
}

/// `tests/data/fixture`, with its symbolic-link loop in place.
pub fn fixture_root() -> PathBuf {
    static LOOP: Once = Once::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fixture");
    LOOP.call_once(|| {
        // Committed as a git symlink; recreated if a checkout lost it (core.symlinks=false).
        let link = root.join("links/loop");
        let is_link = std::fs::symlink_metadata(&link).is_ok_and(|meta| meta.file_type().is_symlink());
        if !is_link {
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(".", &link).expect("create links/loop -> .");
        }
    });
    root
}

/// `tests/data/golden`.
pub fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/golden")
}

/// The index configuration of the tests: defaults, with a 64 KiB size cap.
pub fn index_config() -> IndexConfig {
    IndexConfig { max_file_size: MAX_FILE_SIZE, ..IndexConfig::default() }
}

/// A fresh temporary folder, removed when dropped.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("codectx-test-").tempdir().expect("create a temp dir")
}

/// The fixture indexed once per test process (read-only for the tests).
pub struct SharedIndex {
    /// Index folder (outside `tests/data`).
    pub index_dir: PathBuf,
    /// Counters of the run that built it.
    pub stats: IndexStats,
    /// The generation, opened.
    pub snapshot: IndexSnapshot,
}

/// Indexes the fixture in place (index folder under the target dir) the first time
/// it is called; later calls share the result.
pub fn shared_index() -> &'static SharedIndex {
    static SHARED: OnceLock<SharedIndex> = OnceLock::new();
    SHARED.get_or_init(|| {
        let parent = Path::new(env!("CARGO_TARGET_TMPDIR"));
        remove_stale_indexes(parent);
        let dir = tempfile::Builder::new()
            .prefix("fixture-index-")
            .tempdir_in(parent)
            .expect("create the shared index dir")
            .keep();
        let stats = index_fixture(&dir);
        let snapshot = IndexSnapshot::open(&dir).expect("open the fixture index");
        SharedIndex { index_dir: dir, stats, snapshot }
    })
}

/// Indexes the fixture into `index_dir` with the library.
pub fn index_fixture(index_dir: &Path) -> IndexStats {
    index_repo(&fixture_root(), index_dir)
}

/// Indexes `root` into `index_dir` with the library and the tests' configuration.
pub fn index_repo(root: &Path, index_dir: &Path) -> IndexStats {
    let indexer = Indexer::new(root, Some(index_dir), index_config()).expect("indexer");
    indexer.run(&|_| {}).unwrap_or_else(|error| panic!("indexing {} failed: {error}", root.display()))
}

/// Shared indexes of earlier test processes (kept by `shared_index`) older than an hour.
fn remove_stale_indexes(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else { return };
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    for entry in entries.flatten() {
        let old = entry.metadata().and_then(|meta| meta.modified()).is_ok_and(|modified| modified < hour_ago);
        if old && entry.file_name().to_string_lossy().starts_with("fixture-index-") {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Text of a fixture file (decoded lossily, as the indexer does).
pub fn fixture_text(path: &str) -> String {
    let bytes = std::fs::read(fixture_root().join(path)).unwrap_or_else(|error| panic!("read fixture {path}: {error}"));
    String::from_utf8_lossy(&bytes).into_owned()
}

/// 1-based number of the only line of a fixture file that contains `needle`.
pub fn line_of(path: &str, needle: &str) -> u32 {
    let text = fixture_text(path);
    let found: Vec<u32> =
        text.lines().enumerate().filter(|(_, line)| line.contains(needle)).map(|(index, _)| index as u32 + 1).collect();
    assert_eq!(found.len(), 1, "{needle:?} should be on exactly one line of {path}, found on {found:?}");
    found[0]
}

/// Last line of the indented block (Python) whose header is on line `start`: the last
/// non-blank line before the next line indented no deeper than the header.
pub fn python_block_end(path: &str, start: u32) -> u32 {
    let text = fixture_text(path);
    let lines: Vec<&str> = text.lines().collect();
    let indent = |line: &str| line.len() - line.trim_start().len();
    let mut header = start as usize - 1;
    // Skip decorators to the `def`/`class` line.
    while lines[header].trim_start().starts_with('@') {
        header += 1;
    }
    let depth = indent(lines[header]);
    let mut last = header;
    for (index, line) in lines.iter().enumerate().skip(header + 1) {
        if line.trim().is_empty() {
            continue;
        }
        if indent(line) <= depth {
            break;
        }
        last = index;
    }
    last as u32 + 1
}

/// Line of the `}` that closes the first `{` opened on or after line `start` (the
/// fixture has no braces inside strings or comments that would unbalance this).
pub fn brace_block_end(path: &str, start: u32) -> u32 {
    let text = fixture_text(path);
    let mut depth = 0i32;
    let mut opened = false;
    for (index, line) in text.lines().enumerate().skip(start as usize - 1) {
        for byte in line.bytes() {
            match byte {
                b'{' => {
                    depth += 1;
                    opened = true;
                }
                b'}' => depth -= 1,
                _ => {}
            }
        }
        if opened && depth == 0 {
            return index as u32 + 1;
        }
    }
    panic!("no closing brace after {path}:{start}")
}

/// Copies a folder tree; symbolic links are recreated as links.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create copy target");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        let kind = entry.file_type().expect("file type");
        if kind.is_symlink() {
            let link = std::fs::read_link(entry.path()).expect("read link");
            std::os::unix::fs::symlink(link, &target).expect("copy symlink");
        } else if kind.is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// A copy of the fixture in a temp folder (for tests that edit files).
pub fn fixture_copy() -> tempfile::TempDir {
    let dir = temp_dir();
    copy_dir(&fixture_root(), dir.path());
    dir
}

/// The `codectx` binary with the user's model and failpoint environment removed,
/// run from a neutral folder.
pub fn codectx() -> Command {
    clean_command(env!("CARGO_BIN_EXE_codectx"))
}

/// A command without the environment variables that change what codectx does.
pub fn clean_command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new(program);
    for name in CLEARED_ENV {
        command.env_remove(name);
    }
    // Lexical unless a test asks for embeddings (`--embedder` overrides this).
    command.env("CODECTX_EMBEDDER", "none");
    command.current_dir(std::env::temp_dir());
    command.stdin(Stdio::null());
    command
}

/// Output of a finished command, as text.
#[derive(Debug)]
pub struct Run {
    /// Exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Panics with the output unless the command succeeded.
    pub fn success(self) -> Run {
        assert_eq!(self.code, Some(0), "command failed:\nstdout: {}\nstderr: {}", self.stdout, self.stderr);
        self
    }

    /// Parses stdout as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|error| panic!("stdout is not JSON ({error}): {}", self.stdout))
    }

    /// Checks a user error: exit code 2, nothing on stdout, and exactly one line on
    /// stderr of the form `codectx: error: ...` that contains every fragment.
    pub fn assert_user_error(&self, fragments: &[&str]) {
        assert_eq!(self.code, Some(2), "exit code of a user error; stderr: {}", self.stderr);
        assert!(self.stdout.is_empty(), "nothing on stdout for an error, got: {}", self.stdout);
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "the error is one line, got: {:?}", self.stderr);
        assert!(lines[0].starts_with("codectx: error: "), "error line: {}", lines[0]);
        for fragment in fragments {
            assert!(lines[0].contains(fragment), "error line {:?} should mention {fragment:?}", lines[0]);
        }
    }
}

/// Runs a command to completion.
pub fn run(command: &mut Command) -> Run {
    let output: Output = command.output().expect("run codectx");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `codectx index <root> --index-dir <index_dir> --max-file-size 65536 --json`, checked.
pub fn cli_index(root: &Path, index_dir: &Path) -> IndexStats {
    let done = run(codectx().arg("index").arg(root).arg("--index-dir").arg(index_dir).args([
        "--max-file-size",
        &MAX_FILE_SIZE.to_string(),
        "--json",
    ]))
    .success();
    serde_json::from_str(&done.stdout).unwrap_or_else(|error| panic!("index --json output ({error}): {}", done.stdout))
}

/// `codectx search <query> -C <root> --index-dir <index_dir> --json`, checked.
pub fn cli_search(root: &Path, index_dir: &Path, query: &str) -> Vec<serde_json::Value> {
    let done =
        run(codectx().arg("search").arg(query).arg("-C").arg(root).arg("--index-dir").arg(index_dir).arg("--json"))
            .success();
    done.json().as_array().cloned().expect("search --json prints an array")
}

/// Name of the generation `CURRENT` points at (`gen-000001`).
pub fn current_generation(index_dir: &Path) -> String {
    std::fs::read_to_string(index_dir.join("CURRENT")).expect("read CURRENT").trim().to_string()
}

// ---------------------------------------------------------------------------------
// A stub of an OpenAI-compatible chat-completions endpoint.

/// A request the stub received.
#[derive(Debug, Clone)]
pub struct StubRequest {
    /// `POST /v1/chat/completions HTTP/1.1`.
    pub request_line: String,
    /// Lowercased header names with their values.
    pub headers: Vec<(String, String)>,
    /// The JSON body.
    pub body: serde_json::Value,
}

impl StubRequest {
    /// Text of every message with the given role, concatenated.
    pub fn messages_of(&self, role: &str) -> String {
        self.body["messages"]
            .as_array()
            .map(|messages| {
                messages
                    .iter()
                    .filter(|message| message["role"] == role)
                    .filter_map(|message| message["content"].as_str())
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default()
    }
}

/// How the stub answers.
#[derive(Debug, Clone)]
pub enum StubReply {
    /// `200 text/event-stream` with one `data:` chunk per piece, then `data: [DONE]`.
    Stream(Vec<String>),
    /// An HTTP error status with a JSON error body.
    Status(u16),
}

/// A minimal HTTP/1.1 server on 127.0.0.1 that answers every request the same way and
/// records the requests. Runs on a thread for the life of the process (one per test).
pub struct ModelStub {
    /// `http://127.0.0.1:PORT/v1`.
    pub base_url: String,
    requests: Mutex<mpsc::Receiver<StubRequest>>,
}

impl ModelStub {
    /// Starts a stub.
    pub fn start(reply: StubReply) -> ModelStub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the model stub");
        let port = listener.local_addr().expect("stub address").port();
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let sender = sender.clone();
                let reply = reply.clone();
                std::thread::spawn(move || {
                    if let Some(request) = serve_one(stream, &reply) {
                        let _ = sender.send(request);
                    }
                });
            }
        });
        ModelStub { base_url: format!("http://127.0.0.1:{port}/v1"), requests: Mutex::new(receiver) }
    }

    /// The next request received (waits up to 10 s).
    pub fn next_request(&self) -> StubRequest {
        self.requests
            .lock()
            .expect("stub lock")
            .recv_timeout(Duration::from_secs(10))
            .expect("the model stub received no request")
    }

    /// Whether any request arrived.
    pub fn try_request(&self) -> Option<StubRequest> {
        self.requests.lock().expect("stub lock").try_recv().ok()
    }
}

fn serve_one(stream: TcpStream, reply: &StubReply) -> Option<StubRequest> {
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let length: usize = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);

    let mut stream = stream;
    match reply {
        StubReply::Stream(pieces) => {
            let mut out = String::from(
                "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n",
            );
            for piece in pieces {
                let chunk = serde_json::json!({
                    "id": "chatcmpl-stub",
                    "object": "chat.completion.chunk",
                    "model": body["model"],
                    "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": null}]
                });
                out.push_str(&format!("data: {chunk}\n\n"));
            }
            let last = serde_json::json!({
                "id": "chatcmpl-stub",
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]
            });
            out.push_str(&format!("data: {last}\n\ndata: [DONE]\n\n"));
            stream.write_all(out.as_bytes()).ok()?;
        }
        StubReply::Status(status) => {
            let body = r#"{"error":{"message":"stub failure","type":"server_error"}}"#;
            let out = format!(
                "HTTP/1.1 {status} Stub Error\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(out.as_bytes()).ok()?;
        }
    }
    stream.flush().ok()?;
    let _ = stream.shutdown(std::net::Shutdown::Both);
    Some(StubRequest { request_line: request_line.trim_end().to_string(), headers, body })
}

/// A gRPC server over an engine, in this process, on a free loopback port.
pub struct TestServer {
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    /// Serves `engine` with the defaults of [`codectx_server::serve`].
    pub async fn start(engine: codectx_service::Engine) -> TestServer {
        TestServer::start_with(engine, codectx_server::ServeOptions::default()).await
    }

    /// Serves `engine` with `options` (tokens, load shedding, TLS).
    pub async fn start_with(engine: codectx_service::Engine, options: codectx_server::ServeOptions) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (sender, receiver) = tokio::sync::oneshot::channel::<()>();
        let shutdown = async move {
            let _ = receiver.await;
        };
        let task = tokio::spawn(async move {
            codectx_server::serve_with(std::sync::Arc::new(engine), listener, shutdown, options)
                .await
                .expect("the server ran and shut down cleanly");
        });
        TestServer { addr, shutdown: Some(sender), task }
    }

    /// A plaintext channel to it.
    pub async fn channel(&self) -> tonic::transport::Channel {
        tonic::transport::Endpoint::from_shared(format!("http://{}", self.addr))
            .expect("endpoint")
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .expect("connect to the test server")
    }

    /// A client on [`TestServer::channel`].
    pub async fn client(&self) -> codectx_proto::v1::code_context_client::CodeContextClient<tonic::transport::Channel> {
        codectx_proto::v1::code_context_client::CodeContextClient::new(self.channel().await)
    }

    /// Shuts it down gracefully and waits (at most 10 s).
    pub async fn stop(mut self) {
        let _ = self.shutdown.take().expect("running").send(());
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the server stops within 10 s of the shutdown signal")
            .expect("server task");
    }
}

/// A `codectx serve --config <config>` child process, once it has said where it
/// listens.
pub struct ServeProcess {
    /// The process.
    pub child: std::process::Child,
    /// Its `codectx: serving N repositories on ADDR` line.
    pub serving: String,
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    /// Its later stderr lines.
    pub stderr: mpsc::Receiver<String>,
}

/// Starts `codectx serve --config <config>` and waits (at most 30 s) for its
/// `codectx: serving` line.
pub fn spawn_serve(config: &Path) -> ServeProcess {
    spawn_serve_with(config, &[])
}

/// [`spawn_serve`] with more arguments after `--config <config>`.
pub fn spawn_serve_with(config: &Path, args: &[&str]) -> ServeProcess {
    let mut command = codectx();
    command.arg("serve").arg("--config").arg(config).args(args);
    spawn_serve_command(command)
}

/// Starts a prepared `codectx serve` command (extra environment, a wrapper
/// shell) and waits (at most 30 s) for its `codectx: serving` line.
pub fn spawn_serve_command(mut command: Command) -> ServeProcess {
    let mut child = command.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn codectx serve");
    let stderr = child.stderr.take().unwrap();
    let (sender, receiver) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = sender.send(line);
        }
    });
    let serving = loop {
        let line = receiver.recv_timeout(Duration::from_secs(30)).expect("codectx serve reports where it listens");
        if line.starts_with("codectx: serving") {
            break line;
        }
    };
    let addr = serving.rsplit(' ').next().unwrap().parse().expect("a socket address");
    ServeProcess { child, serving, addr, stderr: receiver }
}

/// A model endpoint (an OpenAI-style base URL on loopback) that accepts
/// connections and never answers: a `Generate` call on it stays in flight until
/// its client gives up.
pub fn black_hole_model() -> codectx_core::ModelConfig {
    let black_hole = TcpListener::bind("127.0.0.1:0").unwrap();
    let base_url = format!("http://{}/v1", black_hole.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for connection in black_hole.incoming() {
            held.push(connection);
        }
    });
    codectx_core::ModelConfig { model: Some("m".into()), base_url: Some(base_url), ..Default::default() }
}

/// The outcome of a `Generate` call.
pub type GenerateCall =
    std::result::Result<tonic::Response<tonic::codec::Streaming<codectx_proto::v1::GenerateEvent>>, tonic::Status>;

/// Starts a `Generate` call on `repository` that stays in flight on a server whose
/// model is [`black_hole_model`], holding one place among the calls in flight.
/// While another call holds the only place, the call is shed and is retried, so
/// the task ends only if the call ends some other way.
pub fn stuck_generate(
    mut client: codectx_proto::v1::code_context_client::CodeContextClient<tonic::transport::Channel>,
    repository: &str,
) -> tokio::task::JoinHandle<GenerateCall> {
    let repository = repository.to_string();
    tokio::spawn(async move {
        loop {
            let request = codectx_proto::v1::GenerateRequest {
                repository: repository.clone(),
                instruction: "how are redirects followed?".into(),
                ..Default::default()
            };
            match client.generate(request).await {
                Err(status) if status.code() == tonic::Code::ResourceExhausted => {
                    tokio::time::sleep(Duration::from_millis(2)).await
                }
                other => return other,
            }
        }
    })
}

/// A `codectx serve` config file in `dir` serving the fixture as `name` from the
/// shared index, on a free loopback port.
pub fn fixture_serve_config(dir: &Path, name: &str) -> PathBuf {
    let config = dir.join("codectx.toml");
    let toml = format!(
        "listen = \"127.0.0.1:0\"\n\n[[repos]]\nname = \"{name}\"\npath = {:?}\nindex_dir = {:?}\n",
        fixture_root().display().to_string(),
        shared_index().index_dir.display().to_string()
    );
    std::fs::write(&config, toml).unwrap();
    config
}
