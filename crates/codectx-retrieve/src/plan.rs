//! The query plan: which mode a request runs in, which signals each mode runs
//! with, which text of a query is embedded for the vector signal, and the vector
//! search itself. The service (`codectx-service`'s engine: GetContext, search,
//! `ask`, MCP), the `semantic`/`hybrid` presets of `codectx eval` and the learned
//! rankers' feature dumps all plan through here, so what is evaluated is what is
//! served.

use std::sync::Arc;
use std::time::Instant;

use codectx_core::{Error, Result, RetrievalMode};
use codectx_embed::Embedder;
use codectx_index::{IndexSnapshot, VectorSearch};

use crate::query::{prose, EMBEDDED_PROSE_BYTES};
use crate::signals::{ChunkRef, RetrieveOptions, HYBRID_VECTOR_FILE_WEIGHT, HYBRID_VECTOR_WEIGHT};

/// What a request runs with: its mode, the options of that mode and, unless the
/// mode is lexical, the vector signal's hits.
#[derive(Debug)]
pub struct QueryPlan {
    /// The mode: the request's own, or the default ([`resolve_mode`]).
    pub mode: RetrievalMode,
    /// [`mode_options`] of the served options.
    pub options: RetrieveOptions,
    /// The chunks nearest to the query's embedding, most similar first, with
    /// their cosine similarity; empty in lexical mode.
    pub vector_hits: Vec<(ChunkRef, f32)>,
}

/// The vector signal of one query ([`vector_search`]), with where its time went.
#[derive(Debug, Default)]
pub struct VectorHits {
    /// At most `depth` chunks, most similar first, with their cosine similarity.
    pub hits: Vec<(ChunkRef, f32)>,
    /// Embedding the query (the model only), milliseconds.
    pub embed_ms: f64,
    /// The nearest-neighbour search, milliseconds.
    pub search_ms: f64,
}

/// The mode of a request that asks for `requested`: that mode when given, else
/// hybrid when `vectors_ready()` (the index has embeddings and the query
/// embedder loads), else lexical. `vectors_ready` is called only without a
/// requested mode.
pub fn resolve_mode(requested: Option<RetrievalMode>, vectors_ready: impl FnOnce() -> bool) -> RetrievalMode {
    match requested {
        Some(mode) => mode,
        None if vectors_ready() => RetrievalMode::Hybrid,
        None => RetrievalMode::Lexical,
    }
}

/// Plans `query` over `snapshot` with the served options `served`: resolves the
/// mode ([`resolve_mode`]; the index is ready for vectors when it has an
/// embedding table and `embedder()` succeeds), takes that mode's options
/// ([`mode_options`]) and, unless lexical, runs the vector search
/// ([`vector_search`], depth `options.vector_candidates`).
///
/// Errors: [`Error::Embedding`] when an explicit `semantic` or `hybrid` request
/// meets an index without embeddings or an embedder that does not load (the
/// message says which, and how to fix it), or the search fails.
pub fn plan(
    served: &RetrieveOptions,
    snapshot: &IndexSnapshot,
    query: &str,
    requested: Option<RetrievalMode>,
    embedder: impl Fn() -> Result<Arc<dyn Embedder>>,
) -> Result<QueryPlan> {
    // The table is looked up once per request.
    let vectors = snapshot.vectors();
    let mode = resolve_mode(requested, || vectors.is_some() && embedder().is_ok());
    let options = mode_options(served, mode);
    if mode == RetrievalMode::Lexical {
        return Ok(QueryPlan { mode, options, vector_hits: Vec::new() });
    }
    let Some(vectors) = vectors else {
        return Err(Error::Embedding(format!(
            "the index at {} has no embeddings (mode {}): run `codectx index` with an embedder configured",
            snapshot.index_dir().display(),
            mode.name()
        )));
    };
    let embedder = embedder()?;
    let vector_hits = search_table(&vectors, snapshot, embedder.as_ref(), query, options.vector_candidates)?.hits;
    Ok(QueryPlan { mode, options, vector_hits })
}

/// The vector signal of `query`: its [`embedded_text`] embedded with `embedder`,
/// then the `depth` nearest chunks of `snapshot`'s embedding table.
///
/// Errors: [`Error::Embedding`] when the index has no embedding table, was
/// embedded by another model than `embedder`, or the model or the search fails.
pub fn vector_search(
    snapshot: &IndexSnapshot,
    embedder: &dyn Embedder,
    query: &str,
    depth: usize,
) -> Result<VectorHits> {
    let vectors = snapshot
        .vectors()
        .ok_or_else(|| Error::Embedding(format!("{} has no vector table", snapshot.index_dir().display())))?;
    search_table(&vectors, snapshot, embedder, query, depth)
}

