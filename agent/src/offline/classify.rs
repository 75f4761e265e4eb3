//! Which intent a question's words ask for: help, a change, a fact to read, or a question
//! about objects. Kept apart from the parser, which finds the objects and the scope.

use kai_tools::Kind;

use super::intent::{Intent, Query};
use super::words::any;

/// Words that make a question about trouble (a "why").
pub(super) const TROUBLE: &[&str] = &[
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

/// The words of a question, with what they say at a glance.
pub(super) struct Said<'a> {
    /// The words, lower case.
    pub w: Vec<&'a str>,
    /// The words joined by single spaces, padded with one on each side.
    text: String,
    /// A question about trouble.
    pub troubled: bool,
    /// A "why" question.
    pub why: bool,
    /// "how do I", "should I": asking how, not asking kai to do it.
    pub asking: bool,
}

impl<'a> Said<'a> {
    /// Reads the words.
    pub fn new(w: Vec<&'a str>) -> Said<'a> {
        let text = format!(" {} ", w.join(" "));
        let mut s = Said {
            w,
            text,
            troubled: false,
            why: false,
            asking: false,
        };
        s.troubled = s.has(TROUBLE);
        s.why = s.has(&["why"]) || s.phrase("how come");
        s.asking = [
            "how do i",
            "how can i",
            "how to",
            "how should i",
            "should i",
            "what should i",
            "what do i",
            "can i",
        ]
        .iter()
        .any(|p| s.phrase(p));
        s
    }

    /// Any word is (or is a typo of) one of `keys`.
    pub fn has(&self, keys: &[&str]) -> bool {
        any(&self.w, keys)
    }

    /// Any word is exactly one of `keys`.
    pub fn exact(&self, keys: &[&str]) -> bool {
        self.w.iter().any(|x| keys.contains(x))
    }

    /// Restarts as a noun ("restart counts", "which pods restart the most"), not an order.
    pub fn restart_noun(&self) -> bool {
        self.exact(&["restarts", "restarted", "restarting", "restart-count"])
            || self.phrase("restart count")
            || self.phrase("restart counts")
            || (self.exact(&["restart"])
                && self.exact(&["which", "most", "often", "times", "many", "what", "who"]))
    }

    /// The words contain `p` as whole words.
    pub fn phrase(&self, p: &str) -> bool {
        self.text.contains(&format!(" {p} "))
    }
}

/// The intent from the question's words.
pub(super) fn intent_of(s: &Said<'_>, q: &Query) -> Intent {
    help(s, q)
        .or_else(|| request(s, q))
        .or_else(|| reading(s, q))
        .unwrap_or_else(|| about_objects(s, q))
}

/// Help, and "what's up with X".
fn help(s: &Said<'_>, q: &Query) -> Option<Intent> {
    if s.phrase("what can you do")
        || s.phrase("what can i ask")
        || s.phrase("what do you do")
        || s.phrase("what are you")
        || s.phrase("who are you")
        || s.phrase("how do i use")
        || s.phrase("how does this work")
        || ((s.phrase("help me") || s.phrase("can you help"))
            && q.target.is_none()
            && !s.has(&["fix", "debug", "why", "logs", "restart", "scale", "find"]))
        || (s.w.len() <= 3
            && s.has(&[
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
        return Some(Intent::Help);
    }
    if q.target.is_some()
        && (s.phrase("what's up with")
            || s.phrase("whats up with")
            || s.phrase("what is up with")
            || s.phrase("what's going on with")
            || s.phrase("what is going on with")
            || s.phrase("what's the matter with")
            || s.phrase("what's the deal with"))
    {
        return Some(Intent::Why);
    }
    None
}

/// How to fix, and the changes: scale, roll back, restart.
fn request(s: &Said<'_>, q: &Query) -> Option<Intent> {
    if s.has(&[
        "fix",
        "fixing",
        "repair",
        "remedy",
        "remediate",
        "solve",
        "resolve",
        "solution",
        "workaround",
    ]) || s.phrase("next step")
        || s.phrase("what should i do")
        || s.phrase("what do i do")
        || s.phrase("what now")
        || (s.asking && s.has(&["rollback", "roll", "restart", "scale", "undo", "revert"]))
    {
        return Some(Intent::Fix);
    }
    // Writes: the verb at the start of a request, never inside a "why".
    if !s.why && !s.asking {
        if (s.has(&["scale", "scaled"])
            || s.phrase("set replicas")
            || (s.has(&["replicas", "replica", "instances"])
                && s.has(&[
                    "to", "set", "make", "bump", "increase", "reduce", "decrease",
                ])))
            && q.number.is_some()
        {
            return Some(Intent::Scale);
        }
        if s.phrase("roll back")
            || s.phrase("roll it back")
            || s.phrase("rolling back")
            || s.has(&["rollback", "undo", "revert", "downgrade"])
            || s.phrase("rollout undo")
            || s.phrase("go back to")
            || s.phrase("previous version") && s.has(&["go", "put", "return", "switch"])
        {
            return Some(Intent::Rollback);
        }
        if (s.has(&["restart", "reboot", "bounce", "recycle", "redeploy", "kick"])
            || s.phrase("rollout restart")
            || (s.phrase("delete") && q.kind == Some(Kind::Pod)))
            && !s.restart_noun()
            && !s.phrase("how many")
        {
            return Some(Intent::Restart);
        }
    }
    None
}

/// Facts to read: logs, events, history, changes, resources, restarts, images, replicas.
fn reading(s: &Said<'_>, q: &Query) -> Option<Intent> {
    if s.has(&[
        "logs",
        "log",
        "logz",
        "stdout",
        "stderr",
        "traceback",
        "stacktrace",
    ]) || s.phrase("stack trace")
        || s.phrase("output of")
        || s.phrase("tail")
        || (s.has(&["errors", "exceptions", "exception"]) && q.target.is_some() && !s.why)
    {
        return Some(Intent::Logs);
    }
    if s.has(&["events", "event"]) || (s.has(&["warnings"]) && !s.why) {
        return Some(Intent::Events);
    }
    if s.has(&["history", "revisions", "revision", "rollouts"])
        || s.exact(&["versions", "releases"])
        || s.phrase("previous versions")
        || s.phrase("rollout status")
        || s.phrase("last deploy")
        || s.phrase("last deployed")
        || s.phrase("when was") && s.has(&["deployed", "updated", "released", "rolled"])
    {
        return Some(Intent::History);
    }
    let recent = s.has(&[
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
    if (s.has(&[
        "changed", "changes", "change", "modified", "timeline", "updated",
    ]) && (recent
        || s.has(&["what", "what's", "whats", "anything", "who", "something"])
        || s.w.len() <= 3)
        && !s.why
        && !s.phrase("how many"))
        || (s.has(&[
            "deployed",
            "deploys",
            "deployments",
            "deploy",
            "releases",
            "happened",
        ]) && recent
            && !s.why)
        || (s.phrase("what happened") && q.target.is_none())
        || s.phrase("what's new")
    {
        return Some(Intent::Changes);
    }
    let out_of_memory =
        s.phrase("out of memory") || s.phrase("running out") || s.has(&["oom", "oomkilled"]);
    let resource_question = s.phrase("how much")
        || s.has(&[
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
    let resource_word = s.has(&["memory", "cpu", "ram", "resources"]);
    if (resource_question || resource_word && !s.troubled)
        && !out_of_memory
        && !(s.why && s.troubled)
    {
        return Some(Intent::Resources);
    }
    if (s.restart_noun() || s.phrase("restart count"))
        && !s.why
        && !(q.target.is_some() && s.troubled && !s.phrase("how many"))
    {
        return Some(Intent::Restarts);
    }
    if s.has(&["image", "images", "tag", "tags", "version", "sha", "digest"])
        && !s.has(&[
            "pull",
            "pulling",
            "pulled",
            "imagepullbackoff",
            "errimagepull",
        ])
        && !s.why
        && !s.troubled
    {
        return Some(Intent::Images);
    }
    if (s.has(&[
        "replicas",
        "replica",
        "instances",
        "instance",
        "copies",
        "scaled",
        "scale",
    ]) || (s.phrase("how many") && s.has(&["pods", "pod", "running", "ready", "up"])))
        && !s.why
    {
        return Some(Intent::Replicas);
    }
    None
}

/// Questions about objects: describe, nodes, lists, why.
fn about_objects(s: &Said<'_>, q: &Query) -> Intent {
    let listing = s.has(&[
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
    ]) || s.phrase("how many");
    if s.has(&["describe", "details", "detail", "inspect", "yaml", "spec"])
        || s.phrase("tell me about")
        || s.phrase("info on")
        || s.phrase("info about")
        || s.phrase("information about")
    {
        return Intent::Describe;
    }
    if q.kind == Some(Kind::Node)
        && q.target.as_ref().is_none_or(|t| t.kind != Kind::Node)
        && !s.phrase("on node")
    {
        return Intent::Nodes;
    }
    if let Some(k) = q.kind
        && listing
        && !s.troubled
        && (q.target.is_none() || q.target.as_ref().is_some_and(|t| t.kind != k))
    {
        return Intent::List;
    }
    if let Some(k) = q.kind
        && q.target.is_none()
        && !s.troubled
        && s.w.len() <= 4
        && k != Kind::Node
    {
        return Intent::List;
    }
    if s.troubled || s.why {
        return Intent::Why;
    }
    if q.target.is_some() && s.has(&["show", "get"]) {
        return Intent::Describe;
    }
    Intent::Unknown
}
