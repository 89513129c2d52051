//! Chunk vectors in LanceDB, and the embedding cache.
//!
//! ```text
//! <index_dir>/vectors/            a LanceDB database (one per repository index)
//!   chunks.lance                  one row per chunk of the current generation
//!   embedding_cache_<dim>.lance   (cache key, model id, vector) of every text ever embedded
//! ```
//!
//! `chunks` schema (Arrow): `chunk_id` Utf8 (`path#ordinal`), `path` Utf8,
//! `ordinal` UInt32 (the chunk's index within its file), `start_byte`/`end_byte`
//! UInt32 (byte span, end exclusive), `start_line`/`end_line` UInt32 (1-based,
//! inclusive), `symbol_path` Utf8, `language` Utf8, `file_hash` Utf8 (blake3 of the
//! file), `content_hash` UInt64 (of the chunk's text), `model_id` Utf8, and `vector`
//! `FixedSizeList<Float32, dim>`.
//!
//! Writes are batched: [`VectorStore::replace_files`] deletes the rows of every
//! changed or removed file with one predicate and appends every new row in one
//! write, so an index run adds two table versions however many files changed;
//! [`VectorStore::optimize`] then compacts the fragments and prunes old versions,
//! so `_versions` stays small (LanceDB users who write per file see thousands).
//!
//! Search is exact (a flat scan with cosine distance) below
//! [`EmbedConfig::ann_threshold`](codectx_core::EmbedConfig) rows and uses an
//! IVF-PQ index above it (built by `optimize`). `benches/vector_search.rs` measures
//! both, and the recall of IVF-PQ against exact search.
//!
//! All calls block: LanceDB is async, and the store runs it on a process-wide
//! one-worker tokio runtime. Call it from a plain thread or `spawn_blocking`,
//! never from inside an async task.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use codectx_core::{Error, Result};
use futures::TryStreamExt;
use lancedb::arrow::arrow_array::{
    Array, FixedSizeListArray, Float32Array, RecordBatch, StringArray, UInt32Array, UInt64Array,
};
use lancedb::arrow::arrow_schema::{DataType, Field, Schema, SchemaRef};
use lancedb::index::vector::IvfPqIndexBuilder;
use lancedb::index::{Index, IndexConfig};
use lancedb::query::{ExecutableQuery, QueryBase, Select};
use lancedb::table::{OptimizeAction, OptimizeOptions};
use lancedb::{Connection, DistanceType, Table};

/// Table of the current generation's chunk vectors.
pub const CHUNKS_TABLE: &str = "chunks";
/// Folder of the LanceDB database inside an index folder.
pub const VECTORS_DIR: &str = "vectors";
/// Paths per `DELETE ... WHERE path IN (...)` statement.
const DELETE_BATCH: usize = 500;
/// Keys per cache lookup statement.
const LOOKUP_BATCH: usize = 2000;

/// One chunk's vector and where the chunk is.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorRow {
    /// Repository-relative path.
    pub path: String,
    /// Index of the chunk within its file (`ParsedFile::chunks`).
    pub ordinal: u32,
    /// Byte span in the file, end exclusive.
    pub start_byte: u32,
    /// End of the byte span (exclusive).
    pub end_byte: u32,
    /// 1-based first line.
    pub start_line: u32,
    /// 1-based last line (inclusive).
    pub end_line: u32,
    /// Qualified symbol name, or empty.
    pub symbol_path: String,
    /// Language name (`python`).
    pub language: String,
    /// blake3 hex of the whole file when indexed.
    pub file_hash: String,
    /// Hash of the chunk text ([`codectx_core::Chunk::content_hash`]).
    pub content_hash: u64,
    /// The embedding, `dim` floats, L2-normalised.
    pub vector: Vec<f32>,
}

/// A nearest neighbour of a query vector.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorHit {
    /// Repository-relative path.
    pub path: String,
    /// Chunk index within the file.
    pub ordinal: u32,
    /// Start of the byte span, to check the hit against the snapshot's chunk.
    pub start_byte: u32,
    /// Hash of the chunk text, to check the hit against the snapshot's chunk.
    pub content_hash: u64,
    /// Cosine distance (`1 − cosine similarity`, 0..2; smaller is closer).
    pub distance: f32,
}

/// What the `chunks` table holds, compared with what an index run wants.
#[derive(Debug, Clone, PartialEq)]
pub enum TableState {
    /// No table yet.
    Missing,
    /// Written with another model or dimension: it must be re-embedded from scratch.
    OtherModel {
        /// The model id found in the table (empty when the table is empty).
        model_id: String,
        /// The vector length found.
        dimension: usize,
    },
    /// Same model: the `file_hash` of each path present, so only files whose hash
    /// differs (or that are gone) need work.
    Files(HashMap<String, String>),
}

