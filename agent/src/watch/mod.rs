//! `kai watch`: a live view of a scope. Watches (kube-runtime reflectors in
//! `kai_tools::live`) say which namespaces changed; only those are diagnosed again, and each
//! finding opened, changed or resolved is one line. Optionally remediates (`remediate.rs`,
//! through the policy gate) and serves metrics (`metrics.rs`).

mod diff;
mod metrics;
mod notify;
mod remediate;
mod settle;
mod view;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::{Args, ValueEnum};
use kai_tools::Cluster;
use kai_tools::diagnosis::{Finding, Scope, Severity, diagnose};
use kai_tools::lease::{Leadership, LeaseOptions, MIN_DURATION};
use kai_tools::live::{self, FeedEvent, FeedOptions};
use tokio::time::Instant;

use crate::policy::Gate;
use diff::{Change, Covered, Open, Transition};
use notify::Notifier;
use remediate::Remediator;
use settle::Settle;
use view::View;

/// What `--remediate` may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Remediation {
    /// Roll a Deployment back when its newest revision fails and the previous was healthy.
    Rollback,
}

/// How the lines of a watch are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WatchFormat {
    /// Text lines for people.
    Text,
    /// One JSON object per line.
    Json,
}

/// `kai watch` options.
#[derive(Debug, Args, Clone)]
pub struct WatchArgs {
    /// Watch every namespace.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Only objects with these labels (`app=shop,tier!=cache`).
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// Lines as text, or JSON objects (`"event": "opened"|"changed"|"resolved"|...`).
    #[arg(long, value_enum)]
    pub output: Option<WatchFormat>,
    /// Remediate what this action fixes (off by default; each action passes the policy gate).
    #[arg(long, value_enum, value_name = "ACTION")]
    pub remediate: Option<Remediation>,
    /// With --remediate: report what would be done (server-side dry run), change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Approve remediations without asking (protected namespaces are still refused).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Least time between two remediations of one object.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = crate::health::parse_duration)]
    pub cooldown: Duration,
    /// Most remediations in any hour.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub max_per_hour: usize,
    /// Serve Prometheus metrics, /healthz and /readyz on this address (`127.0.0.1:9090`).
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// End (exit 0) once no critical or warning finding is open, after the first pass.
    #[arg(long)]
    pub until_resolved: bool,
    /// End (exit 0) after this many finding lines (opened, changed, resolved).
    #[arg(long, value_name = "N")]
    pub exit_after: Option<usize>,
    /// With --remediate: write a Kubernetes Event on the object for each remediation.
    #[arg(long)]
    pub record_events: bool,
    /// Post Slack-compatible JSON (`{"text": ...}`) to this URL when a finding opens or
    /// resolves and for each remediation (from the environment, to keep a token off the
    /// command line).
    #[arg(
        long,
        value_name = "URL",
        env = "KAI_WATCH_WEBHOOK",
        hide_env_values = true
    )]
    pub webhook: Option<String>,
    /// A finding whose pods restarted resolves only once they have not restarted for this
    /// long (or are gone): a crash loop runs between its back-offs.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = crate::health::parse_duration)]
    pub resolve_after: Duration,
    /// Diagnose the whole scope again this often, for findings that come with time alone.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = crate::health::parse_duration)]
    pub resync: Duration,
    /// Elect one leader among replicas with a Lease: only the leader remediates, the others
    /// watch and report.
    #[arg(long)]
    pub leader_elect: bool,
    /// With --leader-elect: the Lease's name.
    #[arg(long, value_name = "NAME", default_value = "kai-watch")]
    pub lease_name: String,
    /// With --leader-elect: the Lease's namespace (default: the watch's namespace, in a pod its own).
    #[arg(long, value_name = "NS")]
    pub lease_namespace: Option<String>,
    /// With --leader-elect: how long a leader's term lasts unrenewed (a dead leader is replaced
    /// within it; at least 2s).
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = crate::health::parse_duration)]
    pub lease_duration: Duration,
}

/// Changes arriving within this time are diagnosed in one pass.
const SETTLE: Duration = Duration::from_millis(500);
/// Wait before diagnosing again after a failed pass.
const RETRY: Duration = Duration::from_secs(5);

