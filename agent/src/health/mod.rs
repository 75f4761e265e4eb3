//! `kai health`: the health summary of a scope, rendered for people or CI, with an exit code.
//!
//! Checks every target cluster concurrently with the diagnosis engine, optionally re-checking
//! until healthy (`--wait`: each re-check waits for a watched change, not a timer), and renders text, JSON, markdown (also appended to
//! `GITHUB_STEP_SUMMARY`) or JUnit XML.

mod duration;
mod render;

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use kai_tools::diagnosis::{Report, Scope, Severity, Woke, change_mark, diagnose};
use kai_tools::{Cluster, ToolError};

pub use duration::{format_duration, parse_duration};

/// Output format of `kai health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum HealthFormat {
    /// Grouped text for people.
    #[default]
    Text,
    /// One JSON document.
    Json,
    /// Markdown for pull-request comments and job summaries.
    Markdown,
    /// JUnit XML: a test case per workload.
    Junit,
}

/// The lowest severity that fails the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum FailOn {
    /// Critical findings fail.
    #[default]
    Critical,
    /// Warnings and critical findings fail.
    Warning,
    /// Never fail on findings (errors still exit 2).
    Never,
}

impl FailOn {
    /// Whether a finding of this severity fails the check.
    pub fn fails(self, s: Severity) -> bool {
        match self {
            FailOn::Critical => s >= Severity::Critical,
            FailOn::Warning => s >= Severity::Warning,
            FailOn::Never => false,
        }
    }
}

/// `kai health` options.
#[derive(Debug, Args, Clone)]
pub struct HealthArgs {
    /// Check every namespace.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Only objects with these labels (`app=shop,tier!=cache`).
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = HealthFormat::Text)]
    pub format: HealthFormat,
    /// Exit 1 when a finding at or above this severity is found.
    #[arg(long, value_enum, default_value_t = FailOn::Critical, value_name = "SEVERITY")]
    pub fail_on: FailOn,
    /// Re-check every 2s until healthy or this long has passed (90s, 5m, 1h30m).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub wait: Option<Duration>,
    /// Kinds that may stay unread without failing the check (`nodes,storageclasses`), for
    /// identities that may not list them: still reported as not checked, but exit 0 is possible.
    #[arg(long, value_name = "KIND[,KIND]", value_delimiter = ',')]
    pub allow_unchecked: Vec<String>,
}

/// The outcome for one cluster.
#[derive(Debug, Clone)]
pub struct ClusterResult {
    /// Context (or sandbox) name.
    pub context: String,
    /// API server URL, if connected.
    pub server: String,
    /// The report, or why nothing could be checked.
    pub report: Result<Report, ToolError>,
    /// Scope text when the report is missing.
    pub scope: String,
}

/// Everything one run found.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Per cluster.
    pub clusters: Vec<ClusterResult>,
    /// Severity threshold.
    pub fail_on: FailOn,
    /// `--wait` given and the time ran out while still failing.
    pub timed_out: Option<Duration>,
    /// The `-l` selector, if any, to say what matched nothing.
    pub selector: Option<String>,
    /// Plural kind names `--allow-unchecked` accepts as unread.
    pub allow_unchecked: Vec<String>,
}

impl ClusterResult {
    /// The kinds this cluster's check could not read and `--allow-unchecked` does not cover.
    pub fn gaps<'a>(&'a self, allowed: &[String]) -> Vec<&'a str> {
        let Ok(r) = &self.report else {
            return Vec::new();
        };
        r.unreadable
            .iter()
            .map(String::as_str)
            .filter(|k| !allowed.iter().any(|a| a == k))
            .collect()
    }

    /// Whether the check read pods, workloads and services and found none in its scope: a
    /// namespace with nothing in it, or a selector that matches nothing.
    pub fn matched_nothing(&self) -> bool {
        let Ok(r) = &self.report else {
            return false;
        };
        let c = &r.checked;
        r.findings.is_empty()
            && !["pods", "deployments", "services"]
                .iter()
                .any(|k| r.unreadable.iter().any(|u| u == k))
            // PVCs are read for the whole scope, selector or not, so they prove nothing here.
            && c.pods + c.workloads + c.services == 0
    }
}

impl Outcome {
    /// Number of findings of a severity, over all clusters.
    pub fn count(&self, s: Severity) -> usize {
        self.clusters
            .iter()
            .filter_map(|c| c.report.as_ref().ok())
            .map(|r| r.count(s))
            .sum()
    }

    /// Whether any finding is at or above the threshold.
    pub fn failing(&self) -> bool {
        self.clusters
            .iter()
            .filter_map(|c| c.report.as_ref().ok())
            .flat_map(|r| r.findings.iter())
            .any(|f| self.fail_on.fails(f.severity))
    }

