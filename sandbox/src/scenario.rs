//! Scenarios: multi-document Kubernetes YAML plus sandbox documents (`Behavior`, `Settings`),
//! from a file or built into the binary.

use serde_json::Value;

use crate::SandboxError;

/// A parsed scenario: the objects to load and how the simulated cluster behaves.
#[derive(Debug, Clone, Default)]
pub struct Scenario {
    /// Name: the built-in's name or the file's stem.
    pub name: String,
    /// One-line description.
    pub description: String,
    /// Kubernetes objects, in file order.
    pub objects: Vec<Value>,
    /// The scenario's `Settings` document.
    pub settings: Settings,
}

/// Sandbox-wide settings (`apiVersion: sandbox.kai.dev/v1`, `kind: Settings`).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Namespace the kubeconfig context selects.
    pub namespace: Option<String>,
    /// Faults the API server injects.
    pub faults: crate::faults::Faults,
}

impl Scenario {
    /// Parses multi-document YAML; `source` names the file in errors.
    pub fn from_yaml(source: &str, text: &str) -> Result<Self, SandboxError> {
        let docs: Vec<Value> =
            serde_saphyr::from_multiple(text).map_err(|e| SandboxError::Scenario {
                file: source.to_string(),
                document: 1,
                message: e.to_string(),
            })?;
        Ok(Self {
            name: source.to_string(),
            description: String::new(),
            objects: docs.into_iter().filter(|d| !d.is_null()).collect(),
            settings: Settings::default(),
        })
    }
}
