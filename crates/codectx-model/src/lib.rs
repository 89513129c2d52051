//! Client for OpenAI-compatible `/v1/chat/completions` endpoints (OpenAI, vLLM,
//! Ollama, llama.cpp server), with streaming.
//!
//! [`ChatClient::stream_chat`] posts a chat request with `"stream": true` and yields
//! the answer as it is generated: [`ChatDelta::Token`]s in order, then — when the
//! server reports it — one [`ChatDelta::Usage`] with the token counts. Every failure
//! is a [`codectx_core::Error::ModelEndpoint`] naming the URL called and a short,
//! one-line reason (`connection refused`, `timed out after 30s`,
//! `HTTP 401: {"error": ...}`, `malformed stream chunk: ...`).
//!
//! [`build_messages`] turns an assembled [`ContextBundle`] and a question into the
//! prompt.
//!
//! ```no_run
//! # async fn demo(bundle: codectx_core::ContextBundle) -> codectx_core::Result<()> {
//! use std::time::Duration;
//! use futures::StreamExt;
//! use codectx_model::{build_messages, ChatClient, ChatDelta};
//!
//! let client = ChatClient::new("http://127.0.0.1:11434/v1", None, Duration::from_secs(300))?;
//! let messages = build_messages(&bundle, "Where are redirects resolved?");
//! let mut stream = client.stream_chat("qwen2.5-coder:7b", messages, Some(512), Some(0.2)).await?;
//! while let Some(delta) = stream.next().await {
//!     match delta? {
//!         ChatDelta::Token(text) => print!("{text}"),
//!         ChatDelta::Usage { prompt_tokens, completion_tokens } => {
//!             eprintln!("\n{prompt_tokens} prompt + {completion_tokens} completion tokens")
//!         }
//!     }
//! }
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

use std::time::Duration;

use codectx_core::{ContextBundle, Error, Result};
use eventsource_stream::{EventStreamError, Eventsource};
use futures::stream::{self, BoxStream, StreamExt};
use serde::{Deserialize, Serialize};

/// Most characters of an error response body quoted in an error message.
const MAX_BODY_CHARS: usize = 200;
/// Most characters of a malformed stream chunk quoted in an error message.
const MAX_CHUNK_CHARS: usize = 100;
/// Longest time spent establishing a connection, whatever the overall timeout.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// One message of a chat conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `"system"`, `"user"` or `"assistant"`.
    pub role: String,
    /// The text.
    pub content: String,
}

impl ChatMessage {
    /// A `system` message.
    pub fn system(content: impl Into<String>) -> Self {
        ChatMessage { role: "system".into(), content: content.into() }
    }

    /// A `user` message.
    pub fn user(content: impl Into<String>) -> Self {
        ChatMessage { role: "user".into(), content: content.into() }
    }
}

/// One item of a streamed chat completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatDelta {
    /// A piece of the answer, in order. Never empty.
    Token(String),
    /// Token counts reported by the server; the last item of the stream, and only
    /// present when the server reports usage.
    Usage {
        /// Tokens of the prompt, as counted by the server's tokenizer.
        prompt_tokens: u32,
        /// Tokens of the completion, as counted by the server's tokenizer.
        completion_tokens: u32,
    },
}

/// A client of one OpenAI-compatible endpoint. Cheap to clone (the connection pool
/// is shared).
#[derive(Clone)]
pub struct ChatClient {
    http: reqwest::Client,
    /// `{base_url}/chat/completions`.
    endpoint: String,
    api_key: Option<String>,
    timeout: Duration,
}

impl std::fmt::Debug for ChatClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the API key.
        f.debug_struct("ChatClient")
            .field("endpoint", &self.endpoint)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The JSON body of a chat completion request.
#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: &'a [ChatMessage],
    stream: bool,
    stream_options: StreamOptions,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

/// One `data:` chunk of a streamed completion, or a whole non-streamed completion
/// (`message` instead of `delta`). Unknown fields are ignored.
#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<WireUsage>,
    /// Servers report failures after the stream started as `{"error": {...}}`.
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    delta: Option<Content>,
    #[serde(default)]
    message: Option<Content>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Content {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize, Clone, Copy)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u32,
    #[serde(default)]
    completion_tokens: u32,
}

