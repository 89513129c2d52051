//! Symbols, references and imports of a parsed file, from one pass of the
//! language's combined query plus a pruned walk for leading comments/attributes.
//!
//! Nothing here walks the tree recursively or asks a node for its parent or
//! previous sibling (both are linear in the tree's depth and width in tree-sitter),
//! so deep nesting and files with tens of thousands of top-level items stay linear.

use std::cell::Cell;
use std::collections::HashMap;
use std::time::Instant;

use codectx_core::{Import, Language, Symbol, SymbolKind};
use streaming_iterator::StreamingIterator;
use tree_sitter::{Node, QueryCursor, QueryCursorOptions, QueryCursorState, Tree};

use crate::imports::{self, RawImport, RawModule};
use crate::languages::{Grammar, LanguageSpec, Role};
use crate::lines::{collapse_whitespace, truncate, Lines};
use crate::parse;
use crate::resolve::rust_module_path;

/// Longest signature kept, in bytes.
const MAX_SIGNATURE: usize = 300;
/// Longest doc kept, in bytes.
const MAX_DOC: usize = 4000;
/// Most enclosing definitions that qualify a name (deeper ones are dropped).
const MAX_QUALIFIERS: usize = 8;
/// Most in-progress matches of the query cursor (bounds pathological inputs).
const MATCH_LIMIT: u32 = 4096;

/// Chunking facts of a symbol that the core [`Symbol`] does not carry.
#[derive(Debug, Clone)]
pub(crate) struct SymLayout {
    /// First byte of the symbol's leading doc comments / attributes, else of its span.
    pub lead_start: usize,
    /// Where its declaration head starts (after decorators / attributes).
    pub sig_start: usize,
    /// Where its head ends (the last token before the body, comments excluded), if
    /// it has a body.
    pub head_end: Option<usize>,
    /// Whether it is a chunk of its own (functions with a body, containers, large
    /// constants) rather than part of the surrounding top-level / header code.
    pub own_chunk: bool,
}

/// Everything extracted from a parsed file.
pub(crate) struct Extraction {
    pub symbols: Vec<Symbol>,
    pub layout: Vec<SymLayout>,
    /// Byte ranges of referenced identifiers, sorted, deduplicated.
    pub refs: Vec<(u32, u32)>,
    pub imports: Vec<Import>,
    pub has_errors: bool,
}

struct RawDef<'t> {
    node: Node<'t>,
    name: Node<'t>,
    scope: Option<Node<'t>>,
    kind: SymbolKind,
    pattern: usize,
}

