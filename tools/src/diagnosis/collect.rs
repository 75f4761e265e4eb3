//! API calls of a diagnosis: one paged list per kind for the scope, all concurrently; Secrets and
//! ConfigMaps only when a pod or ingress needs them checked (keys kept, values dropped at once);
//! RBAC objects only when a log or event says "forbidden"; bounded log tails of failing
//! containers and of one running pod per workload, a few at a time.

use std::fmt::Debug;

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
};
use k8s_openapi::api::core::v1::{Node, PersistentVolume};
use k8s_openapi::api::networking::v1::IngressClass;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::Resource;
use kube::api::{Api, ListParams, LogParams};
use kube::core::{ClusterResourceScope, NamespaceResourceScope};
use serde::de::DeserializeOwned;

use super::Scope;
use super::analyze::{LogRequest, log_plan};
use super::snapshot::{LogTail, Snapshot};
use super::strip::{
    strip_config_map, strip_deployment, strip_pod, strip_replica_set, strip_secret,
};
use crate::cluster::Cluster;
use crate::error::ToolError;

const PAGE: u32 = 500;
/// Lines of a failing container's log.
const LOG_LINES: i64 = 50;
/// Lines of a running container's log read for failure signatures.
const SAMPLE_LINES: i64 = 100;
const LOG_BYTES: i64 = 16 * 1024;
const LOG_CONCURRENCY: usize = 6;

/// A snapshot plus what could not be listed.
pub(crate) struct Collected {
    pub snapshot: Snapshot,
    pub not_checked: Vec<String>,
    /// Plural names of the kinds that could not be read (forbidden, undecodable, failed).
    pub unreadable: Vec<String>,
    pub scope: String,
}

/// Outcome of listing one kind.
enum Listed<K> {
    Items(Vec<K>),
    /// Not listable: (plural, reason for the user).
    Skipped(String),
    /// The API does not serve this kind: nothing to check.
    NotServed,
    /// The server could not be reached, or refused the request itself (a bad selector).
    Down(ToolError),
}

async fn list_pages<K>(
    cluster: &Cluster,
    api: Api<K>,
    plural: &str,
    ns: Option<&str>,
    labels: Option<&str>,
    strip: fn(&mut K),
) -> Listed<K>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut lp = ListParams::default().limit(PAGE);
        if let Some(l) = labels.filter(|l| !l.trim().is_empty()) {
            lp = lp.labels(l);
        }
        if let Some(t) = &token {
            lp = lp.continue_token(t);
        }
        match api.list(&lp).await {
            Ok(page) => {
                token = page.metadata.continue_.clone().filter(|t| !t.is_empty());
                if out.is_empty() {
                    // Reserve once for the whole list: no doubling of large typed vectors.
                    let remaining = page.metadata.remaining_item_count.unwrap_or(0).max(0);
                    out.reserve_exact(page.items.len() + usize::try_from(remaining).unwrap_or(0));
                }
                out.extend(page.items.into_iter().map(|mut o| {
                    o.meta_mut().managed_fields = None;
                    strip(&mut o);
                    o
                }));
                if token.is_none() {
                    return Listed::Items(out);
                }
            }
            Err(kube::Error::Api(s)) if s.code == 404 => return Listed::NotServed,
            Err(kube::Error::Api(s)) if s.code == 400 && labels.is_some() => {
                return Listed::Down(ToolError::InvalidArguments {
                    tool: "diagnose".into(),
                    message: format!(
                        "invalid label selector \"{}\": {}",
                        labels.unwrap_or_default(),
                        s.message
                    ),
                });
            }
            Err(e) => {
                let err = ToolError::from_kube(e, cluster, "list", plural, ns);
                return match err {
                    ToolError::Unreachable { .. } => Listed::Down(err),
                    ToolError::Forbidden(m) => Listed::Skipped(format!("{plural}: {m}")),
                    other => Listed::Skipped(format!("{plural}: {other}")),
                };
            }
        }
    }
}

fn keep<K>(_: &mut K) {}

fn namespaced<K>(cluster: &Cluster, ns: Option<&str>) -> Api<K>
where
    K: Resource<Scope = NamespaceResourceScope>,
    <K as Resource>::DynamicType: Default,
{
    match ns {
        Some(n) => Api::namespaced(cluster.client.clone(), n),
        None => Api::all(cluster.client.clone()),
    }
}

struct Sink<'a> {
    snap: &'a mut Snapshot,
    not_checked: Vec<String>,
    unreadable: Vec<String>,
    down: Option<ToolError>,
}

