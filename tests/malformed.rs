//! Malformed gRPC requests against the real server, in process: empty and blank
//! fields, queries past the 64 KiB cap, names past 1 KiB, paths and globs past
//! 4 KiB (up to 10 MB) and messages past the 16 MiB decoding limit, budgets,
//! limits and depths out of range (negative ones too, sent as the 10-byte varints
//! other languages' clients write for them), unknown modes and directions, bad
//! globs, and invalid UTF-8 in `string` fields. Each is answered with a clean
//! status of the documented code whose message is one line and quotes at most a
//! short prefix of what was sent; the server keeps serving afterwards.
//!
//! Requests the generated client cannot express (invalid UTF-8, negative varints,
//! bytes that are not protobuf) are encoded by hand and sent with [`RawCodec`].

use std::path::PathBuf;

use codectx_core::{Config, ModelConfig, MAX_QUERY_BYTES};
use codectx_proto::v1::code_context_client::CodeContextClient;
use codectx_proto::v1::{
    GetContextRequest, GetFileDependenciesRequest, GetIndexStatusRequest, GetReferencesRequest, GetSymbolGraphRequest,
    GetSymbolsRequest, IndexRepositoryRequest, PathFilter, SearchRequest,
};
use codectx_service::{Engine, RepositorySpec};
use prost::bytes::{Buf, BufMut};
use prost::Message;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Channel;
use tonic::{Code, Status};

use crate::util::{self, fixture_root, shared_index, TestServer};

const REPO: &str = "fixture";

fn engine(index_dir: PathBuf) -> Engine {
    let config = Config { index: util::index_config(), model: ModelConfig::default(), ..Config::default() };
    let spec = RepositorySpec { name: REPO.into(), root: fixture_root(), index_dir: Some(index_dir) };
    Engine::new(vec![spec], config).expect("engine")
}

/// A request message sent as is: the bytes of the protobuf body.
///
/// The generated client can only send valid messages; this codec sends whatever
/// bytes a test builds (and reads the answer back as bytes).
#[derive(Debug, Clone, Copy, Default)]
pub struct RawCodec;

/// Encoder and decoder of [`RawCodec`].
#[derive(Debug, Clone, Copy, Default)]
pub struct RawBytes;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawBytes;
    type Decoder = RawBytes;

    fn encoder(&mut self) -> RawBytes {
        RawBytes
    }

    fn decoder(&mut self) -> RawBytes {
        RawBytes
    }
}

impl Encoder for RawBytes {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawBytes {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining()).to_vec()))
    }
}

/// Calls `method` of `codectx.v1.CodeContext` with a hand-encoded body.
async fn call_raw(channel: &Channel, method: &str, body: Vec<u8>) -> Result<Vec<u8>, Status> {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await.map_err(|error| Status::unavailable(error.to_string()))?;
    let path = format!("/codectx.v1.CodeContext/{method}").parse().expect("a path");
    grpc.unary(tonic::Request::new(body), path, RawCodec).await.map(tonic::Response::into_inner)
}

/// Calls server-streaming `method` with a hand-encoded body and reads the stream
/// to its end.
async fn call_raw_streaming(channel: &Channel, method: &str, body: Vec<u8>) -> Result<(), Status> {
    let mut grpc = tonic::client::Grpc::new(channel.clone());
    grpc.ready().await.map_err(|error| Status::unavailable(error.to_string()))?;
    let path = format!("/codectx.v1.CodeContext/{method}").parse().expect("a path");
    let mut stream = grpc.server_streaming(tonic::Request::new(body), path, RawCodec).await?.into_inner();
    while stream.message().await?.is_some() {}
    Ok(())
}

/// Protobuf varint.
fn varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// A length-delimited field (string, bytes, message): tag, length, bytes.
pub(crate) fn field_bytes(tag: u32, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    varint(u64::from(tag) << 3 | 2, &mut out);
    varint(bytes.len() as u64, &mut out);
    out.extend_from_slice(bytes);
    out
}

/// A varint field holding `value` as a signed 64-bit number (how a client writes
/// a negative `int32`/`int64`: ten bytes).
fn field_signed(tag: u32, value: i64) -> Vec<u8> {
    let mut out = Vec::new();
    varint(u64::from(tag) << 3, &mut out);
    varint(value as u64, &mut out);
    out
}

