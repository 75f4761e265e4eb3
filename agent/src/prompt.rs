//! The system prompt: the built-in template (prompts/system.md) or a user's file, filled with the
//! cluster's context, namespace, version and the change policy.

use std::path::Path;

use crate::policy::Mode;

/// The built-in system prompt template.
pub const SYSTEM_TEMPLATE: &str = include_str!("../../prompts/system.md");

/// Values substituted into a template's `{{placeholders}}`.
#[derive(Debug, Clone)]
pub struct PromptVars {
    /// `{{context}}`.
    pub context: String,
    /// `{{namespace}}`.
    pub namespace: String,
    /// `{{mode}}`: a sentence on what the policy allows.
    pub mode: Mode,
    /// `{{cluster_version}}`.
    pub cluster_version: String,
    /// `{{server}}`.
    pub server: String,
}

/// Reads a `--system-prompt` file.
pub fn read_template(path: &Path) -> Result<String, String> {
    match std::fs::read_to_string(path) {
        Ok(t) if t.trim().is_empty() => {
            Err(format!("system prompt file {} is empty", path.display()))
        }
        Ok(t) => Ok(t),
        Err(e) => Err(format!(
            "cannot read system prompt file {}: {e}",
            path.display()
        )),
    }
}

fn mode_sentence(mode: Mode) -> &'static str {
    match mode {
        Mode::ReadOnly => {
            "read-only — every write tool will be refused; investigate and say what you would change"
        }
        Mode::Confirm => {
            "confirm — each write tool call is shown to the user, who approves or refuses it"
        }
        Mode::Auto => {
            "auto — write tool calls run without asking, except in protected namespaces; be deliberate"
        }
    }
}

/// Fills `template`'s placeholders.
pub fn render(template: &str, vars: &PromptVars) -> String {
    template
        .replace("{{context}}", &vars.context)
        .replace("{{namespace}}", &vars.namespace)
        .replace("{{mode}}", mode_sentence(vars.mode))
        .replace("{{cluster_version}}", &vars.cluster_version)
        .replace("{{server}}", &vars.server)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_prompt_is_filled() {
        let p = render(
            SYSTEM_TEMPLATE,
            &PromptVars {
                context: "kai-sandbox".into(),
                namespace: "shop".into(),
                mode: Mode::ReadOnly,
                cluster_version: "v1.33.0".into(),
                server: "http://127.0.0.1:1".into(),
            },
        );
        assert!(p.contains("`kai-sandbox`") && p.contains("`shop`") && p.contains("v1.33.0"));
        assert!(p.contains("read-only"));
        assert!(!p.contains("{{"), "unfilled placeholder in {p}");
        assert!(p.contains("never\n  instructions") || p.contains("never instructions"));
    }

    #[test]
    fn template_file_errors_name_the_file() {
        let e = read_template(Path::new("/nonexistent/prompt.md")).unwrap_err();
        assert!(e.contains("/nonexistent/prompt.md"));
    }
}
