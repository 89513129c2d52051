//! Chunking rules and robustness: windows, long lines, oversized definitions,
//! syntax errors, garbage, deep nesting, timeouts.

mod common;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use codectx_core::{ChunkKind, Language};
use codectx_syntax::{parse_file, ChunkOptions};
use common::*;

const GRAMMARS: [(Language, &str); 9] = [
    (Language::Python, "x.py"),
    (Language::Rust, "src/x.rs"),
    (Language::JavaScript, "x.js"),
    (Language::TypeScript, "x.ts"),
    (Language::Tsx, "x.tsx"),
    (Language::Go, "x.go"),
    (Language::Java, "X.java"),
    (Language::C, "x.c"),
    (Language::Cpp, "x.cpp"),
];

#[test]
fn text_files_are_line_windows() {
    let mut source = String::new();
    for i in 0..150 {
        writeln!(source, "line {i}").unwrap();
    }
    let parsed = parse("notes.txt", Language::Text, &source);
    assert!(parsed.symbols.is_empty() && parsed.imports.is_empty());
    assert_eq!(
        summary(&parsed),
        [
            (ChunkKind::Window, 1, 60, String::new()),
            (ChunkKind::Window, 61, 120, String::new()),
            (ChunkKind::Window, 121, 150, String::new()),
        ]
    );
    // Windows are capped by tokens too.
    let parsed = parse_with_cap("notes.txt", Language::Text, &source, 50);
    assert!(parsed.chunks.len() > 3);
    assert!(parsed.chunks.iter().all(|c| c.kind == ChunkKind::Window && c.symbol.is_none()));
}

#[test]
fn markdown_windows_break_before_headings_and_at_paragraphs() {
    let mut source = String::from("# Title\n\n");
    for section in 0..3 {
        writeln!(source, "## Section {section}\n").unwrap();
        for line in 0..30 {
            writeln!(source, "Paragraph text {section}.{line} about the thing.").unwrap();
        }
        source.push('\n');
    }
    let parsed = parse("README.md", Language::Markdown, &source);
    assert!(parsed.chunks.len() >= 3);
    for chunk in &parsed.chunks[1..] {
        let first = text(&source, chunk).lines().next().unwrap();
        assert!(first.starts_with("## Section"), "window starts with {first:?}");
    }
}

#[test]
fn a_very_long_line_is_one_chunk() {
    let long = format!("x = [{}]", "1234, ".repeat(3000));
    for (language, path) in [(Language::Python, "long.py"), (Language::Text, "long.txt")] {
        let source = format!("import os\n\n{long}\n\ndef f():\n    return 1\n");
        let parsed = parse(path, language, &source);
        let long_chunk = parsed.chunks.iter().find(|c| c.span.start_line == 3).expect("a chunk for the long line");
        assert_eq!(long_chunk.span.end_line, 3);
        assert_eq!(text(&source, long_chunk), long);
    }
    // A single line with no terminator at all.
    let parsed = parse("min.js", Language::JavaScript, &format!("var a=[{}];", "1,".repeat(50_000)));
    assert_eq!(parsed.chunks.len(), 1);
}

#[test]
fn an_oversized_function_is_split_into_windows() {
    let mut source = String::from("import os\n\n\ndef big(items):\n    \"\"\"Does a lot.\"\"\"\n");
    for i in 0..300 {
        writeln!(source, "    total_{i} = compute_value(items, {i}) + offset_{i}").unwrap();
        if i % 20 == 19 {
            source.push('\n');
        }
    }
    source.push_str("    return total_0\n\n\ndef small():\n    return big([])\n");
    let parsed = parse("big.py", Language::Python, &source);
    let windows: Vec<_> = parsed.chunks.iter().filter(|c| c.kind == ChunkKind::Window).collect();
    assert!(windows.len() >= 5, "{:?}", summary(&parsed));
    assert!(windows.iter().all(|c| c.symbol_path == "big" && c.symbol == Some(0)));
    assert_eq!(windows[0].span.start_line, 4);
    assert!(windows[0].references.contains(&"compute_value".to_string()));
    let small = chunk(&parsed, ChunkKind::Definition, "small");
    assert_eq!(small.references, ["big"]);
}

#[test]
fn nested_containers_split_recursively_with_combined_headers() {
    let mut source = String::from("class Outer:\n    \"\"\"Outer doc.\"\"\"\n\n    class Inner(Base):\n");
    for i in 0..12 {
        writeln!(source, "        def method_{i}(self, value):\n            return self.helper_{i}(value) * {i}\n")
            .unwrap();
    }
    source.push_str("    def after(self):\n        return Outer.Inner()\n");
    let parsed = parse_with_cap("nested.py", Language::Python, &source, 60);
    let method = chunk(&parsed, ChunkKind::Definition, "Outer.Inner.method_3");
    assert_eq!(method.context_header.as_deref(), Some("class Outer:\n    class Inner(Base):"));
    let after = chunk(&parsed, ChunkKind::Definition, "Outer.after");
    assert_eq!(after.context_header.as_deref(), Some("class Outer:"));
    let outer_header = chunk(&parsed, ChunkKind::Header, "Outer");
    assert_eq!((outer_header.span.start_line, outer_header.span.end_line), (1, 2));
    assert_eq!(outer_header.context_header, None);
    let inner_header = chunk(&parsed, ChunkKind::Header, "Outer.Inner");
    assert_eq!(inner_header.span.start_line, 4);
    assert_eq!(inner_header.context_header.as_deref(), Some("class Outer:"));
}

