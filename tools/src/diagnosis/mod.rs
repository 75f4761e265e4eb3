//! The diagnosis engine: findings grouped by workload and chained to the deepest proven cause.

use serde::{Deserialize, Serialize};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing, not a fault.
    Info,
    /// Degraded or at risk.
    Warning,
    /// A workload is down or cannot start.
    Critical,
}

/// One problem, about one object (usually a workload), with its proof and a next step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Critical, warning or info.
    pub severity: Severity,
    /// Kind of the object, lower case (`deployment`, `pod`, `service`...).
    pub kind: String,
    /// Namespace ("" for cluster-scoped objects).
    pub namespace: String,
    /// Object name.
    pub name: String,
    /// Kubernetes' own word for it where one exists (`CrashLoopBackOff`, `OOMKilled`...).
    pub reason: String,
    /// One sentence: what is wrong, with the cause chain.
    pub message: String,
    /// Log lines, event messages and fields that prove it.
    pub evidence: Vec<String>,
    /// A concrete next step.
    pub suggestion: String,
    /// Related objects (`pod/backend-7d9-abcde`, `secret/db`), cause first.
    pub related: Vec<String>,
}
