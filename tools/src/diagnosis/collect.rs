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
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Node, PersistentVolume, Pod};
use k8s_openapi::api::networking::v1::IngressClass;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ListMeta;
use kube::Resource;
use kube::api::{Api, ListParams, LogParams};
use kube::core::{ClusterResourceScope, NamespaceResourceScope};
use serde::de::DeserializeOwned;

use super::Scope;
use super::analyze::{LogRequest, log_plan};
use super::pod_probe::pod_page;
use super::revive::{put_back, wanted};
use super::snapshot::{LogTail, Snapshot};
use super::strip::{
    Interner, Kept, keep_deployment, keep_endpoints, keep_pod, keep_replica_set, keep_service,
    strip_config_map, strip_deployment, strip_replica_set, strip_secret,
};
use super::summaries::SettledPod;
use crate::cluster::Cluster;
use crate::error::ToolError;

const PAGE: u32 = 500;
/// Lines of a failing container's log.
const LOG_LINES: i64 = 50;
/// Lines of a running container's log read for failure signatures.
const SAMPLE_LINES: i64 = 100;
const LOG_BYTES: i64 = 16 * 1024;
/// Reads (logs, objects read whole again) in flight at once.
const READ_CONCURRENCY: usize = 6;
/// Most settled workloads read whole again in one diagnosis.
const MAX_WHOLE: usize = 200;

/// A snapshot plus what could not be listed.
pub(crate) struct Collected {
    pub snapshot: Snapshot,
    pub not_checked: Vec<String>,
    /// Plural names of the kinds that could not be read (forbidden, undecodable, failed).
    pub unreadable: Vec<String>,
    pub scope: String,
}

/// Where the objects of a list go as its pages arrive: each page is decoded, kept and dropped
/// before the next is read, so a list never holds more than one page of whole objects.
trait Keep<K>: Default + Send {
    /// Room for `n` objects (the list's size, known from its first page).
    fn reserve(&mut self, n: usize);
    /// Keeps one object (what of it the rules read).
    fn keep(&mut self, item: K);
}

/// Objects kept whole but for what a strip function drops.
struct Stripped<K> {
    items: Vec<K>,
    strip: Option<fn(&mut K)>,
}

impl<K> Default for Stripped<K> {
    fn default() -> Self {
        Stripped {
            items: Vec::new(),
            strip: None,
        }
    }
}

impl<K: Resource + Send> Keep<K> for Stripped<K> {
    fn reserve(&mut self, n: usize) {
        // Reserve once for the whole list: no doubling of large typed vectors.
        self.items.reserve_exact(n);
    }

    fn keep(&mut self, mut item: K) {
        item.meta_mut().managed_fields = None;
        if let Some(strip) = self.strip {
            strip(&mut item);
        }
        self.items.push(item);
    }
}

/// Objects of a kind with settled summaries (pods, deployments, replica sets): the settled
/// ones as summaries, the others stripped.
struct Summarised<T, S> {
    whole: Vec<T>,
    settled: Vec<S>,
    interner: Interner,
    keep: fn(T, &mut Interner) -> Kept<T, S>,
}

impl<T, S> Summarised<T, S> {
    fn new(keep: fn(T, &mut Interner) -> Kept<T, S>) -> Self {
        Summarised {
            whole: Vec::new(),
            settled: Vec::new(),
            interner: Interner::default(),
            keep,
        }
    }
}

impl<T, S> Default for Summarised<T, S> {
    fn default() -> Self {
        // Only for a list that failed: nothing is ever kept through it.
        Summarised::new(|t, _| Kept::Whole(Box::new(t)))
    }
}

impl<T: Send, S: Send> Keep<T> for Summarised<T, S> {
    fn reserve(&mut self, n: usize) {
        // Most objects of a large cluster are settled; the others are few.
        self.settled.reserve_exact(n);
    }

    fn keep(&mut self, item: T) {
        let kept = (self.keep)(item, &mut self.interner);
        Keep::<Kept<T, S>>::keep(self, kept);
    }
}

