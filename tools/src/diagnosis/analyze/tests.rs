//! Unit tests of every rule on typed API objects built from JSON.

use jiff::Timestamp;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::analyze;

mod settled;
use crate::diagnosis::snapshot::ServiceSummary;
use crate::diagnosis::{Finding, LogRequest, LogTail, Severity, Snapshot, log_plan};

/// The failing containers whose log the plan reads (not the running samples).
fn log_requests(s: &Snapshot) -> Vec<LogRequest> {
    log_plan(s, None)
        .requests
        .into_iter()
        .filter(|r| !r.sample)
        .collect()
}

const NOW: &str = "2025-01-01T12:00:00Z";

fn now() -> Timestamp {
    NOW.parse().unwrap()
}

fn ago(secs: i64) -> String {
    Timestamp::from_second(now().as_second() - secs)
        .unwrap()
        .to_string()
}

fn obj<T: DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).unwrap()
}

fn snap() -> Snapshot {
    let mut s = Snapshot::at(now());
    s.namespace = Some("shop".into());
    s.nodes.push(node("node-1", "True", json!({})));
    s
}

fn node(name: &str, ready: &str, extra: Value) -> k8s_openapi::api::core::v1::Node {
    let mut conds = vec![
        json!({"type": "Ready", "status": ready, "reason": if ready == "True" {"KubeletReady"} else {"NodeStatusUnknown"}, "message": if ready == "True" {"kubelet is posting ready status"} else {"Kubelet stopped posting node status."}}),
    ];
    if let Some(extra) = extra.get("conditions").and_then(Value::as_array) {
        conds.extend(extra.iter().cloned());
    }
    obj(json!({
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "disktype": "hdd"}},
        "spec": extra.get("spec").cloned().unwrap_or(json!({})),
        "status": {"conditions": conds, "allocatable": {"cpu": "4", "memory": "8Gi"}}
    }))
}

fn container(name: &str, image: &str, env: Value) -> Value {
    json!({"name": name, "image": image, "env": env, "ports": [{"name": "http", "containerPort": 8080}]})
}

fn deployment(
    name: &str,
    replicas: i32,
    ready: i32,
    c: Value,
) -> k8s_openapi::api::apps::v1::Deployment {
    obj(json!({
        "metadata": {"name": name, "namespace": "shop", "uid": format!("uid-{name}"), "annotations": {"deployment.kubernetes.io/revision": "2"}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [c]}}},
        "status": {"replicas": replicas, "readyReplicas": ready, "availableReplicas": ready}
    }))
}

fn replica_set(
    deploy: &str,
    hash: &str,
    revision: i32,
    replicas: i32,
    ready: i32,
    c: Value,
) -> k8s_openapi::api::apps::v1::ReplicaSet {
    obj(json!({
        "metadata": {"name": format!("{deploy}-{hash}"), "namespace": "shop",
                     "annotations": {"deployment.kubernetes.io/revision": revision.to_string()},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": deploy, "uid": format!("uid-{deploy}"), "controller": true}]},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": deploy}},
                 "template": {"metadata": {"labels": {"app": deploy}}, "spec": {"containers": [c]}}},
        "status": {"replicas": replicas, "readyReplicas": ready}
    }))
}

/// A pod of `owner` (`ReplicaSet/x`, `Job/x`, `StatefulSet/x`... or "" for none).
fn pod(
    name: &str,
    owner: &str,
    labels: Value,
    spec: Value,
    status: Value,
) -> k8s_openapi::api::core::v1::Pod {
    let mut meta = json!({"name": name, "namespace": "shop", "labels": labels});
    if let Some((kind, oname)) = owner.split_once('/') {
        meta["ownerReferences"] = json!([{"apiVersion": "v1", "kind": kind, "name": oname, "uid": "u", "controller": true}]);
    }
    let mut spec = spec;
    if spec.get("nodeName").is_none() && status.get("phase") != Some(&json!("Pending")) {
        spec["nodeName"] = json!("node-1");
    }
    obj(json!({"metadata": meta, "spec": spec, "status": status}))
}

