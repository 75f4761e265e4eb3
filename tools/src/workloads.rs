//! Facts about workloads and pods people ask for by name: replicas wanted and ready, images,
//! and restarts sorted worst first.

use serde::Serialize;
use serde_json::Value;

use crate::cluster::Cluster;
use crate::error::ToolError;
use crate::history::images;
use crate::k8s::{self, arr, at, i, s};
use crate::kinds::Kind;

/// Replicas and images of one workload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Workload {
    /// Lower-case kind.
    pub kind: String,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Replicas wanted (daemonset: nodes it should run on).
    pub desired: i64,
    /// Replicas ready.
    pub ready: i64,
    /// Replicas on the current revision.
    pub updated: i64,
    /// `container=image`.
    pub images: Vec<String>,
}

/// Deployments, statefulsets and daemonsets of `namespace` (None: every namespace).
pub async fn workloads(
    cluster: &Cluster,
    namespace: Option<&str>,
) -> Result<Vec<Workload>, ToolError> {
    let (d, st, ds) = futures::join!(
        k8s::list(cluster, Kind::Deployment, namespace, None, None),
        k8s::list(cluster, Kind::StatefulSet, namespace, None, None),
        k8s::list(cluster, Kind::DaemonSet, namespace, None, None),
    );
    let mut out = Vec::new();
    for (kind, list) in [
        (Kind::Deployment, d?),
        (Kind::StatefulSet, st?),
        (Kind::DaemonSet, ds?),
    ] {
        for w in list {
            let (desired, ready, updated) = if kind == Kind::DaemonSet {
                (
                    i(&w, &["status", "desiredNumberScheduled"]),
                    i(&w, &["status", "numberReady"]),
                    i(&w, &["status", "updatedNumberScheduled"]),
                )
            } else {
                let desired = at(&w, &["spec", "replicas"])
                    .and_then(Value::as_i64)
                    .unwrap_or(1);
                (
                    desired,
                    i(&w, &["status", "readyReplicas"]),
                    i(&w, &["status", "updatedReplicas"]),
                )
            };
            out.push(Workload {
                kind: kind.as_str().to_string(),
                namespace: k8s::namespace(&w).to_string(),
                name: k8s::name(&w).to_string(),
                desired,
                ready,
                updated,
                images: images(&w),
            });
        }
    }
    Ok(out)
}

/// Restarts of one container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Restarts {
    /// Namespace.
    pub namespace: String,
    /// Pod.
    pub pod: String,
    /// Container.
    pub container: String,
    /// Restart count.
    pub count: i64,
    /// Why it last stopped (`OOMKilled`, `Error`), if known.
    pub last_reason: String,
    /// Its last exit code.
    pub exit_code: i64,
    /// When it last stopped (RFC 3339), if known.
    pub last_at: String,
}

/// Every container of `namespace` (None: every namespace) that restarted, most restarts first.
pub async fn restarts(
    cluster: &Cluster,
    namespace: Option<&str>,
) -> Result<Vec<Restarts>, ToolError> {
    let pods = k8s::list(cluster, Kind::Pod, namespace, None, None).await?;
    let mut out: Vec<Restarts> = pods
        .iter()
        .flat_map(|p| {
            let statuses = arr(p, &["status", "initContainerStatuses"])
                .iter()
                .chain(arr(p, &["status", "containerStatuses"]));
            statuses
                .filter(|c| i(c, &["restartCount"]) > 0)
                .map(|c| Restarts {
                    namespace: k8s::namespace(p).to_string(),
                    pod: k8s::name(p).to_string(),
                    container: s(c, &["name"]).to_string(),
                    count: i(c, &["restartCount"]),
                    last_reason: s(c, &["lastState", "terminated", "reason"]).to_string(),
                    exit_code: i(c, &["lastState", "terminated", "exitCode"]),
                    last_at: s(c, &["lastState", "terminated", "finishedAt"]).to_string(),
                })
                .collect::<Vec<_>>()
        })
        .collect();
    out.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| b.last_at.cmp(&a.last_at))
            .then_with(|| a.pod.cmp(&b.pod))
    });
    Ok(out)
}
