//! The query plan: which signals each retrieval mode runs with, and which text
//! of a query is embedded for the vector signal. The service
//! (`codectx-service`'s engine), the `semantic`/`hybrid` presets of
//! `codectx eval` and the learned ranker's feature dumps all plan through here,
//! so what is evaluated is what is served.

use codectx_core::RetrievalMode;

use crate::query::{prose, EMBEDDED_PROSE_BYTES};
use crate::signals::{RetrieveOptions, HYBRID_VECTOR_FILE_WEIGHT, HYBRID_VECTOR_WEIGHT};

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
///   0.817 → 0.850 and MRR 0.819 → 0.850 (README).
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
