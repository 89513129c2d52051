//! Property tests of request validation: [`validate_query`], [`validate_field`]
//! (the size limit of every name, path and glob), [`ContextRequest::validate`],
//! [`RetrievalMode::parse`], [`GraphDirection::parse`] and the language names, and
//! of [`quote`], which error messages quote request fields with. Each accepts exactly the documented values (checked at
//! the boundaries), never panics, and rejects with [`Error::InvalidArgument`]
//! carrying a one-line message.
//!
//! Cases per property: 256 by default (a few seconds in all); `PROPTEST_CASES=N`
//! runs N each (the properties on 64 KiB queries run a tenth of N).

use codectx_core::{
    quote, validate_field, validate_query, ContextRequest, Error, FieldKind, GraphDirection, Language, PathFilter,
    RetrievalMode, MAX_FILTER_GLOBS, MAX_NAME_BYTES, MAX_PATH_BYTES, MAX_QUERY_BYTES, MAX_TOKEN_BUDGET,
    MIN_TOKEN_BUDGET, QUOTE_CHARS,
};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;

/// A runner for a heavy property: `cases` cases, or a `divisor`-th of
/// `PROPTEST_CASES` (which `proptest!` blocks take as is).
fn heavy_runner(cases: u32, divisor: u32) -> TestRunner {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|value| value.parse::<u32>().ok())
        .map_or(cases, |from_env| (from_env / divisor).max(1));
    TestRunner::new(ProptestConfig { cases, ..ProptestConfig::default() })
}

/// The error is `InvalidArgument`, its message is one line, and says `what`.
fn assert_invalid(result: codectx_core::Result<()>, what: &str) {
    match result {
        Err(error @ Error::InvalidArgument(_)) => {
            let message = error.to_string();
            assert!(!message.contains(['\n', '\r']), "message is not one line: {message:?}");
            assert!(message.starts_with("invalid argument: "), "{message:?}");
            assert!(message.contains(what), "{message:?} does not say {what:?}");
        }
        other => panic!("expected InvalidArgument ({what}), got {other:?}"),
    }
}

/// Whitespace as `str::trim` knows it: ASCII and Unicode (NBSP, ideographic
/// space, line/paragraph separators, NEL, ...).
fn whitespace() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop::sample::select(vec![
            ' ', '\t', '\n', '\r', '\u{0B}', '\u{0C}', '\u{85}', '\u{A0}', '\u{1680}', '\u{2000}', '\u{2009}',
            '\u{2028}', '\u{2029}', '\u{202F}', '\u{205F}', '\u{3000}',
        ]),
        0..12,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

/// Arbitrary text, whitespace-only text, and text padded with whitespace.
fn query_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        whitespace(),
        (whitespace(), "\\PC{0,40}", whitespace()).prop_map(|(a, b, c)| format!("{a}{b}{c}")),
        // Invisible but not whitespace: a query of its own.
        Just("\u{200B}".to_string()),
        Just("\u{0}".to_string()),
    ]
}

/// One char of 1 to 4 UTF-8 bytes.
fn filler() -> impl Strategy<Value = char> {
    prop::sample::select(vec!['a', ' ', 'é', '€', '🦀', '\n'])
}

/// A query of about [`MAX_QUERY_BYTES`] bytes (a few chars below to a few above),
/// starting with a word so that it is never blank.
fn query_near_cap() -> impl Strategy<Value = String> {
    (filler(), 0usize..=8, any::<bool>()).prop_map(|(fill, delta, over)| {
        let target = if over { MAX_QUERY_BYTES + delta } else { MAX_QUERY_BYTES - delta };
        let mut query = String::from("q");
        while query.len() + fill.len_utf8() <= target {
            query.push(fill);
        }
        while query.len() < target {
            query.push('x');
        }
        query
    })
}

/// A token budget: around both ends of the range, or anywhere.
fn budget() -> impl Strategy<Value = usize> {
    prop_oneof![
        (MIN_TOKEN_BUDGET - 3)..=(MIN_TOKEN_BUDGET + 3),
        (MAX_TOKEN_BUDGET - 3)..=(MAX_TOKEN_BUDGET + 3),
        0usize..=3,
        (usize::MAX - 3)..=usize::MAX,
        any::<usize>(),
    ]
}

