//! The adapter through a real server on a loopback port, with the generated client,
//! over a fake domain service.

use std::net::SocketAddr;
use std::sync::Arc;

use codectx_core::{
    validate_query, Block, BlockKind, ContextBundle, ContextRequest, DependencyEdge, Error, FileDependencies,
    GenerateEvent, GenerateRequest, IndexEvent, IndexProgress, IndexStats, Language, RankedFile, RepositoryInfo,
    Result, SearchHit, SearchRequest, Signal, SignalHit, Span, SymbolInfo, SymbolKind, Usage,
};
use codectx_proto::v1 as pb;
use codectx_proto::v1::code_context_client::CodeContextClient;
use codectx_service::{BoxFuture, ContextService, ResultStream};
use futures::StreamExt;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tonic::Code;

use crate::convert::FromProto;

/// Serves `demo` and `failing` (whose streams fail midway); any other name is unknown.
struct Fake;

fn known(repository: &str) -> Result<()> {
    match repository {
        "demo" | "failing" => Ok(()),
        other => Err(Error::UnknownRepository(other.to_string())),
    }
}

fn bundle(budget: usize) -> ContextBundle {
    ContextBundle {
        blocks: vec![Block {
            path: "src/sessions.py".into(),
            start_line: 10,
            end_line: 20,
            symbol: "Session.send".into(),
            kind: BlockKind::Code,
            score: 0.5,
            signals: vec![SignalHit { signal: Signal::Bm25, rank: 1, score: 9.0 }],
            tokens: 40,
            text: "def send(self, request):\n    pass\n".into(),
        }],
        files: vec![RankedFile { path: "src/sessions.py".into(), score: 0.5, language: Language::Python }],
        tokens_used: 40,
        token_budget: budget as u32,
        fingerprint: "0123456789abcdef".into(),
        commit: String::new(),
        vector_coverage: None,
    }
}

fn stats() -> IndexStats {
    IndexStats { files: 3, chunks: 9, symbols: 5, generation: 2, unreadable: 1, ..IndexStats::default() }
}

