use serde_json::json;

use super::*;
use crate::clock::Clock;
use crate::validate::{FieldValidation, check_custom};

fn widget_crd() -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.crd-test.example.com"},
        "spec": {"group": "crd-test.example.com", "scope": "Namespaced",
            "names": {"kind": "Widget", "plural": "widgets", "singular": "widget", "shortNames": ["wd"]},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "required": ["size"], "properties": {
                        "size": {"type": "integer", "minimum": 1},
                        "color": {"type": "string", "enum": ["red", "blue"]},
                        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                        "port": {"x-kubernetes-int-or-string": true}}}}}}}]}})
}

#[test]
fn a_definition_serves_its_type_and_validates_objects() {
    let mut s = Store::new(Clock::manual("2026-01-01T00:00:00Z".parse().unwrap()));
    let crd = widget_crd();
    check_definition(&crd).unwrap();
    s.create(crds().unwrap(), crd.clone()).unwrap();
    register(&crd).unwrap();
    let rt = by_plural("crd-test.example.com", "widgets").unwrap();
    assert_eq!(rt.kind, "Widget");
    assert!(is_served(&s, rt));
    assert!(served_types(&s).iter().any(|r| std::ptr::eq(*r, rt)));
    reconcile(&mut s);
    let d = definition(&s, rt).unwrap();
    assert_eq!(d["status"]["conditions"][1]["type"], "Established");
    let schema = schema_of(&s, rt).unwrap();
    let mut good = json!({"apiVersion": "crd-test.example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
        "spec": {"size": 2, "color": "red", "labels": {"a": "b"}, "port": "http"}});
    assert!(
        check_custom(rt, &mut good, FieldValidation::Strict, &schema)
            .unwrap()
            .is_empty()
    );
    let mut bad = json!({"metadata": {"name": "w"}, "spec": {"size": "big", "color": "green"}});
    let e = check_custom(rt, &mut bad, FieldValidation::Warn, &schema).unwrap_err();
    assert_eq!(
        e.message,
        "Widget.crd-test.example.com \"w\" is invalid: [spec.color: Unsupported value: \"green\": supported values: \"red\", \"blue\", spec.size: Invalid value: \"string\": spec.size in body must be of type integer: \"string\"]"
    );
    let mut missing = json!({"metadata": {"name": "w"}, "spec": {"size": 0, "extra": 1}});
    let e = check_custom(rt, &mut missing.clone(), FieldValidation::Warn, &schema).unwrap_err();
    assert!(
        e.message
            .contains("spec.size in body should be greater than or equal to 1"),
        "{}",
        e.message
    );
    missing["spec"]["size"] = json!(1);
    let w = check_custom(rt, &mut missing, FieldValidation::Warn, &schema).unwrap();
    assert_eq!(w, vec!["unknown field \"spec.extra\""]);
    assert!(missing["spec"].get("extra").is_none(), "pruned");
    let mut no_size = json!({"metadata": {"name": "w"}, "spec": {}});
    let e = check_custom(rt, &mut no_size, FieldValidation::Warn, &schema).unwrap_err();
    assert!(
        e.message.ends_with("spec.size: Required value"),
        "{}",
        e.message
    );
    // Objects go with their definition.
    s.create(
        rt,
        json!({"metadata": {"name": "w", "namespace": "a"}, "spec": {"size": 1}}),
    )
    .unwrap();
    s.delete(crds().unwrap(), "", "widgets.crd-test.example.com")
        .unwrap();
    reconcile(&mut s);
    assert_eq!(s.count(rt), 0);
    assert!(!is_served(&s, rt));
}

#[test]
fn a_misnamed_definition_is_refused() {
    let mut crd = widget_crd();
    crd["metadata"]["name"] = json!("widget.example.com");
    let e = check_definition(&crd).unwrap_err();
    assert_eq!(e.code, 422);
    assert!(
        e.message
            .contains("must be spec.names.plural+\".\"+spec.group"),
        "{}",
        e.message
    );
}

#[test]
fn custom_resources_without_a_definition_are_adopted_schemaless() {
    let mut s = Store::new(Clock::manual("2026-01-01T00:00:00Z".parse().unwrap()));
    let t = schemaless_type("monitoring.coreos.com/v1", "ServiceMonitor").unwrap();
    assert_eq!(t.plural, "servicemonitors");
    assert!(
        register_schemaless("apps/v1", "Widget").is_none(),
        "built-in groups stay closed"
    );
    assert_eq!(plural_of("Policy"), "policies");
    assert_eq!(plural_of("Gateway"), "gateways");
    assert_eq!(plural_of("Ingress"), "ingresses");
    let rt = register_custom(&t);
    s.create(
        rt,
        json!({"metadata": {"name": "web", "namespace": "shop"}, "spec": {"anything": [1]}}),
    )
    .unwrap();
    let notices = adopt_schemaless(&mut s);
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0].starts_with(
            "ServiceMonitor (monitoring.coreos.com/v1) has no CustomResourceDefinition"
        )
    );
    assert!(is_served(&s, rt));
    assert!(adopt_schemaless(&mut s).is_empty(), "adopted once");
}
