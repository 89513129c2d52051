//! The command line as a user runs it: `ask` without a model, `ask --json`,
//! `search`, `symbols`, `deps`, and one-line errors with exit code 2.

use std::path::Path;

use crate::util::{self, codectx, fixture_root, run, shared_index};

/// `codectx <command> <args> -C fixture --index-dir <shared index>`.
fn on_fixture(command: &str, args: &[&str]) -> std::process::Command {
    on_index(command, args, &shared_index().index_dir)
}

fn on_index(command: &str, args: &[&str], index_dir: &Path) -> std::process::Command {
    let mut cmd = codectx();
    cmd.arg(command).args(args).arg("-C").arg(fixture_root()).arg("--index-dir").arg(index_dir);
    cmd
}

/// A copy of the shared index (for tests that damage it).
fn index_copy() -> tempfile::TempDir {
    let dir = util::temp_dir();
    util::copy_dir(&shared_index().index_dir, dir.path());
    dir
}

#[test]
fn ask_without_a_model_prints_the_context_with_citations_and_a_hint() {
    let done = run(&mut on_fixture("ask", &["How does Session.resolve_redirects follow a redirect?"])).success();
    let out = &done.stdout;
    let header = util::line_of("pyapp/sessions.py", "def resolve_redirects(self, response):");
    // Every block is headed `path:start-end`; one of sessions.py's holds the method.
    let cited: Vec<(u32, u32)> = out
        .lines()
        .filter_map(|line| line.strip_prefix("pyapp/sessions.py:"))
        .map(|rest| {
            let range = rest.split_whitespace().next().unwrap_or_default();
            let (start, end) = range.split_once('-').unwrap_or_else(|| panic!("start-end in {rest:?}"));
            (start.parse().unwrap(), end.parse().unwrap())
        })
        .collect();
    assert!(
        cited.iter().any(|&(start, end)| start <= header && header <= end),
        "a cited pyapp/sessions.py block holds resolve_redirects (line {header}): {cited:?}\n{out}"
    );
    assert!(out.contains("def resolve_redirects(self, response):"), "the code itself is printed");
    assert!(out.contains("```"), "blocks are fenced");
    // The first block is the most relevant file.
    let first = out.lines().next().unwrap_or("");
    assert!(first.starts_with("pyapp/sessions.py:"), "first block header: {first}");
    assert!(out.contains("Ranked source files:"), "{out}");
    assert!(out.contains("tokens used in"), "{out}");
    let hints: Vec<&str> = out.lines().filter(|line| line.starts_with("No model is configured")).collect();
    assert_eq!(hints.len(), 1, "one hint line on how to get an answer: {out}");
    assert!(hints[0].contains("--model"), "{}", hints[0]);
    assert!(done.stderr.is_empty(), "nothing on stderr: {}", done.stderr);
}

#[test]
fn ask_json_prints_the_bundle_within_the_budget() {
    let done =
        run(&mut on_fixture("ask", &["--json", "--budget", "1000", "where is the Go server started?"])).success();
    let bundle = done.json();
    let blocks = bundle["blocks"].as_array().expect("blocks");
    assert!(!blocks.is_empty(), "{bundle}");
    for block in blocks {
        for field in ["path", "start_line", "end_line", "symbol", "score", "text"] {
            assert!(!block[field].is_null(), "block field {field}: {block}");
        }
        let path = block["path"].as_str().unwrap();
        let start = block["start_line"].as_u64().unwrap();
        let end = block["end_line"].as_u64().unwrap();
        assert!(1 <= start && start <= end, "{block}");
        let lines = util::fixture_text(path).lines().count() as u64;
        assert!(end <= lines, "{path}:{start}-{end} is inside the file ({lines} lines)");
    }
    let used = bundle["tokens_used"].as_u64().unwrap();
    assert!(used > 0 && used <= 1000, "tokens_used {used} within --budget 1000");
    assert_eq!(bundle["token_budget"], 1000);
    let files = bundle["files"].as_array().expect("files");
    assert_eq!(files[0]["path"], "goapp/server/server.go", "files: {files:?}");
    assert_eq!(bundle["fingerprint"].as_str().map(str::len), Some(16));
    let start = u64::from(util::line_of("goapp/server/server.go", "func (s *Server) Start() error {"));
    let holds_start = |block: &&serde_json::Value| {
        block["path"] == "goapp/server/server.go"
            && block["start_line"].as_u64().unwrap() <= start
            && start <= block["end_line"].as_u64().unwrap()
    };
    let block = blocks.iter().find(holds_start).unwrap_or_else(|| panic!("a block holds Server.Start: {bundle}"));
    assert!(block["text"].as_str().unwrap().contains("func (s *Server) Start() error {"));
}

