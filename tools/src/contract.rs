//! What a tool is and what it returns (effect, spec, output, write plan): below the registry
//! and every tool, so arrows run from both down to here.

use serde::Serialize;
use serde_json::Value;

/// Whether a tool reads the cluster or changes it. Every write passes the policy gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// Never changes the cluster.
    Read,
    /// Changes the cluster; must be authorized first.
    Write,
}

/// A tool as a model, an MCP client or a script sees it.
#[derive(Debug, Clone, Serialize)]
pub struct ToolSpec {
    /// Stable name (`list_pods`, `scale`...).
    pub name: &'static str,
    /// What it does, for a model.
    pub description: String,
    /// Read or write.
    pub effect: Effect,
    /// JSON schema of the arguments.
    pub parameters: Value,
}

/// A tool's result: compact text for a model, structured JSON for scripts.
#[derive(Debug, Clone, Serialize)]
pub struct ToolOutput {
    /// Compact text within the byte budget.
    pub text: String,
    /// Structured result.
    pub json: Value,
}

/// What a write will change, checked by a server-side dry run, before anyone approves it.
#[derive(Debug, Clone, Serialize)]
pub struct WritePlan {
    /// The tool.
    pub tool: String,
    /// Kind of the target, lower case (`deployment`).
    pub kind: String,
    /// Namespace of the target.
    pub namespace: String,
    /// Name of the target.
    pub name: String,
    /// One line: `scale deployment shop/backend: replicas 1 → 3`.
    pub summary: String,
    /// Explicit warnings (scaling to zero, rolling back).
    pub warnings: Vec<String>,
}
