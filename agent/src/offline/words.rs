//! The words of a question: tokens (quoted names kept whole), and the vocabularies that say
//! which words ask for what and which can never be an object's name.

use kai_tools::suggest::edit_distance;

/// One word of a question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Lower-case text, punctuation trimmed.
    pub text: String,
    /// The user put it in quotes or backticks: it is a name.
    pub quoted: bool,
}

/// Kinds people write in two words, joined into kubectl's one.
const TWO_WORD_KINDS: &[(&str, &str)] = &[
    ("network policies", "networkpolicies"),
    ("network policy", "networkpolicy"),
    ("storage classes", "storageclasses"),
    ("storage class", "storageclass"),
    ("config maps", "configmaps"),
    ("config map", "configmap"),
    ("persistent volume claims", "persistentvolumeclaims"),
    ("persistent volume claim", "persistentvolumeclaim"),
    ("persistent volumes", "persistentvolumes"),
    ("service accounts", "serviceaccounts"),
    ("replica sets", "replicasets"),
    ("stateful sets", "statefulsets"),
    ("stateful set", "statefulset"),
    ("daemon sets", "daemonsets"),
    ("daemon set", "daemonset"),
    ("cron jobs", "cronjobs"),
    ("cron job", "cronjob"),
    ("pod disruption budgets", "poddisruptionbudgets"),
    ("horizontal pod autoscalers", "horizontalpodautoscalers"),
];

/// The question with two-word kinds joined ("storage classes" → "storageclasses").
pub fn normalize(question: &str) -> String {
    let mut q = question.to_string();
    let lower = q.to_lowercase();
    if lower.len() == q.len() {
        for (two, one) in TWO_WORD_KINDS {
            while let Some(at) = q.to_lowercase().find(two) {
                q.replace_range(at..at + two.len(), one);
            }
        }
    }
    q
}

