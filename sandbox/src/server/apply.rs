//! Server-side apply and field ownership: `managedFields` as the API server keeps them.
//!
//! An object's fields are owned by field managers. An apply (`application/apply-patch+yaml`
//! with `fieldManager`) states the whole set of fields its manager wants: fields another
//! manager owns with a different value are conflicts (409, unless `force=true`, which takes
//! them over); fields the manager applied before and now leaves out are removed unless
//! someone else owns them. Every other write (create, update, patch) gives its manager the
//! fields it changed, without conflicts. Field sets are kept in the `FieldsV1` form clients
//! read: `{"f:spec": {"f:replicas": {}}}`, list items by key `k:{"name":"app"}`.

#[cfg(test)]
mod tests;

use serde_json::{Map, Value, json};

use crate::error::ApiError;
use crate::server::patch::merge_key;

/// One path into an object, as FieldsV1 keys (`f:spec`, `k:{"name":"app"}`, `v:"x"`, `.`).
type Path = Vec<String>;

/// Fields no manager owns: identity, bookkeeping, and status (written through its own
/// subresource).
fn untracked(path: &[&str]) -> bool {
    matches!(
        path,
        ["apiVersion"]
            | ["kind"]
            | ["status"]
            | ["metadata", "managedFields"]
            | ["metadata", "name"]
            | ["metadata", "namespace"]
            | ["metadata", "uid"]
            | ["metadata", "resourceVersion"]
            | ["metadata", "generation"]
            | ["metadata", "creationTimestamp"]
            | ["metadata", "deletionTimestamp"]
            | ["metadata", "deletionGracePeriodSeconds"]
            | ["metadata", "selfLink"]
    )
}

/// The keys that identify the items of list `field`, if its items merge by key.
fn list_keys(field: &str, items: &[Value]) -> Option<Vec<&'static str>> {
    let key = merge_key(field, items)?;
    let mut keys = vec![key];
    // Ports are told apart by number and protocol.
    if field == "ports" {
        keys.push("protocol");
    }
    items.iter().all(|i| i.get(key).is_some()).then_some(keys)
}

/// Lists of scalars whose items are owned one by one.
fn is_set(field: &str) -> bool {
    field == "finalizers"
}

fn item_key(item: &Value, keys: &[&str]) -> String {
    let mut m = Map::new();
    for k in keys {
        if let Some(v) = item.get(*k) {
            m.insert((*k).to_string(), v.clone());
        } else if *k == "protocol" {
            // The API server defaults an applied port's protocol to TCP before merging, so a
            // re-apply without it names the same item as the stored (defaulted) one.
            m.insert("protocol".to_string(), Value::String("TCP".to_string()));
        }
    }
    format!("k:{}", Value::Object(m))
}

/// The FieldsV1 set of every field set in `obj`.
pub(crate) fn fields_of(obj: &Value) -> Value {
    let mut out = Map::new();
    if let Some(m) = obj.as_object() {
        for (k, v) in m {
            if untracked(&[k.as_str()]) {
                continue;
            }
            let node = if k == "metadata" {
                metadata_fields(v)
            } else {
                value_fields(k, v)
            };
            if k != "metadata" || node.as_object().is_some_and(|n| !n.is_empty()) {
                out.insert(format!("f:{k}"), node);
            }
        }
    }
    Value::Object(out)
}

fn metadata_fields(meta: &Value) -> Value {
    let mut out = Map::new();
    for (k, v) in meta.as_object().into_iter().flatten() {
        if !untracked(&["metadata", k.as_str()]) {
            out.insert(format!("f:{k}"), value_fields(k, v));
        }
    }
    Value::Object(out)
}

fn value_fields(field: &str, v: &Value) -> Value {
    match v {
        Value::Object(m) if !m.is_empty() => {
            let mut out = Map::new();
            for (k, c) in m {
                out.insert(format!("f:{k}"), value_fields(k, c));
            }
            Value::Object(out)
        }
        Value::Array(items) if is_set(field) => Value::Object(
            items
                .iter()
                .map(|i| (format!("v:{i}"), json!({})))
                .collect(),
        ),
        Value::Array(items) => match list_keys(field, items) {
            Some(keys) => {
                let mut out = Map::new();
                for item in items {
                    let mut node = match value_fields("", item) {
                        Value::Object(n) => n,
                        _ => Map::new(),
                    };
                    node.insert(".".into(), json!({}));
                    out.insert(item_key(item, &keys), Value::Object(node));
                }
                Value::Object(out)
            }
            None => json!({}),
        },
        _ => json!({}),
    }
}

