//! Function-level localization: the definitions a ranking points at, best first.
//!
//! Chunks are the unit of ranking, but a reader (and the localization literature:
//! SweRank, LocAgent, Agentless) asks "which functions?". A ranked chunk stands for
//! the definition it belongs to: a method chunk for its method, a class header for
//! its class, a window of a long function for that function, a nested helper for
//! the function around it, module-level code for the file's module level; and a
//! small class kept whole in one chunk for the class and each of its methods.
//! Variables, constants and fields are not definitions in this sense: they stand
//! for what encloses them.
//!
//! Two stages, as the file ranking has:
//!
//! 1. The fused order: a definition's score is its best chunk's score plus a
//!    share of its file's score ([`RetrieveOptions::definition_file_prior`]):
//!    the file-then-function order of hierarchical localization (Agentless;
//!    SweRank), softened so that a strong chunk of the second file can still
//!    come before a weak one of the first. Only definitions that a ranked chunk
//!    stands for appear.
//! 2. With a learned function ranker ([`RetrieveOptions::function_ranker`]),
//!    every definition of the first [`RetrieveOptions::function_files`] files is
//!    a candidate too, ranked or not, and the candidates are put in the order of
//!    a LambdaMART model over [`FUNCTION_FEATURES`] (trained like the file
//!    ranker by `training/train_ranker.py --unit function`). On the dev set the
//!    fused order missed 39 gold functions whose file was among the first five
//!    because none of their chunks was ranked at all; the ranker lists 109 of
//!    the 131 gold functions instead of 70 and raises function Acc@5 0.276 →
//!    0.316, but not Acc@10 (0.398 → 0.378), and its features cost about 210 ms
//!    per query in the dev profile, so it is off by default (docs/evaluation.md).

use std::collections::{HashMap, HashSet};

use codectx_core::{is_auxiliary_path, Chunk, ChunkKind, ParsedFile, SymbolKind};
use codectx_index::IndexSnapshot;

use crate::rerank::{flag, ABSENT_RANK, CHUNK_SIGNALS};
use crate::signals::{ChunkRef, Ranking, RetrieveOptions};

/// A definition a ranking points at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankedDefinition {
    /// Index into [`IndexSnapshot::files`].
    pub file: u32,
    /// Index into that file's symbols; `None` for the file's module-level code
    /// (imports, module constants, top-level statements).
    pub symbol: Option<u32>,
    /// In the fused order: the score of the best chunk that stands for it (the
    /// ranking's fused score, which holds `file_prior` × the file's score), moved
    /// to `definition_file_prior` × the file's score. Put in order by the learned
    /// ranker: the model's score. The list's order is the ranking; scores of the
    /// two stages are not comparable.
    pub score: f32,
}

/// The localization unit of a symbol: itself when it is a definition that no
/// function encloses; the outermost enclosing function for a nested one; the
/// nearest enclosing definition for a variable or field; `None` (module level)
/// when nothing encloses a non-definition.
pub fn definition_unit(parsed: &ParsedFile, symbol: u32) -> Option<u32> {
    let mut current = Some(symbol);
    let mut unit = None;
    while let Some(index) = current {
        let found = &parsed.symbols[index as usize];
        if found.kind.is_definition() && unit.is_none() {
            unit = Some(index);
        } else if found.kind.is_callable() {
            unit = Some(index); // a function around a nested definition owns it
        }
        current = found.parent;
    }
    unit
}

