//! Write tools: `restart` (rollout restart, or delete a pod), `scale` (the scale subresource)
//! and `rollout_undo` (back to a previous ReplicaSet's template, as kubectl does). Each has a
//! plan checked by a server-side dry run before anyone approves it.

use kube::api::{DeleteParams, Patch, PatchParams};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::cluster::Cluster;
use crate::contract::{Effect, ToolOutput, WritePlan};
use crate::error::ToolError;
use crate::k8s::{self, at, s};
use crate::kinds::Kind;
use crate::tools::describe::replica_sets_of;
use crate::tools::list_resources::images;
use crate::tools::{Tool, WriteTool};

/// The annotation `kubectl rollout restart` sets on the pod template.
pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";
/// The annotation holding a deployment's and a ReplicaSet's revision.
pub const REVISION: &str = "deployment.kubernetes.io/revision";
/// Most replicas `scale` accepts, a guard against a model's typo.
pub const MAX_REPLICAS: i64 = 1000;

/// Kinds `restart` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RestartKind {
    /// Rollout restart of a deployment.
    #[serde(alias = "deploy", alias = "deployments", alias = "Deployment")]
    Deployment,
    /// Rollout restart of a stateful set.
    #[serde(alias = "sts", alias = "statefulsets", alias = "StatefulSet")]
    Statefulset,
    /// Rollout restart of a daemon set.
    #[serde(alias = "ds", alias = "daemonsets", alias = "DaemonSet")]
    Daemonset,
    /// Delete one pod (its controller replaces it).
    #[serde(alias = "po", alias = "pods", alias = "Pod")]
    Pod,
}

impl RestartKind {
    fn kind(self) -> Kind {
        match self {
            RestartKind::Deployment => Kind::Deployment,
            RestartKind::Statefulset => Kind::StatefulSet,
            RestartKind::Daemonset => Kind::DaemonSet,
            RestartKind::Pod => Kind::Pod,
        }
    }
}

/// Kinds `scale` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ScaleKind {
    /// A deployment.
    #[serde(alias = "deploy", alias = "deployments", alias = "Deployment")]
    Deployment,
    /// A stateful set.
    #[serde(alias = "sts", alias = "statefulsets", alias = "StatefulSet")]
    Statefulset,
}

impl ScaleKind {
    fn kind(self) -> Kind {
        match self {
            ScaleKind::Deployment => Kind::Deployment,
            ScaleKind::Statefulset => Kind::StatefulSet,
        }
    }
}

/// Kinds `rollout_undo` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum UndoKind {
    /// A deployment.
    #[serde(alias = "deploy", alias = "deployments", alias = "Deployment")]
    Deployment,
}

/// Arguments of `restart`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestartArgs {
    /// deployment, statefulset or daemonset (rollout restart: pods replaced gradually), or pod
    /// (the pod is deleted and its controller creates a new one).
    pub kind: RestartKind,
    /// Name of the object.
    pub name: String,
    /// Namespace; defaults to the current namespace.
    #[serde(default)]
    pub namespace: Option<String>,
}

/// Arguments of `scale`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScaleArgs {
    /// deployment or statefulset.
    pub kind: ScaleKind,
    /// Name of the object.
    pub name: String,
    /// Namespace; defaults to the current namespace.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Wanted number of replicas (0 stops every pod).
    pub replicas: i64,
}

/// Arguments of `rollout_undo`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RolloutUndoArgs {
    /// deployment.
    pub kind: UndoKind,
    /// Name of the deployment.
    pub name: String,
    /// Namespace; defaults to the current namespace.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Revision to return to; defaults to the previous one.
    #[serde(default)]
    pub to_revision: Option<i64>,
}

fn invalid(tool: &str, message: impl Into<String>) -> ToolError {
    ToolError::InvalidArguments {
        tool: tool.to_string(),
        message: message.into(),
    }
}

fn target_name<'a>(tool: &str, name: &'a str) -> Result<&'a str, ToolError> {
    let n = name.trim();
    let n = n.rsplit_once('/').map_or(n, |(_, n)| n);
    if n.is_empty() {
        return Err(invalid(tool, "name must not be empty"));
    }
    Ok(n)
}

fn plan(
    tool: &str,
    kind: Kind,
    ns: &str,
    name: &str,
    summary: String,
    warnings: Vec<String>,
) -> WritePlan {
    WritePlan {
        tool: tool.to_string(),
        kind: kind.as_str().to_string(),
        namespace: ns.to_string(),
        name: name.to_string(),
        summary,
        warnings,
    }
}