impl Sink<'_> {
    fn take<K>(&mut self, plural: &str, listed: Listed<K>) -> Vec<K> {
        match listed {
            Listed::Items(v) => v,
            Listed::Skipped(reason) => {
                self.snap.unavailable.insert(plural.to_string());
                self.not_checked.push(reason);
                self.unreadable.push(plural.to_string());
                Vec::new()
            }
            Listed::NotServed => {
                self.snap.unavailable.insert(plural.to_string());
                Vec::new()
            }
            Listed::Down(e) => {
                self.snap.unavailable.insert(plural.to_string());
                if self.down.is_none() {
                    self.down = Some(e);
                }
                Vec::new()
            }
        }
    }
}

/// Stores one listed kind into the snapshot (run after all lists of a round are done).
type Put = Box<dyn FnOnce(&mut Sink<'_>) + Send>;

/// Lists a namespaced kind and returns how to store it.
fn ns_task<'a, K>(
    c: &'a Cluster,
    ns: Option<&'a str>,
    plural: &'static str,
    labels: Option<&'a str>,
    strip: fn(&mut K),
    put: fn(&mut Snapshot, Vec<K>),
) -> BoxFuture<'a, Put>
where
    K: Resource<Scope = NamespaceResourceScope> + Clone + DeserializeOwned + Debug + Send + 'static,
    <K as Resource>::DynamicType: Default,
{
    async move {
        let listed = list_pages(c, namespaced::<K>(c, ns), plural, ns, labels, strip).await;
        Box::new(move |sink: &mut Sink<'_>| {
            let v = sink.take(plural, listed);
            put(sink.snap, v);
        }) as Put
    }
    .boxed()
}

/// Lists a cluster-scoped kind and returns how to store it.
fn cluster_task<'a, K>(
    c: &'a Cluster,
    plural: &'static str,
    put: fn(&mut Snapshot, Vec<K>),
) -> BoxFuture<'a, Put>
where
    K: Resource<Scope = ClusterResourceScope> + Clone + DeserializeOwned + Debug + Send + 'static,
    <K as Resource>::DynamicType: Default,
{
    async move {
        let api = Api::<K>::all(c.client.clone());
        let listed = list_pages(c, api, plural, None, None, keep).await;
        Box::new(move |sink: &mut Sink<'_>| {
            let v = sink.take(plural, listed);
            put(sink.snap, v);
        }) as Put
    }
    .boxed()
}

/// The lists every diagnosis makes, all at once.
fn first_round<'a>(
    c: &'a Cluster,
    ns: Option<&'a str>,
    sel: Option<&'a str>,
) -> Vec<BoxFuture<'a, Put>> {
    vec![
        ns_task(c, ns, "pods", sel, strip_pod, |s, v| s.pods = v),
        ns_task(c, ns, "deployments", sel, strip_deployment, |s, v| {
            s.deployments = v
        }),
        ns_task(c, ns, "replicasets", sel, strip_replica_set, |s, v| {
            s.replica_sets = v
        }),
        ns_task(c, ns, "statefulsets", sel, keep, |s, v| s.stateful_sets = v),
        ns_task(c, ns, "daemonsets", sel, keep, |s, v| s.daemon_sets = v),
        ns_task(c, ns, "jobs", sel, keep, |s, v| s.jobs = v),
        ns_task(c, ns, "cronjobs", sel, keep, |s, v| s.cron_jobs = v),
        ns_task(c, ns, "services", sel, keep, |s, v| s.services = v),
        ns_task(c, ns, "endpoints", None, keep, |s, v| s.endpoints = v),
        ns_task(c, ns, "ingresses", sel, keep, |s, v| s.ingresses = v),
        ns_task(c, ns, "persistentvolumeclaims", None, keep, |s, v| {
            s.pvcs = v
        }),
        ns_task(c, ns, "events", None, keep, |s, v| s.events = v),
        ns_task(c, ns, "horizontalpodautoscalers", sel, keep, |s, v| {
            s.hpas = v
        }),
        ns_task(c, ns, "poddisruptionbudgets", sel, keep, |s, v| s.pdbs = v),
        ns_task(c, ns, "networkpolicies", None, keep, |s, v| {
            s.network_policies = v
        }),
        ns_task(c, ns, "serviceaccounts", None, keep, |s, v| {
            s.service_accounts = v
        }),
        ns_task(c, ns, "resourcequotas", None, keep, |s, v| {
            s.resource_quotas = v
        }),
        ns_task(c, ns, "limitranges", None, keep, |s, v| s.limit_ranges = v),
        cluster_task::<Node>(c, "nodes", |s, v| s.nodes = v),
        cluster_task::<PersistentVolume>(c, "persistentvolumes", |s, v| s.pvs = v),
        cluster_task::<StorageClass>(c, "storageclasses", |s, v| s.storage_classes = v),
        cluster_task::<IngressClass>(c, "ingressclasses", |s, v| s.ingress_classes = v),
        cluster_task::<ValidatingWebhookConfiguration>(
            c,
            "validatingwebhookconfigurations",
            |s, v| s.validating_webhooks = v,
        ),
        cluster_task::<MutatingWebhookConfiguration>(c, "mutatingwebhookconfigurations", |s, v| {
            s.mutating_webhooks = v
        }),
    ]
}

