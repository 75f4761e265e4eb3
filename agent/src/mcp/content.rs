//! What `kai mcp` serves beside tools: the `investigate` prompt (the system prompt's method,
//! for the client's own model) and the diagnosis findings as resources
//! (`kai://findings/namespace/{namespace}`, `kai://findings/all-namespaces`).

use std::time::Duration;

use rmcp::ErrorData as McpError;
use rmcp::model::{
    GetPromptResult, JsonObject, Prompt, PromptArgument, PromptMessage, Resource, ResourceTemplate,
    Role,
};
use serde_json::{Value, json};

use super::Shared;
use crate::prompt::{self, PromptVars};

/// The prompt's name.
pub const INVESTIGATE: &str = "investigate";

const NS_PREFIX: &str = "kai://findings/namespace/";
const ALL: &str = "kai://findings/all-namespaces";

/// The prompts offered.
pub fn prompts() -> Vec<Prompt> {
    vec![Prompt::new(
        INVESTIGATE,
        Some(
            "Investigate a question about the cluster the way kai does: diagnose first, confirm with logs and events, answer with the root cause, the evidence and one next step",
        ),
        Some(vec![
            PromptArgument::new("question")
                .with_description("What to find out, e.g. \"why is backend crashing\"")
                .with_required(true),
            PromptArgument::new("namespace")
                .with_description("Namespace to look in (default: the server's)")
                .with_required(false),
        ]),
    )]
}

/// The `investigate` prompt for `arguments`: kai's method, filled with this cluster's context,
/// namespace, version and change policy, then the question.
pub async fn investigate(
    shared: &Shared,
    arguments: Option<&JsonObject>,
) -> Result<GetPromptResult, McpError> {
    let arg = |k: &str| {
        arguments
            .and_then(|a| a.get(k))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let Some(question) = arg("question") else {
        return Err(McpError::invalid_params(
            "the investigate prompt needs a question, e.g. \"why is backend crashing\"",
            None,
        ));
    };
    let cluster = &shared.cluster;
    let namespace = arg("namespace").unwrap_or(&cluster.namespace).to_string();
    let version = match tokio::time::timeout(
        Duration::from_secs(3),
        cluster.client.apiserver_version(),
    )
    .await
    {
        Ok(Ok(info)) => info.git_version,
        _ => "unknown".into(),
    };
    let method = prompt::render(
        prompt::SYSTEM_TEMPLATE,
        &PromptVars {
            context: cluster.context.clone(),
            namespace: namespace.clone(),
            mode: shared.mode,
            cluster_version: version,
            server: cluster.server.clone(),
        },
    );
    let text = format!(
        "{method}\n\nUse kai's tools (diagnose, get_logs, get_events, describe, list_pods, list_resources) to answer this question about namespace `{namespace}`:\n\n{question}"
    );
    Ok(
        GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
            .with_description(format!("kai's investigation of: {question}")),
    )
}

/// The findings resources listed: the server's namespace and every namespace.
pub fn resources(shared: &Shared) -> Vec<Resource> {
    let ns = &shared.cluster.namespace;
    vec![
        Resource::new(format!("{NS_PREFIX}{ns}"), format!("findings-{ns}"))
            .with_title(format!("kai findings in namespace {ns}"))
            .with_description("The diagnosis engine's findings, chained to a root cause")
            .with_mime_type("application/json"),
        Resource::new(ALL, "findings-all-namespaces")
            .with_title("kai findings in every namespace")
            .with_description("The diagnosis engine's findings across the cluster")
            .with_mime_type("application/json"),
    ]
}

/// The findings of any namespace, by URI template.
pub fn templates() -> Vec<ResourceTemplate> {
    vec![
        ResourceTemplate::new(format!("{NS_PREFIX}{{namespace}}"), "findings")
            .with_title("kai findings in a namespace")
            .with_description("The diagnosis engine's findings in one namespace")
            .with_mime_type("application/json"),
    ]
}

/// The `diagnose` arguments a findings URI stands for, or `None` for another URI.
pub fn diagnose_args(uri: &str) -> Option<Value> {
    if uri == ALL {
        return Some(json!({"all_namespaces": true}));
    }
    let ns = uri.strip_prefix(NS_PREFIX)?;
    if ns.is_empty() || ns.contains('/') {
        return None;
    }
    Some(json!({"namespace": ns}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_uris_map_to_diagnose_arguments() {
        assert_eq!(
            diagnose_args("kai://findings/namespace/shop"),
            Some(json!({"namespace": "shop"}))
        );
        assert_eq!(
            diagnose_args("kai://findings/all-namespaces"),
            Some(json!({"all_namespaces": true}))
        );
        for other in [
            "kai://findings/namespace/",
            "kai://findings/namespace/a/b",
            "file:///etc/passwd",
        ] {
            assert_eq!(diagnose_args(other), None, "{other}");
        }
        assert_eq!(prompts()[0].name, INVESTIGATE);
    }
}
