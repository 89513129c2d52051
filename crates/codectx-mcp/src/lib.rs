//! The codectx MCP adapter.
//!
//! [`CodectxMcp`] exposes the domain service ([`ContextService`]) over the
//! [Model Context Protocol](https://modelcontextprotocol.io) with the official Rust
//! SDK (`rmcp`), so that coding agents (Claude Code, Cursor, ...) can ask codectx for
//! context. It is a thin adapter, like the gRPC one (`codectx-server`): every tool
//! calls one [`ContextService`] method on one repository and renders the answer as
//! text.
//!
//! Tools:
//!
//! * `get_context` — the assembled context for a question, within a token budget
//!   ([`ContextService::get_context`], rendered by [`ContextBundle::render`]), with
//!   a footer of the ranked files;
//! * `search` — ranked chunks (`path:start-end symbol` and a preview);
//! * `symbols` — definitions of a symbol by name or qualified name;
//! * `references` — definitions, references, callers and callees of a symbol.
//!
//! Domain errors ([`codectx_core::Error`]) become tool results with `isError: true`
//! and the error's one-line message; the server keeps serving.
//!
//! [`serve_stdio`] runs the server over standard input and output (what
//! `codectx mcp` does); [`serve`] over any byte stream pair. Both read the client's
//! stream through a framing layer that answers every line that is not a JSON-RPC
//! 2.0 message with a JSON-RPC error ([`PARSE_ERROR`] for an empty line, a line
//! over [`MAX_LINE_BYTES`], invalid UTF-8 or invalid JSON; [`INVALID_REQUEST`] for
//! JSON that is not a JSON-RPC message; [`INVALID_PARAMS`] for a request to a
//! method of the MCP specification whose params do not fit it) and keeps serving.
#![deny(missing_docs)]

mod framing;

pub use framing::{INVALID_PARAMS, INVALID_REQUEST, MAX_ERROR_MESSAGE_BYTES, MAX_LINE_BYTES, PARSE_ERROR};

use std::fmt::Write as _;
use std::sync::Arc;

use codectx_core::{ContextBundle, ContextRequest, Expansion, PathFilter, SearchRequest, SymbolInfo};
use codectx_service::ContextService;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, Implementation, ServerCapabilities, ServerConfig};
use rmcp::{tool, tool_handler, tool_router, ServerHandler, ServiceExt};
use schemars::JsonSchema;
use serde::Deserialize;

/// Name the server reports in `serverInfo`.
pub const SERVER_NAME: &str = "codectx";

/// Instructions sent to the client in the `initialize` answer.
pub const INSTRUCTIONS: &str = "codectx is a repository-scale code context engine over one indexed repository. \
Tools: `get_context` assembles the most relevant code for a question or task (source blocks headed by \
`path:start-end`, with related signatures and a repository map) within a token budget, followed by the ranked \
files; `search` returns ranked chunks (`path:start-end symbol` with a preview); `symbols` finds definitions by \
name or qualified name (`Session.get`), with path:line, kind and signature; `references` lists a symbol's \
definitions, references with lines, callers and callees (paged). Start with `get_context` for a task, then use \
`symbols` and `references` to follow specific code.";

/// Token budget of `get_context` when the call gives none.
pub const DEFAULT_TOKEN_BUDGET: usize = codectx_core::DEFAULT_TOKEN_BUDGET;
/// Result count of `search` when the call gives none.
pub const DEFAULT_SEARCH_LIMIT: usize = 10;
/// Result count of `symbols` when the call gives none.
pub const DEFAULT_SYMBOLS_LIMIT: usize = 20;
/// Page size of `references` when the call gives none.
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// Ranked files listed in the footer of `get_context`.
const FOOTER_FILES: usize = 15;

/// Arguments of `get_context`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct GetContextArgs {
    /// The question, instruction or issue text (a stack trace helps).
    pub query: String,
    /// Token budget of the context (o200k_base tokens, 256..=1000000; default: the
    /// server's `[retrieval] default_budget`, 8000 unless configured).
    #[serde(default)]
    pub token_budget: Option<usize>,
    /// Most distinct files in the context (default: no limit).
    #[serde(default)]
    pub max_files: Option<usize>,
    /// Only paths matching one of these globs (e.g. `src/**/*.rs`).
    #[serde(default)]
    pub include: Option<Vec<String>>,
    /// No path matching one of these globs (e.g. `tests/**`).
    #[serde(default)]
    pub exclude: Option<Vec<String>>,
}

/// Arguments of `search`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct SearchArgs {
    /// The query text.
    pub query: String,
    /// Most results (1..=1000; default 10).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// Arguments of `symbols`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct SymbolsArgs {
    /// Bare or qualified name (`get`, `Session.get`, `walk::Walker::new`).
    pub name: String,
    /// Most results (default 20).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// Arguments of `references`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct ReferencesArgs {
    /// Bare or qualified name of the symbol.
    pub name: String,
    /// References per page (1..=1000; default 50).
    #[serde(default)]
    pub page_size: Option<usize>,
    /// Token of the page to show, from the previous page's answer (empty or absent: the first page).
    #[serde(default)]
    pub page_token: Option<String>,
}

/// Arguments of `symbol_graph`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SymbolGraphArgs {
    /// Bare or qualified name of the symbol.
    pub name: String,
    /// Hops from the symbol (1..=3; default 1).
    #[serde(default)]
    pub depth: Option<u32>,
    /// `both` (default), `callers` or `callees`.
    #[serde(default)]
    pub direction: Option<String>,
    /// Most nodes (1..=500; default 50).
    #[serde(default)]
    pub max_nodes: Option<usize>,
}

/// The MCP server: the codectx tools over one repository of a [`ContextService`].
pub struct CodectxMcp<S: ContextService> {
    service: Arc<S>,
    repository: String,
    tool_router: ToolRouter<Self>,
}