fn output(p: &WritePlan, done: String) -> ToolOutput {
    ToolOutput {
        text: format!("{done}\n"),
        json: json!({
            "tool": p.tool,
            "kind": p.kind,
            "namespace": p.namespace,
            "name": p.name,
            "summary": p.summary,
            "warnings": p.warnings,
            "result": done,
        }),
    }
}

fn params(dry_run: bool) -> PatchParams {
    let pp = PatchParams::default();
    if dry_run { pp.dry_run() } else { pp }
}

/// The `restart` tool.
pub struct Restart;

impl Restart {
    async fn apply(
        cluster: &Cluster,
        args: &RestartArgs,
        dry_run: bool,
    ) -> Result<WritePlan, ToolError> {
        let kind = args.kind.kind();
        let ns = cluster.ns(args.namespace.as_deref()).to_string();
        let name = target_name(Self::NAME, &args.name)?;
        let obj = k8s::get(cluster, kind, &ns, name).await?;
        let mut warnings = Vec::new();
        let summary = if kind == Kind::Pod {
            let owner = k8s::controller(&obj);
            if owner.is_none() {
                warnings.push(format!(
                    "pod {ns}/{name} has no controller: deleting it does not bring it back"
                ));
            }
            let dp = if dry_run {
                DeleteParams::default().dry_run()
            } else {
                DeleteParams::default()
            };
            k8s::delete(cluster, kind, &ns, name, &dp).await?;
            match owner {
                Some((k, n)) => format!(
                    "restart pod {ns}/{name}: delete the pod ({} {n} creates a new one)",
                    k.to_ascii_lowercase()
                ),
                None => format!("restart pod {ns}/{name}: delete the pod (nothing recreates it)"),
            }
        } else {
            if at(&obj, &["spec", "paused"]).and_then(Value::as_bool) == Some(true) {
                return Err(ToolError::Api(format!(
                    "{kind} {ns}/{name} is paused; resume it (kubectl rollout resume) before restarting"
                )));
            }
            let now = jiff::Timestamp::now()
                .strftime("%Y-%m-%dT%H:%M:%SZ")
                .to_string();
            let patch =
                json!({"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}}});
            k8s::patch(
                cluster,
                kind,
                &ns,
                name,
                &params(dry_run),
                &Patch::Strategic(patch),
            )
            .await?;
            let how = match kind {
                Kind::StatefulSet => "pods replaced one by one, highest ordinal first",
                Kind::DaemonSet => "pods replaced node by node",
                _ if s(&obj, &["spec", "strategy", "type"]) == "Recreate" => {
                    warnings.push(format!(
                        "deployment {ns}/{name} uses the Recreate strategy: every pod stops before new ones start"
                    ));
                    "all pods stopped, then recreated"
                }
                _ => "pods replaced one by one",
            };
            format!("restart {kind} {ns}/{name}: new rollout ({how})")
        };
        Ok(plan(Self::NAME, kind, &ns, name, summary, warnings))
    }
}

impl Tool for Restart {
    const NAME: &'static str = "restart";
    const EFFECT: Effect = Effect::Write;
    type Args = RestartArgs;

    fn description() -> &'static str {
        "Restart a workload: rollout restart of a deployment, statefulset or daemonset (pods replaced gradually), or delete a pod so its controller recreates it. Needs approval."
    }

    async fn run(cluster: &Cluster, args: RestartArgs) -> Result<ToolOutput, ToolError> {
        let p = Self::apply(cluster, &args, false).await?;
        let done = p.summary.replacen("restart ", "restarted ", 1);
        Ok(output(&p, done))
    }
}

impl WriteTool for Restart {
    async fn plan(cluster: &Cluster, args: &RestartArgs) -> Result<WritePlan, ToolError> {
        Self::apply(cluster, args, true).await
    }
}

/// The `scale` tool.
pub struct Scale;

impl Scale {
    async fn apply(
        cluster: &Cluster,
        args: &ScaleArgs,
        dry_run: bool,
    ) -> Result<WritePlan, ToolError> {
        let kind = args.kind.kind();
        let ns = cluster.ns(args.namespace.as_deref()).to_string();
        let name = target_name(Self::NAME, &args.name)?;
        if !(0..=MAX_REPLICAS).contains(&args.replicas) {
            return Err(invalid(
                Self::NAME,
                format!(
                    "replicas must be between 0 and {MAX_REPLICAS}, got {}",
                    args.replicas
                ),
            ));
        }
        let api = k8s::api(cluster, kind, Some(&ns));
        let resource = format!("{}/scale", kind.plural());
        let current = match api.get_scale(name).await {
            Ok(sc) => sc.spec.and_then(|s| s.replicas).unwrap_or(0),
            Err(kube::Error::Api(st)) if st.code == 404 => {
                return Err(k8s::not_found(cluster, kind, Some(&ns), name).await);
            }
            Err(e) => {
                return Err(ToolError::from_kube(
                    e,
                    cluster,
                    "get",
                    &resource,
                    Some(&ns),
                ));
            }
        };
        let patch = json!({"spec": {"replicas": args.replicas}});
        let after = api
            .patch_scale(name, &params(dry_run), &Patch::Merge(&patch))
            .await
            .map_err(|e| ToolError::from_kube(e, cluster, "patch", &resource, Some(&ns)))?;
        let new = after
            .spec
            .and_then(|s| s.replicas)
            .map_or(args.replicas, i64::from);
        let mut warnings = Vec::new();
        if new == 0 && current > 0 {
            warnings.push(format!(
                "scaling to zero stops every pod of {kind} {ns}/{name}: it serves nothing until scaled up again"
            ));
        }
        let change = if i64::from(current) == new {
            format!("replicas {current} → {new} (no change)")
        } else {
            format!("replicas {current} → {new}")
        };
        Ok(plan(
            Self::NAME,
            kind,
            &ns,
            name,
            format!("scale {kind} {ns}/{name}: {change}"),
            warnings,
        ))
    }
}

impl Tool for Scale {
    const NAME: &'static str = "scale";
    const EFFECT: Effect = Effect::Write;
    type Args = ScaleArgs;

