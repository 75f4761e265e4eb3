//! Leader election for `kai watch --leader-elect`: replicas compete for one
//! `coordination.k8s.io/v1` Lease through kube-lease-manager (a maintained implementation:
//! server-side apply makes two holders impossible, the holder renews before expiry, a lapsed
//! holder is replaced), and the one holding it may act. [`Leadership::confirm`] reads the
//! Lease again right before an action, so a holder that could not renew (the API went away)
//! stops acting once its term is over even though the manager has not yet said so.

use std::time::{Duration, SystemTime};

use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use kube_lease_manager::{LeaseCreateMode, LeaseManager, LeaseManagerError, LeaseParams};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::cluster::Cluster;
use crate::error::ToolError;

/// Which Lease, and who competes for it.
#[derive(Debug, Clone)]
pub struct LeaseOptions {
    /// The Lease's name.
    pub name: String,
    /// Its namespace.
    pub namespace: String,
    /// This replica's identity, unique among the replicas (the pod name and a random part).
    pub identity: String,
    /// How long a term lasts without renewal (at least 2 s); the holder renews a third
    /// before it ends.
    pub duration: Duration,
}

/// The shortest term kube-lease-manager can renew within (its grace must be under it).
pub const MIN_DURATION: Duration = Duration::from_secs(2);

/// This replica's part in the election, while it runs.
pub struct Leadership {
    options: LeaseOptions,
    api: Api<Lease>,
    cluster: Cluster,
    rx: watch::Receiver<bool>,
    task: JoinHandle<Result<LeaseManager, LeaseManagerError>>,
}

/// How the holder of a Lease stands now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The identity that holds it, if any.
    pub identity: Option<String>,
    /// Whether its term has not run out (renew time + duration is still ahead).
    pub current: bool,
}

fn words(e: LeaseManagerError, cluster: &Cluster, o: &LeaseOptions) -> ToolError {
    match e {
        LeaseManagerError::KubeError(k) => {
            ToolError::from_kube(k, cluster, "create or get", "leases", Some(&o.namespace))
        }
        other => ToolError::Api(format!("lease {}/{}: {other}", o.namespace, o.name)),
    }
}

impl Leadership {
    /// Creates the Lease if it is missing and starts competing for it in the background.
    /// Not the leader until [`Leadership::changed`] says so.
    pub async fn start(cluster: &Cluster, o: &LeaseOptions) -> Result<Leadership, ToolError> {
        let secs = o.duration.as_secs().max(MIN_DURATION.as_secs());
        // Renew a third of the term before it ends: room for a slow API and clock skew.
        let grace = (secs / 3).max(1);
        let params = LeaseParams::new(o.identity.clone(), secs, grace)
            .with_field_manager(format!("kai-{}", o.identity));
        let manager = LeaseManager::new(
            cluster.client.clone(),
            o.name.clone(),
            o.namespace.clone(),
            params,
            LeaseCreateMode::AutoCreate,
        )
        .await
        .map_err(|e| words(e, cluster, o))?;
        let (rx, task) = manager.watch().await;
        Ok(Leadership {
            options: o.clone(),
            api: Api::namespaced(cluster.client.clone(), &o.namespace),
            cluster: cluster.clone(),
            rx,
            task,
        })
    }

    /// `namespace/name` of the Lease.
    pub fn lease(&self) -> String {
        format!("{}/{}", self.options.namespace, self.options.name)
    }

    /// This replica's identity.
    pub fn identity(&self) -> &str {
        &self.options.identity
    }

    /// Whether the manager last said this replica leads.
    pub fn is_leader(&self) -> bool {
        *self.rx.borrow()
    }

    /// Waits for the next change of leadership and returns it; None once the manager ended.
    pub async fn changed(&mut self) -> Option<bool> {
        self.rx.changed().await.ok()?;
        Some(*self.rx.borrow_and_update())
    }

    /// The Lease's holder as the API server has it now.
    pub async fn holder(&self) -> Result<Holder, ToolError> {
        let lease = self.api.get(&self.options.name).await.map_err(|e| {
            ToolError::from_kube(
                e,
                &self.cluster,
                "get",
                "leases",
                Some(&self.options.namespace),
            )
        })?;
        let spec = lease.spec.unwrap_or_default();
        let current = match (spec.renew_time, spec.lease_duration_seconds) {
            (Some(renewed), Some(secs)) => {
                let renewed: SystemTime = renewed.0.into();
                let secs = u64::try_from(secs).unwrap_or(0);
                renewed
                    .checked_add(Duration::from_secs(secs))
                    .is_some_and(|end| end > SystemTime::now())
            }
            _ => false,
        };
        Ok(Holder {
            identity: spec.holder_identity,
            current,
        })
    }

    /// Whether this replica may act now: the manager says it leads and the Lease, read again,
    /// names it as a holder whose term has not run out. An error reading it means no.
    pub async fn confirm(&self) -> Result<bool, ToolError> {
        if !self.is_leader() {
            return Ok(false);
        }
        let h = self.holder().await?;
        Ok(h.current && h.identity.as_deref() == Some(self.identity()))
    }

    /// Stops competing and gives the Lease up if this replica holds it, so another replica
    /// takes over at once instead of after the term.
    pub async fn release(self) {
        let Leadership { rx, task, .. } = self;
        drop(rx);
        // The manager releases the Lease when its channel closes; bounded so a dead API
        // cannot hold the exit.
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
}