/// Runs the query and builds the extraction; `None` when the query ran past the timeout.
pub(crate) fn extract(
    grammar: &Grammar,
    path: &str,
    source: &str,
    tree: &Tree,
    cursor: &mut QueryCursor,
    timeout: std::time::Duration,
) -> Option<Extraction> {
    let root = tree.root_node();
    let language = grammar.language();
    let spec = grammar.spec();

    let mut defs: Vec<RawDef> = Vec::new();
    let mut def_by_name: HashMap<usize, usize> = HashMap::new();
    let mut refs: Vec<(u32, u32)> = Vec::new();
    let mut raw_imports: Vec<RawImport> = Vec::new();
    let mut import_by_key: HashMap<(usize, usize), usize> = HashMap::new();

    let deadline = parse::deadline(timeout);
    let late = Cell::new(false);
    let mut progress = |_: &QueryCursorState| {
        let is_late = deadline.is_some_and(|deadline| Instant::now() >= deadline);
        if is_late {
            late.set(true);
        }
        is_late
    };
    cursor.set_match_limit(MATCH_LIMIT);
    {
        let mut matches = cursor.matches_with_options(
            grammar.query(),
            root,
            source.as_bytes(),
            QueryCursorOptions::new().progress_callback(&mut progress),
        );
        while let Some(m) = matches.next() {
            let mut kind = None;
            let mut def_node = None;
            let mut name = None;
            let mut scope = None;
            let mut is_ref = false;
            let mut stmt = None;
            let mut module = None;
            let mut use_tree = None;
            let mut names: Vec<Node> = Vec::new();
            for capture in m.captures {
                match grammar.role(capture.index) {
                    Role::Definition(k) => {
                        kind = Some(k);
                        def_node = Some(capture.node);
                    }
                    Role::Reference => is_ref = true,
                    Role::Name => name = Some(capture.node),
                    Role::Scope => scope = Some(capture.node),
                    Role::Import => stmt = Some(capture.node),
                    Role::ImportModule => module = Some(capture.node),
                    Role::ImportName => names.push(capture.node),
                    Role::ImportUseTree => use_tree = Some(capture.node),
                    Role::Ignored => {}
                }
            }
            if let (Some(kind), Some(node), Some(name)) = (kind, def_node, name) {
                let candidate = RawDef { node, name, scope, kind, pattern: m.pattern_index };
                match def_by_name.get(&name.id()) {
                    Some(&existing) => {
                        let old = &defs[existing];
                        let wider = node.byte_range().len() > old.node.byte_range().len();
                        let same = node.byte_range().len() == old.node.byte_range().len();
                        if wider || (same && candidate.pattern < old.pattern) {
                            defs[existing] = candidate;
                        }
                    }
                    None => {
                        def_by_name.insert(name.id(), defs.len());
                        defs.push(candidate);
                    }
                }
            } else if is_ref {
                if let Some(name) = name {
                    refs.push((name.start_byte() as u32, name.end_byte() as u32));
                }
            }
            let module_node = module.or(use_tree);
            if let Some(module_node) = module_node {
                let stmt = stmt.unwrap_or(module_node);
                let key = (stmt.id(), module_node.id());
                let index = *import_by_key.entry(key).or_insert_with(|| {
                    raw_imports.push(RawImport {
                        stmt_start: stmt.start_byte(),
                        stmt_row: stmt.start_position().row,
                        module_start: module_node.start_byte(),
                        module: if use_tree.is_some() {
                            RawModule::UseTree(module_node)
                        } else {
                            RawModule::Text(node_text(source, module_node))
                        },
                        names: Vec::new(),
                    });
                    raw_imports.len() - 1
                });
                for name in names {
                    let entry = (name.start_byte(), node_text(source, name));
                    if !raw_imports[index].names.contains(&entry) {
                        raw_imports[index].names.push(entry);
                    }
                }
            }
        }
    }
    if late.get() {
        return None;
    }

    defs.sort_by_key(|def| (def.node.start_byte(), std::cmp::Reverse(def.node.end_byte()), def.pattern));
    let lines = Lines::new(source);
    let leads = leads(root, &defs, spec, source);
    let module_path = if language == Language::Rust { rust_module_path(path) } else { String::new() };

    // Per-definition facts, in definition order.
    let mut records: Vec<Record> =
        defs.iter().zip(leads).map(|(def, lead)| Record::new(def, lead, spec, source, &lines)).collect();
    records.sort_by_key(|record| (record.start, std::cmp::Reverse(record.end)));

    // Nesting: the enclosing definition is the nearest open one that contains it.
    // Definitions with the same span (`const a = () => 1, b = () => 2;`) are siblings.
    let mut parents: Vec<Option<usize>> = Vec::with_capacity(records.len());
    let mut stack: Vec<usize> = Vec::new();
    for (i, record) in records.iter().enumerate() {
        while let Some(&top) = stack.last() {
            let open = &records[top];
            let same_span = open.start == record.start && open.end == record.end;
            if open.end <= record.start || open.end < record.end || same_span {
                stack.pop();
            } else {
                break;
            }
        }
        parents.push(stack.last().copied());
        stack.push(i);
    }
    for i in 0..records.len() {
        if records[i].kind == SymbolKind::Function {
            let in_type = parents[i].is_some_and(|p| {
                matches!(
                    records[p].kind,
                    SymbolKind::Class
                        | SymbolKind::Struct
                        | SymbolKind::Interface
                        | SymbolKind::Impl
                        | SymbolKind::Enum
                )
            });
            if in_type {
                records[i].kind = SymbolKind::Method;
            }
        }
    }

    // Qualified names: the qualifying ancestors (containers and callables), nearest
    // MAX_QUALIFIERS of them, then the symbol's own scope and name.
    let mut qualifier: Vec<Option<usize>> = Vec::with_capacity(records.len());
    for parent in &parents {
        let mut up = *parent;
        while let Some(p) = up {
            if records[p].kind.is_container() || records[p].kind.is_callable() {
                break;
            }
            up = qualifier[p];
        }
        qualifier.push(up);
    }
    let mut holds_definition = vec![false; records.len()];
    for i in 0..records.len() {
        if let Some(p) = parents[i] {
            let record = &records[i];
            if record.kind.is_container() || (record.kind.is_callable() && record.body_start.is_some()) {
                holds_definition[p] = true;
            }
        }
    }
    let separator = spec.separator;
    let mut symbols = Vec::with_capacity(records.len());
    let mut layout = Vec::with_capacity(records.len());
    for i in 0..records.len() {
        let mut chain = vec![i];
        let mut up = qualifier[i];
        while let Some(p) = up {
            if chain.len() > MAX_QUALIFIERS {
                break;
            }
            chain.push(p);
            up = qualifier[p];
        }
        let mut qualified = String::new();
        if !module_path.is_empty() {
            qualified.push_str(&module_path);
        }
        for &j in chain.iter().rev() {
            for segment in records[j].scope.iter().chain(std::iter::once(&records[j].name)) {
                if !qualified.is_empty() {
                    qualified.push_str(separator);
                }
                qualified.push_str(segment);
            }
        }
        let record = &records[i];
        let is_callable = record.kind.is_callable();
        let lines_spanned = lines.last_line_of(record.start, record.end) - lines.line_of(record.start) + 1;
        let own_chunk = if is_callable {
            record.body_start.is_some()
        } else if record.kind.is_container() {
            record.body_start.is_some() || lines_spanned >= 2
        } else {
            // Constants, variables, types, macros: only when large, or when they hold
            // a definition (`typedef struct {..} T;`, `const api = { get() {..} }`).
            lines_spanned >= 4 || holds_definition[i]
        };
        symbols.push(Symbol {
            name: record.name.clone(),
            kind: record.kind,
            qualified_name: qualified,
            span: lines.span(record.start, record.end),
            name_span: lines.span(record.name_range.0, record.name_range.1),
            signature: record.signature.clone(),
            doc: record.doc.clone(),
            parent: parents[i].map(|p| p as u32),
        });
        layout.push(SymLayout {
            lead_start: record.lead_start,
            sig_start: record.sig_start,
            head_end: record.head_end,
            own_chunk,
        });
    }

    refs.retain(|&(start, end)| {
        let text = source.get(start as usize..end as usize).unwrap_or_default();
        text.len() >= 2 && !matches!(text, "self" | "Self" | "this" | "super")
    });
    refs.sort_unstable();
    refs.dedup();

    let imports = imports::build(language, source, raw_imports);
    Some(Extraction { symbols, layout, refs, imports, has_errors: root.has_error() })
}

