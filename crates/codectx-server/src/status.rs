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
//! of quoted request fields escaped), at most [`MAX_MESSAGE_BYTES`]. Request
//! fields are quoted as [`codectx_core::quote`] does (a short prefix of a long
//! one), so a message never grows with the request.
//!
//! Server paths. Some errors name folders of the server (`no index at
//! /srv/indexes/requests: ...`, an I/O error's file, the index folder of a
//! repository without embeddings). [`to_status`] keeps them, for admin tokens
//! and open servers; [`to_redacted_status`], for every other token, replaces each
//! absolute path by `<path>` ([`redact_paths`]).

use std::borrow::Cow;

use codectx_core::Error;
use tonic::{Code, Status};

/// Longest status message the adapter sends, in bytes; a longer one (only a
/// very long server path can make one) is cut on a character boundary and ends
/// with `…`.
pub const MAX_MESSAGE_BYTES: usize = 1024;

/// What replaces an absolute server path in what a non-admin caller reads.
pub const REDACTED_PATH: &str = "<path>";

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
/// asked for (`unknown repository: <name>`), which may hold line breaks. At most
/// [`MAX_MESSAGE_BYTES`]. Server paths are kept: this is the admin's view.
pub fn to_status(error: &Error) -> Status {
    Status::new(code(error), bounded(one_line(error.to_string())))
}

/// [`to_status`] for a caller without an admin token: the same code, and the
/// message with every absolute server path replaced by [`REDACTED_PATH`]
/// ([`redact_paths`]). Errors that only quote the request (`INVALID_ARGUMENT`,
/// an unknown repository, symbol or file, a name in use) are not touched: what
/// they quote is the caller's own input.
pub fn to_redacted_status(error: &Error) -> Status {
    let message = error.to_string();
    let message = match error {
        Error::InvalidArgument(_) | Error::UnknownRepository(_) | Error::NotFound(_) | Error::AlreadyExists(_) => {
            message
        }
        _ => redact_paths(&message).into_owned(),
    };
    Status::new(code(error), bounded(one_line(message)))
}

/// `text` with each absolute path replaced by [`REDACTED_PATH`]. An absolute path
/// is a `/` at the start of the text or after a space, a quote, a bracket, `=` or
/// `,`, followed by anything but a space, up to the next space, quote, bracket,
/// `,` or `;` (a trailing `:` or `.` is left out: `no index at /srv/x: run ...`).
/// URLs (`http://host/v1`) and relative paths (`src/lib.rs`) are kept.
///
/// ```
/// use codectx_server::status::redact_paths;
/// assert_eq!(
///     redact_paths("no index at /srv/indexes/requests: run `codectx index` first"),
///     "no index at <path>: run `codectx index` first"
/// );
/// assert_eq!(redact_paths("src/lib.rs via http://model:8080/v1"), "src/lib.rs via http://model:8080/v1");
/// ```
pub fn redact_paths(text: &str) -> Cow<'_, str> {
    const BEFORE: &[char] = &[' ', '\t', '"', '\'', '`', '(', '[', '{', '<', '=', ','];
    const AFTER: &[char] = &['"', '\'', '`', ')', ']', '}', '>', ',', ';'];
    let starts = |index: usize| {
        let previous = text[..index].chars().next_back();
        let next = text[index + 1..].chars().next();
        previous.is_none_or(|c| BEFORE.contains(&c)) && next.is_some_and(|c| !c.is_whitespace())
    };
    if !text.match_indices('/').any(|(index, _)| starts(index)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = 0;
    let mut index = 0;
    while let Some(offset) = text[index..].find('/') {
        let start = index + offset;
        if !starts(start) {
            index = start + 1;
            continue;
        }
        let mut end =
            text[start..].find(|c: char| c.is_whitespace() || AFTER.contains(&c)).map_or(text.len(), |at| start + at);
        end = start + text[start..end].trim_end_matches([':', '.']).len();
        out.push_str(&text[rest..start]);
        out.push_str(REDACTED_PATH);
        rest = end;
        index = end.max(start + 1);
    }
    out.push_str(&text[rest..]);
    Cow::Owned(out)
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

/// `message` cut to [`MAX_MESSAGE_BYTES`] on a character boundary, ending with `…`
/// when cut.
fn bounded(mut message: String) -> String {
    if message.len() > MAX_MESSAGE_BYTES {
        message.truncate(message.floor_char_boundary(MAX_MESSAGE_BYTES - '…'.len_utf8()));
        message.push('…');
    }
    message
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
    fn long_request_fields_are_quoted_short() {
        let long = "n".repeat(10 * 1024 * 1024);
        let status = to_status(&Error::UnknownRepository(long.clone()));
        assert_eq!(status.message(), format!("unknown repository: {}… (10485760 bytes)", "n".repeat(64)));
        // Whatever builds the message, it is cut at the bound.
        let status = to_status(&Error::Internal(long));
        assert!(status.message().len() <= MAX_MESSAGE_BYTES && status.message().ends_with('…'));
        let status = to_status(&Error::Internal("é".repeat(2000)));
        assert!(status.message().len() <= MAX_MESSAGE_BYTES, "cut on a character boundary");
    }

    #[test]
    fn non_admins_read_no_server_paths() {
        let index = PathBuf::from("/srv/codectx/indexes/requests");
        let cases = [
            (Error::NoIndex(index.clone()), "no index at <path>: run `codectx index` first"),
            (
                Error::CorruptIndex { path: index.clone(), reason: "cannot read /srv/codectx/x/store.bin".into() },
                "index at <path> is corrupt (cannot read <path>): rebuild it with `codectx index --rebuild`",
            ),
            (Error::io(index.join("CURRENT"), std::io::Error::other("disk")), "<path>: disk"),
            (
                Error::Embedding("the index at \"/srv/i\" has no embeddings (mode semantic)".into()),
                "embeddings: the index at \"<path>\" has no embeddings (mode semantic)",
            ),
            (Error::PathNotFound(PathBuf::from("/src/gone")), "path not found: <path>"),
            (
                Error::ModelEndpoint { url: "http://model:8080/v1".into(), reason: "HTTP 500".into() },
                "model endpoint http://model:8080/v1 failed: HTTP 500",
            ),
        ];
        for (error, redacted) in cases {
            let status = to_redacted_status(&error);
            assert_eq!(status.code(), code(&error));
            assert_eq!(status.message(), redacted);
            assert_eq!(to_status(&error).message(), error.to_string(), "admins read the paths");
        }
        // What the caller asked for is its own: kept.
        let asked = Error::NotFound("/etc/passwd is not in the index of r".into());
        assert_eq!(to_redacted_status(&asked).message(), asked.to_string());
        for kept in ["a / b", "src/lib.rs", "https://h/x", "1/2", ""] {
            assert_eq!(redact_paths(kept), kept);
        }
        assert_eq!(redact_paths("/a and (/b/c) or '/d'."), "<path> and (<path>) or '<path>'.");
    }

    #[test]
    fn adapter_rejections_read_like_domain_ones() {
        let status = invalid_argument("the repository name is empty");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), "invalid argument: the repository name is empty");
    }
}
