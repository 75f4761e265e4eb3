//! Scenarios: multi-document Kubernetes YAML plus sandbox documents (`Behavior`, `Settings`),
//! from a file or built into the binary. The format is documented in `sandbox/SCENARIOS.md`.

mod documents;
mod duration;

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

pub use documents::{
    ApiCall, Behavior, ClientStyle, ConfigMapKey, Connect, PeriodicLogs, Readiness, Requirement,
    Selector, Settings, StartError, StartErrorReason, When,
};
pub use duration::parse_duration;

use crate::SandboxError;
use crate::resources::by_kind;

/// The `apiVersion` of the sandbox's own documents.
pub const SANDBOX_API_VERSION: &str = "sandbox.kai.dev/v1";

/// A parsed scenario: the objects to load and how the simulated cluster behaves.
#[derive(Debug, Clone, Default)]
pub struct Scenario {
    /// Name: the built-in's name or the file's stem.
    pub name: String,
    /// One-line description.
    pub description: String,
    /// Where it came from, for errors: the file name, or `NAME.yaml` for a built-in.
    pub source: String,
    /// Kubernetes objects, in file order.
    pub objects: Vec<Value>,
    /// The document number (1-based) each of `objects` came from, for errors; may be empty
    /// for scenarios built in code.
    pub object_documents: Vec<usize>,
    /// The scenario's `Settings` document.
    pub settings: Settings,
    /// The scenario's `Behavior` documents, in file order (the first that matches applies).
    pub behaviors: Vec<Behavior>,
    /// Pods of a generated cluster ([`Scenario::generated`]), made while loading a namespace
    /// at a time so a large cluster is never held whole as trees; 0 for none.
    pub generated_pods: usize,
}

/// A sandbox document: `apiVersion`, `kind`, `metadata`, `spec`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc<T> {
    #[serde(rename = "apiVersion")]
    _api_version: String,
    #[serde(rename = "kind")]
    _kind: String,
    #[serde(default)]
    metadata: DocMeta,
    spec: T,
}

#[derive(Debug, Default, Deserialize)]
struct DocMeta {
    #[serde(default)]
    name: String,
}

const BUILTINS: &[(&str, &str)] = &[
    ("demo", include_str!("../scenarios/demo.yaml")),
    ("healthy", include_str!("../scenarios/healthy.yaml")),
    ("crashloop", include_str!("../scenarios/crashloop.yaml")),
    ("oom", include_str!("../scenarios/oom.yaml")),
    ("image-pull", include_str!("../scenarios/image-pull.yaml")),
    (
        "missing-config",
        include_str!("../scenarios/missing-config.yaml"),
    ),
    (
        "unschedulable-resources",
        include_str!("../scenarios/unschedulable-resources.yaml"),
    ),
    (
        "unschedulable-selector",
        include_str!("../scenarios/unschedulable-selector.yaml"),
    ),
    ("readiness", include_str!("../scenarios/readiness.yaml")),
    (
        "service-selector",
        include_str!("../scenarios/service-selector.yaml"),
    ),
    (
        "pvc-no-storageclass",
        include_str!("../scenarios/pvc-no-storageclass.yaml"),
    ),
    (
        "node-not-ready",
        include_str!("../scenarios/node-not-ready.yaml"),
    ),
    ("failing-job", include_str!("../scenarios/failing-job.yaml")),
    (
        "more-failures",
        include_str!("../scenarios/more-failures.yaml"),
    ),
    (
        "liveness-probe",
        include_str!("../scenarios/liveness-probe.yaml"),
    ),
    (
        "start-failure",
        include_str!("../scenarios/start-failure.yaml"),
    ),
    (
        "init-container",
        include_str!("../scenarios/init-container.yaml"),
    ),
    ("dns-failure", include_str!("../scenarios/dns-failure.yaml")),
    (
        "connection-refused",
        include_str!("../scenarios/connection-refused.yaml"),
    ),
    (
        "network-policy",
        include_str!("../scenarios/network-policy.yaml"),
    ),
    (
        "rbac-forbidden",
        include_str!("../scenarios/rbac-forbidden.yaml"),
    ),
    ("disk-full", include_str!("../scenarios/disk-full.yaml")),
    (
        "resource-quota",
        include_str!("../scenarios/resource-quota.yaml"),
    ),
    ("limit-range", include_str!("../scenarios/limit-range.yaml")),
    (
        "anti-affinity",
        include_str!("../scenarios/anti-affinity.yaml"),
    ),
    (
        "topology-spread",
        include_str!("../scenarios/topology-spread.yaml"),
    ),
    ("gpu", include_str!("../scenarios/gpu.yaml")),
    ("hpa", include_str!("../scenarios/hpa.yaml")),
];

