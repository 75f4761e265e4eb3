//! What changed and when: a deployment's rollout history from its ReplicaSets, and a timeline
//! of recent changes in a namespace (rollouts, configuration, restarts, warnings), newest first.

use serde::Serialize;
use serde_json::Value;

use crate::cluster::Cluster;
use crate::error::ToolError;
use crate::k8s::{self, arr, at, s};
use crate::kinds::Kind;
use crate::tools::describe::replica_sets_of;
use crate::tools::events::last_seen;

/// One revision of a deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Revision {
    /// Revision number (`deployment.kubernetes.io/revision`).
    pub revision: i64,
    /// The ReplicaSet that holds it.
    pub replica_set: String,
    /// Container images, `container=image`.
    pub images: Vec<String>,
    /// When it was created (RFC 3339).
    pub created: String,
    /// `kubernetes.io/change-cause`, when set.
    pub change_cause: String,
    /// Pods it runs now.
    pub replicas: i64,
    /// Whether it is the deployment's current revision.
    pub current: bool,
}

/// The rollout history of deployment `ns/name`, newest revision first.
pub async fn rollout_history(
    cluster: &Cluster,
    ns: &str,
    name: &str,
) -> Result<Vec<Revision>, ToolError> {
    let deploy = k8s::get(cluster, Kind::Deployment, ns, name).await?;
    let current = s(
        &deploy,
        &[
            "metadata",
            "annotations",
            "deployment.kubernetes.io/revision",
        ],
    )
    .to_string();
    let sets = replica_sets_of(cluster, ns, &deploy).await?;
    Ok(sets
        .iter()
        .map(|rs| {
            let rev = revision_of(rs);
            Revision {
                revision: rev.parse().unwrap_or(0),
                replica_set: k8s::name(rs).to_string(),
                images: images(rs),
                created: k8s::created(rs).unwrap_or_default().to_string(),
                change_cause: s(
                    rs,
                    &["metadata", "annotations", "kubernetes.io/change-cause"],
                )
                .to_string(),
                replicas: k8s::i(rs, &["status", "replicas"]),
                current: !current.is_empty() && rev == current,
            }
        })
        .collect())
}

fn revision_of(rs: &Value) -> &str {
    s(
        rs,
        &[
            "metadata",
            "annotations",
            "deployment.kubernetes.io/revision",
        ],
    )
}

/// `container=image` for every container of a pod template (or a pod).
pub fn images(obj: &Value) -> Vec<String> {
    let spec = at(obj, &["spec", "template", "spec"])
        .or_else(|| at(obj, &["spec"]))
        .cloned()
        .unwrap_or(Value::Null);
    arr(&spec, &["containers"])
        .iter()
        .map(|c| format!("{}={}", s(c, &["name"]), s(c, &["image"])))
        .collect()
}

/// One change in a timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// When (RFC 3339).
    pub at: String,
    /// `deployment shop/backend`, `configmap shop/frontend-config`, `pod shop/backend-7c4-x`.
    pub object: String,
    /// What happened, in a few words.
    pub what: String,
    /// A warning (a failure), not a change someone made.
    pub warning: bool,
}

/// Most changes a timeline keeps.
const TIMELINE_MAX: usize = 60;

