//! Requests and answers of the domain service (`codectx-service`), shared by the CLI
//! and the gRPC adapter. The proto messages of `codectx.v1` mirror these types.

use serde::{Deserialize, Serialize};

use crate::{Language, Span, SymbolKind};

/// Largest query accepted, in bytes (a long issue text with a stack trace fits).
pub const MAX_QUERY_BYTES: usize = 64 * 1024;
/// Smallest token budget accepted.
pub const MIN_TOKEN_BUDGET: usize = 256;
/// Largest token budget accepted.
pub const MAX_TOKEN_BUDGET: usize = 1_000_000;
/// Token budget used when a request gives none.
pub const DEFAULT_TOKEN_BUDGET: usize = 8_000;
/// Largest name accepted in a request, in bytes (1 KiB): repository, symbol (bare
/// or qualified) and model names, retrieval modes, page tokens and commits. The
/// longest qualified names of real code are a few hundred bytes.
pub const MAX_NAME_BYTES: usize = 1024;
/// Largest path or path glob accepted in a request, in bytes (4 KiB, Linux's
/// `PATH_MAX`): the file of `GetFileDependencies`, the folder of `AddRepository`,
/// and each include or exclude glob of a [`PathFilter`].
pub const MAX_PATH_BYTES: usize = 4096;
/// Most globs in one include or exclude list of a [`PathFilter`].
pub const MAX_FILTER_GLOBS: usize = 64;
/// Most characters of a request field that an error message quotes (see [`quote`]).
pub const QUOTE_CHARS: usize = 64;

/// What a string field of a request holds, which sets its size limit
/// ([`validate_field`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldKind {
    /// A query or an instruction: at most [`MAX_QUERY_BYTES`].
    Query,
    /// A name (repository, symbol, model, mode, page token, commit): at most
    /// [`MAX_NAME_BYTES`].
    Name,
    /// A path or a path glob: at most [`MAX_PATH_BYTES`].
    Path,
}

impl FieldKind {
    /// The limit of the field, in bytes of UTF-8.
    pub const fn max_bytes(self) -> usize {
        match self {
            FieldKind::Query => MAX_QUERY_BYTES,
            FieldKind::Name => MAX_NAME_BYTES,
            FieldKind::Path => MAX_PATH_BYTES,
        }
    }
}

/// Checks the size of one string field of a request: at most
/// [`FieldKind::max_bytes`] bytes. `what` names the field in the error (`"symbol
/// name"`). Every request type checks its string fields through this function,
/// before anything else reads them; emptiness is the caller's check (some fields
/// may be empty).
///
/// Errors: [`crate::Error::InvalidArgument`], `the <what> has N bytes, more than
/// the limit of M`; the message quotes none of the value.
pub fn validate_field(kind: FieldKind, what: &str, value: &str) -> crate::Result<()> {
    let max = kind.max_bytes();
    if value.len() > max {
        return Err(crate::Error::InvalidArgument(format!(
            "the {what} has {} bytes, more than the limit of {max}",
            value.len()
        )));
    }
    Ok(())
}

/// Checks a symbol name of a request (`GetSymbols`, `GetReferences`,
/// `GetSymbolGraph`): not blank, at most [`MAX_NAME_BYTES`].
///
/// Errors: [`crate::Error::InvalidArgument`] naming the rule.
pub fn validate_symbol_name(name: &str) -> crate::Result<()> {
    validate_field(FieldKind::Name, "symbol name", name)?;
    if name.trim().is_empty() {
        return Err(crate::Error::InvalidArgument("the symbol name is empty".into()));
    }
    Ok(())
}

/// A request field as error messages quote it: whole when it has at most
/// [`QUOTE_CHARS`] characters, else its first [`QUOTE_CHARS`] characters (cut on a
/// character boundary) followed by `… (N bytes)`; control characters (line
/// breaks, NUL) escaped as `\n`, `\u{0}`, so the quote is one line. At most
/// 416 bytes, whatever the field's size.
///
/// ```
/// use codectx_core::quote;
/// assert_eq!(quote("Session.send"), "Session.send");
/// assert_eq!(quote("a\nb"), "a\\nb");
/// let long = "x".repeat(100_000);
/// assert_eq!(quote(&long), format!("{}… (100000 bytes)", "x".repeat(64)));
/// ```
pub fn quote(value: &str) -> std::borrow::Cow<'_, str> {
    let cut = value.char_indices().nth(QUOTE_CHARS).map(|(index, _)| index);
    let head = &value[..cut.unwrap_or(value.len())];
    if cut.is_none() && !head.contains(char::is_control) {
        return std::borrow::Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(head.len() + 24);
    for c in head.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if cut.is_some() {
        out.push_str(&format!("… ({} bytes)", value.len()));
    }
    std::borrow::Cow::Owned(out)
}