    /// Whether some cluster could not be checked.
    pub fn errored(&self) -> bool {
        self.clusters.iter().any(|c| c.report.is_err())
    }

    /// Whether some cluster's scope (namespace or selector) held nothing to check.
    pub fn matched_nothing(&self) -> bool {
        self.clusters.iter().any(ClusterResult::matched_nothing)
    }

    /// Whether what was checked is not the whole scope: a kind could not be read (and is not
    /// accepted with `--allow-unchecked`), or the scope matched nothing.
    pub fn incomplete(&self) -> bool {
        self.matched_nothing()
            || self
                .clusters
                .iter()
                .any(|c| !c.gaps(&self.allow_unchecked).is_empty())
    }

    /// 0 nothing at or above --fail-on, 1 findings at or above it, 2 could not check (a
    /// cluster, a kind, or a scope that matched nothing): health that was not checked is
    /// never reported as fine, but what was checked and fails still says 1.
    pub fn exit_code(&self) -> i32 {
        if self.errored() {
            2
        } else if self.failing() {
            1
        } else if self.incomplete() {
            2
        } else {
            0
        }
    }

    /// `ok`, `failing`, `incomplete` (a kind unread or nothing matched) or `error`.
    pub fn status(&self) -> &'static str {
        match self.exit_code() {
            0 => "ok",
            1 => "failing",
            _ if self.errored() => "error",
            _ => "incomplete",
        }
    }

    /// Why a cluster's check is incomplete, in one sentence, or None when it is not.
    pub fn incomplete_note(&self, c: &ClusterResult, place: &str) -> Option<String> {
        let gaps = c.gaps(&self.allow_unchecked);
        if !gaps.is_empty() {
            let kinds = gaps.join(", ");
            return Some(format!(
                "Incomplete: {kinds} could not be read in {place}, so its health is not known (findings that need them are not made); fix that (why: under not checked), or accept the gap with --allow-unchecked {}",
                gaps.join(",")
            ));
        }
        if c.matched_nothing() {
            return Some(match &self.selector {
                Some(sel) => format!(
                    "Nothing to check: selector {sel} matches no pod, workload or service in {place}"
                ),
                None => format!("Nothing to check: {place} has no pods, workloads or services"),
            });
        }
        None
    }
}

const RECHECK: Duration = Duration::from_secs(2);

/// Runs `kai health` over the targets (context name, connection) and returns the exit code.
pub async fn run(
    targets: Vec<(String, Result<Cluster, ToolError>)>,
    namespace: Option<String>,
    args: &HealthArgs,
) -> i32 {
    let scope = Scope {
        namespace: namespace.clone(),
        all_namespaces: args.all_namespaces,
        kind: None,
        name: None,
        label_selector: args.selector.clone().filter(|s| !s.trim().is_empty()),
    };
    let terminal = std::io::stderr().is_terminal();
    let color = crate::render::stdout_styled();
    let outcome = check_until_settled(&targets, &scope, args, terminal).await;
    if terminal && args.wait.is_some() {
        errln!(
            "\r\x1b[2K{}",
            if outcome.timed_out.is_some() {
                "timed out"
            } else {
                "done"
            }
        );
    }
    let mut outcome = masked(outcome);
    outcome.selector = scope.label_selector.clone();
    outcome.allow_unchecked = args.allow_unchecked.iter().map(|k| plural(k)).collect();
    let text = match args.format {
        HealthFormat::Text => kai_tools::mask_text(&render::text(&outcome, color)),
        HealthFormat::Json => render::json(&outcome),
        HealthFormat::Markdown => kai_tools::mask_text(&render::markdown(&outcome)),
        HealthFormat::Junit => render::junit(&outcome),
    };
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = out.write_all(b"\n");
    }
    let _ = out.flush();
    drop(out);
    if namespace.is_none() && !args.all_namespaces {
        note_unchecked_namespaces(&targets).await;
    }
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        let md = if args.format == HealthFormat::Markdown {
            text
        } else {
            render::markdown(&outcome)
        };
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(format!("{md}\n").as_bytes()));
        if let Err(e) = appended {
            errln!(
                "kai: cannot append the report to GITHUB_STEP_SUMMARY ({}): {e}",
                std::path::Path::new(&path).display()
            );
        }
    }
    outcome.exit_code()
}

