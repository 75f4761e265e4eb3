//! The intent parser: reads a question the way a kubectl user means it — what is asked
//! ([`Intent`]), about which object (matched against what exists in the cluster, any kind,
//! cluster-scoped too), in which namespace or across all — with "it" and "and the database?"
//! taken from the conversation. A pure function of the question, the cluster's names and the
//! conversation, so it is tested without a server.

use kai_tools::Kind;
use kai_tools::inventory::{Inventory, Object};
use kai_tools::resolve::match_score;

use super::classify::{self, TROUBLE};
pub use super::query::{Conversation, Intent, Query};
use super::words::{self, COMMON, Token, any, is_stop, like, looks_like_name};

/// Words saying the user refers to the last object of the conversation.
const PRONOUNS: &[&str] = &["it", "its", "it's", "that", "this", "them", "their", "same"];

/// Parses `question` against the cluster's names and the conversation.
pub fn parse(question: &str, inv: &Inventory, conv: &Conversation, default_ns: &str) -> Query {
    let mut toks = words::tokens(&words::normalize(question));
    let corrected = correct_kinds(&mut toks, inv);
    let w: Vec<&str> = toks.iter().map(|t| t.text.as_str()).collect();
    let said = classify::Said::new(w.clone());
    let phrase = |p: &str| said.phrase(p);

    let mut q = Query::new(Intent::Unknown);
    q.corrected = corrected;
    let (namespace, ns_at) = namespace_of(&toks, inv);
    q.namespace = namespace;
    q.all = all_namespaces(&said);
    if q.namespace.is_some() {
        q.all = false;
    } else if conv.all_namespaces {
        q.all = true;
    }
    q.kind = w
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != ns_at)
        .find_map(|(_, x)| kind_word(x));
    if q.kind.is_none() && (phrase("get no") || phrase("describe no") || phrase("get no -o wide")) {
        q.kind = Some(Kind::Node);
    }
    (q.number, q.revision) = numbers(&w);

    let (target, missing) = target_of(
        &toks,
        inv,
        q.kind,
        q.namespace.as_deref(),
        default_ns,
        ns_at,
    );
    q.target = target;
    q.missing = missing;
    let pronoun = any(&w, PRONOUNS) || phrase("that one") || phrase("this one");
    let ellipsis = matches!(w.first(), Some(&("and" | "also" | "same")))
        || phrase("what about")
        || phrase("how about")
        || phrase("same for")
        || phrase("now for");

    q.intent = classify::intent_of(&said, &q);
    if q.intent == Intent::Unknown && ellipsis {
        q.intent = conv.last_intent.unwrap_or(Intent::Why);
    }
    let wants_object = matches!(
        q.intent,
        Intent::Why
            | Intent::Fix
            | Intent::Logs
            | Intent::History
            | Intent::Describe
            | Intent::Restart
            | Intent::Scale
            | Intent::Rollback
            | Intent::Events
            | Intent::Images
            | Intent::Replicas
            | Intent::Resources
            | Intent::Unknown
    );
    if q.target.is_none()
        && q.missing.is_none()
        && q.namespace.is_none()
        && !q.all
        && (pronoun || (ellipsis && q.intent != Intent::Health) || needs_target(q.intent))
        && wants_object
    {
        q.target = conv.last.clone();
    }
    if q.intent == Intent::Unknown && q.target.is_some() {
        // A bare name ("backend?") asks how it is doing.
        q.intent = Intent::Why;
    }
    if q.intent == Intent::Unknown && (w.is_empty() || q.namespace.is_some() || q.all) {
        q.intent = Intent::Health;
    }
    if q.intent == Intent::Why && q.target.is_none() && q.missing.is_none() {
        q.intent = match q.kind {
            Some(Kind::Node) => Intent::Nodes,
            _ => Intent::Health,
        };
    }
    if q.intent == Intent::Nodes
        && let Some(t) = &q.target
        && t.kind == Kind::Node
    {
        q.intent = Intent::Why;
    }
    log_flags(&said, &mut q);
    q
}

