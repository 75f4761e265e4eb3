//! The registry of resource types the sandbox serves: group, version, kind, plural, scope.

/// One resource type served by the sandbox API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceType {
    /// Stable key naming this resource in the store: `plural` for core, `plural.group` otherwise.
    pub key: &'static str,
    /// API group; empty for the core group.
    pub group: &'static str,
    /// API version within the group.
    pub version: &'static str,
    /// Kind of the objects, e.g. `Pod`.
    pub kind: &'static str,
    /// Plural resource name used in URLs, e.g. `pods`.
    pub plural: &'static str,
    /// Singular name, e.g. `pod`.
    pub singular: &'static str,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
    /// kubectl short names, e.g. `po`.
    pub short_names: &'static [&'static str],
    /// Categories, e.g. `all`.
    pub categories: &'static [&'static str],
    /// Subresources served under the resource, e.g. `status`, `scale`, `log`.
    pub subresources: &'static [&'static str],
}

impl ResourceType {
    /// `apiVersion` as written in objects: `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Discovery path of the group version: `/api/v1` or `/apis/apps/v1`.
    pub fn base_path(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }
}

#[allow(clippy::too_many_arguments)] // a table row, clearer positional than named
const fn rt(
    key: &'static str,
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    singular: &'static str,
    namespaced: bool,
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
    subresources: &'static [&'static str],
) -> ResourceType {
    ResourceType {
        key,
        group,
        version,
        kind,
        plural,
        singular,
        namespaced,
        short_names,
        categories,
        subresources,
    }
}

const ALL: &[&str] = &["all"];
const NONE: &[&str] = &[];

