//! The offline path: answers from fixed queries and the diagnosis engine, with no model.
//!
//! [`intent::parse`] reads the question; [`answer`] runs the fixed tool calls for it through a
//! [`Runner`] (the policy gate, so writes are gated exactly as in the model loop) and writes
//! the answer for a person: cause, evidence, next step.

pub mod intent;

use k8s_openapi::api::core::v1::Namespace;
use kai_tools::Cluster;
use kai_tools::diagnosis::{Finding, Severity};
use kai_tools::registry::ToolOutput;
use kai_tools::resolve::{self, Candidate};
use kube::Api;
use kube::api::ListParams;
use serde_json::{Value, json};

use self::intent::Intent;

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

/// An offline answer.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    /// Markdown text for a person.
    pub text: String,
    /// Findings behind the answer.
    pub findings: Vec<Finding>,
    /// A change was asked for and not approved.
    pub denied: bool,
    /// The workload or pod the answer is about, so "restart it" can follow.
    pub target: Option<String>,
}

/// Answers `question` about `cluster` without a model.
pub async fn answer(
    cluster: &Cluster,
    runner: &mut impl Runner,
    question: &str,
) -> anyhow::Result<Answer> {
    let namespaces = namespace_names(cluster).await;
    let intent = intent::parse(question, &namespaces);
    tracing::info!(?intent, "offline route");
    match intent {
        Intent::Health { namespace, all } => {
            health(cluster, runner, namespace.as_deref(), all, None).await
        }
        Intent::Why { target, namespace } => {
            why(cluster, runner, &target, namespace.as_deref()).await
        }
        Intent::Logs {
            target,
            namespace,
            errors_only,
            previous,
        } => {
            logs(
                cluster,
                runner,
                &target,
                namespace.as_deref(),
                errors_only,
                previous,
            )
            .await
        }
        Intent::List {
            kind,
            namespace,
            all,
        } => {
            let mut args = json!({});
            if all {
                args["all_namespaces"] = json!(true);
            } else {
                args["namespace"] = json!(cluster.ns(namespace.as_deref()));
            }
            let (tool, title) = if kai_tools::resolve_kind(&kind).ok() == Some(kai_tools::Kind::Pod)
            {
                ("list_pods", "Pods".to_string())
            } else {
                args["kind"] = json!(kind);
                let title = kai_tools::resolve_kind(&kind)
                    .map_or_else(|_| kind.clone(), |k| k.plural().to_string());
                ("list_resources", capitalize(&title))
            };
            let out = call(runner, tool, args).await?;
            let scope = if kai_tools::resolve_kind(&kind).is_ok_and(|k| !k.namespaced()) {
                "the cluster".to_string()
            } else {
                scope_words(cluster, namespace.as_deref(), all)
            };
            Ok(Answer {
                text: format!("{title} in {scope}:\n\n```\n{}\n```\n", out.text.trim_end()),
                ..Answer::default()
            })
        }
        Intent::Describe {
            kind,
            target,
            namespace,
        } => {
            let (kind, name, ns) = match kind {
                Some(k) => (k, target, cluster.ns(namespace.as_deref()).to_string()),
                None => {
                    let Some(c) = best(cluster, &target, namespace.as_deref(), &[]).await? else {
                        return Ok(not_found(cluster, &target, namespace.as_deref()));
                    };
                    (c.kind.to_string(), c.name, c.namespace)
                }
            };
            let out = call(
                runner,
                "describe",
                json!({"kind": kind, "name": name, "namespace": ns}),
            )
            .await?;
            Ok(Answer {
                text: format!(
                    "{}:\n\n```\n{}\n```\n",
                    kai_tools::format::object_name(&kind, &ns, &name),
                    out.text.trim_end()
                ),
                ..Answer::default()
            })
        }
        Intent::Events {
            namespace,
            warnings_only,
        } => {
            let ns = cluster.ns(namespace.as_deref()).to_string();
            let out = call(
                runner,
                "get_events",
                json!({"namespace": ns, "warnings_only": warnings_only}),
            )
            .await?;
            let what = if warnings_only {
                "Recent warnings"
            } else {
                "Recent events"
            };
            Ok(Answer {
                text: format!(
                    "{what} in namespace {ns}:\n\n```\n{}\n```\n",
                    out.text.trim_end()
                ),
                ..Answer::default()
            })
        }
        Intent::Restart { target, namespace } => {
            let kinds = ["deployment", "statefulset", "daemonset", "pod"];
            let Some(c) = best(cluster, &target, namespace.as_deref(), &kinds).await? else {
                return Ok(not_found(cluster, &target, namespace.as_deref()));
            };
            let args = json!({"kind": c.kind, "name": c.name, "namespace": c.namespace});
            write(runner, "restart", args, &c).await
        }
        Intent::Scale {
            target,
            replicas,
            namespace,
        } => {
            let Some(c) = best(
                cluster,
                &target,
                namespace.as_deref(),
                &["deployment", "statefulset"],
            )
            .await?
            else {
                return Ok(not_found(cluster, &target, namespace.as_deref()));
            };
            let args = json!({"kind": c.kind, "name": c.name, "namespace": c.namespace, "replicas": replicas});
            write(runner, "scale", args, &c).await
        }
        Intent::Rollback {
            target,
            revision,
            namespace,
        } => {
            let Some(c) = best(cluster, &target, namespace.as_deref(), &["deployment"]).await?
            else {
                return Ok(not_found(cluster, &target, namespace.as_deref()));
            };
            let mut args = json!({"kind": "deployment", "name": c.name, "namespace": c.namespace});
            if let Some(r) = revision {
                args["to_revision"] = json!(r);
            }
            write(runner, "rollout_undo", args, &c).await
        }
        Intent::Unknown => {
            let intro = "I can't answer that without a model. Offline, I can answer questions like:\n\
                - \"what's wrong\" / \"is shop healthy\" (health of a namespace or the cluster)\n\
                - \"why is backend crashing\" / \"why is web pending\" (cause, evidence, next step)\n\
                - \"logs of backend\" / \"errors in backend\"\n\
                - \"list pods\" / \"describe backend\" / \"recent warnings\"\n\
                - \"restart backend\" / \"scale backend to 3\" / \"roll back backend\" (asks before changing anything)\n\n";
            health(cluster, runner, None, false, Some(intro)).await
        }
    }
}

