//! Validation of written objects as the API server does it: decoding into the typed
//! Kubernetes structs (type errors, unknown fields under `fieldValidation`), then the
//! per-kind rules (required fields, selectors matching templates, ranges, enums, quantities,
//! names) answered as `422 Invalid` with the API server's wording and field paths.

mod fields;
mod rules;
mod schema;
mod typed;

use serde_json::{Value, json};

use crate::error::ApiError;
use crate::resources::ResourceType;

pub use fields::FieldError;
pub(crate) use rules::label_part_ok;
pub use rules::{MAX_SIMULATED_REPLICAS, parse_quantity, too_many_pods};

/// Checks that `obj` decodes as its kind's typed struct (every field of the right JSON type),
/// as the API server decodes a request body; unknown fields are allowed. The simulation
/// relies on these shapes, so a scenario object that fails here is refused when loaded.
pub fn check_types(rt: &ResourceType, obj: &Value) -> Result<(), ApiError> {
    typed::decode(rt, obj).map(|_| ())
}

/// How unknown and duplicate fields are treated, from the `fieldValidation` query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValidation {
    /// Refuse the request (`400`, `strict decoding error: unknown field "..."`).
    Strict,
    /// Accept it and answer a `Warning` header per unknown field (the default).
    Warn,
    /// Drop unknown fields silently.
    Ignore,
}

impl FieldValidation {
    /// Parses the query parameter; absent is `Warn`, as in the API server since 1.27.
    pub fn parse(value: Option<&str>) -> Result<Self, ApiError> {
        match value.unwrap_or("") {
            "" | "Warn" => Ok(Self::Warn),
            "Strict" => Ok(Self::Strict),
            "Ignore" => Ok(Self::Ignore),
            other => Err(ApiError::bad_request(format!(
                "fieldValidation parameter unsupported: {other}; supported values: Ignore, Warn, Strict"
            ))),
        }
    }
}

/// Checks an object about to be stored as `rt`. Returns the warnings to send back (unknown
/// fields under `Warn`); with `Ignore` or `Warn` the unknown fields are removed from `obj`,
/// as decoding into the typed struct drops them in the API server.
pub fn check(
    rt: &ResourceType,
    obj: &mut Value,
    mode: FieldValidation,
) -> Result<Vec<String>, ApiError> {
    let name = name_of(obj);
    let unknown = typed::decode(rt, obj)?;
    let warnings = unknown_fields(rt, obj, mode, &unknown)?;
    let errors = rules::validate(rt, obj).map_err(|e| {
        ApiError::bad_request(format!(
            "{kind} in version \"{v}\" cannot be handled as a {kind}: {}",
            e.message,
            kind = rt.kind,
            v = rt.version
        ))
    })?;
    if errors.is_empty() {
        Ok(warnings)
    } else {
        Err(invalid(rt, &name, &errors))
    }
}

/// [`check`] for a custom resource, against its definition's `openAPIV3Schema`.
pub fn check_custom(
    rt: &ResourceType,
    obj: &mut Value,
    mode: FieldValidation,
    openapi_schema: &Value,
) -> Result<Vec<String>, ApiError> {
    let name = name_of(obj);
    let (errors, unknown) = schema::check(openapi_schema, obj);
    let warnings = unknown_fields(rt, obj, mode, &unknown)?;
    if errors.is_empty() {
        Ok(warnings)
    } else {
        Err(invalid(rt, &name, &errors))
    }
}

fn name_of(obj: &Value) -> String {
    obj.pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// Unknown fields under `mode`: refused, warned about, or dropped silently; dropped from
/// `obj` unless refused.
fn unknown_fields(
    rt: &ResourceType,
    obj: &mut Value,
    mode: FieldValidation,
    unknown: &[typed::Unknown],
) -> Result<Vec<String>, ApiError> {
    let mut warnings = Vec::new();
    if !unknown.is_empty() {
        match mode {
            FieldValidation::Strict => {
                let list: Vec<String> = unknown
                    .iter()
                    .map(|f| format!("unknown field \"{f}\""))
                    .collect();
                return Err(ApiError::bad_request(format!(
                    "{kind} in version \"{v}\" cannot be handled as a {kind}: strict decoding error: {}",
                    list.join(", "),
                    kind = rt.kind,
                    v = rt.version
                )));
            }
            FieldValidation::Warn => {
                warnings.extend(unknown.iter().map(|f| format!("unknown field \"{f}\"")));
            }
            FieldValidation::Ignore => {}
        }
        for f in unknown {
            typed::remove_path(obj, &f.path);
        }
    }
    Ok(warnings)
}

/// The `422 Invalid` answer for field errors: `Deployment.apps "x" is invalid: ...`, one error
/// as is, several in brackets, as the API server words it.
pub fn invalid(rt: &ResourceType, name: &str, errors: &[FieldError]) -> ApiError {
    let qualified = if rt.group.is_empty() {
        rt.kind.to_string()
    } else {
        format!("{}.{}", rt.kind, rt.group)
    };
    let rendered: Vec<String> = errors.iter().map(FieldError::to_string).collect();
    let list = if rendered.len() == 1 {
        rendered.join("")
    } else {
        format!("[{}]", rendered.join(", "))
    };
    let causes: Vec<Value> = errors
        .iter()
        .map(|e| json!({"reason": e.reason(), "message": e.message(), "field": e.field}))
        .collect();
    ApiError {
        code: 422,
        reason: "Invalid",
        message: format!("{qualified} \"{name}\" is invalid: {list}"),
        details: Some(json!({"name": name, "group": rt.group, "kind": rt.kind, "causes": causes})),
    }
}

#[cfg(test)]
mod tests;