impl ChatClient {
    /// A client of the endpoint at `base_url`, the URL up to and including `/v1`
    /// (`http://127.0.0.1:8080/v1`, `https://api.openai.com/v1`; a trailing `/` is
    /// allowed). `api_key`, when given, is sent as `Authorization: Bearer <key>`.
    /// `timeout` bounds a whole request, streaming included; connecting is further
    /// bounded by 10 s.
    ///
    /// # Errors
    ///
    /// [`Error::ModelEndpoint`] if `base_url` is not an absolute `http`/`https` URL,
    /// [`Error::InvalidArgument`] if `timeout` is zero, [`Error::Internal`] if the
    /// HTTP client cannot be built (no TLS backend).
    pub fn new(base_url: &str, api_key: Option<String>, timeout: Duration) -> Result<Self> {
        let trimmed = base_url.trim().trim_end_matches('/');
        let url = reqwest::Url::parse(trimmed).map_err(|error| Error::ModelEndpoint {
            url: base_url.to_string(),
            reason: format!("invalid base URL: {error}"),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::ModelEndpoint {
                url: base_url.to_string(),
                reason: format!("invalid base URL: scheme {:?} is not http or https", url.scheme()),
            });
        }
        if timeout.is_zero() {
            return Err(Error::InvalidArgument("the model request timeout is zero".into()));
        }
        // reqwest is built without a TLS crypto provider of its own: rustls's `ring`.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(MAX_CONNECT_TIMEOUT))
            .user_agent(concat!("codectx/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| Error::Internal(format!("cannot build the HTTP client: {}", root_cause(&error))))?;
        Ok(ChatClient {
            http,
            endpoint: format!("{trimmed}/chat/completions"),
            api_key: api_key.filter(|key| !key.is_empty()),
            timeout,
        })
    }

    /// The URL requests are posted to: `{base_url}/chat/completions`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Posts a streamed chat completion and returns the answer as a stream.
    ///
    /// The request is `{"model", "messages", "stream": true, "stream_options":
    /// {"include_usage": true}, "max_tokens"?, "temperature"?}`. The stream yields
    /// the non-empty content deltas as [`ChatDelta::Token`]s in order, and last, if
    /// the server reported token counts, one [`ChatDelta::Usage`]. It ends at the
    /// server's `data: [DONE]` (or at the end of the body after a chunk with a
    /// `finish_reason`, for servers that omit `[DONE]`). A server that ignores
    /// `stream` and answers one `application/json` completion is accepted too.
    ///
    /// # Errors
    ///
    /// All [`Error::ModelEndpoint`] with this client's [`endpoint`](Self::endpoint):
    /// before the stream, if the connection fails (`connection refused`, DNS,
    /// `timed out after Ns`) or the server answers a non-2xx status
    /// (`HTTP 401: <first 200 characters of the body>`); as the stream's last item,
    /// if the connection breaks or times out, a chunk is not valid JSON
    /// (`malformed stream chunk: ...`), the server sends an `error` object, or the
    /// body ends before the completion finished.
    pub async fn stream_chat(
        &self,
        model: &str,
        messages: Vec<ChatMessage>,
        max_tokens: Option<u32>,
        temperature: Option<f32>,
    ) -> Result<BoxStream<'static, Result<ChatDelta>>> {
        let body = ChatRequest {
            model,
            messages: &messages,
            stream: true,
            stream_options: StreamOptions { include_usage: true },
            max_tokens,
            temperature,
        };
        let mut request =
            self.http.post(&self.endpoint).header(reqwest::header::ACCEPT, "text/event-stream").json(&body);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.map_err(|error| self.transport_error(&error))?;
        let status = response.status();
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            let reason = if text.trim().is_empty() {
                format!("HTTP {status}")
            } else {
                format!("HTTP {}: {}", status.as_u16(), one_line(&text, MAX_BODY_CHARS))
            };
            return Err(self.error(reason));
        }
        let is_json = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("application/json"));
        if is_json {
            return self.whole_completion(response).await;
        }

