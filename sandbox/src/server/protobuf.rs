//! Protobuf bodies, as the API server reads and writes them: the `k8s\0` magic, then a
//! `runtime.Unknown` envelope naming `apiVersion` and `kind` around the object's message.
//!
//! The wire format is prost-reflect's; the messages are the Kubernetes ones (from k8s-pb,
//! see `protobuf/schema.rs`); objects are converted to and from the JSON the store keeps, so
//! everything behind the codec sees JSON only.

mod convert;
mod schema;
#[cfg(test)]
mod tests;

use prost::Message;
use prost_reflect::{DynamicMessage, Value as PValue};
use serde_json::Value;

use crate::error::ApiError;
use schema::Schema;

/// The media type of protobuf bodies.
pub(crate) const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// The four bytes before every protobuf body.
const MAGIC: &[u8] = b"k8s\0";

/// Whether a `Content-Type` names protobuf.
pub(crate) fn is_protobuf(content_type: &str) -> bool {
    content_type.split(';').next().unwrap_or("").trim() == MEDIA_TYPE
}

/// What a client's `Accept` header lets the server answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// `application/json` (also for `*/*` and an absent header).
    Json,
    /// `application/vnd.kubernetes.protobuf`.
    Protobuf,
}

/// The first media type of `accept` the server can write, in the client's order of
/// preference (`q` weights, then order); `None` when it names none.
pub(crate) fn negotiate(accept: &str) -> Option<Encoding> {
    if accept.trim().is_empty() {
        return Some(Encoding::Json);
    }
    let mut ranges: Vec<(f32, usize, Encoding)> = Vec::new();
    for (i, range) in accept.split(',').enumerate() {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or("");
        let mut q = 1.0f32;
        let mut plain = true;
        for p in parts {
            match p.split_once('=') {
                Some(("q", v)) => q = v.parse().unwrap_or(0.0),
                // `as=Table` and friends ask for a different object, not this encoding.
                Some(("as" | "g" | "v", _)) => plain = false,
                _ => {}
            }
        }
        let enc = match media {
            MEDIA_TYPE if plain => Encoding::Protobuf,
            "application/json" | "application/*" | "*/*" if plain => Encoding::Json,
            _ => continue,
        };
        if q > 0.0 {
            ranges.push((q, i, enc));
        }
    }
    ranges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    ranges.first().map(|r| r.2)
}

/// A protobuf request body as the JSON object it encodes, with `apiVersion` and `kind`.
pub(crate) fn decode(body: &[u8]) -> Result<Value, ApiError> {
    let bad = |why: String| {
        ApiError::bad_request(format!(
            "the body of the request could not be decoded as protobuf: {why}"
        ))
    };
    let schema = Schema::get().map_err(ApiError::internal)?;
    let rest = body
        .strip_prefix(MAGIC)
        .ok_or_else(|| bad("it does not start with the Kubernetes protobuf prefix".into()))?;
    let unknown_desc = schema
        .message("apimachinery/pkg/runtime.Unknown")
        .ok_or_else(|| ApiError::internal("the protobuf schema has no runtime.Unknown"))?;
    let unknown = DynamicMessage::decode(unknown_desc, rest).map_err(|e| bad(e.to_string()))?;
    let text = |msg: &DynamicMessage, name: &str| -> String {
        msg.get_field_by_name(name)
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    };
    let type_meta = match unknown.get_field_by_name("typeMeta").as_deref() {
        Some(PValue::Message(m)) => m.clone(),
        _ => return Err(bad("the envelope names no type".into())),
    };
    let (api_version, kind) = (text(&type_meta, "apiVersion"), text(&type_meta, "kind"));
    let raw = match unknown.get_field_by_name("raw").as_deref() {
        Some(PValue::Bytes(b)) => b.clone(),
        _ => Default::default(),
    };
    let desc = schema.message_for(&api_version, &kind).ok_or_else(|| {
        ApiError::unsupported_body(&format!("{MEDIA_TYPE} for {api_version} {kind}"))
    })?;
    let msg = DynamicMessage::decode(desc.clone(), raw).map_err(|e| bad(e.to_string()))?;
    let mut v = convert::to_json(&msg).unwrap_or_else(|| Value::Object(Default::default()));
    if let Some(o) = v.as_object_mut() {
        o.insert("apiVersion".into(), Value::String(api_version));
        o.insert("kind".into(), Value::String(kind));
    }
    Ok(v)
}

/// A JSON object of `apiVersion` and `kind` as a protobuf body; `None` when the kind has no
/// protobuf message (the caller answers JSON instead).
pub(crate) fn encode(api_version: &str, kind: &str, obj: &Value) -> Option<Vec<u8>> {
    let schema = Schema::get().ok()?;
    let desc = schema.message_for(api_version, kind)?;
    let raw = convert::from_json(&desc, obj).encode_to_vec();
    let unknown_desc = schema.message("apimachinery/pkg/runtime.Unknown")?;
    let type_meta_desc = schema.message("apimachinery/pkg/runtime.TypeMeta")?;
    let mut type_meta = DynamicMessage::new(type_meta_desc);
    type_meta.set_field_by_name("apiVersion", PValue::String(api_version.into()));
    type_meta.set_field_by_name("kind", PValue::String(kind.into()));
    let mut unknown = DynamicMessage::new(unknown_desc);
    unknown.set_field_by_name("typeMeta", PValue::Message(type_meta));
    unknown.set_field_by_name("raw", PValue::Bytes(raw.into()));
    unknown.set_field_by_name("contentEncoding", PValue::String(String::new()));
    unknown.set_field_by_name("contentType", PValue::String(String::new()));
    let mut out = MAGIC.to_vec();
    unknown.encode(&mut out).ok()?;
    Some(out)
}
