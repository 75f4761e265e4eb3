//! A generated large cluster for benchmarks (`Scenario::generated`): many namespaces,
//! deployments and pods, served frozen (with status) so it loads fast, with a few faulty
//! workloads to find. It builds on the scenario types and the simulation's naming, so it sits
//! above both.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::scenario::{Scenario, Settings};
use crate::sim::naming::safe_encode;
use crate::sim::timestamps::time;

/// Pods per namespace and per deployment.
const PODS_PER_NAMESPACE: usize = 200;
const REPLICAS: usize = 5;
/// One deployment in this many is crash-looping.
const FAULTY_EVERY: usize = 97;

impl Scenario {
    /// A large cluster for benchmarks: `pods` pods spread over namespaces and deployments,
    /// served frozen (with status) so it loads fast, a few of them faulty. Its objects are
    /// made while it loads (see [`namespaces`]), not held in `objects`.
    pub fn generated(pods: usize) -> Scenario {
        let namespaces = pods.div_ceil(PODS_PER_NAMESPACE).max(1);
        Scenario {
            name: format!("generated-{pods}"),
            description: format!("A generated cluster of {pods} pods in {namespaces} namespaces"),
            source: format!("generated-{pods}"),
            settings: Settings {
                namespace: Some("team-000".into()),
                nodes: Some(nodes_for(pods) as u32),
                ..Settings::default()
            },
            generated_pods: pods,
            ..Scenario::default()
        }
    }
}

fn nodes_for(pods: usize) -> usize {
    (pods / 80).max(3)
}

/// The objects of a cluster of `pods` pods created `now`, one namespace (and its contents)
/// per item.
pub(crate) fn namespaces(pods: usize, now: Timestamp) -> impl Iterator<Item = Vec<Value>> {
    let born = now
        .checked_sub(SignedDuration::from_hours(6))
        .unwrap_or(now);
    let started = now
        .checked_sub(SignedDuration::from_hours(5))
        .unwrap_or(now);
    let namespaces = pods.div_ceil(PODS_PER_NAMESPACE).max(1);
    let nodes = nodes_for(pods);
    let mut deploy_n = 0usize;
    (0..namespaces).map(move |ns_i| {
        let ns = format!("team-{ns_i:03}");
        let mut objects =
            vec![json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})];
        let in_ns = pods
            .saturating_sub(ns_i * PODS_PER_NAMESPACE)
            .min(PODS_PER_NAMESPACE);
        let mut placed = 0;
        let mut app_i = 0;
        while placed < in_ns {
            let replicas = (in_ns - placed).min(REPLICAS);
            let app = format!("svc-{app_i:02}");
            let faulty = deploy_n % FAULTY_EVERY == FAULTY_EVERY - 1;
            objects.extend(workload(
                &ns, &app, replicas, faulty, born, started, ns_i, app_i, nodes,
            ));
            placed += replicas;
            app_i += 1;
            deploy_n += 1;
        }
        objects
    })
}