/// Every resource type the sandbox serves, in discovery order.
pub static RESOURCES: &[ResourceType] = &[
    rt(
        "namespaces",
        "",
        "v1",
        "Namespace",
        "namespaces",
        "namespace",
        false,
        &["ns"],
        NONE,
        &["status"],
    ),
    rt(
        "nodes",
        "",
        "v1",
        "Node",
        "nodes",
        "node",
        false,
        &["no"],
        NONE,
        &["status"],
    ),
    rt(
        "pods",
        "",
        "v1",
        "Pod",
        "pods",
        "pod",
        true,
        &["po"],
        ALL,
        &["status", "log", "eviction"],
    ),
    rt(
        "services",
        "",
        "v1",
        "Service",
        "services",
        "service",
        true,
        &["svc"],
        ALL,
        &["status"],
    ),
    rt(
        "endpoints",
        "",
        "v1",
        "Endpoints",
        "endpoints",
        "endpoints",
        true,
        &["ep"],
        NONE,
        &[],
    ),
    rt(
        "events",
        "",
        "v1",
        "Event",
        "events",
        "event",
        true,
        &["ev"],
        NONE,
        &[],
    ),
    rt(
        "configmaps",
        "",
        "v1",
        "ConfigMap",
        "configmaps",
        "configmap",
        true,
        &["cm"],
        NONE,
        &[],
    ),
    rt(
        "secrets",
        "",
        "v1",
        "Secret",
        "secrets",
        "secret",
        true,
        NONE,
        NONE,
        &[],
    ),
    rt(
        "serviceaccounts",
        "",
        "v1",
        "ServiceAccount",
        "serviceaccounts",
        "serviceaccount",
        true,
        &["sa"],
        NONE,
        &[],
    ),
    rt(
        "persistentvolumeclaims",
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        "persistentvolumeclaim",
        true,
        &["pvc"],
        NONE,
        &["status"],
    ),
    rt(
        "persistentvolumes",
        "",
        "v1",
        "PersistentVolume",
        "persistentvolumes",
        "persistentvolume",
        false,
        &["pv"],
        NONE,
        &["status"],
    ),
    rt(
        "resourcequotas",
        "",
        "v1",
        "ResourceQuota",
        "resourcequotas",
        "resourcequota",
        true,
        &["quota"],
        NONE,
        &["status"],
    ),
    rt(
        "limitranges",
        "",
        "v1",
        "LimitRange",
        "limitranges",
        "limitrange",
        true,
        &["limits"],
        NONE,
        &[],
    ),
    rt(
        "deployments.apps",
        "apps",
        "v1",
        "Deployment",
        "deployments",
        "deployment",
        true,
        &["deploy"],
        ALL,
        &["status", "scale"],
    ),
    rt(
        "replicasets.apps",
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        "replicaset",
        true,
        &["rs"],
        ALL,
        &["status", "scale"],
    ),
    rt(
        "statefulsets.apps",
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        "statefulset",
        true,
        &["sts"],
        ALL,
        &["status", "scale"],
    ),
    rt(
        "daemonsets.apps",
        "apps",
        "v1",
        "DaemonSet",
        "daemonsets",
        "daemonset",
        true,
        &["ds"],
        ALL,
        &["status"],
    ),
    rt(
        "controllerrevisions.apps",
        "apps",
        "v1",
        "ControllerRevision",
        "controllerrevisions",
        "controllerrevision",
        true,
        NONE,
        NONE,
        &[],
    ),
    rt(
        "jobs.batch",
        "batch",
        "v1",
        "Job",
        "jobs",
        "job",
        true,
        NONE,
        ALL,
        &["status"],
    ),
    rt(
        "cronjobs.batch",
        "batch",
        "v1",
        "CronJob",
        "cronjobs",
        "cronjob",
        true,
        &["cj"],
        ALL,
        &["status"],
    ),
    rt(
        "horizontalpodautoscalers.autoscaling",
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        "horizontalpodautoscaler",
        true,
        &["hpa"],
        ALL,
        &["status"],
    ),
    rt(
        "poddisruptionbudgets.policy",
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        "poddisruptionbudget",
        true,
        &["pdb"],
        NONE,
        &["status"],
    ),
    rt(
        "ingresses.networking.k8s.io",
        "networking.k8s.io",
        "v1",
        "Ingress",
        "ingresses",
        "ingress",
        true,
        &["ing"],
        NONE,
        &["status"],
    ),
    rt(
        "ingressclasses.networking.k8s.io",
        "networking.k8s.io",
        "v1",
        "IngressClass",
        "ingressclasses",
        "ingressclass",
        false,
        NONE,
        NONE,
        &[],
    ),
    rt(
        "networkpolicies.networking.k8s.io",
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        "networkpolicy",
        true,
        &["netpol"],
        NONE,
        &[],
    ),
    rt(
        "storageclasses.storage.k8s.io",
        "storage.k8s.io",
        "v1",
        "StorageClass",
        "storageclasses",
        "storageclass",
        false,
        &["sc"],
        NONE,
        &[],
    ),
    rt(
        "endpointslices.discovery.k8s.io",
        "discovery.k8s.io",
        "v1",
        "EndpointSlice",
        "endpointslices",
        "endpointslice",
        true,
        NONE,
        NONE,
        &[],
    ),
    rt(
        "leases.coordination.k8s.io",
        "coordination.k8s.io",
        "v1",
        "Lease",
        "leases",
        "lease",
        true,
        NONE,
        NONE,
        &[],
    ),
    rt(
        "events.events.k8s.io",
        "events.k8s.io",
        "v1",
        "Event",
        "events",
        "event",
        true,
        // `ev` is the core Event's; sharing it makes kubectl warn on every `get ev`.
        NONE,
        NONE,
        &[],
    ),
    rt(
        "validatingwebhookconfigurations.admissionregistration.k8s.io",
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        "validatingwebhookconfiguration",
        false,
        NONE,
        NONE,
        &[],
    ),
    rt(
        "mutatingwebhookconfigurations.admissionregistration.k8s.io",
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        "mutatingwebhookconfiguration",
        false,
        NONE,
        NONE,
        &[],
    ),
    rt(
        "roles.rbac.authorization.k8s.io",
        "rbac.authorization.k8s.io",
        "v1",
        "Role",
        "roles",
        "role",
        true,
        NONE,
        NONE,
        &[],
    ),
    rt(
        "rolebindings.rbac.authorization.k8s.io",
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        "rolebinding",
        true,
        NONE,
        NONE,
        &[],
    ),
    rt(
        "clusterroles.rbac.authorization.k8s.io",
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        "clusterrole",
        false,
        NONE,
        NONE,
        &[],
    ),
    rt(
        "clusterrolebindings.rbac.authorization.k8s.io",
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        "clusterrolebinding",
        false,
        NONE,
        NONE,
        &[],
    ),
    rt(
        "selfsubjectaccessreviews.authorization.k8s.io",
        "authorization.k8s.io",
        "v1",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        "selfsubjectaccessreview",
        false,
        NONE,
        NONE,
        &[],
    ),
    rt(
        "selfsubjectrulesreviews.authorization.k8s.io",
        "authorization.k8s.io",
        "v1",
        "SelfSubjectRulesReview",
        "selfsubjectrulesreviews",
        "selfsubjectrulesreview",
        false,
        NONE,
        NONE,
        &[],
    ),
    rt(
        "selfsubjectreviews.authentication.k8s.io",
        "authentication.k8s.io",
        "v1",
        "SelfSubjectReview",
        "selfsubjectreviews",
        "selfsubjectreview",
        false,
        NONE,
        NONE,
        &[],
    ),
    rt(
        "customresourcedefinitions.apiextensions.k8s.io",
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        "customresourcedefinition",
        false,
        &["crd", "crds"],
        &["api-extensions"],
        &["status"],
    ),
];

/// The verbs a resource type accepts: the review kinds are only created, the rest take all.
pub fn verbs_of(rt: &ResourceType) -> &'static [&'static str] {
    match rt.group {
        "authorization.k8s.io" | "authentication.k8s.io" => &["create"],
        _ => &[
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ],
    }
}