#[test]
fn search_symbols_and_deps_print_what_they_find() {
    let done = run(&mut on_fixture("search", &["-k", "3", "resolve_redirects"])).success();
    let first = done.stdout.lines().next().unwrap_or_default();
    assert!(first.trim_start().starts_with("1. pyapp/sessions.py:"), "{}", done.stdout);
    assert!(first.contains("Session.resolve_redirects (method)"), "{first}");
    let ranks =
        done.stdout.lines().filter(|line| line.trim_start().chars().next().is_some_and(|c| c.is_ascii_digit())).count();
    assert!(ranks <= 3, "-k 3 limits the hits: {}", done.stdout);

    let done = run(&mut on_fixture("symbols", &["--json", "walk::Walker::new"])).success();
    let symbols = done.json();
    let symbols = symbols.as_array().unwrap();
    assert_eq!(symbols.len(), 1, "{symbols:?}");
    assert_eq!(symbols[0]["path"], "rustlib/src/walk.rs");
    assert_eq!(symbols[0]["kind"], "method");
    assert_eq!(symbols[0]["span"]["start_line"], util::line_of("rustlib/src/walk.rs", "pub fn new(root"));

    let done = run(&mut on_fixture("symbols", &["Server.Start"])).success();
    assert!(done.stdout.starts_with("goapp/server/server.go:"), "{}", done.stdout);
    assert!(done.stdout.contains("func (s *Server) Start() error"), "the signature is shown: {}", done.stdout);

    let done = run(&mut on_fixture("symbols", &["no_such_symbol_anywhere"]));
    done.assert_user_error(&["no symbol named no_such_symbol_anywhere"]);

    let done = run(&mut on_fixture("deps", &["--json", "pyapp/sessions.py"])).success();
    let deps = done.json();
    let imports: Vec<&str> =
        deps["imports"].as_array().unwrap().iter().filter_map(|edge| edge["to_path"].as_str()).collect();
    assert!(imports.contains(&"pyapp/models.py") && imports.contains(&"pyapp/utils.py"), "{deps}");
    let importers: Vec<&str> =
        deps["imported_by"].as_array().unwrap().iter().filter_map(|edge| edge["from_path"].as_str()).collect();
    assert!(importers.contains(&"pyapp/__init__.py") && importers.contains(&"tests/test_sessions.py"), "{deps}");

    let done = run(&mut on_fixture("deps", &["web/lib/format.js"])).success();
    assert!(done.stdout.contains("imported by:"), "{}", done.stdout);
    assert!(done.stdout.contains("web/src/index.ts:2"), "importer with its line: {}", done.stdout);
}

#[test]
fn a_missing_repository_path_is_a_one_line_error() {
    let mut cmd = codectx();
    cmd.args(["ask", "question", "-C", "/nonexistent/codectx-test-repo"]);
    run(&mut cmd).assert_user_error(&["path not found", "/nonexistent/codectx-test-repo"]);
    let mut cmd = codectx();
    cmd.args(["index", "/nonexistent/codectx-test-repo"]);
    run(&mut cmd).assert_user_error(&["path not found"]);
}

