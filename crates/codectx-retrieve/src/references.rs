//! Definitions, references, callers and callees of a symbol.
//!
//! References are identifier uses recorded per chunk by the parser
//! (`@reference.*` captures); the line of each use is found in the chunk's text.
//! Callees are resolved like the dependency graph resolves references: a
//! definition in the same file or in a file the caller imports first, otherwise a
//! name with at most three definitions in the repository.

use std::collections::HashSet;

use codectx_core::{Error, ReferenceSite, References, Result, Symbol, SymbolInfo, SymbolKind};
use codectx_index::{IndexSnapshot, SymbolRef};

/// Most callers and callees returned.
const MAX_RELATED: usize = 100;
/// Definitions of one name beyond which an unqualified use is not resolved.
const MAX_DEFINITIONS: usize = 3;

/// The symbol information of a reference.
pub fn symbol_info(snapshot: &IndexSnapshot, reference: SymbolRef) -> SymbolInfo {
    let entry = snapshot.file_at(reference.file);
    let symbol: &Symbol = snapshot.symbol(reference);
    SymbolInfo {
        name: symbol.name.clone(),
        qualified_name: symbol.qualified_name.clone(),
        kind: symbol.kind,
        path: entry.record.path.clone(),
        span: symbol.span,
        signature: symbol.signature.clone(),
        doc: symbol.doc.clone().unwrap_or_default(),
        language: entry.record.language,
    }
}

/// Looks up `name` (bare `get` or qualified `Session.get`) and returns its
/// definitions, one page of its references (`page_size` 1..=1000; `page_token` is
/// empty for the first page, else the token a previous page returned), its callers
/// and its callees.
///
/// Errors: [`Error::InvalidArgument`] for an empty name, a page size out of range
/// or a malformed page token; [`Error::NotFound`] when the name is neither defined
/// nor used anywhere.
pub fn references(snapshot: &IndexSnapshot, name: &str, page_size: usize, page_token: &str) -> Result<References> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::InvalidArgument("the symbol name is empty".into()));
    }
    if !(1..=1000).contains(&page_size) {
        return Err(Error::InvalidArgument(format!("page size {page_size} is outside 1..=1000")));
    }
    let offset: usize = if page_token.is_empty() {
        0
    } else {
        page_token.parse().map_err(|_| Error::InvalidArgument(format!("malformed page token {page_token:?}")))?
    };
    let bare = name.rsplit(['.', ':']).next().unwrap_or(name);
    let mut definitions = snapshot.find_symbols(name);
    definitions.sort_by_key(|reference| (reference.file, reference.symbol));

    // Every use of the bare name, in path and line order.
    let mut sites = Vec::new();
    let mut callers = Vec::new();
    let mut seen_callers = HashSet::new();
    for &(file, ordinal) in snapshot.chunks_referencing(bare) {
        let entry = snapshot.file_at(file);
        let Some(chunk) = snapshot.chunk(file, ordinal) else { continue };
        let text = snapshot.chunk_text(file, ordinal)?;
        for (index, line) in text.lines().enumerate() {
            if contains_word(line, bare) {
                let trimmed: String = line.trim().chars().take(200).collect();
                sites.push(ReferenceSite {
                    path: entry.record.path.clone(),
                    line: chunk.span.start_line + index as u32,
                    enclosing: chunk.symbol_path.clone(),
                    text: trimmed,
                });
            }
        }
        if let Some(symbol) = chunk.symbol {
            let caller = SymbolRef { file, symbol };
            if !definitions.contains(&caller) && seen_callers.insert(caller) && callers.len() < MAX_RELATED {
                callers.push(symbol_info(snapshot, caller));
            }
        }
    }
    if definitions.is_empty() && sites.is_empty() {
        return Err(Error::NotFound(format!("no symbol named {name}")));
    }
    let total = sites.len();
    let page: Vec<ReferenceSite> = sites.into_iter().skip(offset).take(page_size).collect();
    let next = offset + page.len();
    let next_page_token = if next < total { next.to_string() } else { String::new() };

    let callees = callees_of(snapshot, &definitions);
    Ok(References {
        definitions: definitions.iter().take(MAX_RELATED).map(|&reference| symbol_info(snapshot, reference)).collect(),
        references: page,
        total_references: total as u32,
        next_page_token,
        callers,
        callees,
    })
}

/// The definitions a use of `name` in file `from` most likely means: those in
/// `from` itself or in the files it imports (`imported`: their paths) when there
/// are any; otherwise every definition of the name if it has at most
/// [`MAX_DEFINITIONS`]; otherwise none (too ambiguous without import context).
/// Variables and `impl` blocks are not call targets and are left out.
pub fn resolve_reference(snapshot: &IndexSnapshot, from: u32, imported: &HashSet<&str>, name: &str) -> Vec<SymbolRef> {
    let candidates: Vec<SymbolRef> = snapshot
        .symbols_named(name)
        .iter()
        .copied()
        .filter(|reference| {
            let symbol = snapshot.symbol(*reference);
            symbol.name == name && !matches!(symbol.kind, SymbolKind::Variable | SymbolKind::Impl)
        })
        .collect();
    let in_context: Vec<SymbolRef> = candidates
        .iter()
        .copied()
        .filter(|reference| {
            reference.file == from || imported.contains(snapshot.file_at(reference.file).record.path.as_str())
        })
        .collect();
    if !in_context.is_empty() {
        in_context
    } else if candidates.len() <= MAX_DEFINITIONS {
        candidates
    } else {
        Vec::new()
    }
}

/// What the definitions' chunks reference, resolved to definitions.
fn callees_of(snapshot: &IndexSnapshot, definitions: &[SymbolRef]) -> Vec<SymbolInfo> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for definition in definitions {
        let entry = snapshot.file_at(definition.file);
        let imported: HashSet<&str> =
            entry.parsed.imports.iter().filter_map(|import| import.resolved.as_deref()).collect();
        let span = snapshot.symbol(*definition).span;
        let chunks = entry
            .parsed
            .chunks
            .iter()
            .filter(|chunk| chunk.span.start_byte < span.end_byte && span.start_byte < chunk.span.end_byte);
        for chunk in chunks {
            for name in &chunk.references {
                let chosen = resolve_reference(snapshot, definition.file, &imported, name);
                for reference in chosen {
                    if reference != *definition && seen.insert(reference) && out.len() < MAX_RELATED {
                        out.push(symbol_info(snapshot, reference));
                    }
                }
            }
        }
    }
    out
}

/// Whether `line` contains `word` delimited by non-identifier characters.
fn contains_word(line: &str, word: &str) -> bool {
    let is_identifier = |c: char| c.is_alphanumeric() || c == '_';
    line.match_indices(word).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + word.len()..].chars().next();
        !before.is_some_and(is_identifier) && !after.is_some_and(is_identifier)
    })
}

#[cfg(test)]
mod tests {
    use super::contains_word;

    #[test]
    fn matches_whole_words_only() {
        assert!(contains_word("x = join_location(a)", "join_location"));
        assert!(!contains_word("x = join_locations(a)", "join_location"));
        assert!(!contains_word("rejoin_location()", "join_location"));
    }
}
