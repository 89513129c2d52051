//! Incremental indexing: unchanged files are not re-parsed, an unchanged repository
//! keeps its generation, edits and deletions show up in the next generation.

use std::path::Path;

use codectx_core::SearchRequest;
use codectx_index::IndexSnapshot;
use codectx_retrieve::RetrieveOptions;

use crate::util::{self, current_generation, index_repo};

fn search_symbols(index_dir: &Path, query: &str) -> Vec<(String, String)> {
    let snapshot = IndexSnapshot::open(index_dir).expect("open index");
    codectx_retrieve::search(
        &snapshot,
        &SearchRequest { query: query.into(), limit: 5, filter: Default::default(), mode: None },
        &RetrieveOptions::default(),
    )
    .expect("search")
    .into_iter()
    .map(|hit| (hit.path, hit.symbol))
    .collect()
}

fn resolution_of(index_dir: &Path, from: &str, module_fragment: &str) -> Option<String> {
    let snapshot = IndexSnapshot::open(index_dir).expect("open index");
    let (_, entry) = snapshot.file(from).expect("file indexed");
    let import = entry
        .parsed
        .imports
        .iter()
        .find(|import| import.module.contains(module_fragment))
        .unwrap_or_else(|| panic!("{from} imports {module_fragment}"));
    import.resolved.clone()
}

#[test]
fn a_second_run_parses_nothing_and_keeps_the_generation() {
    let index_dir = util::temp_dir();
    let first = util::index_fixture(index_dir.path());
    let manifest = std::fs::read(index_dir.path().join("gen-000001/manifest.json")).expect("manifest of generation 1");
    let second = util::index_fixture(index_dir.path());
    assert_eq!(second.parsed, 0, "{second:?}");
    assert_eq!(second.reused, first.files, "{second:?}");
    assert_eq!(second.removed, 0);
    assert_eq!(second.generation, 1, "no new generation for an unchanged repository");
    assert_eq!((second.files, second.symbols, second.chunks), (first.files, first.symbols, first.chunks));
    assert_eq!(current_generation(index_dir.path()), "gen-000001");
    assert!(!index_dir.path().join("gen-000002").exists());
    let after = std::fs::read(index_dir.path().join("gen-000001/manifest.json")).unwrap();
    assert_eq!(manifest, after, "the generation is not rewritten");
}

#[test]
fn editing_one_file_reparses_only_it_and_the_edit_is_searchable() {
    let repo = util::fixture_copy();
    let index_dir = util::temp_dir();
    let first = index_repo(repo.path(), index_dir.path());
    assert!(search_symbols(index_dir.path(), "normalize_scheme")
        .iter()
        .all(|(_, symbol)| symbol != "normalize_scheme"));

    let utils = repo.path().join("pyapp/utils.py");
    let mut text = std::fs::read_to_string(&utils).unwrap();
    text.push_str("\n\ndef normalize_scheme(url):\n    \"\"\"Lowercase the scheme of a URL.\"\"\"\n    scheme, rest = url.split(\"://\", 1)\n    return scheme.lower() + \"://\" + rest\n");
    std::fs::write(&utils, text).unwrap();

    let second = index_repo(repo.path(), index_dir.path());
    assert_eq!(second.parsed, 1, "only the edited file is parsed: {second:?}");
    assert_eq!(second.reused, first.files - 1, "{second:?}");
    assert_eq!(second.removed, 0, "{second:?}");
    assert_eq!(second.files, first.files);
    assert_eq!(second.symbols, first.symbols + 1, "one new function");
    assert_eq!(second.generation, 2);
    assert_eq!(current_generation(index_dir.path()), "gen-000002");

    let hits = search_symbols(index_dir.path(), "normalize_scheme");
    assert_eq!(hits.first(), Some(&("pyapp/utils.py".to_string(), "normalize_scheme".to_string())), "hits: {hits:?}");
    // Unchanged files are still there, with their imports still resolved.
    assert_eq!(resolution_of(index_dir.path(), "pyapp/sessions.py", "models").as_deref(), Some("pyapp/models.py"));
    let hits = search_symbols(index_dir.path(), "resolve_redirects");
    assert_eq!(hits.first().map(|(path, _)| path.as_str()), Some("pyapp/sessions.py"), "hits: {hits:?}");
}

#[test]
fn deleting_a_file_removes_it_and_unresolves_imports_of_it() {
    let repo = util::fixture_copy();
    let index_dir = util::temp_dir();
    let first = index_repo(repo.path(), index_dir.path());
    let models = repo.path().join("pyapp/models.py");
    let saved = std::fs::read(&models).unwrap();
    std::fs::remove_file(&models).unwrap();

    let second = index_repo(repo.path(), index_dir.path());
    assert_eq!(second.removed, 1, "{second:?}");
    assert_eq!(second.parsed, 0, "{second:?}");
    assert_eq!(second.files, first.files - 1);
    assert_eq!(second.generation, 2);
    let snapshot = IndexSnapshot::open(index_dir.path()).unwrap();
    assert!(snapshot.file("pyapp/models.py").is_none());
    assert!(snapshot.symbols_named("is_redirect").is_empty(), "its symbols are gone");
    drop(snapshot);
    let hits = search_symbols(index_dir.path(), "is_redirect dataclass Response");
    assert!(hits.iter().all(|(path, _)| path != "pyapp/models.py"), "the deleted file is not searchable: {hits:?}");
    assert_eq!(
        resolution_of(index_dir.path(), "pyapp/sessions.py", "models"),
        None,
        "the import of a deleted file no longer resolves"
    );

    // Restoring it makes the old import resolve again, without re-parsing the importer.
    std::fs::write(&models, saved).unwrap();
    let third = index_repo(repo.path(), index_dir.path());
    assert_eq!(third.parsed, 1, "{third:?}");
    assert_eq!(third.files, first.files);
    assert_eq!(third.resolved_imports, first.resolved_imports);
    assert_eq!(resolution_of(index_dir.path(), "pyapp/sessions.py", "models").as_deref(), Some("pyapp/models.py"));
}

