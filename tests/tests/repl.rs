//! The REPL end to end through a pseudo-terminal: conversations, approvals, Ctrl-C,
//! /namespace, and history across restarts, against the sandbox (and a scripted model).

// A panic with the reason is the test failure we want.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use kai_sandbox::resources::by_plural;
use kai_tests::model::{Scripted, ScriptedModel, Style};
use kai_tests::{TestCluster, kai_terminal_command, on_pty};
use rexpect::session::PtySession;
use serde_json::{Value, json};

/// Starts `kai` (the REPL: no question, on a terminal) against the test cluster.
fn spawn_repl(tc: &TestCluster, home: &Path, extra: &[&str], env: &[(&str, &str)]) -> PtySession {
    let mut cmd = kai_terminal_command(home);
    cmd.arg("--kubeconfig").arg(&tc.kubeconfig).args(extra);
    for (k, v) in env {
        cmd.env(k, v);
    }
    on_pty(cmd)
}

/// Starts the REPL talking to the scripted model at `url`.
fn spawn_model_repl(tc: &TestCluster, home: &Path, url: &str) -> PtySession {
    spawn_repl(
        tc,
        home,
        &["--base-url", url, "--model", "scripted"],
        &[("KAI_API_KEY", "test-key")],
    )
}

fn deployment(tc: &TestCluster, ns: &str, name: &str) -> Value {
    let world = tc.sandbox.world();
    let w = world.lock().unwrap();
    let rt = by_plural("apps", "deployments").unwrap();
    (*w.store.get(rt, ns, name).expect("deployment exists")).clone()
}