/// A retrieval signal: one ranked list that takes part in the fusion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// BM25 over chunks (tantivy), with field boosts.
    Bm25,
    /// Exact or fuzzy symbol-name hits for identifiers in the query.
    Symbol,
    /// File paths and module names mentioned in the query.
    Path,
    /// Frames of a stack trace in the query.
    StackTrace,
    /// An error message quoted in the query, found in the code's string literals
    /// (chunks containing every word of it).
    ErrorMessage,
    /// Personalized PageRank over the dependency graph.
    Graph,
    /// Vector nearest neighbours of the query embedding.
    Vector,
}

impl Signal {
    /// Every signal, in fusion order.
    pub const ALL: [Signal; 7] = [
        Signal::Bm25,
        Signal::Symbol,
        Signal::Path,
        Signal::StackTrace,
        Signal::ErrorMessage,
        Signal::Graph,
        Signal::Vector,
    ];

    /// Snake-case name (`"bm25"`, `"stack_trace"`).
    pub fn name(self) -> &'static str {
        match self {
            Signal::Bm25 => "bm25",
            Signal::Symbol => "symbol",
            Signal::Path => "path",
            Signal::StackTrace => "stack_trace",
            Signal::ErrorMessage => "error_message",
            Signal::Graph => "graph",
            Signal::Vector => "vector",
        }
    }
}

/// One signal's contribution to a result: which list found it, and at what rank.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalHit {
    /// The signal.
    pub signal: Signal,
    /// 1-based rank in that signal's list.
    pub rank: u32,
    /// The signal's raw score (BM25 score, match strength, ...).
    pub score: f32,
}

/// Path filters of a request: globs on repository-relative paths.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PathFilter {
    /// Only paths matching one of these globs (all when empty).
    pub include: Vec<String>,
    /// No path matching one of these globs.
    pub exclude: Vec<String>,
}

impl PathFilter {
    /// Checks the sizes: at most [`MAX_FILTER_GLOBS`] globs per list, each at
    /// most [`MAX_PATH_BYTES`] ([`validate_field`]). The glob syntax is checked
    /// where the globs are compiled (`codectx-retrieve`).
    ///
    /// Errors: [`crate::Error::InvalidArgument`] naming the list and the rule.
    pub fn validate(&self) -> crate::Result<()> {
        for (what, globs) in [("include", &self.include), ("exclude", &self.exclude)] {
            if globs.len() > MAX_FILTER_GLOBS {
                return Err(crate::Error::InvalidArgument(format!(
                    "the filter has {} {what} globs, more than the limit of {MAX_FILTER_GLOBS}",
                    globs.len()
                )));
            }
            for glob in globs {
                validate_field(FieldKind::Path, &format!("{what} glob"), glob)?;
            }
        }
        Ok(())
    }
}

/// A request for a context bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContextRequest {
    /// The question, instruction or issue text.
    pub query: String,
    /// Token budget for the blocks' text, in `o200k_base` tokens
    /// ([`MIN_TOKEN_BUDGET`]..=[`MAX_TOKEN_BUDGET`]).
    pub token_budget: usize,
    /// Most distinct files in the bundle (0 = no limit).
    pub max_files: usize,
    /// Path filters.
    pub filter: PathFilter,
    /// Context expansion after the best chunks.
    pub expansion: Expansion,
    /// Which signals rank (`None`: hybrid when the index has embeddings and the
    /// embedder loads, else lexical).
    pub mode: Option<RetrievalMode>,
    /// How fresh the index generation serving the request must be (default: the
    /// current one, at once).
    #[serde(default)]
    pub freshness: Freshness,
}

