//! Property tests of query understanding and of the request parts that retrieval
//! validates:
//!
//! * [`query::analyze`] never panics, on any text of any size; what it extracts
//!   (identifiers, paths, modules, frames, messages) occurs in the query, is
//!   deduplicated and within the documented lengths;
//! * [`query::prose`] stays within its byte cap, on a char boundary, and holds only
//!   prose lines of the query (or, when there are none, a prefix of the query);
//! * [`fusion::reciprocal_rank_fusion`]: finite, non-negative, sorted scores that are
//!   the documented sums;
//! * [`PathMatcher::new`] (the request's path filter): never panics, rejects with a
//!   one-line `InvalidArgument`, and matches as documented.
//!
//! Cases per property: 256 by default (a few seconds in all); `PROPTEST_CASES=N`
//! runs N each (the megabyte inputs run a hundredth of N).

use std::collections::HashSet;

use codectx_core::{Error, PathFilter, Signal};
use codectx_retrieve::fusion::{reciprocal_rank_fusion, RankedList};
use codectx_retrieve::query::{self, analyze, prose};
use codectx_retrieve::PathMatcher;
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

/// Pieces of issue texts: prose, identifiers, paths, stack-trace lines of every
/// supported shape, backticks, quotes, fences, prompts, Windows paths, Unicode.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z]{1,8}",
        2 => "[A-Za-z_][A-Za-z0-9_]{0,10}((\\.|::)[A-Za-z_][A-Za-z0-9_]{0,6}){0,2}\\(?",
        1 => "[a-z_./\\\\-]{0,12}[a-z0-9]\\.(py|rs|js|go|java|c|hpp|tsx|md|txt|json)(:[0-9]{1,12}){0,2}",
        1 => "File \"[^\"\n]{0,20}\", line [0-9]{1,12}(, in [A-Za-z_<>][A-Za-z0-9_<>]{0,8})?",
        1 => "at [a-z.$]{1,12}\\.[A-Za-z$<>]{1,6}\\([A-Za-z]{1,6}\\.(java|kt|scala):[0-9]{1,12}\\)",
        1 => "(Value|Type|Key)?(Error|Exception|Warning|Failure|Fault): [^\n]{0,40}",
        1 => "`[^`\n]{0,30}`",
        1 => "\"[^\"\n]{0,30}\"|'[^'\n]{0,30}'",
        3 => prop::sample::select(vec![
            " ", " ", "\n", "\r\n", "\t", "    ", "```", "```python\n", ">>> ", "... ", "$ ", "Traceback (most recent call last):\n",
            "`", "\"", "'", "(", ")", ".", "::", ":", "./", "C:\\", "\\", "é", "日本", "🦀", "\u{0}", "\u{2028}",
        ])
        .prop_map(str::to_string),
        1 => any::<String>(),
    ]
}

/// A query made of [`piece`]s.
fn issue() -> impl Strategy<Value = String> {
    proptest::collection::vec(piece(), 0..60).prop_map(|pieces| pieces.concat())
}

/// The query with `\` read as `/`, as paths are reported.
fn slashed(query: &str) -> String {
    query.replace('\\', "/")
}

