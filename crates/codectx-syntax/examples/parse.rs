//! Prints what codectx-syntax extracts from files (development aid):
//! `cargo run -p codectx-syntax --example parse -- FILE...`
//!
//! With `--stats` only prints totals and the time taken (a throughput check);
//! `--list=FILE` reads paths from a file, `--cap=N` sets the chunk cap, `--tree`
//! also prints the syntax tree, `--check` reports chunks that break the invariants
//! (order, overlap, line alignment, cap, coverage of non-blank lines), and
//! `--root=DIR` resolves imports against the listed files (paths relative to DIR).
use std::time::Instant;

use codectx_core::Language;
use codectx_syntax::{check_queries, parse_file, ChunkOptions};

fn main() {
    if let Err(errors) = check_queries() {
        for error in errors {
            eprintln!("{error}");
        }
        std::process::exit(1);
    }
    let mut stats = false;
    let mut tree = false;
    let mut check = false;
    let mut root: Option<String> = None;
    let mut cap = ChunkOptions::default().chunk_tokens;
    let mut paths = Vec::new();
    for arg in std::env::args().skip(1) {
        if arg == "--stats" {
            stats = true;
        } else if let Some(value) = arg.strip_prefix("--root=") {
            root = Some(format!("{}/", value.trim_end_matches('/')));
        } else if arg == "--check" {
            check = true;
        } else if arg == "--tree" {
            tree = true;
        } else if let Some(list) = arg.strip_prefix("--list=") {
            let text = std::fs::read_to_string(list).expect("a readable list of paths");
            paths.extend(text.lines().filter(|line| !line.is_empty()).map(str::to_string));
        } else if let Some(value) = arg.strip_prefix("--cap=") {
            cap = value.parse().expect("--cap=TOKENS");
        } else {
            paths.push(arg);
        }
    }
    let options = ChunkOptions { chunk_tokens: cap, ..ChunkOptions::default() };
    let relative = |path: &str| match &root {
        Some(root) => path.strip_prefix(root.as_str()).unwrap_or(path).to_string(),
        None => path.to_string(),
    };
    let files = codectx_syntax::FileSet::new(paths.iter().map(|path| relative(path)));
    let (mut resolved, mut local) = (0usize, 0usize);
    let started = Instant::now();
    let (mut bytes, mut symbols, mut chunks, mut imports, mut timeouts) = (0usize, 0usize, 0usize, 0usize, 0usize);
    for path in &paths {
        let Ok(raw) = std::fs::read(path) else { continue };
        let source = String::from_utf8_lossy(&raw);
        let rel = relative(path);
        let mut parsed = parse_file(&rel, Language::from_path(path), &source, &options);
        if root.is_some() {
            codectx_syntax::resolve_imports(Language::from_path(path), &rel, &mut parsed.imports, &files);
            resolved += parsed.imports.iter().filter(|import| import.resolved.is_some()).count();
            local += parsed
                .imports
                .iter()
                .filter(|import| import.module.starts_with(['.', '"']) || import.module.starts_with("crate"))
                .count();
        }
        bytes += source.len();
        symbols += parsed.symbols.len();
        chunks += parsed.chunks.len();
        imports += parsed.imports.len();
        timeouts += parsed.timed_out as usize;
        if check {
            for problem in problems(&source, &parsed, cap) {
                println!("{path}: {problem}");
            }
        }
        if stats {
            continue;
        }
        if tree {
            print_tree(Language::from_path(path), &source);
        }
        println!("== {path} (errors: {}, timed out: {})", parsed.has_errors, parsed.timed_out);
        for (i, symbol) in parsed.symbols.iter().enumerate() {
            println!(
                "  sym {i} {} {} [{}-{}] parent={:?} sig={:?} doc={:?}",
                symbol.kind,
                symbol.qualified_name,
                symbol.span.start_line,
                symbol.span.end_line,
                symbol.parent,
                symbol.signature,
                symbol.doc
            );
        }
        for chunk in &parsed.chunks {
            println!(
                "  chunk {:?} [{}-{}] {:?} sym={:?} ctx={:?} refs={:?}",
                chunk.kind,
                chunk.span.start_line,
                chunk.span.end_line,
                chunk.symbol_path,
                chunk.symbol,
                chunk.context_header,
                chunk.references
            );
        }
        for import in &parsed.imports {
            println!("  import {} {:?} line {} -> {:?}", import.module, import.names, import.line, import.resolved);
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    if root.is_some() {
        eprintln!("{resolved} imports resolved ({local} written as relative / crate paths)");
    }
    eprintln!(
        "{} files, {:.1} MB, {symbols} symbols, {chunks} chunks, {imports} imports, {timeouts} timeouts in {seconds:.2}s ({:.1} MB/s)",
        paths.len(),
        bytes as f64 / 1e6,
        bytes as f64 / 1e6 / seconds
    );
}

/// Prints the named nodes of the syntax tree, indented, with their lines.
fn print_tree(language: Language, source: &str) {
    let Some(ts_language) = codectx_syntax::languages::ts_language(language) else { return };
    let mut parser = tree_sitter::Parser::new();
    parser.set_language(&ts_language).expect("a compatible grammar");
    let Some(tree) = parser.parse(source, None) else { return };
    let mut cursor = tree.walk();
    let mut depth = 0usize;
    loop {
        let node = cursor.node();
        if node.is_named() {
            let field = cursor.field_name().map(|f| format!("{f}: ")).unwrap_or_default();
            let text: String = source[node.byte_range()].chars().take(40).collect::<String>().replace('\n', "⏎");
            let (start, end) = (node.start_position().row + 1, node.end_position().row + 1);
            println!("{}{field}{} [{start}-{end}] {text:?}", "  ".repeat(depth), node.kind());
        }
        if cursor.goto_first_child() {
            depth += 1;
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return;
            }
            depth -= 1;
        }
    }
}

/// Violations of the chunk invariants.
fn problems(source: &str, parsed: &codectx_core::ParsedFile, cap: usize) -> Vec<String> {
    let mut out = Vec::new();
    let starts: Vec<usize> = std::iter::once(0).chain(source.match_indices('\n').map(|(i, _)| i + 1)).collect();
    let mut covered = vec![false; starts.len() + 2];
    let mut previous_end = 0;
    for chunk in &parsed.chunks {
        let (start, end) = (chunk.span.start_byte as usize, chunk.span.end_byte as usize);
        if start < previous_end || end < start || end > source.len() {
            out.push(format!("bad or overlapping span {:?}", chunk.span));
            continue;
        }
        if start > 0 && source.as_bytes()[start - 1] != b'\n' {
            out.push(format!("chunk does not start a line {:?}", chunk.span));
        }
        let text = &source[start..end];
        if chunk.span.start_line != chunk.span.end_line {
            let tokens = codectx_core::tokens::count(text);
            if tokens > cap {
                out.push(format!("chunk {:?} has {tokens} tokens", chunk.span));
            }
        }
        for line in chunk.span.start_line..=chunk.span.end_line {
            if let Some(slot) = covered.get_mut(line as usize) {
                *slot = true;
            }
        }
        previous_end = end;
    }
    for (i, line) in source.lines().enumerate() {
        if !line.trim().is_empty() && !covered[i + 1] {
            out.push(format!("line {} is in no chunk", i + 1));
            break;
        }
    }
    out
}
