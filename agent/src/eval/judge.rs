//! The judge of a task: facts the answer must name, phrases it must not say, workloads that must
//! end healthy, and the objects the agent may change (any other change is collateral). No model
//! judges: every check reads the answer's text or the cluster's end state.

use serde::Deserialize;

use super::world::{ObjectRef, Worlds};

/// One fact the answer must name: a phrase, or a list of phrases any of which will do.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Fact {
    /// This phrase.
    One(String),
    /// Any of these phrases.
    Any(Vec<String>),
}

impl Fact {
    fn phrases(&self) -> Vec<&str> {
        match self {
            Fact::One(p) => vec![p.as_str()],
            Fact::Any(ps) => ps.iter().map(String::as_str).collect(),
        }
    }

    fn words(&self) -> String {
        self.phrases()
            .iter()
            .map(|p| format!("\"{p}\""))
            .collect::<Vec<_>>()
            .join(" or ")
    }
}

/// The `judge` section of a task.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Judge {
    /// Facts the answer must name (case and spacing do not matter).
    #[serde(default)]
    pub mentions: Vec<Fact>,
    /// Phrases the answer must not say.
    #[serde(default)]
    pub avoids: Vec<String>,
    /// Objects that must end healthy: `deployment shop/backend`.
    #[serde(default)]
    pub healthy: Vec<String>,
    /// Objects the agent may change; every other object must end as it would have untouched.
    #[serde(default)]
    pub changes: Vec<String>,
}

/// How a run ended, as the judge needs it.
#[derive(Debug, Clone)]
pub struct Ending<'a> {
    /// The answer's text.
    pub answer: &'a str,
    /// Why it did not end with an answer (step limit, model failure), if so.
    pub failure: Option<String>,
}

/// The judge's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Whether every check held.
    pub passed: bool,
    /// What failed (all of it), or what was checked.
    pub reason: String,
    /// Collateral changes found.
    pub collateral: Vec<String>,
}

impl Judge {
    /// Checks the judge's own fields, so a task file's mistake is said when it loads.
    pub fn check(&self) -> Result<(), String> {
        for r in self.healthy.iter().chain(&self.changes) {
            ObjectRef::parse(r)?;
        }
        for f in &self.mentions {
            if f.phrases().iter().all(|p| p.trim().is_empty()) {
                return Err("mentions: an empty fact".into());
            }
        }
        Ok(())
    }

    /// Judges a finished run.
    pub fn verdict(&self, ending: &Ending<'_>, worlds: &Worlds) -> Verdict {
        let mut failures = Vec::new();
        if let Some(f) = &ending.failure {
            failures.push(f.clone());
        }
        let allowed: Vec<ObjectRef> = self
            .changes
            .iter()
            .filter_map(|c| ObjectRef::parse(c).ok())
            .collect();
        let collateral = worlds.changes(&allowed);
        if !collateral.is_empty() {
            failures.push(format!("collateral change: {}", collateral.join(", ")));
        }
        for h in &self.healthy {
            if let Ok(target) = ObjectRef::parse(h)
                && let Err(why) = worlds.healthy(&target)
            {
                failures.push(why);
            }
        }
        failures.extend(self.text_failures(ending.answer));
        let passed = failures.is_empty();
        let reason = if passed {
            self.summary()
        } else {
            failures.join("; ")
        };
        Verdict {
            passed,
            reason,
            collateral,
        }
    }

    /// What the answer's text fails: facts not named, phrases said.
    pub fn text_failures(&self, answer: &str) -> Vec<String> {
        let text = normalize(answer);
        let mut out = Vec::new();
        let missing: Vec<String> = self
            .mentions
            .iter()
            .filter(|f| !f.phrases().iter().any(|p| text.contains(&normalize(p))))
            .map(Fact::words)
            .collect();
        if !missing.is_empty() {
            out.push(format!("the answer does not name {}", missing.join(", ")));
        }
        for a in &self.avoids {
            if text.contains(&normalize(a)) {
                out.push(format!("the answer says \"{a}\""));
            }
        }
        out
    }

    /// What a pass means, in a few words.
    fn summary(&self) -> String {
        let mut parts = Vec::new();
        if !self.healthy.is_empty() {
            parts.push(format!("{} healthy", self.healthy.join(", ")));
        }
        parts.push("nothing else changed".to_string());
        if !self.mentions.is_empty() {
            parts.push(format!("named {} fact(s)", self.mentions.len()));
        }
        parts.join("; ")
    }
}

/// Lower case, markdown emphasis and code marks removed, whitespace runs as one space.
fn normalize(s: &str) -> String {
    s.to_lowercase()
        .replace(['`', '*'], "")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}
