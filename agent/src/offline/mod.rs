//! The offline path: answers from fixed queries and the diagnosis engine, with no model.
//!
//! [`intent::parse`] reads the question against the names that exist in the cluster (and the
//! conversation, for "it"); pasted alerts are read by [`alerts`]. [`answer`] routes the
//! [`Query`] to an answer builder ([`diagnosis`], [`facts`], [`actions`], [`help`]); the
//! registry's tools run through a [`Runner`] (the policy gate, so writes are gated exactly as in
//! the model loop), and read-only facts come from the tools crate. Answers lead with the
//! answer, then the evidence in a few lines.

mod actions;
pub mod alerts;
mod classify;
mod diagnosis;
mod facts;
mod help;
pub mod intent;
mod query;
mod words;

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;

use kai_tools::Cluster;
use kai_tools::diagnosis::Finding;
use kai_tools::inventory::{Inventory, Object};
use kai_tools::registry::ToolOutput;
use serde::Serialize;
use serde_json::Value;

pub use self::intent::{Conversation, Intent, Query};

/// Why a call through the gate did not give an output.
#[derive(Debug, Clone)]
pub enum CallError {
    /// The policy (or the person asked) refused the change.
    Denied(String),
    /// The tool ran and failed.
    Failed(String),
}

/// Runs one tool call through the policy gate (recording it as a step).
pub trait Runner {
    /// Runs `tool` with `args`.
    fn call(
        &mut self,
        tool: &str,
        args: Value,
    ) -> impl std::future::Future<Output = Result<ToolOutput, CallError>>;
}

/// How a question was read: for `--output json` and for tests.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Route {
    /// The intent (`why`, `logs`, `changes`...).
    pub intent: String,
    /// The object it is about (`deployment shop/backend`), if any.
    pub target: Option<String>,
    /// The namespace it covers, or `*` for every namespace.
    pub scope: Option<String>,
}

/// An offline answer.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    /// Markdown text for a person: the answer first, then the evidence.
    pub text: String,
    /// Findings behind the answer.
    pub findings: Vec<Finding>,
    /// A change was asked for and not approved.
    pub denied: bool,
    /// The object the answer is about, so "restart it" can follow.
    pub target: Option<Object>,
    /// How the question was read.
    pub route: Route,
}

impl Answer {
    fn text(text: String) -> Answer {
        Answer {
            text,
            ..Answer::default()
        }
    }
}

/// What an answer builder needs: the cluster, its names, and the question read.
pub(crate) struct Ctx<'a> {
    cluster: &'a Cluster,
    inv: &'a Inventory,
    q: &'a Query,
}

impl Ctx<'_> {
    /// The namespace a namespace-wide answer covers (None: every namespace).
    fn scope(&self) -> Option<String> {
        if self.q.all {
            return None;
        }
        Some(
            self.q
                .namespace
                .clone()
                .or_else(|| {
                    self.q
                        .target
                        .as_ref()
                        .map(|t| t.namespace.clone())
                        .filter(|n| !n.is_empty())
                })
                .unwrap_or_else(|| self.cluster.ns(None).to_string()),
        )
    }

    /// "namespace shop" or "all namespaces".
    fn scope_words(&self) -> String {
        match self.scope() {
            Some(ns) => format!("namespace {ns}"),
            None => "all namespaces".into(),
        }
    }

    /// The error to answer with when the names a question could mean could not be listed
    /// (forbidden), so neither "which one?" nor "nothing named X" would be true.
    fn unlisted(&self, name: Option<&str>) -> Option<anyhow::Error> {
        let kinds = self.inv.unreadable_workloads();
        if kinds.is_empty() {
            return None;
        }
        let plurals: Vec<&str> = kinds.iter().map(|k| k.plural()).collect();
        let what = name.map_or("which object the question means".to_string(), |n| {
            format!("what \"{n}\" is")
        });
        Some(
            kai_tools::ToolError::Forbidden(format!(
                "forbidden: cannot tell {what}: listing {} in {} is forbidden for this user (RBAC); ask for read access (the view role), or name the kind (\"describe deployment NAME -n NS\")",
                plurals.join(", "),
                self.scope_words()
            ))
            .into(),
        )
    }
}

/// Where a loose name match found the question's object, when that is not the namespace the
/// user is looking in (`-n`, the context's, or one the question names): reads may cross
/// namespaces to find it, and must say so. Not repeated when the question refers back to the
/// object of the last answer.
fn found_elsewhere(q: &Query, conv: &Conversation, current: &str) -> Option<String> {
    let t = q.target.as_ref()?;
    let looked = q.namespace.as_deref().unwrap_or(current);
    if q.all || t.namespace.is_empty() || t.namespace == looked || conv.last.as_ref() == Some(t) {
        return None;
    }
    Some(format!(
        "(Found {} {} in namespace {}, not in {looked}.)",
        t.kind, t.name, t.namespace
    ))
}

