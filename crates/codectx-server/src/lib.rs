//! The codectx gRPC server: a thin tonic adapter over
//! [`ContextService`].
//!
//! [`GrpcAdapter`] implements the generated `codectx.v1.CodeContext` service by
//! converting each request to its domain type ([`convert`], which also applies the
//! API's defaults and limits), calling the domain service, and converting the answer
//! back; domain errors become gRPC statuses through the one table in [`status`].
//! [`serve`] runs it with the standard gRPC health service (`grpc.health.v1`) and
//! server reflection (`grpc.reflection.v1` and `v1alpha`, so `grpcurl` and
//! `grpc_cli` work without the `.proto`), until a shutdown future resolves; then it
//! reports `NOT_SERVING`, stops accepting connections and drains in-flight RPCs.
//!
//! Untrusted input. Every name, path and glob of a request is checked against
//! its size limit before anything else reads it ([`convert`]), a request that
//! does not decode is `INVALID_ARGUMENT` ([`codectx_proto::codec`]), error
//! messages quote at most a short prefix of a request field and are at most
//! [`status::MAX_MESSAGE_BYTES`], and a caller without an admin token (when
//! tokens are configured, [`auth`]) reads no absolute server path: not in error
//! messages ([`status::to_redacted_status`]), not as the `root` of
//! `ListRepositories` and `GetIndexStatus` (empty for it), not in
//! `GetIndexStatus`'s last errors.
//!
//! Every RPC logs one `tracing` event at `INFO` when it ends, with the fields `rpc`,
//! `repository`, `latency_ms` and `code` (plus `error` when it failed); a streaming
//! RPC ends when its last event is sent, or with `code = Cancelled` when the client
//! goes away first. At the same moment its latency and code are recorded in the
//! `codectx_request_duration_seconds{rpc,code}` histogram
//! ([`codectx_service::telemetry`]); shed calls are counted too, calls refused by
//! authentication are not (they never reach the adapter's accounting). With
//! [`ServeOptions::metrics`], [`serve_with`] serves them at `GET /metrics`
//! ([`metrics_endpoint`]).
//!
//! ```no_run
//! # async fn demo<S: codectx_service::ContextService>(service: std::sync::Arc<S>) -> codectx_core::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:50051").await.unwrap();
//! codectx_server::serve(service, listener, codectx_server::shutdown_signal()).await
//! # }
//! ```
#![deny(missing_docs)]

pub mod auth;
pub mod convert;
pub mod metrics_endpoint;
pub mod status;

#[cfg(test)]
mod tests;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use codectx_core::{Error, Result};
use codectx_proto::v1 as pb;
use codectx_proto::v1::code_context_server::{CodeContext, CodeContextServer};
use codectx_service::{telemetry, ContextService, ResultStream};
use futures::{Stream, StreamExt};
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::{Code, Request, Response, Status};

use crate::convert::IntoProto;

/// Largest request message the server decodes, in bytes (16 MiB). Requests are
/// small (a query is at most 64 KiB); answers are not capped by the server, but a
/// bundle with a large token budget can exceed the 4 MiB that gRPC clients accept by
/// default, so clients asking for budgets above ~500k tokens should raise their
/// decoding limit.
pub const MAX_DECODING_MESSAGE_SIZE: usize = 16 * 1024 * 1024;

/// Full name of the gRPC service, as reported by health checks and reflection.
pub const SERVICE_NAME: &str = "codectx.v1.CodeContext";

/// The `codectx.v1.CodeContext` gRPC service over a domain [`ContextService`].
///
/// Holds no state of its own: every RPC is one call of the domain service. Use it
/// with [`serve`], or mount it on a tonic server of your own with
/// [`GrpcAdapter::into_server`].
pub struct GrpcAdapter<S: ContextService> {
    service: Arc<S>,
    auth: Arc<auth::Auth>,
    /// Calls in flight (streams until they end) and their limit; `None`: unbounded.
    in_flight: Option<(Arc<tokio::sync::Semaphore>, usize)>,
}

impl<S: ContextService> GrpcAdapter<S> {
    /// An adapter over `service`.
    pub fn new(service: Arc<S>) -> Self {
        GrpcAdapter { service, auth: Arc::new(auth::Auth::open()), in_flight: None }
    }