#[test]
fn a_repository_path_that_is_a_file_is_a_one_line_error() {
    let file = fixture_root().join("README.md");
    let mut cmd = codectx();
    cmd.args(["search", "query", "-C"]).arg(&file);
    run(&mut cmd).assert_user_error(&["not a directory", "README.md"]);
    let mut cmd = codectx();
    cmd.arg("index").arg(&file);
    run(&mut cmd).assert_user_error(&["not a directory"]);
}

#[test]
fn asking_before_indexing_says_to_run_index() {
    let empty = util::temp_dir();
    let done = run(&mut on_index("ask", &["how are redirects followed?"], empty.path()));
    done.assert_user_error(&["no index", "run `codectx index`"]);
    let done = run(&mut on_index("search", &["redirects"], empty.path()));
    done.assert_user_error(&["no index", "run `codectx index`"]);
}

#[test]
fn a_corrupt_current_pointer_is_reported_as_corrupt() {
    let index = index_copy();
    std::fs::write(index.path().join("CURRENT"), "\u{0}garbage\n").unwrap();
    let done = run(&mut on_index("ask", &["how are redirects followed?"], index.path()));
    done.assert_user_error(&["corrupt", "rebuild it with `codectx index --rebuild`"]);

    std::fs::write(index.path().join("CURRENT"), "gen-000099\n").unwrap();
    let done = run(&mut on_index("search", &["redirects"], index.path()));
    done.assert_user_error(&["corrupt", "gen-000099"]);
}

#[test]
fn a_corrupt_manifest_or_store_is_reported_as_corrupt() {
    let index = index_copy();
    let generation = index.path().join(util::current_generation(index.path()));
    std::fs::write(generation.join("manifest.json"), "{ this is not json").unwrap();
    let done = run(&mut on_index("ask", &["how are redirects followed?"], index.path()));
    done.assert_user_error(&["corrupt", "manifest.json"]);

    let index = index_copy();
    let generation = index.path().join(util::current_generation(index.path()));
    std::fs::write(generation.join("store.bin"), [0xff_u8; 7]).unwrap();
    let done = run(&mut on_index("search", &["redirects"], index.path()));
    done.assert_user_error(&["corrupt", "store.bin"]);

    // Re-indexing over a corrupt index rebuilds it.
    let stats = util::cli_index(&fixture_root(), index.path());
    assert_eq!(stats.files, shared_index().stats.files);
    assert_eq!(stats.parsed, stats.files, "nothing of the corrupt generation is reused");
    run(&mut on_index("search", &["redirects"], index.path())).success();
}