async fn namespace_names(cluster: &Cluster) -> Vec<String> {
    let api: Api<Namespace> = Api::all(cluster.client.clone());
    match api.list_metadata(&ListParams::default()).await {
        Ok(list) => list
            .items
            .into_iter()
            .filter_map(|n| n.metadata.name)
            .collect(),
        // Without namespace names, a namespace is recognised only by "in namespace X".
        Err(e) => {
            tracing::debug!("cannot list namespaces: {e}");
            Vec::new()
        }
    }
}

async fn call(runner: &mut impl Runner, tool: &str, args: Value) -> anyhow::Result<ToolOutput> {
    match runner.call(tool, args).await {
        Ok(out) => Ok(out),
        Err(CallError::Denied(reason)) | Err(CallError::Failed(reason)) => {
            Err(anyhow::anyhow!(reason))
        }
    }
}

/// The best match for `hint` among `kinds` (all kinds when empty); a pod stands for its workload
/// when the workload is also a match.
async fn best(
    cluster: &Cluster,
    hint: &str,
    namespace: Option<&str>,
    kinds: &[&str],
) -> anyhow::Result<Option<Candidate>> {
    let found = resolve::find(cluster, hint, namespace).await?;
    Ok(found
        .into_iter()
        .find(|c| kinds.is_empty() || kinds.contains(&c.kind)))
}

fn not_found(cluster: &Cluster, target: &str, namespace: Option<&str>) -> Answer {
    let ns = cluster.ns(namespace);
    Answer {
        text: format!(
            "I found nothing named \"{target}\" in namespace {ns} or any other namespace of context {}. \
             Try \"list pods\" or \"list deployments\" to see what is there.\n",
            cluster.context
        ),
        ..Answer::default()
    }
}

fn findings_of(out: &ToolOutput) -> Vec<Finding> {
    out.json
        .get("findings")
        .cloned()
        .and_then(|f| serde_json::from_value(f).ok())
        .unwrap_or_default()
}

fn scope_words(cluster: &Cluster, namespace: Option<&str>, all: bool) -> String {
    if all {
        "all namespaces".to_string()
    } else {
        format!("namespace {}", cluster.ns(namespace))
    }
}

async fn health(
    cluster: &Cluster,
    runner: &mut impl Runner,
    namespace: Option<&str>,
    all: bool,
    intro: Option<&str>,
) -> anyhow::Result<Answer> {
    let args = if all {
        json!({"all_namespaces": true})
    } else {
        json!({"namespace": cluster.ns(namespace)})
    };
    let out = call(runner, "diagnose", args).await?;
    let findings = findings_of(&out);
    let scope = scope_words(cluster, namespace, all);
    let mut text = intro.unwrap_or_default().to_string();
    if findings.iter().all(|f| f.severity == Severity::Info) {
        text.push_str(&format!("No problems found in {scope}.\n"));
        for f in &findings {
            text.push_str(&format!(
                "- note: {} {}: {}\n",
                f.kind,
                qualified(f),
                f.message
            ));
        }
    } else {
        text.push_str(&format!("{} in {scope}:\n\n", count_line(&findings)));
        for f in &findings {
            text.push_str(&finding_block(f));
        }
    }
    Ok(Answer {
        text,
        findings,
        denied: false,
        target: None,
    })
}

