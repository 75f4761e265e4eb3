//! The registry's tools as MCP sees them (name, description, input schema, annotations), and a
//! gate's result as an MCP tool result (text plus structured content, `isError` with the CLI's
//! one-line wording).

use std::sync::Arc;

use kai_tools::approval::{NO_TERMINAL, Refusal};
use kai_tools::registry::{self, Effect, ToolSpec};
use rmcp::model::{CallToolResult, ContentBlock, Tool, ToolAnnotations};
use serde_json::{Value, json};

use crate::policy::{GateError, GateResult};

/// What a client may assume about a tool: `(read_only, destructive, idempotent)`.
///
/// Reads change nothing. Of the writes, `scale` to a given count is idempotent (the same call
/// twice leaves the same state) but may remove pods; `restart` deletes pods (or rolls them all)
/// and `rollout_undo` replaces the running version, and neither is idempotent.
pub fn hints(spec: &ToolSpec) -> (bool, bool, bool) {
    match (spec.effect, spec.name) {
        (Effect::Read, _) => (true, false, true),
        (Effect::Write, "scale") => (false, true, true),
        // Unknown writes are assumed destructive and not idempotent: the safe reading.
        (Effect::Write, _) => (false, true, false),
    }
}

/// The tools listed to a client: the reads, and the writes only with `--allow-writes`.
pub fn listed(allow_writes: bool) -> Vec<Tool> {
    registry::specs()
        .into_iter()
        .filter(|s| allow_writes || s.effect == Effect::Read)
        .map(|s| to_tool(&s))
        .collect()
}

fn to_tool(spec: &ToolSpec) -> Tool {
    let (read_only, destructive, idempotent) = hints(spec);
    let schema = match &spec.parameters {
        Value::Object(o) => o.clone(),
        // Every registry schema is an object (the registry's tests hold it); an empty object
        // schema is the honest fallback.
        _ => serde_json::Map::from_iter([("type".to_string(), json!("object"))]),
    };
    let annotations = ToolAnnotations::with_title(title(spec.name))
        .read_only(read_only)
        .destructive(destructive)
        .idempotent(idempotent)
        // A Kubernetes cluster is a world that changes under the tools.
        .open_world(true);
    Tool::new(spec.name, spec.description.clone(), Arc::new(schema)).with_annotations(annotations)
}

/// `list_pods` → `List pods`.
fn title(name: &str) -> String {
    let words = name.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => words,
    }
}

/// A gate's result for the client: the tool's text and structured JSON, or an error result
/// with the one line the CLI would print. `served_writes` says whether `--allow-writes` was
/// given, so a refusal names the flag that lifts it.
pub fn result(r: GateResult, served_writes: bool) -> CallToolResult {
    match r.output {
        Ok(out) => {
            let structured = match out.json {
                Value::Object(_) => out.json,
                // MCP's structured content is an object; wrap anything else.
                other => json!({ "result": other }),
            };
            let mut res = CallToolResult::success(vec![ContentBlock::text(out.text)]);
            res.structured_content = Some(structured);
            res
        }
        Err(e) => {
            let line = error_line(&e, served_writes);
            let decision = serde_json::to_value(r.decision).unwrap_or(Value::Null);
            let mut res = CallToolResult::error(vec![ContentBlock::text(line.clone())]);
            res.structured_content = Some(json!({
                "error": line,
                "decision": decision,
                "plan": r.plan.as_ref().map(|p| p.summary.clone()),
            }));
            res
        }
    }
}

/// The CLI's one line for a failed call, with the refusals that talk about a terminal or
/// `--read-only` reworded for a server whose approver is the MCP client.
pub fn error_line(e: &GateError, served_writes: bool) -> String {
    match e {
        GateError::Denied(reason) if reason.as_str() == Refusal::ReadOnly.reason() => {
            if served_writes {
                format!("denied: {reason}")
            } else {
                "denied: kai mcp serves read-only tools unless started with --allow-writes: no change is allowed; tell the user what you would change instead".into()
            }
        }
        GateError::Denied(reason) if reason.as_str() == NO_TERMINAL => {
            "denied: this MCP client cannot ask the user (it does not support elicitation) and kai mcp was not started with --yes; tell the user what you would change instead".into()
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_listed_alone_unless_writes_are_allowed() {
        let names = |w| {
            listed(w)
                .into_iter()
                .map(|t| t.name.to_string())
                .collect::<Vec<_>>()
        };
        let reads = names(false);
        assert!(reads.contains(&"diagnose".to_string()));
        assert!(!reads.iter().any(|n| n == "scale" || n == "restart"));
        let all = names(true);
        assert_eq!(all.len(), registry::specs().len());
    }

    #[test]
    fn annotations_follow_the_effect() {
        for t in listed(true) {
            let a = t.annotations.clone().unwrap();
            let spec = registry::spec(&t.name).unwrap();
            assert_eq!(
                a.read_only_hint,
                Some(spec.effect == Effect::Read),
                "{}",
                t.name
            );
            assert_eq!(
                a.destructive_hint,
                Some(spec.effect == Effect::Write),
                "{}",
                t.name
            );
            assert!(a.idempotent_hint.is_some());
            assert_eq!(t.input_schema.get("type"), Some(&json!("object")));
        }
        assert_eq!(title("rollout_undo"), "Rollout undo");
    }

    #[test]
    fn refusals_name_what_lifts_them() {
        let ro = GateError::Denied(Refusal::ReadOnly.reason());
        assert!(error_line(&ro, false).contains("--allow-writes"));
        let nt = GateError::Denied(NO_TERMINAL.into());
        assert!(error_line(&nt, true).contains("elicitation"));
        let other = GateError::Denied("namespace \"kube-system\" is protected".into());
        assert_eq!(
            error_line(&other, true),
            "denied: namespace \"kube-system\" is protected"
        );
    }
}
