//! The one table mapping domain errors to gRPC status codes.
//!
//! | [`Error`] variant                                         | [`Code`]              |
//! |-----------------------------------------------------------|-----------------------|
//! | `UnknownRepository`, `NotFound`                           | `NOT_FOUND`           |
//! | `InvalidArgument`                                         | `INVALID_ARGUMENT`    |
//! | `AlreadyExists`                                           | `ALREADY_EXISTS`      |
//! | `PermissionDenied`                                        | `PERMISSION_DENIED`   |
//! | `NoIndex`, `IndexVersion`, `CorruptIndex`, `NoModel`      | `FAILED_PRECONDITION` |
//! | `PathNotFound`, `NotADirectory`, `Config`                 | `FAILED_PRECONDITION` |
//! | `ModelEndpoint`                                           | `UNAVAILABLE`         |
//! | `Busy`                                                    | `UNAVAILABLE`         |
//! | `DeadlineExceeded` (a freshness wait ran out)             | `DEADLINE_EXCEEDED`   |
//! | `Io`, `Internal`                                          | `INTERNAL`            |
//!
//! `Busy` (the repository is being indexed) is `UNAVAILABLE` rather than
//! `RESOURCE_EXHAUSTED`: it is transient and clears by itself, which is what gRPC
//! clients and retry policies expect of `UNAVAILABLE`; `RESOURCE_EXHAUSTED` means a
//! quota the caller exceeded. `ModelEndpoint` is `UNAVAILABLE` for the same reason
//! (an upstream dependency failed); its message names the URL and the cause.
//! `FAILED_PRECONDITION` covers states the operator must fix (index the repository,
//! configure a model, fix a path or the config file) before retrying can help.
//!
//! The status message is always the error's one-line `Display` (control characters
//! of quoted request fields escaped).

use codectx_core::Error;
use tonic::{Code, Status};

/// The gRPC code of a domain error (see the table in the [module docs](self)).
pub fn code(error: &Error) -> Code {
    match error {
        Error::UnknownRepository(_) | Error::NotFound(_) => Code::NotFound,
        Error::InvalidArgument(_) => Code::InvalidArgument,
        Error::AlreadyExists(_) => Code::AlreadyExists,
        Error::PermissionDenied(_) => Code::PermissionDenied,
        Error::NoIndex(_) | Error::IndexVersion { .. } | Error::CorruptIndex { .. } | Error::NoModel => {
            Code::FailedPrecondition
        }
        Error::PathNotFound(_) | Error::NotADirectory(_) | Error::Config { .. } | Error::Embedding(_) => {
            Code::FailedPrecondition
        }
        Error::ModelEndpoint { .. } | Error::Busy(_) => Code::Unavailable,
        Error::DeadlineExceeded(_) => Code::DeadlineExceeded,
        Error::Io { .. } | Error::Internal(_) => Code::Internal,
    }
}

/// The gRPC status of a domain error: [`code`], with the error's `Display` as message,
/// control characters escaped (`\n`, `\r`, `\u{0}`): errors quote what a request
/// asked for (`unknown repository: <name>`), which may hold line breaks.
pub fn to_status(error: &Error) -> Status {
    Status::new(code(error), one_line(error.to_string()))
}

/// `message` with control characters escaped, so that it is one line.
fn one_line(message: String) -> String {
    if !message.contains(char::is_control) {
        return message;
    }
    message.chars().fold(String::with_capacity(message.len() + 8), |mut out, c| {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
        out
    })
}

/// An `INVALID_ARGUMENT` status for a request the adapter itself rejects, worded
/// like [`Error::InvalidArgument`] (`invalid argument: <what>`).
pub fn invalid_argument(what: impl Into<String>) -> Status {
    to_status(&Error::InvalidArgument(what.into()))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn maps_every_variant() {
        let path = || PathBuf::from("/repo");
        let cases = [
            (Error::UnknownRepository("r".into()), Code::NotFound),
            (Error::NotFound("symbol x".into()), Code::NotFound),
            (Error::InvalidArgument("the query is empty".into()), Code::InvalidArgument),
            (Error::AlreadyExists("repository r".into()), Code::AlreadyExists),
            (Error::PermissionDenied("/etc is outside the allowed roots".into()), Code::PermissionDenied),
            (Error::NoIndex(path()), Code::FailedPrecondition),
            (Error::IndexVersion { path: path(), found: 0, expected: 1 }, Code::FailedPrecondition),
            (Error::CorruptIndex { path: path(), reason: "bad".into() }, Code::FailedPrecondition),
            (Error::NoModel, Code::FailedPrecondition),
            (Error::PathNotFound(path()), Code::FailedPrecondition),
            (Error::NotADirectory(path()), Code::FailedPrecondition),
            (Error::Config { path: path(), reason: "bad key".into() }, Code::FailedPrecondition),
            (Error::ModelEndpoint { url: "http://m/v1".into(), reason: "HTTP 500".into() }, Code::Unavailable),
            (Error::Busy("r".into()), Code::Unavailable),
            (Error::Embedding("the index has no embeddings".into()), Code::FailedPrecondition),
            (Error::io(path(), std::io::Error::other("disk")), Code::Internal),
            (Error::Internal("tantivy".into()), Code::Internal),
        ];
        for (error, expected) in cases {
            let status = to_status(&error);
            assert_eq!(status.code(), expected, "{error}");
            assert_eq!(status.message(), error.to_string());
        }
    }

    #[test]
    fn messages_quoting_requests_stay_one_line() {
        // Found by tests/malformed.rs: a repository name with line breaks was echoed raw.
        let status = to_status(&Error::UnknownRepository("no\nsuch\r\nrepo\u{0}".into()));
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(status.message(), "unknown repository: no\\nsuch\\r\\nrepo\\u{0}");
        let status = to_status(&Error::NotFound("no definition named é\t🦀".into()));
        assert_eq!(status.message(), "not found: no definition named é\\t🦀");
    }

    #[test]
    fn adapter_rejections_read_like_domain_ones() {
        let status = invalid_argument("the repository name is empty");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), "invalid argument: the repository name is empty");
    }
}
