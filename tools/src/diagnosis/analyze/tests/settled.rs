//! The collector's summaries (settled pods, deployments and replica sets, endpoint counts)
//! change no finding and no log sample: a snapshot is analysed once with every object whole
//! and once as the collector keeps it.

use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::{Value, json};

use super::*;
use crate::diagnosis::collect::whole_if_logged;
use crate::diagnosis::revive::{put_back, wanted};
use crate::diagnosis::strip::{
    Interner, Kept, keep_deployment, keep_endpoints, keep_pod, keep_replica_set, keep_service,
};

fn keep_all<T, S>(items: Vec<T>, keep: fn(T, &mut Interner) -> Kept<T, S>) -> (Vec<T>, Vec<S>) {
    let mut interner = Interner::default();
    let (mut whole, mut settled) = (Vec::new(), Vec::new());
    for x in items {
        match keep(x, &mut interner) {
            Kept::Settled(s) => settled.push(s),
            Kept::Whole(t) => whole.push(*t),
        }
    }
    (whole, settled)
}

/// Reads whole again what the rules want, from the snapshot of whole objects (where the
/// collector reads the API).
fn read_whole(from: &Snapshot, out: &mut Snapshot) {
    let w = wanted(out, 200);
    let named = |m: &ObjectMeta, keys: &[(String, String)]| {
        let key = (m.namespace.clone().unwrap(), m.name.clone().unwrap());
        keys.contains(&key)
    };
    let d = from
        .deployments
        .iter()
        .filter(|d| named(&d.metadata, &w.deployments));
    let r = from
        .replica_sets
        .iter()
        .filter(|r| named(&r.metadata, &w.replica_sets));
    put_back(out, d.cloned().collect(), r.cloned().collect());
}

/// The snapshot as the collector keeps it: settled pods, deployments and replica sets as
/// summaries, endpoints as counts, then those the rules must read whole read again (as
/// `collect` does).
fn as_collected(s: &Snapshot) -> Snapshot {
    let mut out = s.clone();
    (out.pods, out.settled_pods) = keep_all(s.pods.clone(), keep_pod);
    (out.deployments, out.settled_deployments) = keep_all(s.deployments.clone(), keep_deployment);
    (out.replica_sets, out.settled_replica_sets) =
        keep_all(s.replica_sets.clone(), keep_replica_set);
    (out.endpoints, out.endpoint_counts) = keep_all(s.endpoints.clone(), keep_endpoints);
    read_whole(s, &mut out);
    whole_if_logged(&mut out);
    read_whole(s, &mut out);
    out
}

/// A deployment whose status says every replica runs (settled), its replica set and pods.
fn healthy(s: &mut Snapshot, name: &str, replicas: usize, node: &str) {
    let c = container(name, "x", json!([]));
    let n = replicas as i32;
    let mut d = deployment(name, n, n, c.clone());
    d.metadata.annotations =
        Some([("deployment.kubernetes.io/revision".into(), "1".into())].into());
    let st = d.status.as_mut().unwrap();
    st.updated_replicas = Some(n);
    st.conditions = Some(vec![obj(json!({"type": "Available", "status": "True"}))]);
    s.deployments.push(d);
    let mut rs = replica_set(name, "h", 1, n, n, c.clone());
    rs.status.as_mut().unwrap().available_replicas = Some(n);
    s.replica_sets.push(rs);
    for i in 0..replicas {
        s.pods.push(pod(
            &format!("{name}-h-{i}"),
            &format!("ReplicaSet/{name}-h"),
            json!({"app": name, "pod-template-hash": "h"}),
            json!({"containers": [c.clone()], "nodeName": node}),
            running_status(true, name),
        ));
    }
}