/// What storing a round's lists left to report: kinds not checked and kinds unreadable.
#[derive(Default)]
struct Gaps {
    not_checked: Vec<String>,
    unreadable: Vec<String>,
}

/// Stores a round's lists in the snapshot: what it left to report, and the first error that
/// says the API server is down.
fn store(snap: &mut Snapshot, puts: impl IntoIterator<Item = Put>) -> (Gaps, Option<ToolError>) {
    let mut sink = Sink {
        snap,
        not_checked: Vec::new(),
        unreadable: Vec::new(),
        down: None,
    };
    for put in puts {
        put(&mut sink);
    }
    let gaps = Gaps {
        not_checked: sink.not_checked,
        unreadable: sink.unreadable,
    };
    (gaps, sink.down)
}

/// Lists everything the analysis needs for a scope, then the log tails it asks for.
pub(crate) async fn collect(cluster: &Cluster, scope: &Scope) -> Result<Collected, ToolError> {
    let ns_owned: Option<String> = if scope.all_namespaces {
        None
    } else {
        Some(cluster.ns(scope.namespace.as_deref()).to_string())
    };
    let ns = ns_owned.as_deref();
    let scope_text = match ns {
        Some(n) => format!("namespace {n}"),
        None => "all namespaces".to_string(),
    };
    let sel = scope
        .label_selector
        .as_deref()
        .filter(|s| !s.trim().is_empty());
    let c = cluster;

    let ns_check = async {
        match ns {
            Some(n) => crate::k8s::check_namespace(c, n).await,
            None => Ok(()),
        }
    };
    let (ns_ok, puts) =
        futures::join!(ns_check, futures::future::join_all(first_round(c, ns, sel)));
    ns_ok?;

    let mut snap = Snapshot::at(jiff::Timestamp::now());
    snap.namespace = ns_owned.clone();
    snap.label_selected = sel.is_some();
    let (mut gaps, down) = store(&mut snap, puts);
    if let Some(e) = down {
        return Err(e);
    }
    let blind = ["pods", "deployments", "services"]
        .iter()
        .all(|k| snap.unavailable.contains(*k));
    if blind {
        return Err(ToolError::Forbidden(format!(
            "forbidden: cannot list pods, deployments or services in {scope_text} (context \"{}\"): {}; ask for read access (the view role)",
            c.context,
            gaps.not_checked.first().cloned().unwrap_or_default()
        )));
    }

    // Second round, concurrently: config objects when something needs checking against them,
    // and the log tails of failing containers and of one running pod per workload.
    let plan = log_plan(&snap, scope.name.as_deref());
    let configs = config_round(c, ns, &mut snap);
    let (puts, logs) = futures::join!(
        futures::future::join_all(configs),
        fetch_logs(c, plan.requests)
    );
    snap.logs = logs;
    if plan.skipped_workloads > 0 {
        gaps.not_checked.push(format!(
            "logs of running pods in {} workloads (read one pod in each of {}, the limit)",
            plan.skipped_workloads, plan.sampled_workloads
        ));
    }

    // Third round, only when something was refused: who may do what.
    let rbac = rbac_round(c, ns, &mut snap);
    let rbac_puts = futures::future::join_all(rbac).await;
    // A server down in these optional rounds leaves their kinds unavailable (the rules needing
    // them stay silent); it is not an error.
    let (more, _down) = store(&mut snap, puts.into_iter().chain(rbac_puts));
    gaps.not_checked.extend(more.not_checked);
    gaps.unreadable.extend(more.unreadable);
    Ok(Collected {
        snapshot: snap,
        not_checked: gaps.not_checked,
        unreadable: gaps.unreadable,
        scope: scope_text,
    })
}

