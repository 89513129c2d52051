//! [`TextIndex`] (open, search, read) and [`TextWriter`] (add, delete, commit).

use std::collections::HashMap;
use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use codectx_core::Language;
use tantivy::columnar::{Column, StrColumn};
use tantivy::indexer::IndexWriterOptions;
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, DisjunctionMaxQuery, FuzzyTermQuery, Occur, Query, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term};

use crate::collector::FilteredTopScore;
use crate::directory::ReadDirectory;
use crate::error::{Error, Result};
use crate::schema::{self, Fields, F_ORDINAL, F_PATH_KEY};
use crate::tokenizer::{CodeTokenizer, CODE_TOKENIZER, MAX_TOKEN_BYTES};

/// Symbol names longer than this many bytes are not indexed in `symbol_exact`.
const MAX_SYMBOL_BYTES: usize = 256;

/// Smallest per-thread indexing arena tantivy accepts (15 MB).
const MIN_THREAD_HEAP: usize = 15_000_000;
/// Largest per-thread indexing arena tantivy accepts (just under 4 GiB).
const MAX_THREAD_HEAP: usize = u32::MAX as usize - 2_000_000;
/// Most indexing threads tantivy runs.
const MAX_THREADS: usize = 8;

/// Default total indexing heap of a [`TextWriter`]: 200 MB.
pub const DEFAULT_WRITER_HEAP_BYTES: usize = 200_000_000;

/// One chunk to index.
#[derive(Clone, Copy, Debug)]
pub struct ChunkDoc<'a> {
    /// Repository-relative path of the file, `/`-separated. Must not be empty.
    pub path: &'a str,
    /// 0-based position of the chunk in its file; `(path, ordinal)` identifies a chunk.
    pub ordinal: u32,
    /// Language of the file.
    pub language: Language,
    /// Bare names of the symbols the chunk defines (`resolve_redirects`).
    pub symbols: &'a [String],
    /// Qualified names of those symbols (`requests.sessions.Session.resolve_redirects`).
    pub qualified: &'a [String],
    /// Signature line(s) of the chunk's main symbol, or `""`.
    pub signature: &'a str,
    /// Doc comment / docstring of the chunk's main symbol, or `""`.
    pub doc: &'a str,
    /// The chunk text; stored and served back by [`TextIndex::text_at`] and
    /// [`TextIndex::chunk_text`].
    pub content: &'a str,
}

/// Per-field multipliers of the BM25 score in [`TextIndex::search`].
///
/// A term's contribution in a field is `BM25(term, field) × field boost × term weight`;
/// a chunk's score is the sum over all (term, field) pairs that match. A boost of 0 (or
/// anything not finite and positive) removes the field from the search.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FieldBoosts {
    /// Bare names of defined symbols. Default 3.0.
    pub symbols: f32,
    /// Qualified names of defined symbols. Default 2.5.
    pub qualified: f32,
    /// Words of the file path. Default 2.0.
    pub path: f32,
    /// Signature. Default 2.0.
    pub signature: f32,
    /// Doc comment. Default 1.0.
    pub doc: f32,
    /// Chunk text. Default 1.0.
    pub content: f32,
}

impl FieldBoosts {
    /// The defaults: symbols 3.0, qualified 2.5, path 2.0, signature 2.0, doc 1.0,
    /// content 1.0.
    pub const DEFAULT: FieldBoosts =
        FieldBoosts { symbols: 3.0, qualified: 2.5, path: 2.0, signature: 2.0, doc: 1.0, content: 1.0 };
}

impl Default for FieldBoosts {
    fn default() -> Self {
        FieldBoosts::DEFAULT
    }
}

/// Opaque address of a chunk in one searcher generation of a [`TextIndex`]: fast access
/// to its stored text through [`TextIndex::text_at`]. It is invalidated when the index
/// reloads (a commit through [`TextIndex::writer`], or [`TextIndex::reload`]); then
/// `text_at` answers [`Error::StaleAddress`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChunkAddress {
    generation: u64,
    address: DocAddress,
}

impl ChunkAddress {
    /// The tantivy document address (segment ordinal, doc id) within its generation.
    pub fn doc_address(&self) -> DocAddress {
        self.address
    }
}

