//! `/openapi/v2`: the same schemas as a Swagger 2.0 document, which kubectl 1.27 and 1.28
//! download before `apply`, `create -f`, `edit` and `diff` to validate on the client. They
//! ask for it as protobuf (gnostic's `openapi.v2.Document`); other clients get JSON.
//!
//! The messages below declare the part of gnostic's OpenAPI v2 messages the document uses,
//! with their field numbers; prost encodes them.

use std::sync::{Arc, OnceLock};

use prost::Message;
use serde_json::{Map, Value, json};

use crate::resources::{RESOURCES, ResourceType};

/// The content type of the protobuf answer (kubectl asks for
/// `...spec.v2@v1.0+protobuf`; Go's MIME parser refuses the `@`, so the API server answers
/// with a dot).
pub(crate) const PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

#[derive(Clone, PartialEq, Message)]
struct Document {
    #[prost(string, tag = "1")]
    swagger: String,
    #[prost(message, optional, tag = "2")]
    info: Option<Info>,
    #[prost(message, optional, tag = "9")]
    definitions: Option<Definitions>,
}

#[derive(Clone, PartialEq, Message)]
struct Info {
    #[prost(string, tag = "1")]
    title: String,
    #[prost(string, tag = "2")]
    version: String,
}

#[derive(Clone, PartialEq, Message)]
struct Definitions {
    #[prost(message, repeated, tag = "1")]
    additional_properties: Vec<NamedSchema>,
}

#[derive(Clone, PartialEq, Message)]
struct NamedSchema {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(message, optional, tag = "2")]
    value: Option<Schema>,
}

#[derive(Clone, PartialEq, Message)]
struct Schema {
    #[prost(string, tag = "1")]
    r#ref: String,
    #[prost(string, tag = "2")]
    format: String,
    #[prost(string, tag = "4")]
    description: String,
    #[prost(string, repeated, tag = "19")]
    required: Vec<String>,
    #[prost(message, optional, boxed, tag = "21")]
    additional_properties: Option<Box<AdditionalPropertiesItem>>,
    #[prost(message, optional, tag = "22")]
    r#type: Option<TypeItem>,
    #[prost(message, optional, tag = "23")]
    items: Option<ItemsItem>,
    #[prost(message, repeated, tag = "24")]
    all_of: Vec<Schema>,
    #[prost(message, optional, tag = "25")]
    properties: Option<Properties>,
    #[prost(message, repeated, tag = "31")]
    vendor_extension: Vec<NamedAny>,
}

#[derive(Clone, PartialEq, Message)]
struct AdditionalPropertiesItem {
    #[prost(message, optional, tag = "1")]
    schema: Option<Schema>,
    #[prost(bool, optional, tag = "2")]
    boolean: Option<bool>,
}

#[derive(Clone, PartialEq, Message)]
struct TypeItem {
    #[prost(string, repeated, tag = "1")]
    value: Vec<String>,
}

#[derive(Clone, PartialEq, Message)]
struct ItemsItem {
    #[prost(message, repeated, tag = "1")]
    schema: Vec<Schema>,
}

#[derive(Clone, PartialEq, Message)]
struct Properties {
    #[prost(message, repeated, tag = "1")]
    additional_properties: Vec<NamedSchema>,
}

#[derive(Clone, PartialEq, Message)]
struct NamedAny {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(message, optional, tag = "2")]
    value: Option<Any>,
}

#[derive(Clone, PartialEq, Message)]
struct Any {
    #[prost(string, tag = "2")]
    yaml: String,
}

/// The Swagger 2.0 document of every served kind, as JSON (built once).
pub(crate) fn json_document() -> Arc<Value> {
    static DOC: OnceLock<Arc<Value>> = OnceLock::new();
    DOC.get_or_init(|| {
        let served: Vec<&'static ResourceType> = RESOURCES.iter().collect();
        let mut defs = Value::Object(super::definitions(&served));
        retarget_refs(&mut defs);
        Arc::new(json!({
            "swagger": "2.0",
            "info": {"title": "Kubernetes (kai sandbox)", "version": "v1.33.0"},
            "paths": {},
            "definitions": defs,
        }))
    })
    .clone()
}

