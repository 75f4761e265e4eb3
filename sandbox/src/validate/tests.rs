use serde_json::json;

use super::*;
use crate::resources::by_kind;

fn deployment() -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "shop/web:1",
                    "ports": [{"containerPort": 8000}],
                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "1"}}}]}}}})
}

fn run(obj: &mut Value, mode: FieldValidation) -> Result<Vec<String>, ApiError> {
    let rt = by_kind(
        obj["apiVersion"].as_str().unwrap(),
        obj["kind"].as_str().unwrap(),
    )
    .unwrap();
    check(rt, obj, mode)
}

#[test]
fn a_valid_deployment_passes() {
    let mut d = deployment();
    assert_eq!(
        run(&mut d, FieldValidation::Strict).unwrap(),
        Vec::<String>::new()
    );
}

#[test]
fn negative_replicas_are_invalid_with_the_api_server_wording() {
    let mut d = deployment();
    d["spec"]["replicas"] = json!(-1);
    let e = run(&mut d, FieldValidation::Warn).unwrap_err();
    assert_eq!(e.code, 422);
    assert_eq!(
        e.message,
        "Deployment.apps \"web\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0"
    );
    assert_eq!(e.details.unwrap()["causes"][0]["field"], "spec.replicas");
}

#[test]
fn selectors_must_exist_and_match_the_template() {
    let mut d = deployment();
    d["spec"].as_object_mut().unwrap().remove("selector");
    let e = run(&mut d, FieldValidation::Warn).unwrap_err();
    assert_eq!(
        e.message,
        "Deployment.apps \"web\" is invalid: [spec.selector: Required value, spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`]"
    );
    let mut d = deployment();
    d["spec"]["selector"]["matchLabels"]["app"] = json!("api");
    let e = run(&mut d, FieldValidation::Warn).unwrap_err();
    assert!(
        e.message
            .contains("`selector` does not match template `labels`"),
        "{}",
        e.message
    );
}

#[test]
fn containers_images_enums_and_quantities() {
    let mut p = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}});
    let e = run(&mut p, FieldValidation::Warn).unwrap_err();
    assert_eq!(
        e.message,
        "Pod \"p\" is invalid: spec.containers: Required value"
    );
    let mut p = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"restartPolicy": "Sometimes", "containers": [{"name": "a"}]}});
    let e = run(&mut p, FieldValidation::Warn).unwrap_err();
    assert!(
        e.message
            .contains("spec.containers[0].image: Required value"),
        "{}",
        e.message
    );
    assert!(
        e.message.contains("spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\""),
        "{}",
        e.message
    );
    let mut d = deployment();
    d["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] = json!("lots");
    let e = run(&mut d, FieldValidation::Warn).unwrap_err();
    assert_eq!(e.code, 400);
    assert!(
        e.message.starts_with(
            "Deployment in version \"v1\" cannot be handled as a Deployment: quantities must match"
        ),
        "{}",
        e.message
    );
    let mut d = deployment();
    d["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"] = json!("50m");
    let e = run(&mut d, FieldValidation::Warn).unwrap_err();
    assert!(e.message.contains("spec.template.spec.containers[0].resources.requests: Invalid value: \"100m\": must be less than or equal to cpu limit of 50m"), "{}", e.message);
    assert_eq!(parse_quantity("1Gi"), Some(1024f64.powi(3)));
    assert_eq!(parse_quantity("1e3"), Some(1000.0));
    assert_eq!(parse_quantity("abc"), None);
}

#[test]
fn wrong_types_and_unknown_fields_follow_field_validation() {
    let mut d = deployment();
    d["spec"]["replicas"] = json!("three");
    let e = run(&mut d, FieldValidation::Ignore).unwrap_err();
    assert_eq!(e.code, 400);
    assert_eq!(
        e.message,
        "Deployment in version \"v1\" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field Deployment.spec.replicas of type int32"
    );
    let mut d = deployment();
    d["spec"]["replica"] = json!(3);
    d["spec"]["template"]["spec"]["containers"][0]["imag"] = json!("x");
    let e = run(&mut d.clone(), FieldValidation::Strict).unwrap_err();
    assert_eq!(
        e.message,
        "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: unknown field \"spec.replica\", unknown field \"spec.template.spec.containers[0].imag\""
    );
    let warnings = run(&mut d, FieldValidation::Warn).unwrap();
    assert_eq!(
        warnings,
        vec![
            "unknown field \"spec.replica\"",
            "unknown field \"spec.template.spec.containers[0].imag\""
        ]
    );
    assert!(
        d["spec"].get("replica").is_none(),
        "unknown fields are dropped"
    );
    assert!(FieldValidation::parse(Some("Loud")).is_err());
}

#[test]
fn services_names_and_jobs() {
    let mut s = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "1web"},
        "spec": {"type": "Cluster", "ports": [{"port": 70000}]}});
    let e = run(&mut s, FieldValidation::Warn).unwrap_err();
    assert!(
        e.message
            .contains("metadata.name: Invalid value: \"1web\": a DNS-1035 label"),
        "{}",
        e.message
    );
    assert!(
        e.message
            .contains("spec.type: Unsupported value: \"Cluster\""),
        "{}",
        e.message
    );
    assert!(
        e.message.contains(
            "spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive"
        ),
        "{}",
        e.message
    );
    let mut j = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
        "spec": {"template": {"spec": {"containers": [{"name": "a", "image": "x"}]}}}});
    let e = run(&mut j, FieldValidation::Warn).unwrap_err();
    assert_eq!(
        e.message,
        "Job.batch \"j\" is invalid: spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\""
    );
    let mut bad = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"app": "bad value!"}},
        "data": {"bad key": "x"}});
    let e = run(&mut bad, FieldValidation::Warn).unwrap_err();
    assert!(
        e.message
            .contains("metadata.labels: Invalid value: \"bad value!\""),
        "{}",
        e.message
    );
    assert!(
        e.message
            .contains("data[bad key]: Invalid value: \"bad key\""),
        "{}",
        e.message
    );
}
