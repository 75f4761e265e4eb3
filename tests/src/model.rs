//! A scripted OpenAI-compatible chat-completions server on 127.0.0.1 for tests.
//!
//! Each request takes the next [`Scripted`] reply: text, tool calls, an HTTP error (429 with
//! `Retry-After`, 500, a chat template's 500...), a stall, keep-alives only, a cut stream, an
//! empty or null message, or text cut by the token limit; streamed (SSE in the OpenAI, llama.cpp or one-chunk
//! style) or as one JSON document. Every request body is recorded, and every request is checked
//! on arrival: each assistant `tool_call` id in its history must be answered by exactly one
//! tool message.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};

/// How a reply is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// SSE when the request asks for `stream`, else JSON.
    Auto,
    /// One JSON document, even when a stream was asked for.
    Json,
    /// SSE as OpenAI sends it: id and name once, arguments in pieces, a finish reason.
    OpenAi,
    /// SSE as llama.cpp's server sends it: id and name repeated in every delta.
    LlamaCpp,
    /// SSE with each whole tool call in one chunk and no finish reason.
    OneChunk,
}

/// One tool call of a scripted reply.
#[derive(Debug, Clone)]
pub struct Call {
    /// Call id.
    pub id: String,
    /// Tool name.
    pub name: String,
    /// Arguments as text (may be malformed on purpose).
    pub arguments: String,
}

/// What the server answers.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Text only.
    Text(String),
    /// Tool calls, with optional text before them.
    Tools {
        /// Text alongside the calls.
        content: String,
        /// The calls.
        calls: Vec<Call>,
    },
    /// An HTTP error.
    Error {
        /// Status code.
        status: u16,
        /// Body (JSON or not).
        body: String,
        /// `Retry-After` header value.
        retry_after: Option<String>,
    },
    /// Opens an SSE response and sends nothing for this long.
    Stall(Duration),
    /// Opens an SSE response and sends only keep-alives (comments and empty deltas), one every
    /// `every`, for `total`; then ends it.
    KeepAlive {
        /// Time between keep-alives.
        every: Duration,
        /// How long it goes on.
        total: Duration,
    },
    /// Streams this text, then closes the connection without a finish reason or `[DONE]`.
    Cut(String),
    /// A reply with no text and no tool call: `content: null` (JSON), no content delta (SSE).
    Empty,
    /// A reply whose `message` (JSON) or `delta` (SSE) is `null`.
    NullMessage,
    /// This text, ended by `finish_reason: "length"` (the token limit).
    Length(String),
}

/// One scripted reply and how it is delivered.
#[derive(Debug, Clone)]
pub struct Scripted {
    /// The reply.
    pub reply: Reply,
    /// The delivery.
    pub style: Style,
}

impl Scripted {
    /// A text answer.
    pub fn text(t: &str) -> Scripted {
        Reply::Text(t.to_string()).into()
    }

    /// One tool call with JSON arguments.
    pub fn call(id: &str, name: &str, args: Value) -> Scripted {
        Scripted::calls(&[(id, name, args)])
    }

    /// Several tool calls in one turn.
    pub fn calls(calls: &[(&str, &str, Value)]) -> Scripted {
        Reply::Tools {
            content: String::new(),
            calls: calls
                .iter()
                .map(|(id, name, args)| Call {
                    id: id.to_string(),
                    name: name.to_string(),
                    arguments: args.to_string(),
                })
                .collect(),
        }
        .into()
    }

    /// One tool call with raw (possibly malformed) argument text.
    pub fn raw_call(id: &str, name: &str, arguments: &str) -> Scripted {
        Reply::Tools {
            content: String::new(),
            calls: vec![Call {
                id: id.to_string(),
                name: name.to_string(),
                arguments: arguments.to_string(),
            }],
        }
        .into()
    }

    /// An HTTP error with an OpenAI-style body.
    pub fn error(status: u16, message: &str) -> Scripted {
        Reply::Error {
            status,
            body: json!({"error": {"message": message, "type": "error", "code": null}}).to_string(),
            retry_after: None,
        }
        .into()
    }