impl ContextService for Fake {
    fn get_context(&self, repository: &str, request: ContextRequest) -> BoxFuture<'_, Result<ContextBundle>> {
        let repository = repository.to_string();
        Box::pin(async move {
            known(&repository)?;
            // As the engine does: 0 is the configured default (here 8000).
            let mut request = request;
            if request.token_budget == 0 {
                request.token_budget = 8000;
            }
            request.validate()?;
            let mut answer = bundle(request.token_budget);
            answer.files.truncate(request.max_files.max(1));
            Ok(answer)
        })
    }

    fn generate(
        &self,
        repository: &str,
        request: GenerateRequest,
    ) -> BoxFuture<'_, Result<ResultStream<GenerateEvent>>> {
        let repository = repository.to_string();
        Box::pin(async move {
            known(&repository)?;
            let mut request = request;
            if request.context.token_budget == 0 {
                request.context.token_budget = 8000;
            }
            request.context.validate()?;
            let model = request.model.model.unwrap_or_else(|| "default-model".into());
            let mut events: Vec<Result<GenerateEvent>> = vec![
                Ok(GenerateEvent::Context(bundle(request.context.token_budget))),
                Ok(GenerateEvent::Token(format!("[{model}] "))),
                Ok(GenerateEvent::Token("answer".into())),
            ];
            if repository == "failing" {
                events.push(Err(Error::ModelEndpoint {
                    url: "http://model/v1/chat/completions".into(),
                    reason: "HTTP 502".into(),
                }));
                // Anything after an error must not reach the client.
                events.push(Ok(GenerateEvent::Token("after the error".into())));
            } else {
                events.push(Ok(GenerateEvent::Done {
                    sources: vec!["src/sessions.py:10-20".into()],
                    usage: Usage { context_tokens: 40, prompt_tokens: 100, completion_tokens: 2 },
                }));
            }
            Ok(futures::stream::iter(events).boxed())
        })
    }

    fn search(&self, repository: &str, request: SearchRequest) -> BoxFuture<'_, Result<Vec<SearchHit>>> {
        let repository = repository.to_string();
        Box::pin(async move {
            known(&repository)?;
            validate_query(&request.query)?;
            Ok(vec![SearchHit {
                path: "src/sessions.py".into(),
                span: Span { start_byte: 0, end_byte: 0, start_line: 10, end_line: 20 },
                symbol: "Session.send".into(),
                symbol_kind: Some(SymbolKind::Method),
                score: 0.5,
                signals: Vec::new(),
                // Echo what the adapter passed, for the tests to check.
                preview: format!("limit={} include={:?}", request.limit, request.filter.include),
            }])
        })
    }

    fn references(
        &self,
        repository: &str,
        name: &str,
        page_size: usize,
        page_token: &str,
    ) -> BoxFuture<'_, Result<codectx_core::References>> {
        let (repository, name, page_token) = (repository.to_string(), name.to_string(), page_token.to_string());
        Box::pin(async move {
            known(&repository)?;
            Ok(codectx_core::References {
                references: vec![codectx_core::ReferenceSite {
                    path: "src/api.py".into(),
                    line: 3,
                    enclosing: "get".into(),
                    text: format!("{name}() # page {page_size} {page_token}"),
                }],
                total_references: 1,
                ..Default::default()
            })
        })
    }

    fn symbols(&self, repository: &str, name: &str, limit: usize) -> BoxFuture<'_, Result<Vec<SymbolInfo>>> {
        let (repository, name) = (repository.to_string(), name.to_string());
        Box::pin(async move {
            known(&repository)?;
            Ok(vec![SymbolInfo {
                name: name.rsplit('.').next().unwrap_or(&name).to_string(),
                qualified_name: name.clone(),
                kind: SymbolKind::Method,
                path: "src/sessions.py".into(),
                span: Span { start_byte: 5, end_byte: 50, start_line: 10, end_line: 20 },
                signature: "def send(self, request)".into(),
                doc: format!("limit={limit}"),
                language: Language::Python,
            }])
        })
    }

    fn symbol_graph(
        &self,
        repository: &str,
        request: codectx_core::SymbolGraphRequest,
    ) -> BoxFuture<'_, Result<codectx_core::SymbolGraph>> {
        let repository = repository.to_string();
        Box::pin(async move {
            known(&repository)?;
            Err(Error::NotFound(format!("no definition named {}", request.name)))
        })
    }

    fn file_dependencies(&self, repository: &str, path: &str) -> BoxFuture<'_, Result<FileDependencies>> {
        let (repository, path) = (repository.to_string(), path.to_string());
        Box::pin(async move {
            known(&repository)?;
            if path != "src/sessions.py" {
                return Err(Error::NotFound(format!("file {path} is not indexed")));
            }
            Ok(FileDependencies {
                path: path.clone(),
                imports: vec![DependencyEdge {
                    from_path: path.clone(),
                    to_path: "src/models.py".into(),
                    module: ".models".into(),
                    line: 3,
                }],
                imported_by: Vec::new(),
            })
        })
    }

    fn index(&self, repository: &str) -> BoxFuture<'_, Result<ResultStream<IndexEvent>>> {
        let repository = repository.to_string();
        Box::pin(async move {
            known(&repository)?;
            let progress =
                |phase: &str, done| Ok(IndexEvent::Progress(IndexProgress { phase: phase.into(), done, total: 3 }));
            let last = if repository == "failing" {
                Err(Error::Busy(repository.clone()))
            } else {
                Ok(IndexEvent::Done(Box::new(stats())))
            };
            Ok(futures::stream::iter(vec![progress("walk", 3), progress("parse", 3), last]).boxed())
        })
    }

    fn add_repository(&self, name: &str, _: &str) -> BoxFuture<'_, Result<RepositoryInfo>> {
        let name = name.to_string();
        Box::pin(async move { Err(Error::PermissionDenied(name)) })
    }

    fn remove_repository(&self, name: &str, _: bool) -> BoxFuture<'_, Result<()>> {
        let name = name.to_string();
        Box::pin(async move { Err(Error::UnknownRepository(name)) })
    }

    fn index_status(&self, repository: &str) -> BoxFuture<'_, Result<codectx_core::IndexStatus>> {
        let name = repository.to_string();
        Box::pin(async move { Err(Error::UnknownRepository(name)) })
    }

    fn list_repositories(&self) -> BoxFuture<'_, Result<Vec<RepositoryInfo>>> {
        Box::pin(async move {
            Ok(vec![RepositoryInfo {
                name: "demo".into(),
                root: "/src/demo".into(),
                indexed: true,
                fingerprint: "0123456789abcdef".into(),
                commit: "c0ffee".into(),
                files: 3,
                chunks: 9,
                symbols: 5,
            }])
        })
    }
}

/// A server on a loopback port: its address, the shutdown trigger, the serve task.
struct Running {
    address: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<()>>,
}

impl Running {
    async fn start() -> Running {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (sender, receiver) = oneshot::channel::<()>();
        let task = tokio::spawn(crate::serve(Arc::new(Fake), listener, async move {
            let _ = receiver.await;
        }));
        Running { address, shutdown: Some(sender), task }
    }