fn ready_conds(ready: bool) -> Value {
    json!([{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": if ready {"True"} else {"False"}}])
}

fn running_status(ready: bool, cname: &str) -> Value {
    json!({"phase": "Running", "conditions": ready_conds(ready),
           "containerStatuses": [{"name": cname, "image": "x", "imageID": "", "ready": ready, "restartCount": 0,
                                  "state": {"running": {"startedAt": ago(3600)}}}]})
}

fn crash_status(cname: &str, exit: i32, reason: &str, restarts: i32) -> Value {
    json!({"phase": "Running", "conditions": ready_conds(false),
           "containerStatuses": [{"name": cname, "image": "x", "imageID": "", "ready": false, "restartCount": restarts,
                                  "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container"}},
                                  "lastState": {"terminated": {"exitCode": exit, "reason": reason, "finishedAt": ago(30)}}}]})
}

fn service(name: &str, selector: Value) -> ServiceSummary {
    service_to(name, selector, json!(8080))
}

/// A Service in shop serving port 80 on the pods' `target` port (a number or a port name).
fn service_to(name: &str, selector: Value, target: Value) -> ServiceSummary {
    obj::<k8s_openapi::api::core::v1::Service>(
        json!({"metadata": {"name": name, "namespace": "shop"},
        "spec": {"selector": selector, "ports": [{"port": 80, "targetPort": target}]}}),
    )
    .into()
}

fn event(
    kind: &str,
    name: &str,
    reason: &str,
    message: &str,
    time_field: &str,
    secs_ago: i64,
) -> k8s_openapi::api::core::v1::Event {
    let mut e = json!({"metadata": {"name": format!("{name}.{reason}.{secs_ago}"), "namespace": "shop"},
               "involvedObject": {"kind": kind, "name": name, "namespace": if kind == "Node" {""} else {"shop"}},
               "reason": reason, "message": message, "type": "Warning", "count": 3});
    e[time_field] = json!(if time_field == "eventTime" {
        Timestamp::from_second(now().as_second() - secs_ago)
            .unwrap()
            .strftime("%Y-%m-%dT%H:%M:%S.000000Z")
            .to_string()
    } else {
        ago(secs_ago)
    });
    obj(e)
}

fn only(findings: &[Finding]) -> &Finding {
    assert_eq!(findings.len(), 1, "expected one finding, got {findings:#?}");
    &findings[0]
}

fn has(haystack: &[String], needle: &str) -> bool {
    haystack.iter().any(|e| e.contains(needle))
}

/// The demo's fault: revision 2 dropped DATABASE_URL; two crashing replicas behind a service.
fn demo() -> Snapshot {
    let mut s = snap();
    let v2 = container(
        "api",
        "shop/backend:1.1",
        json!([{"name": "DB_HOST", "value": "db"}]),
    );
    let v1 = container(
        "api",
        "shop/backend:1.0",
        json!([{"name": "DATABASE_URL", "value": "postgres://app:hunter2@db/shop"}]),
    );
    s.deployments.push(deployment("backend", 2, 0, v2.clone()));
    s.replica_sets
        .push(replica_set("backend", "v2hash", 2, 2, 0, v2.clone()));
    s.replica_sets
        .push(replica_set("backend", "v1hash", 1, 0, 0, v1));
    for n in ["backend-v2hash-aaaaa", "backend-v2hash-bbbbb"] {
        s.pods.push(pod(
            n,
            "ReplicaSet/backend-v2hash",
            json!({"app": "backend", "pod-template-hash": "v2hash"}),
            json!({"containers": [v2]}),
            crash_status("api", 1, "Error", 5),
        ));
    }
    s.services
        .push(service("backend", json!({"app": "backend"})));
    s.events.push(event(
        "Pod",
        "backend-v2hash-aaaaa",
        "BackOff",
        "Back-off restarting failed container api",
        "lastTimestamp",
        20,
    ));
    s
}

#[test]
fn crash_loop_is_one_finding_chained_to_log_env_and_revision() {
    let mut s = demo();
    let reqs = log_requests(&s);
    assert_eq!(
        reqs.len(),
        1,
        "one log per workload and container: {reqs:?}"
    );
    assert!(reqs[0].previous);
    s.logs.push(LogTail {
        namespace: "shop".into(),
        pod: reqs[0].pod.clone(),
        container: "api".into(),
        previous: true,
        text: "Starting backend 1.1 token=abc123secret\nTraceback (most recent call last):\n  File \"app.py\", line 3\nKeyError: 'DATABASE_URL'\n".into(),
    });
    let findings = analyze(&s);
    let f = only(&findings);
    assert_eq!(
        (
            f.severity,
            f.kind.as_str(),
            f.name.as_str(),
            f.reason.as_str()
        ),
        (
            Severity::Critical,
            "deployment",
            "backend",
            "CrashLoopBackOff"
        )
    );
    assert!(f.message.contains("2/2 pods"), "{}", f.message);
    assert!(
        f.message.contains("KeyError: 'DATABASE_URL'"),
        "{}",
        f.message
    );
    assert!(
        f.message
            .contains("no env var DATABASE_URL (it sets DB_HOST)"),
        "{}",
        f.message
    );
    assert!(
        f.message.contains("revision 2 (image shop/backend:1.1)"),
        "{}",
        f.message
    );
    assert!(
        f.message.contains("service backend has no ready endpoints"),
        "{}",
        f.message
    );
    assert!(has(&f.evidence, "exitCode 1 (Error)"), "{:?}", f.evidence);
    assert!(has(&f.evidence, "KeyError: 'DATABASE_URL'"));
    assert!(
        f.suggestion
            .contains("roll back deployment backend to revision 1"),
        "{}",
        f.suggestion
    );
    assert!(f.suggestion.contains("DATABASE_URL"));
    assert!(f.related.contains(&"service/backend".to_string()));
    assert!(
        f.related
            .iter()
            .any(|r| r.starts_with("pod/backend-v2hash"))
    );
    let all = format!("{findings:?}");
    assert!(
        !all.contains("hunter2") && !all.contains("abc123secret"),
        "secrets leaked: {all}"
    );
}

#[test]
fn oom_looping_is_critical_and_recent_oom_while_running_is_warning() {
    let mut s = snap();
    let c = json!({"name": "app", "image": "x", "resources": {"limits": {"memory": "64Mi"}}});
    s.pods.push(pod(
        "eater",
        "",
        json!({}),
        json!({"containers": [c.clone()]}),
        crash_status("app", 137, "OOMKilled", 4),
    ));
    let f = only(&analyze(&s)).clone();
    assert_eq!(
        (f.severity, f.reason.as_str()),
        (Severity::Critical, "OOMKilled")
    );
    assert!(f.message.contains("memory limit 64Mi"), "{}", f.message);

    let mut s = snap();
    let st = json!({"phase": "Running", "conditions": ready_conds(true),
        "containerStatuses": [{"name": "app", "image": "x", "imageID": "", "ready": true, "restartCount": 1,
            "state": {"running": {"startedAt": ago(600)}},
            "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "finishedAt": ago(600)}}}]});
    s.pods
        .push(pod("eater", "", json!({}), json!({"containers": [c]}), st));
    let f = only(&analyze(&s)).clone();
    assert_eq!(
        (f.severity, f.reason.as_str()),
        (Severity::Warning, "OOMKilled")
    );
}

#[test]
fn recent_restarts_and_a_failed_container_say_how_it_exited() {
    let mut s = snap();
    let st = json!({"phase": "Running", "conditions": ready_conds(true),
        "containerStatuses": [{"name": "app", "image": "x", "imageID": "", "ready": true, "restartCount": 3,
            "state": {"running": {"startedAt": ago(600)}},
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(600)}}}]});
    s.pods.push(pod(
        "flaky",
        "",
        json!({}),
        json!({"containers": [{"name": "app"}]}),
        st,
    ));
    let f = only(&analyze(&s)).clone();
    assert_eq!(
        (f.severity, f.reason.as_str()),
        (Severity::Warning, "Restarting")
    );
    assert!(
        f.message.ends_with(
            "restarted recently: container app exited with code 1 (application error), 3 restarts"
        ),
        "{}",
        f.message
    );
    assert!(
        f.suggestion
            .starts_with("read the log of the previous container (`kubectl logs flaky -n shop -c app --previous`)"),
        "{}",
        f.suggestion
    );
    assert!(
        has(&f.evidence, "lastState.terminated: exitCode 1 (Error)"),
        "{:?}",
        f.evidence
    );

    let mut s = snap();
    let st = json!({"phase": "Failed", "conditions": ready_conds(false),
        "containerStatuses": [{"name": "app", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"terminated": {"exitCode": 137, "reason": "Error", "finishedAt": ago(60)}}}]});
    s.pods.push(pod(
        "gone",
        "",
        json!({}),
        json!({"containers": [{"name": "app"}], "restartPolicy": "Never"}),
        st,
    ));
    let f = only(&analyze(&s)).clone();
    assert_eq!(
        (f.severity, f.reason.as_str()),
        (Severity::Critical, "Error")
    );
    assert!(
        f.message.ends_with(
            "failed: container app exited with code 137 (killed (SIGKILL, often out of memory))"
        ),
        "{}",
        f.message
    );
    assert_eq!(
        f.suggestion,
        "container app was killed: check its memory limit and liveness probe"
    );
    assert!(
        has(&f.evidence, "state.terminated: exitCode 137 (Error)"),
        "{:?}",
        f.evidence
    );
}

#[test]
fn old_single_restart_is_not_a_finding() {
    let mut s = snap();
    let st = json!({"phase": "Running", "conditions": ready_conds(true),
        "containerStatuses": [{"name": "app", "image": "x", "imageID": "", "ready": true, "restartCount": 1,
            "state": {"running": {"startedAt": ago(90000)}},
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(90000)}}}]});
    s.pods.push(pod(
        "calm",
        "",
        json!({}),
        json!({"containers": [{"name": "app"}]}),
        st,
    ));
    assert!(analyze(&s).is_empty());
}

