//! Parsing for codectx: tree-sitter grammars, `.scm` tag queries, symbols,
//! syntax-aligned chunks, imports and their resolution to repository files.
//!
//! * [`parse_file`] turns one file into a [`ParsedFile`]: its
//!   [`Symbol`](codectx_core::Symbol)s (functions, classes, impls, ... with qualified
//!   names, signatures and docs), its [`Chunk`](codectx_core::Chunk)s (non-overlapping,
//!   syntax-aligned, each within a token cap) and its [`Import`](codectx_core::Import)s.
//!   It never fails: files without a grammar, parse timeouts and unparseable input
//!   fall back to line windows.
//! * [`resolve_imports`] maps imports to repository files using a [`FileSet`].
//! * [`check_queries`] compiles every language's queries (a startup self-check).
//!
//! Nine languages have a grammar: Python, Rust, JavaScript, TypeScript, TSX, Go,
//! Java, C and C++. Their queries are data files under `queries/<lang>/` in the
//! tree-sitter tags vocabulary (`@definition.function`, `@name`, `@reference.call`,
//! ...) plus an `imports.scm` per language; see [`languages`].
//!
//! # Symbols
//!
//! In source order, with `parent` the index of the enclosing definition. Qualified
//! names join the enclosing classes, impls, modules and functions with `.` (Python,
//! Java, JS/TS, Go) or `::` (Rust, C, C++); Rust names start with the file's module
//! path ([`rust_module_path`]). `impl Trait for Foo` is named `Foo`; Go methods and
//! C++ out-of-line definitions are qualified by their receiver / scope
//! (`Server.Start`, `Foo::bar`). A function inside a class, struct, interface, impl
//! or enum is a method. Spans include decorators and attributes; the doc is the
//! Python docstring, else the comments right above the definition (no blank line
//! between), markers stripped, tool directives (`// eslint-disable…`) skipped.
//!
//! # Chunks
//!
//! Whole lines, in order, never overlapping, every non-blank line in exactly one:
//!
//! * a function, method, or a class / impl / struct that fits the token cap:
//!   one `Definition` chunk, with its doc comment and attributes;
//! * a larger container: split into its members (with the container's header line
//!   as `context_header`) and `Header` chunks for its own lines (head, fields,
//!   code between members), recursively;
//! * a larger single definition: `Window` pieces of about equal size;
//! * code outside definitions: `TopLevel` chunks of consecutive lines up to the cap,
//!   preferring to break at blank lines;
//! * small constants, type aliases, prototypes and declarations without a body are
//!   part of the surrounding top-level or header code.
//!
//! # Performance
//!
//! Queries are compiled once per process (about 0.3 s for all nine languages),
//! parsers and query cursors are reused per thread, and token counting (o200k) is
//! done at most once per line, memoised for short lines, and skipped wherever the
//! byte length alone proves a text fits (every BPE token covers at least one byte).
//! Throughput is about 4 MB/s per core on mixed source; parsing, the query pass and
//! token counting take roughly 40 / 30 / 25 % of it.
//!
//! ```
//! use codectx_core::{ChunkKind, Language, SymbolKind};
//! use codectx_syntax::{parse_file, ChunkOptions};
//!
//! let source = "def greet(name):\n    \"\"\"Say hello.\"\"\"\n    return 'hi ' + name\n";
//! let parsed = parse_file("hello.py", Language::Python, source, &ChunkOptions::default());
//! assert_eq!(parsed.symbols[0].name, "greet");
//! assert_eq!(parsed.symbols[0].kind, SymbolKind::Function);
//! assert_eq!(parsed.symbols[0].doc.as_deref(), Some("Say hello."));
//! assert_eq!(parsed.chunks.len(), 1);
//! assert_eq!(parsed.chunks[0].kind, ChunkKind::Definition);
//! ```
#![deny(missing_docs)]

mod chunk;
mod extract;
mod imports;
pub mod languages;
mod lines;
mod parse;
mod resolve;

use std::time::Duration;

use codectx_core::{Language, ParsedFile};

pub use languages::check_queries;
pub use resolve::{resolve_imports, rust_module_path, FileSet};

/// How [`parse_file`] chunks a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkOptions {
    /// Cap of one chunk in `o200k_base` tokens (default 400). A single line longer
    /// than the cap is a chunk by itself (lines are never split). 0 is treated as 1.
    pub chunk_tokens: usize,
    /// Lines of a text window for files without a grammar and for the fallback of
    /// unparseable files (default 60); windows are also capped by `chunk_tokens`.
    /// 0 is treated as 1.
    pub window_lines: usize,
    /// Longest time parsing one file may take (default 2 s), and separately the
    /// longest time its queries may take; past either the file is chunked as line
    /// windows and [`ParsedFile::timed_out`] is set. [`Duration::ZERO`] means no limit.
    pub parse_timeout: Duration,
}

impl Default for ChunkOptions {
    fn default() -> Self {
        ChunkOptions { chunk_tokens: 400, window_lines: 60, parse_timeout: Duration::from_secs(2) }
    }
}

/// Parses one file into symbols, chunks and (unresolved) imports.
///
/// * `path` is the repository-relative path with `/` separators; it only matters
///   for Rust, whose qualified names are prefixed by [`rust_module_path`].
/// * `source` is the whole file; all spans in the result are UTF-8 byte offsets
///   into it plus 1-based inclusive line numbers.
///
/// Never fails and never panics: languages without a grammar (Markdown, Config,
/// Text) are chunked into line windows ([`codectx_core::ChunkKind::Window`]); so are
/// files whose parse or query hits `options.parse_timeout` (then
/// [`ParsedFile::timed_out`] is set and no symbols or imports are extracted). Files
/// with syntax errors are still extracted as far as they parse, with
/// [`ParsedFile::has_errors`] set; if no definition parses at all, they are chunked
/// as line windows too.
pub fn parse_file(path: &str, language: Language, source: &str, options: &ChunkOptions) -> ParsedFile {
    let options = ChunkOptions {
        chunk_tokens: options.chunk_tokens.max(1),
        window_lines: options.window_lines.max(1),
        parse_timeout: options.parse_timeout,
    };
    let windows = |timed_out: bool| ParsedFile {
        chunks: chunk::windows(language, source, &options),
        timed_out,
        ..ParsedFile::default()
    };
    let Some(grammar) = languages::grammar(language) else {
        return windows(false);
    };
    if source.is_empty() {
        return ParsedFile::default();
    }
    // Spans are u32 byte offsets; larger inputs are not code the index keeps.
    if source.len() >= u32::MAX as usize {
        return windows(false);
    }
    let outcome = parse::with_tree(grammar, source, options.parse_timeout, |tree, cursor| {
        extract::extract(grammar, path, source, tree, cursor, options.parse_timeout)
    });
    match outcome {
        parse::Outcome::Parsed(Some(extraction)) => {
            // Nothing recognisable in a file with syntax errors (a C++ header parsed
            // as C, a binary, another dialect): line windows, as for plain text.
            let chunks = if extraction.has_errors && extraction.symbols.is_empty() {
                chunk::windows(language, source, &options)
            } else {
                chunk::chunk_code(source, &extraction, &options)
            };
            ParsedFile {
                symbols: extraction.symbols,
                chunks,
                imports: extraction.imports,
                has_errors: extraction.has_errors,
                timed_out: false,
            }
        }
        // The queries ran out of time.
        parse::Outcome::Parsed(None) | parse::Outcome::TimedOut => windows(true),
        parse::Outcome::Failed => windows(false),
    }
}
