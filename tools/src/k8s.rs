//! API access shared by the tools: dynamic get and paged list by [`Kind`], worded errors
//! (not found with a suggestion, missing namespace), and small JSON accessors.

use kube::api::{Api, DynamicObject, GetParams, ListParams};
use kube::core::Request;
use serde_json::Value;

use crate::cluster::Cluster;
use crate::error::ToolError;
use crate::kinds::Kind;
use crate::suggest::closest;

/// Page size of list calls: bounded memory per request on large clusters.
const PAGE: u32 = 500;

/// The dynamic API for `kind` in `namespace` (None: all namespaces, or cluster scope).
pub fn api(cluster: &Cluster, kind: Kind, namespace: Option<&str>) -> Api<DynamicObject> {
    let ar = kind.api_resource();
    match namespace {
        Some(ns) if kind.namespaced() => Api::namespaced_with(cluster.client.clone(), ns, &ar),
        _ => Api::all_with(cluster.client.clone(), &ar),
    }
}

/// The API path of `kind` in `namespace` (None: all namespaces, or cluster scope).
fn url_path(kind: Kind, namespace: Option<&str>) -> String {
    let ar = kind.api_resource();
    let ns = namespace.filter(|_| kind.namespaced());
    <DynamicObject as kube::Resource>::url_path(&ar, ns)
}

/// Lists `kind` page by page in `namespace` (None: all namespaces or cluster scope).
/// Objects are kept as raw JSON: a field the typed client would reject never hides the rest.
pub async fn list(
    cluster: &Cluster,
    kind: Kind,
    namespace: Option<&str>,
    labels: Option<&str>,
    fields: Option<&str>,
) -> Result<Vec<Value>, ToolError> {
    let ns = namespace.filter(|_| kind.namespaced());
    let request = Request::new(url_path(kind, ns));
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut lp = ListParams::default().limit(PAGE);
        if let Some(l) = labels.filter(|l| !l.trim().is_empty()) {
            lp = lp.labels(l);
        }
        if let Some(f) = fields.filter(|f| !f.trim().is_empty()) {
            lp = lp.fields(f);
        }
        if let Some(t) = &token {
            lp = lp.continue_token(t);
        }
        let req = request.list(&lp).map_err(|e| {
            ToolError::from_kube(
                kube::Error::BuildRequest(e),
                cluster,
                "list",
                kind.plural(),
                ns,
            )
        })?;
        let mut page: Value = cluster
            .client
            .request(req)
            .await
            .map_err(|e| ToolError::from_kube(e, cluster, "list", kind.plural(), ns))?;
        token = Some(s(&page, &["metadata", "continue"]).to_string()).filter(|t| !t.is_empty());
        if let Some(Value::Array(items)) = page.get_mut("items").map(Value::take) {
            out.extend(items);
        }
        if token.is_none() {
            break;
        }
    }
    Ok(out)
}

/// Patches one object, or its `subresource` (`scale`), and returns the raw JSON answer
/// (`dryRun=All` with a dry-run `pp`).
pub async fn patch(
    cluster: &Cluster,
    kind: Kind,
    namespace: &str,
    obj_name: &str,
    subresource: Option<&str>,
    pp: &kube::api::PatchParams,
    patch: &kube::api::Patch<Value>,
) -> Result<Value, ToolError> {
    let ns = Some(namespace).filter(|_| kind.namespaced());
    let request = Request::new(url_path(kind, ns));
    let req = match subresource {
        Some(sub) => request.patch_subresource(sub, obj_name, pp, patch),
        None => request.patch(obj_name, pp, patch),
    }
    .map_err(|e| {
        ToolError::from_kube(
            kube::Error::BuildRequest(e),
            cluster,
            "patch",
            kind.plural(),
            ns,
        )
    })?;
    cluster
        .client
        .request::<Value>(req)
        .await
        .map_err(|e| ToolError::from_kube(e, cluster, "patch", kind.plural(), ns))
}

/// Deletes one object (`dryRun=All` with a dry-run `dp`).
pub async fn delete(
    cluster: &Cluster,
    kind: Kind,
    namespace: &str,
    obj_name: &str,
    dp: &kube::api::DeleteParams,
) -> Result<(), ToolError> {
    let ns = Some(namespace).filter(|_| kind.namespaced());
    let req = Request::new(url_path(kind, ns))
        .delete(obj_name, dp)
        .map_err(|e| {
            ToolError::from_kube(
                kube::Error::BuildRequest(e),
                cluster,
                "delete",
                kind.plural(),
                ns,
            )
        })?;
    cluster
        .client
        .request::<Value>(req)
        .await
        .map(|_| ())
        .map_err(|e| ToolError::from_kube(e, cluster, "delete", kind.plural(), ns))
}