#[test]
fn image_pull_names_image_and_missing_pull_secret() {
    let mut s = snap();
    let st = json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "True"}],
        "containerStatuses": [{"name": "web", "image": "shop/web:nope", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"shop/web:nope\""}}}]});
    s.pods.push(pod("web-1", "", json!({}), json!({"nodeName": "node-1", "containers": [{"name": "web", "image": "shop/web:nope"}], "imagePullSecrets": [{"name": "regcred"}]}), st));
    s.events.push(event(
        "Pod",
        "web-1",
        "Failed",
        "Failed to pull image \"shop/web:nope\": manifest unknown: not found",
        "lastTimestamp",
        10,
    ));
    let f = only(&analyze(&s)).clone();
    assert_eq!(
        (f.severity, f.reason.as_str()),
        (Severity::Critical, "ImagePullBackOff")
    );
    assert!(f.message.contains("shop/web:nope"));
    assert!(has(&f.evidence, "manifest unknown"));
    // Secrets were listed and regcred is absent.
    assert!(
        f.message.contains("imagePullSecret regcred does not exist"),
        "{}",
        f.message
    );
}

#[test]
fn missing_secret_key_is_named_with_existing_keys() {
    let mut s = snap();
    s.secrets.push(obj(
        json!({"metadata": {"name": "db", "namespace": "shop"}, "data": {"host": ""}}),
    ));
    let st = json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "True"}],
        "containerStatuses": [{"name": "api", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"waiting": {"reason": "CreateContainerConfigError", "message": "couldn't find key url in Secret shop/db"}}}]});
    let spec = json!({"nodeName": "node-1", "containers": [{"name": "api", "env": [{"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "db", "key": "url"}}}]}]});
    s.pods.push(pod("api-1", "", json!({}), spec, st));
    let f = only(&analyze(&s)).clone();
    assert_eq!(f.reason, "CreateContainerConfigError");
    assert!(
        f.message.contains("secret db has no key url (keys: host)"),
        "{}",
        f.message
    );
    assert!(f.related.contains(&"secret/db".to_string()));
    assert!(
        f.suggestion.contains("add key url to secret db"),
        "{}",
        f.suggestion
    );
}

#[test]
fn failed_mount_while_creating() {
    let mut s = snap();
    let st = json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "True"}],
        "containerStatuses": [{"name": "app", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"waiting": {"reason": "ContainerCreating"}}}]});
    let spec = json!({"nodeName": "node-1", "containers": [{"name": "app"}], "volumes": [{"name": "cfg", "configMap": {"name": "app-config"}}]});
    s.pods.push(pod("app-1", "", json!({}), spec, st));
    s.events.push(event(
        "Pod",
        "app-1",
        "FailedMount",
        "MountVolume.SetUp failed for volume \"cfg\" : configmap \"app-config\" not found",
        "lastTimestamp",
        5,
    ));
    let f = only(&analyze(&s)).clone();
    assert_eq!(f.reason, "FailedMount");
    assert!(
        f.message.contains("configmap app-config does not exist"),
        "{}",
        f.message
    );
}

