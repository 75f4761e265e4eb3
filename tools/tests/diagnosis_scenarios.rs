//! End to end: the diagnosis engine against every built-in sandbox scenario over real HTTP.

// Helpers outside #[test] functions panic with the reason on purpose: that is the test failure.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use kai_sandbox::faults::{Faults, ForbiddenRule};
use kai_sandbox::{Sandbox, SandboxOptions, Scenario};
use kai_tools::Cluster;
use kai_tools::diagnosis::{Finding, Report, Scope, Severity, diagnose, render_compact};

async fn start(name: &str, options: SandboxOptions) -> (Cluster, Sandbox, std::path::PathBuf) {
    let scenario = Scenario::builtin(name).expect("built-in scenario");
    let sandbox = Sandbox::start(scenario, options)
        .await
        .expect("start sandbox");
    let path = std::env::temp_dir().join(format!(
        "kai-diag-{name}-{}-{}.kubeconfig",
        std::process::id(),
        sandbox.port()
    ));
    sandbox.write_kubeconfig(&path).expect("write kubeconfig");
    let cluster = Cluster::connect(Some(&path), None, None)
        .await
        .expect("connect");
    (cluster, sandbox, path)
}

async fn diagnose_with(name: &str, scope: Scope, options: SandboxOptions) -> Report {
    let (cluster, _sandbox, path) = start(name, options).await;
    let report = diagnose(&cluster, &scope).await.expect("diagnose");
    let _ = std::fs::remove_file(&path);
    report
}

async fn all(name: &str) -> Report {
    let scope = Scope {
        all_namespaces: true,
        ..Scope::default()
    };
    diagnose_with(name, scope, SandboxOptions::default()).await
}

/// The one critical finding of a failure scenario, about `kind name`, with `reason`.
fn the_finding<'a>(r: &'a Report, kind: &str, name: &str, reason: &str) -> &'a Finding {
    let text = render_compact(r);
    let critical: Vec<&Finding> = r
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Critical)
        .collect();
    assert_eq!(critical.len(), 1, "one critical finding expected:\n{text}");
    let f = critical[0];
    assert_eq!(
        (f.kind.as_str(), f.name.as_str(), f.reason.as_str()),
        (kind, name, reason),
        "\n{text}"
    );
    assert!(!f.suggestion.is_empty(), "a suggestion: {text}");
    f
}

fn proves(f: &Finding, needle: &str) {
    assert!(
        f.evidence.iter().any(|e| e.contains(needle)),
        "evidence should contain {needle:?}: {:#?}",
        f.evidence
    );
}

#[tokio::test]
async fn demo_backend_crash_is_chained_to_the_missing_env_and_the_revision() {
    let r = all("demo").await;
    let f = the_finding(&r, "deployment", "backend", "CrashLoopBackOff");
    assert_eq!(f.namespace, "shop");
    proves(f, "KeyError: 'DATABASE_URL'");
    proves(f, "exitCode 1");
    assert!(
        f.message.contains("no env var DATABASE_URL"),
        "{}",
        f.message
    );
    assert!(
        f.message.contains("revision 2 (image shop/backend:1.4.0)"),
        "{}",
        f.message
    );
    assert!(
        f.message.contains("service backend has no ready endpoints"),
        "{}",
        f.message
    );
    assert!(
        f.suggestion
            .contains("roll back deployment backend to revision 1"),
        "{}",
        f.suggestion
    );
    assert!(
        f.related
            .iter()
            .filter(|r| r.starts_with("pod/backend-"))
            .count()
            == 2
    );
    // No separate finding repeats the service or the frontend's consequence.
    assert_eq!(r.findings.len(), 1, "{}", render_compact(&r));
    // Canaries planted in the scenario never appear.
    let text = format!("{}{:?}", render_compact(&r), r);
    for canary in ["CANARY", "S3CR3T", "pw-CANARY", "eyJhbGciOiJIUzI1NiJ9"] {
        assert!(!text.contains(canary), "{canary} leaked");
    }
    assert_eq!(r.scope, "all namespaces");
    assert!(
        r.checked.pods >= 5 && r.checked.workloads >= 3 && r.checked.logs >= 1,
        "{:?}",
        r.checked
    );
}

