//! End-to-end behaviour of the text index on disk.

use std::path::Path;
use std::sync::Arc;

use codectx_core::Language;
use codectx_text::{code_tokens, ChunkDoc, Error, FieldBoosts, TextHit, TextIndex};

/// An owned chunk for test fixtures.
struct Chunk {
    path: &'static str,
    ordinal: u32,
    symbols: Vec<String>,
    qualified: Vec<String>,
    signature: &'static str,
    doc: &'static str,
    content: String,
}

impl Chunk {
    fn new(path: &'static str, ordinal: u32, content: &str) -> Self {
        Chunk {
            path,
            ordinal,
            symbols: Vec::new(),
            qualified: Vec::new(),
            signature: "",
            doc: "",
            content: content.to_string(),
        }
    }

    fn symbol(mut self, name: &str, qualified: &str) -> Self {
        self.symbols.push(name.to_string());
        self.qualified.push(qualified.to_string());
        self
    }

    fn as_doc(&self) -> ChunkDoc<'_> {
        ChunkDoc {
            path: self.path,
            ordinal: self.ordinal,
            language: Language::from_path(self.path),
            symbols: &self.symbols,
            qualified: &self.qualified,
            signature: self.signature,
            doc: self.doc,
            content: &self.content,
        }
    }
}

fn fixture() -> Vec<Chunk> {
    vec![
        Chunk {
            signature: "def resolve_redirects(self, resp, req)",
            doc: "Receives a Response. Returns a generator of Responses or Requests.",
            ..Chunk::new(
                "requests/sessions.py",
                3,
                "def resolve_redirects(self, resp, req):\n    hist = []\n    url = self.get_redirect_target(resp)\n",
            )
            .symbol("resolve_redirects", "requests.sessions.SessionRedirectMixin.resolve_redirects")
        },
        // Mentions the symbol only in its content.
        Chunk::new(
            "requests/api.py",
            0,
            "def request(method, url):\n    # the session will resolve redirects for us\n    return session.resolve_redirects(resp)\n",
        )
        .symbol("request", "requests.api.request"),
        Chunk::new(
            "requests/adapters.py",
            1,
            "class HTTPAdapter(BaseAdapter):\n    def send(self, request):\n        return self.build_response(request)\n",
        )
        .symbol("HTTPAdapter", "requests.adapters.HTTPAdapter"),
        Chunk::new("docs/redirects.md", 0, "Redirects\n=========\nHow the client follows redirects.\n"),
        Chunk::new("tests/test_redirects.py", 0, "def test_redirects():\n    resolve_redirects(x)\n")
            .symbol("test_redirects", "tests.test_redirects.test_redirects"),
        Chunk::new("requests/sessions.py", 4, "def merge_environment_settings(self, url):\n    pass\n")
            .symbol("merge_environment_settings", "requests.sessions.Session.merge_environment_settings"),
    ]
}

fn build(dir: &Path, chunks: &[Chunk]) -> TextIndex {
    let index = TextIndex::create(dir).unwrap();
    let writer = index.writer(30_000_000, 2).unwrap();
    for chunk in chunks {
        writer.add(&chunk.as_doc()).unwrap();
    }
    writer.commit().unwrap();
    index
}

fn query(text: &str) -> Vec<(String, f32)> {
    code_tokens(text).into_iter().map(|t| (t, 1.0)).collect()
}

fn keys(hits: &[TextHit]) -> Vec<(String, u32)> {
    hits.iter().map(|h| (h.path.clone(), h.ordinal)).collect()
}

#[test]
fn create_commit_open_search_ranks_definitions_first() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("text");
    drop(build(&dir, &fixture()));

    let index = TextIndex::open(&dir).unwrap();
    assert_eq!(index.num_chunks(), 6);
    assert_eq!(index.boosts(), FieldBoosts::default());

    let hits = index.search(&query("resolve_redirects"), 10, None).unwrap();
    let found = keys(&hits);
    assert_eq!(found[0], ("requests/sessions.py".to_string(), 3), "{hits:?}");
    let api = found.iter().position(|k| k.0 == "requests/api.py").expect("content mention found");
    assert!(api > 0);
    assert!(hits[0].score > hits[api].score);
    // Sorted by descending score.
    assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));

    // camelCase query matches snake_case definitions through the parts.
    let hits = index.search(&query("resolveRedirects"), 10, None).unwrap();
    assert_eq!(keys(&hits)[0], ("requests/sessions.py".to_string(), 3));

    // Acronym split: "http adapter" finds HTTPAdapter.
    let hits = index.search(&query("http adapter"), 10, None).unwrap();
    assert_eq!(keys(&hits)[0], ("requests/adapters.py".to_string(), 1));

    // Path words are searchable.
    let hits = index.search(&query("adapters"), 10, None).unwrap();
    assert_eq!(keys(&hits)[0].0, "requests/adapters.py");

    // Unknown terms, empty input, zero limit, bad weights.
    assert!(index.search(&query("zzzunknownzzz"), 10, None).unwrap().is_empty());
    assert!(index.search(&[], 10, None).unwrap().is_empty());
    assert!(index.search(&query("redirects"), 0, None).unwrap().is_empty());
    assert!(index.search(&[("redirects".into(), f32::NAN), ("redirects".into(), -1.0)], 10, None).unwrap().is_empty());
    // Upper-case terms are lowercased.
    assert!(!index.search(&[("REDIRECTS".into(), 1.0)], 10, None).unwrap().is_empty());

    // Limit is respected.
    assert_eq!(index.search(&query("redirects"), 2, None).unwrap().len(), 2);
}

