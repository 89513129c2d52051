//! The code-aware tokenizer, registered in every [`crate::TextIndex`] under the name
//! [`CODE_TOKENIZER`] (`"code"`).
//!
//! # Rules
//!
//! The text is scanned for *words*: maximal runs of letters, digits and `_` (Unicode
//! letters and digits count), where a `-` also joins two runs when it directly follows a
//! letter or digit and directly precedes a letter (`foo-bar`, `codectx-core`, but not
//! `x-1`, `a - b` or `--flag`). Everything else — whitespace, punctuation, `.`, `::`,
//! `/` — separates words, so `a.b`, `a::b` and `src/lib.rs` are separate words.
//!
//! For every word the stream emits, all lowercased and at the same position:
//!
//! 1. the whole word (`gethttpresponse2`, `get_user`, `foo-bar`), then
//! 2. its *parts*, when there is more than one or the single part differs from the word:
//!    the word is split on `_` and `-`, then at camelCase boundaries (`getUser` →
//!    `get`, `user`), at the end of an acronym (`HTTPResponse` → `http`, `response`)
//!    and at letter/digit boundaries (`utf8` → `utf`, `8`).
//!
//! So `getHTTPResponse2` → `gethttpresponse2`, `get`, `http`, `response`, `2`;
//! `__init__` → `__init__`, `init`; `foo-bar` → `foo-bar`, `foo`, `bar`.
//!
//! Words that start with a digit are numbers or literals (`0xFF`, `1e10`, `100ms`) and
//! are emitted whole, never split. Words of only underscores are skipped. Any emitted
//! token longer than [`MAX_TOKEN_BYTES`] (64 bytes, after lowercasing) is dropped, but
//! the parts of an over-long word are still emitted; a word longer than
//! [`MAX_WORD_BYTES`] (256 bytes) is skipped entirely, parts included, as it is data
//! (base64, minified code), not an identifier.
//!
//! # Cost
//!
//! One pass over the bytes with a lookup table for ASCII; the only allocations are the
//! token buffer and two small scratch vectors, reused for the whole stream (and kept in
//! the tokenizer between streams).

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// Name under which the code tokenizer is registered in the index.
pub const CODE_TOKENIZER: &str = "code";

/// Tokens longer than this many bytes (UTF-8, after lowercasing) are dropped.
pub const MAX_TOKEN_BYTES: usize = 64;

/// Words longer than this many bytes are skipped entirely (whole and parts).
pub const MAX_WORD_BYTES: usize = 256;

/// Character class used by the scanner.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Class {
    Other,
    Lower,
    Upper,
    Digit,
    Under,
    Hyphen,
}

impl Class {
    #[inline]
    fn is_alnum(self) -> bool {
        matches!(self, Class::Lower | Class::Upper | Class::Digit)
    }

    #[inline]
    fn is_letter(self) -> bool {
        matches!(self, Class::Lower | Class::Upper)
    }

    #[inline]
    fn is_word(self) -> bool {
        matches!(self, Class::Lower | Class::Upper | Class::Digit | Class::Under)
    }
}

const fn ascii_table() -> [Class; 128] {
    let mut table = [Class::Other; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        table[b] = if c.is_ascii_lowercase() {
            Class::Lower
        } else if c.is_ascii_uppercase() {
            Class::Upper
        } else if c.is_ascii_digit() {
            Class::Digit
        } else if c == b'_' {
            Class::Under
        } else if c == b'-' {
            Class::Hyphen
        } else {
            Class::Other
        };
        b += 1;
    }
    table
}

static ASCII: [Class; 128] = ascii_table();

