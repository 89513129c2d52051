//! The embedding phase of an index run, and vector search over a snapshot.
//!
//! After a generation is published, [`sync_vectors`] brings the LanceDB `chunks`
//! table (`codectx-vector`) in line with it:
//!
//! 1. The table's `(path, file_hash)` pairs are compared with the generation's
//!    files. A table written by another model or dimension is dropped and rebuilt
//!    (with a message), never patched.
//! 2. For every chunk of a new or changed file, the cache key
//!    `blake3(model id, path, context header, chunk content hash)` is looked up in
//!    the embedding cache; only misses go to the model, batched by similar length.
//!    Editing one function therefore embeds that function's chunks alone, and
//!    another commit of the same repository embeds only what differs.
//! 3. The rows of changed and removed files are deleted first; then files are
//!    embedded most useful first ([`embedding_order`]: recently modified and
//!    central in the dependency graph), and each batch appends the files it
//!    completes, so queries use the vectors as they arrive
//!    ([`PROGRESS_FILE`] says how many of the generation's chunks have one).
//!    At the end the table is compacted, old versions pruned, and an IVF-PQ
//!    index is built above [`EmbedConfig::ann_threshold`] rows.
//!
//! The table is checked against the generation on every run, so a crash or an
//! interrupted embedding leaves nothing stale: the next run finishes the work.
//! Queries against a generation only use vector hits whose chunk (path, ordinal,
//! byte start, content hash) exists in that generation.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Instant;

use codectx_core::{Chunk, EmbedConfig, EmbedStats, Error, Result, SecretRules};
use codectx_embed::{embed_batched, EmbedProgress, Embedder};
use codectx_vector::{Searcher, TableState, VectorRow, VectorStore};
use serde::{Deserialize, Serialize};

use crate::store::FileEntry;

/// Texts embedded between two writes to the embedding cache and the table, at
/// most: an interrupted run loses at most this much model work.
const CACHE_FLUSH_TEXTS: usize = 2048;
/// The first group of texts embedded: groups start small, so that the first
/// vectors reach the table within seconds, and double up to [`CACHE_FLUSH_TEXTS`].
const FIRST_GROUP_TEXTS: usize = 128;
/// Characters of a chunk kept before the model's tokenizer truncates to
/// `max_tokens` (saves tokenizing text that would be cut anyway).
const CHARS_PER_TOKEN_CAP: usize = 8;

/// The text embedded for a chunk: its path, the header of its container (the
/// `class` line of a method), then the chunk's code. The path and header give a
/// chunk the context a reader would see; the model truncates the code to its
/// `max_tokens`.
pub fn embedding_text(path: &str, chunk: &Chunk, code: &str, max_tokens: usize) -> String {
    let cap = max_tokens.max(8) * CHARS_PER_TOKEN_CAP;
    let end = code.floor_char_boundary(cap);
    let mut text = String::with_capacity(path.len() + end + 64);
    text.push_str(path);
    text.push('\n');
    if let Some(header) = chunk.context_header.as_deref().filter(|header| !header.is_empty()) {
        text.push_str(header.trim());
        text.push('\n');
    }
    text.push_str(&code[..end]);
    text
}

/// The embedding cache key of a chunk: 32 hex digits of blake3 over the model id,
/// the path, the context header and the chunk's content hash (everything
/// [`embedding_text`] reads, and the model).
pub fn cache_key(model_id: &str, path: &str, chunk: &Chunk) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"codectx-embed-v1\0");
    hasher.update(model_id.as_bytes());
    hasher.update(b"\0");
    hasher.update(path.as_bytes());
    hasher.update(b"\0");
    hasher.update(chunk.context_header.as_deref().unwrap_or_default().as_bytes());
    hasher.update(b"\0");
    hasher.update(&chunk.content_hash.to_le_bytes());
    hasher.finalize().to_hex()[..32].to_string()
}

/// Progress of the embedding phase: chunks embedded, of those that need the model.
pub type EmbedProgressFn<'a> = dyn FnMut(EmbedProgress) + 'a;

/// Where the embedding phase records how far the vector table covers a
/// generation, relative to the index folder (JSON, [`VectorProgress`]).
pub const PROGRESS_FILE: &str = "vectors/progress.json";

