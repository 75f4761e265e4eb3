//! The names in a scope, listed by metadata only: namespaces, and the workloads and services
//! of a namespace. For completion and for notes about what a check did not cover.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Namespace, Service};
use kube::api::{Api, ListParams, ObjectList, PartialObjectMeta};

use crate::cluster::Cluster;
use crate::error::ToolError;

/// Every namespace's name; an error when namespaces cannot be listed (RBAC, unreachable).
pub async fn namespace_names(cluster: &Cluster) -> Result<Vec<String>, ToolError> {
    let list = Api::<Namespace>::all(cluster.client.clone())
        .list_metadata(&ListParams::default())
        .await
        .map_err(|e| ToolError::from_kube(e, cluster, "list", "namespaces", None))?;
    Ok(list
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect())
}

/// The names of the Deployments, StatefulSets, DaemonSets and Services in `namespace`, listed
/// at once; a kind that cannot be listed adds nothing.
pub async fn workload_names(cluster: &Cluster, namespace: &str) -> Vec<String> {
    let lp = ListParams::default();
    let c = &cluster.client;
    let (deps, stss, dss, svcs) = (
        Api::<Deployment>::namespaced(c.clone(), namespace),
        Api::<StatefulSet>::namespaced(c.clone(), namespace),
        Api::<DaemonSet>::namespaced(c.clone(), namespace),
        Api::<Service>::namespaced(c.clone(), namespace),
    );
    let (deps, stss, dss, svcs) = futures::join!(
        deps.list_metadata(&lp),
        stss.list_metadata(&lp),
        dss.list_metadata(&lp),
        svcs.list_metadata(&lp),
    );
    let mut names = names_of(deps);
    names.extend(names_of(stss));
    names.extend(names_of(dss));
    names.extend(names_of(svcs));
    names
}

/// The names in a metadata list; none when the list failed.
fn names_of<K: Clone>(list: Result<ObjectList<PartialObjectMeta<K>>, kube::Error>) -> Vec<String> {
    list.map(|l| {
        l.items
            .into_iter()
            .filter_map(|i| i.metadata.name)
            .collect()
    })
    .unwrap_or_default()
}