/// Namespaces to diagnose again.
#[derive(Debug, Default)]
struct Dirty {
    all: bool,
    namespaces: BTreeSet<String>,
    /// Namespaces where a Deployment or ReplicaSet changed: only there can a finding still
    /// open get a new revision worth a new look at its rollout history.
    rollouts: BTreeSet<String>,
}

impl Dirty {
    fn mark(&mut self, ns: &str) {
        if ns.is_empty() {
            self.all = true;
        } else {
            self.namespaces.insert(ns.to_string());
        }
    }

    fn is_empty(&self) -> bool {
        !self.all && self.namespaces.is_empty()
    }
}

/// Everything one watch holds.
struct Watch<'a> {
    cluster: &'a Cluster,
    gate: &'a Gate,
    args: &'a WatchArgs,
    view: View,
    scope: Scope,
    open: Open,
    remediator: Option<Remediator>,
    /// With --leader-elect: this replica's part in the election.
    leader: Option<Leadership>,
    /// Vanished findings held open while their pods' restarts say they still crash.
    settle: Settle,
    /// With --webhook: the notifications.
    notifier: Option<Notifier>,
    metrics: metrics::Shared,
    lines: usize,
    passes: usize,
}

/// Runs `kai watch` until the watches end, `--until-resolved` or `--exit-after` is met.
pub async fn run(
    cluster: Cluster,
    gate: Arc<Gate>,
    namespace: Option<String>,
    args: &WatchArgs,
    json: bool,
) -> anyhow::Result<u8> {
    if args.dry_run && args.remediate.is_none() {
        return Err(crate::usage(
            "--dry-run reports remediations: add --remediate rollback",
        ));
    }
    if args.record_events && args.remediate.is_none() {
        return Err(crate::usage(
            "--record-events records remediations: add --remediate rollback",
        ));
    }
    if args.max_per_hour == 0 && args.remediate.is_some() {
        return Err(crate::usage(
            "--max-per-hour must be at least 1 with --remediate",
        ));
    }
    if args.leader_elect && args.lease_duration < MIN_DURATION {
        return Err(crate::usage("--lease-duration must be at least 2s"));
    }
    let selector = args.selector.clone().filter(|s| !s.trim().is_empty());
    let ns = if args.all_namespaces {
        None
    } else {
        Some(cluster.ns(namespace.as_deref()).to_string())
    };
    let scope = Scope {
        namespace: ns.clone(),
        all_namespaces: args.all_namespaces,
        kind: None,
        name: None,
        label_selector: selector.clone(),
    };
    let metrics: metrics::Shared = Arc::new(Mutex::new(metrics::Metrics::default()));
    let view = View { json };
    if let Some(addr) = args.metrics_addr {
        let bound = metrics::serve(addr, metrics.clone()).await?;
        view.serving(bound);
    }
    // Each watch request is renewed before the client's read timeout could take silence for
    // a dead connection.
    let renew = cluster
        .limits
        .request
        .saturating_sub(Duration::from_secs(5))
        .max(Duration::from_secs(1));
    let leader = if args.leader_elect {
        Some(elect(&cluster, args, view).await?)
    } else {
        None
    };
    if let Ok(mut m) = metrics.lock() {
        m.set_leader(leader.is_none());
    }
    let notifier = match args.webhook.as_deref().filter(|u| !u.trim().is_empty()) {
        Some(url) => Some(Notifier::start(url, metrics.clone())?),
        None => None,
    };
    let (feed, mut rx) = live::start(
        &cluster,
        &FeedOptions {
            namespace: ns,
            label_selector: selector,
            renew,
        },
    );
    let mut w = Watch {
        cluster: &cluster,
        gate: &gate,
        args,
        view,
        scope,
        open: Open::default(),
        remediator: args
            .remediate
            .map(|_| Remediator::new(args.dry_run, args.cooldown, args.max_per_hour)),
        leader,
        settle: Settle::new(args.resolve_after),
        notifier,
        metrics,
        lines: 0,
        passes: 0,
    };
    w.watch(&feed, &mut rx).await
}

