//! The intent parser: reads a question the way a kubectl user means it — what is asked
//! ([`Intent`]), about which object (matched against what exists in the cluster, any kind,
//! cluster-scoped too), in which namespace or across all — with "it" and "and the database?"
//! taken from the conversation. A pure function of the question, the cluster's names and the
//! conversation, so it is tested without a server.

use kai_tools::Kind;
use kai_tools::inventory::{Inventory, Object};
use kai_tools::resolve::match_score;

use super::words::{self, COMMON, Token, any, is_stop, like, looks_like_name};

/// What a question asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Intent {
    /// Health of a namespace or the cluster.
    Health,
    /// Why an object is failing (or that it is fine).
    Why,
    /// How to fix it: the finding's suggestion and the command kai would run.
    Fix,
    /// Logs, or only their error lines.
    Logs,
    /// Events, of an object or a namespace.
    Events,
    /// What changed recently, as a timeline.
    Changes,
    /// Rollout history of a deployment.
    History,
    /// Replicas wanted and ready.
    Replicas,
    /// Images running.
    Images,
    /// CPU and memory requested, limited and used.
    Resources,
    /// Restarts, most first.
    Restarts,
    /// Nodes and their state.
    Nodes,
    /// A list of one kind.
    List,
    /// Describe one object.
    Describe,
    /// What kai can do.
    Help,
    /// Restart a workload (or delete a pod).
    Restart,
    /// Scale a workload.
    Scale,
    /// Roll a deployment back.
    Rollback,
    /// Nothing kai can route without a model.
    Unknown,
}

impl Intent {
    /// Lower-case name, as in the JSON output's `route`.
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::Health => "health",
            Intent::Why => "why",
            Intent::Fix => "fix",
            Intent::Logs => "logs",
            Intent::Events => "events",
            Intent::Changes => "changes",
            Intent::History => "history",
            Intent::Replicas => "replicas",
            Intent::Images => "images",
            Intent::Resources => "resources",
            Intent::Restarts => "restarts",
            Intent::Nodes => "nodes",
            Intent::List => "list",
            Intent::Describe => "describe",
            Intent::Help => "help",
            Intent::Restart => "restart",
            Intent::Scale => "scale",
            Intent::Rollback => "rollback",
            Intent::Unknown => "unknown",
        }
    }
}

/// What the conversation so far is about (the REPL keeps it between questions).
#[derive(Debug, Clone, Default)]
pub struct Conversation {
    /// The last object an answer was about.
    pub last: Option<Object>,
    /// What the last question asked.
    pub last_intent: Option<Intent>,
}

/// A question, read.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// What is asked.
    pub intent: Intent,
    /// The object it is about, as it exists in the cluster.
    pub target: Option<Object>,
    /// A name the user clearly gave that matches nothing in the cluster.
    pub missing: Option<String>,
    /// A kind the user named ("pods", "svc").
    pub kind: Option<Kind>,
    /// A namespace the user named.
    pub namespace: Option<String>,
    /// Every namespace ("across the cluster", "-A").
    pub all: bool,
    /// A number (replicas to scale to).
    pub number: Option<u64>,
    /// A revision named ("to revision 2").
    pub revision: Option<u64>,
    /// The previous container's logs.
    pub previous: bool,
    /// Only error lines of logs.
    pub errors_only: bool,
    /// Only warning events.
    pub warnings_only: bool,
}

impl Query {
    fn new(intent: Intent) -> Query {
        Query {
            intent,
            target: None,
            missing: None,
            kind: None,
            namespace: None,
            all: false,
            number: None,
            revision: None,
            previous: false,
            errors_only: false,
            warnings_only: false,
        }
    }
}

/// Words saying the user refers to the last object of the conversation.
const PRONOUNS: &[&str] = &["it", "its", "it's", "that", "this", "them", "their", "same"];

/// Words that make a question about trouble (a "why").
const TROUBLE: &[&str] = &[
    "why",
    "crashing",
    "crash",
    "crashes",
    "crashed",
    "crashloop",
    "crashloopbackoff",
    "failing",
    "fails",
    "failed",
    "fail",
    "broken",
    "down",
    "pending",
    "stuck",
    "unready",
    "restarting",
    "wrong",
    "dying",
    "dead",
    "erroring",
    "oomkilled",
    "oom",
    "unhealthy",
    "healthy",
    "working",
    "starting",
    "start",
    "problem",
    "problems",
    "issue",
    "issues",
    "status",
    "health",
    "ok",
    "okay",
    "fine",
    "alive",
    "responding",
    "ready",
    "happened",
    "reach",
    "unreachable",
    "mounting",
    "mount",
    "schedule",
    "scheduled",
    "unschedulable",
    "pull",
    "pulling",
    "evicted",
    "notready",
    "degraded",
    "investigate",
    "diagnose",
    "debug",
    "troubleshoot",
    "explain",
    "cause",
    "error",
    "errors",
    "won't",
    "wont",
    "can't",
    "cant",
    "isn't",
    "isnt",
    "doesn't",
    "didn't",
    "killed",
    "terminated",
    "completed",
    "complete",
    "succeed",
];

