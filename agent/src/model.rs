//! The chat-completions client for any OpenAI-compatible endpoint.
//!
//! Requests are built from async-openai's typed messages and tools. The HTTP exchange and the
//! response parsing are our own (reqwest, a small SSE reader, lenient JSON): async-openai's
//! error path drops the `Retry-After` header and the status of non-JSON error bodies, and its
//! typed stream chunks reject servers that omit `created`/`model`/`object` or use other finish
//! reasons. Streamed tool-call deltas are merged by `index`, which copes with servers that repeat
//! the id and name in every delta (llama.cpp) or send a whole call in one chunk with no finish
//! reason (some Ollama versions).

use std::time::Duration;

use async_openai::types::chat::{
    ChatCompletionRequestMessage, ChatCompletionTools, CreateChatCompletionRequest,
};
use futures::StreamExt;
use serde_json::Value;

use crate::config::ModelConfig;
use crate::session::{Event, EventSink};

/// Installs the ring crypto provider for rustls (reqwest and kube share it). Harmless twice.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Why a model request failed, in the words the offline notice needs.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ModelError {
    /// No connection could be made (refused, DNS, TLS).
    #[error("cannot reach the model endpoint {url}: {message}")]
    Unreachable {
        /// The base URL.
        url: String,
        /// Cause.
        message: String,
    },
    /// The endpoint stopped answering (after retries).
    #[error("the model endpoint {url} did not answer within {secs}s")]
    Timeout {
        /// The base URL.
        url: String,
        /// The idle timeout in seconds.
        secs: u64,
    },
    /// 401/403: the key is missing or refused.
    #[error(
        "the model endpoint {url} refused the API key ({status}): {message}; set KAI_API_KEY or --api-key-env"
    )]
    AuthRefused {
        /// The base URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// 404: the model (or the path) does not exist.
    #[error("model \"{model}\" not found at {url}: {message}; check --model and --base-url")]
    ModelNotFound {
        /// The model name.
        model: String,
        /// The base URL.
        url: String,
        /// The server's message.
        message: String,
    },
    /// 400 mentioning tools or functions: the model cannot call tools.
    #[error("model \"{model}\" cannot call tools: {message}")]
    NoToolSupport {
        /// The model name.
        model: String,
        /// The server's message.
        message: String,
    },
    /// Any other HTTP error (after retries for 429 and 5xx).
    #[error("the model endpoint {url} answered {status}: {message}")]
    Http {
        /// The base URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// The response could not be understood, or the stream broke after output was shown.
    #[error("bad response from the model endpoint {url}: {message}")]
    Protocol {
        /// The base URL.
        url: String,
        /// What was wrong.
        message: String,
    },
}

impl ModelError {
    /// One line for the offline notice: why kai answers without the model.
    pub fn offline_reason(&self) -> String {
        self.to_string()
    }
}

/// One tool call the model asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    /// The call id (generated when the server sent none).
    pub id: String,
    /// Tool name.
    pub name: String,
    /// Arguments as the model wrote them (JSON text, maybe malformed).
    pub arguments: String,
}

/// One model turn.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Completion {
    /// The text of the answer (may be empty when only tools are called).
    pub content: String,
    /// Tool calls, in order.
    pub tool_calls: Vec<ToolCall>,
    /// The finish reason as the server said it, if it did.
    pub finish_reason: Option<String>,
}

/// Back-off settings for transient failures.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First delay; doubled each retry.
    pub base_delay: Duration,
    /// Longest delay, and the longest `Retry-After` honoured before giving up.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

/// A client for one configured endpoint and model.
#[derive(Clone)]
pub struct ModelClient {
    http: reqwest::Client,
    cfg: ModelConfig,
    retry: RetryPolicy,
}

impl std::fmt::Debug for ModelClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelClient")
            .field("model", &self.cfg.model)
            .field("base_url", &self.cfg.base_url)
            .finish_non_exhaustive()
    }
}

/// A failure of one attempt, with whether to try again.
struct Attempt {
    error: ModelError,
    retry: bool,
    retry_after: Option<Duration>,
}

