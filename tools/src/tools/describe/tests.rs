//! Tests of the description sections: env references, metadata masking, flattening.

use super::sections::{env_value, flatten, metadata};
use super::*;
use crate::mask::MASK;

#[test]
fn env_values_are_references_or_masked() {
    assert_eq!(
        env_value(
            &json!({"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "backend-secrets", "key": "db-url"}}})
        ),
        "<secret backend-secrets/db-url>"
    );
    assert_eq!(
        env_value(
            &json!({"name": "LEVEL", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "level"}}})
        ),
        "<configmap cfg/level>"
    );
    assert_eq!(
        env_value(&json!({"name": "API_TOKEN", "value": "tok-CANARY-91b2e4"})),
        MASK
    );
    assert_eq!(
        env_value(&json!({"name": "LOG_LEVEL", "value": "debug"})),
        "debug"
    );
    assert_eq!(
        env_value(&json!({"name": "DB", "value": "postgres://u:hunter2@db/x"})),
        "postgres://u:****@db/x"
    );
}

#[test]
fn metadata_drops_last_applied_and_masks_annotations() {
    let obj = json!({"metadata": {"name": "x", "annotations": {
        "kubectl.kubernetes.io/last-applied-configuration": "{\"data\":{\"password\":\"hunter2\"}}",
        "ci/token": "abc",
        "note": "uses postgres://u:pw@db/x"}}});
    let mut d = Doc {
        lines: Vec::new(),
        json: Map::new(),
    };
    metadata(&mut d, &obj, jiff::Timestamp::UNIX_EPOCH);
    let all = format!("{}{}", d.lines.join("\n"), Value::Object(d.json));
    assert!(
        !all.contains("last-applied") && !all.contains("hunter2"),
        "{all}"
    );
    assert!(!all.contains("abc") && !all.contains(":pw@"), "{all}");
    assert!(all.contains("ci/token=****"), "{all}");
}

#[test]
fn generic_flatten_masks() {
    let mut out = Vec::new();
    flatten(
        "",
        &json!({"a": {"b": 1, "password": "x"}, "c": ["token=abc", "ok"]}),
        &mut out,
        0,
    );
    let text = format!("{out:?}");
    assert!(text.contains("a.b") && text.contains("c[1]"));
    assert!(!text.contains("\"x\"") && !text.contains("abc"), "{text}");
}