/// Class and UTF-8 length of the character starting at byte `pos` of `text`.
/// `pos` must be a char boundary and `< text.len()`.
#[inline]
fn class_at(text: &str, pos: usize) -> (Class, usize) {
    let b = text.as_bytes()[pos];
    if b < 128 {
        return (ASCII[b as usize], 1);
    }
    match text[pos..].chars().next() {
        Some(c) => {
            let class = if c.is_uppercase() {
                Class::Upper
            } else if c.is_lowercase() {
                Class::Lower
            } else if c.is_numeric() {
                Class::Digit
            } else if c.is_alphabetic() {
                // Caseless scripts (CJK, Arabic, ...): letters without case boundaries.
                Class::Lower
            } else {
                Class::Other
            };
            (class, c.len_utf8())
        }
        // Unreachable for a char boundary; treat as one separator byte.
        None => (Class::Other, 1),
    }
}

/// The code tokenizer (see the [module docs](self) for the rules).
///
/// Holds reusable buffers, so cloning it is cheap and every clone tokenizes
/// without allocating per token.
#[derive(Clone, Debug, Default)]
pub struct CodeTokenizer {
    token: Token,
    parts: Vec<(usize, usize)>,
    classes: Vec<(usize, Class)>,
}

/// Token stream of [`CodeTokenizer`].
pub struct CodeTokenStream<'a> {
    text: &'a str,
    /// Byte offset where the scan for the next word starts.
    cursor: usize,
    token: &'a mut Token,
    /// Parts of the current word, as byte ranges of `text`.
    parts: &'a mut Vec<(usize, usize)>,
    /// Index of the next part to emit.
    next_part: usize,
    /// Scratch: (offset, class) of each char of the current word.
    classes: &'a mut Vec<(usize, Class)>,
}

impl Tokenizer for CodeTokenizer {
    type TokenStream<'a> = CodeTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> CodeTokenStream<'a> {
        self.token.reset();
        self.parts.clear();
        self.classes.clear();
        CodeTokenStream {
            text,
            cursor: 0,
            token: &mut self.token,
            parts: &mut self.parts,
            next_part: 0,
            classes: &mut self.classes,
        }
    }
}

impl CodeTokenStream<'_> {
    /// Finds the next word at or after the cursor; returns its byte range.
    fn next_word(&mut self) -> Option<(usize, usize)> {
        let text = self.text;
        let len = text.len();
        'words: loop {
            // Skip to the first word character.
            let mut pos = self.cursor;
            loop {
                if pos >= len {
                    self.cursor = len;
                    return None;
                }
                let (c, n) = class_at(text, pos);
                if c.is_word() {
                    break;
                }
                pos += n;
            }
            let start = pos;
            let mut has_alnum = false;
            let mut prev = Class::Other;
            while pos < len {
                let (c, n) = class_at(text, pos);
                match c {
                    Class::Lower | Class::Upper | Class::Digit | Class::Under => {
                        has_alnum |= c.is_alnum();
                        prev = c;
                        pos += n;
                    }
                    Class::Hyphen => {
                        let joins = prev.is_alnum() && pos + 1 < len && class_at(text, pos + 1).0.is_letter();
                        if !joins {
                            break;
                        }
                        prev = c;
                        pos += n;
                    }
                    Class::Other => break,
                }
            }
            self.cursor = pos;
            if !has_alnum || pos - start > MAX_WORD_BYTES {
                continue 'words;
            }
            return Some((start, pos));
        }
    }

    /// Fills `self.parts` with the parts of the word `[start, end)`.
    fn split_word(&mut self, start: usize, end: usize) {
        self.parts.clear();
        self.next_part = 0;
        let text = self.text;
        // Numbers and literals are never split.
        if class_at(text, start).0 == Class::Digit {
            return;
        }
        self.classes.clear();
        let mut pos = start;
        while pos < end {
            let (c, n) = class_at(text, pos);
            self.classes.push((pos, c));
            pos += n;
        }
        let classes = &*self.classes;
        let mut part_start: Option<usize> = None;
        for i in 0..classes.len() {
            let (offset, class) = classes[i];
            if !class.is_alnum() {
                if let Some(s) = part_start.take() {
                    self.parts.push((s, offset));
                }
                continue;
            }
            match part_start {
                None => part_start = Some(offset),
                Some(s) => {
                    // `part_start` is set, so the previous char is alphanumeric.
                    let prev = classes[i - 1].1;
                    let boundary = (prev == Class::Lower && class == Class::Upper)
                        || ((prev == Class::Digit) != (class == Class::Digit))
                        || (prev == Class::Upper
                            && class == Class::Upper
                            && classes.get(i + 1).is_some_and(|&(_, next)| next == Class::Lower));
                    if boundary {
                        self.parts.push((s, offset));
                        part_start = Some(offset);
                    }
                }
            }
        }
        if let Some(s) = part_start {
            self.parts.push((s, end));
        }
        if self.parts.len() == 1 && self.parts[0] == (start, end) {
            self.parts.clear();
        }
    }

    /// Sets the current token to the lowercased `[start, end)`; false when it is too long.
    fn set_token(&mut self, start: usize, end: usize) -> bool {
        let source = &self.text[start..end];
        let out = &mut self.token.text;
        out.clear();
        if source.is_ascii() {
            if source.len() > MAX_TOKEN_BYTES {
                return false;
            }
            out.push_str(source);
            out.make_ascii_lowercase();
        } else {
            for c in source.chars() {
                out.extend(c.to_lowercase());
            }
            if out.len() > MAX_TOKEN_BYTES {
                return false;
            }
        }
        self.token.offset_from = start;
        self.token.offset_to = end;
        true
    }
}

