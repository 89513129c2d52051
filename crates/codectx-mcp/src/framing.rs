//! The framing of the client's byte stream, in front of `rmcp`.
//!
//! `rmcp`'s stdio transport silently drops a line it cannot decode (not UTF-8,
//! not JSON, empty, over its length limit) and answers a malformed message
//! without its id. This layer reads the client's stream itself, one line (one
//! JSON-RPC message) at a time and at most [`MAX_LINE_BYTES`] of it in memory,
//! and answers every line that is not a JSON-RPC 2.0 message with a JSON-RPC
//! error: [`PARSE_ERROR`] (`-32700`, `id: null`) for a line that is empty, over
//! the limit, not UTF-8 or not JSON, [`INVALID_REQUEST`] (`-32600`, with the
//! message's id when it has a usable one) for JSON that is not a JSON-RPC 2.0
//! message or a request `rmcp` cannot read. Well-formed lines go on to `rmcp`
//! through an in-process pipe. One writer task writes whole lines, so the error
//! replies of this layer and `rmcp`'s answers never interleave inside a line.

use serde_json::{json, Map, Value};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

/// Longest line the client may send, in bytes before its `\n` (1 MiB).
///
/// One line is one JSON-RPC message. The largest real request is a `get_context`
/// call whose query is at the query limit ([`codectx_core::MAX_QUERY_BYTES`],
/// 64 KiB), which JSON escaping can grow up to six times (`\u00XX`), plus the
/// other arguments: 1 MiB holds that with room to spare. A longer line is read
/// through and discarded, never held whole in memory, and answered with a
/// [`PARSE_ERROR`] whose message names this limit.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Longest `message` of an error reply of the framing layer, in bytes (longer
/// messages are cut at a character boundary).
pub const MAX_ERROR_MESSAGE_BYTES: usize = 256;

/// JSON-RPC 2.0 error code of a line that is not JSON: empty or blank, longer
/// than [`MAX_LINE_BYTES`], not UTF-8, or a JSON syntax error.
pub const PARSE_ERROR: i64 = -32700;

/// JSON-RPC 2.0 error code of JSON that is not a valid JSON-RPC 2.0 message: not
/// an object (a batch array included: MCP has no batches), a `jsonrpc` other than
/// `"2.0"`, an `id` that is not a string or an integer, no `method` and no
/// `result`/`error`, or a request whose method or params `rmcp` cannot read.
pub const INVALID_REQUEST: i64 = -32600;

/// JSON-RPC 2.0 error code of a request to a method of the MCP specification
/// (`tools/call`, `prompts/get`, ...) whose `params` do not have that method's
/// shape (a `tools/call` without a string `name`, say).
pub const INVALID_PARAMS: i64 = -32602;

/// The requests of the MCP specification that `rmcp` reads into typed params. A
/// request to one of them whose params do not fit reaches `rmcp` as a custom
/// request, which it would answer "method not found": the framing layer answers
/// [`INVALID_PARAMS`] instead.
const SPEC_METHODS: &[&str] = &[
    "ping",
    "initialize",
    "completion/complete",
    "logging/setLevel",
    "prompts/get",
    "prompts/list",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "tools/call",
    "tools/list",
];

/// Size of the in-process pipes between this layer and `rmcp`, in bytes.
const PIPE_BYTES: usize = 64 * 1024;

/// Whole lines queued for the writer.
const QUEUED_LINES: usize = 64;

/// A JSON-RPC error reply of the framing layer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ErrorReply {
    /// [`PARSE_ERROR`], [`INVALID_REQUEST`] or [`INVALID_PARAMS`].
    pub code: i64,
    /// One line of at most [`MAX_ERROR_MESSAGE_BYTES`] bytes.
    pub message: String,
    /// The message's id, or `null` when it has none that can be read.
    pub id: Value,
}

impl ErrorReply {
    fn new(code: i64, message: impl Into<String>, id: Value) -> ErrorReply {
        let mut message: String = message.into().replace(['\n', '\r'], " ");
        message.truncate(message.floor_char_boundary(MAX_ERROR_MESSAGE_BYTES));
        ErrorReply { code, message, id }
    }

    fn parse(message: impl std::fmt::Display) -> ErrorReply {
        ErrorReply::new(PARSE_ERROR, format!("Parse error: {message}"), Value::Null)
    }

    fn invalid(message: impl std::fmt::Display, id: Value) -> ErrorReply {
        ErrorReply::new(INVALID_REQUEST, format!("Invalid Request: {message}"), id)
    }

