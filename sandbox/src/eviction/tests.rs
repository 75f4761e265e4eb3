use serde_json::json;

use super::*;
use crate::clock::Clock;

fn store_with(pods_ready: &[bool], pdb_spec: Value) -> Store {
    let mut s = Store::new(Clock::manual("2026-01-01T00:00:00Z".parse().unwrap()));
    let pods = by_plural("", "pods").unwrap();
    for (i, r) in pods_ready.iter().enumerate() {
        s.create(pods, json!({"metadata": {"name": format!("web-{i}"), "namespace": "shop", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "x:1"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": if *r {"True"} else {"False"}}]}}))
            .unwrap();
    }
    let pdb = by_plural("policy", "poddisruptionbudgets").unwrap();
    let mut spec = pdb_spec;
    spec["selector"] = json!({"matchLabels": {"app": "web"}});
    s.create(
        pdb,
        json!({"metadata": {"name": "web-pdb", "namespace": "shop"}, "spec": spec}),
    )
    .unwrap();
    s
}

#[test]
fn a_budget_with_room_admits_and_is_charged() {
    let mut s = store_with(&[true, true, true], json!({"minAvailable": 2}));
    admit(&mut s, "shop", "web-0").unwrap();
    let pdb = s
        .get(
            by_plural("policy", "poddisruptionbudgets").unwrap(),
            "shop",
            "web-pdb",
        )
        .unwrap();
    assert_eq!(pdb["status"]["disruptionsAllowed"], 0);
    assert!(pdb["status"]["disruptedPods"]["web-0"].is_string());
}

#[test]
fn a_full_budget_refuses_with_429() {
    let mut s = store_with(&[true, true, false], json!({"minAvailable": 2}));
    let e = admit(&mut s, "shop", "web-0").unwrap_err();
    assert_eq!(e.code, 429);
    assert_eq!(
        e.message,
        "Cannot evict pod as it would violate the pod's disruption budget."
    );
    assert_eq!(
        e.details.unwrap()["causes"][0]["message"],
        "The disruption budget web-pdb needs 2 healthy pods and has 2 currently"
    );
    let mut s = store_with(&[true, true], json!({"maxUnavailable": "0%"}));
    assert_eq!(admit(&mut s, "shop", "web-1").unwrap_err().code, 429);
    assert_eq!(admit(&mut s, "shop", "nope").unwrap_err().code, 404);
}

#[test]
fn budgets_are_refreshed_from_pods() {
    let mut s = store_with(&[true, true, false], json!({"maxUnavailable": 1}));
    refresh_budgets(&mut s);
    let pdb = s
        .get(
            by_plural("policy", "poddisruptionbudgets").unwrap(),
            "shop",
            "web-pdb",
        )
        .unwrap();
    assert_eq!(pdb["status"]["expectedPods"], 3);
    assert_eq!(pdb["status"]["currentHealthy"], 2);
    assert_eq!(pdb["status"]["desiredHealthy"], 2);
    assert_eq!(pdb["status"]["disruptionsAllowed"], 0);
}