/// An expansion share: special floats, the ends of 0..=1, anything.
fn share() -> impl Strategy<Value = f32> {
    prop_oneof![
        prop::sample::select(vec![
            0.0f32,
            -0.0,
            1.0,
            f32::EPSILON,
            1.0 + f32::EPSILON,
            1.0 - f32::EPSILON / 2.0,
            -f32::MIN_POSITIVE,
            f32::MIN_POSITIVE,
            f32::NAN,
            -f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::MAX,
        ]),
        0.0f32..=1.0,
        any::<f32>(),
    ]
}

/// `name` with random ASCII case and surrounding whitespace.
fn spelled(name: &'static str) -> impl Strategy<Value = String> {
    (proptest::collection::vec(any::<bool>(), name.len()), "[ \t\n]{0,3}", "[ \t\n]{0,3}").prop_map(
        move |(upper, before, after)| {
            let word: String =
                name.chars().zip(upper).map(|(c, up)| if up { c.to_ascii_uppercase() } else { c }).collect();
            format!("{before}{word}{after}")
        },
    )
}

/// Names near the accepted ones: spelled variants, prefixes, look-alikes, noise.
fn name_like(names: &'static [&'static str]) -> impl Strategy<Value = String> {
    let pick = prop::sample::select(names.to_vec());
    prop_oneof![
        pick.clone().prop_flat_map(spelled),
        (pick.clone(), 0usize..8).prop_map(|(name, cut)| name[..cut.min(name.len())].to_string()),
        (pick.clone(), "\\PC{1,3}").prop_map(|(name, extra)| format!("{name}{extra}")),
        // Unicode case folding is not ASCII lowercasing: `K` (Kelvin) is not `k`.
        pick.prop_map(|name| name.replace('k', "\u{212A}").replace('i', "\u{130}")),
        any::<String>(),
    ]
}

const MODES: &[&str] = &["lexical", "semantic", "hybrid"];
const DIRECTIONS: &[&str] = &["both", "callers", "callees"];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A query is accepted exactly when it is not blank (as `str::trim` sees it)
    /// and at most `MAX_QUERY_BYTES` long.
    #[test]
    fn validate_query_accepts_exactly_non_blank_queries(query in query_text()) {
        let result = validate_query(&query);
        if query.trim().is_empty() {
            assert_invalid(result, "empty");
        } else {
            prop_assert!(result.is_ok(), "{query:?} rejected: {result:?}");
        }
    }

    /// The request as a whole: query, then budget, then expansion share; the first
    /// failing check names itself.
    #[test]
    fn context_request_validates_every_field(query in query_text(), budget in budget(), share in share()) {
        let mut request = ContextRequest::new(query.clone());
        request.token_budget = budget;
        request.expansion.max_share = share;
        let result = request.validate();
        if query.trim().is_empty() {
            assert_invalid(result, "empty");
        } else if !(MIN_TOKEN_BUDGET..=MAX_TOKEN_BUDGET).contains(&budget) {
            assert_invalid(result, &format!("token budget {budget}"));
        } else if !(0.0..=1.0).contains(&share) {
            assert_invalid(result, "expansion share");
        } else {
            prop_assert!(result.is_ok(), "budget {budget}, share {share}: {result:?}");
        }
    }

    /// The defaults of `ContextRequest::new` are valid for any non-blank query,
    /// and the validation does not change the request.
    #[test]
    fn defaults_are_valid(query in "\\PC{0,20}[a-z]\\PC{0,20}") {
        let request = ContextRequest::new(query);
        let before = request.clone();
        prop_assert!(request.validate().is_ok());
        prop_assert_eq!(request, before);
    }

    /// `RetrievalMode::parse` accepts the three names in any ASCII case with
    /// surrounding whitespace, and nothing else; `name` round-trips.
    #[test]
    fn retrieval_mode_parses_exactly_its_names(name in name_like(MODES)) {
        let normalized = name.trim().to_ascii_lowercase();
        match RetrievalMode::parse(&name) {
            Ok(mode) => {
                prop_assert_eq!(mode.name(), normalized.as_str());
                prop_assert_eq!(RetrievalMode::parse(mode.name()).ok(), Some(mode));
            }
            Err(error) => {
                prop_assert!(!MODES.contains(&normalized.as_str()), "{name:?} rejected");
                assert_invalid(Err(error), "expected lexical, semantic or hybrid");
            }
        }
    }

    /// `GraphDirection::parse` likewise for `both`, `callers`, `callees`.
    #[test]
    fn graph_direction_parses_exactly_its_names(name in name_like(DIRECTIONS)) {
        let normalized = name.trim().to_ascii_lowercase();
        match GraphDirection::parse(&name) {
            Ok(direction) => {
                let expected = match normalized.as_str() {
                    "both" => GraphDirection::Both,
                    "callers" => GraphDirection::Callers,
                    "callees" => GraphDirection::Callees,
                    other => panic!("{name:?} ({other:?}) accepted as {direction:?}"),
                };
                prop_assert_eq!(direction, expected);
            }
            Err(error) => {
                prop_assert!(!DIRECTIONS.contains(&normalized.as_str()), "{name:?} rejected");
                assert_invalid(Err(error), "expected both, callers or callees");
            }
        }
    }

    /// Language names (as the API carries them) round-trip, and nothing else parses;
    /// any path has a language.
    #[test]
    fn language_names_round_trip(name in name_like(&["python", "rust", "tsx", "cpp", "markdown", "text"]), path in any::<String>()) {
        match Language::from_name(&name) {
            Some(language) => prop_assert_eq!(language.name(), name.as_str()),
            None => prop_assert!(Language::ALL.iter().all(|language| language.name() != name)),
        }
        let language = Language::from_path(&path);
        prop_assert!(Language::ALL.contains(&language));
    }
}