/// Every leaf path of a field set.
pub(crate) fn leaves(set: &Value) -> Vec<Path> {
    fn walk(node: &Value, prefix: &mut Path, out: &mut Vec<Path>) {
        match node.as_object() {
            Some(m) if !m.is_empty() => {
                for (k, child) in m {
                    prefix.push(k.clone());
                    walk(child, prefix, out);
                    prefix.pop();
                }
            }
            _ => out.push(prefix.clone()),
        }
    }
    let mut out = Vec::new();
    walk(set, &mut Vec::new(), &mut out);
    out.retain(|p| !p.is_empty());
    out
}

/// The field set holding exactly `paths`.
pub(crate) fn set_of(paths: &[Path]) -> Value {
    let mut root = Map::new();
    for p in paths {
        let mut node = &mut root;
        for (i, seg) in p.iter().enumerate() {
            let child = node.entry(seg.clone()).or_insert_with(|| json!({}));
            if i + 1 == p.len() {
                break;
            }
            let Some(next) = child.as_object_mut() else {
                break;
            };
            node = next;
        }
    }
    Value::Object(root)
}

/// The value at a path of an object, if set. `.` is the list item itself.
fn value_at<'a>(obj: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = obj;
    for seg in path {
        if seg == "." {
            continue;
        }
        cur = if let Some(f) = seg.strip_prefix("f:") {
            cur.get(f)?
        } else if let Some(k) = seg.strip_prefix("k:") {
            let keys: Map<String, Value> = serde_json::from_str(k).ok()?;
            cur.as_array()?
                .iter()
                .find(|i| keys.iter().all(|(kk, kv)| i.get(kk) == Some(kv)))?
        } else if let Some(v) = seg.strip_prefix("v:") {
            let want: Value = serde_json::from_str(v).ok()?;
            cur.as_array()?.iter().find(|i| **i == want)?
        } else {
            return None;
        };
    }
    Some(cur)
}

/// A path as the API server prints it: `.spec.containers[name="app"].image`.
pub(crate) fn path_text(path: &[String]) -> String {
    let mut out = String::new();
    for seg in path {
        if let Some(f) = seg.strip_prefix("f:") {
            out.push('.');
            out.push_str(f);
        } else if let Some(k) = seg.strip_prefix("k:") {
            let keys: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
            let parts: Vec<String> = keys.iter().map(|(k, v)| format!("{k}={v}")).collect();
            out.push_str(&format!("[{}]", parts.join(",")));
        } else if let Some(v) = seg.strip_prefix("v:") {
            out.push_str(&format!("[={v}]"));
        }
    }
    out
}

/// One entry of `metadata.managedFields`.
fn entries(obj: &Value) -> Vec<Value> {
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn is_entry(e: &Value, manager: &str, operation: &str) -> bool {
    e["manager"] == manager && e["operation"] == operation && e.get("subresource").is_none()
}

/// How the API server names a manager in a conflict.
fn manager_text(e: &Value) -> String {
    let name = format!("{:?}", e["manager"].as_str().unwrap_or(""));
    if e["operation"] == "Update" {
        match e["time"].as_str() {
            Some(t) => format!(
                "{name} using {} at {t}",
                e["apiVersion"].as_str().unwrap_or("")
            ),
            None => format!("{name} using {}", e["apiVersion"].as_str().unwrap_or("")),
        }
    } else {
        name
    }
}

/// The 409 of an apply whose fields other managers own with other values.
fn conflict_error(
    rt_group: &str,
    plural: &str,
    name: &str,
    conflicts: &[(String, String)],
) -> ApiError {
    let message = if let [(m, p)] = conflicts {
        format!("Apply failed with 1 conflict: conflict with {m}: {p}")
    } else {
        let mut by: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
        for (m, p) in conflicts {
            by.entry(m).or_default().push(p);
        }
        let parts: Vec<String> = by
            .iter()
            .map(|(m, ps)| {
                let lines: Vec<String> = ps.iter().map(|p| format!("- {p}")).collect();
                format!("conflicts with {m}:\n{}", lines.join("\n"))
            })
            .collect();
        format!(
            "Apply failed with {} conflicts: {}",
            conflicts.len(),
            parts.join("\n")
        )
    };
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|(m, p)| json!({"reason": "FieldManagerConflict", "message": format!("conflict with {m}"), "field": p}))
        .collect();
    ApiError::apply_conflict(
        message,
        json!({"name": name, "group": rt_group, "kind": plural, "causes": causes}),
    )
}

/// What an apply asks for.
pub(crate) struct ApplyRequest<'a> {
    /// The applied configuration.
    pub(crate) config: &'a Value,
    /// `fieldManager`.
    pub(crate) manager: &'a str,
    /// `force=true`: take conflicting fields over.
    pub(crate) force: bool,
    /// The time to stamp on the manager's entry.
    pub(crate) now: &'a str,
    /// For a conflict's `details`.
    pub(crate) group: &'a str,
    /// For a conflict's `details`.
    pub(crate) plural: &'a str,
}

