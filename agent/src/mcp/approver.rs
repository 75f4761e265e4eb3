//! The gate's approver for an MCP session: the person behind the client, asked through MCP
//! elicitation when the client supports it. Without it the gate refuses every write it would
//! ask about (unless the server runs with `--yes`).

use std::sync::Arc;

use kai_tools::registry::WritePlan;
use rmcp::model::{ElicitRequestParams, ElicitationAction, ElicitationSchema};
use rmcp::service::ElicitationMode;
use rmcp::{Peer, RoleServer};
use serde_json::Value;

use crate::policy::{Answer, AnswerFuture, Approver};

/// Asks the MCP client's user about each write through an elicitation form.
pub struct ElicitApprover {
    peer: Peer<RoleServer>,
}

impl ElicitApprover {
    /// An approver asking through `peer`.
    pub fn new(peer: Peer<RoleServer>) -> ElicitApprover {
        ElicitApprover { peer }
    }

    fn supported(&self) -> bool {
        self.peer
            .supported_elicitation_modes()
            .contains(&ElicitationMode::Form)
    }
}

/// The question shown by the client: what changes, checked by a dry run, and the warnings.
pub fn message(plan: &WritePlan) -> String {
    let mut m = format!("kai wants to change the cluster:\n  {}", plan.summary);
    for w in &plan.warnings {
        m.push_str(&format!("\n  warning: {w}"));
    }
    m.push_str("\nApply this change?");
    m
}

fn schema() -> Result<ElicitationSchema, String> {
    ElicitationSchema::builder()
        .required_bool_property("apply", |b| {
            b.title("Apply this change")
                .description("Yes to apply it once; no to refuse it")
        })
        .bool_property("always", |b| {
            b.title("Also approve later calls of this tool on this target")
                .description("For the rest of this session")
                .with_default(false)
        })
        .build()
        .map_err(|e| e.to_string())
}

/// Reads the client's answer: accept with `apply: true` approves (for the target too with
/// `always: true`); anything else refuses, with what the user did as the reason.
pub fn answer(action: &ElicitationAction, content: Option<&Value>) -> Answer {
    let flag = |k: &str| content.and_then(|c| c.get(k)).and_then(Value::as_bool);
    match action {
        ElicitationAction::Accept => match (flag("apply"), flag("always")) {
            (Some(true), Some(true)) => Answer::YesForTarget,
            (Some(true), _) => Answer::Yes,
            _ => Answer::No("the user declined this change".into()),
        },
        ElicitationAction::Decline => Answer::No("the user declined this change".into()),
        ElicitationAction::Cancel => {
            Answer::No("the user dismissed the approval request in the MCP client".into())
        }
        // A newer revision's answer kai does not know is not a yes.
        _ => Answer::No("the MCP client gave an answer kai does not understand".into()),
    }
}

impl Approver for ElicitApprover {
    /// Never used: [`Approver::ask`] is overridden and asks asynchronously.
    fn approve(&self, _plan: &WritePlan) -> Answer {
        Answer::No("the MCP client can be asked only asynchronously".into())
    }

    fn can_ask(&self) -> bool {
        self.supported()
    }

    fn ask(self: Arc<Self>, plan: WritePlan) -> AnswerFuture {
        Box::pin(async move {
            let requested_schema = match schema() {
                Ok(s) => s,
                Err(e) => return Answer::No(format!("cannot build the approval form: {e}")),
            };
            let params = ElicitRequestParams::FormElicitationParams {
                meta: None,
                message: message(&plan),
                requested_schema,
            };
            match self.peer.create_elicitation(params).await {
                Ok(r) => answer(&r.action, r.content.as_ref()),
                Err(e) => Answer::No(format!(
                    "the MCP client did not answer the approval request: {e}"
                )),
            }
        })
    }

    fn announce(&self, plan: &WritePlan, note: &str) {
        tracing::info!("{} {note}", plan.summary);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_an_explicit_apply_approves() {
        let a = ElicitationAction::Accept;
        assert_eq!(answer(&a, Some(&json!({"apply": true}))), Answer::Yes);
        assert_eq!(
            answer(&a, Some(&json!({"apply": true, "always": true}))),
            Answer::YesForTarget
        );
        for refused in [
            answer(&a, Some(&json!({"apply": false, "always": true}))),
            answer(&a, None),
            answer(&a, Some(&json!({"apply": "yes"}))),
            answer(&ElicitationAction::Decline, Some(&json!({"apply": true}))),
            answer(&ElicitationAction::Cancel, None),
        ] {
            assert!(matches!(refused, Answer::No(_)), "{refused:?}");
        }
        assert!(schema().is_ok());
    }
}
