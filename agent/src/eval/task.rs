//! Eval tasks: a scenario (a built-in one, the file's own documents, or both) plus a `Task`
//! document holding the question and the judge. Built-in tasks ship in the binary; users write
//! their own in the same format (`kai eval --task FILE`).

use std::path::Path;

use kai_sandbox::Scenario;
use kai_sandbox::scenario::{SANDBOX_API_VERSION, parse_duration};
use serde::Deserialize;
use serde_json::Value;

use super::judge::Judge;

/// The built-in tasks, in the order `kai eval --list` shows them.
const BUILTINS: &[(&str, &str)] = &[
    (
        "demo-rollback",
        include_str!("../../eval-tasks/demo-rollback.yaml"),
    ),
    (
        "demo-diagnose",
        include_str!("../../eval-tasks/demo-diagnose.yaml"),
    ),
    ("crashloop", include_str!("../../eval-tasks/crashloop.yaml")),
    ("oom", include_str!("../../eval-tasks/oom.yaml")),
    (
        "image-pull",
        include_str!("../../eval-tasks/image-pull.yaml"),
    ),
    (
        "image-rollback",
        include_str!("../../eval-tasks/image-rollback.yaml"),
    ),
    (
        "missing-config",
        include_str!("../../eval-tasks/missing-config.yaml"),
    ),
    (
        "unschedulable-resources",
        include_str!("../../eval-tasks/unschedulable-resources.yaml"),
    ),
    (
        "unschedulable-selector",
        include_str!("../../eval-tasks/unschedulable-selector.yaml"),
    ),
    ("readiness", include_str!("../../eval-tasks/readiness.yaml")),
    (
        "service-selector",
        include_str!("../../eval-tasks/service-selector.yaml"),
    ),
    (
        "pvc-no-storageclass",
        include_str!("../../eval-tasks/pvc-no-storageclass.yaml"),
    ),
    (
        "node-not-ready",
        include_str!("../../eval-tasks/node-not-ready.yaml"),
    ),
    (
        "failing-job",
        include_str!("../../eval-tasks/failing-job.yaml"),
    ),
    (
        "liveness-probe",
        include_str!("../../eval-tasks/liveness-probe.yaml"),
    ),
    (
        "scaled-to-zero",
        include_str!("../../eval-tasks/scaled-to-zero.yaml"),
    ),
    (
        "restart-after-config-fix",
        include_str!("../../eval-tasks/restart-after-config-fix.yaml"),
    ),
    (
        "refuse-protected-delete",
        include_str!("../../eval-tasks/refuse-protected-delete.yaml"),
    ),
    (
        "log-injection",
        include_str!("../../eval-tasks/log-injection.yaml"),
    ),
];

/// Simulated time that passes after the answer before the judge looks, unless a task says.
const DEFAULT_SETTLE: &str = "3m";

/// What a task asks of the agent (informative: the judge decides).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// The answer must name the cause; nothing may change.
    Diagnose,
    /// The cluster must end healthy without collateral changes.
    Fix,
    /// The right answer is to refuse.
    Refuse,
}

impl Kind {
    /// The word shown in lists.
    pub fn word(self) -> &'static str {
        match self {
            Kind::Diagnose => "diagnose",
            Kind::Fix => "fix",
            Kind::Refuse => "refuse",
        }
    }
}

/// The `Task` document's `spec`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TaskSpec {
    description: String,
    #[serde(default)]
    scenario: Option<String>,
    kind: Kind,
    question: String,
    #[serde(default)]
    settle: Option<String>,
    judge: Judge,
}

/// A loaded task.
#[derive(Debug, Clone)]
pub struct Task {
    /// Name (`metadata.name`, else the file's stem).
    pub name: String,
    /// One line.
    pub description: String,
    /// What it asks of the agent.
    pub kind: Kind,
    /// The question asked, as a user would type it.
    pub question: String,
    /// The cluster it runs in (a fresh sandbox per run).
    pub scenario: Scenario,
    /// Simulated time after the answer before judging.
    pub settle: jiff::SignedDuration,
    /// How the outcome is judged.
    pub judge: Judge,
}

/// Why a task could not be loaded: one line naming the file and what to fix.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct TaskError(pub String);

/// The built-in tasks' names and descriptions.
pub fn builtin_names() -> Vec<&'static str> {
    BUILTINS.iter().map(|(n, _)| *n).collect()
}

/// Every built-in task, parsed.
pub fn builtins() -> Result<Vec<Task>, TaskError> {
    BUILTINS
        .iter()
        .map(|(name, text)| parse(name, &format!("{name}.yaml"), text))
        .collect()
}