/// Parses `question` against the cluster's names and the conversation.
pub fn parse(question: &str, inv: &Inventory, conv: &Conversation, default_ns: &str) -> Query {
    let toks = words::tokens(&words::normalize(question));
    let w: Vec<&str> = toks.iter().map(|t| t.text.as_str()).collect();
    let text = format!(" {} ", w.join(" "));
    let phrase = |p: &str| text.contains(&format!(" {p} "));

    let mut q = Query::new(Intent::Unknown);
    let (namespace, ns_at) = namespace_of(&toks, inv);
    q.namespace = namespace;
    q.all = phrase("-a")
        || phrase("--all-namespaces")
        || any(
            &w,
            &[
                "everywhere",
                "everything",
                "anything",
                "cluster",
                "cluster-wide",
            ],
        )
        || phrase("all namespaces")
        || phrase("all the namespaces")
        || phrase("every namespace")
        || phrase("each namespace")
        || phrase("any namespace")
        || phrase("across namespaces")
        || phrase("all ns")
        || w.iter().any(|x| x.contains("clusterwide"));
    if q.namespace.is_some() {
        q.all = false;
    }
    q.kind = w
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != ns_at)
        .find_map(|(_, x)| kind_word(x));
    if q.kind.is_none() && (phrase("get no") || phrase("describe no") || phrase("get no -o wide")) {
        q.kind = Some(Kind::Node);
    }
    q.number = w.iter().find_map(|x| x.parse::<u64>().ok());
    q.revision = w
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

    q.intent = intent_of(&w, &phrase, &q);
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
    q.previous = phrase("previous")
        || phrase("-p")
        || phrase("--previous")
        || phrase("last crash")
        || phrase("before it crashed")
        || phrase("crashed container")
        || phrase("crashed")
        || phrase("before the crash")
        || phrase("before the restart");
    q.errors_only = any(
        &w,
        &[
            "errors",
            "error",
            "exceptions",
            "exception",
            "traceback",
            "stacktrace",
            "panic",
        ],
    ) || phrase("stack trace");
    q.warnings_only = !phrase("all events") || any(&w, &["warnings", "warning"]);
    q
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