impl ModelClient {
    /// A client for `cfg` (retries from `cfg.max_retries`).
    pub fn new(cfg: ModelConfig) -> Result<ModelClient, ModelError> {
        install_crypto();
        let http = reqwest::Client::builder()
            .connect_timeout(cfg.connect_timeout)
            .user_agent(concat!("kai/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ModelError::Unreachable {
                url: cfg.base_url.clone(),
                message: format!("cannot build the HTTP client: {e}"),
            })?;
        let retry = RetryPolicy {
            max_retries: cfg.max_retries,
            ..RetryPolicy::default()
        };
        Ok(ModelClient { http, cfg, retry })
    }

    /// Replaces the back-off settings.
    #[allow(
        dead_code,
        reason = "API for the one-shot path, the REPL and MCP; not all callers exist yet"
    )]
    pub fn with_retry(mut self, retry: RetryPolicy) -> ModelClient {
        self.retry = retry;
        self
    }

    /// The model name.
    #[allow(
        dead_code,
        reason = "API for the one-shot path, the REPL and MCP; not all callers exist yet"
    )]
    pub fn model(&self) -> &str {
        &self.cfg.model
    }

    /// The base URL.
    #[allow(
        dead_code,
        reason = "API for the one-shot path, the REPL and MCP; not all callers exist yet"
    )]
    pub fn base_url(&self) -> &str {
        &self.cfg.base_url
    }

    fn endpoint(&self) -> String {
        format!(
            "{}/chat/completions",
            self.cfg.base_url.trim_end_matches('/')
        )
    }

    /// Builds the request body: the messages, the tools (none: the model must answer in text).
    pub fn request(
        &self,
        messages: &[ChatCompletionRequestMessage],
        tools: &[ChatCompletionTools],
    ) -> CreateChatCompletionRequest {
        CreateChatCompletionRequest {
            model: self.cfg.model.clone(),
            messages: messages.to_vec(),
            tools: if tools.is_empty() {
                None
            } else {
                Some(tools.to_vec())
            },
            stream: self.cfg.stream.then_some(true),
            ..Default::default()
        }
    }

    /// Runs one model turn with retries; text deltas go to `events` as they arrive.
    pub async fn complete(
        &self,
        messages: &[ChatCompletionRequestMessage],
        tools: &[ChatCompletionTools],
        events: &dyn EventSink,
    ) -> Result<Completion, ModelError> {
        let body = self.request(messages, tools);
        let mut attempt: u32 = 0;
        loop {
            match self.attempt(&body, events).await {
                Ok(c) => return Ok(c),
                Err(a) => {
                    if !a.retry || attempt >= self.retry.max_retries {
                        return Err(a.error);
                    }
                    let backoff = self
                        .retry
                        .base_delay
                        .saturating_mul(2u32.saturating_pow(attempt))
                        .min(self.retry.max_delay);
                    let delay = match a.retry_after {
                        Some(d) if d > self.retry.max_delay => return Err(a.error),
                        Some(d) => d,
                        None => jitter(backoff),
                    };
                    attempt += 1;
                    tracing::info!(
                        "model request failed ({}); retry {attempt}/{} in {:.1}s",
                        a.error,
                        self.retry.max_retries,
                        delay.as_secs_f64()
                    );
                    events.event(Event::Retrying {
                        attempt,
                        delay,
                        reason: a.error.to_string(),
                    });
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    async fn attempt(
        &self,
        body: &CreateChatCompletionRequest,
        events: &dyn EventSink,
    ) -> Result<Completion, Attempt> {
        let url = &self.cfg.base_url;
        let mut req = self.http.post(self.endpoint()).json(body).header(
            reqwest::header::ACCEPT,
            "text/event-stream, application/json",
        );
        if let Some(key) = &self.cfg.api_key {
            req = req.bearer_auth(key.expose());
        }
        let idle = self.cfg.idle_timeout;
        let timeout = || Attempt {
            error: ModelError::Timeout {
                url: url.clone(),
                secs: idle.as_secs(),
            },
            retry: true,
            retry_after: None,
        };
        let resp = match tokio::time::timeout(idle, req.send()).await {
            Err(_) => return Err(timeout()),
            Ok(Err(e)) => return Err(self.transport_error(&e)),
            Ok(Ok(r)) => r,
        };
        let status = resp.status();
        if !status.is_success() {
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(parse_retry_after);
            let text = match tokio::time::timeout(idle, resp.text()).await {
                Ok(Ok(t)) => t,
                _ => String::new(),
            };
            return Err(self.status_error(status.as_u16(), &text, retry_after));
        }
        let is_sse = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.contains("text/event-stream"));
        if !is_sse {
            // Not streamed (stream off, or a server that ignores `stream`): one JSON document.
            let bytes = match tokio::time::timeout(idle, resp.bytes()).await {
                Err(_) => return Err(timeout()),
                Ok(Err(e)) => return Err(self.transport_error(&e)),
                Ok(Ok(b)) => b,
            };
            let completion = parse_completion(&bytes).map_err(|m| Attempt {
                error: self.protocol(m),
                retry: false,
                retry_after: None,
            })?;
            if !completion.content.is_empty() {
                events.event(Event::Text(&completion.content));
            }
            return Ok(completion);
        }

        let mut stream = resp.bytes_stream();
        let mut sse = SseReader::default();
        let mut acc = Accumulator::default();
        // Once anything was shown or merged, a retry would duplicate it: fail instead.
        let mut started = false;
        'read: loop {
            let chunk = match tokio::time::timeout(idle, stream.next()).await {
                Err(_) if started => {
                    return Err(Attempt {
                        retry: false,
                        ..timeout()
                    });
                }
                Err(_) => return Err(timeout()),
                Ok(None) => break,
                Ok(Some(Err(e))) => {
                    let mut a = self.transport_error(&e);
                    a.retry &= !started;
                    if started {
                        a.error = self.protocol(format!("the stream broke: {e}"));
                    }
                    return Err(a);
                }
                Ok(Some(Ok(bytes))) => bytes,
            };
            for data in sse.push(&chunk) {
                if data.trim() == "[DONE]" {
                    break 'read;
                }
                let v: Value = match serde_json::from_str(&data) {
                    Ok(v) => v,
                    Err(e) => {
                        return Err(Attempt {
                            error: self.protocol(format!(
                                "unreadable stream chunk ({e}): {}",
                                clip(&data, 200)
                            )),
                            retry: false,
                            retry_after: None,
                        });
                    }
                };
                if let Some(err) = v.get("error") {
                    let msg = error_message(err);
                    let code = err.get("code").and_then(Value::as_u64).unwrap_or(500);
                    let mut a = self.status_error(u16::try_from(code).unwrap_or(500), &msg, None);
                    a.retry &= !started;
                    return Err(a);
                }
                if let Some(text) = acc.apply_chunk(&v) {
                    events.event(Event::Text(&text));
                }
                started |= acc.has_output();
            }
        }
        for data in sse.finish() {
            if data.trim() == "[DONE]" {
                break;
            }
            if let Ok(v) = serde_json::from_str::<Value>(&data)
                && let Some(text) = acc.apply_chunk(&v)
            {
                events.event(Event::Text(&text));
            }
        }
        Ok(acc.finish())
    }

    fn protocol(&self, message: String) -> ModelError {
        ModelError::Protocol {
            url: self.cfg.base_url.clone(),
            message,
        }
    }

    fn transport_error(&self, e: &reqwest::Error) -> Attempt {
        let url = self.cfg.base_url.clone();
        let message = error_chain(e);
        if e.is_timeout() {
            return Attempt {
                error: ModelError::Timeout {
                    url,
                    secs: self.cfg.idle_timeout.as_secs(),
                },
                retry: true,
                retry_after: None,
            };
        }
        Attempt {
            error: ModelError::Unreachable { url, message },
            retry: true,
            retry_after: None,
        }
    }

    fn status_error(&self, status: u16, body: &str, retry_after: Option<Duration>) -> Attempt {
        let url = self.cfg.base_url.clone();
        let message = body_message(body);
        let lower = message.to_ascii_lowercase();
        let error = match status {
            401 | 403 => ModelError::AuthRefused {
                url,
                status,
                message,
            },
            404 => ModelError::ModelNotFound {
                model: self.cfg.model.clone(),
                url,
                message,
            },
            400 | 422 if ["tool", "function"].iter().any(|w| lower.contains(w)) => {
                ModelError::NoToolSupport {
                    model: self.cfg.model.clone(),
                    message,
                }
            }
            _ => ModelError::Http {
                url,
                status,
                message,
            },
        };
        Attempt {
            error,
            retry: status == 429 || status == 408 || (500..600).contains(&status),
            retry_after,
        }
    }
}

/// A delay with up to 20% random-ish jitter, so several clients do not retry in step.
fn jitter(d: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|t| t.subsec_nanos())
        .unwrap_or(0);
    let fraction = f64::from(nanos % 1000) / 1000.0 * 0.2;
    d.mul_f64(1.0 + fraction)
}