/// How fresh the generation that serves a request must be.
///
/// With neither condition set, a request is served from the current generation
/// at once (never from half an update). Otherwise it waits, up to `wait_timeout`
/// (or the transport's deadline, whichever comes first), for an index run of the
/// repository to publish a generation that satisfies both; past that it fails
/// with [`crate::Error::DeadlineExceeded`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Freshness {
    /// A git commit (7 to 40 hex digits) the generation must be at or descend
    /// from. The served commit satisfies it when it starts with these digits, or
    /// when `git merge-base --is-ancestor` says the commit is an ancestor (that
    /// check needs the `git` program; without it only equality counts). A commit
    /// the working tree has not reached yet (not pulled) waits until the deadline.
    pub min_commit: Option<String>,
    /// Wait until the changes pending for the repository are indexed: the file
    /// changes its watcher has seen and, when it is not watched, whatever changed
    /// on disk (a refresh is started). Changes saved within the watcher's debounce
    /// interval before the request (`[server] watch_debounce_ms`) may be missed.
    pub wait_for_pending: bool,
    /// The longest wait, in milliseconds (0: the server's default,
    /// `[server] max_wait_ms`; capped at it).
    pub wait_timeout_ms: u64,
}

impl Freshness {
    /// Whether the request must wait for anything.
    pub fn waits(&self) -> bool {
        self.min_commit.is_some() || self.wait_for_pending
    }

    /// Checks `min_commit`: 7 to 40 hex digits.
    ///
    /// Errors: [`crate::Error::InvalidArgument`] naming the rule.
    pub fn validate(&self) -> crate::Result<()> {
        if let Some(commit) = &self.min_commit {
            let valid = (7..=40).contains(&commit.len()) && commit.bytes().all(|byte| byte.is_ascii_hexdigit());
            if !valid {
                return Err(crate::Error::InvalidArgument(format!(
                    "min_commit \"{}\" is not a commit: expected 7 to 40 hex digits",
                    quote(commit)
                )));
            }
        }
        Ok(())
    }
}

/// Which signals a query uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RetrievalMode {
    /// BM25, symbol, path, stack-trace and error-message signals; no embeddings.
    Lexical,
    /// The vector signal alone (nearest chunks to the query's embedding).
    Semantic,
    /// Lexical and vector signals fused.
    Hybrid,
}

impl RetrievalMode {
    /// `lexical`, `semantic` or `hybrid`.
    ///
    /// Errors: [`crate::Error::InvalidArgument`] naming the accepted values.
    pub fn parse(name: &str) -> crate::Result<RetrievalMode> {
        let name = name.trim();
        match name.to_ascii_lowercase().as_str() {
            "lexical" => Ok(RetrievalMode::Lexical),
            "semantic" => Ok(RetrievalMode::Semantic),
            "hybrid" => Ok(RetrievalMode::Hybrid),
            _ => Err(crate::Error::InvalidArgument(format!(
                "unknown mode \"{}\": expected lexical, semantic or hybrid",
                quote(name)
            ))),
        }
    }

    /// The name [`RetrievalMode::parse`] reads.
    pub fn name(self) -> &'static str {
        match self {
            RetrievalMode::Lexical => "lexical",
            RetrievalMode::Semantic => "semantic",
            RetrievalMode::Hybrid => "hybrid",
        }
    }
}

/// Context expansion: after the best chunks, the signatures and docs of what they
/// call and of what calls them ([`BlockKind::Related`]), then a skeleton of the most
/// relevant files ([`BlockKind::RepoMap`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Expansion {
    /// Whether to expand (default true).
    pub enabled: bool,
    /// Largest share of the token budget expansion may use, 0..=1 (default 0.2).
    /// The chunks get the rest; budget they leave unused also goes to expansion.
    pub max_share: f32,
}

impl Default for Expansion {
    fn default() -> Self {
        Expansion { enabled: true, max_share: 0.2 }
    }
}

impl ContextRequest {
    /// A request with the default budget, no filters and default expansion.
    pub fn new(query: impl Into<String>) -> Self {
        ContextRequest {
            query: query.into(),
            token_budget: DEFAULT_TOKEN_BUDGET,
            max_files: 0,
            filter: PathFilter::default(),
            expansion: Expansion::default(),
            mode: None,
            freshness: Freshness::default(),
        }
    }

    /// Checks the request: non-empty query of at most [`MAX_QUERY_BYTES`], a
    /// `min_commit` of 7 to 40 hex digits, path filters within
    /// [`PathFilter::validate`], budget in range, expansion share in 0..=1.
    /// Returns [`crate::Error::InvalidArgument`] otherwise.
    pub fn validate(&self) -> crate::Result<()> {
        validate_query(&self.query)?;
        if let Some(commit) = &self.freshness.min_commit {
            validate_field(FieldKind::Name, "min_commit", commit)?;
        }
        self.freshness.validate()?;
        self.filter.validate()?;
        check_range("token budget", self.token_budget, MIN_TOKEN_BUDGET..=MAX_TOKEN_BUDGET)?;
        check_range("expansion share", self.expansion.max_share, 0.0..=1.0)
    }
}

