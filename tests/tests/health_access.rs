//! `kai health` under partial access, end to end through the kai binary: kinds that are
//! forbidden (by `--forbid`-style faults or a restricted ServiceAccount) or undecodable are
//! listed as not checked and make the exit code 2 unless what was checked fails; findings that
//! would rest on them are not made; a namespace or selector that matches nothing says so.

// A panic with the reason is the test failure we want.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::process::Output;

use kai_sandbox::faults::ForbiddenRule;
use kai_sandbox::rbac::Subject;
use kai_sandbox::{Faults, SandboxOptions, Scenario};
use kai_tests::{TestCluster, code, explain, run, stdout};
use serde_json::Value;

const FORMATS: [&str; 4] = ["text", "json", "markdown", "junit"];

/// A sandbox of `scenario` that refuses `list` on each of `resources` (empty: every list).
async fn forbidding(scenario: &str, resources: &[&str]) -> TestCluster {
    let faults = Faults {
        forbidden: vec![ForbiddenRule {
            verbs: vec!["list".into()],
            resources: resources.iter().map(|r| r.to_string()).collect(),
            namespaces: Vec::new(),
        }],
        ..Faults::default()
    };
    let options = SandboxOptions {
        faults: Some(faults),
        ..SandboxOptions::default()
    };
    TestCluster::start_with(Scenario::load(scenario).unwrap(), options).await
}

async fn health(tc: &TestCluster, args: &[&str]) -> Output {
    let mut c = tc.kai();
    c.arg("health").args(args);
    run(c, None).await
}

async fn health_in(tc: &TestCluster, format: &str, args: &[&str]) -> Output {
    let mut all = vec!["--format", format];
    all.extend_from_slice(args);
    health(tc, &all).await
}

fn json_of(o: &Output) -> Value {
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("not JSON ({e}): {}", explain(o)))
}