/// The definitions a ranking points at, distinct, best first: with a learned
/// function ranker ([`RetrieveOptions::function_ranker`]) in its order (see the
/// module doc), followed by the rest of the fused order; without one, the fused
/// order ([`fused_definitions`]). `options` must be the ones `ranking` was made
/// with.
pub fn ranked_definitions(
    snapshot: &IndexSnapshot,
    ranking: &Ranking,
    options: &RetrieveOptions,
) -> Vec<RankedDefinition> {
    let fused = fused_definitions(snapshot, ranking, options);
    let Some(ranker) = options.function_ranker.as_deref().filter(|_| options.function_files > 0) else {
        return fused;
    };
    let candidates = definition_features(snapshot, ranking, options, &fused);
    let mut scored: Vec<(usize, f64)> =
        candidates.iter().enumerate().map(|(index, (_, features))| (index, ranker.score(features))).collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let chosen: HashSet<(u32, Option<u32>)> =
        candidates.iter().map(|(definition, _)| (definition.file, definition.symbol)).collect();
    let mut out: Vec<RankedDefinition> = scored
        .into_iter()
        .map(|(index, score)| RankedDefinition { score: score as f32, ..candidates[index].0 })
        .collect();
    out.extend(fused.into_iter().filter(|definition| !chosen.contains(&(definition.file, definition.symbol))));
    out
}

/// The units a chunk stands for: its own ([`definition_unit`]), and for a whole
/// class or impl in one chunk also its members' units.
fn chunk_units(parsed: &ParsedFile, chunk: &Chunk) -> Vec<Option<u32>> {
    let unit = chunk.symbol.and_then(|symbol| definition_unit(parsed, symbol));
    let mut units = vec![unit];
    if let (Some(container), ChunkKind::Definition) = (unit, chunk.kind) {
        if parsed.symbols[container as usize].kind.is_container() {
            units.extend(
                parsed
                    .symbols
                    .iter()
                    .enumerate()
                    .filter(|(_, symbol)| {
                        symbol.name_span.start_byte >= chunk.span.start_byte
                            && symbol.name_span.start_byte < chunk.span.end_byte
                    })
                    .filter_map(|(index, _)| definition_unit(parsed, index as u32))
                    .filter(|member| *member != container)
                    .map(Some),
            );
        }
    }
    units
}

/// Ordinals of the chunks of `parsed` that stand for `unit` ([`chunk_units`]),
/// in source order: a long function's windows, a method's chunk, a small
/// class's one chunk; for `None`, the module-level chunks.
pub fn definition_chunks(parsed: &ParsedFile, unit: Option<u32>) -> Vec<u32> {
    parsed
        .chunks
        .iter()
        .enumerate()
        .filter(|(_, chunk)| chunk_units(parsed, chunk).contains(&unit))
        .map(|(ordinal, _)| ordinal as u32)
        .collect()
}

/// The fused order of definitions (stage 1 of the module doc): the definitions
/// of `ranking`'s chunks, distinct, best first (ties: the order of their
/// chunks). Each chunk contributes the units of [`chunk_units`].
pub fn fused_definitions(
    snapshot: &IndexSnapshot,
    ranking: &Ranking,
    options: &RetrieveOptions,
) -> Vec<RankedDefinition> {
    let file_scores: HashMap<u32, f32> = ranking.files.iter().copied().collect();
    let shift = options.definition_file_prior - options.file_prior;
    let mut seen: HashSet<(u32, Option<u32>)> = HashSet::new();
    let mut out = Vec::new();
    for ranked in &ranking.chunks {
        let Some(chunk) = snapshot.chunk(ranked.chunk.file, ranked.chunk.ordinal) else { continue };
        let file = ranked.chunk.file;
        let parsed = &snapshot.file_at(file).parsed;
        let score = ranked.score + shift * file_scores.get(&file).copied().unwrap_or(0.0);
        for symbol in chunk_units(parsed, chunk) {
            if seen.insert((file, symbol)) {
                out.push(RankedDefinition { file, symbol, score });
            }
        }
    }
    // Stable: equal scores keep the chunk order.
    out.sort_by(|a, b| b.score.total_cmp(&a.score));
    out
}

/// Files whose every definition is a candidate of the learned function ranker
/// (default of [`RetrieveOptions::function_files`]).
pub const DEFAULT_FUNCTION_FILES: usize = 10;

