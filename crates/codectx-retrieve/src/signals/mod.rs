//! The first-stage signals and their fusion into one ranking of chunks and files.

use std::collections::{HashMap, HashSet};

use codectx_core::{is_auxiliary_path, Result, RetrievalMode, Signal, SignalHit};
use codectx_index::{IndexSnapshot, SymbolRef};

use crate::filter::PathMatcher;
use crate::fusion::{reciprocal_rank_fusion, RankedList};
use crate::query::{analyze, AnalyzedQuery, Frame};

mod bm25;
mod message;
mod path;
mod stack;
mod symbol;

pub use bm25::bm25_terms;
use bm25::{bm25, STOPWORDS};
use message::message_hits;
use path::{files_matching_path, path_hits};
use stack::stack_frames;
pub use symbol::chunk_of_symbol;
use symbol::symbol_hits;

/// A chunk of a snapshot: file index and ordinal within the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChunkRef {
    /// Index into [`IndexSnapshot::files`].
    pub file: u32,
    /// Index into that file's chunks.
    pub ordinal: u32,
}

/// Weights of the signals in the fusion, and how many candidates each contributes.
#[derive(Debug, Clone, PartialEq)]
pub struct RetrieveOptions {
    /// Files put in order by the learned file ranker after the fusion (0: no
    /// reranking; see [`crate::rerank`]). Needs [`RetrieveOptions::file_ranker`].
    pub rerank_candidates: usize,
    /// The learned file ranker (the shipped model in the presets that rerank).
    pub file_ranker: Option<std::sync::Arc<crate::rerank::FileRanker>>,
    /// The learned function ranker: puts the definitions of
    /// [`crate::ranked_definitions`] in its order, and its first definitions lead
    /// the context ([`RetrieveOptions::leading_definitions`]). Off by default
    /// (`None`, and [`RetrieveOptions::function_files`] 0): on the dev set it
    /// traded function Acc@10 for Acc@5 and cost ranking time (see docs/evaluation.md);
    /// `+function_files=10` turns the shipped model on.
    pub function_ranker: Option<std::sync::Arc<crate::rerank::FunctionRanker>>,
    /// Files whose every definition is a candidate of the function ranker
    /// ([`crate::definitions::DEFAULT_FUNCTION_FILES`] when on; 0, the default,
    /// turns the function ranker off).
    pub function_files: usize,
    /// Context assembly first takes the chunks of this many first definitions of
    /// the learned function ranking (default 3; 0: off; nothing without a
    /// function ranker), then the best chunk of each of the
    /// [`RetrieveOptions::diverse_files`] first files, then the rest by score.
    pub leading_definitions: usize,
    /// Files whose feature vectors [`rank_hybrid`] returns in
    /// [`Ranking::file_features`] even without reranking (`codectx eval
    /// --dump-features`); 0: none beyond the reranked ones.
    pub feature_candidates: usize,
    /// Candidates per signal (default 200).
    pub candidates: usize,
    /// The `k` of reciprocal rank fusion (default 30; Cormack et al. use 60, a
    /// smaller k weighs the top of each list more).
    pub rrf_k: f32,
    /// Weight of BM25 (default 1.5).
    pub bm25_weight: f32,
    /// Weight of symbol-name hits (default 0.75: issue texts name many symbols in
    /// passing, so exact name hits are weaker evidence than BM25 over the text).
    pub symbol_weight: f32,
    /// Weight of path and module mentions (default 1.5).
    pub path_weight: f32,
    /// Weight of stack-trace frames (default 2.0: a frame names file and line).
    pub stack_weight: f32,
    /// Weight of error messages found in the code (default 1.0).
    pub message_weight: f32,
    /// Most query terms sent to BM25, chosen by inverse document frequency (default 48).
    pub max_terms: usize,
    /// Analyze the query into identifiers, paths and stack frames (default true).
    /// When false, the query is only a bag of words for BM25: the plain lexical
    /// baseline the evaluation compares against.
    pub query_understanding: bool,
    /// How much of its file's aggregated score a chunk inherits (default 0.5): a
    /// chunk in a file that many signals point at outranks an equally scored chunk
    /// in a file that only it points at.
    pub file_prior: f32,
    /// Context assembly first takes the best chunk of each of this many top-ranked
    /// files, then fills the rest of the budget by chunk score (default 5). Spreads
    /// the bundle over the likely files instead of spending it all on the first.
    pub diverse_files: usize,
    /// Weight of personalized PageRank over the file dependency graph, seeded by
    /// the first-stage files (0 turns the graph signal off).
    pub graph_weight: f32,
    /// First-stage files that seed personalized PageRank (default 10).
    pub graph_seeds: usize,
    /// Factor on the scores of tests, docs, examples and benchmarks (default 0.3;
    /// 1 turns it off). A request about code to write or change is usually about
    /// the code itself; tests and examples that mention the same names would
    /// otherwise crowd it out, as Sourcegraph also ranks tests lower.
    pub auxiliary_file_weight: f32,
    /// Weight of the vector signal: the chunks nearest to the query's embedding
    /// (0 = lexical only, the default; the `hybrid` preset sets it).
    pub vector_weight: f32,
    /// Weight of the file-level vector list (files by their nearest chunk) in the
    /// second fusion stage (0 = off, the default outside `hybrid`).
    pub vector_file_weight: f32,
    /// Use the vector list only to re-rank chunks that a lexical signal found
    /// (default false).
    pub vector_rerank: bool,
    /// Nearest chunks fetched for the vector list (default 100: on the dev set 100
    /// and 200 ranked the same, 50 lost; the search cost grows with it, as IVF-PQ
    /// re-ranks 10 candidates per hit — see docs/evaluation.md).
    pub vector_candidates: usize,
    /// Factor on the scores of re-export modules: files with imports and no
    /// definition of a function, method, class or type (a package's
    /// `__init__.py`, an `index.ts` of `export … from`). They name everything
    /// their package holds, so they match many queries, and a change is rarely
    /// made there. Default 0.3, as for tests and docs (on the dev set: hybrid
    /// Acc@1 0.456 → 0.485, MRR 0.603 → 0.623, nothing else moved; 0.6 gave
    /// MRR 0.608). 1 turns it off.
    pub reexport_file_weight: f32,
    /// How much of its file's score a definition inherits in the function-level
    /// ranking ([`crate::definitions::ranked_definitions`]); `file_prior` is
    /// the same for chunks. Default 2: in the file-then-function order of
    /// hierarchical localization (Agentless, SweRank), the functions of a likely
    /// file come before a slightly better chunk of an unlikely one. On the dev
    /// set the function ranking then gained function Acc@10 (hybrid 0.378 →
    /// 0.429 at 2, see docs/evaluation.md); the same weight on chunks cost bundle recall,
    /// so the two are apart.
    pub definition_file_prior: f32,
}

