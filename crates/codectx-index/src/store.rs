//! On-disk layout of an index and its generations.
//!
//! ```text
//! <index_dir>/
//!   CURRENT            "gen-000007\n" — the generation readers open; replaced by rename
//!   index.lock         held (flock) by the one process writing a new generation
//!   gen-000007/
//!     manifest.json    format version, generation, fingerprint, commit, stats, secret rules
//!     store.bin        postcard: every file's record, symbols, chunks and imports
//!     text/            tantivy index of the chunks (BM25, stored chunk text)
//!   tmp-gen-000008/    a generation being built; never read; removed if stale
//! ```
//!
//! A generation is built in `tmp-gen-N`, fsynced, renamed to `gen-N`, and only then
//! is `CURRENT` replaced (write `CURRENT.tmp`, fsync, rename, fsync the folder). A
//! crash at any point leaves `CURRENT` naming a complete generation, as zoekt swaps
//! immutable shards (zoekt `doc/design.md`).

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use codectx_core::{Error, FileRecord, IndexStats, ParsedFile, Result, SecretsConfig, INDEX_FORMAT_VERSION};
use serde::{Deserialize, Serialize};

/// Name of the pointer file.
pub const CURRENT_FILE: &str = "CURRENT";
/// Name of the writer lock file.
pub const LOCK_FILE: &str = "index.lock";
/// Held by the embedding phase (one writer of the vector table at a time; a
/// second embedding run of the same index waits for it).
pub const EMBED_LOCK_FILE: &str = "embed.lock";
const MANIFEST_FILE: &str = "manifest.json";
const STORE_FILE: &str = "store.bin";
const TEXT_DIR: &str = "text";

/// One stored out-edge of a file: the file it depends on (repository-relative
/// path) and the edge's weight (imports and test links 1 each; a resolved reference
/// 1, or 0.5 split over up to `graph::MAX_AMBIGUOUS_DEFINITIONS` candidates; summed per target).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEdge {
    /// Path of the file depended on.
    pub target: String,
    /// Sum of the edge weights to it (> 0).
    pub weight: f32,
}

/// One file of a generation: its manifest record and what the parser extracted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path, language, content hash, size.
    pub record: FileRecord,
    /// Symbols, chunks and imports (imports resolved against the generation's file set).
    pub parsed: ParsedFile,
    /// The file's out-edges in the dependency graph, by target path, in path order
    /// (resolved by `graph::update_dependencies`); kept across generations while still valid.
    pub dependencies: Vec<FileEdge>,
}

/// The metadata of a generation, as JSON (human-readable on purpose).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`INDEX_FORMAT_VERSION`] of the writer.
    pub format_version: u32,
    /// Generation number (1, 2, ...).
    pub generation: u64,
    /// Content fingerprint: blake3 over sorted `path\0hash\n`, first 16 hex digits.
    pub fingerprint: String,
    /// Git `HEAD` commit when indexed, or empty.
    pub commit: String,
    /// Digest of the parse options (chunk cap, window size); a change re-parses all files.
    pub parse_options: String,
    /// Counters of the run that wrote it.
    pub stats: IndexStats,
    /// Seconds since the Unix epoch when written.
    pub created_unix: u64,
    /// The secret filter the generation was built with (`[secrets]`): its path
    /// globs decided which files are in it, and readers redact chunk text, symbol
    /// signatures and docs with its patterns ([`crate::IndexSnapshot::secrets`]).
    /// Absent from manifests of older versions: the built-in rules.
    #[serde(default)]
    pub secrets: SecretsConfig,
}

/// The serialized body of a generation.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct StoreData {
    /// Files sorted by path.
    pub files: Vec<FileEntry>,
}

/// Paths of one generation's folder.
#[derive(Debug, Clone)]
pub struct GenerationDir {
    /// The folder.
    pub dir: PathBuf,
}

impl GenerationDir {
    /// `manifest.json`.
    pub fn manifest(&self) -> PathBuf {
        self.dir.join(MANIFEST_FILE)
    }
    /// `store.bin`.
    pub fn store(&self) -> PathBuf {
        self.dir.join(STORE_FILE)
    }
    /// `text/` (tantivy).
    pub fn text(&self) -> PathBuf {
        self.dir.join(TEXT_DIR)
    }
}

/// Folder name of generation `n`.
pub fn generation_name(generation: u64) -> String {
    format!("gen-{generation:06}")
}

