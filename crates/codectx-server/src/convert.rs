//! Every conversion between the `codectx.v1` proto messages and the domain types of
//! `codectx-core`, in one place.
//!
//! * Requests, proto → domain, with the adapter's validation and defaults:
//!   [`context_request`], [`generate_request`], [`search_request`],
//!   [`symbols_request`], [`references_request`], [`symbol_graph_request`],
//!   [`dependencies_request`], [`add_repository_request`], [`repository_name`].
//!   They fail with [`Error::InvalidArgument`] (mapped to `INVALID_ARGUMENT`).
//!   Every name, path and glob is checked against its size limit
//!   ([`codectx_core::validate_field`]: [`codectx_core::MAX_NAME_BYTES`],
//!   [`codectx_core::MAX_PATH_BYTES`], [`codectx_core::MAX_FILTER_GLOBS`]) before
//!   anything else reads it, and errors quote request fields as
//!   [`codectx_core::quote`] does.
//! * Answers, domain → proto: [`IntoProto`].
//! * Answers, proto → domain: [`FromProto`], for Rust clients of the API. It fails
//!   with [`Error::InvalidArgument`] on a value the domain cannot represent (an
//!   unknown symbol kind, language or signal name, an event without its payload).
//!
//! Lossy points, by design of the wire format: a [`SearchHit`]'s span travels as
//! lines only (its byte offsets read back as 0); a [`ContextRequest`]'s `max_files`
//! is not part of `GenerateRequest` (always 0 = no limit there).

use codectx_core::{quote, validate_field, validate_symbol_name, FieldKind};
use codectx_core::{
    Block, BlockKind, ContextBundle, ContextRequest, DependencyEdge, EmbedStats, Error, Expansion, FileDependencies,
    GenerateEvent, GenerateRequest, GraphDirection, IndexEvent, IndexProgress, IndexStats, Language, ModelOverrides,
    PathFilter, RankedFile, References, RepositoryInfo, Result, RetrievalMode, SearchHit, SearchRequest, Signal,
    SignalHit, Span, SymbolEdgeKind, SymbolGraph, SymbolGraphRequest, SymbolInfo, SymbolKind, Usage,
};
use codectx_proto::v1 as pb;

/// Search hits when a request asks for 0.
pub const DEFAULT_SEARCH_LIMIT: usize = 20;
/// Most search hits a request may ask for.
pub const MAX_SEARCH_LIMIT: usize = 1000;
/// Symbols when a request asks for 0.
pub const DEFAULT_SYMBOL_LIMIT: usize = 50;
/// Most symbols a request may ask for.
pub const MAX_SYMBOL_LIMIT: usize = 1000;

/// A domain value that has a proto form.
pub trait IntoProto {
    /// The proto message.
    type Proto;
    /// Converts to the proto message; never fails.
    fn into_proto(self) -> Self::Proto;
}

/// A domain value that can be read back from its proto form.
pub trait FromProto<P>: Sized {
    /// Converts from the proto message.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidArgument`] when the message holds a value the domain type
    /// cannot represent (unknown enum name, missing `oneof` payload).
    fn from_proto(proto: P) -> Result<Self>;
}

fn invalid(what: String) -> Error {
    Error::InvalidArgument(what)
}

// ---------------------------------------------------------------------------
// Requests (proto → domain, validated)
// ---------------------------------------------------------------------------

/// The repository name of a request: at most [`MAX_NAME_BYTES`](codectx_core::MAX_NAME_BYTES), not empty or
/// blank, used as given.
pub fn repository_name(name: String) -> Result<String> {
    validate_field(FieldKind::Name, "repository name", &name)?;
    if name.trim().is_empty() {
        return Err(invalid("the repository name is empty".into()));
    }
    Ok(name)
}

/// A token budget of a request, as given: 0 means the server's configured
/// default (`[retrieval] default_budget`, [`codectx_core::DEFAULT_TOKEN_BUDGET`] unless set),
/// which the service applies; the range is checked by the service
/// ([`ContextRequest::validate`]).
fn token_budget(budget: u32) -> usize {
    budget as usize
}

/// A limit of a request: 0 means `default`, more than `max` is refused.
fn limit(value: u32, default: usize, max: usize, what: &str) -> Result<usize> {
    match value as usize {
        0 => Ok(default),
        value if value > max => Err(invalid(format!("the {what} limit {value} is more than the maximum of {max}"))),
        value => Ok(value),
    }
}

/// The path filter of a request, its sizes checked ([`PathFilter::validate`]).
fn path_filter(filter: Option<pb::PathFilter>) -> Result<PathFilter> {
    let filter = filter.unwrap_or_default();
    let filter = PathFilter { include: filter.include, exclude: filter.exclude };
    filter.validate()?;
    Ok(filter)
}

/// `GetContextRequest` → repository name and [`ContextRequest`]. A `token_budget`
/// of 0 stays 0: the service applies its configured default (`[retrieval]
/// default_budget`); the query and budget range are left to the service to check.
pub fn context_request(request: pb::GetContextRequest) -> Result<(String, ContextRequest)> {
    let repository = repository_name(request.repository)?;
    let context = ContextRequest {
        query: request.query,
        token_budget: token_budget(request.token_budget),
        max_files: request.max_files as usize,
        filter: path_filter(request.filter)?,
        expansion: Expansion {
            enabled: request.expand.unwrap_or(true),
            max_share: request.expansion_share.unwrap_or(Expansion::default().max_share),
        },
        mode: mode(&request.mode)?,
        freshness: freshness(request.freshness)?,
    };
    Ok((repository, context))
}