/// Every documented property of one analysis.
fn check_analysis(query: &str) -> Result<(), TestCaseError> {
    let analyzed = analyze(query);
    let unique = |items: &[String]| items.iter().collect::<HashSet<_>>().len() == items.len();

    prop_assert!(unique(&analyzed.identifiers), "duplicate identifiers {:?}", analyzed.identifiers);
    for identifier in &analyzed.identifiers {
        prop_assert!(query.contains(identifier.as_str()), "identifier {identifier:?} is not in the query");
        prop_assert!((2..=200).contains(&identifier.len()), "identifier {identifier:?}");
        prop_assert!(!identifier.starts_with(['.', ':']) && !identifier.ends_with(['.', ':']), "{identifier:?}");
    }

    prop_assert!(unique(&analyzed.paths), "duplicate paths {:?}", analyzed.paths);
    let slashed = slashed(query);
    for path in &analyzed.paths {
        prop_assert!(slashed.contains(path.as_str()), "path {path:?} is not in the query");
        prop_assert!(!path.contains('\\') && !path.starts_with("./"), "{path:?}");
        prop_assert!(path.contains('.'), "a path has an extension: {path:?}");
    }

    for module in &analyzed.modules {
        prop_assert!(analyzed.identifiers.contains(module), "module {module:?} is not an identifier");
        prop_assert!(module.split('.').count() >= 2 && module.split('.').all(|part| !part.is_empty()), "{module:?}");
    }

    for (index, frame) in analyzed.frames.iter().enumerate() {
        prop_assert_eq!(frame.order, index, "frames are numbered in printed order");
        prop_assert!(!frame.path.is_empty());
        if let Some(line) = frame.line {
            prop_assert!(query.contains(&line.to_string()), "line {line} is not in the query");
        }
        if let Some(function) = &frame.function {
            prop_assert!(query.contains(function.as_str()), "function {function:?} is not in the query");
        }
        let file = frame.path.rsplit('/').next().unwrap_or(&frame.path);
        prop_assert!(query.contains(file), "frame file {file:?} is not in the query");
    }

    prop_assert!(unique(&analyzed.messages), "duplicate messages {:?}", analyzed.messages);
    for message in &analyzed.messages {
        prop_assert!(query.contains(message.as_str()), "message {message:?} is not in the query");
        prop_assert!(!message.is_empty() && message.chars().count() <= 300, "{message:?}");
        prop_assert!(!message.contains('\n') && message.trim() == message, "{message:?}");
    }

    prop_assert_eq!(analyze(query), analyzed, "analysis is deterministic");
    Ok(())
}

/// `prose(query, cap)`: within the cap; a prefix of the query, or lines of it
/// (left-trimmed, not code-like) with only the last one possibly cut.
fn check_prose(query: &str, cap: usize) -> Result<(), TestCaseError> {
    let text = prose(query, cap);
    prop_assert!(text.len() <= cap, "{} bytes > {cap}", text.len());
    if query.starts_with(text.as_str()) {
        // The fallback (nothing prose-like), or prose that is a prefix anyway.
        return Ok(());
    }
    let lines: HashSet<&str> = query.lines().map(str::trim_start).filter(|line| !line.is_empty()).collect();
    let segments: Vec<&str> = text.split('\n').collect();
    let (last, full) = segments.split_last().expect("split yields one segment at least");
    let from_prose = full.iter().all(|segment| lines.contains(segment))
        && (last.is_empty() || lines.iter().any(|line| line.starts_with(last)));
    prop_assert!(from_prose, "{text:?} is neither prose lines nor a prefix");
    for segment in full {
        prop_assert!(!segment.starts_with(">>>") && !segment.starts_with("Traceback"), "{segment:?}");
    }
    Ok(())
}

/// One-line `InvalidArgument`.
fn assert_invalid_argument(error: &Error) -> Result<(), TestCaseError> {
    prop_assert!(matches!(error, Error::InvalidArgument(_)), "{error:?}");
    let message = error.to_string();
    prop_assert!(!message.contains(['\n', '\r']), "not one line: {message:?}");
    Ok(())
}

