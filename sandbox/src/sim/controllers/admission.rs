//! The API server's admission of a pod a controller creates: the ServiceAccount must exist,
//! LimitRanges default and bound container resources, ResourceQuotas cap what the
//! namespace's pods request. Refusals are worded as the API server words them.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::active;
use crate::sim::kinds::Kinds;
use crate::sim::object::{arr, name, namespace, s};
use crate::sim::quantity::{cpu_millis, quantity};
use crate::store::Store;

/// Admits `pod`, to be created by `owner` in its namespace: the pod as LimitRanges default
/// it, or the API server's refusal, naming the pod as it was asked for (`web-7d9f8-` for a
/// generated name).
pub fn admit(store: &Store, owner: &Value, asked: &str, mut pod: Value) -> Result<Value, String> {
    let ns = namespace(owner).to_string();
    let forbidden = |why: String| format!("pods \"{asked}\" is forbidden: {why}");
    let sa = s(&pod, "/spec/serviceAccountName");
    if !sa.is_empty() && sa != "default" && store.get(Kinds::serviceaccounts(), &ns, sa).is_none() {
        return Err(forbidden(format!(
            "error looking up service account {ns}/{sa}: serviceaccount \"{sa}\" not found"
        )));
    }
    for lr in store.list(Kinds::limitranges(), Some(&ns)) {
        limit_range(&lr, &mut pod).map_err(forbidden)?;
    }
    let quotas = store.list(Kinds::resourcequotas(), Some(&ns));
    if quotas.is_empty() {
        return Ok(pod);
    }
    let pods = store.list(Kinds::pods(), Some(&ns));
    let used = usage(pods.iter().filter(|p| active(p)).map(|p| &**p));
    let asked = usage(std::iter::once(&pod));
    for q in &quotas {
        quota(q, &pod, &used, &asked).map_err(forbidden)?;
    }
    Ok(pod)
}

/// Applies a LimitRange's `Container` defaults to the pod's containers and checks its
/// `Container` and `Pod` minimums and maximums.
fn limit_range(lr: &Value, pod: &mut Value) -> Result<(), String> {
    let mut errors = Vec::new();
    for item in arr(lr, "/spec/limits") {
        if s(item, "/type") != "Container" {
            continue;
        }
        for list in ["containers", "initContainers"] {
            for c in pod["spec"][list].as_array_mut().into_iter().flatten() {
                for (field, defaults) in [("limits", "default"), ("requests", "defaultRequest")] {
                    for (res, v) in item[defaults].as_object().into_iter().flatten() {
                        if c["resources"][field].get(res).is_none() {
                            c["resources"][field][res] = v.clone();
                        }
                    }
                }
                // A request defaults to the limit.
                for (res, v) in c["resources"]["limits"]
                    .clone()
                    .as_object()
                    .into_iter()
                    .flatten()
                {
                    if c["resources"]["requests"].get(res).is_none() {
                        c["resources"]["requests"][res] = v.clone();
                    }
                }
            }
        }
    }
    for item in arr(lr, "/spec/limits") {
        let scope = s(item, "/type");
        let sets: Vec<(Value, Value)> = match scope {
            "Container" => arr(pod, "/spec/containers")
                .iter()
                .map(|c| {
                    (
                        c["resources"]["requests"].clone(),
                        c["resources"]["limits"].clone(),
                    )
                })
                .collect(),
            "Pod" => vec![(sum(pod, "requests"), sum(pod, "limits"))],
            _ => continue,
        };
        for (requests, limits) in sets {
            bounds(item, scope, &requests, &limits, &mut errors);
        }
    }
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.remove(0)),
        _ => Err(format!("[{}]", errors.join(", "))),
    }
}

/// The pod's requests or limits summed over its containers.
fn sum(pod: &Value, field: &str) -> Value {
    let mut out: BTreeMap<String, f64> = BTreeMap::new();
    for c in arr(pod, "/spec/containers") {
        for (res, v) in c["resources"][field].as_object().into_iter().flatten() {
            *out.entry(res.clone()).or_default() += quantity(v).unwrap_or(0.0);
        }
    }
    let out: serde_json::Map<String, Value> = out
        .into_iter()
        .map(|(res, n)| {
            let n = if res == "cpu" { n * 1000.0 } else { n };
            let text = format_quantity(&res, n);
            (res, json!(text))
        })
        .collect();
    Value::Object(out)
}

/// Checks one LimitRange item's `max` and `min` against requests and limits.
fn bounds(item: &Value, scope: &str, requests: &Value, limits: &Value, errors: &mut Vec<String>) {
    for (res, max) in item["max"].as_object().into_iter().flatten() {
        match limits.get(res) {
            None => errors.push(format!(
                "maximum {res} usage per {scope} is {}, but no limit is specified",
                text(max)
            )),
            Some(l) if quantity(l) > quantity(max) => errors.push(format!(
                "maximum {res} usage per {scope} is {}, but limit is {}",
                text(max),
                text(l)
            )),
            _ => {}
        }
    }
    for (res, min) in item["min"].as_object().into_iter().flatten() {
        match requests.get(res) {
            None => errors.push(format!(
                "minimum {res} usage per {scope} is {}, but no request is specified",
                text(min)
            )),
            Some(r) if quantity(r) < quantity(min) => errors.push(format!(
                "minimum {res} usage per {scope} is {}, but request is {}",
                text(min),
                text(r)
            )),
            _ => {}
        }
    }
}

fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

/// What pods use in a quota's terms: `pods`, `requests.cpu`, `limits.memory`, `cpu` ...,
/// in base units (millicores for CPU).
pub fn usage<'a>(pods: impl Iterator<Item = &'a Value>) -> BTreeMap<String, f64> {
    let mut used: BTreeMap<String, f64> = BTreeMap::new();
    for p in pods {
        *used.entry("pods".into()).or_default() += 1.0;
        *used.entry("count/pods".into()).or_default() += 1.0;
        for c in arr(p, "/spec/containers") {
            for field in ["requests", "limits"] {
                for (res, v) in c["resources"][field].as_object().into_iter().flatten() {
                    let n = if res == "cpu" {
                        cpu_millis(v) as f64
                    } else {
                        quantity(v).unwrap_or(0.0)
                    };
                    *used.entry(format!("{field}.{res}")).or_default() += n;
                    if field == "requests" && matches!(res.as_str(), "cpu" | "memory") {
                        *used.entry(res.clone()).or_default() += n;
                    }
                }
            }
        }
    }
    used
}

/// A quota's `hard` entry in base units (millicores for CPU).
fn hard_value(res: &str, v: &Value) -> f64 {
    if res.ends_with("cpu") {
        cpu_millis(v) as f64
    } else {
        quantity(v).unwrap_or(0.0)
    }
}

/// A quantity as the API server prints it: `500m`, `2`, `512Mi`, `3`.
pub fn format_quantity(res: &str, n: f64) -> String {
    if res.ends_with("cpu") {
        let m = n.round() as i64;
        return if m % 1000 == 0 {
            (m / 1000).to_string()
        } else {
            format!("{m}m")
        };
    }
    let b = n.round() as i64;
    if res.ends_with("memory") || res.ends_with("storage") {
        for (unit, size) in [("Gi", 1i64 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)] {
            if b != 0 && b % size == 0 {
                return format!("{}{unit}", b / size);
            }
        }
    }
    b.to_string()
}

/// Checks one ResourceQuota: every constrained resource specified by every container, and
/// what is used plus what the pod asks within `hard`.
fn quota(
    q: &Value,
    pod: &Value,
    used: &BTreeMap<String, f64>,
    asked: &BTreeMap<String, f64>,
) -> Result<(), String> {
    let hard = q["spec"]["hard"].as_object().cloned().unwrap_or_default();
    let qname = name(q);
    let mut missing = Vec::new();
    for res in hard.keys() {
        let Some((field, r)) = res.split_once('.') else {
            continue;
        };
        if !matches!(field, "requests" | "limits") || !matches!(r, "cpu" | "memory") {
            continue;
        }
        let without: Vec<&str> = arr(pod, "/spec/containers")
            .iter()
            .filter(|c| c["resources"][field].get(r).is_none())
            .map(|c| s(c, "/name"))
            .collect();
        if !without.is_empty() {
            missing.push(format!("{res} for: {}", without.join(",")));
        }
    }
    if !missing.is_empty() {
        return Err(format!(
            "failed quota: {qname}: must specify {}",
            missing.join("; ")
        ));
    }
    let over: Vec<&String> = hard
        .keys()
        .filter(|res| {
            let want = asked.get(*res).copied().unwrap_or(0.0);
            want > 0.0
                && used.get(*res).copied().unwrap_or(0.0) + want > hard_value(res, &hard[*res])
        })
        .collect();
    if over.is_empty() {
        return Ok(());
    }
    let list = |f: &dyn Fn(&str) -> f64| {
        over.iter()
            .map(|r| format!("{r}={}", format_quantity(r, f(r))))
            .collect::<Vec<_>>()
            .join(",")
    };
    Err(format!(
        "exceeded quota: {qname}, requested: {}, used: {}, limited: {}",
        list(&|r| asked.get(r).copied().unwrap_or(0.0)),
        list(&|r| used.get(r).copied().unwrap_or(0.0)),
        list(&|r| hard_value(r, &hard[r])),
    ))
}

/// The quota's `status`: `hard` as given and what the namespace's pods use of it.
pub fn quota_status(q: &Value, used: &BTreeMap<String, f64>) -> Value {
    let hard = q["spec"]["hard"].as_object().cloned().unwrap_or_default();
    let used: serde_json::Map<String, Value> = hard
        .keys()
        .map(|res| {
            let n = used.get(res).copied().unwrap_or(0.0);
            (res.clone(), json!(format_quantity(res, n)))
        })
        .collect();
    json!({"hard": hard, "used": used})
}

/// Keeps the status of every simulated ResourceQuota up to date.
pub fn quotas(sim: &mut crate::sim::Simulator, store: &mut Store) {
    for q in sim.scoped_trees(store, Kinds::resourcequotas()) {
        if sim.is_frozen(&q) {
            continue;
        }
        let pods = store.list(Kinds::pods(), Some(namespace(&q)));
        let used = usage(pods.iter().filter(|p| active(p)).map(|p| &**p));
        let status = quota_status(&q, &used);
        if q.get("status") != Some(&status) {
            let mut v = (*q).clone();
            v["status"] = status;
            sim.write(store, Kinds::resourcequotas(), v);
        }
    }
}