/// How far the vector table covers a generation, written by the embedding phase
/// after each batch it makes visible ([`PROGRESS_FILE`]) and read by snapshots
/// ([`crate::IndexSnapshot::vector_coverage`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VectorProgress {
    /// The generation the table is being brought in line with.
    pub generation: u64,
    /// The model that writes the table.
    pub model_id: String,
    /// Chunks of that generation.
    pub chunks: u64,
    /// Of those, chunks with a current vector in the table.
    pub embedded: u64,
    /// Whether the phase finished (every chunk it could read has its vector).
    pub complete: bool,
    /// When this was written, milliseconds since the Unix epoch.
    pub updated_unix_ms: u64,
}

/// The embedding phase's progress record of `index_dir`, if there is a readable one.
pub fn read_progress(index_dir: &Path) -> Option<VectorProgress> {
    let bytes = std::fs::read(index_dir.join(PROGRESS_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Records that the embeddings of generation `generation` (`chunks` chunks) are
/// pending, when the index has no progress record yet (its first embedding
/// run): from then on its snapshots report the vector signal as partial
/// ([`crate::IndexSnapshot::vector_coverage`]) instead of absent. An existing
/// record is kept: it still counts the rows that remain valid.
///
/// Errors: [`Error::Io`] when the record cannot be written.
pub fn mark_pending(index_dir: &Path, generation: u64, chunks: u64) -> Result<()> {
    if read_progress(index_dir).is_some() {
        return Ok(());
    }
    let dir = index_dir.join(codectx_vector::VECTORS_DIR);
    std::fs::create_dir_all(&dir).map_err(|error| Error::io(&dir, error))?;
    write_progress(
        index_dir,
        &VectorProgress {
            generation,
            model_id: String::new(),
            chunks,
            embedded: 0,
            complete: false,
            updated_unix_ms: unix_ms(),
        },
    )
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |time| time.as_millis() as u64)
}

/// Writes `progress` atomically (a temporary file renamed over the old one).
fn write_progress(index_dir: &Path, progress: &VectorProgress) -> Result<()> {
    let path = index_dir.join(PROGRESS_FILE);
    let tmp = path.with_extension("json.tmp");
    let bytes = serde_json::to_vec_pretty(progress).map_err(|error| Error::Internal(error.to_string()))?;
    std::fs::write(&tmp, bytes).map_err(|error| Error::io(&tmp, error))?;
    std::fs::rename(&tmp, &path).map_err(|error| Error::io(&path, error))
}

/// Constant k of the reciprocal rank fusion that orders files for embedding
/// (Cormack et al., SIGIR 2009, use 60).
const PRIORITY_RRF_K: f64 = 60.0;

/// The order in which the embedding phase embeds the files of a generation
/// (indexes into `files`), most useful first: the reciprocal rank fusion of two
/// orders, the most recently modified files first (file mtime under `root`;
/// what a user works on now is what they ask about) and the files that global
/// PageRank over the dependency graph ([`crate::graph::personalized_pagerank`]
/// with uniform restart) ranks most central first (the definitions much of the
/// repository uses). Ties keep path order.
pub fn embedding_order(root: &Path, files: &[FileEntry]) -> Vec<usize> {
    if files.is_empty() {
        return Vec::new();
    }
    let graph = crate::graph::FileGraph::build(files);
    let uniform: Vec<(u32, f32)> = (0..files.len() as u32).map(|file| (file, 1.0)).collect();
    let centrality = crate::graph::personalized_pagerank(&graph, &uniform, 0.85, 20);
    let modified: Vec<u128> = files
        .iter()
        .map(|entry| {
            std::fs::metadata(root.join(&entry.record.path))
                .and_then(|metadata| metadata.modified())
                .ok()
                .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |age| age.as_nanos())
        })
        .collect();
    let mut by_recency: Vec<usize> = (0..files.len()).collect();
    by_recency.sort_by(|&a, &b| modified[b].cmp(&modified[a]).then(a.cmp(&b)));
    let mut by_centrality: Vec<usize> = (0..files.len()).collect();
    by_centrality.sort_by(|&a, &b| {
        let (x, y) = (centrality.get(a).copied().unwrap_or(0.0), centrality.get(b).copied().unwrap_or(0.0));
        y.total_cmp(&x).then(a.cmp(&b))
    });
    let mut score = vec![0.0f64; files.len()];
    for order in [&by_recency, &by_centrality] {
        for (rank, &file) in order.iter().enumerate() {
            score[file] += 1.0 / (PRIORITY_RRF_K + rank as f64 + 1.0);
        }
    }
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by(|&a, &b| score[b].total_cmp(&score[a]).then(a.cmp(&b)));
    order
}

/// Brings the vector table of `index_dir` in line with `files` (generation
/// `generation`, just published for the repository at `root`). See the module
/// docs.
///
/// Files are embedded in [`embedding_order`], and the table grows batch by
/// batch: the rows of changed and removed files are deleted first, the files
/// whose every chunk is in the embedding cache are appended at once, and then
/// each group of embedded texts (from [`FIRST_GROUP_TEXTS`], doubling up to
/// [`CACHE_FLUSH_TEXTS`]) appends the files it
/// completes, so queries use the vectors written so far. After each append,
/// [`PROGRESS_FILE`] says how many of the generation's chunks have a vector.
///
/// The text given to `embedder` is redacted with `secrets` first (a remote
/// embedder sends it off the machine). Cached vectors are reused whatever the
/// rules were when they were computed: they go nowhere, and hold no text.
///
/// Errors: [`Error::Embedding`] when the model fails; [`Error::Internal`] when
/// LanceDB fails. The lexical index is unaffected either way; what was appended
/// stays, and the next run resumes from it and from the cache.
#[allow(clippy::too_many_arguments)]
pub fn sync_vectors(
    index_dir: &Path,
    root: &Path,
    files: &[FileEntry],
    generation: u64,
    embedder: &dyn Embedder,
    config: &EmbedConfig,
    secrets: &SecretRules,
    progress: &mut EmbedProgressFn<'_>,
) -> Result<EmbedStats> {
    let started = Instant::now();
    let model_id = embedder.model_id().to_string();
    let dimension = embedder.dimension();
    let store = VectorStore::open(index_dir)?;
    let indexed = match store.state(&model_id, dimension)? {
        TableState::Missing => HashMap::new(),
        TableState::Files(files) => files,
        TableState::OtherModel { model_id: old, dimension: old_dimension } => {
            // Shown by the CLI's default `warn` filter.
            tracing::warn!(
                "embedding model changed ({} × {old_dimension} → {model_id} × {dimension}): re-embedding every chunk \
                 (cached vectors of the new model are reused)",
                if old.is_empty() { "unknown" } else { old.as_str() }
            );
            store.reset()?;
            HashMap::new()
        }
    };

    let current: HashSet<&str> = files.iter().map(|entry| entry.record.path.as_str()).collect();
    let chunks_total: u64 = files.iter().map(|entry| entry.parsed.chunks.len() as u64).sum();
    let changed: Vec<&FileEntry> = embedding_order(root, files)
        .into_iter()
        .map(|index| &files[index])
        .filter(|entry| indexed.get(&entry.record.path) != Some(&entry.record.hash))
        .filter(|entry| !entry.parsed.chunks.is_empty())
        .collect();
    let mut replaced: Vec<String> = indexed.keys().filter(|path| !current.contains(path.as_str())).cloned().collect();
    replaced.extend(changed.iter().map(|entry| entry.record.path.clone()).filter(|path| indexed.contains_key(path)));
    // Chunks whose file's rows are current already.
    let mut embedded_chunks: u64 = files
        .iter()
        .filter(|entry| indexed.get(&entry.record.path) == Some(&entry.record.hash))
        .map(|entry| entry.parsed.chunks.len() as u64)
        .sum();
    let record = |embedded: u64, complete: bool| {
        let progress = VectorProgress {
            generation,
            model_id: model_id.clone(),
            chunks: chunks_total,
            embedded: embedded.min(chunks_total),
            complete,
            updated_unix_ms: unix_ms(),
        };
        write_progress(index_dir, &progress)
    };

    let mut stats = EmbedStats { model_id: model_id.clone(), dimension: dimension as u64, ..EmbedStats::default() };
    if changed.is_empty() && replaced.is_empty() {
        stats.vectors = store.len()? as u64;
        stats.ann_index = store.has_ann_index()?;
        if stats.vectors as usize > config.ann_threshold && !stats.ann_index {
            // A table that grew past the threshold under an older setting.
            stats.ann_index = store.optimize(config.ann_threshold)?.ann_index;
        }
        record(embedded_chunks, true)?;
        stats.elapsed_ms = started.elapsed().as_millis() as u64;
        return Ok(stats);
    }

    // Cache lookup for every chunk of the changed files.
    let keys: Vec<Vec<String>> = changed
        .iter()
        .map(|entry| entry.parsed.chunks.iter().map(|chunk| cache_key(&model_id, &entry.record.path, chunk)).collect())
        .collect();
    let mut unique: Vec<String> = keys.iter().flatten().cloned().collect();
    unique.sort_unstable();
    unique.dedup();
    let mut vectors: HashMap<String, Vec<f32>> = store.cache_get(&model_id, dimension, &unique)?;
    stats.chunks_updated = keys.iter().map(Vec::len).sum::<usize>() as u64;

    // The rows of changed and removed files go first: from here on the table
    // holds only current rows, and grows as files complete.
    store.replace_files(&model_id, dimension, &replaced, &[])?;
    let mut written = vec![false; changed.len()];
    let append_complete = |vectors: &HashMap<String, Vec<f32>>, written: &mut [bool]| -> Result<u64> {
        let mut rows = Vec::new();
        let mut chunks = 0;
        for (index, (entry, file_keys)) in changed.iter().zip(&keys).enumerate() {
            if written[index] || !file_keys.iter().all(|key| vectors.contains_key(key)) {
                continue;
            }
            written[index] = true;
            chunks += file_keys.len() as u64;
            rows.extend(file_rows(entry, file_keys, vectors));
        }
        if !rows.is_empty() {
            store.replace_files(&model_id, dimension, &[], &rows)?;
        }
        Ok(chunks)
    };
    embedded_chunks += append_complete(&vectors, &mut written)?;
    record(embedded_chunks, false)?;

    // The texts of the misses, read from the files (checked against the hash the
    // generation recorded; a file edited since is picked up by the next run), in
    // embedding order.
    let mut pending: Vec<(String, String)> = Vec::new();
    let mut queued: HashSet<&str> = HashSet::new();
    for (entry, file_keys) in changed.iter().zip(&keys) {
        if file_keys.iter().all(|key| vectors.contains_key(key) || queued.contains(key.as_str())) {
            continue;
        }
        let Some(source) = read_checked(root, entry) else {
            continue;
        };
        for (chunk, key) in entry.parsed.chunks.iter().zip(file_keys) {
            if vectors.contains_key(key) || !queued.insert(key.as_str()) {
                continue;
            }
            let span = chunk.span.start_byte as usize..(chunk.span.end_byte as usize).min(source.len());
            // Redacted before truncation, so that no secret is cut into a prefix the
            // patterns no longer recognise; then the header too.
            let code = secrets.redact(source.get(span).unwrap_or_default()).text;
            let text = embedding_text(&entry.record.path, chunk, &code, config.max_tokens);
            pending.push((key.clone(), secrets.redact(&text).text.into_owned()));
        }
    }

    // Embed the misses; every CACHE_FLUSH_TEXTS, flush them to the cache and
    // append the files they complete.
    let total = pending.len();
    let model_started = Instant::now();
    let mut done = 0;
    let mut size = FIRST_GROUP_TEXTS;
    while done < total {
        let group = &pending[done..(done + size).min(total)];
        size = (size * 2).min(CACHE_FLUSH_TEXTS);
        let texts: Vec<&str> = group.iter().map(|(_, text)| text.as_str()).collect();
        let group_started = Instant::now();
        let embedded = embed_batched(embedder, &texts, &mut |step| {
            progress(EmbedProgress {
                done: done + step.done,
                total,
                elapsed_secs: model_started.elapsed().as_secs_f64().max(group_started.elapsed().as_secs_f64()),
            })
        })?;
        done += group.len();
        let entries: Vec<(String, Vec<f32>)> = group.iter().map(|(key, _)| key.clone()).zip(embedded).collect();
        store.cache_put(&model_id, dimension, &entries)?;
        vectors.extend(entries);
        embedded_chunks += append_complete(&vectors, &mut written)?;
        record(embedded_chunks, false)?;
    }
    if total > 0 {
        store.cache_optimize(dimension)?;
    }
    stats.embedded = total as u64;
    stats.embed_ms = model_started.elapsed().as_millis() as u64;
    stats.cache_hits = stats.chunks_updated.saturating_sub(stats.embedded);
    let report = store.optimize(config.ann_threshold)?;
    stats.vectors = report.rows as u64;
    stats.ann_index = report.ann_index;
    // A file whose text could not be read (changed since) keeps no rows; the
    // next run retries it.
    record(embedded_chunks, true)?;
    stats.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(stats)
}

/// The table rows of one file, every chunk's vector found in `vectors`.
fn file_rows(entry: &FileEntry, file_keys: &[String], vectors: &HashMap<String, Vec<f32>>) -> Vec<VectorRow> {
    entry
        .parsed
        .chunks
        .iter()
        .zip(file_keys)
        .enumerate()
        .map(|(ordinal, (chunk, key))| VectorRow {
            path: entry.record.path.clone(),
            ordinal: ordinal as u32,
            start_byte: chunk.span.start_byte,
            end_byte: chunk.span.end_byte,
            start_line: chunk.span.start_line,
            end_line: chunk.span.end_line,
            symbol_path: chunk.symbol_path.clone(),
            language: entry.record.language.name().to_string(),
            file_hash: entry.record.hash.clone(),
            content_hash: chunk.content_hash,
            vector: vectors[key].clone(),
        })
        .collect()
}

/// The file's text if its blake3 still matches the generation's record.
fn read_checked(root: &Path, entry: &FileEntry) -> Option<String> {
    let bytes = std::fs::read(root.join(&entry.record.path)).ok()?;
    if blake3::hash(&bytes).to_hex().as_str() != entry.record.hash {
        tracing::debug!(path = %entry.record.path, "changed since indexed; embedded on the next run");
        return None;
    }
    Some(match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => String::from_utf8_lossy(error.as_bytes()).into_owned(),
    })
}

