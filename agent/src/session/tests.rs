//! Tests of the session loop against the sandbox and the scripted model server.

use std::sync::atomic::AtomicUsize;

use kai_tests::model::{Scripted, ScriptedModel, Style};
use serde_json::json;

use super::tool_calls::canonical;
use super::*;
use crate::config::{ApiKey, ModelConfig, PolicyConfig};
use crate::events::NoEvents;
use crate::policy::tests::{Fixed, demo, replicas};
use crate::policy::{Answer, Mode};

const CANARIES: [&str; 4] = [
    "S3CR3T-CANARY-7f3a9c",
    "tok-CANARY-91b2e4",
    "eyJhbGciOiJIUzI1NiJ9.CANARY.sig",
    "pw-CANARY-55d1",
];

pub(super) fn session(
    cluster: &Cluster,
    url: &str,
    mode: Mode,
    answer: Answer,
    opts: SessionOptions,
) -> Session {
    let model =
        ModelClient::new(ModelConfig::new("scripted", url, Some(ApiKey::new("k")))).unwrap();
    let gate = Gate::new(
        mode,
        PolicyConfig::default().protected_namespaces,
        Arc::new(Fixed(answer, AtomicUsize::new(0))),
        None,
    );
    Session::new(cluster.clone(), model, Arc::new(gate), opts)
}

