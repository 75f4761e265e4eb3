//! Write tools: `restart` (rollout restart, or delete a pod), `scale` (the scale subresource)
//! and `rollout_undo` (back to a previous ReplicaSet's template, as kubectl does).
//!
//! Each resolves a concrete plan (target, exact request body, resourceVersion precondition),
//! checked by a server-side dry run; [`execute`] sends exactly that request, and only with an
//! [`Approval`] of it.

use kube::api::{DeleteParams, Patch, PatchParams, Preconditions};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::approval::Approval;
use crate::cluster::Cluster;
use crate::contract::{Effect, PatchType, ToolOutput, WriteAction, WritePlan};
use crate::error::ToolError;
use crate::k8s::{self, at, s};
use crate::kinds::Kind;
use crate::names::{Namespace, ObjectName};
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
    pub name: ObjectName,
    /// Namespace; defaults to the current namespace.
    #[serde(default)]
    pub namespace: Option<Namespace>,
}

/// Arguments of `scale`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScaleArgs {
    /// deployment or statefulset.
    pub kind: ScaleKind,
    /// Name of the object.
    pub name: ObjectName,
    /// Namespace; defaults to the current namespace.
    #[serde(default)]
    pub namespace: Option<Namespace>,
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
    pub name: ObjectName,
    /// Namespace; defaults to the current namespace.
    #[serde(default)]
    pub namespace: Option<Namespace>,
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

/// The namespace of a write: the one given (validated when parsed), else the one the user
/// named for the run, validated here too so a URL is never built from an unchecked name.
fn namespace_of(cluster: &Cluster, given: Option<&Namespace>) -> Result<String, ToolError> {
    match given {
        Some(ns) => Ok(ns.as_str().to_string()),
        None => Namespace::parse(&cluster.namespace)
            .map(|n| n.as_str().to_string())
            .map_err(ToolError::Config),
    }
}

/// The pieces of a plan before its request is fixed.
struct Target<'a> {
    tool: &'static str,
    kind: Kind,
    ns: &'a str,
    name: &'a str,
}

impl Target<'_> {
    fn plan(
        &self,
        resource_version: String,
        action: WriteAction,
        summary: String,
        done: String,
        warnings: Vec<String>,
    ) -> WritePlan {
        WritePlan {
            tool: self.tool.to_string(),
            kind: self.kind.as_str().to_string(),
            namespace: self.ns.to_string(),
            name: self.name.to_string(),
            summary,
            warnings,
            resource_version,
            action,
            done,
        }
    }
}

fn resource_version(obj: &Value) -> String {
    s(obj, &["metadata", "resourceVersion"]).to_string()
}

/// A patch body with the resourceVersion precondition: the server refuses it (409) when the
/// object changed since the plan read it.
fn with_precondition(mut body: Value, rv: &str) -> Value {
    if !rv.is_empty() {
        body["metadata"]["resourceVersion"] = Value::String(rv.to_string());
    }
    body
}

/// Sends a planned request; `dry_run` for the plan's check, else for real.
async fn send(cluster: &Cluster, plan: &WritePlan, dry_run: bool) -> Result<Value, ToolError> {
    match &plan.action {
        WriteAction::Patch {
            kind,
            subresource,
            patch_type,
            body,
        } => {
            let pp = if dry_run {
                PatchParams::default().dry_run()
            } else {
                PatchParams::default()
            };
            let patch = match patch_type {
                PatchType::Merge => Patch::Merge(body.clone()),
                PatchType::Strategic => Patch::Strategic(body.clone()),
            };
            k8s::patch(
                cluster,
                *kind,
                &plan.namespace,
                &plan.name,
                *subresource,
                &pp,
                &patch,
            )
            .await
        }
        WriteAction::Delete { kind, uid } => {
            let mut dp = DeleteParams {
                preconditions: Some(Preconditions {
                    uid: Some(uid.clone()).filter(|u| !u.is_empty()),
                    resource_version: Some(plan.resource_version.clone()).filter(|r| !r.is_empty()),
                }),
                ..DeleteParams::default()
            };
            if dry_run {
                dp = dp.dry_run();
            }
            k8s::delete(cluster, *kind, &plan.namespace, &plan.name, &dp)
                .await
                .map(|()| Value::Null)
        }
    }
}