/// Checks once, or under `--wait` again after each change until healthy or out of time: the
/// last outcome.
async fn check_until_settled(
    targets: &[(String, Result<Cluster, ToolError>)],
    scope: &Scope,
    args: &HealthArgs,
    terminal: bool,
) -> Outcome {
    let started = Instant::now();
    let what = scope_words(targets, scope);
    let mut last: Option<Outcome> = None;
    loop {
        if terminal && args.wait.is_none() {
            err!("checking {what}…");
            let _ = std::io::stderr().flush();
        }
        let began = Instant::now();
        // Where the watches between checks start: before the check, so nothing is missed (and
        // not known when the server does not answer within the wait).
        let marks = match args.wait {
            Some(w) => {
                let left = w.saturating_sub(started.elapsed());
                tokio::time::timeout(left, marks(targets, scope)).await.ok()
            }
            None => None,
        };
        // Under --wait no check may outlast the wait: one that does keeps the last outcome.
        let left = args.wait.map(|w| w.saturating_sub(started.elapsed()));
        let Some(mut fresh) = check_within(targets, scope, args.fail_on, left).await else {
            let mut kept = last.unwrap_or_else(|| unanswered(targets, scope, args.fail_on, left));
            kept.timed_out = args.wait;
            return kept;
        };
        if terminal && args.wait.is_none() {
            err!("\r\x1b[2K");
        }
        let Some(wait) = args.wait else { return fresh };
        // A scope with nothing in it yet (pods not created after an install) is worth waiting
        // for; a kind that may not be read is not.
        if !fresh.failing() && !fresh.errored() && !fresh.matched_nothing() {
            return fresh;
        }
        // A context that could not even be loaded (a typo, a bad kubeconfig) will not heal by
        // waiting; only an unreachable server or unhealthy workloads are worth re-checking.
        if targets
            .iter()
            .any(|(_, t)| matches!(t, Err(e) if !matches!(e, ToolError::Unreachable { .. })))
        {
            return fresh;
        }
        let elapsed = started.elapsed();
        if elapsed >= wait {
            fresh.timed_out = Some(wait);
            return fresh;
        }
        if terminal {
            err!(
                "\r\x1b[2Kwaiting for {what}: {} ({} of {})",
                progress_words(&fresh),
                format_duration(Duration::from_secs(elapsed.as_secs())),
                format_duration(wait)
            );
            let _ = std::io::stderr().flush();
        }
        let left = wait.saturating_sub(elapsed);
        let woke = match marks {
            Some(m) if !fresh.errored() => wait_for_change(targets, scope, &m, left).await,
            _ => Woke::Unwatchable,
        };
        last = Some(fresh);
        // A check at most every RECHECK: on a timer when nothing can be watched, and no closer
        // together than that when changes keep coming (or the watches keep ending).
        let pause = match woke {
            Woke::Unwatchable => RECHECK,
            Woke::Changed => RECHECK.saturating_sub(began.elapsed()),
            Woke::Quiet => Duration::ZERO,
        };
        tokio::time::sleep(pause.min(wait.saturating_sub(started.elapsed()))).await;
    }
}

/// The resource version of each reachable cluster before a check (None where unknown).
async fn marks(
    targets: &[(String, Result<Cluster, ToolError>)],
    scope: &Scope,
) -> Vec<Option<String>> {
    futures::future::join_all(targets.iter().map(|(_, t)| async move {
        match t {
            Ok(c) => change_mark(c, scope).await,
            Err(_) => None,
        }
    }))
    .await
}

/// Waits until something changed in any cluster, or `limit` passed; unwatchable when some
/// cluster's state cannot be watched (the caller then re-checks on a timer).
async fn wait_for_change(
    targets: &[(String, Result<Cluster, ToolError>)],
    scope: &Scope,
    marks: &[Option<String>],
    limit: Duration,
) -> Woke {
    let mut waits = Vec::new();
    for ((_, t), m) in targets.iter().zip(marks) {
        let (Ok(c), Some(m)) = (t, m) else {
            return Woke::Unwatchable;
        };
        waits.push(Box::pin(kai_tools::diagnosis::wait_for_change(
            c, scope, m, limit,
        )));
    }
    if waits.is_empty() {
        return Woke::Unwatchable;
    }
    // The first cluster to wake decides: a change anywhere is worth a check of all.
    let (woke, _, _) = futures::future::select_all(waits).await;
    woke
}

/// Without `-n` or `-A`, kai checks the context's namespace, as kubectl does; says so on
/// stderr when the cluster has other namespaces, so a green check is not mistaken for the
/// whole cluster's.
async fn note_unchecked_namespaces(targets: &[(String, Result<Cluster, ToolError>)]) {
    let [(_, Ok(cluster))] = targets else {
        return;
    };
    // Without the right to list namespaces there is nothing more to say.
    let Ok(names) = kai_tools::scope_names::namespace_names(cluster).await else {
        return;
    };
    let others: Vec<String> = names
        .into_iter()
        .filter(|n| *n != cluster.namespace)
        .collect();
    if !others.is_empty() {
        errln!(
            "kai: checked namespace {} (the context's, as kubectl); {} other namespace{} not checked ({}): add -A for all, or -n NS",
            cluster.namespace,
            others.len(),
            if others.len() == 1 { "" } else { "s" },
            others.join(", ")
        );
    }
}