/// Splits a question into words: lower case, punctuation trimmed, `"quoted names"` and
/// `` `names` `` kept as one token marked quoted, `kind/name` split in two.
pub fn tokens(question: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut rest = question.trim();
    while !rest.is_empty() {
        let Some(first) = rest.chars().next() else {
            break;
        };
        if matches!(first, '"' | '`' | '\'' | '“' | '‘')
            && let Some(end) = rest[first.len_utf8()..]
                .find(['"', '`', '\'', '”', '’'])
                .filter(|&e| e > 0)
        {
            let inner = &rest[first.len_utf8()..first.len_utf8() + end];
            let close = rest[first.len_utf8() + end..]
                .chars()
                .next()
                .map_or(1, char::len_utf8);
            // A quote around one name-like word, not an apostrophe inside a sentence.
            if !inner.contains(char::is_whitespace) && looks_like_name(&inner.to_lowercase()) {
                push_word(&mut out, inner, true);
                rest = &rest[first.len_utf8() + end + close..];
                continue;
            }
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        push_word(&mut out, &rest[..end], false);
        rest = rest[end..].trim_start();
    }
    out
}

fn push_word(out: &mut Vec<Token>, raw: &str, quoted: bool) {
    let lower = raw.to_lowercase().replace(['’', '‘'], "'");
    for part in lower.split(|c: char| {
        matches!(
            c,
            ',' | '?'
                | '!'
                | ';'
                | '('
                | ')'
                | '"'
                | '`'
                | '['
                | ']'
                | '{'
                | '}'
                | '“'
                | '”'
                | '<'
                | '>'
        )
    }) {
        let w = part.trim_matches(|c: char| matches!(c, '.' | ':' | '\'' | '*' | '@'));
        // Possessives: "backend's logs" is about backend.
        // ("what's", "it's" and "let's" are words of their own).
        let w = w
            .strip_suffix("'s")
            .filter(|s| s.len() > 1 && !STOP.contains(s))
            .unwrap_or(w);
        if w.is_empty() {
            continue;
        }
        // kubectl's kind/name: "deploy/backend" is the kind and the name.
        if let Some((k, n)) = w.split_once('/')
            && !k.is_empty()
            && !n.is_empty()
            && kai_tools::resolve_kind(k).is_ok()
        {
            out.push(Token {
                text: k.to_string(),
                quoted: false,
            });
            out.push(Token {
                text: n.to_string(),
                quoted: true,
            });
            continue;
        }
        out.push(Token {
            text: w.to_string(),
            quoted,
        });
    }
}

/// Whether a word could be a Kubernetes object name (DNS label or subdomain).
pub fn looks_like_name(w: &str) -> bool {
    !w.is_empty()
        && w.len() <= 253
        && w.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.'))
        && w.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && w.chars().last().is_some_and(|c| c.is_ascii_alphanumeric())
        && w.chars().any(|c| c.is_ascii_lowercase())
}

/// Whether `word` is `key` or a likely typo of it (one edit for words of 5+ letters, two for
/// 8+), so "crashin", "restrat" and "logz" still ask what they mean.
pub fn like(word: &str, key: &str) -> bool {
    if word == key {
        return true;
    }
    let n = key.chars().count();
    let limit = if n >= 8 {
        2
    } else if n >= 5 {
        1
    } else {
        0
    };
    limit > 0 && word.chars().next() == key.chars().next() && edit_distance(word, key) <= limit
}

/// Edits between two words where swapping two neighbouring letters counts as one (optimal
/// string alignment), so "deploymnets" is one slip from "deployments".
pub fn typo_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

/// Whether any word is (or is a typo of) one of `keys`.
pub fn any(words: &[&str], keys: &[&str]) -> bool {
    words.iter().any(|w| keys.iter().any(|k| like(w, k)))
}

/// Words that never name an object unless the user quotes them or puts a kind before them:
/// grammar, question words, verbs and nouns of operations, and everyday words of a question.
pub const STOP: &[&str] = &[
    "a",
    "an",
    "the",
    "is",
    "are",
    "was",
    "were",
    "be",
    "been",
    "being",
    "am",
    "my",
    "our",
    "your",
    "their",
    "me",
    "i",
    "we",
    "you",
    "it",
    "its",
    "it's",
    "itself",
    "this",
    "that",
    "these",
    "those",
    "them",
    "they",
    "he",
    "she",
    "of",
    "for",
    "to",
    "in",
    "on",
    "at",
    "from",
    "with",
    "without",
    "and",
    "or",
    "but",
    "if",
    "then",
    "than",
    "so",
    "as",
    "by",
    "into",
    "onto",
    "over",
    "under",
    "about",
    "across",
    "after",
    "before",
    "since",
    "during",
    "until",
    "why",
    "what",
    "what's",
    "whats",
    "how",
    "how's",
    "who",
    "whom",
    "which",
    "when",
    "where",
    "whose",
    "does",
    "do",
    "did",
    "doesn't",
    "dont",
    "don't",
    "didn't",
    "didnt",
    "isn't",
    "isnt",
    "aren't",
    "arent",
    "wasn't",
    "won't",
    "wont",
    "can't",
    "cant",
    "couldn't",
    "not",
    "no",
    "yes",
    "can",
    "cannot",
    "could",
    "should",
    "would",
    "will",
    "shall",
    "may",
    "might",
    "must",
    "need",
    "needs",
    "please",
    "pls",
    "plz",
    "thanks",
    "thank",
    "hey",
    "hi",
    "hello",
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
    "fetch",
    "dump",
    "let",
    "lets",
    "let's",
    "want",
    "like",
    "know",
    "some",
    "any",
    "all",
    "every",
    "each",
    "one",
    "ones",
    "other",
    "same",
    "again",
    "also",
    "just",
    "only",
    "still",
    "now",
    "currently",
    "right",
    "here",
    "there",
    "up",
    "out",
    "off",
    "down",
    "wrong",
    "happening",
    "happened",
    "happen",
    "going",
    "goes",
    "went",
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
    "failure",
    "failures",
    "broken",
    "break",
    "breaks",
    "pending",
    "stuck",
    "ready",
    "unready",
    "healthy",
    "unhealthy",
    "health",
    "working",
    "work",
    "works",
    "starting",
    "start",
    "started",
    "starts",
    "running",
    "run",
    "runs",
    "restarting",
    "restart",
    "restarts",
    "restarted",
    "keeps",
    "keep",
    "dying",
    "dead",
    "die",
    "dies",
    "erroring",
    "error",
    "errors",
    "logs",
    "log",
    "last",
    "previous",
    "recent",
    "recently",
    "latest",
    "problem",
    "problems",
    "issue",
    "issues",
    "status",
    "state",
    "describe",
    "details",
    "detail",
    "info",
    "information",
    "reboot",
    "bounce",
    "scale",
    "replicas",
    "replica",
    "instances",
    "instance",
    "roll",
    "back",
    "rollback",
    "undo",
    "revert",
    "rollout",
    "rollouts",
    "revision",
    "revisions",
    "history",
    "namespace",
    "namespaces",
    "cluster",
    "everything",
    "everywhere",
    "anything",
    "something",
    "nothing",
    "has",
    "have",
    "had",
    "exceptions",
    "exception",
    "output",
    "events",
    "event",
    "warnings",
    "warning",
    "lines",
    "line",
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
    "container",
    "containers",
    "workloads",
    "workload",
    "changed",
    "change",
    "changes",
    "image",
    "images",
    "version",
    "versions",
    "tag",
    "memory",
    "cpu",
    "ram",
    "resources",
    "resource",
    "requests",
    "request",
    "limits",
    "limit",
    "usage",
    "using",
    "use",
    "used",
    "allowed",
    "much",
    "many",
    "most",
    "more",
    "less",
    "times",
    "often",
    "fix",
    "fixed",
    "fixing",
    "repair",
    "solve",
    "resolve",
    "next",
    "step",
    "steps",
    "do",
    "doing",
    "done",
    "can",
    "help",
    "investigate",
    "diagnose",
    "debug",
    "troubleshoot",
    "explain",
    "reason",
    "cause",
    "causes",
    "caused",
    "root",
    "deployed",
    "deploy",
    "deployment",
    "deployments",
    "pod",
    "pods",
    "node",
    "nodes",
    "service",
    "services",
    "whole",
    "entire",
    "cluster-wide",
    "clusterwide",
    "please",
    "quick",
    "quickly",
    "currently",
    "today",
    "yesterday",
    "hour",
    "hours",
    "minutes",
    "minute",
    "ago",
    "day",
    "days",
    "week",
    "new",
    "old",
    "timeline",
    "went",
    "yet",
    "very",
    "really",
    "too",
    "reach",
    "reachable",
    "unreachable",
    "connect",
    "connecting",
    "mount",
    "mounting",
    "mounted",
    "schedule",
    "scheduled",
    "scheduling",
    "unschedulable",
    "pull",
    "pulling",
    "pulled",
    "high",
    "low",
    "type",
    "across",
    "lately",
    "kubectl",
    "k",
    "yaml",
    "json",
    "wide",
    "set",
    "make",
    "bump",
    "increase",
    "decrease",
    "reduce",
    "raise",
    "lower",
    "go",
    "sure",
    "well",
    "though",
    "even",
    "ever",
    "never",
    "around",
    "apps",
    "thing",
    "things",
    "stuff",
    "else",
    "okay",
    "good",
    "bad",
    "slow",
    "fast",
    "spec",
    "config",
    "configuration",
    "configured",
    "count",
    "counts",
    "everyone",
    "somebody",
    "someone",
    "who's",
    "whos",
];

/// Everyday nouns of a question that are not object names when nothing by that name exists
/// ("my app", "the volume", "the database"), so they are never reported as missing.
pub const COMMON: &[&str] = &[
    "app",
    "application",
    "applications",
    "volume",
    "volumes",
    "disk",
    "disks",
    "storage",
    "network",
    "networking",
    "db",
    "database",
    "web",
    "site",
    "website",
    "server",
    "servers",
    "api",
    "backend",
    "frontend",
    "job",
    "jobs",
    "cron",
    "cronjob",
    "worker",
    "workers",
    "queue",
    "cache",
    "machine",
    "machines",
    "vm",
    "vms",
    "host",
    "hosts",
    "box",
    "system",
    "systems",
    "prod",
    "production",
    "staging",
    "dev",
    "test",
    "env",
    "environment",
    "stack",
    "microservice",
    "microservices",
    "code",
    "release",
    "build",
    "ci",
    "thing",
    "process",
    "program",
    "secret",
    "secrets",
    "configmap",
    "certificate",
    "cert",
    "tls",
    "dns",
    "ingress",
    "endpoint",
    "endpoints",
    "port",
    "ports",
    "probe",
    "probes",
    "liveness",
    "readiness",
    "quota",
    "quotas",
    "permissions",
    "rbac",
    "user",
    "users",
    "team",
    "k8s",
    "kubernetes",
    "docker",
    "helm",
    "chart",
    "charts",
    "hpa",
    "autoscaler",
    "claim",
    "pvc",
    "pvcs",
];

/// Whether a word can never be a name unless quoted or given a kind.
pub fn is_stop(w: &str) -> bool {
    STOP.contains(&w) || w.parse::<f64>().is_ok() || w.starts_with('-')
}