/// Runs an approved plan: exactly its request, once. The output says what was done.
pub async fn execute(cluster: &Cluster, approval: Approval) -> Result<ToolOutput, ToolError> {
    send(cluster, approval.plan(), false).await?;
    let p = approval.into_plan();
    Ok(ToolOutput {
        text: format!("{}\n", p.done),
        json: json!({
            "tool": p.tool,
            "kind": p.kind,
            "namespace": p.namespace,
            "name": p.name,
            "summary": p.summary,
            "warnings": p.warnings,
            "result": p.done,
        }),
    })
}

/// The `restart` tool.
pub struct Restart;

impl Restart {
    fn delete_pod_plan(t: &Target<'_>, obj: &Value) -> WritePlan {
        let (ns, name) = (t.ns, t.name);
        let owner = k8s::controller(obj);
        let mut warnings = Vec::new();
        if owner.is_none() {
            warnings.push(format!(
                "pod {ns}/{name} has no controller: deleting it does not bring it back"
            ));
        }
        let summary = match owner {
            Some((k, n)) => format!(
                "restart pod {ns}/{name}: delete the pod ({} {n} creates a new one)",
                k.to_ascii_lowercase()
            ),
            None => format!("restart pod {ns}/{name}: delete the pod (nothing recreates it)"),
        };
        let action = WriteAction::Delete {
            kind: Kind::Pod,
            uid: s(obj, &["metadata", "uid"]).to_string(),
        };
        let done = summary.replacen("restart ", "restarted ", 1);
        t.plan(resource_version(obj), action, summary, done, warnings)
    }

    fn rollout_plan(t: &Target<'_>, obj: &Value) -> Result<WritePlan, ToolError> {
        let (kind, ns, name) = (t.kind, t.ns, t.name);
        if at(obj, &["spec", "paused"]).and_then(Value::as_bool) == Some(true) {
            return Err(ToolError::Api(format!(
                "{kind} {ns}/{name} is paused; resume it (kubectl rollout resume) before restarting"
            )));
        }
        let mut warnings = Vec::new();
        let now = jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let rv = resource_version(obj);
        let body = with_precondition(
            json!({"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: now}}}}}),
            &rv,
        );
        let how = match kind {
            Kind::StatefulSet => "pods replaced one by one, highest ordinal first",
            Kind::DaemonSet => "pods replaced node by node",
            _ if s(obj, &["spec", "strategy", "type"]) == "Recreate" => {
                warnings.push(format!(
                    "deployment {ns}/{name} uses the Recreate strategy: every pod stops before new ones start"
                ));
                "all pods stopped, then recreated"
            }
            _ => "pods replaced one by one",
        };
        let summary = format!("restart {kind} {ns}/{name}: new rollout ({how})");
        let done = summary.replacen("restart ", "restarted ", 1);
        let action = WriteAction::Patch {
            kind,
            subresource: None,
            patch_type: PatchType::Strategic,
            body,
        };
        Ok(t.plan(rv, action, summary, done, warnings))
    }
}

impl Tool for Restart {
    const NAME: &'static str = "restart";
    const EFFECT: Effect = Effect::Write;
    type Args = RestartArgs;

    fn description() -> &'static str {
        "Restart a workload: rollout restart of a deployment, statefulset or daemonset (pods replaced gradually), or delete a pod so its controller recreates it. Needs approval."
    }
}

impl WriteTool for Restart {
    fn target(args: &RestartArgs) -> (Kind, Option<String>, String) {
        (
            args.kind.kind(),
            args.namespace.as_ref().map(|n| n.as_str().to_string()),
            args.name.as_str().to_string(),
        )
    }

    async fn plan(cluster: &Cluster, args: &RestartArgs) -> Result<WritePlan, ToolError> {
        let kind = args.kind.kind();
        let ns = namespace_of(cluster, args.namespace.as_ref())?;
        let t = Target {
            tool: Self::NAME,
            kind,
            ns: &ns,
            name: args.name.as_str(),
        };
        let obj = k8s::get(cluster, kind, &ns, t.name).await?;
        let plan = if kind == Kind::Pod {
            Self::delete_pod_plan(&t, &obj)
        } else {
            Self::rollout_plan(&t, &obj)?
        };
        send(cluster, &plan, true).await?;
        Ok(plan)
    }
}

/// The `scale` tool.
pub struct Scale;

impl Tool for Scale {
    const NAME: &'static str = "scale";
    const EFFECT: Effect = Effect::Write;
    type Args = ScaleArgs;

