use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use codectx_core::{Chunk, Error, Result, SecretRules, Symbol, VectorCoverage};
use codectx_text::TextIndex;

use crate::graph::FileGraph;
use crate::store::{self, FileEntry, Manifest};

/// A symbol of a snapshot: indexes of its file and of the symbol in that file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SymbolRef {
    /// Index into [`IndexSnapshot::files`].
    pub file: u32,
    /// Index into that file's `parsed.symbols`.
    pub symbol: u32,
}

/// One generation of an index, loaded for retrieval. Immutable: a new generation
/// is a new snapshot, so readers never see half an update.
///
/// Text leaves the index only through a snapshot, and a snapshot applies the
/// secret filter the generation was built with ([`IndexSnapshot::secrets`]):
/// [`IndexSnapshot::chunk_text`] is redacted, and so are the symbols' signatures
/// and docs and the chunks' container headers (at open), so that bundles, search
/// previews, reference lines and symbol answers never carry a matched secret.
pub struct IndexSnapshot {
    index_dir: PathBuf,
    generation: u64,
    manifest: Manifest,
    secrets: SecretRules,
    files: Vec<FileEntry>,
    by_path: HashMap<String, u32>,
    by_name: HashMap<String, Vec<SymbolRef>>,
    /// For each file, the (importing file, import index) pairs that resolve to it.
    imported_by: Vec<Vec<(u32, u32)>>,
    text: TextIndex,
    graph: std::sync::OnceLock<FileGraph>,
    referrers: std::sync::OnceLock<HashMap<String, Vec<(u32, u32)>>>,
    /// The vector table as last opened, with the progress record's stamp it was
    /// opened under: re-opened when the embedding phase has appended since.
    vectors: std::sync::Mutex<Option<(Option<u64>, Option<Arc<crate::VectorSearch>>)>>,
}

impl std::fmt::Debug for IndexSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexSnapshot")
            .field("index_dir", &self.index_dir)
            .field("generation", &self.generation)
            .field("files", &self.files.len())
            .finish()
    }
}

impl IndexSnapshot {
    /// Opens the current generation of the index in `index_dir`.
    ///
    /// Errors: [`Error::NoIndex`] when there is none, [`Error::IndexVersion`] when it
    /// was written by another format version, [`Error::CorruptIndex`] when a file of
    /// it is unreadable or its secret rules do not compile.
    pub fn open(index_dir: &Path) -> Result<IndexSnapshot> {
        let Some((generation, dir)) = store::current_generation(index_dir)? else {
            return Err(Error::NoIndex(index_dir.to_path_buf()));
        };
        let manifest = store::read_manifest(index_dir, &dir)?;
        let secrets = SecretRules::new(&manifest.secrets).map_err(|reason| Error::CorruptIndex {
            path: index_dir.to_path_buf(),
            reason: format!("manifest.json: {reason}"),
        })?;
        let data = store::read_store(index_dir, &dir)?;
        let text = TextIndex::open(&dir.text()).map_err(|error| Error::CorruptIndex {
            path: index_dir.to_path_buf(),
            reason: format!("text index: {error}"),
        })?;
        let mut files = data.files;
        // A generation written before the filter existed can hold excluded files.
        files.retain(|entry| !secrets.is_excluded(&entry.record.path));
        redact_parsed(&secrets, &mut files);
        let mut by_path = HashMap::with_capacity(files.len());
        let mut by_name: HashMap<String, Vec<SymbolRef>> = HashMap::new();
        for (file_index, entry) in files.iter().enumerate() {
            by_path.insert(entry.record.path.clone(), file_index as u32);
            for (symbol_index, symbol) in entry.parsed.symbols.iter().enumerate() {
                by_name
                    .entry(symbol.name.to_lowercase())
                    .or_default()
                    .push(SymbolRef { file: file_index as u32, symbol: symbol_index as u32 });
            }
        }
        let mut imported_by = vec![Vec::new(); files.len()];
        for (file_index, entry) in files.iter().enumerate() {
            for (import_index, import) in entry.parsed.imports.iter().enumerate() {
                if let Some(&target) = import.resolved.as_deref().and_then(|path| by_path.get(path)) {
                    imported_by[target as usize].push((file_index as u32, import_index as u32));
                }
            }
        }
        Ok(IndexSnapshot {
            index_dir: index_dir.to_path_buf(),
            generation,
            manifest,
            secrets,
            files,
            by_path,
            by_name,
            imported_by,
            text,
            graph: std::sync::OnceLock::new(),
            referrers: std::sync::OnceLock::new(),
            vectors: std::sync::Mutex::new(None),
        })
    }

