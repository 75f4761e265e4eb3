//! The Eviction API (`pods/eviction`, policy/v1 Eviction): a pod is evicted only if every
//! PodDisruptionBudget covering it allows one more disruption, as the API server decides it.

use serde_json::{Value, json};

use crate::clock::rfc3339;
use crate::error::ApiError;
use crate::resources::by_plural;
use crate::sim::labels::selects;
use crate::store::Store;

/// What a PodDisruptionBudget allows now, computed from the pods it selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    /// The budget's name.
    pub name: String,
    /// Pods the budget counts (selected and not finished).
    pub expected: i64,
    /// Of those, the Ready ones.
    pub healthy: i64,
    /// How many must stay healthy.
    pub desired: i64,
}

impl Budget {
    /// Disruptions allowed now.
    pub fn allowed(&self) -> i64 {
        (self.healthy - self.desired).max(0)
    }
}

fn ready(pod: &Value) -> bool {
    pod.pointer("/metadata/deletionTimestamp").is_none()
        && pod
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
}

fn finished(pod: &Value) -> bool {
    matches!(
        pod.pointer("/status/phase").and_then(Value::as_str),
        Some("Succeeded") | Some("Failed")
    )
}

/// `minAvailable`/`maxUnavailable` as a count of `total`: an int, or a percentage rounded up.
fn scaled(v: &Value, total: i64) -> i64 {
    match v {
        Value::String(s) => match s.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()) {
            Some(p) => (p * total + 99) / 100,
            None => s.parse().unwrap_or(0),
        },
        other => other.as_i64().unwrap_or(0),
    }
}

/// The budget of one PodDisruptionBudget over the pods of its namespace.
pub fn budget(pdb: &Value, pods: &[std::sync::Arc<Value>]) -> Budget {
    let sel = pdb.pointer("/spec/selector").cloned().unwrap_or(json!({}));
    let empty = json!({});
    let selected: Vec<&Value> = pods
        .iter()
        .map(|p| &**p)
        .filter(|p| !finished(p))
        .filter(|p| selects(&sel, p.pointer("/metadata/labels").unwrap_or(&empty)))
        .collect();
    let expected = selected.len() as i64;
    let healthy = selected.iter().filter(|p| ready(p)).count() as i64;
    let desired = match (
        pdb.pointer("/spec/minAvailable"),
        pdb.pointer("/spec/maxUnavailable"),
    ) {
        (Some(min), _) => scaled(min, expected),
        (None, Some(max)) => (expected - scaled(max, expected)).max(0),
        (None, None) => expected,
    };
    Budget {
        name: pdb["metadata"]["name"].as_str().unwrap_or("").to_string(),
        expected,
        healthy,
        desired,
    }
}

/// Decides the eviction of pod `name` in `namespace`: `Ok` if it may go (the budget that
/// allowed it is charged in its status), `429` naming the budget if not. Deleting the pod is
/// the caller's part, the same deletion as a DELETE.
pub fn admit(store: &mut Store, namespace: &str, name: &str) -> Result<(), ApiError> {
    let (Some(pods_rt), Some(pdb_rt)) = (
        by_plural("", "pods"),
        by_plural("policy", "poddisruptionbudgets"),
    ) else {
        return Err(ApiError::internal(
            "pods or poddisruptionbudgets are not served",
        ));
    };
    let pod = store
        .get(pods_rt, namespace, name)
        .ok_or_else(|| ApiError::not_found("", "pods", name))?;
    // As the API server: a pod that is not running, or already going, ignores budgets.
    let phase = pod.pointer("/status/phase").and_then(Value::as_str);
    if matches!(phase, Some("Succeeded" | "Failed" | "Pending"))
        || pod.pointer("/metadata/deletionTimestamp").is_some()
    {
        return Ok(());
    }
    let empty = json!({});
    let labels = pod.pointer("/metadata/labels").unwrap_or(&empty);
    let pdbs: Vec<_> = store
        .list(pdb_rt, Some(namespace))
        .into_iter()
        .filter(|b| {
            b.pointer("/spec/selector")
                .is_some_and(|s| s.as_object().is_some_and(|m| !m.is_empty()) && selects(s, labels))
        })
        .collect();
    let pdb = match pdbs.as_slice() {
        [] => return Ok(()),
        [one] => one.clone(),
        _ => {
            return Err(ApiError::internal(
                "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
            ));
        }
    };
    let pods = store.list(pods_rt, Some(namespace));
    let b = budget(&pdb, &pods);
    if b.allowed() <= 0 {
        return Err(ApiError {
            code: 429,
            reason: "TooManyRequests",
            message: "Cannot evict pod as it would violate the pod's disruption budget.".into(),
            details: Some(json!({"causes": [{"reason": "DisruptionBudget",
                "message": format!("The disruption budget {} needs {} healthy pods and has {} currently",
                    b.name, b.desired, b.healthy)}]})),
        });
    }
    let mut charged = (*pdb).clone();
    let now = rfc3339(store.clock().now());
    charged["status"]["disruptionsAllowed"] = json!(b.allowed() - 1);
    charged["status"]["currentHealthy"] = json!(b.healthy);
    charged["status"]["desiredHealthy"] = json!(b.desired);
    charged["status"]["expectedPods"] = json!(b.expected);
    charged["status"]["disruptedPods"][name] = json!(now);
    store.update(pdb_rt, charged)?;
    Ok(())
}

/// Keeps each PodDisruptionBudget's status (`currentHealthy`, `desiredHealthy`,
/// `expectedPods`, `disruptionsAllowed`) up to date with its pods, as the disruption
/// controller does; writes only budgets whose status changed.
pub fn refresh_budgets(store: &mut Store) {
    let (Some(pods_rt), Some(pdb_rt)) = (
        by_plural("", "pods"),
        by_plural("policy", "poddisruptionbudgets"),
    ) else {
        return;
    };
    let now = rfc3339(store.clock().now());
    for pdb in store.list(pdb_rt, None) {
        let ns = pdb["metadata"]["namespace"].as_str().unwrap_or("");
        let b = budget(&pdb, &store.list(pods_rt, Some(ns)));
        let mut next = (*pdb).clone();
        let st = &mut next["status"];
        st["currentHealthy"] = json!(b.healthy);
        st["desiredHealthy"] = json!(b.desired);
        st["expectedPods"] = json!(b.expected);
        st["disruptionsAllowed"] = json!(b.allowed());
        if let Some(g) = pdb.pointer("/metadata/generation") {
            st["observedGeneration"] = g.clone();
        }
        let (allowed, reason) = if b.allowed() > 0 {
            ("True", "SufficientPods")
        } else {
            ("False", "InsufficientPods")
        };
        let since = pdb
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .and_then(|cs| cs.iter().find(|c| c["type"] == "DisruptionAllowed"))
            .filter(|c| c["status"] == allowed)
            .and_then(|c| c.get("lastTransitionTime"))
            .filter(|t| t.is_string())
            .cloned()
            .unwrap_or_else(|| json!(now));
        st["conditions"] = json!([{"type": "DisruptionAllowed", "status": allowed,
            "reason": reason, "message": "", "observedGeneration": st["observedGeneration"],
            "lastTransitionTime": since}]);
        if next != *pdb {
            // A budget that changed meanwhile is refreshed on the next pass.
            let _ = store.update(pdb_rt, next);
        }
    }
}

/// The `Status` an accepted eviction answers with.
pub fn accepted() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})
}

#[cfg(test)]
mod tests;
