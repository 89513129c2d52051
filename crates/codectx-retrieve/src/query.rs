//! Query analysis: what an issue text or question says about code.
//!
//! A query is split into the parts that point at code in different ways, each of
//! which feeds its own signal:
//! * identifiers (`snake_case`, `CamelCase`, `dotted.paths`, `Class.method`, `a::b`),
//!   words in backticks, and names followed by `(` → the symbol signal;
//! * file paths (`src/walk.rs`, `requests/sessions.py`) and dotted module names
//!   → the path signal;
//! * stack-trace frames (Python, Rust/Go/JS `path:line[:col]`, Java `at a.b.C.m(C.java:10)`)
//!   → the stack-trace signal;
//! * all words, code-tokenized → BM25.

use std::collections::HashSet;
use std::sync::OnceLock;

use regex::Regex;

/// A stack-trace frame found in a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The path as written (may be absolute or have a prefix outside the repository).
    pub path: String,
    /// 1-based line, if given.
    pub line: Option<u32>,
    /// The function, if given.
    pub function: Option<String>,
    /// The source line the trace prints under the frame (Python does), trimmed:
    /// it still finds the frame's code when the reporter's line numbers differ
    /// from the indexed version.
    pub source: Option<String>,
    /// Position of the frame in the trace (0 = first printed).
    pub order: usize,
}

/// The parts of a query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AnalyzedQuery {
    /// Code identifiers, deduplicated, in order of first mention.
    pub identifiers: Vec<String>,
    /// File paths mentioned (with an extension or a `/`).
    pub paths: Vec<String>,
    /// Dotted names that may be module paths (`requests.sessions`).
    pub modules: Vec<String>,
    /// Stack-trace frames, in printed order.
    pub frames: Vec<Frame>,
    /// Error messages and quoted sentences that may be string literals in the
    /// code (`ValueError: invalid literal for int()` → `invalid literal for int()`).
    pub messages: Vec<String>,
}

fn identifier_pattern() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| {
        Regex::new(r"[A-Za-z_][A-Za-z0-9_]*(?:(?:\.|::)[A-Za-z_][A-Za-z0-9_]*)*(\s*\()?").expect("valid regex")
    })
}

fn backtick_pattern() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| Regex::new(r"`([^`\n]{1,200})`").expect("valid regex"))
}

fn path_pattern() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| {
        Regex::new(
            r"(?:[A-Za-z]:)?[A-Za-z0-9_.\-/\\]*[A-Za-z0-9_\-]\.(?:py|pyi|rs|js|mjs|cjs|jsx|ts|tsx|go|java|c|h|cc|cpp|cxx|hpp|hh|md|toml|yaml|yml|json|cfg|ini|txt|rst)\b",
        )
        .expect("valid regex")
    })
}

fn python_frame() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN
        .get_or_init(|| Regex::new(r#"File "([^"]+)", line (\d+)(?:, in ([A-Za-z_<>][\w<>]*))?"#).expect("valid regex"))
}

fn error_line() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| {
        // `[ \t]*` around the colon, not `\s*`: the message is on the error's own line.
        Regex::new(r"(?m)^\s*(?:[\w.]+\.)?\w*(?:Error|Exception|Warning|Failure|Fault)[ \t]*:[ \t]*(.{8,300})$")
            .expect("valid regex")
    })
}

fn quoted_sentence() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| Regex::new(r#""([^"\n]{12,200})"|'([^'\n]{12,200})'"#).expect("valid regex"))
}

fn java_frame() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| {
        Regex::new(r"at ([\w$.]+)\.([\w$<>]+)\(([\w$]+\.(?:java|kt|scala)):(\d+)\)").expect("valid regex")
    })
}

fn line_frame() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| {
        Regex::new(r"((?:[A-Za-z]:)?[A-Za-z0-9_.\-/\\]*[A-Za-z0-9_\-]\.(?:py|rs|js|mjs|cjs|jsx|ts|tsx|go|java|c|h|cc|cpp|cxx|hpp|rb|php)):(\d+)(?::\d+)?")
            .expect("valid regex")
    })
}