/// The `freshness` field: an empty `min_commit` means none; one over
/// [`MAX_NAME_BYTES`](codectx_core::MAX_NAME_BYTES) is refused here, its form is checked by
/// [`ContextRequest::validate`] (INVALID_ARGUMENT).
fn freshness(freshness: Option<pb::Freshness>) -> Result<codectx_core::Freshness> {
    let freshness = freshness.unwrap_or_default();
    validate_field(FieldKind::Name, "min_commit", &freshness.min_commit)?;
    Ok(codectx_core::Freshness {
        min_commit: Some(freshness.min_commit.trim().to_string()).filter(|commit| !commit.is_empty()),
        wait_for_pending: freshness.wait_for_pending,
        wait_timeout_ms: freshness.wait_timeout_ms,
    })
}

/// `GenerateRequest` → repository name and [`GenerateRequest`]: the instruction is
/// the retrieval query; an empty model name, `max_tokens` 0 and an unset
/// temperature mean the configured defaults.
///
/// # Errors
///
/// [`Error::InvalidArgument`] for an empty repository name, a name, glob or
/// commit over its limit, or a temperature that is negative or not finite.
pub fn generate_request(request: pb::GenerateRequest) -> Result<(String, GenerateRequest)> {
    let repository = repository_name(request.repository)?;
    let options = request.model.unwrap_or_default();
    validate_field(FieldKind::Name, "model name", &options.model)?;
    if let Some(temperature) = options.temperature {
        if !temperature.is_finite() || temperature < 0.0 {
            return Err(invalid(format!("the temperature {temperature} is not a finite number ≥ 0")));
        }
    }
    let model = ModelOverrides {
        model: Some(options.model).filter(|name| !name.trim().is_empty()),
        max_tokens: Some(options.max_tokens).filter(|&tokens| tokens > 0),
        temperature: options.temperature,
    };
    let context = ContextRequest {
        query: request.instruction,
        token_budget: token_budget(request.token_budget),
        max_files: 0,
        filter: path_filter(request.filter)?,
        expansion: Expansion::default(),
        mode: mode(&request.mode)?,
        freshness: freshness(request.freshness)?,
    };
    Ok((repository, GenerateRequest { context, model }))
}

/// `SearchRequest` → repository name and [`SearchRequest`]. A `limit` of 0 becomes
/// [`DEFAULT_SEARCH_LIMIT`]; more than [`MAX_SEARCH_LIMIT`] is refused.
pub fn search_request(request: pb::SearchRequest) -> Result<(String, SearchRequest)> {
    let repository = repository_name(request.repository)?;
    let search = SearchRequest {
        query: request.query,
        limit: limit(request.limit, DEFAULT_SEARCH_LIMIT, MAX_SEARCH_LIMIT, "search")?,
        filter: path_filter(request.filter)?,
        mode: mode(&request.mode)?,
    };
    Ok((repository, search))
}

/// The `mode` field: empty → `None` (the server decides), else
/// [`RetrievalMode::parse`] (INVALID_ARGUMENT for an unknown name, or one over
/// [`MAX_NAME_BYTES`](codectx_core::MAX_NAME_BYTES)).
fn mode(name: &str) -> Result<Option<RetrievalMode>> {
    validate_field(FieldKind::Name, "mode", name)?;
    if name.trim().is_empty() {
        Ok(None)
    } else {
        RetrievalMode::parse(name).map(Some)
    }
}

/// `GetSymbolsRequest` → repository name, symbol name and limit. The name must not
/// be blank or over [`MAX_NAME_BYTES`](codectx_core::MAX_NAME_BYTES); a `limit` of 0 becomes
/// [`DEFAULT_SYMBOL_LIMIT`]; more than [`MAX_SYMBOL_LIMIT`] is refused.
pub fn symbols_request(request: pb::GetSymbolsRequest) -> Result<(String, String, usize)> {
    let repository = repository_name(request.repository)?;
    validate_symbol_name(&request.name)?;
    let name = request.name.trim().to_string();
    let limit = limit(request.limit, DEFAULT_SYMBOL_LIMIT, MAX_SYMBOL_LIMIT, "symbol")?;
    Ok((repository, name, limit))
}

/// `GetReferencesRequest` → repository, name (not blank, at most
/// [`MAX_NAME_BYTES`](codectx_core::MAX_NAME_BYTES)), page size (0 → 100, at most 1000) and page token (at most
/// [`MAX_NAME_BYTES`](codectx_core::MAX_NAME_BYTES); its form is the domain's check).
pub fn references_request(request: pb::GetReferencesRequest) -> Result<(String, String, usize, String)> {
    let repository = repository_name(request.repository)?;
    validate_symbol_name(&request.name)?;
    validate_field(FieldKind::Name, "page token", &request.page_token)?;
    let name = request.name.trim().to_string();
    let page_size = limit(request.page_size, 100, 1000, "page")?;
    Ok((repository, name, page_size, request.page_token))
}

