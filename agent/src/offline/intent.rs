//! Maps a question in plain words to one of the fixed queries kai can answer without a model.

/// What a question asks for, as far as words alone can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    /// The health of a namespace, or of the whole cluster.
    Health {
        /// Namespace named in the question.
        namespace: Option<String>,
        /// "the cluster", "everywhere", "all namespaces".
        all: bool,
    },
    /// Why a named thing crashes, is pending or is not ready.
    Why {
        /// The thing's name as the user wrote it.
        target: String,
        /// Namespace named in the question.
        namespace: Option<String>,
    },
    /// Logs (or only errors) of a workload or pod.
    Logs {
        /// The thing's name as the user wrote it.
        target: String,
        /// Namespace named in the question.
        namespace: Option<String>,
        /// Only error lines.
        errors_only: bool,
        /// The previous container's logs.
        previous: bool,
    },
    /// A list of a kind.
    List {
        /// Kind as the user wrote it (pods, deployments, svc...).
        kind: String,
        /// Namespace named in the question.
        namespace: Option<String>,
        /// "all namespaces", "everywhere".
        all: bool,
    },
    /// Describe a named thing.
    Describe {
        /// Kind, if the user named one.
        kind: Option<String>,
        /// The thing's name as the user wrote it.
        target: String,
        /// Namespace named in the question.
        namespace: Option<String>,
    },
    /// Recent events, warnings by default.
    Events {
        /// Namespace named in the question.
        namespace: Option<String>,
        /// Only warnings.
        warnings_only: bool,
    },
    /// Restart a workload (or delete a pod).
    Restart {
        /// The thing's name as the user wrote it.
        target: String,
        /// Namespace named in the question.
        namespace: Option<String>,
    },
    /// Scale a workload.
    Scale {
        /// The thing's name as the user wrote it.
        target: String,
        /// Wanted replicas.
        replicas: u32,
        /// Namespace named in the question.
        namespace: Option<String>,
    },
    /// Roll a deployment back.
    Rollback {
        /// The thing's name as the user wrote it.
        target: String,
        /// Revision to go back to, if named.
        revision: Option<u64>,
        /// Namespace named in the question.
        namespace: Option<String>,
    },
    /// Nothing kai can route without a model.
    Unknown,
}

/// Whether a word names a kind, as kubectl and kai's tools spell kinds ("pods", "deploy",
/// "svc"...). "no" (kubectl's short name for nodes) is English far more often.
fn is_kind(word: &str) -> bool {
    word != "no" && kai_tools::resolve_kind(word).is_ok()
}

/// Words that never name a target.
const STOP: &[&str] = &[
    "a",
    "an",
    "the",
    "is",
    "are",
    "was",
    "were",
    "be",
    "my",
    "our",
    "me",
    "i",
    "we",
    "you",
    "it",
    "its",
    "it's",
    "this",
    "that",
    "these",
    "those",
    "of",
    "for",
    "to",
    "in",
    "on",
    "at",
    "from",
    "with",
    "and",
    "or",
    "why",
    "what",
    "what's",
    "whats",
    "how",
    "who",
    "which",
    "when",
    "where",
    "does",
    "do",
    "did",
    "doesn't",
    "don't",
    "isn't",
    "aren't",
    "not",
    "no",
    "can",
    "can't",
    "cannot",
    "could",
    "should",
    "would",
    "will",
    "please",
    "kai",
    "show",
    "get",
    "give",
    "tell",
    "list",
    "display",
    "print",
    "see",
    "check",
    "look",
    "find",
    "wrong",
    "happening",
    "going",
    "on",
    "up",
    "crashing",
    "crash",
    "crashes",
    "crashed",
    "failing",
    "fails",
    "failed",
    "fail",
    "broken",
    "down",
    "pending",
    "stuck",
    "ready",
    "unready",
    "healthy",
    "unhealthy",
    "working",
    "starting",
    "start",
    "started",
    "running",
    "run",
    "restarting",
    "keeps",
    "keep",
    "dying",
    "dead",
    "erroring",
    "error",
    "errors",
    "logs",
    "log",
    "last",
    "previous",
    "recent",
    "latest",
    "all",
    "any",
    "problem",
    "problems",
    "issue",
    "issues",
    "status",
    "state",
    "health",
    "describe",
    "details",
    "detail",
    "about",
    "info",
    "information",
    "restart",
    "reboot",
    "bounce",
    "scale",
    "replicas",
    "replica",
    "instances",
    "roll",
    "back",
    "rollback",
    "undo",
    "revert",
    "rollout",
    "revision",
    "namespace",
    "cluster",
    "everything",
    "everywhere",
    "so",
    "there",
    "has",
    "have",
    "had",
    "been",
    "exceptions",
    "exception",
    "output",
    "events",
    "event",
    "warnings",
    "warning",
    "lines",
    "by",
    "into",
    "now",
    "currently",
    "again",
    "just",
    "oomkilled",
    "oom",
    "killed",
    "ok",
    "okay",
    "fine",
    "alive",
    "responding",
    "serving",
    "traffic",
    "happened",
    "container",
    "containers",
    "pods",
    "pod",
    "workloads",
];