/// The code line a Python traceback prints under a frame: the line after the
/// frame's own (`after` starts right after `File "…", line N, in f`), when it is
/// indented, is not another frame and has at least 4 characters.
fn frame_source_line(after: &str) -> Option<String> {
    let mut lines = after.split('\n');
    let rest_of_frame = lines.next()?;
    if !rest_of_frame.trim().is_empty() {
        return None; // the frame line goes on: not a traceback layout
    }
    let next = lines.next()?.trim_end_matches('\r');
    let trimmed = next.trim();
    let indented = next.starts_with(' ') || next.starts_with('\t');
    (indented && trimmed.len() >= 4 && !trimmed.starts_with("File \"") && trimmed.len() <= 300)
        .then(|| trimmed.to_string())
}

/// Whether a bare word looks like code rather than English: it has an underscore,
/// an inner capital (`camelCase`, `HTTPError`), a digit after letters, or a
/// separator (`a.b`, `a::b`).
pub fn looks_like_code(word: &str) -> bool {
    if word.contains("::") || (word.contains('.') && !word.ends_with('.')) {
        return true;
    }
    let trimmed = word.trim_matches('_');
    if trimmed.contains('_') || (word.starts_with('_') && word.len() > 2) {
        return true;
    }
    let mut chars = trimmed.chars();
    let Some(first) = chars.next() else { return false };
    let rest: String = chars.collect();
    if rest.chars().any(|c| c.is_ascii_uppercase()) && rest.chars().any(|c| c.is_ascii_lowercase()) {
        return true; // camelCase, PascalCase with an inner capital
    }
    if first.is_ascii_uppercase()
        && rest.len() >= 2
        && rest.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return false; // an all-caps word in prose (ERROR, HTTP)
    }
    trimmed.chars().any(|c| c.is_ascii_digit()) && trimmed.chars().any(|c| c.is_ascii_alphabetic()) && trimmed.len() > 2
}

/// Bytes of a query's prose that are embedded: [`prose`]'s cap everywhere.
/// Measured on the dev set: embedding the prose (not the code and tracebacks) of
/// an issue raised hybrid MRR from 0.574 to 0.593 (lexical: 0.589).
pub const EMBEDDED_PROSE_BYTES: usize = 1000;

/// The prose of a query, for the embedding: fenced code blocks, interpreter
/// prompts (`>>>`, `$`), indented lines and stack-trace lines are dropped, and
/// the rest is capped at `max_chars` bytes (on a char boundary). Falls back to the
/// query itself when nothing prose-like is left.
pub fn prose(query: &str, max_chars: usize) -> String {
    let mut out = String::new();
    let mut fenced = false;
    for line in query.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        let code_like = fenced
            || line.starts_with("    ")
            || line.starts_with('\t')
            || trimmed.starts_with(">>>")
            || trimmed.starts_with("...")
            || trimmed.starts_with("$ ")
            || trimmed.starts_with("File \"")
            || trimmed.starts_with("Traceback");
        if code_like || trimmed.is_empty() {
            continue;
        }
        out.push_str(trimmed);
        out.push('\n');
        if out.len() >= max_chars {
            break;
        }
    }
    if out.trim().is_empty() {
        out = query.to_string();
    }
    out.truncate(out.floor_char_boundary(max_chars));
    out
}