/// What [`VectorStore::optimize`] did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OptimizeReport {
    /// Rows in the table.
    pub rows: usize,
    /// Whether an ANN index (IVF-PQ) serves searches.
    pub ann_index: bool,
    /// Table versions left on disk after pruning.
    pub versions: usize,
}

/// The physical state of the `chunks` table ([`VectorStore::health`]): what
/// search latency depends on besides the row count.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableHealth {
    /// Rows in the table.
    pub rows: usize,
    /// Data fragments (files of rows); compaction keeps this small.
    pub fragments: usize,
    /// Of those, fragments below the compaction target.
    pub small_fragments: usize,
    /// Rows the ANN index covers (0 without one).
    pub indexed_rows: usize,
    /// Rows not yet in the ANN index: searched exactly, beside the index.
    pub unindexed_rows: usize,
    /// Segments the ANN index is split into (each is searched); 0 without an index.
    pub index_segments: u32,
}

#[derive(Debug, Default)]
struct VectorIndexStats {
    indexed_rows: usize,
    unindexed_rows: usize,
    segments: u32,
}

/// Whether an index of the table is on its `vector` column.
fn is_vector_index(index: &IndexConfig) -> bool {
    index.columns.iter().any(|column| column == "vector")
}

/// The vector database of one repository index.
pub struct VectorStore {
    runtime: &'static tokio::runtime::Runtime,
    db: Connection,
    dir: PathBuf,
    /// Opened tables (a handle sees its own writes; opening costs a directory listing).
    tables: Mutex<HashMap<String, Table>>,
}

impl std::fmt::Debug for VectorStore {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("VectorStore").field("dir", &self.dir).finish()
    }
}

/// The process-wide runtime LanceDB's futures run on (one worker; callers block on
/// it from their own threads). Never dropped, so a store may be dropped anywhere,
/// including inside an async task.
fn runtime() -> Result<&'static tokio::runtime::Runtime> {
    static RUNTIME: std::sync::OnceLock<std::result::Result<tokio::runtime::Runtime, String>> =
        std::sync::OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("codectx-lancedb")
                .enable_all()
                .build()
                .map_err(|error| error.to_string())
        })
        .as_ref()
        .map_err(|error| Error::Internal(format!("tokio runtime: {error}")))
}

fn lance_error(context: &str, error: impl std::fmt::Display) -> Error {
    Error::Internal(format!("vector store: {context}: {error}"))
}

impl VectorStore {
    /// Opens (creating if needed) the database under `<index_dir>/vectors`.
    ///
    /// Errors: [`Error::Io`] when the folder cannot be created, [`Error::Internal`]
    /// when LanceDB cannot open it.
    pub fn open(index_dir: &Path) -> Result<Self> {
        let dir = index_dir.join(VECTORS_DIR);
        std::fs::create_dir_all(&dir).map_err(|error| Error::io(&dir, error))?;
        let runtime = runtime()?;
        let uri = dir.to_str().ok_or_else(|| Error::InvalidArgument(format!("non-UTF-8 path {}", dir.display())))?;
        let db = runtime
            .block_on(lancedb::connect(uri).execute())
            .map_err(|error| lance_error(&format!("open {}", dir.display()), error))?;
        Ok(VectorStore { runtime, db, dir, tables: Mutex::new(HashMap::new()) })
    }

    /// Whether an index folder has a vector table at all (without opening LanceDB).
    pub fn exists(index_dir: &Path) -> bool {
        index_dir.join(VECTORS_DIR).join(format!("{CHUNKS_TABLE}.lance")).is_dir()
    }