/// The intent from the question's words.
fn intent_of(w: &[&str], phrase: &dyn Fn(&str) -> bool, q: &Query) -> Intent {
    let has = |keys: &[&str]| any(w, keys);
    let asking = phrase("how do i")
        || phrase("how can i")
        || phrase("how to")
        || phrase("how should i")
        || phrase("should i")
        || phrase("what should i")
        || phrase("what do i")
        || phrase("can i");
    let troubled = has(TROUBLE);
    let why = has(&["why"]) || phrase("how come");
    if phrase("what can you do")
        || phrase("what can i ask")
        || phrase("what do you do")
        || phrase("what are you")
        || phrase("who are you")
        || phrase("how do i use")
        || phrase("how does this work")
        || ((phrase("help me") || phrase("can you help"))
            && q.target.is_none()
            && !has(&["fix", "debug", "why", "logs", "restart", "scale", "find"]))
        || (w.len() <= 3
            && has(&[
                "help",
                "hi",
                "hello",
                "hey",
                "commands",
                "capabilities",
                "usage",
            ])
            && q.target.is_none())
    {
        return Intent::Help;
    }
    if q.target.is_some()
        && (phrase("what's up with")
            || phrase("whats up with")
            || phrase("what is up with")
            || phrase("what's going on with")
            || phrase("what is going on with")
            || phrase("what's the matter with")
            || phrase("what's the deal with"))
    {
        return Intent::Why;
    }
    if has(&[
        "fix",
        "fixing",
        "repair",
        "remedy",
        "remediate",
        "solve",
        "resolve",
        "solution",
        "workaround",
    ]) || phrase("next step")
        || phrase("what should i do")
        || phrase("what do i do")
        || phrase("what now")
        || (asking && has(&["rollback", "roll", "restart", "scale", "undo", "revert"]))
    {
        return Intent::Fix;
    }
    let exact = |keys: &[&str]| w.iter().any(|x| keys.contains(x));
    let restart_noun = exact(&["restarts", "restarted", "restarting", "restart-count"])
        || phrase("restart count")
        || phrase("restart counts")
        || (exact(&["restart"])
            && exact(&["which", "most", "often", "times", "many", "what", "who"]));
    // Writes: the verb at the start of a request, never inside a "why".
    if !why && !asking {
        if (has(&["scale", "scaled"])
            || phrase("set replicas")
            || (has(&["replicas", "replica", "instances"])
                && has(&[
                    "to", "set", "make", "bump", "increase", "reduce", "decrease",
                ])))
            && q.number.is_some()
        {
            return Intent::Scale;
        }
        if phrase("roll back")
            || phrase("roll it back")
            || phrase("rolling back")
            || has(&["rollback", "undo", "revert", "downgrade"])
            || phrase("rollout undo")
            || phrase("go back to")
            || phrase("previous version") && has(&["go", "put", "return", "switch"])
        {
            return Intent::Rollback;
        }
        if (has(&["restart", "reboot", "bounce", "recycle", "redeploy", "kick"])
            || phrase("rollout restart")
            || (phrase("delete") && q.kind == Some(Kind::Pod)))
            && !restart_noun
            && !phrase("how many")
        {
            return Intent::Restart;
        }
    }
    if has(&[
        "logs",
        "log",
        "logz",
        "stdout",
        "stderr",
        "traceback",
        "stacktrace",
    ]) || phrase("stack trace")
        || phrase("output of")
        || phrase("tail")
        || (has(&["errors", "exceptions", "exception"]) && q.target.is_some() && !why)
    {
        return Intent::Logs;
    }
    if has(&["events", "event"]) || (has(&["warnings"]) && !why) {
        return Intent::Events;
    }
    if has(&["history", "revisions", "revision", "rollouts"])
        || exact(&["versions", "releases"])
        || phrase("previous versions")
        || phrase("rollout status")
        || phrase("last deploy")
        || phrase("last deployed")
        || phrase("when was") && has(&["deployed", "updated", "released", "rolled"])
    {
        return Intent::History;
    }
    let recent = has(&[
        "recent",
        "recently",
        "lately",
        "today",
        "yesterday",
        "hour",
        "hours",
        "since",
        "timeline",
    ]);
    if (has(&[
        "changed", "changes", "change", "modified", "timeline", "updated",
    ]) && (recent
        || has(&["what", "what's", "whats", "anything", "who", "something"])
        || w.len() <= 3)
        && !why
        && !phrase("how many"))
        || (has(&[
            "deployed",
            "deploys",
            "deployments",
            "deploy",
            "releases",
            "happened",
        ]) && recent
            && !why)
        || (phrase("what happened") && q.target.is_none())
        || phrase("what's new")
    {
        return Intent::Changes;
    }
    let out_of_memory =
        phrase("out of memory") || phrase("running out") || has(&["oom", "oomkilled"]);
    let resource_question = phrase("how much")
        || has(&[
            "limits",
            "limit",
            "requests",
            "request",
            "usage",
            "allowed",
            "allocated",
            "consumption",
            "consuming",
            "quota",
        ]);
    let resource_word = has(&["memory", "cpu", "ram", "resources"]);
    if (resource_question || resource_word && !troubled) && !out_of_memory && !(why && troubled) {
        return Intent::Resources;
    }
    if (restart_noun || phrase("restart count"))
        && !why
        && !(q.target.is_some() && troubled && !phrase("how many"))
    {
        return Intent::Restarts;
    }
    if has(&["image", "images", "tag", "tags", "version", "sha", "digest"])
        && !has(&[
            "pull",
            "pulling",
            "pulled",
            "imagepullbackoff",
            "errimagepull",
        ])
        && !why
        && !troubled
    {
        return Intent::Images;
    }
    if (has(&[
        "replicas",
        "replica",
        "instances",
        "instance",
        "copies",
        "scaled",
        "scale",
    ]) || (phrase("how many") && has(&["pods", "pod", "running", "ready", "up"])))
        && !why
    {
        return Intent::Replicas;
    }
    let listing = has(&[
        "list",
        "get",
        "show",
        "display",
        "which",
        "what",
        "all",
        "ls",
        "enumerate",
        "see",
    ]) || phrase("how many");
    if has(&["describe", "details", "detail", "inspect", "yaml", "spec"])
        || phrase("tell me about")
        || phrase("info on")
        || phrase("info about")
        || phrase("information about")
    {
        return Intent::Describe;
    }
    if q.kind == Some(Kind::Node)
        && q.target.as_ref().is_none_or(|t| t.kind != Kind::Node)
        && !phrase("on node")
    {
        return Intent::Nodes;
    }
    if let Some(k) = q.kind
        && listing
        && !troubled
        && (q.target.is_none() || q.target.as_ref().is_some_and(|t| t.kind != k))
    {
        return Intent::List;
    }
    if let Some(k) = q.kind
        && q.target.is_none()
        && !troubled
        && w.len() <= 4
        && k != Kind::Node
    {
        return Intent::List;
    }
    if troubled || why {
        return Intent::Why;
    }
    if q.target.is_some() && has(&["show", "get"]) {
        return Intent::Describe;
    }
    Intent::Unknown
}