/// `GetSymbolGraphRequest` → repository and the domain request (the name not
/// blank, at most [`MAX_NAME_BYTES`](codectx_core::MAX_NAME_BYTES); depth 0 → 1; node cap 0 → 50, at most 500;
/// an unknown direction is INVALID_ARGUMENT; the depth range is the domain's
/// check, [`SymbolGraphRequest::validate`]).
pub fn symbol_graph_request(request: pb::GetSymbolGraphRequest) -> Result<(String, SymbolGraphRequest)> {
    let repository = repository_name(request.repository)?;
    validate_symbol_name(&request.name)?;
    let name = request.name.trim().to_string();
    // The domain checks the range (`references::symbol_graph`).
    let depth = if request.depth == 0 { 1 } else { request.depth };
    let direction = match pb::GraphDirection::try_from(request.direction) {
        Ok(pb::GraphDirection::Both) => GraphDirection::Both,
        Ok(pb::GraphDirection::Callers) => GraphDirection::Callers,
        Ok(pb::GraphDirection::Callees) => GraphDirection::Callees,
        Err(_) => return Err(invalid(format!("unknown graph direction {}", request.direction))),
    };
    let max_nodes = limit(request.max_nodes, 50, SymbolGraphRequest::MAX_NODES, "node")?;
    Ok((repository, SymbolGraphRequest { name, depth, direction, max_nodes }))
}

impl IntoProto for SymbolGraph {
    type Proto = pb::SymbolGraph;
    fn into_proto(self) -> pb::SymbolGraph {
        pb::SymbolGraph {
            nodes: self
                .nodes
                .into_iter()
                .map(|node| pb::SymbolGraphNode {
                    id: node.id,
                    symbol: Some(node.symbol.into_proto()),
                    depth: node.depth,
                })
                .collect(),
            edges: self
                .edges
                .into_iter()
                .map(|edge| pb::SymbolGraphEdge {
                    from: edge.from,
                    to: edge.to,
                    kind: match edge.kind {
                        SymbolEdgeKind::Calls => pb::SymbolEdgeKind::Calls,
                        SymbolEdgeKind::Contains => pb::SymbolEdgeKind::Contains,
                    } as i32,
                })
                .collect(),
            truncated: self.truncated,
        }
    }
}

impl IntoProto for References {
    type Proto = pb::GetReferencesResponse;
    fn into_proto(self) -> pb::GetReferencesResponse {
        pb::GetReferencesResponse {
            definitions: self.definitions.into_iter().map(IntoProto::into_proto).collect(),
            references: self
                .references
                .into_iter()
                .map(|site| pb::ReferenceSite {
                    path: site.path,
                    line: site.line,
                    enclosing: site.enclosing,
                    text: site.text,
                })
                .collect(),
            total_references: self.total_references,
            next_page_token: self.next_page_token,
            callers: self.callers.into_iter().map(IntoProto::into_proto).collect(),
            callees: self.callees.into_iter().map(IntoProto::into_proto).collect(),
        }
    }
}

/// `GetFileDependenciesRequest` → repository name and path (not blank, at most
/// [`MAX_PATH_BYTES`](codectx_core::MAX_PATH_BYTES)).
pub fn dependencies_request(request: pb::GetFileDependenciesRequest) -> Result<(String, String)> {
    let repository = repository_name(request.repository)?;
    validate_field(FieldKind::Path, "file path", &request.path)?;
    if request.path.trim().is_empty() {
        return Err(invalid("the file path is empty".into()));
    }
    Ok((repository, request.path))
}

/// `AddRepositoryRequest` → name ([`repository_name`]; its form is the
/// registry's check) and folder (at most [`MAX_PATH_BYTES`](codectx_core::MAX_PATH_BYTES); resolved and
/// confined by the service).
pub fn add_repository_request(request: pb::AddRepositoryRequest) -> Result<(String, String)> {
    let name = repository_name(request.name)?;
    validate_field(FieldKind::Path, "repository path", &request.path)?;
    Ok((name, request.path))
}

// ---------------------------------------------------------------------------
// Enumerations as names
// ---------------------------------------------------------------------------

fn block_kind_name(kind: BlockKind) -> &'static str {
    kind.name()
}

fn block_kind(name: &str) -> Result<BlockKind> {
    [BlockKind::Code, BlockKind::Signature, BlockKind::Related, BlockKind::RepoMap]
        .into_iter()
        .find(|kind| kind.name() == name)
        .ok_or_else(|| invalid(format!("unknown block kind \"{}\"", quote(name))))
}

fn signal(name: &str) -> Result<Signal> {
    Signal::ALL
        .into_iter()
        .find(|signal| signal.name() == name)
        .ok_or_else(|| invalid(format!("unknown signal \"{}\"", quote(name))))
}

fn symbol_kind(name: &str) -> Result<SymbolKind> {
    SymbolKind::from_tag(name)
        .filter(|kind| kind.name() == name)
        .ok_or_else(|| invalid(format!("unknown symbol kind \"{}\"", quote(name))))
}

