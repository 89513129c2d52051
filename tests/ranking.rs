//! Ranking golden files (`tests/data/golden/*.txt`), evaluated against the fixture.
//!
//! Format, one case per file:
//!
//! ```text
//! # comments
//! query: first line of the query
//! query: more lines (a stack trace), joined with newlines
//! top: 3
//! expect_file: pyapp/sessions.py          (in the top N files of the bundle)
//! expect_symbol: Session.resolve_redirects (defined in one of the top N search hits)
//! ```
//!
//! `CODECTX_UPDATE_GOLDEN=1 cargo test --test tests ranking` rewrites the expectations
//! of every file with the actual top N results (review the diff before committing).

use std::path::{Path, PathBuf};

use codectx_core::{ContextRequest, SearchRequest};
use codectx_retrieve::RetrieveOptions;

use crate::util::{self, shared_index};

struct GoldenCase {
    path: PathBuf,
    comments: Vec<String>,
    query: String,
    top: usize,
    expect_files: Vec<String>,
    expect_symbols: Vec<String>,
}

fn parse(path: &Path) -> GoldenCase {
    let text = std::fs::read_to_string(path).expect("read golden file");
    let mut case = GoldenCase {
        path: path.to_path_buf(),
        comments: Vec::new(),
        query: String::new(),
        top: 5,
        expect_files: Vec::new(),
        expect_symbols: Vec::new(),
    };
    let mut query_lines: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') {
            case.comments.push(line.to_string());
        } else if let Some(value) = line.strip_prefix("query:") {
            query_lines.push(value.strip_prefix(' ').unwrap_or(value).to_string());
        } else if let Some(value) = line.strip_prefix("top:") {
            case.top = value.trim().parse().unwrap_or_else(|_| panic!("{}: bad top: {line}", path.display()));
        } else if let Some(value) = line.strip_prefix("expect_file:") {
            case.expect_files.push(value.trim().to_string());
        } else if let Some(value) = line.strip_prefix("expect_symbol:") {
            case.expect_symbols.push(value.trim().to_string());
        } else if !line.trim().is_empty() {
            panic!("{}: unknown line {line:?}", path.display());
        }
    }
    case.query = query_lines.join("\n");
    assert!(!case.query.is_empty(), "{}: no query", path.display());
    assert!(!case.expect_files.is_empty() || !case.expect_symbols.is_empty(), "{}: no expectation", path.display());
    case
}

/// What a query ranks: files of the bundle, best first; the symbol of each search
/// hit (its chunk's symbol, or empty), best first; and, per hit, every symbol defined in it.
struct Actual {
    files: Vec<String>,
    hit_symbols: Vec<String>,
    defined: Vec<Vec<String>>,
}

fn actual(query: &str) -> Actual {
    let snapshot = &shared_index().snapshot;
    let options = RetrieveOptions::default();
    let bundle = codectx_retrieve::assemble(snapshot, &ContextRequest::new(query), &options).expect("assemble");
    let files = bundle.files.iter().map(|file| file.path.clone()).collect();
    let hits = codectx_retrieve::search(
        snapshot,
        &SearchRequest { query: query.into(), limit: 20, filter: Default::default(), mode: None },
        &options,
    )
    .expect("search");
    let mut hit_symbols: Vec<String> = Vec::new();
    let mut defined = Vec::new();
    for hit in hits {
        let (_, entry) = snapshot.file(&hit.path).expect("hit file");
        defined.push(
            entry
                .parsed
                .symbols
                .iter()
                .filter(|symbol| {
                    hit.span.start_byte <= symbol.name_span.start_byte
                        && symbol.name_span.start_byte < hit.span.end_byte
                })
                .map(|symbol| symbol.qualified_name.clone())
                .collect(),
        );
        hit_symbols.push(hit.symbol);
    }
    Actual { files, hit_symbols, defined }
}