        let state = StreamState {
            client: self.clone(),
            events: response.bytes_stream().eventsource().boxed(),
            usage: None,
            finished: false,
            done: false,
        };
        Ok(stream::unfold(state, StreamState::next).boxed())
    }

    /// Reads a non-streamed `application/json` completion and yields it as one
    /// token (if not empty) and its usage (if reported).
    async fn whole_completion(&self, response: reqwest::Response) -> Result<BoxStream<'static, Result<ChatDelta>>> {
        let text = response.text().await.map_err(|error| self.transport_error(&error))?;
        let chunk: Chunk = serde_json::from_str(&text).map_err(|error| {
            self.error(format!("malformed response: {error}: {}", one_line(&text, MAX_CHUNK_CHARS)))
        })?;
        if let Some(error) = chunk.error {
            return Err(self.error(format!("server error: {}", error_message(&error))));
        }
        let mut items = Vec::new();
        let content: String = chunk
            .choices
            .into_iter()
            .filter_map(|choice| choice.message.or(choice.delta).and_then(|content| content.content))
            .collect();
        if !content.is_empty() {
            items.push(Ok(ChatDelta::Token(content)));
        }
        if let Some(usage) = chunk.usage {
            items.push(Ok(ChatDelta::Usage {
                prompt_tokens: usage.prompt_tokens,
                completion_tokens: usage.completion_tokens,
            }));
        }
        Ok(stream::iter(items).boxed())
    }

    fn error(&self, reason: String) -> Error {
        Error::ModelEndpoint { url: self.endpoint.clone(), reason }
    }

    /// A short reason for a transport failure: `timed out after 30s`, or the
    /// innermost cause (`Connection refused (os error 111)`, `failed to lookup
    /// address information: ...`).
    fn transport_error(&self, error: &reqwest::Error) -> Error {
        let reason = if error.is_timeout() {
            format!("timed out after {}", format_duration(self.timeout))
        } else if error.is_connect() {
            format!("cannot connect: {}", root_cause(error))
        } else {
            root_cause(error)
        };
        self.error(reason)
    }
}

/// State of a streamed completion being read.
struct StreamState {
    client: ChatClient,
    events: BoxStream<'static, std::result::Result<eventsource_stream::Event, EventStreamError<reqwest::Error>>>,
    /// Last usage the server reported (some send it in every chunk).
    usage: Option<WireUsage>,
    /// A choice reported a `finish_reason`.
    finished: bool,
    /// Nothing more to yield.
    done: bool,
}

impl StreamState {
    /// Yields the next item; the `unfold` step.
    async fn next(mut self) -> Option<(Result<ChatDelta>, StreamState)> {
        if self.done {
            return None;
        }
        loop {
            let event = match self.events.next().await {
                Some(Ok(event)) => event,
                Some(Err(error)) => {
                    let reason = self.stream_error(&error);
                    return self.fail(reason);
                }
                None if self.finished => return self.finish(),
                None => return self.fail("the stream ended before the completion finished".into()),
            };
            let data = event.data.trim();
            if data.is_empty() {
                continue;
            }
            if data == "[DONE]" {
                return self.finish();
            }
            let chunk: Chunk = match serde_json::from_str(data) {
                Ok(chunk) => chunk,
                Err(error) => {
                    let reason = format!("malformed stream chunk: {error}: {}", one_line(data, MAX_CHUNK_CHARS));
                    return self.fail(reason);
                }
            };
            if let Some(error) = chunk.error {
                return self.fail(format!("server error: {}", error_message(&error)));
            }
            if chunk.usage.is_some() {
                self.usage = chunk.usage;
            }
            let mut text = String::new();
            for choice in chunk.choices {
                if choice.finish_reason.is_some() {
                    self.finished = true;
                }
                if let Some(content) = choice.delta.or(choice.message).and_then(|content| content.content) {
                    text.push_str(&content);
                }
            }
            if !text.is_empty() {
                return Some((Ok(ChatDelta::Token(text)), self));
            }
        }
    }

    /// Ends the stream, yielding the usage if the server reported it.
    fn finish(mut self) -> Option<(Result<ChatDelta>, StreamState)> {
        self.done = true;
        let usage = self.usage.take()?;
        let delta = ChatDelta::Usage { prompt_tokens: usage.prompt_tokens, completion_tokens: usage.completion_tokens };
        Some((Ok(delta), self))
    }