#[test]
fn unschedulable_for_resources_and_selector() {
    let mut s = snap();
    let st = json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
        "message": "0/1 nodes are available: 1 Insufficient cpu."}]});
    s.pods.push(pod(
        "big-1",
        "",
        json!({}),
        json!({"containers": [{"name": "app", "resources": {"requests": {"cpu": "64"}}}]}),
        st,
    ));
    let f = only(&analyze(&s)).clone();
    assert_eq!(
        (f.severity, f.reason.as_str()),
        (Severity::Critical, "Unschedulable")
    );
    assert!(f.message.contains("Insufficient cpu"));
    assert!(
        f.suggestion.contains("cpu 64") && f.suggestion.contains("cpu 4"),
        "{}",
        f.suggestion
    );

    let mut s = snap();
    let st = json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
        "message": "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."}]});
    s.pods.push(pod(
        "gpu-1",
        "",
        json!({}),
        json!({"nodeSelector": {"disktype": "ssd"}, "containers": [{"name": "app"}]}),
        st,
    ));
    let f = only(&analyze(&s)).clone();
    assert!(
        f.suggestion.contains("disktype=ssd") && f.suggestion.contains("node-1 has disktype=hdd"),
        "{}",
        f.suggestion
    );
}

#[test]
fn pods_not_created_reports_failed_create() {
    let mut s = snap();
    s.deployments
        .push(deployment("worker", 1, 0, container("w", "x", json!([]))));
    let mut rs = replica_set("worker", "h1", 2, 1, 0, container("w", "x", json!([])));
    rs.status.as_mut().unwrap().conditions = Some(vec![obj(
        json!({"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate",
        "message": "pods \"worker-h1-\" is forbidden: exceeded quota: compute, requested: cpu=2, used: cpu=4, limited: cpu=4"}),
    )]);
    s.replica_sets.push(rs);
    let f = only(&analyze(&s)).clone();
    assert_eq!(
        (f.kind.as_str(), f.reason.as_str()),
        ("deployment", "FailedCreate")
    );
    assert!(f.message.contains("exceeded quota"));
    assert!(f.suggestion.contains("ResourceQuota"));
}