/// Summaries kept as a page produced them (pods read for settledness first).
impl<T: Send, S: Send> Keep<Kept<T, S>> for Summarised<T, S> {
    fn reserve(&mut self, n: usize) {
        self.settled.reserve_exact(n);
    }

    fn keep(&mut self, item: Kept<T, S>) {
        match item {
            Kept::Settled(s) => self.settled.push(s),
            Kept::Whole(t) => self.whole.push(*t),
        }
    }
}

/// One kind's list, a page at a time.
trait Pager: Send {
    /// What a page holds.
    type Item;
    /// The page `lp` asks for: its list metadata and items.
    fn page(
        &mut self,
        lp: &ListParams,
    ) -> impl Future<Output = Result<(ListMeta, Vec<Self::Item>), kube::Error>> + Send;
}

impl<K> Pager for Api<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync,
{
    type Item = K;

    async fn page(&mut self, lp: &ListParams) -> Result<(ListMeta, Vec<K>), kube::Error> {
        let list = self.list(lp).await?;
        Ok((list.metadata, list.items))
    }
}

/// Pods, read for settledness before anything is decoded whole ([`pod_page`]).
struct PodPager {
    client: kube::Client,
    ns: Option<String>,
    interner: Interner,
}

impl Pager for PodPager {
    type Item = Kept<Pod, SettledPod>;

    async fn page(&mut self, lp: &ListParams) -> Result<(ListMeta, Vec<Self::Item>), kube::Error> {
        pod_page(&self.client, self.ns.as_deref(), lp, &mut self.interner).await
    }
}

/// Outcome of listing one kind.
enum Listed<K> {
    Items(K),
    /// Not listable: (plural, reason for the user).
    Skipped(String),
    /// The API does not serve this kind: nothing to check.
    NotServed,
    /// The server could not be reached, or refused the request itself (a bad selector).
    Down(ToolError),
}

async fn list_pages<P, A>(
    cluster: &Cluster,
    mut pager: P,
    plural: &str,
    ns: Option<&str>,
    labels: Option<&str>,
    mut out: A,
) -> Listed<A>
where
    P: Pager,
    A: Keep<P::Item>,
{
    let mut first = true;
    let mut token: Option<String> = None;
    loop {
        let mut lp = ListParams::default().limit(PAGE);
        if let Some(l) = labels.filter(|l| !l.trim().is_empty()) {
            lp = lp.labels(l);
        }
        if let Some(t) = &token {
            lp = lp.continue_token(t);
        }
        match pager.page(&lp).await {
            Ok((meta, items)) => {
                token = meta.continue_.filter(|t| !t.is_empty());
                if first {
                    first = false;
                    let remaining = meta.remaining_item_count.unwrap_or(0).max(0);
                    out.reserve(items.len() + usize::try_from(remaining).unwrap_or(0));
                }
                for item in items {
                    out.keep(item);
                }
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
    fn take<A: Default>(&mut self, plural: &str, listed: Listed<A>) -> A {
        match listed {
            Listed::Items(v) => v,
            Listed::Skipped(reason) => {
                self.snap.unavailable.insert(plural.to_string());
                self.not_checked.push(reason);
                self.unreadable.push(plural.to_string());
                A::default()
            }
            Listed::NotServed => {
                self.snap.unavailable.insert(plural.to_string());
                A::default()
            }
            Listed::Down(e) => {
                self.snap.unavailable.insert(plural.to_string());
                if self.down.is_none() {
                    self.down = Some(e);
                }
                A::default()
            }
        }
    }
}

/// Stores one listed kind into the snapshot (run after all lists of a round are done).
type Put = Box<dyn FnOnce(&mut Sink<'_>) + Send>;

/// A namespaced kind the collector lists.
trait NsKind:
    Resource<Scope = NamespaceResourceScope, DynamicType = ()>
    + Clone
    + DeserializeOwned
    + Debug
    + Send
    + Sync
    + 'static
{
}

impl<K> NsKind for K where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()>
        + Clone
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static
{
}

/// Lists a namespaced kind and returns how to store it.
fn ns_task<'a, K>(
    c: &'a Cluster,
    ns: Option<&'a str>,
    plural: &'static str,
    labels: Option<&'a str>,
    strip: Option<fn(&mut K)>,
    put: fn(&mut Snapshot, Vec<K>),
) -> BoxFuture<'a, Put>
where
    K: NsKind,
{
    let out = Stripped {
        items: Vec::new(),
        strip,
    };
    ns_list(c, ns, plural, labels, out, move |s, v| put(s, v.items))
}

/// Lists a namespaced kind into `out` and returns how to store it.
fn ns_list<'a, K, A>(
    c: &'a Cluster,
    ns: Option<&'a str>,
    plural: &'static str,
    labels: Option<&'a str>,
    out: A,
    put: impl FnOnce(&mut Snapshot, A) + Send + 'static,
) -> BoxFuture<'a, Put>
where
    K: NsKind,
    A: Keep<K> + 'static,
{
    paged(c, ns, plural, labels, namespaced::<K>(c, ns), out, put)
}

/// Lists a namespaced kind through `pager` into `out` and returns how to store it.
fn paged<'a, P, A>(
    c: &'a Cluster,
    ns: Option<&'a str>,
    plural: &'static str,
    labels: Option<&'a str>,
    pager: P,
    out: A,
    put: impl FnOnce(&mut Snapshot, A) + Send + 'static,
) -> BoxFuture<'a, Put>
where
    P: Pager + 'a,
    A: Keep<P::Item> + 'static,
{
    async move {
        let listed = list_pages(c, pager, plural, ns, labels, out).await;
        Box::new(move |sink: &mut Sink<'_>| {
            let v = sink.take(plural, listed);
            put(sink.snap, v);
        }) as Put
    }
    .boxed()
}