fn language(name: &str) -> Result<Language> {
    Language::from_name(name).ok_or_else(|| invalid(format!("unknown language \"{}\"", quote(name))))
}

fn collect<P, T: FromProto<P>>(items: Vec<P>) -> Result<Vec<T>> {
    items.into_iter().map(T::from_proto).collect()
}

fn convert<T: IntoProto>(items: Vec<T>) -> Vec<T::Proto> {
    items.into_iter().map(IntoProto::into_proto).collect()
}

// ---------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------

impl IntoProto for SignalHit {
    type Proto = pb::SignalHit;
    fn into_proto(self) -> pb::SignalHit {
        pb::SignalHit { signal: self.signal.name().to_string(), rank: self.rank, score: self.score }
    }
}

impl FromProto<pb::SignalHit> for SignalHit {
    fn from_proto(proto: pb::SignalHit) -> Result<Self> {
        Ok(SignalHit { signal: signal(&proto.signal)?, rank: proto.rank, score: proto.score })
    }
}

impl IntoProto for Block {
    type Proto = pb::Block;
    fn into_proto(self) -> pb::Block {
        pb::Block {
            path: self.path,
            start_line: self.start_line,
            end_line: self.end_line,
            symbol: self.symbol,
            kind: block_kind_name(self.kind).to_string(),
            score: self.score,
            signals: convert(self.signals),
            tokens: self.tokens,
            text: self.text,
        }
    }
}

impl FromProto<pb::Block> for Block {
    fn from_proto(proto: pb::Block) -> Result<Self> {
        Ok(Block {
            path: proto.path,
            start_line: proto.start_line,
            end_line: proto.end_line,
            symbol: proto.symbol,
            kind: block_kind(&proto.kind)?,
            score: proto.score,
            signals: collect(proto.signals)?,
            tokens: proto.tokens,
            text: proto.text,
        })
    }
}

impl IntoProto for RankedFile {
    type Proto = pb::RankedFile;
    fn into_proto(self) -> pb::RankedFile {
        pb::RankedFile { path: self.path, score: self.score, language: self.language.name().to_string() }
    }
}

impl FromProto<pb::RankedFile> for RankedFile {
    fn from_proto(proto: pb::RankedFile) -> Result<Self> {
        Ok(RankedFile { path: proto.path, score: proto.score, language: language(&proto.language)? })
    }
}

impl IntoProto for ContextBundle {
    type Proto = pb::ContextBundle;
    fn into_proto(self) -> pb::ContextBundle {
        pb::ContextBundle {
            blocks: convert(self.blocks),
            files: convert(self.files),
            tokens_used: self.tokens_used,
            token_budget: self.token_budget,
            fingerprint: self.fingerprint,
            commit: self.commit,
            vector_coverage: self.vector_coverage.map(|coverage| pb::VectorCoverage {
                embedded_chunks: coverage.embedded,
                total_chunks: coverage.total,
            }),
        }
    }
}

impl FromProto<pb::ContextBundle> for ContextBundle {
    fn from_proto(proto: pb::ContextBundle) -> Result<Self> {
        Ok(ContextBundle {
            blocks: collect(proto.blocks)?,
            files: collect(proto.files)?,
            tokens_used: proto.tokens_used,
            token_budget: proto.token_budget,
            fingerprint: proto.fingerprint,
            commit: proto.commit,
            vector_coverage: proto.vector_coverage.map(|coverage| codectx_core::VectorCoverage {
                embedded: coverage.embedded_chunks,
                total: coverage.total_chunks,
            }),
        })
    }
}

impl IntoProto for SearchHit {
    type Proto = pb::SearchHit;
    fn into_proto(self) -> pb::SearchHit {
        pb::SearchHit {
            path: self.path,
            start_line: self.span.start_line,
            end_line: self.span.end_line,
            symbol: self.symbol,
            symbol_kind: self.symbol_kind.map(|kind| kind.name().to_string()).unwrap_or_default(),
            score: self.score,
            signals: convert(self.signals),
            preview: self.preview,
        }
    }
}

impl FromProto<pb::SearchHit> for SearchHit {
    /// The span's byte offsets are not on the wire and read back as 0.
    fn from_proto(proto: pb::SearchHit) -> Result<Self> {
        let symbol_kind = match proto.symbol_kind.as_str() {
            "" => None,
            name => Some(symbol_kind(name)?),
        };
        Ok(SearchHit {
            path: proto.path,
            span: Span { start_byte: 0, end_byte: 0, start_line: proto.start_line, end_line: proto.end_line },
            symbol: proto.symbol,
            symbol_kind,
            score: proto.score,
            signals: collect(proto.signals)?,
            preview: proto.preview,
        })
    }
}

impl IntoProto for SymbolInfo {
    type Proto = pb::SymbolInfo;
    fn into_proto(self) -> pb::SymbolInfo {
        pb::SymbolInfo {
            name: self.name,
            qualified_name: self.qualified_name,
            kind: self.kind.name().to_string(),
            path: self.path,
            start_line: self.span.start_line,
            end_line: self.span.end_line,
            start_byte: self.span.start_byte,
            end_byte: self.span.end_byte,
            signature: self.signature,
            doc: self.doc,
            language: self.language.name().to_string(),
        }
    }
}

