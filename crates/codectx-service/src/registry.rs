//! The registry of repositories added at run time (`AddRepository`,
//! `codectx repo add`), kept in `<storage_root>/registry.json` so that a restarted
//! server serves every repository it had, from the indexes it had, without
//! re-indexing.
//!
//! The file is replaced atomically (written to a temporary file, fsynced, renamed
//! over the old one, directory fsynced): a crash leaves the old registry or the
//! new one, never half of either.

use std::path::{Component, Path, PathBuf};

use codectx_core::{Error, Result};
use serde::{Deserialize, Serialize};

const REGISTRY_FILE: &str = "registry.json";
const INDEXES_DIR: &str = "indexes";
const FORMAT: u32 = 1;

/// One registered repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryEntry {
    /// Name clients use.
    pub name: String,
    /// Root folder, canonical (absolute, no `..`, symbolic links resolved).
    pub root: PathBuf,
    /// Its index folder (`<storage_root>/indexes/<name>`).
    pub index_dir: PathBuf,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct RegistryFile {
    format: u32,
    repositories: Vec<RegistryEntry>,
}

/// The registry in one storage root.
#[derive(Debug)]
pub struct Registry {
    storage_root: PathBuf,
    entries: Vec<RegistryEntry>,
}

impl Registry {
    /// Opens (or starts) the registry of `storage_root`, creating the folder.
    ///
    /// Errors: [`Error::Io`] when the folder cannot be created or the file read;
    /// [`Error::Config`] when `registry.json` is malformed or of another format.
    pub fn open(storage_root: &Path) -> Result<Registry> {
        std::fs::create_dir_all(storage_root).map_err(|error| Error::io(storage_root, error))?;
        let path = storage_root.join(REGISTRY_FILE);
        let entries = match std::fs::read(&path) {
            Ok(bytes) => {
                let file: RegistryFile = serde_json::from_slice(&bytes)
                    .map_err(|error| Error::Config { path: path.clone(), reason: error.to_string() })?;
                if file.format != FORMAT {
                    return Err(Error::Config {
                        path,
                        reason: format!("registry format {} (this build reads {FORMAT})", file.format),
                    });
                }
                file.repositories
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(error) => return Err(Error::io(&path, error)),
        };
        Ok(Registry { storage_root: storage_root.to_path_buf(), entries })
    }

    /// The registered repositories, in the order they were added.
    pub fn entries(&self) -> &[RegistryEntry] {
        &self.entries
    }

    /// The index folder a repository named `name` gets.
    pub fn index_dir_for(&self, name: &str) -> PathBuf {
        self.storage_root.join(INDEXES_DIR).join(name)
    }

    /// Adds an entry and persists the registry.
    ///
    /// Errors: [`Error::AlreadyExists`] for a registered name; [`Error::Io`] when
    /// the file cannot be written (the registry is then unchanged).
    pub fn add(&mut self, entry: RegistryEntry) -> Result<()> {
        if self.entries.iter().any(|existing| existing.name == entry.name) {
            return Err(Error::AlreadyExists(format!("repository {}", entry.name)));
        }
        self.entries.push(entry);
        if let Err(error) = self.save() {
            self.entries.pop();
            return Err(error);
        }
        Ok(())
    }

    /// Removes an entry and persists the registry; returns it.
    ///
    /// Errors: [`Error::UnknownRepository`] for a name not registered;
    /// [`Error::Io`] when the file cannot be written (the registry is then unchanged).
    pub fn remove(&mut self, name: &str) -> Result<RegistryEntry> {
        let position = self
            .entries
            .iter()
            .position(|entry| entry.name == name)
            .ok_or_else(|| Error::UnknownRepository(name.to_string()))?;
        let entry = self.entries.remove(position);
        if let Err(error) = self.save() {
            self.entries.insert(position, entry);
            return Err(error);
        }
        Ok(entry)
    }

    fn save(&self) -> Result<()> {
        let file = RegistryFile { format: FORMAT, repositories: self.entries.clone() };
        let bytes = serde_json::to_vec_pretty(&file)
            .map_err(|error| Error::Internal(format!("serialize the registry: {error}")))?;
        let path = self.storage_root.join(REGISTRY_FILE);
        let tmp = self.storage_root.join(format!("{REGISTRY_FILE}.tmp"));
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut out = std::fs::File::create(&tmp)?;
            out.write_all(&bytes)?;
            out.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            std::fs::File::open(&self.storage_root)?.sync_all()
        };
        write().map_err(|error| Error::io(&path, error))
    }
}

/// Checks a repository name: 1 to 100 characters of ASCII letters, digits, `.`,
/// `_` and `-`, not starting with `.` (so it is a safe folder name).
///
/// Errors: [`Error::InvalidArgument`] naming the rule.
pub fn validate_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "repository name \"{}\": use 1-100 ASCII letters, digits, '.', '_' or '-', not starting with '.'",
            codectx_core::quote(name)
        )))
    }
}

