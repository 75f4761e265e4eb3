//! The failure classes of issue 11, one built-in each: the deciding fact is where kubectl
//! shows it, worded as Kubernetes words it, and fixing the cause makes the outcome follow.

use serde_json::json;

use super::*;

/// The text of the latest log lines of a pod's only (or named) container.
fn log_text(
    store: &Store,
    sim: &Simulator,
    ns: &str,
    pod: &str,
    c: Option<&str>,
    prev: bool,
) -> String {
    sim.logs(store, ns, pod, c, prev)
        .map(|l| l.into_iter().map(|l| l.text).collect::<Vec<_>>().join("\n"))
        .unwrap_or_else(|e| format!("error: {e}"))
}

fn event_messages(store: &Store, ns: &str, obj: &str, reason: &str) -> Vec<String> {
    events_for(store, ns, obj)
        .iter()
        .filter(|e| e["reason"] == reason)
        .map(|e| s(e, "/message").to_string())
        .collect()
}

#[test]
fn liveness_probe_on_the_wrong_port_kills_and_restarts() {
    let (store, _sim) = load("liveness-probe");
    for p in pods(&store, "apps", "api-") {
        let restarts = p["status"]["containerStatuses"][0]["restartCount"]
            .as_i64()
            .unwrap();
        assert!(restarts >= 3, "{restarts}");
        let last = &p["status"]["containerStatuses"][0]["lastState"]["terminated"];
        assert_eq!(last["exitCode"], 137);
        assert_eq!(last["reason"], "Error");
        let killing = event_messages(&store, "apps", name(&p), "Killing");
        assert_eq!(
            killing,
            vec!["Container api failed liveness probe, will be restarted"]
        );
        let unhealthy = event_messages(&store, "apps", name(&p), "Unhealthy");
        let ip = s(&p, "/status/podIP");
        assert_eq!(
            unhealthy,
            vec![format!(
                "Liveness probe failed: Get \"http://{ip}:8081/healthz\": dial tcp {ip}:8081: connect: connection refused"
            )]
        );
    }
}

#[test]
fn a_liveness_probe_on_the_right_port_passes() {
    let mut sc = Scenario::builtin("liveness-probe").unwrap();
    for o in &mut sc.objects {
        if o["kind"] == "Deployment" {
            o["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["port"] =
                json!(8080);
        }
    }
    let (store, _sim) = load_yaml(&sc);
    for p in pods(&store, "apps", "api-") {
        assert!(ready(&p), "{}", p["status"]);
        assert!(event_messages(&store, "apps", name(&p), "Killing").is_empty());
    }
}

#[test]
fn start_failures_are_start_errors_with_the_runtime_message() {
    let (store, sim) = load("start-failure");
    for (app, code, words) in [
        (
            "worker-",
            127,
            "exec: \"/app/bin/wrker\": executable file not found in $PATH",
        ),
        (
            "exporter-",
            126,
            "exec: \"/entrypoint.sh\": permission denied",
        ),
        ("indexer-", 128, "not a directory"),
    ] {
        let p = pods(&store, "apps", app)[0].clone();
        let cs = &p["status"]["containerStatuses"][0];
        let last = &cs["lastState"]["terminated"];
        assert_eq!(last["exitCode"], code, "{app}");
        assert_eq!(last["reason"], "StartError");
        assert!(s(last, "/message").contains(words), "{last}");
        assert_eq!(last["startedAt"], "1970-01-01T00:00:00Z");
        assert!(matches!(
            s(cs, "/state/waiting/reason"),
            "CrashLoopBackOff" | "RunContainerError"
        ));
        let failed = event_messages(&store, "apps", name(&p), "Failed");
        assert!(
            failed
                .iter()
                .any(|m| m.starts_with("Error: failed to create containerd task")
                    && m.contains(words)),
            "{failed:?}"
        );
        assert!(event_messages(&store, "apps", name(&p), "Started").is_empty());
        assert_eq!(log_text(&store, &sim, "apps", name(&p), None, true), "");
    }
}

#[test]
fn init_containers_fail_with_their_own_logs() {
    let (store, sim) = load("init-container");
    let p = pods(&store, "apps", "orders-")[0].clone();
    let init = &p["status"]["initContainerStatuses"][0];
    assert_eq!(init["state"]["waiting"]["reason"], "CrashLoopBackOff");
    assert_eq!(init["lastState"]["terminated"]["exitCode"], 1);
    assert_eq!(waiting(&p), "PodInitializing");
    let logs = log_text(&store, &sim, "apps", name(&p), Some("migrate"), true);
    assert!(
        logs.contains("column \"currency\" of relation \"orders\" already exists"),
        "{logs}"
    );
    let seeds = pods(&store, "apps", "seed-");
    assert!(!seeds.is_empty());
    for p in seeds {
        assert_eq!(p["status"]["phase"], "Failed");
        let fetch = &p["status"]["initContainerStatuses"][0]["state"]["terminated"];
        assert_eq!(fetch["exitCode"], 22);
        let logs = log_text(&store, &sim, "apps", name(&p), Some("fetch"), false);
        assert_eq!(logs, "curl: (22) The requested URL returned error: 404");
    }
}

#[test]
fn a_missing_service_does_not_resolve_until_it_exists() {
    let (mut store, mut sim) = load("dns-failure");
    let p = pods(&store, "apps", "storefront-")[0].clone();
    let logs = log_text(&store, &sim, "apps", name(&p), None, false);
    assert!(
        logs.contains("ERROR could not resolve host catalog"),
        "{logs}"
    );
    assert!(ready(&p), "the client itself runs and is ready");
    // Fix: a Service named catalog in front of the catalog pods.
    let svc = json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "catalog", "namespace": "apps"},
        "spec": {"selector": {"app": "product-catalog"}, "ports": [{"port": 8080, "targetPort": "http"}]}});
    store.create(Kinds::services(), svc).unwrap();
    advance(&mut store, &mut sim, 60);
    let logs = log_text(&store, &sim, "apps", name(&p), None, false);
    let last = logs.lines().last().unwrap_or("");
    assert!(logs.contains("INFO connected to catalog:8080"), "{logs}");
    assert!(!last.contains("could not resolve"), "{last}");
}