impl TokenStream for CodeTokenStream<'_> {
    fn advance(&mut self) -> bool {
        loop {
            if self.next_part < self.parts.len() {
                let (start, end) = self.parts[self.next_part];
                self.next_part += 1;
                if self.set_token(start, end) {
                    return true;
                }
                continue;
            }
            let Some((start, end)) = self.next_word() else {
                return false;
            };
            self.token.position = self.token.position.wrapping_add(1);
            self.split_word(start, end);
            if self.set_token(start, end) {
                return true;
            }
        }
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

/// Tokenizes `text` exactly as the `"code"` analyzer of the index does, returning the
/// emitted token texts in order (whole words followed by their parts; see the
/// [module docs](self)). Use it to turn a query into terms for
/// [`crate::TextIndex::search`].
///
/// ```
/// use codectx_text::code_tokens;
/// assert_eq!(
///     code_tokens("getHTTPResponse2"),
///     ["gethttpresponse2", "get", "http", "response", "2"]
/// );
/// assert_eq!(code_tokens("std::io"), ["std", "io"]);
/// ```
pub fn code_tokens(text: &str) -> Vec<String> {
    let mut tokenizer = CodeTokenizer::default();
    let mut stream = tokenizer.token_stream(text);
    let mut tokens = Vec::new();
    while stream.advance() {
        tokens.push(stream.token().text.clone());
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> Vec<String> {
        code_tokens(text)
    }

    #[test]
    fn camel_and_pascal_case() {
        assert_eq!(toks("getUserName"), ["getusername", "get", "user", "name"]);
        assert_eq!(toks("UserName"), ["username", "user", "name"]);
        assert_eq!(toks("HTTPResponse"), ["httpresponse", "http", "response"]);
        assert_eq!(toks("getHTTPResponse2"), ["gethttpresponse2", "get", "http", "response", "2"]);
        assert_eq!(toks("XMLHttpRequest"), ["xmlhttprequest", "xml", "http", "request"]);
        assert_eq!(toks("ID"), ["id"]);
        assert_eq!(toks("parseURL"), ["parseurl", "parse", "url"]);
    }

    #[test]
    fn snake_and_kebab_case() {
        assert_eq!(toks("resolve_redirects"), ["resolve_redirects", "resolve", "redirects"]);
        assert_eq!(toks("MAX_TOKEN_LEN"), ["max_token_len", "max", "token", "len"]);
        assert_eq!(toks("__init__"), ["__init__", "init"]);
        assert_eq!(toks("_private"), ["_private", "private"]);
        assert_eq!(toks("foo-bar"), ["foo-bar", "foo", "bar"]);
        assert_eq!(toks("codectx-core"), ["codectx-core", "codectx", "core"]);
        // A hyphen only joins when a letter follows and a letter/digit precedes.
        assert_eq!(toks("x-1"), ["x", "1"]);
        assert_eq!(toks("a - b"), ["a", "b"]);
        assert_eq!(toks("--verbose-mode"), ["verbose-mode", "verbose", "mode"]);
        assert_eq!(toks("foo-"), ["foo"]);
        assert_eq!(toks("___"), Vec::<String>::new());
    }

    #[test]
    fn digits() {
        assert_eq!(toks("utf8"), ["utf8", "utf", "8"]);
        assert_eq!(toks("x86_64"), ["x86_64", "x", "86", "64"]);
        assert_eq!(toks("sha256sum"), ["sha256sum", "sha", "256", "sum"]);
        // Numbers and literals stay whole.
        assert_eq!(toks("0xFF 1e10 42"), ["0xff", "1e10", "42"]);
    }

    #[test]
    fn separators_and_paths() {
        assert_eq!(toks("a.b"), ["a", "b"]);
        assert_eq!(toks("std::io::Read"), ["std", "io", "read"]);
        assert_eq!(
            toks("self.session.resolve_redirects(resp)"),
            ["self", "session", "resolve_redirects", "resolve", "redirects", "resp"]
        );
        assert_eq!(toks("src/codectx-text/lib.rs"), ["src", "codectx-text", "codectx", "text", "lib", "rs"]);
        assert_eq!(toks(""), Vec::<String>::new());
        assert_eq!(toks("  ;; () "), Vec::<String>::new());
    }

    #[test]
    fn lowercases_everything() {
        assert_eq!(toks("FOO Bar"), ["foo", "bar"]);
        assert_eq!(toks("ÜberClass"), ["überclass", "über", "class"]);
    }

    #[test]
    fn unicode_does_not_panic() {
        let samples = [
            "日本語のテキスト",
            "emoji 🦀 crab🦀Rust",
            "Straße İstanbul ǅemal",
            "\u{0}\u{FFFF}\u{10FFFF}",
            "a\u{301}b",
            "١٢٣ arabic ٤",
            "ﬁle ß ΣΑΣ",
        ];
        for s in samples {
            let tokens = toks(s);
            for t in &tokens {
                assert!(!t.is_empty() && t.len() <= MAX_TOKEN_BYTES, "{s:?} -> {t:?}");
            }
        }
        assert_eq!(toks("crab🦀Rust"), ["crab", "rust"]);
    }

    #[test]
    fn over_long_tokens_dropped() {
        let long_part = "a".repeat(70);
        assert_eq!(toks(&long_part), Vec::<String>::new());
        let exactly = "b".repeat(MAX_TOKEN_BYTES);
        assert_eq!(toks(&exactly), std::slice::from_ref(&exactly));
        // The whole is too long, the parts are kept.
        let ident = format!("{}_{}", "c".repeat(40), "d".repeat(40));
        assert_eq!(toks(&ident), ["c".repeat(40), "d".repeat(40)]);
        // Words over MAX_WORD_BYTES are skipped, parts included.
        let blob = "aB".repeat(200);
        assert_eq!(toks(&format!("x {blob} y")), ["x", "y"]);
    }

    #[test]
    fn positions_and_offsets() {
        let mut tokenizer = CodeTokenizer::default();
        let mut stream = tokenizer.token_stream("fooBar baz");
        let mut seen = Vec::new();
        while stream.advance() {
            let t = stream.token();
            seen.push((t.text.clone(), t.position, t.offset_from, t.offset_to));
        }
        assert_eq!(
            seen,
            [
                ("foobar".to_string(), 0, 0, 6),
                ("foo".to_string(), 0, 0, 3),
                ("bar".to_string(), 0, 3, 6),
                ("baz".to_string(), 1, 7, 10),
            ]
        );
        // The tokenizer is reusable.
        let mut stream = tokenizer.token_stream("x");
        assert!(stream.advance());
        assert_eq!(stream.token().position, 0);
        assert!(!stream.advance());
    }
}