    /// The database folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn table(&self, name: &str) -> Result<Option<Table>> {
        if let Some(table) = self.tables.lock().expect("tables lock").get(name) {
            return Ok(Some(table.clone()));
        }
        let names = self
            .runtime
            .block_on(self.db.table_names().execute())
            .map_err(|error| lance_error("list tables", error))?;
        if !names.iter().any(|existing| existing == name) {
            return Ok(None);
        }
        let table = self
            .runtime
            .block_on(self.db.open_table(name).execute())
            .map_err(|error| lance_error(&format!("open table {name}"), error))?;
        self.tables.lock().expect("tables lock").insert(name.to_string(), table.clone());
        Ok(Some(table))
    }

    fn remember(&self, name: &str, table: Table) {
        self.tables.lock().expect("tables lock").insert(name.to_string(), table);
    }

    /// Compares the `chunks` table with `model_id` and `dimension`.
    pub fn state(&self, model_id: &str, dimension: usize) -> Result<TableState> {
        let Some(table) = self.table(CHUNKS_TABLE)? else {
            return Ok(TableState::Missing);
        };
        let found_dimension = self.runtime.block_on(table.schema()).map_or(0, |schema| vector_dimension(&schema));
        let batches: Vec<RecordBatch> = self
            .runtime
            .block_on(async {
                table
                    .query()
                    .select(Select::columns(&["path", "file_hash", "model_id"]))
                    .execute()
                    .await?
                    .try_collect()
                    .await
            })
            .map_err(|error| lance_error("read chunks", error))?;
        let mut files = HashMap::new();
        let mut other_model = None;
        for batch in &batches {
            let paths = string_column(batch, "path")?;
            let hashes = string_column(batch, "file_hash")?;
            let models = string_column(batch, "model_id")?;
            for row in 0..batch.num_rows() {
                if models.value(row) != model_id {
                    other_model.get_or_insert_with(|| models.value(row).to_string());
                }
                files.insert(paths.value(row).to_string(), hashes.value(row).to_string());
            }
        }
        if found_dimension != dimension || other_model.is_some() {
            return Ok(TableState::OtherModel {
                model_id: other_model.unwrap_or_default(),
                dimension: found_dimension,
            });
        }
        Ok(TableState::Files(files))
    }

    /// The model id and dimension of the `chunks` table, read from its first row;
    /// `None` when there is no table or it is empty.
    pub fn model(&self) -> Result<Option<(String, usize)>> {
        let Some(table) = self.table(CHUNKS_TABLE)? else {
            return Ok(None);
        };
        let dimension = self.runtime.block_on(table.schema()).map_or(0, |schema| vector_dimension(&schema));
        let batches: Vec<RecordBatch> = self
            .runtime
            .block_on(async {
                table.query().select(Select::columns(&["model_id"])).limit(1).execute().await?.try_collect().await
            })
            .map_err(|error| lance_error("read model id", error))?;
        for batch in &batches {
            if batch.num_rows() > 0 {
                return Ok(Some((string_column(batch, "model_id")?.value(0).to_string(), dimension)));
            }
        }
        Ok(None)
    }

    /// Up to `n` stored vectors, spread over the table (every ⌈rows / n⌉-th row),
    /// for benchmarks and diagnostics. Empty without a table.
    pub fn sample_vectors(&self, n: usize) -> Result<Vec<Vec<f32>>> {
        let Some(table) = self.table(CHUNKS_TABLE)? else {
            return Ok(Vec::new());
        };
        let batches: Vec<RecordBatch> = self
            .runtime
            .block_on(async { table.query().select(Select::columns(&["vector"])).execute().await?.try_collect().await })
            .map_err(|error| lance_error("read vectors", error))?;
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        let step = rows.div_ceil(n.max(1)).max(1);
        let mut out = Vec::new();
        let mut index = 0;
        for batch in &batches {
            let vectors = vector_column(batch)?;
            for row in 0..batch.num_rows() {
                if index % step == 0 && out.len() < n {
                    out.push(vector_at(vectors, row)?);
                }
                index += 1;
            }
        }
        Ok(out)
    }

    /// Drops the `chunks` table (a model change); the embedding cache stays.
    pub fn reset(&self) -> Result<()> {
        if self.table(CHUNKS_TABLE)?.is_some() {
            self.tables.lock().expect("tables lock").remove(CHUNKS_TABLE);
            self.runtime
                .block_on(self.db.drop_table(CHUNKS_TABLE, &[]))
                .map_err(|error| lance_error("drop chunks", error))?;
        }
        Ok(())
    }

    /// Replaces the rows of `paths` (changed or removed files) by `rows`: one delete
    /// per 500 paths, then one append of every row, creating the table (with
    /// `dimension`-float vectors) if needed.
    ///
    /// Errors: [`Error::InvalidArgument`] when a row's vector is not `dimension`
    /// long; [`Error::Internal`] when LanceDB fails (the table keeps its last
    /// committed version).
    pub fn replace_files(&self, model_id: &str, dimension: usize, paths: &[String], rows: &[VectorRow]) -> Result<()> {
        let table = self.table(CHUNKS_TABLE)?;
        if let Some(table) = &table {
            for group in paths.chunks(DELETE_BATCH) {
                let predicate = format!("path IN ({})", sql_list(group));
                self.runtime
                    .block_on(table.delete(predicate.as_str()))
                    .map_err(|error| lance_error("delete changed files", error))?;
            }
        }
        if rows.is_empty() {
            return Ok(());
        }
        let batch = chunk_batch(model_id, dimension, rows)?;
        match table {
            Some(table) => {
                self.runtime.block_on(table.add(batch).execute()).map_err(|error| lance_error("append", error))?;
            }
            None => {
                let table = self
                    .runtime
                    .block_on(self.db.create_table(CHUNKS_TABLE, batch).execute())
                    .map_err(|error| lance_error("create chunks", error))?;
                self.remember(CHUNKS_TABLE, table);
            }
        }
        Ok(())
    }

    /// Compacts the table, prunes every version but the newest, and builds an
    /// IVF-PQ index once the table has more than `ann_threshold` rows (or refreshes
    /// the one it has with the new rows).
    pub fn optimize(&self, ann_threshold: usize) -> Result<OptimizeReport> {
        let Some(table) = self.table(CHUNKS_TABLE)? else {
            return Ok(OptimizeReport::default());
        };
        let rows = self.runtime.block_on(table.count_rows(None)).map_err(|error| lance_error("count rows", error))?;
        let indices =
            self.runtime.block_on(table.list_indices()).map_err(|error| lance_error("list indices", error))?;
        let has_index = indices.iter().any(is_vector_index);
        if rows > ann_threshold && !has_index {
            let dimension = self.runtime.block_on(table.schema()).map_or(0, |schema| vector_dimension(&schema));
            let partitions = ((rows as f64).sqrt() as u32).clamp(1, MAX_PARTITIONS);
            let sub_vectors = [dimension / 16, dimension / 8, dimension / 4, 1]
                .into_iter()
                .find(|&n| n > 0 && dimension.is_multiple_of(n));
            let builder = IvfPqIndexBuilder::default()
                .distance_type(DistanceType::Cosine)
                .num_partitions(partitions)
                .num_sub_vectors(sub_vectors.unwrap_or(1) as u32);
            self.runtime
                .block_on(table.create_index(&["vector"], Index::IvfPq(builder)).execute())
                .map_err(|error| lance_error("build IVF-PQ index", error))?;
        }
        // Index update, compaction, then pruning of every older version.
        if has_index {
            // New rows join the index, and every delta segment is merged into one:
            // lance's default adds a segment per update, and a search visits each
            // (58 segments after 36 sympy commits made searches 2-3× slower). One
            // segment also lets compaction merge fragments, which it does only
            // among fragments covered by the same index segments.
            let segments = self.vector_index_stats(&table, &indices)?.segments.max(1) as usize;
            self.runtime
                .block_on(table.optimize(OptimizeAction::Index(OptimizeOptions::merge(segments))))
                .map_err(|error| lance_error("update index", error))?;
        }
        self.runtime
            .block_on(table.optimize(OptimizeAction::Compact { options: Default::default(), remap_options: None }))
            .map_err(|error| lance_error("compact", error))?;
        self.runtime
            .block_on(table.optimize(OptimizeAction::Prune {
                older_than: Some(chrono::Duration::zero()),
                delete_unverified: Some(false),
                error_if_tagged_old_versions: Some(false),
            }))
            .map_err(|error| lance_error("prune versions", error))?;
        let versions =
            self.runtime.block_on(table.list_versions()).map_err(|error| lance_error("list versions", error))?.len();
        Ok(OptimizeReport { rows, ann_index: has_index || rows > ann_threshold, versions })
    }

    /// Fragments, index coverage and index segments of the `chunks` table
    /// (all zero without a table).
    ///
    /// Errors: [`Error::Internal`] when LanceDB cannot read the table's statistics.
    pub fn health(&self) -> Result<TableHealth> {
        let Some(table) = self.table(CHUNKS_TABLE)? else {
            return Ok(TableHealth::default());
        };
        let stats = self.runtime.block_on(table.stats()).map_err(|error| lance_error("table stats", error))?;
        let mut health = TableHealth {
            rows: stats.num_rows,
            fragments: stats.fragment_stats.num_fragments,
            small_fragments: stats.fragment_stats.num_small_fragments,
            ..TableHealth::default()
        };
        let indices =
            self.runtime.block_on(table.list_indices()).map_err(|error| lance_error("list indices", error))?;
        let index = self.vector_index_stats(&table, &indices)?;
        health.indexed_rows = index.indexed_rows;
        health.unindexed_rows = index.unindexed_rows;
        health.index_segments = index.segments;
        if health.index_segments == 0 {
            health.unindexed_rows = health.rows;
        }
        Ok(health)
    }

    /// Whether the `chunks` table has an ANN index on its vectors.
    pub fn has_ann_index(&self) -> Result<bool> {
        let Some(table) = self.table(CHUNKS_TABLE)? else {
            return Ok(false);
        };
        let indices =
            self.runtime.block_on(table.list_indices()).map_err(|error| lance_error("list indices", error))?;
        Ok(indices.iter().any(is_vector_index))
    }

    /// Coverage and segments of the vector index among `indices` (zeros without one).
    fn vector_index_stats(&self, table: &Table, indices: &[IndexConfig]) -> Result<VectorIndexStats> {
        let mut out = VectorIndexStats::default();
        for index in indices.iter().filter(|index| is_vector_index(index)) {
            if let Some(stats) = self
                .runtime
                .block_on(table.index_stats(&index.name))
                .map_err(|error| lance_error("index stats", error))?
            {
                out.indexed_rows += stats.num_indexed_rows;
                out.unindexed_rows += stats.num_unindexed_rows;
                out.segments += stats.num_indices.unwrap_or(1);
            }
        }
        Ok(out)
    }

    /// Rows in the `chunks` table (0 when there is none).
    pub fn len(&self) -> Result<usize> {
        match self.table(CHUNKS_TABLE)? {
            None => Ok(0),
            Some(table) => {
                self.runtime.block_on(table.count_rows(None)).map_err(|error| lance_error("count rows", error))
            }
        }
    }

    /// Whether the `chunks` table is empty or missing.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Opens the `chunks` table for searching; `None` when there is none.
    pub fn searcher(&self) -> Result<Option<Searcher>> {
        let Some(table) = self.table(CHUNKS_TABLE)? else {
            return Ok(None);
        };
        let rows = self.runtime.block_on(table.count_rows(None)).map_err(|error| lance_error("count rows", error))?;
        // IVF-PQ has √rows partitions; probing an eighth of them (at least 20) kept
        // recall@10 near 0.9 or better in benches/vector_search.rs.
        let nprobes = (((rows as f64).sqrt() / 8.0) as usize).max(20);
        Ok(Some(Searcher { runtime: self.runtime, table, nprobes, refine_factor: REFINE_FACTOR, exact: false }))
    }

    /// The cached vectors of `keys` for `model_id` (those present).
    pub fn cache_get(&self, model_id: &str, dimension: usize, keys: &[String]) -> Result<HashMap<String, Vec<f32>>> {
        let mut found = HashMap::new();
        let Some(table) = self.table(&cache_table(dimension))? else {
            return Ok(found);
        };
        for group in keys.chunks(LOOKUP_BATCH) {
            let predicate = format!("model_id = '{}' AND key IN ({})", escape(model_id), sql_list(group));
            let batches: Vec<RecordBatch> = self
                .runtime
                .block_on(async {
                    table
                        .query()
                        .only_if(predicate)
                        .select(Select::columns(&["key", "vector"]))
                        .execute()
                        .await?
                        .try_collect()
                        .await
                })
                .map_err(|error| lance_error("read embedding cache", error))?;
            for batch in &batches {
                let keys = string_column(batch, "key")?;
                let vectors = vector_column(batch)?;
                for row in 0..batch.num_rows() {
                    found.insert(keys.value(row).to_string(), vector_at(vectors, row)?);
                }
            }
        }
        Ok(found)
    }

    /// Adds `(key, vector)` pairs for `model_id` to the cache, in one write.
    pub fn cache_put(&self, model_id: &str, dimension: usize, entries: &[(String, Vec<f32>)]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let name = cache_table(dimension);
        let schema = Arc::new(Schema::new(vec![
            Field::new("key", DataType::Utf8, false),
            Field::new("model_id", DataType::Utf8, false),
            vector_field(dimension),
        ]));
        let keys = StringArray::from_iter_values(entries.iter().map(|(key, _)| key.as_str()));
        let models = StringArray::from_iter_values(entries.iter().map(|_| model_id));
        let vectors = vectors_array(dimension, entries.iter().map(|(_, vector)| vector.as_slice()))?;
        let batch = RecordBatch::try_new(schema, vec![Arc::new(keys), Arc::new(models), Arc::new(vectors)])
            .map_err(|error| lance_error("cache batch", error))?;
        match self.table(&name)? {
            Some(table) => {
                self.runtime
                    .block_on(table.add(batch).execute())
                    .map_err(|error| lance_error("cache append", error))?;
            }
            None => {
                let table = self
                    .runtime
                    .block_on(self.db.create_table(&name, batch).execute())
                    .map_err(|error| lance_error("create cache", error))?;
                self.remember(&name, table);
            }
        }
        Ok(())
    }
}