impl Watch<'_> {
    /// The loop: changes from the feed, resyncs, held findings coming due, leadership and
    /// stop signals, until the watch ends.
    async fn watch(
        &mut self,
        feed: &live::Feed,
        rx: &mut tokio::sync::mpsc::Receiver<FeedEvent>,
    ) -> anyhow::Result<u8> {
        let mut synced = false;
        let mut dirty = Dirty::default();
        let mut due: Option<Instant> = None;
        // When a held finding may resolve, and where it is.
        let mut held: Option<(Instant, BTreeSet<String>)> = None;
        let mut resync =
            tokio::time::interval_at(Instant::now() + self.args.resync, self.args.resync);
        // Made once: a signal between two turns of the loop is not lost.
        let stop = stop_signal(self.leader.is_some() || self.notifier.is_some());
        tokio::pin!(stop);
        loop {
            tokio::select! {
                ev = rx.recv() => {
                    let Some(ev) = ev else {
                        return Err(anyhow::anyhow!("every watch of the cluster ended; check the API server and start kai watch again"));
                    };
                    synced |= self.on_feed(&ev, feed, &mut dirty);
                    if synced && due.is_none() && !dirty.is_empty() {
                        due = Some(Instant::now() + SETTLE);
                    }
                }
                _ = resync.tick() => {
                    dirty.all = true;
                    if synced && due.is_none() {
                        due = Some(Instant::now());
                    }
                }
                () = until(held.as_ref().map(|h| h.0)) => {
                    for ns in held.take().map(|h| h.1).unwrap_or_default() {
                        dirty.mark(&ns);
                    }
                    due = due.or(Some(Instant::now()));
                }
                () = until(due) => {
                    due = None;
                    let batch = std::mem::take(&mut dirty);
                    if !self.pass(batch).await {
                        dirty.all = true;
                        due = Some(Instant::now() + RETRY);
                        continue;
                    }
                    held = self.settle.next_due();
                    if let Some(why) = self.finished() {
                        return Ok(self.end(&why).await);
                    }
                }
                now = leadership(self.leader.as_mut()) => match now {
                    Some(leads) => self.lead(leads).await,
                    None => {
                        // The election task ended (it cannot, while the watch holds its
                        // channel): without it this replica must not act.
                        self.view.election_ended();
                        if let Ok(mut m) = self.metrics.lock() {
                            m.set_leader(false);
                        }
                        if let Some(l) = self.leader.take() {
                            l.release().await;
                        }
                        self.remediator = None;
                    }
                },
                () = &mut stop => {
                    return Ok(self.end(if self.leader.is_some() {
                        "stopped by a signal; the lease is released"
                    } else {
                        "stopped by a signal"
                    }).await);
                }
            }
        }
    }

    /// One event of the feed: what it makes dirty, its line and metrics; true once synced.
    fn on_feed(&mut self, ev: &FeedEvent, feed: &live::Feed, dirty: &mut Dirty) -> bool {
        match ev {
            FeedEvent::Changed { kind, namespace } => {
                dirty.mark(namespace);
                if matches!(*kind, "deployments" | "replicasets") {
                    dirty.rollouts.insert(namespace.clone());
                }
            }
            FeedEvent::Synced => {
                dirty.all = true;
                if let Ok(mut m) = self.metrics.lock() {
                    m.set_ready();
                }
                let objects = feed.objects().iter().map(|(_, n)| n).sum();
                self.view.feed(ev, objects);
                return true;
            }
            FeedEvent::Lost { kind, .. } => {
                if let Ok(mut m) = self.metrics.lock() {
                    m.watch_restarted(kind);
                }
                self.view.feed(ev, 0);
            }
            FeedEvent::Recovered { relisted, .. } => {
                // Changes made while it was away may be missed: look at everything.
                dirty.all |= *relisted;
                self.view.feed(ev, 0);
            }
            FeedEvent::Unavailable { .. } => self.view.feed(ev, 0),
        }
        false
    }
}