#[test]
fn weights_and_boosts_change_ranking() {
    let tmp = tempfile::tempdir().unwrap();
    let chunks = vec![Chunk::new("a.py", 0, "alpha alpha alpha"), Chunk::new("b.py", 0, "beta beta beta")];
    let index = build(tmp.path(), &chunks);
    let hits = index.search(&[("alpha".into(), 1.0), ("beta".into(), 5.0)], 10, None).unwrap();
    assert_eq!(hits[0].path, "b.py");
    let hits = index.search(&[("alpha".into(), 5.0), ("beta".into(), 1.0)], 10, None).unwrap();
    assert_eq!(hits[0].path, "a.py");

    // With the content boost off, nothing matches content-only terms.
    let index = index.with_boosts(FieldBoosts { content: 0.0, ..FieldBoosts::default() });
    assert!(index.search(&query("alpha"), 10, None).unwrap().is_empty());
    // The path still matches.
    assert_eq!(index.search(&query("a"), 10, None).unwrap()[0].path, "a.py");
}

#[test]
fn filter_keeps_limit_when_possible() {
    let tmp = tempfile::tempdir().unwrap();
    let mut chunks = Vec::new();
    // 40 strong matches in vendor/, 5 weaker ones in src/.
    for i in 0..40u32 {
        chunks.push(Chunk::new("vendor/lib.py", i, "token token token token token"));
    }
    for i in 0..5u32 {
        chunks.push(Chunk::new("src/main.py", i, "token and much more unrelated text in this chunk here"));
    }
    let index = build(tmp.path(), &chunks);
    let filter = |path: &str| path.starts_with("src/");
    let hits = index.search(&query("token"), 3, Some(&filter)).unwrap();
    assert_eq!(hits.len(), 3);
    assert!(hits.iter().all(|h| h.path == "src/main.py"));
    let hits = index.search(&query("token"), 10, Some(&filter)).unwrap();
    assert_eq!(hits.len(), 5);
    let none = |_: &str| false;
    assert!(index.search(&query("token"), 10, Some(&none)).unwrap().is_empty());
    let unfiltered = index.search(&query("token"), 3, None).unwrap();
    assert!(unfiltered.iter().all(|h| h.path == "vendor/lib.py"));
}

#[test]
fn delete_path_removes_a_files_chunks() {
    let tmp = tempfile::tempdir().unwrap();
    let index = build(tmp.path(), &fixture());
    assert!(index.chunk_text("requests/sessions.py", 3).unwrap().is_some());

    let writer = index.writer(30_000_000, 1).unwrap();
    writer.delete_path("requests/sessions.py");
    // Re-adding after the delete keeps the new chunk.
    writer.add(&Chunk::new("requests/sessions.py", 0, "def fresh(): pass").as_doc()).unwrap();
    writer.commit().unwrap();

    assert_eq!(index.num_chunks(), 5);
    assert_eq!(index.chunk_text("requests/sessions.py", 3).unwrap(), None);
    assert_eq!(index.chunk_text("requests/sessions.py", 4).unwrap(), None);
    assert_eq!(index.chunk_text("requests/sessions.py", 0).unwrap().as_deref(), Some("def fresh(): pass"));
    let hits = index.search(&query("resolve_redirects"), 10, None).unwrap();
    assert!(hits.iter().all(|h| h.path != "requests/sessions.py"), "{hits:?}");
    assert!(index.symbol_hits("resolve_redirects", 0, 10).unwrap().is_empty());

    // Reopened from disk, the deletion holds.
    drop(index);
    let index = TextIndex::open(tmp.path()).unwrap();
    assert_eq!(index.num_chunks(), 5);
}