impl VectorStore {
    /// Compacts the embedding cache of `dimension` and prunes its old versions
    /// (after a run's [`VectorStore::cache_put`] calls).
    pub fn cache_optimize(&self, dimension: usize) -> Result<()> {
        let Some(table) = self.table(&cache_table(dimension))? else {
            return Ok(());
        };
        self.runtime
            .block_on(table.optimize(OptimizeAction::Compact { options: Default::default(), remap_options: None }))
            .map_err(|error| lance_error("cache compact", error))?;
        self.runtime
            .block_on(table.optimize(OptimizeAction::Prune {
                older_than: Some(chrono::Duration::zero()),
                delete_unverified: Some(false),
                error_if_tagged_old_versions: Some(false),
            }))
            .map_err(|error| lance_error("cache prune", error))?;
        Ok(())
    }
}

/// A handle on the `chunks` table for repeated searches, opened once per index
/// generation by the query path (it sees the table as of its opening).
pub struct Searcher {
    runtime: &'static tokio::runtime::Runtime,
    table: Table,
    nprobes: usize,
    refine_factor: u32,
    exact: bool,
}

/// Most IVF partitions an index is built with (√rows, capped).
const MAX_PARTITIONS: u32 = 4096;

/// Candidates re-ranked by exact distance per hit wanted, with an IVF-PQ index
/// (chosen in benches/vector_search.rs on real tables).
pub const REFINE_FACTOR: u32 = 10;