#[allow(clippy::too_many_arguments)]
fn workload(
    ns: &str,
    app: &str,
    replicas: usize,
    faulty: bool,
    born: Timestamp,
    started: Timestamp,
    ns_i: usize,
    app_i: usize,
    nodes: usize,
) -> Vec<Value> {
    let hash = safe_encode((ns_i * 1000 + app_i) as u64 * 7919 + 1_000_000_007);
    let rs_name = format!("{app}-{hash}");
    let image = format!("registry.example.com/{ns}/{app}:1.{app_i}.0");
    let labels = json!({"app": app, "pod-template-hash": hash});
    let container = json!({"name": app, "image": image,
        "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}}});
    let template =
        json!({"metadata": {"labels": {"app": app}}, "spec": {"containers": [container]}});
    let cluster_ip = format!("10.{}.{}.{}", 104 + ns_i / 250, ns_i % 250, app_i + 1);
    let ready = if faulty { 0 } else { replicas };
    let cond = |ty: &str, st: &str, reason: &str, msg: &str| {
        json!({"type": ty, "status": st, "reason": reason, "message": msg,
            "lastUpdateTime": time(started), "lastTransitionTime": time(started)})
    };
    let mut out = vec![
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": app, "namespace": ns, "creationTimestamp": time(born), "generation": 1,
            "labels": {"app": app}, "annotations": {"deployment.kubernetes.io/revision": "1"}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": app}}, "template": template,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600},
        "status": {"observedGeneration": 1, "replicas": replicas, "updatedReplicas": replicas,
            "readyReplicas": ready, "availableReplicas": ready,
            "unavailableReplicas": replicas - ready,
            "conditions": [
                if faulty { cond("Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability.") }
                else { cond("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.") },
                cond("Progressing", "True", "NewReplicaSetAvailable", &format!("ReplicaSet \"{rs_name}\" has successfully progressed.")),
            ]}}),
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": rs_name, "namespace": ns, "creationTimestamp": time(born), "labels": labels,
                "annotations": {"deployment.kubernetes.io/revision": "1"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": app, "controller": true, "blockOwnerDeletion": true}]},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": template["spec"]}},
            "status": {"replicas": replicas, "readyReplicas": ready, "availableReplicas": ready,
                "fullyLabeledReplicas": replicas, "observedGeneration": 1}}),
        // With its cluster IP (in 10.104.0.0/15, apart from those the simulation hands out from
        // 10.96.0.0): the API server's defaults are then all there, and loading writes each
        // Service once.
        json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": app, "namespace": ns, "labels": {"app": app}},
            "spec": {"selector": {"app": app}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
                "clusterIP": cluster_ip, "clusterIPs": [cluster_ip]}}),
    ];
    for r in 0..replicas {
        let suffix = safe_encode((ns_i * 100_000 + app_i * 100 + r) as u64 + 10_000);
        let pod_name = format!("{rs_name}-{}", &suffix[suffix.len().saturating_sub(5)..]);
        let node = format!("node-{}", 1 + (ns_i * 31 + app_i * 7 + r) % nodes);
        let ip = format!(
            "10.{}.{}.{}",
            100 + ns_i / 250,
            ns_i % 250,
            2 + app_i * REPLICAS + r
        );
        let t = time(started);
        let (state, last, restarts, ready_s) = if faulty {
            (
                json!({"waiting": {"reason": "CrashLoopBackOff", "message": format!("back-off 5m0s restarting failed container={app} pod={pod_name}_{ns}(generated)")}}),
                json!({"terminated": {"exitCode": 1, "reason": "Error", "startedAt": t, "finishedAt": t}}),
                61,
                "False",
            )
        } else {
            (json!({"running": {"startedAt": t}}), json!({}), 0, "True")
        };
        let conditions = [
            ("PodReadyToStartContainers", "True"),
            ("Initialized", "True"),
            ("Ready", ready_s),
            ("ContainersReady", ready_s),
            ("PodScheduled", "True"),
        ]
        .into_iter()
        .map(|(ty, st)| json!({"type": ty, "status": st, "lastProbeTime": null, "lastTransitionTime": t}))
        .collect();
        // Values are moved or cloned into place: `json!` would copy each by serializing it.
        let mut status = json!({"name": app, "image": image, "imageID": "", "ready": !faulty,
            "restartCount": restarts, "started": !faulty});
        if let Some(m) = status.as_object_mut() {
            m.insert("state".into(), state);
            m.insert("lastState".into(), last);
        }
        let mut pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": pod_name, "namespace": ns, "creationTimestamp": time(born),
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs_name, "controller": true, "blockOwnerDeletion": true}]},
            "spec": {"nodeName": node, "restartPolicy": "Always"},
            "status": {"phase": "Running", "hostIP": "10.0.0.10", "podIP": ip, "podIPs": [{"ip": ip}],
                "startTime": t, "qosClass": "Burstable"}});
        if let Some(m) = pod["metadata"].as_object_mut() {
            m.insert("labels".into(), labels.clone());
        }
        if let Some(m) = pod["spec"].as_object_mut() {
            m.insert("containers".into(), Value::Array(vec![container.clone()]));
        }
        if let Some(m) = pod["status"].as_object_mut() {
            m.insert("conditions".into(), Value::Array(conditions));
            m.insert("containerStatuses".into(), Value::Array(vec![status]));
        }
        out.push(pod);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_the_asked_number_of_pods_with_a_few_faulty() {
        let objects: Vec<Value> = namespaces(1000, Timestamp::now()).flatten().collect();
        let pods: Vec<_> = objects.iter().filter(|o| o["kind"] == "Pod").collect();
        assert_eq!(pods.len(), 1000);
        let crashing = pods
            .iter()
            .filter(|p| {
                p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"]
                    == "CrashLoopBackOff"
            })
            .count();
        assert!(crashing > 0 && crashing < 50, "{crashing}");
        let mut names: Vec<_> = pods
            .iter()
            .map(|p| format!("{}/{}", p["metadata"]["namespace"], p["metadata"]["name"]))
            .collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 1000);
    }
}
