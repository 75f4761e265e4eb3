//! Pure rules from a [`Snapshot`] to findings: shared indexes and helpers, and the order the
//! rules run in (nodes and volumes first, so workload findings can name them as the cause).

mod containers;
mod follow;
mod infra;
mod issue;
mod logplan;
mod network;
mod objects;
mod pod_ref;
mod pods;
mod refs;
mod status;
#[cfg(test)]
mod tests;
mod view;
mod workloads;

use std::cell::OnceCell;
use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Container, Endpoints, Event, Pod, PodSpec};

use super::snapshot::{
    ContainerFacts, EndpointsCount, ServiceSummary, SettledPod, SettledReplicaSet, Snapshot,
};
use super::{Finding, ObjectRef, Severity, sort_findings};

pub(crate) use super::fast_hash::{HashMap, HashSet};
pub use logplan::{LogPlan, LogRequest};
pub(crate) use objects::*;
pub(crate) use pod_ref::PodRef;
use view::Source;
pub(crate) use view::Workloads;

/// The logs worth reading: failing containers (one per workload, the previous container's
/// after a restart) and one running pod per workload, bounded; `focus` is read first.
pub fn log_plan(snap: &Snapshot, focus: Option<&str>) -> LogPlan {
    let ctx = Ctx::new(snap);
    logplan::plan(&ctx, focus)
}

/// Every rule over the snapshot: findings grouped by workload, chained to the deepest cause,
/// sorted critical first.
pub fn analyze(snap: &Snapshot) -> Vec<Finding> {
    findings(&Ctx::new(snap))
}

/// [`analyze`] and the workloads checked over one set of indexes (built once: on a large
/// cluster building them is a tenth of a diagnosis).
pub(crate) fn analyze_and_list(snap: &Snapshot) -> (Vec<Finding>, Vec<ObjectRef>) {
    let ctx = Ctx::new(snap);
    (findings(&ctx), workloads_of(&ctx))
}

fn findings(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Out::default();
    infra::nodes(ctx, &mut out);
    let pvc_problems = infra::pvc_problems(ctx);
    workloads::analyze(ctx, &pvc_problems, &mut out);
    infra::pvcs(ctx, &pvc_problems, &mut out);
    network::services(ctx, &mut out);
    link_dependencies(&mut out);
    network::ingresses(ctx, &mut out);
    network::network_policies(ctx, &mut out);
    network::webhooks(ctx, &mut out);
    infra::hpas(ctx, &mut out);
    infra::pdbs(ctx, &mut out);
    infra::pvs(ctx, &mut out);
    let folded = std::mem::take(&mut out.folded);
    let mut findings: Vec<Finding> = out
        .findings
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !folded.contains(i))
        .map(|(_, f)| f)
        .collect();
    sort_findings(&mut findings);
    findings
}

/// A client failing because a Service it calls has no ready endpoints is linked to the
/// finding of the workload behind that Service (which names the service among its related
/// objects): its cause becomes the client's, and fixing it comes first.
fn link_dependencies(out: &mut Out) {
    let depends = std::mem::take(&mut out.depends);
    for (idx, ns, svc, client_runs) in depends {
        let key = format!("service/{svc}");
        let Some(j) = out
            .findings
            .iter()
            .enumerate()
            .position(|(j, f)| j != idx && f.namespace == ns && f.related.contains(&key))
        else {
            continue;
        };
        if client_runs {
            // A running client that only suffers the dependency's outage is part of that
            // outage's impact, not a problem of its own.
            let client = out.findings[idx].clone();
            let dep = &mut out.findings[j];
            dep.message.push_str(&format!(
                "; so {} {} fails to reach it",
                client.kind, client.name
            ));
            if let Some(line) = client.evidence.first() {
                dep.evidence.push(line.clone());
            }
            let r = format!("{}/{}", client.kind, client.name);
            if !dep.related.contains(&r) {
                dep.related.push(r);
            }
            out.folded.insert(idx);
            continue;
        }
        let dep = out.findings[j].clone();
        let cause = dep
            .message
            .split(" because ")
            .nth(1)
            .map(|c| c.split("; ").next().unwrap_or(c).to_string());
        let f = &mut out.findings[idx];
        f.message.push_str(&format!(
            "; service {svc} is down because {} {} [{}]{}",
            dep.kind,
            dep.name,
            dep.reason,
            cause.as_deref().map_or(String::new(), |c| format!(": {c}"))
        ));
        f.evidence.push(format!(
            "dependency {}: {}",
            dep.subject(),
            dep.evidence.first().cloned().unwrap_or_default()
        ));
        let r = format!("{}/{}", dep.kind, dep.name);
        if !f.related.contains(&r) {
            f.related.insert(0, r);
        }
        f.suggestion = format!("fix {} first: {}", dep.subject(), dep.suggestion);
    }
}

