//! The tool registry: every tool's name, effect and JSON schema, and running a call by name.

use serde_json::Value;

use crate::approval::Approval;
use crate::cluster::Cluster;
pub use crate::contract::{Effect, ToolOutput, ToolSpec, WritePlan};
use crate::error::ToolError;
use crate::tools::describe::Describe;
use crate::tools::diagnose::Diagnose;
use crate::tools::events::GetEvents;
use crate::tools::list_pods::ListPods;
use crate::tools::list_resources::ListResources;
use crate::tools::logs::GetLogs;
use crate::tools::writes::{Restart, RolloutUndo, Scale};
use crate::tools::{Tool, call, plan, spec_of, target};

/// Every tool, reads first, in a stable order.
pub fn specs() -> Vec<ToolSpec> {
    vec![
        spec_of::<ListPods>(),
        spec_of::<ListResources>(),
        spec_of::<Describe>(),
        spec_of::<GetLogs>(),
        spec_of::<GetEvents>(),
        spec_of::<Diagnose>(),
        spec_of::<Restart>(),
        spec_of::<Scale>(),
        spec_of::<RolloutUndo>(),
    ]
}

/// The spec of one tool by name.
pub fn spec(name: &str) -> Option<ToolSpec> {
    specs().into_iter().find(|s| s.name == name)
}

/// Runs a read tool by name. A write tool is refused here: writes run only as an approved plan
/// ([`plan_write`], then [`crate::approval::authorize`], then [`execute`]).
pub async fn run(cluster: &Cluster, name: &str, args: Value) -> Result<ToolOutput, ToolError> {
    if effect(name) == Some(Effect::Write) {
        return Err(ToolError::InvalidArguments {
            tool: name.to_string(),
            message: "a write runs only as a plan approved by the policy gate".into(),
        });
    }
    let output = match name {
        ListPods::NAME => call::<ListPods>(cluster, args).await,
        ListResources::NAME => call::<ListResources>(cluster, args).await,
        Describe::NAME => call::<Describe>(cluster, args).await,
        GetLogs::NAME => call::<GetLogs>(cluster, args).await,
        GetEvents::NAME => call::<GetEvents>(cluster, args).await,
        Diagnose::NAME => call::<Diagnose>(cluster, args).await,
        other => Err(ToolError::UnknownTool(other.to_string())),
    };
    output.map(masked)
}

/// A tool's output with every secret-like value masked, text and JSON alike: the one place
/// every tool result passes, whatever the tool masked itself (a value split over two fields,
/// like `--db-password` and its argument, is only visible here).
fn masked(out: ToolOutput) -> ToolOutput {
    let mut json = out.json;
    crate::mask::mask_json(&mut json);
    ToolOutput {
        text: crate::mask::mask_text(&out.text),
        json,
    }
}

/// Runs an approved write: exactly the request of its plan, with the plan's resourceVersion as
/// precondition. A target changed since the plan fails with [`ToolError::Conflict`]: plan again
/// and ask again.
pub async fn execute(cluster: &Cluster, approval: Approval) -> Result<ToolOutput, ToolError> {
    crate::tools::writes::execute(cluster, approval)
        .await
        .map(masked)
}

/// The validated target of a write call (`kind`, namespace if given, name), before any request:
/// lets the gate refuse a protected namespace without even a dry run.
pub fn write_target(
    name: &str,
    args: &Value,
) -> Result<(crate::kinds::Kind, Option<String>, String), ToolError> {
    match name {
        Restart::NAME => target::<Restart>(args),
        Scale::NAME => target::<Scale>(args),
        RolloutUndo::NAME => target::<RolloutUndo>(args),
        other => Err(ToolError::UnknownTool(other.to_string())),
    }
}

/// What a write tool call will change: validates the arguments, resolves the target, performs
/// a server-side dry run (`dryRun=All`) and returns the one-line summary
/// (`scale deployment shop/backend: replicas 1 → 3`) with warnings (scaling to zero,
/// rollbacks). A read tool's name is an error.
pub async fn plan_write(
    cluster: &Cluster,
    name: &str,
    args: &Value,
) -> Result<WritePlan, ToolError> {
    match name {
        Restart::NAME => plan::<Restart>(cluster, args).await,
        Scale::NAME => plan::<Scale>(cluster, args).await,
        RolloutUndo::NAME => plan::<RolloutUndo>(cluster, args).await,
        other => match spec(other) {
            Some(_) => Err(ToolError::InvalidArguments {
                tool: other.to_string(),
                message: "a read tool has no write plan".into(),
            }),
            None => Err(ToolError::UnknownTool(other.to_string())),
        },
    }
}

