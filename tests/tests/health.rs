//! `kai health` end to end through the kai binary against sandboxes: exit codes, the four
//! formats, GITHUB_STEP_SUMMARY, --fail-on, --wait and several contexts at once.

// A panic with the reason is the test failure we want.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use kai_tests::{TestCluster, kai_command, run, stderr, stdout};
use serde_json::Value;

/// `kai --kubeconfig P health ARGS...`, as the command-line contract writes it.
fn health(tc: &TestCluster, args: &[&str]) -> Command {
    let mut c = tc.kai();
    c.arg("health").args(args);
    c
}

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            stdout(out),
            stderr(out)
        )
    })
}

const CANARIES: &[&str] = &["CANARY", "S3CR3T", "eyJhbGciOiJIUzI1NiJ9"];

fn no_canary(text: &str) {
    for c in CANARIES {
        assert!(!text.contains(c), "secret canary {c} leaked:\n{text}");
    }
}

#[tokio::test]
async fn demo_json_names_backend_crash_with_its_evidence_and_exits_1() {
    let tc = TestCluster::start("demo").await;
    let out = run(health(&tc, &["-A", "--format", "json"]), None).await;
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    let v = json_of(&out);
    assert_eq!(v["status"], "failing");
    assert_eq!(v["exit_code"], 1);
    assert_eq!(v["summary"]["critical"], 1);
    let cluster = &v["clusters"][0];
    assert_eq!(cluster["scope"], "all namespaces");
    assert!(
        cluster["server"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
    let f = cluster["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "backend")
        .expect("a finding about backend");
    assert_eq!(f["kind"], "deployment");
    assert_eq!(f["namespace"], "shop");
    assert_eq!(f["reason"], "CrashLoopBackOff");
    assert_eq!(f["severity"], "critical");
    let evidence: Vec<&str> = f["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        evidence
            .iter()
            .any(|e| e.contains("KeyError: 'DATABASE_URL'")),
        "{evidence:?}"
    );
    assert!(f["suggestion"].as_str().unwrap().contains("roll back"));
    no_canary(&stdout(&out));
}

#[tokio::test]
async fn healthy_exits_0_with_nothing_found() {
    let tc = TestCluster::start("healthy").await;
    let out = run(health(&tc, &["-A"]), None).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("No problems found in all namespaces"),
        "{}",
        stdout(&out)
    );
    let out = run(
        health(&tc, &["-A", "--format", "json", "--fail-on", "warning"]),
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(0));
    let v = json_of(&out);
    assert_eq!(v["status"], "ok");
    assert_eq!(v["clusters"][0]["findings"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn text_report_groups_by_namespace_with_a_summary_line() {
    let tc = TestCluster::start("demo").await;
    let out = run(health(&tc, &["-n", "shop"]), None).await;
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("namespace shop"), "{text}");
    assert!(
        text.contains("CRITICAL deployment/backend (CrashLoopBackOff)"),
        "{text}"
    );
    assert!(text.contains("KeyError: 'DATABASE_URL'"), "{text}");
    assert!(text.contains("1 critical in namespace shop"), "{text}");
    assert!(!text.contains("\x1b["), "no colours off a terminal");
    no_canary(&text);
}

#[tokio::test]
async fn unreachable_server_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let kc = dir.path().join("kubeconfig");
    std::fs::write(
        &kc,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: gone\n  cluster:\n    server: http://127.0.0.1:{closed}\ncontexts:\n- name: gone\n  context:\n    cluster: gone\n    user: u\n    namespace: shop\ncurrent-context: gone\nusers:\n- name: u\n  user:\n    token: t\n"
        ),
    )
    .unwrap();
    let mut c = kai_command(dir.path());
    c.args(["health", "--format", "json", "--kubeconfig"])
        .arg(&kc);
    let out = run(c, None).await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let v = json_of(&out);
    assert_eq!(v["status"], "error");
    let err = v["clusters"][0]["error"].as_str().unwrap();
    assert!(
        err.contains(&format!("127.0.0.1:{closed}")) && err.contains("gone"),
        "{err}"
    );
}

#[tokio::test]
async fn bad_arguments_exit_2() {
    let tc = TestCluster::start("healthy").await;
    let out = run(health(&tc, &["--format", "yaml"]), None).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("yaml"), "{}", stderr(&out));
    let out = run(health(&tc, &["--wait", "soon"]), None).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("invalid duration"),
        "{}",
        stderr(&out)
    );
    let out = run(health(&tc, &["-A", "-l", "app in ("]), None).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stdout(&out).contains("invalid label selector \"app in (\""),
        "{}",
        stdout(&out)
    );
}