/// `Retry-After`: seconds, or an HTTP date.
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let when = jiff::fmt::rfc2822::parse(v).ok()?.timestamp();
    let now = jiff::Timestamp::now();
    let ms = when.as_millisecond() - now.as_millisecond();
    Some(Duration::from_millis(u64::try_from(ms.max(0)).unwrap_or(0)))
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let s_text = s.to_string();
        if !parts.iter().any(|p| p.contains(&s_text)) {
            parts.push(s_text);
        }
        cur = s.source();
    }
    parts.join(": ")
}

fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// The message of an error object: `{"message": ...}` or a plain string.
fn error_message(err: &Value) -> String {
    match err {
        Value::String(s) => s.clone(),
        Value::Object(o) => o
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| err.to_string()),
        other => other.to_string(),
    }
}

/// The message of an error body: OpenAI's `{"error": {"message"}}`, Ollama's `{"error": "..."}`,
/// or the text itself.
fn body_message(body: &str) -> String {
    let text = match serde_json::from_str::<Value>(body) {
        Ok(v) => match v.get("error") {
            Some(e) => error_message(e),
            None => v
                .get("message")
                .or_else(|| v.get("detail"))
                .map(|m| {
                    m.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| m.to_string())
                })
                .unwrap_or_else(|| body.to_string()),
        },
        Err(_) => body.to_string(),
    };
    let one = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.is_empty() {
        "no message".into()
    } else {
        clip(&one, 300)
    }
}