    /// Ends the stream with an error as its last item.
    fn fail(mut self, reason: String) -> Option<(Result<ChatDelta>, StreamState)> {
        self.done = true;
        let error = self.client.error(reason);
        Some((Err(error), self))
    }

    fn stream_error(&self, error: &EventStreamError<reqwest::Error>) -> String {
        match error {
            EventStreamError::Transport(error) if error.is_timeout() => {
                format!("timed out after {} while streaming", format_duration(self.client.timeout))
            }
            EventStreamError::Transport(error) => format!("stream interrupted: {}", root_cause(error)),
            EventStreamError::Utf8(error) => format!("malformed stream: {error}"),
            EventStreamError::Parser(error) => format!("malformed stream: {error}"),
        }
    }
}

/// The message of a server's `error` value: `error.message` if it has one, else the
/// value itself, on one line.
fn error_message(error: &serde_json::Value) -> String {
    let text = match error.get("message").and_then(|message| message.as_str()) {
        Some(message) => message.to_string(),
        None => match error.as_str() {
            Some(message) => message.to_string(),
            None => error.to_string(),
        },
    };
    one_line(&text, MAX_BODY_CHARS)
}

/// The innermost cause of an error chain, which names the actual failure
/// (`Connection refused (os error 111)`) rather than the request.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    one_line(&current.to_string(), MAX_BODY_CHARS)
}

/// `text` with runs of whitespace collapsed to single spaces, cut to at most
/// `max_chars` characters (`...` appended when cut).
fn one_line(text: &str, max_chars: usize) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match collapsed.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}...", &collapsed[..cut]),
        None => collapsed,
    }
}

/// `30s`, `1.5s`, `250ms`.
fn format_duration(duration: Duration) -> String {
    if duration.as_millis() < 1000 {
        format!("{}ms", duration.as_millis())
    } else if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{:.1}s", duration.as_secs_f64())
    }
}

/// The system prompt of [`build_messages`].
pub const SYSTEM_PROMPT: &str = "You are a senior software engineer answering questions about a code repository. \
Answer using the repository context provided, which consists of excerpts headed by `path:start-end`. \
Cite the code you rely on as `path:line` or `path:start-end`. \
If the context does not contain the answer, say so rather than guessing.";

