//! When a finding that a pass no longer finds counts as resolved. A crash-looping container
//! runs between two back-offs, and for that while the crash loop is not on the pod: without a
//! rule the finding would resolve and open again with every restart. So a vanished finding
//! whose pods still exist and have restarted is held open until their restart counts have
//! stopped growing for `--resolve-after` (kubelet itself only forgives a crash loop after ten
//! quiet minutes); it resolves at once when its pods are gone or replaced (a fix rolled out, a
//! rollback) or never restarted (nothing says it is crashing). Found again within that time,
//! it was never resolved: no line.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use kai_tools::diagnosis::Finding;
use kai_tools::{Cluster, Kind, k8s};
use serde_json::Value;
use tokio::time::Instant;

use super::diff::{Covered, Key, key};

/// What a pod said when last looked at: its uid and the restarts of all its containers.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mark {
    uid: String,
    restarts: i64,
}

/// A vanished finding held open.
#[derive(Debug)]
struct Held {
    /// Since when no pod of it restarted (or since it vanished).
    quiet_since: Instant,
    /// pod name → mark.
    pods: BTreeMap<String, Mark>,
}

/// The held findings of a watch.
#[derive(Debug)]
pub struct Settle {
    after: Duration,
    held: BTreeMap<Key, Held>,
}

/// What a pod says now: gone, or its mark.
enum Pod {
    Gone,
    Here(Mark),
}

fn mark_of(pod: &Value) -> Mark {
    let restarts = ["containerStatuses", "initContainerStatuses"]
        .iter()
        .filter_map(|k| pod["status"][k].as_array())
        .flatten()
        .filter_map(|c| c["restartCount"].as_i64())
        .sum();
    Mark {
        uid: pod["metadata"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        restarts,
    }
}

impl Settle {
    /// Holds crash-looping findings for `after` of quiet.
    pub fn new(after: Duration) -> Settle {
        Settle {
            after,
            held: BTreeMap::new(),
        }
    }

    /// Of the open findings this pass covered and did not find (`open` minus `found`), the
    /// ones still held open, to be kept as they were; the others resolve now.
    pub async fn hold(
        &mut self,
        cluster: &Cluster,
        open: impl Iterator<Item = &Finding>,
        covered: &Covered,
        found: &[Finding],
    ) -> Vec<Finding> {
        let found: BTreeSet<Key> = found.iter().map(key).collect();
        let vanished: Vec<Finding> = open
            .filter(|f| covered.covers(f) && !found.contains(&key(f)))
            .cloned()
            .collect();
        // Held findings found again, or no longer open, are no longer held.
        let still: BTreeSet<Key> = vanished.iter().map(key).collect();
        self.held.retain(|k, _| still.contains(k));
        let now = Instant::now();
        let mut kept = Vec::new();
        for f in vanished {
            if self.keep(cluster, &f, now).await {
                kept.push(f);
            } else {
                self.held.remove(&key(&f));
            }
        }
        kept
    }

    /// Whether `f` stays open for now.
    async fn keep(&mut self, cluster: &Cluster, f: &Finding, now: Instant) -> bool {
        let names: Vec<&str> = f
            .related
            .iter()
            .filter_map(|r| r.strip_prefix("pod/"))
            .collect();
        let mut marks = BTreeMap::new();
        for name in names {
            match pod(cluster, &f.namespace, name).await {
                Some(Pod::Here(m)) => {
                    marks.insert(name.to_string(), m);
                }
                Some(Pod::Gone) => {}
                // The API cannot say: nothing proves it resolved yet.
                None => return true,
            }
        }
        let k = key(f);
        match next_hold(self.held.get(&k), marks, now, self.after) {
            Some(h) => {
                self.held.insert(k, h);
                true
            }
            None => false,
        }
    }

    /// When the next held finding may resolve, and the namespaces to look at then.
    pub fn next_due(&self) -> Option<(Instant, BTreeSet<String>)> {
        let at = self
            .held
            .values()
            .map(|h| h.quiet_since + self.after)
            .min()?;
        let namespaces = self.held.keys().map(|k| k.1.clone()).collect();
        Some((at, namespaces))
    }
}

/// The hold of a vanished finding whose pods now say `marks` (pods still there), given the
/// hold before; None when it resolves: no pod left that restarted (gone, replaced by a new
/// uid, or never restarted), or no restart for `after`.
fn next_hold(
    before: Option<&Held>,
    mut marks: BTreeMap<String, Mark>,
    now: Instant,
    after: Duration,
) -> Option<Held> {
    marks.retain(|name, m| {
        m.restarts > 0
            && before
                .and_then(|h| h.pods.get(name))
                .is_none_or(|old| old.uid == m.uid)
    });
    if marks.is_empty() {
        return None;
    }
    let grew = before.is_none_or(|h| {
        marks
            .iter()
            .any(|(n, m)| h.pods.get(n).is_none_or(|old| m.restarts > old.restarts))
    });
    let quiet_since = match before {
        Some(h) if !grew => h.quiet_since,
        _ => now,
    };
    if now.duration_since(quiet_since) >= after {
        return None;
    }
    Some(Held {
        quiet_since,
        pods: marks,
    })
}

/// A pod's mark, `Gone` when it no longer exists, None when the API could not say.
async fn pod(cluster: &Cluster, namespace: &str, name: &str) -> Option<Pod> {
    match k8s::get_opt(cluster, Kind::Pod, Some(namespace), name).await {
        Ok(Some(p)) => Some(Pod::Here(mark_of(&p))),
        Ok(None) => Some(Pod::Gone),
        Err(e) => {
            tracing::warn!("pod {namespace}/{name}: {e}");
            None
        }
    }
}

#[cfg(test)]
#[path = "settle_tests.rs"]
mod tests;
