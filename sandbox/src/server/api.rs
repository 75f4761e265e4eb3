//! Resource verbs: get, list, watch, create, update, patch, delete, deletecollection, and the
//! status, scale and log subresources.
//!
//! The verbs live one concern per file: `read` (get, list, paging), `watch`, `write` (create,
//! update, patch and the one commit step every write passes through), `delete`, `scale`,
//! `logs`, and `events` (the `events.k8s.io` view of core Events).

mod apply;
mod commit;
mod delete;
mod events;
mod logs;
mod read;
mod scale;
mod semantics;
mod watch;
mod write;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use axum::body::Bytes;
use axum::response::Response;
use serde_json::Value;

use super::protobuf::{self, Encoding};
use super::{QueryPairs, Shared, Target, json_response, param, respond};
use crate::error::ApiError;
use crate::resources::ResourceType;

/// One resource request, after routing, fault injection and authorization.
pub(crate) struct Request {
    pub(crate) shared: Arc<Shared>,
    pub(crate) target: Target,
    pub(crate) verb: &'static str,
    pub(crate) q: QueryPairs,
    pub(crate) accept: String,
    pub(crate) content_type: String,
    /// The client's `User-Agent`, which names its field manager when it does not.
    pub(crate) user_agent: String,
    pub(crate) body: Bytes,
    /// Who is asking (from the bearer token).
    pub(crate) subject: crate::rbac::Subject,
}

impl Request {
    fn p(&self, key: &str) -> Option<&str> {
        param(&self.q, key)
    }

    fn flag(&self, key: &str) -> bool {
        crate::params::parse_bool(self.p(key))
    }

    fn dry_run(&self) -> bool {
        self.q.iter().any(|(k, v)| k == "dryRun" && v == "All")
    }

    fn wants_table(&self) -> bool {
        self.accept
            .split(',')
            .any(|a| a.contains("as=Table") && a.contains("g=meta.k8s.io"))
    }

    fn namespace(&self) -> &str {
        self.target.namespace.as_deref().unwrap_or("")
    }

    fn name(&self) -> &str {
        self.target.name.as_deref().unwrap_or("")
    }

    fn rt(&self) -> &'static ResourceType {
        self.target.rt
    }

    /// The stored object the URL names (the storage form: core Events for events.k8s.io),
    /// or 404 as the API server words it.
    fn stored(&self, store: &crate::store::Store) -> Result<Arc<Value>, ApiError> {
        let rt = self.rt();
        store
            .get(
                crate::resources::storage_of(rt),
                self.namespace(),
                self.name(),
            )
            .ok_or_else(|| ApiError::not_found(rt.group, rt.plural, self.name()))
    }

    /// The field manager of a write: `fieldManager`, else the client's name from its
    /// `User-Agent` (`kubectl/v1.33.0 (linux/amd64) ...` → `kubectl`), as the API server
    /// names it.
    fn field_manager(&self) -> String {
        match self.p("fieldManager").filter(|m| !m.is_empty()) {
            Some(m) => m.to_string(),
            None => {
                let ua = self.user_agent.split('/').next().unwrap_or("").trim();
                if ua.is_empty() {
                    "unknown".into()
                } else {
                    ua.chars().take(128).collect()
                }
            }
        }
    }
}