/// Vector search over one index folder's `chunks` table, answered in terms of a
/// snapshot's chunks.
pub struct VectorSearch {
    store: VectorStore,
    model: std::sync::OnceLock<Option<(String, usize)>>,
    /// Opened on the first query and kept for the snapshot's lifetime.
    searcher: std::sync::OnceLock<Option<Searcher>>,
}

impl std::fmt::Debug for VectorSearch {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("VectorSearch").field("store", &self.store).finish()
    }
}

impl VectorSearch {
    /// Opens the vector table of `index_dir`; `Ok(None)` when it has none (the
    /// index was built without embeddings).
    pub fn open(index_dir: &Path) -> Result<Option<VectorSearch>> {
        if !VectorStore::exists(index_dir) {
            return Ok(None);
        }
        Ok(Some(VectorSearch {
            store: VectorStore::open(index_dir)?,
            model: std::sync::OnceLock::new(),
            searcher: std::sync::OnceLock::new(),
        }))
    }

    /// Whether `index_dir` has a vector table.
    pub fn exists(index_dir: &Path) -> bool {
        VectorStore::exists(index_dir)
    }

    /// The underlying store.
    pub fn store(&self) -> &VectorStore {
        &self.store
    }

    /// Embeds `query` with `embedder` (once) and returns its `k` nearest chunks of
    /// `snapshot` ([`VectorSearch::nearest`]).
    ///
    /// Errors: [`Error::Embedding`] when the table was written by another model
    /// than `embedder` (their vectors are not comparable: re-index, or configure
    /// the model the index was built with) or the model fails.
    pub fn query(
        &self,
        snapshot: &crate::IndexSnapshot,
        embedder: &dyn Embedder,
        query: &str,
        k: usize,
    ) -> Result<Vec<((u32, u32), f32)>> {
        let vector = self.embed_query(embedder, query)?;
        self.nearest(snapshot, &vector, k)
    }

