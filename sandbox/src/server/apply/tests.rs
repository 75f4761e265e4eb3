//! Field sets, conflicts and merging of server-side apply.

use serde_json::{Value, json};

use super::*;

fn req<'a>(config: &'a Value, manager: &'a str, force: bool) -> ApplyRequest<'a> {
    ApplyRequest {
        config,
        manager,
        force,
        now: "2026-01-01T00:00:00Z",
        group: "apps",
        plural: "deployments",
    }
}

fn deployment(replicas: i64, image: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": image,
                    "ports": [{"containerPort": 80, "protocol": "TCP"}]}]}}}})
}

fn empty() -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"}})
}

#[test]
fn field_sets_use_the_fieldsv1_form() {
    let set = fields_of(&deployment(2, "web:1"));
    assert_eq!(set["f:spec"]["f:replicas"], json!({}));
    assert_eq!(set["f:metadata"]["f:labels"]["f:app"], json!({}));
    assert!(set["f:metadata"].get("f:name").is_none());
    let c = &set["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"app\"}"];
    assert_eq!(c["."], json!({}));
    assert_eq!(c["f:image"], json!({}));
    assert_eq!(
        c["f:ports"]["k:{\"containerPort\":80,\"protocol\":\"TCP\"}"]["."],
        json!({})
    );
    let p = vec![
        "f:spec".to_string(),
        "f:template".into(),
        "f:spec".into(),
        "f:containers".into(),
        "k:{\"name\":\"app\"}".into(),
        "f:image".into(),
    ];
    assert_eq!(
        path_text(&p),
        ".spec.template.spec.containers[name=\"app\"].image"
    );
}

#[test]
fn applying_twice_is_quiet_and_another_manager_conflicts() {
    let first = apply(&empty(), &req(&deployment(2, "web:1"), "kubectl", false)).unwrap();
    assert_eq!(first["spec"]["replicas"], 2);
    assert_eq!(first["metadata"]["managedFields"][0]["manager"], "kubectl");
    assert_eq!(first["metadata"]["managedFields"][0]["operation"], "Apply");
    let again = apply(&first, &req(&deployment(2, "web:1"), "kubectl", false)).unwrap();
    assert_eq!(again["spec"], first["spec"]);
    // The same values from another manager: shared, no conflict.
    let shared = apply(&again, &req(&deployment(2, "web:1"), "other", false)).unwrap();
    assert_eq!(
        shared["metadata"]["managedFields"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Different values: a conflict naming each field and manager.
    let e = apply(&again, &req(&deployment(3, "web:2"), "other", false)).unwrap_err();
    assert_eq!(e.code, 409);
    assert_eq!(
        e.message,
        "Apply failed with 2 conflicts: conflicts with \"kubectl\":\n- .spec.replicas\n- .spec.template.spec.containers[name=\"app\"].image"
    );
    let one = apply(
        &again,
        &req(
            &json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": 5}}),
            "other",
            false,
        ),
    )
    .unwrap_err();
    assert_eq!(
        one.message,
        "Apply failed with 1 conflict: conflict with \"kubectl\": .spec.replicas"
    );
    // Forced: the fields move to the new manager.
    let forced = apply(&again, &req(&deployment(3, "web:2"), "other", true)).unwrap();
    assert_eq!(forced["spec"]["replicas"], 3);
    let kubectl = forced["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["manager"] == "kubectl")
        .unwrap();
    assert!(kubectl["fieldsV1"]["f:spec"].get("f:replicas").is_none());
}

#[test]
fn fields_left_out_of_a_later_apply_are_removed() {
    let mut with_env = deployment(2, "web:1");
    with_env["spec"]["template"]["spec"]["containers"][0]["env"] =
        json!([{"name": "A", "value": "1"}]);
    with_env["metadata"]["labels"]["tier"] = json!("front");
    let first = apply(&empty(), &req(&with_env, "helm", false)).unwrap();
    let second = apply(&first, &req(&deployment(2, "web:1"), "helm", false)).unwrap();
    assert!(second["metadata"]["labels"].get("tier").is_none());
    assert!(
        second["spec"]["template"]["spec"]["containers"][0]
            .get("env")
            .is_none()
    );
    assert_eq!(second["metadata"]["labels"]["app"], "web");
}

#[test]
fn updates_take_the_fields_they_change_without_conflict() {
    let applied = apply(&empty(), &req(&deployment(2, "web:1"), "kubectl", false)).unwrap();
    let mut scaled = applied.clone();
    scaled["spec"]["replicas"] = json!(5);
    track_update(
        Some(&applied),
        &mut scaled,
        "kubectl-scale",
        "2026-01-01T00:01:00Z",
        "apps/v1",
    );
    let m = scaled["metadata"]["managedFields"].as_array().unwrap();
    let upd = m.iter().find(|e| e["manager"] == "kubectl-scale").unwrap();
    assert_eq!(upd["operation"], "Update");
    assert_eq!(upd["fieldsV1"], json!({"f:spec": {"f:replicas": {}}}));
    // Applying the old value again now conflicts with the updater, named as the API server names it.
    let e = apply(&scaled, &req(&deployment(2, "web:1"), "kubectl", false)).unwrap_err();
    assert_eq!(
        e.message,
        "Apply failed with 1 conflict: conflict with \"kubectl-scale\" using apps/v1 at 2026-01-01T00:01:00Z: .spec.replicas"
    );
}