#[tokio::test]
async fn missing_namespace_exits_2() {
    let tc = TestCluster::start("demo").await;
    let out = run(health(&tc, &["-n", "shpo"]), None).await;
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("namespace \"shpo\" not found"),
        "{}",
        stdout(&out)
    );
}

/// A small XML well-formedness check: balanced tags, quoted attributes, no stray `<` or `&`.
fn assert_well_formed(xml: &str) {
    let body = xml
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        .expect("xml declaration");
    let mut stack: Vec<String> = Vec::new();
    let mut rest = body;
    while let Some(start) = rest.find('<') {
        let text = &rest[..start];
        check_text(text);
        let end = rest[start..].find('>').expect("unclosed tag") + start;
        let tag = &rest[start + 1..end];
        assert!(!tag.contains('<'), "'<' inside a tag: {tag}");
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(
                stack.pop().as_deref(),
                Some(name.trim()),
                "mismatched </{name}>"
            );
        } else {
            let self_closing = tag.ends_with('/');
            let tag = tag.trim_end_matches('/');
            let name = tag.split_whitespace().next().expect("tag name").to_string();
            let attrs = tag[name.len()..].trim();
            assert_eq!(
                attrs.matches('"').count() % 2,
                0,
                "unbalanced quotes in <{tag}>"
            );
            check_text(&attrs.replace('"', ""));
            if !self_closing {
                stack.push(name);
            }
        }
        rest = &rest[end + 1..];
    }
    assert!(rest.trim().is_empty());
    assert!(stack.is_empty(), "unclosed: {stack:?}");
}

fn check_text(t: &str) {
    let mut s = t;
    while let Some(i) = s.find('&') {
        let ent = &s[i..];
        assert!(
            ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"]
                .iter()
                .any(|e| ent.starts_with(e)),
            "bare & in {t}"
        );
        s = &s[i + 1..];
    }
}

#[tokio::test]
async fn junit_is_well_formed_with_a_failure_per_failing_workload() {
    let tc = TestCluster::start("demo").await;
    let out = run(health(&tc, &["-A", "--format", "junit"]), None).await;
    assert_eq!(out.status.code(), Some(1));
    let xml = stdout(&out);
    assert_well_formed(&xml);
    assert!(
        xml.contains("<testsuite name=\"kai-sandbox-demo namespace shop\""),
        "{xml}"
    );
    assert!(
        xml.contains("name=\"deployment/backend\"><failure type=\"CrashLoopBackOff\""),
        "{xml}"
    );
    assert!(
        xml.contains("name=\"deployment/frontend\"></testcase>"),
        "{xml}"
    );
    assert!(xml.contains("failures=\"1\""), "{xml}");
    assert!(xml.contains("KeyError: &apos;DATABASE_URL&apos;"), "{xml}");
    no_canary(&xml);
}

#[tokio::test]
async fn markdown_is_appended_to_the_github_step_summary() {
    let tc = TestCluster::start("demo").await;
    let summary = tc.dir.path().join("summary.md");
    std::fs::write(&summary, "# Earlier step\n").unwrap();
    let mut c = health(&tc, &["-A", "--format", "markdown"]);
    c.env("GITHUB_STEP_SUMMARY", &summary);
    let out = run(c, None).await;
    assert_eq!(out.status.code(), Some(1));
    let md = stdout(&out);
    assert!(md.contains("kai health: failing (1 critical)"), "{md}");
    assert!(
        md.contains("| 🔴 critical | `deployment shop/backend` | CrashLoopBackOff |"),
        "{md}"
    );
    let file = std::fs::read_to_string(&summary).unwrap();
    assert!(
        file.starts_with("# Earlier step\n"),
        "appended, not replaced"
    );
    assert!(file.contains("deployment shop/backend"), "{file}");
    no_canary(&file);
    // With another format, the summary still gets the markdown.
    let mut c = health(&tc, &["-A", "--format", "json"]);
    c.env("GITHUB_STEP_SUMMARY", &summary);
    let out = run(c, None).await;
    json_of(&out);
    let again = std::fs::read_to_string(&summary).unwrap();
    assert_eq!(again.matches("kai health: failing").count(), 2);
}