/// Answers `question` about `cluster` without a model; `conv` is the conversation so far
/// (empty for a one-shot question) and learns what this answer was about.
pub async fn answer(
    cluster: &Cluster,
    runner: &mut impl Runner,
    question: &str,
    conv: &mut Conversation,
) -> anyhow::Result<Answer> {
    let inv = kai_tools::inventory::inventory(cluster).await?;
    let q = read(question, &inv, conv, cluster.ns(None));
    tracing::info!(?q, "offline route");
    let ctx = Ctx {
        cluster,
        inv: &inv,
        q: &q,
    };
    let mut a = route(&ctx, runner, question).await?;
    if !q.corrected.is_empty() {
        let read: Vec<String> = q
            .corrected
            .iter()
            .map(|(was, is)| format!("\"{was}\" as {is}"))
            .collect();
        a.text = format!("(Reading {}.)\n\n{}", read.join(", "), a.text);
    }
    if let Some(note) = found_elsewhere(&q, conv, cluster.ns(None)) {
        a.text = format!("{note}\n\n{}", a.text);
    }
    if a.target.is_none() {
        a.target = q.target.clone();
    }
    a.route = Route {
        intent: q.intent.as_str().to_string(),
        target: a.target.as_ref().map(Object::display),
        scope: Some(ctx.scope().unwrap_or_else(|| "*".into())),
    };
    if a.target.is_some() {
        conv.last = a.target.clone();
    }
    conv.last_intent = Some(q.intent);
    Ok(a)
}

/// Reads a question: a pasted alert, "@kai investigate ...", or a sentence.
pub fn read(question: &str, inv: &Inventory, conv: &Conversation, default_ns: &str) -> Query {
    let mut text = question.trim();
    for prefix in ["@kai", "kai,", "kai:", "hey kai", "kai"] {
        if text.len() >= prefix.len()
            && text.is_char_boundary(prefix.len())
            && text[..prefix.len()].eq_ignore_ascii_case(prefix)
            && text[prefix.len()..].starts_with(|c: char| c.is_whitespace() || c == ',' || c == ':')
        {
            text = text[prefix.len()..].trim_start_matches([',', ':', ' ']);
            break;
        }
    }
    let investigate = ["investigate", "look into", "look at", "check on", "triage"]
        .iter()
        .find(|p| {
            text.len() >= p.len()
                && text.is_char_boundary(p.len())
                && text[..p.len()].eq_ignore_ascii_case(p)
        });
    if let Some(p) = investigate {
        text = text[p.len()..].trim_start_matches([',', ':', ' ']);
    }
    if let Some(alert) = alerts::read(text) {
        let mut q = intent::parse("", inv, &Conversation::default(), default_ns);
        q.namespace = alert
            .get("namespace")
            .filter(|n| inv.namespaces.iter().any(|x| x == n))
            .map(str::to_string);
        q.target = alert.target(inv);
        q.intent = if q.target.is_some() {
            Intent::Why
        } else {
            Intent::Health
        };
        return q;
    }
    let mut q = intent::parse(text, inv, conv, default_ns);
    if investigate.is_some() && matches!(q.intent, Intent::Unknown | Intent::Describe) {
        q.intent = if q.target.is_some() || q.missing.is_some() {
            Intent::Why
        } else {
            Intent::Health
        };
    }
    q
}

async fn route(ctx: &Ctx<'_>, runner: &mut impl Runner, question: &str) -> anyhow::Result<Answer> {
    let q = ctx.q;
    if let Some(name) = &q.missing
        && !matches!(q.intent, Intent::Help | Intent::List | Intent::Nodes)
    {
        return diagnosis::missing(ctx, runner, name).await;
    }
    match q.intent {
        Intent::Health => diagnosis::health(ctx, runner).await,
        Intent::Why => diagnosis::why(ctx, runner).await,
        Intent::Fix => diagnosis::fix(ctx, runner).await,
        Intent::Logs => actions::logs(ctx, runner).await,
        Intent::Events => actions::events(ctx, runner).await,
        Intent::List => actions::list(ctx, runner).await,
        Intent::Describe => actions::describe(ctx, runner).await,
        Intent::Restart | Intent::Scale | Intent::Rollback => actions::write(ctx, runner).await,
        Intent::Changes => facts::changes(ctx).await,
        Intent::History => facts::history(ctx).await,
        Intent::Replicas => facts::replicas(ctx).await,
        Intent::Images => facts::images(ctx).await,
        Intent::Resources => facts::resources(ctx).await,
        Intent::Restarts => facts::restarts(ctx).await,
        Intent::Nodes => diagnosis::nodes(ctx, runner).await,
        Intent::Help => Ok(help::capabilities(ctx)),
        Intent::Unknown => Ok(help::closest(ctx, question)),
    }
}

/// Runs a registry tool through the runner; a refusal or failure is an error.
async fn call(runner: &mut impl Runner, tool: &str, args: Value) -> anyhow::Result<ToolOutput> {
    match runner.call(tool, args).await {
        Ok(out) => Ok(out),
        Err(CallError::Denied(reason)) | Err(CallError::Failed(reason)) => {
            Err(anyhow::anyhow!(reason))
        }
    }
}

/// A block of tool output for a person.
fn block(text: &str) -> String {
    format!("```\n{}\n```\n", text.trim_end())
}