impl Scenario {
    /// Parses multi-document YAML; `source` names the file in errors.
    pub fn from_yaml(source: &str, text: &str) -> Result<Self, SandboxError> {
        let err = |document: usize, message: String| SandboxError::Scenario {
            file: source.to_string(),
            document,
            message,
        };
        let mut scenario = Scenario {
            name: Path::new(source)
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or(source)
                .to_string(),
            source: source.to_string(),
            ..Scenario::default()
        };
        let mut have_settings = false;
        for (n, (first_line, chunk)) in split_documents(text).into_iter().enumerate() {
            let number = n + 1;
            let doc: Value = serde_saphyr::from_str(&chunk).map_err(|e| {
                let line = e
                    .location()
                    .map(|l| format!(" (line {})", l.line() as usize + first_line))
                    .unwrap_or_default();
                let first = e.to_string();
                let first = first.lines().next().unwrap_or("invalid YAML").to_string();
                err(number, format!("{first}{line}"))
            })?;
            if doc.is_null() {
                continue;
            }
            let before = scenario.objects.len();
            scenario
                .add_document(doc, &mut have_settings)
                .map_err(|m| err(number, m))?;
            let added = scenario.objects.len() - before;
            scenario
                .object_documents
                .extend(std::iter::repeat_n(number, added));
        }
        if scenario.description.is_empty() {
            scenario.description = scenario.settings.description.clone().unwrap_or_default();
        }
        Ok(scenario)
    }

    fn add_document(&mut self, doc: Value, have_settings: &mut bool) -> Result<(), String> {
        if !doc.is_object() {
            return Err("expected a Kubernetes object (a mapping with apiVersion and kind)".into());
        }
        let api_version = doc["apiVersion"]
            .as_str()
            .ok_or("missing field `apiVersion`")?
            .to_string();
        let kind = doc["kind"]
            .as_str()
            .ok_or("missing field `kind`")?
            .to_string();
        if api_version == SANDBOX_API_VERSION {
            return match kind.as_str() {
                "Behavior" => {
                    let d: Doc<Behavior> = typed("Behavior", doc)?;
                    let mut b = d.spec;
                    b.name = d.metadata.name;
                    if b.periodic_logs
                        .as_ref()
                        .is_some_and(|p| p.every_seconds == 0)
                    {
                        return Err(
                            "Behavior.spec.periodicLogs.everySeconds: must be at least 1".into(),
                        );
                    }
                    check_connects(&b)?;
                    self.behaviors.push(b);
                    Ok(())
                }
                "Settings" => {
                    if *have_settings {
                        return Err("a scenario has at most one Settings document".into());
                    }
                    *have_settings = true;
                    let d: Doc<Settings> = typed("Settings", doc)?;
                    if let Some(age) = &d.spec.age
                        && parse_duration(age).is_none()
                    {
                        return Err(format!(
                            "Settings.spec.age: invalid duration \"{age}\", expected e.g. 90s, 30m, 2h, 3d"
                        ));
                    }
                    self.settings = d.spec;
                    Ok(())
                }
                other => Err(format!(
                    "unknown kind \"{other}\" in {SANDBOX_API_VERSION}: expected Behavior or Settings"
                )),
            };
        }
        if kind == "List" || kind.ends_with("List") && doc["items"].is_array() {
            let items = doc["items"].as_array().cloned().unwrap_or_default();
            for (i, item) in items.into_iter().enumerate() {
                self.add_document(item, have_settings)
                    .map_err(|m| format!("items[{i}]: {m}"))?;
            }
            return Ok(());
        }
        if kind == "CustomResourceDefinition" {
            // Its custom resources, later in the scenario, are then known.
            crate::crd::register(&doc);
        }
        if by_kind(&api_version, &kind).is_none()
            && crate::crd::register_schemaless(&api_version, &kind).is_none()
        {
            return Err(format!(
                "kind {kind} ({api_version}) is not served by the sandbox; remove the document or see `kai sandbox --list` for what a scenario may hold"
            ));
        }
        if doc["metadata"]["name"].as_str().is_none_or(str::is_empty)
            && doc["metadata"]["generateName"]
                .as_str()
                .is_none_or(str::is_empty)
        {
            return Err(format!("{kind}.metadata.name: missing"));
        }
        check_pod_counts(&kind, &doc)?;
        if let Some(rt) = by_kind(&api_version, &kind) {
            // The shapes the simulation relies on, as the API server decodes a body; `status`
            // is the scenario's starting state (often partial), so only its being a mapping.
            let name = doc["metadata"]["name"].as_str().unwrap_or("").to_string();
            let mut spec_part = doc.clone();
            let status = spec_part.as_object_mut().and_then(|m| m.remove("status"));
            if status.is_some_and(|s| !s.is_object() && !s.is_null()) {
                return Err(format!("{kind} {name}: status: expected a mapping"));
            }
            crate::validate::check_types(rt, &spec_part).map_err(|e| {
                let first = e.message.lines().next().unwrap_or_default().to_string();
                format!("{kind} {name}: {first}")
            })?;
        }
        self.objects.push(doc);
        Ok(())
    }

