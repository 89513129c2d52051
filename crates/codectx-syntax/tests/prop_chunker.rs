//! Property tests of `parse_file` for every language (the nine grammars and the
//! three text kinds): it never panics, and on any input the chunks and symbols keep
//! the invariants the crate documents (`lib.rs` "Chunks", `chunk.rs`, `lines.rs`):
//!
//! * chunks are whole lines: a chunk starts at the first byte of its first line and
//!   ends at the end of its last line's content (`\n` or `\r\n` excluded); its
//!   byte span is in bounds, on char boundaries, and agrees with its 1-based lines;
//! * chunks are in order and never overlap; blank edge lines are left out, and
//!   every non-blank line is in exactly one chunk ("blank": only ASCII whitespace);
//! * a chunk of two or more lines fits the token cap (a single line may not);
//! * a chunk names the symbol it belongs to (index and qualified name agree);
//!   its references occur in its text, at most 64, without repeats;
//! * text languages, timed-out and unrecognisable files are `Window`s of at most
//!   `window_lines` lines, without symbols;
//! * symbols are in source order, with spans (and name spans inside them) in
//!   bounds, on char boundaries, agreeing with their lines, inside their parent;
//!   qualified names end with the name; signatures are at most ~300 bytes;
//! * imports are on lines of the file.
//!
//! Inputs: arbitrary strings, bytes decoded lossily (as the indexer reads files),
//! and generated "source" per language: keywords, definitions, braces, decorators,
//! comments, strings, Unicode, CRLF and lone CR, NULs, very long lines, deep nesting.
//!
//! Cases per property: 64 by default (a few seconds in all); `PROPTEST_CASES=N`
//! runs N each.

use codectx_core::{tokens, ChunkKind, Language, ParsedFile};
use codectx_syntax::{parse_file, ChunkOptions};
use proptest::prelude::*;

/// A path of each language (Rust's gives a module path, `x`).
fn path_of(language: Language) -> &'static str {
    match language {
        Language::Python => "pkg/x.py",
        Language::Rust => "src/x.rs",
        Language::JavaScript => "x.js",
        Language::TypeScript => "x.ts",
        Language::Tsx => "x.tsx",
        Language::Go => "x.go",
        Language::Java => "X.java",
        Language::C => "x.c",
        Language::Cpp => "x.cpp",
        Language::Markdown => "README.md",
        Language::Config => "x.toml",
        Language::Text => "notes",
    }
}

/// The lines of a text as `lines.rs` documents them: line `i` covers
/// `starts[i]..content_end(i)`, its `\n` or `\r\n` excluded (and a final lone `\r`);
/// a final terminator does not start another line; an empty text has none.
struct Lines {
    starts: Vec<usize>,
    content_ends: Vec<usize>,
}

impl Lines {
    fn new(source: &str) -> Lines {
        let bytes = source.as_bytes();
        let mut starts = Vec::new();
        let mut content_ends = Vec::new();
        let mut start = 0;
        while start < source.len() {
            let end_with_newline = source[start..].find('\n').map_or(source.len(), |at| start + at + 1);
            let mut end = end_with_newline;
            if end > start && bytes[end - 1] == b'\n' {
                end -= 1;
            }
            if end > start && bytes[end - 1] == b'\r' {
                end -= 1;
            }
            starts.push(start);
            content_ends.push(end);
            start = end_with_newline;
        }
        Lines { starts, content_ends }
    }

    /// 0-based line of a byte offset.
    fn line_of(&self, byte: usize) -> usize {
        self.starts.partition_point(|&start| start <= byte).saturating_sub(1)
    }

    fn is_blank(&self, source: &str, line: usize) -> bool {
        source[self.starts[line]..self.content_ends[line]].bytes().all(|byte| byte.is_ascii_whitespace())
    }
}