/// Gets one object as raw JSON; `Ok(None)` when it does not exist.
pub async fn get_opt(
    cluster: &Cluster,
    kind: Kind,
    namespace: Option<&str>,
    obj_name: &str,
) -> Result<Option<Value>, kube::Error> {
    let ns = namespace.filter(|_| kind.namespaced());
    let request = Request::new(url_path(kind, ns));
    // Throttling and deadlines are handled once, under every request (retry.rs).
    let req = request
        .get(obj_name, &GetParams::default())
        .map_err(kube::Error::BuildRequest)?;
    let result = cluster.client.request::<Value>(req).await;
    match result {
        Ok(v) => Ok(Some(v)),
        Err(kube::Error::Api(st)) if st.code == 404 => Ok(None),
        Err(e) => Err(e),
    }
}

/// Lists `kind` in a namespace and, when nothing is there, says so if the namespace itself does
/// not exist (a real API server answers an empty list for a missing namespace).
pub async fn list_checked(
    cluster: &Cluster,
    kind: Kind,
    namespace: Option<&str>,
    labels: Option<&str>,
) -> Result<Vec<Value>, ToolError> {
    let items = list(cluster, kind, namespace, labels, None).await?;
    if items.is_empty()
        && let Some(ns) = namespace.filter(|_| kind.namespaced())
    {
        check_namespace(cluster, ns).await?;
    }
    Ok(items)
}

/// Fails with `namespace "x" not found in context "y"` when the namespace does not exist.
/// A namespace the user may not read is assumed to exist.
pub async fn check_namespace(cluster: &Cluster, ns: &str) -> Result<(), ToolError> {
    match get_opt(cluster, Kind::Namespace, None, ns).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => {
            let names = list(cluster, Kind::Namespace, None, None, None)
                .await
                .map(|l| l.iter().map(|n| name(n).to_string()).collect::<Vec<_>>())
                .unwrap_or_default();
            let hint = match closest(ns, names.iter().map(String::as_str)) {
                Some(s) => format!("; did you mean \"{s}\"?"),
                None if !names.is_empty() => format!("; namespaces: {}", names.join(", ")),
                None => String::new(),
            };
            Err(ToolError::NotFound {
                message: format!(
                    "namespace \"{ns}\" not found in context \"{}\"{hint}",
                    cluster.context
                ),
            })
        }
        Err(kube::Error::Api(s)) if s.code == 403 => Ok(()),
        Err(e) => Err(ToolError::from_kube(e, cluster, "get", "namespaces", None)),
    }
}

/// Gets one object; a missing one reads `deployment "backnd" not found in namespace "shop";
/// did you mean "backend"?`, and a missing namespace is named as such.
pub async fn get(
    cluster: &Cluster,
    kind: Kind,
    namespace: &str,
    obj_name: &str,
) -> Result<Value, ToolError> {
    let ns = Some(namespace).filter(|_| kind.namespaced());
    match get_opt(cluster, kind, ns, obj_name).await {
        Ok(Some(obj)) => Ok(obj),
        Ok(None) => Err(not_found(cluster, kind, ns, obj_name).await),
        Err(e) => Err(ToolError::from_kube(e, cluster, "get", kind.plural(), ns)),
    }
}

/// The not-found error for `kind/name`, with the closest existing name as a suggestion.
pub async fn not_found(
    cluster: &Cluster,
    kind: Kind,
    namespace: Option<&str>,
    obj_name: &str,
) -> ToolError {
    if let Some(ns) = namespace
        && let Err(e) = check_namespace(cluster, ns).await
    {
        return e;
    }
    let place = match namespace {
        Some(ns) => format!(" in namespace \"{ns}\""),
        None => String::new(),
    };
    let names: Vec<String> = list(cluster, kind, namespace, None, None)
        .await
        .map(|l| l.iter().map(|o| name(o).to_string()).collect())
        .unwrap_or_default();
    let hint = match closest(obj_name, names.iter().map(String::as_str)) {
        Some(s) => format!("; did you mean \"{s}\"?"),
        None if names.is_empty() => format!("; there are no {}{place}", kind.plural()),
        None if names.len() <= 8 => format!("; {}{place}: {}", kind.plural(), names.join(", ")),
        None => String::new(),
    };
    ToolError::NotFound {
        message: format!("{kind} \"{obj_name}\" not found{place}{hint}"),
    }
}