/// Parses a question. `namespaces` are the cluster's namespace names, so "in shop" is read as
/// a namespace only when `shop` is one.
pub fn parse(question: &str, namespaces: &[String]) -> Intent {
    let q = question.to_lowercase();
    let words: Vec<String> = q
        .split(|c: char| {
            c.is_whitespace() || matches!(c, ',' | '?' | '!' | ';' | '"' | '`' | '(' | ')')
        })
        .map(|w| {
            w.trim_matches(|c: char| matches!(c, '.' | ':' | '\''))
                .to_string()
        })
        .filter(|w| !w.is_empty())
        .collect();
    let has = |w: &str| words.iter().any(|x| x == w);
    let phrase = |p: &str| q.contains(p);

    // Namespace: "in shop", "-n shop", "namespace shop", "shop namespace", or any word that is one.
    let mut namespace: Option<String> = None;
    for (i, w) in words.iter().enumerate() {
        let next = words.get(i + 1);
        if matches!(w.as_str(), "-n" | "--namespace" | "namespace" | "ns")
            && let Some(n) = next.filter(|n| namespaces.contains(n) || w != "ns")
            && !STOP.contains(&n.as_str())
        {
            namespace = Some(n.clone());
        }
        if namespace.is_none() && namespaces.contains(w) {
            namespace = Some(w.clone());
        }
    }
    let all = phrase("all namespaces")
        || phrase("every namespace")
        || has("everywhere")
        || has("-a")
        || phrase("whole cluster")
        || phrase("the cluster")
        || phrase("entire cluster");

    let kind_word = words.iter().find(|w| is_kind(w)).cloned();
    let target = words
        .iter()
        .find(|w| {
            !STOP.contains(&w.as_str())
                && !is_kind(w)
                && Some(*w) != namespace.as_ref()
                && !w.starts_with('-')
                && w.parse::<u64>().is_err()
                && w.chars().any(|c| c.is_ascii_alphabetic())
        })
        .map(|w| w.rsplit('/').next().unwrap_or(w).to_string());
    let number = words.iter().find_map(|w| w.parse::<u64>().ok());

    // Writes first: they are the most specific.
    if (has("scale") || phrase("replicas") && (has("to") || has("set")))
        && let (Some(target), Some(n)) = (target.clone(), number)
    {
        return Intent::Scale {
            target,
            replicas: u32::try_from(n).unwrap_or(u32::MAX),
            namespace,
        };
    }
    if (phrase("roll back")
        || has("rollback")
        || has("undo")
        || has("revert")
        || phrase("rollout undo"))
        && let Some(target) = target.clone()
    {
        let revision = words
            .iter()
            .position(|w| w == "revision")
            .and_then(|i| words.get(i + 1))
            .and_then(|w| w.parse().ok());
        return Intent::Rollback {
            target,
            revision,
            namespace,
        };
    }
    if (has("restart") || has("reboot") || has("bounce") || phrase("rollout restart"))
        && !phrase("why")
        && !has("restarting")
        && let Some(target) = target.clone()
    {
        return Intent::Restart { target, namespace };
    }

    let wants_logs = has("logs") || has("log") || phrase("output of");
    let wants_errors = has("errors") || has("exceptions") || has("exception") || has("error");
    if (wants_logs || (wants_errors && target.is_some() && !has("why")))
        && let Some(target) = target.clone()
    {
        return Intent::Logs {
            target,
            namespace,
            errors_only: wants_errors,
            previous: has("previous") || phrase("before it crashed") || phrase("last crash"),
        };
    }
    if has("events") || has("event") || has("warnings") || has("warning") {
        return Intent::Events {
            namespace,
            warnings_only: !has("all") || has("warnings"),
        };
    }
    if (has("describe") || has("details") || has("detail"))
        && let Some(target) = target.clone()
    {
        return Intent::Describe {
            kind: kind_word,
            target,
            namespace,
        };
    }
    let listing = has("list")
        || has("get")
        || phrase("show me")
        || has("show")
        || phrase("which")
        || phrase("how many");
    if let Some(kind) = kind_word.clone()
        && (listing && (target.is_none() || kind.ends_with('s')) || target.is_none())
    {
        let is_problem = has("unhealthy") || has("failing") || has("broken") || has("crashing");
        if !is_problem {
            return Intent::List {
                kind,
                namespace,
                all,
            };
        }
    }
    let troubled = [
        "why",
        "crashing",
        "crash",
        "crashes",
        "failing",
        "fails",
        "broken",
        "down",
        "pending",
        "stuck",
        "ready",
        "unready",
        "restarting",
        "wrong",
        "dying",
        "erroring",
        "oomkilled",
        "unhealthy",
        "healthy",
        "working",
        "starting",
        "problem",
        "problems",
        "issue",
        "status",
        "health",
        "ok",
        "okay",
        "fine",
        "alive",
        "responding",
    ]
    .iter()
    .any(|w| has(w));
    match target {
        Some(target) if troubled || words.len() <= 2 => Intent::Why { target, namespace },
        None if troubled || words.is_empty() => Intent::Health { namespace, all },
        _ => Intent::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns() -> Vec<String> {
        vec!["shop".into(), "default".into(), "kube-system".into()]
    }

    fn p(q: &str) -> Intent {
        parse(q, &ns())
    }

    fn why(t: &str) -> Intent {
        Intent::Why {
            target: t.into(),
            namespace: None,
        }
    }

    #[test]
    fn why_questions_find_the_target() {
        assert_eq!(p("why is backend crashing"), why("backend"));
        assert_eq!(p("Why is backend crashing?"), why("backend"));
        assert_eq!(p("why isn't the frontend ready"), why("frontend"));
        assert_eq!(p("what's wrong with backend-api"), why("backend-api"));
        assert_eq!(p("why is database pending"), why("database"));
        assert_eq!(p("backend keeps restarting"), why("backend"));
        assert_eq!(
            p("why is backend in shop crashing"),
            Intent::Why {
                target: "backend".into(),
                namespace: Some("shop".into())
            }
        );
        assert_eq!(p("why is deployment/backend failing"), why("backend"));
    }

    #[test]
    fn health_questions() {
        assert_eq!(
            p("what's wrong"),
            Intent::Health {
                namespace: None,
                all: false
            }
        );
        assert_eq!(
            p("is shop healthy?"),
            Intent::Health {
                namespace: Some("shop".into()),
                all: false
            }
        );
        assert_eq!(
            p("any problems in the cluster"),
            Intent::Health {
                namespace: None,
                all: true
            }
        );
    }

    #[test]
    fn logs_lists_describe_events() {
        assert_eq!(
            p("show me the logs of backend"),
            Intent::Logs {
                target: "backend".into(),
                namespace: None,
                errors_only: false,
                previous: false
            }
        );
        assert_eq!(
            p("errors in backend"),
            Intent::Logs {
                target: "backend".into(),
                namespace: None,
                errors_only: true,
                previous: false
            }
        );
        assert_eq!(
            p("list pods in shop"),
            Intent::List {
                kind: "pods".into(),
                namespace: Some("shop".into()),
                all: false
            }
        );
        assert_eq!(
            p("show deployments in all namespaces"),
            Intent::List {
                kind: "deployments".into(),
                namespace: None,
                all: true
            }
        );
        assert_eq!(
            p("describe backend"),
            Intent::Describe {
                kind: None,
                target: "backend".into(),
                namespace: None
            }
        );
        assert_eq!(
            p("recent warnings in shop"),
            Intent::Events {
                namespace: Some("shop".into()),
                warnings_only: true
            }
        );
    }

    #[test]
    fn writes() {
        assert_eq!(
            p("scale backend to 3"),
            Intent::Scale {
                target: "backend".into(),
                replicas: 3,
                namespace: None
            }
        );
        assert_eq!(
            p("scale deployment frontend to 0 replicas in shop"),
            Intent::Scale {
                target: "frontend".into(),
                replicas: 0,
                namespace: Some("shop".into())
            }
        );
        assert_eq!(
            p("restart backend"),
            Intent::Restart {
                target: "backend".into(),
                namespace: None
            }
        );
        assert_eq!(
            p("roll back backend"),
            Intent::Rollback {
                target: "backend".into(),
                revision: None,
                namespace: None
            }
        );
        assert_eq!(
            p("rollback backend to revision 1"),
            Intent::Rollback {
                target: "backend".into(),
                revision: Some(1),
                namespace: None
            }
        );
        // "why ... restarting" is a question, not a restart.
        assert_eq!(p("why is backend restarting"), why("backend"));
    }

    #[test]
    fn unroutable() {
        assert_eq!(
            p("write me a poem about kubernetes clusters and autumn"),
            Intent::Unknown
        );
    }
}