async fn why(
    cluster: &Cluster,
    runner: &mut impl Runner,
    target: &str,
    namespace: Option<&str>,
) -> anyhow::Result<Answer> {
    let Some(c) = best(cluster, target, namespace, &[]).await? else {
        let mut a = not_found(cluster, target, namespace);
        let h = health(cluster, runner, namespace, false, None).await?;
        a.text.push('\n');
        a.text.push_str(&h.text);
        a.findings = h.findings;
        return Ok(a);
    };
    let out = call(runner, "diagnose", json!({"namespace": c.namespace})).await?;
    let findings = findings_of(&out);
    let about = |f: &Finding| {
        f.name == c.name
            || f.related
                .iter()
                .any(|r| r.rsplit('/').next() == Some(c.name.as_str()))
            || resolve::match_score(target, &f.name) >= 60
    };
    let (mine, others): (Vec<&Finding>, Vec<&Finding>) = findings
        .iter()
        .filter(|f| f.severity > Severity::Info)
        .partition(|f| about(f));
    let mut text = String::new();
    if mine.is_empty() {
        text.push_str(&format!(
            "I found no problem with {} {}/{}: the diagnosis of namespace {} shows it healthy.\n",
            c.kind, c.namespace, c.name, c.namespace
        ));
    } else {
        for f in &mine {
            text.push_str(&finding_block(f));
        }
    }
    if !others.is_empty() {
        text.push_str(&format!("\nAlso in namespace {}:\n", c.namespace));
        for f in &others {
            text.push_str(&format!(
                "- {} {} ({}, {}): {}\n",
                f.kind,
                qualified(f),
                f.reason,
                f.severity.as_str(),
                f.message
            ));
        }
    }
    Ok(Answer {
        text,
        findings,
        denied: false,
        target: Some(c.name.clone()),
    })
}

async fn logs(
    cluster: &Cluster,
    runner: &mut impl Runner,
    target: &str,
    namespace: Option<&str>,
    errors_only: bool,
    previous: bool,
) -> anyhow::Result<Answer> {
    let Some(c) = best(cluster, target, namespace, &[]).await? else {
        return Ok(not_found(cluster, target, namespace));
    };
    let mut args = json!({"namespace": c.namespace, "tail_lines": 50});
    if c.kind == "pod" {
        args["pod"] = json!(c.name);
    } else {
        args["workload"] = json!(format!("{}/{}", c.kind, c.name));
    }
    if previous {
        args["previous"] = json!(true);
    }
    if errors_only {
        args["grep"] = json!("(?i)error|exception|fatal|panic|traceback|fail");
    }
    let out = call(runner, "get_logs", args).await?;
    let what = if errors_only {
        "Error lines in the logs"
    } else {
        "Logs"
    };
    Ok(Answer {
        text: format!(
            "{what} of {} {}/{}:\n\n```\n{}\n```\n",
            c.kind,
            c.namespace,
            c.name,
            out.text.trim_end()
        ),
        target: Some(c.name.clone()),
        ..Answer::default()
    })
}

async fn write(
    runner: &mut impl Runner,
    tool: &str,
    args: Value,
    target: &Candidate,
) -> anyhow::Result<Answer> {
    match runner.call(tool, args).await {
        Ok(out) => Ok(Answer {
            text: format!("Done: {}\n", out.text.trim_end()),
            target: Some(target.name.clone()),
            ..Answer::default()
        }),
        Err(CallError::Denied(reason)) => Ok(Answer {
            text: format!("Nothing was changed on {}: {reason}\n", target.display()),
            denied: true,
            target: Some(target.name.clone()),
            ..Answer::default()
        }),
        Err(CallError::Failed(reason)) => Err(anyhow::anyhow!(
            "{tool} {} failed: {reason}",
            target.display()
        )),
    }
}

fn qualified(f: &Finding) -> String {
    if f.namespace.is_empty() {
        f.name.clone()
    } else {
        format!("{}/{}", f.namespace, f.name)
    }
}

fn count_line(findings: &[Finding]) -> String {
    let n = |s| findings.iter().filter(|f| f.severity == s).count();
    let (c, w) = (n(Severity::Critical), n(Severity::Warning));
    let mut parts = Vec::new();
    if c > 0 {
        parts.push(format!("{c} critical"));
    }
    if w > 0 {
        parts.push(format!("{w} warning{}", if w == 1 { "" } else { "s" }));
    }
    format!("Found {}", parts.join(" and "))
}

fn finding_block(f: &Finding) -> String {
    let mut s = format!(
        "## {} {}: {} ({})\n\n**Cause:** {}\n",
        f.kind,
        qualified(f),
        f.reason,
        f.severity.as_str(),
        f.message
    );
    if !f.evidence.is_empty() {
        s.push_str("\n**Evidence:**\n");
        for e in &f.evidence {
            s.push_str(&format!("- `{}`\n", e.replace('`', "'")));
        }
    }
    if !f.suggestion.is_empty() {
        s.push_str(&format!("\n**Next step:** {}\n", f.suggestion));
    }
    if !f.related.is_empty() {
        s.push_str(&format!("\nRelated: {}\n", f.related.join(", ")));
    }
    s.push('\n');
    s
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}
