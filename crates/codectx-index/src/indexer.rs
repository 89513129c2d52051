use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use std::sync::Arc;

use codectx_core::{
    EmbedConfig, EmbedStats, Error, FileRecord, IndexConfig, IndexProgress, IndexStats, Language, ParsedFile, Result,
    SecretRules, SecretsConfig, INDEX_FORMAT_VERSION,
};
use codectx_embed::Embedder;
use codectx_syntax::{ChunkOptions, FileSet};
use codectx_text::{ChunkDoc, TextIndex, TextWriter};
use rayon::prelude::*;

use crate::store::{self, FileEntry, GenerationDir, Manifest, StoreData};
use crate::walk::{self, WalkedFile};

/// Bytes sniffed for a NUL to call a file binary (as git and ripgrep do).
const BINARY_SNIFF_BYTES: usize = 8 * 1024;
/// Memory of the tantivy writer, in bytes, shared by its indexing threads.
const WRITER_HEAP_BYTES: usize = 128 * 1024 * 1024;

/// Builds and updates the index of one repository.
///
/// Runs are incremental: a file whose blake3 content hash is unchanged since the
/// current generation is not re-read by the parser and its chunks are not
/// re-written. An unchanged repository produces no new generation at all. Only one
/// run per index folder at a time ([`Error::Busy`] otherwise, via a lock file).
#[derive(Clone)]
pub struct Indexer {
    root: PathBuf,
    index_dir: PathBuf,
    config: IndexConfig,
    /// `config.secrets`, compiled: applied to the text sent to the embedder.
    secrets: SecretRules,
    embedder: Option<(Arc<dyn Embedder>, EmbedConfig)>,
    /// Build the next generation from scratch, reusing nothing of the current one.
    rebuild: bool,
}

impl std::fmt::Debug for Indexer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Indexer")
            .field("root", &self.root)
            .field("index_dir", &self.index_dir)
            .field("embedder", &self.embedder.as_ref().map(|(embedder, _)| embedder.model_id().to_string()))
            .finish()
    }
}

enum Scanned {
    /// Unchanged since the previous generation: reuse its entry (index into the old files).
    Reused(usize),
    /// New or changed: parse it.
    Changed { walked: WalkedFile, hash: String },
    /// Binary (NUL in the first 8 KiB).
    Binary,
    /// Could not be read.
    Unreadable,
}

impl Indexer {
    /// An indexer for the repository at `root`, writing to `index_dir` (default
    /// `<root>/.codectx`).
    ///
    /// Errors: [`Error::PathNotFound`] / [`Error::NotADirectory`] for a bad root,
    /// [`Error::InvalidArgument`] for an invalid `config.secrets` glob or pattern.
    pub fn new(root: &Path, index_dir: Option<&Path>, config: IndexConfig) -> Result<Self> {
        let metadata = std::fs::metadata(root).map_err(|_| Error::PathNotFound(root.to_path_buf()))?;
        if !metadata.is_dir() {
            return Err(Error::NotADirectory(root.to_path_buf()));
        }
        let root = root.canonicalize().map_err(|error| Error::io(root, error))?;
        let index_dir = match index_dir {
            Some(dir) => dir.to_path_buf(),
            None => root.join(codectx_core::DEFAULT_INDEX_DIR),
        };
        let secrets = SecretRules::new(&config.secrets).map_err(Error::InvalidArgument)?;
        Ok(Indexer { root, index_dir, config, secrets, embedder: None, rebuild: false })
    }

    /// Builds the next generation from scratch: every file is parsed again and
    /// the text index is written anew instead of forked from the current one.
    /// The repair for damage that opening the index does not catch (a truncated
    /// segment file: forking would hard-link the damaged file into the new
    /// generation). Generation numbers keep counting up.
    pub fn rebuild(mut self, rebuild: bool) -> Self {
        self.rebuild = rebuild;
        self
    }

    /// Adds the embedding phase: after each run, the vector table is brought in line
    /// with the new generation by `embedder` ([`crate::vectors::sync_vectors`]).
    pub fn with_embedder(mut self, embedder: Arc<dyn Embedder>, config: EmbedConfig) -> Self {
        self.embedder = Some((embedder, config));
        self
    }

    /// The repository root (canonical).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The index folder.
    pub fn index_dir(&self) -> &Path {
        &self.index_dir
    }