    /// 429 with `Retry-After: secs`.
    pub fn rate_limited(secs: u64) -> Scripted {
        Reply::Error {
            status: 429,
            body: json!({"error": {"message": "Rate limit reached", "type": "rate_limit_error"}})
                .to_string(),
            retry_after: Some(secs.to_string()),
        }
        .into()
    }

    /// An SSE response that stays silent for `d`.
    pub fn stall(d: Duration) -> Scripted {
        Reply::Stall(d).into()
    }

    /// An SSE response that sends only keep-alives every `every` for `total`.
    pub fn keep_alive(every: Duration, total: Duration) -> Scripted {
        Reply::KeepAlive { every, total }.into()
    }

    /// A stream cut after `text`, with no finish reason and no `[DONE]`.
    pub fn cut(text: &str) -> Scripted {
        Reply::Cut(text.to_string()).into()
    }

    /// A reply with no text and no tool call.
    pub fn empty() -> Scripted {
        Reply::Empty.into()
    }

    /// A reply whose message is `null`.
    pub fn null_message() -> Scripted {
        Reply::NullMessage.into()
    }

    /// `text` cut by the token limit (`finish_reason: "length"`).
    pub fn length(text: &str) -> Scripted {
        Reply::Length(text.to_string()).into()
    }

    /// The 500 llama-cpp-python's chat template gives for an assistant message without
    /// `content`: it fails the same way every time.
    pub fn template_error() -> Scripted {
        Scripted::error(500, "'dict object' has no attribute 'content'")
    }

    /// The same reply delivered in `style`.
    pub fn style(mut self, style: Style) -> Scripted {
        self.style = style;
        self
    }
}

impl From<Reply> for Scripted {
    fn from(reply: Reply) -> Scripted {
        Scripted {
            reply,
            style: Style::Auto,
        }
    }
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The JSON body.
    pub body: Value,
    /// The body as sent (for searching).
    pub raw: String,
    /// The `Authorization` header.
    pub authorization: Option<String>,
}

#[derive(Default)]
struct Inner {
    script: Vec<Scripted>,
    next: usize,
    requests: Vec<Recorded>,
    violations: Vec<String>,
}

/// The running server; stops when dropped.
pub struct ScriptedModel {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ScriptedModel {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ScriptedModel {
    /// Serves `script` on a free port of 127.0.0.1.
    pub async fn start(script: Vec<Scripted>) -> ScriptedModel {
        let inner = Arc::new(Mutex::new(Inner {
            script,
            ..Inner::default()
        }));
        let app = Router::new()
            .route("/v1/chat/completions", post(handle))
            .route("/chat/completions", post(handle))
            .with_state(Arc::clone(&inner));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind scripted model");
        let addr = listener.local_addr().expect("local addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        ScriptedModel { addr, inner, task }
    }

    /// Base URL (`http://127.0.0.1:PORT/v1`).
    pub fn url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().expect("lock").requests.clone()
    }

    /// Every request body so far.
    pub fn bodies(&self) -> Vec<Value> {
        self.requests().into_iter().map(|r| r.body).collect()
    }

    /// A counter of the requests received so far, readable from another thread (a pty test
    /// waits on it before interrupting a question the model is answering).
    pub fn request_counter(&self) -> impl Fn() -> usize + Send + 'static {
        let inner = Arc::clone(&self.inner);
        move || inner.lock().expect("lock").requests.len()
    }

    /// How many scripted replies were used.
    pub fn served(&self) -> usize {
        self.inner.lock().expect("lock").next
    }