#[test]
fn fork_and_edit_leaves_source_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("gen1");
    let dst = tmp.path().join("gen2");
    let source = build(&src, &fixture());

    TextIndex::fork(&src, &dst).unwrap();
    let fork = TextIndex::open(&dst).unwrap();
    assert_eq!(fork.num_chunks(), 6);
    let writer = fork.writer(30_000_000, 1).unwrap();
    writer.delete_path("requests/api.py");
    writer.add(&Chunk::new("new/file.rs", 0, "fn brand_new_function() {}").as_doc()).unwrap();
    writer.commit().unwrap();
    assert_eq!(fork.num_chunks(), 6);
    assert!(fork.chunk_text("requests/api.py", 0).unwrap().is_none());
    assert!(!fork.search(&query("brand_new_function"), 5, None).unwrap().is_empty());

    // The source, both as already loaded and reopened from disk, is unchanged.
    for index in [source, TextIndex::open(&src).unwrap()] {
        assert_eq!(index.num_chunks(), 6);
        assert!(index.chunk_text("requests/api.py", 0).unwrap().is_some());
        assert!(index.search(&query("brand_new_function"), 5, None).unwrap().is_empty());
    }

    // A writer can still be opened on the source (lock files are not shared).
    let source = TextIndex::open(&src).unwrap();
    let writer = source.writer(30_000_000, 1).unwrap();
    writer.commit().unwrap();

    // Fork refuses a non-empty destination and a source that is no index.
    assert!(matches!(TextIndex::fork(&src, &dst), Err(Error::Create { .. })));
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert!(matches!(TextIndex::fork(&empty, &tmp.path().join("x")), Err(Error::Open { .. })));
}

#[test]
fn symbol_hits_exact_and_fuzzy() {
    let tmp = tempfile::tempdir().unwrap();
    let index = build(tmp.path(), &fixture());

    let exact = index.symbol_hits("resolve_redirects", 0, 10).unwrap();
    assert_eq!(keys(&exact), [("requests/sessions.py".to_string(), 3)]);
    assert_eq!(exact[0].score, 1.0);
    // Case-insensitive.
    assert_eq!(index.symbol_hits("httpadapter", 0, 10).unwrap().len(), 1);
    assert_eq!(index.symbol_hits("HTTPAdapter", 0, 10).unwrap().len(), 1);

    // A typo: no exact hit, found fuzzily.
    assert!(index.symbol_hits("reslove_redirects", 0, 10).unwrap().is_empty());
    let fuzzy = index.symbol_hits("reslove_redirects", 2, 10).unwrap();
    assert_eq!(keys(&fuzzy), [("requests/sessions.py".to_string(), 3)]);
    assert!(fuzzy[0].score < 1.0 && fuzzy[0].score > 0.0);
    let two_edits = index.symbol_hits("resolve_redirectz_", 2, 10).unwrap();
    assert_eq!(two_edits.len(), 1);
    assert!(two_edits[0].score < fuzzy[0].score);

    // Exact scores 1.0; one edit away ("requestz") scores less.
    let hits = index.symbol_hits("request", 2, 10).unwrap();
    assert_eq!(hits[0].path, "requests/api.py");
    assert_eq!(hits[0].score, 1.0);
    let hits = index.symbol_hits("requestz", 2, 10).unwrap();
    assert_eq!(hits[0].path, "requests/api.py");
    assert!(hits[0].score < 1.0);

    // Short names are never fuzzy.
    assert!(index.symbol_hits("rq", 2, 10).unwrap().is_empty());
    assert!(index.symbol_hits("", 2, 10).unwrap().is_empty());
    assert!(index.symbol_hits("resolve_redirects", 2, 0).unwrap().is_empty());
    // Distances above tantivy's limit are capped, not an error.
    assert_eq!(index.symbol_hits("reslove_redirects", 200, 10).unwrap().len(), 1);
}

#[test]
fn text_round_trip_and_doc_freq() {
    let tmp = tempfile::tempdir().unwrap();
    let chunks = fixture();
    let index = build(tmp.path(), &chunks);
    for chunk in &chunks {
        assert_eq!(index.chunk_text(chunk.path, chunk.ordinal).unwrap().as_deref(), Some(chunk.content.as_str()));
    }
    assert_eq!(index.chunk_text("requests/sessions.py", 99).unwrap(), None);
    assert_eq!(index.chunk_text("nope", 0).unwrap(), None);

    let hits = index.search(&query("merge environment settings"), 10, None).unwrap();
    for hit in &hits {
        let text = index.text_at(hit.address).unwrap();
        let expected = chunks.iter().find(|c| c.path == hit.path && c.ordinal == hit.ordinal).unwrap();
        assert_eq!(text, expected.content);
    }

    // sessions.py#3, api.py, redirects.md, test_redirects.py
    assert_eq!(index.doc_freq("redirects"), 4);
    assert_eq!(index.doc_freq("Redirects"), 4);
    assert_eq!(index.doc_freq("zzz"), 0);
    assert_eq!(index.doc_freq(""), 0);

    // A commit through the writer reloads the reader and invalidates old addresses.
    let address = hits[0].address;
    let writer = index.writer(30_000_000, 1).unwrap();
    writer.add(&Chunk::new("z.py", 0, "zeta").as_doc()).unwrap();
    writer.commit().unwrap();
    assert!(matches!(index.text_at(address), Err(Error::StaleAddress)));
    assert_eq!(index.num_chunks(), 7);
}