/// Finds a resource type by URL group and plural (`""`, `"pods"`), built-in or custom.
pub fn by_plural(group: &str, plural: &str) -> Option<&'static ResourceType> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.plural == plural)
        .or_else(|| {
            custom_types()
                .into_iter()
                .find(|r| r.group == group && r.plural == plural)
        })
}

/// Custom resource types (from CustomResourceDefinitions) known to this process. Each is
/// kept for the life of the process so it can be `&'static` like the built-ins; a store
/// serves only those whose definition it holds (see `crate::crd`).
static CUSTOM: std::sync::Mutex<Vec<&'static ResourceType>> = std::sync::Mutex::new(Vec::new());

/// Every custom resource type registered so far.
pub fn custom_types() -> Vec<&'static ResourceType> {
    CUSTOM.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Whether `rt` is a custom resource type rather than a built-in.
pub fn is_custom(rt: &ResourceType) -> bool {
    !RESOURCES.iter().any(|r| std::ptr::eq(r, rt))
}

/// The description of a custom resource type, as its CustomResourceDefinition names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomType {
    /// API group.
    pub group: String,
    /// The served (storage) version.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Plural.
    pub plural: String,
    /// Singular.
    pub singular: String,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// Short names.
    pub short_names: Vec<String>,
    /// Categories.
    pub categories: Vec<String>,
    /// Subresources (`status`, `scale`).
    pub subresources: Vec<String>,
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

fn leak_list(v: &[String]) -> &'static [&'static str] {
    Box::leak(
        v.iter()
            .map(|s| leak(s))
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    )
}

/// The `&'static` resource type of a custom type: the one registered before if it is the
/// same, else a new one (so memory grows only with distinct definitions).
pub fn register_custom(t: &CustomType) -> &'static ResourceType {
    let mut reg = CUSTOM.lock().unwrap_or_else(|e| e.into_inner());
    let same = |r: &&&'static ResourceType| {
        r.group == t.group
            && r.version == t.version
            && r.kind == t.kind
            && r.plural == t.plural
            && r.singular == t.singular
            && r.namespaced == t.namespaced
            && r.short_names.iter().eq(t.short_names.iter())
            && r.categories.iter().eq(t.categories.iter())
            && r.subresources.iter().eq(t.subresources.iter())
    };
    if let Some(r) = reg.iter().find(same) {
        return r;
    }
    let rt: &'static ResourceType = Box::leak(Box::new(ResourceType {
        key: leak(&format!("{}.{}", t.plural, t.group)),
        group: leak(&t.group),
        version: leak(&t.version),
        kind: leak(&t.kind),
        plural: leak(&t.plural),
        singular: leak(&t.singular),
        namespaced: t.namespaced,
        short_names: leak_list(&t.short_names),
        categories: leak_list(&t.categories),
        subresources: leak_list(&t.subresources),
    }));
    // The newest definition of a group and plural is found first.
    reg.insert(0, rt);
    rt
}

/// Finds a resource type by an object's `apiVersion` and `kind`.
///
/// `events.k8s.io/v1` Events are stored with the core ones; see [`storage_of`].
pub fn by_kind(api_version: &str, kind: &str) -> Option<&'static ResourceType> {
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.kind == kind && r.version == version)
        .or_else(|| {
            // Tolerate older versions of the same kind (autoscaling/v1 HPAs, batch/v1beta1 ...).
            RESOURCES
                .iter()
                .find(|r| r.group == group && r.kind == kind)
        })
        .or_else(|| {
            let custom = custom_types();
            custom
                .iter()
                .find(|r| r.group == group && r.kind == kind && r.version == version)
                .or_else(|| custom.iter().find(|r| r.group == group && r.kind == kind))
                .copied()
        })
}

/// The resource whose store holds the objects of `rt`: both Event APIs share one store,
/// as they do in a real API server.
pub fn storage_of(rt: &'static ResourceType) -> &'static ResourceType {
    if rt.key == "events.events.k8s.io" {
        RESOURCES.iter().find(|r| r.key == "events").unwrap_or(rt)
    } else {
        rt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_lookups_work() {
        let mut keys: Vec<_> = RESOURCES.iter().map(|r| r.key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), RESOURCES.len());
        assert_eq!(
            by_plural("apps", "deployments").map(|r| r.kind),
            Some("Deployment")
        );
        assert_eq!(by_kind("v1", "Pod").map(|r| r.plural), Some("pods"));
        assert_eq!(
            by_kind("autoscaling/v1", "HorizontalPodAutoscaler").map(|r| r.version),
            Some("v2")
        );
        let ev = by_plural("events.k8s.io", "events").unwrap();
        assert_eq!(storage_of(ev).key, "events");
    }
}