#[test]
fn readiness_failing_on_all_replicas_is_critical_and_folds_the_service() {
    let mut s = snap();
    let c = json!({"name": "web", "image": "x", "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}}});
    s.deployments.push(deployment("web", 1, 0, c.clone()));
    s.replica_sets
        .push(replica_set("web", "h", 1, 1, 0, c.clone()));
    s.pods.push(pod(
        "web-h-1",
        "ReplicaSet/web-h",
        json!({"app": "web"}),
        json!({"containers": [c]}),
        running_status(false, "web"),
    ));
    s.events.push(event(
        "Pod",
        "web-h-1",
        "Unhealthy",
        "Readiness probe failed: HTTP probe failed with statuscode: 503",
        "lastTimestamp",
        5,
    ));
    s.services.push(service("web", json!({"app": "web"})));
    let f = only(&analyze(&s)).clone();
    assert_eq!(
        (f.severity, f.reason.as_str()),
        (Severity::Critical, "Unhealthy")
    );
    assert!(has(&f.evidence, "Readiness probe failed"));
    assert!(f.suggestion.contains("GET /ready:8080"), "{}", f.suggestion);
    assert!(f.related.contains(&"service/web".to_string()));
}

#[test]
fn init_container_crash() {
    let mut s = snap();
    let st = json!({"phase": "Pending", "conditions": ready_conds(false),
        "initContainerStatuses": [{"name": "migrate", "image": "x", "imageID": "", "ready": false, "restartCount": 3,
            "state": {"waiting": {"reason": "CrashLoopBackOff"}},
            "lastState": {"terminated": {"exitCode": 2, "reason": "Error", "finishedAt": ago(20)}}}],
        "containerStatuses": [{"name": "app", "image": "x", "imageID": "", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}]});
    s.pods.push(pod("app-1", "", json!({}), json!({"nodeName": "node-1", "initContainers": [{"name": "migrate"}], "containers": [{"name": "app"}]}), st));
    let f = only(&analyze(&s)).clone();
    assert_eq!(f.reason, "Init:CrashLoopBackOff");
    assert!(f.message.contains("init container migrate"));
}

#[test]
fn evicted_and_stuck_terminating_are_warnings() {
    let mut s = snap();
    s.pods.push(pod("ev-1", "", json!({}), json!({"containers": [{"name": "a"}]}),
        json!({"phase": "Failed", "reason": "Evicted", "message": "The node was low on resource: memory."})));
    let f = only(&analyze(&s)).clone();
    assert_eq!(
        (f.severity, f.reason.as_str()),
        (Severity::Warning, "Evicted")
    );

    let mut s = snap();
    let mut p = pod(
        "gone-1",
        "",
        json!({}),
        json!({"containers": [{"name": "a"}]}),
        running_status(true, "a"),
    );
    p.metadata.deletion_timestamp = Some(obj(json!(ago(3600))));
    p.metadata.finalizers = Some(vec!["example.com/cleanup".into()]);
    s.pods.push(p);
    let f = only(&analyze(&s)).clone();
    assert_eq!(
        (f.severity, f.reason.as_str()),
        (Severity::Warning, "Terminating")
    );
    assert!(f.message.contains("example.com/cleanup"));
}

#[test]
fn rollout_stuck_without_pod_detail() {
    let mut s = snap();
    let mut d = deployment("api", 3, 0, container("api", "x", json!([])));
    d.status.as_mut().unwrap().conditions = Some(vec![obj(
        json!({"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
        "message": "ReplicaSet \"api-h\" has timed out progressing."}),
    )]);
    s.deployments.push(d);
    let f = only(&analyze(&s)).clone();
    assert_eq!(
        (f.severity, f.reason.as_str()),
        (Severity::Critical, "ProgressDeadlineExceeded")
    );
}

#[test]
fn a_rollout_within_its_deadline_is_reported_as_rolling_out_not_as_a_cause() {
    let mut s = snap();
    let mut d = deployment("api", 2, 0, container("api", "x", json!([])));
    let long_ago = now()
        .checked_sub(jiff::SignedDuration::from_secs(1800))
        .unwrap();
    let just_now = now()
        .checked_sub(jiff::SignedDuration::from_secs(5))
        .unwrap();
    d.status.as_mut().unwrap().conditions = Some(vec![
        obj(
            json!({"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable",
            "message": "Deployment does not have minimum availability.",
            "lastUpdateTime": long_ago.to_string(), "lastTransitionTime": long_ago.to_string()}),
        ),
        obj(
            json!({"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
            "message": "ReplicaSet \"api-h\" is progressing.",
            "lastUpdateTime": just_now.to_string(), "lastTransitionTime": just_now.to_string()}),
        ),
    ]);
    s.deployments.push(d.clone());
    let f = only(&analyze(&s)).clone();
    assert_eq!(f.reason, "ReplicaSetUpdated");
    assert!(f.message.contains("is rolling out: 0/2"), "{}", f.message);
    assert!(f.suggestion.contains("--wait"), "{}", f.suggestion);

    // Once the deadline has passed without progress, the old rule speaks again.
    let stale = now()
        .checked_sub(jiff::SignedDuration::from_secs(700))
        .unwrap();
    let mut s = snap();
    d.status.as_mut().unwrap().conditions.as_mut().unwrap()[1] = obj(
        json!({"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
            "lastUpdateTime": stale.to_string(), "lastTransitionTime": stale.to_string()}),
    );
    s.deployments.push(d);
    let f = only(&analyze(&s)).clone();
    assert_eq!(f.reason, "MinimumReplicasUnavailable");
}

#[test]
fn statefulset_without_governing_service_and_daemonset_misscheduled() {
    let mut s = snap();
    s.stateful_sets.push(obj(json!({"metadata": {"name": "db", "namespace": "shop"},
        "spec": {"serviceName": "db-headless", "replicas": 1, "selector": {"matchLabels": {"app": "db"}}, "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "db"}]}}},
        "status": {"replicas": 1, "readyReplicas": 1}})));
    s.daemon_sets.push(obj(json!({"metadata": {"name": "agent", "namespace": "shop"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": {"metadata": {"labels": {"app": "agent"}}, "spec": {"containers": [{"name": "a"}]}}},
        "status": {"currentNumberScheduled": 1, "desiredNumberScheduled": 1, "numberMisscheduled": 1, "numberReady": 1}})));
    let f = analyze(&s);
    assert_eq!(f.len(), 2, "{f:#?}");
    assert!(
        f.iter()
            .any(|f| f.reason == "ServiceNotFound" && f.name == "db")
    );
    assert!(
        f.iter()
            .any(|f| f.reason == "Misscheduled" && f.name == "agent")
    );
}

#[test]
fn failed_job_and_invalid_cron_schedule() {
    let mut s = snap();
    s.jobs.push(obj(json!({"metadata": {"name": "migrate", "namespace": "shop"},
        "spec": {"backoffLimit": 2, "template": {"spec": {"containers": [{"name": "m"}], "restartPolicy": "Never"}}},
        "status": {"failed": 3, "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}]}})));
    let st = json!({"phase": "Failed", "conditions": ready_conds(false),
        "containerStatuses": [{"name": "m", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"terminated": {"exitCode": 3, "reason": "Error", "finishedAt": ago(60)}}}]});
    s.pods.push(pod(
        "migrate-abc",
        "Job/migrate",
        json!({"job-name": "migrate"}),
        json!({"containers": [{"name": "m"}]}),
        st,
    ));
    s.logs.push(LogTail {
        namespace: "shop".into(),
        pod: "migrate-abc".into(),
        container: "m".into(),
        previous: false,
        text: "applying 0003_add_index\nERROR: relation \"orders\" does not exist\n".into(),
    });
    s.cron_jobs.push(obj(json!({"metadata": {"name": "report", "namespace": "shop"},
        "spec": {"schedule": "every day", "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "r"}]}}}}}})));
    let f = analyze(&s);
    assert_eq!(f.len(), 2, "{f:#?}");
    let job = f.iter().find(|f| f.name == "migrate").unwrap();
    assert_eq!(
        (job.severity, job.reason.as_str()),
        (Severity::Critical, "BackoffLimitExceeded")
    );
    assert!(
        has(&job.evidence, "relation \"orders\" does not exist"),
        "{:?}",
        job.evidence
    );
    let cj = f.iter().find(|f| f.name == "report").unwrap();
    assert_eq!(
        (cj.severity, cj.reason.as_str()),
        (Severity::Warning, "InvalidSchedule")
    );
}

#[test]
fn service_selector_matching_nothing_names_the_pod_labels() {
    let mut s = snap();
    let c = container("web", "x", json!([]));
    s.deployments.push(deployment("frontend", 1, 1, c.clone()));
    s.replica_sets
        .push(replica_set("frontend", "h", 1, 1, 1, c.clone()));
    s.pods.push(pod(
        "frontend-h-1",
        "ReplicaSet/frontend-h",
        json!({"app": "frontend"}),
        json!({"containers": [c]}),
        running_status(true, "web"),
    ));
    s.services
        .push(service("frontend", json!({"app": "front-end"})));
    let f = only(&analyze(&s)).clone();
    assert_eq!(
        (f.severity, f.kind.as_str(), f.reason.as_str()),
        (Severity::Critical, "service", "SelectorMismatch")
    );
    assert!(
        f.message.contains("app=front-end")
            && f.message.contains("app=frontend (deployment frontend)"),
        "{}",
        f.message
    );
    assert!(f.suggestion.contains("app=frontend"));
}

#[test]
fn service_of_scaled_to_zero_deployment() {
    let mut s = snap();
    s.deployments
        .push(deployment("api", 0, 0, container("api", "x", json!([]))));
    s.services.push(service("api", json!({"app": "api"})));
    let f = only(&analyze(&s)).clone();
    assert_eq!(
        (f.severity, f.reason.as_str()),
        (Severity::Warning, "ScaledToZero")
    );
}

#[test]
fn unreadable_pods_prove_no_absence() {
    // Pods forbidden: a Service, a NetworkPolicy and a Deployment whose pods were not read
    // must not be reported as selecting or having no pod.
    let mut s = snap();
    s.unavailable.insert("pods".into());
    s.deployments
        .push(deployment("api", 2, 2, container("api", "x", json!([]))));
    s.services.push(service("api", json!({"app": "api"})));
    s.services.push(service("db", json!({"app": "db"})));
    s.network_policies.push(obj(
        json!({"metadata": {"name": "only-db", "namespace": "shop"},
        "spec": {"podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Ingress"]}}),
    ));
    let f = analyze(&s);
    assert!(
        f.iter().all(|f| !matches!(
            f.reason.as_str(),
            "SelectorMismatch" | "SelectsNoPods" | "NoEndpoints" | "ScaledToZero"
        ) && !f.message.contains("matches no")),
        "{f:#?}"
    );
    // The same snapshot with the pods read (and none there) does say it.
    s.unavailable.clear();
    let f = analyze(&s);
    assert!(f.iter().any(|f| f.reason == "SelectorMismatch"), "{f:#?}");
}

#[test]
fn ingress_with_missing_class_backend_and_tls() {
    let mut s = snap();
    s.ingresses.push(obj(json!({"metadata": {"name": "shop", "namespace": "shop"},
        "spec": {"ingressClassName": "nginx", "tls": [{"secretName": "shop-tls"}],
                 "rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "storefront", "port": {"number": 80}}}}]}}]}})));
    let f = only(&analyze(&s)).clone();
    assert_eq!(
        (f.severity, f.reason.as_str()),
        (Severity::Warning, "IngressClassNotFound")
    );
    assert!(
        f.message.contains("storefront does not exist")
            && f.message.contains("TLS secret shop-tls"),
        "{}",
        f.message
    );
}

#[test]
fn hpa_rules_and_min_replicas_false_positive() {
    let mut s = snap();
    let c = json!({"name": "api", "image": "x"});
    s.deployments.push(deployment("api", 1, 1, c));
    s.hpas.push(obj(json!({"metadata": {"name": "api", "namespace": "shop"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "api", "apiVersion": "apps/v1"}, "minReplicas": 1, "maxReplicas": 5,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]},
        "status": {"currentReplicas": 1, "desiredReplicas": 1, "conditions": [
            {"type": "AbleToScale", "status": "True", "reason": "ReadyForNewScale"},
            {"type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric", "message": "missing request for cpu"},
            {"type": "ScalingLimited", "status": "True", "reason": "TooFewReplicas", "message": "the desired replica count is less than the minimum replica count"}]}})));
    s.hpas.push(obj(json!({"metadata": {"name": "ghost", "namespace": "shop"},
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "ghost", "apiVersion": "apps/v1"}, "maxReplicas": 3}})));
    let f = analyze(&s);
    let reasons: Vec<&str> = f.iter().map(|f| f.reason.as_str()).collect();
    assert!(reasons.contains(&"MissingResourceRequests"), "{reasons:?}");
    assert!(reasons.contains(&"FailedGetResourceMetric"), "{reasons:?}");
    assert!(reasons.contains(&"FailedGetScale"), "{reasons:?}");
    assert!(
        !reasons.contains(&"TooFewReplicas"),
        "at minReplicas is not a fault"
    );
    assert!(f.iter().all(|f| f.severity == Severity::Warning));
}

#[test]
fn pdb_blocking_all_disruption_is_info() {
    let mut s = snap();
    s.pdbs.push(obj(json!({"metadata": {"name": "db", "namespace": "shop"}, "spec": {"minAvailable": 1},
        "status": {"disruptionsAllowed": 0, "currentHealthy": 1, "desiredHealthy": 1, "expectedPods": 1}})));
    let f = only(&analyze(&s)).clone();
    assert_eq!(
        (f.severity, f.reason.as_str()),
        (Severity::Info, "DisruptionBlocked")
    );
}

#[test]
fn pvc_without_storage_class_is_the_cause_of_the_pending_pods() {
    let mut s = snap();
    s.storage_classes.push(obj(
        json!({"metadata": {"name": "standard"}, "provisioner": "x"}),
    ));
    s.pvcs.push(obj(json!({"metadata": {"name": "data-db-0", "namespace": "shop"}, "spec": {"storageClassName": "fast-ssd"}, "status": {"phase": "Pending"}})));
    s.pvcs.push(obj(json!({"metadata": {"name": "orphan", "namespace": "shop"}, "spec": {"storageClassName": "gold"}, "status": {"phase": "Pending"}})));
    s.stateful_sets.push(obj(json!({"metadata": {"name": "db", "namespace": "shop"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "db"}}, "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "db"}]}}},
        "status": {"replicas": 1, "readyReplicas": 0}})));
    let st = json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
        "message": "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims."}]});
    s.pods.push(pod("db-0", "StatefulSet/db", json!({"app": "db"}), json!({"containers": [{"name": "db"}], "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data-db-0"}}]}), st));
    let f = analyze(&s);
    assert_eq!(f.len(), 2, "{f:#?}");
    let db = f.iter().find(|f| f.name == "db").unwrap();
    assert_eq!(
        (db.severity, db.kind.as_str(), db.reason.as_str()),
        (Severity::Critical, "statefulset", "ProvisioningFailed")
    );
    assert!(
        db.message
            .contains("storage class \"fast-ssd\" does not exist"),
        "{}",
        db.message
    );
    assert!(db.suggestion.contains("existing: standard"));
    let orphan = f.iter().find(|f| f.name == "orphan").unwrap();
    assert_eq!(orphan.kind, "persistentvolumeclaim");
}

#[test]
fn each_reason_a_claim_is_not_bound() {
    let standard = json!({"metadata": {"name": "standard"}, "provisioner": "x"});
    let claim = |spec: Value, phase: &str| {
        obj::<k8s_openapi::api::core::v1::PersistentVolumeClaim>(json!({
            "metadata": {"name": "data", "namespace": "shop", "creationTimestamp": ago(7200)},
            "spec": spec, "status": {"phase": phase}}))
    };
    let cases = [
        (
            json!({"storageClassName": "standard"}),
            "Lost",
            None,
            Some((Severity::Critical, "ClaimLost", "lost its volume")),
        ),
        (
            json!({}),
            "Pending",
            None,
            Some((
                Severity::Critical,
                "ProvisioningFailed",
                "no default StorageClass",
            )),
        ),
        (
            json!({"storageClassName": "standard"}),
            "Pending",
            Some("quota exceeded"),
            Some((
                Severity::Critical,
                "ProvisioningFailed",
                "provisioning failed: quota exceeded",
            )),
        ),
        (
            json!({"storageClassName": "standard"}),
            "Pending",
            None,
            Some((Severity::Warning, "Pending", "Pending for over 10 minutes")),
        ),
        (json!({"storageClassName": "standard"}), "Bound", None, None),
    ];
    for (spec, phase, failed, want) in cases {
        let mut s = snap();
        s.storage_classes.push(obj(standard.clone()));
        s.pvcs.push(claim(spec.clone(), phase));
        if let Some(m) = failed {
            s.events.push(event(
                "PersistentVolumeClaim",
                "data",
                "ProvisioningFailed",
                m,
                "lastTimestamp",
                60,
            ));
        }
        let f = analyze(&s);
        match want {
            None => assert!(f.is_empty(), "{spec} {phase}: {f:#?}"),
            Some((severity, reason, text)) => {
                let f = only(&f);
                assert_eq!(
                    (f.severity, f.kind.as_str(), f.reason.as_str()),
                    (severity, "persistentvolumeclaim", reason),
                    "{spec} {phase}"
                );
                assert!(f.message.contains(text), "{spec} {phase}: {}", f.message);
            }
        }
    }
}

#[test]
fn wait_for_first_consumer_is_not_a_fault() {
    let mut s = snap();
    s.storage_classes.push(obj(json!({"metadata": {"name": "local"}, "provisioner": "x", "volumeBindingMode": "WaitForFirstConsumer"})));
    s.pvcs.push(obj(json!({"metadata": {"name": "data", "namespace": "shop", "creationTimestamp": ago(7200)}, "spec": {"storageClassName": "local"}, "status": {"phase": "Pending"}})));
    assert!(analyze(&s).is_empty());
}

#[test]
fn node_not_ready_pressure_and_unknown_conditions() {
    let mut s = snap();
    s.namespace = None;
    s.nodes = vec![
        node("node-1", "Unknown", json!({})),
        node(
            "node-2",
            "True",
            json!({"conditions": [{"type": "MemoryPressure", "status": "True", "reason": "KubeletHasInsufficientMemory"},
                                                     {"type": "FrequentKubeletRestart", "status": "True"},
                                                     {"type": "DiskPressure", "status": "False"}]}),
        ),
    ];
    let c = container("web", "x", json!([]));
    s.pods.push(pod(
        "web-1",
        "",
        json!({"app": "web"}),
        json!({"nodeName": "node-1", "containers": [c]}),
        running_status(false, "web"),
    ));
    let f = analyze(&s);
    assert_eq!(f.len(), 2, "{f:#?}");
    assert_eq!(
        (f[0].severity, f[0].reason.as_str(), f[0].name.as_str()),
        (Severity::Critical, "NodeNotReady", "node-1")
    );
    assert!(f[0].message.contains("Kubelet stopped posting node status"));
    assert!(f[0].related.contains(&"pod/web-1".to_string()));
    assert_eq!(
        (f[1].severity, f[1].reason.as_str()),
        (Severity::Warning, "MemoryPressure")
    );
}

#[test]
fn webhook_without_service_is_critical_with_fail_policy() {
    let mut s = snap();
    s.namespace = None;
    s.validating_webhooks.push(obj(json!({"metadata": {"name": "policy"},
        "webhooks": [{"name": "check.policy.io", "admissionReviewVersions": ["v1"], "sideEffects": "None", "failurePolicy": "Fail",
                      "clientConfig": {"service": {"namespace": "policy", "name": "policy-webhook"}}}]})));
    let f = only(&analyze(&s)).clone();
    assert_eq!(
        (f.severity, f.reason.as_str()),
        (Severity::Critical, "WebhookUnavailable")
    );
    assert!(f.message.contains("policy/policy-webhook does not exist"));
}

#[test]
fn network_policy_selecting_nothing_is_info() {
    let mut s = snap();
    s.network_policies.push(obj(json!({"metadata": {"name": "allow-api", "namespace": "shop"}, "spec": {"podSelector": {"matchLabels": {"app": "api"}}}})));
    let f = only(&analyze(&s)).clone();
    assert_eq!(
        (f.severity, f.reason.as_str()),
        (Severity::Info, "SelectsNoPods")
    );
}

#[test]
fn rbac_forbidden_in_log_points_at_the_service_account() {
    let mut s = snap();
    s.pods.push(pod(
        "op-1",
        "",
        json!({}),
        json!({"containers": [{"name": "op"}]}),
        crash_status("op", 1, "Error", 3),
    ));
    s.logs.push(LogTail { namespace: "shop".into(), pod: "op-1".into(), container: "op".into(), previous: true,
        text: "E0101 configmaps is forbidden: User \"system:serviceaccount:shop:default\" cannot list resource \"configmaps\"\n".into() });
    let f = only(&analyze(&s)).clone();
    assert!(f.message.contains("forbidden"), "{}", f.message);
    assert!(f.suggestion.contains("service account"), "{}", f.suggestion);
}

#[test]
fn latest_event_uses_event_time_or_last_timestamp_with_count() {
    let mut s = snap();
    let st = json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/1 nodes are available"}]});
    s.pods.push(pod(
        "p",
        "",
        json!({}),
        json!({"containers": [{"name": "a"}]}),
        st,
    ));
    s.events.push(event(
        "Pod",
        "p",
        "FailedScheduling",
        "old message",
        "lastTimestamp",
        3000,
    ));
    s.events.push(event(
        "Pod",
        "p",
        "FailedScheduling",
        "new message",
        "eventTime",
        10,
    ));
    let f = only(&analyze(&s)).clone();
    let ev = f
        .evidence
        .iter()
        .find(|e| e.starts_with("event FailedScheduling"))
        .unwrap();
    assert!(
        ev.contains("new message") && ev.contains("x3") && ev.contains("10s ago"),
        "{ev}"
    );
}

#[test]
fn healthy_namespace_has_no_finding() {
    let mut s = snap();
    let c = container("web", "x", json!([]));
    s.deployments.push(deployment("web", 2, 2, c.clone()));
    s.replica_sets
        .push(replica_set("web", "h", 1, 2, 2, c.clone()));
    for i in 0..2 {
        s.pods.push(pod(
            &format!("web-h-{i}"),
            "ReplicaSet/web-h",
            json!({"app": "web"}),
            json!({"containers": [c.clone()]}),
            running_status(true, "web"),
        ));
    }
    s.services.push(service("web", json!({"app": "web"})));
    s.endpoints.push(obj(json!({"metadata": {"name": "web", "namespace": "shop"}, "subsets": [{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}]}]})));
    s.events.push(event(
        "Pod",
        "web-h-0",
        "Pulled",
        "Successfully pulled image",
        "lastTimestamp",
        100,
    ));
    s.jobs.push(obj(json!({"metadata": {"name": "done", "namespace": "shop"}, "spec": {"template": {"spec": {"containers": [{"name": "d"}]}}},
        "status": {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}})));
    s.pods.push(pod("done-x", "Job/done", json!({}), json!({"containers": [{"name": "d"}]}),
        json!({"phase": "Succeeded", "containerStatuses": [{"name": "d", "image": "x", "imageID": "", "ready": false, "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]})));
    assert!(analyze(&s).is_empty(), "{:#?}", analyze(&s));
    assert!(log_requests(&s).is_empty());
}

#[test]
fn named_target_port_is_checked_against_the_owner_template_of_settled_pods() {
    let mut s = snap();
    let c = container("web", "x", json!([]));
    s.deployments.push(deployment("web", 1, 1, c.clone()));
    s.replica_sets.push(replica_set("web", "h", 1, 1, 1, c));
    // A settled pod as the collector keeps it: no containers of its own.
    let st = json!({"phase": "Running", "conditions": ready_conds(true)});
    s.pods.push(pod(
        "web-h-1",
        "ReplicaSet/web-h",
        json!({"app": "web"}),
        json!({"containers": []}),
        st,
    ));
    s.services
        .push(service_to("web", json!({"app": "web"}), json!("http")));
    assert!(analyze(&s).is_empty(), "{:#?}", analyze(&s));
    s.services = vec![service_to("web", json!({"app": "web"}), json!("metrics"))];
    let f = only(&analyze(&s)).clone();
    assert_eq!(
        (f.severity, f.reason.as_str()),
        (Severity::Critical, "TargetPortMismatch")
    );
}

/// A bare pod is one: the group's plural verb reads singular after a colon; workloads keep counts.
#[test]
fn headline_agrees_in_number() {
    use super::workloads::headline;
    let cases = [
        (
            "pod",
            "is not running",
            "were evicted: low memory",
            "Pod p is not running: it was evicted: low memory",
        ),
        (
            "pod",
            "is degraded",
            "are not ready: the probe fails",
            "Pod p is degraded: it is not ready: the probe fails",
        ),
        (
            "pod",
            "is not running",
            "runs out of memory",
            "Pod p is not running: it runs out of memory",
        ),
        (
            "deployment",
            "is down",
            "were evicted: x",
            "Deployment p is down: 2/2 pods were evicted: x",
        ),
    ];
    for (kind, state, what, want) in cases {
        assert_eq!(headline(kind, "p", state, (2, 2), what), want);
    }
}

#[test]
fn label_selectors_select_as_the_api_does() {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
    let labels: std::collections::BTreeMap<String, String> = [("app", "backend"), ("env", "prod")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let sel = |v: Value| -> LabelSelector { serde_json::from_value(v).unwrap() };
    let cases = [
        (json!({}), true),
        (json!({"matchLabels": {"app": "backend"}}), true),
        (json!({"matchLabels": {"app": "db"}}), false),
        (
            json!({"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "stage"]}]}),
            true,
        ),
        (
            json!({"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]}),
            false,
        ),
        (
            json!({"matchExpressions": [{"key": "canary", "operator": "DoesNotExist"}]}),
            true,
        ),
        (
            json!({"matchExpressions": [{"key": "app", "operator": "Exists"}]}),
            true,
        ),
        // The API rejects these; kai does not let them select anything.
        (
            json!({"matchExpressions": [{"key": "app", "operator": "Like"}]}),
            false,
        ),
        (
            json!({"matchExpressions": [{"key": "app", "operator": "In"}]}),
            false,
        ),
    ];
    for (s, want) in cases {
        assert_eq!(
            super::label_selector_selects(&sel(s.clone()), Some(&labels)),
            want,
            "{s}"
        );
    }
    assert!(super::label_selector_selects(&sel(json!({})), None));
}