/// Analyzes a query. Never fails; an empty query yields an empty analysis.
pub fn analyze(query: &str) -> AnalyzedQuery {
    let mut analyzed = AnalyzedQuery::default();
    let mut seen_identifiers = HashSet::new();
    let mut push_identifier = |analyzed: &mut AnalyzedQuery, name: &str| {
        let name = name.trim_matches(|c: char| c == '.' || c == ':');
        if name.len() >= 2 && name.len() <= 200 && seen_identifiers.insert(name.to_string()) {
            analyzed.identifiers.push(name.to_string());
        }
    };

    // Stack-trace frames.
    let mut order = 0;
    for capture in python_frame().captures_iter(query) {
        let end = capture.get(0).map_or(query.len(), |whole| whole.end());
        analyzed.frames.push(Frame {
            path: capture[1].to_string(),
            line: capture[2].parse().ok(),
            function: capture.get(3).map(|m| m.as_str().to_string()).filter(|f| !f.starts_with('<')),
            source: frame_source_line(&query[end..]),
            order,
        });
        order += 1;
    }
    for capture in java_frame().captures_iter(query) {
        let class_path = &capture[1];
        let file = &capture[3];
        let directory = class_path.rsplit_once('.').map_or("", |(package, _)| package).replace('.', "/");
        let path = if directory.is_empty() { file.to_string() } else { format!("{directory}/{file}") };
        analyzed.frames.push(Frame {
            path,
            line: capture[4].parse().ok(),
            function: Some(capture[2].to_string()),
            source: None,
            order,
        });
        order += 1;
    }
    if analyzed.frames.is_empty() {
        for capture in line_frame().captures_iter(query) {
            analyzed.frames.push(Frame {
                path: capture[1].to_string(),
                line: capture[2].parse().ok(),
                function: None,
                source: None,
                order,
            });
            order += 1;
        }
    }
    let functions: Vec<String> = analyzed.frames.iter().filter_map(|frame| frame.function.clone()).collect();
    for function in &functions {
        push_identifier(&mut analyzed, function);
    }

    // Paths.
    let mut seen_paths = HashSet::new();
    for found in path_pattern().find_iter(query) {
        let path = found.as_str().replace('\\', "/");
        let path = path.trim_start_matches("./").to_string();
        if seen_paths.insert(path.clone()) {
            analyzed.paths.push(path);
        }
    }

    // Words in backticks are code whatever they look like.
    for capture in backtick_pattern().captures_iter(query) {
        for found in identifier_pattern().find_iter(&capture[1]) {
            let word = found.as_str().trim_end_matches(|c: char| c == '(' || c.is_whitespace());
            if word.len() >= 3 || looks_like_code(word) {
                push_identifier(&mut analyzed, word);
            }
        }
    }
    // Identifiers in the prose.
    let path_lines = analyzed.paths.join("\n");
    for capture in identifier_pattern().captures_iter(query) {
        let whole = capture.get(0).expect("match").as_str();
        let called = capture.get(1).is_some();
        let word = whole.trim_end_matches(|c: char| c == '(' || c.is_whitespace());
        if is_path_like(word, &path_lines) {
            continue;
        }
        if looks_like_code(word) || (called && word.len() >= 3) {
            push_identifier(&mut analyzed, word);
        }
    }

    // Error messages: `SomeError: message` lines, and quoted sentences of three
    // or more words.
    let mut seen_messages = HashSet::new();
    for capture in error_line().captures_iter(query) {
        let message = capture[1].trim().to_string();
        if !message.is_empty() && seen_messages.insert(message.clone()) {
            analyzed.messages.push(message);
        }
    }
    for capture in quoted_sentence().captures_iter(query) {
        let text = capture.get(1).or_else(|| capture.get(2)).map_or("", |m| m.as_str()).trim();
        if text.split_whitespace().count() >= 3 && !text.contains('/') && seen_messages.insert(text.to_string()) {
            analyzed.messages.push(text.to_string());
        }
    }

    // Dotted identifiers may be modules (`requests.sessions`, `sympy.core.basic`).
    for identifier in &analyzed.identifiers {
        if identifier.contains('.') && identifier.split('.').all(|part| !part.is_empty()) {
            analyzed.modules.push(identifier.clone());
        }
    }
    analyzed
}

/// Whether a word is part of a path already found (`sessions.py` of `requests/sessions.py`).
/// `path_lines` holds the paths one per line (a word holds no line break, so it
/// matches within one path): one substring search per word, where a search per
/// word and path took seconds on a 64 KiB query naming thousands of files.
fn is_path_like(word: &str, path_lines: &str) -> bool {
    path_lines.contains(word)
}

#[cfg(test)]
mod tests {
    #[test]
    fn prose_drops_code_blocks_prompts_and_tracebacks() {
        let issue = "Simplify fails on nested powers\n\n```python\n>>> simplify(x**y)\n```\nTraceback (most recent call last):\n  File \"a.py\", line 3\n    boom()\nThe result should be x.";
        let text = super::prose(issue, 1000);
        assert_eq!(text, "Simplify fails on nested powers\nThe result should be x.\n");
        assert_eq!(super::prose(">>> only_code()", 1000), ">>> only_code()", "nothing prose-like: the query as is");
        assert_eq!(super::prose("é".repeat(10).as_str(), 5), "éé", "cut on a char boundary");
    }