    fn description() -> &'static str {
        "Set the number of replicas of a deployment or statefulset (the scale subresource). Needs approval; scaling to zero stops the service."
    }

    async fn run(cluster: &Cluster, args: ScaleArgs) -> Result<ToolOutput, ToolError> {
        let p = Self::apply(cluster, &args, false).await?;
        let done = p.summary.replacen("scale ", "scaled ", 1);
        Ok(output(&p, done))
    }
}

impl WriteTool for Scale {
    async fn plan(cluster: &Cluster, args: &ScaleArgs) -> Result<WritePlan, ToolError> {
        Self::apply(cluster, args, true).await
    }
}

/// The `rollout_undo` tool.
pub struct RolloutUndo;

/// An RFC 7386 merge patch turning `current` into `target`: changed and new keys set, removed
/// keys set to null, arrays and scalars replaced whole.
pub fn merge_diff(current: &Value, target: &Value) -> Value {
    match (current, target) {
        (Value::Object(c), Value::Object(t)) => {
            let mut out = Map::new();
            for (k, tv) in t {
                match c.get(k) {
                    Some(cv) if cv == tv => {}
                    Some(cv) => {
                        out.insert(k.clone(), merge_diff(cv, tv));
                    }
                    None => {
                        out.insert(k.clone(), tv.clone());
                    }
                }
            }
            for k in c.keys() {
                if !t.contains_key(k) {
                    out.insert(k.clone(), Value::Null);
                }
            }
            Value::Object(out)
        }
        _ => target.clone(),
    }
}

fn revision_of(o: &Value) -> Option<i64> {
    s(o, &["metadata", "annotations", REVISION]).parse().ok()
}