/// The workloads in a snapshot: deployments, stateful sets, daemon sets, jobs not owned by a
/// cron job, cron jobs, and pods owned by none of them.
fn workloads_of(ctx: &Ctx<'_>) -> Vec<ObjectRef> {
    let mut set: std::collections::BTreeSet<ObjectRef> =
        ctx.workloads.iter().map(|(r, _)| r.clone()).collect();
    set.extend(ctx.snap.pods.iter().map(|p| ctx.workload_of(p)));
    set.extend(ctx.settled_runs().into_iter().map(|(w, _)| w));
    set.into_iter().collect()
}

/// Findings under construction, with what each is about so later rules can fold into them.
#[derive(Default)]
pub(crate) struct Out {
    pub findings: Vec<Finding>,
    /// Pods (ns/name) already explained by a finding, by the index of that finding.
    pub pod_owner: HashMap<(String, String), usize>,
    /// PVCs already named as a cause.
    pub explained_pvcs: HashSet<(String, String)>,
    /// Findings whose container depends on a Service without ready endpoints:
    /// (finding index, namespace, service, whether the client itself runs fine).
    pub depends: Vec<(usize, String, String, bool)>,
    /// Findings folded into another one, dropped at the end.
    pub folded: HashSet<usize>,
}

impl Out {
    pub fn push(&mut self, f: Finding) -> usize {
        self.findings.push(f);
        self.findings.len() - 1
    }
}

/// Objects by (namespace, name).
fn by_key<K: kube::Resource>(items: &[K]) -> HashMap<(&str, &str), &K> {
    items
        .iter()
        .map(|o| ((ns_of(o.meta()), name_of(o.meta())), o))
        .collect()
}

/// Pods by namespace, by label and by node, in the API's order.
struct PodIndex<'a> {
    by_ns: HashMap<&'a str, Vec<PodRef<'a>>>,
    /// Pods by (namespace, label key, label value): a selector looks at the pods of its
    /// rarest label, not at every pod of the namespace.
    by_label: HashMap<(&'a str, &'a str, &'a str), Vec<PodRef<'a>>>,
    by_node: HashMap<&'a str, Vec<PodRef<'a>>>,
}

