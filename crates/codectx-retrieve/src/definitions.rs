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
//! A definition's score is its best chunk's score plus a share of its file's
//! score ([`RetrieveOptions::definition_file_prior`]): the file-then-function
//! order of hierarchical localization (Agentless; SweRank), softened so that a
//! strong chunk of the second file can still come before a weak one of the first.

use std::collections::{HashMap, HashSet};

use codectx_core::{ChunkKind, ParsedFile};
use codectx_index::IndexSnapshot;

use crate::signals::{Ranking, RetrieveOptions};

/// A definition a ranking points at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankedDefinition {
    /// Index into [`IndexSnapshot::files`].
    pub file: u32,
    /// Index into that file's symbols; `None` for the file's module-level code
    /// (imports, module constants, top-level statements).
    pub symbol: Option<u32>,
    /// Score of the best chunk that stands for it (the ranking's fused score,
    /// which holds `file_prior` × the file's score), moved to
    /// `definition_file_prior` × the file's score.
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

/// The definitions of `ranking`'s chunks, distinct, best first (ties: the order
/// of their chunks). Each chunk contributes its own unit ([`definition_unit`]);
/// a whole class or impl in one chunk also contributes its members' units.
/// `options` must be the ones `ranking` was made with.
pub fn ranked_definitions(
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
        let score = ranked.score + shift * file_scores.get(&file).copied().unwrap_or(0.0);
        for symbol in units {
            if seen.insert((file, symbol)) {
                out.push(RankedDefinition { file, symbol, score });
            }
        }
    }
    // Stable: equal scores keep the chunk order.
    out.sort_by(|a, b| b.score.total_cmp(&a.score));
    out
}