/// Globs: valid, invalid (unclosed classes and alternates, reversed ranges, with
/// control characters), over-long, with NUL.
fn glob() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "(\\*\\*/)?[a-z*?]{0,6}(/[a-z*?]{1,6}){0,2}(\\.[a-z]{1,3})?",
        2 => proptest::collection::vec(
            prop::sample::select(vec![
                "*", "**", "?", "[", "]", "[!", "{", "}", ",", "\\", "/", "a", "b", "-", "z", "\n", "\r", "\t", "é", "\u{0}",
                "[z-a]", "[\n-\u{1}]", "{a,{b}}", "**a", "a**",
            ]),
            0..10,
        )
        .prop_map(|pieces| pieces.concat()),
        1 => ((codectx_core::MAX_PATH_BYTES - 4)..(codectx_core::MAX_PATH_BYTES + 6)).prop_map(|len| "a".repeat(len)),
        1 => any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Issue-like texts: every extracted part is in the query and well-formed.
    #[test]
    fn analysis_parts_come_from_the_query(query in issue()) {
        check_analysis(&query)?;
    }

    /// Arbitrary Unicode.
    #[test]
    fn analysis_of_arbitrary_text(query in any::<String>()) {
        check_analysis(&query)?;
    }

    /// Identifiers written in the query as code are found.
    #[test]
    fn code_identifiers_are_found(prefix in "[a-z ]{0,20}", name in "[a-z]{2,8}_[a-z]{2,8}|[a-z]{2,8}[A-Z][a-z]{2,8}", suffix in "([ ,)][a-z ]{0,20})?") {
        let query = format!("{prefix} {name}{suffix}");
        let analyzed = analyze(&query);
        prop_assert!(analyzed.identifiers.contains(&name), "{name:?} not found in {query:?}: {analyzed:?}");
        check_analysis(&query)?;
    }

    /// `SomeError: message` lines yield the message, trimmed; a blank or short one
    /// yields nothing: never an empty message, nor the next line's text.
    #[test]
    fn error_lines_yield_their_message(
        error in "(requests\\.)?(Value|Key|Connection)?(Error|Exception|Warning)",
        padding in "[ \t]{0,12}",
        message in "([a-z0-9()'.,]{1,8} ?){0,6}",
        trailing in "[ \t\r]{0,3}",
    ) {
        let query = format!("Some prose first.\n{error}:{padding}{message}{trailing}\nmore prose");
        let analyzed = analyze(&query);
        let expected = message.trim();
        if expected.chars().count() >= 8 {
            prop_assert_eq!(analyzed.messages.first().map(String::as_str), Some(expected), "{:?}", query);
        }
        let line = query.lines().nth(1).expect("the error line");
        for found in &analyzed.messages {
            prop_assert!(!found.is_empty() && line.contains(found.as_str()), "{:?}: {:?} is not from the error line", query, found);
        }
        check_analysis(&query)?;
    }

    /// A Python frame yields its path, line and function.
    #[test]
    fn python_frames_are_parsed(path in "[a-z/]{1,20}\\.py", line in 1u32.., function in "[a-z_][a-z0-9_]{0,10}") {
        let query = format!("Traceback (most recent call last):\n  File \"{path}\", line {line}, in {function}\n");
        let analyzed = analyze(&query);
        prop_assert_eq!(analyzed.frames.len(), 1);
        prop_assert_eq!(&analyzed.frames[0].path, &path);
        prop_assert_eq!(analyzed.frames[0].line, Some(line));
        prop_assert_eq!(analyzed.frames[0].function.as_deref(), Some(function.as_str()));
        check_analysis(&query)?;
    }

    /// `prose` on issue texts, for caps from 0 to past the text.
    #[test]
    fn prose_is_capped_prose(query in issue(), cap in prop_oneof![0usize..8, 0usize..400, Just(query::EMBEDDED_PROSE_BYTES)]) {
        check_prose(&query, cap)?;
    }

    /// `looks_like_code` is total.
    #[test]
    fn looks_like_code_never_panics(word in any::<String>()) {
        let code = query::looks_like_code(&word);
        if word.contains("::") {
            prop_assert!(code);
        }
    }

    /// Fusion: with non-negative weights and a positive `k`, scores are finite,
    /// non-negative, sorted, each the documented sum, and every key appears once.
    #[test]
    fn fusion_scores_are_the_documented_sums(
        lists in proptest::collection::vec(
            (0.0f32..=10.0, proptest::collection::vec((0u8..20, any::<f32>()), 0..30)),
            0..6,
        ),
        k in prop_oneof![Just(60.0f32), 0.001f32..1000.0],
    ) {
        let lists: Vec<RankedList<u8>> = lists
            .into_iter()
            .enumerate()
            .map(|(i, (weight, items))| RankedList { signal: Signal::ALL[i % Signal::ALL.len()], weight, items })
            .collect();
        let fused = reciprocal_rank_fusion(&lists, k);
        let keys: HashSet<u8> = fused.iter().map(|item| item.key).collect();
        prop_assert_eq!(keys.len(), fused.len(), "every key once");
        let expected_keys: HashSet<u8> = lists.iter().flat_map(|list| list.items.iter().map(|(key, _)| *key)).collect();
        prop_assert_eq!(keys, expected_keys);
        for pair in fused.windows(2) {
            prop_assert!(
                pair[0].score > pair[1].score || (pair[0].score == pair[1].score && pair[0].key < pair[1].key),
                "not sorted: {:?}", pair
            );
        }
        for item in &fused {
            prop_assert!(item.score.is_finite() && item.score >= 0.0, "{item:?}");
            let mut expected = 0.0f64;
            for list in &lists {
                let mut seen = Vec::new();
                for (key, _) in &list.items {
                    if !seen.contains(key) {
                        seen.push(*key);
                    }
                }
                if let Some(rank) = seen.iter().position(|key| *key == item.key) {
                    expected += f64::from(list.weight) / (f64::from(k) + (rank + 1) as f64);
                }
            }
            prop_assert!((f64::from(item.score) - expected).abs() <= 1e-4 * expected.max(1.0), "{item:?} vs {expected}");
            prop_assert!(item.signals.iter().all(|hit| hit.rank >= 1));
        }
    }

    /// Path filters: any glob compiles or is a one-line `InvalidArgument`; globs over
    /// `MAX_PATH_BYTES` (4 KiB) or with NUL are refused; a compiled filter answers
    /// any path.
    #[test]
    fn path_filters_compile_or_reject_cleanly(
        include in proptest::collection::vec(glob(), 0..3),
        exclude in proptest::collection::vec(glob(), 0..3),
        paths in proptest::collection::vec(any::<String>(), 0..4),
    ) {
        let filter = PathFilter { include: include.clone(), exclude: exclude.clone() };
        let must_fail = include.iter().chain(&exclude).any(|glob| glob.len() > codectx_core::MAX_PATH_BYTES || glob.contains('\0'));
        match PathMatcher::new(&filter) {
            Ok(matcher) => {
                prop_assert!(!must_fail, "{filter:?} accepted");
                prop_assert_eq!(matcher.is_all(), include.is_empty() && exclude.is_empty());
                for path in &paths {
                    let _ = matcher.accepts(path);
                }
            }
            Err(error) => assert_invalid_argument(&error)?,
        }
    }

    /// Matching: no filter takes every path; `**` takes every path; excluding a
    /// path's exact (escaped) text drops that path only.
    #[test]
    fn path_filters_match_as_documented(path in "[a-z]{1,5}(/[a-z_]{1,5}){0,3}\\.[a-z]{1,3}", other in "[a-z]{1,5}(/[a-z]{1,5}){0,2}\\.[a-z]{1,3}") {
        prop_assert!(PathMatcher::new(&PathFilter::default()).unwrap().accepts(&path));
        let everything = PathMatcher::new(&PathFilter { include: vec!["**".into()], exclude: vec![] }).unwrap();
        prop_assert!(everything.accepts(&path));
        let without = PathMatcher::new(&PathFilter { include: vec![], exclude: vec![path.clone()] }).unwrap();
        prop_assert!(!without.accepts(&path));
        prop_assert_eq!(without.accepts(&other), other != path);
    }
}