impl<'a> PodIndex<'a> {
    fn new(snap: &'a Snapshot) -> PodIndex<'a> {
        let mut by_ns: HashMap<&str, Vec<PodRef<'_>>> = HashMap::default();
        let mut by_label: HashMap<(&str, &str, &str), Vec<PodRef<'_>>> = HashMap::default();
        let mut by_node: HashMap<&str, Vec<PodRef<'_>>> = HashMap::default();
        let all =
            (snap.pods.iter().map(PodRef::from)).chain(snap.settled_pods.iter().map(PodRef::from));
        for p in all {
            let ns = p.namespace();
            by_ns.entry(ns).or_default().push(p);
            for (k, v) in p.labels().into_iter().flatten() {
                by_label.entry((ns, k, v)).or_default().push(p);
            }
            if let Some(node) = p.node() {
                by_node.entry(node).or_default().push(p);
            }
        }
        // Whole pods came first, settled ones after: back to the API's order (by name within a
        // namespace; two sorted runs merge in linear time).
        let by_name = |a: &PodRef<'_>, b: &PodRef<'_>| a.name().cmp(b.name());
        for v in by_ns.values_mut().chain(by_label.values_mut()) {
            v.sort_by(by_name);
        }
        for v in by_node.values_mut() {
            v.sort_by(|a, b| (a.namespace(), a.name()).cmp(&(b.namespace(), b.name())));
        }
        PodIndex {
            by_ns,
            by_label,
            by_node,
        }
    }
}

/// Indexes over the snapshot.
pub(crate) struct Ctx<'a> {
    pub snap: &'a Snapshot,
    pub now: Timestamp,
    /// Events by (kind, namespace, name) of their object: the index of their list.
    events: HashMap<(&'a str, &'a str, &'a str), usize>,
    event_lists: Vec<Vec<&'a Event>>,
    rs: HashMap<(&'a str, &'a str), &'a ReplicaSet>,
    /// Settled replica sets by (namespace, name).
    settled_rs: HashMap<(&'a str, &'a str), &'a SettledReplicaSet>,
    /// Replica sets by (namespace, name of a Deployment among their owners), in snapshot
    /// order: a deployment's revisions without scanning every replica set of the cluster.
    rs_by_deployment: HashMap<(&'a str, &'a str), Vec<&'a ReplicaSet>>,
    jobs: HashMap<(&'a str, &'a str), &'a Job>,
    /// Pods by namespace, label and node, built when a rule first asks (the log plan never
    /// does).
    pod_index: OnceCell<PodIndex<'a>>,
    services: HashMap<(&'a str, &'a str), &'a ServiceSummary>,
    services_by_ip: HashMap<&'a str, &'a ServiceSummary>,
    endpoints: HashMap<(&'a str, &'a str), &'a Endpoints>,
    endpoint_counts: HashMap<(&'a str, &'a str), &'a EndpointsCount>,
    pub not_ready_nodes: HashSet<String>,
    /// The workloads, typed and indexed once.
    pub workloads: Workloads<'a>,
}

impl<'a> Ctx<'a> {
    pub fn new(snap: &'a Snapshot) -> Ctx<'a> {
        let mut events: HashMap<(&str, &str, &str), usize> = HashMap::default();
        let mut event_lists: Vec<Vec<&Event>> = Vec::new();
        for e in &snap.events {
            let o = &e.involved_object;
            let key = (
                o.kind.as_deref().unwrap_or_default(),
                o.namespace.as_deref().unwrap_or_default(),
                o.name.as_deref().unwrap_or_default(),
            );
            let i = *events.entry(key).or_insert_with(|| {
                event_lists.push(Vec::new());
                event_lists.len() - 1
            });
            if let Some(list) = event_lists.get_mut(i) {
                list.push(e);
            }
        }
        for list in &mut event_lists {
            list.sort_by_key(|e| std::cmp::Reverse(event_time(e)));
        }
        let mut rs_by_deployment: HashMap<(&str, &str), Vec<&ReplicaSet>> = HashMap::default();
        for r in &snap.replica_sets {
            let owners = r.metadata.owner_references.iter().flatten();
            for o in owners.filter(|o| o.kind == "Deployment") {
                let list = rs_by_deployment
                    .entry((ns_of(&r.metadata), o.name.as_str()))
                    .or_default();
                // A replica set naming the same owner twice is listed once.
                if !list.last().is_some_and(|l| std::ptr::eq(*l, r)) {
                    list.push(r);
                }
            }
        }
        for list in rs_by_deployment.values_mut() {
            // Replica sets read whole again come last: back to the API's order.
            list.sort_by(|a, b| name_of(&a.metadata).cmp(name_of(&b.metadata)));
        }
        let services_by_ip = snap
            .services
            .iter()
            .filter_map(|s| Some((s.cluster_ip.as_deref()?, s)))
            .collect();
        let not_ready_nodes = snap
            .nodes
            .iter()
            .filter(|n| infra::node_not_ready(n).is_some())
            .map(|n| name_of(&n.metadata).to_string())
            .collect();
        Ctx {
            snap,
            now: snap.now,
            events,
            event_lists,
            rs: by_key(&snap.replica_sets),
            settled_rs: snap
                .settled_replica_sets
                .iter()
                .map(|r| ((&*r.namespace, &*r.name), r))
                .collect(),
            rs_by_deployment,
            jobs: by_key(&snap.jobs),
            pod_index: OnceCell::new(),
            services: snap
                .services
                .iter()
                .map(|s| ((&*s.namespace, &*s.name), s))
                .collect(),
            services_by_ip,
            endpoints: by_key(&snap.endpoints),
            endpoint_counts: snap
                .endpoint_counts
                .iter()
                .map(|e| ((&*e.namespace, &*e.name), e))
                .collect(),
            not_ready_nodes,
            workloads: Workloads::new(snap),
        }
    }

    /// Whether every pod of the scope is in the snapshot (pods were read, and no label
    /// selector narrowed them), so a pod that is missing is a fact rules may state.
    pub fn pods_complete(&self) -> bool {
        self.snap.listed("pods") && !self.snap.label_selected
    }

    fn pod_index(&self) -> &PodIndex<'a> {
        self.pod_index.get_or_init(|| PodIndex::new(self.snap))
    }

