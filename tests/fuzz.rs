//! The live gRPC server, fuzzed: generated requests for every RPC of
//! `codectx.v1.CodeContext` (empty, blank, unicode, control-character, huge and
//! boundary-sized strings; extreme numbers; NaN and infinite floats), and raw
//! bytes sent as a request body (random, and a valid field followed by garbage),
//! against the server in this process, with four callers (no token, an unknown
//! token, a reader token and an admin token). Every answer is a result or a
//! status of a defined code (never `INTERNAL` or `UNKNOWN` for what a client
//! sent) whose message is one line of at most 1 KiB; the reader never reads an
//! absolute server path; after every case the server still answers a normal
//! request.
//!
//! A second test sends 10 MB names, paths, globs and queries to every RPC of a
//! `codectx serve` child process and checks its resident memory: the process is
//! measured alone (this test binary runs other tests in parallel, so its own RSS
//! says nothing about the server).
//!
//! Cases: 192 by default (about 20 s on 2 cores in the dev profile);
//! `PROPTEST_CASES=N` runs N.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use codectx_core::{Config, EmbedProvider, ModelConfig, MAX_NAME_BYTES, MAX_PATH_BYTES};
use codectx_proto::v1 as pb;
use codectx_proto::v1::code_context_client::CodeContextClient;
use codectx_service::{Engine, RepositorySpec};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

use crate::malformed::{field_bytes, RawCodec};
use crate::util::{self, fixture_root, shared_index, TestServer};

const READER: &str = "fuzz-reader-token-0000000001";
const ADMIN: &str = "fuzz-admin-token-00000000001";

/// Longest status message accepted, in bytes.
const MAX_MESSAGE: usize = 1024;

/// The RPCs of `codectx.v1.CodeContext`, as their method names.
const METHODS: [&str; 14] = [
    "GetContext",
    "Generate",
    "Search",
    "GetSymbols",
    "GetReferences",
    "GetSymbolGraph",
    "GetFileDependencies",
    "IndexRepository",
    "RefreshRepository",
    "ListRepositories",
    "AddRepository",
    "RemoveRepository",
    "GetIndexStatus",
    "NoSuchMethod",
];
const STREAMING: [&str; 3] = ["Generate", "IndexRepository", "RefreshRepository"];

/// Who calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    Unknown,
    Reader,
    Admin,
}

impl Caller {
    fn token(self) -> Option<&'static str> {
        match self {
            Caller::Anonymous => None,
            Caller::Unknown => Some("not-a-configured-token-000001"),
            Caller::Reader => Some(READER),
            Caller::Admin => Some(ADMIN),
        }
    }
}

/// One generated call.
#[derive(Debug, Clone)]
enum Call {
    GetContext(pb::GetContextRequest),
    Generate(pb::GenerateRequest),
    Search(pb::SearchRequest),
    GetSymbols(pb::GetSymbolsRequest),
    GetReferences(pb::GetReferencesRequest),
    GetSymbolGraph(pb::GetSymbolGraphRequest),
    GetFileDependencies(pb::GetFileDependenciesRequest),
    IndexRepository(pb::IndexRepositoryRequest),
    RefreshRepository(pb::RefreshRepositoryRequest),
    ListRepositories,
    AddRepository(pb::AddRepositoryRequest),
    RemoveRepository(pb::RemoveRepositoryRequest),
    GetIndexStatus(pb::GetIndexStatusRequest),
    /// Bytes sent as the body of `method`.
    Raw {
        method: &'static str,
        body: Vec<u8>,
    },
}

/// A string of `len` bytes or a little less, of `fill` (ASCII, 2-, 4-byte and
/// control characters, slashes).
fn sized(fill: char, len: usize) -> String {
    std::iter::repeat_n(fill, len / fill.len_utf8()).collect()
}