/// Most candidates the function ranker scores per query: the first files'
/// definitions, then the fused order's.
pub const MAX_FUNCTION_CANDIDATES: usize = 800;

/// BM25 hits the function features read ([`Ranking::bm25_hits`]): deeper than
/// the fusion's list, so that a definition of a top file whose chunks no
/// first-stage list holds still has its BM25 rank.
pub const BM25_DEPTH: usize = 2000;

/// Names of the function features, in vector order. Ranks are 1-based (absent:
/// 1000). "Chunks" are the chunks that stand for the definition
/// ([`chunk_units`]); "terms" are the query's BM25 terms ([`Ranking::terms`]),
/// weighted by their query weight × inverse document frequency.
pub const FUNCTION_FEATURES: [&str; 42] = [
    // Its file in the file ranking.
    "file_rank",
    "file_score_ratio",
    "file_definitions",
    "file_is_auxiliary",
    // Its chunks in the chunk ranking, and its place in the fused order.
    "chunk_rank",
    "chunk_score_ratio",
    "ranked_chunks",
    "rank_in_file",
    "fused_rank",
    "bm25_rank",
    "symbol_rank",
    "stack_rank",
    "message_rank",
    "vector_rank",
    // Its chunks in the BM25 list to BM25_DEPTH: best rank, best score / the
    // list's best, chunks in it, and its place among its file's definitions by
    // their best BM25 rank.
    "bm25_deep_rank",
    "bm25_deep_score_ratio",
    "bm25_deep_chunks",
    "bm25_rank_in_file",
    // Its names, signature, doc and referenced identifiers against the query.
    "term_coverage",
    "term_score",
    "terms_matched",
    "name_is_term",
    "name_is_identifier",
    "name_token_coverage",
    "parent_in_query",
    "qualified_in_query",
    "frame_function",
    "identifiers_referenced",
    // The definition.
    "is_module_level",
    "is_callable",
    "is_container",
    "is_method",
    "log2_lines",
    "chunks",
    "relative_position",
    "is_private",
    "is_special",
    "is_test_name",
    // The query.
    "query_identifiers",
    "query_frames",
    "query_terms",
    "candidates",
];

/// What a ranked list of chunks says of one definition: the best (1-based)
/// rank and score of its chunks, how many of its chunks the list holds, and its
/// place among its file's definitions in the list's order.
#[derive(Clone, Copy)]
struct ListFacts {
    rank: f64,
    score: f64,
    count: f64,
    rank_in_file: f64,
}

/// [`ListFacts`] of every definition that a chunk of `list` (best first) stands
/// for; `units_of` gives a chunk's units (`None`: not a candidate file's).
fn per_unit<'a>(
    list: impl Iterator<Item = (ChunkRef, f32)>,
    units_of: &impl Fn(&ChunkRef) -> Option<&'a Vec<Option<u32>>>,
) -> HashMap<(u32, Option<u32>), ListFacts> {
    let mut facts: HashMap<(u32, Option<u32>), ListFacts> = HashMap::new();
    let mut per_file: HashMap<u32, f64> = HashMap::new();
    for (index, (chunk, score)) in list.enumerate() {
        let Some(units) = units_of(&chunk) else { continue };
        for unit in units {
            let entry = facts.entry((chunk.file, *unit)).or_insert_with(|| {
                let place = per_file.entry(chunk.file).or_insert(0.0);
                *place += 1.0;
                ListFacts { rank: (index + 1) as f64, score: f64::from(score), count: 0.0, rank_in_file: *place }
            });
            entry.count += 1.0;
        }
    }
    facts
}