impl Searcher {
    /// The same searcher with other IVF-PQ parameters: `nprobes` partitions probed
    /// and `refine_factor`·k candidates re-ranked exactly (0 = no re-ranking).
    /// Exact search ignores both.
    pub fn with_parameters(mut self, nprobes: usize, refine_factor: u32) -> Searcher {
        self.nprobes = nprobes.max(1);
        self.refine_factor = refine_factor;
        self
    }

    /// The same searcher scanning every vector (no ANN index): the ground truth
    /// that ANN recall is measured against.
    pub fn exact(mut self) -> Searcher {
        self.exact = true;
        self
    }

    /// Loads the whole ANN index (every IVF partition) into LanceDB's cache with
    /// one search that probes them all, so that the queries after it do not read
    /// partitions from disk one by one. A no-op cost without an index (one exact
    /// search of `dimension`-float unit vector).
    ///
    /// Errors: [`Error::InvalidArgument`] when `dimension` is not the table's;
    /// [`Error::Internal`] when LanceDB fails.
    pub fn warm(&self, dimension: usize) -> Result<()> {
        let probe = vec![1.0 / (dimension.max(1) as f32).sqrt(); dimension];
        let all = Searcher {
            runtime: self.runtime,
            table: self.table.clone(),
            nprobes: MAX_PARTITIONS as usize,
            refine_factor: 0,
            exact: false,
        };
        all.search(&probe, 1).map(|_| ())
    }

