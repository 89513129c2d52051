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
//! 3. The rows of changed and removed files are replaced in one delete and one
//!    append; the table is compacted, old versions pruned, and an IVF-PQ index is
//!    built above [`EmbedConfig::ann_threshold`] rows.
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

use crate::store::FileEntry;

/// Texts embedded between two writes to the embedding cache: an interrupted run
/// loses at most this much model work.
const CACHE_FLUSH_TEXTS: usize = 2048;
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

/// Brings the vector table of `index_dir` in line with `files` (the generation
/// just published for the repository at `root`). See the module docs.
///
/// The text given to `embedder` is redacted with `secrets` first (a remote
/// embedder sends it off the machine). Cached vectors are reused whatever the
/// rules were when they were computed: they go nowhere, and hold no text.
///
/// Errors: [`Error::Embedding`] when the model fails; [`Error::Internal`] when
/// LanceDB fails. The lexical index is unaffected either way, and the next run
/// resumes from what was cached.
pub fn sync_vectors(
    index_dir: &Path,
    root: &Path,
    files: &[FileEntry],
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
    let changed: Vec<&FileEntry> = files
        .iter()
        .filter(|entry| indexed.get(&entry.record.path) != Some(&entry.record.hash))
        .filter(|entry| !entry.parsed.chunks.is_empty())
        .collect();
    let mut replaced: Vec<String> = indexed.keys().filter(|path| !current.contains(path.as_str())).cloned().collect();
    replaced.extend(changed.iter().map(|entry| entry.record.path.clone()).filter(|path| indexed.contains_key(path)));

    let mut stats = EmbedStats { model_id: model_id.clone(), dimension: dimension as u64, ..EmbedStats::default() };
    if changed.is_empty() && replaced.is_empty() {
        stats.vectors = store.len()? as u64;
        stats.ann_index = store.has_ann_index()?;
        if stats.vectors as usize > config.ann_threshold && !stats.ann_index {
            // A table that grew past the threshold under an older setting.
            stats.ann_index = store.optimize(config.ann_threshold)?.ann_index;
        }
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

    // The texts of the misses, read from the files (checked against the hash the
    // generation recorded; a file edited since is picked up by the next run).
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

    // Embed the misses, flushing them to the cache every CACHE_FLUSH_TEXTS.
    let total = pending.len();
    let model_started = Instant::now();
    let mut done = 0;
    for group in pending.chunks(CACHE_FLUSH_TEXTS) {
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
    }
    if total > 0 {
        store.cache_optimize(dimension)?;
    }
    stats.embedded = total as u64;
    stats.embed_ms = model_started.elapsed().as_millis() as u64;

    // Rows of the changed files (a file whose text could not be read keeps no
    // rows; the next run retries it).
    let mut rows = Vec::new();
    let mut written: Vec<String> = Vec::new();
    for (entry, file_keys) in changed.iter().zip(&keys) {
        if !file_keys.iter().all(|key| vectors.contains_key(key)) {
            continue;
        }
        written.push(entry.record.path.clone());
        for (ordinal, (chunk, key)) in entry.parsed.chunks.iter().zip(file_keys).enumerate() {
            rows.push(VectorRow {
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
            });
        }
    }
    stats.cache_hits = stats.chunks_updated.saturating_sub(stats.embedded);
    store.replace_files(&model_id, dimension, &replaced, &rows)?;
    let report = store.optimize(config.ann_threshold)?;
    stats.vectors = report.rows as u64;
    stats.ann_index = report.ann_index;
    stats.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(stats)
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