impl FromProto<pb::SymbolInfo> for SymbolInfo {
    fn from_proto(proto: pb::SymbolInfo) -> Result<Self> {
        Ok(SymbolInfo {
            name: proto.name,
            qualified_name: proto.qualified_name,
            kind: symbol_kind(&proto.kind)?,
            path: proto.path,
            span: Span {
                start_byte: proto.start_byte,
                end_byte: proto.end_byte,
                start_line: proto.start_line,
                end_line: proto.end_line,
            },
            signature: proto.signature,
            doc: proto.doc,
            language: language(&proto.language)?,
        })
    }
}

impl IntoProto for DependencyEdge {
    type Proto = pb::DependencyEdge;
    fn into_proto(self) -> pb::DependencyEdge {
        pb::DependencyEdge { from_path: self.from_path, to_path: self.to_path, module: self.module, line: self.line }
    }
}

impl FromProto<pb::DependencyEdge> for DependencyEdge {
    fn from_proto(proto: pb::DependencyEdge) -> Result<Self> {
        Ok(DependencyEdge {
            from_path: proto.from_path,
            to_path: proto.to_path,
            module: proto.module,
            line: proto.line,
        })
    }
}

impl IntoProto for FileDependencies {
    type Proto = pb::FileDependencies;
    fn into_proto(self) -> pb::FileDependencies {
        pb::FileDependencies { path: self.path, imports: convert(self.imports), imported_by: convert(self.imported_by) }
    }
}

impl FromProto<pb::FileDependencies> for FileDependencies {
    fn from_proto(proto: pb::FileDependencies) -> Result<Self> {
        Ok(FileDependencies {
            path: proto.path,
            imports: collect(proto.imports)?,
            imported_by: collect(proto.imported_by)?,
        })
    }
}

impl IntoProto for codectx_core::IndexStatus {
    type Proto = pb::IndexStatus;
    fn into_proto(self) -> pb::IndexStatus {
        pb::IndexStatus {
            repository: Some(self.repository.into_proto()),
            generation: self.generation,
            indexed_unix: self.indexed_unix,
            indexing: self.indexing,
            last_run: self.last_run.map(IntoProto::into_proto),
            last_error: self.last_error.unwrap_or_default(),
            watching: self.watching,
            pending_changes: self.pending_changes,
            queued: self.queued,
            head_commit: self.head_commit,
            last_run_unix: self.last_run_unix,
            index_runs: self.index_runs,
            damage: self.damage.unwrap_or_default(),
            vector_coverage: self.vector_coverage.map(|coverage| pb::VectorCoverage {
                embedded_chunks: coverage.embedded,
                total_chunks: coverage.total,
            }),
        }
    }
}

impl IntoProto for IndexStats {
    type Proto = pb::IndexStats;
    fn into_proto(self) -> pb::IndexStats {
        pb::IndexStats {
            files: self.files,
            bytes: self.bytes,
            parsed: self.parsed,
            reused: self.reused,
            removed: self.removed,
            symbols: self.symbols,
            chunks: self.chunks,
            imports: self.imports,
            resolved_imports: self.resolved_imports,
            skipped_binary: self.skipped_binary,
            skipped_too_large: self.skipped_too_large,
            skipped_secret: self.skipped_secret,
            skipped_outside_root: self.skipped_outside_root,
            invalid_utf8: self.invalid_utf8,
            generation: self.generation,
            elapsed_ms: self.elapsed_ms,
            unreadable: self.unreadable,
            parse_timeouts: self.parse_timeouts,
            graph_updated: self.graph_updated,
            embeddings: self.embeddings.map(|stats| pb::EmbedStats {
                model_id: stats.model_id,
                dimension: stats.dimension,
                chunks_updated: stats.chunks_updated,
                cache_hits: stats.cache_hits,
                embedded: stats.embedded,
                vectors: stats.vectors,
                ann_index: stats.ann_index,
                embed_ms: stats.embed_ms,
                elapsed_ms: stats.elapsed_ms,
                error: stats.error.unwrap_or_default(),
            }),
        }
    }
}

impl FromProto<pb::IndexStats> for IndexStats {
    fn from_proto(proto: pb::IndexStats) -> Result<Self> {
        Ok(IndexStats {
            files: proto.files,
            bytes: proto.bytes,
            parsed: proto.parsed,
            reused: proto.reused,
            removed: proto.removed,
            symbols: proto.symbols,
            chunks: proto.chunks,
            resolved_imports: proto.resolved_imports,
            imports: proto.imports,
            skipped_binary: proto.skipped_binary,
            skipped_too_large: proto.skipped_too_large,
            skipped_secret: proto.skipped_secret,
            skipped_outside_root: proto.skipped_outside_root,
            invalid_utf8: proto.invalid_utf8,
            unreadable: proto.unreadable,
            parse_timeouts: proto.parse_timeouts,
            graph_updated: proto.graph_updated,
            generation: proto.generation,
            elapsed_ms: proto.elapsed_ms,
            embeddings: proto.embeddings.map(|stats| EmbedStats {
                model_id: stats.model_id,
                dimension: stats.dimension,
                chunks_updated: stats.chunks_updated,
                cache_hits: stats.cache_hits,
                embedded: stats.embedded,
                vectors: stats.vectors,
                ann_index: stats.ann_index,
                embed_ms: stats.embed_ms,
                elapsed_ms: stats.elapsed_ms,
                error: Some(stats.error).filter(|error| !error.is_empty()),
            }),
        })
    }
}