    /// Partitions probed with an IVF-PQ index.
    pub fn nprobes(&self) -> usize {
        self.nprobes
    }

    /// The `k` chunks nearest to `query` by cosine distance, nearest first. Exact
    /// below the ANN threshold; with an IVF-PQ index, max(20, √rows / 8)
    /// partitions are probed and the best `10·k` candidates re-ranked by exact
    /// distance.
    ///
    /// Errors: [`Error::InvalidArgument`] when `query`'s length is not the table's
    /// dimension; [`Error::Internal`] when LanceDB fails.
    pub fn search(&self, query: &[f32], k: usize) -> Result<Vec<VectorHit>> {
        let batches: Vec<RecordBatch> = self
            .runtime
            .block_on(async {
                let mut search =
                    self.table.query().nearest_to(query)?.distance_type(DistanceType::Cosine).nprobes(self.nprobes)?;
                if self.refine_factor > 0 {
                    search = search.refine_factor(self.refine_factor);
                }
                if self.exact {
                    search = search.bypass_vector_index();
                }
                search
                    .limit(k)
                    .select(Select::columns(&["path", "ordinal", "start_byte", "content_hash", "_distance"]))
                    .execute()
                    .await?
                    .try_collect()
                    .await
            })
            .map_err(|error| match error {
                lancedb::Error::InvalidInput { message } => Error::InvalidArgument(format!("vector query: {message}")),
                other => lance_error("search", other),
            })?;
        let mut hits = Vec::new();
        for batch in &batches {
            let paths = string_column(batch, "path")?;
            let ordinals = u32_column(batch, "ordinal")?;
            let starts = u32_column(batch, "start_byte")?;
            let hashes = batch
                .column_by_name("content_hash")
                .and_then(|column| column.as_any().downcast_ref::<UInt64Array>())
                .ok_or_else(|| lance_error("search", "no content_hash column"))?;
            let distances = batch
                .column_by_name("_distance")
                .and_then(|column| column.as_any().downcast_ref::<Float32Array>())
                .ok_or_else(|| lance_error("search", "no _distance column"))?;
            for row in 0..batch.num_rows() {
                hits.push(VectorHit {
                    path: paths.value(row).to_string(),
                    ordinal: ordinals.value(row),
                    start_byte: starts.value(row),
                    content_hash: hashes.value(row),
                    distance: distances.value(row),
                });
            }
        }
        hits.sort_by(|a, b| a.distance.total_cmp(&b.distance));
        Ok(hits)
    }
}

/// The Arrow schema of the `chunks` table for `dimension`-float vectors.
pub fn chunks_schema(dimension: usize) -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("chunk_id", DataType::Utf8, false),
        Field::new("path", DataType::Utf8, false),
        Field::new("ordinal", DataType::UInt32, false),
        Field::new("start_byte", DataType::UInt32, false),
        Field::new("end_byte", DataType::UInt32, false),
        Field::new("start_line", DataType::UInt32, false),
        Field::new("end_line", DataType::UInt32, false),
        Field::new("symbol_path", DataType::Utf8, false),
        Field::new("language", DataType::Utf8, false),
        Field::new("file_hash", DataType::Utf8, false),
        Field::new("content_hash", DataType::UInt64, false),
        Field::new("model_id", DataType::Utf8, false),
        vector_field(dimension),
    ]))
}