/// Checks every documented invariant of `parsed` (see the module docs).
fn check(source: &str, language: Language, options: &ChunkOptions, parsed: &ParsedFile) -> Result<(), TestCaseError> {
    let lines = Lines::new(source);
    let cap = options.chunk_tokens.max(1);
    let window_lines = options.window_lines.max(1);
    let mut owner: Vec<Option<usize>> = vec![None; lines.starts.len()];
    let mut previous_end_line = 0u32;

    for (index, chunk) in parsed.chunks.iter().enumerate() {
        let span = chunk.span;
        let (start, end) = (span.start_byte as usize, span.end_byte as usize);
        prop_assert!(start < end && end <= source.len(), "chunk {index} span {span:?} of {} bytes", source.len());
        prop_assert!(source.is_char_boundary(start) && source.is_char_boundary(end), "chunk {index} {span:?}");
        let first = lines.line_of(start);
        let last = lines.line_of(end - 1);
        prop_assert_eq!(lines.starts[first], start, "chunk {} starts inside a line: {:?}", index, span);
        prop_assert_eq!(lines.content_ends[last], end, "chunk {} does not end at its line's end: {:?}", index, span);
        prop_assert_eq!((span.start_line, span.end_line), (first as u32 + 1, last as u32 + 1), "chunk {}", index);
        prop_assert!(span.start_line > previous_end_line, "chunk {index} {span:?} overlaps or is out of order");
        previous_end_line = span.end_line;
        prop_assert!(!lines.is_blank(source, first) && !lines.is_blank(source, last), "blank edge in {span:?}");
        for (line, slot) in owner.iter_mut().enumerate().take(last + 1).skip(first) {
            prop_assert!(slot.is_none(), "line {} in chunks {:?} and {index}", line + 1, slot);
            *slot = Some(index);
        }

        let text = &source[start..end];
        if first != last {
            let count = tokens::count(text);
            prop_assert!(count <= cap, "chunk {index} {span:?} ({:?}) has {count} tokens > cap {cap}", chunk.kind);
        }

        match chunk.symbol {
            Some(symbol) => {
                let symbol = parsed.symbols.get(symbol as usize);
                prop_assert!(
                    symbol.is_some(),
                    "chunk {index} names symbol {:?} of {}",
                    chunk.symbol,
                    parsed.symbols.len()
                );
                let symbol = symbol.expect("checked");
                prop_assert_eq!(&chunk.symbol_path, &symbol.qualified_name);
                // A definition chunk holds its definition (with its doc comment). Window
                // and header pieces need not overlap the symbol's own lines: a doc
                // comment can be a piece of its own, and definitions sharing a line
                // are chunked together under the first one's name.
                if chunk.kind == ChunkKind::Definition {
                    prop_assert!(
                        span.start_line <= symbol.span.end_line && symbol.span.start_line <= span.end_line,
                        "chunk {index} {span:?} is outside its symbol {:?}",
                        symbol.span
                    );
                }
            }
            None => prop_assert!(chunk.symbol_path.is_empty(), "chunk {index} has a path but no symbol"),
        }
        if matches!(chunk.kind, ChunkKind::Definition | ChunkKind::Header) {
            prop_assert!(chunk.symbol.is_some(), "{:?} chunk {index} without a symbol", chunk.kind);
        }
        if let Some(header) = &chunk.context_header {
            prop_assert!(!header.trim().is_empty(), "chunk {index} has a blank context header");
        }

        prop_assert!(chunk.references.len() <= 64);
        for (i, reference) in chunk.references.iter().enumerate() {
            prop_assert!(
                !reference.is_empty() && text.contains(reference.as_str()),
                "reference {reference:?} of chunk {index}"
            );
            prop_assert!(!chunk.references[..i].contains(reference), "reference {reference:?} repeated");
        }
    }
    for (line, owner) in owner.iter().enumerate() {
        if !lines.is_blank(source, line) {
            prop_assert!(owner.is_some(), "non-blank line {} is in no chunk", line + 1);
        }
    }

    let windows_only = !language.has_grammar() || parsed.timed_out || (parsed.has_errors && parsed.symbols.is_empty());
    if windows_only {
        for chunk in &parsed.chunks {
            prop_assert_eq!(chunk.kind, ChunkKind::Window);
            prop_assert!(chunk.symbol.is_none());
            prop_assert!(
                chunk.span.line_count() as usize <= window_lines,
                "window {:?} over {window_lines} lines",
                chunk.span
            );
        }
    }
    if !language.has_grammar() || parsed.timed_out {
        prop_assert!(parsed.symbols.is_empty() && parsed.imports.is_empty());
    }

    for (index, symbol) in parsed.symbols.iter().enumerate() {
        for (what, span) in [("span", symbol.span), ("name span", symbol.name_span)] {
            let (start, end) = (span.start_byte as usize, span.end_byte as usize);
            prop_assert!(start <= end && end <= source.len(), "symbol {index} {what} {span:?}");
            prop_assert!(
                source.is_char_boundary(start) && source.is_char_boundary(end),
                "symbol {index} {what} {span:?}"
            );
            let last = if end > start { end - 1 } else { start };
            prop_assert_eq!(
                (span.start_line, span.end_line),
                (lines.line_of(start) as u32 + 1, lines.line_of(last) as u32 + 1),
                "symbol {} {} {:?}",
                index,
                what,
                span
            );
        }
        prop_assert!(
            symbol.span.start_byte <= symbol.name_span.start_byte && symbol.name_span.end_byte <= symbol.span.end_byte,
            "symbol {index}: name {:?} outside {:?}",
            symbol.name_span,
            symbol.span
        );
        if index > 0 {
            prop_assert!(parsed.symbols[index - 1].span.start_byte <= symbol.span.start_byte, "symbols out of order");
        }
        if let Some(parent) = symbol.parent {
            prop_assert!((parent as usize) < index, "symbol {index} has parent {parent}");
            let parent = &parsed.symbols[parent as usize].span;
            prop_assert!(
                parent.start_byte <= symbol.span.start_byte && symbol.span.end_byte <= parent.end_byte,
                "symbol {index} {:?} outside its parent {parent:?}",
                symbol.span
            );
        }
        prop_assert!(
            symbol.qualified_name.ends_with(symbol.name.as_str()),
            "{:?} / {:?}",
            symbol.qualified_name,
            symbol.name
        );
        prop_assert!(symbol.signature.len() <= 300 + '…'.len_utf8(), "signature of {} bytes", symbol.signature.len());
        prop_assert!(symbol.name.len() <= 200 + '…'.len_utf8(), "name of {} bytes", symbol.name.len());
    }
    for import in &parsed.imports {
        prop_assert!(import.line >= 1 && import.line as usize <= lines.starts.len(), "import {import:?}");
    }
    Ok(())
}

