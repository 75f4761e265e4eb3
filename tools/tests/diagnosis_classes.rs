//! End to end: each failure class of the built-in scenarios is diagnosed over real HTTP with
//! its cause, the deciding evidence and a suggestion that fixes that cause.

// Helpers outside #[test] functions panic with the reason on purpose: that is the test failure.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use kai_sandbox::{Sandbox, SandboxOptions, Scenario};
use kai_tools::Cluster;
use kai_tools::diagnosis::{Finding, Report, Scope, diagnose, render_compact};

async fn all(name: &str) -> Report {
    let scenario = Scenario::builtin(name).expect("built-in scenario");
    let sandbox = Sandbox::start(scenario, SandboxOptions::default())
        .await
        .expect("start sandbox");
    let path = std::env::temp_dir().join(format!(
        "kai-classes-{name}-{}-{}.kubeconfig",
        std::process::id(),
        sandbox.port()
    ));
    sandbox.write_kubeconfig(&path).expect("write kubeconfig");
    let cluster = Cluster::connect(Some(&path), None, None)
        .await
        .expect("connect");
    let scope = Scope {
        all_namespaces: true,
        ..Scope::default()
    };
    let report = diagnose(&cluster, &scope).await.expect("diagnose");
    let _ = std::fs::remove_file(&path);
    report
}

/// The finding about `kind/name` with `reason`, whose message, evidence and suggestion
/// contain the given texts.
fn check<'a>(
    r: &'a Report,
    kind: &str,
    name: &str,
    reason: &str,
    message: &[&str],
    evidence: &[&str],
    suggestion: &[&str],
) -> &'a Finding {
    let text = render_compact(r);
    let f = r
        .findings
        .iter()
        .find(|f| f.kind == kind && f.name == name && f.reason == reason)
        .unwrap_or_else(|| panic!("a {reason} finding about {kind}/{name}:\n{text}"));
    for m in message {
        assert!(f.message.contains(m), "message should say {m:?}:\n{text}");
    }
    for e in evidence {
        assert!(
            f.evidence.iter().any(|x| x.contains(e)),
            "evidence should contain {e:?}:\n{text}"
        );
    }
    for s in suggestion {
        assert!(f.suggestion.contains(s), "fix should say {s:?}:\n{text}");
    }
    f
}

#[tokio::test]
async fn dns_failure_follows_the_host_to_the_missing_service() {
    let r = all("dns-failure").await;
    check(
        &r,
        "deployment",
        "storefront",
        "NameResolutionFailed",
        &[
            "cannot resolve host catalog",
            "service catalog does not exist",
        ],
        &[
            "could not resolve host catalog",
            "CATALOG_URL=http://catalog:8080",
        ],
        &["CATALOG_URL", "product-catalog"],
    );
}

#[tokio::test]
async fn connection_refused_is_chained_to_the_dependency_own_cause() {
    let r = all("connection-refused").await;
    let f = check(
        &r,
        "deployment",
        "checkout",
        "CrashLoopBackOff",
        &[
            "connection refused",
            "service payments has no ready endpoints",
            "STRIPE_API_KEY",
        ],
        &[
            "endpoints payments: 0 ready",
            "dependency deployment apps/payments",
        ],
        &["fix deployment apps/payments first", "STRIPE_API_KEY"],
    );
    assert_eq!(
        f.related.first().map(String::as_str),
        Some("deployment/payments")
    );
}

#[tokio::test]
async fn network_policy_blocking_dns_is_the_cause() {
    let r = all("network-policy").await;
    check(
        &r,
        "deployment",
        "orders",
        "NameResolutionFailed",
        &["NetworkPolicy default-deny-egress", "port 53"],
        &[
            "networkpolicy default-deny-egress",
            "Failed to resolve 'inventor",
        ],
        &["port 53"],
    );
}

#[tokio::test]
async fn full_disk_is_tied_to_the_claim_and_its_size() {
    let r = all("disk-full").await;
    check(
        &r,
        "statefulset",
        "postgres",
        "CrashLoopBackOff",
        &[
            "No space left on device",
            "PersistentVolumeClaim data-postgres-0 of 1Gi",
        ],
        &["persistentvolumeclaim data-postgres-0, capacity 1Gi"],
        &["expand PersistentVolumeClaim data-postgres-0"],
    );
}

#[tokio::test]
async fn forbidden_api_call_names_the_service_account_and_the_unbound_role() {
    let r = all("rbac-forbidden").await;
    check(
        &r,
        "deployment",
        "reporter",
        "Forbidden",
        &["forbidden to list pods", "serviceaccount apps/reporter"],
        &["bound by no RoleBinding", "Role pod-reader"],
        &["--role=pod-reader --serviceaccount=apps:reporter"],
    );
}