/// Checks that a number lies in `range`.
///
/// Errors: [`crate::Error::InvalidArgument`] `"<what> <value> is outside <start>..=<end>"`.
fn check_range<T: PartialOrd + std::fmt::Display>(
    what: &str,
    value: T,
    range: std::ops::RangeInclusive<T>,
) -> crate::Result<()> {
    if range.contains(&value) {
        return Ok(());
    }
    Err(crate::Error::InvalidArgument(format!("{what} {value} is outside {}..={}", range.start(), range.end())))
}

/// Checks a query: not empty or blank, at most [`MAX_QUERY_BYTES`] bytes.
///
/// Errors: [`crate::Error::InvalidArgument`] naming the rule.
pub fn validate_query(query: &str) -> crate::Result<()> {
    if query.trim().is_empty() {
        return Err(crate::Error::InvalidArgument("the query is empty".into()));
    }
    validate_field(FieldKind::Query, "query", query)
}

/// What a block of a bundle holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockKind {
    /// Source text of one or more merged chunks.
    Code,
    /// Only the signature and doc of a definition too large for the budget left.
    Signature,
    /// Expansion: the signature and doc of a definition that a chosen chunk calls
    /// or that calls it.
    Related,
    /// Expansion: a skeleton of a relevant file, its definitions' signatures with
    /// the bodies elided, each line prefixed by its line number.
    RepoMap,
}

impl BlockKind {
    /// Snake-case name (`"code"`, `"signature"`, `"related"`, `"repo_map"`).
    pub fn name(self) -> &'static str {
        match self {
            BlockKind::Code => "code",
            BlockKind::Signature => "signature",
            BlockKind::Related => "related",
            BlockKind::RepoMap => "repo_map",
        }
    }
}

/// One block of an assembled context: a contiguous span of one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Block {
    /// Repository-relative path.
    pub path: String,
    /// First line, 1-based.
    pub start_line: u32,
    /// Last line, 1-based, inclusive.
    pub end_line: u32,
    /// Qualified name of the (first) symbol the block covers, or empty.
    pub symbol: String,
    /// What the block holds.
    pub kind: BlockKind,
    /// Fused relevance score (higher is better) of the best chunk in the block.
    pub score: f32,
    /// The signals that found the block's chunks, with their ranks.
    pub signals: Vec<SignalHit>,
    /// Tokens of `text` (`o200k_base`).
    pub tokens: u32,
    /// The text.
    pub text: String,
}

/// A file ranked by the fused relevance of its chunks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankedFile {
    /// Repository-relative path.
    pub path: String,
    /// Fused score (higher is better).
    pub score: f32,
    /// Language.
    pub language: Language,
}

/// The assembled context for a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContextBundle {
    /// Blocks, ordered by file (in rank order of the files) then by line.
    pub blocks: Vec<Block>,
    /// Files ranked by relevance (more than appear in `blocks`).
    pub files: Vec<RankedFile>,
    /// Tokens used by the blocks' text (≤ the request's budget).
    pub tokens_used: u32,
    /// The budget asked for.
    pub token_budget: u32,
    /// Content fingerprint of the index generation served: a blake3 hash over the
    /// sorted (path, content hash) manifest, 16 hex digits.
    pub fingerprint: String,
    /// The git commit `HEAD` pointed at when the generation was indexed (40 hex),
    /// or empty when the repository is not a git work tree.
    pub commit: String,
    /// How much of the generation the vector signal covers, when it does not yet
    /// cover all of it (embedding still running or interrupted); `None` when it is
    /// complete or the index has no embeddings at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vector_coverage: Option<VectorCoverage>,
}

/// How many of a generation's chunks have a vector in the embedding table.
///
/// The lexical, symbol and graph index answer as soon as a generation is
/// published; the embeddings follow in batches (in the background of
/// `codectx index`, in `codectx embed`, or in `codectx serve`'s index run), and a
/// query meanwhile uses the vectors already written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VectorCoverage {
    /// Chunks of the generation with a current vector.
    pub embedded: u64,
    /// Chunks of the generation.
    pub total: u64,
}