fn language() -> impl Strategy<Value = Language> {
    prop::sample::select(Language::ALL.to_vec())
}

/// Chunk caps from degenerate (0 and 1 token, 0 window lines) to the default.
fn options() -> impl Strategy<Value = ChunkOptions> {
    (prop_oneof![0usize..=4, 5usize..=64, Just(400)], prop_oneof![0usize..=3, 4usize..=80])
        .prop_map(|(chunk_tokens, window_lines)| ChunkOptions { chunk_tokens, window_lines, ..ChunkOptions::default() })
}

/// Fragments of source in the style of `language`, plus ones every language shares.
fn fragment(language: Language) -> BoxedStrategy<String> {
    let own: Vec<&'static str> = match language {
        Language::Python => vec![
            "def f(a, b=1):\n",
            "class A(B):\n",
            "    ",
            "        ",
            "pass\n",
            "return x\n",
            "@decorator\n",
            "\"\"\"Doc.\"\"\"\n",
            "async def g():\n",
            "lambda x: x\n",
            "from . import a\n",
            "import os.path\n",
            "if x:\n",
            "'''",
            "#",
            "    def m(self):\n        return self\n",
        ],
        Language::Rust => vec![
            "fn f(a: u32) -> u32 {",
            "impl<T> Foo<T> for Bar {",
            "struct S {",
            "enum E {",
            "trait T {",
            "mod m {",
            "#[derive(Debug)]\n",
            "/// doc\n",
            "use crate::a::{b, c};\n",
            "macro_rules! m {",
            "pub(crate) ",
            "'a",
            "r#\"",
            "\"#",
            "let x = 1;\n",
            "unsafe { }",
        ],
        Language::JavaScript | Language::TypeScript | Language::Tsx => vec![
            "function f(a) {",
            "class A extends B {",
            "const f = (a) => {",
            "export default ",
            "import { a } from './a';\n",
            "async *gen() {",
            "interface I {",
            "type T = {",
            "namespace N {",
            "<div>{x}</div>",
            "`${",
            "}`",
            "/* */",
            "get x() {",
            "static m() {",
            "=> ",
        ],
        Language::Go => vec![
            "package main\n",
            "func f(a int) int {",
            "func (s *Server[T]) Start() {",
            "type S struct {",
            "type I interface {",
            "import (\n\"fmt\"\n)\n",
            "go func() {",
            "var x = ",
            "`raw`",
            "case 1:",
        ],
        Language::Java => vec![
            "public class A<T> extends B {",
            "interface I {",
            "enum E {",
            "@Override\n",
            "void m() {",
            "package a.b;\n",
            "import a.b.C;\n",
            "record R(int x) {",
            "new Object() {",
            "/** doc */\n",
            "static {",
        ],
        Language::C | Language::Cpp => vec![
            "int f(int a) {",
            "struct S {",
            "typedef struct {",
            "} T;\n",
            "#include <a.h>\n",
            "#include \"b.h\"\n",
            "#define M(x) ",
            "#if X\n",
            "#endif\n",
            "namespace n {",
            "class A : public B {",
            "template <typename T>\n",
            "void A::m() {",
            "A::~A() {",
            "operator<<(",
            "extern \"C\" {",
        ],
        Language::Markdown => vec!["# Title\n", "## Section\n", "```\n", "- item\n", "> quote\n", "text "],
        Language::Config => vec!["[section]\n", "key = \"value\"\n", "a:\n  - b\n", "{\"k\": [1, 2]}\n", "<x>y</x>\n"],
        Language::Text => vec!["word ", "line\n"],
    };
    let shared: Vec<&'static str> = vec![
        "{",
        "}",
        "(",
        ")",
        "[",
        "]",
        ";",
        ",",
        ":",
        "\n",
        "\n",
        "\n",
        "\r\n",
        "\r",
        "\t",
        " ",
        "    ",
        "\n\n\n",
        "x",
        "name_1",
        "CamelCase",
        "é",
        "日本語",
        "🦀",
        "\u{0}",
        "\u{FEFF}",
        "\u{2028}",
        "\u{301}",
        "\"",
        "'",
        "\\",
        "//",
        "/*",
        "*/",
        "#",
        "= ",
        "return ",
        "{{{{{{{{",
        "}}}}}}}}",
        "((((((((",
        "))))))))",
        "\u{B}",
        "\u{C}",
    ];
    prop_oneof![
        6 => prop::sample::select(own).prop_map(str::to_string),
        6 => prop::sample::select(shared).prop_map(str::to_string),
        2 => "[a-zA-Z_][a-zA-Z0-9_]{0,12}",
        1 => (1usize..3000, prop::sample::select(vec!["x", "a ", "é", "\u{0}", "{", "/"]))
            .prop_map(|(n, unit)| unit.repeat(n)),
        1 => any::<char>().prop_map(String::from),
    ]
    .boxed()
}