#[tokio::test]
async fn start_failures_quote_the_runtime_and_never_send_to_empty_logs() {
    let r = all("start-failure").await;
    let f = check(
        &r,
        "deployment",
        "worker",
        "CrashLoopBackOff",
        &[
            "code 127 (could not start",
            "executable file not found in $PATH",
        ],
        &["StartError", "event Failed"],
        &["/app/bin/wrker"],
    );
    assert!(!f.suggestion.contains("kubectl logs"), "{}", f.suggestion);
    let f = check(
        &r,
        "deployment",
        "indexer",
        "CrashLoopBackOff",
        &["code 128 (could not start"],
        &["StartError"],
        &["not a directory"],
    );
    assert!(
        !f.message.contains("invalid exit argument"),
        "{}",
        f.message
    );
    check(
        &r,
        "deployment",
        "exporter",
        "CrashLoopBackOff",
        &["code 126", "permission denied"],
        &["StartError"],
        &["executable"],
    );
}

#[tokio::test]
async fn init_container_failure_reads_its_log() {
    let r = all("init-container").await;
    check(
        &r,
        "deployment",
        "orders",
        "Init:CrashLoopBackOff",
        &["init container migrate", "already exists"],
        &["previous log of pod"],
        &[],
    );
}

#[tokio::test]
async fn liveness_kill_names_the_probe_port_against_the_container_port() {
    let r = all("liveness-probe").await;
    let f = check(
        &r,
        "deployment",
        "api",
        "CrashLoopBackOff",
        &["liveness probe", "port 8081", "containerPort 8080"],
        &[
            "failed liveness probe",
            "livenessProbe: GET /healthz port 8081",
        ],
        &["port http"],
    );
    assert!(!f.message.contains("out of memory"), "{}", f.message);
}

#[tokio::test]
async fn quota_refusals_suggest_what_fixes_each_cause() {
    let r = all("resource-quota").await;
    let f = check(
        &r,
        "deployment",
        "batch",
        "FailedCreate",
        &["must specify limits.cpu"],
        &["resourcequota compute-quota: used/hard"],
        &["limits.cpu", "pod template"],
    );
    assert!(f.suggestion.contains("does not help"), "{}", f.suggestion);
    check(
        &r,
        "deployment",
        "web",
        "FailedCreate",
        &["exceeded quota"],
        &["requests.cpu 800m/1"],
        &["ResourceQuota compute-quota is used up"],
    );
}

#[tokio::test]
async fn limit_range_refusal_quotes_the_range() {
    let r = all("limit-range").await;
    check(
        &r,
        "deployment",
        "renderer",
        "FailedCreate",
        &["maximum cpu usage per Container is 1"],
        &["limitrange container-limits (Container): max cpu 1"],
        &["LimitRange"],
    );
}

#[tokio::test]
async fn gpu_shortage_never_suggests_lowering_cpu_or_memory() {
    let r = all("gpu").await;
    let f = check(
        &r,
        "deployment",
        "trainer",
        "Unschedulable",
        &["Insufficient nvidia.com/gpu"],
        &["FailedScheduling"],
        &["nvidia.com/gpu", "gpu-1"],
    );
    assert!(
        !f.suggestion.contains("lower the pod's resource requests"),
        "{}",
        f.suggestion
    );
}

#[tokio::test]
async fn anti_affinity_and_topology_spread_name_the_constraint() {
    let r = all("anti-affinity").await;
    check(
        &r,
        "deployment",
        "cache",
        "Unschedulable",
        &["anti-affinity"],
        &["FailedScheduling"],
        &[
            "anti-affinity on kubernetes.io/hostname",
            "3 schedulable nodes",
        ],
    );
    let r = all("topology-spread").await;
    check(
        &r,
        "deployment",
        "web",
        "Unschedulable",
        &["topology spread"],
        &["FailedScheduling"],
        &["maxSkew 1 on topology.kubernetes.io/zone"],
    );
}

#[tokio::test]
async fn hpa_that_cannot_scale() {
    let r = all("hpa").await;
    check(
        &r,
        "horizontalpodautoscaler",
        "api",
        "TooManyReplicas",
        &["maxReplicas"],
        &["ScalingLimited=True"],
        &["maxReplicas"],
    );
    check(
        &r,
        "horizontalpodautoscaler",
        "worker",
        "MissingResourceRequests",
        &["no cpu request"],
        &["containers without requests: worker"],
        &["resources.requests.cpu"],
    );
}
