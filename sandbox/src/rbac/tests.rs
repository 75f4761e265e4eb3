use serde_json::json;

use super::*;
use crate::clock::Clock;

fn store() -> Store {
    let mut s = Store::new(Clock::manual("2026-01-01T00:00:00Z".parse().unwrap()));
    bootstrap(&mut s);
    s
}

fn put(s: &mut Store, obj: Value) {
    let rt = crate::resources::by_kind(
        obj["apiVersion"].as_str().unwrap(),
        obj["kind"].as_str().unwrap(),
    )
    .unwrap();
    s.create(rt, obj).unwrap();
}

fn sa() -> Subject {
    Subject::service_account("shop", "deployer")
}

#[test]
fn a_service_account_without_bindings_may_only_review_itself() {
    let s = store();
    assert!(!allowed(&s, &sa(), "list", "", "pods", Some("shop")).allowed);
    assert!(
        allowed(
            &s,
            &sa(),
            "create",
            "authorization.k8s.io",
            "selfsubjectaccessreviews",
            None
        )
        .allowed
    );
    assert!(allowed_path(&s, &sa(), "get", "/apis/apps/v1").allowed);
    assert!(!allowed_path(&s, &sa(), "get", "/metrics").allowed);
    let admin = Subject::admin();
    assert!(allowed(&s, &admin, "delete", "", "nodes", None).allowed);
}

#[test]
fn role_bindings_grant_in_their_namespace_only() {
    let mut s = store();
    put(
        &mut s,
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "reader", "namespace": "shop"},
        "rules": [{"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list"]},
                  {"apiGroups": ["apps"], "resources": ["deployments/*"], "verbs": ["patch"]},
                  {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["app"], "verbs": ["get"]}]}),
    );
    put(
        &mut s,
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "read", "namespace": "shop"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "deployer"}]}),
    );
    let d = allowed(&s, &sa(), "list", "", "pods", Some("shop"));
    assert!(d.allowed);
    assert_eq!(
        d.reason,
        "RBAC: allowed by RoleBinding \"read/shop\" of Role \"reader\" to ServiceAccount \"deployer/shop\""
    );
    assert!(allowed(&s, &sa(), "get", "", "pods/log", Some("shop")).allowed);
    assert!(!allowed(&s, &sa(), "list", "", "pods", Some("other")).allowed);
    assert!(!allowed(&s, &sa(), "delete", "", "pods", Some("shop")).allowed);
    assert!(!allowed(&s, &sa(), "list", "", "pods", None).allowed);
    assert!(
        allowed(
            &s,
            &sa(),
            "patch",
            "apps",
            "deployments/scale",
            Some("shop")
        )
        .allowed
    );
    assert!(!allowed(&s, &sa(), "patch", "apps", "deployments", Some("shop")).allowed);
    let named = |name| Attributes {
        verb: "get",
        resource: "configmaps",
        name: Some(name),
        namespace: Some("shop"),
        ..Attributes::default()
    };
    assert!(authorize(&s, &sa(), &named("app")).allowed);
    assert!(!authorize(&s, &sa(), &named("other")).allowed);
    // Another service account of the same name elsewhere is someone else.
    let other = Subject::service_account("other", "deployer");
    assert!(!allowed(&s, &other, "list", "", "pods", Some("shop")).allowed);
}

#[test]
fn cluster_role_bindings_and_default_roles() {
    let mut s = store();
    put(
        &mut s,
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "deployer-view"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": "shop"}]}),
    );
    assert!(
        allowed(
            &s,
            &sa(),
            "list",
            "apps",
            "deployments",
            Some("kube-system")
        )
        .allowed
    );
    assert!(allowed(&s, &sa(), "watch", "", "pods", None).allowed);
    assert!(!allowed(&s, &sa(), "get", "", "secrets", Some("shop")).allowed);
    assert!(!allowed(&s, &sa(), "delete", "", "pods", Some("shop")).allowed);
    put(
        &mut s,
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "edit", "namespace": "shop"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
        "subjects": [{"kind": "Group", "name": "system:serviceaccounts:shop"}]}),
    );
    assert!(allowed(&s, &sa(), "delete", "", "pods", Some("shop")).allowed);
    assert!(allowed(&s, &sa(), "create", "", "pods/eviction", Some("shop")).allowed);
    assert!(!allowed(&s, &sa(), "delete", "", "pods", Some("default")).allowed);
    let (rules, urls) = rules_for(&s, &sa(), "shop");
    assert!(
        rules
            .iter()
            .any(|r| r["verbs"].as_array().unwrap().contains(&json!("delete")))
    );
    assert!(!urls.is_empty());
}

#[test]
fn tokens_name_their_subject() {
    let s = Subject::parse("serviceaccount:shop:deployer").unwrap();
    assert_eq!(s.user, "system:serviceaccount:shop:deployer");
    let header = format!("Bearer {}", s.token());
    assert_eq!(Subject::from_authorization(Some(&header)), s);
    assert_eq!(Subject::from_authorization(None), Subject::admin());
    assert_eq!(
        Subject::from_authorization(Some("Bearer kai-sandbox")),
        Subject::admin()
    );
    assert!(Subject::parse("user:bob").is_err());
    assert!(Subject::parse("serviceaccount:Shop:x").is_err());
}

#[test]
fn impersonation_is_for_superusers() {
    let sa = Subject::from_headers(None, Some("system:serviceaccount:shop:ci"), &[]).unwrap();
    assert_eq!(sa, Subject::service_account("shop", "ci"));
    let own = format!("Bearer {}", sa.token());
    assert_eq!(
        Subject::from_headers(Some(&own), Some("system:serviceaccount:shop:ci"), &[]).unwrap(),
        sa
    );
    let e = Subject::from_headers(Some(&own), Some("bob"), &[]).unwrap_err();
    assert_eq!(
        e,
        "users \"bob\" is forbidden: User \"system:serviceaccount:shop:ci\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope"
    );
    let bob = Subject::from_headers(None, Some("bob"), &["devs"]).unwrap();
    assert_eq!(bob.groups, vec!["devs", "system:authenticated"]);
}