/// "-A", "across all namespaces", "the whole cluster", "everything".
fn all_namespaces(s: &classify::Said<'_>) -> bool {
    s.has(&[
        "everywhere",
        "everything",
        "anything",
        "cluster",
        "cluster-wide",
    ]) || s.w.iter().any(|x| x.contains("clusterwide"))
        || [
            "-a",
            "--all-namespaces",
            "all namespaces",
            "all the namespaces",
            "every namespace",
            "each namespace",
            "any namespace",
            "across namespaces",
            "all ns",
        ]
        .iter()
        .any(|p| s.phrase(p))
}

/// The first number (replicas), and a revision ("to revision 2", "--to-revision=2").
fn numbers(w: &[&str]) -> (Option<u64>, Option<u64>) {
    let number = w.iter().find_map(|x| x.parse::<u64>().ok());
    let revision = w
        .iter()
        .position(|x| *x == "revision" || *x == "rev" || *x == "--to-revision")
        .and_then(|i| w.get(i + 1))
        .and_then(|x| x.trim_start_matches('=').parse().ok())
        .or_else(|| {
            w.iter().find_map(|x| {
                x.strip_prefix("--to-revision=")
                    .and_then(|n| n.parse().ok())
            })
        });

    (number, revision)
}

/// Which logs and events: the previous container's, only errors, only warnings.
fn log_flags(s: &classify::Said<'_>, q: &mut Query) {
    q.previous = s.phrase("previous")
        || s.phrase("-p")
        || s.phrase("--previous")
        || s.phrase("last crash")
        || s.phrase("before it crashed")
        || s.phrase("crashed container")
        || s.phrase("crashed")
        || s.phrase("before the crash")
        || s.phrase("before the restart");
    q.errors_only = any(
        &s.w,
        &[
            "errors",
            "error",
            "exceptions",
            "exception",
            "traceback",
            "stacktrace",
            "panic",
        ],
    ) || s.phrase("stack trace");
    q.warnings_only = !s.phrase("all events") || any(&s.w, &["warnings", "warning"]);
}

/// Intents that are about one object and fall back to the conversation's.
fn needs_target(intent: Intent) -> bool {
    matches!(
        intent,
        Intent::Logs
            | Intent::History
            | Intent::Describe
            | Intent::Restart
            | Intent::Scale
            | Intent::Rollback
            | Intent::Fix
    )
}

/// A kind word: kubectl's names, plurals and short names; "no" and "ns" are English first.
fn kind_word(w: &str) -> Option<Kind> {
    if matches!(w, "no" | "ns" | "ev" | "ep" | "sa" | "po" | "sc" | "cm") {
        return None;
    }
    kai_tools::resolve_kind(w).ok().or(match w {
        "volume" | "volumes" | "claim" | "claims" => Some(Kind::PersistentVolumeClaim),
        "autoscaler" | "autoscalers" => Some(Kind::HorizontalPodAutoscaler),
        "cronjobs" | "crons" | "cron" => Some(Kind::CronJob),
        "svcs" => Some(Kind::Service),
        "deploys" => Some(Kind::Deployment),
        "machine" | "machines" | "vm" | "vms" => Some(Kind::Node),
        _ => None,
    })
}

