//! The live change feed of `kai watch`: kube-runtime watchers (object metadata only) over the
//! kinds the diagnosis reads, reporting which namespace changed and the health of each watch.
//!
//! Metadata is enough to know *that* something changed (every change bumps the
//! resourceVersion), so no Secret `data` or ConfigMap value is ever requested; what changed is
//! then diagnosed by [`crate::diagnosis::diagnose`] on that namespace alone. Metadata still
//! carries annotations (a Secret's last-applied-configuration holds its data), so nothing of
//! an object is kept or printed beyond its namespace: each is dropped as soon as it is read,
//! and only a count per kind of the last listing stays. The watchers re-list on `410 Gone` and
//! reconnect with a backoff after errors (kube-runtime's state machine); this file only turns
//! their events into [`FeedEvent`]s.

use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{
    ConfigMap, Endpoints, Event, Node, PersistentVolume, PersistentVolumeClaim, Pod, Secret,
    Service,
};
use k8s_openapi::api::networking::v1::Ingress;
use kube::Resource;
use kube::api::{Api, PartialObjectMeta};
use kube::core::NamespaceResourceScope;
use kube::runtime::watcher::{self, Event as WatchEvent};
use kube::runtime::{WatchStreamExt, watcher as watch_stream};
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::cluster::Cluster;

/// What the feed reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedEvent {
    /// An object of `kind` changed in `namespace` ("" for a cluster-scoped object, which may
    /// affect every namespace).
    Changed {
        /// Plural kind name (`pods`).
        kind: &'static str,
        /// Namespace of the object.
        namespace: String,
    },
    /// Every watch has listed its objects once: the view is complete.
    Synced,
    /// A watch failed (the API went away, `410 Gone`, a refused request); it retries with a
    /// backoff, re-listing when its version is too old.
    Lost {
        /// Plural kind name.
        kind: &'static str,
        /// What failed, in the API's words.
        message: String,
    },
    /// A watch that had failed delivers again.
    Recovered {
        /// Plural kind name.
        kind: &'static str,
        /// Whether it re-listed (changes in between may have been missed).
        relisted: bool,
    },
    /// A kind that cannot be watched at all (forbidden, or not served): left out.
    Unavailable {
        /// Plural kind name.
        kind: &'static str,
        /// Why.
        message: String,
    },
}

/// What to watch.
#[derive(Debug, Clone, Default)]
pub struct FeedOptions {
    /// One namespace, or None for all.
    pub namespace: Option<String>,
    /// A label selector for the workload kinds (pods, controllers, services).
    pub label_selector: Option<String>,
    /// How long one watch request stays open before it is renewed (kept below the client's
    /// read timeout so a quiet watch is never mistaken for a dead connection).
    pub renew: Duration,
}

/// Starts one watch on a feed, once the feed knows how many watches it has.
type Starter = Box<dyn FnOnce(&mut Feed, &Shared)>;

