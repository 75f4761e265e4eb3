//! What the collector keeps of each listed object: only the fields the rules read, so that
//! memory stays bounded on clusters of many thousand pods and no secret value is kept.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Container, Endpoints, Pod, PodSpec, PodTemplateSpec, Service};

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};

use super::fast_hash::HashSet;
use super::summaries::{
    ContainerFacts, EndpointsCount, ServiceSummary, SettledDeployment, SettledPod,
    SettledReplicaSet,
};

/// Interns the strings and label sets that many settled pods share (namespace, owner, node,
/// the labels of one replica set's pods), so each is held once.
#[derive(Default)]
pub(super) struct Interner {
    strs: HashSet<Arc<str>>,
    labels: HashSet<Arc<BTreeMap<String, String>>>,
}

impl Interner {
    pub(super) fn str(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.strs.get(s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        self.strs.insert(a.clone());
        a
    }

    pub(super) fn labels(&mut self, l: BTreeMap<String, String>) -> Arc<BTreeMap<String, String>> {
        if let Some(a) = self.labels.get(&l) {
            return a.clone();
        }
        self.shared_labels(Arc::new(l))
    }

    /// [`Interner::labels`] of a label set already shared: the interned one if equal.
    pub(super) fn shared_labels(
        &mut self,
        l: Arc<BTreeMap<String, String>>,
    ) -> Arc<BTreeMap<String, String>> {
        if let Some(a) = self.labels.get(&l) {
            return a.clone();
        }
        self.labels.insert(l.clone());
        l
    }
}

/// Whether a pod is settled: running, ready, every container ready and running and never
/// restarted, owned by a controller, not being deleted. The rules find nothing in such a pod
/// but who it is, whose it is and where it runs.
fn settled(p: &Pod) -> bool {
    let st = p.status.as_ref();
    let containers = st
        .and_then(|s| s.container_statuses.as_ref())
        .into_iter()
        .flatten()
        .map(|c| {
            let running = c.state.as_ref().is_some_and(|s| s.running.is_some());
            (c.ready, c.restart_count, running)
        });
    settled_by(
        p.metadata.deletion_timestamp.is_some(),
        crate::pods::is_ready(p),
        st.and_then(|s| s.phase.as_deref()),
        containers,
    )
}

/// The settled test itself, over what both a typed pod and a pod read from a list page
/// (`pod_probe.rs`) give: being deleted, the Ready condition, the phase, and each container's
/// (ready, restart count, running now).
pub(super) fn settled_by(
    deleted: bool,
    ready: bool,
    phase: Option<&str>,
    containers: impl Iterator<Item = (bool, i32, bool)>,
) -> bool {
    let mut any = false;
    let all = containers.into_iter().all(|(ready, restarts, running)| {
        any = true;
        ready && restarts == 0 && running
    });
    !deleted && ready && phase == Some("Running") && all && any
}

/// Keeps of a pod only what the rules read: a settled pod becomes a [`SettledPod`] summary
/// (its containers are those of its owner's template, its readiness a fact), any other pod
/// loses its annotations and the conditions the rules do not read.
pub(super) fn keep_pod(mut p: Pod, interner: &mut Interner) -> Kept<Pod, SettledPod> {
    if settled(&p) {
        let owner = p
            .metadata
            .owner_references
            .iter()
            .flatten()
            .find(|r| r.controller == Some(true))
            .map(|r| (interner.str(&r.kind), interner.str(&r.name)));
        if let Some((owner_kind, owner)) = owner {
            let node = p.spec.as_ref().and_then(|s| s.node_name.as_deref());
            return Kept::Settled(SettledPod {
                namespace: interner.str(p.metadata.namespace.as_deref().unwrap_or_default()),
                name: p.metadata.name.take().unwrap_or_default().into_boxed_str(),
                labels: interner.labels(p.metadata.labels.take().unwrap_or_default()),
                owner_kind,
                owner,
                node: node.map(|n| interner.str(n)),
            });
        }
    }
    p.metadata.annotations = None;
    p.metadata.managed_fields = None;
    if let Some(st) = p.status.as_mut()
        && let Some(c) = st.conditions.as_mut()
    {
        c.retain(|c| c.type_ == "Ready" || c.type_ == "PodScheduled");
        c.shrink_to_fit();
    }
    Kept::Whole(Box::new(p))
}

/// Keeps of a pod template what the rules read: containers' names, images, commands, env
/// (names and references), ports, resources, volume mounts and probes; the pod's volumes,
/// service account, init containers and scheduling constraints; the template's labels.
pub(super) fn strip_template(t: &mut PodTemplateSpec) {
    if let Some(m) = t.metadata.as_mut() {
        m.annotations = None;
    }
    if let Some(spec) = t.spec.as_mut() {
        let keep = |c: Container| Container {
            name: c.name,
            image: c.image,
            command: c.command,
            args: c.args,
            env: c.env,
            env_from: c.env_from,
            ports: c.ports,
            resources: c.resources,
            volume_mounts: c.volume_mounts,
            liveness_probe: c.liveness_probe,
            readiness_probe: c.readiness_probe,
            startup_probe: c.startup_probe,
            ..Default::default()
        };
        let containers = std::mem::take(&mut spec.containers)
            .into_iter()
            .map(keep)
            .collect();
        let init_containers = spec
            .init_containers
            .take()
            .map(|v| v.into_iter().map(keep).collect());
        *spec = PodSpec {
            containers,
            init_containers,
            volumes: spec.volumes.take(),
            service_account_name: spec.service_account_name.take(),
            affinity: spec.affinity.take(),
            topology_spread_constraints: spec.topology_spread_constraints.take(),
            node_selector: spec.node_selector.take(),
            ..Default::default()
        };
    }
}

/// Annotations of workloads: only the deployment revision is read.
pub(super) fn keep_revision(m: &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) {
    if let Some(a) = m.annotations.as_mut() {
        a.retain(|k, _| k == "deployment.kubernetes.io/revision");
        if a.is_empty() {
            m.annotations = None;
        }
    }
}

pub(super) fn strip_replica_set(r: &mut ReplicaSet) {
    keep_revision(&mut r.metadata);
    if let Some(t) = r.spec.as_mut().and_then(|s| s.template.as_mut()) {
        strip_template(t);
    }
}

pub(super) fn strip_deployment(d: &mut Deployment) {
    keep_revision(&mut d.metadata);
    if let Some(s) = d.spec.as_mut() {
        strip_template(&mut s.template);
    }
}

/// Every Service is kept as its summary (the rules read nothing else of it), with the strings
/// and selectors many Services share held once.
pub(super) fn keep_service(s: Service, interner: &mut Interner) -> Kept<Service, ServiceSummary> {
    let mut sum = ServiceSummary::from(s);
    sum.namespace = interner.str(&sum.namespace);
    sum.type_ = sum.type_.map(|t| interner.str(&t));
    sum.selector = interner.shared_labels(sum.selector);
    Kept::Settled(sum)
}

pub(super) fn strip_secret(s: &mut k8s_openapi::api::core::v1::Secret) {
    // Keys only: values never stay in memory longer than one page.
    if let Some(d) = s.data.as_mut() {
        for v in d.values_mut() {
            *v = ByteString(Vec::new());
        }
    }
    if let Some(d) = s.string_data.as_mut() {
        for v in d.values_mut() {
            v.clear();
        }
    }
    s.metadata.annotations = None;
}

pub(super) fn strip_config_map(c: &mut k8s_openapi::api::core::v1::ConfigMap) {
    if let Some(d) = c.data.as_mut() {
        for v in d.values_mut() {
            v.clear();
        }
    }
    if let Some(d) = c.binary_data.as_mut() {
        for v in d.values_mut() {
            *v = ByteString(Vec::new());
        }
    }
    c.metadata.annotations = None;
}

/// What the collector keeps of an object: a summary when settled, else the stripped object.
pub(super) enum Kept<T, S> {
    /// The object's summary: a settled one's, or any of a kind always summarised (Services,
    /// Endpoints).
    Settled(S),
    /// Any other object, stripped.
    Whole(Box<T>),
}

fn revision_of(m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> Option<Box<str>> {
    m.annotations
        .as_ref()?
        .get("deployment.kubernetes.io/revision")
        .map(|r| r.as_str().into())
}

/// Whether the controller has seen the object's latest spec.
fn observed(generation: Option<i64>, observed: Option<i64>) -> bool {
    match (generation, observed) {
        (Some(g), Some(o)) => o >= g,
        (None, _) => true,
        (Some(_), None) => false,
    }
}

/// Whether a deployment runs as asked: at least one replica wanted, every one updated, ready
/// and available, the spec observed, no condition false, not paused, not being deleted. No
/// rule finds anything in its own status.
fn deployment_settled(d: &Deployment) -> bool {
    let (Some(spec), Some(st)) = (d.spec.as_ref(), d.status.as_ref()) else {
        return false;
    };
    let want = spec.replicas.unwrap_or(1);
    d.metadata.deletion_timestamp.is_none()
        && want >= 1
        && spec.paused != Some(true)
        && observed(d.metadata.generation, st.observed_generation)
        && st.replicas == Some(want)
        && st.updated_replicas == Some(want)
        && st.ready_replicas == Some(want)
        && st.available_replicas == Some(want)
        && st.unavailable_replicas.unwrap_or(0) == 0
        && st
            .conditions
            .iter()
            .flatten()
            .all(|c| c.status == "True" && c.type_ != "ReplicaFailure")
}

/// A template's containers as the rules read them of a settled workload.
fn container_facts(t: &PodTemplateSpec) -> Box<[ContainerFacts]> {
    t.spec
        .iter()
        .flat_map(|s| s.containers.iter())
        .map(|c| ContainerFacts {
            name: c.name.as_str().into(),
            ports: c
                .ports
                .iter()
                .flatten()
                .filter_map(|p| p.name.as_deref().map(Into::into))
                .collect(),
        })
        .collect()
}

/// Keeps of a deployment what the rules read (see [`strip_deployment`]); a settled one
/// becomes a summary.
pub(super) fn keep_deployment(
    mut d: Deployment,
    interner: &mut Interner,
) -> Kept<Deployment, SettledDeployment> {
    d.metadata.managed_fields = None;
    strip_deployment(&mut d);
    if !deployment_settled(&d) {
        return Kept::Whole(Box::new(d));
    }
    let template = d.spec.as_ref().map(|s| &s.template);
    let labels = template
        .and_then(|t| t.metadata.as_ref()?.labels.clone())
        .unwrap_or_default();
    Kept::Settled(SettledDeployment {
        namespace: interner.str(d.metadata.namespace.as_deref().unwrap_or_default()),
        name: d.metadata.name.as_deref().unwrap_or_default().into(),
        revision: revision_of(&d.metadata),
        replicas: d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1),
        template_labels: interner.labels(labels),
        containers: template.map(container_facts).unwrap_or_default(),
    })
}

/// Keeps of a replica set what the rules read (see [`strip_replica_set`]); a settled one
/// owned by a Deployment (as many replicas ready and available as wanted, the spec observed,
/// no condition) becomes a summary.
pub(super) fn keep_replica_set(
    mut r: ReplicaSet,
    interner: &mut Interner,
) -> Kept<ReplicaSet, SettledReplicaSet> {
    r.metadata.managed_fields = None;
    strip_replica_set(&mut r);
    let owner = r
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true) && o.kind == "Deployment")
        .map(|o| o.name.clone());
    let want = r.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let settled = r.metadata.deletion_timestamp.is_none()
        && r.status.as_ref().is_some_and(|st| {
            observed(r.metadata.generation, st.observed_generation)
                && st.replicas == want
                && st.ready_replicas.unwrap_or(0) == want
                && st.available_replicas.unwrap_or(0) == want
                && st.conditions.as_ref().is_none_or(Vec::is_empty)
        });
    let (Some(owner), true) = (owner, settled) else {
        return Kept::Whole(Box::new(r));
    };
    Kept::Settled(SettledReplicaSet {
        namespace: interner.str(r.metadata.namespace.as_deref().unwrap_or_default()),
        name: r.metadata.name.as_deref().unwrap_or_default().into(),
        deployment: interner.str(&owner),
        revision: revision_of(&r.metadata),
        replicas: want,
    })
}

/// Keeps of an Endpoints object its address counts: all the rules read of it.
pub(super) fn keep_endpoints(
    e: Endpoints,
    interner: &mut Interner,
) -> Kept<Endpoints, EndpointsCount> {
    let (mut ready, mut not_ready) = (0, 0);
    for s in e.subsets.iter().flatten() {
        ready += s.addresses.as_ref().map_or(0, Vec::len);
        not_ready += s.not_ready_addresses.as_ref().map_or(0, Vec::len);
    }
    Kept::Settled(EndpointsCount {
        namespace: interner.str(e.metadata.namespace.as_deref().unwrap_or_default()),
        name: e.metadata.name.as_deref().unwrap_or_default().into(),
        ready: u32::try_from(ready).unwrap_or(u32::MAX),
        not_ready: u32::try_from(not_ready).unwrap_or(u32::MAX),
    })
}