/// Text of a node (empty if its range is not on char boundaries, which tree-sitter
/// guarantees for UTF-8 input).
pub(crate) fn node_text(source: &str, node: Node) -> String {
    source.get(node.byte_range()).unwrap_or_default().to_string()
}

fn slice(source: &str, start: usize, end: usize) -> &str {
    source.get(start..end.max(start)).unwrap_or_default()
}

/// Leading comments and attributes of a definition.
#[derive(Default)]
struct Lead {
    /// First byte of the first attribute / decorator sibling.
    attr_start: Option<usize>,
    /// First byte of the first comment or attribute sibling.
    first_start: Option<usize>,
    /// Byte ranges of the comments.
    comments: Vec<(usize, usize)>,
}

/// Row of a node's last character (a node ending at column 0 ends on the row before).
fn end_row(node: Node) -> usize {
    let end = node.end_position();
    if end.column == 0 && end.row > node.start_position().row {
        end.row - 1
    } else {
        end.row
    }
}

/// Finds, for every definition, the run of comment / attribute siblings right before
/// it (no blank line between them, the first not trailing other code). One walk of
/// the tree with a cursor, descending only into nodes that contain a definition.
fn leads<'t>(root: Node<'t>, defs: &[RawDef<'t>], spec: &LanguageSpec, source: &str) -> Vec<Lead> {
    let mut out: Vec<Lead> = (0..defs.len()).map(|_| Lead::default()).collect();
    if defs.is_empty() {
        return out;
    }
    // `defs` are sorted by start: the definitions starting in a node's range, and
    // those that are the node itself, are found by binary search.
    let starts: Vec<usize> = defs.iter().map(|def| def.node.start_byte()).collect();
    let is_comment = |node: Node| spec.comment_kinds.contains(&node.kind());
    let is_attribute = |node: Node| spec.attribute_kinds.contains(&node.kind());

    struct Level<'t> {
        run: Vec<Node<'t>>,
        prev_end_row: Option<usize>,
    }
    let finish = |level: &mut Level<'t>, node: Node<'t>| {
        let start_row = node.start_position().row;
        if is_comment(node) || is_attribute(node) {
            let text = slice(source, node.start_byte(), node.end_byte());
            let inner_doc = text.starts_with("//!") || text.starts_with("/*!");
            let trailing = level.run.is_empty() && level.prev_end_row == Some(start_row);
            let gap = level.run.last().is_some_and(|last| start_row > end_row(*last) + 1);
            if inner_doc || trailing {
                level.run.clear();
            } else {
                if gap {
                    level.run.clear();
                }
                level.run.push(node);
            }
        } else if node.is_named() {
            level.run.clear();
        }
        level.prev_end_row = Some(end_row(node));
    };

    let mut cursor = root.walk();
    let mut levels: Vec<Level<'t>> = vec![Level { run: Vec::new(), prev_end_row: None }];
    if !cursor.goto_first_child() {
        return out;
    }
    loop {
        let node = cursor.node();
        let from = starts.partition_point(|&s| s < node.start_byte());
        let to = starts.partition_point(|&s| s < node.end_byte());
        let mut own: Vec<usize> = Vec::new();
        for (i, def) in defs.iter().enumerate().take(to.max(from)).skip(from) {
            if def.node.start_byte() != node.start_byte() {
                break;
            }
            if def.node.id() == node.id() {
                own.push(i);
            }
        }
        if let (false, Some(level)) = (own.is_empty(), levels.last()) {
            let indices = &own;
            let adjacent = level.run.last().is_some_and(|last| node.start_position().row <= end_row(*last) + 1);
            if adjacent {
                let mut lead = Lead::default();
                for item in &level.run {
                    lead.first_start.get_or_insert(item.start_byte());
                    if is_attribute(*item) {
                        lead.attr_start.get_or_insert(item.start_byte());
                    } else {
                        lead.comments.push((item.start_byte(), item.end_byte()));
                    }
                }
                for &i in indices.iter() {
                    out[i] = Lead {
                        attr_start: lead.attr_start,
                        first_start: lead.first_start,
                        comments: lead.comments.clone(),
                    };
                }
            }
        }
        let descend = to.saturating_sub(from) > own.len();
        if descend && cursor.goto_first_child() {
            levels.push(Level { run: Vec::new(), prev_end_row: None });
            continue;
        }
        let mut finished = node;
        loop {
            if let Some(level) = levels.last_mut() {
                finish(level, finished);
            }
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return out;
            }
            levels.pop();
            finished = cursor.node();
        }
    }
}