    async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.address)).unwrap().connect().await.unwrap()
    }

    async fn client(&self) -> CodeContextClient<Channel> {
        CodeContextClient::new(self.channel().await)
    }

    async fn stop(mut self) {
        self.shutdown.take().unwrap().send(()).unwrap();
        let result = tokio::time::timeout(std::time::Duration::from_secs(10), self.task).await;
        result.expect("the server drains and stops").unwrap().unwrap();
    }
}

fn context_request(repository: &str, query: &str) -> pb::GetContextRequest {
    pb::GetContextRequest { repository: repository.into(), query: query.into(), ..Default::default() }
}

#[tokio::test]
async fn unary_rpcs_answer_converted_data() {
    let server = Running::start().await;
    let mut client = server.client().await;

    let answer = client.get_context(context_request("demo", "how is a request sent?")).await.unwrap().into_inner();
    let answer = ContextBundle::from_proto(answer).unwrap();
    assert_eq!(answer, bundle(8000), "token_budget 0 means 8000");

    let mut request = context_request("demo", "q");
    request.token_budget = 1000;
    let answer = client.get_context(request).await.unwrap().into_inner();
    assert_eq!(answer.token_budget, 1000);

    let hits = client
        .search(pb::SearchRequest {
            repository: "demo".into(),
            query: "send".into(),
            limit: 0,
            filter: Some(pb::PathFilter { include: vec!["src/**".into()], exclude: Vec::new() }),
            mode: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .hits;
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].preview, "limit=20 include=[\"src/**\"]");
    assert_eq!((hits[0].symbol_kind.as_str(), hits[0].start_line, hits[0].end_line), ("method", 10, 20));

    let symbols = client
        .get_symbols(pb::GetSymbolsRequest { repository: "demo".into(), name: "Session.send".into(), limit: 0 })
        .await
        .unwrap()
        .into_inner()
        .symbols;
    let symbol = SymbolInfo::from_proto(symbols[0].clone()).unwrap();
    assert_eq!((symbol.name.as_str(), symbol.qualified_name.as_str()), ("send", "Session.send"));
    assert_eq!(symbol.doc, "limit=50");
    assert_eq!(symbol.span, Span { start_byte: 5, end_byte: 50, start_line: 10, end_line: 20 });

    let dependencies = client
        .get_file_dependencies(pb::GetFileDependenciesRequest {
            repository: "demo".into(),
            path: "src/sessions.py".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(dependencies.imports[0].to_path, "src/models.py");
    assert_eq!(dependencies.imports[0].line, 3);

    let repositories =
        client.list_repositories(pb::ListRepositoriesRequest {}).await.unwrap().into_inner().repositories;
    assert_eq!(repositories.len(), 1);
    assert_eq!((repositories[0].name.as_str(), repositories[0].commit.as_str()), ("demo", "c0ffee"));
    assert!(repositories[0].indexed);

    server.stop().await;
}

#[tokio::test]
async fn streaming_rpcs_stream_events_in_order() {
    let server = Running::start().await;
    let mut client = server.client().await;

    let request = pb::GenerateRequest {
        repository: "demo".into(),
        instruction: "explain send".into(),
        token_budget: 0,
        model: Some(pb::ModelOptions { model: "m1".into(), max_tokens: 0, temperature: None }),
        filter: None,
        mode: String::new(),
        freshness: None,
    };
    let events: Vec<GenerateEvent> = client
        .generate(request)
        .await
        .unwrap()
        .into_inner()
        .map(|event| GenerateEvent::from_proto(event.unwrap()).unwrap())
        .collect()
        .await;
    assert_eq!(
        events,
        vec![
            GenerateEvent::Context(bundle(8000)),
            GenerateEvent::Token("[m1] ".into()),
            GenerateEvent::Token("answer".into()),
            GenerateEvent::Done {
                sources: vec!["src/sessions.py:10-20".into()],
                usage: Usage { context_tokens: 40, prompt_tokens: 100, completion_tokens: 2 },
            },
        ]
    );

    let events: Vec<IndexEvent> = client
        .index_repository(pb::IndexRepositoryRequest { repository: "demo".into() })
        .await
        .unwrap()
        .into_inner()
        .map(|event| IndexEvent::from_proto(event.unwrap()).unwrap())
        .collect()
        .await;
    assert_eq!(events.len(), 3);
    assert!(matches!(&events[0], IndexEvent::Progress(progress) if progress.phase == "walk"));
    assert_eq!(events[2], IndexEvent::Done(Box::new(stats())));

    server.stop().await;
}

#[tokio::test]
async fn a_mid_stream_error_is_the_final_status() {
    let server = Running::start().await;
    let mut client = server.client().await;

    let request = pb::GenerateRequest { repository: "failing".into(), instruction: "q".into(), ..Default::default() };
    let items: Vec<_> = client.generate(request).await.unwrap().into_inner().collect().await;
    assert_eq!(items.len(), 4, "context, two tokens, then the error and nothing after it");
    assert!(items[..3].iter().all(|item| item.is_ok()));
    let status = items[3].as_ref().unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(status.message(), "model endpoint http://model/v1/chat/completions failed: HTTP 502");

    let items: Vec<_> = client
        .index_repository(pb::IndexRepositoryRequest { repository: "failing".into() })
        .await
        .unwrap()
        .into_inner()
        .collect()
        .await;
    assert_eq!(items.len(), 3);
    assert_eq!(items[2].as_ref().unwrap_err().code(), Code::Unavailable);

    server.stop().await;
}

#[tokio::test]
async fn errors_map_to_status_codes() {
    let server = Running::start().await;
    let mut client = server.client().await;

    let status = client.get_context(context_request("nope", "q")).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(status.message(), "unknown repository: nope");

    let status = client.get_context(context_request("demo", "  ")).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(status.message(), "invalid argument: the query is empty");

    let status = client.get_context(context_request("", "q")).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(status.message(), "invalid argument: the repository name is empty");

    let mut request = context_request("demo", "q");
    request.token_budget = 10;
    let status = client.get_context(request).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);

    let status = client
        .search(pb::SearchRequest { repository: "demo".into(), query: "q".into(), limit: 1001, ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("1001"), "{}", status.message());

    let status = client
        .get_file_dependencies(pb::GetFileDependenciesRequest { repository: "demo".into(), path: "nope.py".into() })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(status.message(), "not found: file nope.py is not indexed");

    let status = client
        .generate(pb::GenerateRequest { repository: "nope".into(), instruction: "q".into(), ..Default::default() })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);

    let status = client.index_repository(pb::IndexRepositoryRequest { repository: String::new() }).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);

    server.stop().await;
}