/// Reads `CURRENT`: the current generation's folder and number. `Ok(None)` when
/// there is no index; [`Error::CorruptIndex`] when `CURRENT` is unreadable or names a
/// missing folder.
pub fn current_generation(index_dir: &Path) -> Result<Option<(u64, GenerationDir)>> {
    let pointer = index_dir.join(CURRENT_FILE);
    let text = match std::fs::read_to_string(&pointer) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(Error::io(pointer, error)),
    };
    let name = text.trim();
    let number = name
        .strip_prefix("gen-")
        .and_then(|digits| digits.parse::<u64>().ok())
        .ok_or_else(|| corrupt(index_dir, format!("CURRENT holds {name:?}")))?;
    let dir = index_dir.join(name);
    if !dir.is_dir() {
        return Err(corrupt(index_dir, format!("CURRENT names {name}, which is missing")));
    }
    Ok(Some((number, GenerationDir { dir })))
}

/// The highest generation number among the `gen-N` folders of `index_dir`,
/// whatever `CURRENT` says (it may be damaged): where a rebuild goes on
/// counting from, so that generation numbers never go back.
pub fn highest_generation(index_dir: &Path) -> Option<u64> {
    std::fs::read_dir(index_dir)
        .ok()?
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.strip_prefix("gen-")?.parse::<u64>().ok())
        .max()
}

/// Reads and checks a generation's manifest: [`Error::IndexVersion`] on a format
/// mismatch, [`Error::CorruptIndex`] if unreadable.
pub fn read_manifest(index_dir: &Path, generation: &GenerationDir) -> Result<Manifest> {
    let path = generation.manifest();
    let bytes = std::fs::read(&path).map_err(|error| corrupt(index_dir, format!("{}: {error}", path.display())))?;
    // Read the version alone first, so that an older layout is reported as such
    // rather than as a parse error.
    #[derive(Deserialize)]
    struct VersionOnly {
        format_version: u32,
    }
    let version: VersionOnly =
        serde_json::from_slice(&bytes).map_err(|error| corrupt(index_dir, format!("manifest.json: {error}")))?;
    if version.format_version != INDEX_FORMAT_VERSION {
        return Err(Error::IndexVersion {
            path: index_dir.to_path_buf(),
            found: version.format_version,
            expected: INDEX_FORMAT_VERSION,
        });
    }
    serde_json::from_slice(&bytes).map_err(|error| corrupt(index_dir, format!("manifest.json: {error}")))
}

/// Reads `store.bin`.
pub fn read_store(index_dir: &Path, generation: &GenerationDir) -> Result<StoreData> {
    let path = generation.store();
    let file = File::open(&path).map_err(|error| corrupt(index_dir, format!("{}: {error}", path.display())))?;
    let mut bytes = Vec::new();
    BufReader::new(file)
        .read_to_end(&mut bytes)
        .map_err(|error| corrupt(index_dir, format!("{}: {error}", path.display())))?;
    postcard::from_bytes(&bytes).map_err(|error| corrupt(index_dir, format!("store.bin: {error}")))
}

/// Writes `store.bin` and `manifest.json` into a generation folder, fsynced.
pub fn write_generation_files(generation: &GenerationDir, store: &StoreData, manifest: &Manifest) -> Result<()> {
    // Streamed to the file: the store of a large repository is hundreds of MB, and
    // a second copy in memory would double the indexer's peak.
    let path = generation.store();
    let file = File::create(&path).map_err(|error| Error::io(&path, error))?;
    let mut writer = KeepError { inner: BufWriter::with_capacity(1 << 20, file), error: None };
    // postcard reports a failed write as "buffer full": report the I/O error itself
    // (a full disk, a file-size limit), with the path.
    if let Err(error) = postcard::to_io(store, &mut writer) {
        return Err(match writer.error.take() {
            Some(io) => Error::io(&path, io),
            None => Error::Internal(format!("serialize store: {error}")),
        });
    }
    let file = writer.inner.into_inner().map_err(|error| Error::io(&path, error.into_error()))?;
    file.sync_all().map_err(|error| Error::io(&path, error))?;
    let json =
        serde_json::to_vec_pretty(manifest).map_err(|error| Error::Internal(format!("serialize manifest: {error}")))?;
    write_synced(&generation.manifest(), &json)?;
    Ok(())
}

/// A writer that keeps the first I/O error of its inner writer (a serializer that
/// swallows it can then still be asked what failed).
struct KeepError<W> {
    inner: W,
    error: Option<std::io::Error>,
}

impl<W: Write> Write for KeepError<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write(buf).map_err(|error| self.keep(error))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush().map_err(|error| self.keep(error))
    }
}

impl<W> KeepError<W> {
    fn keep(&mut self, error: std::io::Error) -> std::io::Error {
        let copy = std::io::Error::new(error.kind(), error.to_string());
        self.error.get_or_insert(error);
        copy
    }
}