/// Whether a parsed file only gathers names from elsewhere: it has imports and
/// defines no function, method, class, struct, enum, interface, impl, type or
/// macro ([`codectx_core::SymbolKind::is_definition`]; constants such as
/// `__all__` and module declarations are allowed).
pub fn is_reexport_module(parsed: &codectx_core::ParsedFile) -> bool {
    !parsed.imports.is_empty() && !parsed.symbols.iter().any(|symbol| symbol.kind.is_definition())
}

impl RetrieveOptions {
    /// Named configurations, for `codectx eval --mode` and the CLI:
    /// * `bm25` — BM25 over chunks on the raw query, no query understanding;
    /// * `lexical` — BM25 plus the symbol, path and stack-trace signals, then the
    ///   learned file ranker ([`crate::rerank`]; `lexical+rerank_candidates=0` without it);
    /// * `graph` — `lexical` plus personalized PageRank over the dependency graph.
    ///
    /// Returns `None` for an unknown name.
    pub fn preset(name: &str) -> Option<RetrieveOptions> {
        match name {
            "bm25" => Some(RetrieveOptions {
                rerank_candidates: 0,
                query_understanding: false,
                auxiliary_file_weight: 1.0,
                reexport_file_weight: 1.0,
                bm25_weight: 1.0,
                rrf_k: 60.0,
                ..RetrieveOptions::default()
            }),
            "lexical" => Some(RetrieveOptions { graph_weight: 0.0, ..RetrieveOptions::default() }),
            "graph" => Some(RetrieveOptions { graph_weight: 1.0, rerank_candidates: 0, ..RetrieveOptions::default() }),
            // As the service plans these modes (crate::plan).
            "semantic" => Some(crate::plan::mode_options(&RetrieveOptions::default(), RetrievalMode::Semantic)),
            "hybrid" => Some(crate::plan::mode_options(&RetrieveOptions::default(), RetrievalMode::Hybrid)),
            _ => None,
        }
    }

