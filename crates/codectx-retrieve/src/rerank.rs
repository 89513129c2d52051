//! The learned file reranker: one feature vector per candidate file, scored by a
//! LambdaMART model (gradient-boosted trees trained with a ranking objective:
//! Burges, "From RankNet to LambdaRank to LambdaMART", 2010; trained with
//! LightGBM by `training/train_ranker.py`).
//!
//! [`rank_hybrid`](crate::rank_hybrid) fuses the first-stage signals with
//! reciprocal rank fusion as before; then, when
//! [`RetrieveOptions::rerank_candidates`](crate::RetrieveOptions::rerank_candidates)
//! is above 0 and a model is set, the first that many files are put in the
//! order of the model's score. The reranked files take the fused scores in
//! order (the best-scored file gets the highest fused score, and so on), so the
//! chunk ranking, which adds part of its file's score to each chunk, and the
//! context assembly see the same score range as without the reranker.
//!
//! The features ([`FILE_FEATURES`]) are computed by [`file_features`] from what
//! the fusion already has: each signal's ranked list, the aggregated chunk
//! evidence, the fused score, and facts of the file and the query. `codectx eval
//! --dump-features` writes the same vectors, so the model is trained on exactly
//! what serving computes.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, LazyLock};

use codectx_core::{is_auxiliary_path, is_test_path, Signal};
use codectx_index::IndexSnapshot;

use crate::fusion::RankedList;
use crate::gbdt::{Forest, ModelError};
use crate::query::AnalyzedQuery;
use crate::signals::{is_reexport_module, ChunkRef};

/// The chunk-level signals whose lists give per-file (and per-definition,
/// [`crate::definitions`]) features, in feature order.
pub(crate) const CHUNK_SIGNALS: [Signal; 5] =
    [Signal::Bm25, Signal::Symbol, Signal::StackTrace, Signal::ErrorMessage, Signal::Vector];

/// Files the learned ranker reorders in the presets that use it, and the files
/// per instance `codectx eval --dump-features` writes.
pub const DEFAULT_RERANK_CANDIDATES: usize = 50;

/// Rank given to a file or definition that a list does not hold (larger than
/// any list the features read).
pub(crate) const ABSENT_RANK: f64 = 1000.0;

/// Names of the file features, in vector order. Ranks are 1-based (a file a
/// list does not hold has rank 1000); "best" is the best of the file's chunks.
pub const FILE_FEATURES: [&str; 44] = [
    // The fusion.
    "fused_rank",
    "fused_score",
    "fused_score_ratio",
    "content_rank",
    "content_score",
    // Chunk-level lists: best rank, chunks in the list, best raw score, best raw score / the list's best.
    "bm25_rank",
    "bm25_chunks",
    "bm25_score",
    "bm25_score_ratio",
    "symbol_rank",
    "symbol_chunks",
    "symbol_score",
    "symbol_score_ratio",
    "stack_rank",
    "stack_chunks",
    "stack_score",
    "stack_score_ratio",
    "message_rank",
    "message_chunks",
    "message_score",
    "message_score_ratio",
    "vector_rank",
    "vector_chunks",
    "vector_score",
    "vector_score_ratio",
    // File-level lists.
    "path_rank",
    "path_score",
    "frame_file_rank",
    // The file.
    "is_auxiliary",
    "is_test",
    "is_reexport",
    "is_package_entry",
    "log2_bytes",
    "chunks",
    "definitions",
    "path_depth",
    "stem_in_query",
    "dirs_in_query",
    "defined_identifiers",
    // The query.
    "query_log2_bytes",
    "query_identifiers",
    "query_frames",
    "query_has_vectors",
    "candidates",
];

/// Position of `frame_file_rank` in [`FILE_FEATURES`] (checked by a test).
const FRAME_FILE_RANK: usize = 27;

/// What [`file_features`] reads: the fusion's lists and results for one query.
pub(crate) struct FeatureInputs<'a> {
    /// The chunk-level lists as fused (BM25, symbol, stack trace, error message, vector).
    pub chunk_lists: &'a [RankedList<ChunkRef>],
    /// The file-level lists as fused: the chunk evidence aggregated to files
    /// (signal `Bm25`), files named by path or module (`Path`), files of
    /// stack-trace frames (`StackTrace`), and the vector and graph lists.
    pub file_lists: &'a [RankedList<u32>],
    /// The fused files, best first, with their final score.
    pub files: &'a [(u32, f32)],
    /// The query text and its analysis.
    pub query: &'a str,
    /// The analysis of `query`.
    pub analyzed: &'a AnalyzedQuery,
}