/// Builds the prompt for a question about a repository: a system message (the
/// [`SYSTEM_PROMPT`]: answer using the context, cite `path:line`) and a user message
/// holding the bundle rendered by [`ContextBundle::render`], then the question.
///
/// An empty bundle is stated as such, so the model does not invent code.
pub fn build_messages(bundle: &ContextBundle, question: &str) -> Vec<ChatMessage> {
    let rendered = bundle.render();
    let context = if rendered.trim().is_empty() {
        "(no relevant code was found in the repository)\n".to_string()
    } else {
        rendered
    };
    let user = format!("Repository context:\n\n{context}\nQuestion:\n{}", question.trim());
    vec![ChatMessage::system(SYSTEM_PROMPT), ChatMessage::user(user)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use codectx_core::{Block, BlockKind};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::oneshot;

    fn bundle() -> ContextBundle {
        ContextBundle {
            blocks: vec![Block {
                path: "src/sessions.py".into(),
                start_line: 10,
                end_line: 12,
                symbol: "Session.resolve_redirects".into(),
                kind: BlockKind::Code,
                score: 1.0,
                signals: Vec::new(),
                tokens: 12,
                text: "def resolve_redirects(self, resp):\n    return resp\n".into(),
            }],
            files: Vec::new(),
            tokens_used: 12,
            token_budget: 8000,
            fingerprint: "abc".into(),
            commit: String::new(),
            vector_coverage: None,
        }
    }

    /// A request as received by the stub: headers (lowercased names) and body.
    struct Received {
        head: String,
        body: serde_json::Value,
    }

    /// Reads one HTTP/1.1 request (headers, then `Content-Length` bytes of body).
    async fn read_request(socket: &mut TcpStream) -> Received {
        let mut buffer = Vec::new();
        let mut chunk = [0u8; 4096];
        let header_end = loop {
            let read = socket.read(&mut chunk).await.unwrap();
            assert!(read > 0, "client closed before sending headers");
            buffer.extend_from_slice(&chunk[..read]);
            if let Some(position) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
                break position + 4;
            }
        };
        let head = String::from_utf8_lossy(&buffer[..header_end]).to_lowercase();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .map(|value| value.trim().parse().unwrap())
            .unwrap_or(0);
        while buffer.len() < header_end + length {
            let read = socket.read(&mut chunk).await.unwrap();
            assert!(read > 0, "client closed mid-body");
            buffer.extend_from_slice(&chunk[..read]);
        }
        let body = serde_json::from_slice(&buffer[header_end..header_end + length]).unwrap();
        Received { head, body }
    }

    /// Serves one request on a loopback port with `response` (status line, headers
    /// and body, written verbatim, then the connection is closed). Returns the base
    /// URL and what the server received.
    async fn stub(response: String) -> (String, oneshot::Receiver<Received>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (sender, receiver) = oneshot::channel();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let received = read_request(&mut socket).await;
            let _ = sender.send(received);
            socket.write_all(response.as_bytes()).await.unwrap();
            socket.shutdown().await.unwrap();
        });
        (format!("http://{address}/v1"), receiver)
    }

    fn sse(events: &[&str]) -> String {
        let mut response =
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n".to_string();
        for event in events {
            response.push_str(&format!("data: {event}\n\n"));
        }
        response
    }

    fn token_chunk(text: &str) -> String {
        serde_json::json!({"id": "c", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]}).to_string()
    }

    async fn collect(client: &ChatClient) -> Vec<Result<ChatDelta>> {
        let messages = build_messages(&bundle(), "How are redirects resolved?");
        let stream = client.stream_chat("test-model", messages, Some(64), Some(0.2)).await.unwrap();
        stream.collect().await
    }

    #[tokio::test]
    async fn streams_tokens_in_order_then_usage() {
        let role = r#"{"choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}"#;
        let finish = r#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#;
        let usage = r#"{"choices":[],"usage":{"prompt_tokens":42,"completion_tokens":3,"total_tokens":45}}"#;
        let (a, b, c) =
            (token_chunk("Redirects "), token_chunk("are resolved in "), token_chunk("`src/sessions.py:10`."));
        let (url, received) = stub(sse(&[role, &a, &b, &c, finish, usage, "[DONE]"])).await;
        let client = ChatClient::new(&url, Some("sk-test".into()), Duration::from_secs(10)).unwrap();
        let items: Vec<ChatDelta> = collect(&client).await.into_iter().map(|item| item.unwrap()).collect();
        assert_eq!(
            items,
            vec![
                ChatDelta::Token("Redirects ".into()),
                ChatDelta::Token("are resolved in ".into()),
                ChatDelta::Token("`src/sessions.py:10`.".into()),
                ChatDelta::Usage { prompt_tokens: 42, completion_tokens: 3 },
            ]
        );

        let received = received.await.unwrap();
        assert!(received.head.starts_with("post /v1/chat/completions http/1.1"), "{}", received.head);
        assert!(received.head.contains("authorization: bearer sk-test"), "{}", received.head);
        let body = received.body;
        assert_eq!(body["model"], "test-model");
        assert_eq!(body["stream"], true);
        assert_eq!(body["stream_options"]["include_usage"], true);
        assert_eq!(body["max_tokens"], 64);
        assert!((body["temperature"].as_f64().unwrap() - 0.2).abs() < 1e-6);
        let messages = body["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0]["role"], "system");
        assert_eq!(messages[1]["role"], "user");
        let user = messages[1]["content"].as_str().unwrap();
        assert!(user.contains("src/sessions.py:10-12 (Session.resolve_redirects)"), "{user}");
        assert!(user.contains("def resolve_redirects(self, resp):"), "{user}");
        assert!(user.ends_with("How are redirects resolved?"), "{user}");
    }

    #[tokio::test]
    async fn omits_optional_fields_and_auth_when_unset() {
        let (url, received) = stub(sse(&[&token_chunk("ok"), "[DONE]"])).await;
        let client = ChatClient::new(&format!("{url}/"), None, Duration::from_secs(10)).unwrap();
        let stream = client.stream_chat("m", vec![ChatMessage::user("hi")], None, None).await.unwrap();
        let items: Vec<_> = stream.collect().await;
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].as_ref().unwrap(), &ChatDelta::Token("ok".into()));
        let received = received.await.unwrap();
        assert!(received.head.starts_with("post /v1/chat/completions "), "{}", received.head);
        assert!(!received.head.contains("authorization"), "{}", received.head);
        assert!(received.body.get("max_tokens").is_none());
        assert!(received.body.get("temperature").is_none());
    }

    #[tokio::test]
    async fn accepts_a_body_ending_after_finish_reason_without_done() {
        let finish = r#"{"choices":[{"index":0,"delta":{"content":"!"},"finish_reason":"stop"}]}"#;
        let (url, _received) = stub(sse(&[&token_chunk("hi"), finish])).await;
        let client = ChatClient::new(&url, None, Duration::from_secs(10)).unwrap();
        let items: Vec<ChatDelta> = collect(&client).await.into_iter().map(|item| item.unwrap()).collect();
        assert_eq!(items, vec![ChatDelta::Token("hi".into()), ChatDelta::Token("!".into())]);
    }

    #[tokio::test]
    async fn a_truncated_stream_ends_with_an_error() {
        let (url, _received) = stub(sse(&[&token_chunk("hi")])).await;
        let client = ChatClient::new(&url, None, Duration::from_secs(10)).unwrap();
        let items = collect(&client).await;
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].as_ref().unwrap(), &ChatDelta::Token("hi".into()));
        let error = items[1].as_ref().unwrap_err().to_string();
        assert!(error.contains("ended before the completion finished"), "{error}");
    }

    #[tokio::test]
    async fn a_malformed_chunk_ends_the_stream_with_model_endpoint() {
        let (url, _received) = stub(sse(&[&token_chunk("a"), "{not json", &token_chunk("b"), "[DONE]"])).await;
        let client = ChatClient::new(&url, None, Duration::from_secs(10)).unwrap();
        let items = collect(&client).await;
        assert_eq!(items.len(), 2, "nothing is yielded after the error");
        assert_eq!(items[0].as_ref().unwrap(), &ChatDelta::Token("a".into()));
        match items[1].as_ref().unwrap_err() {
            Error::ModelEndpoint { url: endpoint, reason } => {
                assert_eq!(endpoint, &format!("{url}/chat/completions"));
                assert!(reason.starts_with("malformed stream chunk:"), "{reason}");
                assert!(reason.contains("{not json"), "{reason}");
            }
            other => panic!("unexpected error {other:?}"),
        }
    }

    #[tokio::test]
    async fn an_error_object_mid_stream_is_reported() {
        let error = r#"{"error":{"message":"context length exceeded","type":"invalid_request_error"}}"#;
        let (url, _received) = stub(sse(&[error])).await;
        let client = ChatClient::new(&url, None, Duration::from_secs(10)).unwrap();
        let items = collect(&client).await;
        let message = items[0].as_ref().unwrap_err().to_string();
        assert!(message.contains("server error: context length exceeded"), "{message}");
    }

    #[tokio::test]
    async fn a_non_streamed_json_answer_is_accepted() {
        let body = r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"whole answer"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":2}}"#;
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let (url, _received) = stub(response).await;
        let client = ChatClient::new(&url, None, Duration::from_secs(10)).unwrap();
        let items: Vec<ChatDelta> = collect(&client).await.into_iter().map(|item| item.unwrap()).collect();
        assert_eq!(
            items,
            vec![ChatDelta::Token("whole answer".into()), ChatDelta::Usage { prompt_tokens: 5, completion_tokens: 2 }]
        );
    }

    #[tokio::test]
    async fn an_http_error_reports_status_and_body() {
        let body = format!("{{\"error\": {{\"message\": \"boom\"}}, \"padding\": \"{}\"}}", "x".repeat(500));
        let response = format!(
            "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let (url, _received) = stub(response).await;
        let client = ChatClient::new(&url, None, Duration::from_secs(10)).unwrap();
        let error = client.stream_chat("m", vec![ChatMessage::user("hi")], None, None).await.err().unwrap();
        match &error {
            Error::ModelEndpoint { url: endpoint, reason } => {
                assert_eq!(endpoint, &format!("{url}/chat/completions"));
                assert!(reason.starts_with("HTTP 500: {\"error\": {\"message\": \"boom\"}"), "{reason}");
                assert!(reason.chars().count() <= "HTTP 500: ".len() + MAX_BODY_CHARS + 3, "{reason}");
            }
            other => panic!("unexpected error {other:?}"),
        }
        assert!(!error.to_string().contains('\n'));
    }

    #[tokio::test]
    async fn an_http_error_without_body_reports_the_status() {
        let response = "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string();
        let (url, _received) = stub(response).await;
        let client = ChatClient::new(&url, None, Duration::from_secs(10)).unwrap();
        let error = client.stream_chat("m", vec![ChatMessage::user("hi")], None, None).await.err().unwrap();
        assert!(error.to_string().ends_with("failed: HTTP 401 Unauthorized"), "{error}");
    }

    #[tokio::test]
    async fn a_closed_port_names_the_url() {
        // Bind then drop a listener: the port is then (almost certainly) closed.
        let address = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
        let url = format!("http://{address}/v1");
        let client = ChatClient::new(&url, None, Duration::from_secs(5)).unwrap();
        let error = client.stream_chat("m", vec![ChatMessage::user("hi")], None, None).await.err().unwrap();
        match &error {
            Error::ModelEndpoint { url: endpoint, reason } => {
                assert_eq!(endpoint, &format!("{url}/chat/completions"));
                assert!(reason.starts_with("cannot connect:"), "{reason}");
                assert!(reason.to_lowercase().contains("refused"), "{reason}");
            }
            other => panic!("unexpected error {other:?}"),
        }
        let message = error.to_string();
        assert!(message.contains(&url), "{message}");
        assert!(!message.contains('\n'));
    }

    #[tokio::test]
    async fn a_silent_server_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let _ = read_request(&mut socket).await;
            tokio::time::sleep(Duration::from_secs(5)).await;
        });
        let client = ChatClient::new(&format!("http://{address}/v1"), None, Duration::from_millis(300)).unwrap();
        let error = client.stream_chat("m", vec![ChatMessage::user("hi")], None, None).await.err().unwrap();
        assert!(error.to_string().ends_with("failed: timed out after 300ms"), "{error}");
    }

    #[test]
    fn rejects_invalid_base_urls_and_zero_timeouts() {
        for url in ["", "localhost:8080/v1", "ftp://host/v1", "http://"] {
            let error = ChatClient::new(url, None, Duration::from_secs(1)).unwrap_err();
            assert!(matches!(error, Error::ModelEndpoint { .. }), "{url}: {error:?}");
            assert!(error.to_string().contains("invalid base URL"), "{error}");
        }
        let error = ChatClient::new("http://127.0.0.1:1/v1", None, Duration::ZERO).unwrap_err();
        assert!(matches!(error, Error::InvalidArgument(_)), "{error:?}");
    }

    #[test]
    fn debug_hides_the_api_key() {
        let client =
            ChatClient::new("https://api.example.com/v1/", Some("sk-secret".into()), Duration::from_secs(1)).unwrap();
        assert_eq!(client.endpoint(), "https://api.example.com/v1/chat/completions");
        let debug = format!("{client:?}");
        assert!(!debug.contains("sk-secret"), "{debug}");
    }

    #[test]
    fn builds_messages_with_context_then_question() {
        let messages = build_messages(&bundle(), "  Why?  ");
        assert_eq!(messages[0], ChatMessage::system(SYSTEM_PROMPT));
        assert!(messages[0].content.contains("path:line"));
        let user = &messages[1].content;
        assert!(user.starts_with("Repository context:\n\nsrc/sessions.py:10-12"), "{user}");
        assert!(user.ends_with("Question:\nWhy?"), "{user}");

        let empty = ContextBundle { blocks: Vec::new(), ..bundle() };
        let messages = build_messages(&empty, "Why?");
        assert!(messages[1].content.contains("no relevant code was found"));
    }

    #[test]
    fn one_line_collapses_and_cuts() {
        assert_eq!(one_line("a\n  b\tc", 10), "a b c");
        assert_eq!(one_line("héllo world", 4), "héll...");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_duration(Duration::from_secs(300)), "300s");
    }
}