    /// Generation number.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The index's vector table, or `None` when the index has no embeddings. Its
    /// hits are checked against this generation's chunks
    /// ([`crate::VectorSearch::nearest`]). Opened on first use, and opened again
    /// when the embedding phase has appended rows since (its progress record
    /// changed), so that a long-lived snapshot sees the vectors as they arrive.
    pub fn vectors(&self) -> Option<Arc<crate::VectorSearch>> {
        // The record's modification time, not its content: one `stat` per query.
        let stamp = std::fs::metadata(self.index_dir.join(crate::vectors::PROGRESS_FILE))
            .and_then(|metadata| metadata.modified())
            .ok()
            .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|since| since.as_nanos() as u64);
        let mut cached = self.vectors.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((opened_at, vectors)) = cached.as_ref() {
            if *opened_at == stamp {
                return vectors.clone();
            }
        }
        let vectors = match crate::VectorSearch::open(&self.index_dir) {
            Ok(vectors) => vectors.map(Arc::new),
            Err(error) => {
                tracing::warn!(%error, "vector table unreadable; answering without the vector signal");
                None
            }
        };
        *cached = Some((stamp, vectors.clone()));
        vectors
    }

    /// How many of this generation's chunks have a vector, from the embedding
    /// phase's progress record ([`crate::vectors::PROGRESS_FILE`]): exact when the
    /// record is about this generation; when it is about an older one (this
    /// generation's embedding has not started), what it counted, at most this
    /// generation's chunks, and never complete. `None` when the index has no
    /// embeddings (no record and no table). An index embedded before progress
    /// records existed counts as complete.
    pub fn vector_coverage(&self) -> Option<VectorCoverage> {
        let total = self.manifest.stats.chunks;
        match crate::vectors::read_progress(&self.index_dir) {
            Some(progress) if progress.generation == self.generation => {
                let embedded = if progress.complete { total } else { progress.embedded.min(total) };
                Some(VectorCoverage { embedded, total })
            }
            Some(progress) => Some(VectorCoverage { embedded: progress.embedded.min(total.saturating_sub(1)), total }),
            None if crate::VectorSearch::exists(&self.index_dir) => Some(VectorCoverage { embedded: total, total }),
            None => None,
        }
    }

    /// The index folder.
    pub fn index_dir(&self) -> &Path {
        &self.index_dir
    }

    /// The generation's manifest (fingerprint, commit, stats).
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The secret filter of this generation (the `[secrets]` rules it was built
    /// with), which [`IndexSnapshot::chunk_text`] applies.
    pub fn secrets(&self) -> &SecretRules {
        &self.secrets
    }

    /// Every file, sorted by path.
    pub fn files(&self) -> &[FileEntry] {
        &self.files
    }

    /// The file at a repository-relative path, with its index.
    pub fn file(&self, path: &str) -> Option<(u32, &FileEntry)> {
        let index = *self.by_path.get(path)?;
        Some((index, &self.files[index as usize]))
    }

    /// The file at an index. Panics on an index not from this snapshot.
    pub fn file_at(&self, index: u32) -> &FileEntry {
        &self.files[index as usize]
    }

    /// A symbol by reference.
    pub fn symbol(&self, reference: SymbolRef) -> &Symbol {
        &self.files[reference.file as usize].parsed.symbols[reference.symbol as usize]
    }

    /// A chunk by file index and ordinal, if it exists.
    pub fn chunk(&self, file: u32, ordinal: u32) -> Option<&Chunk> {
        self.files.get(file as usize)?.parsed.chunks.get(ordinal as usize)
    }

    /// Symbols whose bare name equals `name`, case-insensitively.
    pub fn symbols_named(&self, name: &str) -> &[SymbolRef] {
        self.by_name.get(&name.to_lowercase()).map_or(&[], Vec::as_slice)
    }

    /// Symbols matching `name`: a bare name, or a qualified name matched on
    /// whole segments from the end (`Session.get` matches `sessions.Session.get`
    /// and `Session.get`; `walk::Walker::new` matches itself). `.` and `::` are
    /// interchangeable separators.
    pub fn find_symbols(&self, name: &str) -> Vec<SymbolRef> {
        let wanted: Vec<&str> = split_qualified(name).collect();
        let Some(last) = wanted.last() else { return Vec::new() };
        self.symbols_named(last)
            .iter()
            .copied()
            .filter(|&reference| {
                let qualified: Vec<&str> = split_qualified(&self.symbol(reference).qualified_name).collect();
                qualified.len() >= wanted.len()
                    && qualified[qualified.len() - wanted.len()..]
                        .iter()
                        .zip(&wanted)
                        .all(|(have, want)| have.eq_ignore_ascii_case(want))
            })
            .collect()
    }

    /// `(importing file, import index)` pairs of the imports that resolve to `file`.
    pub fn imported_by(&self, file: u32) -> &[(u32, u32)] {
        self.imported_by.get(file as usize).map_or(&[], Vec::as_slice)
    }

    /// The file-level dependency graph (imports, resolved references, tests → tested
    /// files), built on first use and kept for the snapshot's lifetime.
    pub fn file_graph(&self) -> &FileGraph {
        self.graph.get_or_init(|| FileGraph::build(&self.files))
    }

    /// Chunks that reference `name` (an identifier used in them: a call, a type
    /// use), as `(file, ordinal)`, in path order. Built on first use.
    pub fn chunks_referencing(&self, name: &str) -> &[(u32, u32)] {
        let index = self.referrers.get_or_init(|| {
            let mut index: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
            for (file, entry) in self.files.iter().enumerate() {
                for (ordinal, chunk) in entry.parsed.chunks.iter().enumerate() {
                    for reference in &chunk.references {
                        index.entry(reference.clone()).or_default().push((file as u32, ordinal as u32));
                    }
                }
            }
            index
        });
        index.get(name).map_or(&[], Vec::as_slice)
    }

    /// The full-text index of this generation.
    pub fn text(&self) -> &TextIndex {
        &self.text
    }

    /// The text of a chunk, from the index (the repository may have changed
    /// since), with what the secret patterns match replaced by `[REDACTED <name>]`
    /// (line for line: the chunk's span still gives each line's number).
    pub fn chunk_text(&self, file: u32, ordinal: u32) -> Result<String> {
        let path = &self.files[file as usize].record.path;
        let mut text = self
            .text
            .chunk_text(path, ordinal)
            .map_err(|error| Error::CorruptIndex {
                path: self.index_dir.clone(),
                reason: format!("chunk text: {error}"),
            })?
            .ok_or_else(|| Error::CorruptIndex {
                path: self.index_dir.clone(),
                reason: format!("chunk {path}#{ordinal} missing from the text index"),
            })?;
        let redactions = self.secrets.redact_in_place(&mut text);
        if redactions > 0 {
            tracing::debug!(path = %path, ordinal, redactions, "secrets redacted from a chunk");
        }
        Ok(text)
    }
}

/// Redacts the text a snapshot hands out besides chunk text: symbol signatures
/// and docs, and chunk container headers.
fn redact_parsed(secrets: &SecretRules, files: &mut [crate::FileEntry]) {
    if !secrets.enabled() {
        return;
    }
    for entry in files {
        for symbol in &mut entry.parsed.symbols {
            secrets.redact_in_place(&mut symbol.signature);
            if let Some(doc) = &mut symbol.doc {
                secrets.redact_in_place(doc);
            }
        }
        for chunk in &mut entry.parsed.chunks {
            if let Some(header) = &mut chunk.context_header {
                secrets.redact_in_place(header);
            }
        }
    }
}

fn split_qualified(name: &str) -> impl Iterator<Item = &str> {
    name.split(['.', ':']).filter(|part| !part.is_empty())
}