/// Inputs of up to a megabyte (16 times the 64 KiB a request may carry): no
/// panic, and the same properties.
#[test]
fn huge_queries() {
    let inputs = (proptest::collection::vec(piece(), 1..40), 200usize..20_000);
    heavy_runner(4, 100)
        .run(&inputs, |(pieces, repeat)| {
            let query = pieces.concat().repeat(repeat).chars().take(1 << 20).collect::<String>();
            check_analysis(&query)?;
            check_prose(&query, query::EMBEDDED_PROSE_BYTES)
        })
        .unwrap_or_else(|error| panic!("{}", error.to_string().chars().take(2000).collect::<String>()));
}

/// Long single lines and pathological repeats, once each.
#[test]
fn pathological_inputs() {
    let inputs = [
        "a".repeat(1 << 20),
        "a.".repeat(1 << 19),
        "a::".repeat(300_000),
        "`".repeat(1 << 20),
        "\"".repeat(1 << 20),
        "File \"".repeat(100_000),
        "at a.b(".repeat(100_000),
        "x.py:".repeat(200_000),
        "Error: ".repeat(100_000) + &"y".repeat(1000),
        "\n".repeat(1 << 20),
        "é".repeat(1 << 19),
    ];
    for query in &inputs {
        check_analysis(query).unwrap_or_else(|error| panic!("{error} on {:?}…", &query[..20]));
        let text = prose(query, 1000);
        assert!(text.len() <= 1000);
    }
}