/// Per-file facts of one ranked list: best rank, count, best raw score.
#[derive(Clone, Copy)]
struct ListFacts {
    rank: f64,
    count: f64,
    score: f64,
}

/// The feature vectors of the first `candidates` files of `inputs.files`, in
/// that order: `(file, features)` with features named by [`FILE_FEATURES`].
pub(crate) fn file_features(
    snapshot: &IndexSnapshot,
    inputs: &FeatureInputs<'_>,
    candidates: usize,
) -> Vec<(u32, Vec<f64>)> {
    let chosen: Vec<(u32, f32)> = inputs.files.iter().copied().take(candidates).collect();
    let wanted: HashSet<u32> = chosen.iter().map(|(file, _)| *file).collect();
    // Per chunk signal: file → facts, and the list's best raw score.
    let mut per_signal: Vec<(HashMap<u32, ListFacts>, f64)> = Vec::with_capacity(CHUNK_SIGNALS.len());
    for signal in CHUNK_SIGNALS {
        let mut facts: HashMap<u32, ListFacts> = HashMap::new();
        let mut best = 0.0f64;
        if let Some(list) = inputs.chunk_lists.iter().find(|list| list.signal == signal && list.weight > 0.0) {
            let mut seen = HashSet::new();
            let mut rank = 0u32;
            for (chunk, raw) in &list.items {
                if !seen.insert(*chunk) {
                    continue;
                }
                rank += 1;
                let raw = f64::from(*raw);
                best = best.max(raw);
                if !wanted.contains(&chunk.file) {
                    continue;
                }
                let entry =
                    facts.entry(chunk.file).or_insert(ListFacts { rank: f64::from(rank), count: 0.0, score: raw });
                entry.count += 1.0;
                entry.score = entry.score.max(raw);
            }
        }
        per_signal.push((facts, best));
    }
    // File list → file → (1-based rank, raw score); an absent list is empty.
    let ranks = |signal: Signal| -> HashMap<u32, (f64, f64)> {
        let mut out = HashMap::new();
        let items = inputs.file_lists.iter().find(|list| list.signal == signal).map_or(&[][..], |list| &list.items);
        for (index, (file, score)) in items.iter().enumerate() {
            out.entry(*file).or_insert(((index + 1) as f64, f64::from(*score)));
        }
        out
    };
    let content = ranks(Signal::Bm25);
    let paths = ranks(Signal::Path);
    let frames = ranks(Signal::StackTrace);
    let top_score = chosen.first().map_or(0.0, |(_, score)| f64::from(*score));

    let query_words = words(inputs.query);
    let identifiers: HashSet<String> = inputs
        .analyzed
        .identifiers
        .iter()
        .map(|identifier| identifier.rsplit(['.', ':']).next().unwrap_or(identifier).to_string())
        .collect();
    let has_vectors = inputs.chunk_lists.iter().any(|list| list.signal == Signal::Vector && !list.items.is_empty());
    let query_facts = [
        (inputs.query.len().max(1) as f64).log2(),
        inputs.analyzed.identifiers.len() as f64,
        inputs.analyzed.frames.len() as f64,
        if has_vectors { 1.0 } else { 0.0 },
        chosen.len() as f64,
    ];

    chosen
        .iter()
        .enumerate()
        .map(|(index, (file, score))| {
            let entry = snapshot.file_at(*file);
            let path = entry.record.path.as_str();
            let mut features = Vec::with_capacity(FILE_FEATURES.len());
            let score = f64::from(*score);
            features.push((index + 1) as f64);
            features.push(score);
            features.push(if top_score > 0.0 { score / top_score } else { 0.0 });
            let (content_rank, content_score) = content.get(file).copied().unwrap_or((ABSENT_RANK, 0.0));
            features.extend([content_rank, content_score]);
            for (facts, best) in &per_signal {
                match facts.get(file) {
                    Some(facts) => features.extend([
                        facts.rank,
                        facts.count,
                        facts.score,
                        if *best > 0.0 { facts.score / best } else { 0.0 },
                    ]),
                    None => features.extend([ABSENT_RANK, 0.0, 0.0, 0.0]),
                }
            }
            let (path_rank, path_score) = paths.get(file).copied().unwrap_or((ABSENT_RANK, 0.0));
            features.extend([path_rank, path_score, frames.get(file).map_or(ABSENT_RANK, |(rank, _)| *rank)]);

            let name = path.rsplit('/').next().unwrap_or(path);
            let stem = name.split('.').next().unwrap_or(name).to_ascii_lowercase();
            let dirs: Vec<String> = path.split('/').rev().skip(1).map(str::to_ascii_lowercase).collect();
            let parsed = &entry.parsed;
            let definitions = parsed.symbols.iter().filter(|symbol| symbol.kind.is_definition()).count();
            let defined = parsed.symbols.iter().filter(|symbol| identifiers.contains(&symbol.name)).count();
            features.extend([
                flag(is_auxiliary_path(path)),
                flag(is_test_path(path)),
                flag(is_reexport_module(parsed)),
                flag(matches!(stem.as_str(), "__init__" | "mod" | "index" | "lib" | "main")),
                (entry.record.size.max(1) as f64).log2(),
                parsed.chunks.len() as f64,
                definitions as f64,
                path.matches('/').count() as f64,
                flag(query_words.contains(&stem)),
                dirs.iter().filter(|dir| query_words.contains(*dir)).count() as f64,
                defined as f64,
            ]);
            features.extend(query_facts);
            debug_assert_eq!(features.len(), FILE_FEATURES.len());
            (*file, features)
        })
        .collect()
}