    /// Indexes the repository, calling `progress` from worker threads as work
    /// advances (phases `walk`, `parse`, `write`, `commit`).
    ///
    /// Returns the counters of the run; `stats.generation` is the generation now
    /// current. Errors: [`Error::Busy`] when another run holds the lock,
    /// [`Error::Io`] when the index folder cannot be written (the previous
    /// generation stays current), [`Error::InvalidArgument`] for a bad glob.
    pub fn run(&self, progress: &(dyn Fn(&IndexProgress) + Sync)) -> Result<IndexStats> {
        match self.config.threads {
            0 => self.run_locked(progress),
            threads => rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .map_err(|error| Error::Internal(format!("thread pool: {error}")))?
                .install(|| self.run_locked(progress)),
        }
    }

    fn run_locked(&self, progress: &(dyn Fn(&IndexProgress) + Sync)) -> Result<IndexStats> {
        let started = Instant::now();
        std::fs::create_dir_all(&self.index_dir).map_err(|error| Error::io(&self.index_dir, error))?;
        let lock_path = self.index_dir.join(store::LOCK_FILE);
        let lock = File::create(&lock_path).map_err(|error| Error::io(&lock_path, error))?;
        if lock.try_lock().is_err() {
            return Err(Error::Busy(self.root.display().to_string()));
        }

        let previous = self.load_previous();
        let parse_options = self.chunk_options();
        let options_digest = format!(
            "v{INDEX_FORMAT_VERSION} tokens={} window={}",
            parse_options.chunk_tokens, parse_options.window_lines
        );
        let reusable = previous.as_ref().filter(|(_, manifest, _)| manifest.parse_options == options_digest);
        if let Some((number, ..)) = &previous {
            store::prune(&self.index_dir, number.saturating_sub(1));
        }

        // 1. Walk.
        report(progress, "walk", 0, 0);
        let (walked, counters) = walk::walk(&self.root, &self.index_dir, &self.config)?;
        report(progress, "walk", walked.len() as u64, walked.len() as u64);

        // 2. Read and hash every file; decide what to re-parse.
        let old_by_path: HashMap<&str, usize> = reusable
            .map(|(_, _, data)| {
                data.files.iter().enumerate().map(|(index, entry)| (entry.record.path.as_str(), index)).collect()
            })
            .unwrap_or_default();
        let old_files: &[FileEntry] = reusable.map(|(_, _, data)| data.files.as_slice()).unwrap_or(&[]);
        let hashed = AtomicU64::new(0);
        let total = walked.len() as u64;
        let scanned: Vec<Scanned> = walked
            .into_par_iter()
            .map(|walked| {
                let scanned = scan(walked, &self.root, &old_by_path, old_files);
                tick(progress, "hash", &hashed, total);
                scanned
            })
            .collect();

        let mut stats = IndexStats {
            skipped_too_large: counters.too_large.load(Ordering::Relaxed),
            skipped_secret: counters.secret.load(Ordering::Relaxed),
            skipped_outside_root: counters.outside_root.load(Ordering::Relaxed),
            unreadable: counters.errors.load(Ordering::Relaxed),
            ..IndexStats::default()
        };
        let mut kept_paths: HashSet<&str> = HashSet::new();
        let mut changed = Vec::new();
        let mut reused = Vec::new();
        for item in scanned {
            match item {
                Scanned::Reused(index) => {
                    kept_paths.insert(old_files[index].record.path.as_str());
                    reused.push(index);
                }
                Scanned::Changed { walked, hash } => changed.push((walked, hash)),
                Scanned::Binary => stats.skipped_binary += 1,
                Scanned::Unreadable => stats.unreadable += 1,
            }
        }
        let removed: Vec<&str> = old_files
            .iter()
            .map(|entry| entry.record.path.as_str())
            .filter(|path| !kept_paths.contains(path))
            .collect();
        stats.reused = reused.len() as u64;
        // A changed file's old entry is in `removed` too (its chunks are replaced);
        // only paths that are gone for good count as removed.
        let changed_paths: HashSet<&str> = changed.iter().map(|(walked, _)| walked.rel_path.as_str()).collect();
        stats.removed = removed.iter().filter(|path| !changed_paths.contains(*path)).count() as u64;

        if let Some((number, manifest, data)) = reusable {
            // New secret rules need a new manifest (readers redact with the rules it records).
            if changed.is_empty() && removed.is_empty() && manifest.secrets == self.config.secrets {
                // Nothing changed: the current generation stays; no new one is
                // written, unless HEAD moved (a commit, a checkout of identical
                // files): then the same files are published under the new commit,
                // so that the index says which commit it is at.
                let mut stats = manifest.stats.clone();
                stats.parsed = 0;
                stats.reused = stats.files;
                stats.removed = 0;
                stats.generation = *number;
                let head = crate::git_head(&self.root).unwrap_or_default();
                if head != manifest.commit {
                    stats.generation = number + 1;
                    stats.elapsed_ms = started.elapsed().as_millis() as u64;
                    let relabelled = Manifest {
                        generation: stats.generation,
                        commit: head,
                        stats: stats.clone(),
                        created_unix: codectx_core::unix_now(),
                        ..manifest.clone()
                    };
                    report(progress, "commit", 0, 1);
                    let from = GenerationDir { dir: self.index_dir.join(store::generation_name(*number)) };
                    store::relabel_generation(&self.index_dir, &from, stats.generation, &relabelled)?;
                    store::prune(&self.index_dir, *number);
                }
                stats.embeddings = self.embed(&data.files, stats.generation, progress);
                stats.elapsed_ms = started.elapsed().as_millis() as u64;
                report(progress, "done", stats.files, stats.files);
                return Ok(stats);
            }
        }

        // 3. Fork or create the text index of the new generation.
        let number = previous.as_ref().map_or(1, |(number, ..)| number + 1);
        let tmp = self.index_dir.join(format!("tmp-{}", store::generation_name(number)));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|error| Error::io(&tmp, error))?;
        }
        std::fs::create_dir_all(&tmp).map_err(|error| Error::io(&tmp, error))?;
        let generation = GenerationDir { dir: tmp.clone() };
        let text = match reusable {
            Some((previous_number, ..)) => {
                let source =
                    GenerationDir { dir: self.index_dir.join(store::generation_name(*previous_number)) }.text();
                TextIndex::fork(&source, &generation.text())?;
                TextIndex::open(&generation.text())?
            }
            None => TextIndex::create(&generation.text())?,
        };
        let writer = text.writer(WRITER_HEAP_BYTES, rayon::current_num_threads().max(1))?;
        for path in &removed {
            writer.delete_path(path);
        }

        // 4. Parse the changed files in parallel, writing their chunks as we go.
        let parsed_count = AtomicU64::new(0);
        let to_parse = changed.len() as u64;
        let parsed: Vec<Parsed> = changed
            .into_par_iter()
            .map(|(walked, hash)| {
                let entry = self.parse_one(&walked, hash, &parse_options, &writer);
                tick(progress, "parse", &parsed_count, to_parse);
                entry
            })
            .collect::<Result<_>>()?;

        let mut files: Vec<FileEntry> = Vec::with_capacity(reused.len() + parsed.len());
        files.extend(reused.iter().map(|&index| old_files[index].clone()));
        for outcome in parsed {
            match outcome {
                Parsed::Indexed(entry) => {
                    stats.parsed += 1;
                    stats.invalid_utf8 += u64::from(entry.record.lossy);
                    stats.parse_timeouts += u64::from(entry.parsed.timed_out);
                    files.push(entry);
                }
                Parsed::SkippedInvalidUtf8 => stats.invalid_utf8 += 1,
                Parsed::Vanished => stats.unreadable += 1,
            }
        }
        let reparsed_from = reused.len();
        let reparsed_paths: HashSet<String> =
            files[reparsed_from..].iter().map(|entry| entry.record.path.clone()).collect();
        files.sort_by(|a, b| a.record.path.cmp(&b.record.path));

        // 5. Resolve every file's imports against the new file set (a new file can
        //    make an old import resolve).
        report(progress, "resolve", 0, files.len() as u64);
        let file_set = FileSet::new(files.iter().map(|entry| entry.record.path.clone()));
        files.par_iter_mut().for_each(|entry| {
            for import in &mut entry.parsed.imports {
                import.resolved = None;
            }
            codectx_syntax::resolve_imports(
                entry.record.language,
                &entry.record.path,
                &mut entry.parsed.imports,
                &file_set,
            );
        });

        // 6. Bring the dependency graph's stored edges up to date: only the files
        //    whose edges can have changed are re-resolved.
        report(progress, "graph", 0, files.len() as u64);
        let reparsed: Vec<bool> = files.iter().map(|entry| reparsed_paths.contains(&entry.record.path)).collect();
        stats.graph_updated = crate::graph::update_dependencies(&mut files, &reparsed, old_files) as u64;

        // 7. Commit the text index, write the store, publish.
        report(progress, "commit", 0, 1);
        writer.commit()?;
        crate::failpoint("after-text-commit");
        for entry in &files {
            stats.files += 1;
            stats.bytes += entry.record.size;
            stats.symbols += entry.parsed.symbols.len() as u64;
            stats.chunks += entry.parsed.chunks.len() as u64;
            stats.imports += entry.parsed.imports.len() as u64;
            stats.resolved_imports +=
                entry.parsed.imports.iter().filter(|import| import.resolved.is_some()).count() as u64;
        }
        stats.generation = number;
        stats.elapsed_ms = started.elapsed().as_millis() as u64;
        let manifest = Manifest {
            format_version: INDEX_FORMAT_VERSION,
            generation: number,
            fingerprint: fingerprint(&files),
            commit: crate::git_head(&self.root).unwrap_or_default(),
            parse_options: options_digest,
            stats: stats.clone(),
            created_unix: codectx_core::unix_now(),
            secrets: self.config.secrets.clone(),
        };
        drop(previous);
        let data = StoreData { files };
        store::write_generation_files(&generation, &data, &manifest)?;
        store::publish_generation(&self.index_dir, &tmp, number)?;
        store::prune(&self.index_dir, number.saturating_sub(1));
        // Embeddings come after the switch: the new generation answers lexical
        // queries at once, and its vector hits fill in as the table catches up.
        stats.embeddings = self.embed(&data.files, number, progress);
        stats.elapsed_ms = started.elapsed().as_millis() as u64;
        report(progress, "done", stats.files, stats.files);
        drop(lock);
        Ok(stats)
    }

    /// The embedding phase, if configured. A failure is reported in the stats (and
    /// the log), not as an error: the lexical generation is already published.
    fn embed(
        &self,
        files: &[FileEntry],
        generation: u64,
        progress: &(dyn Fn(&IndexProgress) + Sync),
    ) -> Option<EmbedStats> {
        let (embedder, _) = self.embedder.as_ref()?;
        let started = Instant::now();
        Some(self.embed_files(files, generation, progress).unwrap_or_else(|error| {
            tracing::warn!(%error, "embedding phase failed; the lexical index is up to date");
            EmbedStats {
                model_id: embedder.model_id().to_string(),
                dimension: embedder.dimension() as u64,
                elapsed_ms: started.elapsed().as_millis() as u64,
                error: Some(error.to_string()),
                ..EmbedStats::default()
            }
        }))
    }

    /// [`crate::vectors::sync_vectors`] for `files` of `generation`, holding the
    /// embedding lock ([`store::EMBED_LOCK_FILE`]; waits for another process's
    /// embedding run of the same index to finish first, so that one writer at a
    /// time appends to the table).
    fn embed_files(
        &self,
        files: &[FileEntry],
        generation: u64,
        progress: &(dyn Fn(&IndexProgress) + Sync),
    ) -> Result<EmbedStats> {
        let Some((embedder, config)) = self.embedder.as_ref() else {
            return Err(Error::Embedding("no embedder configured ([embed] provider = \"none\")".into()));
        };
        let lock_path = self.index_dir.join(store::EMBED_LOCK_FILE);
        let lock = File::create(&lock_path).map_err(|error| Error::io(&lock_path, error))?;
        lock.lock().map_err(|error| Error::io(&lock_path, error))?;
        report(progress, "embed", 0, 0);
        let stats = crate::vectors::sync_vectors(
            &self.index_dir,
            &self.root,
            files,
            generation,
            embedder.as_ref(),
            config,
            &self.secrets,
            &mut |step| report(progress, "embed", step.done as u64, step.total as u64),
        );
        drop(lock);
        stats
    }

    /// The embedding phase alone, for the generation now current (`codectx embed`,
    /// and the background run that `codectx index` starts): brings the vector
    /// table in line with it, and again with a newer generation published
    /// meanwhile (up to 3 rounds), so that it ends current. Waits for another
    /// embedding run of the same index to finish first. Progress goes out as the
    /// phase `embed`.
    ///
    /// Errors: [`Error::NoIndex`] before the first `codectx index`; an index of
    /// another format or a damaged one as [`IndexSnapshot::open`] reports them;
    /// [`Error::Embedding`] when no embedder is configured or the model fails;
    /// [`Error::Internal`] when LanceDB fails. What was appended before a failure
    /// stays, and the next run resumes from it.
    pub fn embed_current(&self, progress: &(dyn Fn(&IndexProgress) + Sync)) -> Result<EmbedStats> {
        let mut last = None;
        for _ in 0..3 {
            let Some((number, generation)) = store::current_generation(&self.index_dir)? else {
                return Err(Error::NoIndex(self.index_dir.clone()));
            };
            if last.as_ref().is_some_and(|(done, _): &(u64, EmbedStats)| *done == number) {
                break;
            }
            // An index of another format version is refused here.
            store::read_manifest(&self.index_dir, &generation)?;
            let data = store::read_store(&self.index_dir, &generation)?;
            let stats = self.embed_files(&data.files, number, progress)?;
            last = Some((number, stats));
        }
        Ok(last.map(|(_, stats)| stats).unwrap_or_default())
    }

    fn chunk_options(&self) -> ChunkOptions {
        ChunkOptions {
            chunk_tokens: self.config.chunk_tokens.max(32),
            window_lines: self.config.window_lines.max(5),
            parse_timeout: Duration::from_millis(self.config.parse_timeout_ms.max(1)),
        }
    }

    /// The current generation, if readable with this format. An old or corrupt
    /// index is rebuilt from scratch (and says so in the log).
    fn load_previous(&self) -> Option<(u64, Manifest, StoreData)> {
        let load = || -> Result<Option<(u64, Manifest, StoreData)>> {
            let Some((number, generation)) = store::current_generation(&self.index_dir)? else {
                return Ok(None);
            };

            let manifest = store::read_manifest(&self.index_dir, &generation)?;
            let data = store::read_store(&self.index_dir, &generation)?;
            if TextIndex::open(&generation.text()).is_err() {
                return Err(Error::CorruptIndex { path: self.index_dir.clone(), reason: "text index".into() });
            }
            Ok(Some((number, manifest, data)))
        };
        if self.rebuild {
            tracing::info!(index = %self.index_dir.display(), "rebuilding the index from scratch, as asked");
        } else {
            match load() {
                Ok(previous) => return previous,
                Err(error) => tracing::warn!(%error, "previous index unusable; rebuilding from scratch"),
            }
        }
        // Keep numbering above every generation on disk (`CURRENT` may be the
        // broken part), so that a broken one is never reused.
        store::highest_generation(&self.index_dir).map(|number| (number, broken_manifest(), StoreData::default()))
    }

    /// Reads, decodes, parses and writes one changed file.
    fn parse_one(
        &self,
        walked: &WalkedFile,
        hash: String,
        options: &ChunkOptions,
        writer: &TextWriter,
    ) -> Result<Parsed> {
        let Ok(bytes) = walk::read_confined(&walked.abs_path, &self.root) else {
            return Ok(Parsed::Vanished);
        };
        let (source, lossy) = match String::from_utf8(bytes) {
            Ok(text) => (text, false),
            Err(error) => {
                if self.config.skip_invalid_utf8 {
                    return Ok(Parsed::SkippedInvalidUtf8);
                }
                (String::from_utf8_lossy(error.as_bytes()).into_owned(), true)
            }
        };
        let language = Language::from_path(&walked.rel_path);
        let mut parsed = codectx_syntax::parse_file(&walked.rel_path, language, &source, options);
        for chunk in &mut parsed.chunks {
            let text = source.get(chunk.span.start_byte as usize..chunk.span.end_byte as usize).unwrap_or_default();
            let digest = blake3::hash(text.as_bytes());
            chunk.content_hash = u64::from_le_bytes(digest.as_bytes()[..8].try_into().expect("8 bytes"));
        }
        // The file's old chunks were deleted with the other paths that left the
        // previous generation (a changed file is among them).
        write_chunks(writer, &walked.rel_path, language, &source, &parsed)?;
        let record = FileRecord { path: walked.rel_path.clone(), language, hash, size: source.len() as u64, lossy };
        Ok(Parsed::Indexed(FileEntry { record, parsed, dependencies: Vec::new() }))
    }
}