/// At the size cap: `MAX_QUERY_BYTES` bytes pass, one more byte fails, whatever
/// the width of the characters.
#[test]
fn validate_query_size_cap_is_exact() {
    heavy_runner(64, 10)
        .run(&query_near_cap(), |query| {
            let result = validate_query(&query);
            if query.len() <= MAX_QUERY_BYTES {
                prop_assert!(result.is_ok(), "{} bytes rejected: {result:?}", query.len());
            } else {
                assert_invalid(result, &format!("the query has {} bytes", query.len()));
            }
            let mut request = ContextRequest::new(query.clone());
            request.token_budget = MIN_TOKEN_BUDGET;
            prop_assert_eq!(request.validate().is_ok(), query.len() <= MAX_QUERY_BYTES);
            Ok(())
        })
        .unwrap_or_else(|error| panic!("{}", error.to_string().chars().take(2000).collect::<String>()));
}

/// The documented boundaries, spelled out.
#[test]
fn boundaries() {
    let ok = |query: &str, budget: usize, share: f32| {
        let mut request = ContextRequest::new(query);
        request.token_budget = budget;
        request.expansion.max_share = share;
        request.validate()
    };
    assert!(ok("q", MIN_TOKEN_BUDGET, 0.0).is_ok());
    assert!(ok("q", MAX_TOKEN_BUDGET, 1.0).is_ok());
    assert!(ok("q", MIN_TOKEN_BUDGET, -0.0).is_ok(), "-0.0 == 0.0");
    assert_invalid(ok("q", MIN_TOKEN_BUDGET - 1, 0.2), "255");
    assert_invalid(ok("q", MAX_TOKEN_BUDGET + 1, 0.2), "1000001");
    assert_invalid(ok("q", 8000, f32::NAN), "NaN");
    assert_invalid(ok("q", 8000, 1.0 + f32::EPSILON), "expansion share");
    assert!(validate_query(&"x".repeat(MAX_QUERY_BYTES)).is_ok());
    assert_invalid(validate_query(&"x".repeat(MAX_QUERY_BYTES + 1)), "65537 bytes");
    assert_invalid(validate_query(" \u{3000}\u{2028}\t"), "empty");
    assert!(validate_query("\u{200B}").is_ok(), "a zero-width space is not whitespace");
    assert_eq!(RetrievalMode::parse(" HyBrid\n").ok(), Some(RetrievalMode::Hybrid));
    assert_invalid(RetrievalMode::parse("line\nbreak").map(drop), "\"line\\nbreak\"");
    assert_invalid(GraphDirection::parse("caller").map(drop), "\"caller\"");
}