/// The same document as gnostic's protobuf.
pub(crate) fn protobuf_document() -> Arc<Vec<u8>> {
    static DOC: OnceLock<Arc<Vec<u8>>> = OnceLock::new();
    DOC.get_or_init(|| {
        let doc = json_document();
        let defs = doc["definitions"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(name, s)| NamedSchema {
                        name: name.clone(),
                        value: Some(schema(s)),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let d = Document {
            swagger: "2.0".into(),
            info: Some(Info {
                title: "Kubernetes (kai sandbox)".into(),
                version: "v1.33.0".into(),
            }),
            definitions: Some(Definitions {
                additional_properties: defs,
            }),
        };
        Arc::new(d.encode_to_vec())
    })
    .clone()
}

/// `#/components/schemas/X` (OpenAPI 3) → `#/definitions/X` (Swagger 2.0), and a lone
/// `allOf: [{$ref}]` back to a `$ref` beside its description, as Swagger 2.0 writes it.
fn retarget_refs(v: &mut Value) {
    match v {
        Value::Object(m) => {
            let lone_ref = match m.get("allOf").and_then(Value::as_array).map(Vec::as_slice) {
                Some([only]) if only.as_object().is_some_and(|o| o.len() == 1) => {
                    only.get("$ref").cloned()
                }
                _ => None,
            };
            if let Some(r) = lone_ref {
                m.remove("allOf");
                m.insert("$ref".into(), r);
            }
            if let Some(Value::String(r)) = m.get_mut("$ref")
                && let Some(name) = r.strip_prefix("#/components/schemas/")
            {
                *r = format!("#/definitions/{name}");
            }
            m.values_mut().for_each(retarget_refs);
        }
        Value::Array(a) => a.iter_mut().for_each(retarget_refs),
        _ => {}
    }
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("").to_string()
}

fn schema(v: &Value) -> Schema {
    let named = |m: &Map<String, Value>| -> Vec<NamedSchema> {
        m.iter()
            .map(|(k, s)| NamedSchema {
                name: k.clone(),
                value: Some(schema(s)),
            })
            .collect()
    };
    let ty: Vec<String> = match v.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    let additional = match v.get("additionalProperties") {
        Some(Value::Bool(b)) => Some(Box::new(AdditionalPropertiesItem {
            schema: None,
            boolean: Some(*b),
        })),
        Some(s @ Value::Object(_)) => Some(Box::new(AdditionalPropertiesItem {
            schema: Some(schema(s)),
            boolean: None,
        })),
        _ => None,
    };
    let vendor_extension = v
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| k.starts_with("x-kubernetes-"))
        .filter_map(|(k, x)| {
            Some(NamedAny {
                name: k.clone(),
                value: Some(Any {
                    yaml: serde_saphyr::to_string(x).ok()?,
                }),
            })
        })
        .collect();
    Schema {
        r#ref: text(v, "$ref"),
        format: text(v, "format"),
        description: text(v, "description"),
        required: v
            .get("required")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        additional_properties: additional,
        r#type: (!ty.is_empty()).then_some(TypeItem { value: ty }),
        items: v.get("items").map(|i| ItemsItem {
            schema: vec![schema(i)],
        }),
        all_of: v
            .get("allOf")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(schema).collect())
            .unwrap_or_default(),
        properties: v
            .get("properties")
            .and_then(Value::as_object)
            .map(|m| Properties {
                additional_properties: named(m),
            }),
        vendor_extension,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_protobuf_document_holds_every_kind_with_its_gvk() {
        let doc = Document::decode(protobuf_document().as_slice()).unwrap();
        assert_eq!(doc.swagger, "2.0");
        let defs = doc.definitions.unwrap().additional_properties;
        let find = |n: &str| {
            defs.iter()
                .find(|d| d.name == n)
                .and_then(|d| d.value.clone())
                .unwrap_or_else(|| panic!("{n}"))
        };
        let d = find("io.k8s.api.apps.v1.Deployment");
        let gvk = d
            .vendor_extension
            .iter()
            .find(|e| e.name == "x-kubernetes-group-version-kind")
            .unwrap();
        let yaml = &gvk.value.as_ref().unwrap().yaml;
        assert!(
            yaml.contains("kind: Deployment") && yaml.contains("group: apps"),
            "{yaml}"
        );
        let props = d.properties.unwrap().additional_properties;
        let spec = props.iter().find(|p| p.name == "spec").unwrap();
        assert_eq!(
            spec.value.as_ref().unwrap().r#ref,
            "#/definitions/io.k8s.api.apps.v1.DeploymentSpec"
        );
        let pod_spec = find("io.k8s.api.core.v1.PodSpec");
        assert!(pod_spec.required.contains(&"containers".to_string()));
        for r in RESOURCES.iter().filter(|r| r.group != "events.k8s.io") {
            assert!(
                defs.iter()
                    .any(|d| d.name.ends_with(&format!(".{}", r.kind))),
                "{}",
                r.kind
            );
        }
    }
}