/// What became of a changed file.
enum Parsed {
    Indexed(FileEntry),
    SkippedInvalidUtf8,
    Vanished,
}

/// A manifest that matches no parse options, so nothing of a broken index is reused.
fn broken_manifest() -> Manifest {
    Manifest {
        format_version: INDEX_FORMAT_VERSION,
        generation: 0,
        fingerprint: String::new(),
        commit: String::new(),
        parse_options: "broken".into(),
        stats: IndexStats::default(),
        created_unix: 0,
        secrets: SecretsConfig::default(),
    }
}

/// Reads and hashes one file. Changed files are read again when parsed: keeping
/// their bytes from here would hold a whole cold repository in memory at once
/// (hundreds of MB), while the second read comes from the page cache.
fn scan(walked: WalkedFile, root: &Path, old_by_path: &HashMap<&str, usize>, old_files: &[FileEntry]) -> Scanned {
    let Ok(bytes) = walk::read_confined(&walked.abs_path, root) else {
        return Scanned::Unreadable;
    };
    let sniff = &bytes[..bytes.len().min(BINARY_SNIFF_BYTES)];
    if memchr::memchr(0, sniff).is_some() {
        return Scanned::Binary;
    }
    let hash = blake3::hash(&bytes).to_hex().to_string();
    if let Some(&index) = old_by_path.get(walked.rel_path.as_str()) {
        if old_files[index].record.hash == hash {
            return Scanned::Reused(index);
        }
    }
    Scanned::Changed { walked, hash }
}