/// One hit of [`TextIndex::search`] or [`TextIndex::symbol_hits`].
#[derive(Clone, Debug, PartialEq)]
pub struct TextHit {
    /// Path of the chunk's file.
    pub path: String,
    /// Ordinal of the chunk in its file.
    pub ordinal: u32,
    /// Score: BM25 with field boosts for `search`; `1/(1+edit distance)` for
    /// `symbol_hits`. Higher is better; hits come sorted by descending score.
    pub score: f32,
    /// Where the chunk's stored text is, for [`TextIndex::text_at`].
    pub address: ChunkAddress,
}

/// The full-text index of one index generation (a tantivy index in one folder).
///
/// `Send + Sync`; share it through an `Arc`. Searches run against the state loaded at
/// [`open`](TextIndex::open) (or at the last commit through a writer of this value,
/// or [`reload`](TextIndex::reload)); a writer of another process is not seen until
/// reload.
pub struct TextIndex {
    dir: PathBuf,
    index: Index,
    reader: IndexReader,
    fields: Fields,
    boosts: FieldBoosts,
}

impl std::fmt::Debug for TextIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextIndex")
            .field("dir", &self.dir)
            .field("num_chunks", &self.num_chunks())
            .field("boosts", &self.boosts)
            .finish()
    }
}

/// Runs `f`, turning a panic (tantivy decoding damaged data) into [`Error::Corrupt`].
fn guarded<T>(dir: &Path, operation: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".to_string());
            Err(Error::Corrupt { path: dir.to_path_buf(), reason: format!("{operation}: {message}") })
        }
    }
}

fn register_tokenizers(index: &Index) {
    index.tokenizers().register(CODE_TOKENIZER, TextAnalyzer::from(CodeTokenizer::default()));
}

fn is_empty_dir(dir: &Path) -> Result<bool> {
    let mut entries = fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    Ok(entries.next().is_none())
}

/// Lowercases `term` (ASCII fast path).
fn lowercase(term: &str) -> String {
    if term.is_ascii() {
        term.to_ascii_lowercase()
    } else {
        term.to_lowercase()
    }
}

impl TextIndex {
    /// Creates a new, empty index in `dir`, which must be empty or not exist (it is
    /// created, with its parents).
    ///
    /// # Errors
    /// [`Error::Create`] when `dir` is a non-empty folder, is a file, or tantivy cannot
    /// write there; [`Error::Io`] when the folder cannot be created or listed.
    pub fn create(dir: &Path) -> Result<Self> {
        if dir.exists() {
            if !dir.is_dir() {
                return Err(Error::Create { path: dir.to_path_buf(), reason: "not a directory".into() });
            }
            if !is_empty_dir(dir)? {
                return Err(Error::Create { path: dir.to_path_buf(), reason: "directory is not empty".into() });
            }
        } else {
            fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let (schema, fields) = schema::build();
        let create_error = |reason: String| Error::Create { path: dir.to_path_buf(), reason };
        let directory = ReadDirectory::open(dir).map_err(|e| create_error(e.to_string()))?;
        let index = Index::create(directory, schema, tantivy::IndexSettings::default())
            .map_err(|e| create_error(e.to_string()))?;
        register_tokenizers(&index);
        let reader = Self::make_reader(dir, &index)?;
        Ok(TextIndex { dir: dir.to_path_buf(), index, reader, fields, boosts: FieldBoosts::DEFAULT })
    }

    /// Opens an existing index and loads its last committed state.
    ///
    /// # Errors
    /// [`Error::Open`] when `dir` does not exist, holds no index (`meta.json`), its
    /// metadata or segments cannot be read, or its schema is not this crate's (written by
    /// another codectx version): the caller should re-index.
    pub fn open(dir: &Path) -> Result<Self> {
        let open_error = |reason: String| Error::Open { path: dir.to_path_buf(), reason };
        if !dir.is_dir() {
            return Err(open_error("no such directory".into()));
        }
        if !dir.join("meta.json").is_file() {
            return Err(open_error("no meta.json: not a text index".into()));
        }
        let opened = guarded(dir, "open", || {
            let directory = ReadDirectory::open(dir).map_err(|e| open_error(e.to_string()))?;
            let index = Index::open(directory).map_err(|e| open_error(e.to_string()))?;
            let (expected, fields) = schema::build();
            if index.schema() != expected {
                return Err(open_error(
                    "schema differs from this version's (written by another codectx version)".into(),
                ));
            }
            register_tokenizers(&index);
            let reader = Self::make_reader(dir, &index).map_err(|e| open_error(e.to_string()))?;
            // Touch every segment's fast fields so a damaged segment fails here, not later.
            let searcher = reader.searcher();
            for segment in searcher.segment_readers() {
                let fast = segment.fast_fields();
                fast.u64(F_ORDINAL).map_err(|e| open_error(e.to_string()))?;
                fast.str(F_PATH_KEY).map_err(|e| open_error(e.to_string()))?;
            }
            Ok(TextIndex { dir: dir.to_path_buf(), index, reader, fields, boosts: FieldBoosts::DEFAULT })
        });
        opened.map_err(|e| match e {
            Error::Corrupt { path, reason } => Error::Open { path, reason },
            other => other,
        })
    }

    fn make_reader(dir: &Path, index: &Index) -> Result<IndexReader> {
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|e| Error::tantivy(dir, "open reader", e))?;
        reader.reload().map_err(|e| Error::tantivy(dir, "reload", e))?;
        Ok(reader)
    }

