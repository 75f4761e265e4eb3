//! One stored object version, held either as a decoded tree (objects the simulation works on)
//! or only as its JSON encoding (frozen objects: a tenth of the memory, decoded on demand).
//! The encoding is made once per version and shared by the store, list answers and watches.

use std::sync::{Arc, OnceLock};

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// A stored object version. Cloning shares it; a version never changes in place.
#[derive(Clone)]
pub struct Stored(Arc<Form>);

enum Form {
    /// The decoded tree, and its encoding once something served it.
    Tree {
        value: Arc<Value>,
        json: OnceLock<Box<[u8]>>,
    },
    /// Only the encoding.
    Encoded(Box<[u8]>),
}

impl std::fmt::Debug for Stored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stored")
            .field("encoded", &self.is_encoded())
            .finish_non_exhaustive()
    }
}

impl Stored {
    /// A version held as a tree (encoded the first time it is served).
    pub fn tree(value: Arc<Value>) -> Self {
        Self(Arc::new(Form::Tree {
            value,
            json: OnceLock::new(),
        }))
    }

    /// A version held only as its encoding.
    pub fn encoded(value: &Value) -> Self {
        Self(Arc::new(Form::Encoded(encode(value))))
    }

    /// Whether only the encoding is held (reading the object decodes it).
    pub fn is_encoded(&self) -> bool {
        matches!(*self.0, Form::Encoded(_))
    }

    /// The object: the held tree, or a fresh decoding of the held encoding.
    pub fn value(&self) -> Arc<Value> {
        match &*self.0 {
            Form::Tree { value, .. } => value.clone(),
            Form::Encoded(bytes) => Arc::new(serde_json::from_slice(bytes).unwrap_or_else(|e| {
                // The bytes were encoded from a Value by this module: this cannot happen.
                tracing::error!("decoding a stored object: {e}");
                Value::Null
            })),
        }
    }

    /// The parts of the object at `paths` (JSON pointers; arrays on the way are looked
    /// through: `/spec/containers/ports` keeps each container's ports), or more: a version held
    /// as a tree is given whole. Decoding only those parts of an encoded version skips the
    /// rest without building it, several times faster than [`Stored::value`].
    pub fn project(&self, paths: &[&str]) -> Arc<Value> {
        match &*self.0 {
            Form::Tree { value, .. } => value.clone(),
            Form::Encoded(bytes) => {
                let split: Vec<Vec<&str>> = paths
                    .iter()
                    .map(|p| p.split('/').filter(|s| !s.is_empty()).collect())
                    .collect();
                let paths = split.iter().map(Vec::as_slice).collect();
                let mut de = serde_json::Deserializer::from_slice(bytes);
                Arc::new(Project { paths }.deserialize(&mut de).unwrap_or_else(|e| {
                    tracing::error!("decoding a stored object: {e}");
                    Value::Null
                }))
            }
        }
    }

    /// The object's JSON encoding (made once per version).
    pub fn json(&self) -> &[u8] {
        match &*self.0 {
            Form::Tree { value, json } => json.get_or_init(|| encode(value)),
            Form::Encoded(bytes) => bytes,
        }
    }
}

/// Decodes the parts of a JSON value on some key paths; every path is non-empty, or the value
/// at hand is wanted whole.
struct Project<'a> {
    paths: Vec<&'a [&'a str]>,
}

impl<'de> DeserializeSeed<'de> for Project<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Project<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(Project {
            paths: self.paths.clone(),
        })? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let sub: Vec<&[&str]> = self
                .paths
                .iter()
                .filter(|p| p.first() == Some(&key.as_str()))
                .map(|p| &p[1..])
                .collect();
            if sub.is_empty() {
                map.next_value::<IgnoredAny>()?;
            } else if sub.iter().any(|p| p.is_empty()) {
                out.insert(key, map.next_value::<Value>()?);
            } else {
                out.insert(key, map.next_value_seed(Project { paths: sub })?);
            }
        }
        Ok(Value::Object(out))
    }
}

fn encode(value: &Value) -> Box<[u8]> {
    // Room for a typical object up front: growing from serde_json's small start copies it
    // several times.
    let mut buf = Vec::with_capacity(4096);
    // Encoding a Value cannot fail: its keys are strings and its numbers finite.
    if serde_json::to_writer(&mut buf, value).is_err() {
        buf = b"null".to_vec();
    }
    buf.into_boxed_slice()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_forms_give_the_same_object_and_encoding() {
        let v = json!({"metadata": {"name": "a", "labels": {"app": "x"}}, "spec": {"n": 1}});
        let tree = Stored::tree(Arc::new(v.clone()));
        let enc = Stored::encoded(&v);
        assert!(!tree.is_encoded() && enc.is_encoded());
        assert_eq!(*tree.value(), v);
        assert_eq!(*enc.value(), v);
        assert_eq!(tree.json(), enc.json());
        assert_eq!(serde_json::from_slice::<Value>(enc.json()).unwrap(), v);
    }

    #[test]
    fn a_projection_decodes_only_the_paths_asked_for() {
        let v = json!({"metadata": {"name": "a", "uid": "u", "labels": {"app": "x"}},
            "spec": {"nodeName": "n1", "containers": [
                {"name": "c", "image": "i", "ports": [{"containerPort": 80}]},
                {"name": "d", "env": [{"name": "E", "value": "1.5"}]}]},
            "status": {"podIP": "10.0.0.1", "ready": true, "n": -2, "f": 0.5, "none": null}});
        let paths = [
            "/metadata/name",
            "/metadata/labels",
            "/spec/containers/ports",
            "/status",
        ];
        let want = json!({"metadata": {"name": "a", "labels": {"app": "x"}},
            "spec": {"containers": [{"ports": [{"containerPort": 80}]}, {}]},
            "status": v["status"]});
        assert_eq!(*Stored::encoded(&v).project(&paths), want);
        // A tree is given whole: it costs nothing to share.
        assert_eq!(*Stored::tree(Arc::new(v.clone())).project(&paths), v);
    }
}