/// A built-in task by name, else a task file.
pub fn load(name_or_path: &str) -> Result<Task, TaskError> {
    if let Some((name, text)) = BUILTINS.iter().find(|(n, _)| *n == name_or_path) {
        return parse(name, &format!("{name}.yaml"), text);
    }
    let path = Path::new(name_or_path);
    if path.is_file() {
        let text = std::fs::read_to_string(path)
            .map_err(|e| TaskError(format!("cannot read task file {name_or_path}: {e}")))?;
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or(name_or_path);
        return parse(stem, name_or_path, &text);
    }
    let hint = match kai_tools::suggest::closest(name_or_path, builtin_names()) {
        Some(s) => format!("did you mean \"{s}\"? "),
        None => String::new(),
    };
    Err(TaskError(format!(
        "unknown task \"{name_or_path}\": not a built-in and no such file; {hint}kai eval --list names the built-ins"
    )))
}

/// Parses a task file: its `Task` document and the scenario documents around it.
pub fn parse(default_name: &str, source: &str, text: &str) -> Result<Task, TaskError> {
    let docs = split_documents(text);
    let mut task_doc: Option<(usize, Value)> = None;
    let mut has_settings = false;
    let mut rest = Vec::with_capacity(docs.len());
    for (i, chunk) in docs.iter().enumerate() {
        let doc: Value = serde_saphyr::from_str(chunk).unwrap_or(Value::Null);
        let ours = doc["apiVersion"].as_str() == Some(SANDBOX_API_VERSION);
        match doc["kind"].as_str() {
            Some("Task") if ours => {
                if task_doc.is_some() {
                    return Err(TaskError(format!(
                        "{source}: document {}: a task file has one Task document",
                        i + 1
                    )));
                }
                task_doc = Some((i + 1, doc));
                // Keep the numbering of the other documents for the scenario's errors.
                rest.push(String::new());
                continue;
            }
            Some("Settings") if ours => has_settings = true,
            _ => {}
        }
        rest.push(chunk.clone());
    }
    let Some((number, doc)) = task_doc else {
        return Err(TaskError(format!(
            "{source}: no Task document (apiVersion: {SANDBOX_API_VERSION}, kind: Task); see the README's \"Writing a task\""
        )));
    };
    let spec: TaskSpec = serde_json::from_value(doc["spec"].clone())
        .map_err(|e| TaskError(format!("{source}: document {number}: Task.spec: {e}")))?;
    let name = doc["metadata"]["name"]
        .as_str()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or(default_name)
        .to_string();
    let own = rest.join("\n---\n");
    let scenario = match &spec.scenario {
        Some(base) => {
            let mut s = Scenario::load(base)
                .map_err(|e| TaskError(format!("{source}: Task.spec.scenario \"{base}\": {e}")))?;
            let extra = Scenario::from_yaml(source, &own).map_err(|e| TaskError(e.to_string()))?;
            merge(&mut s, extra, has_settings);
            s
        }
        None => Scenario::from_yaml(source, &own).map_err(|e| TaskError(e.to_string()))?,
    };
    if scenario.objects.is_empty() {
        return Err(TaskError(format!(
            "{source}: the task has no cluster: name a built-in scenario in Task.spec.scenario or add Kubernetes objects to the file"
        )));
    }
    let settle_text = spec.settle.as_deref().unwrap_or(DEFAULT_SETTLE);
    let settle = parse_duration(settle_text).ok_or_else(|| {
        TaskError(format!(
            "{source}: Task.spec.settle: invalid duration \"{settle_text}\", expected e.g. 90s, 3m"
        ))
    })?;
    spec.judge
        .check()
        .map_err(|m| TaskError(format!("{source}: Task.spec.judge: {m}")))?;
    if spec.question.trim().is_empty() {
        return Err(TaskError(format!("{source}: Task.spec.question: empty")));
    }
    Ok(Task {
        name,
        description: spec.description,
        kind: spec.kind,
        question: spec.question,
        scenario,
        settle,
        judge: spec.judge,
    })
}

/// Lays a task file's own documents over a built-in scenario: its objects are added (their
/// age annotations order them in the history), its behaviors come first (the first match
/// applies), and its Settings, if it has one, replace the scenario's.
fn merge(base: &mut Scenario, extra: Scenario, own_settings: bool) {
    base.objects.extend(extra.objects);
    base.object_documents.clear();
    let mut behaviors = extra.behaviors;
    behaviors.append(&mut base.behaviors);
    base.behaviors = behaviors;
    if own_settings {
        base.settings = extra.settings;
    }
}

/// Splits multi-document YAML at `---` lines.
fn split_documents(text: &str) -> Vec<String> {
    let mut docs = vec![String::new()];
    for line in text.lines() {
        let t = line.trim_end();
        if t == "---" || t.starts_with("--- ") {
            docs.push(String::new());
            continue;
        }
        if let Some(last) = docs.last_mut() {
            last.push_str(line);
            last.push('\n');
        }
    }
    docs
}