    /// Copies the index in `src` into the new folder `dst` for an incremental
    /// generation: every file of `src` is hard-linked into `dst` (tantivy segment files
    /// are immutable, and `meta.json` / `.managed.json` are replaced by rename, never
    /// rewritten in place), falling back to a copy when linking fails (another file
    /// system). Lock files and temporary files are skipped. Open the copy, edit it with a
    /// writer and commit: `src` is left untouched.
    ///
    /// `src` must not be written while it is forked.
    ///
    /// # Errors
    /// [`Error::Open`] when `src` holds no index; [`Error::Create`] when `dst` exists
    /// and is not an empty folder; [`Error::Io`] when listing, linking or copying fails.
    pub fn fork(src: &Path, dst: &Path) -> Result<()> {
        if !src.join("meta.json").is_file() {
            return Err(Error::Open { path: src.to_path_buf(), reason: "no meta.json: not a text index".into() });
        }
        if dst.exists() {
            if !dst.is_dir() || !is_empty_dir(dst)? {
                return Err(Error::Create {
                    path: dst.to_path_buf(),
                    reason: "fork destination exists and is not an empty directory".into(),
                });
            }
        } else {
            fs::create_dir_all(dst).map_err(|e| Error::io(dst, e))?;
        }
        for entry in fs::read_dir(src).map_err(|e| Error::io(src, e))? {
            let entry = entry.map_err(|e| Error::io(src, e))?;
            let file_type = entry.file_type().map_err(|e| Error::io(entry.path(), e))?;
            if !file_type.is_file() {
                continue;
            }
            let name = entry.file_name();
            let name_str = name.to_string_lossy();
            if (name_str.starts_with(".tantivy-") && name_str.ends_with(".lock")) || name_str.starts_with(".tmp") {
                continue;
            }
            let from = entry.path();
            let to = dst.join(&name);
            if fs::hard_link(&from, &to).is_err() {
                fs::copy(&from, &to).map_err(|e| Error::io(&to, e))?;
            }
        }
        Ok(())
    }

    /// Replaces the field boosts used by [`search`](TextIndex::search).
    pub fn with_boosts(mut self, boosts: FieldBoosts) -> Self {
        self.boosts = boosts;
        self
    }

    /// The field boosts in use.
    pub fn boosts(&self) -> FieldBoosts {
        self.boosts
    }

