//! Resource kinds the tools know, and resolving kubectl's names, plurals and short names to them.

use kube::api::ApiResource;

use crate::error::ToolError;

/// A Kubernetes resource kind the tools can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// core/v1 Pod.
    Pod,
    /// apps/v1 Deployment.
    Deployment,
    /// apps/v1 StatefulSet.
    StatefulSet,
    /// apps/v1 DaemonSet.
    DaemonSet,
    /// apps/v1 ReplicaSet.
    ReplicaSet,
    /// batch/v1 Job.
    Job,
    /// batch/v1 CronJob.
    CronJob,
    /// core/v1 Service.
    Service,
    /// core/v1 Endpoints.
    Endpoints,
    /// networking.k8s.io/v1 Ingress.
    Ingress,
    /// core/v1 ConfigMap.
    ConfigMap,
    /// core/v1 Secret (keys and sizes only, never values).
    Secret,
    /// core/v1 PersistentVolumeClaim.
    PersistentVolumeClaim,
    /// core/v1 PersistentVolume.
    PersistentVolume,
    /// storage.k8s.io/v1 StorageClass.
    StorageClass,
    /// core/v1 Node.
    Node,
    /// core/v1 Namespace.
    Namespace,
    /// core/v1 Event.
    Event,
    /// autoscaling/v2 HorizontalPodAutoscaler.
    HorizontalPodAutoscaler,
    /// policy/v1 PodDisruptionBudget.
    PodDisruptionBudget,
    /// networking.k8s.io/v1 NetworkPolicy.
    NetworkPolicy,
    /// core/v1 ServiceAccount.
    ServiceAccount,
}

/// Every kind, in the order they are listed to users.
pub const ALL_KINDS: &[Kind] = &[
    Kind::Pod,
    Kind::Deployment,
    Kind::StatefulSet,
    Kind::DaemonSet,
    Kind::ReplicaSet,
    Kind::Job,
    Kind::CronJob,
    Kind::Service,
    Kind::Endpoints,
    Kind::Ingress,
    Kind::ConfigMap,
    Kind::Secret,
    Kind::PersistentVolumeClaim,
    Kind::PersistentVolume,
    Kind::StorageClass,
    Kind::Node,
    Kind::Namespace,
    Kind::Event,
    Kind::HorizontalPodAutoscaler,
    Kind::PodDisruptionBudget,
    Kind::NetworkPolicy,
    Kind::ServiceAccount,
];