#[tokio::test]
async fn fail_on_never_exits_0_on_demo() {
    let tc = TestCluster::start("demo").await;
    let out = run(health(&tc, &["-A", "--fail-on", "never"]), None).await;
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("CrashLoopBackOff"),
        "the findings are still reported"
    );
}

#[tokio::test]
async fn wait_times_out_saying_why() {
    let tc = TestCluster::start("demo").await;
    let started = std::time::Instant::now();
    let out = run(health(&tc, &["-A", "--wait", "3s"]), None).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(started.elapsed() >= std::time::Duration::from_secs(3));
    let text = stdout(&out);
    assert!(text.contains("timed out after 3s"), "{text}");
    assert!(
        text.contains("CrashLoopBackOff"),
        "the report says why: {text}"
    );
    let out = run(
        health(&tc, &["-A", "--wait", "2s", "--format", "json"]),
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_of(&out)["timed_out"], "timed out after 2s");
}

#[tokio::test]
async fn wait_returns_at_once_when_healthy() {
    let tc = TestCluster::start("healthy").await;
    let started = std::time::Instant::now();
    let out = run(health(&tc, &["-A", "--wait", "5m"]), None).await;
    assert_eq!(out.status.code(), Some(0));
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
}

/// A kubeconfig with both sandboxes' contexts.
fn merged_kubeconfig(dir: &Path, a: &TestCluster, b: &TestCluster) -> std::path::PathBuf {
    let entry = |tc: &TestCluster| (tc.sandbox.context_name(), tc.sandbox.url());
    let (na, ua) = entry(a);
    let (nb, ub) = entry(b);
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: {na}\n  cluster:\n    server: {ua}\n- name: {nb}\n  cluster:\n    server: {ub}\ncontexts:\n- name: {na}\n  context:\n    cluster: {na}\n    user: u\n- name: {nb}\n  context:\n    cluster: {nb}\n    user: u\ncurrent-context: {na}\nusers:\n- name: u\n  user:\n    token: kai-sandbox\n"
    );
    let path = dir.join("merged");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn several_contexts_are_checked_together() {
    let demo = TestCluster::start("demo").await;
    let healthy = TestCluster::start("healthy").await;
    let kc = merged_kubeconfig(demo.dir.path(), &demo, &healthy);
    let mut c = kai_command(demo.dir.path());
    c.args(["health", "-A", "--format", "json", "--kubeconfig"])
        .arg(&kc)
        .args(["--context", &demo.sandbox.context_name()])
        .args(["--context", &healthy.sandbox.context_name()]);
    let out = run(c, None).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json_of(&out);
    let clusters = v["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 2);
    assert_eq!(clusters[0]["context"], demo.sandbox.context_name());
    assert_eq!(clusters[0]["findings"].as_array().unwrap().len(), 1);
    assert_eq!(clusters[1]["context"], healthy.sandbox.context_name());
    assert_eq!(clusters[1]["findings"].as_array().unwrap().len(), 0);
}

/// Polls a condition on the sandbox, bounded: true once it holds, false after `secs`.
async fn eventually(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < until {
        if cond() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    cond()
}

#[tokio::test]
async fn wait_watches_between_checks_instead_of_relisting() {
    // A manual clock: the cluster changes only when the test says so.
    let tc = TestCluster::start_manual("demo").await;
    let lists = || tc.sandbox.served("list", "deployments");
    let watches = || tc.sandbox.served("watch", "pods");
    let cmd = health(&tc, &["-A", "--wait", "10s", "--format", "json"]);
    let child = tokio::spawn(run(cmd, None));
    assert!(
        eventually(30, || watches() >= 1).await,
        "kai watches pods after the first check"
    );
    assert_eq!(lists(), 1, "one check so far");
    // A change (time passes: the crashing pods restart) wakes the next check at once.
    tc.advance(600);
    assert!(
        eventually(5, || lists() >= 2).await,
        "a change is checked promptly"
    );
    let out = child.await.unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(json_of(&out)["timed_out"], "timed out after 10s");
    // The first check, the one the change woke (maybe one more if the change came in two
    // bursts), perhaps one started at the deadline: re-checking every 2s would be 5 or more.
    let n = lists();
    assert!((2..=4).contains(&n), "{n} checks: {}", stderr(&out));
    assert!(watches() >= 2);
}
