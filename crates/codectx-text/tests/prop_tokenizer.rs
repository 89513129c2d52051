//! Property tests of the code tokenizer (`codectx_text::tokenizer`): it never
//! panics; offsets are in bounds and on char boundaries; token text is the
//! lowercased source slice; the token stream equals a straightforward, char-based
//! model of the documented rules (words, hyphen joins, parts, the 64- and 256-byte
//! caps, positions); identifiers in every naming convention yield all their words;
//! separators split exactly.
//!
//! Cases per property: 512 by default (about a second in all); `PROPTEST_CASES=N`
//! runs N each.

use codectx_text::{code_tokens, CodeTokenizer, MAX_TOKEN_BYTES};
use proptest::prelude::*;
use tantivy::tokenizer::{TokenStream, Tokenizer};

/// Longest word indexed (bytes), as documented (`MAX_WORD_BYTES`).
const MAX_WORD_BYTES: usize = 256;

/// One emitted token: text, position, byte offsets.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Tok {
    text: String,
    position: usize,
    from: usize,
    to: usize,
}

/// Everything the tokenizer emits for `text`, with a tokenizer that may be reused.
fn stream(tokenizer: &mut CodeTokenizer, text: &str) -> Vec<Tok> {
    let mut stream = tokenizer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        let token = stream.token();
        out.push(Tok {
            text: token.text.clone(),
            position: token.position,
            from: token.offset_from,
            to: token.offset_to,
        });
    }
    out
}

fn tokenize(text: &str) -> Vec<Tok> {
    stream(&mut CodeTokenizer::default(), text)
}

// ---------------------------------------------------------------------------
// The model: the module docs' rules, char by char.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Other,
    Lower,
    Upper,
    Digit,
    Under,
    Hyphen,
}

/// Letters (upper, lower, caseless as lower), digits (any numeric), `_`, `-`.
fn class(c: char) -> Class {
    match c {
        '_' => Class::Under,
        '-' => Class::Hyphen,
        c if c.is_uppercase() => Class::Upper,
        c if c.is_lowercase() => Class::Lower,
        c if c.is_numeric() => Class::Digit,
        c if c.is_alphabetic() => Class::Lower,
        _ => Class::Other,
    }
}

fn is_alnum(class: Class) -> bool {
    matches!(class, Class::Lower | Class::Upper | Class::Digit)
}

fn is_letter(class: Class) -> bool {
    matches!(class, Class::Lower | Class::Upper)
}

/// Char-wise lowercasing, as the tokenizer documents ("lowercased").
fn lower(text: &str) -> String {
    text.chars().flat_map(char::to_lowercase).collect()
}

/// The words of `text` (byte ranges), before the "has a letter or digit" and
/// length filters.
fn model_words(text: &str) -> Vec<(usize, usize)> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let byte = |i: usize| chars.get(i).map_or(text.len(), |&(at, _)| at);
    let mut words = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if matches!(class(chars[i].1), Class::Other | Class::Hyphen) {
            i += 1;
            continue;
        }
        let start = i;
        let mut previous = Class::Other;
        while i < chars.len() {
            let c = class(chars[i].1);
            let joins = match c {
                Class::Other => false,
                Class::Hyphen => {
                    is_alnum(previous) && chars.get(i + 1).is_some_and(|&(_, next)| is_letter(class(next)))
                }
                _ => true,
            };
            if !joins {
                break;
            }
            previous = c;
            i += 1;
        }
        words.push((byte(start), byte(i)));
    }
    words
}