impl VectorCoverage {
    /// Whether some chunks still lack a vector.
    pub fn is_partial(&self) -> bool {
        self.embedded < self.total
    }

    /// The one-line note the CLI and the MCP tools print with a partial answer:
    /// `the vector signal covers 1234 of 5678 chunks so far (21.7%); ...`.
    pub fn note(&self) -> String {
        format!(
            "the vector signal covers {} of {} chunks so far ({:.1}%); `codectx embed` waits for (or runs) the rest",
            self.embedded,
            self.total,
            100.0 * self.embedded as f64 / self.total.max(1) as f64
        )
    }
}

impl ContextBundle {
    /// Renders the bundle as plain text for a prompt: each block headed by
    /// `path:start-end` and its symbol, in a fenced code block.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for block in &self.blocks {
            out.push_str(&format!("{}:{}-{}", block.path, block.start_line, block.end_line));
            if !block.symbol.is_empty() {
                out.push_str(&format!(" ({})", block.symbol));
            }
            match block.kind {
                BlockKind::Code => {}
                BlockKind::Signature => out.push_str(" [signature only]"),
                BlockKind::Related => out.push_str(" [related: signature]"),
                BlockKind::RepoMap => out.push_str(" [repo map: bodies elided]"),
            }
            out.push_str("\n```\n");
            out.push_str(&block.text);
            if !block.text.ends_with('\n') {
                out.push('\n');
            }
            out.push_str("```\n\n");
        }
        out
    }
}

/// A search request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchRequest {
    /// Query text.
    pub query: String,
    /// Most results (1..=1000).
    pub limit: usize,
    /// Path filters.
    pub filter: PathFilter,
    /// Which signals rank (`None`: as for [`ContextRequest::mode`]).
    pub mode: Option<RetrievalMode>,
}

impl SearchRequest {
    /// Largest `limit` accepted.
    pub const MAX_LIMIT: usize = 1000;

    /// Checks the request: the query ([`validate_query`]), `limit` in
    /// 1..=[`SearchRequest::MAX_LIMIT`], the path filters ([`PathFilter::validate`]).
    ///
    /// Errors: [`crate::Error::InvalidArgument`] naming the rule.
    pub fn validate(&self) -> crate::Result<()> {
        validate_query(&self.query)?;
        check_range("limit", self.limit, 1..=SearchRequest::MAX_LIMIT)?;
        self.filter.validate()
    }
}

/// One ranked chunk of a search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    /// Repository-relative path.
    pub path: String,
    /// Span of the chunk.
    pub span: Span,
    /// Qualified name of the chunk's symbol, or empty.
    pub symbol: String,
    /// Kind of that symbol, if any.
    pub symbol_kind: Option<SymbolKind>,
    /// Fused score.
    pub score: f32,
    /// Contributing signals.
    pub signals: Vec<SignalHit>,
    /// First lines of the chunk (at most 5), for display.
    pub preview: String,
}

/// A symbol definition as answered by `GetSymbols`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SymbolInfo {
    /// Bare name.
    pub name: String,
    /// Qualified name.
    pub qualified_name: String,
    /// Kind.
    pub kind: SymbolKind,
    /// Repository-relative path.
    pub path: String,
    /// Span of the definition.
    pub span: Span,
    /// Declaration head.
    pub signature: String,
    /// Doc comment, or empty.
    pub doc: String,
    /// Language.
    pub language: Language,
}

/// One dependency edge of a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DependencyEdge {
    /// The importing file.
    pub from_path: String,
    /// The imported file, or empty if the import is external.
    pub to_path: String,
    /// The module as written.
    pub module: String,
    /// 1-based line of the import in `from_path`.
    pub line: u32,
}

/// Imports of a file and the files that import it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileDependencies {
    /// The file asked about.
    pub path: String,
    /// Its imports (resolved or external).
    pub imports: Vec<DependencyEdge>,
    /// Imports of it by other files.
    pub imported_by: Vec<DependencyEdge>,
}