    /// The reply to a line of `length` bytes over the limit `max_line`.
    fn too_long(length: u64, max_line: usize) -> ErrorReply {
        ErrorReply::parse(format_args!(
            "the line is {length} bytes, over the limit of {max_line} bytes per message; it was discarded"
        ))
    }

    /// The reply as one line of JSON, `\n` included.
    fn to_line(&self) -> Vec<u8> {
        let reply = json!({
            "jsonrpc": "2.0",
            "id": self.id,
            "error": { "code": self.code, "message": self.message },
        });
        let mut line = reply.to_string().into_bytes();
        line.push(b'\n');
        line
    }
}

/// What a well-formed line holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A request (it has an id) that `rmcp` can read; `initialize` or another.
    Request {
        /// Whether it is the `initialize` request.
        initialize: bool,
    },
    /// A notification (a method, no id).
    Notification,
    /// A response or an error response to a request of the server.
    Response,
}

/// Checks one line (without its `\n`): the JSON-RPC message to hand to `rmcp`
/// (the line without a trailing `\r` and a leading UTF-8 byte order mark) and its
/// kind, or the error reply.
pub(crate) fn check_line(line: &[u8]) -> Result<(&[u8], Kind), ErrorReply> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
    if line.iter().all(|byte| matches!(byte, b' ' | b'\t' | b'\r' | b'\n')) {
        return Err(ErrorReply::parse("empty line; send one JSON-RPC message per line"));
    }
    let text = std::str::from_utf8(line)
        .map_err(|error| ErrorReply::parse(format_args!("invalid UTF-8 at byte {}", error.valid_up_to())))?;
    let value: Value = serde_json::from_str(text).map_err(ErrorReply::parse)?;
    let kind = check_message(value)?;
    Ok((line, kind))
}

/// The id of a message when it is one JSON-RPC allows and `rmcp` reads: a string
/// or an integer in `i64`.
fn usable_id(id: &Value) -> bool {
    id.is_string() || id.is_i64()
}

/// Checks the shape of a JSON value as a JSON-RPC 2.0 message.
fn check_message(value: Value) -> Result<Kind, ErrorReply> {
    let object: Map<String, Value> = match value {
        Value::Object(object) => object,
        Value::Array(_) => {
            return Err(ErrorReply::invalid(
                "batches (JSON arrays) are not supported; send one JSON-RPC message per line",
                Value::Null,
            ))
        }
        _ => return Err(ErrorReply::invalid("a JSON-RPC message is a JSON object", Value::Null)),
    };
    let id = object.get("id");
    let reply_id = id.filter(|id| usable_id(id)).cloned().unwrap_or(Value::Null);
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(ErrorReply::invalid("\"jsonrpc\" must be \"2.0\"", reply_id));
    }
    let (method, result, error) = (object.get("method"), object.get("result"), object.get("error"));
    if let Some(method) = method {
        if result.is_some() || error.is_some() {
            return Err(ErrorReply::invalid(
                "a message has either a \"method\" or a \"result\"/\"error\", not both",
                reply_id,
            ));
        }
        let Some(method) = method.as_str() else {
            return Err(ErrorReply::invalid("\"method\" must be a string", reply_id));
        };
        if object.get("params").is_some_and(|params| !params.is_object()) {
            return Err(ErrorReply::invalid("\"params\" must be an object", reply_id));
        }
        let Some(id) = id else { return Ok(Kind::Notification) };
        if !usable_id(id) {
            return Err(ErrorReply::invalid("\"id\" must be a string or an integer", Value::Null));
        }
        let initialize = method == "initialize";
        let method = method.to_owned();
        // What `rmcp` cannot read it answers without the id: answer here, with it.
        return match serde_json::from_value::<rmcp::model::ClientJsonRpcMessage>(Value::Object(object)) {
            Ok(rmcp::model::ClientJsonRpcMessage::Request(request))
                if matches!(request.request, rmcp::model::ClientRequest::CustomRequest(_))
                    && SPEC_METHODS.contains(&method.as_str()) =>
            {
                Err(ErrorReply::new(
                    INVALID_PARAMS,
                    format!(
                        "Invalid params: the params of {method:?} do not have the shape the MCP specification gives"
                    ),
                    reply_id,
                ))
            }
            Ok(_) => Ok(Kind::Request { initialize }),
            Err(error) => Err(ErrorReply::invalid(
                format_args!("unknown method or malformed params of {method:?}: {error}"),
                reply_id,
            )),
        };
    }
    match (result, error) {
        (Some(_), None) | (None, Some(_)) => {}
        _ => {
            return Err(ErrorReply::invalid(
                "a message has a \"method\" (request, notification) or one of \"result\" and \"error\" (response)",
                reply_id,
            ))
        }
    }
    match id {
        Some(id) if usable_id(id) => Ok(Kind::Response),
        // An error response whose request had no readable id.
        Some(Value::Null) if error.is_some() => Ok(Kind::Response),
        _ => Err(ErrorReply::invalid("a response's \"id\" must be a string or an integer", Value::Null)),
    }
}