/// Any text a client could send in a `string` field.
fn text() -> impl Strategy<Value = String> {
    let sizes = vec![
        MAX_NAME_BYTES - 1,
        MAX_NAME_BYTES,
        MAX_NAME_BYTES + 1,
        MAX_PATH_BYTES,
        MAX_PATH_BYTES + 1,
        codectx_core::MAX_QUERY_BYTES + 1,
        100_000,
    ];
    prop_oneof![
        3 => prop::sample::select(vec![
            "", " ", "\t\n", "\u{3000}", "fixture", "empty", "Session", "Session.send", "join_location",
            "pyapp/sessions.py", "pyapp/**", "**/test_*", "lexical", "hybrid", "semantic", "callers", "abcdef1",
            "0", "7", "../../etc/passwd", "/", "a[", "{a,b", "\u{0}", "🦀",
        ])
        .prop_map(str::to_string),
        2 => "\\PC{0,24}",
        2 => any::<String>(),
        1 => (prop::sample::select(vec!['a', 'é', '🦀', '\n', '/', '\u{0}']), prop::sample::select(sizes))
            .prop_map(|(fill, len)| sized(fill, len)),
    ]
}

fn number() -> impl Strategy<Value = u32> {
    prop_oneof![Just(0u32), Just(1), 0..1100u32, Just(u32::MAX), any::<u32>()]
}

fn share() -> impl Strategy<Value = Option<f32>> {
    proptest::option::of(prop_oneof![0.0f32..=1.0, Just(f32::NAN), Just(f32::INFINITY), Just(-0.5), any::<f32>()])
}

fn globs() -> impl Strategy<Value = Vec<String>> {
    prop_oneof![
        4 => proptest::collection::vec(text(), 0..3),
        1 => (1usize..80).prop_map(|count| vec!["src/**".to_string(); count]),
    ]
}

fn filter() -> impl Strategy<Value = Option<pb::PathFilter>> {
    proptest::option::of((globs(), globs()).prop_map(|(include, exclude)| pb::PathFilter { include, exclude }))
}

/// Freshness that never waits for pending changes (that starts an index run of
/// the fixture's shared index, which is no request validation) and waits for a
/// commit at most the server's `max_wait_ms`.
fn freshness() -> impl Strategy<Value = Option<pb::Freshness>> {
    proptest::option::of((text(), any::<u64>()).prop_map(|(min_commit, wait_timeout_ms)| pb::Freshness {
        min_commit,
        wait_for_pending: false,
        wait_timeout_ms,
    }))
}

/// Raw request bodies: random bytes, and a valid field followed by random bytes.
fn raw() -> impl Strategy<Value = Call> {
    let body = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..48),
        (text(), proptest::collection::vec(any::<u8>(), 0..24)).prop_map(|(repository, tail)| [
            field_bytes(1, repository.as_bytes()),
            tail
        ]
        .concat()),
    ];
    (prop::sample::select(METHODS.to_vec()), body).prop_map(|(method, body)| Call::Raw { method, body })
}

