//! Domain types shared by every codectx crate.
//!
//! The data flows `walk → parse → chunk → store → retrieve → assemble`, and the
//! types of this crate are what travels between those stages:
//!
//! * [`Language`] — what a file is, detected from its path.
//! * [`Span`] — a byte range *and* a 1-based inclusive line range in one file.
//! * [`Symbol`], [`Chunk`], [`Import`] — what [`codectx-syntax`] extracts from a file
//!   ([`ParsedFile`]).
//! * [`ContextRequest`] → [`ContextBundle`], [`SearchRequest`] → [`SearchHit`] — the
//!   requests and answers of the domain service that the CLI and the gRPC adapter share.
//! * [`Config`] — the TOML configuration (`.codectx.toml` / `--config`).
//! * [`secrets`] — the secret filter: files never indexed, text redacted from what is
//!   handed out ([`SecretRules`], configured by `[secrets]`).
//! * [`tokens`] — token counting with a real BPE tokenizer (tiktoken `o200k_base`).
//!
//! This crate has no heavy dependencies and no I/O beyond reading a config file.
//!
//! ```
//! use codectx_core::{Language, Span};
//! assert_eq!(Language::from_path("src/lib.rs"), Language::Rust);
//! let span = Span { start_byte: 0, end_byte: 10, start_line: 1, end_line: 2 };
//! assert_eq!(span.line_count(), 2);
//! ```
#![deny(missing_docs)]

mod config;
mod conventions;
mod error;
mod language;
mod model;
mod request;
pub mod secrets;
pub mod tokens;

pub use config::{
    data_home, Config, EmbedConfig, EmbedProvider, IndexConfig, ModelConfig, ModelVariant, RepoEntry, RetrievalConfig,
    ServerConfig, TokenConfig,
};
pub use conventions::{is_auxiliary_path, is_test_path, is_vendored_path};
pub use error::{Error, Result};
pub use language::Language;
pub use model::*;
pub use request::*;
pub use secrets::{SecretFinding, SecretRules, SecretsConfig};

/// Version of the on-disk index format. Bumped whenever the layout of a generation
/// changes; an index with another version is refused with [`Error::IndexVersion`]
/// ("re-index with `codectx index`"), never read.
pub const INDEX_FORMAT_VERSION: u32 = 3;

/// Name of the folder, under the repository root, that holds the index by default.
pub const DEFAULT_INDEX_DIR: &str = ".codectx";

/// Seconds since the Unix epoch, now (0 if the clock is set before it): the unit of
/// every `*_unix` field (`IndexStatus::last_run_unix`, a manifest's `created_unix`).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs())
}