fn vector_field(dimension: usize) -> Field {
    Field::new(
        "vector",
        DataType::FixedSizeList(Arc::new(Field::new("item", DataType::Float32, true)), dimension as i32),
        false,
    )
}

fn cache_table(dimension: usize) -> String {
    format!("embedding_cache_{dimension}")
}

fn vector_dimension(schema: &Schema) -> usize {
    match schema.field_with_name("vector").map(Field::data_type) {
        Ok(DataType::FixedSizeList(_, size)) => *size as usize,
        _ => 0,
    }
}

fn chunk_batch(model_id: &str, dimension: usize, rows: &[VectorRow]) -> Result<RecordBatch> {
    let columns: Vec<Arc<dyn Array>> = vec![
        Arc::new(StringArray::from_iter_values(rows.iter().map(|row| format!("{}#{}", row.path, row.ordinal)))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|row| row.path.as_str()))),
        Arc::new(UInt32Array::from_iter_values(rows.iter().map(|row| row.ordinal))),
        Arc::new(UInt32Array::from_iter_values(rows.iter().map(|row| row.start_byte))),
        Arc::new(UInt32Array::from_iter_values(rows.iter().map(|row| row.end_byte))),
        Arc::new(UInt32Array::from_iter_values(rows.iter().map(|row| row.start_line))),
        Arc::new(UInt32Array::from_iter_values(rows.iter().map(|row| row.end_line))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|row| row.symbol_path.as_str()))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|row| row.language.as_str()))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|row| row.file_hash.as_str()))),
        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|row| row.content_hash))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|_| model_id))),
        Arc::new(vectors_array(dimension, rows.iter().map(|row| row.vector.as_slice()))?),
    ];
    RecordBatch::try_new(chunks_schema(dimension), columns).map_err(|error| lance_error("chunk batch", error))
}

fn vectors_array<'a>(dimension: usize, vectors: impl Iterator<Item = &'a [f32]>) -> Result<FixedSizeListArray> {
    let mut values = Vec::new();
    for vector in vectors {
        if vector.len() != dimension {
            return Err(Error::InvalidArgument(format!(
                "vector of {} floats for a {dimension}-dimension table",
                vector.len()
            )));
        }
        values.extend_from_slice(vector);
    }
    FixedSizeListArray::try_new(
        Arc::new(Field::new("item", DataType::Float32, true)),
        dimension as i32,
        Arc::new(Float32Array::from(values)),
        None,
    )
    .map_err(|error| lance_error("vector array", error))
}

fn string_column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a StringArray> {
    batch
        .column_by_name(name)
        .and_then(|column| column.as_any().downcast_ref::<StringArray>())
        .ok_or_else(|| lance_error("read", format!("no Utf8 column {name}")))
}

fn u32_column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a UInt32Array> {
    batch
        .column_by_name(name)
        .and_then(|column| column.as_any().downcast_ref::<UInt32Array>())
        .ok_or_else(|| lance_error("read", format!("no UInt32 column {name}")))
}

fn vector_column(batch: &RecordBatch) -> Result<&FixedSizeListArray> {
    batch
        .column_by_name("vector")
        .and_then(|column| column.as_any().downcast_ref::<FixedSizeListArray>())
        .ok_or_else(|| lance_error("read", "no vector column"))
}

fn vector_at(vectors: &FixedSizeListArray, row: usize) -> Result<Vec<f32>> {
    let values = vectors.value(row);
    let floats = values
        .as_any()
        .downcast_ref::<Float32Array>()
        .ok_or_else(|| lance_error("read", "vector items are not Float32"))?;
    Ok(floats.values().to_vec())
}

/// `'a', 'b'` with single quotes doubled (SQL string literals).
fn sql_list(values: &[String]) -> String {
    values.iter().map(|value| format!("'{}'", escape(value))).collect::<Vec<_>>().join(", ")
}