    /// Names accepted by [`RetrieveOptions::preset`].
    pub const PRESETS: &'static [&'static str] = &["bm25", "lexical", "graph", "semantic", "hybrid"];

    /// Whether the query must be embedded (the vector signal has weight).
    pub fn uses_vectors(&self) -> bool {
        self.vector_weight > 0.0
    }

    /// Parses `PRESET[+KEY=VALUE]...`, e.g. `lexical+symbol_weight=2+file_prior=0`,
    /// for tuning runs. Keys: `bm25_weight`, `symbol_weight`, `path_weight`,
    /// `stack_weight`, `message_weight`, `file_prior`, `rrf_k`, `max_terms`, `candidates`, `diverse_files`, `graph_weight`, `graph_seeds`, `auxiliary_file_weight`, `vector_weight`, `vector_file_weight`, `vector_rerank` (0 or 1), `vector_candidates`, `reexport_file_weight`, `definition_file_prior`, `rerank_candidates` (0 turns the
    /// learned file ranker off; above 0 with no model set, the shipped one), `function_files` (the same for the
    /// learned function ranker), `leading_definitions`.
    ///
    /// Errors: a one-line message naming the unknown preset, key or bad value.
    pub fn parse(spec: &str) -> std::result::Result<RetrieveOptions, String> {
        let mut parts = spec.split('+');
        let name = parts.next().unwrap_or_default();
        let mut options = RetrieveOptions::preset(name)
            .ok_or_else(|| format!("unknown mode {name:?}; known: {}", RetrieveOptions::PRESETS.join(", ")))?;
        for part in parts {
            let (key, value) = part.split_once('=').ok_or_else(|| format!("{part:?} is not KEY=VALUE"))?;
            let number: f32 = value.parse().map_err(|_| format!("{key}: {value:?} is not a number"))?;
            match key {
                "bm25_weight" => options.bm25_weight = number,
                "symbol_weight" => options.symbol_weight = number,
                "path_weight" => options.path_weight = number,
                "stack_weight" => options.stack_weight = number,
                "message_weight" => options.message_weight = number,
                "file_prior" => options.file_prior = number,
                "rrf_k" => options.rrf_k = number,
                "max_terms" => options.max_terms = number as usize,
                "candidates" => options.candidates = number as usize,
                "diverse_files" => options.diverse_files = number as usize,
                "graph_weight" => options.graph_weight = number,
                "graph_seeds" => options.graph_seeds = number as usize,
                "auxiliary_file_weight" => options.auxiliary_file_weight = number,
                "vector_weight" => options.vector_weight = number,
                "vector_file_weight" => options.vector_file_weight = number,
                "vector_rerank" => options.vector_rerank = number != 0.0,
                "vector_candidates" => options.vector_candidates = number as usize,
                "reexport_file_weight" => options.reexport_file_weight = number,
                "definition_file_prior" => options.definition_file_prior = number,
                "leading_definitions" => options.leading_definitions = number as usize,
                "function_files" => {
                    options.function_files = number as usize;
                    if options.function_files > 0 && options.function_ranker.is_none() {
                        options.function_ranker = Some(crate::rerank::FunctionRanker::shipped());
                    }
                }
                "rerank_candidates" => {
                    options.rerank_candidates = number as usize;
                    if options.rerank_candidates > 0 && options.file_ranker.is_none() {
                        options.file_ranker = Some(crate::rerank::FileRanker::shipped());
                    }
                }
                _ => return Err(format!("unknown key {key:?}")),
            }
        }
        Ok(options)
    }
}