#[test]
fn concurrent_adds_from_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let index = TextIndex::create(tmp.path()).unwrap();
    let writer = Arc::new(index.writer(40_000_000, 2).unwrap());
    std::thread::scope(|scope| {
        for t in 0..4u32 {
            let writer = Arc::clone(&writer);
            scope.spawn(move || {
                for i in 0..250u32 {
                    let content = format!("fn worker_{t}_item_{i}() {{ shared_helper(); }}");
                    let symbols = vec![format!("worker_{t}_item_{i}")];
                    let path = format!("src/t{t}.rs");
                    writer
                        .add(&ChunkDoc {
                            path: &path,
                            ordinal: i,
                            language: Language::Rust,
                            symbols: &symbols,
                            qualified: &[],
                            signature: "",
                            doc: "",
                            content: &content,
                        })
                        .unwrap();
                }
            });
        }
    });
    Arc::into_inner(writer).unwrap().commit().unwrap();
    assert_eq!(index.num_chunks(), 1000);
    assert_eq!(index.doc_freq("shared_helper"), 1000);
    assert_eq!(index.symbol_hits("worker_3_item_7", 0, 5).unwrap()[0].path, "src/t3.rs");
    assert_eq!(index.search(&query("shared_helper"), 50, None).unwrap().len(), 50);
}

#[test]
fn open_errors_are_distinguishable() {
    let tmp = tempfile::tempdir().unwrap();

    // Missing folder.
    let err = TextIndex::open(&tmp.path().join("missing")).unwrap_err();
    assert!(matches!(err, Error::Open { .. }) && err.is_corrupt(), "{err}");

    // A folder of garbage.
    let garbage = tmp.path().join("garbage");
    std::fs::create_dir(&garbage).unwrap();
    std::fs::write(garbage.join("meta.json"), b"{ not json").unwrap();
    std::fs::write(garbage.join("abc.idx"), [0u8, 1, 2, 3]).unwrap();
    let err = TextIndex::open(&garbage).unwrap_err();
    assert!(matches!(err, Error::Open { .. }), "{err}");
    let core: codectx_core::Error = err.into();
    assert!(matches!(core, codectx_core::Error::CorruptIndex { .. }));

    // An empty folder.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    assert!(matches!(TextIndex::open(&empty), Err(Error::Open { .. })));

    // Truncated segment files in a real index.
    let real = tmp.path().join("real");
    drop(build(&real, &fixture()));
    for entry in std::fs::read_dir(&real).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.ends_with(".json") && !name.starts_with('.') {
            std::fs::write(&path, b"garbage").unwrap();
        }
    }
    match TextIndex::open(&real) {
        Err(err) => assert!(err.is_corrupt(), "{err}"),
        Ok(index) => {
            // If tantivy opens lazily, reads must fail as corrupt, never panic.
            let result = index.search(&query("redirects"), 10, None);
            assert!(result.as_ref().is_err_and(|e| e.is_corrupt()), "{result:?}");
        }
    }

    // Create refuses a non-empty folder; a second writer is Locked.
    assert!(matches!(TextIndex::create(&garbage), Err(Error::Create { .. })));
    let fresh = TextIndex::create(&tmp.path().join("fresh")).unwrap();
    let _writer = fresh.writer(30_000_000, 1).unwrap();
    assert!(matches!(fresh.writer(30_000_000, 1), Err(Error::Locked { .. })));
    // Empty chunk path is rejected.
    assert!(matches!(_writer.add(&Chunk::new("", 0, "x").as_doc()), Err(Error::InvalidArgument(_))));
}

#[test]
fn empty_index_answers_empty() {
    let tmp = tempfile::tempdir().unwrap();
    let index = TextIndex::create(tmp.path()).unwrap();
    assert_eq!(index.num_chunks(), 0);
    assert!(index.search(&query("anything"), 10, None).unwrap().is_empty());
    assert!(index.symbol_hits("anything", 2, 10).unwrap().is_empty());
    assert_eq!(index.chunk_text("a", 0).unwrap(), None);
    drop(index);
    // An index that was created but never committed to opens fine.
    let index = TextIndex::open(tmp.path()).unwrap();
    assert_eq!(index.num_chunks(), 0);
}