    /// The same adapter, shedding load: a call that arrives while `max` calls are
    /// in flight (a stream counts until it ends) is refused at once with
    /// `RESOURCE_EXHAUSTED`, instead of queueing until the server falls over.
    /// 0 means no limit.
    pub fn with_max_in_flight(mut self, max: usize) -> Self {
        self.in_flight = (max > 0).then(|| (Arc::new(tokio::sync::Semaphore::new(max)), max));
        self
    }

    /// Admits a call (or sheds it) and starts its log line; `admin`: whether its
    /// caller may read server paths in error messages ([`auth::Caller::is_admin`]).
    #[allow(clippy::result_large_err)]
    fn admit(&self, rpc: &'static str, repository: &str, admin: bool) -> std::result::Result<RpcLog, Status> {
        let permit = match &self.in_flight {
            None => None,
            Some((semaphore, limit)) => match semaphore.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    let repository = codectx_core::quote(repository);
                    tracing::warn!(rpc, %repository, "shedding load: too many calls in flight");
                    telemetry::record_shed(rpc);
                    telemetry::record_request(rpc, &format!("{:?}", Code::ResourceExhausted), 0.0);
                    return Err(Status::resource_exhausted(format!(
                        "the server is at its limit of {limit} calls in flight; retry with backoff"
                    )));
                }
            },
        };
        Ok(RpcLog::start(rpc, repository, admin, permit))
    }

    /// `IndexRepository` and `RefreshRepository` (the same run, two names): an
    /// incremental index run of `repository`, streamed.
    async fn index_stream(
        &self,
        rpc: &'static str,
        repository: String,
    ) -> std::result::Result<Response<EventStream<pb::IndexEvent>>, Status> {
        // Only admins get here.
        let log = self.admit(rpc, &repository, true)?;
        let result = async {
            let repository = convert::repository_name(repository)?;
            self.service.index(&repository).await
        }
        .await;
        log.streaming(result)
    }

    /// The same adapter, requiring the bearer tokens of `auth` (see [`auth`]).
    pub fn with_auth(mut self, auth: Arc<auth::Auth>) -> Self {
        self.auth = auth;
        self
    }

    /// The tonic service for this adapter, decoding requests up to
    /// [`MAX_DECODING_MESSAGE_SIZE`].
    pub fn into_server(self) -> CodeContextServer<Self> {
        CodeContextServer::new(self).max_decoding_message_size(MAX_DECODING_MESSAGE_SIZE)
    }
}

/// The one log event of an RPC, and how its errors become statuses.
struct RpcLog {
    rpc: &'static str,
    /// The repository asked for, quoted as [`codectx_core::quote`] does (a short
    /// prefix of a long name).
    repository: String,
    /// Whether the caller may read server paths ([`status::to_status`]) or gets
    /// them redacted ([`status::to_redacted_status`]).
    admin: bool,
    started: Instant,
    logged: bool,
    /// The call's place among those in flight, released when the call (or its
    /// stream) ends.
    _permit: Option<tokio::sync::OwnedSemaphorePermit>,
    /// Its unit of the `codectx_requests_in_flight` gauge, for as long.
    _in_flight: telemetry::InFlight,
}

impl RpcLog {
    fn start(
        rpc: &'static str,
        repository: &str,
        admin: bool,
        permit: Option<tokio::sync::OwnedSemaphorePermit>,
    ) -> Self {
        RpcLog {
            rpc,
            repository: codectx_core::quote(repository).into_owned(),
            admin,
            started: Instant::now(),
            logged: false,
            _permit: permit,
            _in_flight: telemetry::in_flight(),
        }
    }

    fn finish(&mut self, code: Code, error: Option<&str>) {
        if std::mem::replace(&mut self.logged, true) {
            return;
        }
        let seconds = self.started.elapsed().as_secs_f64();
        telemetry::record_request(self.rpc, &format!("{code:?}"), seconds);
        let latency_ms = seconds * 1000.0;
        let (rpc, repository) = (self.rpc, self.repository.as_str());
        match error {
            None => tracing::info!(rpc, repository, latency_ms, code = ?code, "rpc finished"),
            Some(error) => tracing::info!(rpc, repository, latency_ms, code = ?code, error, "rpc failed"),
        }
    }

    /// Logs a failed call (with the error as the admin reads it, server paths and
    /// all) and returns the status the caller gets.
    fn fail(&mut self, error: &Error) -> Status {
        let full = status::to_status(error);
        self.finish(full.code(), Some(full.message()));
        if self.admin {
            full
        } else {
            status::to_redacted_status(error)
        }
    }

