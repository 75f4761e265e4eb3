//! The two clusters of one task run: the one the agent works in, and an untouched twin of it
//! that lives through the same simulated time. Both run on a manual clock, so a run is
//! deterministic and takes no real waiting; comparing them tells what the agent changed.

use std::collections::BTreeMap;
use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};
use kai_sandbox::resources::{RESOURCES, ResourceType, by_kind};
use kai_sandbox::{Clock, Sandbox, SandboxOptions, Scenario};
use serde_json::{Map, Value};

use crate::sandbox_cmd::Embedded;

/// Simulated time of one model turn (the cluster moves on while the agent thinks).
pub const TURN_TIME: SignedDuration = SignedDuration::from_secs(10);
/// Simulated time after a change, so the agent can see its effect when it looks again.
pub const WRITE_TIME: SignedDuration = SignedDuration::from_secs(30);

/// Resources whose objects controllers create and replace on their own: never a change the
/// agent made, so they are left out of the comparison (bare pods are checked apart).
const CHURN: &[&str] = &[
    "pods",
    "replicasets.apps",
    "controllerrevisions.apps",
    "events",
    "events.events.k8s.io",
    "endpoints",
    "endpointslices.discovery.k8s.io",
    "leases.coordination.k8s.io",
];

/// The agent's cluster and its untouched twin.
pub struct Worlds {
    /// The cluster the agent works in, served with a kubeconfig.
    pub agent: Embedded,
    control: Sandbox,
    /// Simulated time the agent's cluster has lived since the start.
    elapsed: Mutex<SignedDuration>,
}

/// A reference to one object in a judge: `deployment shop/backend`, `node node-1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    /// The resource type.
    pub rt: &'static ResourceType,
    /// Namespace (empty for cluster-scoped kinds).
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = self.rt.kind.to_lowercase();
        if self.namespace.is_empty() {
            write!(f, "{kind} {}", self.name)
        } else {
            write!(f, "{kind} {}/{}", self.namespace, self.name)
        }
    }
}

impl ObjectRef {
    /// Parses `KIND NAMESPACE/NAME` or `KIND NAME` (cluster-scoped), kind as kubectl names it.
    pub fn parse(text: &str) -> Result<ObjectRef, String> {
        let mut words = text.split_whitespace();
        let (Some(kind), Some(path), None) = (words.next(), words.next(), words.next()) else {
            return Err(format!(
                "\"{text}\": expected KIND NAMESPACE/NAME, e.g. deployment shop/backend"
            ));
        };
        let kind = kind.to_lowercase();
        let rt = RESOURCES
            .iter()
            .find(|r| {
                r.kind.eq_ignore_ascii_case(&kind)
                    || r.plural == kind
                    || r.singular == kind
                    || r.short_names.contains(&kind.as_str())
            })
            .ok_or_else(|| format!("\"{text}\": unknown kind {kind}"))?;
        let (namespace, name) = match path.split_once('/') {
            Some((ns, n)) if rt.namespaced => (ns.to_string(), n.to_string()),
            None if !rt.namespaced => (String::new(), path.to_string()),
            _ if rt.namespaced => {
                return Err(format!("\"{text}\": a {kind} needs NAMESPACE/NAME"));
            }
            _ => return Err(format!("\"{text}\": a {kind} has no namespace")),
        };
        Ok(ObjectRef {
            rt,
            namespace,
            name,
        })
    }
}

impl Worlds {
    /// Starts both clusters of `scenario` at the same moment.
    pub async fn start(scenario: &Scenario) -> anyhow::Result<Worlds> {
        let start = Timestamp::now();
        let options = || SandboxOptions {
            clock: Some(Clock::manual(start)),
            ..SandboxOptions::default()
        };
        let agent = Embedded::start_with(scenario.clone(), options()).await?;
        let control = Sandbox::start(scenario.clone(), options())
            .await
            .map_err(|e| anyhow::anyhow!("cannot start the sandbox: {e}"))?;
        Ok(Worlds {
            agent,
            control,
            elapsed: Mutex::new(SignedDuration::ZERO),
        })
    }

    /// Moves the agent's cluster on by `by`.
    pub fn advance(&self, by: SignedDuration) {
        self.agent.sandbox().advance(by);
        if let Ok(mut e) = self.elapsed.lock() {
            *e += by;
        }
    }

    /// Lets `settle` pass in the agent's cluster, then brings the twin to the same moment.
    pub fn settle(&self, settle: SignedDuration) {
        self.advance(settle);
        let elapsed = self.elapsed.lock().map(|e| *e).unwrap_or(settle);
        self.control.advance(elapsed);
    }

    /// What differs between the agent's cluster and its twin, one line per object, leaving
    /// out the objects in `allowed`.
    pub fn changes(&self, allowed: &[ObjectRef]) -> Vec<String> {
        let mine = desired_state(self.agent.sandbox());
        let theirs = desired_state(&self.control);
        let mut out = Vec::new();
        for (key, before) in &theirs {
            if allowed.iter().any(|a| a.to_string() == *key) {
                continue;
            }
            match mine.get(key) {
                None => out.push(format!("deleted {key}")),
                Some(after) if after != before => {
                    out.push(format!(
                        "changed {key} ({})",
                        first_difference(before, after)
                    ));
                }
                Some(_) => {}
            }
        }
        out
    }

