//! The gRPC server in-process over the fixture, called with the generated client:
//! every RPC, the status codes of the domain errors, health checking, shutdown.

use std::path::PathBuf;
use std::time::Duration;

use codectx_core::{Config, ModelConfig};
use codectx_proto::v1::code_context_client::CodeContextClient;
use codectx_proto::v1::{
    generate_event, index_event, GenerateRequest, GetContextRequest, GetFileDependenciesRequest, GetReferencesRequest,
    GetSymbolGraphRequest, GetSymbolsRequest, GraphDirection, IndexRepositoryRequest, ListRepositoriesRequest,
    SearchRequest, SymbolEdgeKind,
};
use codectx_service::{Engine, RepositorySpec};
use tonic::Code;

use crate::util::{self, fixture_root, line_of, shared_index, ModelStub, StubReply, TestServer};

const REPO: &str = "fixture";

fn engine(index_dir: PathBuf, model: ModelConfig) -> Engine {
    let config = Config { index: util::index_config(), model, ..Config::default() };
    let spec = RepositorySpec { name: REPO.into(), root: fixture_root(), index_dir: Some(index_dir) };
    Engine::new(vec![spec], config).expect("engine")
}

fn context_request(query: &str, budget: u32) -> GetContextRequest {
    GetContextRequest { repository: REPO.into(), query: query.into(), token_budget: budget, ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_every_rpc_over_the_fixture() {
    let index_dir = util::temp_dir();
    let stub = ModelStub::start(StubReply::Stream(vec!["Redirects ".into(), "are followed.".into()]));
    let model = ModelConfig {
        model: Some("test-model".into()),
        base_url: Some(stub.base_url.clone()),
        ..ModelConfig::default()
    };
    let server = TestServer::start(engine(index_dir.path().to_path_buf(), model)).await;
    let mut client = server.client().await;

    // Before indexing: listed, not indexed.
    let listed = client.list_repositories(ListRepositoriesRequest {}).await.expect("ListRepositories").into_inner();
    assert_eq!(listed.repositories.len(), 1);
    assert!(!listed.repositories[0].indexed);

    // IndexRepository streams progress, then the stats.
    let mut events = client
        .index_repository(IndexRepositoryRequest { repository: REPO.into() })
        .await
        .expect("IndexRepository")
        .into_inner();
    let mut progress = 0;
    let mut done = None;
    while let Some(event) = events.message().await.expect("index event") {
        assert!(done.is_none(), "nothing follows the done event");
        match event.event.expect("event set") {
            index_event::Event::Progress(step) => {
                assert!(!step.phase.is_empty());
                progress += 1;
            }
            index_event::Event::Done(stats) => done = Some(stats),
        }
    }
    let stats = done.expect("a done event with the stats");
    assert!(progress > 0, "progress events come before done");
    assert_eq!(stats.files, shared_index().stats.files);
    assert_eq!(stats.generation, 1);
    assert_eq!((stats.skipped_binary, stats.skipped_too_large, stats.invalid_utf8), (1, 1, 1));

    let listed = client.list_repositories(ListRepositoriesRequest {}).await.expect("ListRepositories").into_inner();
    let repository = &listed.repositories[0];
    assert_eq!(repository.name, REPO);
    assert!(repository.indexed);
    assert_eq!(repository.files, stats.files);
    assert_eq!(repository.symbols, stats.symbols);
    assert_eq!(repository.fingerprint.len(), 16);
    assert_eq!(PathBuf::from(&repository.root), fixture_root().canonicalize().unwrap());

    // GetContext.
    let bundle = client
        .get_context(context_request("How does Session.resolve_redirects follow redirects?", 2000))
        .await
        .expect("GetContext")
        .into_inner();
    assert!(!bundle.blocks.is_empty());
    assert_eq!(bundle.blocks[0].path, "pyapp/sessions.py");
    assert!(bundle.tokens_used > 0 && bundle.tokens_used <= 2000, "tokens_used {}", bundle.tokens_used);
    assert_eq!(bundle.token_budget, 2000);
    assert_eq!(bundle.fingerprint, repository.fingerprint);
    assert_eq!(bundle.files[0].path, "pyapp/sessions.py");
    assert_eq!(bundle.files[0].language, "python");
    for block in &bundle.blocks {
        assert!(["code", "signature", "related", "repo_map"].contains(&block.kind.as_str()), "kind {:?}", block.kind);
        assert!(block.start_line >= 1 && block.start_line <= block.end_line);
        if block.kind == "related" || block.kind == "repo_map" {
            continue; // expansion blocks were not found by a signal
        }
        assert!(!block.signals.is_empty(), "every retrieved block says which signals found it");
        for hit in &block.signals {
            assert!(
                ["bm25", "symbol", "path", "stack_trace", "error_message", "graph", "vector"]
                    .contains(&hit.signal.as_str()),
                "{}",
                hit.signal
            );
            assert!(hit.rank >= 1);
        }
    }
    let sum: u32 = bundle.blocks.iter().map(|block| block.tokens).sum();
    assert_eq!(sum, bundle.tokens_used);
    let method_line = line_of("pyapp/sessions.py", "def resolve_redirects(self, response):");
    let resolve = bundle
        .blocks
        .iter()
        .find(|block| {
            block.path == "pyapp/sessions.py" && block.start_line <= method_line && method_line <= block.end_line
        })
        .expect("a block holds the method");
    assert!(resolve.text.contains("def resolve_redirects(self, response):"));
    // Budget 0 is the server default.
    let default = client.get_context(context_request("redirects", 0)).await.expect("GetContext").into_inner();
    assert_eq!(default.token_budget, 8000);

    // Generate: context first, then tokens, done last with the sources.
    let mut stream = client
        .generate(GenerateRequest {
            repository: REPO.into(),
            instruction: "Explain how redirects are followed.".into(),
            token_budget: 1500,
            model: None,
            filter: None,
            mode: String::new(),
            freshness: None,
        })
        .await
        .expect("Generate")
        .into_inner();
    let mut kinds = Vec::new();
    let mut answer = String::new();
    let mut context_tokens = 0;
    let mut finished = None;
    while let Some(event) = stream.message().await.expect("generate event") {
        match event.event.expect("event set") {
            generate_event::Event::Context(context) => {
                kinds.push("context");
                assert!(!context.blocks.is_empty());
                assert!(context.tokens_used <= 1500);
                context_tokens = context.tokens_used;
            }
            generate_event::Event::Token(token) => {
                kinds.push("token");
                answer.push_str(&token);
            }
            generate_event::Event::Done(done) => {
                kinds.push("done");
                finished = Some(done);
            }
        }
    }
    assert_eq!(kinds.first(), Some(&"context"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"done"), "{kinds:?}");
    assert_eq!(answer, "Redirects are followed.");
    let finished = finished.unwrap();
    assert!(finished.sources.iter().any(|source| source.starts_with("pyapp/sessions.py:")), "{:?}", finished.sources);
    let usage = finished.usage.expect("usage");
    assert_eq!(usage.context_tokens, context_tokens);
    assert!(usage.completion_tokens > 0);
    let request = stub.next_request();
    assert_eq!(request.body["model"], "test-model");
    assert_eq!(request.body["stream"], true);
    assert!(request.messages_of("user").contains("pyapp/sessions.py:"), "{}", request.body);

    // Search.
    let hits = client
        .search(SearchRequest {
            repository: REPO.into(),
            query: "resolve_redirects".into(),
            limit: 3,
            filter: None,
            mode: String::new(),
        })
        .await
        .expect("Search")
        .into_inner()
        .hits;
    assert!(!hits.is_empty() && hits.len() <= 3, "{} hits", hits.len());
    assert_eq!(hits[0].path, "pyapp/sessions.py");
    assert_eq!(hits[0].symbol, "Session.resolve_redirects");
    assert_eq!(hits[0].symbol_kind, "method");
    assert_eq!(hits[0].start_line, line_of("pyapp/sessions.py", "def resolve_redirects(self, response):"));
    assert!(hits[0].preview.contains("def resolve_redirects"));
    let many = client
        .search(SearchRequest {
            repository: REPO.into(),
            query: "session request response".into(),
            limit: 0,
            filter: None,
            mode: String::new(),
        })
        .await
        .expect("Search")
        .into_inner()
        .hits;
    assert!(many.len() > 3 && many.len() <= 20, "limit 0 means 20: {}", many.len());

    // GetSymbols.
    let symbols = client
        .get_symbols(GetSymbolsRequest { repository: REPO.into(), name: "Server.Start".into(), limit: 0 })
        .await
        .expect("GetSymbols")
        .into_inner()
        .symbols;
    assert_eq!(symbols.len(), 1, "{symbols:?}");
    let start = &symbols[0];
    assert_eq!(
        (start.path.as_str(), start.kind.as_str(), start.language.as_str()),
        ("goapp/server/server.go", "method", "go")
    );
    assert_eq!(start.qualified_name, "Server.Start");
    let line = line_of("goapp/server/server.go", "func (s *Server) Start() error {");
    assert_eq!((start.start_line, start.end_line), (line, line + 2));
    assert!(start.end_byte > start.start_byte);
    assert!(start.signature.contains("Start()"), "{}", start.signature);
    assert!(start.doc.contains("begins listening"), "{}", start.doc);
    let rust = client
        .get_symbols(GetSymbolsRequest { repository: REPO.into(), name: "walk::Walker::new".into(), limit: 5 })
        .await
        .expect("GetSymbols")
        .into_inner()
        .symbols;
    assert_eq!(rust.len(), 1);
    assert_eq!((rust[0].path.as_str(), rust[0].language.as_str()), ("rustlib/src/walk.rs", "rust"));

    // GetReferences: the definition, the use in Session.resolve_redirects (its
    // caller), and paging.
    let references = client
        .get_references(GetReferencesRequest {
            repository: REPO.into(),
            name: "join_location".into(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .expect("GetReferences")
        .into_inner();
    assert_eq!(references.definitions.len(), 1);
    assert_eq!(references.definitions[0].path, "pyapp/utils.py");
    let use_line = line_of("pyapp/sessions.py", "location = utils.join_location(");
    let site = references
        .references
        .iter()
        .find(|site| site.path == "pyapp/sessions.py")
        .unwrap_or_else(|| panic!("the use in sessions.py: {references:?}"));
    assert_eq!(site.line, use_line);
    assert_eq!(site.enclosing, "Session.resolve_redirects");
    assert!(site.text.starts_with("location = utils.join_location("), "{}", site.text);
    assert!(references.callers.iter().any(|caller| caller.qualified_name == "Session.resolve_redirects"));
    let first_page = client
        .get_references(GetReferencesRequest {
            repository: REPO.into(),
            name: "join_location".into(),
            page_size: 1,
            page_token: String::new(),
        })
        .await
        .expect("GetReferences page 1")
        .into_inner();
    assert_eq!(first_page.references.len(), 1);
    if references.total_references > 1 {
        assert_eq!(first_page.next_page_token, "1");
    } else {
        assert!(first_page.next_page_token.is_empty());
    }
    let callees = client
        .get_references(GetReferencesRequest {
            repository: REPO.into(),
            name: "Session.resolve_redirects".into(),
            page_size: 10,
            page_token: String::new(),
        })
        .await
        .expect("GetReferences of resolve_redirects")
        .into_inner();
    assert!(callees.callees.iter().any(|callee| callee.qualified_name == "join_location"), "{:?}", callees.callees);
    let missing = client
        .get_references(GetReferencesRequest {
            repository: REPO.into(),
            name: "no_such_name_anywhere".into(),
            page_size: 0,
            page_token: String::new(),
        })
        .await
        .expect_err("unknown name");
    assert_eq!(missing.code(), tonic::Code::NotFound);
    let bad_token = client
        .get_references(GetReferencesRequest {
            repository: REPO.into(),
            name: "join_location".into(),
            page_size: 0,
            page_token: "x".into(),
        })
        .await
        .expect_err("malformed token");
    assert_eq!(bad_token.code(), tonic::Code::InvalidArgument);

    // GetSymbolGraph: two hops around Session.send — its callers (get, post), its
    // callee resolve_redirects, and that one's callee join_location in utils.py.
    let graph = client
        .get_symbol_graph(GetSymbolGraphRequest {
            repository: REPO.into(),
            name: "Session.send".into(),
            depth: 2,
            direction: 0,
            max_nodes: 0,
        })
        .await
        .expect("GetSymbolGraph")
        .into_inner();
    let node = |name: &str| {
        graph
            .nodes
            .iter()
            .find(|node| node.symbol.as_ref().is_some_and(|symbol| symbol.qualified_name == name))
            .unwrap_or_else(|| panic!("node {name} in {graph:?}"))
    };
    assert_eq!(node("Session.send").depth, 0);
    assert_eq!(node("Session.resolve_redirects").depth, 1);
    assert_eq!(node("join_location").depth, 2);
    assert_eq!(node("join_location").symbol.as_ref().unwrap().path, "pyapp/utils.py");
    let calls = |from: &str, to: &str| {
        graph.edges.iter().any(|edge| {
            edge.from == node(from).id && edge.to == node(to).id && edge.kind == SymbolEdgeKind::Calls as i32
        })
    };
    assert!(calls("Session.get", "Session.send"), "{graph:?}");
    assert!(calls("Session.send", "Session.resolve_redirects"), "{graph:?}");
    assert!(calls("Session.resolve_redirects", "join_location"), "{graph:?}");
    assert!(!graph.truncated);
    let callers_only = client
        .get_symbol_graph(GetSymbolGraphRequest {
            repository: REPO.into(),
            name: "join_location".into(),
            depth: 1,
            direction: GraphDirection::Callers as i32,
            max_nodes: 0,
        })
        .await
        .expect("GetSymbolGraph callers")
        .into_inner();
    let names: Vec<&str> =
        callers_only.nodes.iter().filter_map(|node| node.symbol.as_ref()).map(|s| s.qualified_name.as_str()).collect();
    assert_eq!(names, ["join_location", "Session.resolve_redirects"]);
    let capped = client
        .get_symbol_graph(GetSymbolGraphRequest {
            repository: REPO.into(),
            name: "Session.send".into(),
            depth: 2,
            direction: 0,
            max_nodes: 2,
        })
        .await
        .expect("GetSymbolGraph capped")
        .into_inner();
    assert_eq!(capped.nodes.len(), 2);
    assert!(capped.truncated);
    for (depth, max_nodes, direction) in [(4, 0, 0), (1, 501, 0), (1, 0, 7)] {
        let error = client
            .get_symbol_graph(GetSymbolGraphRequest {
                repository: REPO.into(),
                name: "Session.send".into(),
                depth,
                direction,
                max_nodes,
            })
            .await
            .expect_err("out of range");
        assert_eq!(error.code(), tonic::Code::InvalidArgument, "{error:?}");
    }

    // GetFileDependencies: imports out and in.
    let deps = client
        .get_file_dependencies(GetFileDependenciesRequest { repository: REPO.into(), path: "pyapp/sessions.py".into() })
        .await
        .expect("GetFileDependencies")
        .into_inner();
    assert_eq!(deps.path, "pyapp/sessions.py");
    let models = deps.imports.iter().find(|edge| edge.to_path == "pyapp/models.py").expect("import of models");
    assert_eq!(models.line, line_of("pyapp/sessions.py", "from .models import Request"));
    assert_eq!(models.from_path, "pyapp/sessions.py");
    assert!(
        deps.imports.iter().any(|edge| edge.module == "logging" && edge.to_path.is_empty()),
        "external imports have no to_path"
    );
    let importers: Vec<&str> = deps.imported_by.iter().map(|edge| edge.from_path.as_str()).collect();
    assert!(importers.contains(&"tests/test_sessions.py") && importers.contains(&"pyapp/__init__.py"), "{importers:?}");
    assert!(deps.imported_by.iter().all(|edge| edge.to_path == "pyapp/sessions.py"));

    // Re-indexing an unchanged repository keeps the generation.
    let mut events =
        client.index_repository(IndexRepositoryRequest { repository: REPO.into() }).await.unwrap().into_inner();
    let mut last = None;
    while let Some(event) = events.message().await.unwrap() {
        last = event.event;
    }
    match last {
        Some(index_event::Event::Done(again)) => {
            assert_eq!((again.parsed, again.generation), (0, 1));
        }
        other => panic!("the last event is done, got {other:?}"),
    }

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maps_domain_errors_to_grpc_status_codes() {
    let server = TestServer::start(engine(shared_index().index_dir.clone(), ModelConfig::default())).await;
    let mut client = server.client().await;

    let mut unknown = context_request("redirects", 0);
    unknown.repository = "nope".into();
    let status = client.get_context(unknown).await.expect_err("unknown repository");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert!(status.message().contains("nope"), "{status:?}");
    let status = client
        .index_repository(IndexRepositoryRequest { repository: "nope".into() })
        .await
        .expect_err("unknown repository");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");

    let status = client.get_context(context_request("", 0)).await.expect_err("empty query");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("empty"), "{status:?}");
    let status = client
        .search(SearchRequest {
            repository: REPO.into(),
            query: "  ".into(),
            limit: 5,
            filter: None,
            mode: String::new(),
        })
        .await
        .expect_err("blank query");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let status = client.get_context(context_request("redirects", 10)).await.expect_err("budget too small");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let status = client
        .get_symbols(GetSymbolsRequest { repository: REPO.into(), name: String::new(), limit: 0 })
        .await
        .expect_err("empty name");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");

    let status = client
        .get_file_dependencies(GetFileDependenciesRequest { repository: REPO.into(), path: "no/such/file.py".into() })
        .await
        .expect_err("unknown file");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert!(status.message().contains("no/such/file.py"), "{status:?}");

    if std::env::var_os("CODECTX_MODEL").is_none() {
        let status = client
            .generate(GenerateRequest {
                repository: REPO.into(),
                instruction: "explain redirects".into(),
                token_budget: 0,
                model: None,
                filter: None,
                mode: String::new(),
                freshness: None,
            })
            .await
            .expect_err("no model configured");
        assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
        assert!(status.message().contains("no model configured"), "{status:?}");
    } else {
        eprintln!("CODECTX_MODEL is set in this environment: skipping the no-model check");
    }

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repository_without_an_index_is_a_failed_precondition() {
    let empty = util::temp_dir();
    let server = TestServer::start(engine(empty.path().to_path_buf(), ModelConfig::default())).await;
    let mut client = server.client().await;
    let status = client.get_context(context_request("redirects", 0)).await.expect_err("no index");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(status.message().contains("codectx index"), "{status:?}");
    server.stop().await;
}

/// `[retrieval] default_budget` is the budget of a GetContext without one (it
/// once changed only the CLI: the adapter put 8000 in its place).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_without_a_budget_gets_the_configured_default() {
    let mut config = Config { index: util::index_config(), ..Config::default() };
    config.retrieval.default_budget = 3000;
    config.embed.provider = codectx_core::EmbedProvider::None;
    let spec =
        RepositorySpec { name: REPO.into(), root: fixture_root(), index_dir: Some(shared_index().index_dir.clone()) };
    let server = TestServer::start(Engine::new(vec![spec], config).expect("engine")).await;
    let mut client = server.client().await;
    let bundle = client.get_context(context_request("redirects", 0)).await.expect("GetContext").into_inner();
    assert_eq!(bundle.token_budget, 3000);
    assert!(bundle.tokens_used <= 3000);
    let bundle = client.get_context(context_request("redirects", 1200)).await.expect("GetContext").into_inner();
    assert_eq!(bundle.token_budget, 1200, "a request's own budget wins");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_check_reports_serving_and_shutdown_is_graceful() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::HealthCheckRequest;

    let server = TestServer::start(engine(shared_index().index_dir.clone(), ModelConfig::default())).await;
    let mut health = HealthClient::new(server.channel().await);
    for service in ["", "codectx.v1.CodeContext"] {
        let response = health
            .check(HealthCheckRequest { service: service.into() })
            .await
            .unwrap_or_else(|status| panic!("health check of {service:?}: {status:?}"))
            .into_inner();
        assert_eq!(response.status, ServingStatus::Serving as i32, "service {service:?}");
    }
    let addr = server.addr;
    server.stop().await;
    let refused = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .await;
    assert!(refused.is_err(), "the server no longer accepts connections after shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_serve_command_serves_configured_repositories_and_stops_on_sigterm() {
    let dir = util::temp_dir();
    let config = util::fixture_serve_config(dir.path(), REPO);
    let util::ServeProcess { mut child, serving, addr, stderr: receiver } = util::spawn_serve(&config);
    assert!(serving.starts_with("codectx: serving 1 repositories on 127.0.0.1:"), "{serving}");

    let channel =
        tonic::transport::Endpoint::from_shared(format!("http://{addr}")).unwrap().connect().await.expect("connect");
    let mut client = CodeContextClient::new(channel);
    let bundle = client
        .get_context(context_request("where is the Go server started?", 1000))
        .await
        .expect("GetContext")
        .into_inner();
    assert_eq!(bundle.files[0].path, "goapp/server/server.go");
    assert_eq!(bundle.fingerprint, shared_index().snapshot.manifest().fingerprint);
    drop(client);

    let killed =
        std::process::Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().expect("kill -TERM");
    assert!(killed.success());
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "codectx serve stops within 10 s of SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "a graceful shutdown exits 0: {status}");
    // The reader thread ends at the end of stderr.
    let mut rest = Vec::new();
    while let Ok(line) = receiver.recv_timeout(Duration::from_secs(5)) {
        rest.push(line);
    }
    assert!(rest.iter().any(|line| line == "codectx: shut down"), "stderr after SIGTERM: {rest:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saturated_server_sheds_load_with_resource_exhausted_and_recovers() {
    // A Generate call on a model that never answers stays in flight.
    let model = util::black_hole_model();
    let options = codectx_server::ServeOptions { max_in_flight: 1, ..Default::default() };
    let server = TestServer::start_with(engine(shared_index().index_dir.clone(), model), options).await;
    let addr = server.addr;
    let mut client = server.client().await;

    // Retried while one of the probes below holds the only place.
    let stuck = util::stuck_generate(client.clone(), REPO);
    // While it is in flight, the next call is shed at once.
    let waiting = std::time::Instant::now();
    let shed = loop {
        assert!(waiting.elapsed() < Duration::from_secs(30), "Generate is admitted within 30 s");
        match client.get_context(context_request("redirects", 500)).await {
            Err(status) if status.code() == Code::ResourceExhausted => break status,
            Ok(_) => {
                // Generate not admitted yet.
                assert!(!stuck.is_finished(), "the Generate call ended: {:?}", stuck.await);
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            Err(status) => panic!("unexpected {status:?}"),
        }
    };
    assert!(shed.message().contains("limit of 1 calls in flight"), "{}", shed.message());
    // Health checks are not limited.
    let mut health = tonic_health::pb::health_client::HealthClient::new(
        tonic::transport::Endpoint::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap(),
    );
    health.check(tonic_health::pb::HealthCheckRequest { service: String::new() }).await.expect("health");
    // The client gives up on the stuck call: its place is freed and calls succeed again.
    stuck.abort();
    let started = std::time::Instant::now();
    loop {
        match client.get_context(context_request("redirects", 500)).await {
            Ok(bundle) => {
                assert!(!bundle.into_inner().blocks.is_empty());
                break;
            }
            Err(status) if status.code() == Code::ResourceExhausted => {
                assert!(started.elapsed() < Duration::from_secs(10), "the place is freed within 10 s");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(status) => panic!("unexpected {status:?}"),
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_over_tls_from_cert_and_key_files() {
    codectx_server::install_crypto_provider();
    let tls_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls");
    let cert = std::fs::read(tls_dir.join("server.crt")).unwrap();
    let key = std::fs::read(tls_dir.join("server.key")).unwrap();
    let options = codectx_server::ServeOptions { tls: Some((cert, key)), ..Default::default() };
    let server =
        TestServer::start_with(engine(shared_index().index_dir.clone(), ModelConfig::default()), options).await;
    let addr = server.addr;

    // A client that trusts the certificate gets answers over TLS.
    let ca = std::fs::read(tls_dir.join("ca.crt")).unwrap();
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(&ca))
        .domain_name("localhost");
    let channel = tonic::transport::Endpoint::from_shared(format!("https://localhost:{}", addr.port()))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .expect("TLS connection");
    let listed = CodeContextClient::new(channel)
        .list_repositories(ListRepositoriesRequest {})
        .await
        .expect("ListRepositories over TLS")
        .into_inner();
    assert_eq!(listed.repositories[0].name, REPO);

    // A plaintext client gets nothing.
    let plaintext = async {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(2))
            .connect()
            .await
            .map_err(|error| error.to_string())?;
        CodeContextClient::new(channel)
            .list_repositories(ListRepositoriesRequest {})
            .await
            .map_err(|status| status.to_string())
    };
    assert!(plaintext.await.is_err(), "plaintext must not be served");
    // A client that does not trust the certificate is refused.
    let untrusting = tonic::transport::Endpoint::from_shared(format!("https://localhost:{}", addr.port()))
        .unwrap()
        .tls_config(tonic::transport::ClientTlsConfig::new().domain_name("localhost"))
        .unwrap()
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .await;
    assert!(untrusting.is_err(), "an unknown issuer is refused");
    server.stop().await;
}