/// A string of `len` bytes (or one less, when `fill` does not fit), of `fill`.
fn sized(fill: char, len: usize) -> String {
    std::iter::repeat_n(fill, len / fill.len_utf8()).collect::<String>() + &"x".repeat(len % fill.len_utf8())
}

/// Every field is accepted exactly up to its limit, whatever the width of its
/// characters; the error names the field and the sizes, and quotes nothing of it.
#[test]
fn validate_field_accepts_exactly_up_to_the_limit() {
    let kinds = prop::sample::select(vec![FieldKind::Name, FieldKind::Path, FieldKind::Query]);
    heavy_runner(96, 4)
        .run(&(kinds, filler(), 0usize..=8, any::<bool>()), |(kind, fill, delta, over)| {
            let max = kind.max_bytes();
            let value = sized(fill, if over { max + 1 + delta } else { max - delta });
            let result = validate_field(kind, "field name", &value);
            if value.len() <= max {
                prop_assert!(result.is_ok(), "{} bytes of {kind:?} rejected", value.len());
            } else {
                let message = result.expect_err("over the limit").to_string();
                prop_assert_eq!(
                    message,
                    format!("invalid argument: the field name has {} bytes, more than the limit of {max}", value.len())
                );
            }
            Ok(())
        })
        .unwrap_or_else(|error| panic!("{}", error.to_string().chars().take(2000).collect::<String>()));
}

/// The limits as documented, and a filter's: 64 globs of 4 KiB per list.
#[test]
fn limits_and_filters() {
    assert_eq!((MAX_NAME_BYTES, MAX_PATH_BYTES, MAX_FILTER_GLOBS, QUOTE_CHARS), (1024, 4096, 64, 64));
    let glob = "g".repeat(MAX_PATH_BYTES);
    let full =
        PathFilter { include: vec![glob.clone(); MAX_FILTER_GLOBS], exclude: vec![glob.clone(); MAX_FILTER_GLOBS] };
    assert!(full.validate().is_ok());
    let mut many = full.clone();
    many.exclude.push("x".into());
    assert_invalid(many.validate(), "65 exclude globs, more than the limit of 64");
    let mut long = full;
    long.include[3].push('g');
    assert_invalid(long.validate(), "the include glob has 4097 bytes");
    let mut request = ContextRequest::new("q");
    request.filter.include = vec![glob + "g"];
    assert_invalid(request.validate(), "the include glob has 4097 bytes");
    let mut request = ContextRequest::new("q");
    request.freshness.min_commit = Some("a".repeat(MAX_NAME_BYTES + 1));
    assert_invalid(request.validate(), "the min_commit has 1025 bytes");
}

/// Long or odd text: control characters, 1 to 4 byte characters, up to 100 KB.
fn quotable() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "\\PC{0,80}",
        (filler(), 0usize..200_000).prop_map(|(fill, len)| sized(fill, len)),
        (any::<String>(), filler(), 60usize..70).prop_map(|(head, fill, len)| head + &sized(fill, len)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// `quote` is short and one line whatever it quotes: the text itself when it
    /// has at most 64 characters and no control characters, else its first 64
    /// characters (escaped) and its size.
    #[test]
    fn quotes_are_short_and_one_line(text in quotable()) {
        let quoted = quote(&text);
        prop_assert!(quoted.len() <= 416, "{} bytes", quoted.len());
        prop_assert!(!quoted.contains(char::is_control), "{quoted:?}");
        let chars = text.chars().count();
        let escaped: String = text.chars().take(QUOTE_CHARS).flat_map(|c| {
            if c.is_control() { c.escape_default().collect::<Vec<_>>() } else { vec![c] }
        }).collect();
        if chars <= QUOTE_CHARS {
            prop_assert_eq!(quoted.as_ref(), escaped.as_str());
        } else {
            prop_assert_eq!(quoted.as_ref(), format!("{escaped}… ({} bytes)", text.len()));
        }
    }
}
