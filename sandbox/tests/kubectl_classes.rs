//! The failure classes' built-in scenarios through the real kubectl (the pinned 1.32
//! client): each deciding fact is visible with `describe`, `logs`, `get events` or `top`.

// Test helpers fail loudly: a panic with the reason is the test failure we want.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use kai_sandbox::{SandboxOptions, Scenario};

mod common;

use common::{Env, pinned, stderr, stdout};

/// A built-in scenario served on 127.0.0.1, with a kubeconfig and a fresh kubectl cache.
struct Cluster(Env);

impl Cluster {
    async fn start(scenario: &str) -> Cluster {
        let scenario = Scenario::builtin(scenario).expect("built-in scenario");
        Cluster(Env::start(scenario, SandboxOptions::default()).await)
    }

    /// Runs the pinned kubectl 1.32 client as the admin; must succeed.
    async fn ok(&self, args: &[&str]) -> String {
        let out = self
            .0
            .run_as(&pinned("1.32"), "kubeconfig", args, &[])
            .await;
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}{}",
            stdout(&out),
            stderr(&out)
        );
        stdout(&out)
    }

    /// The name of the first pod whose name starts with `prefix`.
    async fn pod(&self, ns: &str, prefix: &str) -> String {
        let names = self.ok(&["get", "pods", "-n", ns, "-o", "name"]).await;
        names
            .lines()
            .map(|l| l.trim_start_matches("pod/"))
            .find(|n| n.starts_with(prefix))
            .unwrap_or_else(|| panic!("no pod {prefix}* in {ns}:\n{names}"))
            .to_string()
    }
}

fn assert_has(out: &str, needle: &str) {
    assert!(out.contains(needle), "expected {needle:?} in:\n{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_shows_declared_use_and_hpa_its_limit() {
    let c = Cluster::start("hpa").await;
    let top = c.ok(&["top", "pod", "-n", "apps"]).await;
    let api = top
        .lines()
        .find(|l| l.starts_with("api-"))
        .unwrap_or_else(|| panic!("{top}"));
    let cols: Vec<&str> = api.split_whitespace().collect();
    assert_eq!(cols[1..], ["450m", "300Mi"], "{top}");
    let nodes = c.ok(&["top", "node"]).await;
    assert_has(&nodes, "node-1");
    assert_has(&nodes, "CPU(cores)");
    let hpa = c.ok(&["describe", "hpa", "api", "-n", "apps"]).await;
    assert_has(&hpa, "TooManyReplicas");
    assert_has(&hpa, "180% (450m) / 70%");
    let worker = c.ok(&["describe", "hpa", "worker", "-n", "apps"]).await;
    assert_has(&worker, "FailedGetResourceMetric");
    assert_has(&worker, "missing request for cpu in container worker");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn liveness_kills_show_in_describe_and_events() {
    let c = Cluster::start("liveness-probe").await;
    let pod = c.pod("apps", "api-").await;
    let d = c.ok(&["describe", "pod", &pod, "-n", "apps"]).await;
    assert_has(&d, "Liveness:");
    assert_has(&d, "http-get http://:8081/healthz");
    assert_has(&d, "Container api failed liveness probe, will be restarted");
    assert_has(&d, "Exit Code:    137");
    let ev = c.ok(&["get", "events", "-n", "apps"]).await;
    assert_has(&ev, "Liveness probe failed: Get \"http://");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_errors_and_init_containers_in_describe_get_and_logs() {
    let c = Cluster::start("start-failure").await;
    let pod = c.pod("apps", "worker-").await;
    let d = c.ok(&["describe", "pod", &pod, "-n", "apps"]).await;
    assert_has(&d, "Reason:       StartError");
    assert_has(&d, "Exit Code:    127");
    assert_has(&d, "executable file not found in $PATH");
    let c = Cluster::start("init-container").await;
    let pods = c.ok(&["get", "pods", "-n", "apps"]).await;
    assert_has(&pods, "Init:CrashLoopBackOff");
    assert_has(&pods, "Init:Error");
    let pod = c.pod("apps", "orders-").await;
    let logs = c
        .ok(&["logs", &pod, "-n", "apps", "-c", "migrate", "--previous"])
        .await;
    assert_has(&logs, "relation \"orders\" already exists");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_logs_name_the_network_and_permission_failures() {
    for (scenario, ns, prefix, needle, previous) in [
        (
            "dns-failure",
            "apps",
            "storefront-",
            "could not resolve host catalog",
            false,
        ),
        (
            "connection-refused",
            "apps",
            "checkout-",
            "connect: connection refused",
            true,
        ),
        (
            "network-policy",
            "apps",
            "orders-",
            "Temporary failure in name resolution",
            false,
        ),
        (
            "rbac-forbidden",
            "apps",
            "reporter-",
            "pods is forbidden: User",
            false,
        ),
        (
            "disk-full",
            "data",
            "postgres-",
            "No space left on device",
            true,
        ),
    ] {
        let c = Cluster::start(scenario).await;
        let pod = c.pod(ns, prefix).await;
        let mut args = vec!["logs", pod.as_str(), "-n", ns];
        if previous {
            args.push("--previous");
        }
        let logs = c.ok(&args).await;
        assert_has(&logs, needle);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admission_and_scheduling_refusals_in_events_and_describe() {
    let c = Cluster::start("resource-quota").await;
    let ev = c.ok(&["get", "events", "-n", "team-a"]).await;
    assert_has(
        &ev,
        "exceeded quota: compute-quota, requested: requests.cpu=400m",
    );
    assert_has(&ev, "must specify limits.cpu for: batch");
    let q = c
        .ok(&["describe", "quota", "compute-quota", "-n", "team-a"])
        .await;
    assert_has(&q, "requests.cpu");
    assert_has(&q, "800m");
    let c = Cluster::start("limit-range").await;
    let ev = c.ok(&["get", "events", "-n", "team-b"]).await;
    assert_has(&ev, "maximum cpu usage per Container is 1, but limit is 2");
    for (scenario, ns, words) in [
        (
            "anti-affinity",
            "apps",
            "didn't match pod anti-affinity rules",
        ),
        (
            "topology-spread",
            "apps",
            "didn't match pod topology spread constraints",
        ),
        ("gpu", "ml", "Insufficient nvidia.com/gpu"),
    ] {
        let c = Cluster::start(scenario).await;
        let pending = c
            .ok(&[
                "get",
                "pods",
                "-n",
                ns,
                "--field-selector=status.phase=Pending",
                "-o",
                "name",
            ])
            .await;
        let pod = pending
            .lines()
            .next()
            .unwrap_or_else(|| panic!("{scenario}: no pending pod"));
        let d = c.ok(&["describe", pod, "-n", ns]).await;
        assert_has(&d, "FailedScheduling");
        assert_has(&d, words);
    }
    let c = Cluster::start("gpu").await;
    let node = c.ok(&["describe", "node", "gpu-1"]).await;
    assert_has(&node, "nvidia.com/gpu:");
}