fn call() -> impl Strategy<Value = Call> {
    prop_oneof![
        (
            text(),
            text(),
            number(),
            number(),
            filter(),
            proptest::option::of(any::<bool>()),
            share(),
            text(),
            freshness()
        )
            .prop_map(
                |(repository, query, token_budget, max_files, filter, expand, expansion_share, mode, freshness)| {
                    Call::GetContext(pb::GetContextRequest {
                        repository,
                        query,
                        token_budget,
                        max_files,
                        filter,
                        expand,
                        expansion_share,
                        mode,
                        freshness,
                    })
                }
            ),
        (text(), text(), number(), filter(), text(), freshness(), text(), number(), share()).prop_map(
            |(repository, instruction, token_budget, filter, mode, freshness, model, max_tokens, temperature)| {
                Call::Generate(pb::GenerateRequest {
                    repository,
                    instruction,
                    token_budget,
                    model: Some(pb::ModelOptions { model, max_tokens, temperature }),
                    filter,
                    mode,
                    freshness,
                })
            }
        ),
        (text(), text(), number(), filter(), text()).prop_map(|(repository, query, limit, filter, mode)| {
            Call::Search(pb::SearchRequest { repository, query, limit, filter, mode })
        }),
        (text(), text(), number()).prop_map(|(repository, name, limit)| Call::GetSymbols(pb::GetSymbolsRequest {
            repository,
            name,
            limit
        })),
        (text(), text(), number(), text()).prop_map(|(repository, name, page_size, page_token)| {
            Call::GetReferences(pb::GetReferencesRequest { repository, name, page_size, page_token })
        }),
        (text(), text(), number(), prop_oneof![0..4i32, any::<i32>()], number()).prop_map(
            |(repository, name, depth, direction, max_nodes)| {
                Call::GetSymbolGraph(pb::GetSymbolGraphRequest { repository, name, depth, direction, max_nodes })
            }
        ),
        (text(), text()).prop_map(|(repository, path)| Call::GetFileDependencies(pb::GetFileDependenciesRequest {
            repository,
            path
        })),
        text().prop_map(|repository| Call::IndexRepository(pb::IndexRepositoryRequest { repository })),
        text().prop_map(|repository| Call::RefreshRepository(pb::RefreshRepositoryRequest { repository })),
        Just(Call::ListRepositories),
        (text(), text()).prop_map(|(name, path)| Call::AddRepository(pb::AddRepositoryRequest { name, path })),
        (text(), any::<bool>()).prop_map(|(name, delete_index)| Call::RemoveRepository(pb::RemoveRepositoryRequest {
            name,
            delete_index
        })),
        text().prop_map(|repository| Call::GetIndexStatus(pb::GetIndexStatusRequest { repository })),
        raw(),
        raw(),
    ]
}

fn request<T>(message: T, caller: Caller) -> Request<T> {
    let mut request = Request::new(message);
    if let Some(token) = caller.token() {
        request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().expect("a header value"));
    }
    request.set_timeout(Duration::from_secs(30));
    request
}

/// Reads a server stream to its end (at most 10,000 events).
async fn drain<T>(stream: tonic::Streaming<T>) -> Result<Vec<T>, Status> {
    let mut stream = stream;
    let mut events = Vec::new();
    while let Some(event) = stream.message().await? {
        events.push(event);
        assert!(events.len() < 10_000, "the stream does not end");
    }
    Ok(events)
}

/// What a call answered: nothing to check, repositories, an index status, or a
/// failure.
enum Answer {
    Done,
    Repositories(Vec<pb::Repository>),
    Status(Box<pb::IndexStatus>),
}

async fn send(
    client: &mut CodeContextClient<Channel>,
    channel: &Channel,
    call: Call,
    caller: Caller,
) -> Result<Answer, Status> {
    fn done<T>(_: T) -> Answer {
        Answer::Done
    }
    match call {
        Call::GetContext(message) => client.get_context(request(message, caller)).await.map(done),
        Call::Generate(message) => drain(client.generate(request(message, caller)).await?.into_inner()).await.map(done),
        Call::Search(message) => client.search(request(message, caller)).await.map(done),
        Call::GetSymbols(message) => client.get_symbols(request(message, caller)).await.map(done),
        Call::GetReferences(message) => client.get_references(request(message, caller)).await.map(done),
        Call::GetSymbolGraph(message) => client.get_symbol_graph(request(message, caller)).await.map(done),
        Call::GetFileDependencies(message) => client.get_file_dependencies(request(message, caller)).await.map(done),
        Call::IndexRepository(message) => {
            drain(client.index_repository(request(message, caller)).await?.into_inner()).await.map(done)
        }
        Call::RefreshRepository(message) => {
            drain(client.refresh_repository(request(message, caller)).await?.into_inner()).await.map(done)
        }
        Call::ListRepositories => client
            .list_repositories(request(pb::ListRepositoriesRequest {}, caller))
            .await
            .map(|answer| Answer::Repositories(answer.into_inner().repositories)),
        Call::AddRepository(message) => client.add_repository(request(message, caller)).await.map(done),
        Call::RemoveRepository(message) => client.remove_repository(request(message, caller)).await.map(done),
        Call::GetIndexStatus(message) => client
            .get_index_status(request(message, caller))
            .await
            .map(|answer| Answer::Status(Box::new(answer.into_inner()))),
        Call::Raw { method, body } => {
            let mut grpc = tonic::client::Grpc::new(channel.clone());
            grpc.ready().await.map_err(|error| Status::unavailable(error.to_string()))?;
            let path = format!("/codectx.v1.CodeContext/{method}").parse().expect("a path");
            if STREAMING.contains(&method) {
                let stream = grpc.server_streaming(request(body, caller), path, RawCodec).await?.into_inner();
                drain(stream).await.map(done)
            } else {
                grpc.unary(request(body, caller), path, RawCodec).await.map(done)
            }
        }
    }
}