/// One line read by [`LineReader::next_line`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Line {
    /// A line of at most the limit, in [`LineReader::line`].
    Complete,
    /// A line over the limit, read through and dropped: its length in bytes.
    TooLong(u64),
}

/// Reads `\n`-terminated lines, holding at most `max_line` bytes of one.
pub(crate) struct LineReader<R> {
    reader: BufReader<R>,
    line: Vec<u8>,
    max_line: usize,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    /// A reader of lines of at most `max_line` bytes (before the `\n`).
    pub(crate) fn new(reader: R, max_line: usize) -> LineReader<R> {
        LineReader { reader: BufReader::with_capacity(PIPE_BYTES, reader), line: Vec::new(), max_line }
    }

    /// The line of the last [`Line::Complete`], without its `\n`.
    pub(crate) fn line(&self) -> &[u8] {
        &self.line
    }

    /// The next line; `None` at the end of the stream. An unterminated last line
    /// counts as a line. Not cancellation safe (a dropped call loses its line).
    pub(crate) async fn next_line(&mut self) -> std::io::Result<Option<Line>> {
        self.line.clear();
        let mut length: u64 = 0;
        let mut too_long = false;
        loop {
            let available = self.reader.fill_buf().await?;
            if available.is_empty() {
                return Ok((length > 0).then_some(if too_long { Line::TooLong(length) } else { Line::Complete }));
            }
            let newline = available.iter().position(|&byte| byte == b'\n');
            let take = newline.unwrap_or(available.len());
            length += take as u64;
            if !too_long {
                if self.line.len() + take > self.max_line {
                    too_long = true;
                    self.line.clear();
                } else {
                    self.line.extend_from_slice(&available[..take]);
                }
            }
            self.reader.consume(newline.map_or(take, |at| at + 1));
            if newline.is_some() {
                return Ok(Some(if too_long { Line::TooLong(length) } else { Line::Complete }));
            }
        }
    }
}

/// Reads the client's lines until the end of `reader` (or until the writer or
/// `rmcp` is gone): error replies go to `replies`, well-formed messages to
/// `to_rmcp`, one per line. Until an `initialize` request has gone on,
/// notifications and responses are dropped (the MCP lifecycle allows only `ping`
/// before `initialize`, and `rmcp` ends the session on anything else); after the
/// end of `reader`, `to_rmcp` is shut down so that `rmcp` ends too.
pub(crate) async fn read_client<R, W>(
    reader: R,
    mut to_rmcp: W,
    replies: mpsc::Sender<Vec<u8>>,
    max_line: usize,
) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut lines = LineReader::new(reader, max_line);
    let mut initialized = false;
    while let Some(line) = lines.next_line().await? {
        let checked = match line {
            Line::TooLong(length) => Err(ErrorReply::too_long(length, max_line)),
            Line::Complete => check_line(lines.line()),
        };
        match checked {
            Ok((message, kind)) => {
                match kind {
                    Kind::Request { initialize } => initialized |= initialize,
                    Kind::Notification | Kind::Response if !initialized => {
                        tracing::debug!(?kind, "dropping a message before initialize");
                        continue;
                    }
                    Kind::Notification | Kind::Response => {}
                }
                let mut framed = Vec::with_capacity(message.len() + 1);
                framed.extend_from_slice(message);
                framed.push(b'\n');
                if to_rmcp.write_all(&framed).await.is_err() {
                    tracing::debug!("the MCP service is gone; no more input");
                    return Ok(());
                }
            }
            Err(reply) => {
                tracing::debug!(code = reply.code, message = %reply.message, "malformed line");
                if replies.send(reply.to_line()).await.is_err() {
                    return Ok(());
                }
            }
        }
    }
    let _ = to_rmcp.shutdown().await;
    Ok(())
}

