//! `diagnose`: the diagnosis engine's findings for a scope, as compact text and JSON.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::cluster::Cluster;
use crate::contract::{Effect, ToolOutput};
use crate::diagnosis::{self, Scope};
use crate::error::ToolError;
use crate::format::{DEFAULT_BUDGET, cap};
use crate::mask::{mask_json, mask_text};
use crate::tools::{Tool, scope};

/// Arguments of `diagnose`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiagnoseArgs {
    /// Namespace; defaults to the current namespace.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Diagnose every namespace (do not combine with namespace).
    #[serde(default)]
    pub all_namespaces: bool,
    /// Only findings about this kind of object (deployment, pod, service, ...).
    #[serde(default)]
    pub kind: Option<String>,
    /// Only findings about (or related to) the object of this name.
    #[serde(default)]
    pub name: Option<String>,
}

/// The `diagnose` tool.
pub struct Diagnose;

impl Tool for Diagnose {
    const NAME: &'static str = "diagnose";
    const EFFECT: Effect = Effect::Read;
    type Args = DiagnoseArgs;

    fn description() -> &'static str {
        "Run the diagnosis engine: findings per workload (CrashLoopBackOff, OOMKilled, ImagePullBackOff, Unschedulable, missing config, services without endpoints, ...) chained to the root cause, with the proving log line or event and a suggested fix. Start here for 'why is X broken' questions."
    }

    async fn run(cluster: &Cluster, args: DiagnoseArgs) -> Result<ToolOutput, ToolError> {
        let ns = scope(
            Self::NAME,
            cluster,
            args.namespace.as_deref(),
            args.all_namespaces,
        )?;
        if let Some(k) = args.kind.as_deref().filter(|k| !k.trim().is_empty()) {
            crate::kinds::resolve_kind(k).map_err(|e| match e {
                ToolError::InvalidArguments { message, .. } => ToolError::InvalidArguments {
                    tool: Self::NAME.into(),
                    message,
                },
                other => other,
            })?;
        }
        let sc = Scope {
            namespace: ns.map(str::to_string),
            all_namespaces: ns.is_none(),
            kind: args.kind.clone(),
            name: args.name.clone(),
            label_selector: None,
        };
        let report = diagnosis::diagnose(cluster, &sc).await?;
        // The engine quotes log lines and event messages as evidence: mask them once more here,
        // at the boundary where text leaves for a model. Grouped and counted within the budget
        // at any cluster size; `cap` stays as the last guard (masking may lengthen a line).
        let text = cap(
            mask_text(&diagnosis::render_budgeted(&report, DEFAULT_BUDGET)),
            DEFAULT_BUDGET,
        );
        let mut json = serde_json::to_value(&report).unwrap_or_else(|_| json!({}));
        mask_json(&mut json);
        Ok(ToolOutput { text, json })
    }
}