/// The object after applying `a.config` over `live` (an empty object with only identity when
/// the apply creates it), with `managedFields` updated.
pub(crate) fn apply(live: &Value, a: &ApplyRequest<'_>) -> Result<Value, ApiError> {
    let name = live
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut managers = entries(live);
    let new_set = fields_of(a.config);
    let new_leaves = leaves(&new_set);
    let mine = managers
        .iter()
        .position(|e| is_entry(e, a.manager, "Apply"));
    let previous: Vec<Path> = mine
        .map(|i| leaves(&managers[i]["fieldsV1"]))
        .unwrap_or_default();
    // Conflicts: a field someone else owns, which this apply would change.
    let mut conflicts = Vec::new();
    let mut taken: Vec<(usize, Path)> = Vec::new();
    for (i, e) in managers.iter().enumerate() {
        if Some(i) == mine {
            continue;
        }
        let theirs = leaves(&e["fieldsV1"]);
        for p in &new_leaves {
            if p.last().is_some_and(|s| s == ".") || !theirs.contains(p) {
                continue;
            }
            let (old, new) = (value_at(live, p), value_at(a.config, p));
            if old.is_some() && old != new {
                conflicts.push((manager_text(e), path_text(p)));
                taken.push((i, p.clone()));
            }
        }
    }
    if !conflicts.is_empty() && !a.force {
        return Err(conflict_error(a.group, a.plural, name, &conflicts));
    }
    let others: Vec<Path> = managers
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != mine)
        .flat_map(|(i, e)| {
            let lost: Vec<&Path> = taken
                .iter()
                .filter(|(j, _)| *j == i)
                .map(|(_, p)| p)
                .collect();
            leaves(&e["fieldsV1"])
                .into_iter()
                .filter(move |p| !lost.contains(&p))
        })
        .collect();
    let mut out = live.clone();
    // Fields this manager applied before and leaves out now go, unless someone else has them.
    let owned_elsewhere =
        |p: &[String]| others.iter().any(|o| o.starts_with(p) || p.starts_with(o));
    for p in previous.iter().filter(|p| !new_leaves.contains(p)) {
        let p = strip_dot(p);
        if owned_elsewhere(p) {
            continue;
        }
        remove_at(&mut out, p);
        // A map or list emptied this way goes too, if nothing applied still lies below it.
        let mut up = &p[..p.len().saturating_sub(1)];
        while !up.is_empty()
            && !new_leaves.iter().any(|n| n.starts_with(up))
            && !owned_elsewhere(up)
            && value_at(&out, up).is_some_and(is_empty)
        {
            remove_at(&mut out, up);
            up = &up[..up.len() - 1];
        }
    }
    merge_top(&mut out, a.config);
    // Ownership: forced fields leave their old managers; this manager's set is what it applied.
    for (i, p) in &taken {
        let kept: Vec<Path> = leaves(&managers[*i]["fieldsV1"])
            .into_iter()
            .filter(|q| q != p)
            .collect();
        managers[*i]["fieldsV1"] = set_of(&kept);
    }
    let entry = json!({"manager": a.manager, "operation": "Apply",
        "apiVersion": a.config.get("apiVersion").cloned().unwrap_or(Value::Null),
        "time": a.now, "fieldsType": "FieldsV1", "fieldsV1": new_set});
    match mine {
        Some(i) => managers[i] = entry,
        None => managers.push(entry),
    }
    managers.retain(|e| !leaves(&e["fieldsV1"]).is_empty());
    out["metadata"]["managedFields"] = Value::Array(managers);
    Ok(out)
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn strip_dot(p: &Path) -> &[String] {
    match p.last() {
        Some(s) if s == "." => &p[..p.len() - 1],
        _ => p,
    }
}

/// Removes the field (or list item) at `path`.
fn remove_at(obj: &mut Value, path: &[String]) {
    let Some((last, parent)) = path.split_last() else {
        return;
    };
    let mut cur = obj;
    for seg in parent {
        let next = if let Some(f) = seg.strip_prefix("f:") {
            cur.get_mut(f)
        } else if let Some(k) = seg.strip_prefix("k:") {
            let keys: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
            cur.as_array_mut().and_then(|a| {
                a.iter_mut()
                    .find(|i| keys.iter().all(|(kk, kv)| i.get(kk) == Some(kv)))
            })
        } else {
            None
        };
        match next {
            Some(n) => cur = n,
            None => return,
        }
    }
    if let Some(f) = last.strip_prefix("f:") {
        if let Some(m) = cur.as_object_mut() {
            m.remove(f);
        }
    } else if let Some(k) = last.strip_prefix("k:") {
        let keys: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
        if let Some(a) = cur.as_array_mut() {
            a.retain(|i| !keys.iter().all(|(kk, kv)| i.get(kk) == Some(kv)));
        }
    } else if let Some(v) = last.strip_prefix("v:") {
        let want: Value = serde_json::from_str(v).unwrap_or(Value::Null);
        if let Some(a) = cur.as_array_mut() {
            a.retain(|i| *i != want);
        }
    }
}