#[tokio::test]
async fn healthy_has_no_finding_at_all() {
    let r = all("healthy").await;
    assert!(
        r.findings.is_empty(),
        "false positives:\n{}",
        render_compact(&r)
    );
    assert!(r.not_checked.is_empty(), "{:?}", r.not_checked);
    // Only the running pods' logs are read (one pod per workload), and they say nothing wrong.
    assert!(
        r.checked.logs <= r.workloads.len() * 2,
        "at most one pod per workload read: {} logs",
        r.checked.logs
    );
    assert!(r.checked.pods > 5);
}

#[tokio::test]
async fn crashloop() {
    let r = all("crashloop").await;
    let f = the_finding(&r, "deployment", "worker", "CrashLoopBackOff");
    proves(f, "exitCode 1");
    proves(f, "no such host");
}

#[tokio::test]
async fn oom() {
    let r = all("oom").await;
    let f = the_finding(&r, "deployment", "cache", "OOMKilled");
    proves(f, "exitCode 137 (OOMKilled)");
    assert!(f.message.contains("memory limit 128Mi"), "{}", f.message);
}

#[tokio::test]
async fn image_pull() {
    let r = all("image-pull").await;
    let f = &r.findings[0];
    assert!(
        matches!(f.reason.as_str(), "ImagePullBackOff" | "ErrImagePull"),
        "{}",
        render_compact(&r)
    );
    let f = the_finding(&r, "deployment", "web", &f.reason.clone());
    proves(f, "nginx:1.27.99");
    assert!(f.message.contains("does not exist"), "{}", f.message);
}

#[tokio::test]
async fn missing_config_names_each_missing_object_and_key() {
    let r = all("missing-config").await;
    assert_eq!(r.findings.len(), 3, "{}", render_compact(&r));
    let by = |name: &str| r.findings.iter().find(|f| f.name == name).expect(name);
    let api = by("api");
    assert_eq!(api.reason, "CreateContainerConfigError");
    assert!(
        api.message
            .contains("secret api-db has no key db-url (keys: database-url)"),
        "{}",
        api.message
    );
    assert_eq!(by("worker").reason, "CreateContainerConfigError");
    assert!(
        by("worker")
            .message
            .contains("configmap worker-config does not exist")
    );
    let rep = by("reporter");
    assert_eq!(rep.reason, "FailedMount");
    proves(rep, "configmap \"reporter-templates\" not found");
    assert!(r.findings.iter().all(|f| f.severity == Severity::Critical));
}

#[tokio::test]
async fn unschedulable_resources() {
    let r = all("unschedulable-resources").await;
    let f = the_finding(&r, "deployment", "trainer", "Unschedulable");
    proves(f, "Insufficient memory");
    assert!(f.suggestion.contains("memory 64Gi"), "{}", f.suggestion);
}

#[tokio::test]
async fn unschedulable_selector() {
    let r = all("unschedulable-selector").await;
    let f = the_finding(&r, "deployment", "inference", "Unschedulable");
    proves(f, "didn't match Pod's node affinity/selector");
    assert!(f.suggestion.contains("nvidia-tesla-t4"), "{}", f.suggestion);
}

#[tokio::test]
async fn readiness() {
    let r = all("readiness").await;
    let f = the_finding(&r, "deployment", "checkout", "Unhealthy");
    proves(f, "Readiness probe failed");
    assert!(f.related.contains(&"service/checkout".to_string()));
    assert_eq!(
        r.findings.len(),
        1,
        "the service is folded into the workload finding"
    );
}

#[tokio::test]
async fn service_selector() {
    let r = all("service-selector").await;
    let f = the_finding(&r, "service", "payments", "SelectorMismatch");
    assert!(
        f.message.contains("app=payment-api") && f.message.contains("app=payments"),
        "{}",
        f.message
    );
}

#[tokio::test]
async fn pvc_without_storage_class() {
    let r = all("pvc-no-storageclass").await;
    let f = the_finding(&r, "deployment", "uploader", "ProvisioningFailed");
    proves(f, "\"fast-ssd\" not found");
    assert!(
        f.related
            .contains(&"persistentvolumeclaim/uploads".to_string())
    );
    assert_eq!(
        r.findings.len(),
        1,
        "the PVC is the cause, not a second finding"
    );
}

#[tokio::test]
async fn node_not_ready() {
    let r = all("node-not-ready").await;
    let f = the_finding(&r, "node", "node-3", "NodeNotReady");
    proves(f, "Kubelet stopped posting node status");
}