impl Default for RetrieveOptions {
    /// The `lexical` configuration, with weights chosen on the SWE-bench Lite dev
    /// set (103 instances, `codectx eval`; see docs/evaluation.md): among the settings
    /// tried, these gave the best MRR with file Acc@5 0.757 (MRR 0.599, 8k bundle
    /// recall 0.845 with expansion on); the error-message signal then added file
    /// Acc@5 0.767 and function Acc@10 0.357 for MRR 0.596; the re-export factor
    /// then MRR 0.610 and Acc@10 0.864. Before tuning (all weights 1, k = 60, no
    /// test/doc factor): MRR 0.545, Acc@5 0.718. The shipped learned file ranker
    /// then reorders the first [`crate::rerank::DEFAULT_RERANK_CANDIDATES`] files
    /// (`rerank_candidates=0` turns it off; figures in docs/evaluation.md).
    fn default() -> Self {
        RetrieveOptions {
            rerank_candidates: crate::rerank::DEFAULT_RERANK_CANDIDATES,
            file_ranker: Some(crate::rerank::FileRanker::shipped()),
            function_ranker: None,
            function_files: 0,
            leading_definitions: 3,
            feature_candidates: 0,
            candidates: 200,
            rrf_k: 30.0,
            bm25_weight: 1.5,
            symbol_weight: 0.75,
            path_weight: 1.5,
            stack_weight: 2.0,
            message_weight: 1.0,
            max_terms: 48,
            query_understanding: true,
            file_prior: 0.5,
            diverse_files: 5,
            graph_weight: 0.0,
            graph_seeds: 10,
            auxiliary_file_weight: 0.3,
            vector_weight: 0.0,
            vector_file_weight: 0.0,
            vector_rerank: false,
            vector_candidates: 100,
            reexport_file_weight: 0.3,
            definition_file_prior: 2.0,
        }
    }
}

/// Weight of the chunk-level vector list in `hybrid` (chosen on the dev set; see docs/evaluation.md).
pub const HYBRID_VECTOR_WEIGHT: f32 = 1.0;
/// Weight of the file-level vector list in `hybrid` (chosen on the dev set; see docs/evaluation.md).
pub const HYBRID_VECTOR_FILE_WEIGHT: f32 = 0.0;

/// A fused chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct RankedChunk {
    /// The chunk.
    pub chunk: ChunkRef,
    /// Fused score.
    pub score: f32,
    /// Contributing signals.
    pub signals: Vec<SignalHit>,
}

/// The fused ranking of a query.
#[derive(Debug, Clone, Default)]
pub struct Ranking {
    /// Chunks, best first.
    pub chunks: Vec<RankedChunk>,
    /// Files, best first, with their aggregated score.
    pub files: Vec<(u32, f32)>,
    /// The query analysis.
    pub query: AnalyzedQuery,
    /// The query's BM25 terms (code tokens, stop words dropped) with their
    /// query weights, as [`bm25_terms`] chose them (at most
    /// [`RetrieveOptions::max_terms`]).
    pub terms: Vec<(String, f32)>,
    /// The BM25 hits, best first, with their scores: the first
    /// [`RetrieveOptions::candidates`] are the fusion's BM25 list; with a function
    /// ranker (or `feature_candidates`) the list goes on to
    /// [`crate::definitions::BM25_DEPTH`] hits, which the function features read.
    pub bm25_hits: Vec<(ChunkRef, f32)>,
    /// Feature vectors ([`crate::rerank::FILE_FEATURES`]) of the first files of the
    /// fused ranking, before reranking, in that order: as many as the larger of
    /// [`RetrieveOptions::rerank_candidates`] (with a ranker) and
    /// [`RetrieveOptions::feature_candidates`].
    pub file_features: Vec<(u32, Vec<f64>)>,
}

