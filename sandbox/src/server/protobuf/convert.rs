//! Between Kubernetes JSON objects and protobuf messages: field by field through the
//! descriptors, with the types whose JSON form differs from their message (times,
//! quantities, int-or-string, raw JSON) converted as the API server converts them.

use std::collections::HashMap;

use base64::Engine;
use jiff::Timestamp;
use prost_reflect::{
    DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor, ReflectMessage,
    Value as PValue,
};
use serde_json::{Map, Value, json};

use super::schema::{Schema, mangle};

/// How a message with a special JSON form is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Special {
    Time,
    MicroTime,
    Quantity,
    IntOrString,
    RawJson,
    Duration,
}

fn is_inline(field: &FieldDescriptor) -> bool {
    Schema::get().is_ok_and(|s| s.is_inline(field))
}

fn special(desc: &MessageDescriptor) -> Option<Special> {
    let name = desc.name();
    let is = |path: &str| name == mangle(path);
    if is("apimachinery/pkg/apis/meta/v1.Time") {
        Some(Special::Time)
    } else if is("apimachinery/pkg/apis/meta/v1.MicroTime") {
        Some(Special::MicroTime)
    } else if is("apimachinery/pkg/api/resource.Quantity") {
        Some(Special::Quantity)
    } else if is("apimachinery/pkg/util/intstr.IntOrString") {
        Some(Special::IntOrString)
    } else if is("apimachinery/pkg/runtime.RawExtension")
        || is("apimachinery/pkg/apis/meta/v1.FieldsV1")
        || is("apiextensions_apiserver/pkg/apis/apiextensions/v1.JSON")
    {
        Some(Special::RawJson)
    } else if is("apimachinery/pkg/apis/meta/v1.Duration") {
        Some(Special::Duration)
    } else {
        None
    }
}

/// A message as the JSON the store keeps; `None` for what JSON leaves out (a zero time).
pub(super) fn to_json(msg: &DynamicMessage) -> Option<Value> {
    let desc = msg.descriptor();
    if let Some(sp) = special(&desc) {
        return special_to_json(sp, msg);
    }
    let mut out = Map::new();
    for (field, value) in msg.fields() {
        match value_to_json(&field, value) {
            Some(Value::Object(inner)) if is_inline(&field) => out.extend(inner),
            Some(v) => {
                out.insert(field.json_name().to_string(), v);
            }
            None => {}
        }
    }
    Some(Value::Object(out))
}

fn value_to_json(field: &FieldDescriptor, value: &PValue) -> Option<Value> {
    match value {
        PValue::List(items) => {
            let a: Vec<Value> = items.iter().filter_map(scalar_to_json).collect();
            (!a.is_empty()).then_some(Value::Array(a))
        }
        PValue::Map(m) => {
            let value_field = match field.kind() {
                Kind::Message(entry) => entry.map_entry_value_field(),
                _ => return None,
            };
            let mut out = Map::new();
            for (k, v) in m {
                if let MapKey::String(k) = k
                    && let Some(v) = value_to_json(&value_field, v)
                {
                    out.insert(k.clone(), v);
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        // Go writes every non-pointer string, even empty; its JSON leaves those out.
        PValue::String(s) if s.is_empty() => None,
        v => scalar_to_json(v),
    }
}

fn scalar_to_json(v: &PValue) -> Option<Value> {
    Some(match v {
        PValue::Bool(b) => json!(b),
        PValue::I32(n) => json!(n),
        PValue::I64(n) => json!(n),
        PValue::U32(n) => json!(n),
        PValue::U64(n) => json!(n),
        PValue::F32(n) => json!(n),
        PValue::F64(n) => json!(n),
        PValue::String(s) => json!(s),
        PValue::Bytes(b) => json!(base64(b)),
        PValue::EnumNumber(n) => json!(n),
        PValue::Message(m) => to_json(m)?,
        PValue::List(_) | PValue::Map(_) => return None,
    })
}

fn get<'a>(msg: &'a DynamicMessage, name: &str) -> Option<std::borrow::Cow<'a, PValue>> {
    let f = msg.descriptor().get_field_by_json_name(name)?;
    msg.has_field(&f).then(|| msg.get_field(&f))
}

fn special_to_json(sp: Special, msg: &DynamicMessage) -> Option<Value> {
    let int = |name: &str| get(msg, name).and_then(|v| v.as_i64().or(v.as_i32().map(i64::from)));
    match sp {
        Special::Time | Special::MicroTime => {
            let secs = int("seconds").unwrap_or(0);
            let nanos = int("nanos").unwrap_or(0);
            if secs == 0 && nanos == 0 {
                return None;
            }
            let t = Timestamp::new(secs, i32::try_from(nanos).unwrap_or(0)).ok()?;
            let text = if sp == Special::Time {
                t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
            } else {
                t.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
            };
            Some(json!(text))
        }
        Special::Quantity => get(msg, "string").and_then(|v| v.as_str().map(|s| json!(s))),
        Special::IntOrString => {
            if int("type") == Some(1) {
                Some(json!(
                    get(msg, "strVal")
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                ))
            } else {
                Some(json!(int("intVal").unwrap_or(0)))
            }
        }
        Special::RawJson => {
            let f = msg.descriptor().fields().next()?;
            let raw = msg.get_field(&f);
            let bytes = raw.as_bytes()?;
            serde_json::from_slice(bytes).ok()
        }
        Special::Duration => {
            let ns = int("duration").unwrap_or(0);
            Some(json!(go_duration(ns)))
        }
    }
}

/// A duration in nanoseconds as Go prints it (`1h2m3s`, `1.5s`, `0s`).
fn go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let sign = if ns < 0 { "-" } else { "" };
    let ns = ns.unsigned_abs();
    let (h, m) = (ns / 3_600_000_000_000, (ns / 60_000_000_000) % 60);
    let s = (ns % 60_000_000_000) as f64 / 1e9;
    let mut out = sign.to_string();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        out.push_str(&format!("{m}m"));
    }
    out.push_str(&format!("{s}s"));
    out
}

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A JSON object as a message of `desc`. Fields the message does not have, and values of
/// the wrong shape, are left out, as the API server's decoder drops unknown fields.
pub(super) fn from_json(desc: &MessageDescriptor, v: &Value) -> DynamicMessage {
    let mut msg = DynamicMessage::new(desc.clone());
    if let Some(sp) = special(desc) {
        special_from_json(sp, &mut msg, v);
        return msg;
    }
    let Some(obj) = v.as_object() else {
        return msg;
    };
    for (k, v) in obj {
        let Some(field) = desc.get_field_by_json_name(k) else {
            continue;
        };
        if let Some(pv) = field_from_json(&field, v) {
            msg.set_field(&field, pv);
        }
    }
    // An inline field's message reads its fields from this same object.
    for field in desc.fields().filter(is_inline) {
        if let Kind::Message(inner) = field.kind() {
            let m = from_json(&inner, v);
            if m.fields().next().is_some() {
                msg.set_field(&field, PValue::Message(m));
            }
        }
    }
    msg
}

