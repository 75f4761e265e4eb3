//! Kubernetes names: DNS-1123 validation of namespaces and object names, and the validated
//! types that writes and URL paths are built from.
//!
//! Anything a model, a user or a log line passes as a namespace or a name is checked here before
//! it reaches a rule or a URL: `kube-system/`, `%2e%2e`, ` prod`, `Prod`, a Cyrillic `ѕ` or
//! `shop/backend` in a name field are argument errors, never a path segment.

use std::borrow::Cow;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};

use crate::kinds::resolve_kind;

/// Longest DNS-1123 label (namespaces, container names).
pub const MAX_LABEL: usize = 63;
/// Longest DNS-1123 subdomain (most object names).
pub const MAX_SUBDOMAIN: usize = 253;

/// Why `value` breaks the DNS-1123 label rule, if it does.
fn label_problem(value: &str) -> Option<String> {
    if value.is_empty() {
        return Some("it is empty".into());
    }
    if value.len() > MAX_LABEL {
        return Some(format!(
            "it is {} characters long (at most {MAX_LABEL})",
            value.len()
        ));
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Some(format!("it contains {}", describe_char(c)));
    }
    if value.starts_with('-') || value.ends_with('-') {
        return Some("it starts or ends with '-'".into());
    }
    None
}

/// Why `value` breaks the DNS-1123 subdomain rule, if it does.
fn subdomain_problem(value: &str) -> Option<String> {
    if value.is_empty() {
        return Some("it is empty".into());
    }
    if value.len() > MAX_SUBDOMAIN {
        return Some(format!(
            "it is {} characters long (at most {MAX_SUBDOMAIN})",
            value.len()
        ));
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '.'))
    {
        return Some(format!("it contains {}", describe_char(c)));
    }
    if value.split('.').any(|part| {
        part.is_empty()
            || !part.starts_with(|c: char| c.is_ascii_alphanumeric())
            || !part.ends_with(|c: char| c.is_ascii_alphanumeric())
    }) {
        return Some("each dot-separated part must start and end with a letter or digit".into());
    }
    None
}

fn describe_char(c: char) -> String {
    match c {
        ' ' => "a space".into(),
        c if c.is_whitespace() => format!("whitespace ({})", c.escape_unicode()),
        c if c.is_ascii_uppercase() => {
            format!("an upper-case letter ('{c}'; names are lower case)")
        }
        c if c.is_ascii_graphic() => format!("'{c}'"),
        c => format!("the character {} ('{c}')", c.escape_unicode()),
    }
}

/// A plausible intended name for a decorated one (`" Kube-System/ "` → `kube-system`), offered
/// in the error so a model can correct itself; the suggestion is itself validated.
fn suggestion(value: &str, valid: impl Fn(&str) -> bool) -> String {
    let cleaned = value.trim().trim_matches('/').trim().to_ascii_lowercase();
    if cleaned != value && valid(&cleaned) {
        format!("; did you mean \"{cleaned}\"?")
    } else {
        String::new()
    }
}

/// Checks a namespace name (DNS-1123 label); the error says what is wrong and what to give.
pub fn check_namespace(value: &str) -> Result<(), String> {
    match label_problem(value) {
        None => Ok(()),
        Some(why) => Err(format!(
            "namespace {value:?} is not a valid namespace name: {why}; a namespace is lower-case letters, digits and '-' (at most {MAX_LABEL}){}",
            suggestion(value, |s| label_problem(s).is_none())
        )),
    }
}

/// Checks an object name (DNS-1123 subdomain); `field` names the argument in the error.
pub fn check_name(field: &str, value: &str) -> Result<(), String> {
    if let Some((prefix, _)) = value.split_once('/') {
        return Err(format!(
            "{field} {value:?} must be a bare object name, not a path: give the namespace in \"namespace\" and the kind in \"kind\" (\"{prefix}\" is not accepted here)"
        ));
    }
    match subdomain_problem(value) {
        None => Ok(()),
        Some(why) => Err(format!(
            "{field} {value:?} is not a valid object name: {why}; names are lower-case letters, digits, '-' and '.'{}",
            suggestion(value, |s| subdomain_problem(s).is_none())
        )),
    }
}

/// Checks a container name (DNS-1123 label).
pub fn check_container(value: &str) -> Result<(), String> {
    match label_problem(value) {
        None => Ok(()),
        Some(why) => Err(format!(
            "container {value:?} is not a valid container name: {why}"
        )),
    }
}

/// Checks a reference that may carry kubectl's kind prefix (`deployment/backend`, `backend`):
/// the prefix must be a known kind and the rest a valid name. A namespace in front
/// (`shop/backend`) is refused: namespaces go in `namespace`.
pub fn check_reference(field: &str, value: &str) -> Result<(), String> {
    match value.split_once('/') {
        None => check_name(field, value),
        Some((prefix, rest)) => {
            if resolve_kind(prefix).is_err() || prefix.trim() != prefix {
                return Err(format!(
                    "{field} {value:?}: \"{prefix}\" is not a kind; give the namespace in \"namespace\" and a bare name (or kind/name, e.g. deployment/backend) here"
                ));
            }
            check_name(field, rest)
        }
    }
}

/// A validated name type: built only by `parse`, which deserializing goes through.
macro_rules! validated_name {
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// Validates `value`.
            pub fn parse(value: &str) -> Result<$name, String> {
                let check: fn(&str) -> Result<(), String> = $check;
                check(value).map(|()| $name(value.to_string()))
            }

            /// The name.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                let s = String::deserialize(d)?;
                $name::parse(&s).map_err(serde::de::Error::custom)
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }

            fn inline_schema() -> bool {
                true
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({"type": "string"})
            }
        }
    };
}

validated_name!(
    /// A validated namespace name (DNS-1123 label).
    Namespace,
    check_namespace
);

validated_name!(
    /// A validated object name (DNS-1123 subdomain, no kind or namespace prefix).
    ObjectName,
    |v| check_name("name", v)
);

/// Validates the name-like fields of a tool call's raw JSON arguments, before any tool sees
/// them: `namespace`, `name`, `pod`, `workload` and `container`. Absent fields and
/// `"namespace": ""` (the default namespace) pass.
pub fn check_arguments(args: &serde_json::Value) -> Result<(), String> {
    let Some(obj) = args.as_object() else {
        return Ok(());
    };
    for (field, value) in obj {
        let Some(v) = value.as_str() else { continue };
        match field.as_str() {
            "namespace" if v.is_empty() => {}
            "namespace" => check_namespace(v)?,
            "name" | "pod" | "workload" => check_reference(field, v)?,
            "container" => check_container(v)?,
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "names_tests.rs"]
mod tests;
