//! Defaults the API server fills in on every write, for the common kinds: container port
//! protocols, probe timings, pull policies, workload strategies and history limits, pod
//! restart and DNS policies, service types and session affinity, volume modes. Clients read
//! them back (`kubectl describe` shows `8000/TCP`; `rollout status` reads a StatefulSet's
//! update strategy), so a stored object must carry them as on a real cluster.

use serde_json::{Map, Value, json};

use crate::resources::ResourceType;

/// Fills the defaults of an object of type `rt` in place. Fields already set are kept, so
/// applying twice changes nothing.
pub fn apply(rt: &ResourceType, obj: &mut Value) {
    let Some(o) = obj.as_object_mut() else {
        return;
    };
    match (rt.group, rt.kind) {
        ("", "Pod") => {
            if let Some(spec) = o.get_mut("spec").and_then(Value::as_object_mut) {
                pod_spec(spec, true);
                set(spec, "enableServiceLinks", json!(true));
                set(spec, "serviceAccountName", json!("default"));
                if let Some(sa) = spec.get("serviceAccountName").cloned() {
                    set(spec, "serviceAccount", sa);
                }
                set(spec, "priority", json!(0));
            }
        }
        ("", "Service") => service(o),
        ("", "PersistentVolumeClaim") => {
            if let Some(spec) = o.get_mut("spec").and_then(Value::as_object_mut) {
                set(spec, "volumeMode", json!("Filesystem"));
            }
        }
        ("", "PersistentVolume") => {
            if let Some(spec) = o.get_mut("spec").and_then(Value::as_object_mut) {
                set(spec, "persistentVolumeReclaimPolicy", json!("Retain"));
                set(spec, "volumeMode", json!("Filesystem"));
            }
        }
        ("", "Namespace") => {
            let spec = child(o, "spec");
            set(spec, "finalizers", json!(["kubernetes"]));
            let status = child(o, "status");
            set(status, "phase", json!("Active"));
        }
        ("", "Secret") => set(o, "type", json!("Opaque")),
        ("apps", kind) => workload(kind, o),
        ("batch", "Job") => {
            if let Some(spec) = o.get_mut("spec").and_then(Value::as_object_mut) {
                job_spec(spec);
            }
        }
        ("batch", "CronJob") => {
            if let Some(spec) = o.get_mut("spec").and_then(Value::as_object_mut) {
                set(spec, "concurrencyPolicy", json!("Allow"));
                set(spec, "suspend", json!(false));
                set(spec, "successfulJobsHistoryLimit", json!(3));
                set(spec, "failedJobsHistoryLimit", json!(1));
                if let Some(js) = spec
                    .get_mut("jobTemplate")
                    .and_then(|t| t.get_mut("spec"))
                    .and_then(Value::as_object_mut)
                {
                    job_spec(js);
                }
            }
        }
        ("autoscaling", "HorizontalPodAutoscaler") => {
            if let Some(spec) = o.get_mut("spec").and_then(Value::as_object_mut) {
                set(spec, "minReplicas", json!(1));
            }
        }
        ("storage.k8s.io", "StorageClass") => {
            set(o, "reclaimPolicy", json!("Delete"));
            set(o, "volumeBindingMode", json!("Immediate"));
        }
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => {
            for s in o
                .get_mut("subjects")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
                .filter_map(Value::as_object_mut)
            {
                let group = match s.get("kind").and_then(Value::as_str) {
                    Some("User" | "Group") => "rbac.authorization.k8s.io",
                    _ => "",
                };
                set(s, "apiGroup", json!(group));
            }
        }
        _ => {}
    }
}

/// Sets `key` unless it holds a value already.
fn set(m: &mut Map<String, Value>, key: &str, v: Value) {
    if m.get(key).is_none_or(Value::is_null) {
        m.insert(key.into(), v);
    }
}

/// The object under `key`, created empty if missing or not an object.
fn child<'a>(m: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let v = m.entry(key).or_insert_with(|| json!({}));
    if !v.is_object() {
        *v = json!({});
    }
    match v {
        Value::Object(c) => c,
        _ => unreachable!("the value was just made an object"),
    }
}

fn objects<'a>(m: &'a mut Map<String, Value>, key: &str) -> Vec<&'a mut Map<String, Value>> {
    m.get_mut(key)
        .and_then(Value::as_array_mut)
        .map(|a| a.iter_mut().filter_map(Value::as_object_mut).collect())
        .unwrap_or_default()
}

fn template_spec(spec: &mut Map<String, Value>, restart_policy: bool) {
    if let Some(ps) = spec
        .get_mut("template")
        .and_then(|t| t.get_mut("spec"))
        .and_then(Value::as_object_mut)
    {
        pod_spec(ps, restart_policy);
    }
}

