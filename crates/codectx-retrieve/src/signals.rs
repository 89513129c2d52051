//! The first-stage signals and their fusion into one ranking of chunks and files.

use std::collections::{HashMap, HashSet};

use codectx_core::{is_auxiliary_path, Result, Signal, SignalHit};
use codectx_index::{IndexSnapshot, SymbolRef};

use crate::filter::PathMatcher;
use crate::fusion::{reciprocal_rank_fusion, RankedList};
use crate::query::{analyze, AnalyzedQuery, Frame};

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
    /// re-ranks 10 candidates per hit — see the README).
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
    /// 0.429 at 2, see the README); the same weight on chunks cost bundle recall,
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
            "semantic" => Some(RetrieveOptions {
                rerank_candidates: 0,
                bm25_weight: 0.0,
                symbol_weight: 0.0,
                path_weight: 0.0,
                stack_weight: 0.0,
                message_weight: 0.0,
                graph_weight: 0.0,
                vector_weight: 1.0,
                ..RetrieveOptions::default()
            }),
            "hybrid" => Some(RetrieveOptions {
                // The shipped ranker learned without the vector signal: not measured with it yet.
                rerank_candidates: 0,
                vector_weight: HYBRID_VECTOR_WEIGHT,
                vector_file_weight: HYBRID_VECTOR_FILE_WEIGHT,
                ..RetrieveOptions::default()
            }),
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
    /// learned file ranker off; above 0 with no model set, the shipped one).
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
    /// set (103 instances, `codectx eval`; see the README): among the settings
    /// tried, these gave the best MRR with file Acc@5 0.757 (MRR 0.599, 8k bundle
    /// recall 0.845 with expansion on); the error-message signal then added file
    /// Acc@5 0.767 and function Acc@10 0.357 for MRR 0.596; the re-export factor
    /// then MRR 0.610 and Acc@10 0.864. Before tuning (all weights 1, k = 60, no
    /// test/doc factor): MRR 0.545, Acc@5 0.718. The shipped learned file ranker
    /// then reorders the first [`crate::rerank::DEFAULT_RERANK_CANDIDATES`] files
    /// (`rerank_candidates=0` turns it off; figures in the README).
    fn default() -> Self {
        RetrieveOptions {
            rerank_candidates: crate::rerank::DEFAULT_RERANK_CANDIDATES,
            file_ranker: Some(crate::rerank::FileRanker::shipped()),
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

/// Weight of the chunk-level vector list in `hybrid` (chosen on the dev set; see the README).
pub const HYBRID_VECTOR_WEIGHT: f32 = 1.0;
/// Weight of the file-level vector list in `hybrid` (chosen on the dev set; see the README).
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
    /// Feature vectors ([`crate::rerank::FILE_FEATURES`]) of the first files of the
    /// fused ranking, before reranking, in that order: as many as the larger of
    /// [`RetrieveOptions::rerank_candidates`] (with a ranker) and
    /// [`RetrieveOptions::feature_candidates`].
    pub file_features: Vec<(u32, Vec<f64>)>,
}

/// English and issue-tracker words that carry no information about code.
const STOPWORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "few",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "him",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "me",
    "more",
    "most",
    "my",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "other",
    "our",
    "out",
    "over",
    "own",
    "same",
    "she",
    "should",
    "so",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "very",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
    "yours",
    "like",
    "get",
    "got",
    "use",
    "used",
    "using",
    "want",
    "way",
    "think",
    "see",
    "seems",
    "following",
    "example",
    "issue",
    "problem",
    "bug",
    "expected",
    "actual",
    "result",
    "output",
    "please",
    "thanks",
    "however",
    "instead",
    "would",
    "since",
    "currently",
    "something",
    "anything",
    "one",
    "two",
    "make",
    "work",
    "works",
    "working",
    "http",
    "https",
    "www",
    "com",
    "github",
];

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

    let mut chunk_lists: Vec<RankedList<ChunkRef>> = Vec::new();
    chunk_lists.push(RankedList {
        signal: Signal::Bm25,
        weight: options.bm25_weight,
        items: bm25(snapshot, query, &analyzed, matcher, options)?,
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
    Ok(Ranking { chunks, files, query: analyzed, file_features })
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

/// Query terms for BM25: code tokens of the whole query, stopwords dropped,
/// weighted by term frequency (sub-linearly) and doubled for tokens of
/// identifiers; the `max_terms` rarest (by document frequency) are kept.
pub fn bm25_terms(
    snapshot: &IndexSnapshot,
    query: &str,
    analyzed: &AnalyzedQuery,
    max_terms: usize,
) -> Vec<(String, f32)> {
    let stopwords: HashSet<&str> = STOPWORDS.iter().copied().collect();
    let mut frequency: HashMap<String, u32> = HashMap::new();
    for token in codectx_text::code_tokens(query) {
        if token.len() < 2 || stopwords.contains(token.as_str()) || token.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        *frequency.entry(token).or_default() += 1;
    }
    let identifier_tokens: HashSet<String> =
        analyzed.identifiers.iter().flat_map(|identifier| codectx_text::code_tokens(identifier)).collect();
    let total = snapshot.text().num_chunks().max(1) as f32;
    let mut terms: Vec<(String, f32, f32)> = frequency
        .into_iter()
        .filter_map(|(term, count)| {
            let document_frequency = snapshot.text().doc_freq(&term) as f32;
            if document_frequency == 0.0 {
                return None;
            }
            let idf = ((total - document_frequency + 0.5) / (document_frequency + 0.5) + 1.0).ln();
            let mut weight = 1.0 + (count as f32).ln();
            if identifier_tokens.contains(&term) {
                weight *= 2.0;
            }
            Some((term, weight, idf))
        })
        .collect();
    terms.sort_by(|a, b| (b.1 * b.2).total_cmp(&(a.1 * a.2)).then_with(|| a.0.cmp(&b.0)));
    terms.truncate(max_terms);
    terms.into_iter().map(|(term, weight, _)| (term, weight)).collect()
}

fn bm25(
    snapshot: &IndexSnapshot,
    query: &str,
    analyzed: &AnalyzedQuery,
    matcher: &PathMatcher,
    options: &RetrieveOptions,
) -> Result<Vec<(ChunkRef, f32)>> {
    let terms = bm25_terms(snapshot, query, analyzed, options.max_terms);
    if terms.is_empty() {
        return Ok(Vec::new());
    }
    let accept = |path: &str| matcher.accepts(path);
    let filter: Option<&(dyn Fn(&str) -> bool + Sync)> = if matcher.is_all() { None } else { Some(&accept) };
    let hits = snapshot.text().search(&terms, options.candidates, filter).map_err(codectx_core::Error::from)?;
    Ok(hits
        .into_iter()
        .filter_map(|hit| {
            let (file, _) = snapshot.file(&hit.path)?;
            Some((ChunkRef { file, ordinal: hit.ordinal }, hit.score))
        })
        .collect())
}

/// The chunk that holds a symbol: the chunk whose symbol it is, else the chunk
/// whose span contains its name.
pub fn chunk_of_symbol(snapshot: &IndexSnapshot, reference: SymbolRef) -> Option<ChunkRef> {
    let entry = snapshot.file_at(reference.file);
    let chunks = &entry.parsed.chunks;
    if let Some(ordinal) = chunks.iter().position(|chunk| chunk.symbol == Some(reference.symbol)) {
        return Some(ChunkRef { file: reference.file, ordinal: ordinal as u32 });
    }
    let at = entry.parsed.symbols[reference.symbol as usize].name_span.start_byte;
    chunks
        .iter()
        .position(|chunk| chunk.span.start_byte <= at && at < chunk.span.end_byte)
        .map(|ordinal| ChunkRef { file: reference.file, ordinal: ordinal as u32 })
}

fn symbol_hits(
    snapshot: &IndexSnapshot,
    analyzed: &AnalyzedQuery,
    accepts: &dyn Fn(u32) -> bool,
    options: &RetrieveOptions,
) -> Result<Vec<(ChunkRef, f32)>> {
    let mut scored: Vec<(ChunkRef, f32)> = Vec::new();
    for (position, identifier) in analyzed.identifiers.iter().enumerate() {
        // Earlier mentions (titles, first sentences) weigh a little more.
        let mention = 1.0 / (1.0 + position as f32 * 0.05);
        let segments: Vec<&str> = identifier.split(['.', ':']).filter(|part| !part.is_empty()).collect();
        let mut found = Vec::new();
        let mut matched_segments = 0;
        // Longest qualified suffix that names a symbol: `pkg.Session.send` → `Session.send` → `send`.
        for start in 0..segments.len() {
            let candidate = segments[start..].join(".");
            found = snapshot.find_symbols(&candidate);
            if !found.is_empty() {
                matched_segments = segments.len() - start;
                break;
            }
        }
        if !found.is_empty() {
            let specificity = 1.0 / (found.len() as f32).sqrt();
            let qualified_bonus = 1.0 + 0.5 * (matched_segments as f32 - 1.0);
            for reference in found.into_iter().take(options.candidates) {
                if !accepts(reference.file) {
                    continue;
                }
                if let Some(chunk) = chunk_of_symbol(snapshot, reference) {
                    scored.push((chunk, mention * specificity * qualified_bonus));
                }
            }
            continue;
        }
        // No exact hit: a fuzzy one (typos, other spellings) for longer names.
        let last = segments.last().copied().unwrap_or("");
        if last.len() >= 6 {
            let hits = snapshot.text().symbol_hits(last, 1, 20).map_err(codectx_core::Error::from)?;
            for hit in hits {
                if let Some((file, _)) = snapshot.file(&hit.path) {
                    if accepts(file) {
                        scored.push((ChunkRef { file, ordinal: hit.ordinal }, 0.3 * mention));
                    }
                }
            }
        }
    }
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scored.truncate(options.candidates);
    Ok(scored)
}

/// Files whose path ends with `wanted` on whole segments, or whose path is a
/// suffix of `wanted` (an absolute path from another machine).
fn files_matching_path(snapshot: &IndexSnapshot, wanted: &str) -> Vec<(u32, usize)> {
    let wanted = wanted.trim_start_matches('/');
    let wanted_segments: Vec<&str> = wanted.split('/').filter(|part| !part.is_empty()).collect();
    if wanted_segments.is_empty() {
        return Vec::new();
    }
    if let Some((file, _)) = snapshot.file(wanted) {
        return vec![(file, wanted_segments.len())];
    }
    let file_name = wanted_segments[wanted_segments.len() - 1];
    let mut out = Vec::new();
    for (index, entry) in snapshot.files().iter().enumerate() {
        let path = &entry.record.path;
        if !path.ends_with(file_name) {
            continue;
        }
        let segments: Vec<&str> = path.split('/').collect();
        let common = segments.iter().rev().zip(wanted_segments.iter().rev()).take_while(|(a, b)| a == b).count();
        if common >= 1 {
            out.push((index as u32, common));
        }
    }
    let best = out.iter().map(|(_, common)| *common).max().unwrap_or(0);
    out.retain(|(_, common)| *common == best);
    out
}

fn path_hits(snapshot: &IndexSnapshot, analyzed: &AnalyzedQuery, accepts: &dyn Fn(u32) -> bool) -> Vec<(u32, f32)> {
    let mut scored: Vec<(u32, f32)> = Vec::new();
    for path in &analyzed.paths {
        let matches = files_matching_path(snapshot, path);
        let count = matches.len().max(1) as f32;
        for (file, common) in matches {
            scored.push((file, common as f32 / count));
        }
    }
    for module in &analyzed.modules {
        let base = module.replace('.', "/");
        for candidate in [
            format!("{base}.py"),
            format!("{base}/__init__.py"),
            format!("{base}.rs"),
            format!("{base}/mod.rs"),
            format!("{base}.go"),
            format!("{base}.java"),
            format!("{base}.ts"),
            format!("{base}.js"),
        ] {
            let matches = files_matching_path(snapshot, &candidate);
            // A dotted name is only a module mention when it matches on at least two segments.
            let wanted_segments = candidate.split('/').count();
            for (file, common) in matches {
                if common >= 2 || (wanted_segments == 1 && common == 1) {
                    scored.push((file, common as f32 * 0.8));
                }
            }
        }
    }
    scored.retain(|(file, _)| accepts(*file));
    // Stable: equally strong mentions keep the order the query gives them in.
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut seen = HashSet::new();
    scored.retain(|(file, _)| seen.insert(*file));
    scored
}

/// Words of a message that pin it down: at most this many, the rarest.
const MESSAGE_TERMS: usize = 6;
/// Messages with fewer distinctive words than this are too generic to look up.
const MIN_MESSAGE_TERMS: usize = 3;

/// Chunks containing every distinctive word of a quoted error message: where the
/// string literal that produces it lives. Words that occur nowhere in the code
/// (formatted values such as `'x'` or `42`) are dropped first.
fn message_hits(
    snapshot: &IndexSnapshot,
    messages: &[String],
    accepts: &dyn Fn(u32) -> bool,
) -> Result<Vec<(ChunkRef, f32)>> {
    let stopwords: HashSet<&str> = STOPWORDS.iter().copied().collect();
    let mut out = Vec::new();
    for message in messages {
        let mut terms: Vec<(String, u64)> = Vec::new();
        for token in codectx_text::code_tokens(message) {
            if token.len() < 2 || stopwords.contains(token.as_str()) || token.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            if terms.iter().any(|(existing, _)| *existing == token) {
                continue;
            }
            let frequency = snapshot.text().doc_freq(&token);
            if frequency > 0 {
                terms.push((token, frequency));
            }
        }
        if terms.len() < MIN_MESSAGE_TERMS {
            continue;
        }
        terms.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        let words: Vec<String> = terms.into_iter().take(MESSAGE_TERMS).map(|(term, _)| term).collect();
        let hits = snapshot.text().search_all(&words, 20).map_err(codectx_core::Error::from)?;
        for hit in hits {
            if let Some((file, _)) = snapshot.file(&hit.path) {
                if accepts(file) {
                    out.push((ChunkRef { file, ordinal: hit.ordinal }, hit.score));
                }
            }
        }
    }
    Ok(out)
}

/// Ranked chunks and ranked files, each with a raw score.
type ChunkAndFileHits = (Vec<(ChunkRef, f32)>, Vec<(u32, f32)>);

/// Chunk and file hits of stack-trace frames. The frame nearest the error (the
/// last printed in Python traces, the first in Java traces) ranks first; frames
/// outside the repository match nothing. Each frame's chunk is found by
/// [`frame_chunk`].
///
/// Errors: [`codectx_core::Error::CorruptIndex`] when a chunk's text is missing
/// from the full-text index.
fn stack_frames(snapshot: &IndexSnapshot, frames: &[Frame], accepts: &dyn Fn(u32) -> bool) -> Result<ChunkAndFileHits> {
    let mut chunks = Vec::new();
    let mut files = Vec::new();
    let python_like = frames.iter().any(|frame| frame.path.ends_with(".py"));
    let mut ordered: Vec<&Frame> = frames.iter().collect();
    if python_like {
        ordered.reverse();
    }
    for (position, frame) in ordered.into_iter().enumerate() {
        let matches = files_matching_path(snapshot, &frame.path);
        if matches.len() > 3 {
            continue; // a bare file name that many files share says little
        }
        let score = 1.0 / (1.0 + position as f32);
        for (file, _) in matches {
            if !accepts(file) {
                continue;
            }
            files.push((file, score));
            if let Some(ordinal) = frame_chunk(snapshot, file, frame)? {
                chunks.push((ChunkRef { file, ordinal }, score));
            }
        }
    }
    Ok((chunks, files))
}

/// The chunk of `file` that a stack-trace frame points at. The reporter's
/// version of the file is often not the indexed one, so the line number alone
/// can land in the wrong function; in order of trust:
/// 1. a chunk holding the source line the trace printed (Python), preferring
///    one of the frame's function, then the one nearest the line;
/// 2. the chunk at the line, when it belongs to the frame's function (or the
///    frame names none);
/// 3. the frame's function (a callable of that name; the one nearest the line
///    when several, as `eval` in a module of many classes);
/// 4. the chunk at the line.
fn frame_chunk(snapshot: &IndexSnapshot, file: u32, frame: &Frame) -> Result<Option<u32>> {
    let entry = snapshot.file_at(file);
    let chunks = &entry.parsed.chunks;
    let function = frame.function.as_deref();
    // The chunk's own symbol is the frame's function (its qualified name's last part).
    let of_function = |chunk: &codectx_core::Chunk| {
        function.is_some_and(|function| {
            chunk.symbol.is_some_and(|symbol| entry.parsed.symbols[symbol as usize].name == function)
        })
    };
    let distance = |chunk: &codectx_core::Chunk| {
        frame.line.map_or(0, |line| {
            if line < chunk.span.start_line {
                chunk.span.start_line - line
            } else {
                line.saturating_sub(chunk.span.end_line)
            }
        })
    };
    let nearest = |ordinals: &[usize]| {
        ordinals
            .iter()
            .copied()
            .min_by_key(|&ordinal| (!of_function(&chunks[ordinal]), distance(&chunks[ordinal]), ordinal))
            .map(|ordinal| ordinal as u32)
    };
    let by_line = frame
        .line
        .and_then(|line| chunks.iter().position(|chunk| chunk.span.start_line <= line && line <= chunk.span.end_line));
    let named: Vec<usize> = function.map_or_else(Vec::new, |function| {
        entry
            .parsed
            .symbols
            .iter()
            .enumerate()
            .filter(|(_, symbol)| symbol.name == function && symbol.kind.is_callable())
            .filter_map(|(symbol, _)| chunk_of_symbol(snapshot, SymbolRef { file, symbol: symbol as u32 }))
            .map(|chunk| chunk.ordinal as usize)
            .collect()
    });
    if let Some(source) = frame.source.as_deref() {
        let holds = |ordinal: usize| -> Result<bool> {
            Ok(snapshot.chunk_text(file, ordinal as u32)?.lines().any(|line| line.trim() == source))
        };
        // The likely chunks first (the function's, the line's); every chunk of the
        // file only when none of them holds the line (a long function split into
        // windows, a renamed function).
        let mut likely: Vec<usize> = named.iter().copied().chain(by_line).collect();
        likely.sort_unstable();
        likely.dedup();
        let mut holding = Vec::new();
        for &ordinal in &likely {
            if holds(ordinal)? {
                holding.push(ordinal);
            }
        }
        if holding.is_empty() {
            for ordinal in (0..chunks.len()).filter(|ordinal| likely.binary_search(ordinal).is_err()) {
                if holds(ordinal)? {
                    holding.push(ordinal);
                }
            }
        }
        if let Some(ordinal) = nearest(&holding) {
            return Ok(Some(ordinal));
        }
    }
    if let Some(ordinal) = by_line {
        if function.is_none() || of_function(&chunks[ordinal]) {
            return Ok(Some(ordinal as u32));
        }
    }
    if let Some(ordinal) = nearest(&named) {
        return Ok(Some(ordinal));
    }
    Ok(by_line.map(|ordinal| ordinal as u32))
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
