//! Kubernetes API errors as the sandbox returns them: HTTP code, reason and a `Status` body.

use serde_json::{Value, json};

/// An API error worded as a real API server words it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// HTTP status code.
    pub code: u16,
    /// `Status.reason`, e.g. `NotFound`.
    pub reason: &'static str,
    /// Human-readable message, e.g. `pods "x" not found`.
    pub message: String,
    /// `Status.details` (name, group, kind, causes, retryAfterSeconds).
    pub details: Option<Value>,
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: String, details: Option<Value>) -> Self {
        Self {
            code,
            reason,
            message,
            details,
        }
    }

    /// `404 NotFound`: `pods "x" not found`.
    pub fn not_found(group: &str, plural: &str, name: &str) -> Self {
        let what = qualified(group, plural);
        Self::new(
            404,
            "NotFound",
            format!("{what} \"{name}\" not found"),
            Some(json!({"name": name, "group": group, "kind": plural})),
        )
    }

    /// `409 AlreadyExists`: `pods "x" already exists`.
    pub fn already_exists(group: &str, plural: &str, name: &str) -> Self {
        let what = qualified(group, plural);
        Self::new(
            409,
            "AlreadyExists",
            format!("{what} \"{name}\" already exists"),
            Some(json!({"name": name, "group": group, "kind": plural})),
        )
    }

    /// `409 Conflict` for a stale `resourceVersion`.
    pub fn conflict(group: &str, plural: &str, name: &str) -> Self {
        let what = qualified(group, plural);
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {what} \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
            ),
            Some(json!({"name": name, "group": group, "kind": plural})),
        )
    }

    /// `422 Invalid` with one field cause.
    pub fn invalid(kind: &str, name: &str, field: &str, detail: &str) -> Self {
        Self::new(
            422,
            "Invalid",
            format!("{kind} \"{name}\" is invalid: {field}: {detail}"),
            Some(json!({"name": name, "kind": kind, "causes": [
                {"reason": "FieldValueInvalid", "message": detail, "field": field}
            ]})),
        )
    }

    /// `409 Conflict` of a server-side apply: fields other managers own (`details.causes`
    /// name them).
    pub fn apply_conflict(message: String, details: Value) -> Self {
        Self::new(409, "Conflict", message, Some(details))
    }

    /// `422 Invalid` for a patch that cannot be applied to the object.
    pub fn invalid_patch(message: &str) -> Self {
        Self::new(422, "Invalid", message.to_string(), None)
    }

    /// `400 BadRequest`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message.into(), None)
    }

    /// `403 Forbidden`, worded like RBAC.
    pub fn forbidden(
        user: &str,
        verb: &str,
        group: &str,
        plural: &str,
        namespace: Option<&str>,
    ) -> Self {
        let scope = match namespace {
            Some(ns) => format!("in the namespace \"{ns}\""),
            None => "at the cluster scope".to_string(),
        };
        Self::new(
            403,
            "Forbidden",
            format!(
                "{plural} is forbidden: User \"{user}\" cannot {verb} resource \"{plural}\" in API group \"{group}\" {scope}"
            ),
            Some(json!({"group": group, "kind": plural})),
        )
    }

    /// `403 Forbidden` for a request that names an object or a subresource, worded like RBAC:
    /// `pods "x" is forbidden: User "u" cannot get resource "pods/log" in API group "" ...`.
    pub fn forbidden_named(
        user: &str,
        verb: &str,
        group: &str,
        resource: &str,
        name: Option<&str>,
        namespace: Option<&str>,
    ) -> Self {
        let plural = resource.split('/').next().unwrap_or(resource);
        let what = qualified(group, plural);
        let subject = match name {
            Some(n) => format!("{what} \"{n}\""),
            None => what,
        };
        let scope = match namespace {
            Some(ns) => format!("in the namespace \"{ns}\""),
            None => "at the cluster scope".to_string(),
        };
        let mut details = json!({"group": group, "kind": plural});
        if let Some(n) = name {
            details["name"] = json!(n);
        }
        Self::new(
            403,
            "Forbidden",
            format!(
                "{subject} is forbidden: User \"{user}\" cannot {verb} resource \"{resource}\" in API group \"{group}\" {scope}"
            ),
            Some(details),
        )
    }

    /// `403 Forbidden` for a non-resource URL such as `/api`.
    pub fn forbidden_path(user: &str, verb: &str, path: &str) -> Self {
        Self::new(
            403,
            "Forbidden",
            format!("forbidden: User \"{user}\" cannot {verb} path \"{path}\""),
            None,
        )
    }

    /// `404 NotFound` for a URL the server does not serve.
    pub fn no_route(path: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("the server could not find the requested resource (path {path})"),
            Some(
                json!({"causes": [{"reason": "UnexpectedServerResponse", "message": "404 page not found"}]}),
            ),
        )
    }

    /// `415 UnsupportedMediaType` for a body type the sandbox does not accept.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {content_type:?})"
            ),
            None,
        )
    }

    /// `415 UnsupportedMediaType` for a create or update body in a format the server does
    /// not read (or protobuf for a kind that has no protobuf message).
    pub fn unsupported_body(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got {content_type:?})"
            ),
            None,
        )
    }

    /// `406 NotAcceptable`: the `Accept` header names no media type the server writes.
    pub fn not_acceptable() -> Self {
        Self::new(
            406,
            "NotAcceptable",
            "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf".to_string(),
            None,
        )
    }

    /// The `Retry-After` seconds of a `429`, if any.
    pub fn retry_after(&self) -> Option<u64> {
        self.details
            .as_ref()
            .and_then(|d| d.get("retryAfterSeconds"))
            .and_then(Value::as_u64)
    }

    /// `405 MethodNotAllowed`.
    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource".to_string(),
            None,
        )
    }

    /// `410 Gone` for a watch or continue token that is too old.
    pub fn gone(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message.into(), None)
    }

    /// `429 TooManyRequests` with `Retry-After`.
    pub fn too_many_requests(retry_after_seconds: u64) -> Self {
        Self::new(
            429,
            "TooManyRequests",
            "Too many requests, please try again later.".to_string(),
            Some(json!({"retryAfterSeconds": retry_after_seconds})),
        )
    }

    /// `500 InternalError`.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            500,
            "InternalError",
            format!("Internal error occurred: {}", message.into()),
            None,
        )
    }

    /// The `meta.k8s.io/v1` `Status` body of this error.
    pub fn status(&self) -> Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            s["details"] = d.clone();
        }
        s
    }
}

fn qualified(group: &str, plural: &str) -> String {
    if group.is_empty() {
        plural.to_string()
    } else {
        format!("{plural}.{group}")
    }
}