/// Services, policies and nodes over settled pods, a workload with settled and failing pods,
/// a sampled log that says something, and the demo's crash loop.
fn cluster() -> Snapshot {
    let mut s = demo();
    s.nodes.push(node("node-2", "Unknown", json!({})));
    healthy(&mut s, "web", 3, "node-1");
    healthy(&mut s, "api", 2, "node-2");
    healthy(&mut s, "cache", 2, "node-1");
    healthy(&mut s, "quiet", 2, "node-1");
    // web's previous revision, scaled down: read whole only because web is.
    let mut old = replica_set("web", "old", 0, 0, 0, container("web", "x:0", json!([])));
    old.status.as_mut().unwrap().available_replicas = Some(0);
    s.replica_sets.push(old);
    // An autoscaler needs cache's template whole (its container sets no cpu request).
    s.hpas.push(obj(json!({"metadata": {"name": "cache", "namespace": "shop"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "cache"},
                 "minReplicas": 2, "maxReplicas": 5,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]}})));
    // quiet's containers come from its summary: one port name it declares, one it does not.
    for (svc, port) in [("quiet", "http"), ("quiet-metrics", "metrics")] {
        s.services
            .push(service_to(svc, json!({"app": "quiet"}), json!(port)));
    }
    // One of web's pods crash-loops: web is degraded, 3 of 4 ready.
    let c = container("web", "x", json!([]));
    s.pods.push(pod(
        "web-h-9",
        "ReplicaSet/web-h",
        json!({"app": "web", "pod-template-hash": "h"}),
        json!({"containers": [c]}),
        crash_status("web", 1, "Error", 4),
    ));
    s.services
        .push(service_to("web", json!({"app": "web"}), json!("metrics")));
    s.services.push(service("search", json!({"app": "serch"})));
    s.services.push(service("cache", json!({"app": "cache"})));
    s.network_policies.push(obj(
        json!({"metadata": {"name": "allow-api", "namespace": "shop"},
        "spec": {"podSelector": {"matchLabels": {"app": "api"}}}}),
    ));
    s.network_policies.push(obj(
        json!({"metadata": {"name": "allow-x", "namespace": "shop"},
        "spec": {"podSelector": {"matchLabels": {"app": "x"}}}}),
    ));
    // backend's endpoints: read as counts.
    s.endpoints.push(obj(
        json!({"metadata": {"name": "backend", "namespace": "shop"},
        "subsets": [{"notReadyAddresses": [{"ip": "10.0.0.7"}, {"ip": "10.0.0.8"}]}]}),
    ));
    s.logs.push(LogTail {
        namespace: "shop".into(),
        pod: "cache-h-0".into(),
        container: "cache".into(),
        previous: false,
        text: "dial tcp: lookup redis.shop.svc.cluster.local on 10.96.0.10:53: no such host\n"
            .into(),
    });
    s
}

#[test]
fn settled_summaries_change_no_finding_and_no_log_sample() {
    let whole = cluster();
    let kept = as_collected(&whole);
    // Not vacuous: most pods are summaries; the one whose log was read is whole again, and
    // so are the deployments a rule reads whole (web: a pod in trouble; cache: an autoscaler
    // and a log) with their replica sets.
    assert_eq!(kept.settled_pods.len(), 8, "{:#?}", kept.settled_pods);
    let cache_0 = kept.pods.iter().map(|p| p.metadata.name.as_deref());
    assert!(cache_0.clone().any(|n| n == Some("cache-h-0")));
    assert_eq!(kept.pod_count(), whole.pods.len());
    let names = |v: Vec<&str>| v.join(",");
    assert_eq!(
        names(kept.settled_deployments.iter().map(|d| &*d.name).collect()),
        "api,quiet"
    );
    assert_eq!(
        names(kept.settled_replica_sets.iter().map(|r| &*r.name).collect()),
        "api-h,quiet-h"
    );
    assert_eq!(kept.deployments.len() + 2, whole.deployments.len());
    assert_eq!(kept.replica_sets.len() + 2, whole.replica_sets.len());

    let (a, b) = (analyze(&whole), analyze(&kept));
    for (name, reason) in [
        ("quiet-metrics", "TargetPortMismatch"),
        ("cache", "MissingResourceRequests"),
        ("node-2", "NodeNotReady"),
        ("web", "CrashLoopBackOff"),
    ] {
        let found = a.iter().any(|f| f.name == name && f.reason == reason);
        assert!(found, "{name} {reason}: {a:#?}");
    }
    assert!(!a.iter().any(|f| f.name == "quiet"), "{a:#?}");
    let counts = |s: &Snapshot| {
        let ctx = crate::diagnosis::analyze::Ctx::new(s);
        crate::diagnosis::analyze::network::ready_endpoints(&ctx, "shop", "backend")
    };
    assert_eq!(
        (counts(&whole), counts(&kept)),
        (Some((0, 2)), Some((0, 2)))
    );
    assert!(kept.endpoints.is_empty() && kept.endpoint_counts.len() == 1);
    assert_eq!(a, b);
    let key = |r: &LogRequest| (r.namespace.clone(), r.pod.clone(), r.container.clone());
    let mut pa: Vec<_> = log_plan(&whole, None).requests.iter().map(key).collect();
    let mut pb: Vec<_> = log_plan(&kept, None).requests.iter().map(key).collect();
    pa.sort();
    pb.sort();
    assert_eq!(pa, pb);
}