/// Creates the Lease if needed, starts competing for it and says this replica follows until
/// it is elected.
async fn elect(cluster: &Cluster, args: &WatchArgs, view: View) -> anyhow::Result<Leadership> {
    let namespace = args
        .lease_namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| cluster.namespace.clone());
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "kai".into());
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let options = LeaseOptions {
        name: args.lease_name.clone(),
        namespace,
        identity: format!("{host}_{}_{stamp:08x}", std::process::id()),
        duration: args.lease_duration,
    };
    let l = Leadership::start(cluster, &options)
        .await
        .map_err(|e| anyhow::anyhow!("leader election: {}", e.masked()))?;
    let holder = l
        .holder()
        .await
        .ok()
        .and_then(|h| h.identity.filter(|_| h.current));
    view.leadership(false, &l, holder.as_deref());
    Ok(l)
}

/// The next change of leadership; never, without leader election.
async fn leadership(l: Option<&mut Leadership>) -> Option<bool> {
    match l {
        Some(l) => l.changed().await,
        None => std::future::pending().await,
    }
}

/// SIGTERM or Ctrl-C, when the watch holds a lease to give up or a webhook queue to flush on
/// the way out; else never (the default handling ends the process).
async fn stop_signal(catch: bool) {
    if !catch {
        return std::future::pending().await;
    }
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => return,
                _ = tokio::signal::ctrl_c() => return,
            }
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Sleeps until `due`, or forever when nothing is due.
async fn until(due: Option<Instant>) {
    match due {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

impl Watch<'_> {
    /// Diagnoses what changed, prints the transitions and remediates; false when the
    /// diagnosis failed (the findings are kept).
    async fn pass(&mut self, mut dirty: Dirty) -> bool {
        let started = std::time::Instant::now();
        let whole = dirty.all || !self.scope.all_namespaces;
        let (all, rollouts) = (dirty.all, std::mem::take(&mut dirty.rollouts));
        let (covered, found) = if whole {
            match diagnose(self.cluster, &self.scope).await {
                Ok(r) => (Covered::All, r.findings),
                Err(e) => {
                    self.view.diagnosis_failed(&e.masked().to_string());
                    return false;
                }
            }
        } else {
            let mut found: Vec<Finding> = Vec::new();
            for ns in &dirty.namespaces {
                let scope = Scope {
                    namespace: Some(ns.clone()),
                    all_namespaces: false,
                    ..self.scope.clone()
                };
                match diagnose(self.cluster, &scope).await {
                    Ok(r) => found.extend(r.findings),
                    // A namespace deleted in between has nothing left to find.
                    Err(kai_tools::ToolError::NotFound { .. }) => {}
                    Err(e) => {
                        self.view.diagnosis_failed(&e.masked().to_string());
                        return false;
                    }
                }
            }
            (Covered::Namespaces(dirty.namespaces), found)
        };
        self.passes += 1;
        let mut found = found;
        let held = self
            .settle
            .hold(self.cluster, self.open.iter(), &covered, &found)
            .await;
        found.extend(held);
        let mut changes = self.open.apply(&covered, found);
        // --exit-after N means N lines, even when one pass brings more.
        let room = self.args.exit_after.map(|n| n.saturating_sub(self.lines));
        let cut = room.is_some_and(|r| r < changes.len());
        if let Some(r) = room {
            changes.truncate(r);
        }
        if let Ok(mut m) = self.metrics.lock() {
            m.observe_diagnosis(started.elapsed());
            m.set_findings(self.open.iter());
        }
        // With several replicas only the leader speaks to the webhook (one message, not one
        // per replica).
        let speaks = self.leader.as_ref().is_none_or(Leadership::is_leader);
        for c in &changes {
            self.view.finding(c);
            self.lines += 1;
            if let Some(n) = self.notifier.as_mut().filter(|_| speaks) {
                n.finding(c);
            }
        }
        // What opened or changed first, then what stays open where this pass looked and a
        // Deployment or ReplicaSet changed (or everything was looked at again): a Deployment
        // may get a new failing revision under a finding that never closed (the tried-once
        // rule keeps this from repeating an action), and a finding already handled is not
        // fetched again each pass. Not past --exit-after's cut.
        let mut candidates: Vec<Change> = changes
            .into_iter()
            .filter(|c| c.transition != Transition::Resolved)
            .collect();
        if !cut {
            let seen: BTreeSet<diff::Key> =
                candidates.iter().map(|c| diff::key(&c.finding)).collect();
            candidates.extend(
                self.open
                    .iter()
                    .filter(|f| covered.covers(f) && Remediator::wants(f))
                    .filter(|f| all || f.namespace.is_empty() || rollouts.contains(&f.namespace))
                    .filter(|f| !seen.contains(&diff::key(f)))
                    .map(|f| Change {
                        transition: Transition::Changed,
                        finding: f.clone(),
                    })
                    .collect::<Vec<_>>(),
            );
        }
        self.remediate(&candidates).await;
        true
    }

    /// Considers each opened or changed finding for remediation.
    async fn remediate(&mut self, changes: &[diff::Change]) {
        let Some(mut r) = self.remediator.take() else {
            return;
        };
        for c in changes {
            if c.transition == Transition::Resolved {
                continue;
            }
            let leader = self.leader.as_ref();
            if let Some(action) = r
                .consider(self.cluster, self.gate, leader, &c.finding)
                .await
            {
                // Counted before it is printed: a reader of the line finds it in the metrics.
                if action.result != "not_leader"
                    && let Ok(mut m) = self.metrics.lock()
                {
                    m.remediated(action.action, action.result);
                }
                self.view.remediation(&action);
                if action.result == "not_leader" {
                    continue;
                }
                if let Some(n) = &self.notifier {
                    n.remediation(&action);
                }
                if self.args.record_events && action.result != "dry_run" {
                    self.record(&action, &c.finding).await;
                }
            }
        }
        self.remediator = Some(r);
    }

    /// Writes an Event on the remediated object (not under --dry-run: it changes nothing).
    async fn record(&self, a: &remediate::Action, f: &Finding) {
        let (reason, warning) = match a.result {
            "ok" => ("RolledBack", false),
            "denied" => ("RollbackDenied", true),
            "skipped" => ("RollbackSkipped", true),
            _ => ("RollbackFailed", true),
        };
        let note = kai_tools::record::Note {
            kind: kai_tools::Kind::Deployment,
            namespace: f.namespace.clone(),
            name: f.name.clone(),
            reason: reason.into(),
            message: a.line(),
            warning,
            component: "kai-watch".into(),
            instance: self.leader.as_ref().map_or_else(
                || std::env::var("HOSTNAME").unwrap_or_default(),
                |l| l.identity().to_string(),
            ),
        };
        if let Err(e) = kai_tools::record::record(self.cluster, &note).await {
            self.view.record_failed(&a.target, &e.masked().to_string());
        }
    }

    /// Leadership changed: say so, and a new leader considers what is open now (what it left
    /// to the old leader may still be failing).
    async fn lead(&mut self, leads: bool) {
        if let Ok(mut m) = self.metrics.lock() {
            m.set_leader(leads);
        }
        let Some(l) = self.leader.as_ref() else {
            return;
        };
        let holder = if leads {
            None
        } else {
            l.holder()
                .await
                .ok()
                .and_then(|h| h.identity.filter(|_| h.current))
        };
        self.view.leadership(leads, l, holder.as_deref());
        if leads && self.passes > 0 {
            let open: Vec<diff::Change> = self
                .open
                .iter()
                .map(|f| diff::Change {
                    transition: Transition::Opened,
                    finding: f.clone(),
                })
                .collect();
            self.remediate(&open).await;
        }
    }

    /// Ends the watch: the last line, and the lease given up so another replica leads at once.
    async fn end(&mut self, why: &str) -> u8 {
        self.view.done(why);
        if let Some(l) = self.leader.take() {
            l.release().await;
        }
        if let Some(n) = self.notifier.take() {
            n.close().await;
        }
        crate::exit::OK
    }

    /// Why the watch ends now, if it does.
    fn finished(&self) -> Option<String> {
        if let Some(n) = self.args.exit_after
            && self.lines >= n
        {
            return Some(format!("{} finding lines (--exit-after {n})", self.lines));
        }
        if self.args.until_resolved
            && self.passes > 0
            && !self.open.iter().any(|f| f.severity >= Severity::Warning)
        {
            return Some("no critical or warning finding is open (--until-resolved)".into());
        }
        None
    }
}
