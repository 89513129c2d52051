//! Full-text index of codectx: a tantivy index with one document per chunk, a
//! code-aware tokenizer and BM25 search with per-field boosts.
//!
//! * [`code_tokens`] / [`CodeTokenizer`] — identifiers split on camelCase, acronyms,
//!   `snake_case`, `kebab-case` and digits, lowercased (rules in [`tokenizer`]).
//! * [`TextIndex`] — create / open / [`fork`](TextIndex::fork) an index folder; search
//!   chunks ([`search`](TextIndex::search)), find symbol definitions
//!   ([`symbol_hits`](TextIndex::symbol_hits)), read chunk text
//!   ([`text_at`](TextIndex::text_at), [`chunk_text`](TextIndex::chunk_text)).
//! * [`TextWriter`] — add chunks ([`ChunkDoc`]) and delete files, from many threads;
//!   [`commit`](TextWriter::commit).
//!
//! # Schema
//!
//! | field          | indexing                           | stored | fast |
//! |----------------|------------------------------------|--------|------|
//! | `path`         | code tokens, freqs                 |        |      |
//! | `path_key`     | raw                                | yes    | yes  |
//! | `chunk_key`    | raw `"{path}#{ordinal}"`           |        |      |
//! | `ordinal`      | u64                                | yes    | yes  |
//! | `language`     | raw ([`codectx_core::Language::name`]) |    |      |
//! | `symbols`      | code tokens, freqs                 |        |      |
//! | `symbol_exact` | raw lowercased names               |        |      |
//! | `qualified`    | code tokens, freqs                 |        |      |
//! | `signature`    | code tokens, freqs                 |        |      |
//! | `doc`          | code tokens, freqs                 |        |      |
//! | `content`      | code tokens, freqs                 | yes    |      |
//!
//! No field records positions (no phrase queries; smaller and faster to build). The
//! doc store uses tantivy's defaults (LZ4, 16 KiB blocks).
//!
//! ```
//! use codectx_core::Language;
//! use codectx_text::{code_tokens, ChunkDoc, TextIndex};
//!
//! let dir = std::env::temp_dir().join(format!("codectx-text-doctest-{}", std::process::id()));
//! # let _ = std::fs::remove_dir_all(&dir);
//! let index = TextIndex::create(&dir)?;
//! let writer = index.writer(50_000_000, 1)?;
//! writer.add(&ChunkDoc {
//!     path: "src/session.py",
//!     ordinal: 0,
//!     language: Language::Python,
//!     symbols: &["resolve_redirects".to_string()],
//!     qualified: &["Session.resolve_redirects".to_string()],
//!     signature: "def resolve_redirects(self, resp)",
//!     doc: "Follow redirects.",
//!     content: "def resolve_redirects(self, resp):\n    ...",
//! })?;
//! writer.commit()?;
//!
//! let terms: Vec<(String, f32)> =
//!     code_tokens("resolveRedirects").into_iter().map(|t| (t, 1.0)).collect();
//! let hits = index.search(&terms, 10, None)?;
//! assert_eq!(hits[0].path, "src/session.py");
//! assert!(index.text_at(hits[0].address)?.starts_with("def resolve_redirects"));
//! # drop(index);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # Ok::<(), codectx_text::Error>(())
//! ```
#![deny(missing_docs)]

mod collector;
pub mod directory;
mod error;
mod index;
mod schema;
pub mod tokenizer;

pub use error::{Error, Result};
pub use index::{ChunkAddress, ChunkDoc, FieldBoosts, TextHit, TextIndex, TextWriter, DEFAULT_WRITER_HEAP_BYTES};
pub use tokenizer::{code_tokens, CodeTokenizer, CODE_TOKENIZER, MAX_TOKEN_BYTES};