/// Recent changes in `namespace` (None: every namespace), newest first: revisions rolled out,
/// ConfigMaps and Secrets written, containers restarted, warnings, scaling.
pub async fn timeline(
    cluster: &Cluster,
    namespace: Option<&str>,
) -> Result<Vec<Change>, ToolError> {
    let (sets, configs, secrets, pods, events) = futures::join!(
        k8s::list(cluster, Kind::ReplicaSet, namespace, None, None),
        k8s::list(cluster, Kind::ConfigMap, namespace, None, None),
        secret_times(cluster, namespace),
        k8s::list(cluster, Kind::Pod, namespace, None, None),
        k8s::list(cluster, Kind::Event, namespace, None, None),
    );
    let mut out = Vec::new();
    for rs in sets? {
        let Some((_, deploy)) = k8s::controller(&rs) else {
            continue;
        };
        let rev = revision_of(&rs);
        if rev.is_empty() {
            continue;
        }
        out.push(Change {
            at: k8s::created(&rs).unwrap_or_default().to_string(),
            object: format!("deployment {}/{deploy}", k8s::namespace(&rs)),
            what: format!("revision {rev} rolled out ({})", images(&rs).join(", ")),
            warning: false,
        });
    }
    for cm in configs? {
        if k8s::name(&cm) == "kube-root-ca.crt" {
            continue;
        }
        out.push(Change {
            at: written(&cm),
            object: format!("configmap {}/{}", k8s::namespace(&cm), k8s::name(&cm)),
            what: "written".into(),
            warning: false,
        });
    }
    out.extend(secrets?);
    for pod in pods? {
        for c in arr(&pod, &["status", "containerStatuses"]) {
            let Some(t) = at(c, &["lastState", "terminated"]) else {
                continue;
            };
            out.push(Change {
                at: s(t, &["finishedAt"]).to_string(),
                object: format!("pod {}/{}", k8s::namespace(&pod), k8s::name(&pod)),
                what: format!(
                    "container {} restarted ({}, exit code {}; {} restarts)",
                    s(c, &["name"]),
                    s(t, &["reason"]),
                    k8s::i(t, &["exitCode"]),
                    k8s::i(c, &["restartCount"])
                ),
                warning: true,
            });
        }
    }
    for e in events? {
        let reason = s(&e, &["reason"]);
        // A kill by a failed probe is a failure, though the kubelet words it as Normal.
        let warning = s(&e, &["type"]) == "Warning" || reason == "Killing";
        // Normal events worth a line: scaling and rollouts. The rest is noise here.
        if !warning
            && !matches!(
                reason,
                "ScalingReplicaSet" | "SuccessfulRescale" | "Killing"
            )
        {
            continue;
        }
        let obj = at(&e, &["involvedObject"])
            .or_else(|| at(&e, &["regarding"]))
            .cloned()
            .unwrap_or(Value::Null);
        out.push(Change {
            at: last_seen(&e).to_string(),
            object: format!(
                "{} {}/{}",
                s(&obj, &["kind"]).to_ascii_lowercase(),
                k8s::namespace(&e),
                s(&obj, &["name"])
            ),
            what: format!(
                "{reason}: {}",
                crate::mask::mask_text(s(&e, &["message"]).trim())
            ),
            warning,
        });
    }
    // Timestamps come with and without fractions of a second: compare them as times.
    out.retain_mut(|c| match crate::format::parse_time(&c.at) {
        Some(t) => {
            c.at = t.to_string();
            true
        }
        None => false,
    });
    out.sort_by(|a, b| {
        let t = |c: &Change| crate::format::parse_time(&c.at);
        t(b).cmp(&t(a)).then_with(|| a.object.cmp(&b.object))
    });
    // The same warning repeated on every replica is one line.
    out.dedup_by(|a, b| a.what == b.what && a.object == b.object);
    out.truncate(TIMELINE_MAX);
    Ok(out)
}

/// When an object was last written: its newest managedFields time, else its creation.
fn written(obj: &Value) -> String {
    arr(obj, &["metadata", "managedFields"])
        .iter()
        .map(|m| s(m, &["time"]))
        .filter(|t| !t.is_empty())
        .max()
        .or_else(|| k8s::created(obj))
        .unwrap_or_default()
        .to_string()
}

/// Secrets by metadata only (their data is never read).
async fn secret_times(
    cluster: &Cluster,
    namespace: Option<&str>,
) -> Result<Vec<Change>, ToolError> {
    let api = k8s::api(cluster, Kind::Secret, namespace);
    let list = match api.list_metadata(&kube::api::ListParams::default()).await {
        Ok(l) => l,
        // Secrets we may not list simply leave no line in the timeline.
        Err(kube::Error::Api(st)) if matches!(st.code, 403 | 404) => return Ok(Vec::new()),
        Err(e) => {
            return Err(ToolError::from_kube(
                e, cluster, "list", "secrets", namespace,
            ));
        }
    };
    Ok(list
        .items
        .into_iter()
        .filter_map(|item| {
            let m = item.metadata;
            let at = m
                .managed_fields
                .unwrap_or_default()
                .into_iter()
                .filter_map(|f| f.time.map(|t| t.0.to_string()))
                .max()
                .or_else(|| m.creation_timestamp.map(|t| t.0.to_string()))?;
            Some(Change {
                at,
                object: format!(
                    "secret {}/{}",
                    m.namespace.unwrap_or_default(),
                    m.name.unwrap_or_default()
                ),
                what: "written".into(),
                warning: false,
            })
        })
        .collect())
}
