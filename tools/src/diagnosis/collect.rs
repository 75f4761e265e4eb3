//! API calls of a diagnosis: one paged list per kind for the scope, all concurrently; Secrets and
//! ConfigMaps only when a pod or ingress needs them checked (keys kept, values dropped at once);
//! bounded log tails of failing containers, a few at a time.

use std::fmt::Debug;

use futures::StreamExt;
use k8s_openapi::ByteString;
use kube::Resource;
use kube::api::{Api, ListParams, LogParams};
use kube::core::NamespaceResourceScope;
use serde::de::DeserializeOwned;

use super::Scope;
use super::analyze::{LogRequest, log_requests};
use super::snapshot::{LogTail, Snapshot};
use crate::cluster::Cluster;
use crate::error::ToolError;

const PAGE: u32 = 500;
const LOG_LINES: i64 = 50;
const LOG_BYTES: i64 = 16 * 1024;
const LOG_CONCURRENCY: usize = 4;

/// A snapshot plus what could not be listed.
pub(crate) struct Collected {
    pub snapshot: Snapshot,
    pub not_checked: Vec<String>,
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
    down: Option<ToolError>,
}

impl Sink<'_> {
    fn take<K>(&mut self, plural: &str, listed: Listed<K>) -> Vec<K> {
        match listed {
            Listed::Items(v) => v,
            Listed::Skipped(reason) => {
                self.snap.unavailable.insert(plural.to_string());
                self.not_checked.push(reason);
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

/// Keeps of a pod only what the rules read. A settled pod (running, every container ready,
/// never restarted, owned by a controller) keeps its identity, labels, owner, node and Ready
/// condition only: its containers are those of its owner's template. This bounds memory on
/// clusters of many thousand pods.
fn strip_pod(p: &mut k8s_openapi::api::core::v1::Pod) {
    p.metadata.annotations = None;
    if let Some(st) = p.status.as_mut()
        && let Some(c) = st.conditions.as_mut()
    {
        c.retain(|c| c.type_ == "Ready" || c.type_ == "PodScheduled");
        c.shrink_to_fit();
    }
    let settled = p.metadata.deletion_timestamp.is_none()
        && p.metadata
            .owner_references
            .as_ref()
            .is_some_and(|o| o.iter().any(|r| r.controller == Some(true)))
        && p.status.as_ref().is_some_and(|st| {
            st.phase.as_deref() == Some("Running")
                && st.container_statuses.as_ref().is_some_and(|cs| {
                    !cs.is_empty()
                        && cs.iter().all(|c| {
                            c.ready
                                && c.restart_count == 0
                                && c.state.as_ref().is_some_and(|s| s.running.is_some())
                        })
                })
        });
    if !settled {
        return;
    }
    // The containers' specs (and named ports) are in the owner's template; readiness is in
    // the Ready condition.
    if let Some(spec) = p.spec.as_mut() {
        *spec = k8s_openapi::api::core::v1::PodSpec {
            node_name: spec.node_name.take(),
            ..Default::default()
        };
    }
    if let Some(st) = p.status.as_mut() {
        st.container_statuses = None;
        st.init_container_statuses = None;
        st.pod_ips = None;
        st.host_ips = None;
    }
}

/// Keeps of a pod template what the rules read: containers' names, images, env (names and
/// references), ports and resource requests, and the template's labels.
fn strip_template(t: &mut k8s_openapi::api::core::v1::PodTemplateSpec) {
    if let Some(m) = t.metadata.as_mut() {
        m.annotations = None;
    }
    if let Some(spec) = t.spec.as_mut() {
        let containers = std::mem::take(&mut spec.containers)
            .into_iter()
            .map(|c| k8s_openapi::api::core::v1::Container {
                name: c.name,
                image: c.image,
                env: c.env,
                env_from: c.env_from,
                ports: c.ports,
                resources: c
                    .resources
                    .map(|r| k8s_openapi::api::core::v1::ResourceRequirements {
                        requests: r.requests,
                        ..Default::default()
                    }),
                ..Default::default()
            })
            .collect();
        *spec = k8s_openapi::api::core::v1::PodSpec {
            containers,
            ..Default::default()
        };
    }
}

/// Annotations of workloads: only the deployment revision is read.
fn keep_revision(m: &mut k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) {
    if let Some(a) = m.annotations.as_mut() {
        a.retain(|k, _| k == "deployment.kubernetes.io/revision");
        if a.is_empty() {
            m.annotations = None;
        }
    }
}

fn strip_replica_set(r: &mut k8s_openapi::api::apps::v1::ReplicaSet) {
    keep_revision(&mut r.metadata);
    if let Some(t) = r.spec.as_mut().and_then(|s| s.template.as_mut()) {
        strip_template(t);
    }
}

fn strip_deployment(d: &mut k8s_openapi::api::apps::v1::Deployment) {
    keep_revision(&mut d.metadata);
    if let Some(s) = d.spec.as_mut() {
        strip_template(&mut s.template);
    }
}

fn strip_secret(s: &mut k8s_openapi::api::core::v1::Secret) {
    // Keys only: values never stay in memory longer than one page.
    if let Some(d) = s.data.as_mut() {
        for v in d.values_mut() {
            *v = ByteString(Vec::new());
        }
    }
    if let Some(d) = s.string_data.as_mut() {
        for v in d.values_mut() {
            v.clear();
        }
    }
    s.metadata.annotations = None;
}

fn strip_config_map(c: &mut k8s_openapi::api::core::v1::ConfigMap) {
    if let Some(d) = c.data.as_mut() {
        for v in d.values_mut() {
            v.clear();
        }
    }
    if let Some(d) = c.binary_data.as_mut() {
        for v in d.values_mut() {
            *v = ByteString(Vec::new());
        }
    }
    c.metadata.annotations = None;
}

/// Lists everything the analysis needs for a scope, then the log tails it asks for.
pub(crate) async fn collect(cluster: &Cluster, scope: &Scope) -> Result<Collected, ToolError> {
    use k8s_openapi::api::admissionregistration::v1::{
        MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
    };
    use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
    use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
    use k8s_openapi::api::batch::v1::{CronJob, Job};
    use k8s_openapi::api::core::v1::{
        ConfigMap, Endpoints, Event, Node, PersistentVolume, PersistentVolumeClaim, Pod, Secret,
        Service, ServiceAccount,
    };
    use k8s_openapi::api::networking::v1::{Ingress, IngressClass, NetworkPolicy};
    use k8s_openapi::api::policy::v1::PodDisruptionBudget;
    use k8s_openapi::api::storage::v1::StorageClass;

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
    let (
        ns_ok,
        (pods, deployments, replica_sets, stateful_sets, daemon_sets, jobs, cron_jobs),
        (services, endpoints, ingresses, pvcs, events, hpas, pdbs, netpols, sas),
        (nodes, pvs, scs, ics, vwh, mwh),
    ) = futures::join!(
        ns_check,
        async {
            futures::join!(
                list_pages(c, namespaced::<Pod>(c, ns), "pods", ns, sel, strip_pod),
                list_pages(
                    c,
                    namespaced::<Deployment>(c, ns),
                    "deployments",
                    ns,
                    sel,
                    strip_deployment
                ),
                list_pages(
                    c,
                    namespaced::<ReplicaSet>(c, ns),
                    "replicasets",
                    ns,
                    sel,
                    strip_replica_set
                ),
                list_pages(
                    c,
                    namespaced::<StatefulSet>(c, ns),
                    "statefulsets",
                    ns,
                    sel,
                    keep
                ),
                list_pages(
                    c,
                    namespaced::<DaemonSet>(c, ns),
                    "daemonsets",
                    ns,
                    sel,
                    keep
                ),
                list_pages(c, namespaced::<Job>(c, ns), "jobs", ns, sel, keep),
                list_pages(c, namespaced::<CronJob>(c, ns), "cronjobs", ns, sel, keep),
            )
        },
        async {
            futures::join!(
                list_pages(c, namespaced::<Service>(c, ns), "services", ns, sel, keep),
                list_pages(
                    c,
                    namespaced::<Endpoints>(c, ns),
                    "endpoints",
                    ns,
                    None,
                    keep
                ),
                list_pages(c, namespaced::<Ingress>(c, ns), "ingresses", ns, sel, keep),
                list_pages(
                    c,
                    namespaced::<PersistentVolumeClaim>(c, ns),
                    "persistentvolumeclaims",
                    ns,
                    None,
                    keep
                ),
                list_pages(c, namespaced::<Event>(c, ns), "events", ns, None, keep),
                list_pages(
                    c,
                    namespaced::<HorizontalPodAutoscaler>(c, ns),
                    "horizontalpodautoscalers",
                    ns,
                    sel,
                    keep
                ),
                list_pages(
                    c,
                    namespaced::<PodDisruptionBudget>(c, ns),
                    "poddisruptionbudgets",
                    ns,
                    sel,
                    keep
                ),
                list_pages(
                    c,
                    namespaced::<NetworkPolicy>(c, ns),
                    "networkpolicies",
                    ns,
                    None,
                    keep
                ),
                list_pages(
                    c,
                    namespaced::<ServiceAccount>(c, ns),
                    "serviceaccounts",
                    ns,
                    None,
                    keep
                ),
            )
        },
        async {
            futures::join!(
                list_pages(
                    c,
                    Api::<Node>::all(c.client.clone()),
                    "nodes",
                    None,
                    None,
                    keep
                ),
                list_pages(
                    c,
                    Api::<PersistentVolume>::all(c.client.clone()),
                    "persistentvolumes",
                    None,
                    None,
                    keep
                ),
                list_pages(
                    c,
                    Api::<StorageClass>::all(c.client.clone()),
                    "storageclasses",
                    None,
                    None,
                    keep
                ),
                list_pages(
                    c,
                    Api::<IngressClass>::all(c.client.clone()),
                    "ingressclasses",
                    None,
                    None,
                    keep
                ),
                list_pages(
                    c,
                    Api::<ValidatingWebhookConfiguration>::all(c.client.clone()),
                    "validatingwebhookconfigurations",
                    None,
                    None,
                    keep
                ),
                list_pages(
                    c,
                    Api::<MutatingWebhookConfiguration>::all(c.client.clone()),
                    "mutatingwebhookconfigurations",
                    None,
                    None,
                    keep
                ),
            )
        },
    );
    ns_ok?;

    let mut snap = Snapshot::at(jiff::Timestamp::now());
    snap.namespace = ns_owned.clone();
    snap.label_selected = sel.is_some();
    let mut sink = Sink {
        snap: &mut snap,
        not_checked: Vec::new(),
        down: None,
    };
    sink.snap.pods = sink.take("pods", pods);
    sink.snap.deployments = sink.take("deployments", deployments);
    sink.snap.replica_sets = sink.take("replicasets", replica_sets);
    sink.snap.stateful_sets = sink.take("statefulsets", stateful_sets);
    sink.snap.daemon_sets = sink.take("daemonsets", daemon_sets);
    sink.snap.jobs = sink.take("jobs", jobs);
    sink.snap.cron_jobs = sink.take("cronjobs", cron_jobs);
    sink.snap.services = sink.take("services", services);
    sink.snap.endpoints = sink.take("endpoints", endpoints);
    sink.snap.ingresses = sink.take("ingresses", ingresses);
    sink.snap.pvcs = sink.take("persistentvolumeclaims", pvcs);
    sink.snap.events = sink.take("events", events);
    sink.snap.hpas = sink.take("horizontalpodautoscalers", hpas);
    sink.snap.pdbs = sink.take("poddisruptionbudgets", pdbs);
    sink.snap.network_policies = sink.take("networkpolicies", netpols);
    sink.snap.service_accounts = sink.take("serviceaccounts", sas);
    sink.snap.nodes = sink.take("nodes", nodes);
    sink.snap.pvs = sink.take("persistentvolumes", pvs);
    sink.snap.storage_classes = sink.take("storageclasses", scs);
    sink.snap.ingress_classes = sink.take("ingressclasses", ics);
    sink.snap.validating_webhooks = sink.take("validatingwebhookconfigurations", vwh);
    sink.snap.mutating_webhooks = sink.take("mutatingwebhookconfigurations", mwh);
    if let Some(e) = sink.down.take() {
        return Err(e);
    }
    let mut not_checked = std::mem::take(&mut sink.not_checked);
    let blind = ["pods", "deployments", "services"]
        .iter()
        .all(|k| snap.unavailable.contains(*k));
    if blind {
        return Err(ToolError::Forbidden(format!(
            "forbidden: cannot list pods, deployments or services in {scope_text} (context \"{}\"): {}; ask for read access (the view role)",
            c.context,
            not_checked.first().cloned().unwrap_or_default()
        )));
    }

    // Second round, concurrently: config objects when something needs checking against them,
    // and the log tails of failing containers.
    let needs_config = snap.pods.iter().any(unhealthy)
        || snap
            .ingresses
            .iter()
            .any(|i| i.spec.as_ref().is_some_and(|s| s.tls.is_some()));
    let requests = log_requests(&snap);
    let configs = async {
        if !needs_config {
            return None;
        }
        Some(futures::join!(
            // Helm release secrets are large and irrelevant: leave them on the server.
            list_pages(
                c,
                namespaced::<Secret>(c, ns),
                "secrets",
                ns,
                Some("owner!=helm"),
                strip_secret
            ),
            list_pages(
                c,
                namespaced::<ConfigMap>(c, ns),
                "configmaps",
                ns,
                None,
                strip_config_map
            ),
        ))
    };
    let (configs, logs) = futures::join!(configs, fetch_logs(c, requests));
    if let Some((secrets, cms)) = configs {
        let mut sink = Sink {
            snap: &mut snap,
            not_checked: Vec::new(),
            down: None,
        };
        sink.snap.secrets = sink.take("secrets", secrets);
        sink.snap.config_maps = sink.take("configmaps", cms);
        not_checked.extend(sink.not_checked);
    } else {
        // Not needed, so not listed: rules needing them stay silent.
        snap.unavailable.insert("secrets".into());
        snap.unavailable.insert("configmaps".into());
    }
    snap.logs = logs;
    Ok(Collected {
        snapshot: snap,
        not_checked,
        scope: scope_text,
    })
}

fn unhealthy(p: &k8s_openapi::api::core::v1::Pod) -> bool {
    let Some(st) = p.status.as_ref() else {
        return true;
    };
    if st.phase.as_deref() == Some("Succeeded") {
        return false;
    }
    let ready = st
        .conditions
        .as_ref()
        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
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
                tail_lines: Some(LOG_LINES),
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