impl<S: ContextService> Clone for CodectxMcp<S> {
    fn clone(&self) -> Self {
        CodectxMcp {
            service: self.service.clone(),
            repository: self.repository.clone(),
            tool_router: self.tool_router.clone(),
        }
    }
}

impl<S: ContextService> std::fmt::Debug for CodectxMcp<S> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("CodectxMcp").field("repository", &self.repository).finish_non_exhaustive()
    }
}

/// A successful tool result holding one text block.
fn text_result(text: String) -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::text(text)])
}

/// A tool error (`isError: true`) with the error's one-line message.
fn error_result(error: &codectx_core::Error) -> CallToolResult {
    let message = error.to_string().lines().collect::<Vec<_>>().join(" ");
    CallToolResult::error(vec![ContentBlock::text(message)])
}

/// Turns a domain answer into a tool result, rendering it with `render`.
fn respond<T>(result: codectx_core::Result<T>, render: impl FnOnce(T) -> String) -> CallToolResult {
    match result {
        Ok(value) => text_result(render(value)),
        Err(error) => {
            tracing::debug!(%error, "tool call failed");
            error_result(&error)
        }
    }
}

#[tool_router]
impl<S: ContextService> CodectxMcp<S> {
    /// A server of the repository named `repository` of `service`.
    pub fn new(service: Arc<S>, repository: impl Into<String>) -> Self {
        CodectxMcp { service, repository: repository.into(), tool_router: Self::tool_router() }
    }

    /// The repository served.
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// `get_context`: the assembled context for a query.
    #[tool(
        name = "get_context",
        description = "Assemble the most relevant code context of the repository for a question, task or issue text, \
within a token budget. Returns source blocks headed by `path:start-end (symbol)` in fenced code blocks (then related \
signatures and a repository map), followed by the ranked files and the tokens used."
    )]
    pub async fn get_context(&self, Parameters(args): Parameters<GetContextArgs>) -> CallToolResult {
        let request = ContextRequest {
            query: args.query,
            // None: 0, the service's configured default (`[retrieval] default_budget`).
            token_budget: args.token_budget.unwrap_or(0),
            max_files: args.max_files.unwrap_or(0),
            filter: PathFilter { include: args.include.unwrap_or_default(), exclude: args.exclude.unwrap_or_default() },
            expansion: Expansion::default(),
            mode: None,
            freshness: Default::default(),
        };
        respond(self.service.get_context(&self.repository, request).await, |bundle| render_context(&bundle))
    }

    /// `search`: ranked chunks for a query.
    #[tool(
        name = "search",
        description = "Ranked code chunks for a query (BM25, symbol, path and graph signals fused). Each result is \
`path:start-end symbol (kind)` with its score and the first lines of the chunk."
    )]
    pub async fn search(&self, Parameters(args): Parameters<SearchArgs>) -> CallToolResult {
        let request = SearchRequest {
            query: args.query,
            limit: args.limit.unwrap_or(DEFAULT_SEARCH_LIMIT),
            filter: PathFilter::default(),
            mode: None,
        };
        respond(self.service.search(&self.repository, request).await, |hits| {
            let mut out = String::new();
            for (rank, hit) in hits.iter().enumerate() {
                let _ = write!(out, "{:>2}. {}:{}-{}", rank + 1, hit.path, hit.span.start_line, hit.span.end_line);
                if !hit.symbol.is_empty() {
                    let _ = write!(out, " {}", hit.symbol);
                }
                if let Some(kind) = hit.symbol_kind {
                    let _ = write!(out, " ({kind})");
                }
                let _ = writeln!(out, "  [score {:.4}]", hit.score);
                for line in hit.preview.lines() {
                    let _ = writeln!(out, "      {line}");
                }
            }
            if hits.is_empty() {
                out.push_str("no results\n");
            }
            out
        })
    }

    /// `symbols`: definitions of a symbol by name.
    #[tool(
        name = "symbols",
        description = "Definitions of a symbol by bare or qualified name (`get`, `Session.get`, `walk::Walker::new`): \
`path:line-end kind qualified_name`, then its signature and the first line of its doc."
    )]
    pub async fn symbols(&self, Parameters(args): Parameters<SymbolsArgs>) -> CallToolResult {
        let limit = args.limit.unwrap_or(DEFAULT_SYMBOLS_LIMIT);
        let name = args.name;
        let result = self.service.symbols(&self.repository, &name, limit).await.and_then(|symbols| {
            if symbols.is_empty() {
                Err(codectx_core::Error::NotFound(format!("no symbol named {}", name.trim())))
            } else {
                Ok(symbols)
            }
        });
        respond(result, |symbols| {
            let mut out = String::new();
            for symbol in &symbols {
                let _ = writeln!(
                    out,
                    "{}:{}-{}  {} {}",
                    symbol.path, symbol.span.start_line, symbol.span.end_line, symbol.kind, symbol.qualified_name
                );
                let _ = writeln!(out, "      {}", symbol.signature);
                if let Some(doc) = symbol.doc.lines().map(str::trim).find(|line| !line.is_empty()) {
                    let _ = writeln!(out, "      {doc}");
                }
            }
            out
        })
    }

    /// `references`: definitions, references, callers and callees of a symbol.
    #[tool(
        name = "references",
        description = "Definitions, references (path:line, enclosing definition and the line's text; paged), callers \
and callees of a symbol given by bare or qualified name. Pass `page_token` from the answer for the next page."
    )]
    pub async fn references(&self, Parameters(args): Parameters<ReferencesArgs>) -> CallToolResult {
        let page_size = args.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        let page_token = args.page_token.unwrap_or_default();
        let result = self.service.references(&self.repository, args.name.trim(), page_size, &page_token).await;
        respond(result, |references| {
            let mut out = String::new();
            list_symbols(&mut out, "definitions", &references.definitions);
            let _ = writeln!(
                out,
                "references ({} shown, {} in all):",
                references.references.len(),
                references.total_references
            );
            for site in &references.references {
                let enclosing = if site.enclosing.is_empty() { "<top level>" } else { site.enclosing.as_str() };
                let _ = writeln!(out, "  {}:{}  [{enclosing}]  {}", site.path, site.line, site.text);
            }
            if !references.next_page_token.is_empty() {
                let _ = writeln!(out, "  (more: call again with page_token \"{}\")", references.next_page_token);
            }
            list_symbols(&mut out, "callers", &references.callers);
            list_symbols(&mut out, "callees", &references.callees);
            out
        })
    }

    /// `symbol_graph`: the call and containment graph around a symbol.
    #[tool(
        name = "symbol_graph",
        description = "The call and containment graph around the definitions of a symbol (bare or qualified name): nodes as `[id] path:line kind qualified_name` indented by hops from the symbol, then `caller --calls--> callee` and `class --contains--> method` edges. `depth` 1..3 hops, `direction` both/callers/callees, `max_nodes` up to 500."
    )]
    pub async fn symbol_graph(&self, Parameters(args): Parameters<SymbolGraphArgs>) -> CallToolResult {
        let request =
            codectx_core::GraphDirection::parse(args.direction.as_deref().unwrap_or("both")).map(|direction| {
                codectx_core::SymbolGraphRequest {
                    name: args.name.trim().to_string(),
                    depth: args.depth.unwrap_or(1),
                    direction,
                    max_nodes: args.max_nodes.unwrap_or(50),
                }
            });
        let result = match request {
            Ok(request) => self.service.symbol_graph(&self.repository, request).await,
            Err(error) => Err(error),
        };
        respond(result, |graph| graph.render())
    }
}