/// The effect of a tool by name.
pub fn effect(name: &str) -> Option<Effect> {
    spec(name).map(|s| s.effect)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::parse_args;
    use serde_json::json;

    fn props(name: &str) -> Vec<String> {
        let s = spec(name).unwrap();
        let mut p: Vec<String> = s.parameters["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        p.sort();
        p
    }

    #[test]
    fn the_contract_names_and_arguments() {
        let names: Vec<&str> = specs().iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            [
                "list_pods",
                "list_resources",
                "describe",
                "get_logs",
                "get_events",
                "diagnose",
                "restart",
                "scale",
                "rollout_undo"
            ]
        );
        assert_eq!(
            props("list_pods"),
            [
                "all_namespaces",
                "label_selector",
                "namespace",
                "only_unhealthy"
            ]
        );
        assert_eq!(
            props("list_resources"),
            ["all_namespaces", "kind", "label_selector", "namespace"]
        );
        assert_eq!(props("describe"), ["kind", "name", "namespace"]);
        assert_eq!(
            props("get_logs"),
            [
                "container",
                "grep",
                "namespace",
                "pod",
                "previous",
                "since_seconds",
                "tail_lines",
                "workload"
            ]
        );
        assert_eq!(
            props("get_events"),
            [
                "all_namespaces",
                "kind",
                "name",
                "namespace",
                "warnings_only"
            ]
        );
        assert_eq!(
            props("diagnose"),
            ["all_namespaces", "kind", "name", "namespace"]
        );
        assert_eq!(props("restart"), ["kind", "name", "namespace"]);
        assert_eq!(props("scale"), ["kind", "name", "namespace", "replicas"]);
        assert_eq!(
            props("rollout_undo"),
            ["kind", "name", "namespace", "to_revision"]
        );
        for s in specs() {
            let expected = if ["restart", "scale", "rollout_undo"].contains(&s.name) {
                Effect::Write
            } else {
                Effect::Read
            };
            assert_eq!(s.effect, expected, "{}", s.name);
            assert_eq!(effect(s.name), Some(expected));
        }
        assert!(spec("kubectl_exec").is_none());
    }

    #[test]
    fn schemas_are_plain_for_function_calling() {
        for s in specs() {
            let text = s.parameters.to_string();
            assert_eq!(s.parameters["type"], "object", "{}", s.name);
            for banned in [
                "$ref",
                "definitions",
                "$defs",
                "$schema",
                "anyOf",
                "oneOf",
                "\"null\"",
            ] {
                assert!(!text.contains(banned), "{}: {banned} in {text}", s.name);
            }
            assert!(!s.description.is_empty());
            for (k, v) in s.parameters["properties"].as_object().unwrap() {
                assert!(
                    v.get("description").is_some(),
                    "{}.{k} has no description",
                    s.name
                );
                assert!(v.get("type").is_some(), "{}.{k} has no type: {v}", s.name);
            }
        }
        let scale = spec("scale").unwrap().parameters;
        assert_eq!(
            scale["properties"]["kind"]["enum"],
            json!(["deployment", "statefulset"])
        );
        assert_eq!(scale["properties"]["kind"]["type"], "string");
        let mut req: Vec<&str> = scale["required"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        req.sort();
        assert_eq!(req, ["kind", "name", "replicas"]);
        assert_eq!(
            spec("restart").unwrap().parameters["properties"]["kind"]["enum"],
            json!(["deployment", "statefulset", "daemonset", "pod"])
        );
        assert_eq!(
            spec("list_pods").unwrap().parameters["additionalProperties"],
            false
        );
        assert!(
            spec("list_pods")
                .unwrap()
                .parameters
                .get("required")
                .is_none_or(|r| r.as_array().is_some_and(|a| a.is_empty()))
        );
    }

    #[test]
    fn invalid_arguments_name_the_field() {
        use crate::tools::list_pods::ListPods;
        use crate::tools::writes::Scale;
        let e = parse_args::<ListPods>(json!({"namespace": "shop", "bogus": 1}))
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("invalid arguments for list_pods") && e.contains("bogus"),
            "{e}"
        );
        let e = parse_args::<Scale>(json!({"kind": "deployment", "name": "backend"}))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("missing field `replicas`"), "{e}");
        let e =
            parse_args::<Scale>(json!({"kind": "deployment", "name": "b", "replicas": "three"}))
                .err()
                .unwrap()
                .to_string();
        assert!(e.contains("invalid type: string \"three\""), "{e}");
        assert!(parse_args::<ListPods>(serde_json::Value::Null).is_ok());
        assert!(parse_args::<ListPods>(json!({})).is_ok());
    }
}
