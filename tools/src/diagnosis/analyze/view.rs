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
use crate::diagnosis::snapshot::Snapshot;

/// The object behind a workload view.
#[derive(Clone, Copy)]
pub(crate) enum Source<'a> {
    Deployment(&'a Deployment),
    StatefulSet(&'a StatefulSet),
    DaemonSet(&'a DaemonSet),
    Job(&'a Job),
    CronJob(&'a CronJob),
}

/// One workload as the rules read it.
#[derive(Clone, Copy)]
pub(crate) struct Workload<'a> {
    pub source: Source<'a>,
    pub meta: &'a ObjectMeta,
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
            Source::Deployment(_) => "deployment",
            Source::StatefulSet(_) => "statefulset",
            Source::DaemonSet(_) => "daemonset",
            Source::Job(_) => "job",
            Source::CronJob(_) => "cronjob",
        }
    }

    pub fn name(&self) -> &'a str {
        name_of(self.meta)
    }

    /// Labels of the pod template.
    pub fn template_labels(&self) -> Option<&'a BTreeMap<String, String>> {
        self.template?.metadata.as_ref()?.labels.as_ref()
    }

    /// Replicas wanted by the spec, for kinds that have `spec.replicas`.
    pub fn spec_replicas(&self) -> Option<i32> {
        match self.source {
            Source::Deployment(_) | Source::StatefulSet(_) => self.desired,
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

fn key(kind: &str, m: &ObjectMeta) -> ObjectRef {
    ObjectRef {
        kind: kind.to_string(),
        namespace: ns_of(m).to_string(),
        name: name_of(m).to_string(),
    }
}

impl<'a> Workloads<'a> {
    pub fn new(snap: &'a Snapshot) -> Workloads<'a> {
        let mut by_ref = BTreeMap::new();
        for d in &snap.deployments {
            let w = Workload {
                source: Source::Deployment(d),
                meta: &d.metadata,
                desired: Some(d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)),
                ready: Some(
                    d.status
                        .as_ref()
                        .and_then(|s| s.ready_replicas)
                        .unwrap_or(0),
                ),
                template: d.spec.as_ref().map(|s| &s.template),
            };
            by_ref.insert(key("deployment", &d.metadata), w);
        }
        for d in &snap.stateful_sets {
            let w = Workload {
                source: Source::StatefulSet(d),
                meta: &d.metadata,
                desired: Some(d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)),
                ready: Some(
                    d.status
                        .as_ref()
                        .and_then(|s| s.ready_replicas)
                        .unwrap_or(0),
                ),
                template: d.spec.as_ref().map(|s| &s.template),
            };
            by_ref.insert(key("statefulset", &d.metadata), w);
        }
        for d in &snap.daemon_sets {
            let w = Workload {
                source: Source::DaemonSet(d),
                meta: &d.metadata,
                desired: d.status.as_ref().map(|s| s.desired_number_scheduled),
                ready: d.status.as_ref().map(|s| s.number_ready),
                template: d.spec.as_ref().map(|s| &s.template),
            };
            by_ref.insert(key("daemonset", &d.metadata), w);
        }
        for j in &snap.jobs {
            // A cron job's jobs are reported as the cron job.
            if controller_of(&j.metadata).is_some_and(|(k, _)| k == "CronJob") {
                continue;
            }
            let w = Workload {
                source: Source::Job(j),
                meta: &j.metadata,
                desired: None,
                ready: None,
                template: j.spec.as_ref().map(|s| &s.template),
            };
            by_ref.insert(key("job", &j.metadata), w);
        }
        for c in &snap.cron_jobs {
            let w = Workload {
                source: Source::CronJob(c),
                meta: &c.metadata,
                desired: None,
                ready: None,
                template: c
                    .spec
                    .as_ref()
                    .and_then(|s| s.job_template.spec.as_ref())
                    .map(|s| &s.template),
            };
            by_ref.insert(key("cronjob", &c.metadata), w);
        }
        let mut by_ns: HashMap<&str, Vec<Workload<'_>>> = HashMap::new();
        for w in by_ref.values() {
            by_ns.entry(ns_of(w.meta)).or_default().push(*w);
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