impl RolloutUndo {
    async fn apply(
        cluster: &Cluster,
        args: &RolloutUndoArgs,
        dry_run: bool,
    ) -> Result<WritePlan, ToolError> {
        let kind = Kind::Deployment;
        let ns = cluster.ns(args.namespace.as_deref()).to_string();
        let name = target_name(Self::NAME, &args.name)?;
        let deploy = k8s::get(cluster, kind, &ns, name).await?;
        if at(&deploy, &["spec", "paused"]).and_then(Value::as_bool) == Some(true) {
            return Err(ToolError::Api(format!(
                "deployment {ns}/{name} is paused; resume it (kubectl rollout resume) before rolling back"
            )));
        }
        let rss = replica_sets_of(cluster, &ns, &deploy).await?;
        let revisions: Vec<(i64, &Value)> = rss
            .iter()
            .filter_map(|rs| revision_of(rs).map(|r| (r, rs)))
            .collect();
        let current = revision_of(&deploy)
            .or_else(|| revisions.iter().map(|(r, _)| *r).max())
            .unwrap_or(0);
        let known: Vec<String> = revisions.iter().map(|(r, _)| r.to_string()).collect();
        let target = match args.to_revision {
            Some(r) if r == current => {
                return Err(invalid(
                    Self::NAME,
                    format!("deployment {ns}/{name} is already at revision {r}"),
                ));
            }
            Some(r) if r > 0 => revisions.iter().find(|(rev, _)| *rev == r).ok_or_else(|| {
                invalid(
                    Self::NAME,
                    format!(
                        "deployment {ns}/{name} has no revision {r}; revisions: {}",
                        if known.is_empty() { "none".into() } else { known.join(", ") }
                    ),
                )
            })?,
            Some(r) => {
                return Err(invalid(Self::NAME, format!("to_revision must be 1 or more, got {r}")));
            }
            None => revisions
                .iter()
                .filter(|(rev, _)| *rev < current)
                .max_by_key(|(rev, _)| *rev)
                .ok_or_else(|| {
                    ToolError::Api(format!(
                        "deployment {ns}/{name} has no previous revision to roll back to (revisions: {})",
                        if known.is_empty() { "none".into() } else { known.join(", ") }
                    ))
                })?,
        };
        let (target_rev, rs) = (target.0, target.1);
        let mut template = at(rs, &["spec", "template"]).cloned().unwrap_or(json!({}));
        if let Some(labels) = template
            .get_mut("metadata")
            .and_then(|m| m.get_mut("labels"))
            .and_then(Value::as_object_mut)
        {
            labels.remove("pod-template-hash");
        }
        let current_template = at(&deploy, &["spec", "template"])
            .cloned()
            .unwrap_or(json!({}));
        let cur_images = images(at(&deploy, &["spec", "template", "spec"]));
        let target_images = images(at(&template, &["spec"]));
        let diff = merge_diff(&current_template, &template);
        let patch = json!({"spec": {"template": diff}});
        k8s::patch(
            cluster,
            kind,
            &ns,
            name,
            &params(dry_run),
            &Patch::Merge(patch),
        )
        .await?;
        let summary = format!(
            "rollback deployment {ns}/{name}: revision {current} ({cur_images}) → revision {target_rev} ({target_images})"
        );
        let warnings = vec![format!(
            "rolling back replaces the pods of deployment {ns}/{name} with revision {target_rev}'s template ({target_images})"
        )];
        Ok(plan(Self::NAME, kind, &ns, name, summary, warnings))
    }
}

impl Tool for RolloutUndo {
    const NAME: &'static str = "rollout_undo";
    const EFFECT: Effect = Effect::Write;
    type Args = RolloutUndoArgs;

    fn description() -> &'static str {
        "Roll a deployment back to its previous revision (or to_revision), like `kubectl rollout undo`. Needs approval."
    }

    async fn run(cluster: &Cluster, args: RolloutUndoArgs) -> Result<ToolOutput, ToolError> {
        let p = Self::apply(cluster, &args, false).await?;
        let done = p.summary.replacen("rollback ", "rolled back ", 1);
        Ok(output(&p, done))
    }
}

impl WriteTool for RolloutUndo {
    async fn plan(cluster: &Cluster, args: &RolloutUndoArgs) -> Result<WritePlan, ToolError> {
        Self::apply(cluster, args, true).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_diff_sets_removed_keys_to_null() {
        let cur = json!({"metadata": {"labels": {"app": "b"}, "annotations": {RESTARTED_AT: "x"}},
            "spec": {"containers": [{"name": "b", "image": "shop/backend:1.4.0"}], "nodeSelector": {"a": "1"}}});
        let target = json!({"metadata": {"labels": {"app": "b"}},
            "spec": {"containers": [{"name": "b", "image": "shop/backend:1.3.2"}]}});
        let d = merge_diff(&cur, &target);
        assert_eq!(d["metadata"]["annotations"], Value::Null);
        assert!(d["metadata"].get("labels").is_none());
        assert_eq!(d["spec"]["containers"][0]["image"], "shop/backend:1.3.2");
        assert_eq!(d["spec"]["nodeSelector"], Value::Null);
    }

    #[test]
    fn kinds_accept_kubectl_names() {
        let a: RestartArgs =
            serde_json::from_value(json!({"kind": "deploy", "name": "x"})).unwrap();
        assert_eq!(a.kind, RestartKind::Deployment);
        let a: ScaleArgs =
            serde_json::from_value(json!({"kind": "sts", "name": "x", "replicas": 2})).unwrap();
        assert_eq!(a.kind, ScaleKind::Statefulset);
        let e = serde_json::from_value::<ScaleArgs>(
            json!({"kind": "daemonset", "name": "x", "replicas": 2}),
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(e.contains("unknown variant `daemonset`"), "{e}");
    }
}