/// The parts of a word (byte ranges into `text`): split on `_`/`-`, then at
/// lower→upper, at digit/non-digit, and before the last capital of an acronym
/// followed by a lowercase letter. None for a number, or a word that is one part.
fn model_parts(text: &str, (start, end): (usize, usize)) -> Vec<(usize, usize)> {
    let word: Vec<(usize, Class)> = text[start..end].char_indices().map(|(at, c)| (start + at, class(c))).collect();
    if word[0].1 == Class::Digit {
        return Vec::new();
    }
    let mut parts = Vec::new();
    let mut i = 0;
    while i < word.len() {
        if !is_alnum(word[i].1) {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < word.len() && is_alnum(word[j].1) {
            let (previous, current) = (word[j - 1].1, word[j].1);
            let next = word.get(j + 1).map(|&(_, class)| class);
            let boundary = (previous == Class::Lower && current == Class::Upper)
                || ((previous == Class::Digit) != (current == Class::Digit))
                || (previous == Class::Upper && current == Class::Upper && next == Some(Class::Lower));
            if boundary {
                break;
            }
            j += 1;
        }
        parts.push((word[i].0, word.get(j).map_or(end, |&(at, _)| at)));
        i = j;
    }
    if parts == [(start, end)] {
        parts.clear();
    }
    parts
}

/// The token stream the module docs describe.
fn model(text: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut position = 0;
    for word in model_words(text) {
        let has_alnum = text[word.0..word.1].chars().any(|c| is_alnum(class(c)));
        if !has_alnum || word.1 - word.0 > MAX_WORD_BYTES {
            continue;
        }
        for (from, to) in std::iter::once(word).chain(model_parts(text, word)) {
            let token = lower(&text[from..to]);
            if token.len() <= MAX_TOKEN_BYTES {
                out.push(Tok { text: token, position, from, to });
            }
        }
        position += 1;
    }
    out
}

// ---------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------

/// Pieces of code-like text: identifiers in every convention, separators,
/// hyphens, digits, Unicode letters of every case class (titlecase `ǅ`, caseless
/// CJK, capitals without a lowercase such as `ϒ` and `𝐀`, `İ` whose lowercase is
/// two chars, numeric letters `Ⅻ`), combining marks, emoji, NUL, CR/LF.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z]{1,8}",
        2 => "[A-Z][a-z]{0,6}",
        1 => "[A-Z]{2,5}",
        2 => "[0-9]{1,4}",
        3 => prop::sample::select(vec![
            "_", "__", "-", "--", ".", "::", "/", " ", "  ", "\t", "\n", "\r\n", "(", ")", ",", ";", "\"", "'", "`",
            "0x", "1e10", "-1", "a-", "-b", "x-1",
        ])
        .prop_map(str::to_string),
        2 => prop::sample::select(vec![
            "é", "É", "ß", "ǅ", "İ", "ı", "Σ", "ς", "ϒ", "𝐀", "日本", "語", "١٢", "Ⅻ", "ⅻ", "\u{301}", "\u{345}",
            "🦀", "\u{0}", "\u{FEFF}", "\u{200D}", "ﬁ", "ǈ", "Ꭰ",
        ])
        .prop_map(str::to_string),
        1 => any::<char>().prop_map(String::from),
    ]
}

/// Text made of [`piece`]s, or arbitrary Unicode.
fn code_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::collection::vec(piece(), 0..40).prop_map(|pieces| pieces.concat()),
        1 => any::<String>(),
    ]
}

/// Words near the 64-byte token and 256-byte word caps, with parts or without.
fn long_word() -> impl Strategy<Value = String> {
    (prop::sample::select(vec!["a", "é", "aB", "a_", "x1", "日"]), 20usize..=140, "[ .]{0,1}")
        .prop_map(|(unit, repeat, tail)| format!("{}{tail}", unit.repeat(repeat)))
}

/// Lowercase ASCII words of at least two letters (a single capital letter would
/// join the acronym rule).
fn words() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec("[a-z]{2,9}", 1..6)
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|first| first.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
}

