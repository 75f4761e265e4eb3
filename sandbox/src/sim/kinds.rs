//! The resource types the simulation reads and writes, looked up once by group and plural.

use crate::resources::{ResourceType, by_plural};

/// A resource type by group and plural; the registry is static, so a miss is a programming
/// error caught by the tests, and falls back to pods to stay panic-free.
pub fn rt(group: &str, plural: &str) -> &'static ResourceType {
    by_plural(group, plural)
        .or_else(|| by_plural("", "pods"))
        .unwrap_or(&crate::resources::RESOURCES[0])
}

/// Resource types the simulation works on.
pub struct Kinds;

#[allow(missing_docs)]
impl Kinds {
    pub fn pods() -> &'static ResourceType {
        rt("", "pods")
    }
    pub fn nodes() -> &'static ResourceType {
        rt("", "nodes")
    }
    pub fn namespaces() -> &'static ResourceType {
        rt("", "namespaces")
    }
    pub fn services() -> &'static ResourceType {
        rt("", "services")
    }
    pub fn endpoints() -> &'static ResourceType {
        rt("", "endpoints")
    }
    pub fn slices() -> &'static ResourceType {
        rt("discovery.k8s.io", "endpointslices")
    }
    pub fn events() -> &'static ResourceType {
        rt("", "events")
    }
    pub fn configmaps() -> &'static ResourceType {
        rt("", "configmaps")
    }
    pub fn secrets() -> &'static ResourceType {
        rt("", "secrets")
    }
    pub fn serviceaccounts() -> &'static ResourceType {
        rt("", "serviceaccounts")
    }
    pub fn pvcs() -> &'static ResourceType {
        rt("", "persistentvolumeclaims")
    }
    pub fn pvs() -> &'static ResourceType {
        rt("", "persistentvolumes")
    }
    pub fn storageclasses() -> &'static ResourceType {
        rt("storage.k8s.io", "storageclasses")
    }
    pub fn deployments() -> &'static ResourceType {
        rt("apps", "deployments")
    }
    pub fn replicasets() -> &'static ResourceType {
        rt("apps", "replicasets")
    }
    pub fn statefulsets() -> &'static ResourceType {
        rt("apps", "statefulsets")
    }
    pub fn daemonsets() -> &'static ResourceType {
        rt("apps", "daemonsets")
    }
    pub fn jobs() -> &'static ResourceType {
        rt("batch", "jobs")
    }
    pub fn networkpolicies() -> &'static ResourceType {
        rt("networking.k8s.io", "networkpolicies")
    }
    pub fn resourcequotas() -> &'static ResourceType {
        rt("", "resourcequotas")
    }
    pub fn limitranges() -> &'static ResourceType {
        rt("", "limitranges")
    }
    pub fn hpas() -> &'static ResourceType {
        rt("autoscaling", "horizontalpodautoscalers")
    }
}