/// The learned function ranker's candidates for `ranking` and their feature
/// vectors ([`FUNCTION_FEATURES`]), in candidate order: every definition of the
/// first [`RetrieveOptions::function_files`] files (module level first, then in
/// source order), then the rest of `fused` (the fused order), at most
/// [`MAX_FUNCTION_CANDIDATES`] in all. Each candidate's `score` is its fused
/// score (0 for one no ranked chunk stands for). `codectx eval --dump-features`
/// writes these vectors, so the model learns from what serving computes.
pub fn definition_features(
    snapshot: &IndexSnapshot,
    ranking: &Ranking,
    options: &RetrieveOptions,
    fused: &[RankedDefinition],
) -> Vec<(RankedDefinition, Vec<f64>)> {
    type Key = (u32, Option<u32>);
    let fused_rank: HashMap<Key, (usize, f32)> = fused
        .iter()
        .enumerate()
        .map(|(index, definition)| ((definition.file, definition.symbol), (index + 1, definition.score)))
        .collect();
    let file_rank: HashMap<u32, (usize, f32)> =
        ranking.files.iter().enumerate().map(|(index, (file, score))| (*file, (index + 1, *score))).collect();
    let top_file_score = ranking.files.first().map_or(0.0, |(_, score)| f64::from(*score));

    // Candidates.
    let mut candidates: Vec<Key> = Vec::new();
    let mut seen: HashSet<Key> = HashSet::new();
    for (file, _) in ranking.files.iter().take(options.function_files) {
        let parsed = &snapshot.file_at(*file).parsed;
        let units =
            std::iter::once(None).chain((0..parsed.symbols.len() as u32).map(|symbol| definition_unit(parsed, symbol)));
        for unit in units {
            if candidates.len() < MAX_FUNCTION_CANDIDATES && seen.insert((*file, unit)) {
                candidates.push((*file, unit));
            }
        }
    }
    for definition in fused {
        let key = (definition.file, definition.symbol);
        if candidates.len() < MAX_FUNCTION_CANDIDATES && seen.insert(key) {
            candidates.push(key);
        }
    }
    let files: HashSet<u32> = candidates.iter().map(|(file, _)| *file).collect();

    // Each chunk's units, once per candidate file.
    let units: HashMap<u32, Vec<Vec<Option<u32>>>> = files
        .iter()
        .map(|file| {
            let parsed = &snapshot.file_at(*file).parsed;
            (*file, parsed.chunks.iter().map(|chunk| chunk_units(parsed, chunk)).collect())
        })
        .collect();
    let units_of =
        |chunk: &ChunkRef| units.get(&chunk.file).and_then(|per_chunk| per_chunk.get(chunk.ordinal as usize));

    // The chunk ranking, per definition of a candidate file, with the signal ranks.
    let top_chunk_score = ranking.chunks.first().map_or(0.0, |chunk| f64::from(chunk.score));
    let chunk_list = per_unit(ranking.chunks.iter().map(|ranked| (ranked.chunk, ranked.score)), &units_of);
    let mut signal_ranks: HashMap<Key, [f64; 5]> = HashMap::new();
    for ranked in &ranking.chunks {
        let Some(chunk_units) = units_of(&ranked.chunk) else { continue };
        for hit in &ranked.signals {
            let Some(slot) = CHUNK_SIGNALS.iter().position(|signal| *signal == hit.signal) else { continue };
            for unit in chunk_units {
                let ranks = signal_ranks.entry((ranked.chunk.file, *unit)).or_insert([ABSENT_RANK; 5]);
                ranks[slot] = ranks[slot].min(f64::from(hit.rank));
            }
        }
    }
    // The deep BM25 list, per definition of a candidate file.
    let bm25_top = ranking.bm25_hits.first().map_or(0.0, |(_, score)| f64::from(*score));
    let deep = per_unit(ranking.bm25_hits.iter().copied(), &units_of);

    // The query's terms, weighted by query weight × IDF, as bits of a mask.
    // (The IDF as `bm25_terms` computes it, in f64: the features the model learned from.)
    let total = snapshot.text().num_chunks().max(1) as f64;
    let terms: Vec<(String, f64)> = ranking
        .terms
        .iter()
        .take(64)
        .map(|(term, weight)| {
            let frequency = snapshot.text().doc_freq(term) as f64;
            (term.clone(), f64::from(*weight) * ((total - frequency + 0.5) / (frequency + 0.5) + 1.0).ln())
        })
        .collect();
    let term_bits: HashMap<&str, u64> =
        terms.iter().enumerate().map(|(index, (term, _))| (term.as_str(), 1u64 << index)).collect();
    let term_total: f64 = terms.iter().map(|(_, weight)| weight).sum();
    let mut token_masks: HashMap<String, u64> = HashMap::new();
    let mut mask_of = |text: &str| -> u64 {
        if let Some(mask) = token_masks.get(text) {
            return *mask;
        }
        let mask = codectx_text::code_tokens(text)
            .iter()
            .filter_map(|token| term_bits.get(token.as_str()))
            .fold(0, |mask, bit| mask | bit);
        token_masks.insert(text.to_string(), mask);
        mask
    };
    let identifiers: HashSet<&str> = ranking
        .query
        .identifiers
        .iter()
        .map(|identifier| identifier.rsplit(['.', ':']).next().unwrap_or(identifier))
        .collect();
    let qualified: HashSet<(&str, &str)> = ranking
        .query
        .identifiers
        .iter()
        .filter_map(|identifier| {
            let mut parts = identifier.rsplit(['.', ':']).filter(|part| !part.is_empty());
            let name = parts.next()?;
            Some((parts.next()?, name))
        })
        .collect();
    let frame_functions: HashSet<&str> = ranking
        .query
        .frames
        .iter()
        .filter_map(|frame| frame.function.as_deref())
        .map(|function| function.rsplit(['.', ':']).next().unwrap_or(function))
        .collect();
    let lowercase_terms: HashSet<&str> = terms.iter().map(|(term, _)| term.as_str()).collect();
    let query_facts = [
        ranking.query.identifiers.len() as f64,
        ranking.query.frames.len() as f64,
        terms.len() as f64,
        candidates.len() as f64,
    ];

    // Per candidate file: each unit's chunks, term mask and referenced identifiers.
    struct UnitText {
        chunks: f64,
        lines: f64,
        mask: u64,
        referenced: HashSet<String>,
    }
    let mut unit_texts: HashMap<Key, UnitText> = HashMap::new();
    for file in &files {
        let parsed = &snapshot.file_at(*file).parsed;
        for (chunk, chunk_units) in parsed.chunks.iter().zip(&units[file]) {
            for unit in chunk_units.iter().copied() {
                let text = unit_texts.entry((*file, unit)).or_insert_with(|| UnitText {
                    chunks: 0.0,
                    lines: 0.0,
                    mask: 0,
                    referenced: HashSet::new(),
                });
                text.chunks += 1.0;
                text.lines += f64::from(chunk.span.line_count());
                for reference in &chunk.references {
                    text.mask |= mask_of(reference);
                    if identifiers.contains(reference.as_str()) {
                        text.referenced.insert(reference.clone());
                    }
                }
            }
        }
        for (index, symbol) in parsed.symbols.iter().enumerate() {
            let unit = definition_unit(parsed, index as u32);
            let mut mask = mask_of(&symbol.name);
            if unit == Some(index as u32) {
                mask |= mask_of(&symbol.signature);
                if let Some(doc) = &symbol.doc {
                    mask |= mask_of(doc);
                }
            }
            if let Some(text) = unit_texts.get_mut(&(*file, unit)) {
                text.mask |= mask;
            }
        }
    }

    candidates
        .into_iter()
        .map(|key @ (file, unit)| {
            let entry = snapshot.file_at(file);
            let parsed = &entry.parsed;
            let mut features = Vec::with_capacity(FUNCTION_FEATURES.len());
            let (rank, score) = file_rank.get(&file).map_or((ABSENT_RANK, 0.0), |(rank, score)| {
                (*rank as f64, if top_file_score > 0.0 { f64::from(*score) / top_file_score } else { 0.0 })
            });
            let definitions = parsed.symbols.iter().filter(|symbol| symbol.kind.is_definition()).count();
            features.extend([rank, score, definitions as f64, flag(is_auxiliary_path(&entry.record.path))]);

            let ratio = |score: f64, top: f64| if top > 0.0 { score / top } else { 0.0 };
            let (fused_at, fused_score) = fused_rank.get(&key).copied().unwrap_or((0, 0.0));
            match chunk_list.get(&key) {
                Some(facts) => {
                    features.extend([facts.rank, ratio(facts.score, top_chunk_score), facts.count, facts.rank_in_file])
                }
                None => features.extend([ABSENT_RANK, 0.0, 0.0, ABSENT_RANK]),
            }
            features.push(if fused_at == 0 { ABSENT_RANK } else { fused_at as f64 });
            features.extend(signal_ranks.get(&key).copied().unwrap_or([ABSENT_RANK; 5]));
            match deep.get(&key) {
                Some(facts) => {
                    features.extend([facts.rank, ratio(facts.score, bm25_top), facts.count, facts.rank_in_file])
                }
                None => features.extend([ABSENT_RANK, 0.0, 0.0, ABSENT_RANK]),
            }

            let text = unit_texts.get(&key);
            let mask = text.map_or(0, |text| text.mask);
            let matched: f64 =
                terms.iter().enumerate().filter(|(index, _)| mask & (1 << index) != 0).map(|(_, (_, w))| w).sum();
            let symbol = unit.map(|index| &parsed.symbols[index as usize]);
            let name = symbol.map_or("", |symbol| symbol.name.as_str());
            let lowercase = name.to_lowercase();
            let name_tokens: Vec<String> = codectx_text::code_tokens(name);
            let parts: Vec<&String> =
                if name_tokens.len() > 1 { name_tokens[1..].iter().collect() } else { name_tokens.iter().collect() };
            let covered = parts.iter().filter(|token| lowercase_terms.contains(token.as_str())).count();
            let parent = symbol
                .and_then(|symbol| symbol.parent)
                .map(|parent| parsed.symbols[parent as usize].name.as_str())
                .unwrap_or("");
            features.extend([
                if term_total > 0.0 { matched / term_total } else { 0.0 },
                matched,
                f64::from(mask.count_ones()),
                flag(!name.is_empty() && lowercase_terms.contains(lowercase.as_str())),
                flag(!name.is_empty() && identifiers.contains(name)),
                if parts.is_empty() { 0.0 } else { covered as f64 / parts.len() as f64 },
                flag(
                    !parent.is_empty()
                        && (identifiers.contains(parent) || lowercase_terms.contains(parent.to_lowercase().as_str())),
                ),
                flag(!name.is_empty() && qualified.contains(&(parent, name))),
                flag(!name.is_empty() && frame_functions.contains(name)),
                text.map_or(0.0, |text| text.referenced.len() as f64),
            ]);

            let kind = symbol.map(|symbol| symbol.kind);
            let start = symbol.map_or(0, |symbol| symbol.span.start_byte);
            features.extend([
                flag(unit.is_none()),
                flag(kind.is_some_and(SymbolKind::is_callable)),
                flag(kind.is_some_and(SymbolKind::is_container)),
                flag(kind == Some(SymbolKind::Method)),
                text.map_or(0.0, |text| text.lines).max(1.0).log2(),
                text.map_or(0.0, |text| text.chunks),
                f64::from(start) / (entry.record.size.max(1) as f64),
                flag(name.starts_with('_') && !name.starts_with("__")),
                flag(name.starts_with("__") && name.ends_with("__")),
                flag(lowercase.starts_with("test") || name.ends_with("Test")),
            ]);
            features.extend(query_facts);
            debug_assert_eq!(features.len(), FUNCTION_FEATURES.len());
            let definition = RankedDefinition { file, symbol: unit, score: fused_score };
            (definition, features)
        })
        .collect()
}