    use super::*;

    #[test]
    fn finds_identifiers_paths_and_frames() {
        let query = "`Session.resolve_redirects` copies the request. See requests/sessions.py.\n\
            Traceback (most recent call last):\n  File \"/usr/lib/python3/site-packages/requests/models.py\", line 12, in prepare_body\n\
            calling getHTTPResponse() fails, and the Config object too";
        let analyzed = analyze(query);
        assert!(analyzed.identifiers.contains(&"Session.resolve_redirects".to_string()), "{analyzed:?}");
        assert!(analyzed.identifiers.contains(&"prepare_body".to_string()));
        assert!(analyzed.identifiers.contains(&"getHTTPResponse".to_string()));
        assert!(!analyzed.identifiers.contains(&"copies".to_string()));
        assert!(!analyzed.identifiers.contains(&"Config".to_string()));
        assert!(analyzed.paths.contains(&"requests/sessions.py".to_string()));
        assert_eq!(analyzed.frames.len(), 1);
        assert_eq!(analyzed.frames[0].line, Some(12));
        assert_eq!(analyzed.frames[0].source, None, "the next line is prose, not indented code");
        assert!(analyzed.modules.contains(&"Session.resolve_redirects".to_string()));
    }

    #[test]
    fn finds_error_messages() {
        let analyzed = analyze(
            "Traceback:\nValueError: invalid literal for int() with base 10: 'x'\nAlso it says \"could not convert the expression to a number\".",
        );
        assert_eq!(
            analyzed.messages,
            vec![
                "invalid literal for int() with base 10: 'x'".to_string(),
                "could not convert the expression to a number".to_string()
            ]
        );
        assert!(analyze("the \"a b\" case").messages.is_empty(), "short quotes are not messages");
    }

    #[test]
    fn an_error_line_without_a_message_yields_none() {
        // Found by tests/prop_query.rs: `\s*` after the colon ran on into the next
        // line (its text became the message), and a blank message was kept empty.
        assert!(analyze("ValueError:            ").messages.is_empty());
        assert!(analyze("KeyError: \t\t\t\t\t\t\t\t\t\r\n").messages.is_empty());
        assert!(analyze("TypeError:\nthe next line is prose").messages.is_empty());
        assert_eq!(analyze("TypeError: \t bad operand type\t\r\nnext").messages, ["bad operand type"]);
    }

    #[test]
    fn keeps_the_source_line_printed_under_a_python_frame() {
        let analyzed = analyze(
            "Traceback (most recent call last):\n  File \"C:\\sympy\\hyperbolic.py\", line 590, in eval\n    if cotm is S.ComplexInfinity:\n  File \"b.py\", line 3, in g\n  File \"c.py\", line 4\nNameError: name 'cotm' is not defined",
        );
        assert_eq!(analyzed.frames.len(), 3);
        assert_eq!(analyzed.frames[0].source.as_deref(), Some("if cotm is S.ComplexInfinity:"));
        assert_eq!(analyzed.frames[0].function.as_deref(), Some("eval"));
        assert_eq!(analyzed.frames[1].source, None, "the next line is another frame");
        assert_eq!(analyzed.frames[2].source, None, "the next line is not indented");
    }

    #[test]
    fn parses_java_and_rust_frames() {
        let java = analyze("Exception\n\tat com.acme.util.Parser.parse(Parser.java:42)\n");
        assert_eq!(java.frames[0].path, "com/acme/util/Parser.java");
        assert_eq!(java.frames[0].line, Some(42));
        let rust = analyze("thread 'main' panicked at src/walk.rs:12:5:");
        assert_eq!(rust.frames[0].path, "src/walk.rs");
        assert_eq!(rust.frames[0].line, Some(12));
    }

    #[test]
    fn prose_words_are_not_identifiers() {
        for word in ["hello", "Request", "HTTP", "ERROR", "the"] {
            assert!(!looks_like_code(word), "{word}");
        }
        for word in ["snake_case", "camelCase", "HTTPError", "a.b", "x::y", "md5sum"] {
            assert!(looks_like_code(word), "{word}");
        }
    }
}
