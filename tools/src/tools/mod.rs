//! The tools: each one a typed argument struct (its JSON schema), a declared effect, and a run
//! that returns compact text for a model and structured JSON for scripts.

use std::future::Future;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::cluster::Cluster;
use crate::contract::{Effect, ToolOutput, ToolSpec, WritePlan};
use crate::error::ToolError;
use crate::kinds::Kind;

pub mod describe;
pub mod diagnose;
pub mod events;
pub mod list_pods;
pub mod list_resources;
pub mod logs;
pub mod writes;

/// A tool: its name, its effect and its arguments are declared at compile time, so a tool
/// cannot exist without saying whether it changes the cluster.
pub trait Tool {
    /// Stable name, a contract with models, MCP clients and scripts.
    const NAME: &'static str;
    /// Read or write; every write passes the policy gate before [`Tool::run`].
    const EFFECT: Effect;
    /// Arguments; their JSON schema (doc comments become descriptions) is what a model sees.
    type Args: DeserializeOwned + JsonSchema;
    /// What the tool does, for a model.
    fn description() -> &'static str;
    /// Runs a read. A write tool keeps this default: it never runs from its arguments, only as
    /// an approved plan ([`WriteTool::plan`], then `registry::execute`).
    fn run(
        cluster: &Cluster,
        args: Self::Args,
    ) -> impl Future<Output = Result<ToolOutput, ToolError>> + Send {
        let _ = (cluster, args);
        async {
            Err(ToolError::InvalidArguments {
                tool: Self::NAME.to_string(),
                message: "a write runs only as a plan approved by the policy gate".into(),
            })
        }
    }
}

/// A tool that changes the cluster: it resolves a concrete plan (target, exact request,
/// resourceVersion precondition), checked by a server-side dry run, before anyone approves it.
pub trait WriteTool: Tool {
    /// The validated target: kind, namespace (if given) and name.
    fn target(args: &Self::Args) -> (Kind, Option<String>, String);
    /// Resolves the target and dry-runs the exact request on the server.
    fn plan(
        cluster: &Cluster,
        args: &Self::Args,
    ) -> impl Future<Output = Result<WritePlan, ToolError>> + Send;
}

/// Parses a call's JSON arguments: names and namespaces are validated first (DNS-1123), then
/// the types; a misfit names the field.
pub fn parse_args<T: Tool>(args: Value) -> Result<T::Args, ToolError> {
    let args = if args.is_null() {
        Value::Object(Map::new())
    } else {
        args
    };
    crate::names::check_arguments(&args).map_err(|message| ToolError::InvalidArguments {
        tool: T::NAME.to_string(),
        message,
    })?;
    serde_json::from_value(args).map_err(|e| ToolError::InvalidArguments {
        tool: T::NAME.to_string(),
        message: e.to_string(),
    })
}

/// The spec of a tool, as listed to a model.
pub fn spec_of<T: Tool>() -> ToolSpec {
    ToolSpec {
        name: T::NAME,
        description: T::description().to_string(),
        effect: T::EFFECT,
        parameters: plain_schema::<T::Args>(),
    }
}

/// A JSON schema plain enough for OpenAI function calling: `type: object`, `properties`,
/// `required`, no `$ref`, optional fields not nullable, enums as string enums.
pub fn plain_schema<A: JsonSchema>() -> Value {
    let generator = schemars::generate::SchemaSettings::draft07()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .into_generator();
    let schema = generator.into_root_schema_for::<A>();
    let mut v = schema.to_value();
    simplify(&mut v);
    if let Some(o) = v.as_object_mut() {
        o.remove("title");
        o.remove("definitions");
        o.remove("$defs");
        o.entry("properties")
            .or_insert_with(|| Value::Object(Map::new()));
        o.insert("type".into(), Value::String("object".into()));
    }
    v
}

fn simplify(v: &mut Value) {
    match v {
        Value::Object(o) => {
            // `type: ["integer", "null"]` → `type: "integer"`: absence already means none.
            if let Some(Value::Array(types)) = o.get("type") {
                let non_null: Vec<Value> = types
                    .iter()
                    .filter(|t| t.as_str() != Some("null"))
                    .cloned()
                    .collect();
                if non_null.len() == 1 {
                    o.insert("type".into(), non_null[0].clone());
                } else {
                    o.insert("type".into(), Value::Array(non_null));
                }
            }
            for key in ["anyOf", "oneOf"] {
                if let Some(Value::Array(alts)) = o.get(key).cloned() {
                    let non_null: Vec<Value> = alts
                        .into_iter()
                        .filter(|a| a.get("type").and_then(Value::as_str) != Some("null"))
                        .collect();
                    let consts: Option<Vec<Value>> = non_null
                        .iter()
                        .map(|a| {
                            a.get("const")
                                .or_else(|| a.get("enum").and_then(|e| e.get(0)))
                                .cloned()
                        })
                        .collect();
                    o.remove(key);
                    if let Some(values) = consts.filter(|c| !c.is_empty()) {
                        o.insert("type".into(), Value::String("string".into()));
                        o.insert("enum".into(), Value::Array(values));
                    } else if non_null.len() == 1 {
                        if let Value::Object(inner) = &non_null[0] {
                            for (k, val) in inner {
                                o.entry(k.clone()).or_insert_with(|| val.clone());
                            }
                        }
                    } else {
                        o.insert(key.into(), Value::Array(non_null));
                    }
                }
            }
            if o.get("default").is_some_and(Value::is_null) {
                o.remove("default");
            }
            o.remove("format");
            o.remove("$schema");
            for (_, child) in o.iter_mut() {
                simplify(child);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(simplify),
        _ => {}
    }
}

/// Runs a tool by type on JSON arguments.
pub async fn call<T: Tool>(cluster: &Cluster, args: Value) -> Result<ToolOutput, ToolError> {
    let args = parse_args::<T>(args)?;
    T::run(cluster, args).await
}

/// The validated target of a write tool call.
pub fn target<T: WriteTool>(args: &Value) -> Result<(Kind, Option<String>, String), ToolError> {
    Ok(T::target(&parse_args::<T>(args.clone())?))
}

/// Plans a write tool by type on JSON arguments.
pub async fn plan<T: WriteTool>(cluster: &Cluster, args: &Value) -> Result<WritePlan, ToolError> {
    let args = parse_args::<T>(args.clone())?;
    T::plan(cluster, &args).await
}

/// Rejects `namespace` together with `all_namespaces`, and returns the namespace to use
/// (None: all namespaces).
pub fn scope<'a>(
    tool: &str,
    cluster: &'a Cluster,
    namespace: Option<&'a str>,
    all_namespaces: bool,
) -> Result<Option<&'a str>, ToolError> {
    let namespace = namespace.filter(|n| !n.trim().is_empty());
    match (namespace, all_namespaces) {
        (Some(ns), true) => Err(ToolError::InvalidArguments {
            tool: tool.to_string(),
            message: format!("give either namespace (\"{ns}\") or all_namespaces, not both"),
        }),
        (_, true) => Ok(None),
        (ns, false) => Ok(Some(cluster.ns(ns))),
    }
}

/// The current time, for ages.
pub fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}