/// Appends a titled list of `path:line  kind qualified_name` lines.
fn list_symbols(out: &mut String, title: &str, symbols: &[SymbolInfo]) {
    let _ = writeln!(out, "{title} ({}):", symbols.len());
    for symbol in symbols {
        let _ =
            writeln!(out, "  {}:{}  {} {}", symbol.path, symbol.span.start_line, symbol.kind, symbol.qualified_name);
    }
}

/// The text of a `get_context` answer: the rendered bundle, then a footer of the
/// ranked files and the token count, and a note when the vector signal covers
/// only part of the index (embeddings still being computed).
pub fn render_context(bundle: &ContextBundle) -> String {
    let mut out = bundle.render();
    if bundle.blocks.is_empty() {
        out.push_str("No code matched the query.\n\n");
    }
    out.push_str("Ranked files:\n");
    for (rank, file) in bundle.files.iter().take(FOOTER_FILES).enumerate() {
        let _ = writeln!(out, "{:>3}. {}  ({:.4})", rank + 1, file.path, file.score);
    }
    let _ = writeln!(
        out,
        "{} of {} tokens used in {} blocks (index {}{}).",
        bundle.tokens_used,
        bundle.token_budget,
        bundle.blocks.len(),
        bundle.fingerprint,
        if bundle.commit.is_empty() {
            String::new()
        } else {
            format!(", commit {}", &bundle.commit[..bundle.commit.len().min(12)])
        }
    );
    if let Some(coverage) = bundle.vector_coverage.filter(codectx_core::VectorCoverage::is_partial) {
        let _ = writeln!(out, "Note: {}.", coverage.note());
    }
    out
}

#[tool_handler(router = self.tool_router)]
impl<S: ContextService> ServerHandler for CodectxMcp<S> {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new(SERVER_NAME, env!("CARGO_PKG_VERSION")).with_title("codectx code context engine"),
            )
            .with_instructions(INSTRUCTIONS)
    }
}

/// Serves `server` over a reader (client to server) and a writer (server to
/// client) of newline-delimited JSON-RPC until the client closes the stream.
///
/// Each line of `reader` is one JSON-RPC message of at most [`MAX_LINE_BYTES`]
/// bytes (a longer one is discarded as it is read, never held whole). A line that
/// is not a JSON-RPC 2.0 message gets an error reply on `writer` and the server
/// keeps serving: [`PARSE_ERROR`] (`-32700`, `id: null`) for an empty or blank
/// line, a line over the limit (the message names it), invalid UTF-8 or invalid
/// JSON; [`INVALID_REQUEST`] (`-32600`, with the message's id when it is a string
/// or an integer) for JSON that is not a JSON-RPC 2.0 message (batch arrays
/// included) or a request `rmcp` cannot read; [`INVALID_PARAMS`] (`-32602`, with
/// the id) for a request to a method of the MCP specification (`tools/call`, ...)
/// whose params do not have its shape. Messages are at most
/// [`MAX_ERROR_MESSAGE_BYTES`] bytes. Notifications and responses sent before
/// `initialize` are dropped without a reply. Every reply is written as one whole
/// line.
///
/// # Errors
///
/// The MCP session failing (an `initialize` the server cannot answer, say), or
/// reading `reader` or writing `writer` failing. A client that closes the stream,
/// before or after `initialize`, ends it with `Ok`.
pub async fn serve<S, R, W>(server: CodectxMcp<S>, reader: R, writer: W) -> std::io::Result<()>
where
    S: ContextService,
    R: tokio::io::AsyncRead + Send + Unpin,
    W: tokio::io::AsyncWrite + Send + Unpin,
{
    serve_with_max_line(server, reader, writer, MAX_LINE_BYTES).await
}