    /// The pods of a namespace.
    pub fn pods_in(&self, ns: &str) -> &[PodRef<'a>] {
        self.pod_index().by_ns.get(ns).map_or(&[], Vec::as_slice)
    }

    /// The pods of a namespace a Service-style selector (every label equal) selects, in
    /// snapshot order; none for an empty selector.
    pub fn pods_selected<'s>(
        &'s self,
        ns: &'s str,
        selector: &'s std::collections::BTreeMap<String, String>,
    ) -> impl Iterator<Item = PodRef<'a>> + 's {
        // The rarest of the selector's labels bounds the candidates.
        let rarest = selector
            .iter()
            .map(|(k, v)| {
                self.pod_index()
                    .by_label
                    .get(&(ns, k.as_str(), v.as_str()))
                    .map_or(&[][..], Vec::as_slice)
            })
            .min_by_key(|v| v.len())
            .unwrap_or(&[]);
        rarest
            .iter()
            .copied()
            .filter(move |p| map_selects(selector, p.labels()))
    }

    /// The pods scheduled to a node.
    pub fn pods_on(&self, node: &str) -> &[PodRef<'a>] {
        self.pod_index()
            .by_node
            .get(node)
            .map_or(&[], Vec::as_slice)
    }

    /// A Service by namespace and name.
    pub fn service(&self, ns: &str, name: &str) -> Option<&'a ServiceSummary> {
        self.services.get(&(ns, name)).copied()
    }

    /// The Service with this cluster IP.
    pub fn service_by_ip(&self, ip: &str) -> Option<&'a ServiceSummary> {
        self.services_by_ip.get(ip).copied()
    }

    /// The Endpoints of a Service.
    pub fn endpoints_of(&self, ns: &str, name: &str) -> Option<&'a Endpoints> {
        self.endpoints.get(&(ns, name)).copied()
    }

    /// The address counts of a Service's Endpoints, when the collector kept them so.
    pub fn endpoint_count(&self, ns: &str, name: &str) -> Option<&'a EndpointsCount> {
        self.endpoint_counts.get(&(ns, name)).copied()
    }

    /// Events about an object, newest first.
    pub fn events(&self, kind: &str, ns: &str, name: &str) -> &[&'a Event] {
        self.events
            .get(&(kind, ns, name))
            .and_then(|&i| self.event_lists.get(i))
            .map_or(&[], Vec::as_slice)
    }

    /// The newest event of an object with one of `reasons`.
    pub fn event(&self, kind: &str, ns: &str, name: &str, reasons: &[&str]) -> Option<&'a Event> {
        self.events(kind, ns, name)
            .iter()
            .copied()
            .find(|e| reasons.contains(&e.reason.as_deref().unwrap_or_default()))
    }

    pub fn replica_set(&self, ns: &str, name: &str) -> Option<&'a ReplicaSet> {
        self.rs.get(&(ns, name)).copied()
    }

    /// The replica sets naming a Deployment of this namespace and name among their owners
    /// (by name: callers check the controller flag or uid they need).
    pub fn replica_sets_of<'s>(&'s self, ns: &'s str, deployment: &'s str) -> &'s [&'a ReplicaSet] {
        self.rs_by_deployment
            .get(&(ns, deployment))
            .map_or(&[], Vec::as_slice)
    }

    pub fn job(&self, ns: &str, name: &str) -> Option<&'a Job> {
        self.jobs.get(&(ns, name)).copied()
    }

    /// The workload that owns a pod: pod → ReplicaSet → Deployment, Job → CronJob,
    /// StatefulSet, DaemonSet; a pod owned by none is its own workload.
    pub fn workload_of<'p>(&self, pod: impl Into<PodRef<'p>>) -> ObjectRef {
        let pod = pod.into();
        let ns = pod.namespace().to_string();
        let r = |kind: &str, name: &str| ObjectRef {
            kind: kind.to_string(),
            namespace: ns.clone(),
            name: name.to_string(),
        };
        match pod.controller() {
            Some(("ReplicaSet", rs_name)) => {
                if let Some(rs) = self.replica_set(&ns, rs_name) {
                    if let Some(("Deployment", d)) = controller_of(&rs.metadata) {
                        return r("deployment", d);
                    }
                    return r("replicaset", rs_name);
                }
                if let Some(rs) = self.settled_rs.get(&(ns.as_str(), rs_name)) {
                    return r("deployment", &rs.deployment);
                }
                // The replica set is not visible: strip its pod-template-hash suffix.
                match deployment_by_hash(rs_name, pod.labels()) {
                    Some(d) => r("deployment", d),
                    None => r("replicaset", rs_name),
                }
            }
            Some(("Job", job)) => match self.job(&ns, job).and_then(|j| controller_of(&j.metadata))
            {
                Some(("CronJob", cj)) => r("cronjob", cj),
                _ => r("job", job),
            },
            Some(("StatefulSet", n)) => r("statefulset", n),
            Some(("DaemonSet", n)) => r("daemonset", n),
            _ => r("pod", pod.name()),
        }
    }

    /// The settled pods in runs that share a workload (a controller's pods are listed
    /// together), each run's workload resolved once: on a large cluster, once per workload
    /// rather than once per pod.
    pub fn settled_runs(&self) -> Vec<(ObjectRef, &'a [SettledPod])> {
        let pods = self.snap.settled_pods.as_slice();
        let same = |a: &SettledPod, b: &SettledPod| {
            Arc::ptr_eq(&a.namespace, &b.namespace)
                && Arc::ptr_eq(&a.owner, &b.owner)
                && Arc::ptr_eq(&a.owner_kind, &b.owner_kind)
                && Arc::ptr_eq(&a.labels, &b.labels)
        };
        let mut out = Vec::new();
        let mut start = 0;
        for i in 1..=pods.len() {
            let ends = match (pods.get(i - 1), pods.get(i)) {
                (Some(a), Some(b)) => !same(a, b),
                _ => true,
            };
            if ends && let Some(run) = pods.get(start..i) {
                if let Some(first) = run.first() {
                    out.push((self.workload_of(first), run));
                }
                start = i;
            }
        }
        out
    }

    /// A pod's containers, or its owner's template's when the collector kept only the pod's
    /// identity (settled pods).
    pub fn pod_containers<'p>(&self, p: impl Into<PodRef<'p>>) -> &'p [Container]
    where
        'a: 'p,
    {
        let spec = match p.into() {
            PodRef::Full(p) => self.pod_spec(p),
            PodRef::Settled(s) => self.template_spec(&s.namespace, Some((&s.owner_kind, &s.owner))),
        };
        spec.map_or(&[][..], |s| s.containers.as_slice())
    }

    /// A pod's spec, or its owner's template's when the collector kept only the pod's identity
    /// (settled pods have an empty spec).
    pub fn pod_spec<'p>(&self, p: &'p Pod) -> Option<&'p PodSpec>
    where
        'a: 'p,
    {
        let own = p.spec.as_ref().filter(|s| !s.containers.is_empty());
        if own.is_some() {
            return own;
        }
        self.template_spec(ns_of(&p.metadata), controller_of(&p.metadata))
    }

    /// The pod spec of the template of a pod's controller.
    fn template_spec(&self, ns: &str, controller: Option<(&str, &str)>) -> Option<&'a PodSpec> {
        let template = match controller {
            Some(("ReplicaSet", n)) => match self.replica_set(ns, n) {
                Some(r) => r.spec.as_ref()?.template.as_ref(),
                // A settled replica set runs its deployment's current template.
                None => {
                    let rs = self.settled_rs.get(&(ns, n))?;
                    self.workloads
                        .find("deployment", ns, &rs.deployment)?
                        .template
                }
            },
            Some(("StatefulSet", n)) => self.workloads.find("statefulset", ns, n)?.template,
            Some(("DaemonSet", n)) => self.workloads.find("daemonset", ns, n)?.template,
            Some(("Job", n)) => self
                .job(ns, n)
                .and_then(|j| j.spec.as_ref().map(|s| &s.template)),
            _ => None,
        };
        template.and_then(|t| t.spec.as_ref())
    }

    /// The containers of a pod whose template is a settled deployment's (summaries only).
    fn settled_containers(&self, p: PodRef<'_>) -> Option<&'a [ContainerFacts]> {
        let spec_of_own = p.full().and_then(|p| p.spec.as_ref());
        if spec_of_own.is_some_and(|s| !s.containers.is_empty()) {
            return None;
        }
        let ("ReplicaSet", rs) = p.controller()? else {
            return None;
        };
        let rs = self.settled_rs.get(&(p.namespace(), rs))?;
        match self
            .workloads
            .find("deployment", &rs.namespace, &rs.deployment)?
            .source
        {
            Source::SettledDeployment(d) => Some(&d.containers),
            _ => None,
        }
    }

    /// Whether a container of the pod declares a port of this name.
    pub fn declares_port(&self, p: PodRef<'_>, port: &str) -> bool {
        if let Some(cs) = self.settled_containers(p) {
            return cs.iter().any(|c| c.ports.iter().any(|n| &**n == port));
        }
        self.pod_containers(p).iter().any(|c| {
            c.ports
                .iter()
                .flatten()
                .any(|cp| cp.name.as_deref() == Some(port))
        })
    }

    /// The names of the pod's containers.
    pub fn container_names<'p>(&self, p: PodRef<'p>) -> Vec<&'p str>
    where
        'a: 'p,
    {
        if let Some(cs) = self.settled_containers(p) {
            return cs.iter().map(|c| &*c.name).collect();
        }
        self.pod_containers(p)
            .iter()
            .map(|c| c.name.as_str())
            .collect()
    }

    /// Whether cluster-wide objects (nodes, volumes, webhooks) are reported on their own.
    pub fn cluster_wide(&self) -> bool {
        self.snap.namespace.is_none() && !self.snap.label_selected
    }
}

