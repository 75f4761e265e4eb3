//! Waiting for a scope to change between two diagnoses (`kai health --wait`): watches the
//! objects a diagnosis depends on from the resource version before it, so the next one runs
//! only when one of them changed, instead of listing the whole scope again every few seconds.

use std::time::Duration;

use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Node, PersistentVolumeClaim, Pod, Service};
use kube::Resource;
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use kube::core::NamespaceResourceScope;
use serde::de::DeserializeOwned;

use super::Scope;
use crate::cluster::Cluster;

/// The point a watch starts from: the cluster's resource version before a check, so that a
/// change made while the check ran still wakes the next one.
pub async fn change_mark(cluster: &Cluster, scope: &Scope) -> Option<String> {
    let api: Api<Pod> = namespaced(cluster, scope);
    // One object is enough: the list's resource version is the store's, for every kind.
    let list = api
        .list_metadata(&ListParams::default().limit(1))
        .await
        .ok()?;
    list.metadata.resource_version.filter(|v| !v.is_empty())
}

/// What ended a wait.
#[derive(Debug, PartialEq, Eq)]
pub enum Woke {
    /// Something the check depends on changed (or a watch ended and the state is unknown).
    Changed,
    /// `limit` passed with no change.
    Quiet,
    /// The watches could not be opened (not allowed, unreachable): the caller re-checks on a
    /// timer as before.
    Unwatchable,
}

/// Waits up to `limit` (opening the watches included) for a change to pods, workloads,
/// services, claims or nodes in scope since `from`, then a short moment more so a burst (a
/// rollout) wakes one check, not many. A kind this identity may not watch (nodes for a
/// namespace-scoped one) is left out; without a watch on pods there is nothing to wait on.
pub async fn wait_for_change(
    cluster: &Cluster,
    scope: &Scope,
    from: &str,
    limit: Duration,
) -> Woke {
    let until = tokio::time::Instant::now() + limit;
    let sel = scope.label_selector.as_deref();
    let opening = futures::future::join_all([
        open::<Pod>(namespaced(cluster, scope), from, sel).boxed(),
        open::<Deployment>(namespaced(cluster, scope), from, sel).boxed(),
        open::<StatefulSet>(namespaced(cluster, scope), from, sel).boxed(),
        open::<DaemonSet>(namespaced(cluster, scope), from, sel).boxed(),
        open::<Job>(namespaced(cluster, scope), from, sel).boxed(),
        open::<Service>(namespaced(cluster, scope), from, sel).boxed(),
        // Claims and nodes are listed unselected by the diagnosis: watched the same way.
        open::<PersistentVolumeClaim>(namespaced(cluster, scope), from, None).boxed(),
        open::<Node>(Api::all(cluster.client.clone()), from, None).boxed(),
    ]);
    // A server that stops answering must not hold the wait past its limit.
    let Ok(opened) = tokio::time::timeout_at(until, opening).await else {
        return Woke::Quiet;
    };
    if opened.first().is_none_or(Option::is_none) {
        return Woke::Unwatchable;
    }
    let mut all = futures::stream::select_all(opened.into_iter().flatten());
    let first = tokio::time::timeout_at(until, all.next()).await;
    match first {
        Err(_) => return Woke::Quiet,
        // Every watch ended (the server closed them): say "changed" so the state is re-read.
        Ok(None) => return Woke::Changed,
        Ok(Some(())) => {}
    }
    // Settle: keep reading until the changes pause, bounded.
    let settle = Duration::from_millis(300);
    for _ in 0..50 {
        match tokio::time::timeout(settle, all.next()).await {
            Ok(Some(())) => continue,
            _ => break,
        }
    }
    Woke::Changed
}

fn namespaced<K>(cluster: &Cluster, scope: &Scope) -> Api<K>
where
    K: Resource<Scope = NamespaceResourceScope>,
    <K as Resource>::DynamicType: Default,
{
    if scope.all_namespaces {
        Api::all(cluster.client.clone())
    } else {
        Api::namespaced(
            cluster.client.clone(),
            cluster.ns(scope.namespace.as_deref()),
        )
    }
}

/// Opens one watch; its stream yields `()` per change (bookmarks are not changes; an error
/// event, such as an expired resource version, counts as one so the state is re-read).
async fn open<K>(api: Api<K>, from: &str, sel: Option<&str>) -> Option<BoxStream<'static, ()>>
where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    let mut wp = WatchParams::default().timeout(290);
    if let Some(l) = sel.filter(|l| !l.trim().is_empty()) {
        wp = wp.labels(l);
    }
    let stream = api.watch(&wp, from).await.ok()?;
    Some(
        stream
            .filter_map(|ev| async move {
                match ev {
                    Ok(WatchEvent::Bookmark(_)) => None,
                    _ => Some(()),
                }
            })
            .boxed(),
    )
}
