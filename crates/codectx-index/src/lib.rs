//! The codectx indexer: `walk → read → hash → parse → write → switch`.
//!
//! * [`walk::walk`] lists the repository's files with `ignore`'s parallel walker.
//! * [`Indexer::run`] reads and blake3-hashes every file, re-parses only the files
//!   whose hash changed since the current generation (tree-sitter, in parallel with
//!   rayon), writes their chunks into a fork of the previous tantivy index, resolves
//!   imports against the new file set, and publishes the result as a new generation
//!   (see [`store`] for the layout and the atomic switch).
//! * The secret filter (`[secrets]`, [`codectx_core::SecretRules`]): the walk skips
//!   the files it excludes, the manifest records its rules, and a snapshot redacts
//!   what its patterns match from every text it hands out ([`secrets`] scans a
//!   repository with it).
//! * [`IndexSnapshot::open`] loads the current generation for retrieval, with its
//!   lookup tables (symbols by name, importers of each file).
//!
//! ```no_run
//! use codectx_index::{Indexer, IndexSnapshot};
//! let indexer = Indexer::new("path/to/repo".as_ref(), None, Default::default())?;
//! let stats = indexer.run(&|_progress| {})?;
//! let snapshot = IndexSnapshot::open(indexer.index_dir())?;
//! assert_eq!(snapshot.files().len() as u64, stats.files);
//! # Ok::<(), codectx_core::Error>(())
//! ```
#![deny(missing_docs)]

pub mod git;
pub mod graph;
mod indexer;
pub mod secrets;
mod snapshot;
pub mod store;
pub mod vectors;
pub mod walk;

pub use git::git_head;
pub use indexer::Indexer;
pub use snapshot::{IndexSnapshot, SymbolRef};
pub use store::FileEntry;
pub use vectors::VectorSearch;

/// Test hook for the crash-safety tests. When the environment variable
/// `CODECTX_FAILPOINT` equals `name`, the process aborts on the spot, as a crash
/// would; when it equals `pause:<name>`, the calling thread logs
/// `codectx: failpoint <name>: paused` (at error level, which the default log
/// filter shows on stderr) and sleeps for good, so that a test can `kill -9` the
/// process in the middle of that step. The abort is logged the same way first.
pub fn failpoint(name: &str) {
    let Some(value) = std::env::var_os("CODECTX_FAILPOINT") else { return };
    if value == name {
        tracing::error!("codectx: failpoint {name}: aborting");
        std::process::abort();
    }
    if value.to_str().and_then(|value| value.strip_prefix("pause:")) == Some(name) {
        tracing::error!("codectx: failpoint {name}: paused");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}