fn write(case: &GoldenCase, files: &[String], symbols: &[String]) {
    let mut out = String::new();
    for comment in &case.comments {
        out.push_str(comment);
        out.push('\n');
    }
    for line in case.query.lines() {
        out.push_str(&format!("query: {line}\n"));
    }
    out.push_str(&format!("top: {}\n", case.top));
    if !case.expect_files.is_empty() {
        for file in files.iter().take(case.top) {
            out.push_str(&format!("expect_file: {file}\n"));
        }
    }
    if !case.expect_symbols.is_empty() {
        let mut written: Vec<&String> = Vec::new();
        for symbol in symbols.iter().take(case.top).filter(|symbol| !symbol.is_empty()) {
            if !written.contains(&symbol) {
                out.push_str(&format!("expect_symbol: {symbol}\n"));
                written.push(symbol);
            }
        }
    }
    std::fs::write(&case.path, out).expect("update golden file");
}

#[test]
fn golden_queries_rank_the_expected_files_and_symbols() {
    let update = std::env::var_os("CODECTX_UPDATE_GOLDEN").is_some_and(|value| value == "1");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(util::golden_dir())
        .expect("tests/data/golden")
        .map(|entry| entry.expect("dir entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "txt"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 6, "golden files: {paths:?}");

    let mut failures = Vec::new();
    for path in &paths {
        let case = parse(path);
        let Actual { files, hit_symbols: symbols, defined } = actual(&case.query);
        if update {
            write(&case, &files, &symbols);
            continue;
        }
        let top_files: Vec<&String> = files.iter().take(case.top).collect();
        let top_defined: Vec<&String> = defined.iter().take(case.top).flatten().collect();
        let missing_files: Vec<&String> = case.expect_files.iter().filter(|file| !top_files.contains(file)).collect();
        let missing_symbols: Vec<&String> =
            case.expect_symbols.iter().filter(|symbol| !top_defined.contains(symbol)).collect();
        if !missing_files.is_empty() || !missing_symbols.is_empty() {
            failures.push(format!(
                "{}: not in the top {}: files {missing_files:?}, symbols {missing_symbols:?}\n  actual files:   {:?}\n  actual hits:    {:?}",
                path.file_name().unwrap().to_string_lossy(),
                case.top,
                files.iter().take(5).collect::<Vec<_>>(),
                defined.iter().take(5).collect::<Vec<_>>()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "golden ranking failures (CODECTX_UPDATE_GOLDEN=1 rewrites them):\n{}",
        failures.join("\n")
    );
}

#[test]
fn a_python_traceback_puts_the_failing_line_first() {
    let line = util::line_of("pyapp/sessions.py", "location = utils.join_location(response.request.url");
    let query = format!(
        "Traceback (most recent call last):\n  File \"/srv/app/tests/test_sessions.py\", line 26, in test_follows_the_location_header\n    history = session.resolve_redirects(moved)\n  File \"/srv/app/pyapp/sessions.py\", line {line}, in resolve_redirects\nKeyError: 'location'"
    );
    let bundle =
        codectx_retrieve::assemble(&shared_index().snapshot, &ContextRequest::new(&query), &RetrieveOptions::default())
            .expect("assemble");
    let first = bundle.blocks.first().expect("a block");
    assert_eq!(first.path, "pyapp/sessions.py");
    assert!(
        first.start_line <= line && line <= first.end_line,
        "the first block {}:{}-{} holds the failing line {line}",
        first.path,
        first.start_line,
        first.end_line
    );
    assert!(first.text.contains("utils.join_location"), "{}", first.text);
    assert!(
        bundle.blocks.iter().any(|block| block.path == "tests/test_sessions.py"),
        "the calling test is in the context too: {:?}",
        bundle.blocks.iter().map(|block| &block.path).collect::<Vec<_>>()
    );
}

#[test]
fn a_definition_ranks_above_its_mentions() {
    let hits = codectx_retrieve::search(
        &shared_index().snapshot,
        &SearchRequest { query: "resolve_redirects".into(), limit: 20, filter: Default::default(), mode: None },
        &RetrieveOptions::default(),
    )
    .expect("search");
    let position = |predicate: &dyn Fn(&codectx_core::SearchHit) -> bool| hits.iter().position(predicate);
    let definition = position(&|hit| hit.symbol == "Session.resolve_redirects").expect("the definition is found");
    let mention = position(&|hit| hit.path == "tests/test_sessions.py").expect("the test that calls it is found");
    let caller = position(&|hit| hit.symbol == "Session.send").expect("the method that calls it is found");
    assert_eq!(definition, 0, "hits: {:?}", hits.iter().map(|hit| (&hit.path, &hit.symbol)).collect::<Vec<_>>());
    assert!(definition < mention && definition < caller);
}

#[test]
fn filters_and_budget_shape_the_bundle() {
    let snapshot = &shared_index().snapshot;
    let options = RetrieveOptions::default();
    let mut request = ContextRequest::new("how are redirects followed and locations joined?");
    request.token_budget = 300;
    let small = codectx_retrieve::assemble(snapshot, &request, &options).expect("assemble");
    assert!(small.tokens_used <= 300, "tokens_used {} over the budget", small.tokens_used);
    assert!(!small.blocks.is_empty());
    let counted: u32 = small.blocks.iter().map(|block| codectx_core::tokens::count(&block.text) as u32).sum();
    assert_eq!(counted, small.tokens_used, "tokens_used is the sum of the blocks' tokens");

    request.token_budget = 8000;
    request.filter.include = vec!["web/**".into()];
    let web = codectx_retrieve::assemble(snapshot, &request, &options).expect("assemble");
    assert!(web.blocks.iter().all(|block| block.path.starts_with("web/")), "include filter");
    assert!(web.files.iter().all(|file| file.path.starts_with("web/")), "include filter on files");

    request.filter.include.clear();
    request.filter.exclude = vec!["pyapp/**".into()];
    let without = codectx_retrieve::assemble(snapshot, &request, &options).expect("assemble");
    assert!(without.blocks.iter().all(|block| !block.path.starts_with("pyapp/")), "exclude filter");

    request.filter.exclude.clear();
    request.max_files = 1;
    let one = codectx_retrieve::assemble(snapshot, &request, &options).expect("assemble");
    let mut paths: Vec<&str> = one.blocks.iter().map(|block| block.path.as_str()).collect();
    paths.dedup();
    assert_eq!(paths.len(), 1, "max_files = 1: {paths:?}");

    // Same index, same query: same answer.
    let again = codectx_retrieve::assemble(snapshot, &request, &options).expect("assemble");
    assert_eq!(one, again, "retrieval is deterministic");
}

#[test]
fn block_text_is_exactly_the_cited_lines() {
    let snapshot = &shared_index().snapshot;
    let queries = [
        "how are redirects followed and locations joined?",
        "where is the Go server started?",
        "session request response headers transport",
        "logging getLogger retry decorator ConnectionError",
    ];
    let mut mismatches = Vec::new();
    for query in queries {
        for budget in [256, 600, 1300, 8000] {
            let mut request = ContextRequest::new(query);
            request.token_budget = budget;
            let bundle = codectx_retrieve::assemble(snapshot, &request, &RetrieveOptions::default()).expect("assemble");
            for block in bundle.blocks.iter().filter(|block| block.kind == codectx_core::BlockKind::Code) {
                let source = util::fixture_text(&block.path);
                let cited: Vec<&str> = source
                    .lines()
                    .skip(block.start_line as usize - 1)
                    .take((block.end_line - block.start_line + 1) as usize)
                    .collect();
                if block.text != cited.join("\n") {
                    mismatches.push(format!(
                        "{query:?} (budget {budget}) {}:{}-{}\n--- block text\n{}\n--- file lines\n{}",
                        block.path,
                        block.start_line,
                        block.end_line,
                        block.text,
                        cited.join("\n")
                    ));
                }
            }
        }
    }
    assert!(mismatches.is_empty(), "a block's text must be the lines its header cites:\n{}", mismatches.join("\n\n"));
}

#[test]
fn expansion_adds_related_signatures_and_a_repo_map_within_the_budget() {
    use codectx_core::BlockKind;
    let snapshot = &shared_index().snapshot;
    let mut request = ContextRequest::new("Session.resolve_redirects follows the redirect chain");
    request.token_budget = 1500;
    let bundle = codectx_retrieve::assemble(snapshot, &request, &RetrieveOptions::default()).expect("assemble");
    assert!(bundle.tokens_used as usize <= request.token_budget);
    let code: Vec<_> = bundle.blocks.iter().filter(|block| block.kind == BlockKind::Code).collect();
    let related: Vec<_> = bundle.blocks.iter().filter(|block| block.kind == BlockKind::Related).collect();
    let maps: Vec<_> = bundle.blocks.iter().filter(|block| block.kind == BlockKind::RepoMap).collect();
    assert!(!code.is_empty());
    assert!(!related.is_empty(), "callees or callers of the chosen chunks: {:#?}", bundle.blocks);
    // Every related definition is used by a chosen chunk, or uses one: its name
    // appears in the code shown, or a shown definition's name appears in it.
    for block in &related {
        let name = block.symbol.rsplit(['.', ':']).next().unwrap();
        let called = code.iter().any(|shown| shown.text.contains(name));
        let (_, entry) = snapshot.file(&block.path).expect("indexed");
        let symbol = entry
            .parsed
            .symbols
            .iter()
            .find(|symbol| symbol.name_span.start_line == block.start_line)
            .expect("a definition");
        let body: Vec<&str> = util::fixture_text(&block.path)
            .lines()
            .skip(symbol.span.start_line as usize - 1)
            .take(symbol.span.line_count() as usize)
            .map(|line| line.to_owned().leak() as &str)
            .collect();
        let caller = code.iter().any(|shown| {
            let shown_name = shown.symbol.rsplit(['.', ':']).next().unwrap_or("");
            !shown_name.is_empty() && body.iter().any(|line| line.contains(shown_name))
        });
        assert!(called || caller, "unrelated block {block:#?}");
        // Never a repeat of code already in the bundle.
        assert!(!code.iter().any(|shown| shown.path == block.path
            && shown.start_line <= block.start_line
            && block.start_line <= shown.end_line));
    }
    // The repo map lists the top file's definitions with their real line numbers.
    let map = maps.iter().find(|block| block.path == "pyapp/sessions.py").expect("a repo map of pyapp/sessions.py");
    let source = util::fixture_text("pyapp/sessions.py");
    for line in map.text.lines() {
        let (number, signature) = line.split_once(": ").expect("`N: signature` lines");
        let number: usize = number.trim().parse().expect("a line number");
        let head = signature.trim().split('(').next().unwrap();
        assert!(source.lines().nth(number - 1).unwrap().contains(head), "{line}");
    }
    assert!(map.text.contains("def resolve_redirects(self, response):"));

    // Switched off: chunks only.
    request.expansion.enabled = false;
    let plain = codectx_retrieve::assemble(snapshot, &request, &RetrieveOptions::default()).expect("assemble");
    assert!(plain.blocks.iter().all(|block| matches!(block.kind, BlockKind::Code | BlockKind::Signature)));
    // A share of 0 leaves no room for expansion either, when the chunks fill the budget.
    request.expansion = codectx_core::Expansion { enabled: true, max_share: 1.0 };
    let all_expansion = codectx_retrieve::assemble(snapshot, &request, &RetrieveOptions::default()).expect("assemble");
    assert!(
        all_expansion.blocks.iter().all(|block| !matches!(block.kind, BlockKind::Code)),
        "share 1.0 leaves nothing for chunks"
    );
}

#[test]
fn an_error_message_in_the_query_finds_the_literal_that_raises_it() {
    let repo = util::temp_dir();
    let write = |path: &str, text: &str| {
        let full = repo.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    };
    write(
        "conf/parser.py",
        "def parse_header(line):\n    fields = line.split(':')\n    if len(fields) != 2:\n        raise ValueError(\"could not parse the configuration header line\")\n    return fields\n",
    );
    // A file that talks about configuration headers far more, without the message.
    write(
        "conf/docs_helper.py",
        "def describe():\n    \"\"\"The configuration header line: a configuration header names the section.\n    Each configuration header line is parsed; header lines configure parsing.\"\"\"\n    return 'configuration header line configuration header'\n",
    );
    let index_dir = util::temp_dir();
    util::index_repo(repo.path(), index_dir.path());
    let snapshot = codectx_index::IndexSnapshot::open(index_dir.path()).unwrap();
    let query = "Loading my file fails:\n\nTraceback (most recent call last):\n  File \"/home/me/app.py\", line 3, in <module>\nValueError: could not parse the configuration header line 'name value'\n";
    let ranking =
        codectx_retrieve::rank(&snapshot, query, &codectx_retrieve::PathMatcher::all(), &RetrieveOptions::default())
            .unwrap();
    let top = &ranking.chunks[0];
    assert_eq!(snapshot.file_at(top.chunk.file).record.path, "conf/parser.py");
    assert!(
        top.signals.iter().any(|hit| hit.signal == codectx_core::Signal::ErrorMessage),
        "found through the message: {:?}",
        top.signals
    );
}

#[test]
fn a_signature_block_never_repeats_a_line_that_code_already_shows() {
    use codectx_core::BlockKind;
    // One long function, split into several window chunks: its later windows
    // degrade to the function's signature, whose line the first window shows.
    let repo = util::temp_dir();
    let mut body = String::from(
        "def reconcile_ledger(entries, accounts):\n    \"\"\"Reconcile ledger entries against accounts.\"\"\"\n",
    );
    for index in 0..160 {
        body.push_str(&format!(
            "    balance_{index} = accounts.get('ledger_{index}', 0) + entries[{index}] * rate_{index}\n"
        ));
    }
    body.push_str("    return reconcile_total\n");
    std::fs::write(repo.path().join("ledger.py"), body).unwrap();
    let index_dir = util::temp_dir();
    util::index_repo(repo.path(), index_dir.path());
    let snapshot = codectx_index::IndexSnapshot::open(index_dir.path()).unwrap();
    for budget in (300..=2400).step_by(100) {
        let mut request = ContextRequest::new("reconcile_ledger balance accounts ledger entries rate reconcile_total");
        request.token_budget = budget;
        request.expansion.enabled = false;
        let bundle = codectx_retrieve::assemble(&snapshot, &request, &RetrieveOptions::default()).expect("assemble");
        for signature in bundle.blocks.iter().filter(|block| block.kind == BlockKind::Signature) {
            let shown = bundle.blocks.iter().any(|block| {
                block.kind == BlockKind::Code
                    && block.path == signature.path
                    && block.start_line <= signature.start_line
                    && signature.start_line <= block.end_line
            });
            assert!(!shown, "budget {budget}: {}:{} repeats code", signature.path, signature.start_line);
        }
    }
}

#[test]
fn re_export_modules_are_told_from_modules_that_define_code() {
    use codectx_core::Language;
    let options = codectx_syntax::ChunkOptions::default();
    let parsed =
        |path: &str, language: Language, source: &str| codectx_syntax::parse_file(path, language, source, &options);
    let cases = [
        (
            "pkg/__init__.py",
            Language::Python,
            "from .vector import Vector, BaseVector\nfrom .point import Point\n\n__all__ = ['Vector', 'Point']\n",
            true,
        ),
        ("pkg/__init__.py", Language::Python, "from .a import b\n\ndef helper():\n    return b()\n", false),
        ("pkg/__init__.py", Language::Python, "from .a import b\n\nclass C:\n    pass\n", false),
        ("pkg/empty.py", Language::Python, "X = 1\n", false),
        ("web/index.ts", Language::TypeScript, "export { get } from './api';\nimport { x } from './x';\n", true),
        ("web/api.ts", Language::TypeScript, "import { x } from './x';\nexport function get() { return x; }\n", false),
        ("src/util/mod.rs", Language::Rust, "mod walk;\npub use walk::walk;\n", true),
    ];
    for (path, language, source, expected) in cases {
        assert_eq!(
            codectx_retrieve::signals::is_reexport_module(&parsed(path, language, source)),
            expected,
            "{path}: {source}"
        );
    }
}

/// The symbol of the first search hit for `query` (default options).
fn first_hit_symbol(query: &str) -> String {
    let hits = codectx_retrieve::search(
        &shared_index().snapshot,
        &SearchRequest { query: query.into(), limit: 5, filter: Default::default(), mode: None },
        &RetrieveOptions::default(),
    )
    .expect("search");
    hits.first().expect("a hit").symbol.clone()
}

#[test]
fn a_traceback_from_another_version_still_finds_the_frames_function() {
    // The reporter's copy of the file is older: their line number lands in
    // `Session.mount` of the indexed version.
    let stale_line = util::line_of("pyapp/sessions.py", "self.adapters[prefix] = transport");
    let frame = format!("  File \"/srv/app/pyapp/sessions.py\", line {stale_line}, in resolve_redirects\n");
    let with_source = format!(
        "Traceback (most recent call last):\n{frame}    location = utils.join_location(response.request.url, response.headers[\"location\"])\nKeyError: 'location'"
    );
    assert_eq!(first_hit_symbol(&with_source), "Session.resolve_redirects", "the printed source line wins");
    let without_source = format!("Traceback (most recent call last):\n{frame}KeyError: 'location'");
    assert_eq!(first_hit_symbol(&without_source), "Session.resolve_redirects", "the frame's function wins");
    // When line and function agree, the line's chunk is the frame's.
    let line = util::line_of("pyapp/sessions.py", "self.adapters[prefix] = transport");
    let agreeing = format!("Traceback:\n  File \"pyapp/sessions.py\", line {line}, in mount\nKeyError: 'x'");
    assert_eq!(first_hit_symbol(&agreeing), "Session.mount");
}

#[test]
fn function_level_ranking_lists_definitions_not_variables_or_nested_helpers() {
    let snapshot = &shared_index().snapshot;
    let options = RetrieveOptions::default();
    let ranking = codectx_retrieve::rank(
        snapshot,
        "the retry decorator logs 'attempt failed, retrying' on ConnectionError",
        &codectx_retrieve::PathMatcher::all(),
        &options,
    )
    .expect("rank");
    let definitions = codectx_retrieve::ranked_definitions(snapshot, &ranking, &options);
    let names: Vec<String> = definitions
        .iter()
        .map(|definition| {
            let entry = snapshot.file_at(definition.file);
            let name = definition.symbol.map_or("<module>".to_string(), |symbol| {
                let symbol = &entry.parsed.symbols[symbol as usize];
                assert!(
                    !matches!(symbol.kind, codectx_core::SymbolKind::Variable | codectx_core::SymbolKind::Constant),
                    "{} is a {} in {}",
                    symbol.qualified_name,
                    symbol.kind,
                    entry.record.path
                );
                symbol.qualified_name.clone()
            });
            format!("{}::{name}", entry.record.path)
        })
        .collect();
    assert_eq!(names.first().map(String::as_str), Some("pyapp/sessions.py::retry"), "{names:?}");
    assert!(!names.iter().any(|name| name.contains("retry.wrap")), "nested helpers stand for retry: {names:?}");
    let distinct: std::collections::HashSet<&String> = names.iter().collect();
    assert_eq!(distinct.len(), names.len(), "each definition once: {names:?}");
    let fused = codectx_retrieve::definitions::fused_definitions(snapshot, &ranking, &options);
    assert!(fused.windows(2).all(|pair| pair[0].score >= pair[1].score), "fused order: best first");

    // In the fused order, a large file prior gives the file-then-function order:
    // the first file's definitions, then the second's.
    let grouped = RetrieveOptions { definition_file_prior: 1000.0, function_files: 0, ..options };
    let files: Vec<u32> =
        codectx_retrieve::ranked_definitions(snapshot, &ranking, &grouped).iter().map(|d| d.file).collect();
    let mut order: Vec<u32> = files.clone();
    order.dedup();
    let ranked_files: Vec<u32> =
        ranking.files.iter().map(|(file, _)| *file).filter(|file| files.contains(file)).collect();
    assert_eq!(order, ranked_files, "definitions grouped by file, in file order");
}

#[test]
fn the_function_ranker_sees_every_definition_of_the_first_files_and_orders_them_by_its_model() {
    use codectx_retrieve::definitions::{definition_features, fused_definitions, FUNCTION_FEATURES};
    let snapshot = &shared_index().snapshot;
    let options = RetrieveOptions::parse("lexical+function_files=10").expect("options");
    assert!(options.function_ranker.is_some(), "function_files turns the shipped function ranker on");
    let query = "the retry decorator logs 'attempt failed, retrying' on ConnectionError";
    let ranking =
        codectx_retrieve::rank(snapshot, query, &codectx_retrieve::PathMatcher::all(), &options).expect("rank");
    let fused = fused_definitions(snapshot, &ranking, &options);
    let candidates = definition_features(snapshot, &ranking, &options, &fused);
    // Every definition of the first file is a candidate, ranked chunk or not.
    let first = ranking.files[0].0;
    let parsed = &snapshot.file_at(first).parsed;
    for (index, symbol) in parsed.symbols.iter().enumerate() {
        if symbol.kind.is_definition() && symbol.parent.is_none() {
            assert!(
                candidates
                    .iter()
                    .any(|(definition, _)| definition.file == first && definition.symbol == Some(index as u32)),
                "{} is not a candidate",
                symbol.qualified_name
            );
        }
    }
    assert!(candidates.iter().all(|(_, features)| features.len() == FUNCTION_FEATURES.len()));
    assert!(candidates.len() > fused.iter().filter(|definition| definition.file == first).count());

    // A model that prefers long definitions (log2_lines above 3) puts them first,
    // then the rest of the fused order follows.
    let lines = FUNCTION_FEATURES.iter().position(|name| *name == "log2_lines").expect("feature");
    let model = format!(
        "tree\nmax_feature_idx={}\nfeature_names={}\n\nTree=0\nnum_leaves=2\nsplit_feature={lines}\nthreshold=3\n\
         decision_type=0\nleft_child=-1\nright_child=-2\nleaf_value=0 1\n\nend of trees\n",
        FUNCTION_FEATURES.len() - 1,
        FUNCTION_FEATURES.join(" ")
    );
    let ranker = codectx_retrieve::rerank::FunctionRanker::parse(&model, "long first").expect("model");
    let ranked = codectx_retrieve::ranked_definitions(
        snapshot,
        &ranking,
        &RetrieveOptions { function_ranker: Some(std::sync::Arc::new(ranker)), ..options.clone() },
    );
    let long = |definition: &codectx_retrieve::RankedDefinition| {
        candidates
            .iter()
            .find(|(candidate, _)| (candidate.file, candidate.symbol) == (definition.file, definition.symbol))
            .is_some_and(|(_, features)| features[lines] > 3.0)
    };
    let boundary = ranked.iter().position(|definition| !long(definition)).expect("a short definition");
    assert!(boundary > 0, "a long definition comes first");
    assert!(ranked[boundary..candidates.len()].iter().all(|definition| !long(definition)), "long ones first");
    assert_eq!(
        ranked.len(),
        candidates.len() + fused.len()
            - fused.iter().filter(|d| candidates.iter().any(|(c, _)| (c.file, c.symbol) == (d.file, d.symbol))).count()
    );
}