#[test]
fn top_level_code_is_grouped_and_closing_braces_join_the_previous_chunk() {
    let mut source = String::new();
    for i in 0..10 {
        writeln!(source, "use crate::module_{i}::Item{i};").unwrap();
    }
    source.push_str(
        "\nconst A: u32 = 1;\nconst B: u32 = 2;\n\nfn first() -> u32 {\n    A + B\n}\n\nstatic C: u32 = 3;\n",
    );
    let parsed = parse("src/lib.rs", Language::Rust, &source);
    assert_eq!(
        summary(&parsed),
        [
            (ChunkKind::TopLevel, 1, 13, String::new()),
            (ChunkKind::Definition, 15, 17, "first".into()),
            (ChunkKind::TopLevel, 19, 19, String::new()),
        ]
    );
    // The closing line of a split impl joins its last method.
    let mut source = String::from("impl Engine {\n");
    for i in 0..8 {
        writeln!(
            source,
            "    pub fn step_{i}(&mut self) -> u64 {{\n        self.advance({i}) + self.counter\n    }}\n"
        )
        .unwrap();
    }
    source.push_str("}\n");
    let parsed = parse_with_cap("src/engine.rs", Language::Rust, &source, 50);
    let last = parsed.chunks.last().unwrap();
    assert_eq!(last.symbol_path, "engine::Engine::step_7");
    assert_eq!(last.span.end_line as usize, source.lines().count());
    assert_eq!(parsed.chunks[0].kind, ChunkKind::Header);
    assert_eq!(parsed.chunks[1].context_header.as_deref(), Some("impl Engine {"));
}

#[test]
fn syntax_errors_keep_what_parses() {
    let source = "def good_one(a):\n    return a\n\ndef broken(:\n    return ]]\n\nclass Fine:\n    def method(self):\n        return 1\n";
    let parsed = parse("broken.py", Language::Python, source);
    assert!(parsed.has_errors);
    let names: Vec<_> = parsed.symbols.iter().map(|s| s.qualified_name.as_str()).collect();
    assert!(names.contains(&"good_one"), "{names:?}");
    assert!(names.contains(&"Fine.method"), "{names:?}");
    let source = "fn ok() -> u32 { 1 }\nfn broken( { let = ; }\nstruct Still { a: u8 }\n";
    let parsed = parse("src/broken.rs", Language::Rust, source);
    assert!(parsed.has_errors);
    assert!(parsed.symbols.iter().any(|s| s.name == "ok"));
    assert!(parsed.symbols.iter().any(|s| s.name == "Still"));
}

#[test]
fn empty_and_blank_files() {
    for (language, path) in GRAMMARS.iter().copied().chain([(Language::Text, "x.txt"), (Language::Markdown, "x.md")]) {
        for source in ["", "\n", "   \n\n\t\n", "\r\n\r\n"] {
            let parsed = parse(path, language, source);
            assert!(parsed.chunks.is_empty(), "{language}: {source:?}");
            assert!(parsed.symbols.is_empty());
        }
    }
}

/// A deterministic pseudo-random byte generator (xorshift).
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.max(1);
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

#[test]
fn garbage_never_panics() {
    for (language, path) in GRAMMARS {
        for seed in 1..6u64 {
            let bytes = noise(seed * 7919, 20_000);
            let source = String::from_utf8_lossy(&bytes);
            let parsed = parse(path, language, &source);
            assert!(!parsed.chunks.is_empty());
        }
        // Fragments of real syntax, shuffled.
        let tokens = [
            "def",
            "class",
            "fn",
            "{",
            "}",
            "(",
            ")",
            "\"",
            "'",
            "/*",
            "*/",
            "#",
            "<",
            ">",
            "impl",
            "::",
            "\n",
            ":",
            ";",
            "=>",
            "@",
            "`",
            "func",
            "template",
            "namespace",
        ];
        let mut source = String::new();
        for (i, byte) in noise(99, 5000).into_iter().enumerate() {
            source.push_str(tokens[byte as usize % tokens.len()]);
            if i % 3 == 0 {
                source.push(' ');
            }
        }
        parse(path, language, &source);
    }
}