/// Per-definition facts before nesting is known.
struct Record {
    name: String,
    name_range: (usize, usize),
    /// Qualifying segments from the definition itself (Go receiver, C++ `Foo::`).
    scope: Vec<String>,
    kind: SymbolKind,
    start: usize,
    end: usize,
    lead_start: usize,
    sig_start: usize,
    body_start: Option<usize>,
    head_end: Option<usize>,
    signature: String,
    doc: Option<String>,
}

impl Record {
    fn new(def: &RawDef, lead: Lead, spec: &LanguageSpec, source: &str, lines: &Lines) -> Record {
        let language = spec.language;
        let node = def.node;
        let mut kind = def.kind;
        let raw_name = slice(source, def.name.start_byte(), def.name.end_byte());
        let mut scope = Vec::new();
        let (name, name_range) = if kind == SymbolKind::Impl {
            let cleaned = clean_type_name(raw_name, language);
            let range = match raw_name.find(&cleaned) {
                Some(offset) => (def.name.start_byte() + offset, def.name.start_byte() + offset + cleaned.len()),
                None => (def.name.start_byte(), def.name.end_byte()),
            };
            (cleaned, range)
        } else if let Some(split) = last_scope_separator(raw_name) {
            // `ns::Foo::bar` (C++ out-of-line definition, nested namespace).
            scope = split_scope(&raw_name[..split], language);
            let tail = &raw_name[split + 2..];
            if kind == SymbolKind::Function {
                kind = SymbolKind::Method;
            }
            let start = def.name.start_byte() + split + 2;
            (clean_name(tail), (start, def.name.end_byte()))
        } else {
            (clean_name(raw_name), (def.name.start_byte(), def.name.end_byte()))
        };
        if let Some(scope_node) = def.scope {
            let text = slice(source, scope_node.start_byte(), scope_node.end_byte());
            scope.insert(0, clean_type_name(text, language));
        }
        let start = lead.attr_start.map_or(node.start_byte(), |attr| attr.min(node.start_byte()));
        let end = node.end_byte();
        let lead_start = lead.first_start.map_or(start, |first| first.min(start));
        let sig_start = signature_start(node, spec);
        let (body, head_end) = match find_body(node, def.name, spec.comment_kinds) {
            Some((body, head_end)) if body.start_byte() >= sig_start && body.start_byte() <= end => {
                (Some(body), Some(head_end.clamp(sig_start, body.start_byte())))
            }
            _ => (None, None),
        };
        let body_start = body.map(|body| body.start_byte());
        let signature = signature(source, lines, sig_start, head_end, end);
        let doc = match (language, body) {
            (Language::Python, Some(body)) if kind != SymbolKind::Constant && kind != SymbolKind::Variable => {
                python_docstring(source, body)
            }
            _ => None,
        }
        .or_else(|| comments_doc(source, &lead.comments));
        Record {
            name,
            name_range,
            scope,
            kind,
            start,
            end,
            lead_start,
            sig_start,
            body_start,
            head_end,
            signature,
            doc,
        }
    }
}

