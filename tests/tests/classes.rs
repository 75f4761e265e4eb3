//! Every failure class of the built-in scenarios through the `kai` binary: `kai health` names
//! the workload with its cause, deciding evidence and fix, and an offline "why" question
//! answers with the same cause.

// A panic with the reason is the test failure we want.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use kai_tests::{TestCluster, run, stderr, stdout};
use serde_json::Value;

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            stdout(out),
            stderr(out)
        )
    })
}

/// What one class must show.
struct Class<'a> {
    scenario: &'a str,
    question: &'a str,
    name: &'a str,
    reason: &'a str,
    /// In the finding's message and in the offline answer.
    cause: &'a str,
    /// In one evidence line.
    evidence: &'a str,
    /// In the suggestion.
    fix: &'a str,
}

fn texts(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

async fn check(c: Class<'_>) {
    let tc = TestCluster::start(c.scenario).await;
    let mut cmd = tc.kai();
    cmd.args(["health", "-A", "--format", "json"]);
    let out = run(cmd, None).await;
    let v = json_of(&out);
    let all = v.to_string();
    let f = v["clusters"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == c.name && f["reason"] == c.reason)
        .unwrap_or_else(|| {
            panic!(
                "{}: a {} finding about {}:\n{all}",
                c.scenario, c.reason, c.name
            )
        });
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains(c.cause),
        "{}: cause {:?} in {message}",
        c.scenario,
        c.cause
    );
    let evidence = texts(&f["evidence"]);
    assert!(
        evidence.iter().any(|e| e.contains(c.evidence)),
        "{}: evidence {:?} in {evidence:#?}",
        c.scenario,
        c.evidence
    );
    let fix = f["suggestion"].as_str().unwrap();
    assert!(
        fix.contains(c.fix),
        "{}: fix {:?} in {fix}",
        c.scenario,
        c.fix
    );

    let mut cmd = tc.kai();
    cmd.args(["--output", "json", c.question]);
    let out = run(cmd, None).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json_of(&out);
    assert_eq!(doc["mode"], "offline");
    let answer = doc["answer"].as_str().unwrap_or_default();
    assert!(
        answer.contains(c.cause) && answer.contains(c.evidence),
        "{}: the answer to {:?} should give the cause {:?} and the evidence {:?}:\n{answer}",
        c.scenario,
        c.question,
        c.cause,
        c.evidence
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dns_failure() {
    check(Class {
        scenario: "dns-failure",
        question: "why is storefront failing",
        name: "storefront",
        reason: "NameResolutionFailed",
        cause: "service catalog does not exist",
        evidence: "CATALOG_URL=http://catalog:8080",
        fix: "product-catalog",
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_refused_chain() {
    check(Class {
        scenario: "connection-refused",
        question: "why is checkout crashing",
        name: "checkout",
        reason: "CrashLoopBackOff",
        cause: "service payments has no ready endpoints",
        evidence: "dependency deployment apps/payments",
        fix: "STRIPE_API_KEY",
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn network_policy() {
    check(Class {
        scenario: "network-policy",
        question: "why is orders failing",
        name: "orders",
        reason: "NameResolutionFailed",
        cause: "NetworkPolicy default-deny-egress",
        evidence: "no egress rule allows port 53",
        fix: "port 53",
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_full() {
    check(Class {
        scenario: "disk-full",
        question: "why is postgres crashing",
        name: "postgres",
        reason: "CrashLoopBackOff",
        cause: "PersistentVolumeClaim data-postgres-0 of 1Gi",
        evidence: "No space left on device",
        fix: "expand PersistentVolumeClaim data-postgres-0",
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rbac_forbidden() {
    check(Class {
        scenario: "rbac-forbidden",
        question: "why is reporter failing",
        name: "reporter",
        reason: "Forbidden",
        cause: "grants serviceaccount apps/reporter list pods",
        evidence: "Role pod-reader",
        fix: "--serviceaccount=apps:reporter",
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_failure() {
    check(Class {
        scenario: "start-failure",
        question: "why is worker crashing",
        name: "worker",
        reason: "CrashLoopBackOff",
        cause: "executable file not found in $PATH",
        evidence: "StartError",
        fix: "/app/bin/wrker",
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_container() {
    check(Class {
        scenario: "init-container",
        question: "why is orders not starting",
        name: "orders",
        reason: "Init:CrashLoopBackOff",
        cause: "init container migrate",
        evidence: "already exists",
        fix: "migrate",
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn liveness_probe() {
    check(Class {
        scenario: "liveness-probe",
        question: "why does api keep restarting",
        name: "api",
        reason: "CrashLoopBackOff",
        cause: "port 8081",
        evidence: "failed liveness probe",
        fix: "port http",
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_quota() {
    check(Class {
        scenario: "resource-quota",
        question: "why does batch have no pods",
        name: "batch",
        reason: "FailedCreate",
        cause: "must specify limits.cpu",
        evidence: "resourcequota compute-quota",
        fix: "pod template",
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limit_range() {
    check(Class {
        scenario: "limit-range",
        question: "why does renderer have no pods",
        name: "renderer",
        reason: "FailedCreate",
        cause: "maximum cpu usage per Container is 1",
        evidence: "limitrange container-limits",
        fix: "LimitRange",
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gpu() {
    check(Class {
        scenario: "gpu",
        question: "why is trainer pending",
        name: "trainer",
        reason: "Unschedulable",
        cause: "Insufficient nvidia.com/gpu",
        evidence: "FailedScheduling",
        fix: "gpu-1",
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anti_affinity() {
    check(Class {
        scenario: "anti-affinity",
        question: "why is cache pending",
        name: "cache",
        reason: "Unschedulable",
        cause: "anti-affinity",
        evidence: "FailedScheduling",
        fix: "3 schedulable nodes",
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topology_spread() {
    check(Class {
        scenario: "topology-spread",
        question: "why is web pending",
        name: "web",
        reason: "Unschedulable",
        cause: "topology spread",
        evidence: "FailedScheduling",
        fix: "maxSkew 1",
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hpa() {
    check(Class {
        scenario: "hpa",
        question: "why is the api autoscaler not scaling",
        name: "api",
        reason: "TooManyReplicas",
        cause: "maxReplicas",
        evidence: "ScalingLimited=True",
        fix: "maxReplicas",
    })
    .await;
}