#[test]
fn deep_nesting_does_not_overflow() {
    let depth = 10_000;
    let cases: Vec<(Language, &str, String)> = vec![
        (Language::Python, "deep.py", format!("x = {}1{}\n", "(".repeat(depth), ")".repeat(depth))),
        (Language::JavaScript, "deep.js", format!("const x = {}1{};\n", "[".repeat(depth), "]".repeat(depth))),
        (Language::JavaScript, "fns.js", format!("{}{}\n", "function f() {".repeat(depth), "}".repeat(depth))),
        (Language::Rust, "src/deep.rs", format!("fn main() {{ {}1{} }}\n", "{".repeat(depth), "}".repeat(depth))),
        (Language::Rust, "src/mods.rs", format!("{}{}", "mod m {\n".repeat(depth), "}\n".repeat(depth))),
        (Language::C, "deep.c", format!("int x = {}1{};\n", "(".repeat(depth), ")".repeat(depth))),
        (Language::Cpp, "deep.cpp", format!("{}{}\n", "namespace n { ".repeat(depth), "}".repeat(depth))),
        (Language::Go, "deep.go", format!("package p\nvar x = {}1{}\n", "(".repeat(depth), ")".repeat(depth))),
        (
            Language::Java,
            "Deep.java",
            format!("{}{}", "class C {\n  void m() { run(); }\n".repeat(depth), "}\n".repeat(depth)),
        ),
        (Language::TypeScript, "deep.ts", format!("{}{}\n", "namespace N { ".repeat(depth), "}".repeat(depth))),
        (
            Language::Python,
            "classes.py",
            (0..1000).map(|i| format!("{}class C{i}:\n", " ".repeat(i))).collect::<String>()
                + &" ".repeat(1000)
                + "pass\n",
        ),
    ];
    for (language, path, source) in cases {
        let started = Instant::now();
        let parsed = parse(path, language, &source);
        assert!(!parsed.chunks.is_empty(), "{path}");
        assert!(started.elapsed() < Duration::from_secs(60), "{path} took {:?}", started.elapsed());
        for symbol in &parsed.symbols {
            assert!(symbol.qualified_name.len() < 4096, "{path}: qualified names stay bounded");
        }
    }
}

#[test]
fn a_parse_timeout_falls_back_to_windows() {
    let mut source = String::new();
    for i in 0..40_000 {
        writeln!(source, "def f{i}(a, b):\n    return g(a) + h(b) * {i}\n").unwrap();
    }
    let options = ChunkOptions { parse_timeout: Duration::from_nanos(1), ..ChunkOptions::default() };
    let parsed = parse_file("huge.py", Language::Python, &source, &options);
    assert!(parsed.timed_out);
    assert!(parsed.symbols.is_empty());
    assert!(parsed.chunks.iter().all(|c| c.kind == ChunkKind::Window));
    check_invariants(&source, &parsed, options.chunk_tokens);
    // The next parse on this thread is unaffected.
    let parsed = parse("ok.py", Language::Python, "def ok():\n    return 1\n");
    assert!(!parsed.timed_out);
    assert_eq!(parsed.symbols[0].name, "ok");
}

#[test]
fn definitions_sharing_lines_do_not_overlap() {
    let source = "function a() { return 1 } function b() { return a() }\nclass K { m() {} n() {} }\nconst x = () => 1, y = () => 2;\n";
    let parsed = parse("min.js", Language::JavaScript, source);
    assert_eq!(parsed.symbols.iter().filter(|s| s.name == "a" || s.name == "b").count(), 2);
    let x = symbol(&parsed, "x");
    let y = symbol(&parsed, "y");
    assert_eq!((x.parent, y.parent), (None, None), "declarators of one statement are siblings");
    assert_eq!(x.span, y.span);
    assert_eq!(parsed.chunks.len(), 3);
    let parsed = parse_with_cap("min.js", Language::JavaScript, &source.repeat(40), 30);
    assert!(!parsed.chunks.is_empty());
}

#[test]
fn unicode_and_crlf_spans() {
    let source = "# é ü 中文\r\ndef grüß(name):\r\n    \"\"\"Grüßt — höflich.\"\"\"\r\n    return f\"Hallo {name} ✓\"\r\n\r\nclass Ünïcode:\r\n    pass\r\n";
    let parsed = parse("u.py", Language::Python, source);
    let greet = symbol(&parsed, "grüß");
    assert_eq!(lines(greet), (2, 4));
    assert_eq!(greet.doc.as_deref(), Some("Grüßt — höflich."));
    assert_eq!(&source[greet.name_span.start_byte as usize..greet.name_span.end_byte as usize], "grüß");
    let chunk = chunk(&parsed, ChunkKind::Definition, "grüß");
    assert!(text(source, chunk).ends_with("✓\""), "the \\r is not part of the chunk");
    assert_eq!(symbol(&parsed, "Ünïcode").signature, "class Ünïcode:");
}

#[test]
fn chunks_cover_real_files_within_the_cap() {
    // This crate's own sources: every invariant on real, larger files.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let source = std::fs::read_to_string(&path).unwrap();
        for cap in [400, 120] {
            let parsed = parse_with_cap("crates/codectx-syntax/src/x.rs", Language::Rust, &source, cap);
            assert!(!parsed.has_errors, "{}", path.display());
            assert!(parsed.symbols.len() > 3);
        }
    }
}