fn escape(value: &str) -> String {
    value.replace('\'', "''")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(path: &str, ordinal: u32, vector: Vec<f32>) -> VectorRow {
        VectorRow {
            path: path.into(),
            ordinal,
            start_byte: ordinal * 10,
            end_byte: ordinal * 10 + 9,
            start_line: ordinal + 1,
            end_line: ordinal + 1,
            symbol_path: String::new(),
            language: "python".into(),
            file_hash: format!("hash-{path}"),
            content_hash: u64::from(ordinal),
            vector,
        }
    }

    #[test]
    fn replace_search_and_model_change() {
        let dir = tempfile::tempdir().unwrap();
        let store = VectorStore::open(dir.path()).unwrap();
        assert_eq!(store.state("m", 3).unwrap(), TableState::Missing);
        let rows = vec![
            row("a.py", 0, vec![1.0, 0.0, 0.0]),
            row("a.py", 1, vec![0.0, 1.0, 0.0]),
            row("it's.py", 0, vec![0.0, 0.0, 1.0]),
        ];
        store.replace_files("m", 3, &[], &rows).unwrap();
        let TableState::Files(files) = store.state("m", 3).unwrap() else { panic!("same model") };
        assert_eq!(files.len(), 2);
        assert_eq!(files["it's.py"], "hash-it's.py");

        let searcher = store.searcher().unwrap().unwrap();
        let hits = searcher.search(&[0.1, 0.9, 0.0], 2).unwrap();
        assert_eq!((hits[0].path.as_str(), hits[0].ordinal), ("a.py", 1));
        assert!(hits[0].distance < hits[1].distance);

        // Replacing a file (quote in its name) removes its old rows in one go.
        store.replace_files("m", 3, &["it's.py".into()], &[row("it's.py", 5, vec![0.0, 1.0, 0.0])]).unwrap();
        assert_eq!(store.len().unwrap(), 3);
        let report = store.optimize(1_000).unwrap();
        assert_eq!(report.rows, 3);
        assert!(!report.ann_index);
        assert_eq!(report.versions, 1, "old versions are pruned");

        // Another model or dimension is reported, never a schema error.
        assert!(matches!(store.state("other", 3).unwrap(), TableState::OtherModel { .. }));
        assert!(matches!(store.state("m", 4).unwrap(), TableState::OtherModel { dimension: 3, .. }));
        let wrong = store.searcher().unwrap().unwrap().search(&[1.0, 0.0], 1);
        assert!(wrong.is_err());
        store.reset().unwrap();
        assert_eq!(store.state("m", 4).unwrap(), TableState::Missing);
    }

    #[test]
    fn incremental_updates_keep_one_index_segment_and_one_fragment() {
        // Deterministic pseudo-random unit vectors.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut vector = || -> Vec<f32> {
            let mut raw = Vec::with_capacity(16);
            for _ in 0..16 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                raw.push((state % 2000) as f32 / 1000.0 - 1.0);
            }
            let norm = raw.iter().map(|x| x * x).sum::<f32>().sqrt();
            raw.into_iter().map(|x| x / norm).collect()
        };
        let dir = tempfile::tempdir().unwrap();
        let store = VectorStore::open(dir.path()).unwrap();
        let mut rows = Vec::new();
        for index in 0..1200 {
            rows.push(row(&format!("f{}.py", index / 20), index % 20, vector()));
        }
        store.replace_files("m", 16, &[], &rows).unwrap();
        let report = store.optimize(500).unwrap();
        assert!(report.ann_index, "{report:?}");
        // Five runs that each re-embed three files.
        let mut last = Vec::new();
        for run in 0..5 {
            let paths: Vec<String> = (0..3).map(|file| format!("f{}.py", run * 3 + file)).collect();
            last.clear();
            for path in &paths {
                for ordinal in 0..20 {
                    last.push(row(path, ordinal, vector()));
                }
            }
            store.replace_files("m", 16, &paths, &last).unwrap();
            store.optimize(500).unwrap();
        }
        let health = store.health().unwrap();
        assert_eq!(health.rows, 1200, "{health:?}");
        assert_eq!(health.unindexed_rows, 0, "every row is in the index: {health:?}");
        assert_eq!(health.index_segments, 1, "delta segments are merged: {health:?}");
        assert_eq!(health.fragments, 1, "fragments are compacted: {health:?}");
        // The newest rows are found through the index.
        let searcher = store.searcher().unwrap().unwrap();
        let hits = searcher.search(&last[7].vector, 5).unwrap();
        assert_eq!((hits[0].path.as_str(), hits[0].ordinal), (last[7].path.as_str(), 7), "{hits:?}");
    }

    #[test]
    fn cache_round_trip_is_keyed_by_model() {
        let dir = tempfile::tempdir().unwrap();
        let store = VectorStore::open(dir.path()).unwrap();
        store.cache_put("m", 2, &[("k1".into(), vec![1.0, 0.0]), ("k2".into(), vec![0.0, 1.0])]).unwrap();
        store.cache_put("m", 2, &[("k3".into(), vec![0.5, 0.5])]).unwrap();
        let found = store.cache_get("m", 2, &["k1".into(), "k3".into(), "k9".into()]).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found["k3"], vec![0.5, 0.5]);
        assert!(store.cache_get("other", 2, &["k1".into()]).unwrap().is_empty());
    }
}
