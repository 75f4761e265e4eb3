//! Tests of how the client meets servers that misbehave: silence, keep-alives, cut and empty
//! streams, token limits, errors that fail the same way, deadlines; and what it sends.

use std::time::{Duration, Instant};

use kai_tests::model::{Scripted, ScriptedModel, Style};
use kai_tools::registry;
use serde_json::{Value, json};

use super::tests::{Collect, client, user};
use super::wire;
use super::*;
use crate::chat::{Message, ToolCall};
use crate::config::{ModelConfig, ToolChoice};
use crate::events::NoEvents;

fn with_cfg(url: &str, f: impl FnOnce(&mut ModelConfig)) -> ModelClient {
    let base = client(url);
    let mut cfg = base.config().clone();
    f(&mut cfg);
    ModelClient::new(cfg)
        .unwrap()
        .with_retry(client::RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_secs(5),
        })
}

#[tokio::test]
async fn keep_alives_are_silence_and_a_timed_out_request_is_sent_at_most_twice() {
    let server = ScriptedModel::start(vec![
        Scripted::keep_alive(Duration::from_millis(100), Duration::from_secs(6)),
        Scripted::keep_alive(Duration::from_millis(100), Duration::from_secs(6)),
        Scripted::text("never asked for"),
    ])
    .await;
    let t = Instant::now();
    let e = client(&server.url())
        .complete(&user("q"), &[], &NoEvents)
        .await
        .unwrap_err();
    assert!(matches!(e, ModelError::Timeout { .. }), "{e}");
    // 0.7 s of keep-alives, then one retry with twice the idle time: far less than 6 s.
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    assert_eq!(server.served(), 2, "one retry at most after a timeout");
}

#[tokio::test]
async fn a_cut_stream_is_asked_again_without_streaming_and_its_real_error_reported() {
    let server = ScriptedModel::start(vec![
        Scripted::cut("The backend crashes bec"),
        Scripted::error(400, "Requested tokens (9120) exceed context window of 8192"),
        Scripted::cut("Half an answ"),
        Scripted::text("The whole answer."),
    ])
    .await;
    let m = client(&server.url());
    let e = m.complete(&user("q"), &[], &NoEvents).await.unwrap_err();
    assert!(matches!(e, ModelError::ContextOverflow { .. }), "{e}");
    assert!(e.to_string().contains("context window"), "{e}");
    let c = m.complete(&user("q"), &[], &NoEvents).await.unwrap();
    assert_eq!(c.content, "The whole answer.");
    let bodies = server.bodies();
    assert_eq!(bodies[0]["stream"], json!(true));
    assert!(bodies[1].get("stream").is_none(), "{}", bodies[1]);
    assert_eq!(server.served(), 4, "a 400 is not retried");
}

#[tokio::test]
async fn empty_and_null_messages_are_failures_not_blank_answers() {
    for (first, second) in [
        (Scripted::empty(), Scripted::empty()),
        (Scripted::null_message(), Scripted::null_message()),
        (
            Scripted::empty().style(Style::Json),
            Scripted::null_message().style(Style::Json),
        ),
    ] {
        let server = ScriptedModel::start(vec![first, second]).await;
        let e = client(&server.url())
            .complete(&user("q"), &[], &NoEvents)
            .await
            .unwrap_err();
        assert!(matches!(e, ModelError::Empty { .. }), "{e}");
        assert_eq!(server.served(), 2, "once streamed, once not");
    }
}

#[tokio::test]
async fn a_token_limit_is_kept_as_the_finish_reason() {
    let server = ScriptedModel::start(vec![Scripted::length("It is the data")]).await;
    let c = client(&server.url())
        .complete(&user("q"), &[], &NoEvents)
        .await
        .unwrap();
    assert_eq!(c.content, "It is the data");
    assert_eq!(c.finish_reason.as_deref(), Some("length"));
}

#[tokio::test]
async fn errors_that_fail_the_same_way_are_not_retried() {
    let server = ScriptedModel::start(vec![
        Scripted::template_error(),
        Scripted::error(
            500,
            "Jinja2 TemplateError: Conversation roles must alternate",
        ),
        Scripted::error(422, "unprocessable"),
        Scripted::error(500, "transient"),
        Scripted::text("ok"),
    ])
    .await;
    let m = client(&server.url());
    for _ in 0..3 {
        let e = m.complete(&user("q"), &[], &NoEvents).await.unwrap_err();
        assert!(matches!(e, ModelError::Http { .. }), "{e}");
    }
    assert_eq!(server.served(), 3, "no retries");
    let sink = Collect::default();
    assert_eq!(
        m.complete(&user("q"), &[], &sink).await.unwrap().content,
        "ok"
    );
    assert_eq!(sink.retries(), 1, "a plain 500 is retried");
}

