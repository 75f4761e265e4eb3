//! Validation of custom resources against their CustomResourceDefinition's structural
//! `openAPIV3Schema`: types, required fields, enums, bounds, and unknown fields (pruned, or
//! refused under `fieldValidation=Strict`), worded as the apiextensions server words them.

use serde_json::{Value, json};

use super::fields::FieldError;
use super::typed::{Seg, Unknown};

/// Checks `obj` against `schema`; returns the field errors and the unknown fields.
pub fn check(schema: &Value, obj: &Value) -> (Vec<FieldError>, Vec<Unknown>) {
    let mut errs = Vec::new();
    let mut unknown = Vec::new();
    let props = schema.get("properties").and_then(Value::as_object);
    let preserve = preserves(schema);
    if let Some(m) = obj.as_object() {
        for (k, v) in m {
            if matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                continue;
            }
            let path = vec![Seg::Key(k.clone())];
            match props.and_then(|p| p.get(k)) {
                Some(s) => node(s, v, &path, &mut errs, &mut unknown),
                None if preserve => {}
                None => unknown.push(Unknown { path }),
            }
        }
    }
    required(schema, obj, &[], &mut errs);
    (errs, unknown)
}

fn preserves(schema: &Value) -> bool {
    schema["x-kubernetes-preserve-unknown-fields"] == true
        || schema.get("additionalProperties") == Some(&Value::Bool(true))
}

fn show(path: &[Seg]) -> String {
    Unknown {
        path: path.to_vec(),
    }
    .to_string()
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn required(schema: &Value, v: &Value, path: &[Seg], errs: &mut Vec<FieldError>) {
    let Some(m) = v.as_object() else {
        return;
    };
    for r in schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !m.contains_key(r) {
            let mut p = path.to_vec();
            p.push(Seg::Key(r.to_string()));
            errs.push(FieldError::required(show(&p), ""));
        }
    }
}

fn node(
    schema: &Value,
    v: &Value,
    path: &[Seg],
    errs: &mut Vec<FieldError>,
    unknown: &mut Vec<Unknown>,
) {
    let at = show(path);
    if v.is_null() && schema["nullable"] == true {
        return;
    }
    if schema["x-kubernetes-int-or-string"] == true {
        if !(v.is_string() || v.is_i64() || v.is_u64()) {
            errs.push(FieldError::invalid(
                at.clone(),
                json!(type_name(v)),
                format!(
                    "{at} in body must be of type integer,string: \"{}\"",
                    type_name(v)
                ),
            ));
        }
        return;
    }
    if let Some(want) = schema.get("type").and_then(Value::as_str) {
        let got = type_name(v);
        let ok = got == want || (want == "number" && got == "integer");
        if !ok {
            errs.push(FieldError::invalid(
                at.clone(),
                json!(got),
                format!("{at} in body must be of type {want}: \"{got}\""),
            ));
            return;
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(v)
    {
        let texts: Vec<String> = options
            .iter()
            .map(|o| o.as_str().map_or_else(|| o.to_string(), str::to_string))
            .collect();
        let supported: Vec<&str> = texts.iter().map(String::as_str).collect();
        errs.push(FieldError::not_supported(at.clone(), v.clone(), &supported));
    }
    bounds(schema, v, &at, errs);
    match v {
        Value::Object(m) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            for (k, child) in m {
                let mut p = path.to_vec();
                p.push(Seg::Key(k.clone()));
                match (props.and_then(|ps| ps.get(k)), additional) {
                    (Some(s), _) | (None, Some(s)) => node(s, child, &p, errs, unknown),
                    (None, None) if preserves(schema) => {}
                    (None, None) => unknown.push(Unknown { path: p }),
                }
            }
            required(schema, v, path, errs);
        }
        Value::Array(items) => {
            if let Some(s) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    let mut p = path.to_vec();
                    p.push(Seg::Index(i));
                    node(s, item, &p, errs, unknown);
                }
            }
        }
        _ => {}
    }
}

fn bounds(schema: &Value, v: &Value, at: &str, errs: &mut Vec<FieldError>) {
    if let Some(n) = v.as_f64() {
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
            && n < min
        {
            errs.push(FieldError::invalid(
                at,
                v.clone(),
                format!("{at} in body should be greater than or equal to {min}"),
            ));
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
            && n > max
        {
            errs.push(FieldError::invalid(
                at,
                v.clone(),
                format!("{at} in body should be less than or equal to {max}"),
            ));
        }
    }
    if let Some(s) = v.as_str() {
        let len = s.chars().count() as u64;
        if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
            && len < min
        {
            errs.push(FieldError::invalid(
                at,
                v.clone(),
                format!("{at} in body should be at least {min} chars long"),
            ));
        }
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
            && len > max
        {
            errs.push(FieldError::invalid(
                at,
                v.clone(),
                format!("{at} in body should be at most {max} chars long"),
            ));
        }
    }
    if let Some(a) = v.as_array()
        && let Some(min) = schema.get("minItems").and_then(Value::as_u64)
        && (a.len() as u64) < min
    {
        errs.push(FieldError::invalid(
            at,
            v.clone(),
            format!("{at} in body should have at least {min} items"),
        ));
    }
}
