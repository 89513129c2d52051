//! An OpenAI-compatible `/v1/embeddings` endpoint (OpenAI, vLLM, TEI, Ollama).

use std::time::Duration;

use codectx_core::{EmbedConfig, Error, Result};
use reqwest::blocking::Client;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};

use crate::{unit_vectors, Embedder};

/// Attempts per batch before the error is returned.
const MAX_ATTEMPTS: u32 = 6;
/// First backoff; doubled per attempt, capped at [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// Longest `Retry-After` honoured; a server asking for more gets this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Characters per token assumed when truncating before sending (code averages ~3-4).
const CHARS_PER_TOKEN: usize = 4;

/// Embeds through `POST {url}/embeddings` with `{"model", "input": [..]}`.
///
/// Batches of [`EmbedConfig::batch_size`] texts. A `429`, a `5xx` or a transport
/// error is retried up to 6 times with exponential backoff (250 ms doubling, at
/// most 8 s), waiting `Retry-After` seconds instead when the server sends it. Texts
/// are cut to `max_tokens × 4` characters so a server with a small context does
/// not refuse them. The model id is `remote:<model>@<url>`: a change of either
/// re-embeds the index.
pub struct RemoteEmbedder {
    client: Client,
    endpoint: String,
    model: String,
    api_key: Option<String>,
    model_id: String,
    dimension: usize,
    batch_size: usize,
    max_chars: usize,
}

impl std::fmt::Debug for RemoteEmbedder {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("RemoteEmbedder").field("endpoint", &self.endpoint).field("model", &self.model).finish()
    }
}

#[derive(Serialize)]
struct Request<'a> {
    model: &'a str,
    input: &'a [&'a str],
}

#[derive(Deserialize)]
struct Response {
    data: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    embedding: Vec<f32>,
    #[serde(default)]
    index: Option<usize>,
}

impl RemoteEmbedder {
    /// Connects to `config.url` with `config.model`, embedding one probe text to
    /// learn the dimension (and to fail now, not mid-index, when the endpoint is down).
    ///
    /// Errors: [`Error::Embedding`] when the URL or model is missing, or the
    /// endpoint fails after the retries.
    pub fn new(config: &EmbedConfig) -> Result<Self> {
        let url = config.url.as_deref().filter(|url| !url.is_empty()).ok_or_else(|| {
            Error::Embedding("remote embedder needs [embed] url (base URL up to and including /v1)".into())
        })?;
        let model =
            config.model.clone().filter(|model| !model.is_empty()).ok_or_else(|| {
                Error::Embedding("remote embedder needs [embed] model (the model name to send)".into())
            })?;
        let api_key = config
            .api_key_env
            .iter()
            .map(String::as_str)
            .chain(["CODECTX_EMBED_API_KEY", "OPENAI_API_KEY"])
            .find_map(|name| std::env::var(name).ok().filter(|value| !value.is_empty()));
        // reqwest is built without a TLS crypto provider of its own: rustls's `ring`.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = Client::builder()
            .timeout(Duration::from_secs(config.timeout_secs.max(1)))
            .build()
            .map_err(|error| Error::Embedding(format!("HTTP client: {error}")))?;
        let endpoint = format!("{}/embeddings", url.trim_end_matches('/'));
        let mut embedder = RemoteEmbedder {
            client,
            model_id: format!("remote:{model}@{}#{}", url.trim_end_matches('/'), config.max_tokens),
            endpoint,
            model,
            api_key,
            dimension: 0,
            batch_size: config.batch_size.max(1),
            max_chars: config.max_tokens.max(8) * CHARS_PER_TOKEN,
        };
        let probe = embedder.embed(&["dimension probe"])?;
        embedder.dimension = probe.first().map_or(0, Vec::len);
        if embedder.dimension == 0 {
            return Err(Error::Embedding(format!("{} returned an empty vector", embedder.endpoint)));
        }
        Ok(embedder)
    }

    fn post(&self, texts: &[&str]) -> std::result::Result<Vec<Vec<f32>>, Attempt> {
        let mut request = self.client.post(&self.endpoint).json(&Request { model: &self.model, input: texts });
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let response = request.send().map_err(|error| Attempt::Retry(error.to_string(), None))?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse::<f64>().ok())
                .map(|secs| Duration::from_secs_f64(secs.max(0.0)).min(MAX_RETRY_AFTER));
            let body = response.text().unwrap_or_default();
            let reason = format!("HTTP {status}: {}", body.chars().take(200).collect::<String>());
            return Err(if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                Attempt::Retry(reason, retry_after)
            } else {
                Attempt::Fail(reason)
            });
        }
        let parsed: Response =
            response.json().map_err(|error| Attempt::Fail(format!("malformed /embeddings response: {error}")))?;
        if parsed.data.len() != texts.len() {
            return Err(Attempt::Fail(format!("{} embeddings for {} inputs", parsed.data.len(), texts.len())));
        }
        let mut items = parsed.data;
        if items.iter().all(|item| item.index.is_some()) {
            items.sort_by_key(|item| item.index);
        }
        Ok(items.into_iter().map(|item| item.embedding).collect())
    }
}

enum Attempt {
    /// Worth another try, after the server's `Retry-After` if it sent one.
    Retry(String, Option<Duration>),
    /// A 4xx other than 429, or a response that cannot be read.
    Fail(String),
}

impl Embedder for RemoteEmbedder {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    fn batch_size(&self) -> usize {
        self.batch_size
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let cut: Vec<&str> = texts.iter().map(|text| truncate_chars(text, self.max_chars)).collect();
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 1;
        loop {
            match self.post(&cut) {
                Ok(vectors) => return unit_vectors(&self.endpoint, self.dimension, vectors),
                Err(Attempt::Fail(reason)) => {
                    return Err(Error::Embedding(format!("embedding endpoint {} failed: {reason}", self.endpoint)))
                }
                Err(Attempt::Retry(reason, retry_after)) => {
                    if attempt >= MAX_ATTEMPTS {
                        return Err(Error::Embedding(format!(
                            "embedding endpoint {} failed after {MAX_ATTEMPTS} attempts: {reason}",
                            self.endpoint
                        )));
                    }
                    let wait = retry_after.unwrap_or(backoff);
                    tracing::warn!(endpoint = %self.endpoint, attempt, wait_ms = wait.as_millis() as u64, %reason, "retrying");
                    std::thread::sleep(wait);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    attempt += 1;
                }
            }
        }
    }
}

/// The longest prefix of `text` of at most `max_chars` bytes that ends on a char boundary.
fn truncate_chars(text: &str, max_chars: usize) -> &str {
    &text[..text.floor_char_boundary(max_chars)]
}
