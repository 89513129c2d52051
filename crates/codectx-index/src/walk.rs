//! Parallel repository walk with `ignore` (the walker of ripgrep).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use codectx_core::{Error, IndexConfig, Result, SecretRules};
use ignore::overrides::OverrideBuilder;
use ignore::{WalkBuilder, WalkState};

/// A file the walk found, before reading it.
#[derive(Debug, Clone)]
pub struct WalkedFile {
    /// Repository-relative path with `/` separators.
    pub rel_path: String,
    /// Absolute path.
    pub abs_path: PathBuf,
    /// Size in bytes from the file's metadata.
    pub size: u64,
}

/// What the walk skipped, by reason.
#[derive(Debug, Default)]
pub struct WalkCounters {
    /// Files over the size cap.
    pub too_large: AtomicU64,
    /// Walk errors: symlink loops, unreadable directories, broken links.
    pub errors: AtomicU64,
    /// Files the secret filter excludes (`[secrets]`, [`SecretRules::excluded_by`]).
    pub secret: AtomicU64,
    /// Symbolic links (to a file or a folder) whose target lies outside the
    /// repository root: never followed, counted once per link.
    pub outside_root: Arc<AtomicU64>,
}

/// Walks `root` in parallel, honouring `.gitignore`, `.ignore`, global git excludes,
/// the include/exclude globs of `config`, skipping `.git` and `index_dir`, and
/// files over `config.max_file_size` bytes and files the secret filter
/// (`config.secrets`) excludes (both counted in the returned counters).
/// Symbolic links are followed when `config.follow_links`, but only to targets
/// inside the repository: a link whose canonical target lies outside the
/// canonical `root` (`passwd -> /etc/passwd`, `etc -> /etc`, `up -> ../..`) is
/// skipped with everything under it and counted in `outside_root`, so nothing
/// outside the tree a user pointed codectx at is ever read. Loops are reported
/// by `ignore` as errors, counted and skipped. The result is sorted by path.
///
/// Errors: [`Error::InvalidArgument`] for an invalid include/exclude glob or
/// secret rule.
pub fn walk(root: &Path, index_dir: &Path, config: &IndexConfig) -> Result<(Vec<WalkedFile>, WalkCounters)> {
    let counters = WalkCounters::default();
    let builder = walk_builder(root, root, index_dir, config, counters.outside_root.clone())?;
    let secrets = SecretRules::new(&config.secrets).map_err(Error::InvalidArgument)?;
    let secrets = &secrets;

    let found = Mutex::new(Vec::new());
    let max_size = config.max_file_size;
    builder.build_parallel().run(|| {
        let counters = &counters;
        let found = &found;
        Box::new(move |entry| {
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => {
                    tracing::debug!(%error, "walk error");
                    counters.errors.fetch_add(1, Ordering::Relaxed);
                    return WalkState::Continue;
                }
            };
            if !entry.file_type().is_some_and(|kind| kind.is_file()) {
                return WalkState::Continue;
            }
            let relative = entry.path().strip_prefix(root).ok().and_then(relative_path_string);
            if relative.is_some_and(|relative| secrets.is_excluded(&relative)) {
                counters.secret.fetch_add(1, Ordering::Relaxed);
                return WalkState::Continue;
            }
            let size = match entry.metadata() {
                Ok(metadata) => metadata.len(),
                Err(_) => {
                    counters.errors.fetch_add(1, Ordering::Relaxed);
                    return WalkState::Continue;
                }
            };
            if size > max_size {
                counters.too_large.fetch_add(1, Ordering::Relaxed);
                return WalkState::Continue;
            }
            let Ok(relative) = entry.path().strip_prefix(root) else {
                return WalkState::Continue;
            };
            let Some(rel_path) = relative_path_string(relative) else {
                counters.errors.fetch_add(1, Ordering::Relaxed);
                return WalkState::Continue;
            };
            found.lock().expect("walk result lock").push(WalkedFile {
                rel_path,
                abs_path: entry.path().to_path_buf(),
                size,
            });
            WalkState::Continue
        })
    });
    let mut files = found.into_inner().expect("walk result lock");
    files.sort_by(|a, b| a.rel_path.cmp(&b.rel_path));
    // Two links to one file reach it by two paths; both are indexed under their own
    // path, as a user browsing the tree sees them. Exact duplicates cannot occur.
    files.dedup_by(|a, b| a.rel_path == b.rel_path);
    Ok((files, counters))
}

/// The `ignore` walker from `start` (`root` or a folder under it) with the rules
/// of [`walk`] over `root`: ignore files, include/exclude globs (relative to
/// `root`), hidden files, `.git` and the index folder left out, and symbolic
/// links leading outside `root` skipped (counted in `outside_root`).
///
/// Errors: [`Error::InvalidArgument`] for an invalid include/exclude glob.
fn walk_builder(
    root: &Path,
    start: &Path,
    index_dir: &Path,
    config: &IndexConfig,
    outside_root: Arc<AtomicU64>,
) -> Result<WalkBuilder> {
    let mut overrides = OverrideBuilder::new(root);
    for glob in &config.include {
        overrides.add(glob).map_err(|error| Error::InvalidArgument(format!("include glob {glob:?}: {error}")))?;
    }
    for glob in &config.exclude {
        overrides
            .add(&format!("!{glob}"))
            .map_err(|error| Error::InvalidArgument(format!("exclude glob {glob:?}: {error}")))?;
    }
    let overrides = overrides.build().map_err(|error| Error::InvalidArgument(format!("globs: {error}")))?;

    let index_dir = index_dir.canonicalize().unwrap_or_else(|_| index_dir.to_path_buf());
    let real_root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let mut builder = WalkBuilder::new(start);
    builder
        .hidden(!config.hidden)
        .git_ignore(config.respect_gitignore)
        .git_global(config.respect_gitignore)
        .git_exclude(config.respect_gitignore)
        .ignore(config.respect_gitignore)
        .parents(config.respect_gitignore)
        .require_git(false)
        .follow_links(config.follow_links)
        .overrides(overrides)
        .threads(config.threads)
        .filter_entry(move |entry| {
            let name = entry.file_name();
            if name == ".git" || name == codectx_core::DEFAULT_INDEX_DIR {
                return false;
            }
            if entry.path_is_symlink() && entry.depth() > 0 && !link_stays_inside(entry.path(), &real_root) {
                outside_root.fetch_add(1, Ordering::Relaxed);
                return false;
            }
            !(entry.file_type().is_some_and(|kind| kind.is_dir()) && entry.path() == index_dir)
        });
    Ok(builder)
}