/// [`vector_search`] over `vectors`, the embedding table of `snapshot`.
fn search_table(
    vectors: &VectorSearch,
    snapshot: &IndexSnapshot,
    embedder: &dyn Embedder,
    query: &str,
    depth: usize,
) -> Result<VectorHits> {
    let started = Instant::now();
    let vector = vectors.embed_query(embedder, &embedded_text(query))?;
    let embed_ms = started.elapsed().as_secs_f64() * 1000.0;
    let started = Instant::now();
    let hits = vectors
        .nearest(snapshot, &vector, depth)?
        .into_iter()
        .map(|((file, ordinal), similarity)| (ChunkRef { file, ordinal }, similarity))
        .collect();
    Ok(VectorHits { hits, embed_ms, search_ms: started.elapsed().as_secs_f64() * 1000.0 })
}

/// The options of `mode` over `served`, the served configuration (candidates
/// per signal, RRF k, the learned file ranker):
/// * [`RetrievalMode::Lexical`]: `served` without the vector signal;
/// * [`RetrievalMode::Semantic`]: the vector signal alone (weight 1; BM25, symbol,
///   path, stack-trace, error-message and graph lists off; no reranking);
/// * [`RetrievalMode::Hybrid`]: `served` plus the vector signal at
///   [`HYBRID_VECTOR_WEIGHT`] (chunks) and [`HYBRID_VECTOR_FILE_WEIGHT`] (files),
///   then the served file ranker. It learned from lexical features only (the
///   vector features were absent, so no tree splits on them) and reorders the
///   hybrid fusion's candidates by the lexical evidence: on pallets/click, a
///   repository it never saw (60 history instances), hybrid file Acc@5 went
///   0.817 → 0.850 and MRR 0.819 → 0.850 (docs/evaluation.md).
pub fn mode_options(served: &RetrieveOptions, mode: RetrievalMode) -> RetrieveOptions {
    match mode {
        RetrievalMode::Lexical => RetrieveOptions { vector_weight: 0.0, vector_file_weight: 0.0, ..served.clone() },
        RetrievalMode::Semantic => RetrieveOptions {
            rerank_candidates: 0,
            function_files: 0,
            bm25_weight: 0.0,
            symbol_weight: 0.0,
            path_weight: 0.0,
            stack_weight: 0.0,
            message_weight: 0.0,
            graph_weight: 0.0,
            vector_weight: 1.0,
            ..served.clone()
        },
        RetrievalMode::Hybrid => RetrieveOptions {
            vector_weight: HYBRID_VECTOR_WEIGHT,
            vector_file_weight: HYBRID_VECTOR_FILE_WEIGHT,
            ..served.clone()
        },
    }
}

/// The text embedded for a query's vector signal: its prose ([`prose`]: fenced
/// code, tracebacks and interpreter sessions left out), at most
/// [`EMBEDDED_PROSE_BYTES`] bytes.
pub fn embedded_text(query: &str) -> String {
    prose(query, EMBEDDED_PROSE_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_without_a_mode_is_hybrid_only_when_vectors_are_ready() {
        assert_eq!(resolve_mode(None, || true), RetrievalMode::Hybrid);
        assert_eq!(resolve_mode(None, || false), RetrievalMode::Lexical);
        // An explicit mode is kept, and readiness is not even checked.
        assert_eq!(resolve_mode(Some(RetrievalMode::Semantic), || unreachable!()), RetrievalMode::Semantic);
        assert_eq!(resolve_mode(Some(RetrievalMode::Lexical), || unreachable!()), RetrievalMode::Lexical);
    }

    #[test]
    fn modes_turn_signals_on_and_off_over_the_served_options() {
        let served = RetrieveOptions { candidates: 77, rrf_k: 12.0, ..RetrieveOptions::default() };
        let lexical = mode_options(&served, RetrievalMode::Lexical);
        assert_eq!(lexical.vector_weight, 0.0);
        assert!(lexical.rerank_candidates > 0 && lexical.file_ranker.is_some());
        let semantic = mode_options(&served, RetrievalMode::Semantic);
        assert_eq!((semantic.bm25_weight, semantic.vector_weight, semantic.rerank_candidates), (0.0, 1.0, 0));
        assert_eq!(semantic.function_files, 0);
        let hybrid = mode_options(&served, RetrievalMode::Hybrid);
        assert_eq!(hybrid.vector_weight, HYBRID_VECTOR_WEIGHT);
        assert!(hybrid.rerank_candidates > 0 && hybrid.file_ranker.is_some());
        for options in [lexical, semantic, hybrid] {
            assert_eq!((options.candidates, options.rrf_k), (77, 12.0));
        }
        // The eval presets are the same plans over the defaults.
        assert_eq!(
            RetrieveOptions::preset("hybrid"),
            Some(mode_options(&RetrieveOptions::default(), RetrievalMode::Hybrid))
        );
        assert_eq!(
            RetrieveOptions::preset("semantic"),
            Some(mode_options(&RetrieveOptions::default(), RetrievalMode::Semantic))
        );
    }
}