/// Counters of one indexing run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IndexStats {
    /// Files in the index after the run.
    pub files: u64,
    /// Bytes of those files.
    pub bytes: u64,
    /// Files parsed in this run (new or changed).
    pub parsed: u64,
    /// Files reused unchanged from the previous generation.
    pub reused: u64,
    /// Files removed since the previous generation.
    pub removed: u64,
    /// Symbols in the index.
    pub symbols: u64,
    /// Chunks in the index.
    pub chunks: u64,
    /// Import edges (resolved to a repository file).
    pub resolved_imports: u64,
    /// Import statements in total.
    pub imports: u64,
    /// Files skipped as binary (a NUL byte in the first 8 KiB).
    pub skipped_binary: u64,
    /// Files skipped for exceeding the size cap.
    pub skipped_too_large: u64,
    /// Files skipped by the secret filter (`[secrets]` path globs: `.env`,
    /// `*.pem`, `id_rsa`, ...), never read.
    #[serde(default)]
    pub skipped_secret: u64,
    /// Files and folders skipped because a symbolic link leads outside the
    /// repository root (never read; see `codectx_index::walk`).
    #[serde(default)]
    pub skipped_outside_root: u64,
    /// Files that were not valid UTF-8 (decoded lossily, or skipped by config).
    pub invalid_utf8: u64,
    /// Files skipped because reading them failed (permissions, vanished).
    pub unreadable: u64,
    /// Files whose parse hit the timeout.
    pub parse_timeouts: u64,
    /// Generation number written (unchanged if nothing changed).
    pub generation: u64,
    /// Wall time in milliseconds (embedding included).
    pub elapsed_ms: u64,
    /// Files whose dependency-graph edges were re-resolved in this run (all files
    /// on a first run; on later runs the changed files and the files whose edges
    /// they can affect).
    #[serde(default)]
    pub graph_updated: u64,
    /// What the embedding phase did (`None` when embeddings are off).
    #[serde(default)]
    pub embeddings: Option<EmbedStats>,
}

/// Counters of the embedding phase of an index run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EmbedStats {
    /// Model id the vectors were computed with.
    pub model_id: String,
    /// Vector length.
    pub dimension: u64,
    /// Chunks whose file changed since the vector table was written (their rows were replaced).
    pub chunks_updated: u64,
    /// Of those, chunks whose vector came from the embedding cache.
    pub cache_hits: u64,
    /// Of those, chunks run through the model in this run.
    pub embedded: u64,
    /// Rows in the vector table after the run.
    pub vectors: u64,
    /// Whether an ANN index (IVF-PQ) serves the table.
    pub ann_index: bool,
    /// Milliseconds spent in the model.
    pub embed_ms: u64,
    /// Milliseconds of the whole phase (cache, model, LanceDB writes, compaction).
    pub elapsed_ms: u64,
    /// Why the phase failed, if it did; the lexical index was still written.
    pub error: Option<String>,
}

impl EmbedStats {
    /// Cache hit rate among the updated chunks (0 when none were updated).
    pub fn hit_rate(&self) -> f64 {
        if self.chunks_updated == 0 {
            0.0
        } else {
            self.cache_hits as f64 / self.chunks_updated as f64
        }
    }
}

/// Progress of an indexing run, reported to CLI progress bars and gRPC streams.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexProgress {
    /// The phase: `"walk"`, `"parse"`, `"write"`, `"commit"`, `"embed"` (chunks
    /// embedded of those that need the model), `"done"`.
    pub phase: String,
    /// Items done in this phase.
    pub done: u64,
    /// Items in this phase, if known (0 when unknown).
    pub total: u64,
}

/// A served repository.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RepositoryInfo {
    /// Name it is served under.
    pub name: String,
    /// Root folder.
    pub root: String,
    /// Whether an index exists.
    pub indexed: bool,
    /// Current generation's fingerprint, or empty.
    pub fingerprint: String,
    /// Git commit of the current generation, or empty.
    pub commit: String,
    /// Files in the index.
    pub files: u64,
    /// Chunks in the index.
    pub chunks: u64,
    /// Symbols in the index.
    pub symbols: u64,
}

/// Token usage of a generation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens of the context blocks.
    pub context_tokens: u32,
    /// Prompt tokens as reported by the model, or counted locally if it does not report them.
    pub prompt_tokens: u32,
    /// Completion tokens as reported by the model, or counted locally.
    pub completion_tokens: u32,
}

/// One event of a streamed generation (`ask`, `Generate`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum GenerateEvent {
    /// The context was assembled; sent first.
    Context(ContextBundle),
    /// A piece of the answer.
    Token(String),
    /// The last event: the sources used and the token counts.
    Done {
        /// `path:start-end` of each block given to the model.
        sources: Vec<String>,
        /// Token counts.
        usage: Usage,
    },
}