/// Parses a non-streamed response.
pub fn parse_completion(bytes: &[u8]) -> Result<Completion, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| {
        format!(
            "not a chat completion ({e}): {}",
            clip(&String::from_utf8_lossy(bytes), 200)
        )
    })?;
    if let Some(err) = v.get("error") {
        return Err(error_message(err));
    }
    let choice = v
        .get("choices")
        .and_then(|c| c.get(0))
        .ok_or_else(|| format!("no choices in the response: {}", clip(&v.to_string(), 200)))?;
    let msg = choice.get("message").cloned().unwrap_or(Value::Null);
    let mut acc = Accumulator::default();
    if let Some(text) = msg.get("content").and_then(Value::as_str) {
        acc.content.push_str(text);
    }
    if let Some(calls) = msg.get("tool_calls").and_then(Value::as_array) {
        for (i, c) in calls.iter().enumerate() {
            acc.merge_call(i, c);
        }
    }
    acc.finish_reason = choice
        .get("finish_reason")
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok(acc.finish())
}

/// Splits a byte stream into SSE `data` payloads (joined lines of one event).
#[derive(Debug, Default)]
pub struct SseReader {
    buf: Vec<u8>,
    data: Vec<String>,
}

impl SseReader {
    /// Feeds bytes; returns the payloads of the events completed by them.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        while let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
            let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            self.line(&String::from_utf8_lossy(&line), &mut out);
        }
        out
    }

    /// Ends the stream: a last event without its blank line still counts.
    pub fn finish(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.buf.is_empty() {
            let rest = String::from_utf8_lossy(&std::mem::take(&mut self.buf)).into_owned();
            for line in rest.lines() {
                self.line(line, &mut out);
            }
        }
        self.dispatch(&mut out);
        out
    }

    fn line(&mut self, line: &str, out: &mut Vec<String>) {
        if line.is_empty() {
            self.dispatch(out);
        } else if let Some(rest) = line.strip_prefix("data:") {
            self.data
                .push(rest.strip_prefix(' ').unwrap_or(rest).to_string());
        } else if line.starts_with('{') {
            // Some servers send bare JSON lines (no `data:`): accept them as events.
            self.dispatch(out);
            out.push(line.to_string());
        }
        // `event:`, `id:`, `retry:` and `:` comments carry nothing we need.
    }

    fn dispatch(&mut self, out: &mut Vec<String>) {
        if !self.data.is_empty() {
            out.push(self.data.join("\n"));
            self.data.clear();
        }
    }
}