/// Lists a namespaced kind kept as summaries where settled; `put` stores the whole objects
/// and the summaries.
fn summarised<'a, K, S>(
    c: &'a Cluster,
    ns: Option<&'a str>,
    plural: &'static str,
    labels: Option<&'a str>,
    keep: fn(K, &mut Interner) -> Kept<K, S>,
    put: fn(&mut Snapshot, Vec<K>, Vec<S>),
) -> BoxFuture<'a, Put>
where
    K: NsKind,
    S: Send + 'static,
{
    let out = Summarised::new(keep);
    ns_list::<K, _>(c, ns, plural, labels, out, move |s, v| {
        put(s, v.whole, v.settled)
    })
}

/// Lists a cluster-scoped kind and returns how to store it.
fn cluster_task<'a, K>(
    c: &'a Cluster,
    plural: &'static str,
    put: fn(&mut Snapshot, Vec<K>),
) -> BoxFuture<'a, Put>
where
    K: Resource<Scope = ClusterResourceScope>
        + Clone
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static,
    <K as Resource>::DynamicType: Default,
{
    async move {
        let api = Api::<K>::all(c.client.clone());
        let listed = list_pages(c, api, plural, None, None, Stripped::default()).await;
        Box::new(move |sink: &mut Sink<'_>| {
            let v: Stripped<K> = sink.take(plural, listed);
            put(sink.snap, v.items);
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
        paged(
            c,
            ns,
            "pods",
            sel,
            PodPager {
                client: c.client.clone(),
                ns: ns.map(str::to_string),
                interner: Interner::default(),
            },
            Summarised::new(keep_pod),
            |s, v| {
                s.pods = v.whole;
                s.settled_pods = v.settled;
            },
        ),
        summarised(c, ns, "deployments", sel, keep_deployment, |s, w, v| {
            (s.deployments, s.settled_deployments) = (w, v)
        }),
        summarised(c, ns, "replicasets", sel, keep_replica_set, |s, w, v| {
            (s.replica_sets, s.settled_replica_sets) = (w, v)
        }),
        ns_task(c, ns, "statefulsets", sel, None, |s, v| s.stateful_sets = v),
        ns_task(c, ns, "daemonsets", sel, None, |s, v| s.daemon_sets = v),
        ns_task(c, ns, "jobs", sel, None, |s, v| s.jobs = v),
        ns_task(c, ns, "cronjobs", sel, None, |s, v| s.cron_jobs = v),
        summarised(c, ns, "services", sel, keep_service, |s, _, v| {
            s.services = v
        }),
        summarised(c, ns, "endpoints", None, keep_endpoints, |s, w, v| {
            (s.endpoints, s.endpoint_counts) = (w, v)
        }),
        ns_task(c, ns, "ingresses", sel, None, |s, v| s.ingresses = v),
        ns_task(c, ns, "persistentvolumeclaims", None, None, |s, v| {
            s.pvcs = v
        }),
        ns_task(c, ns, "events", None, None, |s, v| s.events = v),
        ns_task(c, ns, "horizontalpodautoscalers", sel, None, |s, v| {
            s.hpas = v
        }),
        ns_task(c, ns, "poddisruptionbudgets", sel, None, |s, v| s.pdbs = v),
        ns_task(c, ns, "networkpolicies", None, None, |s, v| {
            s.network_policies = v
        }),
        ns_task(c, ns, "serviceaccounts", None, None, |s, v| {
            s.service_accounts = v
        }),
        ns_task(c, ns, "resourcequotas", None, None, |s, v| {
            s.resource_quotas = v
        }),
        ns_task(c, ns, "limitranges", None, None, |s, v| s.limit_ranges = v),
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

    read_whole(c, &mut snap).await;
    // Second round, concurrently: config objects when something needs checking against them,
    // and the log tails of failing containers and of one running pod per workload.
    let plan = log_plan(&snap, scope.name.as_deref());
    let configs = config_round(c, ns, &mut snap);
    let (puts, logs) = futures::join!(
        futures::future::join_all(configs),
        fetch_logs(c, plan.requests)
    );
    snap.logs = logs;
    whole_if_logged(&mut snap);
    read_whole(c, &mut snap).await;
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

/// Reads whole again the settled deployments and replica sets a rule must read closely (see
/// [`wanted`]), a few at a time and at most [`MAX_WHOLE`]; one that cannot be read stays a
/// summary.
async fn read_whole(c: &Cluster, snap: &mut Snapshot) {
    let w = wanted(snap, MAX_WHOLE);
    if w.is_empty() {
        return;
    }
    let (deployments, rs) = futures::join!(
        get_each::<Deployment>(c, w.deployments, strip_deployment),
        get_each::<ReplicaSet>(c, w.replica_sets, strip_replica_set)
    );
    put_back(snap, deployments, rs);
}

/// Gets objects by namespace and name, stripped; those that fail are left out.
async fn get_each<K: NsKind>(
    c: &Cluster,
    keys: Vec<(String, String)>,
    strip: fn(&mut K),
) -> Vec<K> {
    futures::stream::iter(keys)
        .map(|(ns, name)| async move {
            let api: Api<K> = Api::namespaced(c.client.clone(), &ns);
            let mut o = api.get(&name).await.ok()?;
            o.meta_mut().managed_fields = None;
            strip(&mut o);
            Some(o)
        })
        .buffer_unordered(READ_CONCURRENCY)
        .filter_map(|x| async move { x })
        .collect()
        .await
}

/// Settled pods whose log was read become whole pods again (the few sampled, at most one a
/// workload), so the rules that read logs look at them as at any pod.
pub(super) fn whole_if_logged(snap: &mut Snapshot) {
    let logged: std::collections::HashSet<(&str, &str)> = snap
        .logs
        .iter()
        .map(|l| (l.namespace.as_str(), l.pod.as_str()))
        .collect();
    let mut back = Vec::new();
    snap.settled_pods.retain(|p| {
        let read = logged.contains(&(&*p.namespace, &*p.name));
        if read {
            back.push(p.to_pod());
        }
        !read
    });
    snap.pods.extend(back);
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
            Some(strip_secret),
            |s, v| s.secrets = v,
        ),
        ns_task(c, ns, "configmaps", None, Some(strip_config_map), |s, v| {
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
        ns_task(c, ns, "roles", None, None, |s, v| s.roles = v),
        ns_task(c, ns, "rolebindings", None, None, |s, v| {
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
        .buffer_unordered(READ_CONCURRENCY)
        .filter_map(|x| async move { x })
        .collect()
        .await
}