/// [`serve`] with lines of at most `max_line` bytes.
async fn serve_with_max_line<S, R, W>(
    server: CodectxMcp<S>,
    reader: R,
    writer: W,
    max_line: usize,
) -> std::io::Result<()>
where
    S: ContextService,
    R: tokio::io::AsyncRead + Send + Unpin,
    W: tokio::io::AsyncWrite + Send + Unpin,
{
    framing::serve_framed(reader, writer, max_line, |input, output| run_session(server, input, output)).await
}

/// Runs the `rmcp` session of `server` over the framing layer's pipes until its
/// input ends.
async fn run_session<S: ContextService>(
    server: CodectxMcp<S>,
    input: tokio::io::DuplexStream,
    output: tokio::io::DuplexStream,
) -> std::io::Result<()> {
    let running = match server.serve((input, output)).await {
        Ok(running) => running,
        Err(rmcp::service::ServerInitializeError::ConnectionClosed(_)) => {
            tracing::debug!("the client closed the stream before initialize");
            return Ok(());
        }
        Err(error) => return Err(std::io::Error::other(format!("MCP initialization failed: {error}"))),
    };
    let reason =
        running.waiting().await.map_err(|error| std::io::Error::other(format!("MCP server task failed: {error}")))?;
    tracing::debug!(?reason, "MCP session ended");
    Ok(())
}

