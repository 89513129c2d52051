//! Shared by the benches: which corpus to use.
//!
//! `CODECTX_BENCH_CORPUS=/path/to/repo` benchmarks a real repository (sympy, the
//! cargo registry sources, ...). Without it the benches use this project's own
//! source tree, so that `cargo test --all-targets` runs them once, quickly.

use std::path::PathBuf;

/// The corpus folder.
pub fn corpus() -> PathBuf {
    match std::env::var_os("CODECTX_BENCH_CORPUS") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("crates"),
    }
}

/// Files and bytes the walker would index in `root` (for throughput figures).
#[allow(dead_code)] // not every bench reports throughput
pub fn corpus_size(root: &std::path::Path) -> (u64, u64) {
    let config = codectx_core::IndexConfig::default();
    let scratch = std::env::temp_dir().join("codectx-bench-walk");
    let (files, _) = codectx_index::walk::walk(root, &scratch, &config).expect("walk the corpus");
    (files.len() as u64, files.iter().map(|file| file.size).sum())
}

/// Copies the tree `from` to `to` (files and folders; `.git` and `.codectx` left
/// out), for benches that edit a repository.
#[allow(dead_code)] // not every bench edits a copy
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let kind = entry.file_type().unwrap();
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            if entry.file_name() != ".git" && entry.file_name() != ".codectx" {
                copy_dir(&entry.path(), &target);
            }
        } else if kind.is_file() {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