/// 1 for true, 0 for false: a feature value.
pub(crate) fn flag(value: bool) -> f64 {
    if value {
        1.0
    } else {
        0.0
    }
}

/// The lowercase words (runs of letters, digits and `_`) of a text.
fn words(text: &str) -> HashSet<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// What a learned ranker orders: files ([`Files`]) or definitions
/// ([`Functions`]). Fixes the feature names a model must have and the model
/// codectx ships for it.
pub trait RankUnit: Send + Sync + 'static {
    /// `file` or `function`, in messages.
    const NAME: &'static str;
    /// The feature names, in vector order.
    const FEATURES: &'static [&'static str];
    /// The shipped model's text (LightGBM text format).
    const SHIPPED_MODEL: &'static str;
    /// The shipped model's version, part of its id (and so of `codectx eval`'s cache key).
    const SHIPPED_VERSION: &'static str;
    /// The shipped model, parsed once.
    fn shipped_cell() -> &'static LazyLock<Result<Arc<Ranker<Self>>, ModelError>>
    where
        Self: Sized;
}

/// Candidate files, with [`FILE_FEATURES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Files;

/// Candidate definitions, with [`crate::definitions::FUNCTION_FEATURES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Functions;

/// Version of the shipped file ranker, part of its id (and so of `codectx eval`'s cache key).
pub const SHIPPED_VERSION: &str = "file-ranker-v2";

/// Version of the shipped function ranker.
pub const SHIPPED_FUNCTION_VERSION: &str = "function-ranker-v1";

impl RankUnit for Files {
    const NAME: &'static str = "file";
    const FEATURES: &'static [&'static str] = &FILE_FEATURES;
    const SHIPPED_MODEL: &'static str = include_str!("../../../training/ranker/file-ranker.txt");
    const SHIPPED_VERSION: &'static str = SHIPPED_VERSION;
    fn shipped_cell() -> &'static LazyLock<Result<Arc<Ranker<Self>>, ModelError>> {
        static CELL: LazyLock<Result<Arc<FileRanker>, ModelError>> = LazyLock::new(Ranker::parse_shipped);
        &CELL
    }
}

impl RankUnit for Functions {
    const NAME: &'static str = "function";
    const FEATURES: &'static [&'static str] = &crate::definitions::FUNCTION_FEATURES;
    const SHIPPED_MODEL: &'static str = include_str!("../../../training/ranker/function-ranker.txt");
    const SHIPPED_VERSION: &'static str = SHIPPED_FUNCTION_VERSION;
    fn shipped_cell() -> &'static LazyLock<Result<Arc<Ranker<Self>>, ModelError>> {
        static CELL: LazyLock<Result<Arc<FunctionRanker>, ModelError>> = LazyLock::new(Ranker::parse_shipped);
        &CELL
    }
}