#[test]
fn refused_connections_follow_the_dependency_and_its_fix() {
    let (mut store, mut sim) = load("connection-refused");
    let p = pods(&store, "apps", "checkout-")[0].clone();
    assert!(
        p["status"]["containerStatuses"][0]["restartCount"]
            .as_i64()
            .unwrap()
            > 0
    );
    let logs = log_text(&store, &sim, "apps", name(&p), None, true);
    assert!(logs.contains("connect: connection refused"), "{logs}");
    assert_eq!(ready_addresses(&store, "apps", "payments"), 0);
    let pay = pods(&store, "apps", "payments-")[0].clone();
    let logs = log_text(&store, &sim, "apps", name(&pay), None, true);
    assert!(logs.contains("KeyError: 'STRIPE_API_KEY'"), "{logs}");
    // Fix payments; its pods come back, then checkout's next start connects.
    let mut d = (*store.get(Kinds::deployments(), "apps", "payments").unwrap()).clone();
    d["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "STRIPE_API_KEY", "value": "sk_test_x"}));
    store.update(Kinds::deployments(), d).unwrap();
    advance(&mut store, &mut sim, 120);
    advance(&mut store, &mut sim, 600);
    assert!(ready_addresses(&store, "apps", "payments") > 0);
    for p in pods(&store, "apps", "checkout-") {
        assert!(ready(&p), "{}", p["status"]);
        let logs = log_text(&store, &sim, "apps", name(&p), None, false);
        assert!(
            logs.contains("msg=\"connected\" addr=payments:8080"),
            "{logs}"
        );
    }
}

#[test]
fn a_default_deny_egress_policy_times_out_dns_until_deleted() {
    let (mut store, mut sim) = load("network-policy");
    let p = pods(&store, "apps", "orders-")[0].clone();
    let logs = log_text(&store, &sim, "apps", name(&p), None, false);
    assert!(
        logs.contains("Temporary failure in name resolution"),
        "{logs}"
    );
    store
        .delete(Kinds::networkpolicies(), "apps", "default-deny-egress")
        .unwrap();
    advance(&mut store, &mut sim, 30);
    let logs = log_text(&store, &sim, "apps", name(&p), None, false);
    assert!(
        logs.lines()
            .last()
            .unwrap_or("")
            .contains("connected to inventory:8080"),
        "{logs}"
    );
}

#[test]
fn an_egress_policy_allowing_dns_only_times_out_the_connection() {
    let (mut store, mut sim) = load("network-policy");
    let mut np = (*store
        .get(Kinds::networkpolicies(), "apps", "default-deny-egress")
        .unwrap())
    .clone();
    np["spec"]["egress"] =
        json!([{"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}]);
    store.update(Kinds::networkpolicies(), np).unwrap();
    advance(&mut store, &mut sim, 30);
    let p = pods(&store, "apps", "orders-")[0].clone();
    let logs = log_text(&store, &sim, "apps", name(&p), None, false);
    let last = logs.lines().last().unwrap_or("");
    assert!(
        last.contains("ConnectTimeoutError")
            && last.contains("'Connection to inventory timed out."),
        "{last}"
    );
}

#[test]
fn a_missing_role_binding_is_forbidden_until_bound() {
    let (mut store, mut sim) = load("rbac-forbidden");
    let p = pods(&store, "apps", "reporter-")[0].clone();
    let logs = log_text(&store, &sim, "apps", name(&p), None, false);
    assert!(
        logs.contains(r#"pods is forbidden: User \"system:serviceaccount:apps:reporter\" cannot list resource \"pods\" in API group \"\" in the namespace \"apps\""#),
        "{logs}"
    );
    let rb = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "reporter-reads-pods", "namespace": "apps"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "reporter", "namespace": "apps"}]});
    let rt = crate::resources::by_kind("rbac.authorization.k8s.io/v1", "RoleBinding").unwrap();
    store.create(rt, rb).unwrap();
    advance(&mut store, &mut sim, 90);
    let logs = log_text(&store, &sim, "apps", name(&p), None, false);
    assert!(
        logs.lines()
            .last()
            .unwrap_or("")
            .contains("INFO Kubernetes API list pods: OK"),
        "{logs}"
    );
}

#[test]
fn a_full_volume_stops_the_database_until_the_claim_grows() {
    let (mut store, mut sim) = load("disk-full");
    let p = pods(&store, "data", "postgres-0")[0].clone();
    assert!(
        p["status"]["containerStatuses"][0]["restartCount"]
            .as_i64()
            .unwrap()
            > 0
    );
    let logs = log_text(&store, &sim, "data", "postgres-0", None, true);
    assert!(
        logs.contains("pg_wal/000000010000000000000042: No space left on device"),
        "{logs}"
    );
    let mut pvc = (*store.get(Kinds::pvcs(), "data", "data-postgres-0").unwrap()).clone();
    pvc["spec"]["resources"]["requests"]["storage"] = json!("5Gi");
    store.update(Kinds::pvcs(), pvc).unwrap();
    advance(&mut store, &mut sim, 400);
    let p = pods(&store, "data", "postgres-0")[0].clone();
    assert!(ready(&p), "{}", p["status"]);
}

#[test]
fn quota_and_limit_range_refuse_pods_in_the_api_servers_words() {
    let (store, _sim) = load("resource-quota");
    assert_eq!(pods(&store, "team-a", "web-").len(), 2);
    let rs = store
        .list(Kinds::replicasets(), Some("team-a"))
        .into_iter()
        .find(|r| name(r).starts_with("web-"))
        .unwrap();
    let failure = condition(&rs, "ReplicaFailure");
    assert!(
        s(failure, "/message").ends_with("is forbidden: exceeded quota: compute-quota, requested: requests.cpu=400m, used: requests.cpu=800m, limited: requests.cpu=1"),
        "{failure}"
    );
    let q = store
        .get(Kinds::resourcequotas(), "team-a", "compute-quota")
        .unwrap();
    assert_eq!(q["status"]["used"]["requests.cpu"], "800m");
    assert_eq!(q["status"]["used"]["pods"], "2");
    let batch = store
        .list(Kinds::replicasets(), Some("team-a"))
        .into_iter()
        .find(|r| name(r).starts_with("batch-"))
        .unwrap();
    let msgs = event_messages(&store, "team-a", name(&batch), "FailedCreate");
    assert!(
        msgs[0].contains("failed quota: compute-quota: must specify limits.cpu for: batch"),
        "{msgs:?}"
    );
    let (store, _sim) = load("limit-range");
    let rs = store
        .list(Kinds::replicasets(), Some("team-b"))
        .into_iter()
        .find(|r| name(r).starts_with("renderer-"))
        .unwrap();
    let msgs = event_messages(&store, "team-b", name(&rs), "FailedCreate");
    assert!(
        msgs[0].ends_with("is forbidden: maximum cpu usage per Container is 1, but limit is 2"),
        "{msgs:?}"
    );
    let api = pods(&store, "team-b", "api-")[0].clone();
    assert_eq!(
        api["spec"]["containers"][0]["resources"]["limits"]["cpu"],
        "500m"
    );
}

#[test]
fn scheduling_by_other_pods_and_extended_resources() {
    for (scenario, ns, prefix, words) in [
        (
            "anti-affinity",
            "apps",
            "cache-",
            "3 node(s) didn't match pod anti-affinity rules",
        ),
        (
            "topology-spread",
            "apps",
            "web-",
            "2 node(s) didn't match pod topology spread constraints",
        ),
        ("gpu", "ml", "trainer-", "3 Insufficient nvidia.com/gpu"),
    ] {
        let (store, _sim) = load(scenario);
        let pending: Vec<_> = pods(&store, ns, prefix)
            .into_iter()
            .filter(|p| p["status"]["phase"] == "Pending")
            .collect();
        assert!(!pending.is_empty(), "{scenario}");
        let msg = s(condition(&pending[0], "PodScheduled"), "/message");
        assert!(
            msg.starts_with("0/3 nodes are available: ") && msg.contains(words),
            "{scenario}: {msg}"
        );
    }
    let (store, _sim) = load("gpu");
    let node = store.get(Kinds::nodes(), "", "gpu-1").unwrap();
    assert_eq!(node["status"]["allocatable"]["nvidia.com/gpu"], "1");
    assert_eq!(condition(&node, "Ready")["status"], "True");
}

#[test]
fn autoscalers_report_their_limits_and_missing_requests() {
    let (store, _sim) = load("hpa");
    let api = store.get(Kinds::hpas(), "apps", "api").unwrap();
    assert_eq!(api["status"]["currentReplicas"], 4);
    assert_eq!(
        condition(&api, "ScalingLimited")["reason"],
        "TooManyReplicas"
    );
    assert_eq!(
        condition(&api, "ScalingActive")["reason"],
        "ValidMetricFound"
    );
    assert_eq!(
        api["status"]["currentMetrics"][0]["resource"]["current"]["averageUtilization"],
        180
    );
    assert_eq!(pods(&store, "apps", "api-").len(), 4);
    let worker = store.get(Kinds::hpas(), "apps", "worker").unwrap();
    let active = condition(&worker, "ScalingActive");
    assert_eq!(active["status"], "False");
    assert_eq!(active["reason"], "FailedGetResourceMetric");
    assert!(
        s(active, "/message")
            .contains("missing request for cpu in container worker of Pod worker-")
    );
}

#[test]
fn metrics_follow_declared_use() {
    let (store, sim) = load("hpa");
    let now = store.clock().now();
    let p = pods(&store, "apps", "api-")[0].clone();
    let m = crate::sim::metrics::pod_metrics(&sim, &store, &p, now).unwrap();
    assert_eq!(m["containers"][0]["usage"]["cpu"], "450000000n");
    assert_eq!(m["containers"][0]["usage"]["memory"], "307200Ki");
    let node = store
        .get(Kinds::nodes(), "", s(&p, "/spec/nodeName"))
        .unwrap();
    let used = crate::sim::metrics::node_usage(&sim, &store);
    let on_node = used.get(name(&node)).copied().unwrap();
    assert!(on_node.0 >= 450, "{on_node:?}");
    let n = crate::sim::metrics::node_metrics(&node, Some(&on_node), now);
    assert_eq!(n["kind"], "NodeMetrics");
    assert_eq!(
        n["usage"]["cpu"],
        format!("{}n", (on_node.0 + 120) * 1_000_000)
    );
}