/// Byte offset of the last `::` outside angle brackets, if any.
fn last_scope_separator(name: &str) -> Option<usize> {
    let bytes = name.as_bytes();
    let mut depth = 0i32;
    let mut found = None;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'<' => depth += 1,
            b'>' => depth -= 1,
            b':' if depth == 0 && bytes.get(i + 1) == Some(&b':') => {
                found = Some(i);
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    // `operator::` or a leading `::name` (global scope) have nothing before.
    found.filter(|&at| at > 0)
}

fn split_scope(scope: &str, language: Language) -> Vec<String> {
    let stripped = strip_brackets(scope, language);
    stripped.split("::").map(collapse_whitespace).filter(|segment| !segment.is_empty()).collect()
}

/// A definition name as displayed: whitespace collapsed, quotes of string names
/// (`declare module "x"`) removed, template arguments of a specialisation dropped.
fn clean_name(raw: &str) -> String {
    let trimmed = raw.trim();
    let unquoted = trimmed
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .or_else(|| trimmed.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')))
        .unwrap_or(trimmed);
    let base = if !unquoted.starts_with("operator") && unquoted.ends_with('>') {
        unquoted.split('<').next().unwrap_or(unquoted)
    } else {
        unquoted
    };
    truncate(collapse_whitespace(base), 200)
}

/// Removes `<...>` (and for Go `[...]`) groups, nested ones included.
fn strip_brackets(text: &str, language: Language) -> String {
    let (open, close) = if language == Language::Go { ('[', ']') } else { ('<', '>') };
    let mut depth = 0usize;
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == open {
            depth += 1;
        } else if c == close && depth > 0 {
            depth -= 1;
        } else if depth == 0 {
            out.push(c);
        }
    }
    out
}

/// The bare type name of a Rust impl target or Go receiver: `&'a mut Foo<T>` -> `Foo`,
/// `*Server[T]` -> `Server`, `crate::a::Foo` -> `Foo`. Falls back to the whole text.
fn clean_type_name(raw: &str, language: Language) -> String {
    let stripped = strip_brackets(raw, language);
    let mut text = stripped.trim();
    loop {
        let before = text;
        for prefix in ["&", "*", "mut ", "dyn ", "const ", "impl "] {
            if let Some(rest) = text.strip_prefix(prefix) {
                text = rest.trim_start();
            }
        }
        if text.starts_with('\'') {
            text = text.split_once(char::is_whitespace).map_or("", |(_, rest)| rest.trim_start());
        }
        if text == before {
            break;
        }
    }
    let last = text.rsplit("::").next().unwrap_or(text);
    let last = last.rsplit('.').next().unwrap_or(last).trim();
    if last.is_empty() || !last.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '$') {
        truncate(collapse_whitespace(raw), 200)
    } else {
        // Names are capped like every other name, whatever parse error made them.
        truncate(last.to_string(), 200)
    }
}

