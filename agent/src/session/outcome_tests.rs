//! Tests of how a question ends: a cut answer, an answer without tools, an empty turn, and a
//! denied write that decides the end whatever happens after.

use kai_tests::model::{Scripted, ScriptedModel};
use serde_json::{Value, json};

use super::tests::{session, tool_msgs};
use super::*;
use crate::events::NoEvents;
use crate::policy::tests::demo;
use crate::policy::{Answer, Mode};

fn scale_backend(id: &str) -> Scripted {
    Scripted::call(
        id,
        "scale",
        json!({"kind": "deployment", "name": "backend", "namespace": "shop", "replicas": 0}),
    )
}

/// A read-only session (writes refused by the mode).
fn reader(cluster: &Cluster, server: &ScriptedModel) -> Session {
    session(
        cluster,
        &server.url(),
        Mode::ReadOnly,
        Answer::Yes,
        SessionOptions::default(),
    )
}

/// A session whose user refuses every change.
fn refuser(cluster: &Cluster, server: &ScriptedModel, opts: SessionOptions) -> Session {
    session(
        cluster,
        &server.url(),
        Mode::Confirm,
        Answer::No("no".into()),
        opts,
    )
}

/// The content of the last user message of a request body.
fn last_user(body: &Value) -> String {
    body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .and_then(|m| m["content"].as_str())
        .unwrap_or("")
        .to_string()
}

#[tokio::test]
async fn a_cut_answer_ends_as_cut_and_an_answer_without_tools_is_flagged() {
    let d = demo().await;
    let server = ScriptedModel::start(vec![
        Scripted::length("The backend is crashing because"),
        Scripted::call("c1", "list_pods", json!({"namespace": "shop"})),
        Scripted::text("backend is in CrashLoopBackOff."),
    ])
    .await;
    let mut s = reader(&d.cluster, &server);
    let out = s
        .ask("why is backend crashing", None, &NoEvents)
        .await
        .unwrap();
    assert_eq!(out.reason, EndReason::Cut);
    assert_eq!(out.answer, "The backend is crashing because");
    assert!(
        out.warnings
            .iter()
            .any(|w| w.contains("cut at its token limit")),
        "{:?}",
        out.warnings
    );
    assert!(
        out.warnings
            .iter()
            .any(|w| w.contains("without calling any tool")),
        "{:?}",
        out.warnings
    );
    // Once a tool has run, an answer is not flagged.
    let out = s.ask("and now?", None, &NoEvents).await.unwrap();
    assert_eq!(out.reason, EndReason::Finished);
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
}

#[tokio::test]
async fn the_nudge_after_an_empty_turn_names_tool_results_only_when_there_are_some() {
    let d = demo().await;
    let server = ScriptedModel::start(vec![
        Scripted::empty(),
        Scripted::empty(),
        Scripted::text("Nothing is wrong."),
        Scripted::call("c1", "list_pods", json!({"namespace": "shop"})),
        Scripted::empty(),
        Scripted::null_message(),
        Scripted::text("backend is crashing."),
    ])
    .await;
    let mut s = reader(&d.cluster, &server);
    let out = s.ask("is shop healthy", None, &NoEvents).await.unwrap();
    assert_eq!(out.answer, "Nothing is wrong.");
    let bodies = server.bodies();
    let nudge = last_user(&bodies[2]);
    assert!(nudge.starts_with("Please answer"), "{nudge}");
    assert!(!nudge.contains("tool"), "{nudge}");
    let out = s.ask("look again", None, &NoEvents).await.unwrap();
    assert_eq!(out.answer, "backend is crashing.");
    let nudge = last_user(&server.bodies()[6]);
    assert!(nudge.contains("tool results"), "{nudge}");
    server.assert_tool_calls_answered();
}

#[tokio::test]
async fn an_empty_model_after_the_nudge_is_a_model_error() {
    let d = demo().await;
    let server = ScriptedModel::start(vec![Scripted::empty(); 4]).await;
    let mut s = reader(&d.cluster, &server);
    let e = s.ask("why", None, &NoEvents).await.unwrap_err();
    assert!(
        matches!(e, SessionError::Model(ModelError::Empty { .. })),
        "{e}"
    );
    assert_eq!(server.served(), 4);
}

#[tokio::test]
async fn a_denied_write_decides_the_end_at_the_step_limit_and_after_a_model_failure() {
    let d = demo().await;
    let server = ScriptedModel::start(vec![
        scale_backend("w1"),
        Scripted::call("r1", "list_pods", json!({"namespace": "shop"})),
        Scripted::text("So far: the scale was refused."),
    ])
    .await;
    let opts = SessionOptions {
        max_steps: 2,
        ..SessionOptions::default()
    };
    let mut s = refuser(&d.cluster, &server, opts);
    let out = s.ask("scale backend to 0", None, &NoEvents).await.unwrap();
    assert_eq!(out.reason, EndReason::WriteDenied, "not the step limit");

    let server = ScriptedModel::start(vec![
        scale_backend("w1"),
        Scripted::error(400, "bad request"),
    ])
    .await;
    let mut s = refuser(&d.cluster, &server, SessionOptions::default());
    let e = s
        .ask("scale backend to 0", None, &NoEvents)
        .await
        .unwrap_err();
    match e {
        SessionError::AfterDenial { steps, .. } => {
            assert_eq!(steps[0].decision, Decision::Denied);
        }
        other => panic!("expected AfterDenial, got {other}"),
    }
    assert!(s.is_empty(), "the failed question leaves nothing behind");
}

#[tokio::test]
async fn assistant_tool_call_messages_carry_empty_content() {
    let d = demo().await;
    let server = ScriptedModel::start(vec![
        Scripted::call("c1", "list_pods", json!({"namespace": "shop"})),
        Scripted::text("ok"),
    ])
    .await;
    let mut s = reader(&d.cluster, &server);
    s.ask("pods?", None, &NoEvents).await.unwrap();
    let body = &server.bodies()[1];
    let assistant = body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "assistant")
        .unwrap();
    assert_eq!(assistant["content"], json!(""));
    assert_eq!(body["tool_choice"], json!("auto"));
    assert_eq!(tool_msgs(body).len(), 1);
}