/// Reading a pod's JSON for settledness first keeps exactly what decoding it whole keeps.
#[test]
fn a_pod_read_from_json_is_kept_as_the_typed_pod_is() {
    use crate::diagnosis::pod_probe::keep_pod_json;
    let mut pods = cluster().pods;
    let base = pods[pods.len() - 1].clone();
    let variants: [(&str, Value); 6] = [
        ("deleted", json!({"metadata": {"deletionTimestamp": NOW}})),
        (
            "restarted",
            json!({"status": {"containerStatuses": [{"name": "c", "image": "x", "imageID": "", "ready": true, "restartCount": 1, "state": {"running": {}}}]}}),
        ),
        (
            "unready",
            json!({"status": {"conditions": [{"type": "Ready", "status": "False"}]}}),
        ),
        ("bare", json!({"metadata": {"ownerReferences": null}})),
        ("nostatus", json!({"status": {"containerStatuses": []}})),
        ("done", json!({"status": {"phase": "Succeeded"}})),
    ];
    for (name, patch) in variants {
        let mut v = serde_json::to_value(&base).unwrap();
        json_patch(&mut v, &patch);
        v["metadata"]["name"] = json!(name);
        pods.push(obj(v));
    }
    let (mut a, mut b) = (Interner::default(), Interner::default());
    let mut settled = 0;
    for p in pods {
        let text = serde_json::to_string(&p).unwrap();
        let from_json = keep_pod_json(&text, &mut a).unwrap();
        match (keep_pod(p, &mut b), from_json) {
            (Kept::Settled(x), Kept::Settled(y)) => {
                settled += 1;
                assert_eq!(x, y);
            }
            (Kept::Whole(x), Kept::Whole(y)) => assert_eq!(x, y),
            (x, _) => panic!("kept differently: {}", matches!(x, Kept::Settled(_))),
        }
    }
    assert_eq!(settled, 9);
}

/// Merges `patch` into `v` (objects merged key by key, anything else replaced).
fn json_patch(v: &mut Value, patch: &Value) {
    match (v, patch) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, pv) in b {
                json_patch(a.entry(k.clone()).or_insert(Value::Null), pv);
            }
        }
        (v, p) => *v = p.clone(),
    }
}

#[test]
fn a_service_is_kept_as_its_summary_with_shared_selectors() {
    let svc = |ns: &str, spec: Value| -> k8s_openapi::api::core::v1::Service {
        obj(
            json!({"metadata": {"name": "web", "namespace": ns, "labels": {"team": "a"}},
            "spec": spec, "status": {"loadBalancer": {}}}),
        )
    };
    let spec = json!({"type": "NodePort", "clusterIP": "10.96.0.10", "selector": {"app": "web"},
        "ports": [{"name": "http", "port": 80, "targetPort": "http", "nodePort": 30080},
                  {"port": 9090, "targetPort": 9090}]});
    let mut interner = Interner::default();
    let kept: Vec<ServiceSummary> = ["shop", "blog"]
        .into_iter()
        .map(
            |ns| match keep_service(svc(ns, spec.clone()), &mut interner) {
                Kept::Settled(s) => s,
                Kept::Whole(_) => panic!("a service is always summarised"),
            },
        )
        .collect();
    // The collector's summary and the plain conversion say the same.
    assert_eq!(kept[0], ServiceSummary::from(svc("shop", spec.clone())));
    assert_eq!(
        (kept[0].type_.as_deref(), kept[0].cluster_ip.as_deref()),
        (Some("NodePort"), Some("10.96.0.10"))
    );
    let ports: Vec<_> = kept[0]
        .ports
        .iter()
        .map(|p| (p.name.as_deref(), p.port, p.target_port.clone()))
        .collect();
    assert_eq!(
        ports,
        [
            (Some("http"), 80, Some(IntOrString::String("http".into()))),
            (None, 9090, Some(IntOrString::Int(9090)))
        ]
    );
    // One selector held for both namespaces' Services.
    assert!(Arc::ptr_eq(&kept[0].selector, &kept[1].selector));
    // A Service without a spec selects nothing and is no ExternalName.
    let bare = ServiceSummary::from(svc("shop", json!({})));
    assert!(bare.selector.is_empty() && !bare.is_external_name() && bare.ports.is_empty());
    let external = ServiceSummary::from(svc(
        "shop",
        json!({"type": "ExternalName", "externalName": "db.example.com"}),
    ));
    assert!(external.is_external_name());
}