    fn description() -> &'static str {
        "Set the number of replicas of a deployment or statefulset (the scale subresource). Needs approval; scaling to zero stops the service."
    }
}

impl WriteTool for Scale {
    fn target(args: &ScaleArgs) -> (Kind, Option<String>, String) {
        (
            args.kind.kind(),
            args.namespace.as_ref().map(|n| n.as_str().to_string()),
            args.name.as_str().to_string(),
        )
    }

    async fn plan(cluster: &Cluster, args: &ScaleArgs) -> Result<WritePlan, ToolError> {
        let kind = args.kind.kind();
        let ns = namespace_of(cluster, args.namespace.as_ref())?;
        let name = args.name.as_str();
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
        let scale = match api.get_scale(name).await {
            Ok(sc) => sc,
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
        let current = scale.spec.and_then(|s| s.replicas).unwrap_or(0);
        let rv = scale.metadata.resource_version.unwrap_or_default();
        let t = Target {
            tool: Self::NAME,
            kind,
            ns: &ns,
            name,
        };
        let body = with_precondition(json!({"spec": {"replicas": args.replicas}}), &rv);
        let action = WriteAction::Patch {
            kind,
            subresource: Some("scale"),
            patch_type: PatchType::Merge,
            body,
        };
        let mut warnings = Vec::new();
        let new = args.replicas;
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
        let summary = format!("scale {kind} {ns}/{name}: {change}");
        let done = summary.replacen("scale ", "scaled ", 1);
        let plan = t.plan(rv, action, summary, done, warnings);
        let after = send(cluster, &plan, true).await?;
        let dry = at(&after, &["spec", "replicas"]).and_then(Value::as_i64);
        if dry.is_some_and(|d| d != new) {
            return Err(ToolError::Api(format!(
                "the dry run of scale {kind} {ns}/{name} to {new} answered {} replicas; not planning a change the server would not make",
                dry.unwrap_or_default()
            )));
        }
        Ok(plan)
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

fn known_revisions(known: &[String]) -> String {
    if known.is_empty() {
        "none".into()
    } else {
        known.join(", ")
    }
}

impl Tool for RolloutUndo {
    const NAME: &'static str = "rollout_undo";
    const EFFECT: Effect = Effect::Write;
    type Args = RolloutUndoArgs;

    fn description() -> &'static str {
        "Roll a deployment back to its previous revision (or to_revision), like `kubectl rollout undo`. Needs approval."
    }
}

impl WriteTool for RolloutUndo {
    fn target(args: &RolloutUndoArgs) -> (Kind, Option<String>, String) {
        (
            Kind::Deployment,
            args.namespace.as_ref().map(|n| n.as_str().to_string()),
            args.name.as_str().to_string(),
        )
    }

    async fn plan(cluster: &Cluster, args: &RolloutUndoArgs) -> Result<WritePlan, ToolError> {
        let kind = Kind::Deployment;
        let ns = namespace_of(cluster, args.namespace.as_ref())?;
        let name = args.name.as_str();
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
                        known_revisions(&known)
                    ),
                )
            })?,
            Some(r) => {
                return Err(invalid(
                    Self::NAME,
                    format!("to_revision must be 1 or more, got {r}"),
                ));
            }
            None => revisions
                .iter()
                .filter(|(rev, _)| *rev < current)
                .max_by_key(|(rev, _)| *rev)
                .ok_or_else(|| {
                    ToolError::Api(format!(
                        "deployment {ns}/{name} has no previous revision to roll back to (revisions: {})",
                        known_revisions(&known)
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
        let rv = resource_version(&deploy);
        let body = with_precondition(
            json!({"spec": {"template": merge_diff(&current_template, &template)}}),
            &rv,
        );
        let summary = format!(
            "rollback deployment {ns}/{name}: revision {current} ({cur_images}) → revision {target_rev} ({target_images})"
        );
        let done = summary.replacen("rollback ", "rolled back ", 1);
        let warnings = vec![format!(
            "rolling back replaces the pods of deployment {ns}/{name} with revision {target_rev}'s template ({target_images})"
        )];
        let t = Target {
            tool: Self::NAME,
            kind,
            ns: &ns,
            name,
        };
        let action = WriteAction::Patch {
            kind,
            subresource: None,
            patch_type: PatchType::Merge,
            body,
        };
        let plan = t.plan(rv, action, summary, done, warnings);
        send(cluster, &plan, true).await?;
        Ok(plan)
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