fn scope_words(targets: &[(String, Result<Cluster, ToolError>)], scope: &Scope) -> String {
    let ns = if scope.all_namespaces {
        "all namespaces".to_string()
    } else {
        match (
            &scope.namespace,
            targets.first().and_then(|t| t.1.as_ref().ok()),
        ) {
            (Some(n), _) => format!("namespace {n}"),
            (None, Some(c)) => format!("namespace {}", c.namespace),
            (None, None) => "the namespace".to_string(),
        }
    };
    if targets.len() > 1 {
        format!("{ns} in {} clusters", targets.len())
    } else {
        ns
    }
}

fn progress_words(o: &Outcome) -> String {
    if o.errored() {
        return "cannot reach every cluster yet".into();
    }
    let c = o.count(Severity::Critical);
    let w = o.count(Severity::Warning);
    format!("{c} critical, {w} warning")
}

/// The outcome with every text a finding or an error quotes masked, so no format (CI keeps
/// them as artifacts) carries a secret.
fn masked(mut o: Outcome) -> Outcome {
    use kai_tools::mask_text;
    for c in &mut o.clusters {
        match &mut c.report {
            Ok(r) => {
                for f in &mut r.findings {
                    for s in [&mut f.reason, &mut f.message, &mut f.suggestion] {
                        *s = mask_text(s);
                    }
                    for s in f.evidence.iter_mut().chain(f.related.iter_mut()) {
                        *s = mask_text(s);
                    }
                }
                for s in &mut r.not_checked {
                    *s = mask_text(s);
                }
            }
            Err(e) => *e = e.masked(),
        }
        c.server = mask_text(&c.server);
    }
    o
}

/// The plural name the check reports a kind by (`node`, `no`, `Nodes` → `nodes`).
fn plural(kind: &str) -> String {
    let k = kind.trim().to_ascii_lowercase();
    kai_tools::kinds::resolve_kind(&k).map_or(k, |kind| kind.plural().to_string())
}

/// The scope of one cluster's check in words (`namespace shop`, `all namespaces`).
fn scope_text(scope: &Scope, conn: &Result<Cluster, ToolError>) -> String {
    if scope.all_namespaces {
        "all namespaces".to_string()
    } else {
        match (&scope.namespace, conn) {
            (Some(n), _) => format!("namespace {n}"),
            (None, Ok(c)) => format!("namespace {}", c.namespace),
            (None, Err(_)) => "namespace (default)".to_string(),
        }
    }
}

/// [`check_all`] within `limit` (None: unbounded); None when the time ran out.
async fn check_within(
    targets: &[(String, Result<Cluster, ToolError>)],
    scope: &Scope,
    fail_on: FailOn,
    limit: Option<Duration>,
) -> Option<Outcome> {
    match limit {
        Some(l) => tokio::time::timeout(l, check_all(targets, scope, fail_on))
            .await
            .ok(),
        None => Some(check_all(targets, scope, fail_on).await),
    }
}

/// The outcome of a first check that got no answer before `--wait` ran out: every cluster
/// could not be checked.
fn unanswered(
    targets: &[(String, Result<Cluster, ToolError>)],
    scope: &Scope,
    fail_on: FailOn,
    limit: Option<Duration>,
) -> Outcome {
    let waited = format_duration(limit.unwrap_or_default());
    let clusters = targets
        .iter()
        .map(|(name, conn)| {
            let (server, report) = match conn {
                Ok(c) => (
                    c.server.clone(),
                    Err(ToolError::Unreachable {
                        server: c.server.clone(),
                        context: c.context.clone(),
                        message: format!("no answer within the --wait of {waited}"),
                    }),
                ),
                Err(e) => (String::new(), Err(e.clone())),
            };
            ClusterResult {
                context: name.clone(),
                server,
                report,
                scope: scope_text(scope, conn),
            }
        })
        .collect();
    Outcome {
        clusters,
        fail_on,
        timed_out: None,
        selector: None,
        allow_unchecked: Vec::new(),
    }
}

async fn check_all(
    targets: &[(String, Result<Cluster, ToolError>)],
    scope: &Scope,
    fail_on: FailOn,
) -> Outcome {
    let checks = targets.iter().map(|(name, conn)| async move {
        let scope_text = scope_text(scope, conn);
        match conn {
            Ok(c) => ClusterResult {
                context: name.clone(),
                server: c.server.clone(),
                report: diagnose(c, scope).await,
                scope: scope_text,
            },
            Err(e) => ClusterResult {
                context: name.clone(),
                server: String::new(),
                report: Err(e.clone()),
                scope: scope_text,
            },
        }
    });
    Outcome {
        clusters: futures::future::join_all(checks).await,
        fail_on,
        timed_out: None,
        selector: None,
        allow_unchecked: Vec::new(),
    }
}