    /// The index folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Opens a writer. Only one writer may exist per index folder at a time (across
    /// processes).
    ///
    /// `heap_bytes` is the *total* indexing arena, split evenly over `threads` indexing
    /// threads; when a thread's share fills, it flushes a segment. The thread count is
    /// clamped to 1..=8 and lowered so each thread gets at least 15 MB; each thread's
    /// share is capped just under 4 GiB. Peak memory is about `heap_bytes` plus the
    /// background merges' buffers (tens of MB). [`DEFAULT_WRITER_HEAP_BYTES`] (200 MB)
    /// with 2 threads indexes ~1M chunks in a handful of segments.
    ///
    /// # Errors
    /// [`Error::Locked`] when another writer holds the lock; [`Error::Tantivy`] otherwise.
    pub fn writer(&self, heap_bytes: usize, threads: usize) -> Result<TextWriter> {
        let mut threads = threads.clamp(1, MAX_THREADS);
        threads = threads.min((heap_bytes / MIN_THREAD_HEAP).max(1));
        let per_thread = (heap_bytes / threads).clamp(MIN_THREAD_HEAP, MAX_THREAD_HEAP);
        let options =
            IndexWriterOptions::builder().num_worker_threads(threads).memory_budget_per_thread(per_thread).build();
        let writer =
            self.index.writer_with_options(options).map_err(|e| Error::tantivy(&self.dir, "open writer", e))?;
        Ok(TextWriter { writer, fields: self.fields, reader: self.reader.clone(), dir: self.dir.clone() })
    }

    /// Reloads the reader to the last commit on disk (only needed to see a writer of
    /// another [`TextIndex`] value or process). Invalidates earlier [`ChunkAddress`]es
    /// if the state changed.
    pub fn reload(&self) -> Result<()> {
        self.reader.reload().map_err(|e| Error::tantivy(&self.dir, "reload", e))
    }

    /// Number of (live) chunks in the loaded state.
    pub fn num_chunks(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Number of chunks whose `content` contains `term` (lowercased before lookup;
    /// pass one token of [`crate::code_tokens`]), for IDF-based query term selection
    /// against [`num_chunks`](TextIndex::num_chunks). Counts chunks deleted but not yet
    /// merged away, so it is an upper bound. 0 for an unknown term or on read failure.
    pub fn doc_freq(&self, term: &str) -> u64 {
        if term.is_empty() {
            return 0;
        }
        let term = Term::from_field_text(self.fields.content, &lowercase(term));
        let searcher = self.reader.searcher();
        guarded(&self.dir, "doc_freq", || {
            searcher.doc_freq(&term).map_err(|e| Error::tantivy(&self.dir, "doc_freq", e))
        })
        .unwrap_or(0)
    }

    /// Chunks whose content contains every one of `terms` (a conjunction, scored
    /// by BM25 on the content field), best first: how an error message quoted in
    /// a query finds the string literal that produces it. Empty when a term occurs
    /// nowhere. `terms` are code tokens (lowercase), at most 16.
    ///
    /// Errors: as [`TextIndex::search`].
    pub fn search_all(&self, terms: &[String], limit: usize) -> Result<Vec<TextHit>> {
        if limit == 0 || terms.is_empty() {
            return Ok(Vec::new());
        }
        let searcher = self.reader.searcher();
        guarded(&self.dir, "search_all", || {
            let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            for term in terms.iter().take(16) {
                if term.is_empty() || term.len() > MAX_TOKEN_BYTES {
                    continue;
                }
                let term = Term::from_field_text(self.fields.content, &lowercase(term));
                let df = searcher.doc_freq(&term).map_err(|e| Error::tantivy(&self.dir, "search_all", e))?;
                if df == 0 {
                    return Ok(Vec::new());
                }
                clauses.push((Occur::Must, Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs))));
            }
            if clauses.is_empty() {
                return Ok(Vec::new());
            }
            let query = BooleanQuery::new(clauses);
            self.run(&searcher, &query, limit, None, "search_all")
        })
    }

