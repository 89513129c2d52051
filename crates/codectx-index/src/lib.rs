//! The codectx indexer: `walk → read → hash → parse → write → switch`.
//!
//! * [`walk::walk`] lists the repository's files with `ignore`'s parallel walker.
//! * [`Indexer::run`] reads and blake3-hashes every file, re-parses only the files
//!   whose hash changed since the current generation (tree-sitter, in parallel with
//!   rayon), writes their chunks into a fork of the previous tantivy index, resolves
//!   imports against the new file set, and publishes the result as a new generation
//!   (see [`store`] for the layout and the atomic switch).
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

mod git;
pub mod graph;
mod indexer;
mod snapshot;
pub mod store;
pub mod vectors;
pub mod walk;

pub use git::git_head;
pub use indexer::Indexer;
pub use snapshot::{IndexSnapshot, SymbolRef};
pub use store::FileEntry;
pub use vectors::VectorSearch;

/// Test hook: when the environment variable `CODECTX_FAILPOINT` equals `name`, the
/// process aborts on the spot, as a crash or `kill -9` would. Used by the
/// crash-safety tests to stop an index run at a chosen point.
pub fn failpoint(name: &str) {
    if std::env::var_os("CODECTX_FAILPOINT").is_some_and(|value| value == name) {
        eprintln!("codectx: failpoint {name}: aborting");
        std::process::abort();
    }
}
