//! The diagnosis engine: findings grouped by workload and chained to the deepest proven cause.
//!
//! [`diagnose`] collects one paged list per kind for the scope (concurrently) plus bounded log
//! tails of failing containers into a [`Snapshot`]; [`analyze`] is a pure function from that
//! snapshot to findings, so every rule is testable on API objects without a server.

mod analyze;
mod chain;
mod changes;
mod collect;
mod fast_hash;
mod logs;
mod pod_probe;
mod render;
mod revive;
pub mod signatures;
mod snapshot;
mod strip;
mod summaries;

use serde::{Deserialize, Serialize};

use crate::cluster::Cluster;
use crate::error::ToolError;

pub use analyze::{LogPlan, LogRequest, analyze, log_plan};
pub use changes::{Woke, change_mark, wait_for_change};
pub use logs::missing_env_names;
pub use render::{render_budgeted, render_compact};
pub use signatures::error_signatures;
pub use snapshot::{
    ContainerFacts, EndpointsCount, LogTail, ServicePortSummary, ServiceSummary, SettledDeployment,
    SettledPod, SettledReplicaSet, Snapshot,
};

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

impl Severity {
    /// Lower-case name: `critical`, `warning`, `info`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
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

impl Finding {
    /// `deployment shop/backend` (or `node worker-1` for cluster-scoped objects).
    pub fn subject(&self) -> String {
        if self.namespace.is_empty() {
            format!("{} {}", self.kind, self.name)
        } else {
            format!("{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// What to diagnose.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// Namespace (default: the cluster's); ignored with `all_namespaces`.
    pub namespace: Option<String>,
    /// Every namespace.
    pub all_namespaces: bool,
    /// Only findings about this kind of object (kubectl names: `deploy`, `svc`, `po`...).
    pub kind: Option<String>,
    /// Only findings about (or related to) the object of this name.
    pub name: Option<String>,
    /// Only objects with these labels (`app=backend,tier!=cache`).
    pub label_selector: Option<String>,
}

/// An object that was checked (a workload, for CI reports with one test case per workload).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObjectRef {
    /// Lower-case kind.
    pub kind: String,
    /// Namespace ("" for cluster-scoped).
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// How many objects of each sort were looked at.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checked {
    /// Pods.
    pub pods: usize,
    /// Deployments, stateful sets, daemon sets, jobs, cron jobs and bare pods.
    pub workloads: usize,
    /// Services.
    pub services: usize,
    /// Nodes.
    pub nodes: usize,
    /// Persistent volume claims.
    pub pvcs: usize,
    /// Events read.
    pub events: usize,
    /// Container log tails fetched.
    pub logs: usize,
}

/// The result of a diagnosis.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Findings, critical first, then by namespace and name.
    pub findings: Vec<Finding>,
    /// What could not be checked and why (`secrets: forbidden (list secrets in namespace shop)`).
    pub not_checked: Vec<String>,
    /// Plural names of the kinds that could not be read (forbidden, undecodable): findings
    /// that would rest on them are not made, and health counts the check as incomplete.
    #[serde(default)]
    pub unreadable: Vec<String>,
    /// `namespace shop` / `all namespaces`.
    pub scope: String,
    /// Counts of what was looked at.
    pub checked: Checked,
    /// The workloads checked (deployments, stateful sets, daemon sets, jobs, cron jobs, bare pods).
    pub workloads: Vec<ObjectRef>,
}

impl Report {
    /// Number of findings of a severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// The highest severity found, if any.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

/// Diagnoses a scope: lists what it needs (one paged list per kind, concurrently), fetches the
/// log tails of failing containers, and analyzes. Fails only when nothing could be checked
/// (the cluster is unreachable, the namespace does not exist, pods may not be listed).
pub async fn diagnose(cluster: &Cluster, scope: &Scope) -> Result<Report, ToolError> {
    let collected = collect::collect(cluster, scope).await?;
    let (mut findings, workloads) = analyze::analyze_and_list(&collected.snapshot);
    if scope.kind.is_some() || scope.name.is_some() {
        findings = filter_to_object(findings, scope)?;
    }
    let snap = &collected.snapshot;
    let report = Report {
        findings,
        not_checked: collected.not_checked,
        unreadable: collected.unreadable,
        scope: collected.scope,
        checked: Checked {
            pods: snap.pod_count(),
            workloads: workloads.len(),
            services: snap.services.len(),
            nodes: snap.nodes.len(),
            pvcs: snap.pvcs.len(),
            events: snap.events.len(),
            logs: snap.logs.len(),
        },
        workloads,
    };
    // Freeing a snapshot of many thousand typed objects takes a sixth of a large diagnosis:
    // done on a thread of its own, the answer does not wait for it (and a command that exits
    // right after does not pay for it at all).
    let snapshot = collected.snapshot;
    // If no thread can be made, the closure (and the snapshot) is dropped here instead.
    let _ = std::thread::Builder::new().spawn(move || drop(snapshot));
    Ok(report)
}

/// Keeps the findings about the object the scope names, or naming it among their related objects.
fn filter_to_object(findings: Vec<Finding>, scope: &Scope) -> Result<Vec<Finding>, ToolError> {
    let kind = match scope.kind.as_deref().filter(|k| !k.trim().is_empty()) {
        Some(k) => Some(crate::kinds::resolve_kind(k)?.as_str().to_string()),
        None => None,
    };
    let name = scope
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    Ok(findings
        .into_iter()
        .filter(|f| {
            let direct =
                kind.as_deref().is_none_or(|k| f.kind == k) && name.is_none_or(|n| f.name == n);
            let via_related = f.related.iter().any(|r| {
                let (rk, rn) = r.split_once('/').unwrap_or(("", r));
                kind.as_deref().is_none_or(|k| rk == k) && name.is_none_or(|n| rn == n)
            });
            direct || via_related
        })
        .collect())
}

/// Orders findings: critical first, then by namespace, name and kind.
pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.namespace.cmp(&b.namespace))
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.kind.cmp(&b.kind))
            .then_with(|| a.reason.cmp(&b.reason))
    });
}
