//! Materialising a commit of a git clone into a work tree, incrementally.
//!
//! A work tree is kept per repository and moved from commit to commit: only blobs
//! that differ from what the tree holds are written, and files that left the
//! commit are deleted. With git's own `ls-tree -r` and `cat-file --batch` this
//! works on bare clones and on partial snapshots whose largest blobs are missing
//! (those files are skipped and counted, where `git archive` would fail).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use codectx_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// What one checkout did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckoutStats {
    /// Blobs in the commit's tree.
    pub files: u64,
    /// Files written (new or changed since the tree's previous commit).
    pub written: u64,
    /// Files deleted.
    pub deleted: u64,
    /// Blobs missing from the clone (skipped).
    pub missing: u64,
}

/// A work tree that follows commits of one clone.
#[derive(Debug)]
pub struct WorkTree {
    git_dir: PathBuf,
    root: PathBuf,
    state_file: PathBuf,
    /// path → blob id of what the tree holds now.
    state: HashMap<String, String>,
}

#[derive(Serialize, Deserialize)]
struct State {
    blobs: HashMap<String, String>,
}

impl WorkTree {
    /// A work tree at `root` for the clone `clone` (a bare git folder or a work
    /// tree with `.git`). The tree's state is remembered in `<root>.state.json`.
    ///
    /// Errors: [`Error::PathNotFound`] if `clone` is not a git repository.
    pub fn new(clone: &Path, root: &Path) -> Result<WorkTree> {
        let git_dir = if clone.join(".git").is_dir() { clone.join(".git") } else { clone.to_path_buf() };
        if !git_dir.join("objects").is_dir() {
            return Err(Error::PathNotFound(git_dir));
        }
        std::fs::create_dir_all(root).map_err(|error| Error::io(root, error))?;
        let state_file = root.with_extension("state.json");
        let state = std::fs::read(&state_file)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<State>(&bytes).ok())
            .map(|state| state.blobs)
            .unwrap_or_default();
        Ok(WorkTree { git_dir, root: root.to_path_buf(), state_file, state })
    }

    /// The tree's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The commit time (Unix seconds) of a revision, for ordering instances.
    pub fn commit_time(&self, revision: &str) -> Option<i64> {
        let output = self.git(&["log", "-1", "--format=%ct", revision]).ok()?;
        String::from_utf8(output).ok()?.trim().parse().ok()
    }

    /// Moves the tree to `revision`.
    ///
    /// Errors: [`Error::InvalidArgument`] if git does not know the revision;
    /// [`Error::Io`] on write failures.
    pub fn checkout(&mut self, revision: &str) -> Result<CheckoutStats> {
        let listing = self
            .git(&["ls-tree", "-r", "-z", "--full-tree", revision])
            .map_err(|reason| Error::InvalidArgument(format!("cannot list {revision}: {reason}")))?;
        let mut wanted: Vec<(String, String, bool)> = Vec::new(); // path, blob, is_symlink
        for record in listing.split(|&byte| byte == 0).filter(|record| !record.is_empty()) {
            let record = String::from_utf8_lossy(record);
            let Some((meta, path)) = record.split_once('\t') else { continue };
            let mut fields = meta.split_whitespace();
            let (Some(mode), Some(kind), Some(blob)) = (fields.next(), fields.next(), fields.next()) else { continue };
            if kind != "blob" || path.split('/').any(|part| part == ".." || part.is_empty()) {
                continue;
            }
            wanted.push((path.to_string(), blob.to_string(), mode == "120000"));
        }
        let mut stats = CheckoutStats { files: wanted.len() as u64, ..CheckoutStats::default() };

        // Delete what left the tree.
        let keep: std::collections::HashSet<&str> = wanted.iter().map(|(path, ..)| path.as_str()).collect();
        let stale: Vec<String> = self.state.keys().filter(|path| !keep.contains(path.as_str())).cloned().collect();
        for path in stale {
            let full = self.root.join(&path);
            let _ = std::fs::remove_file(&full);
            self.state.remove(&path);
            stats.deleted += 1;
        }

        // Write what changed, through one `cat-file --batch` process.
        let changed: Vec<&(String, String, bool)> =
            wanted.iter().filter(|(path, blob, _)| self.state.get(path) != Some(blob)).collect();
        if !changed.is_empty() {
            let mut child = Command::new("git")
                .arg(format!("--git-dir={}", self.git_dir.display()))
                .args(["cat-file", "--batch"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|error| Error::io("git", error))?;
            let mut stdin = child.stdin.take().expect("piped stdin");
            let blobs: Vec<String> = changed.iter().map(|(_, blob, _)| blob.clone()).collect();
            let feeder = std::thread::spawn(move || {
                for blob in blobs {
                    if writeln!(stdin, "{blob}").is_err() {
                        break;
                    }
                }
            });
            let mut reader = BufReader::new(child.stdout.take().expect("piped stdout"));
            for (path, blob, is_symlink) in changed {
                let mut header = String::new();
                reader.read_line(&mut header).map_err(|error| Error::io("git cat-file", error))?;
                if header.trim_end().ends_with("missing") {
                    stats.missing += 1;
                    let _ = std::fs::remove_file(self.root.join(path));
                    self.state.remove(path);
                    continue;
                }
                let size: usize = header
                    .split_whitespace()
                    .nth(2)
                    .and_then(|size| size.parse().ok())
                    .ok_or_else(|| Error::Internal(format!("git cat-file: unexpected header {header:?}")))?;
                let mut content = vec![0u8; size + 1];
                reader.read_exact(&mut content).map_err(|error| Error::io("git cat-file", error))?;
                content.truncate(size);
                let full = self.root.join(path);
                if let Some(parent) = full.parent() {
                    std::fs::create_dir_all(parent).map_err(|error| Error::io(parent, error))?;
                }
                let _ = std::fs::remove_file(&full);
                if *is_symlink {
                    // Symbolic links are recreated as links (the walker survives loops).
                    #[cfg(unix)]
                    {
                        let target = String::from_utf8_lossy(&content).into_owned();
                        let _ = std::os::unix::fs::symlink(target, &full);
                    }
                } else {
                    std::fs::write(&full, &content).map_err(|error| Error::io(&full, error))?;
                }
                self.state.insert(path.clone(), blob.clone());
                stats.written += 1;
            }
            let _ = feeder.join();
            let _ = child.wait();
        }
        let state = State { blobs: std::mem::take(&mut self.state) };
        let bytes = serde_json::to_vec(&state).map_err(|error| Error::Internal(error.to_string()))?;
        std::fs::write(&self.state_file, bytes).map_err(|error| Error::io(&self.state_file, error))?;
        self.state = state.blobs;
        Ok(stats)
    }

    fn git(&self, args: &[&str]) -> std::result::Result<Vec<u8>, String> {
        let output = Command::new("git")
            .arg(format!("--git-dir={}", self.git_dir.display()))
            .args(args)
            .output()
            .map_err(|error| format!("cannot run git: {error}"))?;
        if !output.status.success() {
            return Err(String::from_utf8_lossy(&output.stderr).trim().to_string());
        }
        Ok(output.stdout)
    }
}
