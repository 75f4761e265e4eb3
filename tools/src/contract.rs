//! What a tool promises its callers: its spec and effect, its output, and the plan of a write.
//!
//! These types sit below both the registry and the tools, so the arrows run one way:
//! `registry → tools → contract`.

use serde::Serialize;
use serde_json::Value;

use crate::kinds::Kind;

/// Whether a tool reads the cluster or changes it. Every write passes the policy gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
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

/// The body type of a planned patch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PatchType {
    /// RFC 7386 JSON merge patch.
    Merge,
    /// Kubernetes strategic merge patch.
    Strategic,
}

/// The exact request a write will send, fixed when it is planned. Only the planners of this
/// crate build one, so what a person approves is what is sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verb", rename_all = "lowercase")]
pub enum WriteAction {
    /// A patch of the object (or of its `scale` subresource). The body carries
    /// `metadata.resourceVersion`, so a target changed since the plan is a conflict.
    Patch {
        /// Kind of the target.
        #[serde(serialize_with = "kind_str")]
        kind: Kind,
        /// `scale` for the scale subresource.
        subresource: Option<&'static str>,
        /// Body type.
        patch_type: PatchType,
        /// The body, exactly as sent.
        body: Value,
    },
    /// A delete with uid and resourceVersion preconditions.
    Delete {
        /// Kind of the target.
        #[serde(serialize_with = "kind_str")]
        kind: Kind,
        /// The uid the plan saw.
        uid: String,
    },
}

fn kind_str<S: serde::Serializer>(k: &Kind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(k.as_str())
}

/// What a write will change, checked by a server-side dry run, before anyone approves it.
/// Built only by the write tools' planners; executed only with an
/// [`Approval`](crate::approval::Approval) of this very plan.
#[derive(Debug, Clone, Serialize)]
pub struct WritePlan {
    /// The tool.
    pub tool: String,
    /// Kind of the target, lower case (`deployment`).
    pub kind: String,
    /// Namespace of the target (a validated DNS-1123 label).
    pub namespace: String,
    /// Name of the target (a validated DNS-1123 subdomain).
    pub name: String,
    /// One line: `scale deployment shop/backend: replicas 1 → 3`.
    pub summary: String,
    /// Explicit warnings (scaling to zero, rolling back).
    pub warnings: Vec<String>,
    /// The target's resourceVersion when planned: the precondition of the request.
    pub resource_version: String,
    /// The exact request.
    pub(crate) action: WriteAction,
    /// What the result line says once done (`scaled deployment shop/backend: replicas 1 → 3`).
    pub(crate) done: String,
}

impl WritePlan {
    /// The exact request this plan sends.
    pub fn action(&self) -> &WriteAction {
        &self.action
    }

    /// `deployment shop/backend`.
    pub fn target(&self) -> String {
        format!("{} {}/{}", self.kind, self.namespace, self.name)
    }
}