/// Makes `tmp` the generation `number` and points `CURRENT` at it, atomically:
/// fsync the files, rename the folder, write `CURRENT.tmp`, fsync, rename over
/// `CURRENT`, fsync the index folder.
pub fn publish_generation(index_dir: &Path, tmp: &Path, number: u64) -> Result<GenerationDir> {
    sync_tree(tmp)?;
    let name = generation_name(number);
    let dir = index_dir.join(&name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|error| Error::io(&dir, error))?;
    }
    std::fs::rename(tmp, &dir).map_err(|error| Error::io(&dir, error))?;
    crate::failpoint("before-switch");
    let pointer_tmp = index_dir.join("CURRENT.tmp");
    write_synced(&pointer_tmp, format!("{name}\n").as_bytes())?;
    let pointer = index_dir.join(CURRENT_FILE);
    std::fs::rename(&pointer_tmp, &pointer).map_err(|error| Error::io(&pointer, error))?;
    sync_dir(index_dir)?;
    Ok(GenerationDir { dir })
}

/// Publishes generation `number` with the files of generation `from` and a new
/// `manifest`: for a run that found no file changed but something recorded in the
/// manifest (the git commit) moved. The files are hard-linked (copied where links
/// are not possible: they are never modified in place), the manifest written,
/// and the folder published as by [`publish_generation`].
///
/// Errors: [`Error::Io`] when a file cannot be linked, copied or written (the
/// current generation stays current).
pub fn relabel_generation(index_dir: &Path, from: &GenerationDir, number: u64, manifest: &Manifest) -> Result<()> {
    let tmp = index_dir.join(format!("tmp-{}", generation_name(number)));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|error| Error::io(&tmp, error))?;
    }
    link_tree(&from.dir, &tmp)?;
    let generation = GenerationDir { dir: tmp.clone() };
    let manifest_path = generation.manifest();
    // A hard link shares the old manifest's bytes: replace the link, not its target.
    std::fs::remove_file(&manifest_path).map_err(|error| Error::io(&manifest_path, error))?;
    let json =
        serde_json::to_vec_pretty(manifest).map_err(|error| Error::Internal(format!("serialize manifest: {error}")))?;
    write_synced(&manifest_path, &json)?;
    publish_generation(index_dir, &tmp, number)?;
    Ok(())
}

/// Recreates the tree `from` at `to` with hard links to its files (copies where a
/// link fails, as across file systems).
fn link_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(|error| Error::io(to, error))?;
    let entries = std::fs::read_dir(from).map_err(|error| Error::io(from, error))?;
    for entry in entries {
        let entry = entry.map_err(|error| Error::io(from, error))?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().map_err(|error| Error::io(&source, error))?;
        if kind.is_dir() {
            link_tree(&source, &target)?;
        } else if std::fs::hard_link(&source, &target).is_err() {
            std::fs::copy(&source, &target).map_err(|error| Error::io(&target, error))?;
        }
    }
    Ok(())
}

/// Removes `tmp-gen-*` folders of interrupted runs and every generation older than
/// `keep_from` (the previous generation stays for readers that still have it open).
pub fn prune(index_dir: &Path, keep_from: u64) {
    let Ok(entries) = std::fs::read_dir(index_dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let stale = if name.starts_with("tmp-gen-") {
            true
        } else if let Some(number) = name.strip_prefix("gen-").and_then(|digits| digits.parse::<u64>().ok()) {
            number < keep_from
        } else {
            false
        };
        if stale {
            if let Err(error) = std::fs::remove_dir_all(entry.path()) {
                tracing::warn!(path = %entry.path().display(), %error, "could not remove an old generation");
            }
        }
    }
}

fn corrupt(index_dir: &Path, reason: String) -> Error {
    Error::CorruptIndex { path: index_dir.to_path_buf(), reason }
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let file = File::create(path).map_err(|error| Error::io(path, error))?;
    let mut writer = BufWriter::new(file);
    writer.write_all(bytes).map_err(|error| Error::io(path, error))?;
    let file = writer.into_inner().map_err(|error| Error::io(path, error.into_error()))?;
    file.sync_all().map_err(|error| Error::io(path, error))
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|handle| handle.sync_all()).map_err(|error| Error::io(dir, error))
}

/// fsyncs every file and folder under `dir`.
fn sync_tree(dir: &Path) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|error| Error::io(dir, error))?;
    for entry in entries {
        let entry = entry.map_err(|error| Error::io(dir, error))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(|error| Error::io(&path, error))?;
        if kind.is_dir() {
            sync_tree(&path)?;
        } else if kind.is_file() {
            File::open(&path).and_then(|handle| handle.sync_all()).map_err(|error| Error::io(&path, error))?;
        }
    }
    sync_dir(dir)
}