/// Start of a definition's head: the node's start, skipping leading decorators,
/// attributes and comments (and annotations at the start of Java `modifiers`).
fn signature_start(node: Node, spec: &LanguageSpec) -> usize {
    let mut cursor = node.walk();
    if !cursor.goto_first_child() {
        return node.start_byte();
    }
    loop {
        let child = cursor.node();
        if spec.signature_skip_kinds.contains(&child.kind()) {
            if !cursor.goto_next_sibling() {
                return node.start_byte();
            }
            continue;
        }
        if child.kind() == "modifiers" {
            let mut inner = child.walk();
            if inner.goto_first_child() {
                loop {
                    if !spec.signature_skip_kinds.contains(&inner.node().kind()) {
                        return inner.node().start_byte();
                    }
                    if !inner.goto_next_sibling() {
                        break;
                    }
                }
            }
            // Only annotations: the head starts after them.
            if !cursor.goto_next_sibling() {
                return child.start_byte();
            }
            continue;
        }
        return child.start_byte();
    }
}

/// The body of a definition: the deepest `body` field (or `body` of a `value` /
/// `right` field, for `const f = () => {}`) on the path from the definition node
/// down to its name, starting after the name; with the end of the head: the last
/// child before the body that is not a comment (so `def f():  # note` ends at `:`).
fn find_body<'t>(node: Node<'t>, name: Node<'t>, comment_kinds: &[&str]) -> Option<(Node<'t>, usize)> {
    let mut current = node;
    let mut found: Option<(Node<'t>, Node<'t>)> = None;
    for _ in 0..16 {
        let direct = current.child_by_field_name("body").map(|body| (current, body));
        let via_value = ["value", "right"]
            .iter()
            .find_map(|field| current.child_by_field_name(field))
            .and_then(|value| value.child_by_field_name("body").map(|body| (value, body)));
        for (owner, body) in [direct, via_value].into_iter().flatten() {
            if body.start_byte() >= name.end_byte() {
                found = Some((owner, body));
            }
        }
        let mut cursor = current.walk();
        if cursor.goto_first_child_for_byte(name.start_byte()).is_none() {
            break;
        }
        let child = cursor.node();
        if child.id() == name.id() || child.start_byte() > name.start_byte() || child.id() == current.id() {
            break;
        }
        current = child;
    }
    let (owner, body) = found?;
    let mut head_end = body.start_byte();
    let mut cursor = owner.walk();
    if cursor.goto_first_child() {
        loop {
            let child = cursor.node();
            if child.start_byte() >= body.start_byte() {
                break;
            }
            if !comment_kinds.contains(&child.kind()) {
                head_end = child.end_byte();
            }
            if !cursor.goto_next_sibling() {
                break;
            }
        }
    }
    Some((body, head_end))
}