/// The codes a client's request may get, for `call`: never `INTERNAL` or
/// `UNKNOWN`. `UNAVAILABLE` only from `Generate` (its model endpoint is a closed
/// port).
fn allowed(call: &Call, code: Code) -> bool {
    match code {
        Code::InvalidArgument
        | Code::NotFound
        | Code::FailedPrecondition
        | Code::PermissionDenied
        | Code::Unauthenticated
        | Code::OutOfRange
        | Code::DeadlineExceeded => true,
        Code::Unimplemented => matches!(call, Call::Raw { method: "NoSuchMethod", .. }),
        Code::Unavailable => matches!(call, Call::Generate(_) | Call::Raw { method: "Generate", .. }),
        _ => false,
    }
}

/// The server's absolute paths a reader must never read.
struct Secrets(Vec<String>);

impl Secrets {
    fn check(&self, text: &str, what: &str) -> Result<(), TestCaseError> {
        for secret in &self.0 {
            prop_assert!(!text.contains(secret.as_str()), "{what} shows the server path {secret}: {text:?}");
        }
        Ok(())
    }
}

/// A port on loopback that refuses connections.
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}/v1")
}

/// The fuzzed server: `fixture` (the shared index) and `empty` (a folder with no
/// index yet), tokens for a reader of both and an admin, no embeddings, a model
/// endpoint that refuses connections, and freshness waits of at most 50 ms.
fn fuzz_engine(empty: &Path) -> (Engine, Arc<codectx_server::auth::Auth>) {
    let mut config = Config {
        index: util::index_config(),
        model: ModelConfig { base_url: Some(closed_port_url()), ..ModelConfig::default() },
        ..Config::default()
    };
    config.embed.provider = EmbedProvider::None;
    config.server.max_wait_ms = 50;
    let specs = vec![
        RepositorySpec {
            name: "fixture".into(),
            root: fixture_root(),
            index_dir: Some(shared_index().index_dir.clone()),
        },
        RepositorySpec { name: "empty".into(), root: empty.to_path_buf(), index_dir: Some(empty.join("index")) },
    ];
    let engine = Engine::new(specs, config).expect("engine");
    let auth = util::reader_and_admin(READER, &["fixture", "empty"], ADMIN);
    (engine, auth)
}

/// Index runs of `fixture` would write the shared index other tests read: the
/// fuzz runs them on `empty` instead.
fn spare_the_shared_index(call: Call) -> Call {
    match call {
        Call::IndexRepository(pb::IndexRepositoryRequest { repository }) if repository.trim() == "fixture" => {
            Call::IndexRepository(pb::IndexRepositoryRequest { repository: "empty".into() })
        }
        Call::RefreshRepository(pb::RefreshRepositoryRequest { repository }) if repository.trim() == "fixture" => {
            Call::RefreshRepository(pb::RefreshRepositoryRequest { repository: "empty".into() })
        }
        Call::Raw { method: "IndexRepository" | "RefreshRepository", .. } => {
            Call::Raw { method: "GetIndexStatus", body: field_bytes(1, b"empty") }
        }
        other => other,
    }
}

