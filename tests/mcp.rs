//! `codectx mcp`: the Model Context Protocol server over stdin/stdout, driven as a
//! child process with real newline-delimited JSON-RPC 2.0 messages.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use serde_json::{json, Value};

use crate::util;

/// Longest wait for one answer (the first call opens the index and warms the tokenizer).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `codectx mcp` with a reader thread over its stdout; killed on drop.
struct McpChild {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    next_id: u64,
}

impl McpChild {
    /// Spawns `codectx mcp -C <fixture> --index-dir <shared index>`.
    fn start() -> McpChild {
        McpChild::start_with(&util::shared_index().index_dir)
    }

    /// Spawns `codectx mcp -C <fixture> --index-dir <index_dir>`.
    fn start_with(index_dir: &std::path::Path) -> McpChild {
        let mut child = util::codectx()
            .arg("mcp")
            .arg("-C")
            .arg(util::fixture_root())
            .arg("--index-dir")
            .arg(index_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn codectx mcp");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        McpChild { child, stdin, lines, next_id: 1 }
    }

    /// Writes one message as a line of JSON.
    fn send(&mut self, message: &Value) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        let mut line = serde_json::to_string(message).expect("serialize");
        line.push('\n');
        stdin.write_all(line.as_bytes()).expect("write to codectx mcp");
        stdin.flush().expect("flush");
    }

    /// Writes `bytes` and a newline, as they are.
    fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(bytes).and_then(|()| stdin.write_all(b"\n")).expect("write to codectx mcp");
        stdin.flush().expect("flush");
    }

    /// The next message on stdout (bounded wait), which must be JSON-RPC 2.0.
    fn next_message(&mut self) -> Value {
        let line = self.lines.recv_timeout(ANSWER_TIMEOUT).unwrap_or_else(|error| panic!("no message: {error}"));
        let message: Value = serde_json::from_str(&line)
            .unwrap_or_else(|error| panic!("stdout carries a line that is not JSON ({error}): {line:?}"));
        assert_eq!(message["jsonrpc"], "2.0", "{message}");
        message
    }

    /// Sends a request and waits (bounded) for the answer with its id; every
    /// line of stdout must be a JSON-RPC message.
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        loop {
            let line = match self.lines.recv_timeout(ANSWER_TIMEOUT) {
                Ok(line) => line,
                Err(error) => panic!("no answer to {method} (id {id}) within {ANSWER_TIMEOUT:?}: {error}"),
            };
            let message: Value = serde_json::from_str(&line)
                .unwrap_or_else(|error| panic!("stdout carries a line that is not JSON ({error}): {line:?}"));
            assert_eq!(message["jsonrpc"], "2.0", "{message}");
            if message["id"] == json!(id) {
                return message;
            }
            // A notification or log message of the server: skip it.
            assert!(message.get("method").is_some(), "an answer to another id: {message}");
        }
    }

    /// `tools/call` of `name` with `arguments`: the `result` (or the whole message on a JSON-RPC error).
    fn call(&mut self, name: &str, arguments: Value) -> Value {
        self.request("tools/call", json!({ "name": name, "arguments": arguments }))
    }
}

impl Drop for McpChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The text blocks of a `tools/call` result, concatenated.
fn text_of(result: &Value) -> String {
    result["content"]
        .as_array()
        .unwrap_or_else(|| panic!("no content in {result}"))
        .iter()
        .filter(|block| block["type"] == "text")
        .map(|block| block["text"].as_str().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// `initialize`, checked, then `notifications/initialized`.
fn initialize(server: &mut McpChild) -> Value {
    let answer = server.request(
        "initialize",
        json!({
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": { "name": "codectx-tests", "version": "0.0.0" }
        }),
    );
    let result = answer["result"].clone();
    assert_eq!(result["serverInfo"]["name"], "codectx", "{answer}");
    assert_eq!(result["serverInfo"]["version"], env!("CARGO_PKG_VERSION"), "{answer}");
    assert!(result["capabilities"]["tools"].is_object(), "tools capability: {answer}");
    assert!(result["instructions"].as_str().is_some_and(|text| text.contains("get_context")), "{answer}");
    server.send(&json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }));
    result
}