/// `event BackOff (x12, last 2m ago): Back-off restarting failed container`.
pub(crate) fn describe_event(ctx: &Ctx<'_>, e: &Event) -> String {
    let count = event_count(e);
    let mut meta = Vec::new();
    if count > 1 {
        meta.push(format!("x{count}"));
    }
    if let Some(t) = event_time(e) {
        meta.push(format!("{} ago", age(ctx.now, t)));
    }
    let meta = if meta.is_empty() {
        String::new()
    } else {
        format!(" ({})", meta.join(", "))
    };
    format!(
        "event {}{meta}: {}",
        e.reason.as_deref().unwrap_or("Unknown"),
        crate::mask::mask_text(e.message.as_deref().unwrap_or_default().trim())
    )
}

/// A severity-ordered finding constructor.
#[allow(clippy::too_many_arguments)]
pub(crate) fn finding(
    severity: Severity,
    kind: &str,
    namespace: &str,
    name: &str,
    reason: &str,
    message: String,
    evidence: Vec<String>,
    suggestion: String,
    related: Vec<String>,
) -> Finding {
    Finding {
        severity,
        kind: kind.to_string(),
        namespace: namespace.to_string(),
        name: name.to_string(),
        reason: reason.to_string(),
        message,
        evidence,
        suggestion,
        related,
    }
}

/// Pluralizes simply: `1 pod`, `3 pods`.
pub(crate) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}
