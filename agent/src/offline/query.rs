//! What a question asks, read: the intent, the object and the options ([`Query`]), and what the
//! conversation so far is about. Below both the intent parser and the classifier that fill it.

use kai_tools::Kind;
use kai_tools::inventory::Object;

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
    /// The command line asked for every namespace (`-A`): a question naming none covers all.
    pub all_namespaces: bool,
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
    /// Misspelt kind words read as kinds: (as written, as read).
    pub corrected: Vec<(String, String)>,
}

impl Query {
    pub(super) fn new(intent: Intent) -> Query {
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
            corrected: Vec::new(),
        }
    }
}