#[test]
fn mcp_session_over_stdio() {
    let mut server = McpChild::start();
    initialize(&mut server);

    // The tools, each with an input schema.
    let listed = server.request("tools/list", json!({}));
    let tools = listed["result"]["tools"].as_array().unwrap_or_else(|| panic!("tools/list: {listed}")).clone();
    let mut names: Vec<&str> = tools.iter().filter_map(|tool| tool["name"].as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["get_context", "references", "search", "symbol_graph", "symbols"], "{listed}");
    for tool in &tools {
        assert_eq!(tool["inputSchema"]["type"], "object", "{tool}");
        assert!(tool["inputSchema"]["properties"].is_object(), "{tool}");
        assert!(tool["description"].as_str().is_some_and(|text| !text.is_empty()), "{tool}");
    }
    let get_context = tools.iter().find(|tool| tool["name"] == "get_context").expect("get_context");
    assert!(get_context["inputSchema"]["properties"]["token_budget"].is_object(), "{get_context}");
    assert_eq!(get_context["inputSchema"]["required"], json!(["query"]), "{get_context}");

    // get_context: the bundle for a question about redirects.
    let answer = server
        .call("get_context", json!({ "query": "How does the session follow HTTP redirects?", "token_budget": 4000 }));
    let result = &answer["result"];
    assert_ne!(result["isError"], true, "{answer}");
    let text = text_of(result);
    assert!(text.contains("pyapp/sessions.py:"), "a pyapp/sessions.py block: {text}");
    assert!(text.contains("Ranked files:"), "the footer: {text}");
    assert!(text.contains("of 4000 tokens used"), "the budget asked for: {text}");

    // symbols: a qualified name.
    let answer = server.call("symbols", json!({ "name": "Session.resolve_redirects" }));
    assert_ne!(answer["result"]["isError"], true, "{answer}");
    let text = text_of(&answer["result"]);
    let line = util::line_of("pyapp/sessions.py", "def resolve_redirects(self, response):");
    assert!(text.contains(&format!("pyapp/sessions.py:{line}-")), "definition at line {line}: {text}");

    // search and references answer too.
    let answer = server.call("search", json!({ "query": "resolve_redirects", "limit": 3 }));
    assert!(text_of(&answer["result"]).contains("pyapp/sessions.py:"), "{answer}");
    let answer = server.call("references", json!({ "name": "resolve_redirects", "page_size": 5 }));
    let text = text_of(&answer["result"]);
    assert!(text.contains("definitions (") && text.contains("callers ("), "{text}");
    // symbol_graph: two hops from Session.send reach join_location through resolve_redirects.
    let answer = server.call("symbol_graph", json!({ "name": "Session.send", "depth": 2 }));
    let text = text_of(&answer["result"]);
    assert!(text.contains("Session.send --calls--> Session.resolve_redirects"), "{text}");
    assert!(text.contains("Session.resolve_redirects --calls--> join_location"), "{text}");
    let answer = server.call("symbol_graph", json!({ "name": "Session.send", "direction": "sideways" }));
    assert_eq!(answer["result"]["isError"], true, "{answer}");

    // An empty query is a tool error with the domain's message, not a crash.
    let answer = server.call("get_context", json!({ "query": "   " }));
    let message = if answer["result"]["isError"] == true {
        text_of(&answer["result"])
    } else {
        answer["error"]["message"].as_str().unwrap_or_else(|| panic!("an error answer: {answer}")).to_string()
    };
    assert!(message.contains("the query is empty"), "{message}");
    assert!(!message.contains('\n'), "one line: {message:?}");

    // Unknown symbols and malformed arguments are errors too; the server keeps answering.
    let answer = server.call("symbols", json!({ "name": "NoSuchSymbolAnywhere" }));
    assert_eq!(answer["result"]["isError"], true, "{answer}");
    assert!(text_of(&answer["result"]).contains("NoSuchSymbolAnywhere"), "{answer}");
    let answer = server.call("search", json!({ "limit": 3 }));
    assert!(answer["error"].is_object() || answer["result"]["isError"] == true, "missing query: {answer}");

    let answer = server.call("symbols", json!({ "name": "resolve_redirects", "limit": 5 }));
    assert_ne!(answer["result"]["isError"], true, "{answer}");
    assert!(text_of(&answer["result"]).contains("pyapp/sessions.py"), "{answer}");

    // Closing stdin ends the server cleanly.
    drop(server.stdin.take());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = server.child.try_wait().expect("wait") {
            assert!(status.success(), "codectx mcp exit status after EOF: {status}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "codectx mcp did not exit after its stdin closed");
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn mcp_without_index_reports_tool_errors() {
    // An index folder with no index: tool calls fail with the one-line NoIndex message.
    let empty = util::temp_dir();
    let mut server = McpChild::start_with(empty.path());
    initialize(&mut server);
    let answer = server.call("get_context", json!({ "query": "redirects" }));
    assert_eq!(answer["result"]["isError"], true, "{answer}");
    assert!(text_of(&answer["result"]).contains("codectx index"), "{answer}");
    let listed = server.request("tools/list", json!({}));
    assert_eq!(listed["result"]["tools"].as_array().map(Vec::len), Some(5), "still serving: {listed}");
}

#[test]
fn mcp_answers_malformed_lines_and_keeps_serving() {
    let mut server = McpChild::start();
    let huge = vec![b'x'; 2 << 20];
    // Before `initialize`, each malformed line gets its JSON-RPC error.
    let cases: [(&[u8], i64, Value, &str); 6] = [
        (b"{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": ", -32700, Value::Null, "Parse error: EOF while parsing"),
        (b"\xff\xfe{}", -32700, Value::Null, "Parse error: invalid UTF-8 at byte 0"),
        (b"", -32700, Value::Null, "Parse error: empty line"),
        (
            &huge,
            -32700,
            Value::Null,
            "Parse error: the line is 2097152 bytes, over the limit of 1048576 bytes per message",
        ),
        (b"[]", -32600, Value::Null, "Invalid Request: batches (JSON arrays) are not supported"),
        (br#"{"jsonrpc":"2.0","id":7,"method":5}"#, -32600, json!(7), "Invalid Request: \"method\" must be a string"),
    ];
    for (line, code, id, says) in cases {
        server.send_raw(line);
        let reply = server.next_message();
        assert_eq!(reply["id"], id, "{reply}");
        assert_eq!(reply["error"]["code"], code, "{reply}");
        let message = reply["error"]["message"].as_str().unwrap_or_else(|| panic!("a message: {reply}"));
        assert!(message.starts_with(says), "{message:?} does not start with {says:?}");
        assert!(message.len() <= codectx_mcp::MAX_ERROR_MESSAGE_BYTES, "{message:?}");
    }
    assert!(server.child.try_wait().expect("wait").is_none(), "codectx mcp exited on malformed input");

    // A notification before `initialize` gets no reply (the next message answers
    // `initialize`), and the session starts as usual.
    server.send(&json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }));
    initialize(&mut server);
    server.send_raw(b"not json");
    let reply = server.next_message();
    assert_eq!((reply["id"].clone(), reply["error"]["code"].clone()), (Value::Null, json!(-32700)), "{reply}");
    let listed = server.request("tools/list", json!({}));
    assert_eq!(listed["result"]["tools"].as_array().map(Vec::len), Some(5), "still serving: {listed}");
    assert!(server.child.try_wait().expect("wait").is_none(), "codectx mcp exited");
}