/// Merges an applied configuration into a whole object: identity and bookkeeping stay as
/// they are, the rest merges as [`merge`] does.
fn merge_top(target: &mut Value, config: &Value) {
    let (Some(t), Some(c)) = (target.as_object_mut(), config.as_object()) else {
        return;
    };
    for (k, v) in c {
        let path = [k.as_str()];
        if untracked(&path) && k != "apiVersion" && k != "kind" {
            continue;
        }
        if k == "metadata"
            && let Some(Value::Object(meta)) = t.get_mut("metadata")
        {
            for (mk, mv) in v.as_object().into_iter().flatten() {
                if untracked(&["metadata", mk.as_str()]) {
                    continue;
                }
                match meta.get_mut(mk) {
                    Some(existing) => merge(existing, mv, mk),
                    None => {
                        meta.insert(mk.clone(), mv.clone());
                    }
                }
            }
            continue;
        }
        match t.get_mut(k) {
            Some(existing) => merge(existing, v, k),
            None => {
                t.insert(k.clone(), v.clone());
            }
        }
    }
}

/// Merges an applied value into an object's: maps field by field, keyed lists item by item,
/// everything else replaced.
fn merge(target: &mut Value, config: &Value, field: &str) {
    match (target, config) {
        (Value::Object(t), Value::Object(c)) => {
            for (k, v) in c {
                match t.get_mut(k) {
                    Some(existing) => merge(existing, v, k),
                    None => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (Value::Array(t), Value::Array(c)) if is_set(field) => {
            for v in c {
                if !t.contains(v) {
                    t.push(v.clone());
                }
            }
        }
        (Value::Array(t), Value::Array(c)) => match list_keys(field, c) {
            Some(keys)
                if t.iter()
                    .all(|i| keys.iter().take(1).all(|k| i.get(*k).is_some())) =>
            {
                for item in c {
                    let key = item_key(item, &keys);
                    match t.iter_mut().find(|i| item_key(i, &keys) == key) {
                        Some(existing) => merge(existing, item, ""),
                        None => t.push(item.clone()),
                    }
                }
            }
            _ => *t = c.clone(),
        },
        (t, c) => *t = c.clone(),
    }
}

/// Records a write that is not an apply: `manager` owns the fields it set or changed, and
/// no one owns fields that are gone.
pub(crate) fn track_update(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    now: &str,
    api_version: &str,
) {
    let mut managers = old.map(entries).unwrap_or_default();
    let new_leaves = leaves(&fields_of(new));
    let changed: Vec<Path> = new_leaves
        .iter()
        .filter(|p| match old {
            // A list item is new if it was not there; a field, if its value changed.
            Some(o) if p.last().is_some_and(|s| s == ".") => value_at(o, p).is_none(),
            Some(o) => value_at(o, p) != value_at(new, p),
            None => true,
        })
        .cloned()
        .collect();
    for e in managers.iter_mut() {
        let kept: Vec<Path> = leaves(&e["fieldsV1"])
            .into_iter()
            .filter(|p| {
                new_leaves.contains(p) && (!changed.contains(p) || is_entry(e, manager, "Update"))
            })
            .collect();
        e["fieldsV1"] = set_of(&kept);
    }
    if !changed.is_empty() {
        match managers.iter_mut().find(|e| is_entry(e, manager, "Update")) {
            Some(e) => {
                let mut all = leaves(&e["fieldsV1"]);
                all.extend(
                    changed
                        .into_iter()
                        .filter(|p| !all.contains(p))
                        .collect::<Vec<_>>(),
                );
                e["fieldsV1"] = set_of(&all);
                e["time"] = json!(now);
            }
            None => managers.push(json!({"manager": manager, "operation": "Update",
                "apiVersion": api_version, "time": now, "fieldsType": "FieldsV1",
                "fieldsV1": set_of(&changed)})),
        }
    }
    managers.retain(|e| !leaves(&e["fieldsV1"]).is_empty());
    if let Some(m) = new.get_mut("metadata").and_then(Value::as_object_mut) {
        if managers.is_empty() {
            m.remove("managedFields");
        } else {
            m.insert("managedFields".into(), Value::Array(managers));
        }
    }
}