/// A language and a generated source in its style.
fn language_and_source() -> impl Strategy<Value = (Language, String)> {
    language().prop_flat_map(|language| {
        (Just(language), proptest::collection::vec(fragment(language), 0..120).prop_map(|parts| parts.concat()))
    })
}

/// Valid-looking definitions repeated so that containers exceed small caps and are
/// split, nested definitions, and a long body.
fn nested_source() -> impl Strategy<Value = (Language, String)> {
    (
        prop::sample::select(vec![
            Language::Python,
            Language::Rust,
            Language::Java,
            Language::Cpp,
            Language::TypeScript,
            Language::Go,
        ]),
        1usize..12,
        1usize..6,
        0usize..40,
    )
        .prop_map(|(language, members, depth, body)| {
            let statement = |indent: &str| match language {
                Language::Python => format!("{indent}x = call(x, {body})\n"),
                _ => format!("{indent}x = call(x, {body});\n"),
            };
            let mut source = String::new();
            for level in 0..depth {
                let indent = "    ".repeat(level);
                source.push_str(&match language {
                    Language::Python => format!("{indent}class C{level}:\n"),
                    Language::Rust => format!("{indent}impl C{level} {{\n"),
                    Language::Go => format!("{indent}func F{level}() {{\n"),
                    _ => format!("{indent}class C{level} {{\n"),
                });
            }
            let indent = "    ".repeat(depth);
            for member in 0..members {
                source.push_str(&match language {
                    Language::Python => format!("{indent}def m{member}(self):\n"),
                    Language::Rust => format!("{indent}fn m{member}(&self) {{\n"),
                    Language::Go => format!("{indent}m{member} := func() {{\n"),
                    _ => format!("{indent}void m{member}() {{\n"),
                });
                for _ in 0..body {
                    source.push_str(&statement(&format!("{indent}    ")));
                }
                if language != Language::Python {
                    source.push_str(&format!("{indent}}}\n"));
                }
                source.push_str("\r\n");
            }
            for level in (0..depth).rev() {
                if language != Language::Python {
                    source.push_str(&format!("{}}}\n", "    ".repeat(level)));
                }
            }
            (language, source)
        })
}

