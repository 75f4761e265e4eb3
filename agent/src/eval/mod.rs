//! `kai eval`: scores a model (or the offline engine) on break/fix tasks, each run in a fresh
//! in-process sandbox and judged by the cluster's end state and the facts the answer names.
//!
//! [`task`] loads tasks (built-in or files), [`world`] runs a task's cluster beside an untouched
//! twin, [`runner`] puts the question to the agent, [`judge`] decides, [`report`] prints.

mod judge;
mod report;
mod runner;
mod task;
mod world;

#[cfg(test)]
mod tests;

use self::report::Subject;
use self::runner::{Agent, RunSettings};
use self::task::Task;
use crate::cli::{EvalArgs, Global, OutputFormat};
use crate::runtime::{session_options, settings};
use crate::{Fail, exit, render, usage};

/// Runs `kai eval` and returns the exit code.
pub async fn run(global: Global, args: EvalArgs) -> anyhow::Result<u8> {
    if global.kubeconfig.is_some() || !global.context.is_empty() || global.sandbox.is_some() {
        return Err(usage(
            "kai eval runs every task in its own sandbox; --kubeconfig, --context and --sandbox do not apply (drop them)",
        ));
    }
    let tasks = load_tasks(&args.tasks)?;
    if args.list {
        report::list(&tasks);
        return Ok(exit::OK);
    }
    if args.repeat == 0 {
        return Err(usage("--repeat must be at least 1"));
    }
    let min_score = args.min_score.as_deref().map(parse_score).transpose()?;
    let global = Global {
        model: args.model.clone().or(global.model),
        base_url: args.base_url.clone().or(global.base_url),
        api_key_env: args.api_key_env.clone().or(global.api_key_env),
        offline: global.offline || args.offline,
        max_steps: args.max_steps.unwrap_or(global.max_steps),
        output: args.output.unwrap_or(global.output),
        ..global
    };
    let run_settings = run_settings(&global).await?;
    let subject = match &run_settings.agent {
        Agent::Offline => Subject {
            mode: "offline",
            model: None,
            base_url: None,
        },
        Agent::Model(cfg) => Subject {
            mode: "model",
            model: Some(cfg.model.clone()),
            base_url: Some(cfg.base_url.clone()),
        },
    };
    let total = tasks.len() * args.repeat;
    let mut results = Vec::with_capacity(total);
    for task in &tasks {
        for n in 1..=args.repeat {
            let r = runner::run_once(task, n, &run_settings).await?;
            errln!(
                "kai: eval [{}/{total}] {}: {}",
                results.len() + 1,
                task.name,
                if r.passed {
                    "passed".to_string()
                } else {
                    format!("failed: {}", r.reason)
                }
            );
            results.push(r);
        }
    }
    let out = match global.output {
        OutputFormat::Json => report::json(&results, &subject),
        OutputFormat::Text => report::text(&results, &subject, args.repeat),
    };
    render::print_line(out.trim_end());
    let score = report::score(&results);
    if let Some(min) = min_score
        && score < min
    {
        return Err(Fail {
            code: exit::FAILURE,
            message: format!(
                "the score {:.0}% is below --min-score {:.0}%",
                score * 100.0,
                min * 100.0
            ),
        }
        .into());
    }
    Ok(exit::OK)
}

/// The named tasks, or every built-in; a bad name or file is a usage error.
fn load_tasks(names: &[String]) -> anyhow::Result<Vec<Task>> {
    let loaded = if names.is_empty() {
        task::builtins()
    } else {
        names.iter().map(|n| task::load(n)).collect()
    };
    loaded.map_err(|e| usage(e.0))
}

/// Who answers, checked before any task runs: a missing model or key is a usage error, an
/// unreachable endpoint a failure (exit 1).
async fn run_settings(global: &Global) -> anyhow::Result<RunSettings> {
    let s = settings(global)?;
    let session = session_options(global)?;
    let protected = s.policy.protected_namespaces.clone();
    if global.offline {
        return Ok(RunSettings {
            agent: Agent::Offline,
            session,
            protected,
        });
    }
    let Some(mut cfg) = s.model else {
        return Err(usage(
            "no model configured: give --base-url and --model (or set KAI_MODEL and KAI_BASE_URL, or OPENAI_API_KEY), or run kai eval --offline for the baseline",
        ));
    };
    if let Some(why) = cfg.missing_key() {
        return Err(usage(why));
    }
    if let Err(why) = cfg.check_reachable().await {
        return Err(Fail {
            code: exit::FAILURE,
            message: format!("{why}; start the model server, or run kai eval --offline"),
        }
        .into());
    }
    // Whole (not streamed) responses carry the token counts on every server.
    cfg.stream = false;
    Ok(RunSettings {
        agent: Agent::Model(Box::new(cfg)),
        session,
        protected,
    })
}

/// `0.8`, `80%` or `80` → 0.8.
fn parse_score(text: &str) -> anyhow::Result<f64> {
    let t = text.trim();
    let (number, percent) = match t.strip_suffix('%') {
        Some(n) => (n.trim(), true),
        None => (t, false),
    };
    let v: f64 = number.parse().map_err(|_| {
        usage(format!(
            "--min-score {text}: expected a fraction (0.8) or a percentage (80%)"
        ))
    })?;
    let v = if percent || v > 1.0 { v / 100.0 } else { v };
    if !(0.0..=1.0).contains(&v) {
        return Err(usage(format!(
            "--min-score {text}: must be between 0 and 1 (or 0% and 100%)"
        )));
    }
    Ok(v)
}