/// Runs every signal for `query` and fuses them. Chunks of files rejected by
/// `matcher` never appear.
pub fn rank(
    snapshot: &IndexSnapshot,
    query: &str,
    matcher: &PathMatcher,
    options: &RetrieveOptions,
) -> Result<Ranking> {
    rank_hybrid(snapshot, query, &[], matcher, options)
}

/// [`rank`] with the vector signal: `vector_hits` are the chunks nearest to the
/// query's embedding with their cosine similarity (nearest first, as [`codectx_index::VectorSearch::nearest`]
/// returns them). They join the chunk-level fusion as one more ranked list of
/// weight [`RetrieveOptions::vector_weight`]; like the other chunk lists, they are
/// then aggregated to files.
pub fn rank_hybrid(
    snapshot: &IndexSnapshot,
    query: &str,
    vector_hits: &[(ChunkRef, f32)],
    matcher: &PathMatcher,
    options: &RetrieveOptions,
) -> Result<Ranking> {
    let analyzed = if options.query_understanding { analyze(query) } else { AnalyzedQuery::default() };
    let accepts = |file: u32| matcher.accepts(&snapshot.file_at(file).record.path);

    let terms = bm25_terms(snapshot, query, &analyzed, options.max_terms);
    // The function ranker reads BM25 deeper than the fusion does.
    let depth = if options.function_ranker.is_some() && options.function_files > 0 || options.feature_candidates > 0 {
        options.candidates.max(crate::definitions::BM25_DEPTH)
    } else {
        options.candidates
    };
    let bm25_hits = bm25(snapshot, &terms, matcher, depth)?;
    let mut chunk_lists: Vec<RankedList<ChunkRef>> = Vec::new();
    chunk_lists.push(RankedList {
        signal: Signal::Bm25,
        weight: options.bm25_weight,
        items: bm25_hits.iter().copied().take(options.candidates).collect(),
    });
    chunk_lists.push(RankedList {
        signal: Signal::Symbol,
        weight: options.symbol_weight,
        items: symbol_hits(snapshot, &analyzed, &accepts, options)?,
    });
    let (frame_chunks, frame_files) = stack_frames(snapshot, &analyzed.frames, &accepts)?;
    chunk_lists.push(RankedList { signal: Signal::StackTrace, weight: options.stack_weight, items: frame_chunks });
    if options.message_weight > 0.0 && !analyzed.messages.is_empty() {
        chunk_lists.push(RankedList {
            signal: Signal::ErrorMessage,
            weight: options.message_weight,
            items: message_hits(snapshot, &analyzed.messages, &accepts)?,
        });
    }

    if options.vector_weight > 0.0 && !vector_hits.is_empty() {
        // As a re-ranker, the vector list only votes for chunks a lexical signal found.
        let lexical: HashSet<ChunkRef> = if options.vector_rerank {
            chunk_lists.iter().flat_map(|list| list.items.iter().map(|(chunk, _)| *chunk)).collect()
        } else {
            HashSet::new()
        };
        let items: Vec<(ChunkRef, f32)> = vector_hits
            .iter()
            .copied()
            .take(options.vector_candidates)
            .filter(|(chunk, _)| accepts(chunk.file) && (!options.vector_rerank || lexical.contains(chunk)))
            .collect();
        chunk_lists.push(RankedList { signal: Signal::Vector, weight: options.vector_weight, items });
    }

    // Stage 1: chunk-level fusion, aggregated to files (best chunk, then ½ and ¼
    // credit for the next two).
    let chunk_fused = reciprocal_rank_fusion(&chunk_lists, options.rrf_k);
    let content_files = aggregate_files(&chunk_fused);

    // Stage 2: file-level fusion of the aggregated chunk evidence with the
    // file-level signals: paths and modules named in the query, stack-trace files,
    // and personalized PageRank seeded by the files found so far.
    let path_files = path_hits(snapshot, &analyzed, &accepts);
    let mut file_lists = vec![RankedList { signal: Signal::Bm25, weight: 1.0, items: content_files }];
    file_lists.push(RankedList { signal: Signal::Path, weight: options.path_weight, items: path_files });
    file_lists.push(RankedList { signal: Signal::StackTrace, weight: options.stack_weight * 0.5, items: frame_files });
    if options.vector_file_weight > 0.0 && !vector_hits.is_empty() {
        // Files in the order of their nearest chunk: the semantic signal on its own,
        // beside the chunk-level fusion where BM25 can drown it.
        let mut seen = HashSet::new();
        let items: Vec<(u32, f32)> = vector_hits
            .iter()
            .filter(|(chunk, _)| accepts(chunk.file) && seen.insert(chunk.file))
            .map(|(chunk, similarity)| (chunk.file, *similarity))
            .take(options.candidates)
            .collect();
        file_lists.push(RankedList { signal: Signal::Vector, weight: options.vector_file_weight, items });
    }
    if options.graph_weight > 0.0 && !file_lists[0].items.is_empty() {
        let seeds: Vec<(u32, f32)> = reciprocal_rank_fusion(&file_lists, options.rrf_k)
            .into_iter()
            .take(options.graph_seeds)
            .map(|fused| (fused.key, fused.score))
            .collect();
        let scores = crate::graph::personalized_pagerank(
            snapshot.file_graph(),
            &seeds,
            crate::graph::DAMPING,
            crate::graph::ITERATIONS,
        );
        let mut ranked: Vec<(u32, f32)> = scores
            .iter()
            .enumerate()
            .filter(|(file, score)| **score > 0.0 && accepts(*file as u32))
            .map(|(file, score)| (file as u32, *score))
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(options.candidates);
        file_lists.push(RankedList { signal: Signal::Graph, weight: options.graph_weight, items: ranked });
    }
    let mut file_fused = reciprocal_rank_fusion(&file_lists, options.rrf_k);
    // Tests, docs and examples, and re-export modules, weigh less.
    let factor = |file: u32| {
        let entry = snapshot.file_at(file);
        if is_auxiliary_path(&entry.record.path) {
            options.auxiliary_file_weight
        } else if options.reexport_file_weight != 1.0 && is_reexport_module(&entry.parsed) {
            options.reexport_file_weight
        } else {
            1.0
        }
    };
    if options.auxiliary_file_weight != 1.0 || options.reexport_file_weight != 1.0 {
        for fused in &mut file_fused {
            fused.score *= factor(fused.key);
        }
        file_fused.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.key.cmp(&b.key)));
    }
    let mut files: Vec<(u32, f32)> = file_fused.iter().map(|fused| (fused.key, fused.score)).collect();

    // The learned file ranker puts the first candidates in its order (crate::rerank).
    let ranker = options.file_ranker.as_deref().filter(|_| options.rerank_candidates > 0);
    let reranked = if ranker.is_some() { options.rerank_candidates } else { 0 };
    let wanted = reranked.max(options.feature_candidates);
    let file_features = if wanted > 0 {
        let inputs = crate::rerank::FeatureInputs {
            chunk_lists: &chunk_lists,
            file_lists: &file_lists,
            files: &files,
            query,
            analyzed: &analyzed,
        };
        crate::rerank::file_features(snapshot, &inputs, wanted)
    } else {
        Vec::new()
    };
    // The reranked scores replace the fused ones (only when reranked).
    let mut file_scores: HashMap<u32, f32> = HashMap::new();
    if let Some(ranker) = ranker {
        crate::rerank::rerank_files(&mut files, &file_features[..reranked.min(file_features.len())], ranker);
        file_scores = files.iter().copied().collect();
    }
    let file_signals: HashMap<u32, (f32, Vec<SignalHit>)> = file_fused
        .into_iter()
        .map(|fused| {
            // The aggregated chunk list is an internal list, not a signal of its own.
            let hits = fused.signals.into_iter().filter(|hit| hit.signal != Signal::Bm25).collect();
            let score = file_scores.get(&fused.key).copied().unwrap_or(fused.score);
            (fused.key, (score, hits))
        })
        .collect();

    // Chunks inherit part of their file's score; files found only by file-level
    // signals contribute their first chunk so that they can reach the context.
    let mut chunks: Vec<RankedChunk> = chunk_fused
        .into_iter()
        .map(|fused| RankedChunk { chunk: fused.key, score: fused.score, signals: fused.signals })
        .collect();
    let with_chunks: HashSet<u32> = chunks.iter().map(|chunk| chunk.chunk.file).collect();
    for (file, _) in &files {
        if !with_chunks.contains(file) {
            chunks.extend(first_chunk(snapshot, *file).into_iter().map(|chunk| RankedChunk {
                chunk,
                score: 0.0,
                signals: Vec::new(),
            }));
        }
    }
    for chunk in &mut chunks {
        chunk.score *= factor(chunk.chunk.file);
        if let Some((score, hits)) = file_signals.get(&chunk.chunk.file) {
            chunk.score += options.file_prior * score;
            chunk.signals.extend(hits.iter().cloned());
        }
        chunk.signals = merge_signals(std::mem::take(&mut chunk.signals));
    }
    chunks.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.chunk.cmp(&b.chunk)));
    Ok(Ranking { chunks, files, query: analyzed, terms, bm25_hits, file_features })
}