/// A learned ranker: a LightGBM model over the features of its unit
/// ([`RankUnit::FEATURES`]). Its `Debug` shows the id and the number of trees,
/// not the trees.
pub struct Ranker<U: RankUnit> {
    /// Where it came from: `shipped:<version>` or the model file's path.
    pub id: String,
    forest: Forest,
    unit: std::marker::PhantomData<U>,
}

/// The learned file ranker ([`FILE_FEATURES`]; `training/ranker/file-ranker.txt`).
pub type FileRanker = Ranker<Files>;

/// The learned function ranker ([`crate::definitions::FUNCTION_FEATURES`];
/// `training/ranker/function-ranker.txt`).
pub type FunctionRanker = Ranker<Functions>;

impl<U: RankUnit> Clone for Ranker<U> {
    fn clone(&self) -> Self {
        Ranker { id: self.id.clone(), forest: self.forest.clone(), unit: std::marker::PhantomData }
    }
}

impl<U: RankUnit> PartialEq for Ranker<U> {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id && self.forest == other.forest
    }
}

impl<U: RankUnit> std::fmt::Debug for Ranker<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ranker")
            .field("unit", &U::NAME)
            .field("id", &self.id)
            .field("trees", &self.forest.len())
            .finish()
    }
}

impl<U: RankUnit> Ranker<U> {
    /// Reads a model from LightGBM's text format; `id` names it in logs and
    /// reports.
    ///
    /// Errors: [`ModelError`] for an unreadable model, or one trained on other
    /// features than the unit's [`RankUnit::FEATURES`] (their names must match, in order).
    pub fn parse(text: &str, id: impl Into<String>) -> Result<Ranker<U>, ModelError> {
        let forest = Forest::parse(text)?;
        if forest.feature_names() != U::FEATURES {
            return Err(ModelError(format!(
                "the model's {} features are not codectx's {} {} features (names and order must match)",
                forest.feature_names().len(),
                U::FEATURES.len(),
                U::NAME
            )));
        }
        Ok(Ranker { id: id.into(), forest, unit: std::marker::PhantomData })
    }

    fn parse_shipped() -> Result<Arc<Ranker<U>>, ModelError> {
        Ranker::parse(U::SHIPPED_MODEL, format!("shipped:{}", U::SHIPPED_VERSION)).map(Arc::new)
    }

    /// Reads a model file (LightGBM text format, from `training/train_ranker.py`).
    ///
    /// Errors: [`codectx_core::Error::Io`] if unreadable;
    /// [`codectx_core::Error::InvalidArgument`] naming the file and the problem if
    /// it is not a model over the unit's features.
    pub fn load(path: &Path) -> codectx_core::Result<Ranker<U>> {
        let text = std::fs::read_to_string(path).map_err(|error| codectx_core::Error::io(path, error))?;
        Ranker::parse(&text, path.display().to_string())
            .map_err(|error| codectx_core::Error::InvalidArgument(format!("{}: {error}", path.display())))
    }

    /// The text of the model codectx ships (LightGBM text format), e.g. to boost on
    /// top of it (`codectx train-ranker`).
    pub fn shipped_text() -> &'static str {
        U::SHIPPED_MODEL
    }

    /// The model codectx ships, parsed once.
    pub fn shipped() -> Arc<Ranker<U>> {
        match &**U::shipped_cell() {
            Ok(ranker) => ranker.clone(),
            // The shipped files are checked by unit tests; a broken one is a build defect.
            Err(error) => panic!("the shipped {} ranker does not load: {error}", U::NAME),
        }
    }

    /// The model's score of one feature vector (higher ranks first).
    pub fn score(&self, features: &[f64]) -> f64 {
        self.forest.predict(features)
    }
}