    /// Embeds `query` with `embedder` after checking that the table was written by
    /// the same model: one L2-normalised vector of the model's dimension.
    ///
    /// Errors: as [`VectorSearch::query`].
    pub fn embed_query(&self, embedder: &dyn Embedder, query: &str) -> Result<Vec<f32>> {
        if let Some((model_id, _)) = self.model()? {
            if model_id != embedder.model_id() {
                return Err(Error::Embedding(format!(
                    "the index was embedded with {model_id} but the query embedder is {}: re-run `codectx index` \
                     or configure [embed] to match",
                    embedder.model_id()
                )));
            }
        }
        embedder
            .embed(&[query])?
            .pop()
            .ok_or_else(|| Error::Embedding(format!("{} returned no vector", embedder.model_id())))
    }

    /// Opens the table's search handle (schema, row count) and loads its whole ANN
    /// index with one search that probes every partition, so that queries pay only
    /// for their own search. Idempotent (later calls are one search from cache).
    ///
    /// Errors: [`Error::Embedding`] when LanceDB cannot open or search the table.
    pub fn prepare(&self) -> Result<()> {
        let Some((_, dimension)) = self.model()? else { return Ok(()) };
        let Some(searcher) = self.searcher()? else { return Ok(()) };
        searcher.warm(*dimension)
    }