    /// Panics if any request had a tool call without exactly one answer.
    pub fn assert_tool_calls_answered(&self) {
        let v = self.inner.lock().expect("lock").violations.clone();
        assert!(
            v.is_empty(),
            "tool call ids not answered exactly once: {v:#?}"
        );
    }
}

/// Checks a request's messages: every assistant tool call id is answered by exactly one tool
/// message, and every tool message answers a call made before it.
pub fn check_tool_calls_answered(messages: &[Value]) -> Result<(), String> {
    let mut open: Vec<String> = Vec::new();
    let mut all: Vec<String> = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        match m.get("role").and_then(Value::as_str) {
            Some("assistant") => {
                if !open.is_empty() {
                    return Err(format!(
                        "message {i}: assistant turn before answers to {open:?}"
                    ));
                }
                for c in m
                    .get("tool_calls")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let id = c
                        .get("id")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string();
                    if id.is_empty() || all.contains(&id) {
                        return Err(format!("message {i}: empty or reused tool call id {id:?}"));
                    }
                    all.push(id.clone());
                    open.push(id);
                }
            }
            Some("tool") => {
                let id = m.get("tool_call_id").and_then(Value::as_str).unwrap_or("");
                match open.iter().position(|o| o == id) {
                    Some(p) => {
                        open.remove(p);
                    }
                    None => {
                        return Err(format!(
                            "message {i}: tool message for unknown or answered id {id:?}"
                        ));
                    }
                }
            }
            _ => {
                if !open.is_empty() {
                    return Err(format!(
                        "message {i}: new message before answers to {open:?}"
                    ));
                }
            }
        }
    }
    if open.is_empty() {
        Ok(())
    } else {
        Err(format!("unanswered tool calls at the end: {open:?}"))
    }
}

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    raw: String,
) -> Response {
    let body: Value = serde_json::from_str(&raw).unwrap_or(Value::Null);
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let scripted = {
        let mut g = inner.lock().expect("lock");
        let n = g.requests.len();
        if let Some(msgs) = body.get("messages").and_then(Value::as_array)
            && let Err(e) = check_tool_calls_answered(msgs)
        {
            g.violations.push(format!("request {n}: {e}"));
        }
        g.requests.push(Recorded {
            body: body.clone(),
            raw: raw.clone(),
            authorization: headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        });
        let s = g.script.get(g.next).cloned();
        if s.is_some() {
            g.next += 1;
        }
        s
    };
    let Some(scripted) = scripted else {
        return json_response(
            400,
            json!({"error": {"message": "scripted model: the script is exhausted"}}),
        );
    };
    let style = match scripted.style {
        Style::Auto if stream => Style::OpenAi,
        Style::Auto => Style::Json,
        s => s,
    };
    match scripted.reply {
        Reply::Error {
            status,
            body,
            retry_after,
        } => {
            let mut b = Response::builder()
                .status(status)
                .header(header::CONTENT_TYPE, "application/json");
            if let Some(r) = retry_after {
                b = b.header(header::RETRY_AFTER, r);
            }
            b.body(Body::from(body)).expect("response")
        }
        Reply::Stall(d) => {
            let s = futures::stream::unfold(0u8, move |state| async move {
                match state {
                    0 => Some((Ok::<Bytes, std::io::Error>(Bytes::from(": waiting\n\n")), 1)),
                    1 => {
                        tokio::time::sleep(d).await;
                        None
                    }
                    _ => None,
                }
            });
            sse_response(Body::from_stream(s))
        }
        Reply::KeepAlive { every, total } => keep_alive(every, total),
        Reply::Text(text) => deliver(style, &text, &[], "stop"),
        Reply::Length(text) => deliver(style, &text, &[], "length"),
        Reply::Tools { content, calls } => deliver(style, &content, &calls, "tool_calls"),
        Reply::Empty => deliver(style, "", &[], "stop"),
        Reply::NullMessage if style == Style::Json => json_response(
            200,
            json!({"id": "chatcmpl-scripted", "object": "chat.completion", "created": 0,
                "model": "scripted", "choices": [{"index": 0, "message": null, "finish_reason": "stop"}]}),
        ),
        Reply::NullMessage => sse_body(
            vec![
                json!({"id": "chatcmpl-scripted", "object": "chat.completion.chunk", "created": 0,
                "model": "scripted", "choices": [{"index": 0, "delta": null, "finish_reason": "stop"}]}),
            ],
            true,
        ),
        Reply::Cut(text) => {
            let mut events = vec![chunk(
                json!({"role": "assistant", "content": ""}),
                Value::Null,
            )];
            for piece in pieces(&text, 7) {
                events.push(chunk(json!({"content": piece}), Value::Null));
            }
            sse_body(events, false)
        }
    }
}