/// Per-request overrides of the configured model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelOverrides {
    /// Model name instead of the configured one.
    pub model: Option<String>,
    /// Most completion tokens.
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    pub temperature: Option<f32>,
}

/// A generation request: assemble the context for `context.query`, then ask the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerateRequest {
    /// The instruction (used as the retrieval query too) and the budget.
    pub context: ContextRequest,
    /// Model overrides.
    pub model: ModelOverrides,
}

/// One event of an indexing run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum IndexEvent {
    /// Progress within a phase.
    Progress(IndexProgress),
    /// The run finished; the last event. Boxed: the stats are large, and
    /// progress events (the many) should not carry their size.
    Done(Box<IndexStats>),
}

/// A place where a symbol's name is used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceSite {
    /// Repository-relative path.
    pub path: String,
    /// 1-based line of the use.
    pub line: u32,
    /// Qualified name of the definition the use is in, or empty at top level.
    pub enclosing: String,
    /// The line's text, trimmed, at most 200 characters.
    pub text: String,
}

/// Where a served repository's index stands (`GetIndexStatus`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IndexStatus {
    /// What [`RepositoryInfo`] says of it (name, root, generation's fingerprint,
    /// commit, files, chunks).
    pub repository: RepositoryInfo,
    /// Generation served (0 before the first index run).
    pub generation: u64,
    /// Seconds since the Unix epoch when that generation was written (0: none).
    pub indexed_unix: u64,
    /// Whether an index run is in progress.
    pub indexing: bool,
    /// Counters and timings of the last index run in this process, if any.
    pub last_run: Option<IndexStats>,
    /// Why the last index run failed, if it did (cleared by a successful run).
    pub last_error: Option<String>,
    /// Whether a file watcher keeps the index fresh (`codectx serve` with watching on).
    #[serde(default)]
    pub watching: bool,
    /// Paths the watcher saw change that no finished index run has covered yet
    /// (counted per debounced batch; a path changed twice counts twice).
    #[serde(default)]
    pub pending_changes: u64,
    /// Whether an index run is queued (requested, waiting for the one in
    /// progress or for a slot among the server's concurrent index runs).
    #[serde(default)]
    pub queued: bool,
    /// The commit `HEAD` of the working tree points at now (empty outside git);
    /// differs from the indexed commit until the next run finishes.
    #[serde(default)]
    pub head_commit: String,
    /// Seconds since the Unix epoch when the last index run in this process
    /// finished (0: none).
    #[serde(default)]
    pub last_run_unix: u64,
    /// Index runs finished in this process, successful or not (an idle,
    /// watched repository makes none).
    #[serde(default)]
    pub index_runs: u64,
    /// Why the served index is unusable: damage a request found (a truncated
    /// or corrupt index file), reported until the rebuild from scratch it
    /// started succeeds. `None` when no damage is known.
    #[serde(default)]
    pub damage: Option<String>,
    /// How many of the served generation's chunks have a vector (`None`: the
    /// index has no embeddings).
    #[serde(default)]
    pub vector_coverage: Option<VectorCoverage>,
}

/// Which way [`SymbolGraphRequest`] walks from the symbol.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GraphDirection {
    /// Both ways.
    #[default]
    Both,
    /// Towards the definitions that use it.
    Callers,
    /// Towards the definitions it uses.
    Callees,
}

impl GraphDirection {
    /// `both`, `callers` or `callees`.
    ///
    /// Errors: [`crate::Error::InvalidArgument`] naming the accepted values.
    pub fn parse(name: &str) -> crate::Result<GraphDirection> {
        let name = name.trim();
        match name.to_ascii_lowercase().as_str() {
            "both" => Ok(GraphDirection::Both),
            "callers" => Ok(GraphDirection::Callers),
            "callees" => Ok(GraphDirection::Callees),
            _ => Err(crate::Error::InvalidArgument(format!(
                "unknown direction \"{}\": expected both, callers or callees",
                quote(name)
            ))),
        }
    }
}

/// A query for the call/containment graph around a symbol (`GetSymbolGraph`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SymbolGraphRequest {
    /// A bare name (`get`) or a qualified name (`Session.get`); every matching
    /// definition is a root.
    pub name: String,
    /// Hops from the roots, 1..=[`SymbolGraphRequest::MAX_DEPTH`].
    pub depth: u32,
    /// Which edges to follow.
    pub direction: GraphDirection,
    /// Most nodes returned, 1..=[`SymbolGraphRequest::MAX_NODES`]; the walk stops
    /// adding nodes there and sets [`SymbolGraph::truncated`].
    pub max_nodes: usize,
}

