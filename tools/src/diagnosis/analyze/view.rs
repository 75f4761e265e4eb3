//! The typed workload view the analysers share: every deployment, stateful set, daemon set,
//! job and cron job of the snapshot with its desired and ready counts and pod template,
//! indexed once by (kind, namespace, name).

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::objects::{controller_of, name_of, ns_of};
use crate::diagnosis::ObjectRef;
use crate::diagnosis::snapshot::{SettledDeployment, Snapshot};

/// The object behind a workload view.
#[derive(Clone, Copy)]
pub(crate) enum Source<'a> {
    Deployment(&'a Deployment),
    /// A settled deployment's summary.
    SettledDeployment(&'a SettledDeployment),
    StatefulSet(&'a StatefulSet),
    DaemonSet(&'a DaemonSet),
    Job(&'a Job),
    CronJob(&'a CronJob),
}

/// One workload as the rules read it.
#[derive(Clone, Copy)]
pub(crate) struct Workload<'a> {
    pub source: Source<'a>,
    pub namespace: &'a str,
    name: &'a str,
    /// Replicas wanted (`spec.replicas`, a daemon set's desired count); None for jobs.
    pub desired: Option<i32>,
    /// Replicas ready; None for jobs.
    pub ready: Option<i32>,
    /// The pod template.
    pub template: Option<&'a PodTemplateSpec>,
}

impl<'a> Workload<'a> {
    /// Lower-case kind (`deployment`, ...).
    pub fn kind(&self) -> &'static str {
        match self.source {
            Source::Deployment(_) | Source::SettledDeployment(_) => "deployment",
            Source::StatefulSet(_) => "statefulset",
            Source::DaemonSet(_) => "daemonset",
            Source::Job(_) => "job",
            Source::CronJob(_) => "cronjob",
        }
    }

    pub fn name(&self) -> &'a str {
        self.name
    }

    /// Labels of the pod template.
    pub fn template_labels(&self) -> Option<&'a BTreeMap<String, String>> {
        if let Source::SettledDeployment(d) = self.source {
            return Some(&d.template_labels);
        }
        self.template?.metadata.as_ref()?.labels.as_ref()
    }

    /// Replicas wanted by the spec, for kinds that have `spec.replicas`.
    pub fn spec_replicas(&self) -> Option<i32> {
        match self.source {
            Source::Deployment(_) | Source::SettledDeployment(_) | Source::StatefulSet(_) => {
                self.desired
            }
            _ => None,
        }
    }
}

/// Every workload of a snapshot, keyed by its reference.
pub(crate) struct Workloads<'a> {
    by_ref: BTreeMap<ObjectRef, Workload<'a>>,
    /// The same workloads by namespace, in reference order.
    by_ns: HashMap<&'a str, Vec<Workload<'a>>>,
}

fn key(kind: &str, namespace: &str, name: &str) -> ObjectRef {
    ObjectRef {
        kind: kind.to_string(),
        namespace: namespace.to_string(),
        name: name.to_string(),
    }
}

/// A workload view of an object of a typed kind.
fn view<'a>(
    source: Source<'a>,
    meta: &'a ObjectMeta,
    desired: Option<i32>,
    ready: Option<i32>,
    template: Option<&'a PodTemplateSpec>,
) -> Workload<'a> {
    Workload {
        source,
        namespace: ns_of(meta),
        name: name_of(meta),
        desired,
        ready,
        template,
    }
}

impl<'a> Workloads<'a> {
    pub fn new(snap: &'a Snapshot) -> Workloads<'a> {
        let mut by_ref = BTreeMap::new();
        for d in &snap.deployments {
            let w = view(
                Source::Deployment(d),
                &d.metadata,
                Some(d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)),
                Some(
                    d.status
                        .as_ref()
                        .and_then(|s| s.ready_replicas)
                        .unwrap_or(0),
                ),
                d.spec.as_ref().map(|s| &s.template),
            );
            by_ref.insert(key("deployment", w.namespace, w.name), w);
        }
        for d in &snap.stateful_sets {
            let w = view(
                Source::StatefulSet(d),
                &d.metadata,
                Some(d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)),
                Some(
                    d.status
                        .as_ref()
                        .and_then(|s| s.ready_replicas)
                        .unwrap_or(0),
                ),
                d.spec.as_ref().map(|s| &s.template),
            );
            by_ref.insert(key("statefulset", w.namespace, w.name), w);
        }
        for d in &snap.daemon_sets {
            let w = view(
                Source::DaemonSet(d),
                &d.metadata,
                d.status.as_ref().map(|s| s.desired_number_scheduled),
                d.status.as_ref().map(|s| s.number_ready),
                d.spec.as_ref().map(|s| &s.template),
            );
            by_ref.insert(key("daemonset", w.namespace, w.name), w);
        }
        for j in &snap.jobs {
            // A cron job's jobs are reported as the cron job.
            if controller_of(&j.metadata).is_some_and(|(k, _)| k == "CronJob") {
                continue;
            }
            let w = view(
                Source::Job(j),
                &j.metadata,
                None,
                None,
                j.spec.as_ref().map(|s| &s.template),
            );
            by_ref.insert(key("job", w.namespace, w.name), w);
        }
        for c in &snap.cron_jobs {
            let w = view(
                Source::CronJob(c),
                &c.metadata,
                None,
                None,
                c.spec
                    .as_ref()
                    .and_then(|s| s.job_template.spec.as_ref())
                    .map(|s| &s.template),
            );
            by_ref.insert(key("cronjob", w.namespace, w.name), w);
        }
        for d in &snap.settled_deployments {
            let w = Workload {
                source: Source::SettledDeployment(d),
                namespace: &d.namespace,
                name: &d.name,
                desired: Some(d.replicas),
                ready: Some(d.replicas),
                template: None,
            };
            by_ref.insert(key("deployment", w.namespace, w.name), w);
        }
        let mut by_ns: HashMap<&str, Vec<Workload<'_>>> = HashMap::new();
        for w in by_ref.values() {
            by_ns.entry(w.namespace).or_default().push(*w);
        }
        Workloads { by_ref, by_ns }
    }

    /// The workload a reference names, if the snapshot holds it.
    pub fn get(&self, w: &ObjectRef) -> Option<&Workload<'a>> {
        self.by_ref.get(w)
    }

    /// A workload by lower-case kind, namespace and name.
    pub fn find(&self, kind: &str, ns: &str, name: &str) -> Option<&Workload<'a>> {
        self.by_ref.get(&ObjectRef {
            kind: kind.to_string(),
            namespace: ns.to_string(),
            name: name.to_string(),
        })
    }

    /// Every workload, in reference order.
    pub fn iter(&self) -> impl Iterator<Item = (&ObjectRef, &Workload<'a>)> {
        self.by_ref.iter()
    }

    /// The workloads of a namespace.
    pub fn in_namespace<'s>(&'s self, ns: &'s str) -> impl Iterator<Item = &'s Workload<'a>> + 's {
        self.by_ns.get(ns).into_iter().flatten()
    }
}

/// The API's name of a lower-case kind (`Deployment`...); `Pod` for anything else.
pub(crate) fn title(kind: &str) -> &str {
    match kind {
        "deployment" => "Deployment",
        "statefulset" => "StatefulSet",
        "daemonset" => "DaemonSet",
        "replicaset" => "ReplicaSet",
        "job" => "Job",
        "cronjob" => "CronJob",
        _ => "Pod",
    }
}