#[test]
fn an_index_of_another_format_version_asks_to_reindex() {
    let index = index_copy();
    let manifest = index.path().join(util::current_generation(index.path())).join("manifest.json");
    let mut value: serde_json::Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    value["format_version"] = serde_json::json!(999);
    std::fs::write(&manifest, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
    let done = run(&mut on_index("ask", &["how are redirects followed?"], index.path()));
    let expected = format!("reads version {}", codectx_core::INDEX_FORMAT_VERSION);
    done.assert_user_error(&["format version 999", &expected, "re-index with `codectx index`"]);
}

#[test]
fn an_empty_query_is_rejected() {
    run(&mut on_fixture("ask", &[""])).assert_user_error(&["the query is empty"]);
    run(&mut on_fixture("search", &["   "])).assert_user_error(&["the query is empty"]);
}

#[test]
fn an_oversized_query_is_rejected() {
    let query = "x".repeat(64 * 1024 + 1);
    run(&mut on_fixture("ask", &[&query])).assert_user_error(&["65537 bytes", "65536"]);
}

#[test]
fn a_budget_out_of_range_is_rejected() {
    run(&mut on_fixture("ask", &["--budget", "10", "redirects"])).assert_user_error(&["token budget 10"]);
}

#[test]
fn an_unreachable_model_endpoint_is_a_one_line_error_with_the_url() {
    let done = run(&mut on_fixture(
        "ask",
        &["--model", "m", "--base-url", "http://127.0.0.1:1/v1", "how are redirects followed?"],
    ));
    done.assert_user_error(&["model endpoint", "http://127.0.0.1:1/v1"]);
}

#[test]
fn an_invalid_glob_is_rejected() {
    let index_dir = util::temp_dir();
    let mut cmd = codectx();
    cmd.arg("index").arg(fixture_root()).arg("--index-dir").arg(index_dir.path()).args(["--include", "src/[a"]);
    run(&mut cmd).assert_user_error(&["include glob", "src/[a"]);
    run(&mut on_fixture("ask", &["--exclude", "a[", "redirects"])).assert_user_error(&["invalid path glob"]);
}

#[test]
fn version_names_the_index_format_and_completions_and_man_page_are_printed() {
    let version = run(codectx().arg("--version")).success();
    assert_eq!(
        version.stdout.trim(),
        format!("codectx {} (index format {})", env!("CARGO_PKG_VERSION"), codectx_core::INDEX_FORMAT_VERSION)
    );
    let bash = run(codectx().args(["completions", "bash"])).success();
    assert!(bash.stdout.contains("complete -F _codectx") && bash.stdout.contains("train-ranker"), "{}", bash.stdout);
    let zsh = run(codectx().args(["completions", "zsh"])).success();
    assert!(zsh.stdout.starts_with("#compdef codectx"), "{}", zsh.stdout);
    let man = run(codectx().arg("man")).success();
    assert!(man.stdout.contains(".TH codectx 1") && man.stdout.contains("index format"), "{}", man.stdout);
    // Every subcommand is described in the help, each by its own text.
    let help = run(codectx().arg("--help")).success();
    let commands: Vec<&str> = help
        .stdout
        .lines()
        .skip_while(|line| *line != "Commands:")
        .skip(1)
        .take_while(|line| !line.is_empty())
        .collect();
    assert!(commands.len() >= 16, "{}", help.stdout);
    for line in &commands {
        assert!(line.trim().split_once(' ').is_some_and(|(_, about)| !about.trim().is_empty()), "undescribed: {line}");
    }
    let serve = commands.iter().find(|line| line.trim().starts_with("serve ")).expect("serve is listed");
    assert!(serve.contains("over gRPC"), "{serve}");
    let repo = commands.iter().find(|line| line.trim().starts_with("repo ")).expect("repo is listed");
    assert!(!repo.contains("over gRPC") && repo.contains("running `codectx serve`"), "{repo}");
    let unknown = run(codectx().args(["completions", "tcsh"]));
    assert_ne!(unknown.code, Some(0));
    assert!(unknown.stderr.contains("invalid value 'tcsh'"), "{}", unknown.stderr);
}

#[test]
fn index_json_streams_progress_events_and_prints_the_counters() {
    let index_dir = util::temp_dir();
    let done = run(codectx().arg("index").arg(fixture_root()).arg("--index-dir").arg(index_dir.path()).arg("--json"))
        .success();
    let stats: serde_json::Value = serde_json::from_str(&done.stdout).expect("the counters as one JSON value");
    assert!(stats["files"].as_u64().unwrap() > 10, "{}", done.stdout);
    let events: Vec<serde_json::Value> = done
        .stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line:?}")))
        .collect();
    let phases: Vec<&str> = events.iter().filter_map(|event| event["phase"].as_str()).collect();
    for phase in ["walk", "parse", "done"] {
        assert!(phases.contains(&phase), "{phase} in {phases:?}");
    }
    let last = events.last().expect("events");
    assert_eq!((last["phase"].as_str(), last["done"].as_u64()), (Some("done"), stats["files"].as_u64()));
}