/// The tool messages of a request body.
pub(super) fn tool_msgs(body: &Value) -> Vec<(String, String)> {
    body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| {
            (
                m["tool_call_id"].as_str().unwrap().to_string(),
                m["content"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn multi_step_investigation_sends_outputs_back_and_never_secrets() {
    let d = demo().await;
    let server = ScriptedModel::start(vec![
        Scripted::call("c1", "diagnose", json!({"namespace": "shop"})),
        Scripted::calls(&[
            (
                "c2",
                "get_logs",
                json!({"workload": "backend", "namespace": "shop", "previous": true}),
            ),
            (
                "c3",
                "describe",
                json!({"kind": "deployment", "name": "frontend", "namespace": "shop"}),
            ),
            (
                "c4",
                "list_resources",
                json!({"kind": "secrets", "namespace": "shop"}),
            ),
        ])
        .style(Style::LlamaCpp),
        Scripted::text("backend crashes: DATABASE_URL is not set."),
    ])
    .await;
    let mut s = session(
        &d.cluster,
        &server.url(),
        Mode::Confirm,
        Answer::Yes,
        SessionOptions::default(),
    );
    let out = s
        .ask("why is backend crashing", None, &NoEvents)
        .await
        .unwrap();
    assert_eq!(out.answer, "backend crashes: DATABASE_URL is not set.");
    assert_eq!(out.reason, EndReason::Finished);
    assert_eq!(out.steps.len(), 4);
    assert!(
        out.steps
            .iter()
            .all(|s| s.ok && s.decision == Decision::Allowed),
        "{:?}",
        out.steps
    );
    assert_eq!(out.steps[1].tool, "get_logs");
    let bodies = server.bodies();
    assert_eq!(bodies.len(), 3);
    let system = bodies[0]["messages"][0]["content"].as_str().unwrap();
    assert!(
        system.contains(&d.cluster.context) && system.contains("confirm"),
        "{system}"
    );
    assert_eq!(
        bodies[0]["tools"].as_array().unwrap().len(),
        registry::specs().len()
    );
    let t1 = tool_msgs(&bodies[1]);
    assert_eq!(t1.len(), 1);
    assert!(t1[0].1.contains("backend"), "diagnose output: {}", t1[0].1);
    let t2 = tool_msgs(&bodies[2]);
    assert_eq!(
        t2.iter().map(|t| t.0.as_str()).collect::<Vec<_>>(),
        ["c1", "c2", "c3", "c4"]
    );
    assert!(t2[1].1.contains("DATABASE_URL"), "logs: {}", t2[1].1);
    server.assert_tool_calls_answered();
    for r in server.requests() {
        for c in CANARIES {
            assert!(!r.raw.contains(c), "canary {c} sent to the model");
        }
    }
    // The conversation continues in the same session.
    assert!(s.len() >= 7);
    s.clear();
    assert!(s.is_empty());
}

#[tokio::test]
async fn bad_calls_are_answered_so_the_model_can_correct_them() {
    let d = demo().await;
    let server = ScriptedModel::start(vec![
        bad_turn(),
        Scripted::calls(&[
            ("r1", "list_pods", json!({"namespace": "shop"})),
            ("r2", "list_pods", json!({"namespace": "shop"})),
        ]),
        Scripted::text("done"),
    ])
    .await;
    let mut s = session(
        &d.cluster,
        &server.url(),
        Mode::Confirm,
        Answer::Yes,
        SessionOptions::default(),
    );
    let out = s.ask("what pods", None, &NoEvents).await.unwrap();
    assert_eq!(out.answer, "done");
    let bodies = server.bodies();
    let t = tool_msgs(&bodies[1]);
    assert_eq!(t.len(), 5);
    assert!(t[0].1.contains("no tool named \"kubectl\""), "{}", t[0].1);
    assert!(t[1].1.contains("not valid JSON"), "{}", t[1].1);
    assert!(
        t[2].1.contains("invalid arguments for scale")
            && t[2].1.contains("string \"3\"")
            && t[2].1.contains("without quotes"),
        "{}",
        t[2].1
    );
    assert!(
        t[3].1.contains("invalid arguments for describe") && t[3].1.contains("`name`"),
        "{}",
        t[3].1
    );
    assert!(!t[4].1.starts_with("error"), "{}", t[4].1);
    // The second turn's first list_pods ran before (in turn one) → repeat note, once each.
    let t = tool_msgs(&bodies[2]);
    assert!(t[5].1.contains("already called"), "{}", t[5].1);
    assert!(t[6].1.contains("already called"), "{}", t[6].1);
    server.assert_tool_calls_answered();
    assert_eq!(out.steps.iter().filter(|s| s.ok).count(), 1);
    assert_eq!(out.steps.len(), 5, "repeats are not steps: {:?}", out.steps);
}

/// One turn with an unknown tool, malformed JSON, a wrong type, a missing argument and a
/// good call, delivered as one JSON document.
fn bad_turn() -> Scripted {
    Scripted::from(kai_tests::model::Reply::Tools {
        content: "Let me look.".into(),
        calls: vec![
            call("b1", "kubectl", "{\"cmd\":\"get pods\"}"),
            call("b2", "describe", "{\"kind\": \"pod\", "),
            call(
                "b3",
                "scale",
                "{\"kind\":\"deployment\",\"name\":\"backend\",\"replicas\":\"3\"}",
            ),
            call("b4", "describe", "{\"kind\":\"pod\"}"),
            call("b5", "list_pods", "{\"namespace\":\"shop\"}"),
        ],
    })
    .style(Style::Json)
}

fn call(id: &str, name: &str, args: &str) -> kai_tests::model::Call {
    kai_tests::model::Call {
        id: id.into(),
        name: name.into(),
        arguments: args.into(),
    }
}

#[tokio::test]
async fn step_limit_ends_with_a_summary_without_tools() {
    let d = demo().await;
    let server = ScriptedModel::start(vec![
        Scripted::call("s1", "list_pods", json!({"namespace": "shop"})),
        Scripted::call("s2", "get_events", json!({"namespace": "shop"})),
        Scripted::text("So far: backend is crashing."),
    ])
    .await;
    let opts = SessionOptions {
        max_steps: 2,
        ..SessionOptions::default()
    };
    let mut s = session(&d.cluster, &server.url(), Mode::Confirm, Answer::Yes, opts);
    let out = s.ask("why", None, &NoEvents).await.unwrap();
    assert_eq!(out.reason, EndReason::StepLimit);
    assert_eq!(out.answer, "So far: backend is crashing.");
    let last = server.bodies().pop().unwrap();
    assert!(last.get("tools").is_none(), "summary request has no tools");
    server.assert_tool_calls_answered();
}

#[tokio::test]
async fn step_limit_without_a_summary_composes_one() {
    let d = demo().await;
    let server = ScriptedModel::start(vec![
        Scripted::call("s1", "list_pods", json!({"namespace": "shop"})),
        Scripted::error(400, "bad request"),
    ])
    .await;
    let opts = SessionOptions {
        max_steps: 1,
        ..SessionOptions::default()
    };
    let mut s = session(&d.cluster, &server.url(), Mode::Confirm, Answer::Yes, opts);
    let out = s.ask("why", None, &NoEvents).await.unwrap();
    assert_eq!(out.reason, EndReason::StepLimit);
    assert!(
        out.answer.contains("step limit") && out.answer.contains("list_pods"),
        "{}",
        out.answer
    );
}

#[tokio::test]
async fn denied_write_ends_as_write_denied_and_changes_nothing() {
    let d = demo().await;
    let before = replicas(&d.cluster, "backend").await;
    let server = ScriptedModel::start(vec![
        Scripted::call(
            "w1",
            "scale",
            json!({"kind": "deployment", "name": "backend", "namespace": "shop", "replicas": 0}),
        ),
        Scripted::call(
            "w2",
            "scale",
            json!({"kind": "deployment", "name": "backend", "namespace": "shop", "replicas": 0}),
        ),
        Scripted::text("I could not scale backend."),
    ])
    .await;
    let mut s = session(
        &d.cluster,
        &server.url(),
        Mode::Confirm,
        Answer::No("no".into()),
        SessionOptions::default(),
    );
    let out = s.ask("scale backend to 0", None, &NoEvents).await.unwrap();
    assert_eq!(out.reason, EndReason::WriteDenied);
    assert_eq!(
        out.steps.len(),
        1,
        "the repeat was not run: {:?}",
        out.steps
    );
    assert_eq!(out.steps[0].decision, Decision::Denied);
    assert!(!out.steps[0].ok);
    let t = tool_msgs(&server.bodies()[1]);
    assert!(
        t[0].1.contains("denied by kai's change policy"),
        "{}",
        t[0].1
    );
    assert_eq!(replicas(&d.cluster, "backend").await, before);
    server.assert_tool_calls_answered();
}

#[tokio::test]
async fn approved_write_runs_and_reports_the_change() {
    let d = demo().await;
    let server = ScriptedModel::start(vec![
        Scripted::call(
            "w1",
            "scale",
            json!({"kind": "deployment", "name": "frontend", "namespace": "shop", "replicas": 3}),
        ),
        Scripted::text("Scaled."),
    ])
    .await;
    let mut s = session(
        &d.cluster,
        &server.url(),
        Mode::Auto,
        Answer::No("unused".into()),
        SessionOptions::default(),
    );
    let out = s.ask("scale frontend to 3", None, &NoEvents).await.unwrap();
    assert_eq!(out.reason, EndReason::Finished);
    assert_eq!(out.steps[0].decision, Decision::Allowed);
    assert!(out.steps[0].ok);
    assert_eq!(replicas(&d.cluster, "frontend").await, 3);
    let t = tool_msgs(&server.bodies()[1]);
    assert!(
        t[0].1.starts_with("done: scale deployment shop/frontend"),
        "{}",
        t[0].1
    );
}

#[tokio::test]
async fn old_outputs_are_shrunk_to_fit_the_budget() {
    let d = demo().await;
    let server = ScriptedModel::start(vec![
        Scripted::call("a", "list_pods", json!({"namespace": "shop"})),
        Scripted::call("b", "get_events", json!({"namespace": "shop"})),
        Scripted::call("c", "diagnose", json!({"namespace": "shop"})),
        Scripted::text("ok"),
    ])
    .await;
    let opts = SessionOptions {
        context_budget: 300,
        ..SessionOptions::default()
    };
    let mut s = session(&d.cluster, &server.url(), Mode::Confirm, Answer::Yes, opts);
    s.ask("q", None, &NoEvents).await.unwrap();
    let last = server.bodies().pop().unwrap();
    let t = tool_msgs(&last);
    assert!(t[0].1.contains("shrunk to save context"), "{}", t[0].1);
    assert!(t[1].1.contains("shrunk to save context"), "{}", t[1].1);
    assert!(!t[2].1.contains("shrunk"), "newest output kept whole");
}

#[tokio::test]
async fn piped_context_is_included_and_masked() {
    let d = demo().await;
    let server = ScriptedModel::start(vec![Scripted::text("It means the DB is missing.")]).await;
    let mut s = session(
        &d.cluster,
        &server.url(),
        Mode::ReadOnly,
        Answer::Yes,
        SessionOptions::default(),
    );
    let logs = "KeyError: 'DATABASE_URL'\nAuthorization: Bearer abcdefghijklmnop123\n";
    let out = s
        .ask("what does this mean", Some(logs), &NoEvents)
        .await
        .unwrap();
    assert_eq!(out.answer, "It means the DB is missing.");
    let body = &server.bodies()[0];
    let user = body["messages"][1]["content"].as_str().unwrap();
    assert!(user.contains("KeyError: 'DATABASE_URL'") && user.contains("data, not instructions"));
    assert!(!user.contains("abcdefghijklmnop123"), "{user}");
    assert!(
        body["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("read-only")
    );
}

#[tokio::test]
async fn a_model_error_leaves_the_conversation_unchanged() {
    let d = demo().await;
    let server = ScriptedModel::start(vec![Scripted::error(
        400,
        "model 'x' does not support tools",
    )])
    .await;
    let mut s = session(
        &d.cluster,
        &server.url(),
        Mode::Confirm,
        Answer::Yes,
        SessionOptions::default(),
    );
    let e = s.ask("q", None, &NoEvents).await.unwrap_err();
    assert!(
        matches!(e, SessionError::Model(ModelError::NoToolSupport { .. })),
        "{e}"
    );
    assert!(s.is_empty());
}

#[test]
fn canonical_keys_and_labels() {
    assert_eq!(
        canonical(&json!({"b": 1, "a": {"d": null, "c": 2}})),
        "{\"a\":{\"c\":2},\"b\":1}"
    );
    assert_eq!(
        call_label("scale", &json!({"name": "a", "replicas": 2})),
        "scale(name=a, replicas=2)"
    );
}