#[tokio::test]
async fn failing_job() {
    let r = all("failing-job").await;
    let f = the_finding(&r, "job", "nightly-report", "BackoffLimitExceeded");
    proves(f, "exitCode 1");
    proves(f, "connection to warehouse timed out");
}

#[tokio::test]
async fn namespace_scope_kind_and_name_filter() {
    let scope = Scope {
        namespace: Some("shop".into()),
        kind: Some("svc".into()),
        name: Some("backend".into()),
        ..Scope::default()
    };
    let r = diagnose_with("demo", scope, SandboxOptions::default()).await;
    assert_eq!(r.scope, "namespace shop");
    assert_eq!(
        r.findings.len(),
        1,
        "the service's cause is found through related"
    );
    assert_eq!(r.findings[0].name, "backend");
    let scope = Scope {
        namespace: Some("shop".into()),
        kind: Some("deploy".into()),
        name: Some("frontend".into()),
        ..Scope::default()
    };
    let r = diagnose_with("demo", scope, SandboxOptions::default()).await;
    // Frontend only suffers backend's outage (its log: connection refused to backend): the
    // answer about frontend is backend's finding, which names frontend among the affected.
    assert_eq!(r.findings.len(), 1, "{}", render_compact(&r));
    assert_eq!(r.findings[0].name, "backend");
    assert!(
        r.findings[0]
            .related
            .contains(&"deployment/frontend".to_string()),
        "{}",
        render_compact(&r)
    );
}

#[tokio::test]
async fn missing_namespace_is_an_error_naming_it() {
    let scope = Scope {
        namespace: Some("shpo".into()),
        ..Scope::default()
    };
    let (cluster, _sb, path) = start("demo", SandboxOptions::default()).await;
    let err = diagnose(&cluster, &scope)
        .await
        .expect_err("missing namespace");
    let _ = std::fs::remove_file(&path);
    let msg = err.to_string();
    assert!(
        msg.contains("namespace \"shpo\" not found in context"),
        "{msg}"
    );
}

#[tokio::test]
async fn forbidden_kind_is_not_checked_and_the_rest_still_is() {
    let faults = Faults {
        forbidden: vec![ForbiddenRule {
            verbs: vec!["list".into()],
            resources: vec!["events".into(), "nodes".into()],
            namespaces: Vec::new(),
        }],
        ..Faults::default()
    };
    let options = SandboxOptions {
        faults: Some(faults),
        ..SandboxOptions::default()
    };
    let scope = Scope {
        namespace: Some("shop".into()),
        ..Scope::default()
    };
    let r = diagnose_with("demo", scope, options).await;
    assert!(
        r.not_checked
            .iter()
            .any(|n| n.starts_with("events: forbidden")),
        "{:?}",
        r.not_checked
    );
    assert!(
        r.not_checked
            .iter()
            .any(|n| n.starts_with("nodes: forbidden")),
        "{:?}",
        r.not_checked
    );
    let f = the_finding(&r, "deployment", "backend", "CrashLoopBackOff");
    proves(f, "KeyError: 'DATABASE_URL'");
}

#[tokio::test]
async fn unreachable_cluster_is_an_error_naming_the_server() {
    let scenario = Scenario::builtin("healthy").expect("scenario");
    let sandbox = Sandbox::start(scenario, SandboxOptions::default())
        .await
        .expect("start");
    // A port that was free a moment ago: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let kubeconfig = sandbox.kubeconfig().replace(
        &format!("127.0.0.1:{}", sandbox.port()),
        &format!("127.0.0.1:{closed}"),
    );
    let path = std::env::temp_dir().join(format!(
        "kai-diag-closed-{}-{closed}.kubeconfig",
        std::process::id()
    ));
    std::fs::write(&path, kubeconfig).expect("write kubeconfig");
    let cluster = Cluster::connect(Some(&path), None, None)
        .await
        .expect("connect");
    let err = diagnose(&cluster, &Scope::default())
        .await
        .expect_err("unreachable");
    let _ = std::fs::remove_file(&path);
    let msg = err.to_string();
    assert!(
        msg.contains(&format!(
            "cannot reach the Kubernetes API at http://127.0.0.1:{closed}"
        )),
        "{msg}"
    );
}