/// A string at a JSON path, or "".
pub fn s<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    at(v, path).and_then(Value::as_str).unwrap_or("")
}

/// The value at a JSON path.
pub fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    Some(cur)
}

/// An integer at a JSON path, or 0.
pub fn i(v: &Value, path: &[&str]) -> i64 {
    at(v, path).and_then(Value::as_i64).unwrap_or(0)
}

/// An array at a JSON path, or empty.
pub fn arr<'a>(v: &'a Value, path: &[&str]) -> &'a [Value] {
    at(v, path)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// `metadata.name`.
pub fn name(v: &Value) -> &str {
    s(v, &["metadata", "name"])
}

/// `metadata.namespace`.
pub fn namespace(v: &Value) -> &str {
    s(v, &["metadata", "namespace"])
}

/// `metadata.creationTimestamp`.
pub fn created(v: &Value) -> Option<&str> {
    at(v, &["metadata", "creationTimestamp"]).and_then(Value::as_str)
}

/// A map of strings (labels, selector) as `k=v,k2=v2`, sorted.
pub fn map_str(v: Option<&Value>) -> String {
    let Some(m) = v.and_then(Value::as_object) else {
        return String::new();
    };
    let mut parts: Vec<String> = m
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    parts.sort();
    parts.join(",")
}

/// A workload's label selector as a selector string (`matchLabels` and `matchExpressions`).
pub fn selector_string(sel: Option<&Value>) -> String {
    let Some(sel) = sel else {
        return String::new();
    };
    let mut parts = Vec::new();
    let ml = map_str(sel.get("matchLabels"));
    if !ml.is_empty() {
        parts.push(ml);
    }
    for e in sel
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = s(e, &["key"]);
        let values: Vec<&str> = arr(e, &["values"])
            .iter()
            .filter_map(Value::as_str)
            .collect();
        match s(e, &["operator"]) {
            "In" => parts.push(format!("{key} in ({})", values.join(","))),
            "NotIn" => parts.push(format!("{key} notin ({})", values.join(","))),
            "Exists" => parts.push(key.to_string()),
            "DoesNotExist" => parts.push(format!("!{key}")),
            _ => {}
        }
    }
    parts.join(",")
}

/// Whether `obj` has an owner reference to the object with `uid` (or kind and name when the
/// uid is missing).
pub fn owned_by(obj: &Value, kind: &str, owner_name: &str, uid: &str) -> bool {
    arr(obj, &["metadata", "ownerReferences"]).iter().any(|r| {
        if !uid.is_empty() && !s(r, &["uid"]).is_empty() {
            s(r, &["uid"]) == uid
        } else {
            s(r, &["kind"]) == kind && s(r, &["name"]) == owner_name
        }
    })
}

/// The controlling owner reference as `(Kind, name)`.
pub fn controller(obj: &Value) -> Option<(String, String)> {
    let refs = arr(obj, &["metadata", "ownerReferences"]);
    refs.iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        .or_else(|| refs.first())
        .map(|r| (s(r, &["kind"]).to_string(), s(r, &["name"]).to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selectors() {
        let sel = json!({"matchLabels": {"app": "backend", "tier": "api"},
            "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "stage"]},
                                 {"key": "canary", "operator": "DoesNotExist"}]});
        assert_eq!(
            selector_string(Some(&sel)),
            "app=backend,tier=api,env in (prod,stage),!canary"
        );
    }

    #[test]
    fn owners() {
        let pod = json!({"metadata": {"ownerReferences": [
            {"kind": "ReplicaSet", "name": "backend-abc", "uid": "u1", "controller": true}]}});
        assert!(owned_by(&pod, "ReplicaSet", "backend-abc", "u1"));
        assert!(!owned_by(&pod, "ReplicaSet", "backend-abc", "u2"));
        assert!(owned_by(&pod, "ReplicaSet", "backend-abc", ""));
        assert_eq!(
            controller(&pod),
            Some(("ReplicaSet".into(), "backend-abc".into()))
        );
    }
}