#[tokio::test]
async fn the_total_deadline_ends_a_turn_whatever_the_server_does() {
    let server = ScriptedModel::start(vec![
        Scripted::keep_alive(Duration::from_millis(100), Duration::from_secs(6)),
        Scripted::stall(Duration::from_secs(6)),
    ])
    .await;
    let m = with_cfg(&server.url(), |c| {
        c.idle_timeout = Duration::from_millis(600);
        c.total_timeout = Duration::from_secs(1);
    });
    let t = Instant::now();
    let e = m.complete(&user("q"), &[], &NoEvents).await.unwrap_err();
    assert!(matches!(e, ModelError::Deadline { secs: 1, .. }), "{e}");
    assert!(
        t.elapsed() < Duration::from_millis(1800),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test]
async fn a_turn_ends_at_its_deadline_before_the_idle_timer() {
    let server = ScriptedModel::start(vec![
        Scripted::keep_alive(Duration::from_millis(50), Duration::from_secs(6)),
        Scripted::keep_alive(Duration::from_millis(50), Duration::from_secs(6)),
    ])
    .await;
    let m = with_cfg(&server.url(), |c| {
        c.idle_timeout = Duration::from_secs(5);
        c.turn_timeout = Duration::from_millis(400);
    });
    let t = Instant::now();
    let e = m.complete(&user("q"), &[], &NoEvents).await.unwrap_err();
    assert!(matches!(e, ModelError::Timeout { .. }), "{e}");
    // 0.4 s, then one retry with twice that.
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    assert_eq!(server.served(), 2);
}

#[tokio::test]
async fn template_tokens_and_entities_are_cleaned_streamed_or_not() {
    let server = ScriptedModel::start(vec![
        Scripted::text("It&#39;s the DB &amp; cache.<|im_end|><|im_start|>user\nthanks"),
        Scripted::text("<start_of_turn>model\nR&amp;D<end_of_turn>").style(Style::Json),
    ])
    .await;
    let m = client(&server.url());
    let sink = Collect::default();
    let c = m.complete(&user("q"), &[], &sink).await.unwrap();
    assert_eq!(c.content, "It's the DB & cache.");
    assert_eq!(sink.texts().concat(), "It's the DB & cache.");
    let c = m.complete(&user("q"), &[], &NoEvents).await.unwrap();
    assert_eq!(c.content, "R&D");
}

#[test]
fn requests_carry_max_tokens_tool_choice_and_content_on_tool_call_messages() {
    let specs = registry::specs();
    let history = vec![
        Message::User("why".into()),
        Message::Assistant {
            content: String::new(),
            tool_calls: vec![ToolCall {
                id: "c1".into(),
                name: "list_pods".into(),
                arguments: String::new(),
            }],
        },
        Message::Tool {
            call_id: "c1".into(),
            content: "no pods".into(),
        },
    ];
    let mut cfg = ModelConfig::new("m", "http://127.0.0.1:1/v1", None);
    let body: Value = serde_json::to_value(wire::request(&cfg, &history, &specs, true)).unwrap();
    assert_eq!(body["tool_choice"], json!("auto"));
    assert_eq!(body["max_tokens"], json!(2048));
    assert!(body.get("max_completion_tokens").is_none());
    assert_eq!(body["messages"][1]["content"], json!(""));
    assert_eq!(
        body["messages"][1]["tool_calls"][0]["function"]["arguments"],
        json!("{}")
    );
    // No tools, no tool_choice; a configured choice and limit are sent as they are.
    let body: Value = serde_json::to_value(wire::request(&cfg, &history, &[], true)).unwrap();
    assert!(body.get("tool_choice").is_none(), "{body}");
    cfg.tool_choice = Some(ToolChoice::Required);
    cfg.max_tokens = Some(77);
    let body: Value = serde_json::to_value(wire::request(&cfg, &history, &specs, false)).unwrap();
    assert_eq!(body["tool_choice"], json!("required"));
    assert_eq!(body["max_tokens"], json!(77));
    cfg.tool_choice = None;
    let body: Value = serde_json::to_value(wire::request(&cfg, &history, &specs, false)).unwrap();
    assert!(body.get("tool_choice").is_none(), "{body}");
    // OpenAI's own endpoint takes the limit as max_completion_tokens.
    let cfg = ModelConfig::new("gpt", "https://api.openai.com/v1", None);
    let body: Value = serde_json::to_value(wire::request(&cfg, &history, &specs, true)).unwrap();
    assert_eq!(body["max_completion_tokens"], json!(2048));
    assert!(body.get("max_tokens").is_none());
}
