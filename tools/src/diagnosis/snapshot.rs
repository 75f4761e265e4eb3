//! The state the analysis works on: typed lists per kind, log tails, `now`.

use std::collections::BTreeSet;

use jiff::Timestamp;
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{
    ConfigMap, Endpoints, Event, LimitRange, Node, PersistentVolume, PersistentVolumeClaim, Pod,
    ResourceQuota, Secret, ServiceAccount,
};
use k8s_openapi::api::networking::v1::{Ingress, IngressClass, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::api::storage::v1::StorageClass;

pub use super::summaries::{
    ContainerFacts, EndpointsCount, ServicePortSummary, ServiceSummary, SettledDeployment,
    SettledPod, SettledReplicaSet,
};

/// The tail of one container's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogTail {
    /// Namespace of the pod.
    pub namespace: String,
    /// Pod name.
    pub pod: String,
    /// Container name.
    pub container: String,
    /// Whether this is the previous (terminated) container's log.
    pub previous: bool,
    /// The last lines, bounded.
    pub text: String,
}

/// Everything one diagnosis looks at. Secrets and ConfigMaps hold keys only (values emptied
/// when collected), so no secret value is ever in a snapshot.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The time the analysis judges ages against.
    pub now: Timestamp,
    /// Namespace of the scope (None: all namespaces).
    pub namespace: Option<String>,
    /// Whether a label selector narrowed the scope (cluster-wide checks then only follow pods).
    pub label_selected: bool,
    /// Plural names of kinds that could not be listed (forbidden, failed): rules needing them
    /// stay silent rather than guess.
    pub unavailable: BTreeSet<String>,
    /// Pods, but for the settled ones the collector keeps as summaries.
    pub pods: Vec<Pod>,
    /// Settled pods, as summaries (the collector's; a snapshot built by hand may hold every
    /// pod in `pods`).
    pub settled_pods: Vec<SettledPod>,
    /// Settled deployments, as summaries (see [`SettledDeployment`]).
    pub settled_deployments: Vec<SettledDeployment>,
    /// Settled replica sets, as summaries (see [`SettledReplicaSet`]).
    pub settled_replica_sets: Vec<SettledReplicaSet>,
    /// Deployments.
    pub deployments: Vec<Deployment>,
    /// Replica sets.
    pub replica_sets: Vec<ReplicaSet>,
    /// Stateful sets.
    pub stateful_sets: Vec<StatefulSet>,
    /// Daemon sets.
    pub daemon_sets: Vec<DaemonSet>,
    /// Jobs.
    pub jobs: Vec<Job>,
    /// Cron jobs.
    pub cron_jobs: Vec<CronJob>,
    /// Services, as summaries (see [`ServiceSummary`]).
    pub services: Vec<ServiceSummary>,
    /// Endpoints (a snapshot built from whole objects).
    pub endpoints: Vec<Endpoints>,
    /// Endpoints as their address counts (the collector's).
    pub endpoint_counts: Vec<EndpointsCount>,
    /// Ingresses.
    pub ingresses: Vec<Ingress>,
    /// Ingress classes.
    pub ingress_classes: Vec<IngressClass>,
    /// Config maps (keys only).
    pub config_maps: Vec<ConfigMap>,
    /// Secrets (keys only).
    pub secrets: Vec<Secret>,
    /// Service accounts.
    pub service_accounts: Vec<ServiceAccount>,
    /// Persistent volume claims.
    pub pvcs: Vec<PersistentVolumeClaim>,
    /// Persistent volumes.
    pub pvs: Vec<PersistentVolume>,
    /// Storage classes.
    pub storage_classes: Vec<StorageClass>,
    /// Nodes.
    pub nodes: Vec<Node>,
    /// Events.
    pub events: Vec<Event>,
    /// Horizontal pod autoscalers.
    pub hpas: Vec<HorizontalPodAutoscaler>,
    /// Pod disruption budgets.
    pub pdbs: Vec<PodDisruptionBudget>,
    /// Network policies.
    pub network_policies: Vec<NetworkPolicy>,
    /// Validating admission webhooks.
    pub validating_webhooks: Vec<ValidatingWebhookConfiguration>,
    /// Mutating admission webhooks.
    pub mutating_webhooks: Vec<MutatingWebhookConfiguration>,
    /// Resource quotas.
    pub resource_quotas: Vec<ResourceQuota>,
    /// Limit ranges.
    pub limit_ranges: Vec<LimitRange>,
    /// Roles (listed only when something was forbidden).
    pub roles: Vec<Role>,
    /// Role bindings (listed only when something was forbidden).
    pub role_bindings: Vec<RoleBinding>,
    /// Cluster roles (listed only when something was forbidden).
    pub cluster_roles: Vec<ClusterRole>,
    /// Cluster role bindings (listed only when something was forbidden).
    pub cluster_role_bindings: Vec<ClusterRoleBinding>,
    /// Log tails of failing containers and of one running pod per workload.
    pub logs: Vec<LogTail>,
}

impl Snapshot {
    /// An empty snapshot judged at `now`, for all namespaces.
    pub fn at(now: Timestamp) -> Snapshot {
        Snapshot {
            now,
            namespace: None,
            label_selected: false,
            unavailable: BTreeSet::new(),
            pods: Vec::new(),
            settled_pods: Vec::new(),
            settled_deployments: Vec::new(),
            settled_replica_sets: Vec::new(),
            deployments: Vec::new(),
            replica_sets: Vec::new(),
            stateful_sets: Vec::new(),
            daemon_sets: Vec::new(),
            jobs: Vec::new(),
            cron_jobs: Vec::new(),
            services: Vec::new(),
            endpoints: Vec::new(),
            endpoint_counts: Vec::new(),
            ingresses: Vec::new(),
            ingress_classes: Vec::new(),
            config_maps: Vec::new(),
            secrets: Vec::new(),
            service_accounts: Vec::new(),
            pvcs: Vec::new(),
            pvs: Vec::new(),
            storage_classes: Vec::new(),
            nodes: Vec::new(),
            events: Vec::new(),
            hpas: Vec::new(),
            pdbs: Vec::new(),
            network_policies: Vec::new(),
            validating_webhooks: Vec::new(),
            mutating_webhooks: Vec::new(),
            resource_quotas: Vec::new(),
            limit_ranges: Vec::new(),
            roles: Vec::new(),
            role_bindings: Vec::new(),
            cluster_roles: Vec::new(),
            cluster_role_bindings: Vec::new(),
            logs: Vec::new(),
        }
    }

    /// How many pods the snapshot holds, settled ones included.
    pub fn pod_count(&self) -> usize {
        self.pods.len() + self.settled_pods.len()
    }

    /// Whether a kind (plural name) was listed, so its absence of objects means something.
    pub fn listed(&self, plural: &str) -> bool {
        !self.unavailable.contains(plural)
    }

    /// The log tail of a container, preferring the previous container's when asked.
    pub fn log(&self, namespace: &str, pod: &str, container: &str) -> Option<&LogTail> {
        let mut found = self
            .logs
            .iter()
            .filter(|l| l.namespace == namespace && l.pod == pod && l.container == container);
        let first = found.next()?;
        if first.previous {
            return Some(first);
        }
        Some(found.find(|l| l.previous).unwrap_or(first))
    }
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot::at(Timestamp::now())
    }
}
