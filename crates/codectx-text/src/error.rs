use std::path::{Path, PathBuf};

use tantivy::TantivyError;

/// Errors of the text index.
///
/// The variants that mean "this index cannot be trusted, rebuild it" are
/// [`Error::Open`] and [`Error::Corrupt`]; [`Error::is_corrupt`] tests for both.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The index folder is missing, is not a text index (no `meta.json`), is unreadable,
    /// or was written with another schema (another codectx version).
    #[error("cannot open text index at {path}: {reason}")]
    Open {
        /// The index folder.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// A new index cannot be created there (the folder is not empty, or cannot be made).
    #[error("cannot create text index at {path}: {reason}")]
    Create {
        /// The index folder.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// Data read from an opened index is damaged (a checksum, a truncated file, a
    /// panic inside tantivy while decoding).
    #[error("text index at {path} is corrupt: {reason}")]
    Corrupt {
        /// The index folder.
        path: PathBuf,
        /// What failed to decode.
        reason: String,
    },
    /// Another writer (in this or another process) holds the index's writer lock.
    #[error("text index at {path} is locked by another writer")]
    Locked {
        /// The index folder.
        path: PathBuf,
    },
    /// A file-system operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A [`crate::ChunkAddress`] was produced by a searcher that has since been replaced
    /// by a reload (a commit through this index's writer); look the chunk up again with
    /// [`crate::TextIndex::chunk_text`].
    #[error("stale chunk address: the text index was reloaded since the search that produced it")]
    StaleAddress,
    /// An argument is invalid (for example a chunk with an empty path).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Any other tantivy failure (indexing thread died, merge failed, ...).
    #[error("text index at {path}: {operation} failed: {source}")]
    Tantivy {
        /// The index folder.
        path: PathBuf,
        /// What was being done (`"commit"`, `"search"`, ...).
        operation: &'static str,
        /// The tantivy error.
        source: TantivyError,
    },
}

impl Error {
    /// Whether the error means the index on disk is missing, damaged or incompatible
    /// and must be rebuilt ([`Error::Open`] or [`Error::Corrupt`]).
    pub fn is_corrupt(&self) -> bool {
        matches!(self, Error::Open { .. } | Error::Corrupt { .. })
    }

    /// Maps a tantivy error raised while reading or writing an opened index: errors that
    /// mean damaged data become [`Error::Corrupt`], a held lock [`Error::Locked`], the
    /// rest [`Error::Tantivy`].
    pub(crate) fn tantivy(path: &Path, operation: &'static str, source: TantivyError) -> Error {
        match source {
            TantivyError::DataCorruption(_)
            | TantivyError::OpenReadError(_)
            | TantivyError::IncompatibleIndex(_)
            | TantivyError::DeserializeError(_) => {
                Error::Corrupt { path: path.to_path_buf(), reason: format!("{operation}: {source}") }
            }
            // A read past the end of a file that was truncated after it was opened
            // (see [`crate::directory`]), or bytes that do not decode.
            TantivyError::IoError(ref io)
                if matches!(io.kind(), std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidData) =>
            {
                Error::Corrupt { path: path.to_path_buf(), reason: format!("{operation}: {source}") }
            }
            TantivyError::LockFailure(..) => Error::Locked { path: path.to_path_buf() },
            source => Error::Tantivy { path: path.to_path_buf(), operation, source },
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io { path: path.into(), source }
    }
}

impl From<Error> for codectx_core::Error {
    /// [`Error::Open`] and [`Error::Corrupt`] become
    /// [`codectx_core::Error::CorruptIndex`] ("re-index"), I/O and argument errors keep
    /// their kind, everything else is [`codectx_core::Error::Internal`].
    fn from(error: Error) -> Self {
        match error {
            Error::Open { path, reason } | Error::Corrupt { path, reason } => {
                codectx_core::Error::CorruptIndex { path, reason }
            }
            Error::Io { path, source } => codectx_core::Error::Io { path, source },
            Error::InvalidArgument(message) => codectx_core::Error::InvalidArgument(message),
            other => codectx_core::Error::Internal(other.to_string()),
        }
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