    fn model(&self) -> Result<&Option<(String, usize)>> {
        if let Some(model) = self.model.get() {
            return Ok(model);
        }
        let model = self.store.model()?;
        Ok(self.model.get_or_init(|| model))
    }

    fn searcher(&self) -> Result<Option<&Searcher>> {
        if let Some(searcher) = self.searcher.get() {
            return Ok(searcher.as_ref());
        }
        let searcher = self.store.searcher()?;
        Ok(self.searcher.get_or_init(|| searcher).as_ref())
    }

    /// The `k` chunks nearest to `query` (an embedding of the query text by the
    /// model that wrote the table), as `(file index, chunk ordinal)` of `snapshot`,
    /// nearest first. Hits whose chunk is not in `snapshot` (a file changed since)
    /// are dropped. The `f32` is the cosine similarity (`1 − distance`).
    ///
    /// Errors: [`Error::InvalidArgument`] when `query` has the wrong dimension.
    pub fn nearest(&self, snapshot: &crate::IndexSnapshot, query: &[f32], k: usize) -> Result<Vec<((u32, u32), f32)>> {
        let Some(searcher) = self.searcher()? else {
            return Ok(Vec::new());
        };
        let hits = searcher.search(query, k)?;
        let mut out = Vec::with_capacity(hits.len());
        for hit in hits {
            let Some((file, entry)) = snapshot.file(&hit.path) else { continue };
            let Some(chunk) = entry.parsed.chunks.get(hit.ordinal as usize) else { continue };
            if chunk.span.start_byte == hit.start_byte && chunk.content_hash == hit.content_hash {
                out.push(((file, hit.ordinal), 1.0 - hit.distance));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use codectx_core::{ChunkKind, Span};

    fn chunk(header: Option<&str>, hash: u64) -> Chunk {
        Chunk {
            span: Span { start_byte: 0, end_byte: 10, start_line: 1, end_line: 1 },
            kind: ChunkKind::Definition,
            symbol_path: "f".into(),
            symbol: None,
            context_header: header.map(str::to_string),
            references: Vec::new(),
            content_hash: hash,
        }
    }

    #[test]
    fn cache_key_changes_with_model_path_header_and_content_only() {
        let base = cache_key("m", "a.py", &chunk(None, 1));
        assert_eq!(base, cache_key("m", "a.py", &chunk(None, 1)));
        assert_ne!(base, cache_key("m2", "a.py", &chunk(None, 1)));
        assert_ne!(base, cache_key("m", "b.py", &chunk(None, 1)));
        assert_ne!(base, cache_key("m", "a.py", &chunk(Some("class A:"), 1)));
        assert_ne!(base, cache_key("m", "a.py", &chunk(None, 2)));
        let mut moved = chunk(None, 1);
        moved.span = Span { start_byte: 100, end_byte: 110, start_line: 9, end_line: 9 };
        assert_eq!(base, cache_key("m", "a.py", &moved), "a chunk that only moved is a cache hit");
    }

    #[test]
    fn embedding_text_has_path_header_and_truncated_code() {
        let text = embedding_text("pkg/upload.py", &chunk(Some("class Uploader:"), 1), &"x".repeat(10_000), 16);
        assert!(text.starts_with("pkg/upload.py\nclass Uploader:\nxxx"));
        assert_eq!(text.len(), "pkg/upload.py\nclass Uploader:\n".len() + 16 * CHARS_PER_TOKEN_CAP);
    }
}
