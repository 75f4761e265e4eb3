//! Which settled summaries a diagnosis reads whole after all: the deployments of pods in
//! trouble (or whose log was read) and of autoscalers, and the replica sets of every deployment
//! read whole or of no settled deployment's current revision. Pure: the collector reads them
//! from the API and puts them back in the snapshot in place of their summaries.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;

use super::analyze::{deployment_by_hash, name_of, ns_of};
use super::fast_hash::{HashMap, HashSet};
use super::snapshot::{SettledDeployment, Snapshot};

/// Summaries to read whole, as (namespace, name).
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Wanted {
    /// Deployments.
    pub deployments: Vec<(String, String)>,
    /// Replica sets.
    pub replica_sets: Vec<(String, String)>,
}

impl Wanted {
    /// Whether nothing is wanted.
    pub fn is_empty(&self) -> bool {
        self.deployments.is_empty() && self.replica_sets.is_empty()
    }
}

/// The deployment a pod's controller (a replica set) belongs to, by the replica sets kept or
/// summarised, else by the pod-template-hash suffix.
fn deployment_of<'s>(
    rs_owner: &HashMap<(&'s str, &'s str), &'s str>,
    p: &'s Pod,
) -> Option<(&'s str, &'s str)> {
    let ns = p.metadata.namespace.as_deref().unwrap_or_default();
    let rs = p
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true) && o.kind == "ReplicaSet")?;
    if let Some(d) = rs_owner.get(&(ns, rs.name.as_str())) {
        return Some((ns, d));
    }
    Some((
        ns,
        deployment_by_hash(&rs.name, p.metadata.labels.as_ref())?,
    ))
}

/// The summaries the rules must read whole, at most `limit` of them (deployments first).
pub(super) fn wanted(snap: &Snapshot, limit: usize) -> Wanted {
    let mut rs_owner: HashMap<(&str, &str), &str> = HashMap::default();
    for r in &snap.settled_replica_sets {
        rs_owner.insert((&r.namespace, &r.name), &r.deployment);
    }
    for r in &snap.replica_sets {
        let mut owner = r.metadata.owner_references.iter().flatten();
        if let Some(o) = owner.find(|o| o.controller == Some(true) && o.kind == "Deployment") {
            let ns = r.metadata.namespace.as_deref().unwrap_or_default();
            let name = r.metadata.name.as_deref().unwrap_or_default();
            rs_owner.insert((ns, name), &o.name);
        }
    }
    let pods = snap.pods.iter().filter_map(|p| deployment_of(&rs_owner, p));
    let scaled = snap.hpas.iter().filter_map(|h| {
        let t = &h.spec.as_ref()?.scale_target_ref;
        let ns = h.metadata.namespace.as_deref().unwrap_or_default();
        (t.kind == "Deployment").then_some((ns, t.name.as_str()))
    });
    let named: HashSet<(&str, &str)> = pods.chain(scaled).collect();
    let mut out = Wanted::default();
    let mut whole: HashSet<(&str, &str)> = HashSet::default();
    for d in &snap.settled_deployments {
        let key = (&*d.namespace, &*d.name);
        if named.contains(&key) && out.deployments.len() < limit {
            out.deployments.push((key.0.to_string(), key.1.to_string()));
            whole.insert(key);
        }
    }
    // A settled replica set stays a summary only while its deployment stays a settled one and
    // it is that deployment's current revision (or runs nothing): its pods then run the
    // deployment's template, and no rule reads its history.
    let settled: HashMap<(&str, &str), &SettledDeployment> = snap
        .settled_deployments
        .iter()
        .map(|d| ((&*d.namespace, &*d.name), d))
        .filter(|(k, _)| !whole.contains(k))
        .collect();
    for r in &snap.settled_replica_sets {
        let current = settled
            .get(&(&*r.namespace, &*r.deployment))
            .is_some_and(|d| r.replicas == 0 || d.revision == r.revision);
        if !current && out.deployments.len() + out.replica_sets.len() < limit {
            let key = (r.namespace.to_string(), r.name.to_string());
            out.replica_sets.push(key);
        }
    }
    out
}

/// Puts whole objects back in place of their summaries.
pub(super) fn put_back(snap: &mut Snapshot, deployments: Vec<Deployment>, rs: Vec<ReplicaSet>) {
    // Looked up by the strings the read objects hold: no copy per summary kept.
    let key = |m| (ns_of(m), name_of(m));
    let read: HashSet<(&str, &str)> = deployments.iter().map(|d| key(&d.metadata)).collect();
    snap.settled_deployments
        .retain(|d| !read.contains(&(&*d.namespace, &*d.name)));
    let read: HashSet<(&str, &str)> = rs.iter().map(|r| key(&r.metadata)).collect();
    snap.settled_replica_sets
        .retain(|r| !read.contains(&(&*r.namespace, &*r.name)));
    snap.deployments.extend(deployments);
    snap.replica_sets.extend(rs);
}