/// Rewrites misspelt kind words ("deploymnets", "statefulsts", "pdos") to the kind's plural and
/// a misspelt namespace after "in"/"-n" to the namespace, so the question is answered as meant
/// instead of refused or answered about the default namespace, and returns what it read each as.
/// A word that names an object or a namespace, or is a word of the vocabulary, is left alone.
fn correct_kinds(toks: &mut [Token], inv: &Inventory) -> Vec<(String, String)> {
    let mut said = Vec::new();
    let mut after_in = false;
    for t in toks.iter_mut() {
        let strong_ns = std::mem::replace(
            &mut after_in,
            matches!(t.text.as_str(), "in" | "-n" | "--namespace" | "namespace"),
        );
        let w = t.text.as_str();
        if strong_ns
            && !t.quoted
            && !inv.namespaces.iter().any(|n| n == w)
            && !inv.objects.iter().any(|o| o.name == w)
            && let Some(ns) = namespace_typo(w, &inv.namespaces)
        {
            said.push((t.text.clone(), format!("namespace {ns}")));
            t.text = ns;
            continue;
        }
        if t.quoted
            || kind_word(w).is_some()
            || is_stop(w)
            || COMMON.contains(&w)
            || inv.namespaces.iter().any(|n| n == w)
            || inv.objects.iter().any(|o| o.name == w)
        {
            continue;
        }
        if let Some(kind) = kind_typo(w) {
            said.push((t.text.clone(), kind.plural().to_string()));
            t.text = kind.plural().to_string();
        }
    }
    said
}

/// The one kind `w` is a typo of: one edit or one swap of neighbours from a kind's name or
/// plural of 5+ letters, only a swap for shorter ones ("pdos"); None when two kinds are as near.
fn kind_typo(w: &str) -> Option<Kind> {
    let mut found = None;
    for k in kai_tools::kinds::ALL_KINDS {
        for key in [k.as_str(), k.plural()] {
            let n = key.chars().count();
            let near = if n >= 5 {
                words::typo_distance(w, key) <= 1
            } else {
                w.len() == key.len()
                    && words::typo_distance(w, key) == 1
                    && sorted(w) == sorted(key)
            };
            if near {
                if found.is_some_and(|f| f != *k) {
                    return None;
                }
                found = Some(*k);
            }
        }
    }
    found
}

/// The one namespace `w` is a slip of (one edit, or two for names of 8+ letters).
fn namespace_typo(w: &str, namespaces: &[String]) -> Option<String> {
    let limit = if w.chars().count() >= 8 { 2 } else { 1 };
    let mut near = namespaces
        .iter()
        .filter(|n| n.chars().count() >= 3 && words::typo_distance(w, n) <= limit);
    match (near.next(), near.next()) {
        (Some(n), None) => Some(n.clone()),
        _ => None,
    }
}

fn sorted(w: &str) -> Vec<char> {
    let mut c: Vec<char> = w.chars().collect();
    c.sort_unstable();
    c
}

/// The namespace named in the question and the index of its word: "in shop", "-n shop",
/// "namespace shop", "shop namespace", or a word that is a namespace and names nothing else.
fn namespace_of(toks: &[Token], inv: &Inventory) -> (Option<String>, Option<usize>) {
    let is_ns = |w: &str| inv.namespaces.iter().any(|n| n == w);
    let names_object = |w: &str| inv.objects.iter().any(|o| o.name == w);
    let mut weak = None;
    for (i, t) in toks.iter().enumerate() {
        let w = t.text.as_str();
        let prev = i
            .checked_sub(1)
            .and_then(|p| toks.get(p))
            .map(|t| t.text.as_str());
        let next = toks.get(i + 1).map(|t| t.text.as_str());
        if let Some(n) = w
            .strip_prefix("--namespace=")
            .or_else(|| w.strip_prefix("-n="))
            && is_ns(n)
        {
            return (Some(n.to_string()), Some(i));
        }
        if !is_ns(w) {
            continue;
        }
        let strong = matches!(
            prev,
            Some("-n" | "--namespace" | "namespace" | "ns" | "in" | "within" | "inside")
        ) || matches!(next, Some("namespace" | "ns"));
        if strong {
            return (Some(w.to_string()), Some(i));
        }
        if weak.is_none() && !names_object(w) {
            weak = Some(i);
        }
    }
    (weak.map(|i| toks[i].text.clone()), weak)
}