fn run(language: Language, source: &str, options: &ChunkOptions) -> Result<(), TestCaseError> {
    let parsed = parse_file(path_of(language), language, source, options);
    check(source, language, options, &parsed)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Arbitrary Unicode, in every language.
    #[test]
    fn arbitrary_text(language in language(), source in any::<String>(), options in options()) {
        run(language, &source, &options)?;
    }

    /// Arbitrary bytes, decoded lossily as the indexer decodes invalid UTF-8.
    #[test]
    fn arbitrary_bytes(language in language(), bytes in proptest::collection::vec(any::<u8>(), 0..2000), options in options()) {
        run(language, &String::from_utf8_lossy(&bytes), &options)?;
    }

    /// Source-like soup in the style of each language.
    #[test]
    fn generated_source(
        (language, source) in language_and_source(),
        options in options(),
    ) {
        run(language, &source, &options)?;
    }

    /// Nested containers whose members outgrow the cap: split containers, windows
    /// of large definitions, headers.
    #[test]
    fn nested_definitions((language, source) in nested_source(), cap in 1usize..120) {
        let options = ChunkOptions { chunk_tokens: cap, ..ChunkOptions::default() };
        run(language, &source, &options)?;
    }
}

/// Inputs picked by hand, in every language with a few caps.
#[test]
fn edge_cases() {
    let sources = [
        String::new(),
        "\n".into(),
        "\r\n\r\n".into(),
        "\r".into(),
        "x\r".into(),
        "a\rb\rc".into(),
        " \u{B} \n".into(),
        "\u{0}".repeat(100),
        "\u{FEFF}def f():\n    pass\n".into(),
        format!("def f():\n    return '{}'\n", "x".repeat(20_000)),
        "{".repeat(3000),
        "def f():\n".repeat(200),
        "é\r\né\r\n\r\n   \r\n".into(),
        // Found by a 100,000-case run: parse-error recovery made a Rust impl target
        // of 102 `é` (alphanumeric, 204 bytes) that escaped the 200-byte name cap.
        format!(
            "impl<T> Foo<T> for Bar {{impl<T> Foo<T> for Bar {{struct S {{*///\0\0\n{}(]let x = 1;\n",
            "é".repeat(102)
        ),
    ];
    for language in Language::ALL {
        for source in &sources {
            for chunk_tokens in [0, 1, 3, 400] {
                let options = ChunkOptions { chunk_tokens, window_lines: 3, ..ChunkOptions::default() };
                run(language, source, &options).unwrap_or_else(|error| {
                    panic!(
                        "{language:?}, cap {chunk_tokens}, {:?}…: {error}",
                        &source.chars().take(40).collect::<String>()
                    )
                });
            }
        }
    }
}
