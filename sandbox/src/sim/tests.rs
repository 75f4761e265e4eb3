//! Scenario tests: every built-in loaded into a store with a manual clock, and the stories
//! they tell (crash, rollback, fix, scale, delete) played through the simulator.

use std::sync::Arc;

use jiff::SignedDuration;
use serde_json::{Value, json};

use super::Simulator;
use super::util::{Kinds, arr, name, s};
use crate::clock::Clock;
use crate::scenario::Scenario;
use crate::store::Store;

fn load_yaml(scenario: &Scenario) -> (Store, Simulator) {
    let clock = Clock::manual("2026-03-01T12:00:00Z".parse().unwrap());
    let mut store = Store::new(clock);
    let mut sim = Simulator::new(scenario);
    sim.load(&mut store, scenario).unwrap();
    (store, sim)
}

fn load(name: &str) -> (Store, Simulator) {
    load_yaml(&Scenario::builtin(name).unwrap())
}

fn advance(store: &mut Store, sim: &mut Simulator, secs: i64) {
    store.clock().advance(SignedDuration::from_secs(secs));
    sim.reconcile(store);
}

fn pods(store: &Store, ns: &str, prefix: &str) -> Vec<Arc<Value>> {
    store
        .list(Kinds::pods(), Some(ns))
        .into_iter()
        .filter(|p| name(p).starts_with(prefix))
        .collect()
}

fn ready(p: &Value) -> bool {
    arr(p, "/status/conditions")
        .iter()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

fn waiting(p: &Value) -> &str {
    s(p, "/status/containerStatuses/0/state/waiting/reason")
}

fn events_for(store: &Store, ns: &str, obj: &str) -> Vec<Arc<Value>> {
    store
        .list(Kinds::events(), Some(ns))
        .into_iter()
        .filter(|e| e["involvedObject"]["name"] == obj)
        .collect()
}

fn condition<'a>(obj: &'a Value, ty: &str) -> &'a Value {
    arr(obj, "/status/conditions")
        .iter()
        .find(|c| c["type"] == ty)
        .unwrap_or(&Value::Null)
}

fn ready_addresses(store: &Store, ns: &str, svc: &str) -> usize {
    store
        .get(Kinds::endpoints(), ns, svc)
        .map(|e| {
            arr(&e, "/subsets")
                .iter()
                .map(|ss| arr(ss, "/addresses").len())
                .sum()
        })
        .unwrap_or(0)
}