/// Puts the first candidates of `files` in the order of `ranker`'s scores of
/// `features` (which hold those candidates, in `files`' order); ties keep the
/// fused order. The reordered files take the fused scores in order.
///
/// One exception: when the fused first file is also the file of the stack
/// trace's innermost frame in the repository (`frame_file_rank` 1), the two
/// strongest pieces of evidence agree and it stays first. In the
/// repository-disjoint cross-validation this held the failing frame's file on
/// the 22 training queries with a stack trace (Acc@1 0.45 → 0.50) and changed
/// nothing else measurably (see `training/ranker/cv.json`).
pub(crate) fn rerank_files(files: &mut [(u32, f32)], features: &[(u32, Vec<f64>)], ranker: &FileRanker) {
    let count = features.len().min(files.len());
    if count < 2 {
        return;
    }
    let pinned = features[0].1.get(FRAME_FILE_RANK).is_some_and(|rank| *rank == 1.0);
    let mut scored: Vec<(usize, f64)> = features[..count]
        .iter()
        .enumerate()
        .map(|(index, (_, vector))| (index, if pinned && index == 0 { f64::INFINITY } else { ranker.score(vector) }))
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let original: Vec<(u32, f32)> = files[..count].to_vec();
    for (slot, (index, _)) in scored.into_iter().enumerate() {
        files[slot] = (original[index].0, original[slot].1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_file_rank_is_where_rerank_files_reads_it() {
        assert_eq!(FILE_FEATURES[FRAME_FILE_RANK], "frame_file_rank");
    }

    /// LightGBM's own raw scores of feature vectors from the training data,
    /// written by training/train_ranker.py next to each model, against ours.
    fn matches_lightgbm<U: RankUnit>(ranker: &Ranker<U>, check: &str) {
        assert!(!ranker.forest.is_empty());
        let check: serde_json::Value = serde_json::from_str(check).expect("JSON");
        let rows = check["rows"].as_array().expect("rows");
        assert!(rows.len() >= 100, "{} check rows", rows.len());
        for row in rows {
            let features: Vec<f64> =
                row["features"].as_array().expect("features").iter().map(|v| v.as_f64().expect("number")).collect();
            let expected = row["lightgbm"].as_f64().expect("prediction");
            let got = ranker.score(&features);
            assert!((got - expected).abs() < 1e-6, "{got} vs LightGBM {expected} for {features:?}");
        }
    }

    #[test]
    fn the_shipped_models_read_codectx_features_and_match_lightgbm() {
        matches_lightgbm(&FileRanker::shipped(), include_str!("../../../training/ranker/file-ranker.check.json"));
        matches_lightgbm(
            &FunctionRanker::shipped(),
            include_str!("../../../training/ranker/function-ranker.check.json"),
        );
    }

    #[test]
    fn a_model_over_other_features_is_refused() {
        let text = "tree\nmax_feature_idx=0\nfeature_names=x\n\nTree=0\nnum_leaves=1\nleaf_value=1\n\nend of trees\n";
        let error = FileRanker::parse(text, "t").unwrap_err();
        assert!(error.0.contains("not codectx's 44 file features"), "{error}");
        let error = FunctionRanker::parse(FileRanker::shipped_text(), "t").unwrap_err();
        assert!(error.0.contains("function features"), "{error}");
    }

    #[test]
    fn reranked_files_take_the_fused_scores_in_order_unless_the_first_is_the_failing_frames() {
        let text = format!(
            "tree\nmax_feature_idx={}\nfeature_names={}\n\nTree=0\nnum_leaves=2\nsplit_feature=0\nthreshold=1.5\n\
             decision_type=0\nleft_child=-1\nright_child=-2\nleaf_value=0 1\n\nend of trees\n",
            FILE_FEATURES.len() - 1,
            FILE_FEATURES.join(" ")
        );
        let ranker = FileRanker::parse(&text, "t").expect("model");
        // The model prefers fused_rank > 1.5: the first file drops below the others, which keep their order.
        let mut files = vec![(7, 0.9), (3, 0.5), (9, 0.2), (4, 0.1)];
        let features: Vec<(u32, Vec<f64>)> = files
            .iter()
            .take(3)
            .enumerate()
            .map(|(index, (file, _))| {
                let mut vector = vec![0.0; FILE_FEATURES.len()];
                vector[0] = (index + 1) as f64;
                (*file, vector)
            })
            .collect();
        let mut reranked = files.clone();
        rerank_files(&mut reranked, &features, &ranker);
        assert_eq!(reranked, vec![(3, 0.9), (9, 0.5), (7, 0.2), (4, 0.1)]);

        // The same, but the first file is also the innermost stack frame's: it stays first.
        let mut pinned = features.clone();
        pinned[0].1[FRAME_FILE_RANK] = 1.0;
        rerank_files(&mut files, &pinned, &ranker);
        assert_eq!(files, vec![(7, 0.9), (3, 0.5), (9, 0.2), (4, 0.1)]);
    }
}