#[derive(Debug, Default, Clone)]
struct PartialCall {
    id: String,
    name: String,
    arguments: String,
}

/// Merges streamed deltas into one completion.
#[derive(Debug, Default)]
pub struct Accumulator {
    content: String,
    calls: Vec<PartialCall>,
    /// `index` → position in `calls` of the latest call with that index.
    by_index: Vec<(u64, usize)>,
    finish_reason: Option<String>,
}

impl Accumulator {
    /// Whether any text or tool call has been merged.
    pub fn has_output(&self) -> bool {
        !self.content.is_empty() || !self.calls.is_empty()
    }

    /// Merges one chunk; returns its text delta, if any.
    pub fn apply_chunk(&mut self, chunk: &Value) -> Option<String> {
        let choice = chunk.get("choices")?.get(0)?;
        if let Some(r) = choice.get("finish_reason").and_then(Value::as_str) {
            self.finish_reason = Some(r.to_string());
        }
        // `delta` normally; a few servers send a whole `message` in the last chunk.
        let delta = choice.get("delta").or_else(|| choice.get("message"))?;
        if let Some(calls) = delta.get("tool_calls").and_then(Value::as_array) {
            for (pos, c) in calls.iter().enumerate() {
                self.merge_call(pos, c);
            }
        }
        let text = delta.get("content").and_then(Value::as_str)?;
        if text.is_empty() {
            return None;
        }
        self.content.push_str(text);
        Some(text.to_string())
    }

