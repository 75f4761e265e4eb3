//! Label selectors: a Service's plain map and the `LabelSelector` of workloads.

use serde_json::Value;

use super::object::arr;

/// Whether a plain label map selector (a Service's) matches `labels`. Empty matches nothing.
pub fn map_selects(selector: &Value, labels: &Value) -> bool {
    let Some(sel) = selector.as_object() else {
        return false;
    };
    !sel.is_empty() && sel.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Whether a `LabelSelector` (`matchLabels`, `matchExpressions`) matches `labels`.
/// An empty selector matches everything, as in Kubernetes.
pub fn selects(selector: &Value, labels: &Value) -> bool {
    if let Some(m) = selector["matchLabels"].as_object()
        && !m.iter().all(|(k, v)| labels.get(k) == Some(v))
    {
        return false;
    }
    arr(selector, "/matchExpressions").iter().all(|e| {
        let key = e["key"].as_str().unwrap_or("");
        let values: Vec<&str> = arr(e, "/values").iter().filter_map(Value::as_str).collect();
        let have = labels.get(key).and_then(Value::as_str);
        match e["operator"].as_str().unwrap_or("") {
            "In" => have.is_some_and(|h| values.contains(&h)),
            "NotIn" => have.is_none_or(|h| !values.contains(&h)),
            "Exists" => have.is_some(),
            "DoesNotExist" => have.is_none(),
            _ => false,
        }
    })
}