#[test]
fn removing_one_file_and_adding_another_in_one_run_counts_both() {
    let repo = util::fixture_copy();
    let index_dir = util::temp_dir();
    let first = index_repo(repo.path(), index_dir.path());
    std::fs::remove_file(repo.path().join("pyapp/models.py")).unwrap();
    std::fs::write(
        repo.path().join("pyapp/auth.py"),
        "def basic_auth_header(user, password):\n    return user + ':' + password\n",
    )
    .unwrap();

    let second = index_repo(repo.path(), index_dir.path());
    assert_eq!(second.parsed, 1, "the new file: {second:?}");
    assert_eq!(second.removed, 1, "the deleted file: {second:?}");
    assert_eq!(second.files, first.files);
    let snapshot = IndexSnapshot::open(index_dir.path()).unwrap();
    assert!(snapshot.file("pyapp/models.py").is_none());
    assert!(snapshot.file("pyapp/auth.py").is_some());
}

/// Every file's out-edges in the snapshot's dependency graph, by path, weights in
/// thousandths.
fn graph_edges(index_dir: &Path) -> std::collections::BTreeMap<String, Vec<(String, i64)>> {
    let snapshot = IndexSnapshot::open(index_dir).expect("open index");
    let graph = snapshot.file_graph();
    (0..snapshot.files().len() as u32)
        .map(|file| {
            let edges = graph
                .out_edges(file)
                .map(|(target, weight)| {
                    (snapshot.file_at(target).record.path.clone(), (weight * 1000.0).round() as i64)
                })
                .collect();
            (snapshot.file_at(file).record.path.clone(), edges)
        })
        .collect()
}

/// The graph a from-scratch index of `root` has.
fn fresh_graph(root: &Path) -> std::collections::BTreeMap<String, Vec<(String, i64)>> {
    let index_dir = util::temp_dir();
    let stats = index_repo(root, index_dir.path());
    assert_eq!(stats.graph_updated, stats.files, "a first run resolves every file");
    graph_edges(index_dir.path())
}

#[test]
fn the_dependency_graph_re_resolves_only_the_files_an_edit_can_affect() {
    let repo = util::fixture_copy();
    let index_dir = util::temp_dir();
    let first = index_repo(repo.path(), index_dir.path());
    assert_eq!(first.graph_updated, first.files);
    let sessions_edges = &graph_edges(index_dir.path())["pyapp/sessions.py"];
    assert!(
        sessions_edges.iter().any(|(target, _)| target == "pyapp/utils.py"),
        "sessions.py depends on utils.py: {sessions_edges:?}"
    );

    // A body-only edit: the file's own edges are re-resolved, nobody else's.
    let utils = repo.path().join("pyapp/utils.py");
    let text = std::fs::read_to_string(&utils).unwrap();
    std::fs::write(
        &utils,
        text.replace(
            "def join_location(base, location):\n",
            "def join_location(base, location):\n    # Relative redirects are joined to the base URL.\n",
        ),
    )
    .unwrap();
    let second = index_repo(repo.path(), index_dir.path());
    assert_eq!(second.parsed, 1, "{second:?}");
    assert_eq!(second.graph_updated, 1, "only the edited file: {second:?}");
    assert_eq!(graph_edges(index_dir.path()), fresh_graph(repo.path()));

    // A new file that also defines `join_location`: the files that use the name are
    // re-resolved (the name now has two candidates), the rest keep their edges.
    std::fs::write(
        repo.path().join("pyapp/compat.py"),
        "def join_location(base, location):\n    return base.rstrip('/') + '/' + location\n",
    )
    .unwrap();
    let users: std::collections::BTreeSet<String> = {
        let snapshot = IndexSnapshot::open(index_dir.path()).unwrap();
        snapshot
            .chunks_referencing("join_location")
            .iter()
            .map(|(file, _)| snapshot.file_at(*file).record.path.clone())
            .collect()
    };
    assert!(users.contains("pyapp/sessions.py"), "{users:?}");
    let third = index_repo(repo.path(), index_dir.path());
    assert_eq!(third.graph_updated, users.len() as u64 + 1, "the new file and the users of the name {users:?}");
    assert!(third.graph_updated < third.files, "{third:?}");
    assert_eq!(graph_edges(index_dir.path()), fresh_graph(repo.path()));

    // A deleted file: its importers and the users of its names lose their edges to it.
    std::fs::remove_file(repo.path().join("pyapp/models.py")).unwrap();
    let fourth = index_repo(repo.path(), index_dir.path());
    assert!(fourth.graph_updated >= 1 && fourth.graph_updated < fourth.files, "{fourth:?}");
    let edges = graph_edges(index_dir.path());
    assert!(edges.values().flatten().all(|(target, _)| target != "pyapp/models.py"));
    assert_eq!(edges, fresh_graph(repo.path()));
}
