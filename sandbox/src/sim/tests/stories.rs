//! Stories played through the simulator: scaling, deleting, rolling updates, logs, frozen
//! objects, documented examples, event expiry, load errors.

use serde_json::json;

use super::*;
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
    // Loaded with their status, pods, deployments and replica sets are held only encoded.
    for k in [Kinds::pods(), Kinds::deployments(), Kinds::replicasets()] {
        assert!(store.list_trees(k, None).is_empty(), "{}", k.plural);
    }
    let crashing = store
        .list(Kinds::pods(), None)
        .iter()
        .filter(|p| p["status"]["containerStatuses"][0]["restartCount"] == 61)
        .count();
    assert!(crashing > 0 && crashing < 50, "{crashing}");
    // Owner references point at the owners' uids in the store.
    for p in store.list(Kinds::pods(), Some("team-001")) {
        let owner = &p["metadata"]["ownerReferences"][0];
        let rs = store
            .get(
                Kinds::replicasets(),
                "team-001",
                owner["name"].as_str().unwrap(),
            )
            .unwrap();
        assert_eq!(owner["uid"], rs["metadata"]["uid"]);
    }
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
    // The endpoints controller skips namespaces where nothing changed, and only those: an
    // Endpoints object a client deletes comes back.
    let before = store.get(Kinds::endpoints(), "team-002", "svc-03").unwrap();
    store
        .delete(Kinds::endpoints(), "team-002", "svc-03")
        .unwrap();
    store.clock().advance(SignedDuration::from_secs(1));
    sim.reconcile(&mut store);
    let after = store.get(Kinds::endpoints(), "team-002", "svc-03").unwrap();
    assert_eq!(after["subsets"], before["subsets"]);
    assert!(!arr(&after, "/subsets").is_empty());
}

/// The example of SCENARIOS.md loads and behaves as the document says.
#[test]
fn documented_example_works() {
    let doc = include_str!("../../../SCENARIOS.md");
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

/// The `Behavior` of SCENARIOS.md, which shows every field, parses as written.
#[test]
fn documented_behavior_fields_parse() {
    let doc = include_str!("../../../SCENARIOS.md");
    let behavior = doc
        .split("## `Behavior`")
        .nth(1)
        .and_then(|s| s.split("```yaml\n").nth(1))
        .and_then(|s| s.split("```").next())
        .unwrap();
    let sc = Scenario::from_yaml("behavior.yaml", behavior).unwrap();
    let b = &sc.behaviors[0];
    assert_eq!(b.connects.len(), 4);
    assert!(b.liveness.is_some() && b.startup.is_some() && b.start_error.is_some());
    assert_eq!(b.cpu_millis, Some(450));
    let bad = behavior.replace("- to: payments:8080", "- to: payments");
    let e = Scenario::from_yaml("behavior.yaml", &bad)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("Behavior.spec.connects[0].to: expected host:port"),
        "{e}"
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
