//! Tests of the object store.

use super::*;
use crate::resources::by_plural;

fn store() -> Store {
    Store::new(Clock::manual("2026-01-01T00:00:00Z".parse().unwrap()))
}

#[test]
fn create_get_update_conflict_delete() {
    let mut s = store();
    let pods = by_plural("", "pods").unwrap();
    let p = s
        .create(
            pods,
            json!({"metadata": {"name": "a", "namespace": "shop"}, "spec": {}}),
        )
        .unwrap();
    assert_eq!(p["kind"], "Pod");
    assert_eq!(p["metadata"]["creationTimestamp"], "2026-01-01T00:00:00Z");
    let err = s
        .create(
            pods,
            json!({"metadata": {"name": "a", "namespace": "shop"}}),
        )
        .unwrap_err();
    assert_eq!(err.reason, "AlreadyExists");
    let mut changed = (*p).clone();
    changed["spec"]["nodeName"] = json!("n1");
    let u = s.update(pods, changed.clone()).unwrap();
    assert_eq!(u["metadata"]["generation"], 2);
    // the old resourceVersion is now stale
    assert_eq!(s.update(pods, changed).unwrap_err().reason, "Conflict");
    assert_eq!(s.list(pods, Some("shop")).len(), 1);
    assert_eq!(s.list(pods, Some("other")).len(), 0);
    s.delete(pods, "shop", "a").unwrap();
    assert!(s.get(pods, "shop", "a").is_none());
    let changes = s.changes_since(1000).unwrap();
    let types: Vec<_> = changes.iter().map(|c| c.change).collect();
    assert_eq!(
        types,
        vec![ChangeType::Added, ChangeType::Modified, ChangeType::Deleted]
    );
}

#[test]
fn generate_name_and_invalid_name() {
    let mut s = store();
    let pods = by_plural("", "pods").unwrap();
    let p = s
        .create(
            pods,
            json!({"metadata": {"generateName": "web-", "namespace": "x"}}),
        )
        .unwrap();
    let name = p["metadata"]["name"].as_str().unwrap();
    assert!(name.starts_with("web-") && name.len() == 9, "{name}");
    let err = s
        .create(pods, json!({"metadata": {"name": "Bad_Name"}}))
        .unwrap_err();
    assert_eq!(err.code, 422);
}

#[test]
fn frozen_objects_are_held_encoded_and_read_like_trees() {
    let mut s = store();
    let pods = by_plural("", "pods").unwrap();
    let frozen = s
        .create_frozen(
            pods,
            json!({"metadata": {"name": "f", "namespace": "shop", "labels": {"app": "x"}},
                "spec": {}, "status": {"phase": "Running"}}),
        )
        .unwrap();
    s.create(
        pods,
        json!({"metadata": {"name": "t", "namespace": "shop"}, "spec": {}}),
    )
    .unwrap();
    // Read back whole, identical to what was created.
    assert_eq!(s.get(pods, "shop", "f").unwrap(), frozen);
    assert!(s.contains(pods, "shop", "f") && !s.contains(pods, "shop", "g"));
    let names = |v: Vec<Arc<Value>>| -> Vec<String> {
        v.iter().map(|o| meta_str(o, "name").unwrap()).collect()
    };
    assert_eq!(names(s.list(pods, Some("shop"))), ["f", "t"]);
    // Controllers that leave frozen objects alone never see (decode) the encoded ones.
    assert_eq!(names(s.list_trees(pods, None)), ["t"]);
    // One encoding per version, shared by every reader.
    let (_, _, stored) = s.list_after(pods, None, None).next().unwrap();
    assert!(stored.is_encoded());
    assert_eq!(
        serde_json::from_slice::<Value>(stored.json()).unwrap(),
        *frozen
    );
    // A client's change makes a tree again (the simulation still treats it as frozen by uid).
    let mut changed = (*frozen).clone();
    changed["metadata"]["labels"]["app"] = json!("y");
    let u = s.update(pods, changed).unwrap();
    assert_eq!(u["metadata"]["labels"]["app"], "y");
    assert_eq!(names(s.list_trees(pods, None)), ["f", "t"]);
    let gone = s.delete(pods, "shop", "f").unwrap();
    assert_eq!(gone["metadata"]["uid"], frozen["metadata"]["uid"]);
    let changes = s.changes_since(1000).unwrap();
    let seen: Vec<_> = changes
        .iter()
        .map(|c| (c.change, c.namespace.as_str(), c.name.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (ChangeType::Added, "shop", "f"),
            (ChangeType::Added, "shop", "t"),
            (ChangeType::Modified, "shop", "f"),
            (ChangeType::Deleted, "shop", "f"),
        ]
    );
    assert_eq!(changes[0].object.value(), frozen);
}