fn field_from_json(field: &FieldDescriptor, v: &Value) -> Option<PValue> {
    if v.is_null() {
        return None;
    }
    if field.is_map() {
        let Kind::Message(entry) = field.kind() else {
            return None;
        };
        let value_field = entry.map_entry_value_field();
        let m: HashMap<MapKey, PValue> = v
            .as_object()?
            .iter()
            .filter_map(|(k, v)| {
                Some((
                    MapKey::String(k.clone()),
                    scalar_from_json(&value_field.kind(), v)?,
                ))
            })
            .collect();
        return Some(PValue::Map(m));
    }
    if field.is_list() {
        let items: Vec<PValue> = v
            .as_array()?
            .iter()
            .filter_map(|x| scalar_from_json(&field.kind(), x))
            .collect();
        return Some(PValue::List(items));
    }
    scalar_from_json(&field.kind(), v)
}

fn scalar_from_json(kind: &Kind, v: &Value) -> Option<PValue> {
    Some(match kind {
        Kind::String => PValue::String(match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return None,
        }),
        Kind::Bool => PValue::Bool(v.as_bool()?),
        Kind::Int32 => PValue::I32(i32::try_from(v.as_i64()?).ok()?),
        Kind::Int64 => PValue::I64(v.as_i64()?),
        Kind::Double => PValue::F64(v.as_f64()?),
        Kind::Bytes => PValue::Bytes(
            base64::engine::general_purpose::STANDARD
                .decode(v.as_str()?)
                .ok()?
                .into(),
        ),
        Kind::Message(desc) => PValue::Message(from_json(desc, v)),
        _ => return None,
    })
}

fn set(msg: &mut DynamicMessage, name: &str, value: PValue) {
    if let Some(f) = msg.descriptor().get_field_by_json_name(name) {
        msg.set_field(&f, value);
    }
}

fn special_from_json(sp: Special, msg: &mut DynamicMessage, v: &Value) {
    match sp {
        Special::Time | Special::MicroTime => {
            if let Some(t) = v.as_str().and_then(|s| s.parse::<Timestamp>().ok()) {
                set(msg, "seconds", PValue::I64(t.as_second()));
                set(msg, "nanos", PValue::I32(t.subsec_nanosecond()));
            }
        }
        Special::Quantity => match v {
            Value::String(s) => set(msg, "string", PValue::String(s.clone())),
            Value::Number(n) => set(msg, "string", PValue::String(n.to_string())),
            _ => {}
        },
        Special::IntOrString => match v {
            Value::String(s) => {
                set(msg, "type", PValue::I64(1));
                set(msg, "strVal", PValue::String(s.clone()));
            }
            Value::Number(n) => {
                set(msg, "type", PValue::I64(0));
                set(
                    msg,
                    "intVal",
                    PValue::I32(n.as_i64().and_then(|n| i32::try_from(n).ok()).unwrap_or(0)),
                );
            }
            _ => {}
        },
        Special::RawJson => {
            if let (Some(f), Ok(raw)) = (msg.descriptor().fields().next(), serde_json::to_vec(v)) {
                msg.set_field(&f, PValue::Bytes(raw.into()));
            }
        }
        Special::Duration => {
            if let Some(d) = v
                .as_str()
                .and_then(|s| s.parse::<jiff::SignedDuration>().ok())
            {
                set(
                    msg,
                    "duration",
                    PValue::I64(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)),
                );
            }
        }
    }
}