    /// Whether `target` ends healthy in the agent's cluster, else why not.
    pub fn healthy(&self, target: &ObjectRef) -> Result<(), String> {
        let world = self.agent.sandbox().world();
        let w = world.lock().unwrap_or_else(|e| e.into_inner());
        let Some(obj) = w.store.get(target.rt, &target.namespace, &target.name) else {
            return Err(format!("{target} does not exist"));
        };
        let endpoints = match (target.rt.kind, by_kind("v1", "Endpoints")) {
            ("Service", Some(rt)) => w.store.get(rt, &target.namespace, &target.name),
            _ => None,
        };
        health_of(target, &obj, endpoints.as_deref())
    }
}

/// Whether a workload, pod or service is serving: every desired replica ready and up to date.
fn health_of(target: &ObjectRef, obj: &Value, endpoints: Option<&Value>) -> Result<(), String> {
    let status = &obj["status"];
    let int = |v: &Value| v.as_i64().unwrap_or(0);
    match target.rt.kind {
        "Deployment" | "StatefulSet" => {
            let want = obj["spec"]["replicas"].as_i64().unwrap_or(1);
            let ready = int(&status["readyReplicas"]);
            let updated = int(&status["updatedReplicas"]);
            if want == 0 {
                return Err(format!("{target} is scaled to 0"));
            }
            if ready < want || updated < want {
                return Err(format!(
                    "{target} not healthy: {ready}/{want} ready, {updated}/{want} up to date"
                ));
            }
            Ok(())
        }
        "DaemonSet" => {
            let want = int(&status["desiredNumberScheduled"]);
            let ready = int(&status["numberReady"]);
            if want == 0 || ready < want {
                return Err(format!("{target} not healthy: {ready}/{want} ready"));
            }
            Ok(())
        }
        "Job" => {
            if int(&status["succeeded"]) > 0 {
                Ok(())
            } else {
                Err(format!("{target} has not succeeded"))
            }
        }
        "Pod" => {
            let ready = status["conditions"].as_array().is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            });
            if ready {
                Ok(())
            } else {
                Err(format!("{target} is not ready"))
            }
        }
        "Service" => {
            let ready = endpoints
                .and_then(|e| e["subsets"].as_array())
                .is_some_and(|subsets| {
                    subsets
                        .iter()
                        .any(|s| s["addresses"].as_array().is_some_and(|a| !a.is_empty()))
                });
            if ready {
                Ok(())
            } else {
                Err(format!("{target} has no ready endpoint"))
            }
        }
        other => Err(format!(
            "{target}: the judge cannot tell whether a {other} is healthy (use a Deployment, StatefulSet, DaemonSet, Job, Pod or Service)"
        )),
    }
}

/// Every object a user or the agent decides (not the controllers), keyed as an [`ObjectRef`]
/// prints, reduced to what a change would touch: spec, data and labels, not status.
fn desired_state(sandbox: &Sandbox) -> BTreeMap<String, Value> {
    let world = sandbox.world();
    let w = world.lock().unwrap_or_else(|e| e.into_inner());
    let mut out = BTreeMap::new();
    for rt in RESOURCES {
        if CHURN.contains(&rt.key) && rt.key != "pods" {
            continue;
        }
        for obj in w.store.list(rt, None) {
            let meta = &obj["metadata"];
            let owned = meta["ownerReferences"]
                .as_array()
                .is_some_and(|o| !o.is_empty());
            // A pod a controller made comes back when deleted; a bare pod does not.
            if owned && (rt.key == "pods" || rt.key == "jobs.batch") {
                continue;
            }
            let key = ObjectRef {
                rt,
                namespace: meta["namespace"].as_str().unwrap_or("").to_string(),
                name: meta["name"].as_str().unwrap_or("").to_string(),
            }
            .to_string();
            out.insert(key, reduce(&obj, rt.key == "pods"));
        }
    }
    out
}

/// The parts of an object its owner sets. For a bare pod only its identity counts (its spec
/// holds the node the scheduler chose).
fn reduce(obj: &Value, pod: bool) -> Value {
    let mut out = Map::new();
    let meta = &obj["metadata"];
    if pod {
        return Value::Object(out);
    }
    let Some(map) = obj.as_object() else {
        return Value::Null;
    };
    for (k, v) in map {
        if !matches!(k.as_str(), "metadata" | "status" | "apiVersion" | "kind") {
            out.insert(k.clone(), v.clone());
        }
    }
    out.insert("labels".into(), meta["labels"].clone());
    out.insert("annotations".into(), meta["annotations"].clone());
    Value::Object(out)
}

/// The first field path where two reduced objects differ, for the judge's reason.
fn first_difference(a: &Value, b: &Value) -> String {
    fn walk(a: &Value, b: &Value, path: &mut Vec<String>) -> bool {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
                keys.sort();
                keys.dedup();
                for k in keys {
                    let (va, vb) = (
                        x.get(k).unwrap_or(&Value::Null),
                        y.get(k).unwrap_or(&Value::Null),
                    );
                    if va != vb {
                        path.push(k.clone());
                        walk(va, vb, path);
                        return true;
                    }
                }
                false
            }
            _ => a != b,
        }
    }
    let mut path = Vec::new();
    walk(a, b, &mut path);
    let field = path.join(".");
    let value = |v: &Value| {
        let mut cur = v;
        for p in &path {
            cur = cur.get(p).unwrap_or(&Value::Null);
        }
        let s = cur.to_string();
        match s.char_indices().nth(40) {
            Some((i, _)) => format!("{}…", &s[..i]),
            None => s,
        }
    };
    format!("{field}: {} → {}", value(a), value(b))
}