/// The config objects, listed only when something needs checking against them (an unhealthy
/// pod, an Ingress with TLS); else marked unavailable so the rules needing them stay silent.
fn config_round<'a>(
    c: &'a Cluster,
    ns: Option<&'a str>,
    snap: &mut Snapshot,
) -> Vec<BoxFuture<'a, Put>> {
    let needs_config = snap.pods.iter().any(unhealthy)
        || snap
            .ingresses
            .iter()
            .any(|i| i.spec.as_ref().is_some_and(|s| s.tls.is_some()));
    if !needs_config {
        snap.unavailable.insert("secrets".into());
        snap.unavailable.insert("configmaps".into());
        return Vec::new();
    }
    vec![
        // Helm release secrets are large and irrelevant: leave them on the server.
        ns_task(
            c,
            ns,
            "secrets",
            Some("owner!=helm"),
            strip_secret,
            |s, v| s.secrets = v,
        ),
        ns_task(c, ns, "configmaps", None, strip_config_map, |s, v| {
            s.config_maps = v
        }),
    ]
}

/// Roles and bindings, listed only when a log or event says a call was forbidden.
fn rbac_round<'a>(
    c: &'a Cluster,
    ns: Option<&'a str>,
    snap: &mut Snapshot,
) -> Vec<BoxFuture<'a, Put>> {
    if !says_forbidden(snap) {
        for k in [
            "roles",
            "rolebindings",
            "clusterroles",
            "clusterrolebindings",
        ] {
            snap.unavailable.insert(k.into());
        }
        return Vec::new();
    }
    vec![
        ns_task(c, ns, "roles", None, keep, |s, v| s.roles = v),
        ns_task(c, ns, "rolebindings", None, keep, |s, v| {
            s.role_bindings = v
        }),
        cluster_task::<ClusterRole>(c, "clusterroles", |s, v| s.cluster_roles = v),
        cluster_task::<ClusterRoleBinding>(c, "clusterrolebindings", |s, v| {
            s.cluster_role_bindings = v
        }),
    ]
}

/// Whether a log tail or an event says an API call was forbidden.
fn says_forbidden(snap: &Snapshot) -> bool {
    let hit = |t: &str| {
        let l = t.to_ascii_lowercase();
        l.contains("forbidden") && (l.contains("cannot") || l.contains("serviceaccount"))
    };
    snap.logs.iter().any(|l| hit(&l.text))
        || snap
            .events
            .iter()
            .any(|e| e.message.as_deref().is_some_and(hit))
}

fn unhealthy(p: &k8s_openapi::api::core::v1::Pod) -> bool {
    let Some(st) = p.status.as_ref() else {
        return true;
    };
    if st.phase.as_deref() == Some("Succeeded") {
        return false;
    }
    let ready = crate::pods::is_ready(p);
    let restarted = st
        .container_statuses
        .iter()
        .flatten()
        .any(|c| c.restart_count > 0);
    !ready || restarted
}

async fn fetch_logs(c: &Cluster, requests: Vec<LogRequest>) -> Vec<LogTail> {
    futures::stream::iter(requests)
        .map(|r| async move {
            let api: Api<k8s_openapi::api::core::v1::Pod> =
                Api::namespaced(c.client.clone(), &r.namespace);
            let lp = LogParams {
                container: Some(r.container.clone()),
                previous: r.previous,
                tail_lines: Some(if r.sample { SAMPLE_LINES } else { LOG_LINES }),
                limit_bytes: Some(LOG_BYTES),
                ..LogParams::default()
            };
            let (text, previous) = match api.logs(&r.pod, &lp).await {
                Ok(t) => (t, r.previous),
                // The previous container's log may be gone: fall back to the current one, and
                // say so, so the evidence does not call it the previous log.
                Err(_) if r.previous => {
                    let lp = LogParams {
                        previous: false,
                        ..lp
                    };
                    (api.logs(&r.pod, &lp).await.ok()?, false)
                }
                Err(_) => return None,
            };
            let text = if text.len() > LOG_BYTES as usize {
                let mut cut = text.len() - LOG_BYTES as usize;
                while !text.is_char_boundary(cut) {
                    cut += 1;
                }
                text[cut..].to_string()
            } else {
                text
            };
            Some(LogTail {
                namespace: r.namespace,
                pod: r.pod,
                container: r.container,
                previous,
                text,
            })
        })
        .buffer_unordered(LOG_CONCURRENCY)
        .filter_map(|x| async move { x })
        .collect()
        .await
}