/// Forwards `rmcp`'s output, line by line, to the writer until `rmcp` closes it.
pub(crate) async fn forward_service<R: AsyncRead + Unpin>(
    from_rmcp: R,
    lines: mpsc::Sender<Vec<u8>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::with_capacity(PIPE_BYTES, from_rmcp);
    loop {
        let mut line = Vec::new();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        if !line.ends_with(b"\n") {
            line.push(b'\n');
        }
        if lines.send(line).await.is_err() {
            return Ok(());
        }
    }
}

/// Writes whole lines to `writer` until every sender is gone, flushing whenever
/// the queue is empty.
pub(crate) async fn write_lines<W: AsyncWrite + Unpin>(
    mut lines: mpsc::Receiver<Vec<u8>>,
    mut writer: W,
) -> std::io::Result<()> {
    while let Some(line) = lines.recv().await {
        writer.write_all(&line).await?;
        if lines.is_empty() {
            writer.flush().await?;
        }
    }
    writer.flush().await
}

/// Runs `service` (`rmcp` over the two ends of its pipes: what it reads, what it
/// writes) behind the framing layer over `reader` and `writer`, lines of at most
/// `max_line` bytes, until the client's stream ends and `service` is done.
///
/// # Errors
///
/// The error of `service`, else of reading `reader`, else of writing `writer`.
pub(crate) async fn serve_framed<R, W, F>(
    reader: R,
    writer: W,
    max_line: usize,
    service: impl FnOnce(tokio::io::DuplexStream, tokio::io::DuplexStream) -> F,
) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
    F: std::future::Future<Output = std::io::Result<()>>,
{
    let (to_rmcp, rmcp_input) = tokio::io::duplex(PIPE_BYTES);
    let (rmcp_output, from_rmcp) = tokio::io::duplex(PIPE_BYTES);
    let (lines, queued) = mpsc::channel(QUEUED_LINES);
    let (done, service_done) = tokio::sync::oneshot::channel::<()>();
    let service = async move {
        let result = service(rmcp_input, rmcp_output).await;
        let _ = done.send(());
        result
    };
    let replies = lines.clone();
    let input = async move {
        let closed = replies.clone();
        tokio::select! {
            result = read_client(reader, to_rmcp, replies, max_line) => result,
            // `rmcp` ended (its session failed): stop reading.
            _ = service_done => Ok(()),
            // The writer failed: nobody hears the answers.
            () = closed.closed() => Ok(()),
        }
    };
    let output = forward_service(from_rmcp, lines);
    let (service, input, output, written) = tokio::join!(service, input, output, write_lines(queued, writer));
    service?;
    input?;
    output?;
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply_of(line: &[u8]) -> ErrorReply {
        check_line(line).expect_err("an error reply")
    }

    #[test]
    fn parse_errors() {
        for line in [&b""[..], b"   ", b"\r", b"\t \r"] {
            let reply = reply_of(line);
            assert_eq!((reply.code, &reply.id), (PARSE_ERROR, &Value::Null), "{line:?}");
            assert!(reply.message.contains("empty line"), "{reply:?}");
        }
        let reply = reply_of(b"{\"jsonrpc\":\"2.0\",\xff}");
        assert_eq!(reply.message, "Parse error: invalid UTF-8 at byte 17");
        let reply = reply_of(b"{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": ");
        assert_eq!(reply.code, PARSE_ERROR);
        assert!(reply.message.starts_with("Parse error: EOF while parsing"), "{reply:?}");
        let nested = "[".repeat(10_000);
        let reply = reply_of(nested.as_bytes());
        assert!(reply.message.contains("recursion limit"), "{reply:?}");
        let reply = ErrorReply::too_long(3 << 20, MAX_LINE_BYTES);
        assert_eq!(
            reply.message,
            "Parse error: the line is 3145728 bytes, over the limit of 1048576 bytes per message; it was discarded"
        );
        let line = String::from_utf8(reply.to_line()).expect("UTF-8");
        assert!(line.ends_with("}\n") && line.matches('\n').count() == 1, "{line:?}");
        let value: Value = serde_json::from_str(&line).expect("JSON");
        assert_eq!(value, json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": reply.message}}));
    }

    #[test]
    fn invalid_requests_keep_a_usable_id() {
        let cases: &[(&str, Value, &str)] = &[
            ("[]", Value::Null, "batches"),
            (r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#, Value::Null, "batches"),
            ("42", Value::Null, "JSON object"),
            (r#""ping""#, Value::Null, "JSON object"),
            (r#"{"id":7,"method":"ping"}"#, json!(7), "\"jsonrpc\" must be"),
            (r#"{"jsonrpc":"1.0","id":"a","method":"ping"}"#, json!("a"), "\"jsonrpc\" must be"),
            (r#"{"jsonrpc":"2.0","id":7,"method":5}"#, json!(7), "\"method\" must be a string"),
            (r#"{"jsonrpc":"2.0","id":7,"method":"ping","params":[1]}"#, json!(7), "\"params\""),
            (r#"{"jsonrpc":"2.0","id":7,"method":"ping","result":{}}"#, json!(7), "not both"),
            (r#"{"jsonrpc":"2.0","id":[7],"method":"ping"}"#, Value::Null, "\"id\" must be"),
            (r#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#, Value::Null, "\"id\" must be"),
            (r#"{"jsonrpc":"2.0","id":7}"#, json!(7), "one of \"result\""),
            (r#"{"jsonrpc":"2.0","id":7,"result":1,"error":{}}"#, json!(7), "one of \"result\""),
            (r#"{"jsonrpc":"2.0","result":{}}"#, Value::Null, "response's \"id\""),
        ];
        for (line, id, says) in cases {
            let reply = reply_of(line.as_bytes());
            assert_eq!((reply.code, &reply.id), (INVALID_REQUEST, id), "{line}: {reply:?}");
            assert!(reply.message.starts_with("Invalid Request: ") && reply.message.contains(says), "{reply:?}");
            assert!(reply.message.len() <= MAX_ERROR_MESSAGE_BYTES, "{reply:?}");
        }
    }

    #[test]
    fn spec_methods_with_malformed_params_are_invalid_params() {
        for line in [
            r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{}}"#,
            r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":5}}"#,
            r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"arguments":{}}}"#,
        ] {
            let reply = reply_of(line.as_bytes());
            assert_eq!((reply.code, &reply.id), (INVALID_PARAMS, &json!(9)), "{line}: {reply:?}");
            assert!(reply.message.starts_with("Invalid params: ") && reply.message.contains("tools/call"), "{reply:?}");
        }
        // A method outside the specification goes on to `rmcp` (which answers "method not found").
        let custom = r#"{"jsonrpc":"2.0","id":9,"method":"x/y","params":{}}"#;
        assert_eq!(check_line(custom.as_bytes()).map(|(_, kind)| kind), Ok(Kind::Request { initialize: false }));
    }

    #[test]
    fn well_formed_messages_pass() {
        let cases: &[(&[u8], &[u8], Kind)] = &[
            (
                b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\r",
                b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}",
                Kind::Request { initialize: false },
            ),
            (
                b"\xEF\xBB\xBF{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
                b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
                Kind::Notification,
            ),
            (
                b"{\"jsonrpc\":\"2.0\",\"id\":\"s\",\"result\":{}}",
                b"{\"jsonrpc\":\"2.0\",\"id\":\"s\",\"result\":{}}",
                Kind::Response,
            ),
            (
                b"{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"x\"}}",
                b"{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"x\"}}",
                Kind::Response,
            ),
            (
                b"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"custom/thing\",\"params\":{}}",
                b"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"custom/thing\",\"params\":{}}",
                Kind::Request { initialize: false },
            ),
        ];
        for (line, message, kind) in cases {
            assert_eq!(check_line(line), Ok((*message, *kind)), "{:?}", String::from_utf8_lossy(line));
        }
        let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
        let line = initialize.to_string();
        assert_eq!(check_line(line.as_bytes()).map(|(_, kind)| kind), Ok(Kind::Request { initialize: true }));
    }

    #[tokio::test]
    async fn line_reader_holds_at_most_the_limit() {
        let input: Vec<u8> = [&b"abcd\n"[..], b"abcdefgh\n", b"\n", b"abcdefghi\r\n", b"tail"].concat();
        let mut reader = LineReader::new(&input[..], 8);
        let mut lines = Vec::new();
        while let Some(line) = reader.next_line().await.expect("read") {
            lines.push((line, String::from_utf8_lossy(reader.line()).into_owned()));
        }
        let expected = [
            (Line::Complete, "abcd"),
            (Line::Complete, "abcdefgh"),
            (Line::Complete, ""),
            (Line::TooLong(10), ""),
            (Line::Complete, "tail"),
        ];
        assert_eq!(lines, expected.map(|(line, text)| (line, text.to_string())));
        assert!(reader.line.capacity() <= 16, "{}", reader.line.capacity());
    }
}