#[test]
fn every_rpc_answers_generated_requests_with_defined_statuses() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let empty = util::temp_dir();
    let (engine, auth) = fuzz_engine(empty.path());
    let secrets = Secrets(
        [fixture_root(), shared_index().index_dir.clone(), empty.path().to_path_buf()]
            .iter()
            .map(|path: &PathBuf| path.display().to_string())
            .collect(),
    );
    let options = codectx_server::ServeOptions { auth, ..Default::default() };
    let (server, channel) = runtime.block_on(async {
        let server = TestServer::start_with(engine, options).await;
        let channel = server.channel().await;
        (server, channel)
    });
    let client = CodeContextClient::new(channel.clone()).max_decoding_message_size(64 * 1024 * 1024);

    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|value| value.parse().ok()).unwrap_or(192);
    let mut runner = TestRunner::new(ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() });
    let callers = prop::sample::select(vec![Caller::Anonymous, Caller::Unknown, Caller::Reader, Caller::Admin]);
    let outcome = runner.run(&(call(), callers), |(call, caller)| {
        let call = spare_the_shared_index(call);
        runtime.block_on(async {
            let mut client = client.clone();
            let answer = send(&mut client, &channel, call.clone(), caller).await;
            match answer {
                Ok(Answer::Done) => {}
                Ok(Answer::Repositories(repositories)) => {
                    if caller == Caller::Reader {
                        for repository in &repositories {
                            prop_assert_eq!(&repository.root, "", "a reader reads no root");
                        }
                    }
                }
                Ok(Answer::Status(status)) => {
                    if caller == Caller::Reader {
                        let repository = status.repository.clone().unwrap_or_default();
                        prop_assert_eq!(&repository.root, "", "a reader reads no root");
                        secrets.check(&status.last_error, "the last error")?;
                    }
                }
                Err(status) => {
                    let message = status.message();
                    prop_assert!(
                        allowed(&call, status.code()),
                        "{:?} for {} by {caller:?}: {message:?}",
                        status.code(),
                        describe(&call)
                    );
                    prop_assert!(message.len() <= MAX_MESSAGE, "a message of {} bytes", message.len());
                    prop_assert!(!message.contains(['\n', '\r']), "not one line: {message:?}");
                    if caller == Caller::Reader {
                        secrets.check(message, "the message")?;
                    }
                }
            }
            // The server still answers a normal request.
            let normal = pb::GetSymbolsRequest { repository: "fixture".into(), name: "Session".into(), limit: 0 };
            let symbols = client
                .get_symbols(request(normal, Caller::Reader))
                .await
                .map_err(|status| TestCaseError::fail(format!("after {}: {status:?}", describe(&call))))?;
            prop_assert!(!symbols.into_inner().symbols.is_empty());
            Ok(())
        })
    });
    runtime.block_on(server.stop());
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}

/// The RPC of a call.
fn name(call: &Call) -> &'static str {
    match call {
        Call::GetContext(_) => "GetContext",
        Call::Generate(_) => "Generate",
        Call::Search(_) => "Search",
        Call::GetSymbols(_) => "GetSymbols",
        Call::GetReferences(_) => "GetReferences",
        Call::GetSymbolGraph(_) => "GetSymbolGraph",
        Call::GetFileDependencies(_) => "GetFileDependencies",
        Call::IndexRepository(_) => "IndexRepository",
        Call::RefreshRepository(_) => "RefreshRepository",
        Call::ListRepositories => "ListRepositories",
        Call::AddRepository(_) => "AddRepository",
        Call::RemoveRepository(_) => "RemoveRepository",
        Call::GetIndexStatus(_) => "GetIndexStatus",
        Call::Raw { method, .. } => method,
    }
}

/// A call, with its strings shortened, for failure messages.
fn describe(call: &Call) -> String {
    let text = format!("{call:?}");
    if text.len() <= 400 {
        return text;
    }
    let head: String = text.chars().take(400).collect();
    format!("{head}… ({} bytes)", text.len())
}

/// Resident memory of process `pid`, in KiB (`VmRSS` of `/proc/<pid>/status`).
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc/<pid>/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line")
}

/// Resident memory the server may gain while it refuses 10 MB fields, in MiB: a
/// request of 10 MB is held while it is decoded (the body and the decoded
/// message), and the allocator keeps some of what is freed for the next ones.
const RSS_GROWTH_MIB: u64 = 96;

