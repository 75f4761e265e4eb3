//! One-shot `kai QUESTION` end to end on the offline path, `kai sandbox`, and the usage errors,
//! all through the real binary against sandboxes over HTTP.

// A panic with the reason is the test failure we want.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::Stdio;
use std::time::{Duration, Instant};

use kai_sandbox::resources::by_plural;
use kai_sandbox::{SandboxOptions, Scenario};
use kai_tests::{TestCluster, kai_command, manual_clock, run, stderr, stdout};
use serde_json::Value;

fn image_of(tc: &TestCluster, ns: &str, name: &str) -> String {
    let world = tc.sandbox.world();
    let w = world.lock().unwrap();
    let d = w
        .store
        .get(by_plural("apps", "deployments").unwrap(), ns, name)
        .expect("deployment");
    d["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readme_command_answers_offline_with_cause_evidence_and_next_step() {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = kai_command(home.path());
    cmd.args(["--sandbox", "demo", "why is backend crashing"]);
    let out = run(cmd, None).await;
    let (o, e) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(0), "stdout:\n{o}\nstderr:\n{e}");
    assert!(
        o.contains("deployment shop/backend") && o.contains("CrashLoopBackOff"),
        "{o}"
    );
    assert!(
        o.contains("KeyError: 'DATABASE_URL'"),
        "the proving log line: {o}"
    );
    assert!(o.contains("Next step") && o.contains("roll back"), "{o}");
    assert!(e.contains("answering offline: no model configured"), "{e}");
    // Piped output is plain: no ANSI escapes.
    assert!(!o.contains('\x1b'), "{o:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_output_has_answer_mode_steps_and_findings() {
    let tc = TestCluster::start("demo").await;
    let mut cmd = tc.kai();
    cmd.args(["--output", "json", "why is backend crashing"]);
    let out = run(cmd, None).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: Value = serde_json::from_str(&stdout(&out)).expect("one JSON document");
    assert_eq!(doc["mode"], "offline");
    assert!(doc["answer"].as_str().unwrap().contains("KeyError"));
    let steps = doc["steps"].as_array().unwrap();
    assert_eq!(steps[0]["tool"], "diagnose");
    assert_eq!(steps[0]["decision"], "allowed");
    assert_eq!(steps[0]["ok"], true);
    let findings = doc["findings"].as_array().unwrap();
    let backend = findings
        .iter()
        .find(|f| f["name"] == "backend")
        .expect("a finding about backend");
    assert_eq!(backend["reason"], "CrashLoopBackOff");
    assert_eq!(backend["severity"], "critical");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_write_is_denied_without_a_terminal_and_applied_with_yes() {
    let tc = TestCluster::start_manual("demo").await;
    let mut cmd = tc.kai();
    cmd.args(["roll back backend"]);
    let out = run(cmd, None).await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stdout(&out).contains("Nothing was changed on deployment shop/backend"));
    assert!(
        stderr(&out).contains("no terminal to approve on"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        image_of(&tc, "shop", "backend"),
        "shop/backend:1.4.0",
        "unchanged"
    );
    let audit = std::fs::read_to_string(tc.dir.path().join("state/kai/audit.jsonl")).unwrap();
    let entry: Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    assert_eq!(entry["tool"], "rollout_undo");
    assert_eq!(entry["decision"], "denied");

    // Read-only wins even over a clear request.
    let mut cmd = tc.kai();
    cmd.args(["--read-only", "scale backend to 3"]);
    let out = run(cmd, None).await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stdout(&out).contains("read-only"), "{}", stdout(&out));

    let mut cmd = tc.kai();
    cmd.args(["--yes", "roll back backend"]);
    let out = run(cmd, None).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("revision 1 (shop/backend:1.3.2)"),
        "{}",
        stdout(&out)
    );
    assert_eq!(image_of(&tc, "shop", "backend"), "shop/backend:1.3.2");

    // The fix is verified by its outcome: the sandbox's clock is driven until the rollout has
    // finished (every replica updated and available), then kai says backend is healthy.
    let rolled_out = || {
        let world = tc.sandbox.world();
        let w = world.lock().unwrap();
        let d = w
            .store
            .get(by_plural("apps", "deployments").unwrap(), "shop", "backend")
            .expect("deployment");
        let want = d["spec"]["replicas"].as_i64().unwrap_or(1);
        let st = &d["status"];
        [
            "replicas",
            "updatedReplicas",
            "readyReplicas",
            "availableReplicas",
        ]
        .iter()
        .all(|k| st[k].as_i64() == Some(want))
    };
    for _ in 0..120 {
        if rolled_out() {
            break;
        }
        tc.advance(5);
    }
    assert!(
        rolled_out(),
        "backend's rollout never finished in 10 sandbox minutes"
    );
    let mut cmd = tc.kai();
    cmd.args(["is backend healthy now"]);
    let out = run(cmd, None).await;
    assert!(
        stdout(&out).contains("no problem with deployment shop/backend"),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protected_namespaces_refuse_writes_even_with_yes() {
    let yaml = r#"
apiVersion: v1
kind: Namespace
metadata: {name: kube-system}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system}
spec:
  replicas: 2
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      containers:
      - {name: coredns, image: registry.k8s.io/coredns/coredns:v1.11.1}
"#;
    let scenario = Scenario::from_yaml("inline", yaml).unwrap();
    let tc = TestCluster::start_with(scenario, SandboxOptions::default()).await;
    let mut cmd = tc.kai();
    cmd.args(["--yes", "scale coredns to 0 in kube-system"]);
    let out = run(cmd, None).await;
    let (o, e) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(4), "{o}\n{e}");
    assert!(
        o.contains("Nothing was changed on deployment kube-system/coredns"),
        "{o}"
    );
    assert!(o.contains("protected"), "{o}");
    let world = tc.sandbox.world();
    let w = world.lock().unwrap();
    let d = w
        .store
        .get(
            by_plural("apps", "deployments").unwrap(),
            "kube-system",
            "coredns",
        )
        .unwrap();
    assert_eq!(d["spec"]["replicas"], 2, "unchanged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loose_names_find_the_real_workload() {
    let yaml = r#"
apiVersion: v1
kind: Namespace
metadata: {name: team}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: backend-api, namespace: team}
spec:
  replicas: 1
  selector: {matchLabels: {app: backend-api}}
  template:
    metadata: {labels: {app: backend-api}}
    spec:
      containers:
      - name: api
        image: team/api:2.0
        env:
        - name: PASSWORD
          valueFrom: {secretKeyRef: {name: api-secrets, key: password}}
"#;
    let scenario = Scenario::from_yaml("inline", yaml).unwrap();
    let tc = TestCluster::start_with(scenario, manual_clock()).await;
    // The simulated kubelet pulls the image for about a second before it meets the missing
    // secret; until then there is nothing wrong to find. The test moves the clock on.
    for attempt in 0.. {
        let mut cmd = tc.kai();
        cmd.args(["-n", "team", "why is backend failing"]);
        let out = run(cmd, None).await;
        let o = stdout(&out);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(o.contains("deployment team/backend-api"), "{o}");
        if o.contains("CreateContainerConfigError") {
            assert!(o.contains("secret \"api-secrets\" not found"), "{o}");
            break;
        }
        assert!(attempt < 30, "never diagnosed in 30 sandbox seconds: {o}");
        tc.advance(1);
    }

    // A name that matches nothing says so, and still gives the health of the scope.
    let mut cmd = tc.kai();
    cmd.args(["-n", "team", "why is zookeeper pending"]);
    let out = run(cmd, None).await;
    let o = stdout(&out);
    assert!(o.contains("I found nothing named \"zookeeper\""), "{o}");
    assert!(o.contains("backend-api"), "the health summary follows: {o}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_lists_events_and_unroutable_questions() {
    let tc = TestCluster::start("demo").await;
    let ask = |q: &str| {
        let mut cmd = tc.kai();
        cmd.arg(q);
        cmd
    };
    let out = run(ask("show the previous logs of backend"), None).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("KeyError: 'DATABASE_URL'"),
        "{}",
        stdout(&out)
    );

    let out = run(ask("list pods"), None).await;
    let o = stdout(&out);
    assert!(
        o.contains("backend-") && o.contains("CrashLoopBackOff"),
        "{o}"
    );

    let out = run(ask("recent warnings"), None).await;
    assert!(stdout(&out).contains("BackOff"), "{}", stdout(&out));

    let out = run(ask("write me a poem about autumn"), None).await;
    let o = stdout(&out);
    assert_eq!(out.status.code(), Some(0));
    // Not a generic list: the closest questions kai can answer, with this cluster's names.
    assert!(o.contains("closest questions I can answer"), "{o}");
    assert!(o.lines().count() <= 6, "{o}");
    assert!(!o.contains("nothing named"), "{o}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_errors_are_one_line_and_exit_2() {
    let home = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["--sandbox", "no-such-scenario", "hi"],
            "unknown scenario \"no-such-scenario\"",
        ),
        (&[], "no question given"),
        (
            &["--read-only", "--yes", "restart x"],
            "cannot be used with",
        ),
        (
            &["--kubeconfig", "/nonexistent/kubeconfig", "what's wrong"],
            "cannot read kubeconfig /nonexistent/kubeconfig",
        ),
        (
            &["--sandbox", "demo", "--context", "nope", "what's wrong"],
            "context \"nope\" not found",
        ),
        (
            &[
                "--sandbox",
                "demo",
                "--max-steps",
                "0",
                "--model",
                "m",
                "--base-url",
                "http://127.0.0.1:9/v1",
                "hi",
            ],
            "--max-steps must be at least 1",
        ),
        (
            &["sandbox", "demo", "--error-rate", "1.5"],
            "--error-rate 1.5: must be between 0 and 1",
        ),
        (
            &["sandbox", "demo", "--forbid", "secrets"],
            "--forbid secrets: expected VERB:RESOURCE",
        ),
    ];
    // A malformed scenario file names the file, the document and the field.
    let bad = home.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n---\napiVersion: sandbox.kai.dev/v1\nkind: Behavior\nmetadata: {name: b}\nspec:\n  selector: {matchLabels: {app: x}}\n  exitCode: not-a-number\n",
    )
    .unwrap();
    let bad_arg = bad.display().to_string();
    let bad_case: [&str; 3] = ["--sandbox", &bad_arg, "hi"];
    let all_cases = cases
        .iter()
        .copied()
        .chain([(&bad_case[..], "bad.yaml: document 2: ")]);
    for (args, expected) in all_cases {
        let mut cmd = kai_command(home.path());
        cmd.args(args);
        let out = run(cmd, None).await;
        let e = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {e}");
        assert!(e.contains(expected), "{args:?}: {e}");
        assert!(
            !e.contains("panicked") && !e.contains("RUST_BACKTRACE"),
            "{e}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_command_lists_and_serves_for_kubectl_and_kai() {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = kai_command(home.path());
    cmd.args(["sandbox", "--list"]);
    let out = run(cmd, None).await;
    let o = stdout(&out);
    for name in [
        "demo",
        "healthy",
        "crashloop",
        "oom",
        "image-pull",
        "failing-job",
    ] {
        assert!(o.lines().any(|l| l.starts_with(name)), "{name} in {o}");
    }

    let kubeconfig = home.path().join("kc.yaml");
    let mut cmd = kai_command(home.path());
    cmd.args(["sandbox", "demo", "--write-kubeconfig"])
        .arg(&kubeconfig)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut server = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !kubeconfig.exists() {
        assert!(
            Instant::now() < deadline,
            "kai sandbox never wrote its kubeconfig"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut cmd = kai_command(home.path());
    cmd.arg("--kubeconfig")
        .arg(&kubeconfig)
        .arg("why is backend crashing");
    let out = run(cmd, None).await;
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("KeyError: 'DATABASE_URL'"));

    // Faults from the command line: RBAC-like refusals reach kai, which checks the rest.
    let kubeconfig = home.path().join("kc-faults.yaml");
    let mut cmd = kai_command(home.path());
    cmd.args([
        "sandbox",
        "demo",
        "--forbid",
        "list:secrets",
        "--write-kubeconfig",
    ])
    .arg(&kubeconfig)
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut server = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !kubeconfig.exists() {
        assert!(
            Instant::now() < deadline,
            "kai sandbox never wrote its kubeconfig"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut cmd = kai_command(home.path());
    cmd.arg("--kubeconfig").arg(&kubeconfig).arg("list secrets");
    let out = run(cmd, None).await;
    let mut cmd = kai_command(home.path());
    cmd.arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["health", "-n", "shop", "--format", "json"]);
    let health = run(cmd, None).await;
    let _ = server.kill();
    let _ = server.wait();
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        all.contains("forbidden") && all.contains("secrets"),
        "{all}"
    );
    let doc: Value = serde_json::from_str(&stdout(&health)).expect("health JSON");
    let not_checked = doc["clusters"][0]["not_checked"].to_string();
    assert!(
        not_checked.contains("secrets"),
        "secrets reported as not checked: {doc}"
    );
    assert_eq!(
        health.status.code(),
        Some(1),
        "the rest is still checked: {doc}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_cluster_is_one_clear_line() {
    let home = tempfile::tempdir().unwrap();
    // A port nothing listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let kubeconfig = home.path().join("kc.yaml");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: gone\n  cluster: {{server: 'http://127.0.0.1:{port}'}}\ncontexts:\n- name: gone\n  context: {{cluster: gone, user: u, namespace: shop}}\ncurrent-context: gone\nusers:\n- name: u\n  user: {{token: t}}\n"
        ),
    )
    .unwrap();
    let mut cmd = kai_command(home.path());
    cmd.arg("--kubeconfig")
        .arg(&kubeconfig)
        .arg("why is backend crashing");
    let out = run(cmd, None).await;
    let e = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{e}");
    assert!(
        e.contains(&format!(
            "cannot reach the Kubernetes API at http://127.0.0.1:{port} (context \"gone\")"
        )),
        "{e}"
    );
    assert!(
        !e.contains("ERROR") && e.lines().count() <= 3,
        "no library log noise: {e}"
    );
}
