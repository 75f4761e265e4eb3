//! Tests of the model client against the scripted server.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use kai_tests::model::{Scripted, ScriptedModel, Style};
use serde_json::{Value, json};

use super::accumulate::Accumulator;
use super::client::RetryPolicy;
use super::wire::{self, parse_retry_after};
use super::*;
use crate::chat::Message;
use crate::config::{ApiKey, ModelConfig};
use crate::events::{Event, EventSink, NoEvents};

#[derive(Default)]
pub(super) struct Collect(Mutex<Vec<String>>);

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
    pub(super) fn texts(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| l.strip_prefix("text:").map(str::to_string))
            .collect()
    }
    pub(super) fn retries(&self) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.starts_with("retry:"))
            .count()
    }
}

pub(super) fn user(text: &str) -> Vec<Message> {
    vec![Message::User(text.into())]
}

pub(super) fn client(url: &str) -> ModelClient {
    crate::tls::install_crypto_provider();
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
    let cfg = ModelConfig::new("m", "http://h/v1", None);
    let body = serde_json::to_value(wire::request(&cfg, &user("q"), &[], true)).unwrap();
    assert!(body.get("tools").is_none(), "{body}");
    assert_eq!(body["messages"][0]["role"], json!("user"));
}

#[test]
fn token_usage_is_read_from_a_whole_response_and_from_a_stream_s_last_chunk() {
    use crate::chat::Usage;
    let whole = json!({"choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 120, "completion_tokens": 8, "total_tokens": 128}});
    let c = wire::parse_completion(whole.to_string().as_bytes()).unwrap();
    assert_eq!(
        c.usage,
        Some(Usage {
            prompt: 120,
            completion: 8
        })
    );
    let mut acc = Accumulator::default();
    acc.apply_chunk(&json!({"choices": [{"delta": {"content": "hi"}, "finish_reason": "stop"}]}));
    // OpenAI's `include_usage` chunk has no choices.
    acc.apply_chunk(&json!({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2}}));
    assert_eq!(
        acc.finish().usage,
        Some(Usage {
            prompt: 5,
            completion: 2
        })
    );
    let none = json!({"choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}]});
    let c = wire::parse_completion(none.to_string().as_bytes()).unwrap();
    assert_eq!(c.usage, None, "no usage, no tokens");
}
