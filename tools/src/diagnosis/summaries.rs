//! The summaries a diagnosis keeps in place of typed objects: of settled objects (pods,
//! deployments, replica sets running as asked) the few facts the rules read, with the strings
//! many of them share held once, read whole again from the API when a rule must look closer;
//! of Endpoints their address counts; of Services what routing reads. On a cluster of 100,000
//! pods this is the difference between kilobytes and about a hundred bytes an object.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Pod, Service, ServicePort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// A settled pod (running, ready, every container ready and never restarted, owned by a
/// controller) as the rules read it: who it is, whose it is and where it runs. Its containers
/// are its owner's template's. Kept instead of the typed pod so that a diagnosis of a cluster of
/// 100,000 pods holds about a hundred bytes a healthy pod rather than kilobytes; the strings
/// many pods share (namespace, labels, owner, node) are shared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettledPod {
    /// Namespace.
    pub namespace: Arc<str>,
    /// Pod name.
    pub name: Box<str>,
    /// Labels.
    pub labels: Arc<BTreeMap<String, String>>,
    /// Kind of the controller that owns it (`ReplicaSet`, `StatefulSet`, ...).
    pub owner_kind: Arc<str>,
    /// Name of that controller.
    pub owner: Arc<str>,
    /// The node it runs on.
    pub node: Option<Arc<str>>,
}

impl SettledPod {
    /// The pod as a typed object with what the summary knows: identity, labels, controller,
    /// node, running and ready (for the few settled pods whose log is read, so the rules that
    /// read logs see them as they see any pod).
    pub fn to_pod(&self) -> Pod {
        use k8s_openapi::api::core::v1::{PodCondition, PodSpec, PodStatus};
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
        let api_version = match &*self.owner_kind {
            "Job" | "CronJob" => "batch/v1",
            "ReplicaSet" | "StatefulSet" | "DaemonSet" | "Deployment" => "apps/v1",
            _ => "v1",
        };
        Pod {
            metadata: ObjectMeta {
                name: Some(self.name.to_string()),
                namespace: Some(self.namespace.to_string()),
                labels: Some((*self.labels).clone()),
                owner_references: Some(vec![OwnerReference {
                    api_version: api_version.into(),
                    kind: self.owner_kind.to_string(),
                    name: self.owner.to_string(),
                    controller: Some(true),
                    ..Default::default()
                }]),
                ..Default::default()
            },
            spec: Some(PodSpec {
                node_name: self.node.as_deref().map(str::to_string),
                ..Default::default()
            }),
            status: Some(PodStatus {
                phase: Some("Running".into()),
                conditions: Some(vec![PodCondition {
                    type_: "Ready".into(),
                    status: "True".into(),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
        }
    }
}

/// A container of a template as the rules read it of a settled workload: its name and the
/// names of the ports it declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerFacts {
    /// Container name.
    pub name: Box<str>,
    /// Names of its declared ports.
    pub ports: Box<[Box<str>]>,
}

/// A settled deployment (every replica updated, ready and available, the spec observed, no
/// condition false, not paused): nothing is wrong with it, and the rules read only its
/// identity, counts and template labels and containers. The rules that must read it whole (a
/// pod of it in trouble, an autoscaler on it) have it read again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettledDeployment {
    /// Namespace.
    pub namespace: Arc<str>,
    /// Name.
    pub name: Box<str>,
    /// The `deployment.kubernetes.io/revision` annotation.
    pub revision: Option<Box<str>>,
    /// Replicas wanted, all ready.
    pub replicas: i32,
    /// Labels of the pod template.
    pub template_labels: Arc<BTreeMap<String, String>>,
    /// The template's containers.
    pub containers: Box<[ContainerFacts]>,
}

/// A settled replica set owned by a Deployment (as many replicas ready and available as
/// wanted, none failing): the rules read who owns it and its revision; it is read again whole
/// for a deployment whose history must be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettledReplicaSet {
    /// Namespace.
    pub namespace: Arc<str>,
    /// Name.
    pub name: Box<str>,
    /// Name of the Deployment that controls it.
    pub deployment: Arc<str>,
    /// The `deployment.kubernetes.io/revision` annotation.
    pub revision: Option<Box<str>>,
    /// Replicas wanted.
    pub replicas: i32,
}

/// An Endpoints object as the rules read it: how many addresses are ready and not ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointsCount {
    /// Namespace.
    pub namespace: Arc<str>,
    /// Name (the Service's).
    pub name: Box<str>,
    /// Ready addresses.
    pub ready: u32,
    /// Addresses not ready.
    pub not_ready: u32,
}

/// A Service as the rules read it: who it is, its type and cluster IP, the pods it selects and
/// the ports it serves. Kept instead of the typed Service, which costs about 2 KB a Service
/// (a cluster of 100,000 pods has some 20,000 of them); the selectors many Services share
/// (the same app in many namespaces) are held once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSummary {
    /// Namespace.
    pub namespace: Arc<str>,
    /// Name.
    pub name: Box<str>,
    /// `spec.type` (`ClusterIP`, `NodePort`, `LoadBalancer`, `ExternalName`), if given.
    pub type_: Option<Arc<str>>,
    /// `spec.clusterIP` (`None` for a headless Service), if given.
    pub cluster_ip: Option<Box<str>>,
    /// `spec.selector`; empty when it has none.
    pub selector: Arc<BTreeMap<String, String>>,
    /// `spec.ports`.
    pub ports: Box<[ServicePortSummary]>,
}

/// A port of a Service: its name, number and the pod port it targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePortSummary {
    /// Port name.
    pub name: Option<Box<str>>,
    /// The port the Service serves.
    pub port: i32,
    /// The pod port (number or container port name) traffic goes to, if given.
    pub target_port: Option<IntOrString>,
}

impl ServiceSummary {
    /// Whether it is an `ExternalName` Service (an alias of an outside name, with no pods).
    pub fn is_external_name(&self) -> bool {
        self.type_.as_deref() == Some("ExternalName")
    }
}

impl From<Service> for ServiceSummary {
    /// The summary of a typed Service, its strings not shared with any other (the collector's
    /// `strip::keep_service` then shares them).
    fn from(s: Service) -> Self {
        let spec = s.spec.unwrap_or_default();
        ServiceSummary {
            namespace: s.metadata.namespace.unwrap_or_default().into(),
            name: s.metadata.name.unwrap_or_default().into(),
            type_: spec.type_.map(Into::into),
            cluster_ip: spec.cluster_ip.map(Into::into),
            selector: Arc::new(spec.selector.unwrap_or_default()),
            ports: spec.ports.into_iter().flatten().map(Into::into).collect(),
        }
    }
}

impl From<ServicePort> for ServicePortSummary {
    fn from(p: ServicePort) -> Self {
        ServicePortSummary {
            name: p.name.map(Into::into),
            port: p.port,
            target_port: p.target_port,
        }
    }
}
