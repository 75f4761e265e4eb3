//! kubectl's `-A` and `-l` on questions: the scope a user gave on the command line, laid over
//! every tool call that takes it and told to the model.

use kai_tools::ToolOutput;
use serde_json::{Value, json};

use crate::offline::{CallError, Runner};

use crate::cli::Global;

/// The command line's scope beyond the namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// `-A/--all-namespaces`.
    pub all_namespaces: bool,
    /// `-l/--selector`.
    pub selector: Option<String>,
}

impl Scope {
    /// The scope of a run's flags.
    pub fn of(global: &Global) -> Scope {
        Scope {
            all_namespaces: global.all_namespaces,
            selector: global.label_selector().map(str::to_string),
        }
    }

    /// Whether the flags narrowed or widened nothing.
    pub fn is_empty(&self) -> bool {
        !self.all_namespaces && self.selector.is_none()
    }

    /// Lays the scope over one call's arguments, where the tool takes it: `-A` replaces the
    /// default namespace (a namespace the question named stays), `-l` fills an unset selector.
    pub fn apply(&self, tool: &str, args: &mut Value, default_namespace: &str) {
        if self.is_empty() {
            return;
        }
        let Some(spec) = kai_tools::spec(tool) else {
            return;
        };
        let takes = |p: &str| spec.parameters["properties"].get(p).is_some();
        let Some(obj) = args.as_object_mut() else {
            return;
        };
        if self.all_namespaces && takes("all_namespaces") {
            let named = obj
                .get("namespace")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty() && *n != default_namespace);
            if named.is_none() {
                obj.remove("namespace");
                obj.insert("all_namespaces".into(), json!(true));
            }
        }
        if let Some(sel) = &self.selector
            && takes("label_selector")
            && obj.get("label_selector").is_none_or(Value::is_null)
        {
            obj.insert("label_selector".into(), json!(sel));
        }
    }

    /// The scope in words for the model, appended to the question; None when empty.
    pub fn note(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.all_namespaces {
            parts.push("all namespaces (use all_namespaces=true)".to_string());
        }
        if let Some(sel) = &self.selector {
            parts.push(format!(
                "only objects with labels {sel} (pass label_selector=\"{sel}\")"
            ));
        }
        (!parts.is_empty()).then(|| format!("[kubectl flags given: {}]", parts.join("; ")))
    }
}

/// A runner of the offline path that lays the command line's scope over every call.
pub struct Scoped<'a, R> {
    /// The runner that makes the calls.
    pub inner: &'a mut R,
    /// The scope to lay over them.
    pub scope: Scope,
    /// The namespace a call names when the question named none.
    pub default_namespace: String,
}

impl<R: Runner> Runner for Scoped<'_, R> {
    async fn call(&mut self, tool: &str, mut args: Value) -> Result<ToolOutput, CallError> {
        self.scope.apply(tool, &mut args, &self.default_namespace);
        self.inner.call(tool, args).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(all: bool, sel: Option<&str>) -> Scope {
        Scope {
            all_namespaces: all,
            selector: sel.map(str::to_string),
        }
    }

    #[test]
    fn all_namespaces_replaces_the_default_namespace_only() {
        let s = scope(true, None);
        let mut a = json!({"namespace": "shop"});
        s.apply("list_pods", &mut a, "shop");
        assert_eq!(a, json!({"all_namespaces": true}));
        let mut a = json!({"namespace": "web"});
        s.apply("list_pods", &mut a, "shop");
        assert_eq!(a, json!({"namespace": "web"}), "a named namespace stays");
        let mut a = json!({"kind": "deployment", "name": "x", "namespace": "shop"});
        s.apply("describe", &mut a, "shop");
        assert_eq!(a["namespace"], "shop", "describe takes no all_namespaces");
    }

    #[test]
    fn selector_fills_tools_that_take_it() {
        let s = scope(false, Some("app=web"));
        let mut a = json!({"kind": "deployments"});
        s.apply("list_resources", &mut a, "shop");
        assert_eq!(a["label_selector"], "app=web");
        let mut a = json!({"namespace": "shop"});
        s.apply("diagnose", &mut a, "shop");
        assert!(a.get("label_selector").is_none());
        assert!(s.note().unwrap_or_default().contains("app=web"));
        assert_eq!(scope(false, None).note(), None);
    }
}