    /// BM25 search over the chunk fields.
    ///
    /// `terms` are query tokens (from [`crate::code_tokens`]) with weights; each term is
    /// looked up in symbols, qualified, path, signature, doc and content, and a chunk's
    /// score is the sum of `BM25 × field boost × weight` over the matching (term, field)
    /// pairs (a disjunction: one matching term is enough). Terms are lowercased; a term
    /// repeated keeps its largest weight; empty terms, terms over 64 bytes, weights that
    /// are not finite and positive, and (term, field) pairs absent from the index are
    /// skipped. With `filter`, only chunks whose path it accepts are returned (evaluated
    /// once per distinct path, during scoring: the result still has `limit` hits when
    /// that many chunks match and pass).
    ///
    /// Returns at most `limit` hits, best first (ties: index order).
    ///
    /// # Errors
    /// [`Error::Corrupt`] when the index data cannot be decoded; [`Error::Tantivy`]
    /// otherwise.
    pub fn search(
        &self,
        terms: &[(String, f32)],
        limit: usize,
        filter: Option<&(dyn Fn(&str) -> bool + Sync)>,
    ) -> Result<Vec<TextHit>> {
        if limit == 0 || terms.is_empty() {
            return Ok(Vec::new());
        }
        // Deduplicate, keeping the largest weight, in first-seen order.
        let mut unique: Vec<(String, f32)> = Vec::with_capacity(terms.len());
        for (term, weight) in terms {
            if term.is_empty() || term.len() > MAX_TOKEN_BYTES || !weight.is_finite() || *weight <= 0.0 {
                continue;
            }
            let term = lowercase(term);
            match unique.iter_mut().find(|(t, _)| *t == term) {
                Some((_, w)) => *w = w.max(*weight),
                None => unique.push((term, *weight)),
            }
        }
        let boosts = self.boosts;
        let fields: [(Field, f32); 6] = [
            (self.fields.symbols, boosts.symbols),
            (self.fields.qualified, boosts.qualified),
            (self.fields.path, boosts.path),
            (self.fields.signature, boosts.signature),
            (self.fields.doc, boosts.doc),
            (self.fields.content, boosts.content),
        ];
        let searcher = self.reader.searcher();
        guarded(&self.dir, "search", || {
            let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            for (term, weight) in &unique {
                for &(field, boost) in &fields {
                    if !(boost.is_finite() && boost > 0.0) {
                        continue;
                    }
                    let term = Term::from_field_text(field, term);
                    let df = searcher.doc_freq(&term).map_err(|e| Error::tantivy(&self.dir, "search", e))?;
                    if df == 0 {
                        continue;
                    }
                    let query = TermQuery::new(term, IndexRecordOption::WithFreqs);
                    clauses.push((Occur::Should, Box::new(BoostQuery::new(Box::new(query), boost * weight))));
                }
            }
            if clauses.is_empty() {
                return Ok(Vec::new());
            }
            let query = BooleanQuery::new(clauses);
            self.run(&searcher, &query, limit, filter, "search")
        })
    }

    /// Chunks that define a symbol named `name`: exact matches of the lowercased name
    /// (score 1.0) and, when `max_distance > 0`, names within that Levenshtein distance
    /// (a transposition counts 1) scored `1/(1+d)` — 0.5 at distance 1, 0.33 at 2 — so
    /// exact hits always rank first. The distance is capped by the name's length, like
    /// Elasticsearch's `AUTO`: names of 1–2 chars match exactly only, 3–5 chars at most
    /// distance 1, longer names at most 2 (tantivy's limit). Returns at most `limit`
    /// hits, best first (ties: index order).
    ///
    /// # Errors
    /// [`Error::Corrupt`] when the index data cannot be decoded; [`Error::Tantivy`]
    /// otherwise.
    pub fn symbol_hits(&self, name: &str, max_distance: u8, limit: usize) -> Result<Vec<TextHit>> {
        let name = lowercase(name.trim());
        if name.is_empty() || limit == 0 || name.len() > MAX_SYMBOL_BYTES {
            return Ok(Vec::new());
        }
        let chars = name.chars().count();
        let length_cap: u8 = match chars {
            0..=2 => 0,
            3..=5 => 1,
            _ => 2,
        };
        let distance = max_distance.min(length_cap);
        let term = Term::from_field_text(self.fields.symbol_exact, &name);
        let mut disjuncts: Vec<Box<dyn Query>> =
            vec![Box::new(ConstScoreQuery::new(Box::new(TermQuery::new(term.clone(), IndexRecordOption::Basic)), 1.0))];
        for d in 1..=distance {
            disjuncts.push(Box::new(ConstScoreQuery::new(
                Box::new(FuzzyTermQuery::new(term.clone(), d, true)),
                1.0 / (1.0 + f32::from(d)),
            )));
        }
        let query = DisjunctionMaxQuery::new(disjuncts);
        let searcher = self.reader.searcher();
        guarded(&self.dir, "symbol_hits", || self.run(&searcher, &query, limit, None, "symbol_hits"))
    }