/// What every format must say when `kind` could not be read and nothing checked fails.
fn says_not_checked(format: &str, o: &Output, kind: &str) {
    let out = stdout(o);
    assert_eq!(code(o), 2, "{format}: {}", explain(o));
    assert!(
        !out.contains("No problems found"),
        "{format}: {}",
        explain(o)
    );
    match format {
        "json" => {
            let v = json_of(o);
            assert_eq!(v["status"], "incomplete", "{v}");
            assert_eq!(v["exit_code"], 2, "{v}");
            let unread = v["clusters"][0]["unreadable"].to_string();
            assert!(unread.contains(&format!("\"{kind}\"")), "{v}");
            assert!(v["clusters"][0]["incomplete"].is_string(), "{v}");
        }
        "junit" => {
            assert!(out.contains("<error type=\"NotChecked\""), "{out}");
            assert!(out.contains(kind), "{out}");
        }
        _ => {
            assert!(
                out.contains("Incomplete:") && out.contains(kind),
                "{format}: {out}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_pods_make_no_absence_findings_and_exit_2_when_nothing_fails() {
    // Pods forbidden on a healthy cluster: nothing may be called healthy, and no Service may be
    // said to select no pod.
    let tc = forbidding("healthy", &["pods"]).await;
    for format in FORMATS {
        let o = health_in(&tc, format, &["-n", "web"]).await;
        says_not_checked(format, &o, "pods");
        let out = stdout(&o);
        for false_claim in ["SelectorMismatch", "matches no pod", "SelectsNoPods"] {
            assert!(!out.contains(false_claim), "{format}: {}", explain(&o));
        }
    }
    // On demo, what was checked (the stuck rollout, from the Deployment's own status) still
    // fails: exit 1, the gap still named, and still no Service "matching no pod".
    let tc = forbidding("demo", &["pods"]).await;
    for format in FORMATS {
        let o = health_in(&tc, format, &["-n", "shop"]).await;
        assert_eq!(code(&o), 1, "{format}: {}", explain(&o));
        let out = stdout(&o);
        assert!(!out.contains("SelectorMismatch"), "{format}: {out}");
        assert!(!out.contains("matches no pod"), "{format}: {out}");
        assert!(out.contains("pods"), "{format}: {out}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_list_forbidden_is_an_error_never_healthy() {
    let tc = forbidding("demo", &[]).await;
    for format in FORMATS {
        let o = health_in(&tc, format, &["-n", "shop"]).await;
        assert_eq!(code(&o), 2, "{format}: {}", explain(&o));
        assert!(
            !stdout(&o).contains("No problems found"),
            "{format}: {}",
            explain(&o)
        );
        assert!(
            stdout(&o).contains("forbidden"),
            "{format}: {}",
            explain(&o)
        );
    }
    // A question about an object must not answer "nothing named backend" (or "none") when
    // nothing could be listed.
    for q in ["describe backend", "is backend healthy", "logs of backend"] {
        let mut c = tc.kai();
        c.args(["-n", "shop", q]);
        let o = run(c, None).await;
        let all = format!("{}{}", stdout(&o), kai_tests::stderr(&o));
        assert_ne!(code(&o), 0, "{q}: {}", explain(&o));
        assert!(all.contains("forbidden"), "{q}: {}", explain(&o));
        assert!(!all.contains("nothing named"), "{q}: {}", explain(&o));
        assert!(!all.contains(": none."), "{q}: {}", explain(&o));
    }
}

/// A scenario where a ServiceAccount has the `view` ClusterRole in namespace `web` only.
const VIEWER: &str = r#"
apiVersion: sandbox.kai.dev/v1
kind: Settings
metadata: {name: viewer}
spec: {namespace: web, age: 1d}
---
apiVersion: v1
kind: Namespace
metadata: {name: web}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx:1.27}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: ci, namespace: web}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ci-view, namespace: web}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: ServiceAccount, name: ci, namespace: web}]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_viewer_is_told_what_it_could_not_read() {
    let scenario = Scenario::from_yaml("viewer", VIEWER).unwrap();
    let tc = TestCluster::start_with(scenario, SandboxOptions::default()).await;
    tc.sandbox
        .write_kubeconfig_as(&tc.kubeconfig, &Subject::service_account("web", "ci"))
        .unwrap();
    // The view role reads the namespace's workloads, not nodes or other cluster-scoped kinds.
    for format in FORMATS {
        let o = health_in(&tc, format, &["-n", "web"]).await;
        says_not_checked(format, &o, "nodes");
    }
    let o = health_in(&tc, "json", &["-n", "web"]).await;
    let v = json_of(&o);
    let unread: Vec<String> = v["clusters"][0]["unreadable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    assert!(!unread.contains(&"pods".to_string()), "{v}");
    assert!(
        v["clusters"][0]["checked"]["pods"].as_u64() >= Some(1),
        "{v}"
    );
    // Accepting exactly those gaps (kubectl short names work too) lets a healthy namespace pass.
    let mut accepted = unread.join(",");
    accepted = accepted.replace("nodes", "no");
    let o = health(&tc, &["-n", "web", "--allow-unchecked", &accepted]).await;
    assert_eq!(code(&o), 0, "{}", explain(&o));
    assert!(stdout(&o).contains("No problems found"), "{}", explain(&o));
    assert!(stdout(&o).contains("Not checked: nodes"), "{}", explain(&o));
    // A namespace it may not read at all is an error.
    let o = health(&tc, &["-n", "default"]).await;
    assert_eq!(code(&o), 2, "{}", explain(&o));
    assert!(!stdout(&o).contains("No problems found"), "{}", explain(&o));
}

/// A Deployment whose container port is a string, written straight into the sandbox's store
/// (as an API server of another version, or a broken conversion, could leave it): the typed
/// client cannot decode it, so deployments are unreadable. (A scenario file with it is refused
/// when loaded, as the API server refuses such a body.)
fn malformed_deployment() -> Value {
    serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                    "ports": [{"containerPort": "http"}]}]}}}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_object_is_not_checked_never_healthy() {
    let scenario = Scenario::from_yaml("viewer", VIEWER).unwrap();
    let tc = TestCluster::start_with(scenario, kai_tests::manual_clock()).await;
    {
        let rt = kai_sandbox::resources::by_plural("apps", "deployments").unwrap();
        let world = tc.sandbox.world();
        let mut w = world.lock().unwrap();
        w.store.delete(rt, "web", "web").ok();
        w.store.create(rt, malformed_deployment()).unwrap();
    }
    for format in FORMATS {
        let o = health_in(&tc, format, &["-n", "web"]).await;
        says_not_checked(format, &o, "deployments");
    }
    // The scenario loader refuses the same object in one line.
    let text = format!(
        "apiVersion: v1\nkind: Namespace\nmetadata: {{name: web}}\n---\n{}",
        serde_json::to_string(&malformed_deployment()).unwrap()
    );
    let e = Scenario::from_yaml("bad.yaml", &text)
        .unwrap_err()
        .to_string();
    assert!(e.contains("Deployment web") && !e.contains('\n'), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_selector_or_namespace_matching_nothing_says_so() {
    let tc = TestCluster::start("healthy").await;
    for format in FORMATS {
        let o = health_in(&tc, format, &["-n", "web", "-l", "app=typo"]).await;
        assert_eq!(code(&o), 2, "{format}: {}", explain(&o));
        let out = stdout(&o);
        assert!(!out.contains("No problems found"), "{format}: {out}");
        match format {
            "json" => {
                let v = json_of(&o);
                assert_eq!(v["status"], "incomplete", "{v}");
                assert!(
                    v["clusters"][0]["incomplete"]
                        .as_str()
                        .unwrap()
                        .contains("selector app=typo matches no pod"),
                    "{v}"
                );
            }
            "junit" => assert!(out.contains("NothingToCheck"), "{out}"),
            _ => assert!(
                out.contains("Nothing to check: selector app=typo matches no pod"),
                "{format}: {out}"
            ),
        }
    }
    // The selector that does match is checked as before.
    let o = health(&tc, &["-n", "web", "-l", "app=web"]).await;
    assert_eq!(code(&o), 0, "{}", explain(&o));
    // PVCs are read for the whole namespace whatever the selector: demo's shop has one, and a
    // selector that matches nothing there still says so.
    let demo = TestCluster::start("demo").await;
    let o = health(&demo, &["-n", "shop", "-l", "app=typo"]).await;
    assert_eq!(code(&o), 2, "{}", explain(&o));
    assert!(
        stdout(&o).contains("Nothing to check: selector app=typo"),
        "{}",
        explain(&o)
    );
    // A namespace that exists but holds nothing.
    let o = health(&tc, &["-n", "default"]).await;
    assert_eq!(code(&o), 2, "{}", explain(&o));
    assert!(
        stdout(&o)
            .contains("Nothing to check: namespace default has no pods, workloads or services"),
        "{}",
        explain(&o)
    );
}
