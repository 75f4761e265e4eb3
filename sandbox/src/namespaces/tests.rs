use serde_json::json;

use super::*;
use crate::clock::Clock;

#[test]
fn a_deleted_namespace_terminates_then_goes_with_its_contents() {
    let clock = Clock::manual("2026-01-01T00:00:00Z".parse().unwrap());
    let mut s = Store::new(clock.clone());
    let nrt = by_plural("", "namespaces").unwrap();
    let cms = by_plural("", "configmaps").unwrap();
    s.create(nrt, json!({"metadata": {"name": "shop"}}))
        .unwrap();
    s.create(cms, json!({"metadata": {"name": "a", "namespace": "shop"}}))
        .unwrap();
    s.create(
        cms,
        json!({"metadata": {"name": "b", "namespace": "other"}}),
    )
    .unwrap();
    let ns = begin_delete(&mut s, "shop").unwrap();
    assert_eq!(ns["status"]["phase"], "Terminating");
    let e = check_accepts_content(&s, "shop", "configmaps", "c").unwrap_err();
    assert_eq!(
        e.message,
        "configmaps \"c\" is forbidden: unable to create new content in namespace shop because it is being terminated"
    );
    finalize(&mut s);
    assert!(
        s.get(cms, "shop", "a").is_some(),
        "contents stay for the grace period"
    );
    clock.advance(CONTENT_GRACE);
    finalize(&mut s);
    assert!(s.get(cms, "shop", "a").is_none());
    assert!(s.get(nrt, "", "shop").is_none());
    assert!(s.get(cms, "other", "b").is_some());
}

#[test]
fn system_namespaces_cannot_be_deleted() {
    let e = check_deletable("kube-system").unwrap_err();
    assert_eq!(e.code, 403);
    assert_eq!(
        e.message,
        "namespaces \"kube-system\" is forbidden: this namespace may not be deleted"
    );
    assert!(check_deletable("shop").is_ok());
}
