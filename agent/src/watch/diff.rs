//! The open findings of a watch and what a new diagnosis pass changed: opened, changed or
//! resolved, per finding (kind, namespace, name, reason).

use std::collections::{BTreeMap, BTreeSet};

use kai_tools::diagnosis::Finding;
use serde::Serialize;

/// What happened to a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transition {
    /// New since the last pass.
    Opened,
    /// Still open, with another severity or wording (counts alone do not count).
    Changed,
    /// Gone.
    Resolved,
}

impl Transition {
    /// `opened`, `changed`, `resolved`.
    pub fn as_str(self) -> &'static str {
        match self {
            Transition::Opened => "opened",
            Transition::Changed => "changed",
            Transition::Resolved => "resolved",
        }
    }
}

/// One line of output: a transition and the finding (as it is now; as it was for `resolved`).
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Opened, changed or resolved.
    pub transition: Transition,
    /// The finding.
    pub finding: Finding,
}

/// Which findings a diagnosis pass speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Covered {
    /// The whole scope of the watch.
    All,
    /// These namespaces (and cluster-scoped objects, which every pass sees).
    Namespaces(BTreeSet<String>),
}

impl Covered {
    /// Whether the pass looked where `f` is.
    pub fn covers(&self, f: &Finding) -> bool {
        match self {
            Covered::All => true,
            Covered::Namespaces(set) => f.namespace.is_empty() || set.contains(&f.namespace),
        }
    }
}

/// A finding's identity across passes: kind, namespace, name, reason.
pub type Key = (String, String, String, String);

/// The identity of `f`.
pub fn key(f: &Finding) -> Key {
    (
        f.kind.clone(),
        f.namespace.clone(),
        f.name.clone(),
        f.reason.clone(),
    )
}

/// A message without its numbers: a restart count that grows is not a new line each pass.
fn shape(message: &str) -> String {
    message.chars().filter(|c| !c.is_ascii_digit()).collect()
}

/// The findings open now.
#[derive(Debug, Default)]
pub struct Open {
    findings: BTreeMap<Key, Finding>,
}

impl Open {
    /// Replaces the findings a pass covered with what it found; returns the transitions,
    /// resolved first, then opened and changed, in the findings' order.
    pub fn apply(&mut self, covered: &Covered, found: Vec<Finding>) -> Vec<Change> {
        let mut fresh: BTreeMap<Key, Finding> = BTreeMap::new();
        let mut order = Vec::new();
        for f in found {
            let k = key(&f);
            if let std::collections::btree_map::Entry::Vacant(e) = fresh.entry(k.clone()) {
                order.push(k);
                e.insert(f);
            }
        }
        let gone: Vec<Key> = self
            .findings
            .iter()
            .filter(|(k, f)| covered.covers(f) && !fresh.contains_key(*k))
            .map(|(k, _)| k.clone())
            .collect();
        let mut out = Vec::new();
        for k in gone {
            if let Some(f) = self.findings.remove(&k) {
                out.push(Change {
                    transition: Transition::Resolved,
                    finding: f,
                });
            }
        }
        for k in order {
            let Some(f) = fresh.remove(&k) else { continue };
            let transition = match self.findings.get(&k) {
                None => Some(Transition::Opened),
                Some(old)
                    if old.severity != f.severity || shape(&old.message) != shape(&f.message) =>
                {
                    Some(Transition::Changed)
                }
                Some(_) => None,
            };
            if let Some(t) = transition {
                out.push(Change {
                    transition: t,
                    finding: f.clone(),
                });
            }
            self.findings.insert(k, f);
        }
        out
    }

    /// The open findings.
    pub fn iter(&self) -> impl Iterator<Item = &Finding> {
        self.findings.values()
    }
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