    fn merge_call(&mut self, pos: usize, c: &Value) {
        let index = c.get("index").and_then(Value::as_u64).unwrap_or(pos as u64);
        let id = c.get("id").and_then(Value::as_str).unwrap_or("");
        let func = c.get("function");
        let name = func
            .and_then(|f| f.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let args = match func.and_then(|f| f.get("arguments")) {
            Some(Value::String(s)) => s.clone(),
            // Some servers send the arguments as an object rather than JSON text.
            Some(v @ Value::Object(_)) => v.to_string(),
            _ => String::new(),
        };
        let slot = self
            .by_index
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, p)| *p);
        let slot = match slot {
            // A different id at a known index is a new call (servers that reuse index 0).
            Some(p) if !id.is_empty() && !self.calls[p].id.is_empty() && self.calls[p].id != id => {
                None
            }
            other => other,
        };
        let p = match slot {
            Some(p) => p,
            None => {
                self.calls.push(PartialCall::default());
                let p = self.calls.len() - 1;
                self.by_index.retain(|(i, _)| *i != index);
                self.by_index.push((index, p));
                p
            }
        };
        let call = &mut self.calls[p];
        if call.id.is_empty() {
            call.id = id.to_string();
        }
        if !name.is_empty() && call.name != name {
            // Names normally come whole; repeated (llama.cpp) they are equal and skipped above.
            if call.name.is_empty() || !call.name.ends_with(name) {
                call.name.push_str(name);
            }
        }
        if !args.is_empty() {
            let complete = !call.arguments.is_empty()
                && serde_json::from_str::<Value>(&call.arguments).is_ok();
            // A server that repeats the whole arguments at the end must not double them.
            if !(complete && args == call.arguments) {
                call.arguments.push_str(&args);
            }
        }
    }

    /// The merged completion; calls without a name are dropped, missing ids generated.
    pub fn finish(self) -> Completion {
        let mut seen: Vec<String> = Vec::new();
        let mut tool_calls = Vec::new();
        for (n, c) in self.calls.into_iter().enumerate() {
            if c.name.trim().is_empty() {
                continue;
            }
            let mut id = if c.id.is_empty() {
                format!("call_{n}")
            } else {
                c.id
            };
            // Every id must be unique so each gets exactly one answer.
            while seen.contains(&id) {
                id.push_str("_dup");
            }
            seen.push(id.clone());
            tool_calls.push(ToolCall {
                id,
                name: c.name.trim().to_string(),
                arguments: c.arguments,
            });
        }
        Completion {
            content: self.content,
            tool_calls,
            finish_reason: self.finish_reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Instant;

    use async_openai::types::chat::{
        ChatCompletionRequestUserMessage, ChatCompletionRequestUserMessageContent,
    };
    use kai_tests::model::{Scripted, ScriptedModel, Style};
    use serde_json::json;

    use super::*;
    use crate::config::ApiKey;
    use crate::session::NoEvents;

    #[derive(Default)]
    struct Collect(Mutex<Vec<String>>);

    impl EventSink for Collect {
        fn event(&self, event: Event<'_>) {
            let line = match event {
                Event::Text(t) => format!("text:{t}"),
                Event::Retrying { attempt, .. } => format!("retry:{attempt}"),
                other => format!("{other:?}"),
            };
            self.0.lock().unwrap().push(line);
        }
    }

    impl Collect {
        fn texts(&self) -> Vec<String> {
            self.0
                .lock()
                .unwrap()
                .iter()
                .filter_map(|l| l.strip_prefix("text:").map(str::to_string))
                .collect()
        }
        fn retries(&self) -> usize {
            self.0
                .lock()
                .unwrap()
                .iter()
                .filter(|l| l.starts_with("retry:"))
                .count()
        }
    }

    fn user(text: &str) -> Vec<ChatCompletionRequestMessage> {
        vec![ChatCompletionRequestMessage::User(
            ChatCompletionRequestUserMessage {
                content: ChatCompletionRequestUserMessageContent::Text(text.into()),
                name: None,
            },
        )]
    }

    fn client(url: &str) -> ModelClient {
        install_crypto();
        let mut cfg = ModelConfig::new("scripted", url, Some(ApiKey::new("sk-test-key")));
        cfg.idle_timeout = Duration::from_millis(700);
        cfg.connect_timeout = Duration::from_millis(500);
        ModelClient::new(cfg).unwrap().with_retry(RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_secs(5),
        })
    }

    #[test]
    fn sse_reader_handles_split_lines_crlf_comments_and_a_missing_blank_line() {
        let mut r = SseReader::default();
        let mut out = r.push(b": keepalive\r\n\r\ndata: {\"a\"");
        assert!(out.is_empty());
        out.extend(r.push(b":1}\r\n\r\nevent: x\ndata: line1\ndata: line2\n\ndata: [DONE]"));
        out.extend(r.finish());
        assert_eq!(out, vec!["{\"a\":1}", "line1\nline2", "[DONE]"]);
    }

    #[test]
    fn deltas_merge_by_index_in_every_server_style() {
        // OpenAI: id and name once, arguments in pieces, two calls interleaved.
        let mut a = Accumulator::default();
        let chunks = [
            json!({"choices":[{"delta":{"tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"get_logs","arguments":""}}]}}]}),
            json!({"choices":[{"delta":{"tool_calls":[{"index":1,"id":"c2","function":{"name":"diagnose","arguments":"{}"}}]}}]}),
            json!({"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"pod\":"}}]}}]}),
            json!({"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"b\"}"}}]}, "finish_reason":"tool_calls"}]}),
        ];
        for c in &chunks {
            a.apply_chunk(c);
        }
        let c = a.finish();
        assert_eq!(c.tool_calls.len(), 2);
        assert_eq!(c.tool_calls[0].name, "get_logs");
        assert_eq!(c.tool_calls[0].arguments, "{\"pod\":\"b\"}");
        assert_eq!(c.tool_calls[1].id, "c2");

        // llama.cpp: id and name repeated in every delta.
        let mut a = Accumulator::default();
        for piece in ["{\"na", "me\":\"x\"", "}"] {
            a.apply_chunk(&json!({"choices":[{"delta":{"tool_calls":[{"index":0,"id":"L","type":"function","function":{"name":"describe","arguments":piece}}]}}]}));
        }
        let c = a.finish();
        assert_eq!(c.tool_calls.len(), 1);
        assert_eq!(c.tool_calls[0].name, "describe");
        assert_eq!(c.tool_calls[0].arguments, "{\"name\":\"x\"}");

        // Whole call in one chunk, no finish reason, no index, no id; arguments as an object.
        let mut a = Accumulator::default();
        a.apply_chunk(&json!({"choices":[{"delta":{"tool_calls":[{"function":{"name":"list_pods","arguments":{"namespace":"shop"}}}]}}]}));
        let c = a.finish();
        assert_eq!(c.tool_calls[0].id, "call_0");
        assert_eq!(c.tool_calls[0].arguments, "{\"namespace\":\"shop\"}");
        assert_eq!(c.finish_reason, None);

        // Whole arguments repeated at the end are not doubled; reused index with new id is a new call.
        let mut a = Accumulator::default();
        a.apply_chunk(&json!({"choices":[{"delta":{"tool_calls":[{"index":0,"id":"a","function":{"name":"diagnose","arguments":"{}"}}]}}]}));
        a.apply_chunk(&json!({"choices":[{"delta":{"tool_calls":[{"index":0,"id":"a","function":{"name":"diagnose","arguments":"{}"}}]}}]}));
        a.apply_chunk(&json!({"choices":[{"delta":{"tool_calls":[{"index":0,"id":"b","function":{"name":"list_pods","arguments":"{}"}}]}}]}));
        let c = a.finish();
        assert_eq!(c.tool_calls.len(), 2);
        assert_eq!(c.tool_calls[0].arguments, "{}");
        assert_eq!(c.tool_calls[1].name, "list_pods");
    }

    #[test]
    fn retry_after_parses_seconds_and_dates() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after(" 0.5 "), Some(Duration::from_millis(500)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[tokio::test]
    async fn streams_text_and_every_tool_call_style() {
        let args = json!({"kind": "deployment", "name": "backend", "namespace": "shop"});
        let server = ScriptedModel::start(vec![
            Scripted::text("The backend crashes because DATABASE_URL is missing."),
            Scripted::calls(&[
                ("a1", "describe", args.clone()),
                ("a2", "diagnose", json!({})),
            ]),
            Scripted::call("b1", "describe", args.clone()).style(Style::LlamaCpp),
            Scripted::call("c1", "describe", args.clone()).style(Style::OneChunk),
            Scripted::call("d1", "describe", args.clone()).style(Style::Json),
        ])
        .await;
        let m = client(&server.url());
        let sink = Collect::default();
        let c = m.complete(&user("why"), &[], &sink).await.unwrap();
        assert_eq!(
            c.content,
            "The backend crashes because DATABASE_URL is missing."
        );
        assert!(
            sink.texts().len() > 3,
            "text arrives in pieces: {:?}",
            sink.texts()
        );
        assert_eq!(sink.texts().concat(), c.content);

        let c = m.complete(&user("why"), &[], &sink).await.unwrap();
        assert_eq!(c.tool_calls.len(), 2);
        assert_eq!(
            serde_json::from_str::<Value>(&c.tool_calls[0].arguments).unwrap(),
            args
        );
        assert_eq!(c.finish_reason.as_deref(), Some("tool_calls"));
        for id in ["b1", "c1", "d1"] {
            let c = m.complete(&user("why"), &[], &sink).await.unwrap();
            assert_eq!(c.tool_calls.len(), 1, "{id}");
            assert_eq!(c.tool_calls[0].id, id);
            assert_eq!(c.tool_calls[0].name, "describe");
            assert_eq!(
                serde_json::from_str::<Value>(&c.tool_calls[0].arguments).unwrap(),
                args,
                "{id}"
            );
        }
        let reqs = server.requests();
        assert_eq!(reqs[0].authorization.as_deref(), Some("Bearer sk-test-key"));
        assert_eq!(reqs[0].body["stream"], json!(true));
        assert_eq!(reqs[0].body["model"], json!("scripted"));
    }

    #[tokio::test]
    async fn retries_429_honouring_retry_after_and_5xx() {
        let server = ScriptedModel::start(vec![
            Scripted::rate_limited(1),
            Scripted::error(500, "boom"),
            Scripted::error(503, "busy"),
            Scripted::text("ok"),
        ])
        .await;
        let m = client(&server.url());
        let sink = Collect::default();
        let t = Instant::now();
        let c = m.complete(&user("q"), &[], &sink).await.unwrap();
        assert_eq!(c.content, "ok");
        assert!(
            t.elapsed() >= Duration::from_millis(950),
            "Retry-After honoured: {:?}",
            t.elapsed()
        );
        assert_eq!(server.served(), 4);
        assert_eq!(sink.retries(), 3);
    }

    #[tokio::test]
    async fn gives_up_after_max_retries_with_the_status() {
        let server = ScriptedModel::start(vec![Scripted::error(500, "down"); 5]).await;
        let e = client(&server.url())
            .complete(&user("q"), &[], &NoEvents)
            .await
            .unwrap_err();
        assert!(matches!(e, ModelError::Http { status: 500, .. }), "{e}");
        assert_eq!(server.served(), 4, "one try and three retries");
    }

    #[tokio::test]
    async fn classifies_auth_not_found_and_no_tool_support_without_retrying() {
        let server = ScriptedModel::start(vec![
            Scripted::error(401, "Incorrect API key provided"),
            Scripted::error(404, "The model `nope` does not exist"),
            Scripted::error(400, "this model does not support tools"),
            Scripted::error(400, "context too long"),
        ])
        .await;
        let m = client(&server.url());
        let e = m.complete(&user("q"), &[], &NoEvents).await.unwrap_err();
        assert!(
            matches!(e, ModelError::AuthRefused { status: 401, .. }),
            "{e}"
        );
        assert!(!e.to_string().contains("sk-test-key"));
        let e = m.complete(&user("q"), &[], &NoEvents).await.unwrap_err();
        assert!(matches!(e, ModelError::ModelNotFound { .. }), "{e}");
        let e = m.complete(&user("q"), &[], &NoEvents).await.unwrap_err();
        assert!(matches!(e, ModelError::NoToolSupport { .. }), "{e}");
        let e = m.complete(&user("q"), &[], &NoEvents).await.unwrap_err();
        assert!(matches!(e, ModelError::Http { status: 400, .. }), "{e}");
        assert_eq!(server.served(), 4, "no retries for 4xx");
    }

    #[tokio::test]
    async fn idle_stream_times_out_and_is_retried() {
        let server = ScriptedModel::start(vec![
            Scripted::stall(Duration::from_secs(5)),
            Scripted::text("after the stall"),
        ])
        .await;
        let c = client(&server.url())
            .complete(&user("q"), &[], &NoEvents)
            .await
            .unwrap();
        assert_eq!(c.content, "after the stall");
        assert_eq!(server.served(), 2);
    }

    #[tokio::test]
    async fn closed_port_is_unreachable() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let e = client(&format!("http://127.0.0.1:{port}/v1"))
            .complete(&user("q"), &[], &NoEvents)
            .await
            .unwrap_err();
        assert!(matches!(e, ModelError::Unreachable { .. }), "{e}");
        assert!(e.offline_reason().contains(&port.to_string()));
    }

    #[test]
    fn request_body_has_tools_only_when_given() {
        let m = ModelClient::new(ModelConfig::new("m", "http://h/v1", None)).unwrap();
        let body = serde_json::to_value(m.request(&user("q"), &[])).unwrap();
        assert!(body.get("tools").is_none(), "{body}");
        assert_eq!(body["messages"][0]["role"], json!("user"));
    }
}
