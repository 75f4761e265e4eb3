//! `--remediate rollback`: rolls a Deployment back when its newest revision fails and the one
//! before was healthy. Every action passes the one policy gate (plan, approve, audit, run);
//! each revision is tried at most once, each deployment waits out a cooldown, and an hourly cap
//! bounds all actions. `--dry-run` plans (a server-side dry run) and reports, nothing more.

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use kai_tools::diagnosis::{Finding, Severity};
use kai_tools::history::{Revision, rollout_history};
use kai_tools::lease::Leadership;
use kai_tools::{Cluster, mask_text};
use serde::Serialize;
use serde_json::json;

use crate::policy::{Gate, GateError};

/// Reasons that say a revision fails: it crashes, never gets ready, or cannot progress.
const FAILING: &[&str] = &[
    "CrashLoopBackOff",
    "OOMKilled",
    "Error",
    "RunContainerError",
    "Unhealthy",
    "ProgressDeadlineExceeded",
];

/// How long the previous revision must have been the current one, failure-free as far as kai
/// saw, to count as healthy when it no longer runs pods.
const SERVED: Duration = Duration::from_secs(10 * 60);

/// What happened to one remediation (printed as a line, JSON with `"event": "remediation"`).
#[derive(Debug, Clone, Serialize)]
pub struct Action {
    /// `rollback`.
    pub action: &'static str,
    /// `deployment shop/backend`.
    pub target: String,
    /// The failing revision.
    pub from_revision: i64,
    /// The revision rolled back to.
    pub to_revision: i64,
    /// `ok`, `dry_run`, `denied`, `failed`, `skipped` or `not_leader` (another replica acts).
    pub result: &'static str,
    /// The plan's summary, the refusal or the error.
    pub detail: String,
    /// The finding that called for it.
    pub reason: String,
}

impl Action {
    /// The text line.
    pub fn line(&self) -> String {
        let what = format!(
            "{} {} (revision {} → {}, {})",
            self.action, self.target, self.from_revision, self.to_revision, self.reason
        );
        match self.result {
            "ok" => format!("remediated: {what}: {}", self.detail),
            "dry_run" => format!("would remediate (--dry-run): {what}: {}", self.detail),
            "denied" => format!("remediation denied: {what}: {}", self.detail),
            "skipped" => format!("remediation skipped: {what}: {}", self.detail),
            "not_leader" => format!("remediation left to the leader: {what}: {}", self.detail),
            _ => format!("remediation failed: {what}: {}", self.detail),
        }
    }
}

/// Limits and state of the remediations of one watch.
#[derive(Debug)]
pub struct Remediator {
    dry_run: bool,
    cooldown: Duration,
    per_hour: usize,
    /// (namespace, deployment, revision) tried, or reported under --dry-run.
    tried: HashSet<(String, String, i64)>,
    /// (namespace, deployment, revision) seen failing while current: never a rollback target.
    failed: HashSet<(String, String, i64)>,
    /// Last action per deployment.
    last: Vec<((String, String), Instant)>,
    /// Actions in the last hour.
    recent: VecDeque<Instant>,
    /// (namespace, deployment, revision) left to the leader, said once.
    deferred: HashSet<(String, String, i64)>,
}

impl Remediator {
    /// A remediator with these limits.
    pub fn new(dry_run: bool, cooldown: Duration, per_hour: usize) -> Remediator {
        Remediator {
            dry_run,
            cooldown,
            per_hour,
            tried: HashSet::new(),
            failed: HashSet::new(),
            last: Vec::new(),
            recent: VecDeque::new(),
            deferred: HashSet::new(),
        }
    }

    /// Whether a finding is the kind a rollback can fix.
    pub fn wants(f: &Finding) -> bool {
        f.kind == "deployment"
            && f.severity >= Severity::Warning
            && FAILING.contains(&f.reason.as_str())
    }