/// Resolves `path` (absolute; `..` and symbolic links resolved) and checks that it
/// is a folder inside one of `allowed_roots`, and not a filesystem root.
///
/// Errors: [`Error::InvalidArgument`] for a relative path;
/// [`Error::PermissionDenied`] when no root is configured or the folder lies
/// outside them (the message does not say whether it exists);
/// [`Error::PathNotFound`] / [`Error::NotADirectory`] for a missing path or a file
/// inside an allowed root.
pub fn confine(path: &Path, allowed_roots: &[PathBuf]) -> Result<PathBuf> {
    // The path as messages quote it: a short prefix of a long one.
    let quoted = || codectx_core::quote(&path.to_string_lossy()).into_owned();
    if !path.is_absolute() {
        return Err(Error::InvalidArgument(format!("{} is not an absolute path", quoted())));
    }
    if allowed_roots.is_empty() {
        return Err(Error::PermissionDenied(
            "no [server] allowed_roots are configured, so no repository can be added".into(),
        ));
    }
    let outside = || Error::PermissionDenied(format!("{} is outside the allowed roots", quoted()));
    // Lexically first, so that a path outside the roots is refused without
    // touching the filesystem (and without saying whether it exists).
    let lexical = normalize(path);
    let roots: Vec<PathBuf> =
        allowed_roots.iter().map(|root| root.canonicalize().unwrap_or_else(|_| normalize(root))).collect();
    if !roots.iter().any(|root| lexical.starts_with(root) || lexical.starts_with(normalize(root))) {
        return Err(outside());
    }
    let canonical = path
        .canonicalize()
        .map_err(|_| Error::PathNotFound(PathBuf::from(codectx_core::quote(&lexical.to_string_lossy()).as_ref())))?;
    if canonical.parent().is_none() || !roots.iter().any(|root| canonical.starts_with(root)) {
        return Err(outside()); // a symbolic link out of the roots, or `/`
    }
    if !canonical.is_dir() {
        return Err(Error::NotADirectory(canonical));
    }
    Ok(canonical)
}

/// `path` with `.` and `..` resolved lexically.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_safe_folder_names() {
        for good in ["requests", "sympy-1.12", "a_b.c"] {
            assert!(validate_name(good).is_ok(), "{good}");
        }
        for bad in ["", ".", "..", ".hidden", "a/b", "a b", "é", &"x".repeat(101)] {
            assert!(matches!(validate_name(bad), Err(Error::InvalidArgument(_))), "{bad:?}");
        }
    }

    #[test]
    fn paths_are_confined_to_the_allowed_roots() {
        let root = tempfile::tempdir().unwrap();
        let repo = root.path().join("repo");
        std::fs::create_dir(&repo).unwrap();
        std::fs::write(root.path().join("file.txt"), "x").unwrap();
        let roots = vec![root.path().to_path_buf()];
        assert_eq!(confine(&repo, &roots).unwrap(), repo.canonicalize().unwrap());
        // `..` escapes, `/`, other folders, and a link out of the root are refused alike.
        let escape = repo.join("../../..");
        for path in [escape.as_path(), Path::new("/"), Path::new("/etc")] {
            assert!(matches!(confine(path, &roots), Err(Error::PermissionDenied(_))), "{}", path.display());
        }
        std::os::unix::fs::symlink("/", root.path().join("link")).unwrap();
        assert!(matches!(confine(&root.path().join("link"), &roots), Err(Error::PermissionDenied(_))));
        // Inside the root: a missing folder and a file say so.
        assert!(matches!(confine(&root.path().join("missing"), &roots), Err(Error::PathNotFound(_))));
        assert!(matches!(confine(&root.path().join("file.txt"), &roots), Err(Error::NotADirectory(_))));
        assert!(matches!(confine(Path::new("relative/repo"), &roots), Err(Error::InvalidArgument(_))));
        assert!(matches!(confine(&repo, &[]), Err(Error::PermissionDenied(_))));
    }

    #[test]
    fn the_registry_survives_a_reopen_and_refuses_duplicates() {
        let storage = tempfile::tempdir().unwrap();
        let mut registry = Registry::open(storage.path()).unwrap();
        let entry = RegistryEntry {
            name: "requests".into(),
            root: PathBuf::from("/src/requests"),
            index_dir: registry.index_dir_for("requests"),
        };
        registry.add(entry.clone()).unwrap();
        assert!(matches!(registry.add(entry.clone()), Err(Error::AlreadyExists(_))));
        let reopened = Registry::open(storage.path()).unwrap();
        assert_eq!(reopened.entries(), std::slice::from_ref(&entry));
        let mut registry = reopened;
        assert_eq!(registry.remove("requests").unwrap(), entry);
        assert!(matches!(registry.remove("requests"), Err(Error::UnknownRepository(_))));
        assert!(Registry::open(storage.path()).unwrap().entries().is_empty());
        std::fs::write(storage.path().join(REGISTRY_FILE), "{not json").unwrap();
        assert!(matches!(Registry::open(storage.path()), Err(Error::Config { .. })));
    }
}
