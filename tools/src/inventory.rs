//! The names that exist in a cluster: every object of the kinds people ask about, by metadata
//! only (no Secret data is ever read), so a question's words can be matched against them.

use kube::api::ListParams;

use crate::cluster::Cluster;
use crate::error::ToolError;
use crate::k8s;
use crate::kinds::Kind;

/// The kinds whose names a question may use, in the order a bare name prefers them:
/// workloads first, then what serves them, then pods and configuration, then the cluster.
pub const NAMED_KINDS: &[Kind] = &[
    Kind::Deployment,
    Kind::StatefulSet,
    Kind::DaemonSet,
    Kind::CronJob,
    Kind::Job,
    Kind::Service,
    Kind::Ingress,
    Kind::PersistentVolumeClaim,
    Kind::HorizontalPodAutoscaler,
    Kind::Node,
    Kind::Pod,
    Kind::ConfigMap,
    Kind::Secret,
    Kind::PersistentVolume,
    Kind::StorageClass,
    Kind::PodDisruptionBudget,
    Kind::NetworkPolicy,
];

/// Page size of metadata lists, and most pages read per kind (bounded memory on big clusters).
const PAGE: u32 = 500;
const MAX_PAGES: usize = 40;

/// One object of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// Its kind.
    pub kind: Kind,
    /// Namespace ("" for cluster-scoped objects).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The workload that owns it (a pod's deployment, a job's cronjob), as `(kind, name)`.
    pub owner: Option<(Kind, String)>,
}

impl Object {
    /// `deployment shop/backend`, or `node node-1` for cluster-scoped objects.
    pub fn display(&self) -> String {
        if self.namespace.is_empty() {
            format!("{} {}", self.kind, self.name)
        } else {
            format!("{} {}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// Every named object and every namespace of a cluster.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// Objects, in [`NAMED_KINDS`] order.
    pub objects: Vec<Object>,
    /// Namespace names.
    pub namespaces: Vec<String>,
    /// Kinds that could not be listed (forbidden) in every namespace nor in the context's:
    /// a name missing from `objects` may exist as one of them.
    pub unreadable: Vec<Kind>,
}

impl Inventory {
    /// The kinds people name workloads by (workloads, pods, services) that could not be
    /// listed, so "nothing named X" cannot be said.
    pub fn unreadable_workloads(&self) -> Vec<Kind> {
        self.unreadable
            .iter()
            .copied()
            .filter(|k| k.is_workload() || matches!(k, Kind::CronJob | Kind::Service | Kind::Pod))
            .collect()
    }
}

/// Lists the names of every object of [`NAMED_KINDS`] in every namespace, concurrently.
/// A kind the user may not list (403) or the server does not serve (404) is left out.
pub async fn inventory(cluster: &Cluster) -> Result<Inventory, ToolError> {
    let namespaces = async {
        names(cluster, Kind::Namespace).await.map(|l| {
            l.unwrap_or_default()
                .into_iter()
                .map(|o| o.name)
                .collect::<Vec<_>>()
        })
    };
    let lists = futures::future::join_all(NAMED_KINDS.iter().map(|k| names(cluster, *k)));
    let (namespaces, lists) = futures::join!(namespaces, lists);
    let mut objects = Vec::new();
    let mut unreadable = Vec::new();
    for (list, kind) in lists.into_iter().zip(NAMED_KINDS) {
        match list? {
            Some(l) => objects.extend(l),
            None => unreadable.push(*kind),
        }
    }
    let namespaces = namespaces?;
    // A replica set's owner is a deployment: name pods by the deployment, not the replica set.
    let deployments: Vec<(String, String)> = objects
        .iter()
        .filter(|o| o.kind == Kind::Deployment)
        .map(|o| (o.namespace.clone(), o.name.clone()))
        .collect();
    for o in &mut objects {
        if let Some((Kind::ReplicaSet, rs)) = &o.owner {
            o.owner = deployments
                .iter()
                .find(|(ns, d)| *ns == o.namespace && rs.starts_with(&format!("{d}-")))
                .map(|(_, d)| (Kind::Deployment, d.clone()));
        }
    }
    Ok(Inventory {
        objects,
        namespaces,
        unreadable,
    })
}

/// The names of one kind in every namespace; when that is forbidden (a namespace-scoped
/// identity), in the context's namespace; None when that is forbidden too.
async fn names(cluster: &Cluster, kind: Kind) -> Result<Option<Vec<Object>>, ToolError> {
    if let Some(all) = names_in(cluster, kind, None).await? {
        return Ok(Some(all));
    }
    if !kind.namespaced() {
        return Ok(None);
    }
    names_in(cluster, kind, Some(cluster.ns(None))).await
}

async fn names_in(
    cluster: &Cluster,
    kind: Kind,
    ns: Option<&str>,
) -> Result<Option<Vec<Object>>, ToolError> {
    let api = k8s::api(cluster, kind, ns);
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut lp = ListParams::default().limit(PAGE);
        if let Some(t) = &token {
            lp = lp.continue_token(t);
        }
        let page = match api.list_metadata(&lp).await {
            Ok(p) => p,
            Err(kube::Error::Api(s)) if s.code == 403 => return Ok(None),
            Err(kube::Error::Api(s)) if (404..=405).contains(&s.code) => return Ok(Some(out)),
            Err(e) => {
                return Err(ToolError::from_kube(e, cluster, "list", kind.plural(), ns));
            }
        };
        for item in page.items {
            let meta = item.metadata;
            let owner = meta
                .owner_references
                .unwrap_or_default()
                .into_iter()
                .find(|r| r.controller == Some(true))
                .and_then(|r| Kind::from_api_kind(&r.kind).map(|k| (k, r.name)));
            out.push(Object {
                kind,
                namespace: meta.namespace.unwrap_or_default(),
                name: meta.name.unwrap_or_default(),
                owner,
            });
        }
        token = page.metadata.continue_.filter(|t| !t.is_empty());
        if token.is_none() {
            break;
        }
    }
    Ok(Some(out))
}
