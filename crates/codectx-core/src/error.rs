use std::path::PathBuf;

/// Errors of the codectx domain. Each variant is a user-visible condition with a
/// one-line message; the gRPC adapter maps each one to a status code in a single
/// table (`codectx-server::status`), the CLI to exit code 2 (user error) or 1.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A path given by the user does not exist.
    #[error("path not found: {0}")]
    PathNotFound(PathBuf),
    /// A path given by the user exists but is not a directory.
    #[error("not a directory: {0}")]
    NotADirectory(PathBuf),
    /// No index exists yet for this repository.
    #[error("no index at {0}: run `codectx index` first")]
    NoIndex(PathBuf),
    /// The index was written by another format version.
    #[error("index at {path} has format version {found}, this codectx reads version {expected}: re-index with `codectx index`")]
    IndexVersion {
        /// Index folder.
        path: PathBuf,
        /// Version found on disk.
        found: u32,
        /// Version this build reads ([`crate::INDEX_FORMAT_VERSION`]).
        expected: u32,
    },
    /// The index is unreadable (truncated, hand-edited, disk damage).
    #[error("index at {path} is corrupt ({reason}): rebuild it with `codectx index --rebuild`")]
    CorruptIndex {
        /// Index folder.
        path: PathBuf,
        /// What failed to read.
        reason: String,
    },
    /// A request argument is invalid (empty query, budget out of range, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A named repository is not served. The message quotes the name as
    /// [`crate::quote`] does (a short prefix of a long one).
    #[error("unknown repository: {}", crate::quote(.0))]
    UnknownRepository(String),
    /// A symbol or file looked up by name does not exist in the index.
    #[error("not found: {0}")]
    NotFound(String),
    /// A repository of that name is already registered.
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// The request is not allowed: a path outside the configured roots.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// The model endpoint could not be reached or answered with an error.
    #[error("model endpoint {url} failed: {reason}")]
    ModelEndpoint {
        /// The URL called.
        url: String,
        /// HTTP status or transport error.
        reason: String,
    },
    /// The embedder cannot run: onnxruntime missing, model folder incomplete,
    /// embedding endpoint down. The message names the fix.
    #[error("embeddings: {0}")]
    Embedding(String),
    /// No model is configured but the request needs one.
    #[error("no model configured: set --model and --base-url, `[model]` in the config file, or CODECTX_MODEL / CODECTX_BASE_URL")]
    NoModel,
    /// A request's wait (for a commit, or for pending changes to be indexed) ran
    /// past its deadline; the message says what was awaited and where the index is.
    #[error("deadline exceeded: {0}")]
    DeadlineExceeded(String),
    /// The repository is being indexed and the request cannot wait.
    #[error("repository {0} is busy indexing")]
    Busy(String),
    /// A configuration file is malformed.
    #[error("config {path}: {reason}")]
    Config {
        /// The file.
        path: PathBuf,
        /// Parser message.
        reason: String,
    },
    /// An I/O error with the path it concerns.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// A failure inside a library (tantivy, tree-sitter) that is not the user's fault.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }

    /// Whether the error is the user's mistake (bad path, bad request, missing or old
    /// index) rather than a fault of codectx or its environment. The CLI exits with
    /// code 2 for these.
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            Error::PathNotFound(_)
                | Error::NotADirectory(_)
                | Error::NoIndex(_)
                | Error::IndexVersion { .. }
                | Error::CorruptIndex { .. }
                | Error::InvalidArgument(_)
                | Error::UnknownRepository(_)
                | Error::NotFound(_)
                | Error::AlreadyExists(_)
                | Error::PermissionDenied(_)
                | Error::ModelEndpoint { .. }
                | Error::NoModel
                | Error::Embedding(_)
                | Error::Config { .. }
        )
    }
}

/// A copy of the error, for reporting one failure to several waiters (an index
/// run's error to every request it covered). The `Io` variant's source is
/// recreated from its kind and message (`std::io::Error` is not `Clone`).
impl Clone for Error {
    fn clone(&self) -> Self {
        match self {
            Error::PathNotFound(path) => Error::PathNotFound(path.clone()),
            Error::NotADirectory(path) => Error::NotADirectory(path.clone()),
            Error::NoIndex(path) => Error::NoIndex(path.clone()),
            Error::IndexVersion { path, found, expected } => {
                Error::IndexVersion { path: path.clone(), found: *found, expected: *expected }
            }
            Error::CorruptIndex { path, reason } => Error::CorruptIndex { path: path.clone(), reason: reason.clone() },
            Error::InvalidArgument(text) => Error::InvalidArgument(text.clone()),
            Error::UnknownRepository(text) => Error::UnknownRepository(text.clone()),
            Error::NotFound(text) => Error::NotFound(text.clone()),
            Error::AlreadyExists(text) => Error::AlreadyExists(text.clone()),
            Error::PermissionDenied(text) => Error::PermissionDenied(text.clone()),
            Error::ModelEndpoint { url, reason } => Error::ModelEndpoint { url: url.clone(), reason: reason.clone() },
            Error::Embedding(text) => Error::Embedding(text.clone()),
            Error::NoModel => Error::NoModel,
            Error::DeadlineExceeded(text) => Error::DeadlineExceeded(text.clone()),
            Error::Busy(text) => Error::Busy(text.clone()),
            Error::Config { path, reason } => Error::Config { path: path.clone(), reason: reason.clone() },
            Error::Io { path, source } => {
                Error::Io { path: path.clone(), source: std::io::Error::new(source.kind(), source.to_string()) }
            }
            Error::Internal(text) => Error::Internal(text.clone()),
        }
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
