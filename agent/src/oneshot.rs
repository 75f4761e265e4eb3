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
    warnings: Vec<String>,
    code: u8,
    /// How the offline path read the question.
    route: Option<offline::Route>,
}

/// Why the offline path answers, and what the model path did before.
struct Fallback {
    reason: String,
    /// The model's calls before it failed.
    steps: Vec<Step>,
    /// A write was denied before the model failed: the run ends as denied (exit 4).
    denied: bool,
}

impl Fallback {
    fn new(reason: impl Into<String>) -> Fallback {
        Fallback {
            reason: reason.into(),
            steps: Vec::new(),
            denied: false,
        }
    }
}

/// Answers one question and returns the exit code.
pub async fn run(global: &Global, cluster: &Cluster, question: &str) -> anyhow::Result<u8> {
    let settings = settings(global)?;
    // Checked before anything runs, so a bad flag is exit 2 on the offline path too.
    let opts = session_options(global)?;
    let gate = gate_for(global, &settings);
    let progress = Progress::new(render::stderr_styled());

    let offline_reason = if global.offline {
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
    let scoped_question = match scope.note() {
        Some(note) => format!("{question}\n{note}"),
        None => question.to_string(),
    };

    let path = match (offline_reason, settings.model.clone()) {
        (Some(reason), _) => Err(Fallback::new(reason)),
        (None, None) => Err(Fallback::new("no model configured")),
        (None, Some(cfg)) => {
            cfg.log_sources();
            match ModelClient::new(cfg) {
                Err(e) => Err(Fallback::new(e.offline_reason())),
                Ok(client) => {
                    let session = Session::new(cluster.clone(), client, gate.clone(), opts);
                    ask_model(session, &scoped_question, extra.as_deref(), &progress).await?
                }
            }
        }
    };

    let mut outcome = match path {
        Ok(o) => o,
        Err(f) => {
            errln!("kai: answering offline: {}", f.reason);
            if extra.is_some() {
                errln!("kai: piped input is only read by a model; answering from the cluster");
            }
            let mut runner = GateRunner {
                gate: &gate,
                cluster,
                steps: f.steps,
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
            let answer = offline::answer(cluster, &mut scoped, question, &mut conversation).await?;
            Outcome {
                code: if answer.denied || f.denied {
                    exit::DENIED
                } else {
                    exit::OK
                },
                answer: answer.text,
                mode: "offline",
                steps: runner.steps,
                findings: answer.findings,
                warnings: Vec::new(),
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

/// The model path: its outcome, or why the offline path must answer instead. A model failure
/// after a change is an error: answering again offline could repeat the change.
async fn ask_model(
    mut session: Session,
    question: &str,
    extra: Option<&str>,
    progress: &Progress,
) -> anyhow::Result<Result<Outcome, Fallback>> {
    let turn = match session.ask(question, extra, progress).await {
        Ok(turn) => turn,
        Err(SessionError::Model(e)) => return Ok(Err(Fallback::new(e.offline_reason()))),
        Err(SessionError::AfterDenial { error, steps }) => {
            return Ok(Err(Fallback {
                reason: error.offline_reason(),
                steps,
                denied: true,
            }));
        }
        Err(e @ SessionError::AfterChange { .. }) => return Err(anyhow::Error::new(e)),
    };
    let code = match turn.reason {
        EndReason::Finished => exit::OK,
        EndReason::Cut => exit::FAILURE,
        EndReason::StepLimit => exit::STEP_LIMIT,
        EndReason::WriteDenied => exit::DENIED,
    };
    if turn.answer.trim().is_empty() {
        // Never a blank answer with exit 0: the offline path answers instead.
        return Ok(Err(Fallback {
            reason: "the model's answer was blank".to_string(),
            denied: turn.reason == EndReason::WriteDenied,
            steps: turn.steps,
        }));
    }
    Ok(Ok(Outcome {
        answer: turn.answer,
        mode: "model",
        steps: turn.steps,
        findings: turn.findings,
        warnings: turn.warnings,
        code,
        route: None,
    }))
}

fn print_outcome(format: OutputFormat, o: &Outcome, advice: &[String]) {
    // Whatever the answer quotes (a model echoing the question, an offline fact) is masked once
    // more on its way out.
    let answer = kai_tools::mask_text(&o.answer);
    let warnings: Vec<String> = o.warnings.iter().map(|w| kai_tools::mask_text(w)).collect();
    match format {
        OutputFormat::Json => {
            let mut doc = json!({
                "answer": answer,
                "mode": o.mode,
                "steps": o.steps,
                "findings": o.findings,
                "warnings": o.warnings,
                "exit_code": o.code,
            });
            if let Some(route) = &o.route {
                doc["route"] = json!(route);
            }
            kai_tools::mask::mask_json(&mut doc);
            render::print_line(&serde_json::to_string_pretty(&doc).unwrap_or_default());
            for w in &warnings {
                errln!("kai: {w}");
            }
        }
        OutputFormat::Text => {
            let text = render::markdown(answer.trim_end(), render::stdout_styled());
            render::print_line(text.trim_end());
            for w in &warnings {
                errln!("kai: {w}");
            }
            // A refused change was said where it was refused (once); exit 4 tells scripts, and
            // one line says what the user can do, matching the reason (never --yes for a rule).
            if o.code == exit::DENIED && !advice.is_empty() {
                errln!("kai: not changed (exit 4): {}", advice.join("; "));
            } else if o.code == exit::STEP_LIMIT {
                errln!(
                    "kai: stopped at the step limit (--max-steps) before a final answer (exit 5)"
                );
            }
        }
    }
}