/// The declaration head: text from `sig_start` to the end of the head, whitespace
/// collapsed.
/// Without a body: the first line (continued while parentheses are open), cut
/// before a `{`, without a trailing `;`.
fn signature(source: &str, lines: &Lines, sig_start: usize, head_end: Option<usize>, end: usize) -> String {
    let text = match head_end {
        Some(head_end) => slice(source, sig_start, head_end),
        None => {
            let first = lines.line_of(sig_start);
            let mut last = first;
            let mut depth = 0i32;
            loop {
                let line_end = lines.content_end(last).min(end);
                let from = if last == first { sig_start } else { lines.start(last) };
                for c in slice(source, from, line_end).chars() {
                    match c {
                        '(' | '[' => depth += 1,
                        ')' | ']' => depth -= 1,
                        _ => {}
                    }
                }
                if depth <= 0 || last + 1 >= lines.len() || last - first >= 10 || lines.content_end(last) >= end {
                    break;
                }
                last += 1;
            }
            let head = slice(source, sig_start, lines.content_end(last).min(end));
            let head = head.split('{').next().unwrap_or(head);
            head.trim_end().trim_end_matches(';')
        }
    };
    // Collapse at most a few KiB; the result is truncated anyway.
    let cut = text.floor_char_boundary(MAX_SIGNATURE * 8);
    truncate(collapse_whitespace(&text[..cut]), MAX_SIGNATURE)
}

/// The docstring of a Python class or function: its body's first statement when
/// that is a string literal, quotes stripped and dedented like `inspect.cleandoc`.
fn python_docstring(source: &str, body: Node) -> Option<String> {
    let mut cursor = body.walk();
    if !cursor.goto_first_child() {
        return None;
    }
    loop {
        let node = cursor.node();
        if node.is_named() && node.kind() != "comment" {
            if node.kind() != "expression_statement" || node.named_child_count() != 1 {
                return None;
            }
            let string = node.named_child(0)?;
            if string.kind() != "string" {
                return None;
            }
            let raw = slice(source, string.start_byte(), string.end_byte());
            let body = raw.trim_start_matches(|c: char| c.is_ascii_alphabetic());
            let quote = ["\"\"\"", "'''", "\"", "'"].into_iter().find(|q| body.starts_with(q))?;
            let inner = body.strip_prefix(quote)?;
            let inner = inner.strip_suffix(quote).unwrap_or(inner);
            let doc = cleandoc(inner);
            return (!doc.is_empty()).then(|| truncate(doc, MAX_DOC));
        }
        if !cursor.goto_next_sibling() {
            return None;
        }
    }
}

/// `inspect.cleandoc`: the first line stripped, the others dedented by their common
/// indentation, leading and trailing blank lines removed.
fn cleandoc(text: &str) -> String {
    // Indentation is counted in ASCII spaces and tabs, so cuts fall on char boundaries.
    let indentation = |line: &str| line.bytes().take_while(|b| *b == b' ' || *b == b'\t').count();
    let lines: Vec<&str> = text.lines().collect();
    let indent =
        lines.iter().skip(1).filter(|line| !line.trim().is_empty()).map(|line| indentation(line)).min().unwrap_or(0);
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if i == 0 {
            out.push(line.trim().to_string());
        } else {
            let cut = indent.min(indentation(line));
            out.push(line[cut..].trim_end().to_string());
        }
    }
    while out.first().is_some_and(|line| line.is_empty()) {
        out.remove(0);
    }
    while out.last().is_some_and(|line| line.is_empty()) {
        out.pop();
    }
    out.join("\n")
}

/// Prefixes of comments that direct tools rather than document code
/// (`// eslint-disable-next-line`, `# type: ignore`, `//go:generate`, ...).
const DIRECTIVES: &[&str] = &[
    "eslint",
    "prettier-ignore",
    "@ts-",
    "tslint:",
    "istanbul ",
    "c8 ",
    "biome-ignore",
    "deno-lint",
    "jshint",
    "noqa",
    "pylint:",
    "type:",
    "mypy:",
    "pyright:",
    "fmt:",
    "isort:",
    "pragma",
    "NOLINT",
    "nolint",
    "go:",
    "+build",
    "#region",
    "#endregion",
    "region",
    "endregion",
    "clang-format",
    "rustfmt:",
    "cspell:",
    "spell-checker:",
];

