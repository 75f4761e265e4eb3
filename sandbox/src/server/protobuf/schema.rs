//! The Kubernetes protobuf messages as a prost-reflect descriptor pool, built once, on first
//! use, from `k8s-proto.json` (generated from the k8s-pb crate by
//! `scripts/gen-k8s-proto-schema.py`).

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use prost_reflect::{DescriptorPool, MessageDescriptor};
use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{
    DescriptorProto, FieldDescriptorProto, FileDescriptorProto, FileDescriptorSet, MessageOptions,
};
use serde::Deserialize;

/// The generated schema: messages by path (`api/core/v1.Secret`) and the message of each
/// `apiVersion/kind`.
#[derive(Deserialize)]
struct Source {
    kinds: HashMap<String, String>,
    messages: HashMap<String, Vec<FieldSource>>,
}

/// One field: JSON name, number, kind (`string`, `int32`, `message`, `map:bytes` ...),
/// whether repeated, and the message it refers to.
#[derive(Deserialize)]
struct FieldSource(String, u32, String, u8, #[serde(default)] Option<String>);

/// The pool and the message of each `apiVersion/kind`.
pub(crate) struct Schema {
    pool: DescriptorPool,
    kinds: HashMap<String, String>,
    /// `Message.field` of the fields Go embeds inline: their message's fields sit in the
    /// parent's JSON object.
    inline: HashSet<String>,
}

/// A field's mark in the generated schema: 2 is an inline field.
const INLINE: u8 = 2;

/// The one package all messages live in; their names are their paths, mangled.
const PACKAGE: &str = "k8s";

/// The descriptor name of a message path: `api/core/v1.Secret` → `api_core_v1_Secret`.
pub(crate) fn mangle(path: &str) -> String {
    path.replace(['/', '.'], "_")
}

/// Messages every API group carries, whatever `apiVersion` the envelope names.
const META_KINDS: &[&str] = &[
    "DeleteOptions",
    "Status",
    "ListOptions",
    "GetOptions",
    "CreateOptions",
    "PatchOptions",
    "UpdateOptions",
    "WatchEvent",
];

impl Schema {
    /// The schema, built on first use.
    pub(crate) fn get() -> Result<&'static Schema, String> {
        static SCHEMA: OnceLock<Result<Schema, String>> = OnceLock::new();
        SCHEMA.get_or_init(build).as_ref().map_err(Clone::clone)
    }

    /// The message of an object with this `apiVersion` and `kind`.
    pub(crate) fn message_for(&self, api_version: &str, kind: &str) -> Option<MessageDescriptor> {
        let path = match self.kinds.get(&format!("{api_version}/{kind}")) {
            Some(p) => p.clone(),
            None if META_KINDS.contains(&kind) => format!("apimachinery/pkg/apis/meta/v1.{kind}"),
            None => return None,
        };
        self.message(&path)
    }

    /// Whether Go embeds this field inline.
    pub(crate) fn is_inline(&self, field: &prost_reflect::FieldDescriptor) -> bool {
        self.inline.contains(&format!(
            "{}.{}",
            field.parent_message().name(),
            field.json_name()
        ))
    }

    /// The message at a path such as `apimachinery/pkg/runtime.Unknown`.
    pub(crate) fn message(&self, path: &str) -> Option<MessageDescriptor> {
        self.pool
            .get_message_by_name(&format!("{PACKAGE}.{}", mangle(path)))
    }
}

fn build() -> Result<Schema, String> {
    let source: Source = serde_json::from_str(include_str!("k8s-proto.json"))
        .map_err(|e| format!("the protobuf schema does not parse: {e}"))?;
    let mut messages: Vec<DescriptorProto> = source
        .messages
        .iter()
        .map(|(path, fields)| message(path, fields))
        .collect();
    messages.sort_by(|a, b| a.name.cmp(&b.name));
    let inline = source
        .messages
        .iter()
        .flat_map(|(path, fields)| {
            fields
                .iter()
                .filter(|f| f.3 == INLINE)
                .map(move |f| format!("{}.{}", mangle(path), f.0))
        })
        .collect();
    let file = FileDescriptorProto {
        name: Some("k8s.proto".into()),
        package: Some(PACKAGE.into()),
        message_type: messages,
        syntax: Some("proto2".into()),
        ..FileDescriptorProto::default()
    };
    let pool = DescriptorPool::from_file_descriptor_set(FileDescriptorSet { file: vec![file] })
        .map_err(|e| format!("the protobuf schema is inconsistent: {e}"))?;
    Ok(Schema {
        pool,
        kinds: source.kinds,
        inline,
    })
}

fn scalar(kind: &str) -> Type {
    match kind {
        "string" => Type::String,
        "int32" => Type::Int32,
        "int64" => Type::Int64,
        "bool" => Type::Bool,
        "bytes" => Type::Bytes,
        "double" => Type::Double,
        _ => Type::Message,
    }
}

fn field(
    name: &str,
    number: u32,
    ty: Type,
    label: Label,
    type_name: Option<String>,
) -> FieldDescriptorProto {
    FieldDescriptorProto {
        // JSON names such as `$ref` are not identifiers; the JSON name is what matters.
        name: Some(name.replace(|c: char| !c.is_ascii_alphanumeric(), "_")),
        json_name: Some(name.to_string()),
        number: i32::try_from(number).ok(),
        label: Some(label as i32),
        r#type: Some(ty as i32),
        type_name,
        ..FieldDescriptorProto::default()
    }
}

fn message(path: &str, fields: &[FieldSource]) -> DescriptorProto {
    let name = mangle(path);
    let mut out = DescriptorProto {
        name: Some(name.clone()),
        ..DescriptorProto::default()
    };
    for FieldSource(json, number, kind, repeated, refers) in fields {
        let refers = refers
            .as_deref()
            .map(|r| format!(".{PACKAGE}.{}", mangle(r)));
        if let Some(value_kind) = kind.strip_prefix("map:") {
            // A map is a repeated entry message (key 1, value 2), as protoc writes it.
            let mut chars = json.chars();
            let entry = match chars.next() {
                Some(c) => format!("{}{}Entry", c.to_ascii_uppercase(), chars.as_str()),
                None => "Entry".into(),
            };
            out.nested_type.push(DescriptorProto {
                name: Some(entry.clone()),
                field: vec![
                    field("key", 1, Type::String, Label::Optional, None),
                    field("value", 2, scalar(value_kind), Label::Optional, refers),
                ],
                options: Some(MessageOptions {
                    map_entry: Some(true),
                    ..MessageOptions::default()
                }),
                ..DescriptorProto::default()
            });
            out.field.push(field(
                json,
                *number,
                Type::Message,
                Label::Repeated,
                Some(format!(".{PACKAGE}.{name}.{entry}")),
            ));
        } else {
            let label = if *repeated == 1 {
                Label::Repeated
            } else {
                Label::Optional
            };
            out.field
                .push(field(json, *number, scalar(kind), label, refers));
        }
    }
    out
}
