//! Field access on Kubernetes objects held as JSON: metadata, pointers, owner references.

use serde_json::{Map, Value, json};

/// `obj.metadata.<field>` as a string, or "".
pub fn meta<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj["metadata"][field].as_str().unwrap_or("")
}

/// The object's name.
pub fn name(obj: &Value) -> &str {
    meta(obj, "name")
}

/// The object's namespace ("" when cluster-scoped).
pub fn namespace(obj: &Value) -> &str {
    meta(obj, "namespace")
}

/// The object's uid.
pub fn uid(obj: &Value) -> &str {
    meta(obj, "uid")
}

/// A string at a JSON pointer, or "".
pub fn s<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// An integer at a JSON pointer.
pub fn i(obj: &Value, pointer: &str) -> Option<i64> {
    obj.pointer(pointer).and_then(Value::as_i64)
}

/// An array at a JSON pointer, or an empty slice.
pub fn arr<'a>(obj: &'a Value, pointer: &str) -> &'a [Value] {
    obj.pointer(pointer)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A mutable JSON object, making `v` one if it is not.
pub fn obj_mut(v: &mut Value) -> &mut Map<String, Value> {
    if !v.is_object() {
        *v = json!({});
    }
    match v {
        Value::Object(m) => m,
        _ => unreachable!("the value was just made an object"),
    }
}

/// The controller owner reference's uid, if any.
pub fn controller_uid(obj: &Value) -> Option<&str> {
    arr(obj, "/metadata/ownerReferences")
        .iter()
        .find(|r| r["controller"].as_bool() == Some(true))
        .and_then(|r| r["uid"].as_str())
}

/// An owner reference making `owner` the controller of a dependent.
pub fn owner_ref(owner: &Value) -> Value {
    json!({
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": name(owner),
        "uid": uid(owner),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// Whether the object is being deleted.
pub fn terminating(obj: &Value) -> bool {
    obj["metadata"]["deletionTimestamp"].is_string()
}
