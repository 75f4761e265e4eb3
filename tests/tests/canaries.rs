//! No planted secret leaves kai: a canary corpus (tests/scenarios/canaries.yaml: Secrets, env,
//! args, ConfigMaps, annotations, events, logs; plus piped text and the question) and every
//! place kai writes or sends text — stdout and stderr of every command and format, the audit
//! log, and the requests a model receives. Ordinary values (names, images, digests) still
//! come through unchanged.

// A panic with the reason is the test failure we want.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::Output;

use kai_tests::model::{Scripted, ScriptedModel};
use kai_tests::{TestCluster, explain, kai_terminal_command, on_pty, run, scenario_file};
use serde_json::json;

/// Text piped into kai: a log excerpt with more planted values.
const PIPED: &str = "2026-11-29T08:00:01Z ERROR login failed: password=CNRY58pipe user=admin
2026-11-29T08:00:02Z DEBUG curl -H 'Authorization: Bearer CNRY59pipebearer' https://api.example.com
2026-11-29T08:00:03Z DEBUG DATABASE_URL=postgres://ro:CNRY60pipe@db:5432/x
2026-11-29T08:00:04Z DEBUG exporting GITHUB_TOKEN ghp_CNRY61abcdefghijklmnopqrstuv
2026-11-29T08:00:05Z DEBUG ./worker --api-key CNRY62pipeflag
2026-11-29T08:00:06Z DEBUG {\"name\":\"REDIS_PASSWORD\",\"value\":\"CNRY63pipejson\"}
";

/// The question itself may carry a secret a user pasted.
const QUESTION: &str = "payments keeps crashing; our db password=CNRY64question, why?";

/// The number of distinct canaries planted (scenario + piped text + question).
const PLANTED: usize = 64;

/// Base64 forms of the Secret's `data` values (the API serves them encoded).
const ENCODED: [&str; 4] = [
    "Q05SWTAxLWRiLXBhc3M",
    "Q05SWTAyLWFwaS1rZXk",
    "Q05SWTAzLXdlYmhvb2stc2lnbmluZw",
    "Q05SWTA0LXBsYWluLXZhbHVl",
];

/// Every leak in `text`: a `CNRY` mark or a Secret value's base64, with some context.
fn leaks(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for mark in std::iter::once("CNRY").chain(ENCODED) {
        let mut from = 0;
        while let Some(i) = text[from..].find(mark) {
            let at = from + i;
            let before: String = text[..at].chars().rev().take(60).collect();
            let after: String = text[at..].chars().take(40).collect();
            let before: String = before.chars().rev().collect();
            out.push(format!("{before}{after}").replace('\n', "⏎"));
            from = at + mark.len();
        }
    }
    out
}

fn all_text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Asserts nothing of `where_` leaks.
fn assert_no_leak(where_: &str, text: &str) {
    let found = leaks(text);
    assert!(found.is_empty(), "{where_} leaks {found:#?}");
}

#[test]
fn the_corpus_plants_at_least_60_distinct_canaries() {
    let scenario = std::fs::read_to_string(scenario_file("canaries.yaml")).expect("scenario");
    let mut ids: Vec<String> = Vec::new();
    for text in [scenario.as_str(), PIPED, QUESTION] {
        let mut rest = text;
        while let Some(i) = rest.find("CNRY") {
            let id: String = rest[i + 4..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if !id.is_empty() {
                ids.push(id);
            }
            rest = &rest[i + 4..];
        }
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), PLANTED, "{ids:?}");
    const { assert!(PLANTED >= 60) };
}

async fn canaries() -> TestCluster {
    TestCluster::start(&scenario_file("canaries.yaml")).await
}

/// Offline answers (text and JSON, with and without piped text) and every health format.
#[tokio::test]
async fn offline_answers_and_every_health_format_leak_nothing() {
    let tc = canaries().await;
    let runs: Vec<(Vec<&str>, Option<&str>)> = vec![
        (vec!["--offline", "-n", "vault", QUESTION], None),
        (
            vec!["--offline", "-n", "vault", "--output", "json", QUESTION],
            None,
        ),
        (
            vec!["--offline", "-n", "vault", "what does this log mean"],
            Some(PIPED),
        ),
        (
            vec!["--offline", "-n", "vault", "describe deployment payments"],
            None,
        ),
        (
            vec!["--offline", "-n", "vault", "show logs of payments"],
            None,
        ),
        (vec!["--offline", "-n", "vault", "show events"], None),
        (vec!["--offline", "-n", "vault", "list configmaps"], None),
        (vec!["health", "-n", "vault"], None),
        (vec!["health", "-n", "vault", "--format", "json"], None),
        (vec!["health", "-n", "vault", "--format", "markdown"], None),
        (vec!["health", "-n", "vault", "--format", "junit"], None),
    ];
    let mut seen_payments = false;
    let mut masks = 0;
    for (args, stdin) in runs {
        let mut cmd = tc.kai();
        cmd.args(&args);
        let o = run(cmd, stdin).await;
        let text = all_text(&o);
        assert_no_leak(&format!("kai {args:?}"), &text);
        assert!(!text.contains("panicked"), "{}", explain(&o));
        seen_payments |= text.contains("payments");
        masks += text.matches("****").count();
    }
    assert!(seen_payments, "no run talked about payments at all");
    // The runs did show the places the canaries live, masked (not merely left them out).
    assert!(masks >= 40, "only {masks} masked values shown");
}

/// A model run that reads everything: every tool's output, the question and the piped text
/// reach the model masked; the answer, the JSON output and the audit log leak nothing; and
/// ordinary values (the image digest, names) come through unchanged.
#[tokio::test]
async fn model_requests_tool_outputs_and_the_audit_log_leak_nothing() {
    let tc = canaries().await;
    let ns = json!("vault");
    let reads = vec![
        ("a", "list_pods", json!({"namespace": ns})),
        (
            "b",
            "describe",
            json!({"kind": "deployment", "name": "payments", "namespace": ns}),
        ),
        (
            "c",
            "describe",
            json!({"kind": "configmap", "name": "payments-config", "namespace": ns}),
        ),
        (
            "d",
            "describe",
            json!({"kind": "secret", "name": "payments-creds", "namespace": ns}),
        ),
        (
            "e",
            "get_logs",
            json!({"workload": "payments", "namespace": ns}),
        ),
        (
            "f",
            "get_logs",
            json!({"workload": "payments", "namespace": ns, "previous": true}),
        ),
        ("g", "get_events", json!({"namespace": ns})),
        ("h", "diagnose", json!({"namespace": ns})),
        (
            "i",
            "list_resources",
            json!({"kind": "configmaps", "namespace": ns}),
        ),
        (
            "j",
            "list_resources",
            json!({"kind": "secrets", "namespace": ns}),
        ),
        (
            "k",
            "list_resources",
            json!({"kind": "deployments", "namespace": ns}),
        ),
    ];
    let script = vec![
        Scripted::calls(
            &reads
                .iter()
                .map(|(i, n, a)| (*i, *n, a.clone()))
                .collect::<Vec<_>>(),
        ),
        Scripted::call(
            "w",
            "restart",
            json!({"kind": "deployment", "name": "payments", "namespace": ns}),
        ),
        Scripted::text("payments crashes: the database rejects its password."),
    ];
    for output in ["text", "json"] {
        let model = ScriptedModel::start(script.clone()).await;
        let mut cmd = tc.kai();
        cmd.args(["--base-url", &model.url(), "--model", "scripted"])
            .args(["--read-only", "-n", "vault", "--output", output, QUESTION])
            .env("KAI_API_KEY", "sk-scripted-test");
        let o = run(cmd, Some(PIPED)).await;
        assert_no_leak(&format!("kai --output {output}"), &all_text(&o));
        let requests = model.requests();
        assert!(requests.len() >= 3, "{}", explain(&o));
        for (i, r) in requests.iter().enumerate() {
            assert_no_leak(&format!("model request {i}"), &r.raw);
        }
        let last = &requests[requests.len() - 1].raw;
        assert!(last.matches("****").count() >= 50, "{last}");
        // What must survive masking: names, the image and its digest.
        for ordinary in [
            "payments-config",
            "registry.example.com/payments@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
            "LOG_LEVEL",
            "--listen=:8080",
        ] {
            assert!(last.contains(ordinary), "{ordinary} lost in {last}");
        }
    }
    let audit =
        std::fs::read_to_string(tc.dir.path().join("state/kai/audit.jsonl")).unwrap_or_default();
    assert_no_leak("the audit log", &audit);
}

/// A question typed into the REPL reaches neither the model nor the history file with its
/// secret, nor the screen's answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_repl_history_file_keeps_no_secret() {
    let tc = std::sync::Arc::new(canaries().await);
    let home = tempfile::tempdir().expect("tempdir");
    let home_path = home.path().to_path_buf();
    let t = tc.clone();
    let screen = tokio::task::spawn_blocking(move || {
        let mut cmd = kai_terminal_command(&home_path);
        cmd.arg("--kubeconfig")
            .arg(&t.kubeconfig)
            .args(["-n", "vault"]);
        let mut p = on_pty(cmd);
        p.exp_string("(offline) > ").expect("prompt");
        p.send_line(QUESTION).expect("send");
        let answer = p.exp_string("(offline) > ").expect("answer");
        p.send_line("/exit").expect("exit");
        p.exp_eof().expect("eof");
        let history =
            std::fs::read_to_string(home_path.join("state/kai/history")).expect("history file");
        (answer, history)
    })
    .await
    .expect("join");
    let (answer, history) = screen;
    assert!(history.contains("payments keeps crashing"), "{history}");
    assert_no_leak("the REPL history file", &history);
    assert_no_leak("the REPL's answer", &answer);
}