    /// Logs the outcome of a unary RPC and turns it into its tonic form.
    fn unary<T>(mut self, result: Result<T>) -> std::result::Result<Response<T>, Status> {
        match result {
            Ok(answer) => {
                self.finish(Code::Ok, None);
                Ok(Response::new(answer))
            }
            Err(error) => Err(self.fail(&error)),
        }
    }

    /// Logs a streaming RPC that failed before its stream opened, or wraps its stream.
    fn streaming<E>(
        mut self,
        result: Result<ResultStream<E>>,
    ) -> std::result::Result<Response<EventStream<E::Proto>>, Status>
    where
        E: IntoProto + Send + 'static,
        E::Proto: Send + 'static,
    {
        match result {
            Ok(events) => {
                let stream: EventStream<E::Proto> = Box::pin(ProtoStream { events, log: self, done: false });
                Ok(Response::new(stream))
            }
            Err(error) => Err(self.fail(&error)),
        }
    }
}

impl Drop for RpcLog {
    fn drop(&mut self) {
        // Only a stream dropped before its end gets here unlogged: the client left.
        self.finish(Code::Cancelled, Some("the client cancelled the call"));
    }
}

/// A streamed RPC answer, as tonic wants it.
pub type EventStream<T> = Pin<Box<dyn Stream<Item = std::result::Result<T, Status>> + Send + 'static>>;

/// Converts a domain event stream into proto events; a domain error becomes the
/// final status and ends the stream. Logs the RPC when the stream ends.
struct ProtoStream<E> {
    events: ResultStream<E>,
    log: RpcLog,
    done: bool,
}

impl<E: IntoProto> Stream for ProtoStream<E> {
    type Item = std::result::Result<E::Proto, Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match self.events.poll_next_unpin(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Ok(event))) => Poll::Ready(Some(Ok(event.into_proto()))),
            Poll::Ready(Some(Err(error))) => {
                self.done = true;
                Poll::Ready(Some(Err(self.log.fail(&error))))
            }
            Poll::Ready(None) => {
                self.done = true;
                self.log.finish(Code::Ok, None);
                Poll::Ready(None)
            }
        }
    }
}

#[tonic::async_trait]
impl<S: ContextService> CodeContext for GrpcAdapter<S> {
    async fn get_context(
        &self,
        request: Request<pb::GetContextRequest>,
    ) -> std::result::Result<Response<pb::ContextBundle>, Status> {
        let admin = self.auth.repository(request.metadata(), &request.get_ref().repository)?.is_admin();
        let request = request.into_inner();
        let log = self.admit("GetContext", &request.repository, admin)?;
        let result = async {
            let (repository, request) = convert::context_request(request)?;
            Ok(self.service.get_context(&repository, request).await?.into_proto())
        }
        .await;
        log.unary(result)
    }

    type GenerateStream = EventStream<pb::GenerateEvent>;

    async fn generate(
        &self,
        request: Request<pb::GenerateRequest>,
    ) -> std::result::Result<Response<Self::GenerateStream>, Status> {
        let admin = self.auth.repository(request.metadata(), &request.get_ref().repository)?.is_admin();
        let request = request.into_inner();
        let log = self.admit("Generate", &request.repository, admin)?;
        let result = async {
            let (repository, request) = convert::generate_request(request)?;
            self.service.generate(&repository, request).await
        }
        .await;
        log.streaming(result)
    }

    async fn search(
        &self,
        request: Request<pb::SearchRequest>,
    ) -> std::result::Result<Response<pb::SearchResponse>, Status> {
        let admin = self.auth.repository(request.metadata(), &request.get_ref().repository)?.is_admin();
        let request = request.into_inner();
        let log = self.admit("Search", &request.repository, admin)?;
        let result = async {
            let (repository, request) = convert::search_request(request)?;
            let hits = self.service.search(&repository, request).await?;
            Ok(pb::SearchResponse { hits: hits.into_iter().map(IntoProto::into_proto).collect() })
        }
        .await;
        log.unary(result)
    }