impl SymbolGraphRequest {
    /// Deepest walk accepted.
    pub const MAX_DEPTH: u32 = 3;
    /// Largest node cap accepted.
    pub const MAX_NODES: usize = 500;

    /// Checks the request: the name ([`validate_symbol_name`]), the depth in
    /// 1..=[`SymbolGraphRequest::MAX_DEPTH`], the node cap in
    /// 1..=[`SymbolGraphRequest::MAX_NODES`].
    ///
    /// Errors: [`crate::Error::InvalidArgument`] naming the rule.
    pub fn validate(&self) -> crate::Result<()> {
        validate_symbol_name(&self.name)?;
        check_range("depth", self.depth, 1..=SymbolGraphRequest::MAX_DEPTH)?;
        check_range("node cap", self.max_nodes, 1..=SymbolGraphRequest::MAX_NODES)
    }
}

/// What an edge of a [`SymbolGraph`] means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SymbolEdgeKind {
    /// `from`'s body uses `to` (a call or a type use), resolved with `from`'s imports.
    Calls,
    /// `to` is defined inside `from` (a method in its class).
    Contains,
}

/// A node of a [`SymbolGraph`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SymbolGraphNode {
    /// Node id, the index in [`SymbolGraph::nodes`].
    pub id: u32,
    /// The definition.
    pub symbol: SymbolInfo,
    /// Hops from the nearest root (0 for a root).
    pub depth: u32,
}

/// A directed edge of a [`SymbolGraph`], between node ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SymbolGraphEdge {
    /// Source node id.
    pub from: u32,
    /// Target node id.
    pub to: u32,
    /// What the edge means.
    pub kind: SymbolEdgeKind,
}

impl SymbolEdgeKind {
    /// `calls` or `contains`.
    pub fn name(self) -> &'static str {
        match self {
            SymbolEdgeKind::Calls => "calls",
            SymbolEdgeKind::Contains => "contains",
        }
    }
}

/// The definitions around a symbol and the edges between them (`GetSymbolGraph`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SymbolGraph {
    /// Nodes, roots first, then in breadth-first order.
    pub nodes: Vec<SymbolGraphNode>,
    /// Edges between the nodes, sorted by (from, to, kind).
    pub edges: Vec<SymbolGraphEdge>,
    /// Whether the node cap stopped the walk.
    pub truncated: bool,
}

impl SymbolGraph {
    /// Renders the graph as plain text: one `[id] path:line kind qualified_name`
    /// line per node, indented two spaces per hop from the roots, then one
    /// `from --calls--> to` line per edge, and a last line when truncated.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for node in &self.nodes {
            let symbol = &node.symbol;
            out.push_str(&format!(
                "[{}] {}{}:{}  {} {}\n",
                node.id,
                "  ".repeat(node.depth as usize),
                symbol.path,
                symbol.span.start_line,
                symbol.kind,
                symbol.qualified_name
            ));
        }
        out.push_str(&format!("edges ({}):\n", self.edges.len()));
        let name = |id: u32| self.nodes.get(id as usize).map_or("?", |node| node.symbol.qualified_name.as_str());
        for edge in &self.edges {
            out.push_str(&format!("  {} --{}--> {}\n", name(edge.from), edge.kind.name(), name(edge.to)));
        }
        if self.truncated {
            out.push_str(&format!("(truncated at {} nodes)\n", self.nodes.len()));
        }
        out
    }
}

/// Definitions, references, callers and callees of a symbol (`GetReferences`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct References {
    /// Definitions matching the name (bare or qualified).
    pub definitions: Vec<SymbolInfo>,
    /// Uses of the bare name, one page, in path and line order.
    pub references: Vec<ReferenceSite>,
    /// Uses in all, over every page.
    pub total_references: u32,
    /// Token of the next page of references, or empty on the last page.
    pub next_page_token: String,
    /// Definitions whose bodies use the name (deduplicated, at most 100).
    pub callers: Vec<SymbolInfo>,
    /// Definitions the matching definitions' bodies use, resolved with the import
    /// context (at most 100).
    pub callees: Vec<SymbolInfo>,
}