    /// Considers one open finding; returns what was done, if anything worth a line. With
    /// `leader` (leader election on) only a confirmed leader acts; a follower says once per
    /// revision that it leaves the action to the leader, and tries it itself if it leads later.
    pub async fn consider(
        &mut self,
        cluster: &Cluster,
        gate: &Gate,
        leader: Option<&Leadership>,
        f: &Finding,
    ) -> Option<Action> {
        if !Self::wants(f) {
            return None;
        }
        let (ns, name) = (f.namespace.clone(), f.name.clone());
        let history = match rollout_history(cluster, &ns, &name).await {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!("rollout history of deployment {ns}/{name}: {e}");
                return None;
            }
        };
        let (newest, previous) = pick(&history)?;
        // Pods of an older revision still crash-looping while the newest rolls out say
        // nothing against the newest.
        if !failing_pods_are_of(f, newest) {
            return None;
        }
        self.failed
            .insert((ns.clone(), name.clone(), newest.revision));
        let key = (ns.clone(), name.clone(), newest.revision);
        if self.tried.contains(&key) {
            return None;
        }
        let mut action = Action {
            action: "rollback",
            target: format!("deployment {ns}/{name}"),
            from_revision: newest.revision,
            to_revision: previous.revision,
            result: "skipped",
            detail: String::new(),
            reason: f.reason.clone(),
        };
        if let Some(l) = leader
            && let Some(why) = not_leading(l).await
        {
            if !self.deferred.insert(key) {
                return None;
            }
            action.result = "not_leader";
            action.detail = why;
            return Some(action);
        }
        // Said once per revision: a skipped rollback is not tried again for it.
        self.tried.insert(key);
        if let Some(why) = self.unhealthy_previous(&ns, &name, newest, previous) {
            action.detail = why;
            return Some(action);
        }
        let now = Instant::now();
        if let Some(why) = self.throttled(&ns, &name, now) {
            action.detail = why;
            return Some(action);
        }
        let args = json!({
            "kind": "deployment",
            "name": name,
            "namespace": ns,
            "to_revision": previous.revision,
        });
        if self.dry_run {
            // What the real run would be told, from the gate itself, before any plan.
            (action.result, action.detail) = match gate.would_refuse(cluster, "rollout_undo", &args)
            {
                Some(why) => ("denied", why),
                None => match kai_tools::plan_write(cluster, "rollout_undo", &args).await {
                    Ok(plan) => ("dry_run", plan.summary),
                    Err(e) => ("failed", e.to_string()),
                },
            };
            action.detail = mask_text(&action.detail);
            return Some(action);
        }
        let result = gate.execute(cluster, "rollout_undo", &args).await;
        self.last.retain(|(k, _)| *k != (ns.clone(), name.clone()));
        self.last.push(((ns, name), now));
        self.recent.push_back(now);
        (action.result, action.detail) = match (&result.output, &result.plan) {
            (Ok(out), _) => ("ok", out.text.clone()),
            (Err(GateError::Denied(why)), _) => ("denied", why.clone()),
            (Err(e), _) => ("failed", e.to_string()),
        };
        action.detail = mask_text(action.detail.lines().next().unwrap_or_default());
        Some(action)
    }

    /// Why acting on this deployment now would break the cooldown or the hourly cap, if so.
    fn throttled(&mut self, ns: &str, name: &str, now: Instant) -> Option<String> {
        if let Some((_, at)) = self.last.iter().find(|((n, d), _)| n == ns && d == name)
            && now.duration_since(*at) < self.cooldown
        {
            return Some(format!(
                "deployment acted on {}s ago, within the cooldown of {}s (--cooldown)",
                now.duration_since(*at).as_secs(),
                self.cooldown.as_secs()
            ));
        }
        while self
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(3600))
        {
            self.recent.pop_front();
        }
        (self.recent.len() >= self.per_hour).then(|| {
            format!(
                "{} remediations in the last hour, the cap (--max-per-hour)",
                self.recent.len()
            )
        })
    }

    /// Why the previous revision is not known to be healthy, if it is not.
    fn unhealthy_previous(
        &self,
        ns: &str,
        name: &str,
        newest: &Revision,
        previous: &Revision,
    ) -> Option<String> {
        if self
            .failed
            .contains(&(ns.to_string(), name.to_string(), previous.revision))
        {
            return Some(format!(
                "revision {} failed too while kai watched; a person has to choose the fix",
                previous.revision
            ));
        }
        if previous.replicas > 0 {
            // Still serving next to the failing one (a rolling update): healthy as far as kai
            // saw, since its pods raised no finding of their own.
            return None;
        }
        let served = served_for(previous, newest);
        match served {
            Some(d) if d >= SERVED => None,
            Some(d) => Some(format!(
                "revision {} ran for only {}s before revision {}: not known to be healthy",
                previous.revision,
                d.as_secs(),
                newest.revision
            )),
            None => Some(format!(
                "the creation times of revisions {} and {} are unknown: not known to be healthy",
                previous.revision, newest.revision
            )),
        }
    }
}

/// The newest revision (which must be the current one) and the one before it.
fn pick(history: &[Revision]) -> Option<(&Revision, &Revision)> {
    let mut sorted: Vec<&Revision> = history.iter().filter(|r| r.revision > 0).collect();
    sorted.sort_by_key(|r| std::cmp::Reverse(r.revision));
    let newest = *sorted.first()?;
    if !newest.current {
        return None;
    }
    Some((newest, *sorted.get(1)?))
}

/// How long `previous` was the current revision: until `newest` was created.
fn served_for(previous: &Revision, newest: &Revision) -> Option<Duration> {
    let from: jiff::Timestamp = previous.created.parse().ok()?;
    let to: jiff::Timestamp = newest.created.parse().ok()?;
    let d = to.duration_since(from);
    Duration::try_from(d).ok()
}

/// Whether the failing pods the finding names belong to the newest revision (a finding naming
/// no pod, a stalled rollout, counts as the newest revision's).
fn failing_pods_are_of(f: &Finding, newest: &Revision) -> bool {
    let pods: Vec<&str> = f
        .related
        .iter()
        .filter_map(|r| r.strip_prefix("pod/"))
        .collect();
    let prefix = format!("{}-", newest.replica_set);
    pods.is_empty() || pods.iter().any(|p| p.starts_with(&prefix))
}

/// Why this replica must not act now under leader election (it does not hold the Lease, or
/// could not confirm it holds it), if so.
async fn not_leading(l: &Leadership) -> Option<String> {
    match l.confirm().await {
        Ok(true) => None,
        Ok(false) => Some(format!(
            "this replica ({}) does not hold lease {}",
            l.identity(),
            l.lease()
        )),
        Err(e) => Some(format!(
            "leadership could not be confirmed ({}); not acting",
            e.masked()
        )),
    }
}

#[cfg(test)]
#[path = "remediate_tests.rs"]
mod tests;