fn is_directive(comment: &str) -> bool {
    let body = comment.trim_start_matches(['/', '#', '*', '!']).trim_start();
    DIRECTIVES.iter().any(|prefix| body.starts_with(prefix))
}

/// A doc from comment nodes: markers (`///`, `//`, `#`, `/** */`, leading `*`)
/// removed, then dedented. Tool directives (`// eslint-disable-next-line`) are not docs.
fn comments_doc(source: &str, comments: &[(usize, usize)]) -> Option<String> {
    if comments.is_empty() {
        return None;
    }
    let mut lines: Vec<String> = Vec::new();
    for &(start, end) in comments {
        let text = slice(source, start, end).trim();
        if is_directive(text) {
            continue;
        }
        if let Some(body) = text.strip_prefix("/*") {
            let body = body.strip_suffix("*/").unwrap_or(body);
            let body = body.trim_start_matches(['*', '!']);
            for (i, line) in body.lines().enumerate() {
                let trimmed = line.trim_start();
                let unstarred = match trimmed.strip_prefix('*') {
                    Some(rest) if i > 0 || !trimmed.is_empty() => rest.strip_prefix(' ').unwrap_or(rest),
                    _ => {
                        if i == 0 {
                            trimmed
                        } else {
                            line
                        }
                    }
                };
                lines.push(unstarred.trim_end().to_string());
            }
        } else {
            for line in text.lines() {
                let trimmed = line.trim_start();
                let rest =
                    ["///", "//!", "//", "#"].iter().find_map(|marker| trimmed.strip_prefix(marker)).unwrap_or(trimmed);
                let rest = rest.strip_prefix(' ').unwrap_or(rest);
                lines.push(rest.trim_end().to_string());
            }
        }
    }
    let doc = cleandoc(&format!("\n{}", lines.join("\n")));
    (!doc.is_empty()).then(|| truncate(doc, MAX_DOC))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_names_and_docs() {
        assert_eq!(clean_type_name("&'a mut Foo<T>", Language::Rust), "Foo");
        assert_eq!(clean_type_name("crate::a::Bar<Vec<u8>>", Language::Rust), "Bar");
        assert_eq!(clean_type_name("*Server[T]", Language::Go), "Server");
        assert_eq!(clean_type_name("[T]", Language::Rust), "[T]");
        assert_eq!(last_scope_separator("ns::Foo<a::b>::bar"), Some(13));
        assert_eq!(last_scope_separator("bar"), None);
        assert_eq!(split_scope("ns::Foo<a::b>", Language::Cpp), vec!["ns", "Foo"]);
        assert_eq!(clean_name("\"x\""), "x");
        assert_eq!(clean_name("operator<"), "operator<");
        assert_eq!(cleandoc("Summary.\n\n    Body line.\n      indented\n    "), "Summary.\n\nBody line.\n  indented");
        assert_eq!(cleandoc("x\n\u{3000}a\n  b"), "x\n\u{3000}a\n  b", "no cut inside a character");
        let source = "/**\n * Doc.\n *   more\n */";
        assert_eq!(comments_doc(source, &[(0, source.len())]).as_deref(), Some("Doc.\n  more"));
        let source = "/// One\n/// Two\n";
        assert_eq!(comments_doc(source, &[(0, 8), (8, 16)]).as_deref(), Some("One\nTwo"));
        let source = "// eslint-disable-next-line complexity\n//go:generate stringer\n# type: ignore";
        assert_eq!(comments_doc(source, &[(0, 38), (39, 61), (62, 76)]), None);
        let source = "// Real doc.\n// eslint-disable-next-line";
        assert_eq!(comments_doc(source, &[(0, 12), (13, 39)]).as_deref(), Some("Real doc."));
    }
}