/// Files by their fused chunks: best chunk, plus ½ and ¼ credit for the next two.
fn aggregate_files(chunks: &[crate::fusion::Fused<ChunkRef>]) -> Vec<(u32, f32)> {
    let mut per_file: HashMap<u32, Vec<f32>> = HashMap::new();
    for chunk in chunks {
        per_file.entry(chunk.key.file).or_default().push(chunk.score);
    }
    let mut files: Vec<(u32, f32)> = per_file
        .into_iter()
        .map(|(file, scores)| {
            (file, scores.iter().take(3).zip([1.0, 0.5, 0.25]).map(|(score, decay)| score * decay).sum())
        })
        .collect();
    files.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    files
}

/// One hit per signal (the best rank), in a fixed signal order.
fn merge_signals(signals: Vec<SignalHit>) -> Vec<SignalHit> {
    let mut best: Vec<SignalHit> = Vec::new();
    for hit in signals {
        match best.iter_mut().find(|existing| existing.signal == hit.signal) {
            Some(existing) if existing.rank <= hit.rank => {}
            Some(existing) => *existing = hit,
            None => best.push(hit),
        }
    }
    best.sort_by_key(|hit| (hit.signal, hit.rank));
    best
}

/// The first chunk of a file, if it has any.
fn first_chunk(snapshot: &IndexSnapshot, file: u32) -> Option<ChunkRef> {
    (!snapshot.file_at(file).parsed.chunks.is_empty()).then_some(ChunkRef { file, ordinal: 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_tests_docs_and_examples() {
        for path in [
            "tests/test_api.py",
            "src/a/tests/b.py",
            "pkg/test_x.py",
            "server/server_test.go",
            "src/test/java/a/FooTest.java",
            "web/a.test.ts",
            "docs/conf.py",
            "examples/demo.rs",
            "conftest.py",
        ] {
            assert!(is_auxiliary_path(path), "{path}");
        }
        for path in
            ["src/flask/app.py", "requests/sessions.py", "src/testing_utils_not.rs", "contest.py", "latest/x.py"]
        {
            assert!(!is_auxiliary_path(path), "{path}");
        }
    }

    #[test]
    fn parses_tuned_presets() {
        let options = RetrieveOptions::parse("lexical+symbol_weight=2+file_prior=0").unwrap();
        assert_eq!(options.symbol_weight, 2.0);
        assert_eq!(options.file_prior, 0.0);
        assert!(RetrieveOptions::parse("nope").unwrap_err().contains("unknown mode"));
        assert!(RetrieveOptions::parse("lexical+bogus=1").unwrap_err().contains("bogus"));
        assert!(RetrieveOptions::parse("lexical+rrf_k=x").is_err());
    }
}