impl Kind {
    /// Lower-case singular name, as kubectl spells it (`deployment`, `persistentvolumeclaim`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Pod => "pod",
            Kind::Deployment => "deployment",
            Kind::StatefulSet => "statefulset",
            Kind::DaemonSet => "daemonset",
            Kind::ReplicaSet => "replicaset",
            Kind::Job => "job",
            Kind::CronJob => "cronjob",
            Kind::Service => "service",
            Kind::Endpoints => "endpoints",
            Kind::Ingress => "ingress",
            Kind::ConfigMap => "configmap",
            Kind::Secret => "secret",
            Kind::PersistentVolumeClaim => "persistentvolumeclaim",
            Kind::PersistentVolume => "persistentvolume",
            Kind::StorageClass => "storageclass",
            Kind::Node => "node",
            Kind::Namespace => "namespace",
            Kind::Event => "event",
            Kind::HorizontalPodAutoscaler => "horizontalpodautoscaler",
            Kind::PodDisruptionBudget => "poddisruptionbudget",
            Kind::NetworkPolicy => "networkpolicy",
            Kind::ServiceAccount => "serviceaccount",
        }
    }

    /// Lower-case plural, the resource name of the API path (`deployments`).
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Pod => "pods",
            Kind::Deployment => "deployments",
            Kind::StatefulSet => "statefulsets",
            Kind::DaemonSet => "daemonsets",
            Kind::ReplicaSet => "replicasets",
            Kind::Job => "jobs",
            Kind::CronJob => "cronjobs",
            Kind::Service => "services",
            Kind::Endpoints => "endpoints",
            Kind::Ingress => "ingresses",
            Kind::ConfigMap => "configmaps",
            Kind::Secret => "secrets",
            Kind::PersistentVolumeClaim => "persistentvolumeclaims",
            Kind::PersistentVolume => "persistentvolumes",
            Kind::StorageClass => "storageclasses",
            Kind::Node => "nodes",
            Kind::Namespace => "namespaces",
            Kind::Event => "events",
            Kind::HorizontalPodAutoscaler => "horizontalpodautoscalers",
            Kind::PodDisruptionBudget => "poddisruptionbudgets",
            Kind::NetworkPolicy => "networkpolicies",
            Kind::ServiceAccount => "serviceaccounts",
        }
    }

    /// The API's PascalCase kind (`Deployment`), as in `involvedObject.kind` and owner references.
    pub fn api_kind(self) -> &'static str {
        match self {
            Kind::Pod => "Pod",
            Kind::Deployment => "Deployment",
            Kind::StatefulSet => "StatefulSet",
            Kind::DaemonSet => "DaemonSet",
            Kind::ReplicaSet => "ReplicaSet",
            Kind::Job => "Job",
            Kind::CronJob => "CronJob",
            Kind::Service => "Service",
            Kind::Endpoints => "Endpoints",
            Kind::Ingress => "Ingress",
            Kind::ConfigMap => "ConfigMap",
            Kind::Secret => "Secret",
            Kind::PersistentVolumeClaim => "PersistentVolumeClaim",
            Kind::PersistentVolume => "PersistentVolume",
            Kind::StorageClass => "StorageClass",
            Kind::Node => "Node",
            Kind::Namespace => "Namespace",
            Kind::Event => "Event",
            Kind::HorizontalPodAutoscaler => "HorizontalPodAutoscaler",
            Kind::PodDisruptionBudget => "PodDisruptionBudget",
            Kind::NetworkPolicy => "NetworkPolicy",
            Kind::ServiceAccount => "ServiceAccount",
        }
    }

    /// API group ("" for core).
    pub fn group(self) -> &'static str {
        match self {
            Kind::Deployment | Kind::StatefulSet | Kind::DaemonSet | Kind::ReplicaSet => "apps",
            Kind::Job | Kind::CronJob => "batch",
            Kind::Ingress | Kind::NetworkPolicy => "networking.k8s.io",
            Kind::StorageClass => "storage.k8s.io",
            Kind::HorizontalPodAutoscaler => "autoscaling",
            Kind::PodDisruptionBudget => "policy",
            _ => "",
        }
    }

    /// API version within the group.
    pub fn version(self) -> &'static str {
        match self {
            Kind::HorizontalPodAutoscaler => "v2",
            _ => "v1",
        }
    }

    /// Whether objects of this kind live in a namespace.
    pub fn namespaced(self) -> bool {
        !matches!(
            self,
            Kind::PersistentVolume | Kind::StorageClass | Kind::Node | Kind::Namespace
        )
    }

    /// Whether this kind owns pods through a label selector (a workload).
    pub fn is_workload(self) -> bool {
        matches!(
            self,
            Kind::Deployment | Kind::StatefulSet | Kind::DaemonSet | Kind::ReplicaSet | Kind::Job
        )
    }

    /// The kube-rs dynamic resource for API calls.
    pub fn api_resource(self) -> ApiResource {
        let group = self.group();
        let version = self.version();
        ApiResource {
            group: group.to_string(),
            version: version.to_string(),
            api_version: if group.is_empty() {
                version.to_string()
            } else {
                format!("{group}/{version}")
            },
            kind: self.api_kind().to_string(),
            plural: self.plural().to_string(),
        }
    }

    /// kubectl's short names for this kind.
    pub fn short_names(self) -> &'static [&'static str] {
        match self {
            Kind::Pod => &["po"],
            Kind::Deployment => &["deploy"],
            Kind::StatefulSet => &["sts"],
            Kind::DaemonSet => &["ds"],
            Kind::ReplicaSet => &["rs"],
            Kind::Job => &[],
            Kind::CronJob => &["cj"],
            Kind::Service => &["svc"],
            Kind::Endpoints => &["ep"],
            Kind::Ingress => &["ing"],
            Kind::ConfigMap => &["cm"],
            Kind::Secret => &[],
            Kind::PersistentVolumeClaim => &["pvc", "pvcs"],
            Kind::PersistentVolume => &["pv", "pvs"],
            Kind::StorageClass => &["sc"],
            Kind::Node => &["no"],
            Kind::Namespace => &["ns"],
            Kind::Event => &["ev"],
            Kind::HorizontalPodAutoscaler => &["hpa", "hpas"],
            Kind::PodDisruptionBudget => &["pdb", "pdbs"],
            Kind::NetworkPolicy => &["netpol", "netpols"],
            Kind::ServiceAccount => &["sa"],
        }
    }

    /// Finds a kind by the API's PascalCase kind (`ReplicaSet`), as in owner references.
    pub fn from_api_kind(kind: &str) -> Option<Kind> {
        ALL_KINDS.iter().copied().find(|k| k.api_kind() == kind)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Resolves kubectl's names for a kind: singular, plural, short name or API kind, any case,
/// optionally with a group suffix (`deployments.apps`).
pub fn resolve_kind(name: &str) -> Result<Kind, ToolError> {
    let lower = name.trim().to_ascii_lowercase();
    let base = lower.split('.').next().unwrap_or_default();
    let found = ALL_KINDS
        .iter()
        .copied()
        .find(|k| k.as_str() == base || k.plural() == base || k.short_names().contains(&base));
    found.ok_or_else(|| ToolError::InvalidArguments {
        tool: "kind".into(),
        message: format!(
            "unknown kind \"{}\"; accepted kinds: {}",
            name.trim(),
            accepted_kinds()
        ),
    })
}

/// The accepted kinds with their short names, for error messages and descriptions.
pub fn accepted_kinds() -> String {
    ALL_KINDS
        .iter()
        .map(|k| match k.short_names().first() {
            Some(s) => format!("{} ({s})", k.plural()),
            None => k.plural().to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_kubectl_names() {
        let cases = [
            ("po", Kind::Pod),
            ("pods", Kind::Pod),
            ("Pod", Kind::Pod),
            ("deploy", Kind::Deployment),
            ("deployment", Kind::Deployment),
            ("Deployments", Kind::Deployment),
            ("deployments.apps", Kind::Deployment),
            ("svc", Kind::Service),
            ("sts", Kind::StatefulSet),
            ("ds", Kind::DaemonSet),
            ("rs", Kind::ReplicaSet),
            ("cm", Kind::ConfigMap),
            ("secret", Kind::Secret),
            ("secrets", Kind::Secret),
            ("pvc", Kind::PersistentVolumeClaim),
            ("pvcs", Kind::PersistentVolumeClaim),
            ("PersistentVolumeClaim", Kind::PersistentVolumeClaim),
            ("pv", Kind::PersistentVolume),
            ("ns", Kind::Namespace),
            ("no", Kind::Node),
            ("node", Kind::Node),
            ("nodes", Kind::Node),
            ("ing", Kind::Ingress),
            ("ingresses", Kind::Ingress),
            ("hpa", Kind::HorizontalPodAutoscaler),
            ("pdb", Kind::PodDisruptionBudget),
            ("cj", Kind::CronJob),
            ("job", Kind::Job),
            ("jobs", Kind::Job),
            ("ep", Kind::Endpoints),
            ("endpoints", Kind::Endpoints),
            ("ev", Kind::Event),
            ("events", Kind::Event),
            ("sc", Kind::StorageClass),
            ("netpol", Kind::NetworkPolicy),
            ("networkpolicies", Kind::NetworkPolicy),
            (" SA ", Kind::ServiceAccount),
        ];
        for (name, kind) in cases {
            assert_eq!(resolve_kind(name).ok(), Some(kind), "{name}");
        }
    }

    #[test]
    fn unknown_kind_lists_accepted() {
        let err = resolve_kind("deplyment")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("unknown kind \"deplyment\""), "{err}");
        assert!(err.contains("deployments (deploy)"), "{err}");
        assert!(
            err.contains("pvcs") || err.contains("persistentvolumeclaims (pvc)"),
            "{err}"
        );
    }

    #[test]
    fn names_are_consistent() {
        for k in ALL_KINDS {
            assert_eq!(resolve_kind(k.as_str()).ok(), Some(*k));
            assert_eq!(resolve_kind(k.plural()).ok(), Some(*k));
            assert_eq!(resolve_kind(k.api_kind()).ok(), Some(*k));
            assert_eq!(Kind::from_api_kind(k.api_kind()), Some(*k));
            let ar = k.api_resource();
            assert_eq!(ar.plural, k.plural());
        }
        assert!(!Kind::Node.namespaced());
        assert!(Kind::Pod.namespaced());
        assert_eq!(Kind::Deployment.api_resource().api_version, "apps/v1");
        assert_eq!(Kind::Pod.api_resource().api_version, "v1");
    }
}
