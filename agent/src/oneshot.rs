//! One-shot `kai QUESTION`: the model loop when a model answers, else the offline path; the
//! answer on stdout, progress on stderr, and the exit codes of the command-line contract.

use kai_tools::Cluster;
use kai_tools::diagnosis::Finding;
use serde_json::json;

use crate::cli::{Global, OutputFormat};
use crate::model::ModelClient;
use crate::offline;
use crate::progress::Progress;
use crate::runtime::{GateRunner, gate_for, session_options, settings};
use crate::session::{EndReason, Session, SessionError, Step};
use crate::{exit, render};

/// What a one-shot run produced, whichever path answered.
struct Outcome {
    answer: String,
    mode: &'static str,
    steps: Vec<Step>,
    findings: Vec<Finding>,
    code: u8,
    /// How the offline path read the question.
    route: Option<offline::Route>,
}

/// Answers one question and returns the exit code.
pub async fn run(global: &Global, cluster: &Cluster, question: &str) -> anyhow::Result<u8> {
    let settings = settings(global)?;
    // Checked before anything runs, so a bad flag is exit 2 on the offline path too.
    let opts = session_options(global)?;
    let gate = gate_for(global, &settings);
    let progress = Progress::new(render::stderr_styled());

    let mut offline_reason = if global.offline {
        Some("--offline given".to_string())
    } else {
        match &settings.model {
            None => Some(
                "no model configured (set KAI_MODEL and KAI_BASE_URL, or OPENAI_API_KEY; see kai --help)"
                    .to_string(),
            ),
            Some(cfg) => match cfg.missing_key() {
                Some(why) => Some(why),
                None => cfg.check_reachable().await.err(),
            },
        }
    };
    // Piped stdin is context for a model only: offline, it is left unread (a `while read`
    // loop keeps its input).
    let extra = if offline_reason.is_none() {
        crate::input::read_piped(global.no_stdin).await
    } else {
        None
    };
    let scope = crate::scope::Scope::of(global);
    // The model reads the flags' scope with the question; the offline router gets the
    // question alone and the scope laid over its calls.
    let asked = question;
    let scoped_question = match scope.note() {
        Some(note) => format!("{question}\n{note}"),
        None => question.to_string(),
    };
    let question = scoped_question.as_str();

    let mut outcome = None;
    if let (None, Some(cfg)) = (&offline_reason, settings.model.clone()) {
        cfg.log_sources();
        match ModelClient::new(cfg) {
            Err(e) => offline_reason = Some(e.offline_reason()),
            Ok(client) => {
                let mut session = Session::new(cluster.clone(), client, gate.clone(), opts);
                match session.ask(question, extra.as_deref(), &progress).await {
                    Ok(turn) => {
                        let code = match turn.reason {
                            EndReason::Finished => exit::OK,
                            EndReason::StepLimit => exit::STEP_LIMIT,
                            EndReason::WriteDenied => exit::DENIED,
                        };
                        outcome = Some(Outcome {
                            answer: turn.answer,
                            mode: "model",
                            steps: turn.steps,
                            findings: turn.findings,
                            code,
                            route: None,
                        });
                    }
                    Err(SessionError::Model(e)) => offline_reason = Some(e.offline_reason()),
                    Err(e @ SessionError::AfterChange { .. }) => {
                        return Err(anyhow::Error::new(e));
                    }
                }
            }
        }
    }

    let mut outcome = match outcome {
        Some(o) => o,
        None => {
            let reason = offline_reason.unwrap_or_else(|| "the model did not answer".into());
            eprintln!("kai: answering offline: {reason}");
            if extra.is_some() {
                eprintln!("kai: piped input is only read by a model; answering from the cluster");
            }
            let mut runner = GateRunner {
                gate: &gate,
                cluster,
                steps: Vec::new(),
                progress: &progress,
            };
            // -A widens the router's own reads too, not only the gated tool calls.
            let mut conversation = offline::Conversation {
                all_namespaces: scope.all_namespaces,
                ..offline::Conversation::default()
            };
            let mut scoped = crate::scope::Scoped {
                inner: &mut runner,
                scope,
                default_namespace: cluster.namespace.clone(),
            };
            let answer = offline::answer(cluster, &mut scoped, asked, &mut conversation).await?;
            Outcome {
                code: if answer.denied {
                    exit::DENIED
                } else {
                    exit::OK
                },
                answer: answer.text,
                mode: "offline",
                steps: runner.steps,
                findings: answer.findings,
                route: Some(answer.route),
            }
        }
    };
    progress.finish();
    // A refused write makes the run exit 4 whatever came after it (a step limit, a fallback).
    if !gate.refusals().is_empty() {
        outcome.code = exit::DENIED;
    }
    print_outcome(global.output, &outcome, &gate.advice());
    Ok(outcome.code)
}

fn print_outcome(format: OutputFormat, o: &Outcome, advice: &[String]) {
    match format {
        OutputFormat::Json => {
            let mut doc = json!({
                "answer": o.answer,
                "mode": o.mode,
                "steps": o.steps,
                "findings": o.findings,
                "exit_code": o.code,
            });
            if let Some(route) = &o.route {
                doc["route"] = json!(route);
            }
            render::print_line(&serde_json::to_string_pretty(&doc).unwrap_or_default());
        }
        OutputFormat::Text => {
            let text = render::markdown(o.answer.trim_end(), render::stdout_styled());
            render::print_line(text.trim_end());
            // A refused change was said where it was refused (once); exit 4 tells scripts, and
            // one line says what the user can do, matching the reason (never --yes for a rule).
            if o.code == exit::DENIED && !advice.is_empty() {
                eprintln!("kai: not changed (exit 4): {}", advice.join("; "));
            } else if o.code == exit::STEP_LIMIT {
                eprintln!(
                    "kai: stopped at the step limit (--max-steps) before a final answer (exit 5)"
                );
            }
        }
    }
}