fn workload(kind: &str, o: &mut Map<String, Value>) {
    let Some(spec) = o.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    match kind {
        "Deployment" => {
            set(spec, "replicas", json!(1));
            let strategy = child(spec, "strategy");
            set(strategy, "type", json!("RollingUpdate"));
            if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate") {
                let ru = child(strategy, "rollingUpdate");
                set(ru, "maxUnavailable", json!("25%"));
                set(ru, "maxSurge", json!("25%"));
            }
            set(spec, "revisionHistoryLimit", json!(10));
            set(spec, "progressDeadlineSeconds", json!(600));
        }
        "StatefulSet" => {
            set(spec, "replicas", json!(1));
            set(spec, "podManagementPolicy", json!("OrderedReady"));
            let strategy = child(spec, "updateStrategy");
            set(strategy, "type", json!("RollingUpdate"));
            if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate") {
                let ru = child(strategy, "rollingUpdate");
                set(ru, "partition", json!(0));
            }
            set(spec, "revisionHistoryLimit", json!(10));
            let retention = child(spec, "persistentVolumeClaimRetentionPolicy");
            set(retention, "whenDeleted", json!("Retain"));
            set(retention, "whenScaled", json!("Retain"));
            for claim in objects(spec, "volumeClaimTemplates") {
                let cs = child(claim, "spec");
                set(cs, "volumeMode", json!("Filesystem"));
            }
        }
        "DaemonSet" => {
            let strategy = child(spec, "updateStrategy");
            set(strategy, "type", json!("RollingUpdate"));
            if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate") {
                let ru = child(strategy, "rollingUpdate");
                set(ru, "maxUnavailable", json!(1));
                set(ru, "maxSurge", json!(0));
            }
            set(spec, "revisionHistoryLimit", json!(10));
        }
        "ReplicaSet" => set(spec, "replicas", json!(1)),
        _ => return,
    }
    template_spec(spec, true);
}

fn job_spec(spec: &mut Map<String, Value>) {
    if spec.get("completions").is_none_or(Value::is_null)
        && spec.get("parallelism").is_none_or(Value::is_null)
    {
        spec.insert("completions".into(), json!(1));
    }
    set(spec, "parallelism", json!(1));
    set(spec, "backoffLimit", json!(6));
    set(spec, "completionMode", json!("NonIndexed"));
    set(spec, "suspend", json!(false));
    // A Job's pods must say OnFailure or Never themselves: validation asks for it.
    template_spec(spec, false);
}

fn service(o: &mut Map<String, Value>) {
    // The API server answers a create with an empty load-balancer status.
    set(o, "status", json!({"loadBalancer": {}}));
    let Some(spec) = o.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    set(spec, "type", json!("ClusterIP"));
    let kind = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
        .to_string();
    set(spec, "sessionAffinity", json!("None"));
    if kind != "ExternalName" {
        set(spec, "ipFamilyPolicy", json!("SingleStack"));
        set(spec, "ipFamilies", json!(["IPv4"]));
        set(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if kind == "NodePort" || kind == "LoadBalancer" {
        set(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    for p in objects(spec, "ports") {
        set(p, "protocol", json!("TCP"));
        if let Some(port) = p.get("port").cloned() {
            set(p, "targetPort", port);
        }
    }
}

fn pod_spec(spec: &mut Map<String, Value>, restart_policy: bool) {
    if restart_policy {
        set(spec, "restartPolicy", json!("Always"));
    }
    set(spec, "dnsPolicy", json!("ClusterFirst"));
    set(spec, "terminationGracePeriodSeconds", json!(30));
    set(spec, "schedulerName", json!("default-scheduler"));
    set(spec, "securityContext", json!({}));
    for key in ["containers", "initContainers"] {
        for c in objects(spec, key) {
            container(c);
        }
    }
    for v in objects(spec, "volumes") {
        for source in ["configMap", "secret"] {
            if let Some(s) = v.get_mut(source).and_then(Value::as_object_mut) {
                set(s, "defaultMode", json!(420));
            }
        }
        if let Some(p) = v.get_mut("projected").and_then(Value::as_object_mut) {
            set(p, "defaultMode", json!(420));
        }
    }
}

fn container(c: &mut Map<String, Value>) {
    set(c, "terminationMessagePath", json!("/dev/termination-log"));
    set(c, "terminationMessagePolicy", json!("File"));
    let image = c.get("image").and_then(Value::as_str).unwrap_or("");
    set(c, "imagePullPolicy", json!(pull_policy(image)));
    set(c, "resources", json!({}));
    for p in objects(c, "ports") {
        set(p, "protocol", json!("TCP"));
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = c.get_mut(probe).and_then(Value::as_object_mut) {
            set(p, "timeoutSeconds", json!(1));
            set(p, "periodSeconds", json!(10));
            set(p, "successThreshold", json!(1));
            set(p, "failureThreshold", json!(3));
            if let Some(h) = p.get_mut("httpGet").and_then(Value::as_object_mut) {
                set(h, "scheme", json!("HTTP"));
            }
        }
    }
    for e in objects(c, "env") {
        if let Some(f) = e
            .get_mut("valueFrom")
            .and_then(|v| v.get_mut("fieldRef"))
            .and_then(Value::as_object_mut)
        {
            set(f, "apiVersion", json!("v1"));
        }
    }
}

/// `Always` for an image without a tag or tagged `latest`, else `IfNotPresent`.
fn pull_policy(image: &str) -> &'static str {
    if image.contains('@') {
        return "IfNotPresent";
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, tag)) if tag != "latest" => "IfNotPresent",
        _ => "Always",
    }
}

#[cfg(test)]
mod tests;