    async fn get_symbols(
        &self,
        request: Request<pb::GetSymbolsRequest>,
    ) -> std::result::Result<Response<pb::GetSymbolsResponse>, Status> {
        let admin = self.auth.repository(request.metadata(), &request.get_ref().repository)?.is_admin();
        let request = request.into_inner();
        let log = self.admit("GetSymbols", &request.repository, admin)?;
        let result = async {
            let (repository, name, limit) = convert::symbols_request(request)?;
            let symbols = self.service.symbols(&repository, &name, limit).await?;
            Ok(pb::GetSymbolsResponse { symbols: symbols.into_iter().map(IntoProto::into_proto).collect() })
        }
        .await;
        log.unary(result)
    }

    async fn get_references(
        &self,
        request: Request<pb::GetReferencesRequest>,
    ) -> std::result::Result<Response<pb::GetReferencesResponse>, Status> {
        let admin = self.auth.repository(request.metadata(), &request.get_ref().repository)?.is_admin();
        let request = request.into_inner();
        let log = self.admit("GetReferences", &request.repository, admin)?;
        let result = async {
            let (repository, name, page_size, page_token) = convert::references_request(request)?;
            let references = self.service.references(&repository, &name, page_size, &page_token).await?;
            Ok(references.into_proto())
        }
        .await;
        log.unary(result)
    }

    async fn get_symbol_graph(
        &self,
        request: Request<pb::GetSymbolGraphRequest>,
    ) -> std::result::Result<Response<pb::SymbolGraph>, Status> {
        let admin = self.auth.repository(request.metadata(), &request.get_ref().repository)?.is_admin();
        let request = request.into_inner();
        let log = self.admit("GetSymbolGraph", &request.repository, admin)?;
        let result = async {
            let (repository, request) = convert::symbol_graph_request(request)?;
            Ok(self.service.symbol_graph(&repository, request).await?.into_proto())
        }
        .await;
        log.unary(result)
    }

    async fn get_file_dependencies(
        &self,
        request: Request<pb::GetFileDependenciesRequest>,
    ) -> std::result::Result<Response<pb::FileDependencies>, Status> {
        let admin = self.auth.repository(request.metadata(), &request.get_ref().repository)?.is_admin();
        let request = request.into_inner();
        let log = self.admit("GetFileDependencies", &request.repository, admin)?;
        let result = async {
            let (repository, path) = convert::dependencies_request(request)?;
            Ok(self.service.file_dependencies(&repository, &path).await?.into_proto())
        }
        .await;
        log.unary(result)
    }

    type IndexRepositoryStream = EventStream<pb::IndexEvent>;

    async fn index_repository(
        &self,
        request: Request<pb::IndexRepositoryRequest>,
    ) -> std::result::Result<Response<Self::IndexRepositoryStream>, Status> {
        self.auth.admin(request.metadata())?;
        self.index_stream("IndexRepository", request.into_inner().repository).await
    }

    type RefreshRepositoryStream = EventStream<pb::IndexEvent>;

    async fn refresh_repository(
        &self,
        request: Request<pb::RefreshRepositoryRequest>,
    ) -> std::result::Result<Response<Self::RefreshRepositoryStream>, Status> {
        self.auth.admin(request.metadata())?;
        self.index_stream("RefreshRepository", request.into_inner().repository).await
    }

    async fn add_repository(
        &self,
        request: Request<pb::AddRepositoryRequest>,
    ) -> std::result::Result<Response<pb::Repository>, Status> {
        self.auth.admin(request.metadata())?;
        let request = request.into_inner();
        let log = self.admit("AddRepository", &request.name, true)?;
        let result = async {
            let (name, path) = convert::add_repository_request(request)?;
            Ok(self.service.add_repository(&name, &path).await?.into_proto())
        }
        .await;
        log.unary(result)
    }

    async fn remove_repository(
        &self,
        request: Request<pb::RemoveRepositoryRequest>,
    ) -> std::result::Result<Response<pb::RemoveRepositoryResponse>, Status> {
        self.auth.admin(request.metadata())?;
        let request = request.into_inner();
        let log = self.admit("RemoveRepository", &request.name, true)?;
        let result = async {
            let name = convert::repository_name(request.name)?;
            self.service.remove_repository(&name, request.delete_index).await?;
            Ok(pb::RemoveRepositoryResponse {})
        }
        .await;
        log.unary(result)
    }