fn image_of(d: &Value) -> String {
    d["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_conversation_refers_back_and_asks_before_changes() {
    let tc = TestCluster::start("demo").await;
    let home = tempfile::tempdir().unwrap();
    let before = deployment(&tc, "shop", "backend");
    assert_eq!(image_of(&before), "shop/backend:1.4.0");

    let tc = std::sync::Arc::new(tc);
    let t = tc.clone();
    let home_path = home.path().to_path_buf();
    tokio::task::spawn_blocking(move || {
        let mut p = spawn_repl(&t, &home_path, &[], &[]);
        p.exp_string("(offline) > ").unwrap();
        // Turn 1: the question that names the workload.
        p.send_line("why is backend crashing").unwrap();
        p.exp_string("KeyError: 'DATABASE_URL'").unwrap();
        p.exp_string("(offline) > ").unwrap();
        // Turn 2: "it" is backend; the change is refused at the prompt.
        p.send_line("restart it").unwrap();
        p.exp_string("restart deployment shop/backend").unwrap();
        p.exp_string("Apply?").unwrap();
        p.send_line("n").unwrap();
        p.exp_string("Nothing was changed on deployment shop/backend")
            .unwrap();
        p.exp_string("(offline) > ").unwrap();
        // Turn 3: still about turn 1's workload; approved this time.
        p.send_line("roll back it").unwrap();
        p.exp_string("revision 1 (shop/backend:1.3.2)").unwrap();
        p.exp_string("Apply?").unwrap();
        p.send_line("y").unwrap();
        p.exp_string("rolled back deployment shop/backend").unwrap();
        p.exp_string("(offline) > ").unwrap();
        p.send_line("/exit").unwrap();
        p.exp_eof().unwrap();
    })
    .await
    .unwrap();

    let after = deployment(&tc, "shop", "backend");
    assert_eq!(
        image_of(&after),
        "shop/backend:1.3.2",
        "the approved rollback changed the sandbox"
    );
    let restarted =
        &after["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"];
    assert!(
        restarted.is_null(),
        "the refused restart left no annotation: {restarted}"
    );
    let audit = std::fs::read_to_string(home.path().join("state/kai/audit.jsonl"))
        .expect("audit log written");
    let lines: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{audit}");
    assert_eq!(lines[0]["tool"], "restart");
    assert_eq!(lines[0]["decision"], "denied");
    assert_eq!(lines[1]["tool"], "rollout_undo");
    assert_eq!(lines[1]["decision"], "approved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_command_changes_where_tools_look_and_bad_commands_are_named() {
    let tc = std::sync::Arc::new(TestCluster::start("demo").await);
    let home = tempfile::tempdir().unwrap();
    let home_path = home.path().to_path_buf();
    let t = tc.clone();
    tokio::task::spawn_blocking(move || {
        let mut p = spawn_repl(&t, &home_path, &[], &[]);
        p.exp_string("/shop (offline) > ").unwrap();
        p.send_line("/namespace nope-not-here").unwrap();
        p.exp_string("namespace \"nope-not-here\" not found")
            .unwrap();
        p.send_line("/namespace default").unwrap();
        p.exp_string("/default (offline) > ").unwrap();
        p.send_line("list pods").unwrap();
        p.exp_string("list_pods(namespace=default").unwrap();
        p.exp_string("/default (offline) > ").unwrap();
        p.send_line("/mode read-only").unwrap();
        p.exp_string("(offline, read-only) > ").unwrap();
        p.send_line("/frobnicate").unwrap();
        p.exp_string("unknown command /frobnicate").unwrap();
        p.exp_string("/help").unwrap();
        // Ctrl-D leaves.
        p.send_control('d').unwrap();
        p.exp_eof().unwrap();
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_survives_a_restart() {
    let tc = std::sync::Arc::new(TestCluster::start("demo").await);
    let home = tempfile::tempdir().unwrap();
    let home_path = home.path().to_path_buf();
    let t = tc.clone();
    tokio::task::spawn_blocking(move || {
        let mut p = spawn_repl(&t, &home_path, &[], &[]);
        p.exp_string("(offline) > ").unwrap();
        p.send_line("why is backend crashing").unwrap();
        p.exp_string("KeyError").unwrap();
        p.exp_string("(offline) > ").unwrap();
        p.send_line("/exit").unwrap();
        p.exp_eof().unwrap();

        let history =
            std::fs::read_to_string(home_path.join("state/kai/history")).expect("history file");
        assert!(history.contains("why is backend crashing"), "{history}");

        // A new REPL recalls the question with the up arrow.
        let mut p = spawn_repl(&t, &home_path, &[], &[]);
        p.exp_string("(offline) > ").unwrap();
        p.send("\x1b[A").unwrap();
        p.send_line("").unwrap();
        p.exp_string("KeyError: 'DATABASE_URL'").unwrap();
        p.exp_string("(offline) > ").unwrap();
        p.send_line("/exit").unwrap();
        p.exp_eof().unwrap();
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_cancels_a_slow_model_turn_and_the_next_turn_works() {
    let tc = std::sync::Arc::new(TestCluster::start("demo").await);
    let model = ScriptedModel::start(vec![
        Scripted::stall(Duration::from_secs(60)),
        Scripted::text("The second answer arrived."),
    ])
    .await;
    let url = model.url();
    let home = tempfile::tempdir().unwrap();
    let home_path = home.path().to_path_buf();
    let t = tc.clone();
    let asked = model.request_counter();
    tokio::task::spawn_blocking(move || {
        let mut p = spawn_model_repl(&t, &home_path, &url);
        p.exp_string("(scripted) > ").unwrap();
        p.send_line("first question, answered slowly").unwrap();
        // Interrupt once the model has the question (its reply stalls), not before.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while asked() == 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "the question never reached the model"
            );
            std::thread::park_timeout(Duration::from_millis(20));
        }
        p.send_control('c').unwrap();
        p.exp_string("interrupted").unwrap();
        p.exp_string("(scripted) > ").unwrap();
        p.send_line("second question").unwrap();
        p.exp_string("The second answer arrived.").unwrap();
        p.exp_string("(scripted) > ").unwrap();
        p.send_line("/exit").unwrap();
        p.exp_eof().unwrap();
    })
    .await
    .unwrap();
    assert_eq!(model.served(), 2);
    let bodies = model.bodies();
    let last = bodies[1]["messages"].to_string();
    assert!(last.contains("second question"), "{last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_conversation_keeps_context_and_gates_the_write() {
    let tc = std::sync::Arc::new(TestCluster::start("demo").await);
    let model = ScriptedModel::start(vec![
        Scripted::call("c1", "diagnose", json!({"namespace": "shop"})),
        Scripted::text("backend crashes: its log says KeyError: 'DATABASE_URL'."),
        Scripted::call(
            "c2",
            "get_logs",
            json!({"workload": "backend", "namespace": "shop", "previous": true}),
        ),
        Scripted::text("The previous container ended with KeyError: 'DATABASE_URL'."),
        Scripted::call(
            "c3",
            "rollout_undo",
            json!({"kind": "deployment", "name": "backend", "namespace": "shop"}),
        ),
        Scripted::text("Rolled back backend to revision 1."),
    ])
    .await;
    let url = model.url();
    let home = tempfile::tempdir().unwrap();
    let home_path = home.path().to_path_buf();
    let t = tc.clone();
    tokio::task::spawn_blocking(move || {
        let mut p = spawn_model_repl(&t, &home_path, &url);
        p.exp_string("(scripted) > ").unwrap();
        p.send_line("why is backend crashing").unwrap();
        p.exp_string("its log says KeyError").unwrap();
        p.exp_string("(scripted) > ").unwrap();
        p.send_line("show me its previous logs").unwrap();
        p.exp_string("The previous container ended").unwrap();
        p.exp_string("(scripted) > ").unwrap();
        p.send_line("roll it back").unwrap();
        p.exp_string("Apply?").unwrap();
        p.send_line("y").unwrap();
        p.exp_string("Rolled back backend to revision 1.").unwrap();
        p.exp_string("(scripted) > ").unwrap();
        p.send_line("/exit").unwrap();
        p.exp_eof().unwrap();
    })
    .await
    .unwrap();
    model.assert_tool_calls_answered();
    let bodies = model.bodies();
    assert_eq!(bodies.len(), 6);
    // The third turn's requests still carry the first turn's question and answer.
    let third = bodies[4]["messages"].to_string();
    assert!(
        third.contains("why is backend crashing") && third.contains("roll it back"),
        "{third}"
    );
    assert_eq!(
        image_of(&deployment(&tc, "shop", "backend")),
        "shop/backend:1.3.2"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_that_stops_answering_switches_the_session_to_offline() {
    let tc = std::sync::Arc::new(TestCluster::start("demo").await);
    // One good answer, then the endpoint fails every retry.
    let mut script = vec![Scripted::text("Hello from the model.")];
    script.extend((0..4).map(|_| Scripted::error(503, "the model is overloaded")));
    let model = ScriptedModel::start(script).await;
    let url = model.url();
    let home = tempfile::tempdir().unwrap();
    let home_path = home.path().to_path_buf();
    let t = tc.clone();
    tokio::task::spawn_blocking(move || {
        let mut p = spawn_model_repl(&t, &home_path, &url);
        p.exp_string("(scripted) > ").unwrap();
        p.send_line("hello").unwrap();
        p.exp_string("Hello from the model.").unwrap();
        p.exp_string("(scripted) > ").unwrap();
        p.send_line("why is backend crashing").unwrap();
        p.exp_string("switching to offline").unwrap();
        // The same question is answered offline, and the session goes on offline.
        p.exp_string("KeyError: 'DATABASE_URL'").unwrap();
        p.exp_string("(offline) > ").unwrap();
        p.send_line("/online").unwrap();
        p.exp_string("online: using model scripted").unwrap();
        p.exp_string("(scripted) > ").unwrap();
        p.send_line("/exit").unwrap();
        p.exp_eof().unwrap();
    })
    .await
    .unwrap();
    assert_eq!(
        model.served(),
        5,
        "one answer, then the first try and three retries"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_model_answer_is_printed_once_streamed_or_not() {
    let tc = std::sync::Arc::new(TestCluster::start("demo").await);
    let model = ScriptedModel::start(vec![
        Scripted::call("c1", "list_pods", json!({"namespace": "shop"})),
        Scripted::text("Streamed answer seven."),
        Scripted::text("Whole answer eight.").style(Style::Json),
    ])
    .await;
    let url = model.url();
    let home = tempfile::tempdir().unwrap();
    let home_path = home.path().to_path_buf();
    let t = tc.clone();
    tokio::task::spawn_blocking(move || {
        let mut p = spawn_model_repl(&t, &home_path, &url);
        p.exp_string("(scripted) > ").unwrap();
        p.send_line("what runs in shop").unwrap();
        let shown = p.exp_string("(scripted) > ").unwrap();
        assert_eq!(
            shown.matches("Streamed answer seven.").count(),
            1,
            "{shown}"
        );
        p.send_line("and now").unwrap();
        let shown = p.exp_string("(scripted) > ").unwrap();
        assert_eq!(shown.matches("Whole answer eight.").count(), 1, "{shown}");
        p.send_line("/exit").unwrap();
        p.exp_eof().unwrap();
    })
    .await
    .unwrap();
    assert_eq!(model.served(), 3);
}
