//! Building [`Import`]s from the captures of a language's `imports.scm`.

use codectx_core::{Import, Language};
use tree_sitter::Node;

/// Most leaves taken from one Rust use tree.
const MAX_USE_LEAVES: usize = 1024;

/// The module of an import match: its text, or a Rust use tree to flatten.
pub(crate) enum RawModule<'t> {
    Text(String),
    UseTree(Node<'t>),
}

/// One import match (matches with the same statement and module node merged).
pub(crate) struct RawImport<'t> {
    pub stmt_start: usize,
    pub stmt_row: usize,
    pub module_start: usize,
    pub module: RawModule<'t>,
    /// `(byte offset, text)` of each imported name.
    pub names: Vec<(usize, String)>,
}

/// Imports in source order, modules and names normalised per language.
pub(crate) fn build(language: Language, source: &str, mut raw: Vec<RawImport>) -> Vec<Import> {
    raw.sort_by_key(|import| (import.stmt_start, import.module_start));
    let mut out = Vec::with_capacity(raw.len());
    for mut import in raw {
        let line = import.stmt_row as u32 + 1;
        match import.module {
            RawModule::UseTree(node) => {
                for (module, names) in flatten_use_tree(source, node) {
                    out.push(Import { module, names, line, resolved: None });
                }
            }
            RawModule::Text(text) => {
                let module = match language {
                    Language::Python | Language::Java | Language::Rust => text.split_whitespace().collect(),
                    _ => text.trim().to_string(),
                };
                if module.is_empty() {
                    continue;
                }
                import.names.sort();
                let mut names: Vec<String> = Vec::with_capacity(import.names.len());
                for (_, name) in import.names {
                    let name = if name.trim_start().starts_with('*') {
                        "*".to_string()
                    } else {
                        name.split_whitespace().collect::<Vec<_>>().join(" ")
                    };
                    if !name.is_empty() && !names.contains(&name) {
                        names.push(name);
                    }
                }
                if language == Language::Java && names.is_empty() {
                    if let Some(last) = module.rsplit('.').next() {
                        names.push(last.to_string());
                    }
                }
                out.push(Import { module, names, line, resolved: None });
            }
        }
    }
    out
}

fn without_whitespace(text: &str) -> String {
    text.split_whitespace().collect()
}

fn join_path(prefix: &str, path: &str) -> String {
    match (prefix.is_empty(), path.is_empty()) {
        (true, _) => path.to_string(),
        (false, true) => prefix.to_string(),
        (false, false) => format!("{prefix}::{path}"),
    }
}

/// Flattens a Rust use tree into `(module, names)` groups in source order:
/// `crate::a::{b::C, d, self}` -> `("crate::a::b", ["C"])`, `("crate", ["a", "d"])`...
/// precisely: each leaf path `p::n` adds `n` to the names of module `p`; a
/// single-segment leaf is a module with no names; `p::*` adds `*` to `p`; `p::self`
/// stands for `p`.
fn flatten_use_tree(source: &str, root: Node) -> Vec<(String, Vec<String>)> {
    let text = |node: Node| without_whitespace(source.get(node.byte_range()).unwrap_or_default());
    let mut leaves: Vec<(String, bool)> = Vec::new();
    let mut stack: Vec<(String, Node)> = vec![(String::new(), root)];
    while let Some((prefix, node)) = stack.pop() {
        if leaves.len() >= MAX_USE_LEAVES {
            break;
        }
        match node.kind() {
            "scoped_use_list" => {
                let path = node.child_by_field_name("path").map(text).unwrap_or_default();
                let prefix = join_path(&prefix, &path);
                if let Some(list) = node.child_by_field_name("list") {
                    push_children(&mut stack, &prefix, list);
                }
            }
            "use_list" => push_children(&mut stack, &prefix, node),
            "use_as_clause" => {
                if let Some(path) = node.child_by_field_name("path") {
                    leaves.push((join_path(&prefix, &text(path)), false));
                }
            }
            "use_wildcard" => {
                let path = text(node);
                let path = path.trim_end_matches('*').trim_end_matches("::");
                leaves.push((join_path(&prefix, path), true));
            }
            "line_comment" | "block_comment" => {}
            _ => leaves.push((join_path(&prefix, &text(node)), false)),
        }
    }
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for (path, wildcard) in leaves {
        let mut segments: Vec<&str> = path.split("::").filter(|segment| !segment.is_empty()).collect();
        let (module, name) = if wildcard {
            (segments.join("::"), Some("*".to_string()))
        } else {
            if segments.len() > 1 && segments.last() == Some(&"self") {
                segments.pop();
            }
            match segments.split_last() {
                None => continue,
                Some((last, [])) => (last.to_string(), None),
                Some((last, rest)) => (rest.join("::"), Some(last.to_string())),
            }
        };
        if module.is_empty() {
            continue;
        }
        let group = match groups.iter().position(|(m, _)| *m == module) {
            Some(index) => &mut groups[index].1,
            None => {
                groups.push((module, Vec::new()));
                &mut groups.last_mut().expect("just pushed").1
            }
        };
        if let Some(name) = name {
            if !group.contains(&name) {
                group.push(name);
            }
        }
    }
    groups
}

fn push_children<'t>(stack: &mut Vec<(String, Node<'t>)>, prefix: &str, list: Node<'t>) {
    let mut cursor = list.walk();
    let children: Vec<Node<'t>> = list.named_children(&mut cursor).collect();
    for child in children.into_iter().rev() {
        stack.push((prefix.to_string(), child));
    }
}