/// The status is `code` and its message is one line.
#[track_caller]
fn assert_status(result: Result<impl std::fmt::Debug, Status>, code: Code, what: &str) -> Status {
    let status = match result {
        Ok(answer) => panic!("{what}: expected {code:?}, got an answer {answer:?}"),
        Err(status) => status,
    };
    assert_eq!(status.code(), code, "{what}: {status:?}");
    assert!(!status.message().is_empty(), "{what}: no message");
    assert!(!status.message().contains(['\n', '\r']), "{what}: the message is not one line: {:?}", status.message());
    status
}

fn context(query: &str) -> GetContextRequest {
    GetContextRequest { repository: REPO.into(), query: query.into(), ..Default::default() }
}

fn search(query: &str) -> SearchRequest {
    SearchRequest { repository: REPO.into(), query: query.into(), ..Default::default() }
}

fn filter(include: &[&str], exclude: &[&str]) -> Option<PathFilter> {
    Some(PathFilter {
        include: include.iter().map(|glob| glob.to_string()).collect(),
        exclude: exclude.iter().map(|glob| glob.to_string()).collect(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_blank_and_oversized_fields_are_invalid_arguments() {
    let server = TestServer::start(engine(shared_index().index_dir.clone())).await;
    let mut client: CodeContextClient<Channel> = server.client().await;
    let invalid = Code::InvalidArgument;

    // Empty and blank queries, for both query RPCs.
    for query in ["", " ", "\n\t", "\u{3000}\u{2028}"] {
        let status = assert_status(client.get_context(context(query)).await, invalid, "blank GetContext query");
        assert!(status.message().contains("the query is empty"), "{status:?}");
        assert_status(client.search(search(query)).await, invalid, "blank Search query");
    }

    // The query cap: exactly 64 KiB is served, one byte more is refused.
    let at_cap = "redirects ".repeat(MAX_QUERY_BYTES / 10) + &"x".repeat(MAX_QUERY_BYTES % 10);
    assert_eq!(at_cap.len(), MAX_QUERY_BYTES);
    let bundle = client.get_context(context(&at_cap)).await.expect("a query of exactly 64 KiB").into_inner();
    assert!(!bundle.blocks.is_empty());
    let over = at_cap.clone() + "x";
    let status = assert_status(client.get_context(context(&over)).await, invalid, "query over 64 KiB");
    assert!(status.message().contains("65537 bytes"), "{status:?}");
    assert_status(client.search(search(&over)).await, invalid, "Search query over 64 KiB");

    // Empty repository names, on every RPC that takes one.
    let status = assert_status(
        client.get_context(GetContextRequest { repository: String::new(), ..context("redirects") }).await,
        invalid,
        "GetContext without a repository",
    );
    assert!(status.message().contains("repository name is empty"), "{status:?}");
    assert_status(
        client.search(SearchRequest { repository: " ".into(), ..search("redirects") }).await,
        invalid,
        "Search without a repository",
    );
    assert_status(
        client.get_symbols(GetSymbolsRequest { name: "send".into(), ..Default::default() }).await,
        invalid,
        "GetSymbols without a repository",
    );
    assert_status(
        client.get_references(GetReferencesRequest { name: "send".into(), ..Default::default() }).await,
        invalid,
        "GetReferences without a repository",
    );
    assert_status(
        client.get_symbol_graph(GetSymbolGraphRequest { name: "send".into(), ..Default::default() }).await,
        invalid,
        "GetSymbolGraph without a repository",
    );
    assert_status(
        client.get_file_dependencies(GetFileDependenciesRequest { path: "a.py".into(), ..Default::default() }).await,
        invalid,
        "GetFileDependencies without a repository",
    );
    assert_status(
        client.index_repository(IndexRepositoryRequest { repository: String::new() }).await.map(|_| ()),
        invalid,
        "IndexRepository without a repository",
    );
    assert_status(
        client.get_index_status(GetIndexStatusRequest { repository: "\t".into() }).await,
        invalid,
        "GetIndexStatus without a repository",
    );

    // Empty names and paths.
    let repo = || REPO.to_string();
    assert_status(
        client.get_symbols(GetSymbolsRequest { repository: repo(), name: " ".into(), limit: 0 }).await,
        invalid,
        "GetSymbols without a name",
    );
    assert_status(
        client.get_references(GetReferencesRequest { repository: repo(), ..Default::default() }).await,
        invalid,
        "GetReferences without a name",
    );
    assert_status(
        client.get_symbol_graph(GetSymbolGraphRequest { repository: repo(), ..Default::default() }).await,
        invalid,
        "GetSymbolGraph without a name",
    );
    assert_status(
        client.get_file_dependencies(GetFileDependenciesRequest { repository: repo(), path: "\n".into() }).await,
        invalid,
        "GetFileDependencies without a path",
    );

    // An empty message (zero bytes: every field at its default) has no repository.
    let channel = server.channel().await;
    for method in ["GetContext", "Search", "GetSymbols", "GetReferences", "GetSymbolGraph", "GetFileDependencies"] {
        assert_status(call_raw(&channel, method, Vec::new()).await, invalid, &format!("empty {method} message"));
    }

    // The server still answers.
    client.get_context(context("redirects")).await.expect("GetContext after the malformed requests");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_range_numbers_and_unknown_names_are_invalid_arguments() {
    let server = TestServer::start(engine(shared_index().index_dir.clone())).await;
    let mut client = server.client().await;
    let invalid = Code::InvalidArgument;

    // Token budgets: 256..=1,000,000, 0 = the default.
    for budget in [0, 256, 1_000_000] {
        let request = GetContextRequest { token_budget: budget, ..context("redirects") };
        client.get_context(request).await.unwrap_or_else(|status| panic!("budget {budget}: {status:?}"));
    }
    for budget in [1, 255, 1_000_001, u32::MAX] {
        let request = GetContextRequest { token_budget: budget, ..context("redirects") };
        let status = assert_status(client.get_context(request).await, invalid, &format!("budget {budget}"));
        assert!(status.message().contains(&format!("token budget {budget}")), "{status:?}");
    }
    for share in [-0.1f32, 1.5, f32::NAN, f32::INFINITY] {
        let request = GetContextRequest { expansion_share: Some(share), ..context("redirects") };
        assert_status(client.get_context(request).await, invalid, &format!("expansion share {share}"));
    }

    // Modes: the three names in any case with spaces around; anything else.
    for mode in ["lexical", " LEXICAL\n"] {
        let request = SearchRequest { mode: mode.into(), ..search("redirects") };
        client.search(request).await.unwrap_or_else(|status| panic!("mode {mode:?}: {status:?}"));
    }
    for mode in ["fast", "lexical2", "sémantic", "\u{212A}", "a\nb"] {
        let request = SearchRequest { mode: mode.into(), ..search("redirects") };
        let status = assert_status(client.search(request).await, invalid, &format!("Search mode {mode:?}"));
        assert!(status.message().contains("expected lexical, semantic or hybrid"), "{status:?}");
        let request = GetContextRequest { mode: mode.into(), ..context("redirects") };
        assert_status(client.get_context(request).await, invalid, &format!("GetContext mode {mode:?}"));
    }

    // Limits and page sizes: 0 = the default; 1..=1000; more is refused.
    let repo = || REPO.to_string();
    client.search(SearchRequest { limit: 1000, ..search("redirects") }).await.expect("limit 1000");
    assert_status(
        client.search(SearchRequest { limit: 1001, ..search("redirects") }).await,
        invalid,
        "Search limit 1001",
    );
    assert_status(
        client.get_symbols(GetSymbolsRequest { repository: repo(), name: "send".into(), limit: u32::MAX }).await,
        invalid,
        "GetSymbols limit u32::MAX",
    );
    let references = |page_size: u32, page_token: &str| GetReferencesRequest {
        repository: repo(),
        name: "join_location".into(),
        page_size,
        page_token: page_token.into(),
    };
    client.get_references(references(1000, "")).await.expect("page size 1000");
    assert_status(client.get_references(references(1001, "")).await, invalid, "page size 1001");
    for token in ["x", "-1", "99999999999999999999999", "1\n2"] {
        assert_status(client.get_references(references(0, token)).await, invalid, &format!("page token {token:?}"));
    }

    // Symbol graph: depth 1..=3 (0 = 1), node cap 1..=500 (0 = 50), a known direction.
    let graph = |depth: u32, direction: i32, max_nodes: u32| GetSymbolGraphRequest {
        repository: repo(),
        name: "Session.send".into(),
        depth,
        direction,
        max_nodes,
    };
    for depth in [0, 3] {
        client.get_symbol_graph(graph(depth, 0, 0)).await.unwrap_or_else(|status| panic!("depth {depth}: {status:?}"));
    }
    for depth in [4, 100, u32::MAX] {
        let status = assert_status(client.get_symbol_graph(graph(depth, 0, 0)).await, invalid, "depth");
        assert!(status.message().contains(&format!("depth {depth} is outside 1..=3")), "{status:?}");
    }
    assert_status(client.get_symbol_graph(graph(1, 0, 501)).await, invalid, "node cap 501");
    for direction in [3, -1, i32::MAX, i32::MIN] {
        assert_status(
            client.get_symbol_graph(graph(1, direction, 0)).await,
            invalid,
            &format!("direction {direction}"),
        );
    }

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_numbers_from_other_clients_are_invalid_arguments() {
    // A client that declares these fields `int32`/`int64` writes -1 as a ten-byte
    // varint; `uint32` reads its low 32 bits (4294967295), over every maximum.
    let server = TestServer::start(engine(shared_index().index_dir.clone())).await;
    let channel = server.channel().await;
    let invalid = Code::InvalidArgument;
    let repository = field_bytes(1, REPO.as_bytes());

    let cases: [(&str, Vec<u8>, &str); 6] = [
        ("GetContext", [repository.clone(), field_bytes(2, b"redirects"), field_signed(3, -1)].concat(), "budget"),
        ("Search", [repository.clone(), field_bytes(2, b"redirects"), field_signed(3, -1)].concat(), "limit"),
        ("GetSymbols", [repository.clone(), field_bytes(2, b"send"), field_signed(3, -1)].concat(), "limit"),
        ("GetReferences", [repository.clone(), field_bytes(2, b"send"), field_signed(3, -5)].concat(), "page size"),
        ("GetSymbolGraph", [repository.clone(), field_bytes(2, b"send"), field_signed(3, -1)].concat(), "depth"),
        ("GetSymbolGraph", [repository.clone(), field_bytes(2, b"send"), field_signed(5, -1)].concat(), "node cap"),
    ];
    for (method, body, what) in cases {
        assert_status(call_raw(&channel, method, body).await, invalid, &format!("{method} with a negative {what}"));
    }

    // The same bytes with a valid value are served, so the encoding is right.
    let body = [repository.clone(), field_bytes(2, b"redirects"), field_signed(3, 5)].concat();
    let answer = call_raw(&channel, "Search", body).await.expect("Search with a hand-encoded limit of 5");
    let hits = codectx_proto::v1::SearchResponse::decode(answer.as_slice()).expect("a SearchResponse").hits;
    assert!(!hits.is_empty() && hits.len() <= 5, "{} hits", hits.len());

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_path_filters_are_invalid_arguments() {
    let server = TestServer::start(engine(shared_index().index_dir.clone())).await;
    let mut client = server.client().await;
    let invalid = Code::InvalidArgument;

    let long = "a".repeat(codectx_core::MAX_PATH_BYTES + 1);
    let bad: [(&[&str], &[&str]); 7] = [
        (&["a["], &[]),
        (&[], &["{a,b"]),
        (&["src/**", "[z-a]"], &[]),
        (&["x\n["], &[]),
        (&["[\n-\u{1}]"], &[]),
        (&["ok/**"], &["bad\0glob"]),
        (&[long.as_str()], &[]),
    ];
    for (include, exclude) in bad {
        let what = format!("filter {include:?} / {exclude:?}");
        let request = GetContextRequest { filter: filter(include, exclude), ..context("redirects") };
        let status = assert_status(client.get_context(request).await, invalid, &what);
        let expected = if include.len() == 1 && include[0].len() > codectx_core::MAX_PATH_BYTES {
            "more than the limit"
        } else {
            "invalid path glob"
        };
        assert!(status.message().contains(expected), "{what}: {status:?}");
        let request = SearchRequest { filter: filter(include, exclude), ..search("redirects") };
        assert_status(client.search(request).await, invalid, &what);
    }
    // More globs than a list may hold.
    let many = vec!["src/**"; codectx_core::MAX_FILTER_GLOBS + 1];
    let request = SearchRequest { filter: filter(&many, &[]), ..search("redirects") };
    let status = assert_status(client.search(request).await, invalid, "65 include globs");
    assert!(status.message().contains("65 include globs, more than the limit of 64"), "{status:?}");
    // At the limits, the globs are compiled and used.
    let at_limit = format!("{}*", "a".repeat(codectx_core::MAX_PATH_BYTES - 1));
    let mut globs = vec!["pyapp/**"; codectx_core::MAX_FILTER_GLOBS - 1];
    globs.push(&at_limit);
    let request = SearchRequest { filter: filter(&globs, &[]), ..search("redirects") };
    assert!(!client.search(request).await.expect("64 globs, one of 4 KiB").into_inner().hits.is_empty());
    // A valid filter still works.
    let request = SearchRequest { filter: filter(&["pyapp/**"], &["**/test_*"]), ..search("redirects") };
    let hits = client.search(request).await.expect("a valid filter").into_inner().hits;
    assert!(!hits.is_empty() && hits.iter().all(|hit| hit.path.starts_with("pyapp/")), "{hits:?}");

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_and_garbage_bytes_are_refused_cleanly() {
    // tonic decodes the body before the service sees it; tonic-prost's codec would
    // answer INTERNAL (the gRPC table's "error parsing request proto"). The
    // server's codec (`codectx_proto::codec::RequestCodec`) answers
    // INVALID_ARGUMENT with prost's one-line reason: the request is the client's
    // error. The connection keeps working.
    let server = TestServer::start(engine(shared_index().index_dir.clone())).await;
    let channel = server.channel().await;
    let repository = field_bytes(1, REPO.as_bytes());
    let invalid_utf8: &[u8] = b"src/\xff\xfe/*.py";

    let cases: [(&str, Vec<u8>, &str); 7] = [
        ("GetContext", [repository.clone(), field_bytes(2, b"re\xc3directs")].concat(), "query"),
        ("GetContext", [field_bytes(1, b"fix\x80ture"), field_bytes(2, b"redirects")].concat(), "repository"),
        (
            "GetContext",
            [repository.clone(), field_bytes(2, b"redirects"), field_bytes(5, &field_bytes(1, invalid_utf8))].concat(),
            "include glob",
        ),
        (
            "Search",
            [repository.clone(), field_bytes(2, b"redirects"), field_bytes(4, &field_bytes(2, invalid_utf8))].concat(),
            "exclude glob",
        ),
        (
            "Search",
            [repository.clone(), field_bytes(2, b"redirects"), field_bytes(5, b"\xed\xa0\x80")].concat(),
            "mode",
        ),
        ("GetSymbols", [repository.clone(), field_bytes(2, b"\xc0\xaf")].concat(), "name"),
        ("GetFileDependencies", [repository.clone(), field_bytes(2, b"a\xffb.py")].concat(), "path"),
    ];
    for (method, body, what) in cases {
        let status =
            assert_status(call_raw(&channel, method, body).await, Code::InvalidArgument, &format!("{method} {what}"));
        assert!(status.message().contains("UTF-8"), "{method} {what}: {status:?}");
        assert!(status.message().starts_with("invalid argument: "), "{method} {what}: {status:?}");
    }

    // Bytes that are not a protobuf message at all: a truncated field, a bad wire
    // type, a length past the end, a varint of eleven bytes.
    let garbage: [&[u8]; 4] = [
        &[0x0a, 0x05, b'a'],
        &[0x0f, 0x01],
        &[0x12, 0xff, 0xff, 0xff, 0xff, 0x0f],
        &[0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
    ];
    for body in garbage {
        for method in ["Search", "GetIndexStatus", "Generate", "ListRepositories"] {
            let status = if method == "Generate" {
                call_raw_streaming(&channel, method, body.to_vec()).await
            } else {
                call_raw(&channel, method, body.to_vec()).await.map(|_| ())
            };
            let status = assert_status(status, Code::InvalidArgument, &format!("garbage {body:?} to {method}"));
            assert!(status.message().contains("failed to decode"), "{status:?}");
        }
    }

    // The same connection still serves a valid hand-encoded request.
    let body = [repository, field_bytes(2, b"redirects")].concat();
    let answer = call_raw(&channel, "Search", body).await.expect("a valid Search after the malformed ones");
    assert!(!codectx_proto::v1::SearchResponse::decode(answer.as_slice()).expect("decodes").hits.is_empty());

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_past_the_decoding_limit_are_out_of_range() {
    // 16 MiB is the server's decoding limit (`MAX_DECODING_MESSAGE_SIZE`); tonic
    // refuses a larger message with OUT_OF_RANGE before decoding it.
    let server = TestServer::start(engine(shared_index().index_dir.clone())).await;
    let mut client = server.client().await;
    let huge = "x".repeat(codectx_server::MAX_DECODING_MESSAGE_SIZE + 1);
    let status = assert_status(client.get_context(context(&huge)).await, Code::OutOfRange, "a 16 MiB query");
    assert!(status.message().contains("message length too large"), "{status:?}");
    let status = assert_status(client.search(search(&huge)).await, Code::OutOfRange, "a 16 MiB Search query");
    assert!(status.message().contains("16777216"), "{status:?}");
    // Just under the limit, the message is decoded and the query cap applies.
    let big = "y".repeat(codectx_server::MAX_DECODING_MESSAGE_SIZE - 1024);
    let status = assert_status(client.search(search(&big)).await, Code::InvalidArgument, "a query of almost 16 MiB");
    assert!(status.message().contains("more than the limit of 65536"), "{status:?}");

    client.search(search("redirects")).await.expect("Search after the oversized messages");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_echoing_the_request_stay_on_one_line() {
    // Unknown names are NOT_FOUND; the message quotes what was asked for, which
    // may hold line breaks: they are escaped (`codectx_server::status::to_status`).
    let server = TestServer::start(engine(shared_index().index_dir.clone())).await;
    let mut client = server.client().await;
    let request = GetContextRequest { repository: "no\nsuch\r\nrepo".into(), ..context("redirects") };
    let status = assert_status(client.get_context(request).await, Code::NotFound, "unknown repository");
    assert_eq!(status.message(), "unknown repository: no\\nsuch\\r\\nrepo", "line breaks escaped");
    let request = GetSymbolGraphRequest { repository: REPO.into(), name: "no_such\nname".into(), ..Default::default() };
    assert_status(client.get_symbol_graph(request).await, Code::NotFound, "unknown symbol");
    let request = GetFileDependenciesRequest { repository: REPO.into(), path: "no/such\nfile.py".into() };
    assert_status(client.get_file_dependencies(request).await, Code::NotFound, "unknown file");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_paths_and_globs_over_their_limits_are_refused_with_short_messages() {
    // Names (repository, symbol, mode, model, page token, commit) are at most
    // 1 KiB, paths and globs 4 KiB: one byte more is INVALID_ARGUMENT naming the
    // limit, on every RPC, up to 10 MB; the message never quotes the field.
    use codectx_core::{MAX_NAME_BYTES, MAX_PATH_BYTES};
    use codectx_proto::v1::{AddRepositoryRequest, Freshness, GenerateRequest, ModelOptions, RemoveRepositoryRequest};

    let server = TestServer::start(engine(shared_index().index_dir.clone())).await;
    let mut client = server.client().await;
    let repo = || REPO.to_string();
    for (name_len, path_len) in [(MAX_NAME_BYTES + 1, MAX_PATH_BYTES + 1), (10_000_000, 10_000_000)] {
        let name = "n".repeat(name_len);
        let path = "p/".repeat(path_len / 2 + 1);
        let name_limit = format!("has {} bytes, more than the limit of {MAX_NAME_BYTES}", name.len());
        let path_limit = format!("has {} bytes, more than the limit of {MAX_PATH_BYTES}", path.len());
        let results: Vec<(&str, Result<(), Status>, &str)> = vec![
            (
                "GetContext repository",
                client
                    .get_context(GetContextRequest { repository: name.clone(), ..context("redirects") })
                    .await
                    .map(drop),
                &name_limit,
            ),
            (
                "GetContext mode",
                client.get_context(GetContextRequest { mode: name.clone(), ..context("redirects") }).await.map(drop),
                &name_limit,
            ),
            (
                "GetContext min_commit",
                client
                    .get_context(GetContextRequest {
                        freshness: Some(Freshness { min_commit: name.clone(), ..Default::default() }),
                        ..context("redirects")
                    })
                    .await
                    .map(drop),
                &name_limit,
            ),
            (
                "GetContext exclude glob",
                client
                    .get_context(GetContextRequest { filter: filter(&[], &[path.as_str()]), ..context("redirects") })
                    .await
                    .map(drop),
                &path_limit,
            ),
            (
                "Generate model",
                client
                    .generate(GenerateRequest {
                        repository: repo(),
                        instruction: "x".into(),
                        model: Some(ModelOptions { model: name.clone(), ..Default::default() }),
                        ..Default::default()
                    })
                    .await
                    .map(drop),
                &name_limit,
            ),
            (
                "Search include glob",
                client
                    .search(SearchRequest { filter: filter(&[path.as_str()], &[]), ..search("redirects") })
                    .await
                    .map(drop),
                &path_limit,
            ),
            (
                "GetSymbols name",
                client
                    .get_symbols(GetSymbolsRequest { repository: repo(), name: name.clone(), limit: 0 })
                    .await
                    .map(drop),
                &name_limit,
            ),
            (
                "GetReferences name",
                client
                    .get_references(GetReferencesRequest {
                        repository: repo(),
                        name: name.clone(),
                        ..Default::default()
                    })
                    .await
                    .map(drop),
                &name_limit,
            ),
            (
                "GetReferences page token",
                client
                    .get_references(GetReferencesRequest {
                        repository: repo(),
                        name: "send".into(),
                        page_token: name.clone(),
                        ..Default::default()
                    })
                    .await
                    .map(drop),
                &name_limit,
            ),
            (
                "GetSymbolGraph name",
                client
                    .get_symbol_graph(GetSymbolGraphRequest {
                        repository: repo(),
                        name: name.clone(),
                        ..Default::default()
                    })
                    .await
                    .map(drop),
                &name_limit,
            ),
            (
                "GetFileDependencies path",
                client
                    .get_file_dependencies(GetFileDependenciesRequest { repository: repo(), path: path.clone() })
                    .await
                    .map(drop),
                &path_limit,
            ),
            (
                "GetIndexStatus repository",
                client.get_index_status(GetIndexStatusRequest { repository: name.clone() }).await.map(drop),
                &name_limit,
            ),
            (
                "IndexRepository repository",
                client.index_repository(IndexRepositoryRequest { repository: name.clone() }).await.map(drop),
                &name_limit,
            ),
            (
                "AddRepository path",
                client.add_repository(AddRepositoryRequest { name: "new".into(), path: path.clone() }).await.map(drop),
                &path_limit,
            ),
            (
                "RemoveRepository name",
                client
                    .remove_repository(RemoveRepositoryRequest { name: name.clone(), delete_index: false })
                    .await
                    .map(drop),
                &name_limit,
            ),
        ];
        for (what, result, limit) in results {
            let status = assert_status(result, Code::InvalidArgument, &format!("{what} of {name_len} bytes"));
            assert!(status.message().contains(limit), "{what}: {status:?}");
            assert!(status.message().len() < 200, "{what}: a message of {} bytes", status.message().len());
        }
    }

    // At the limits, the fields are read: unknown names are NOT_FOUND, quoted as
    // their first 64 characters and their size.
    let name = "n".repeat(MAX_NAME_BYTES);
    let quoted = format!("{}… ({MAX_NAME_BYTES} bytes)", "n".repeat(64));
    let status = assert_status(
        client.get_context(GetContextRequest { repository: name.clone(), ..context("redirects") }).await,
        Code::NotFound,
        "a repository name of 1 KiB",
    );
    assert_eq!(status.message(), format!("unknown repository: {quoted}"));
    let status = assert_status(
        client
            .get_references(GetReferencesRequest { repository: repo(), name: name.clone(), ..Default::default() })
            .await,
        Code::NotFound,
        "a symbol name of 1 KiB",
    );
    assert_eq!(status.message(), format!("not found: no symbol named {quoted}"));
    let status = assert_status(
        client
            .get_symbol_graph(GetSymbolGraphRequest { repository: repo(), name: name.clone(), ..Default::default() })
            .await,
        Code::NotFound,
        "a graph root of 1 KiB",
    );
    assert_eq!(status.message(), format!("not found: no definition named {quoted}"));
    let path = format!("{}.py", "d/".repeat((MAX_PATH_BYTES - 3) / 2));
    let status = assert_status(
        client.get_file_dependencies(GetFileDependenciesRequest { repository: repo(), path: path.clone() }).await,
        Code::NotFound,
        "a path of 4 KiB",
    );
    assert!(
        status.message().len() < 200 && status.message().contains(&format!("({} bytes)", path.len())),
        "{status:?}"
    );
    let token = "9".repeat(MAX_NAME_BYTES);
    let status = assert_status(
        client
            .get_references(GetReferencesRequest {
                repository: repo(),
                name: "send".into(),
                page_token: token,
                page_size: 0,
            })
            .await,
        Code::InvalidArgument,
        "a page token of 1 KiB",
    );
    assert!(status.message().contains("malformed page token") && status.message().len() < 200, "{status:?}");

    client.search(search("redirects")).await.expect("Search after the long fields");
    server.stop().await;
}