/// Serves a resource request.
pub(crate) async fn serve(req: Request) -> Result<Response, ApiError> {
    let sub = req.target.sub.clone();
    if let Some(s) = &sub
        && !req.rt().subresources.contains(&s.as_str())
    {
        return Err(ApiError::no_route(&format!("{}/{s}", req.rt().plural)));
    }
    if matches!(req.verb, "list" | "watch" | "deletecollection") {
        crate::fieldsel::check(req.rt(), req.p("labelSelector"), req.p("fieldSelector"))?;
    }
    if crate::reviews::is_review(req.rt().group, req.rt().plural) {
        return match (req.verb, sub.as_deref()) {
            ("create", None) => semantics::review(&req),
            _ => Err(ApiError::method_not_allowed()),
        };
    }
    match (req.verb, sub.as_deref()) {
        ("create", Some("eviction")) => semantics::evict(&req),
        (_, Some("eviction")) => Err(ApiError::method_not_allowed()),
        ("get", Some("log")) => logs::logs(&req),
        (_, Some("log")) => Err(ApiError::method_not_allowed()),
        ("get", Some("scale")) => scale::scale_get(&req),
        ("patch", Some("scale")) | ("update", Some("scale")) => scale::scale_write(&req),
        (_, Some("scale")) => Err(ApiError::method_not_allowed()),
        ("get", _) => read::get(&req),
        ("list", None) => read::list(&req),
        ("watch", None) => watch::watch(&req),
        ("create", None) => write::create(&req),
        ("update", _) => write::update(&req),
        ("patch", _) => write::patch_object(&req),
        ("delete", None) => delete::delete(&req),
        ("deletecollection", None) => delete::delete_collection(&req),
        _ => Err(ApiError::method_not_allowed()),
    }
}

/// The namespace and name of a stored object.
fn key_of(o: &Value) -> (&str, &str) {
    let m = &o["metadata"];
    (
        m["namespace"].as_str().unwrap_or(""),
        m["name"].as_str().unwrap_or(""),
    )
}

/// Drops `null` fields, as decoding into the typed Kubernetes structs does: a template's
/// `creationTimestamp: null` from kubectl must not make it differ from the stored one.
fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(strip_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// The request body (JSON, YAML or protobuf) as a JSON object.
fn parse_body(req: &Request) -> Result<Value, ApiError> {
    let ct = req.content_type.split(';').next().unwrap_or("").trim();
    let mut v: Value = match ct {
        "" | "application/json" | "*/*" => serde_json::from_slice(&req.body).map_err(|e| {
            ApiError::bad_request(format!(
                "the body of the request could not be decoded as JSON: {e}"
            ))
        })?,
        "application/yaml" => serde_saphyr::from_slice(&req.body).map_err(|e| {
            ApiError::bad_request(format!(
                "the body of the request could not be decoded as YAML: {e}"
            ))
        })?,
        protobuf::MEDIA_TYPE => protobuf::decode(&req.body)?,
        _ => return Err(ApiError::unsupported_body(&req.content_type)),
    };
    if !v.is_object() {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    }
    strip_nulls(&mut v);
    Ok(v)
}

/// A stored object as the answer of a request for `rt`.
fn object_response(req: &Request, code: u16, o: Arc<Value>) -> Result<Response, ApiError> {
    let o = events::served(req.rt(), o);
    encoded_response(req, code, &o)
}

/// An object in the encoding the client's `Accept` prefers: protobuf when it comes first
/// and the kind has a message, JSON otherwise. The object's own `apiVersion` and `kind`
/// name its message; the request's resource stands in where they are missing.
fn encoded_response(req: &Request, code: u16, o: &Value) -> Result<Response, ApiError> {
    let text = |k: &str| o.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    let api_version = text("apiVersion")
        .map(str::to_string)
        .unwrap_or_else(|| req.rt().api_version());
    let kind = text("kind").unwrap_or(req.rt().kind);
    match protobuf::negotiate(&req.accept) {
        None => Err(ApiError::not_acceptable()),
        Some(Encoding::Protobuf) => Ok(match protobuf::encode(&api_version, kind, o) {
            Some(bytes) => respond(code, protobuf::MEDIA_TYPE, bytes),
            None => json_response(code, serde_json::to_vec(o).unwrap_or_default()),
        }),
        Some(Encoding::Json) => Ok(json_response(
            code,
            serde_json::to_vec(o).unwrap_or_default(),
        )),
    }
}

impl Request {
    /// Whether the answer is to be protobuf (checked before building a JSON list by hand).
    fn wants_protobuf(&self) -> bool {
        !self.wants_table() && protobuf::negotiate(&self.accept) == Some(Encoding::Protobuf)
    }
}
