//! Tests of the controllers' arithmetic.

use serde_json::{Value, json};

use super::deployments::resolve;

#[test]
fn surge_and_unavailable_round_like_kubernetes() {
    assert_eq!(resolve(&Value::Null, "25%", 2, true), 1);
    assert_eq!(resolve(&Value::Null, "25%", 2, false), 0);
    assert_eq!(resolve(&json!("50%"), "25%", 3, true), 2);
    assert_eq!(resolve(&json!(2), "25%", 10, false), 2);
    assert_eq!(resolve(&json!("1"), "25%", 10, false), 1);
}