    async fn get_index_status(
        &self,
        request: Request<pb::GetIndexStatusRequest>,
    ) -> std::result::Result<Response<pb::IndexStatus>, Status> {
        let admin = self.auth.repository(request.metadata(), &request.get_ref().repository)?.is_admin();
        let request = request.into_inner();
        let log = self.admit("GetIndexStatus", &request.repository, admin)?;
        let result = async {
            let name = convert::repository_name(request.repository)?;
            let mut index_status = self.service.index_status(&name).await?;
            if !admin {
                redact_index_status(&mut index_status);
            }
            Ok(index_status.into_proto())
        }
        .await;
        log.unary(result)
    }

    async fn list_repositories(
        &self,
        request: Request<pb::ListRepositoriesRequest>,
    ) -> std::result::Result<Response<pb::ListRepositoriesResponse>, Status> {
        let caller = self.auth.caller(request.metadata())?;
        let log = self.admit("ListRepositories", "", caller.is_admin())?;
        let result = async {
            let repositories = self.service.list_repositories().await?;
            Ok(pb::ListRepositoriesResponse {
                repositories: repositories
                    .into_iter()
                    .filter(|repository| caller.sees(&repository.name))
                    .map(|mut repository| {
                        if !caller.is_admin() {
                            redact_repository(&mut repository);
                        }
                        repository.into_proto()
                    })
                    .collect(),
            })
        }
        .await;
        log.unary(result)
    }
}

/// What a caller without an admin token reads of a repository: no root folder
/// (empty).
fn redact_repository(repository: &mut codectx_core::RepositoryInfo) {
    repository.root.clear();
}

/// What a caller without an admin token reads of an index status: no root
/// folder, and the last run's errors with their server paths redacted
/// ([`status::redact_paths`]).
fn redact_index_status(index_status: &mut codectx_core::IndexStatus) {
    redact_repository(&mut index_status.repository);
    if let Some(error) = &mut index_status.last_error {
        *error = status::redact_paths(error).into_owned();
    }
    let embed_error =
        index_status.last_run.as_mut().and_then(|run| run.embeddings.as_mut()).and_then(|e| e.error.as_mut());
    if let Some(error) = embed_error {
        *error = status::redact_paths(error).into_owned();
    }
}

/// Serves `service` over gRPC on `listener` until `shutdown` resolves.
///
/// Mounted services: `codectx.v1.CodeContext` ([`GrpcAdapter`], requests up to
/// [`MAX_DECODING_MESSAGE_SIZE`]); `grpc.health.v1.Health`, reporting `SERVING` for
/// both `""` (the server) and [`SERVICE_NAME`]; `grpc.reflection.v1` and
/// `grpc.reflection.v1alpha`, describing `codectx.v1` and the health service.
/// Accepted connections get `TCP_NODELAY`, so streamed tokens are not delayed.
///
/// When `shutdown` resolves, health turns `NOT_SERVING`, the listener is closed, and
/// the call returns once the RPCs in flight have finished (streams included).
///
/// # Errors
///
/// [`Error::Internal`] if the reflection service cannot be built from the embedded
/// descriptors (a build defect) or the HTTP/2 server fails. Errors accepting a
/// connection are logged and do not stop the server.
pub async fn serve<S: ContextService>(
    service: Arc<S>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    serve_with(service, listener, shutdown, ServeOptions::default()).await
}

/// What [`serve_with`] adds to [`serve`].
#[derive(Debug, Default)]
pub struct ServeOptions {
    /// Bearer tokens required on every `CodeContext` RPC (see [`auth`]); open by default.
    pub auth: Arc<auth::Auth>,
    /// Calls in flight before new ones are shed with `RESOURCE_EXHAUSTED`
    /// ([`GrpcAdapter::with_max_in_flight`]); 0 = no limit (the default here;
    /// `codectx serve` uses `[server] max_in_flight`).
    pub max_in_flight: usize,
    /// TLS identity: PEM certificate chain and PEM private key (rustls, ring);
    /// `None`: plaintext HTTP/2.
    pub tls: Option<(Vec<u8>, Vec<u8>)>,
    /// Where to serve Prometheus metrics (`GET /metrics`, plain HTTP/1.1, no
    /// authentication: bind it to loopback or a private network); `None`: no
    /// endpoint. Installs the process's metrics recorder
    /// ([`metrics_endpoint::install_recorder`]); the endpoint stops with the server.
    /// `codectx serve` binds `[server] metrics_addr` / `--metrics-addr` here.
    pub metrics: Option<TcpListener>,
}