/// The running feed: dropping it stops every watch.
pub struct Feed {
    tasks: Vec<JoinHandle<()>>,
    /// Objects per kind in the last full listing of its watch.
    counts: Vec<(&'static str, Arc<AtomicUsize>)>,
}

impl Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed")
            .field("watches", &self.tasks.len())
            .finish_non_exhaustive()
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Feed {
    /// Objects per kind, as of each watch's last full listing.
    pub fn objects(&self) -> Vec<(&'static str, usize)> {
        self.counts
            .iter()
            .map(|(k, n)| (*k, n.load(Ordering::SeqCst)))
            .collect()
    }

    /// Number of watches.
    pub fn watches(&self) -> usize {
        self.tasks.len()
    }
}

/// Shared by the watches of one feed.
#[derive(Clone)]
struct Shared {
    tx: mpsc::Sender<FeedEvent>,
    /// Watches that finished their first list (or were left out).
    settled: Arc<AtomicUsize>,
    total: usize,
}

impl Shared {
    async fn settle(&self) {
        if self.settled.fetch_add(1, Ordering::SeqCst) + 1 == self.total {
            let _ = self.tx.send(FeedEvent::Synced).await;
        }
    }
}

/// Kinds whose objects the label selector narrows (as the diagnosis lists them).
const SELECTED: &[&str] = &[
    "pods",
    "deployments",
    "replicasets",
    "statefulsets",
    "daemonsets",
    "jobs",
    "cronjobs",
    "services",
    "horizontalpodautoscalers",
    "ingresses",
];

/// Starts watching; events arrive on the receiver until the feed is dropped.
pub fn start(cluster: &Cluster, opts: &FeedOptions) -> (Feed, mpsc::Receiver<FeedEvent>) {
    let (tx, rx) = mpsc::channel(1024);
    let ns = opts.namespace.as_deref();
    let c = cluster;
    let nodes: Api<PartialObjectMeta<Node>> = Api::all(c.client.clone());
    let pvs: Api<PartialObjectMeta<PersistentVolume>> = Api::all(c.client.clone());
    let starters: Vec<Starter> = vec![
        namespaced::<Pod>(c, ns, "pods", opts),
        namespaced::<Deployment>(c, ns, "deployments", opts),
        namespaced::<ReplicaSet>(c, ns, "replicasets", opts),
        namespaced::<StatefulSet>(c, ns, "statefulsets", opts),
        namespaced::<DaemonSet>(c, ns, "daemonsets", opts),
        namespaced::<Job>(c, ns, "jobs", opts),
        namespaced::<CronJob>(c, ns, "cronjobs", opts),
        namespaced::<Service>(c, ns, "services", opts),
        namespaced::<Endpoints>(c, ns, "endpoints", opts),
        namespaced::<PersistentVolumeClaim>(c, ns, "persistentvolumeclaims", opts),
        namespaced::<Event>(c, ns, "events", opts),
        namespaced::<HorizontalPodAutoscaler>(c, ns, "horizontalpodautoscalers", opts),
        namespaced::<Ingress>(c, ns, "ingresses", opts),
        namespaced::<ConfigMap>(c, ns, "configmaps", opts),
        namespaced::<Secret>(c, ns, "secrets", opts),
        starter(nodes, "nodes", config(opts, "nodes")),
        starter(pvs, "persistentvolumes", config(opts, "persistentvolumes")),
    ];
    // Synced is sent when every watch has settled: all of them, counted before any starts.
    let shared = Shared {
        tx,
        settled: Arc::new(AtomicUsize::new(0)),
        total: starters.len(),
    };
    let mut feed = Feed {
        tasks: Vec::new(),
        counts: Vec::new(),
    };
    for start in starters {
        start(&mut feed, &shared);
    }
    (feed, rx)
}

fn config(opts: &FeedOptions, kind: &str) -> watcher::Config {
    let secs = u32::try_from(opts.renew.as_secs())
        .unwrap_or(290)
        .clamp(1, 290);
    let mut cfg = watcher::Config::default().timeout(secs);
    if let Some(sel) = opts
        .label_selector
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        && SELECTED.contains(&kind)
    {
        cfg = cfg.labels(sel);
    }
    cfg
}

fn namespaced<K>(
    cluster: &Cluster,
    ns: Option<&str>,
    kind: &'static str,
    opts: &FeedOptions,
) -> Starter
where
    K: Resource<Scope = NamespaceResourceScope> + Clone + DeserializeOwned + Debug + Send + Sync,
    K: 'static,
    K::DynamicType: Default + Eq + Hash + Clone + Send + Sync,
{
    let api: Api<PartialObjectMeta<K>> = match ns {
        Some(n) => Api::namespaced(cluster.client.clone(), n),
        None => Api::all(cluster.client.clone()),
    };
    starter(api, kind, config(opts, kind))
}

/// A watch over the metadata of `K`, to be started.
fn starter<K>(api: Api<PartialObjectMeta<K>>, kind: &'static str, cfg: watcher::Config) -> Starter
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + Hash + Clone + Send + Sync,
{
    Box::new(move |feed, shared| spawn(feed, api, kind, cfg, shared))
}

/// One watcher over the metadata of `K`, its events turned into feed events (each object
/// dropped once its namespace is read).
fn spawn<K>(
    feed: &mut Feed,
    api: Api<PartialObjectMeta<K>>,
    kind: &'static str,
    cfg: watcher::Config,
    shared: &Shared,
) where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + Hash + Clone + Send + Sync,
{
    let stream = watch_stream(api, cfg).default_backoff();
    let shared = shared.clone();
    let count = Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    let task = tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        // Objects of the listing under way.
        let mut listing = 0usize;
        let mut listed = false;
        let mut lost = false;
        let mut relisting = false;
        while let Some(item) = stream.next().await {
            let out = match item {
                Ok(WatchEvent::Apply(o) | WatchEvent::Delete(o)) => {
                    let namespace = o.metadata.namespace.clone().unwrap_or_default();
                    let mut v = Vec::new();
                    if std::mem::take(&mut lost) {
                        v.push(FeedEvent::Recovered {
                            kind,
                            relisted: false,
                        });
                    }
                    v.push(FeedEvent::Changed { kind, namespace });
                    v
                }
                Ok(WatchEvent::Init) => {
                    relisting = listed;
                    listing = 0;
                    Vec::new()
                }
                Ok(WatchEvent::InitApply(_)) => {
                    listing += 1;
                    Vec::new()
                }
                Ok(WatchEvent::InitDone) => {
                    counted.store(listing, Ordering::SeqCst);
                    if !listed {
                        listed = true;
                        lost = false;
                        shared.settle().await;
                        Vec::new()
                    } else {
                        lost = false;
                        vec![FeedEvent::Recovered {
                            kind,
                            relisted: std::mem::take(&mut relisting),
                        }]
                    }
                }
                Err(e) => {
                    let message = crate::mask_text(&e.to_string());
                    if !listed && refused(&e) {
                        // Not allowed or not served: nothing to wait for; the diagnosis
                        // says what it could not check.
                        let _ = shared
                            .tx
                            .send(FeedEvent::Unavailable { kind, message })
                            .await;
                        shared.settle().await;
                        return;
                    }
                    if std::mem::replace(&mut lost, true) {
                        Vec::new()
                    } else {
                        vec![FeedEvent::Lost { kind, message }]
                    }
                }
            };
            for ev in out {
                if shared.tx.send(ev).await.is_err() {
                    return;
                }
            }
        }
    });
    feed.tasks.push(task);
    feed.counts.push((kind, count));
}

/// A first list refused for good: forbidden, or the kind is not served.
fn refused(e: &watcher::Error) -> bool {
    let status = match e {
        watcher::Error::InitialListFailed(kube::Error::Api(s))
        | watcher::Error::WatchStartFailed(kube::Error::Api(s))
        | watcher::Error::WatchFailed(kube::Error::Api(s)) => s.code,
        watcher::Error::WatchError(s) => s.code,
        _ => return false,
    };
    status == 403 || status == 404
}

#[cfg(test)]
#[path = "live_tests.rs"]
mod tests;
