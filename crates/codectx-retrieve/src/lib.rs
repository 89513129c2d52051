//! codectx retrieval: from a query to ranked chunks and files, and from those to
//! a context bundle that fits a token budget.
//!
//! 1. [`query::analyze`] splits the query into identifiers, paths, modules and
//!    stack-trace frames.
//! 2. [`signals`] turns each part into a ranked list: BM25 over chunks (tantivy),
//!    symbol-name hits (exact, qualified-suffix, fuzzy), path and module hits, and
//!    stack-trace frames.
//! 3. [`fusion::reciprocal_rank_fusion`] fuses the lists (Cormack, Clarke and
//!    Büttcher, "Reciprocal Rank Fusion outperforms Condorcet and individual rank
//!    learning methods", SIGIR 2009), and results aggregate to files.
//! 4. [`definitions::ranked_definitions`] reads the chunk ranking as a ranking
//!    of definitions (functions, methods, classes): function-level localization.
//! 5. [`assemble::assemble`] packs the best chunks into the budget, merging
//!    adjacent spans, degrading a chunk too big for what is left to its signature
//!    and doc, and orders the blocks by file and line.
//!
//! Everything is deterministic: the same index and query give the same output.
#![deny(missing_docs)]

pub mod assemble;
pub mod definitions;
pub mod filter;
pub mod fusion;
pub mod gbdt;
pub mod graph;
pub mod plan;
pub mod query;
pub mod references;
pub mod rerank;
pub mod signals;

use codectx_core::{Result, SearchHit, SearchRequest, Signal, SignalHit};
use codectx_index::IndexSnapshot;

pub use assemble::{assemble, assemble_hybrid};
pub use definitions::{ranked_definitions, RankedDefinition};
pub use filter::PathMatcher;
pub use signals::{rank, rank_hybrid, ChunkRef, Ranking, RetrieveOptions};

/// Ranked chunks for a search request.
///
/// Errors: [`codectx_core::Error::InvalidArgument`] for an empty or oversized
/// query, a limit outside 1..=1000, or an invalid glob.
pub fn search(snapshot: &IndexSnapshot, request: &SearchRequest, options: &RetrieveOptions) -> Result<Vec<SearchHit>> {
    search_hybrid(snapshot, request, &[], options)
}

/// [`search`] with the vector signal: `vector_hits` are the chunks nearest to the
/// query's embedding, nearest first.
pub fn search_hybrid(
    snapshot: &IndexSnapshot,
    request: &SearchRequest,
    vector_hits: &[(ChunkRef, f32)],
    options: &RetrieveOptions,
) -> Result<Vec<SearchHit>> {
    request.validate()?;
    let matcher = PathMatcher::new(&request.filter)?;
    let ranking = rank_hybrid(snapshot, &request.query, vector_hits, &matcher, options)?;
    let mut hits = Vec::with_capacity(request.limit);
    for candidate in ranking.chunks.iter().take(request.limit) {
        let entry = snapshot.file_at(candidate.chunk.file);
        let Some(chunk) = snapshot.chunk(candidate.chunk.file, candidate.chunk.ordinal) else { continue };
        let text = snapshot.chunk_text(candidate.chunk.file, candidate.chunk.ordinal)?;
        let preview: Vec<&str> = text.lines().take(5).collect();
        let symbol_kind =
            chunk.symbol.and_then(|index| entry.parsed.symbols.get(index as usize)).map(|symbol| symbol.kind);
        hits.push(SearchHit {
            path: entry.record.path.clone(),
            span: chunk.span,
            symbol: chunk.symbol_path.clone(),
            symbol_kind,
            score: candidate.score,
            signals: candidate.signals.clone(),
            preview: preview.join("\n"),
        });
    }
    Ok(hits)
}

/// Names of the signals that contributed, for display (`bm25#3 symbol#1`).
pub fn describe_signals(signals: &[SignalHit]) -> String {
    signals.iter().map(|hit| format!("{}#{}", hit.signal.name(), hit.rank)).collect::<Vec<_>>().join(" ")
}

/// Every signal this crate produces, in fusion order.
pub const SIGNALS: [Signal; 6] =
    [Signal::Bm25, Signal::Symbol, Signal::Path, Signal::StackTrace, Signal::ErrorMessage, Signal::Graph];