impl IntoProto for IndexProgress {
    type Proto = pb::IndexProgress;
    fn into_proto(self) -> pb::IndexProgress {
        pb::IndexProgress { phase: self.phase, done: self.done, total: self.total }
    }
}

impl FromProto<pb::IndexProgress> for IndexProgress {
    fn from_proto(proto: pb::IndexProgress) -> Result<Self> {
        Ok(IndexProgress { phase: proto.phase, done: proto.done, total: proto.total })
    }
}

impl IntoProto for IndexEvent {
    type Proto = pb::IndexEvent;
    fn into_proto(self) -> pb::IndexEvent {
        let event = match self {
            IndexEvent::Progress(progress) => pb::index_event::Event::Progress(progress.into_proto()),
            IndexEvent::Done(stats) => pb::index_event::Event::Done((*stats).into_proto()),
        };
        pb::IndexEvent { event: Some(event) }
    }
}

impl FromProto<pb::IndexEvent> for IndexEvent {
    fn from_proto(proto: pb::IndexEvent) -> Result<Self> {
        match proto.event {
            Some(pb::index_event::Event::Progress(progress)) => {
                Ok(IndexEvent::Progress(IndexProgress::from_proto(progress)?))
            }
            Some(pb::index_event::Event::Done(stats)) => Ok(IndexEvent::Done(Box::new(IndexStats::from_proto(stats)?))),
            None => Err(invalid("an index event carries no progress and no stats".into())),
        }
    }
}

impl IntoProto for Usage {
    type Proto = pb::Usage;
    fn into_proto(self) -> pb::Usage {
        pb::Usage {
            context_tokens: self.context_tokens,
            prompt_tokens: self.prompt_tokens,
            completion_tokens: self.completion_tokens,
        }
    }
}

impl FromProto<pb::Usage> for Usage {
    fn from_proto(proto: pb::Usage) -> Result<Self> {
        Ok(Usage {
            context_tokens: proto.context_tokens,
            prompt_tokens: proto.prompt_tokens,
            completion_tokens: proto.completion_tokens,
        })
    }
}

impl IntoProto for GenerateEvent {
    type Proto = pb::GenerateEvent;
    fn into_proto(self) -> pb::GenerateEvent {
        let event = match self {
            GenerateEvent::Context(bundle) => pb::generate_event::Event::Context(bundle.into_proto()),
            GenerateEvent::Token(text) => pb::generate_event::Event::Token(text),
            GenerateEvent::Done { sources, usage } => {
                pb::generate_event::Event::Done(pb::GenerateDone { sources, usage: Some(usage.into_proto()) })
            }
        };
        pb::GenerateEvent { event: Some(event) }
    }
}

impl FromProto<pb::GenerateEvent> for GenerateEvent {
    fn from_proto(proto: pb::GenerateEvent) -> Result<Self> {
        match proto.event {
            Some(pb::generate_event::Event::Context(bundle)) => {
                Ok(GenerateEvent::Context(ContextBundle::from_proto(bundle)?))
            }
            Some(pb::generate_event::Event::Token(text)) => Ok(GenerateEvent::Token(text)),
            Some(pb::generate_event::Event::Done(done)) => Ok(GenerateEvent::Done {
                sources: done.sources,
                usage: done.usage.map(Usage::from_proto).transpose()?.unwrap_or_default(),
            }),
            None => Err(invalid("a generate event carries no context, token or done".into())),
        }
    }
}

impl IntoProto for RepositoryInfo {
    type Proto = pb::Repository;
    fn into_proto(self) -> pb::Repository {
        pb::Repository {
            name: self.name,
            root: self.root,
            indexed: self.indexed,
            fingerprint: self.fingerprint,
            files: self.files,
            chunks: self.chunks,
            symbols: self.symbols,
            commit: self.commit,
        }
    }
}