/// The object a question is about, and a name the user clearly gave that matches nothing.
fn target_of(
    toks: &[Token],
    inv: &Inventory,
    kind: Option<Kind>,
    namespace: Option<&str>,
    default_ns: &str,
    ns_at: Option<usize>,
) -> (Option<Object>, Option<String>) {
    let mut best: Option<(u32, usize, usize, &Object)> = None;
    let mut missing = None;
    for (i, t) in toks.iter().enumerate() {
        if Some(i) == ns_at {
            continue;
        }
        let w = t.text.as_str();
        let after_kind = i
            .checked_sub(1)
            .and_then(|p| toks.get(p))
            .is_some_and(|p| kind_word(&p.text).is_some());
        let before_kind = !is_stop(w)
            && toks
                .get(i + 1)
                .is_some_and(|n| kind_word(&n.text).is_some_and(|k| Some(k) == kind));
        let named = t.quoted || ((after_kind || before_kind) && !is_stop(w));
        if !looks_like_name(w) || (!named && (is_stop(w) || kind_word(w).is_some())) {
            continue;
        }
        for (rank, o) in inv.objects.iter().enumerate() {
            let mut score = match_score(w, &o.name);
            // Short words and typos only match whole names or name parts.
            if w.len() < 4 && score < 75 {
                score = 0;
            }
            if score < 60 && (w.len() < 5 || COMMON.contains(&w)) {
                score = 0;
            }
            if score == 0 {
                continue;
            }
            // "payments pods" is about the payments workload's pods, not one pod by name.
            if kind.is_some_and(|k| k == o.kind) && (o.kind != Kind::Pod || score >= 100) {
                score += 30;
            }
            if namespace.is_some_and(|n| n == o.namespace) {
                score += 20;
            } else if namespace.is_none() && o.namespace == default_ns {
                score += 5;
            } else if namespace.is_some() && !o.namespace.is_empty() {
                score = score.saturating_sub(20);
            }
            if o.kind == Kind::Pod && o.owner.is_some() && kind != Some(Kind::Pod) {
                // A pod stands for its workload unless the user named the pod itself.
                score = score.saturating_sub(if score >= 100 { 0 } else { 15 });
            }
            // On a tie the word said first wins ("can frontend reach backend" is about frontend).
            let better = match best {
                None => true,
                Some((s, r, at, _)) => score > s || (score == s && at == i && rank < r),
            };
            if better {
                best = Some((score, rank, i, o));
            }
        }
        if best.is_none()
            && missing.is_none()
            && (named || (clearly_named(toks, i) && !COMMON.contains(&w)))
        {
            missing = Some(w.to_string());
        }
    }
    let target = best.map(|(_, _, _, o)| o.clone());
    if target.is_some() {
        return (target, None);
    }
    (None, missing)
}

/// Whether word `i` sits where a name goes: the subject of "why is X failing", the object of
/// "restart X" / "logs of X" / "describe X", or a pod-like name with digits.
fn clearly_named(toks: &[Token], i: usize) -> bool {
    let w = toks[i].text.as_str();
    if w.contains('-') && w.chars().any(|c| c.is_ascii_digit()) {
        return true;
    }
    if w.contains('-') && w.split('-').all(|p| !is_stop(p) && !COMMON.contains(&p)) {
        return true;
    }
    let before: Vec<&str> = toks[..i]
        .iter()
        .rev()
        .map(|t| t.text.as_str())
        .skip_while(|p| matches!(*p, "the" | "my" | "our" | "a" | "an"))
        .take(2)
        .collect();
    let after = toks.get(i + 1).map(|t| t.text.as_str());
    let slot = matches!(
        before.first(),
        Some(&("describe" | "restart" | "scale" | "of" | "with" | "bounce" | "rollback"))
    ) || (matches!(before.first(), Some(&("is" | "are" | "does" | "did")))
        && matches!(before.get(1), Some(&("why" | "how")))
        && after.is_some_and(|a| TROUBLE.contains(&a) || a == "not"));
    slot && words::STOP.iter().all(|s| !like(w, s))
}
