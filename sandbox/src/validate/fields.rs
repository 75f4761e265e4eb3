//! One field error of a validation, rendered as the API server's `field.Error` is.

use serde_json::Value;

/// What is wrong with a field.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// `Invalid value: V: detail`.
    Invalid(Value, String),
    /// `Required value` (with an optional detail).
    Required(String),
    /// `Unsupported value: V: supported values: "a", "b"`.
    NotSupported(Value, Vec<String>),
    /// `Duplicate value: V`.
    Duplicate(Value),
    /// `Forbidden: detail`.
    Forbidden(String),
}

/// A field path and what is wrong there.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// The field path, e.g. `spec.template.spec.containers[0].image`.
    pub field: String,
    /// The problem.
    pub problem: Problem,
}

impl FieldError {
    /// `Invalid value` at `field`.
    pub fn invalid(field: impl Into<String>, value: Value, detail: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            problem: Problem::Invalid(value, detail.into()),
        }
    }

    /// `Required value` at `field`.
    pub fn required(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            problem: Problem::Required(detail.into()),
        }
    }

    /// `Unsupported value` at `field`.
    pub fn not_supported(field: impl Into<String>, value: Value, supported: &[&str]) -> Self {
        Self {
            field: field.into(),
            problem: Problem::NotSupported(
                value,
                supported.iter().map(|s| s.to_string()).collect(),
            ),
        }
    }

    /// `Duplicate value` at `field`.
    pub fn duplicate(field: impl Into<String>, value: Value) -> Self {
        Self {
            field: field.into(),
            problem: Problem::Duplicate(value),
        }
    }

    /// `Forbidden` at `field`.
    pub fn forbidden(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            problem: Problem::Forbidden(detail.into()),
        }
    }

    /// The `Status` cause reason: `FieldValueInvalid`, `FieldValueRequired`...
    pub fn reason(&self) -> &'static str {
        match self.problem {
            Problem::Invalid(..) => "FieldValueInvalid",
            Problem::Required(_) => "FieldValueRequired",
            Problem::NotSupported(..) => "FieldValueNotSupported",
            Problem::Duplicate(_) => "FieldValueDuplicate",
            Problem::Forbidden(_) => "FieldValueForbidden",
        }
    }

    /// The message without the field: `Invalid value: -1: must be ...`.
    pub fn message(&self) -> String {
        match &self.problem {
            Problem::Invalid(v, detail) => format!("Invalid value: {}: {detail}", go_value(v)),
            Problem::Required(d) if d.is_empty() => "Required value".into(),
            Problem::Required(d) => format!("Required value: {d}"),
            Problem::NotSupported(v, supported) => {
                let list: Vec<String> = supported.iter().map(|s| format!("\"{s}\"")).collect();
                format!(
                    "Unsupported value: {}: supported values: {}",
                    go_value(v),
                    list.join(", ")
                )
            }
            Problem::Duplicate(v) => format!("Duplicate value: {}", go_value(v)),
            Problem::Forbidden(d) => format!("Forbidden: {d}"),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message())
    }
}

/// A value as Go's `%#v` prints it in field errors: strings quoted, numbers bare, a label map
/// as `map[string]string{"app":"web"}`.
fn go_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        Value::Object(m) if m.values().all(Value::is_string) => {
            let pairs: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k:?}:{:?}", v.as_str().unwrap_or("")))
                .collect();
            format!("map[string]string{{{}}}", pairs.join(", "))
        }
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}