/// The folders under `start` (itself included, when it is a folder) that [`walk`]
/// would descend into from `root` (none when `start` itself is ignored): what a file watcher needs to watch so that it
/// sees every file the index holds and none of the ignored trees (`target/`,
/// `node_modules/`, ...). Sorted.
///
/// Errors: [`Error::InvalidArgument`] for an invalid include/exclude glob.
pub fn walk_dirs(root: &Path, start: &Path, index_dir: &Path, config: &IndexConfig) -> Result<Vec<PathBuf>> {
    // The walk yields its start folder whatever the rules say: check it from its parent.
    if start != root && !included(root, start, index_dir, config)? {
        return Ok(Vec::new());
    }
    let builder = walk_builder(root, start, index_dir, config, Arc::default())?;
    let mut dirs: Vec<PathBuf> = builder
        .build()
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_type().is_some_and(|kind| kind.is_dir()))
        .map(|entry| entry.into_path())
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// Whether the existing file or folder `path` under `root` is one [`walk`] would
/// visit (its folder's entries are listed with the walk's rules; the size cap is
/// not applied). `false` for `root` itself, a path outside it, or one that is gone.
///
/// Errors: [`Error::InvalidArgument`] for an invalid include/exclude glob.
pub fn included(root: &Path, path: &Path, index_dir: &Path, config: &IndexConfig) -> Result<bool> {
    let Some(parent) = path.parent().filter(|parent| parent.starts_with(root)) else {
        return Ok(false);
    };
    Ok(included_entries(root, parent, index_dir, config)?.contains(path))
}

/// The entries (files and folders) of `folder` under `root` that [`walk`] would
/// visit: [`included`] for a whole folder at once, listing it once.
///
/// Errors: [`Error::InvalidArgument`] for an invalid include/exclude glob.
pub fn included_entries(
    root: &Path,
    folder: &Path,
    index_dir: &Path,
    config: &IndexConfig,
) -> Result<std::collections::HashSet<PathBuf>> {
    let mut builder = walk_builder(root, folder, index_dir, config, Arc::default())?;
    builder.max_depth(Some(1));
    Ok(builder
        .build()
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.depth() == 1)
        .map(|entry| entry.into_path())
        .collect())
}

/// Whether the symbolic link at `link` resolves to a path under `real_root` (a
/// canonical path). A link that resolves nowhere (dangling, or a loop) leads
/// nowhere outside either: kept, so that the walker reports it as the broken
/// link it is (counted as a walk error).
fn link_stays_inside(link: &Path, real_root: &Path) -> bool {
    link.canonicalize().map_or(true, |target| target.starts_with(real_root))
}

/// Reads the file at `path` if the file actually opened lies under `real_root`
/// (a canonical path): the walk checked every link on the way, and this check,
/// made on the open descriptor (`/proc/self/fd` on Linux, the canonical path
/// elsewhere), also holds when a file or folder was swapped for a link leading
/// outside between the walk and the read.
///
/// Errors: the I/O error of opening or reading, or
/// [`std::io::ErrorKind::PermissionDenied`] when the file opened lies outside
/// `real_root`.
pub fn read_confined(path: &Path, real_root: &Path) -> std::io::Result<Vec<u8>> {
    let mut file = std::fs::File::open(path)?;
    let opened = opened_path(&file, path)?;
    if !opened.starts_with(real_root) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!("{} leads outside the repository", path.display()),
        ));
    }
    let mut bytes = Vec::with_capacity(file.metadata().map_or(0, |metadata| metadata.len() as usize));
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The canonical path of the file `file` opened as `path`.
#[cfg(target_os = "linux")]
fn opened_path(file: &std::fs::File, path: &Path) -> std::io::Result<PathBuf> {
    use std::os::fd::AsRawFd;
    match std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())) {
        Ok(opened) => Ok(opened),
        // No /proc (a minimal container): the canonical path of the name.
        Err(_) => path.canonicalize(),
    }
}

/// The canonical path of the file `file` opened as `path`.
#[cfg(not(target_os = "linux"))]
fn opened_path(_file: &std::fs::File, path: &Path) -> std::io::Result<PathBuf> {
    path.canonicalize()
}

/// `a/b/c.rs` from a relative path; `None` for a path that is not valid UTF-8
/// (such names cannot be cited in `path:line` form).
fn relative_path_string(relative: &Path) -> Option<String> {
    let mut out = String::new();
    for component in relative.components() {
        let part = component.as_os_str().to_str()?;
        if !out.is_empty() {
            out.push('/');
        }
        out.push_str(part);
    }
    (!out.is_empty()).then_some(out)
}
