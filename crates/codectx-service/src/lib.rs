//! The codectx domain service.
//!
//! [`ContextService`] is the one interface over indexed repositories. The CLI
//! (`codectx ask`, `search`, ...) and the gRPC adapter (`codectx-server`) both call
//! it, so `ask` and `GetContext` cannot disagree. [`Engine`] implements it over
//! repositories on local disk: it keeps each repository's current index generation
//! open, runs CPU work (indexing, retrieval) on blocking threads so that the async
//! runtime never stalls, and calls the model through `codectx-model`.
#![deny(missing_docs)]

mod embedder;
mod engine;
mod freshness;
mod generations;
pub mod registry;
mod service;
pub mod telemetry;

use std::future::Future;
use std::pin::Pin;

use codectx_core::{
    ContextBundle, ContextRequest, FileDependencies, GenerateEvent, GenerateRequest, IndexEvent, References,
    RepositoryInfo, Result, SearchHit, SearchRequest, SymbolInfo,
};
use futures::stream::BoxStream;

pub use engine::{Engine, RepositorySpec};

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A stream of results, as returned by the streaming operations.
pub type ResultStream<T> = BoxStream<'static, Result<T>>;

/// The domain service over named repositories.
///
/// Errors are [`codectx_core::Error`] values: `UnknownRepository` for a name that is
/// not served, `InvalidArgument` for a malformed request (empty query, budget out of
/// range), `NoIndex` / `IndexVersion` / `CorruptIndex` when the repository has no
/// usable index, `ModelEndpoint` / `NoModel` for generation failures.
pub trait ContextService: Send + Sync + 'static {
    /// Assembles the most relevant context for a query within its token budget.
    fn get_context(&self, repository: &str, request: ContextRequest) -> BoxFuture<'_, Result<ContextBundle>>;

    /// Assembles the context, calls the model and streams the answer: first
    /// [`GenerateEvent::Context`], then [`GenerateEvent::Token`]s, last
    /// [`GenerateEvent::Done`]. Errors before the first event (bad request, no
    /// model) are returned directly; a model failure mid-stream is the stream's
    /// last item.
    fn generate(
        &self,
        repository: &str,
        request: GenerateRequest,
    ) -> BoxFuture<'_, Result<ResultStream<GenerateEvent>>>;

    /// Ranked chunks for a query.
    fn search(&self, repository: &str, request: SearchRequest) -> BoxFuture<'_, Result<Vec<SearchHit>>>;

    /// Symbol definitions whose name or qualified name is `name` (exact; a
    /// qualified suffix such as `Session.get` also matches `sessions.Session.get`),
    /// at most `limit`.
    fn symbols(&self, repository: &str, name: &str, limit: usize) -> BoxFuture<'_, Result<Vec<SymbolInfo>>>;

    /// Definitions, one page of references, callers and callees of a symbol
    /// (`name` bare or qualified; `page_size` 1..=1000; `page_token` empty for the
    /// first page). `NotFound` when the name is neither defined nor used.
    fn references(
        &self,
        repository: &str,
        name: &str,
        page_size: usize,
        page_token: &str,
    ) -> BoxFuture<'_, Result<References>>;

    /// The call and containment graph around the definitions of a symbol
    /// ([`codectx_core::SymbolGraphRequest`]): `InvalidArgument` for an empty name
    /// or a depth / node cap out of range, `NotFound` when nothing defines the name.
    fn symbol_graph(
        &self,
        repository: &str,
        request: codectx_core::SymbolGraphRequest,
    ) -> BoxFuture<'_, Result<codectx_core::SymbolGraph>>;

    /// Imports of a file and the files importing it. `NotFound` if the path is not indexed.
    fn file_dependencies(&self, repository: &str, path: &str) -> BoxFuture<'_, Result<FileDependencies>>;

    /// (Re-)indexes a repository incrementally, streaming progress; the last event
    /// is [`IndexEvent::Done`]. The new generation is switched in atomically.
    fn index(&self, repository: &str) -> BoxFuture<'_, Result<ResultStream<IndexEvent>>>;

    /// The served repositories.
    fn list_repositories(&self) -> BoxFuture<'_, Result<Vec<RepositoryInfo>>>;

    /// Registers the folder `path` as repository `name`, persists the registry and
    /// returns its info (not indexed yet: call [`ContextService::index`]).
    /// `InvalidArgument` for a bad name or a relative path, `PermissionDenied` for
    /// a path outside the configured roots (or none configured), `AlreadyExists`
    /// for a name in use, `FailedPrecondition`-class errors when the server has no
    /// storage root.
    fn add_repository(&self, name: &str, path: &str) -> BoxFuture<'_, Result<RepositoryInfo>>;

    /// Stops serving repository `name` and removes it from the registry; with
    /// `delete_index`, its index folder too. `UnknownRepository` when it is not a
    /// registered one (repositories from the config file or `--repo` cannot be removed).
    fn remove_repository(&self, name: &str, delete_index: bool) -> BoxFuture<'_, Result<()>>;

    /// Where the repository's index stands: generation, commit, whether a run is
    /// in progress, the last run's counters and the last error.
    fn index_status(&self, repository: &str) -> BoxFuture<'_, Result<codectx_core::IndexStatus>>;
}
