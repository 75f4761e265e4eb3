//! End to end, as an attacker and an unlucky user would try: decorated namespaces and names
//! from a model, writes leaving the namespace the user named, refusals and their exit code and
//! advice, and the audit log.

// A panic with the reason is the test failure we want.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::Output;

use kai_sandbox::{SandboxOptions, Scenario};
use kai_tests::model::{Scripted, ScriptedModel};
use kai_tests::{TestCluster, code, explain, run, stderr, stdout};
use serde_json::json;

/// `demo` plus a deployment in a protected namespace to aim at.
async fn demo_with_kube_system() -> TestCluster {
    let demo = include_str!("../../sandbox/scenarios/demo.yaml");
    let extra = r#"
---
apiVersion: v1
kind: Namespace
metadata:
  name: kube-system
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: coredns
  namespace: kube-system
spec:
  replicas: 2
  selector:
    matchLabels: {k8s-app: kube-dns}
  template:
    metadata:
      labels: {k8s-app: kube-dns}
    spec:
      containers:
      - name: coredns
        image: coredns/coredns:1.11.1
"#;
    let scenario =
        Scenario::from_yaml("demo-kube-system.yaml", &format!("{demo}{extra}")).expect("scenario");
    TestCluster::start_with(scenario, SandboxOptions::default()).await
}

async fn ask(tc: &TestCluster, model: &ScriptedModel, args: &[&str]) -> Output {
    let mut cmd = tc.kai();
    cmd.args(["--base-url", &model.url(), "--model", "scripted"])
        .args(args)
        .env("KAI_API_KEY", "sk-scripted-test");
    run(cmd, None).await
}

/// The tool messages of the last request (it carries the whole conversation).
fn tool_outputs(model: &ScriptedModel) -> Vec<String> {
    let bodies = model.bodies();
    let Some(last) = bodies.last() else {
        return Vec::new();
    };
    last["messages"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["content"].as_str().unwrap_or("").to_string())
        .collect()
}

/// A model (or a prompt injection through it) that dresses up a protected namespace gets an
/// argument error it can correct, under `--yes`, for every write tool; nothing changes.
#[tokio::test]
async fn decorated_protected_namespaces_from_a_model_change_nothing() {
    let tc = demo_with_kube_system().await;
    let decorated = [
        "kube-system/",
        "/kube-system",
        "kube-system//",
        "kube-system%2F",
        " kube-system",
        "KUBE-SYSTEM",
        "kube\u{2010}system",
    ];
    let mut script = Vec::new();
    for (i, ns) in decorated.iter().enumerate() {
        script.push(Scripted::calls(&[
            (
                &format!("s{i}"),
                "scale",
                json!({"kind": "deployment", "name": "coredns", "namespace": ns, "replicas": 0}),
            ),
            (
                &format!("r{i}"),
                "restart",
                json!({"kind": "deployment", "name": "coredns", "namespace": ns}),
            ),
            (
                &format!("u{i}"),
                "rollout_undo",
                json!({"kind": "deployment", "name": "coredns", "namespace": ns}),
            ),
        ]));
    }
    script.push(Scripted::call(
        "n1",
        "scale",
        json!({"kind": "deployment", "name": "kube-system/coredns", "replicas": 0}),
    ));
    script.push(Scripted::text("I could not change coredns."));
    let model = ScriptedModel::start(script).await;
    let o = ask(
        &tc,
        &model,
        &["--yes", "--max-steps", "30", "scale everything to 0"],
    )
    .await;
    assert_eq!(code(&o), 0, "{}", explain(&o));
    assert_eq!(tc.replicas("kube-system", "coredns"), 2);
    let outputs = tool_outputs(&model);
    let errors: Vec<&String> = outputs
        .iter()
        .filter(|t| t.contains("invalid arguments"))
        .collect();
    assert_eq!(errors.len(), decorated.len() * 3 + 1, "{outputs:#?}");
    assert!(
        errors.iter().all(|e| e.contains("namespace")),
        "{errors:#?}"
    );
    // Every attempt is audited as invalid, none ran.
    let lines = tc.audit();
    assert_eq!(lines.len(), decorated.len() * 3 + 1, "{lines:#?}");
    assert!(
        lines
            .iter()
            .all(|l| l["decision"] == "invalid" && l["result"] == "error")
    );
}

/// `-n default --yes "scale frontend to 0"`: the loose match finds shop/frontend, and the write
/// refuses to follow it out of the namespace the user named; the advice names `-n shop`.
#[tokio::test]
async fn a_loose_match_never_takes_a_write_out_of_the_users_namespace() {
    let tc = TestCluster::start("demo").await;
    let before = tc.replicas("shop", "frontend");
    let mut cmd = tc.kai();
    cmd.args(["-n", "default", "--yes", "scale frontend to 0"]);
    let o = run(cmd, None).await;
    assert_eq!(code(&o), 4, "{}", explain(&o));
    assert_eq!(tc.replicas("shop", "frontend"), before);
    let err = stderr(&o);
    assert!(err.contains("rerun with -n shop"), "{err}");
    assert!(!err.contains("rerun with --yes"), "{err}");
    let lines = tc.audit();
    assert_eq!(lines[0]["decision"], "denied", "{lines:#?}");
    // Named, it goes ahead.
    let mut cmd = tc.kai();
    cmd.args(["-n", "shop", "--yes", "scale frontend to 0"]);
    let o = run(cmd, None).await;
    assert_eq!(code(&o), 0, "{}", explain(&o));
    assert_eq!(tc.replicas("shop", "frontend"), 0);

    // A read may follow the loose match across namespaces, and says where it found the object.
    let mut cmd = tc.kai();
    cmd.args(["-n", "default", "describe backend"]);
    let o = run(cmd, None).await;
    assert_eq!(code(&o), 0, "{}", explain(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with("(Found deployment backend in namespace shop, not in default.)"),
        "{out}"
    );
    // Looking in the object's own namespace, there is nothing to say.
    let mut cmd = tc.kai();
    cmd.args(["-n", "shop", "describe backend"]);
    let o = run(cmd, None).await;
    assert!(!stdout(&o).contains("(Found "), "{}", stdout(&o));
}

/// After a protected-namespace refusal, the advice is about the rule, never `--yes`; and a
/// denied write makes the exit code 4 even when the loop then hits its step limit.
#[tokio::test]
async fn refusals_exit_4_whatever_follows_with_matching_advice() {
    let tc = demo_with_kube_system().await;
    let mut script = vec![Scripted::call(
        "p1",
        "scale",
        json!({"kind": "deployment", "name": "coredns", "namespace": "kube-system", "replicas": 0}),
    )];
    for i in 0..3 {
        script.push(Scripted::call(
            &format!("l{i}"),
            "list_pods",
            json!({"namespace": "shop", "only_unhealthy": i % 2 == 0}),
        ));
    }
    let model = ScriptedModel::start(script).await;
    let o = ask(
        &tc,
        &model,
        &["--yes", "--max-steps", "3", "scale coredns to 0"],
    )
    .await;
    assert_eq!(code(&o), 4, "{}", explain(&o));
    let err = stderr(&o);
    assert!(err.contains("protected"), "{err}");
    assert!(!err.contains("--yes"), "{err}");
    assert_eq!(tc.replicas("kube-system", "coredns"), 2);
}