#[test]
fn demo_backend_crash_loops_since_its_latest_rollout() {
    let (store, sim) = load("demo");
    let backend = pods(&store, "shop", "backend-");
    assert_eq!(backend.len(), 2, "{backend:?}");
    for p in &backend {
        assert_eq!(waiting(p), "CrashLoopBackOff", "{p}");
        let cs = &p["status"]["containerStatuses"][0];
        assert!(cs["restartCount"].as_i64().unwrap() >= 5, "{cs}");
        assert_eq!(cs["lastState"]["terminated"]["exitCode"], 1);
        assert_eq!(cs["lastState"]["terminated"]["reason"], "Error");
        assert_eq!(cs["image"], "shop/backend:1.4.0");
        assert_eq!(p["status"]["phase"], "Running");
        let prev = sim.logs(&store, "shop", name(p), None, true).unwrap();
        assert_eq!(prev.last().unwrap().text, "KeyError: 'DATABASE_URL'");
        let cur = sim
            .logs(&store, "shop", name(p), Some("backend"), false)
            .unwrap();
        assert!(cur.iter().any(|l| l.text.contains("DATABASE_URL")));
        let evs = events_for(&store, "shop", name(p));
        let backoff = evs
            .iter()
            .find(|e| e["reason"] == "BackOff")
            .expect("BackOff event");
        assert!(backoff["count"].as_i64().unwrap() > 1);
        assert_eq!(backoff["type"], "Warning");
        assert!(
            backoff["message"]
                .as_str()
                .unwrap()
                .starts_with("Back-off restarting failed container backend in pod backend-")
        );
        assert!(evs.iter().any(|e| {
            e["reason"] == "Scheduled"
                && e["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("Successfully assigned shop/backend-")
        }));
    }
    // Revision history: the old ReplicaSet is kept at 0 replicas.
    let mut rss: Vec<(String, i64)> = store
        .list(Kinds::replicasets(), Some("shop"))
        .iter()
        .filter(|r| name(r).starts_with("backend-"))
        .map(|r| {
            (
                s(
                    r,
                    "/metadata/annotations/deployment.kubernetes.io~1revision",
                )
                .to_string(),
                r["spec"]["replicas"].as_i64().unwrap(),
            )
        })
        .collect();
    rss.sort();
    assert_eq!(rss, vec![("1".to_string(), 0), ("2".to_string(), 2)]);
    let d = store.get(Kinds::deployments(), "shop", "backend").unwrap();
    assert_eq!(
        condition(&d, "Progressing")["reason"],
        "ProgressDeadlineExceeded"
    );
    assert_eq!(condition(&d, "Available")["status"], "False");
    assert_eq!(d["status"]["unavailableReplicas"], 2);
    // The Service has no ready endpoints; frontend says so in its logs.
    assert_eq!(ready_addresses(&store, "shop", "backend"), 0);
    let ep = store.get(Kinds::endpoints(), "shop", "backend").unwrap();
    assert_eq!(arr(&ep, "/subsets/0/notReadyAddresses").len(), 2);
    let front = pods(&store, "shop", "frontend-");
    assert_eq!(front.len(), 2);
    assert!(front.iter().all(|p| ready(p)));
    let logs = sim
        .logs(&store, "shop", name(&front[0]), None, false)
        .unwrap();
    let text: Vec<&str> = logs.iter().map(|l| l.text.as_str()).collect();
    assert!(text.iter().any(|l| l.contains(" 502 ")), "{text:?}");
    assert!(
        text.iter()
            .any(|l| l.contains("eyJhbGciOiJIUzI1NiJ9.CANARY.sig"))
    );
    assert!(
        text.iter()
            .any(|l| l.contains("postgres://app:pw-CANARY-55d1@db:5432/shop"))
    );
    assert_eq!(ready_addresses(&store, "shop", "frontend"), 2);
    // The database is a StatefulSet with a bound claim.
    let db = store.get(Kinds::pods(), "shop", "database-0").unwrap();
    assert!(ready(&db), "{db}");
    let pvc = store.get(Kinds::pvcs(), "shop", "data-database-0").unwrap();
    assert_eq!(pvc["status"]["phase"], "Bound");
    assert_eq!(ready_addresses(&store, "shop", "database"), 1);
    // Canaries for the secret-masking tests.
    let secret = store
        .get(Kinds::secrets(), "shop", "backend-secrets")
        .unwrap();
    assert_eq!(secret["data"]["api-key"], "UzNDUjNULUNBTkFSWS03ZjNhOWM=");
    let fd = store.get(Kinds::deployments(), "shop", "frontend").unwrap();
    assert_eq!(
        fd["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"],
        "tok-CANARY-91b2e4"
    );
}

#[test]
fn demo_rollback_makes_backend_healthy() {
    let (mut store, mut sim) = load("demo");
    // What `kubectl rollout undo` does: copy revision 1's template into the deployment.
    let old = store
        .list(Kinds::replicasets(), Some("shop"))
        .into_iter()
        .find(|r| {
            s(
                r,
                "/metadata/annotations/deployment.kubernetes.io~1revision",
            ) == "1"
        })
        .unwrap();
    let mut template = old["spec"]["template"].clone();
    template["metadata"]["labels"]
        .as_object_mut()
        .unwrap()
        .remove("pod-template-hash");
    let mut d = (*store.get(Kinds::deployments(), "shop", "backend").unwrap()).clone();
    d["spec"]["template"] = template;
    store.update(Kinds::deployments(), d).unwrap();
    sim.reconcile(&mut store);
    for _ in 0..6 {
        advance(&mut store, &mut sim, 2);
    }
    let backend = pods(&store, "shop", "backend-");
    assert_eq!(backend.len(), 2, "{backend:?}");
    for p in &backend {
        assert!(ready(p), "{p}");
        assert_eq!(p["spec"]["containers"][0]["image"], "shop/backend:1.3.2");
        let logs = sim.logs(&store, "shop", name(p), None, false).unwrap();
        assert!(
            logs.iter()
                .any(|l| l.text.contains("connection pool ready"))
        );
    }
    assert_eq!(ready_addresses(&store, "shop", "backend"), 2);
    let d = store.get(Kinds::deployments(), "shop", "backend").unwrap();
    assert_eq!(
        s(
            &d,
            "/metadata/annotations/deployment.kubernetes.io~1revision"
        ),
        "3"
    );
    assert_eq!(
        condition(&d, "Progressing")["reason"],
        "NewReplicaSetAvailable"
    );
    assert_eq!(condition(&d, "Available")["status"], "True");
    assert_eq!(d["status"]["updatedReplicas"], 2);
    assert_eq!(d["status"]["availableReplicas"], 2);
    assert!(d["status"].get("unavailableReplicas").is_none());
    // frontend's log tells the story: 200s, 502s since the rollout, 200s again.
    advance(&mut store, &mut sim, 60);
    let front = pods(&store, "shop", "frontend-");
    let logs = sim
        .logs(&store, "shop", name(&front[0]), None, false)
        .unwrap();
    let first_502 = logs.iter().position(|l| l.text.contains(" 502 ")).unwrap();
    let last_502 = logs.iter().rposition(|l| l.text.contains(" 502 ")).unwrap();
    assert!(logs[..first_502].iter().any(|l| l.text.contains(" 200 ")));
    assert!(logs[last_502..].iter().any(|l| l.text.contains(" 200 ")));
    assert!(logs.windows(2).all(|w| w[0].time <= w[1].time));
    assert!(
        events_for(&store, "shop", "backend")
            .iter()
            .any(|e| e["reason"] == "DeploymentRollback")
    );
}

#[test]
fn loading_is_deterministic() {
    let restarts = |store: &Store| -> Vec<(String, i64)> {
        pods(store, "shop", "backend-")
            .iter()
            .map(|p| {
                (
                    name(p).to_string(),
                    p["status"]["containerStatuses"][0]["restartCount"]
                        .as_i64()
                        .unwrap(),
                )
            })
            .collect()
    };
    let (a, _) = load("demo");
    let (b, _) = load("demo");
    assert_eq!(restarts(&a), restarts(&b));
}

#[test]
fn healthy_has_nothing_to_flag() {
    let (store, _) = load("healthy");
    let all = store.list(Kinds::pods(), None);
    assert_eq!(all.len(), 11);
    for p in &all {
        let ok = ready(p) || s(p, "/status/phase") == "Succeeded";
        assert!(ok, "{}: {}", name(p), p["status"]);
        assert_eq!(
            p["status"]["containerStatuses"][0]["restartCount"],
            0,
            "{}",
            name(p)
        );
    }
    for d in store.list(Kinds::deployments(), None) {
        assert_eq!(condition(&d, "Available")["status"], "True", "{}", name(&d));
        assert_eq!(
            condition(&d, "Progressing")["reason"],
            "NewReplicaSetAvailable"
        );
    }
    for c in store.list(Kinds::pvcs(), None) {
        assert_eq!(c["status"]["phase"], "Bound", "{}", name(&c));
    }
    let ds = store
        .get(Kinds::daemonsets(), "ops", "node-exporter")
        .unwrap();
    assert_eq!(ds["status"]["numberReady"], 3);
    assert_eq!(ds["status"]["desiredNumberScheduled"], 3);
    let sts = store.get(Kinds::statefulsets(), "data", "redis").unwrap();
    assert_eq!(sts["status"]["readyReplicas"], 2);
    let job = store.get(Kinds::jobs(), "ops", "db-migrate").unwrap();
    assert_eq!(condition(&job, "Complete")["status"], "True");
    assert_eq!(job["status"]["succeeded"], 1);
    for svc in ["api", "web"] {
        assert!(ready_addresses(&store, "web", svc) >= 2, "{svc}");
    }
    let warnings: Vec<_> = store
        .list(Kinds::events(), None)
        .into_iter()
        .filter(|e| e["type"] == "Warning")
        .collect();
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn crashloop_and_oom() {
    let (store, sim) = load("crashloop");
    let p = &pods(&store, "apps", "worker-")[0];
    assert_eq!(waiting(p), "CrashLoopBackOff");
    let msg = s(p, "/status/containerStatuses/0/state/waiting/message");
    assert!(
        msg.starts_with("back-off 5m0s restarting failed container=worker pod=worker-"),
        "{msg}"
    );
    let prev = sim.logs(&store, "apps", name(p), None, true).unwrap();
    assert!(prev.last().unwrap().text.contains("no such host"));

    let (store, _) = load("oom");
    let p = &pods(&store, "apps", "cache-")[0];
    let cs = &p["status"]["containerStatuses"][0];
    assert_eq!(cs["lastState"]["terminated"]["reason"], "OOMKilled");
    assert_eq!(cs["lastState"]["terminated"]["exitCode"], 137);
    assert!(cs["restartCount"].as_i64().unwrap() > 0);
}

#[test]
fn image_pull_failures() {
    let (mut store, mut sim) = load("image-pull");
    let p = pods(&store, "apps", "web-")[0].clone();
    assert!(
        matches!(waiting(&p), "ImagePullBackOff" | "ErrImagePull"),
        "{}",
        p["status"]
    );
    let evs = events_for(&store, "apps", name(&p));
    let failed = evs
        .iter()
        .find(|e| {
            e["reason"] == "Failed"
                && e["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("Failed to pull image")
        })
        .unwrap();
    assert!(failed["message"].as_str().unwrap().contains(
        "rpc error: code = NotFound desc = failed to pull and unpack image \"docker.io/library/nginx:1.27.99\""
    ));
    assert!(
        evs.iter().any(|e| e["reason"] == "BackOff"
            && e["message"] == "Back-off pulling image \"nginx:1.27.99\"")
    );
    let err = sim.logs(&store, "apps", name(&p), None, false).unwrap_err();
    assert_eq!(err.code, 400);
    assert!(
        err.message
            .ends_with("is waiting to start: trying and failing to pull image"),
        "{}",
        err.message
    );
    // Right after a pull attempt the kubelet reports ErrImagePull.
    let mut seen = std::collections::HashSet::new();
    for _ in 0..60 {
        advance(&mut store, &mut sim, 5);
        let p = pods(&store, "apps", "web-")[0].clone();
        seen.insert(waiting(&p).to_string());
    }
    assert!(
        seen.contains("ErrImagePull") && seen.contains("ImagePullBackOff"),
        "{seen:?}"
    );
}

#[test]
fn missing_config_and_its_fix() {
    let (mut store, mut sim) = load("missing-config");
    let api = pods(&store, "apps", "api-")[0].clone();
    assert_eq!(waiting(&api), "CreateContainerConfigError");
    assert_eq!(
        s(&api, "/status/containerStatuses/0/state/waiting/message"),
        "couldn't find key db-url in Secret apps/api-db"
    );
    assert_eq!(api["status"]["phase"], "Pending");
    let worker = pods(&store, "apps", "worker-")[0].clone();
    assert_eq!(
        s(&worker, "/status/containerStatuses/0/state/waiting/message"),
        "configmap \"worker-config\" not found"
    );
    assert!(
        events_for(&store, "apps", name(&worker))
            .iter()
            .any(|e| e["message"] == "Error: configmap \"worker-config\" not found")
    );
    let reporter = pods(&store, "apps", "reporter-")[0].clone();
    assert_eq!(waiting(&reporter), "ContainerCreating");
    let mount = events_for(&store, "apps", name(&reporter))
        .into_iter()
        .find(|e| e["reason"] == "FailedMount")
        .unwrap();
    assert_eq!(
        mount["message"],
        "MountVolume.SetUp failed for volume \"templates\" : configmap \"reporter-templates\" not found"
    );
    assert!(mount["count"].as_i64().unwrap() > 1);
    // Fix: add the key; the container starts.
    let mut secret = (*store.get(Kinds::secrets(), "apps", "api-db").unwrap()).clone();
    secret["stringData"]["db-url"] = json!("postgres://api@db:5432/api");
    store.update(Kinds::secrets(), secret).unwrap();
    sim.reconcile(&mut store);
    advance(&mut store, &mut sim, 2);
    let api = pods(&store, "apps", "api-")[0].clone();
    assert!(ready(&api), "{}", api["status"]);
    assert_eq!(api["status"]["phase"], "Running");
}

#[test]
fn unschedulable_by_resources_and_selector() {
    let (store, _) = load("unschedulable-resources");
    let p = &pods(&store, "ml", "trainer-")[0];
    let c = condition(p, "PodScheduled");
    assert_eq!(c["status"], "False");
    assert_eq!(c["reason"], "Unschedulable");
    assert_eq!(
        c["message"],
        "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."
    );
    let ev = events_for(&store, "ml", name(p))
        .into_iter()
        .find(|e| e["reason"] == "FailedScheduling")
        .unwrap();
    assert_eq!(ev["message"], c["message"]);
    assert_eq!(ev["reportingComponent"], "default-scheduler");
    assert!(ev["eventTime"].is_string());
    assert!(ev["series"]["count"].as_i64().unwrap() >= 2);

    let (store, _) = load("unschedulable-selector");
    let p = &pods(&store, "ml", "inference-")[0];
    assert_eq!(
        condition(p, "PodScheduled")["message"],
        "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
    );
}

#[test]
fn failing_readiness_and_service_selector() {
    let (store, _) = load("readiness");
    let ps = pods(&store, "apps", "checkout-");
    assert_eq!(ps.len(), 2);
    for p in &ps {
        assert_eq!(p["status"]["phase"], "Running");
        assert!(!ready(p));
        assert!(p["status"]["containerStatuses"][0]["state"]["running"].is_object());
        let ev = events_for(&store, "apps", name(p))
            .into_iter()
            .find(|e| e["reason"] == "Unhealthy")
            .unwrap();
        assert_eq!(
            ev["message"],
            "Readiness probe failed: HTTP probe failed with statuscode: 503"
        );
        assert!(ev["count"].as_i64().unwrap() > 10);
    }
    assert_eq!(ready_addresses(&store, "apps", "checkout"), 0);
    let ep = store.get(Kinds::endpoints(), "apps", "checkout").unwrap();
    assert_eq!(arr(&ep, "/subsets/0/notReadyAddresses").len(), 2);

    let (store, _) = load("service-selector");
    assert!(pods(&store, "apps", "payments-").iter().all(|p| ready(p)));
    let ep = store.get(Kinds::endpoints(), "apps", "payments").unwrap();
    assert!(ep.get("subsets").is_none(), "{ep}");
    let slice = store
        .list(Kinds::slices(), Some("apps"))
        .into_iter()
        .find(|e| e["metadata"]["labels"]["kubernetes.io/service-name"] == "payments")
        .unwrap();
    assert_eq!(arr(&slice, "/endpoints").len(), 0);
}

#[test]
fn pvc_without_storage_class_and_node_not_ready() {
    let (store, _) = load("pvc-no-storageclass");
    let pvc = store.get(Kinds::pvcs(), "apps", "uploads").unwrap();
    assert_eq!(pvc["status"]["phase"], "Pending");
    let ev = events_for(&store, "apps", "uploads")
        .into_iter()
        .find(|e| e["reason"] == "ProvisioningFailed")
        .unwrap();
    assert_eq!(
        ev["message"],
        "storageclass.storage.k8s.io \"fast-ssd\" not found"
    );
    let p = &pods(&store, "apps", "uploader-")[0];
    assert!(
        condition(p, "PodScheduled")["message"]
            .as_str()
            .unwrap()
            .contains("pod has unbound immediate PersistentVolumeClaims")
    );

    let (store, sim) = load("node-not-ready");
    let n3 = store.get(Kinds::nodes(), "", "node-3").unwrap();
    assert_eq!(condition(&n3, "Ready")["status"], "Unknown");
    assert_eq!(
        condition(&n3, "Ready")["message"],
        "Kubelet stopped posting node status."
    );
    assert_eq!(arr(&n3, "/spec/taints").len(), 2);
    let n1 = store.get(Kinds::nodes(), "", "node-1").unwrap();
    assert_eq!(condition(&n1, "Ready")["status"], "True");
    let web = pods(&store, "apps", "web-");
    assert_eq!(web.len(), 3, "{web:?}");
    let lost: Vec<_> = web
        .iter()
        .filter(|p| s(p, "/spec/nodeName") == "node-3")
        .collect();
    assert_eq!(lost.len(), 1);
    assert_eq!(condition(lost[0], "Ready")["status"], "False");
    let lost_name = name(lost[0]).to_string();
    let d = store.get(Kinds::deployments(), "apps", "web").unwrap();
    assert_eq!(d["status"]["availableReplicas"], 2);
    // Five minutes after the taint, the pod is evicted and replaced elsewhere.
    let (mut store, mut sim) = (store, sim);
    advance(&mut store, &mut sim, 120);
    advance(&mut store, &mut sim, 2);
    let web = pods(&store, "apps", "web-");
    assert_eq!(web.len(), 3);
    assert!(
        web.iter()
            .all(|p| ready(p) && s(p, "/spec/nodeName") != "node-3")
    );
    assert!(
        events_for(&store, "apps", &lost_name)
            .iter()
            .any(|e| e["reason"] == "TaintManagerEviction")
    );
}

#[test]
fn failing_job_exceeds_its_backoff_limit() {
    let (store, sim) = load("failing-job");
    let job = store.get(Kinds::jobs(), "batch", "nightly-report").unwrap();
    let failed = condition(&job, "Failed");
    assert_eq!(failed["status"], "True", "{}", job["status"]);
    assert_eq!(failed["reason"], "BackoffLimitExceeded");
    assert_eq!(job["status"]["failed"], 3);
    let ps = pods(&store, "batch", "nightly-report-");
    assert_eq!(ps.len(), 3);
    for p in &ps {
        assert_eq!(p["status"]["phase"], "Failed");
        assert_eq!(
            p["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"],
            1
        );
        let logs = sim.logs(&store, "batch", name(p), None, false).unwrap();
        assert!(logs.last().unwrap().text.contains("timed out"));
    }
}

#[test]
fn scale_delete_and_rolling_update() {
    let (mut store, mut sim) = load("demo");
    let mut d = (*store.get(Kinds::deployments(), "shop", "frontend").unwrap()).clone();
    d["spec"]["replicas"] = json!(3);
    store.update(Kinds::deployments(), d).unwrap();
    sim.reconcile(&mut store);
    advance(&mut store, &mut sim, 3);
    let front = pods(&store, "shop", "frontend-");
    assert_eq!(front.len(), 3);
    assert!(front.iter().all(|p| ready(p)));
    // A deleted pod is replaced.
    let victim = name(&front[0]).to_string();
    store.delete(Kinds::pods(), "shop", &victim).unwrap();
    sim.reconcile(&mut store);
    let front = pods(&store, "shop", "frontend-");
    assert_eq!(front.len(), 3);
    assert!(front.iter().all(|p| name(p) != victim));
    // A template change rolls out a new ReplicaSet.
    let mut d = (*store.get(Kinds::deployments(), "shop", "frontend").unwrap()).clone();
    d["spec"]["template"]["metadata"]["annotations"] =
        json!({"kubectl.kubernetes.io/restartedAt": "2026-03-01T12:00:00Z"});
    store.update(Kinds::deployments(), d).unwrap();
    sim.reconcile(&mut store);
    for _ in 0..20 {
        advance(&mut store, &mut sim, 2);
    }
    let d = store.get(Kinds::deployments(), "shop", "frontend").unwrap();
    assert_eq!(
        condition(&d, "Progressing")["reason"],
        "NewReplicaSetAvailable",
        "{}",
        d["status"]
    );
    assert_eq!(d["status"]["updatedReplicas"], 3);
    assert_eq!(d["status"]["replicas"], 3);
    assert_eq!(
        d["status"]["observedGeneration"],
        d["metadata"]["generation"]
    );
    let front = pods(&store, "shop", "frontend-");
    assert_eq!(front.len(), 3);
    assert!(
        front
            .iter()
            .all(|p| p["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"].is_string())
    );
    // Deleting the deployment takes its ReplicaSets and pods with it.
    store
        .delete(Kinds::deployments(), "shop", "frontend")
        .unwrap();
    sim.reconcile(&mut store);
    assert!(pods(&store, "shop", "frontend-").is_empty());
    assert!(
        store
            .list(Kinds::replicasets(), Some("shop"))
            .iter()
            .all(|r| !name(r).starts_with("frontend-"))
    );
}

#[test]
fn reconcile_is_a_no_op_when_nothing_is_due() {
    let (mut store, mut sim) = load("healthy");
    sim.reconcile(&mut store);
    let rv = store.resource_version();
    sim.reconcile(&mut store);
    store.clock().advance(SignedDuration::from_millis(500));
    sim.reconcile(&mut store);
    assert_eq!(store.resource_version(), rv);
}

#[test]
fn log_errors_are_worded_like_the_api_server() {
    let yaml = r#"
apiVersion: v1
kind: Pod
metadata: {name: two, namespace: default}
spec:
  initContainers: [{name: setup, image: busybox:1.36}]
  containers: [{name: a, image: busybox:1.36}, {name: b, image: busybox:1.36}]
"#;
    let sc = Scenario::from_yaml("t.yaml", yaml).unwrap();
    let (mut store, mut sim) = load_yaml(&sc);
    advance(&mut store, &mut sim, 10);
    let e = sim.logs(&store, "default", "two", None, false).unwrap_err();
    assert_eq!(
        e.message,
        "a container name must be specified for pod two, choose one of: [a b] or one of the init containers: [setup]"
    );
    let e = sim
        .logs(&store, "default", "two", Some("a"), true)
        .unwrap_err();
    assert_eq!(
        e.message,
        "previous terminated container \"a\" in pod \"two\" not found"
    );
    let e = sim
        .logs(&store, "default", "two", Some("zzz"), false)
        .unwrap_err();
    assert_eq!(e.message, "container zzz is not valid for pod two");
    assert_eq!(
        sim.logs(&store, "default", "nope", None, false)
            .unwrap_err()
            .code,
        404
    );
    assert!(
        sim.logs(&store, "default", "two", Some("a"), false)
            .unwrap()
            .is_empty()
    );
    let p = store.get(Kinds::pods(), "default", "two").unwrap();
    assert_eq!(
        p["status"]["initContainerStatuses"][0]["state"]["terminated"]["reason"],
        "Completed"
    );
    assert!(ready(&p), "{}", p["status"]);
}

#[test]
fn frozen_objects_are_served_as_captured() {
    let yaml = r#"
apiVersion: v1
kind: Pod
metadata: {name: captured, namespace: default, uid: 1111-old}
spec:
  nodeName: node-1
  containers: [{name: a, image: busybox:1.36}]
status:
  phase: Running
  containerStatuses:
  - {name: a, ready: false, restartCount: 4, state: {waiting: {reason: CrashLoopBackOff}}}
"#;
    let sc = Scenario::from_yaml("t.yaml", yaml).unwrap();
    let (mut store, mut sim) = load_yaml(&sc);
    let before = store.get(Kinds::pods(), "default", "captured").unwrap();
    advance(&mut store, &mut sim, 600);
    let after = store.get(Kinds::pods(), "default", "captured").unwrap();
    assert_eq!(before, after);
    assert_eq!(after["status"]["containerStatuses"][0]["restartCount"], 4);
}

#[test]
fn generated_cluster_loads_frozen_and_idles_cheaply() {
    let sc = Scenario::generated(1000);
    let (mut store, mut sim) = load_yaml(&sc);
    assert_eq!(store.count(Kinds::pods()), 1000);
    assert!(store.count(Kinds::nodes()) >= 3);
    let rv = store.resource_version();
    store.clock().advance(SignedDuration::from_secs(1));
    sim.reconcile(&mut store);
    assert_eq!(store.resource_version(), rv);
    let with_endpoints = store
        .list(Kinds::endpoints(), None)
        .iter()
        .filter(|e| !arr(e, "/subsets").is_empty())
        .count();
    assert!(with_endpoints > 100);
}

/// The example of SCENARIOS.md loads and behaves as the document says.
#[test]
fn documented_example_works() {
    let doc = include_str!("../../SCENARIOS.md");
    let example = doc
        .split("## Example")
        .nth(1)
        .and_then(|s| s.split("```yaml\n").nth(1))
        .and_then(|s| s.split("```").next())
        .unwrap();
    let sc = Scenario::from_yaml("example.yaml", example).unwrap();
    let (mut store, mut sim) = load_yaml(&sc);
    let api = pods(&store, "team", "api-");
    assert_eq!(api.len(), 2);
    assert!(api.iter().all(|p| waiting(p) == "CrashLoopBackOff"));
    let mut cm = (*store
        .get(Kinds::configmaps(), "team", "api-config")
        .unwrap())
    .clone();
    cm["data"]["SCHEMA"] = json!("v2");
    store.update(Kinds::configmaps(), cm).unwrap();
    sim.reconcile(&mut store);
    advance(&mut store, &mut sim, 5);
    let api = pods(&store, "team", "api-");
    assert!(
        api.iter().all(|p| ready(p)),
        "{:?}",
        api.iter().map(|p| &p["status"]).collect::<Vec<_>>()
    );
    let logs = sim
        .logs(&store, "team", name(&api[0]), None, false)
        .unwrap();
    assert_eq!(logs[0].text, "api 2.0.0 ready on :8080");
    let prev = sim.logs(&store, "team", name(&api[0]), None, true).unwrap();
    assert_eq!(
        prev[0].text,
        "fatal: database schema v2 required, SCHEMA=v1"
    );
}

#[test]
fn malformed_scenario_error_is_one_line_with_document_and_field() {
    let yaml = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n---\napiVersion: sandbox.kai.dev/v1\nkind: Behavior\nspec:\n  selector: {}\n  exitCode: x\n";
    let e = Scenario::from_yaml("demo.yaml", yaml)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "demo.yaml: document 3: Behavior.spec.exitCode: invalid type: string \"x\", expected i32"
    );
}

#[test]
fn old_events_expire_and_stay_gone() {
    let (store, _) = load("demo");
    let now = store.clock().now();
    for e in store.list(Kinds::events(), None) {
        let last = e["lastTimestamp"]
            .as_str()
            .or(e["series"]["lastObservedTime"].as_str())
            .or(e["eventTime"].as_str())
            .unwrap();
        let last: jiff::Timestamp = last.parse().unwrap();
        assert!(now.duration_since(last).as_secs_f64() <= 3660.0, "{e}");
    }
    // The crash loop's events are recent and stay.
    assert!(
        store
            .list(Kinds::events(), Some("shop"))
            .iter()
            .any(|e| e["reason"] == "BackOff")
    );
}

#[test]
fn failing_init_container_blocks_the_pod() {
    let yaml = r#"
apiVersion: sandbox.kai.dev/v1
kind: Settings
spec: {age: 10m}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: team}
spec:
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      initContainers: [{name: migrate, image: example/migrate:1}]
      containers: [{name: app, image: example/app:1}]
---
apiVersion: sandbox.kai.dev/v1
kind: Behavior
spec:
  selector: {matchLabels: {app: app}}
  container: migrate
  exitCode: 2
  logs: ["migration 0007 failed: relation \"orders\" already exists"]
"#;
    let sc = Scenario::from_yaml("init.yaml", yaml).unwrap();
    let (store, sim) = load_yaml(&sc);
    let p = &pods(&store, "team", "app-")[0];
    assert_eq!(p["status"]["phase"], "Pending");
    let init = &p["status"]["initContainerStatuses"][0];
    assert_eq!(init["state"]["waiting"]["reason"], "CrashLoopBackOff");
    assert_eq!(init["lastState"]["terminated"]["exitCode"], 2);
    assert!(init["restartCount"].as_i64().unwrap() > 3);
    assert_eq!(waiting(p), "PodInitializing");
    assert_eq!(
        condition(p, "Initialized")["reason"],
        "ContainersNotInitialized"
    );
    let logs = sim
        .logs(&store, "team", name(p), Some("migrate"), true)
        .unwrap();
    assert!(logs[0].text.contains("already exists"));
}

#[test]
fn more_failures_cover_the_rarer_patterns() {
    let (store, sim) = load("more-failures");
    let billing = &pods(&store, "ops", "billing-")[0];
    assert_eq!(billing["status"]["phase"], "Pending");
    assert_eq!(
        billing["status"]["initContainerStatuses"][0]["state"]["waiting"]["reason"],
        "CrashLoopBackOff"
    );
    let prev = sim
        .logs(&store, "ops", name(billing), Some("wait-for-db"), true)
        .unwrap();
    assert_eq!(prev[0].text, "nc: bad address 'billing-db'");
    // No exporter pod can be created: the service account is missing.
    assert!(pods(&store, "ops", "exporter-").is_empty());
    let rs = store
        .list(Kinds::replicasets(), Some("ops"))
        .into_iter()
        .find(|r| name(r).starts_with("exporter-"))
        .unwrap();
    let failure = condition(&rs, "ReplicaFailure");
    assert_eq!(failure["reason"], "FailedCreate");
    assert!(
        failure["message"]
            .as_str()
            .unwrap()
            .contains("serviceaccount \"exporter\" not found")
    );
    assert!(
        events_for(&store, "ops", name(&rs))
            .iter()
            .any(|e| e["reason"] == "FailedCreate")
    );
    let d = store.get(Kinds::deployments(), "ops", "exporter").unwrap();
    assert_eq!(condition(&d, "ReplicaFailure")["reason"], "FailedCreate");
    let evicted = store
        .get(Kinds::pods(), "ops", "reports-7f9c6d5b8-x2x9q")
        .unwrap();
    assert_eq!(evicted["status"]["reason"], "Evicted");
    assert!(pods(&store, "ops", "queue-0").iter().all(|p| ready(p)));
    assert!(
        store
            .get(Kinds::services(), "ops", "queue-headless")
            .is_none()
    );
    let sync = &pods(&store, "ops", "inventory-sync-")[0];
    let logs = sim.logs(&store, "ops", name(sync), None, false).unwrap();
    assert!(logs.iter().any(|l| l.text.contains("is forbidden")));
    // Adding the service account lets the pods be created.
    let (mut store, mut sim) = (store, sim);
    store
        .create(
            Kinds::serviceaccounts(),
            json!({"metadata": {"name": "exporter", "namespace": "ops"}}),
        )
        .unwrap();
    sim.reconcile(&mut store);
    advance(&mut store, &mut sim, 3);
    assert!(pods(&store, "ops", "exporter-").iter().all(|p| ready(p)));
    assert_eq!(pods(&store, "ops", "exporter-").len(), 1);
}

#[test]
fn load_errors_name_the_file_and_document() {
    let yaml = "apiVersion: sandbox.kai.dev/v1\nkind: Settings\nspec: {}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name}\n";
    let sc = Scenario::from_yaml("mine.yaml", yaml).unwrap();
    let clock = Clock::manual("2026-03-01T12:00:00Z".parse().unwrap());
    let mut store = Store::new(clock);
    let mut sim = Simulator::new(&sc);
    let e = sim.load(&mut store, &sc).unwrap_err().to_string();
    assert!(
        e.starts_with("mine.yaml: document 2: ConfigMap \"Bad_Name\" is invalid"),
        "{e}"
    );
}

#[test]
fn objects_without_a_namespace_go_to_the_settings_namespace() {
    let yaml = r#"
apiVersion: sandbox.kai.dev/v1
kind: Settings
spec: {namespace: shop}
---
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: from-helm}
data: {a: "1"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: pinned, namespace: other}
data: {a: "1"}
"#;
    let sc = Scenario::from_yaml("helm.yaml", yaml).unwrap();
    let (store, _) = load_yaml(&sc);
    let cms = crate::resources::by_plural("", "configmaps").unwrap();
    assert!(store.get(cms, "shop", "from-helm").is_some());
    assert!(store.get(cms, "default", "from-helm").is_none());
    assert!(
        store.get(cms, "other", "pinned").is_some(),
        "an explicit namespace is kept"
    );
}