#[tokio::test]
async fn oversized_requests_are_refused() {
    let server = Running::start().await;
    let mut client = server.client().await.max_encoding_message_size(64 * 1024 * 1024);
    let status = client
        .get_context(context_request("demo", &"x".repeat(crate::MAX_DECODING_MESSAGE_SIZE + 1)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    // A large but legal request still reaches the service (which refuses the query length).
    let status = client.get_context(context_request("demo", &"x".repeat(1024 * 1024))).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    server.stop().await;
}

#[tokio::test]
async fn health_reports_serving() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::HealthCheckRequest;

    let server = Running::start().await;
    let mut health = HealthClient::new(server.channel().await);
    for service in ["", crate::SERVICE_NAME] {
        let answer = health.check(HealthCheckRequest { service: service.into() }).await.unwrap().into_inner();
        assert_eq!(answer.status(), ServingStatus::Serving, "{service:?}");
    }
    let status = health.check(HealthCheckRequest { service: "other.Service".into() }).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    server.stop().await;
}

#[tokio::test]
async fn reflection_lists_the_services() {
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1::ServerReflectionRequest;

    let server = Running::start().await;
    let mut reflection = ServerReflectionClient::new(server.channel().await);
    let requests = [
        MessageRequest::ListServices(String::new()),
        MessageRequest::FileContainingSymbol("codectx.v1.CodeContext".into()),
    ]
    .map(|message| ServerReflectionRequest { host: String::new(), message_request: Some(message) });
    let mut answers = reflection.server_reflection_info(futures::stream::iter(requests)).await.unwrap().into_inner();

    let Some(MessageResponse::ListServicesResponse(list)) = answers.next().await.unwrap().unwrap().message_response
    else {
        panic!("expected a service list");
    };
    let names: Vec<_> = list.service.into_iter().map(|service| service.name).collect();
    for expected in [crate::SERVICE_NAME, "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"] {
        assert!(names.iter().any(|name| name == expected), "{expected} not in {names:?}");
    }
    let Some(MessageResponse::FileDescriptorResponse(files)) = answers.next().await.unwrap().unwrap().message_response
    else {
        panic!("expected a file descriptor");
    };
    assert!(!files.file_descriptor_proto.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn shutdown_drains_an_open_stream() {
    // A stream still open when shutdown is requested runs to its end.
    let server = Running::start().await;
    let mut client = server.client().await;
    let mut events = client
        .generate(pb::GenerateRequest { repository: "demo".into(), instruction: "q".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let first = events.message().await.unwrap().unwrap();
    assert!(matches!(first.event, Some(pb::generate_event::Event::Context(_))));
    let stop = tokio::spawn(server.stop());
    let mut rest = 0;
    while let Some(_event) = events.message().await.unwrap() {
        rest += 1;
    }
    assert_eq!(rest, 3);
    stop.await.unwrap();
}