#[test]
fn ten_megabyte_fields_leave_the_server_small() {
    if !Path::new("/proc/self/status").exists() {
        eprintln!("skipped: no /proc (resident memory is read from /proc/<pid>/status)");
        return;
    }
    let dir = util::temp_dir();
    let config = util::fixture_serve_config(dir.path(), "fixture");
    let mut serve = util::spawn_serve_with(&config, &["--no-watch"]);
    let pid = serve.child.id();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let outcome = runtime.block_on(async {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", serve.addr))
            .expect("endpoint")
            .connect()
            .await
            .expect("connect");
        let mut client = CodeContextClient::new(channel.clone());
        let normal = || pb::GetSymbolsRequest { repository: "fixture".into(), name: "Session".into(), limit: 0 };
        // Warm up: the index opened, the connection's buffers grown.
        client.get_symbols(normal()).await.expect("GetSymbols");
        let huge = "n".repeat(10 * 1024 * 1024);
        let before = rss_kib(pid);
        let mut peak = before;
        for round in 0..3 {
            let repository = || "fixture".to_string();
            let calls = vec![
                Call::GetContext(pb::GetContextRequest { repository: huge.clone(), query: "x".into(), ..Default::default() }),
                Call::GetContext(pb::GetContextRequest { repository: repository(), query: huge.clone(), ..Default::default() }),
                Call::GetContext(pb::GetContextRequest {
                    repository: repository(),
                    query: "redirects".into(),
                    filter: Some(pb::PathFilter { include: vec![huge.clone()], exclude: Vec::new() }),
                    ..Default::default()
                }),
                Call::Search(pb::SearchRequest { repository: repository(), query: "x".into(), mode: huge.clone(), ..Default::default() }),
                Call::GetSymbols(pb::GetSymbolsRequest { repository: repository(), name: huge.clone(), limit: 0 }),
                Call::GetReferences(pb::GetReferencesRequest { repository: repository(), name: huge.clone(), ..Default::default() }),
                Call::GetReferences(pb::GetReferencesRequest {
                    repository: repository(),
                    name: "send".into(),
                    page_token: huge.clone(),
                    ..Default::default()
                }),
                Call::GetSymbolGraph(pb::GetSymbolGraphRequest { repository: repository(), name: huge.clone(), ..Default::default() }),
                Call::GetFileDependencies(pb::GetFileDependenciesRequest { repository: repository(), path: huge.clone() }),
                Call::GetIndexStatus(pb::GetIndexStatusRequest { repository: huge.clone() }),
                Call::AddRepository(pb::AddRepositoryRequest { name: "new".into(), path: huge.clone() }),
                Call::RemoveRepository(pb::RemoveRepositoryRequest { name: huge.clone(), delete_index: false }),
                Call::Generate(pb::GenerateRequest {
                    repository: repository(),
                    instruction: "x".into(),
                    model: Some(pb::ModelOptions { model: huge.clone(), ..Default::default() }),
                    ..Default::default()
                }),
            ];
            for (index, call) in calls.into_iter().enumerate() {
                let what = format!("{} #{index}", name(&call));
                let status = match send(&mut client, &channel, call, Caller::Anonymous).await {
                    Ok(_) => return Err(format!("round {round}: {what} was answered")),
                    Err(status) => status,
                };
                if status.code() != Code::InvalidArgument || status.message().len() > MAX_MESSAGE {
                    return Err(format!("round {round}: {what}: {status:?}"));
                }
                peak = peak.max(rss_kib(pid));
            }
            client.get_symbols(normal()).await.map_err(|status| format!("a normal request after round {round}: {status:?}"))?;
        }
        let after = rss_kib(pid);
        eprintln!("server RSS: {before} KiB before, peak {peak} KiB, {after} KiB after 39 requests of 10 MB");
        if after.saturating_sub(before) > RSS_GROWTH_MIB * 1024 || peak.saturating_sub(before) > RSS_GROWTH_MIB * 1024 {
            return Err(format!(
                "the server's RSS grew from {before} KiB to {after} KiB (peak {peak} KiB), more than {RSS_GROWTH_MIB} MiB"
            ));
        }
        Ok(())
    });
    let _ = serve.child.kill();
    let _ = serve.child.wait();
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}