/// An identifier spelled in one of the usual conventions.
fn identifier(words: &[String], convention: u8) -> String {
    match convention % 6 {
        0 => words.join("_"),
        1 => words.iter().map(|word| word.to_ascii_uppercase()).collect::<Vec<_>>().join("_"),
        2 => words.join("-"),
        3 => words.iter().map(|word| capitalize(word)).collect(),
        4 => words[0].clone() + &words[1..].iter().map(|word| capitalize(word)).collect::<String>(),
        _ => format!("__{}__", words.join("_")),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Offsets are in bounds, on char boundaries and non-empty; the text is the
    /// lowercased slice, at most `MAX_TOKEN_BYTES`; the slice holds only letters,
    /// digits, `_` and `-`; positions never go back.
    #[test]
    fn tokens_are_well_formed(text in code_text()) {
        let tokens = tokenize(&text);
        let mut last_position = None;
        for token in &tokens {
            prop_assert!(token.from < token.to && token.to <= text.len(), "{token:?} in {} bytes", text.len());
            prop_assert!(text.is_char_boundary(token.from) && text.is_char_boundary(token.to), "{token:?}");
            let slice = &text[token.from..token.to];
            prop_assert_eq!(&token.text, &lower(slice));
            prop_assert!(!token.text.is_empty() && token.text.len() <= MAX_TOKEN_BYTES, "{token:?}");
            prop_assert_eq!(lower(&token.text), token.text.clone(), "lowercasing again changes nothing");
            prop_assert!(slice.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-'), "{slice:?}");
            prop_assert!(!slice.starts_with('-') && !slice.ends_with('-'), "{slice:?}");
            // A word whose tokens are all over-long still takes a position.
            if let Some(last) = last_position {
                prop_assert!(token.position >= last, "{tokens:?}");
            }
            last_position = Some(token.position);
        }
        prop_assert_eq!(code_tokens(&text), tokens.iter().map(|token| token.text.clone()).collect::<Vec<_>>());
    }

    /// The stream (texts, positions, offsets) is exactly what the documented rules give.
    #[test]
    fn stream_matches_the_documented_rules(text in code_text()) {
        prop_assert_eq!(tokenize(&text), model(&text), "{:?}", text);
    }

    /// The same near the length caps.
    #[test]
    fn length_caps_match_the_documented_rules(prefix in code_text(), word in long_word(), suffix in code_text()) {
        let text = format!("{prefix} {word} {suffix}");
        prop_assert_eq!(tokenize(&text), model(&text), "{:?}", text);
    }

    /// A reused tokenizer gives what a fresh one gives (its buffers carry nothing over).
    #[test]
    fn reuse_changes_nothing(first in code_text(), second in code_text()) {
        let mut tokenizer = CodeTokenizer::default();
        let _ = stream(&mut tokenizer, &first);
        prop_assert_eq!(stream(&mut tokenizer, &second), tokenize(&second));
    }

    /// A separator splits exactly: the tokens of `a␣b` are those of `a` then those
    /// of `b`, for any `a`, `b` and any non-word separator.
    #[test]
    fn separators_split_exactly(
        a in code_text(),
        b in code_text(),
        separator in prop::sample::select(vec![".", "::", "/", " ", "\n", "(", "->", "=>", "\u{3000}", "🦀", "\u{0}"]),
    ) {
        let joined = code_tokens(&format!("{a}{separator}{b}"));
        let mut apart = code_tokens(&a);
        apart.extend(code_tokens(&b));
        prop_assert_eq!(joined, apart);
    }

    /// Every word of an identifier, in any naming convention, is a token, and so is
    /// the whole identifier; they share one position.
    #[test]
    fn identifiers_yield_all_their_words(words in words(), convention in any::<u8>(), before in "[ .(:]{0,2}", after in "[ .():]{0,2}") {
        let name = identifier(&words, convention);
        let text = format!("{before}{name}{after}");
        let tokens = tokenize(&text);
        let texts: Vec<&str> = tokens.iter().map(|token| token.text.as_str()).collect();
        let whole = name.to_ascii_lowercase();
        if name.len() <= MAX_TOKEN_BYTES {
            prop_assert_eq!(texts.first().copied(), Some(whole.as_str()), "{:?}", text);
        }
        for word in &words {
            prop_assert!(texts.contains(&word.as_str()), "{word:?} of {text:?}: {texts:?}");
        }
        let expected: Vec<&str> = words.iter().map(String::as_str).collect();
        let parts: Vec<&str> = texts.iter().copied().filter(|text| *text != whole).collect();
        if words.len() > 1 {
            prop_assert_eq!(parts, expected, "the parts are the words, in order");
        }
        prop_assert!(tokens.iter().all(|token| token.position == 0), "{tokens:?}");
    }

    /// Dotted and `::` paths of identifiers: each component's tokens, in order.
    #[test]
    fn qualified_names_split_into_components(components in proptest::collection::vec((words(), any::<u8>()), 1..4), separator in prop::sample::select(vec![".", "::", "/"])) {
        let names: Vec<String> = components.iter().map(|(words, convention)| identifier(words, *convention)).collect();
        let tokens = code_tokens(&names.join(separator));
        let expected: Vec<String> = names.iter().flat_map(|name| code_tokens(name)).collect();
        prop_assert_eq!(tokens, expected);
    }
}

/// Examples of the rules the model encodes, so that a wrong model cannot pass
/// with a wrong tokenizer.
#[test]
fn model_agrees_with_the_documented_examples() {
    let texts = |text: &str| model(text).into_iter().map(|token| token.text).collect::<Vec<_>>();
    assert_eq!(texts("getHTTPResponse2"), ["gethttpresponse2", "get", "http", "response", "2"]);
    assert_eq!(texts("__init__"), ["__init__", "init"]);
    assert_eq!(texts("foo-bar x-1 --flag"), ["foo-bar", "foo", "bar", "x", "1", "flag"]);
    assert_eq!(texts("0xFF utf8 ___"), ["0xff", "utf8", "utf", "8"]);
    assert_eq!(texts(&"aB".repeat(200)), Vec::<String>::new());
    assert_eq!(texts(&format!("{}_{}", "c".repeat(40), "d".repeat(40))), ["c".repeat(40), "d".repeat(40)]);
    for text in ["getHTTPResponse2", "src/codectx-text/lib.rs", "ÜberClass ΣΑΣ 日本語", "crab🦀Rust x86_64"] {
        assert_eq!(tokenize(text), model(text), "{text:?}");
    }
}