/// Keep-alive comments and empty deltas, one every `every`, for `total`; then the end.
fn keep_alive(every: Duration, total: Duration) -> Response {
    let n = (total.as_millis() / every.as_millis().max(1)).max(1) as usize;
    let s = futures::stream::unfold(0usize, move |i| async move {
        if i >= n {
            return None;
        }
        if i > 0 {
            tokio::time::sleep(every).await;
        }
        let text = if i % 2 == 0 {
            ": keep-alive\n\n".to_string()
        } else {
            format!("data: {}\n\n", chunk(json!({}), Value::Null))
        };
        Some((Ok::<Bytes, std::io::Error>(Bytes::from(text)), i + 1))
    });
    sse_response(Body::from_stream(s))
}

/// One streamed chunk with this delta and finish reason.
fn chunk(delta: Value, finish: Value) -> Value {
    json!({
        "id": "chatcmpl-scripted", "object": "chat.completion.chunk", "created": 0, "model": "scripted",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
    })
}

/// An SSE body of `events`, ended by `[DONE]` when `done`, cut into odd-sized reads.
fn sse_body(events: Vec<Value>, done: bool) -> Response {
    let mut text = String::new();
    for e in events {
        text.push_str(&format!("data: {e}\n\n"));
    }
    if done {
        text.push_str("data: [DONE]\n\n");
    }
    // Cut the bytes at odd places so the client must reassemble lines across reads.
    let bytes = text.into_bytes();
    let parts: Vec<Result<Bytes, std::io::Error>> = bytes
        .chunks(61)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    sse_response(Body::from_stream(futures::stream::iter(parts)))
}

fn json_response(status: u16, v: Value) -> Response {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(v.to_string()))
        .expect("response")
}

fn sse_response(body: Body) -> Response {
    Response::builder()
        .status(200)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(body)
        .expect("response")
}

fn deliver(style: Style, content: &str, calls: &[Call], finish: &str) -> Response {
    if style == Style::Json {
        let tool_calls: Vec<Value> = calls
            .iter()
            .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}))
            .collect();
        let content = if content.is_empty() {
            Value::Null
        } else {
            json!(content)
        };
        let mut message = json!({"role": "assistant", "content": content});
        if !tool_calls.is_empty() {
            message["tool_calls"] = json!(tool_calls);
        }
        return json_response(
            200,
            json!({
                "id": "chatcmpl-scripted", "object": "chat.completion", "created": 0, "model": "scripted",
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
            }),
        );
    }
    let mut events: Vec<Value> = vec![chunk(
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )];
    for piece in pieces(content, 7) {
        events.push(chunk(json!({"content": piece}), Value::Null));
    }
    for (i, c) in calls.iter().enumerate() {
        match style {
            Style::OneChunk => events.push(chunk(
                json!({"tool_calls": [{"index": i, "id": c.id, "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments}}]}),
                Value::Null,
            )),
            Style::LlamaCpp => {
                for piece in pieces(&c.arguments, 9) {
                    events.push(chunk(
                        json!({"tool_calls": [{"index": i, "id": c.id, "type": "function",
                            "function": {"name": c.name, "arguments": piece}}]}),
                        Value::Null,
                    ));
                }
            }
            _ => {
                events.push(chunk(
                    json!({"tool_calls": [{"index": i, "id": c.id, "type": "function",
                        "function": {"name": c.name, "arguments": ""}}]}),
                    Value::Null,
                ));
                for piece in pieces(&c.arguments, 9) {
                    events.push(chunk(
                        json!({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}),
                        Value::Null,
                    ));
                }
            }
        }
    }
    if style != Style::OneChunk {
        events.push(chunk(json!({}), json!(finish)));
    }
    sse_body(events, true)
}

/// Splits `s` into pieces of about `n` characters (never inside a character).
fn pieces(s: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    chars.chunks(n.max(1)).map(|c| c.iter().collect()).collect()
}
