//! Cause chains beyond one pod: config the log says is missing against the container's env,
//! and the deployment revision a failure started with.

use std::collections::BTreeSet;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Container, PodTemplateSpec};

use super::snapshot::Snapshot;

/// Env var names a container defines directly, and whether it also loads env from objects
/// whose keys are unknown (then absence cannot be proven).
pub(crate) fn env_names(
    snap: &Snapshot,
    namespace: &str,
    c: &Container,
) -> (BTreeSet<String>, bool) {
    let mut names: BTreeSet<String> = c.env.iter().flatten().map(|e| e.name.clone()).collect();
    let mut unknown = false;
    for from in c.env_from.iter().flatten() {
        let prefix = from.prefix.clone().unwrap_or_default();
        let keys: Option<Vec<String>> = if let Some(cm) = &from.config_map_ref {
            snap.config_maps
                .iter()
                .find(|x| {
                    x.metadata.namespace.as_deref() == Some(namespace)
                        && x.metadata.name.as_deref() == Some(cm.name.as_str())
                })
                .map(|x| {
                    x.data
                        .iter()
                        .flat_map(|d| d.keys().cloned())
                        .chain(x.binary_data.iter().flat_map(|d| d.keys().cloned()))
                        .collect()
                })
        } else if let Some(s) = &from.secret_ref {
            snap.secrets
                .iter()
                .find(|x| {
                    x.metadata.namespace.as_deref() == Some(namespace)
                        && x.metadata.name.as_deref() == Some(s.name.as_str())
                })
                .map(|x| {
                    x.data
                        .iter()
                        .flat_map(|d| d.keys().cloned())
                        .chain(x.string_data.iter().flat_map(|d| d.keys().cloned()))
                        .collect()
                })
        } else {
            None
        };
        match keys {
            Some(k) => names.extend(k.into_iter().map(|k| format!("{prefix}{k}"))),
            None => unknown = true,
        }
    }
    (names, unknown)
}

/// How a failing deployment revision compares to the one before it.
#[derive(Debug, Clone)]
pub(crate) struct RevisionChange {
    pub current: i64,
    pub current_image: String,
    pub previous: i64,
    pub previous_image: String,
    /// The previous revision still has ready pods (it is proven to work).
    pub previous_ready: bool,
    /// Env names the previous revision's container set and the current one does not.
    pub dropped_env: Vec<String>,
}

pub(crate) fn revision(rs: &ReplicaSet) -> Option<i64> {
    rs.metadata
        .annotations
        .as_ref()?
        .get("deployment.kubernetes.io/revision")?
        .parse()
        .ok()
}

fn owned_by(rs: &ReplicaSet, d: &Deployment) -> bool {
    rs.metadata.namespace == d.metadata.namespace
        && rs.metadata.owner_references.iter().flatten().any(|o| {
            o.kind == "Deployment"
                && (Some(&o.uid) == d.metadata.uid.as_ref()
                    || Some(&o.name) == d.metadata.name.as_ref())
        })
}

fn container<'t>(t: Option<&'t PodTemplateSpec>, name: &str) -> Option<&'t Container> {
    t?.spec.as_ref()?.containers.iter().find(|c| c.name == name)
}

/// The change from the previous revision to the failing one (`failing_rs`), for `container`;
/// `candidates` are the replica sets that may belong to `d` (an index's, not the whole list).
pub(crate) fn revision_change(
    candidates: &[&ReplicaSet],
    d: &Deployment,
    failing_rs: &ReplicaSet,
    container_name: &str,
) -> Option<RevisionChange> {
    let current = revision(failing_rs)?;
    let prev = candidates
        .iter()
        .copied()
        .filter(|rs| owned_by(rs, d))
        .filter_map(|rs| revision(rs).map(|r| (r, rs)))
        .filter(|(r, _)| *r < current)
        .max_by_key(|(r, _)| *r)?;
    let cur_c = container(failing_rs.spec.as_ref()?.template.as_ref(), container_name)?;
    let prev_c = container(prev.1.spec.as_ref()?.template.as_ref(), container_name)?;
    let cur_env: BTreeSet<&String> = cur_c.env.iter().flatten().map(|e| &e.name).collect();
    let dropped_env = prev_c
        .env
        .iter()
        .flatten()
        .map(|e| &e.name)
        .filter(|n| !cur_env.contains(n))
        .cloned()
        .collect();
    let previous_ready = prev
        .1
        .status
        .as_ref()
        .is_some_and(|s| s.ready_replicas.unwrap_or(0) > 0);
    Some(RevisionChange {
        current,
        current_image: cur_c.image.clone().unwrap_or_default(),
        previous: prev.0,
        previous_image: prev_c.image.clone().unwrap_or_default(),
        previous_ready,
        dropped_env,
    })
}