    /// Runs `query`, then resolves each hit's path and ordinal from the fast fields.
    fn run(
        &self,
        searcher: &Searcher,
        query: &dyn Query,
        limit: usize,
        filter: Option<&(dyn Fn(&str) -> bool + Sync)>,
        operation: &'static str,
    ) -> Result<Vec<TextHit>> {
        let collector = FilteredTopScore { limit, filter };
        let top = searcher.search(query, &collector).map_err(|e| Error::tantivy(&self.dir, operation, e))?;
        let generation = searcher.generation().generation_id();
        let mut columns: HashMap<u32, (Option<StrColumn>, Column<u64>)> = HashMap::new();
        let mut hits = Vec::with_capacity(top.len());
        let mut path = String::new();
        for (score, address) in top {
            let Some(segment) = searcher.segment_readers().get(address.segment_ord as usize) else {
                continue;
            };
            let (paths, ordinals) = match columns.entry(address.segment_ord) {
                std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
                std::collections::hash_map::Entry::Vacant(entry) => {
                    let fast = segment.fast_fields();
                    let paths = fast.str(F_PATH_KEY).map_err(|e| Error::tantivy(&self.dir, operation, e))?;
                    let ordinals = fast.u64(F_ORDINAL).map_err(|e| Error::tantivy(&self.dir, operation, e))?;
                    entry.insert((paths, ordinals))
                }
            };
            path.clear();
            let found = match paths.as_ref().and_then(|p| p.term_ords(address.doc_id).next().map(|ord| (p, ord))) {
                Some((p, ord)) => p
                    .ord_to_str(ord, &mut path)
                    .map_err(|e| Error::Corrupt { path: self.dir.clone(), reason: format!("{operation}: {e}") })?,
                None => false,
            };
            let ordinal = ordinals.first(address.doc_id);
            let (true, Some(ordinal)) = (found, ordinal) else {
                return Err(Error::Corrupt {
                    path: self.dir.clone(),
                    reason: format!("{operation}: chunk without path or ordinal"),
                });
            };
            hits.push(TextHit {
                path: path.clone(),
                ordinal: u32::try_from(ordinal).unwrap_or(u32::MAX),
                score,
                address: ChunkAddress { generation, address },
            });
        }
        Ok(hits)
    }

    /// Stored text of the chunk at `address` (from a hit of this index).
    ///
    /// # Errors
    /// [`Error::StaleAddress`] when the index reloaded since the hit was produced;
    /// [`Error::InvalidArgument`] for an address outside the index; [`Error::Corrupt`]
    /// when the doc store cannot be decoded.
    pub fn text_at(&self, address: ChunkAddress) -> Result<String> {
        let searcher = self.reader.searcher();
        if searcher.generation().generation_id() != address.generation {
            return Err(Error::StaleAddress);
        }
        guarded(&self.dir, "text_at", || self.read_text(&searcher, address.address))
    }

    fn read_text(&self, searcher: &Searcher, address: DocAddress) -> Result<String> {
        let Some(segment) = searcher.segment_readers().get(address.segment_ord as usize) else {
            return Err(Error::InvalidArgument(format!("no segment {}", address.segment_ord)));
        };
        if address.doc_id >= segment.max_doc() {
            return Err(Error::InvalidArgument(format!(
                "no document {} in segment {}",
                address.doc_id, address.segment_ord
            )));
        }
        let doc: TantivyDocument =
            searcher.doc(address).map_err(|e| Error::tantivy(&self.dir, "read stored chunk", e))?;
        Ok(doc.get_first(self.fields.content).and_then(|value| value.as_str()).unwrap_or_default().to_string())
    }

    /// Stored text of chunk `ordinal` of `path`, or `None` when the loaded state has no
    /// such chunk. A term lookup on the chunk key: slower than
    /// [`text_at`](TextIndex::text_at) but independent of reloads.
    ///
    /// # Errors
    /// [`Error::Corrupt`] when the index data cannot be decoded.
    pub fn chunk_text(&self, path: &str, ordinal: u32) -> Result<Option<String>> {
        let key = format!("{path}#{ordinal}");
        let term = Term::from_field_text(self.fields.chunk_key, &key);
        let searcher = self.reader.searcher();
        guarded(&self.dir, "chunk_text", || {
            for (segment_ord, segment) in searcher.segment_readers().iter().enumerate() {
                let inverted = segment
                    .inverted_index(self.fields.chunk_key)
                    .map_err(|e| Error::tantivy(&self.dir, "chunk_text", e))?;
                let postings = inverted
                    .read_postings(&term, IndexRecordOption::Basic)
                    .map_err(|e| Error::Corrupt { path: self.dir.clone(), reason: format!("chunk_text: {e}") })?;
                let Some(mut postings) = postings else {
                    continue;
                };
                use tantivy::DocSet;
                let mut doc = postings.doc();
                while doc != tantivy::TERMINATED {
                    if !segment.is_deleted(doc) {
                        let address = DocAddress::new(segment_ord as u32, doc);
                        return self.read_text(&searcher, address).map(Some);
                    }
                    doc = postings.advance();
                }
            }
            Ok(None)
        })
    }
}

