//! Definitions, references, callers and callees of a symbol.
//!
//! References are identifier uses recorded per chunk by the parser
//! (`@reference.*` captures); the line of each use is found in the chunk's text.
//! Callees are resolved like the dependency graph resolves references: a
//! definition in the same file or in a file the caller imports first, otherwise a
//! name with at most three definitions in the repository.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use codectx_core::{
    quote, Error, FieldKind, GraphDirection, ReferenceSite, References, Result, Symbol, SymbolEdgeKind, SymbolGraph,
    SymbolGraphEdge, SymbolGraphNode, SymbolGraphRequest, SymbolInfo, SymbolKind,
};
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
    codectx_core::validate_symbol_name(name)?;
    codectx_core::validate_field(FieldKind::Name, "page token", page_token)?;
    let name = name.trim();
    if !(1..=1000).contains(&page_size) {
        return Err(Error::InvalidArgument(format!("page size {page_size} is outside 1..=1000")));
    }
    let offset: usize = if page_token.is_empty() {
        0
    } else {
        page_token
            .parse()
            .map_err(|_| Error::InvalidArgument(format!("malformed page token \"{}\"", quote(page_token))))?
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
        return Err(Error::NotFound(format!("no symbol named {}", quote(name))));
    }
    let total = sites.len();
    let page: Vec<ReferenceSite> = sites.into_iter().skip(offset).take(page_size).collect();
    let next = offset + page.len();
    let next_page_token = if next < total { next.to_string() } else { String::new() };

    let callees = callees_of(snapshot, &definitions, MAX_RELATED)
        .into_iter()
        .map(|reference| symbol_info(snapshot, reference))
        .collect();
    Ok(References {
        definitions: definitions.iter().take(MAX_RELATED).map(|&reference| symbol_info(snapshot, reference)).collect(),
        references: page,
        total_references: total as u32,
        next_page_token,
        callers,
        callees,
    })
}

/// The paths a file's imports resolve to, the import context of
/// [`resolve_reference`].
pub fn imported_paths(entry: &codectx_index::FileEntry) -> HashSet<&str> {
    entry.parsed.imports.iter().filter_map(|import| import.resolved.as_deref()).collect()
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

/// What the definitions' chunks reference, resolved to definitions (at most `cap`).
fn callees_of(snapshot: &IndexSnapshot, definitions: &[SymbolRef], cap: usize) -> Vec<SymbolRef> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for definition in definitions {
        let entry = snapshot.file_at(definition.file);
        let imported = imported_paths(entry);
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
                    if reference != *definition && seen.insert(reference) && out.len() < cap {
                        out.push(reference);
                    }
                }
            }
        }
    }
    out
}

/// The definitions whose bodies use `target`: chunks that reference its bare name
/// and whose use resolves (with their file's imports) to `target`, as their
/// enclosing definition. At most `cap`.
fn callers_of(snapshot: &IndexSnapshot, target: SymbolRef, cap: usize) -> Vec<SymbolRef> {
    let name = snapshot.symbol(target).name.as_str();
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    // The name resolves the same way in every chunk of a file.
    let mut resolves_here: HashMap<u32, bool> = HashMap::new();
    for &(file, ordinal) in snapshot.chunks_referencing(name) {
        let Some(chunk) = snapshot.chunk(file, ordinal) else { continue };
        let Some(symbol) = chunk.symbol else { continue };
        let caller = SymbolRef { file, symbol };
        if caller == target || seen.contains(&caller) {
            continue;
        }
        let resolves = *resolves_here.entry(file).or_insert_with(|| {
            resolve_reference(snapshot, file, &imported_paths(snapshot.file_at(file)), name).contains(&target)
        });
        if resolves {
            seen.insert(caller);
            out.push(caller);
            if out.len() >= cap {
                break;
            }
        }
    }
    out
}

/// The call and containment graph around the definitions of `request.name`: a
/// breadth-first walk of at most `request.depth` hops along resolved uses (callers,
/// callees or both), capped at `request.max_nodes` nodes; then the containment
/// edges (class → method) between the nodes found.
///
/// Errors: [`Error::InvalidArgument`] for an empty name, a depth outside
/// 1..=3 or a node cap outside 1..=500; [`Error::NotFound`] when nothing defines the name.
pub fn symbol_graph(snapshot: &IndexSnapshot, request: &SymbolGraphRequest) -> Result<SymbolGraph> {
    request.validate()?;
    let name = request.name.trim();
    let mut roots = snapshot.find_symbols(name);
    roots.sort_by_key(|reference| (reference.file, reference.symbol));
    if roots.is_empty() {
        return Err(Error::NotFound(format!("no definition named {}", quote(name))));
    }

    let mut walk = Walk { ids: HashMap::new(), order: Vec::new(), queue: VecDeque::new(), truncated: false };
    let mut edges: BTreeSet<(u32, u32, SymbolEdgeKind)> = BTreeSet::new();
    for root in roots {
        walk.add(root, 0, request.max_nodes);
    }
    let callers = matches!(request.direction, GraphDirection::Both | GraphDirection::Callers);
    let callees = matches!(request.direction, GraphDirection::Both | GraphDirection::Callees);
    while let Some((node, depth)) = walk.queue.pop_front() {
        if depth >= request.depth {
            continue;
        }
        let from = walk.ids[&node];
        if callees {
            for callee in callees_of(snapshot, &[node], MAX_RELATED) {
                if let Some(to) = walk.add(callee, depth + 1, request.max_nodes) {
                    edges.insert((from, to, SymbolEdgeKind::Calls));
                }
            }
        }
        if callers {
            for caller in callers_of(snapshot, node, MAX_RELATED) {
                if let Some(id) = walk.add(caller, depth + 1, request.max_nodes) {
                    edges.insert((id, from, SymbolEdgeKind::Calls));
                }
            }
        }
    }
    let Walk { ids: index, order, truncated, .. } = walk;
    // Containment between the nodes found.
    for (id, (reference, _)) in order.iter().enumerate() {
        if let Some(parent) = snapshot.symbol(*reference).parent {
            if let Some(&parent_id) = index.get(&SymbolRef { file: reference.file, symbol: parent }) {
                edges.insert((parent_id, id as u32, SymbolEdgeKind::Contains));
            }
        }
    }
    Ok(SymbolGraph {
        nodes: order
            .iter()
            .enumerate()
            .map(|(id, (reference, depth))| SymbolGraphNode {
                id: id as u32,
                symbol: symbol_info(snapshot, *reference),
                depth: *depth,
            })
            .collect(),
        edges: edges.into_iter().map(|(from, to, kind)| SymbolGraphEdge { from, to, kind }).collect(),
        truncated,
    })
}

/// The state of a breadth-first walk: node ids, nodes in order with their depth,
/// the frontier, and whether the node cap was hit.
struct Walk {
    ids: HashMap<SymbolRef, u32>,
    order: Vec<(SymbolRef, u32)>,
    queue: VecDeque<(SymbolRef, u32)>,
    truncated: bool,
}

impl Walk {
    /// The id of `reference`, added at `depth` (and queued) when new and the cap
    /// allows; `None` when the cap stopped it.
    fn add(&mut self, reference: SymbolRef, depth: u32, cap: usize) -> Option<u32> {
        if let Some(&id) = self.ids.get(&reference) {
            return Some(id);
        }
        if self.order.len() >= cap {
            self.truncated = true;
            return None;
        }
        let id = self.order.len() as u32;
        self.ids.insert(reference, id);
        self.order.push((reference, depth));
        self.queue.push_back((reference, depth));
        Some(id)
    }
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
