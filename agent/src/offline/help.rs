//! What kai can answer offline: the whole list for "what can you do", and for a question it
//! cannot route, the few answerable questions closest to it in words, with real names.

use kai_tools::Kind;

use super::words::{self, like};
use super::{Answer, Ctx};

/// Questions kai answers offline; `{w}` is a workload, `{ns}` a namespace.
const EXAMPLES: &[&str] = &[
    "what's wrong in {ns}",
    "is anything broken in the cluster",
    "why is {w} crashing",
    "how do I fix {w}",
    "show the logs of {w}",
    "show the previous logs of {w}",
    "errors in the logs of {w}",
    "events of {w}",
    "recent warnings in {ns}",
    "what changed recently in {ns}",
    "rollout history of {w}",
    "how many replicas does {w} have",
    "which image does {w} run",
    "how much memory and cpu does {w} use",
    "which pods restart the most",
    "are the nodes healthy",
    "list pods in {ns}",
    "list services in {ns}",
    "describe {w}",
    "restart {w}",
    "scale {w} to 3",
    "roll back {w}",
];

/// Example names: the question's target (or the first workload in scope) and the namespace.
fn names(ctx: &Ctx<'_>) -> (String, String) {
    let ns = ctx
        .scope()
        .unwrap_or_else(|| ctx.cluster.ns(None).to_string());
    let w = ctx
        .q
        .target
        .as_ref()
        .map(|t| t.name.clone())
        .or_else(|| {
            let workload = |o: &&kai_tools::inventory::Object| {
                matches!(
                    o.kind,
                    Kind::Deployment | Kind::StatefulSet | Kind::DaemonSet
                )
            };
            ctx.inv
                .objects
                .iter()
                .filter(workload)
                .find(|o| o.namespace == ns)
                .or_else(|| ctx.inv.objects.iter().find(workload))
                .map(|o| o.name.clone())
        })
        .unwrap_or_else(|| "backend".into());
    (w, ns)
}

fn fill(example: &str, w: &str, ns: &str) -> String {
    example.replace("{w}", w).replace("{ns}", ns)
}

/// "What can you do": every kind of question, with names from this cluster.
pub(super) fn capabilities(ctx: &Ctx<'_>) -> Answer {
    let (w, ns) = names(ctx);
    let mut text = String::from(
        "Without a model I answer from the cluster and the diagnosis engine. Ask, for example:\n",
    );
    for e in EXAMPLES {
        text.push_str(&format!("- \"{}\"\n", fill(e, &w, &ns)));
    }
    text.push_str(
        "\nPasted Alertmanager or Prometheus alerts are read as a question about their target. \
         Changes (restart, scale, roll back) show what will change and ask first. \
         With a model (KAI_MODEL, KAI_BASE_URL) I answer anything else.\n",
    );
    Answer::text(text)
}

/// A question kai cannot route: the closest questions it can answer.
pub(super) fn closest(ctx: &Ctx<'_>, question: &str) -> Answer {
    let (w, ns) = names(ctx);
    let asked: Vec<String> = words::tokens(question)
        .into_iter()
        .map(|t| t.text)
        .filter(|t| {
            !matches!(
                t.as_str(),
                "a" | "an"
                    | "the"
                    | "is"
                    | "are"
                    | "of"
                    | "in"
                    | "to"
                    | "me"
                    | "my"
                    | "i"
                    | "you"
                    | "do"
                    | "does"
                    | "what"
                    | "how"
                    | "please"
            )
        })
        .collect();
    let mut scored: Vec<(usize, usize, String)> = EXAMPLES
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let filled = fill(e, &w, &ns);
            let ex: Vec<String> = words::tokens(&filled).into_iter().map(|t| t.text).collect();
            let score = asked
                .iter()
                .filter(|a| ex.iter().any(|x| like(a, x) || like(x, a)))
                .count();
            (score, i, filled)
        })
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let best: Vec<&str> = scored.iter().take(3).map(|(_, _, e)| e.as_str()).collect();
    let mut text = String::from(
        "I can't answer that offline (no model configured). The closest questions I can answer:
",
    );
    for e in best {
        text.push_str(&format!("- \"{e}\"\n"));
    }
    text.push_str("\"what can you do\" lists them all.\n");
    Answer::text(text)
}