/// Adds and deletes chunks of a [`TextIndex`]; nothing is visible (or durable) until
/// [`commit`](TextWriter::commit). Dropping it without committing discards the
/// changes.
///
/// `add` and `delete_path` take `&self` and may be called from many threads at once:
/// they only build a document and queue it to tantivy's indexing threads (which
/// tokenize and index), so callers scale up to the writer's thread count.
pub struct TextWriter {
    writer: IndexWriter<TantivyDocument>,
    fields: Fields,
    reader: IndexReader,
    dir: PathBuf,
}

impl std::fmt::Debug for TextWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextWriter").field("dir", &self.dir).finish()
    }
}

impl TextWriter {
    /// Queues one chunk for indexing.
    ///
    /// Operations apply in call order: a chunk added *before* a
    /// [`delete_path`](TextWriter::delete_path) of its path is deleted by it, one added
    /// after is kept. To replace a file's chunks, delete its path first, then add.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty path; [`Error::Tantivy`] when the
    /// indexing threads have failed.
    pub fn add(&self, doc: &ChunkDoc<'_>) -> Result<()> {
        if doc.path.is_empty() {
            return Err(Error::InvalidArgument("chunk path is empty".into()));
        }
        let f = &self.fields;
        let mut document = TantivyDocument::default();
        document.add_text(f.path, doc.path);
        document.add_text(f.path_key, doc.path);
        document.add_text(f.chunk_key, format!("{}#{}", doc.path, doc.ordinal));
        document.add_u64(f.ordinal, u64::from(doc.ordinal));
        document.add_text(f.language, doc.language.name());
        for symbol in doc.symbols {
            if symbol.is_empty() {
                continue;
            }
            document.add_text(f.symbols, symbol);
            if symbol.len() <= MAX_SYMBOL_BYTES {
                document.add_text(f.symbol_exact, lowercase(symbol));
            }
        }
        for name in doc.qualified {
            if !name.is_empty() {
                document.add_text(f.qualified, name);
            }
        }
        if !doc.signature.is_empty() {
            document.add_text(f.signature, doc.signature);
        }
        if !doc.doc.is_empty() {
            document.add_text(f.doc, doc.doc);
        }
        document.add_text(f.content, doc.content);
        self.writer.add_document(document).map(|_| ()).map_err(|e| Error::tantivy(&self.dir, "add chunk", e))
    }

    /// Deletes every chunk of `path` added before this call (in this writer or in
    /// committed state).
    pub fn delete_path(&self, path: &str) {
        self.writer.delete_term(Term::from_field_text(self.fields.path_key, path));
    }

    /// Commits everything queued, waits for the background merges to finish (so the
    /// folder is complete and stable on return) and reloads the owning
    /// [`TextIndex`]'s reader to the new state.
    ///
    /// # Errors
    /// [`Error::Tantivy`] (or [`Error::Corrupt`]) when indexing, writing or merging
    /// fails; the previous commit then stays the visible state.
    pub fn commit(self) -> Result<()> {
        let TextWriter { mut writer, reader, dir, .. } = self;
        writer.commit().map_err(|e| Error::tantivy(&dir, "commit", e))?;
        writer.wait_merging_threads().map_err(|e| Error::tantivy(&dir, "merge", e))?;
        reader.reload().map_err(|e| Error::tantivy(&dir, "reload", e))
    }
}

#[allow(dead_code)]
fn assert_send_sync() {
    fn check<T: Send + Sync>() {}
    check::<TextIndex>();
    check::<TextWriter>();
}
