//! Line editing for the REPL: completion of commands and cluster names (listed, as a shell
//! does, not cycled), multi-line input.

use std::sync::{Arc, RwLock};

use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Helper};

use super::commands::command_names;

/// The line editor's settings: Tab completes the common prefix, a second Tab lists every
/// candidate (bash's way) instead of cycling through them in place.
pub fn config() -> rustyline::Result<rustyline::Config> {
    Ok(rustyline::Config::builder()
        .auto_add_history(false)
        .max_history_size(1000)?
        .completion_type(rustyline::CompletionType::List)
        .build())
}

/// Names offered by tab completion, refreshed in the background; completion only reads them.
#[derive(Debug, Default, Clone)]
pub struct Names {
    /// Namespaces of the current context.
    pub namespaces: Vec<String>,
    /// Workloads and services of the current namespace.
    pub workloads: Vec<String>,
    /// Contexts of the kubeconfig.
    pub contexts: Vec<String>,
}

/// The rustyline helper of the REPL.
pub struct KaiHelper {
    /// The completion cache, written by the refresh task.
    pub names: Arc<RwLock<Names>>,
}

impl KaiHelper {
    fn candidates(&self, line: &str, pos: usize) -> (usize, Vec<String>) {
        let before = &line[..pos];
        let start = before.rfind(char::is_whitespace).map_or(0, |i| i + 1);
        let word = &before[start..];
        let first = before.split_whitespace().next().unwrap_or("");
        // A poisoned lock only means a refresh panicked; the old names are still good.
        let names = match self.names.read() {
            Ok(n) => n.clone(),
            Err(p) => p.into_inner().clone(),
        };
        let pool: Vec<String> = if start == 0 && word.starts_with('/') {
            command_names().map(str::to_string).collect()
        } else if matches!(first, "/namespace" | "/ns") && start > 0 {
            names.namespaces
        } else if matches!(first, "/context" | "/ctx") && start > 0 {
            names.contexts
        } else if first.starts_with('/') {
            Vec::new()
        } else {
            names
                .workloads
                .into_iter()
                .chain(names.namespaces)
                .collect()
        };
        let mut out: Vec<String> = pool.into_iter().filter(|c| c.starts_with(word)).collect();
        out.sort();
        out.dedup();
        (start, out)
    }
}

impl Completer for KaiHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (start, found) = self.candidates(line, pos);
        Ok((
            start,
            found
                .into_iter()
                .map(|c| Pair {
                    display: c.clone(),
                    replacement: c,
                })
                .collect(),
        ))
    }
}

impl Hinter for KaiHelper {
    type Hint = String;
}

impl Highlighter for KaiHelper {}

impl Validator for KaiHelper {
    /// A line ending in `\` continues on the next line.
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        if ctx.input().trim_end().ends_with('\\') {
            Ok(ValidationResult::Incomplete)
        } else {
            Ok(ValidationResult::Valid(None))
        }
    }
}

impl Helper for KaiHelper {}

/// Joins a multi-line entry: the `\` at each line end becomes a space.
pub fn join_lines(input: &str) -> String {
    input
        .lines()
        .map(|l| l.trim().trim_end_matches('\\').trim())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn helper() -> KaiHelper {
        KaiHelper {
            names: Arc::new(RwLock::new(Names {
                namespaces: vec!["shop".into(), "default".into()],
                workloads: vec!["backend".into(), "frontend".into(), "database".into()],
                contexts: vec!["kind-dev".into(), "prod".into()],
            })),
        }
    }

    #[test]
    fn completes_commands_namespaces_contexts_and_workloads() {
        let h = helper();
        assert_eq!(h.candidates("/na", 3), (0, vec!["/namespace".to_string()]));
        assert_eq!(h.candidates("/ns s", 5), (4, vec!["shop".to_string()]));
        assert_eq!(
            h.candidates("/context p", 10),
            (9, vec!["prod".to_string()])
        );
        assert_eq!(
            h.candidates("why is ba", 9),
            (7, vec!["backend".to_string()])
        );
        assert_eq!(h.candidates("/health x", 9).1, Vec::<String>::new());
    }

    #[test]
    fn multi_line_entries_are_joined() {
        assert_eq!(
            join_lines("why is \\\n backend crashing"),
            "why is backend crashing"
        );
    }
}