/// Serves `repository` of `service` over standard input and output until the
/// client closes standard input, as [`serve`] does. Standard output carries the
/// protocol only: log to standard error.
pub async fn serve_stdio<S: ContextService>(service: Arc<S>, repository: impl Into<String>) -> std::io::Result<()> {
    let (reader, writer) = rmcp::transport::io::stdio_pipes();
    serve(CodectxMcp::new(service, repository), reader, writer).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use codectx_core::{
        Block, BlockKind, Error, FileDependencies, GenerateEvent, GenerateRequest, IndexEvent, Language, RankedFile,
        References, RepositoryInfo, Result, SearchHit, Span, SymbolKind,
    };
    use codectx_service::{BoxFuture, ResultStream};
    use proptest::prelude::*;
    use serde_json::{json, Value};
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    /// A service with one fixed answer per method, checking requests like the engine.
    struct Fixed;

    fn symbol() -> SymbolInfo {
        SymbolInfo {
            name: "resolve_redirects".into(),
            qualified_name: "sessions.Session.resolve_redirects".into(),
            kind: SymbolKind::Method,
            path: "pyapp/sessions.py".into(),
            span: Span { start_byte: 0, end_byte: 10, start_line: 40, end_line: 60 },
            signature: "def resolve_redirects(self, response):".into(),
            doc: "Follows redirects.".into(),
            language: Language::Python,
        }
    }

    impl ContextService for Fixed {
        fn get_context(&self, repository: &str, request: ContextRequest) -> BoxFuture<'_, Result<ContextBundle>> {
            let repository = repository.to_string();
            Box::pin(async move {
                if repository != "local" {
                    return Err(Error::UnknownRepository(repository));
                }
                // As the engine does: 0 is the configured default (here 8000).
                let mut request = request;
                if request.token_budget == 0 {
                    request.token_budget = 8000;
                }
                request.validate()?;
                Ok(ContextBundle {
                    blocks: vec![Block {
                        path: "pyapp/sessions.py".into(),
                        start_line: 40,
                        end_line: 41,
                        symbol: "sessions.Session.resolve_redirects".into(),
                        kind: BlockKind::Code,
                        score: 1.0,
                        signals: Vec::new(),
                        tokens: 12,
                        text: "def resolve_redirects(self, response):\n    pass\n".into(),
                    }],
                    files: vec![RankedFile {
                        path: "pyapp/sessions.py".into(),
                        score: 0.5,
                        language: Language::Python,
                    }],
                    tokens_used: 12,
                    token_budget: request.token_budget as u32,
                    fingerprint: "0123456789abcdef".into(),
                    commit: String::new(),
                    vector_coverage: None,
                })
            })
        }

        fn generate(&self, _: &str, _: GenerateRequest) -> BoxFuture<'_, Result<ResultStream<GenerateEvent>>> {
            Box::pin(async { Err(Error::NoModel) })
        }

        fn search(&self, _: &str, request: SearchRequest) -> BoxFuture<'_, Result<Vec<SearchHit>>> {
            Box::pin(async move {
                codectx_core::validate_query(&request.query)?;
                let symbol = symbol();
                Ok(vec![SearchHit {
                    path: symbol.path,
                    span: symbol.span,
                    symbol: symbol.qualified_name,
                    symbol_kind: Some(symbol.kind),
                    score: 0.25,
                    signals: Vec::new(),
                    preview: "def resolve_redirects(self, response):".into(),
                }])
            })
        }

        fn symbols(&self, _: &str, name: &str, _: usize) -> BoxFuture<'_, Result<Vec<SymbolInfo>>> {
            let found = name.ends_with("resolve_redirects");
            Box::pin(async move { Ok(if found { vec![symbol()] } else { Vec::new() }) })
        }

        fn references(&self, _: &str, name: &str, _: usize, _: &str) -> BoxFuture<'_, Result<References>> {
            let name = name.to_string();
            Box::pin(async move {
                if name != "resolve_redirects" {
                    return Err(Error::NotFound(format!("{name} is neither defined nor used")));
                }
                Ok(References {
                    definitions: vec![symbol()],
                    references: vec![codectx_core::ReferenceSite {
                        path: "pyapp/api.py".into(),
                        line: 7,
                        enclosing: "api.request".into(),
                        text: "session.resolve_redirects(r)".into(),
                    }],
                    total_references: 3,
                    next_page_token: "1".into(),
                    callers: Vec::new(),
                    callees: Vec::new(),
                })
            })
        }

        fn symbol_graph(
            &self,
            _: &str,
            request: codectx_core::SymbolGraphRequest,
        ) -> BoxFuture<'_, Result<codectx_core::SymbolGraph>> {
            Box::pin(async move { Err(Error::NotFound(request.name)) })
        }

        fn file_dependencies(&self, _: &str, path: &str) -> BoxFuture<'_, Result<FileDependencies>> {
            let path = path.to_string();
            Box::pin(async move { Err(Error::NotFound(path)) })
        }

        fn index(&self, _: &str) -> BoxFuture<'_, Result<ResultStream<IndexEvent>>> {
            Box::pin(async { Err(Error::Internal("not supported".into())) })
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
            Box::pin(async { Ok(Vec::new()) })
        }
    }

    fn server() -> CodectxMcp<Fixed> {
        CodectxMcp::new(Arc::new(Fixed), "local")
    }

    fn text(result: &CallToolResult) -> String {
        let value = serde_json::to_value(result).expect("serialize");
        value["content"].as_array().expect("content").iter().filter_map(|block| block["text"].as_str()).collect()
    }

    fn context_args(query: &str) -> Parameters<GetContextArgs> {
        Parameters(GetContextArgs {
            query: query.into(),
            token_budget: None,
            max_files: None,
            include: None,
            exclude: None,
        })
    }

    #[tokio::test]
    async fn get_context_renders_bundle_and_footer() {
        let result = server().get_context(context_args("redirects")).await;
        assert_ne!(result.is_error, Some(true));
        let text = text(&result);
        assert!(text.starts_with("pyapp/sessions.py:40-41 (sessions.Session.resolve_redirects)\n```\n"), "{text}");
        assert!(text.contains("Ranked files:\n  1. pyapp/sessions.py  (0.5000)\n"), "{text}");
        assert!(text.contains("12 of 8000 tokens used in 1 blocks"), "default budget: {text}");
    }

    #[test]
    fn a_partial_vector_signal_is_noted_under_the_context() {
        let bundle = ContextBundle {
            blocks: Vec::new(),
            files: Vec::new(),
            tokens_used: 0,
            token_budget: 8000,
            fingerprint: "0123456789abcdef".into(),
            commit: String::new(),
            vector_coverage: Some(codectx_core::VectorCoverage { embedded: 250, total: 1000 }),
        };
        let text = render_context(&bundle);
        assert!(text.ends_with("Note: the vector signal covers 250 of 1000 chunks so far (25.0%); `codectx embed` waits for (or runs) the rest.\n"), "{text}");
        let complete = ContextBundle { vector_coverage: None, ..bundle };
        assert!(!render_context(&complete).contains("Note:"));
    }

    #[tokio::test]
    async fn domain_errors_are_tool_errors() {
        let result = server().get_context(context_args("  ")).await;
        assert_eq!(result.is_error, Some(true));
        assert_eq!(text(&result), "invalid argument: the query is empty");

        let mut args = context_args("redirects");
        args.0.token_budget = Some(10);
        let result = server().get_context(args).await;
        assert_eq!(result.is_error, Some(true));
        assert!(text(&result).contains("token budget 10 is outside"), "{}", text(&result));

        let result = server().symbols(Parameters(SymbolsArgs { name: "Nope".into(), limit: None })).await;
        assert_eq!(result.is_error, Some(true));
        assert_eq!(text(&result), "not found: no symbol named Nope");

        let wrong = CodectxMcp::new(Arc::new(Fixed), "other");
        let result = wrong.get_context(context_args("redirects")).await;
        assert_eq!(text(&result), "unknown repository: other");
    }

    #[tokio::test]
    async fn search_symbols_and_references_render() {
        let result = server().search(Parameters(SearchArgs { query: "redirects".into(), limit: None })).await;
        let text_out = text(&result);
        assert!(
            text_out.starts_with(" 1. pyapp/sessions.py:40-60 sessions.Session.resolve_redirects (method)"),
            "{text_out}"
        );
        assert!(text_out.contains("      def resolve_redirects(self, response):"), "{text_out}");

        let result =
            server().symbols(Parameters(SymbolsArgs { name: "Session.resolve_redirects".into(), limit: None })).await;
        let text_out = text(&result);
        assert!(text_out.contains("pyapp/sessions.py:40-60  method sessions.Session.resolve_redirects"), "{text_out}");
        assert!(text_out.contains("Follows redirects."), "{text_out}");

        let args = ReferencesArgs { name: "resolve_redirects".into(), page_size: None, page_token: None };
        let text_out = text(&server().references(Parameters(args)).await);
        assert!(text_out.contains("definitions (1):\n  pyapp/sessions.py:40  method"), "{text_out}");
        assert!(
            text_out.contains(
                "references (1 shown, 3 in all):\n  pyapp/api.py:7  [api.request]  session.resolve_redirects(r)"
            ),
            "{text_out}"
        );
        assert!(text_out.contains("page_token \"1\""), "{text_out}");
        assert!(text_out.contains("callers (0):") && text_out.contains("callees (0):"), "{text_out}");
    }

    #[test]
    fn info_names_the_server_and_its_tools() {
        let info = server().get_info();
        assert_eq!(info.server_info.name, "codectx");
        assert_eq!(info.server_info.version, env!("CARGO_PKG_VERSION"));
        assert!(info.capabilities.tools.is_some());
        assert!(info.instructions.as_deref().is_some_and(|text| text.contains("references")));
        let mut names: Vec<String> =
            server().tool_router.list_all().into_iter().map(|tool| tool.name.to_string()).collect();
        names.sort();
        assert_eq!(names, ["get_context", "references", "search", "symbol_graph", "symbols"]);
    }

    /// A whole JSON-RPC session over an in-memory stream.
    #[tokio::test]
    async fn json_rpc_session() {
        let (client, server_end) = tokio::io::duplex(1 << 20);
        let (server_read, server_write) = tokio::io::split(server_end);
        let task = tokio::spawn(serve(server(), server_read, server_write));
        let (client_read, mut client_write) = tokio::io::split(client);
        let mut lines = BufReader::new(client_read).lines();
        let mut exchange = async |message: Value| -> Option<Value> {
            let mut line = message.to_string();
            line.push('\n');
            client_write.write_all(line.as_bytes()).await.expect("write");
            message.get("id")?;
            loop {
                let line = tokio::time::timeout(std::time::Duration::from_secs(10), lines.next_line())
                    .await
                    .expect("an answer in time")
                    .expect("read")
                    .expect("a line");
                let answer: Value = serde_json::from_str(&line).expect("JSON");
                if answer["id"] == message["id"] {
                    return Some(answer);
                }
            }
        };
        let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
        let answer = exchange(init).await.expect("answer");
        assert_eq!(answer["result"]["serverInfo"]["name"], "codectx", "{answer}");
        assert_eq!(answer["result"]["protocolVersion"], "2025-06-18", "{answer}");
        exchange(json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;

        let answer =
            exchange(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}})).await.expect("answer");
        let tools = answer["result"]["tools"].as_array().expect("tools");
        assert_eq!(tools.len(), 5, "{answer}");
        let search = tools.iter().find(|tool| tool["name"] == "search").expect("search");
        assert_eq!(search["inputSchema"]["required"], json!(["query"]), "{search}");

        let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
            "params": {"name": "get_context", "arguments": {"query": ""}}});
        let answer = exchange(call).await.expect("answer");
        assert_eq!(answer["result"]["isError"], true, "{answer}");
        assert_eq!(answer["result"]["content"][0]["text"], "invalid argument: the query is empty", "{answer}");

        let call = json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
            "params": {"name": "symbols", "arguments": {"name": "Session.resolve_redirects"}}});
        let answer = exchange(call).await.expect("answer");
        assert!(
            answer["result"]["content"][0]["text"].as_str().expect("text").contains("pyapp/sessions.py:40"),
            "{answer}"
        );

        drop(client_write);
        drop(lines);
        tokio::time::timeout(std::time::Duration::from_secs(10), task)
            .await
            .expect("ends on EOF")
            .expect("join")
            .expect("serve");
    }

    /// Counts the bytes the test binary holds, and their peak, to check that the
    /// framing layer does not buffer an over-long line.
    mod counting {
        use std::alloc::{GlobalAlloc, Layout, System};
        use std::sync::atomic::{AtomicUsize, Ordering};

        /// The system allocator, counting.
        pub struct Counting;

        /// Bytes allocated and not yet freed.
        pub static LIVE: AtomicUsize = AtomicUsize::new(0);
        /// The most of [`LIVE`] since the last reset.
        pub static PEAK: AtomicUsize = AtomicUsize::new(0);

        // SAFETY: every call goes to `System` as is; the counters do not touch memory.
        unsafe impl GlobalAlloc for Counting {
            unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
                // SAFETY: the caller's contract, passed on.
                let pointer = unsafe { System.alloc(layout) };
                if !pointer.is_null() {
                    let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
                    PEAK.fetch_max(live, Ordering::Relaxed);
                }
                pointer
            }

            unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
                // SAFETY: the caller's contract, passed on.
                unsafe { System.dealloc(pointer, layout) };
                LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            }
        }

        #[global_allocator]
        static GLOBAL: Counting = Counting;
    }

    /// A reader of `remaining` bytes of `x` and no newline.
    struct Endless {
        remaining: usize,
    }

    impl tokio::io::AsyncRead for Endless {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            const CHUNK: [u8; 8192] = [b'x'; 8192];
            let count = self.remaining.min(buf.remaining()).min(CHUNK.len());
            buf.put_slice(&CHUNK[..count]);
            self.remaining -= count;
            std::task::Poll::Ready(Ok(()))
        }
    }

    /// A 64 MiB line is read through in bounded memory, answered with the limit,
    /// and the request after it is answered.
    #[tokio::test]
    async fn an_over_long_line_is_not_buffered() {
        use std::sync::atomic::Ordering;
        const LINE: usize = 64 << 20;
        let ping = b"\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n";
        let reader = tokio::io::AsyncReadExt::chain(Endless { remaining: LINE }, &ping[..]);
        let mut out = Vec::new();
        let baseline = counting::LIVE.load(Ordering::Relaxed);
        counting::PEAK.store(baseline, Ordering::Relaxed);
        serve_with_max_line(server(), reader, &mut out, MAX_LINE_BYTES).await.expect("serve");
        let grown = counting::PEAK.load(Ordering::Relaxed).saturating_sub(baseline);
        assert!(grown < 16 << 20, "{grown} bytes held while reading a {LINE}-byte line");

        let replies: Vec<Value> = out
            .split(|&byte| byte == b'\n')
            .filter(|line| !line.is_empty())
            .map(|line| serde_json::from_slice(line).expect("JSON"))
            .collect();
        let message = format!(
            "Parse error: the line is {LINE} bytes, over the limit of {MAX_LINE_BYTES} bytes per message; \
             it was discarded"
        );
        assert_eq!(
            replies,
            [
                json!({"jsonrpc": "2.0", "id": null, "error": {"code": PARSE_ERROR, "message": message}}),
                json!({"jsonrpc": "2.0", "id": 1, "result": {}}),
            ]
        );
    }

    /// A generated line of client input.
    #[derive(Debug, Clone)]
    enum Piece {
        /// Arbitrary bytes (a newline becomes a space).
        Bytes(Vec<u8>),
        /// A valid request cut short.
        Truncated(proptest::sample::Index),
        /// A valid request with bytes replaced (newlines excepted).
        Garbled(Vec<(proptest::sample::Index, u8)>),
        /// A valid request with a byte that is never in UTF-8 (or a stray continuation byte) put in.
        InvalidUtf8(proptest::sample::Index, u8),
        /// A line of `limit + 1 + n` bytes of one printable byte.
        Huge(usize, u8),
        /// Empty or blank.
        Blank(&'static str),
        /// JSON that is not an object.
        NotObject(&'static str),
        /// An object that is not a valid JSON-RPC request, with an id (`{id}` in the template).
        InvalidWithId(&'static str),
        /// `ping`, answered with `{}`.
        Ping,
        /// `tools/list` (answered, with an error before `initialize`).
        ToolsList,
        /// A notification: no reply.
        Notification(&'static str),
    }

    /// What a line gets.
    #[derive(Debug, Clone, PartialEq)]
    enum Expect {
        /// An error with `id: null`, of this code, whose message says this.
        NullError(i64, String),
        /// An error with this id and code.
        Error(Value, i64),
        /// `{}` as the result, for this id.
        Pong(Value),
        /// Any answer for this id.
        Answer(Value),
        /// No reply.
        Nothing,
    }

    /// A valid request to garble: a `tools/call` with non-ASCII text and an escape.
    const TEMPLATE: &str = concat!(
        r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","#,
        r#""params":{"name":"search","arguments":{"query":"résumé \u00e9"}}}"#
    );

    fn piece() -> impl Strategy<Value = Piece> {
        use proptest::sample::{select, Index};
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..200).prop_map(Piece::Bytes),
            any::<Index>().prop_map(Piece::Truncated),
            proptest::collection::vec((any::<Index>(), any::<u8>()), 1..4).prop_map(Piece::Garbled),
            (any::<Index>(), select(vec![0xFFu8, 0xFE, 0xC0, 0xF8, 0x80, 0xBF]))
                .prop_map(|(at, byte)| Piece::InvalidUtf8(at, byte)),
            (0..2048usize, 0x21..0x7Fu8).prop_map(|(extra, byte)| Piece::Huge(extra, byte)),
            select(vec!["", " ", "\r", " \t \r"]).prop_map(Piece::Blank),
            select(vec![
                "[]",
                "[1,2]",
                r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
                "42",
                "\"ping\"",
                "null",
                "true"
            ])
            .prop_map(Piece::NotObject),
            select(vec![
                r#"{"jsonrpc":"1.0","id":{id},"method":"ping"}"#,
                r#"{"id":{id},"method":"ping"}"#,
                r#"{"jsonrpc":"2.0","id":{id},"method":5}"#,
                r#"{"jsonrpc":"2.0","id":{id},"method":"ping","params":"x"}"#,
                r#"{"jsonrpc":"2.0","id":{id},"method":"ping","result":{}}"#,
                r#"{"jsonrpc":"2.0","id":{id}}"#,
                r#"{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{"arguments":{}}}"#,
            ])
            .prop_map(Piece::InvalidWithId),
            Just(Piece::Ping),
            Just(Piece::ToolsList),
            select(vec![
                r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
                r#"{"jsonrpc":"2.0","method":"notifications/roots/list_changed"}"#,
                r#"{"jsonrpc":"2.0","method":"$/progress","params":{"x":1}}"#,
            ])
            .prop_map(Piece::Notification),
        ]
    }

    /// What a line that is not a JSON object gets, told independently of the
    /// framing layer: `None` for an object (not sent: its fate depends on its fields).
    fn oracle(line: &[u8]) -> Option<Expect> {
        let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        match serde_json::from_slice::<Value>(line) {
            Err(_) => Some(Expect::NullError(PARSE_ERROR, "Parse error: ".into())),
            Ok(Value::Object(_)) => None,
            Ok(_) => Some(Expect::NullError(INVALID_REQUEST, "Invalid Request: ".into())),
        }
    }

    /// The line of `piece` with id `id` and what it gets; `None`: not sent.
    fn render(piece: &Piece, id: i64, max_line: usize) -> Option<(Vec<u8>, Expect)> {
        let template = TEMPLATE.as_bytes();
        let no_newline = |byte: u8| if byte == b'\n' { b' ' } else { byte };
        let checked = |line: Vec<u8>| oracle(&line).map(|expect| (line, expect));
        match piece {
            Piece::Bytes(bytes) => checked(bytes.iter().copied().map(no_newline).collect()),
            Piece::Truncated(at) => checked(template[..at.index(template.len())].to_vec()),
            Piece::Garbled(changes) => {
                let mut line = template.to_vec();
                for (at, byte) in changes {
                    line[at.index(template.len())] = no_newline(*byte);
                }
                checked(line)
            }
            Piece::InvalidUtf8(at, byte) => {
                let mut line = template.to_vec();
                line.insert(at.index(template.len() + 1), *byte);
                let expect = Expect::NullError(PARSE_ERROR, "Parse error: ".into());
                Some((line, expect))
            }
            Piece::Huge(extra, byte) => {
                let length = max_line + 1 + extra;
                let says = format!("the line is {length} bytes, over the limit of {max_line} bytes per message");
                Some((vec![*byte; length], Expect::NullError(PARSE_ERROR, says)))
            }
            Piece::Blank(text) => {
                Some((text.as_bytes().to_vec(), Expect::NullError(PARSE_ERROR, "Parse error: empty line".into())))
            }
            Piece::NotObject(text) => {
                Some((text.as_bytes().to_vec(), Expect::NullError(INVALID_REQUEST, "Invalid Request: ".into())))
            }
            Piece::InvalidWithId(template) => Some((
                template.replace("{id}", &id.to_string()).into_bytes(),
                Expect::Error(
                    json!(id),
                    if template.contains("tools/call") { INVALID_PARAMS } else { INVALID_REQUEST },
                ),
            )),
            Piece::Ping => {
                let line = json!({"jsonrpc": "2.0", "id": id, "method": "ping"}).to_string();
                Some((line.into_bytes(), Expect::Pong(json!(id))))
            }
            Piece::ToolsList => {
                let line = json!({"jsonrpc": "2.0", "id": id, "method": "tools/list", "params": {}}).to_string();
                Some((line.into_bytes(), Expect::Answer(json!(id))))
            }
            Piece::Notification(text) => Some((text.as_bytes().to_vec(), Expect::Nothing)),
        }
    }

    /// Sends `lines` over an in-memory stream, reads `replies` lines back, closes
    /// the stream and checks that the server ends cleanly with nothing more to say.
    async fn exchange_lines(lines: Vec<Vec<u8>>, replies: usize, max_line: usize) -> Vec<Value> {
        let (client, server_end) = tokio::io::duplex(1 << 16);
        let (server_read, server_write) = tokio::io::split(server_end);
        let task = tokio::spawn(serve_with_max_line(server(), server_read, server_write, max_line));
        let (client_read, mut client_write) = tokio::io::split(client);
        let (close, closed) = tokio::sync::oneshot::channel::<()>();
        let sender = tokio::spawn(async move {
            for line in lines {
                client_write.write_all(&line).await?;
                client_write.write_all(b"\n").await?;
            }
            let _ = closed.await;
            client_write.shutdown().await
        });
        let mut output = BufReader::new(client_read).lines();
        let mut answers = Vec::new();
        let wait = std::time::Duration::from_secs(60);
        while answers.len() < replies {
            let line = tokio::time::timeout(wait, output.next_line())
                .await
                .unwrap_or_else(|_| panic!("only {} of {replies} replies: {answers:?}", answers.len()))
                .expect("read")
                .unwrap_or_else(|| {
                    panic!("the server ended after {} of {replies} replies: {answers:?}", answers.len())
                });
            answers.push(serde_json::from_str(&line).unwrap_or_else(|error| panic!("not JSON ({error}): {line:?}")));
        }
        let _ = close.send(());
        sender.await.expect("join").expect("send the lines");
        tokio::time::timeout(wait, task).await.expect("ends on EOF").expect("join").expect("serve");
        let rest = output.next_line().await.expect("read");
        assert_eq!(rest, None, "a reply more than expected after {answers:?}");
        answers
    }

    proptest! {
        /// Whatever the client sends, the server stays up, answers each malformed
        /// line with one JSON-RPC error of a defined code and a bounded one-line
        /// message (`id: null`, or the message's id), answers valid requests among
        /// them, says nothing to notifications, and ends cleanly at the end of input.
        #[test]
        fn garbage_is_answered_and_requests_still_served(
            pieces in proptest::collection::vec(piece(), 0..24),
            initialize_at in any::<proptest::sample::Index>(),
        ) {
            const MAX_LINE: usize = 512;
            let mut lines = Vec::new();
            let mut expected = Vec::new();
            let initialize_at = initialize_at.index(pieces.len() + 1);
            for (index, piece) in pieces.iter().enumerate() {
                if index == initialize_at {
                    let line = json!({"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
                        "protocolVersion": "2025-06-18", "capabilities": {},
                        "clientInfo": {"name": "t", "version": "1"}}});
                    lines.push(line.to_string().into_bytes());
                    expected.push(Expect::Answer(json!("init")));
                }
                if let Some((line, expect)) = render(piece, 100 + index as i64, MAX_LINE) {
                    lines.push(line);
                    expected.push(expect);
                }
            }
            let replies = expected.iter().filter(|expect| **expect != Expect::Nothing).count();
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            let answers = runtime.block_on(exchange_lines(lines, replies, MAX_LINE));

            // Replies with `id: null` come from the framing layer, in the order of the lines.
            let null_errors: Vec<&Value> = answers.iter().filter(|answer| answer["id"].is_null()).collect();
            let expected_null: Vec<(i64, &str)> = expected
                .iter()
                .filter_map(|expect| match expect {
                    Expect::NullError(code, says) => Some((*code, says.as_str())),
                    _ => None,
                })
                .collect();
            prop_assert_eq!(null_errors.len(), expected_null.len(), "{:?}", answers);
            for (answer, (code, says)) in null_errors.iter().zip(&expected_null) {
                prop_assert_eq!(answer["jsonrpc"].as_str(), Some("2.0"));
                prop_assert_eq!(answer["error"]["code"].as_i64(), Some(*code), "{}", answer);
                let message = answer["error"]["message"].as_str().unwrap_or_default();
                prop_assert!(message.contains(says), "{} does not say {:?}", answer, says);
                prop_assert!(message.len() <= MAX_ERROR_MESSAGE_BYTES && !message.contains('\n'), "{}", answer);
            }
            // Every other reply answers its own id, once.
            for expect in &expected {
                let id = match expect {
                    Expect::Error(id, _) | Expect::Pong(id) | Expect::Answer(id) => id,
                    Expect::NullError(..) | Expect::Nothing => continue,
                };
                let found: Vec<&Value> = answers.iter().filter(|answer| answer["id"] == *id).collect();
                prop_assert_eq!(found.len(), 1, "replies to {}: {:?}", id, answers);
                let answer = found[0];
                let fits = match expect {
                    Expect::Error(_, code) => answer["error"]["code"] == json!(code),
                    Expect::Pong(_) => answer["result"] == json!({}),
                    _ => answer["result"].is_object() || answer["error"].is_object(),
                };
                prop_assert!(fits, "{:?}: {}", expect, answer);
                if let Some(message) = answer["error"]["message"].as_str() {
                    prop_assert!(message.len() <= MAX_ERROR_MESSAGE_BYTES && !message.contains('\n'), "{}", answer);
                }
            }
        }
    }
}