/// Adds one document per chunk to the text index.
fn write_chunks(writer: &TextWriter, path: &str, language: Language, source: &str, parsed: &ParsedFile) -> Result<()> {
    let mut names = Vec::new();
    let mut qualified = Vec::new();
    for (ordinal, chunk) in parsed.chunks.iter().enumerate() {
        names.clear();
        qualified.clear();
        let start = chunk.span.start_byte as usize;
        let end = (chunk.span.end_byte as usize).min(source.len());
        let content = source.get(start..end).unwrap_or("");
        for symbol in &parsed.symbols {
            let at = symbol.name_span.start_byte;
            if at >= chunk.span.start_byte && at < chunk.span.end_byte {
                names.push(symbol.name.clone());
                qualified.push(symbol.qualified_name.clone());
            }
        }
        if names.is_empty() && !chunk.symbol_path.is_empty() {
            qualified.push(chunk.symbol_path.clone());
        }
        let own = chunk.symbol.and_then(|index| parsed.symbols.get(index as usize));
        let doc = ChunkDoc {
            path,
            ordinal: ordinal as u32,
            language,
            symbols: &names,
            qualified: &qualified,
            signature: own.map_or("", |symbol| symbol.signature.as_str()),
            doc: own.and_then(|symbol| symbol.doc.as_deref()).unwrap_or(""),
            content,
        };
        writer.add(&doc)?;
    }
    Ok(())
}

/// blake3 over the sorted `path\0hash\n` lines, first 16 hex digits.
fn fingerprint(files: &[FileEntry]) -> String {
    let mut hasher = blake3::Hasher::new();
    for entry in files {
        hasher.update(entry.record.path.as_bytes());
        hasher.update(b"\0");
        hasher.update(entry.record.hash.as_bytes());
        hasher.update(b"\n");
    }
    hasher.finalize().to_hex()[..16].to_string()
}

fn report(progress: &(dyn Fn(&IndexProgress) + Sync), phase: &str, done: u64, total: u64) {
    progress(&IndexProgress { phase: phase.to_string(), done, total });
}

/// Counts one item and reports every 64 items (and at the end).
fn tick(progress: &(dyn Fn(&IndexProgress) + Sync), phase: &str, counter: &AtomicU64, total: u64) {
    let done = counter.fetch_add(1, Ordering::Relaxed) + 1;
    if done.is_multiple_of(64) || done == total {
        report(progress, phase, done, total);
    }
}