/// [`serve`] with tokens, load shedding, TLS and a Prometheus endpoint
/// ([`ServeOptions`]); health checks and reflection stay open and unlimited.
///
/// # Errors
///
/// As [`serve`]; also [`Error::Internal`] when [`ServeOptions::metrics`] is set and
/// the metrics recorder cannot be installed
/// ([`metrics_endpoint::install_recorder`]).
pub async fn serve_with<S: ContextService>(
    service: Arc<S>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    options: ServeOptions,
) -> Result<()> {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter.set_serving::<CodeContextServer<GrpcAdapter<S>>>().await;

    let reflection_error =
        |error: tonic_reflection::server::Error| Error::Internal(format!("gRPC reflection: {error}"));
    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(codectx_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(reflection_error)?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(codectx_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .map_err(reflection_error)?;

    if let Ok(address) = listener.local_addr() {
        tracing::info!(%address, "gRPC server listening");
    }
    let incoming = TcpListenerStream::new(listener).map(|connection| {
        connection.and_then(|stream| {
            stream.set_nodelay(true)?;
            Ok(stream)
        })
    });
    let shutdown = async move {
        shutdown.await;
        tracing::info!("gRPC server shutting down: draining in-flight calls");
        reporter.set_service_status("", tonic_health::ServingStatus::NotServing).await;
        reporter.set_not_serving::<CodeContextServer<GrpcAdapter<S>>>().await;
    };

    // The metrics endpoint lives as long as this call: dropping `_stop_metrics`
    // (on return, error or not) stops it.
    let (_stop_metrics, metrics_stopped) = tokio::sync::oneshot::channel::<()>();
    if let Some(metrics_listener) = options.metrics {
        metrics_endpoint::install_recorder()?;
        let stopped = async move {
            let _ = metrics_stopped.await;
        };
        tokio::spawn(async move {
            if let Err(error) = metrics_endpoint::serve_metrics(metrics_listener, stopped).await {
                tracing::error!(%error, "metrics endpoint failed");
            }
        });
    }

    let mut builder = tonic::transport::Server::builder();
    if let Some((cert, key)) = &options.tls {
        install_crypto_provider();
        let identity = tonic::transport::Identity::from_pem(cert, key);
        builder = builder
            .tls_config(tonic::transport::ServerTlsConfig::new().identity(identity))
            .map_err(|error| Error::InvalidArgument(format!("TLS certificate or key: {error}")))?;
    }
    builder
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(
            GrpcAdapter::new(service).with_auth(options.auth).with_max_in_flight(options.max_in_flight).into_server(),
        )
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .map_err(|error| Error::Internal(format!("gRPC server: {error}")))?;
    tracing::info!("gRPC server stopped");
    Ok(())
}

/// Makes rustls use the `ring` crypto provider in this process (the only one
/// compiled in: reqwest is built without its `aws-lc-rs` default). Idempotent.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Resolves when the process receives `SIGINT` (Ctrl-C) or `SIGTERM`; pass it to
/// [`serve`] for a graceful shutdown. Logs which signal arrived.
///
/// If a handler cannot be installed (which tokio only fails on for lack of
/// resources), that signal is not waited for and a warning is logged. On non-Unix
/// platforms, waits for Ctrl-C.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, Signal, SignalKind};

        fn install(kind: SignalKind, name: &str) -> Option<Signal> {
            signal(kind)
                .inspect_err(|error| tracing::warn!(signal = name, %error, "cannot install the signal handler"))
                .ok()
        }
        async fn received(signal: &mut Option<Signal>) {
            // `recv` yields `None` only once no more signals can arrive: wait forever then.
            let arrived = match signal {
                Some(signal) => signal.recv().await.is_some(),
                None => false,
            };
            if !arrived {
                std::future::pending::<()>().await;
            }
        }

        let mut interrupt = install(SignalKind::interrupt(), "SIGINT");
        let mut terminate = install(SignalKind::terminate(), "SIGTERM");
        tokio::select! {
            () = received(&mut interrupt) => tracing::info!(signal = "SIGINT", "shutdown requested"),
            () = received(&mut terminate) => tracing::info!(signal = "SIGTERM", "shutdown requested"),
        }
    }
    #[cfg(not(unix))]
    {
        match tokio::signal::ctrl_c().await {
            Ok(()) => tracing::info!(signal = "Ctrl-C", "shutdown requested"),
            Err(error) => {
                tracing::warn!(%error, "cannot install the Ctrl-C handler");
                std::future::pending::<()>().await
            }
        }
    }
}