impl FromProto<pb::Repository> for RepositoryInfo {
    fn from_proto(proto: pb::Repository) -> Result<Self> {
        Ok(RepositoryInfo {
            name: proto.name,
            root: proto.root,
            indexed: proto.indexed,
            fingerprint: proto.fingerprint,
            commit: proto.commit,
            files: proto.files,
            chunks: proto.chunks,
            symbols: proto.symbols,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T>(value: T)
    where
        T: IntoProto + FromProto<<T as IntoProto>::Proto> + Clone + PartialEq + std::fmt::Debug,
    {
        let back = T::from_proto(value.clone().into_proto()).unwrap();
        assert_eq!(back, value);
    }

    fn hits() -> Vec<SignalHit> {
        vec![
            SignalHit { signal: Signal::Bm25, rank: 1, score: 12.5 },
            SignalHit { signal: Signal::StackTrace, rank: 3, score: 1.0 },
            SignalHit { signal: Signal::Vector, rank: 7, score: 0.25 },
        ]
    }

    fn bundle() -> ContextBundle {
        ContextBundle {
            blocks: vec![
                Block {
                    path: "src/sessions.py".into(),
                    start_line: 10,
                    end_line: 40,
                    symbol: "Session.resolve_redirects".into(),
                    kind: BlockKind::Code,
                    score: 0.031,
                    signals: hits(),
                    tokens: 250,
                    text: "def resolve_redirects(self):\n    ...\n".into(),
                },
                Block {
                    path: "src/models.py".into(),
                    start_line: 1,
                    end_line: 2,
                    symbol: String::new(),
                    kind: BlockKind::Signature,
                    score: 0.01,
                    signals: Vec::new(),
                    tokens: 9,
                    text: "class Response:".into(),
                },
            ],
            files: vec![
                RankedFile { path: "src/sessions.py".into(), score: 0.05, language: Language::Python },
                RankedFile { path: "include/a.hpp".into(), score: 0.01, language: Language::Cpp },
            ],
            tokens_used: 259,
            token_budget: 8000,
            fingerprint: "0123456789abcdef".into(),
            commit: "a".repeat(40),
            vector_coverage: Some(codectx_core::VectorCoverage { embedded: 10, total: 40 }),
        }
    }

    fn symbol(kind: SymbolKind, language: Language) -> SymbolInfo {
        SymbolInfo {
            name: "new".into(),
            qualified_name: "walk::Walker::new".into(),
            kind,
            path: "src/walk.rs".into(),
            span: Span { start_byte: 100, end_byte: 250, start_line: 7, end_line: 12 },
            signature: "pub fn new(root: &Path) -> Self".into(),
            doc: "Creates a walker.".into(),
            language,
        }
    }

    fn stats() -> IndexStats {
        IndexStats {
            files: 1,
            bytes: 2,
            parsed: 3,
            reused: 4,
            removed: 5,
            symbols: 6,
            chunks: 7,
            resolved_imports: 8,
            imports: 9,
            skipped_binary: 10,
            skipped_too_large: 11,
            skipped_secret: 22,
            skipped_outside_root: 23,
            invalid_utf8: 12,
            unreadable: 13,
            parse_timeouts: 14,
            graph_updated: 21,
            generation: 15,
            elapsed_ms: 16,
            embeddings: Some(EmbedStats {
                model_id: "m".into(),
                dimension: 384,
                chunks_updated: 17,
                cache_hits: 18,
                embedded: 19,
                vectors: 20,
                ann_index: true,
                embed_ms: 21,
                elapsed_ms: 22,
                error: Some("e".into()),
            }),
        }
    }

    #[test]
    fn answers_round_trip() {
        round_trip(bundle());
        for (index, kind) in [
            SymbolKind::Function,
            SymbolKind::Method,
            SymbolKind::Class,
            SymbolKind::Struct,
            SymbolKind::Enum,
            SymbolKind::Interface,
            SymbolKind::Impl,
            SymbolKind::Module,
            SymbolKind::Constant,
            SymbolKind::Type,
            SymbolKind::Macro,
            SymbolKind::Variable,
        ]
        .into_iter()
        .enumerate()
        {
            round_trip(symbol(kind, Language::ALL[index % Language::ALL.len()]));
        }
        round_trip(stats());
        round_trip(IndexEvent::Done(Box::new(stats())));
        round_trip(IndexEvent::Progress(IndexProgress { phase: "parse".into(), done: 10, total: 20 }));
        round_trip(GenerateEvent::Context(bundle()));
        round_trip(GenerateEvent::Token("tok".into()));
        round_trip(GenerateEvent::Done {
            sources: vec!["src/sessions.py:10-40".into()],
            usage: Usage { context_tokens: 259, prompt_tokens: 300, completion_tokens: 42 },
        });
        round_trip(FileDependencies {
            path: "src/a.py".into(),
            imports: vec![
                DependencyEdge {
                    from_path: "src/a.py".into(),
                    to_path: "src/b.py".into(),
                    module: "b".into(),
                    line: 1,
                },
                DependencyEdge { from_path: "src/a.py".into(), to_path: String::new(), module: "os".into(), line: 2 },
            ],
            imported_by: vec![DependencyEdge {
                from_path: "src/c.py".into(),
                to_path: "src/a.py".into(),
                module: ".a".into(),
                line: 3,
            }],
        });
        round_trip(RepositoryInfo {
            name: "requests".into(),
            root: "/src/requests".into(),
            indexed: true,
            fingerprint: "f".into(),
            commit: "c".into(),
            files: 1,
            chunks: 2,
            symbols: 3,
        });
        let hit = SearchHit {
            path: "src/a.py".into(),
            span: Span { start_byte: 0, end_byte: 0, start_line: 3, end_line: 9 },
            symbol: "f".into(),
            symbol_kind: Some(SymbolKind::Function),
            score: 0.5,
            signals: hits(),
            preview: "def f():".into(),
        };
        round_trip(hit.clone());
        round_trip(SearchHit { symbol: String::new(), symbol_kind: None, signals: Vec::new(), ..hit });
    }

    #[test]
    fn names_on_the_wire_are_the_domain_names() {
        let block = bundle().blocks.remove(1).into_proto();
        assert_eq!(block.kind, "signature");
        let hit = hits().remove(1).into_proto();
        assert_eq!(hit.signal, "stack_trace");
        let info = symbol(SymbolKind::Interface, Language::Tsx).into_proto();
        assert_eq!((info.kind.as_str(), info.language.as_str()), ("interface", "tsx"));
    }

    #[test]
    fn unknown_names_and_empty_events_are_rejected() {
        let mut info = symbol(SymbolKind::Function, Language::Rust).into_proto();
        info.kind = "trait".into(); // an alias `from_tag` accepts, not a name
        let error = SymbolInfo::from_proto(info.clone()).unwrap_err();
        assert_eq!(error.to_string(), "invalid argument: unknown symbol kind \"trait\"");
        info.kind = "function".into();
        info.language = "cobol".into();
        assert!(SymbolInfo::from_proto(info).unwrap_err().to_string().contains("unknown language \"cobol\""));
        let signal = pb::SignalHit { signal: "magic".into(), rank: 1, score: 0.0 };
        assert!(SignalHit::from_proto(signal).is_err());
        assert!(GenerateEvent::from_proto(pb::GenerateEvent { event: None }).is_err());
        assert!(IndexEvent::from_proto(pb::IndexEvent { event: None }).is_err());
    }

    #[test]
    fn requests_get_defaults_and_validation() {
        let (repository, request) = context_request(pb::GetContextRequest {
            repository: "r".into(),
            query: "q".into(),
            token_budget: 0,
            max_files: 3,
            filter: Some(pb::PathFilter { include: vec!["src/**".into()], exclude: vec!["*.md".into()] }),
            expand: None,
            expansion_share: Some(0.5),
            mode: "Hybrid".into(),
            freshness: Some(pb::Freshness {
                min_commit: " abc1234 ".into(),
                wait_for_pending: true,
                wait_timeout_ms: 5,
            }),
        })
        .unwrap();
        assert_eq!(repository, "r");
        assert_eq!(
            request.freshness,
            codectx_core::Freshness { min_commit: Some("abc1234".into()), wait_for_pending: true, wait_timeout_ms: 5 },
            "the commit is trimmed, the rest kept"
        );
        assert_eq!(request.token_budget, 0, "0: the service's configured default");
        assert!(request.expansion.enabled, "expansion is on unless switched off");
        assert_eq!(request.expansion.max_share, 0.5);
        assert_eq!(request.max_files, 3);
        assert_eq!(request.mode, Some(RetrievalMode::Hybrid), "mode names are case-insensitive");
        assert_eq!(request.filter.include, vec!["src/**".to_string()]);
        let bad_mode = context_request(pb::GetContextRequest {
            repository: "r".into(),
            query: "q".into(),
            mode: "fuzzy".into(),
            ..Default::default()
        })
        .unwrap_err();
        assert!(bad_mode.to_string().contains("expected lexical, semantic or hybrid"), "{bad_mode}");
        assert_eq!(request.filter.exclude, vec!["*.md".to_string()]);

        let error =
            context_request(pb::GetContextRequest { repository: " ".into(), ..Default::default() }).unwrap_err();
        assert_eq!(error.to_string(), "invalid argument: the repository name is empty");

        let search = |limit| {
            search_request(pb::SearchRequest { limit, repository: "r".into(), query: "q".into(), ..Default::default() })
        };
        assert_eq!(search(0).unwrap().1.limit, DEFAULT_SEARCH_LIMIT);
        assert_eq!(search(1000).unwrap().1.limit, 1000);
        assert_eq!(
            search(1001).unwrap_err().to_string(),
            "invalid argument: the search limit 1001 is more than the maximum of 1000"
        );

        let symbols = |name: &str, limit| {
            symbols_request(pb::GetSymbolsRequest { repository: "r".into(), name: name.into(), limit })
        };
        assert_eq!(symbols(" Session.get ", 0).unwrap(), ("r".into(), "Session.get".into(), DEFAULT_SYMBOL_LIMIT));
        assert!(symbols("", 0).is_err());
        assert!(symbols("x", 1001).is_err());

        assert!(
            dependencies_request(pb::GetFileDependenciesRequest { repository: "r".into(), path: "".into() }).is_err()
        );

        let generate = |options: pb::ModelOptions| {
            generate_request(pb::GenerateRequest {
                repository: "r".into(),
                instruction: "do it".into(),
                token_budget: 500,
                model: Some(options),
                filter: None,
                mode: String::new(),
                freshness: None,
            })
        };
        let (_, request) = generate(pb::ModelOptions::default()).unwrap();
        assert_eq!(request.context.query, "do it");
        assert_eq!(request.context.token_budget, 500);
        assert_eq!(request.model, ModelOverrides::default());
        let (_, request) =
            generate(pb::ModelOptions { model: "m".into(), max_tokens: 64, temperature: Some(0.0) }).unwrap();
        assert_eq!(
            request.model,
            ModelOverrides { model: Some("m".into()), max_tokens: Some(64), temperature: Some(0.0) }
        );
        assert!(generate(pb::ModelOptions { temperature: Some(f32::NAN), ..Default::default() }).is_err());
        assert!(generate(pb::ModelOptions { temperature: Some(-1.0), ..Default::default() }).is_err());
    }
}
