//! The live change feed of `kai watch`: kube-runtime reflectors (object metadata only) over the
//! kinds the diagnosis reads, reporting which namespace changed and the health of each watch.
//!
//! Metadata is enough to know *that* something changed (every change bumps the
//! resourceVersion), so no Secret or ConfigMap value is ever streamed; what changed is then
//! diagnosed by [`crate::diagnosis::diagnose`] on that namespace alone. The watchers re-list
//! on `410 Gone` and reconnect with a backoff after errors (kube-runtime's state machine);
//! this file only turns their events into [`FeedEvent`]s.

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
use kube::runtime::reflector::{self, Store};
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

/// Counts the objects of one reflector's store.
type Counter = Box<dyn Fn() -> usize + Send + Sync>;

/// The running feed: dropping it stops every watch.
pub struct Feed {
    tasks: Vec<JoinHandle<()>>,
    counts: Vec<(&'static str, Counter)>,
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
    /// Objects in the view per kind (from the reflectors' stores).
    pub fn objects(&self) -> Vec<(&'static str, usize)> {
        self.counts.iter().map(|(k, f)| (*k, f())).collect()
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
    let mut feed = Feed {
        tasks: Vec::new(),
        counts: Vec::new(),
    };
    let ns = opts.namespace.as_deref();
    let shared = Shared {
        tx,
        settled: Arc::new(AtomicUsize::new(0)),
        total: 17,
    };
    let c = cluster;
    namespaced::<Pod>(&mut feed, c, ns, "pods", opts, &shared);
    namespaced::<Deployment>(&mut feed, c, ns, "deployments", opts, &shared);
    namespaced::<ReplicaSet>(&mut feed, c, ns, "replicasets", opts, &shared);
    namespaced::<StatefulSet>(&mut feed, c, ns, "statefulsets", opts, &shared);
    namespaced::<DaemonSet>(&mut feed, c, ns, "daemonsets", opts, &shared);
    namespaced::<Job>(&mut feed, c, ns, "jobs", opts, &shared);
    namespaced::<CronJob>(&mut feed, c, ns, "cronjobs", opts, &shared);
    namespaced::<Service>(&mut feed, c, ns, "services", opts, &shared);
    namespaced::<Endpoints>(&mut feed, c, ns, "endpoints", opts, &shared);
    namespaced::<PersistentVolumeClaim>(&mut feed, c, ns, "persistentvolumeclaims", opts, &shared);
    namespaced::<Event>(&mut feed, c, ns, "events", opts, &shared);
    namespaced::<HorizontalPodAutoscaler>(
        &mut feed,
        c,
        ns,
        "horizontalpodautoscalers",
        opts,
        &shared,
    );
    namespaced::<Ingress>(&mut feed, c, ns, "ingresses", opts, &shared);
    namespaced::<ConfigMap>(&mut feed, c, ns, "configmaps", opts, &shared);
    namespaced::<Secret>(&mut feed, c, ns, "secrets", opts, &shared);
    let nodes: Api<PartialObjectMeta<Node>> = Api::all(c.client.clone());
    spawn(&mut feed, nodes, "nodes", config(opts, "nodes"), &shared);
    let pvs: Api<PartialObjectMeta<PersistentVolume>> = Api::all(c.client.clone());
    spawn(
        &mut feed,
        pvs,
        "persistentvolumes",
        config(opts, "persistentvolumes"),
        &shared,
    );
    debug_assert_eq!(feed.tasks.len(), shared.total);
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
    feed: &mut Feed,
    cluster: &Cluster,
    ns: Option<&str>,
    kind: &'static str,
    opts: &FeedOptions,
    shared: &Shared,
) where
    K: Resource<Scope = NamespaceResourceScope> + Clone + DeserializeOwned + Debug + Send + Sync,
    K: 'static,
    K::DynamicType: Default + Eq + Hash + Clone + Send + Sync,
{
    let api: Api<PartialObjectMeta<K>> = match ns {
        Some(n) => Api::namespaced(cluster.client.clone(), n),
        None => Api::all(cluster.client.clone()),
    };
    spawn(feed, api, kind, config(opts, kind), shared);
}

/// One reflector over the metadata of `K`, its events turned into feed events.
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
    let (reader, writer) = reflector::store::<PartialObjectMeta<K>>();
    let stream = reflector::reflector(writer, watch_stream(api, cfg).default_backoff());
    let shared = shared.clone();
    let task = tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
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
                    Vec::new()
                }
                Ok(WatchEvent::InitApply(_)) => Vec::new(),
                Ok(WatchEvent::InitDone) => {
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
    feed.counts.push((kind, count_of(reader)));
}

fn count_of<K>(reader: Store<K>) -> Counter
where
    K: kube::runtime::reflector::Lookup + Clone + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Send + Sync,
{
    Box::new(move || reader.state().len())
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