    /// A built-in scenario by name.
    pub fn builtin(name: &str) -> Result<Scenario, SandboxError> {
        let (n, text) = BUILTINS
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| SandboxError::UnknownScenario(name.to_string()))?;
        let mut s = Scenario::from_yaml(&format!("{n}.yaml"), text)?;
        s.name = (*n).to_string();
        Ok(s)
    }

    /// The built-in scenarios: name and one-line description.
    pub fn builtins() -> Vec<(&'static str, &'static str)> {
        BUILTINS
            .iter()
            .map(|(n, text)| (*n, description_of(text)))
            .collect()
    }

    /// Reads a scenario file.
    pub fn from_file(path: &Path) -> Result<Scenario, SandboxError> {
        let text = std::fs::read_to_string(path).map_err(|source| SandboxError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let file = path
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or("scenario");
        Scenario::from_yaml(file, &text)
    }

    /// A built-in by name, else a file path.
    pub fn load(name_or_path: &str) -> Result<Scenario, SandboxError> {
        if BUILTINS.iter().any(|(n, _)| *n == name_or_path) {
            return Scenario::builtin(name_or_path);
        }
        let path = Path::new(name_or_path);
        if path.is_file() {
            return Scenario::from_file(path);
        }
        Err(SandboxError::UnknownScenario(name_or_path.to_string()))
    }
}

/// Each `connects` entry names exactly one thing, and a `to` has a port.
fn check_connects(b: &Behavior) -> Result<(), String> {
    for (n, c) in b.connects.iter().enumerate() {
        let given = [c.to.is_some(), c.api.is_some(), c.write.is_some()]
            .iter()
            .filter(|g| **g)
            .count();
        if given != 1 {
            return Err(format!(
                "Behavior.spec.connects[{n}]: give exactly one of `to`, `api`, `write`"
            ));
        }
        if let Some(to) = &c.to
            && to
                .rsplit_once(':')
                .is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err())
        {
            return Err(format!(
                "Behavior.spec.connects[{n}].to: expected host:port, got \"{to}\""
            ));
        }
        if c.every_seconds == Some(0) {
            return Err(format!(
                "Behavior.spec.connects[{n}].everySeconds: must be at least 1"
            ));
        }
    }
    Ok(())
}

/// The description line of a built-in: the `description:` of its Settings document.
fn description_of(text: &'static str) -> &'static str {
    text.lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("description:"))
        .map(|d| d.trim().trim_matches('"'))
        .unwrap_or("")
}

/// Deserialises a sandbox document, naming the field that is wrong.
fn typed<T: serde::de::DeserializeOwned>(kind: &str, doc: Value) -> Result<Doc<T>, String> {
    serde_path_to_error::deserialize(doc).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        if path == "." || path.is_empty() {
            format!("{kind}: {inner}")
        } else {
            format!("{kind}.{path}: {inner}")
        }
    })
}

/// Refuses pod counts the sandbox cannot simulate (it keeps every pod in memory): replicas,
/// parallelism and completions above [`crate::validate::MAX_SIMULATED_REPLICAS`].
fn check_pod_counts(kind: &str, doc: &Value) -> Result<(), String> {
    let max = crate::validate::MAX_SIMULATED_REPLICAS;
    for (pointer, field) in [
        ("/spec/replicas", "spec.replicas"),
        ("/spec/parallelism", "spec.parallelism"),
        ("/spec/completions", "spec.completions"),
        (
            "/spec/jobTemplate/spec/parallelism",
            "spec.jobTemplate.spec.parallelism",
        ),
        (
            "/spec/jobTemplate/spec/completions",
            "spec.jobTemplate.spec.completions",
        ),
    ] {
        if let Some(n) = doc.pointer(pointer)
            && crate::validate::too_many_pods(n)
        {
            return Err(format!(
                "{kind}.{field}: {n} is more than the sandbox simulates (at most {max} pods per workload); lower it"
            ));
        }
    }
    Ok(())
}

/// Splits YAML text into documents at `---` lines; returns each non-empty document with the
/// 0-based line number it starts on.
fn split_documents(text: &str) -> Vec<(usize, String)> {
    let mut docs = Vec::new();
    let mut cur = String::new();
    let mut start = 0;
    let push = |cur: &mut String, start: usize, docs: &mut Vec<(usize, String)>| {
        let meaningful = cur.lines().any(|l| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#')
        });
        if meaningful {
            docs.push((start, std::mem::take(cur)));
        } else {
            cur.clear();
        }
    };
    for (n, line) in text.lines().enumerate() {
        let marker = line == "---" || line.starts_with("--- ") || line.starts_with("---\t");
        let end = line == "..." || line.starts_with("... ");
        if marker || end {
            push(&mut cur, start, &mut docs);
            start = n + 1;
            if marker {
                let rest = line[3..].trim();
                if !rest.is_empty() && !rest.starts_with('#') {
                    cur.push_str(rest);
                    cur.push('\n');
                    start = n;
                }
            }
            continue;
        }
        if cur.is_empty() {
            start = n;
        }
        cur.push_str(line);
        cur.push('\n');
    }
    push(&mut cur, start, &mut docs);
    docs
}

#[cfg(test)]
mod tests;
