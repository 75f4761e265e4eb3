use serde_json::json;

use super::*;
use crate::resources::by_kind;

fn defaulted(api_version: &str, mut obj: Value) -> Value {
    let rt = by_kind(api_version, obj["kind"].as_str().unwrap()).unwrap();
    apply(rt, &mut obj);
    let again = {
        let mut o = obj.clone();
        apply(rt, &mut o);
        o
    };
    assert_eq!(again, obj, "defaulting twice changes nothing");
    obj
}

#[test]
fn deployments_get_strategy_history_and_container_defaults() {
    let d = defaulted(
        "apps/v1",
        json!({"kind": "Deployment", "spec": {"selector": {"matchLabels": {"a": "b"}},
            "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [
                {"name": "web", "image": "shop/web:1.2", "ports": [{"containerPort": 8000}],
                 "readinessProbe": {"httpGet": {"path": "/", "port": 8000}}},
                {"name": "side", "image": "busybox"}]}}}}),
    );
    let spec = &d["spec"];
    assert_eq!(spec["replicas"], 1);
    assert_eq!(spec["strategy"]["type"], "RollingUpdate");
    assert_eq!(spec["strategy"]["rollingUpdate"]["maxSurge"], "25%");
    assert_eq!(spec["revisionHistoryLimit"], 10);
    assert_eq!(spec["progressDeadlineSeconds"], 600);
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Always");
    assert_eq!(pod["dnsPolicy"], "ClusterFirst");
    assert_eq!(pod["terminationGracePeriodSeconds"], 30);
    let web = &pod["containers"][0];
    assert_eq!(web["ports"][0]["protocol"], "TCP");
    assert_eq!(web["imagePullPolicy"], "IfNotPresent");
    assert_eq!(web["readinessProbe"]["timeoutSeconds"], 1);
    assert_eq!(web["readinessProbe"]["periodSeconds"], 10);
    assert_eq!(web["readinessProbe"]["failureThreshold"], 3);
    assert_eq!(web["readinessProbe"]["httpGet"]["scheme"], "HTTP");
    assert_eq!(pod["containers"][1]["imagePullPolicy"], "Always");
}

#[test]
fn set_fields_are_kept() {
    let d = defaulted(
        "apps/v1",
        json!({"kind": "Deployment", "spec": {"replicas": 0, "strategy": {"type": "Recreate"},
            "template": {"spec": {"restartPolicy": "Always", "dnsPolicy": "Default", "containers": []}}}}),
    );
    assert_eq!(d["spec"]["replicas"], 0);
    assert_eq!(d["spec"]["strategy"], json!({"type": "Recreate"}));
    assert_eq!(d["spec"]["template"]["spec"]["dnsPolicy"], "Default");
}

#[test]
fn statefulsets_services_claims_and_jobs() {
    let s = defaulted(
        "apps/v1",
        json!({"kind": "StatefulSet", "spec": {"serviceName": "db", "template": {"spec": {"containers": []}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"]}}]}}),
    );
    assert_eq!(s["spec"]["updateStrategy"]["type"], "RollingUpdate");
    assert_eq!(s["spec"]["updateStrategy"]["rollingUpdate"]["partition"], 0);
    assert_eq!(s["spec"]["podManagementPolicy"], "OrderedReady");
    assert_eq!(
        s["spec"]["volumeClaimTemplates"][0]["spec"]["volumeMode"],
        "Filesystem"
    );
    let svc = defaulted(
        "v1",
        json!({"kind": "Service", "spec": {"ports": [{"port": 80}]}}),
    );
    assert_eq!(svc["spec"]["type"], "ClusterIP");
    assert_eq!(svc["spec"]["sessionAffinity"], "None");
    assert_eq!(svc["spec"]["ports"][0]["protocol"], "TCP");
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], 80);
    let pvc = defaulted("v1", json!({"kind": "PersistentVolumeClaim", "spec": {}}));
    assert_eq!(pvc["spec"]["volumeMode"], "Filesystem");
    let job = defaulted(
        "batch/v1",
        json!({"kind": "Job", "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": []}}}}),
    );
    assert_eq!(job["spec"]["backoffLimit"], 6);
    assert_eq!(job["spec"]["completions"], 1);
    assert_eq!(job["spec"]["template"]["spec"]["restartPolicy"], "Never");
    let pod = defaulted(
        "v1",
        json!({"kind": "Pod", "spec": {"containers": [{"name": "a", "image": "x:latest"}]}}),
    );
    assert_eq!(pod["spec"]["serviceAccountName"], "default");
    assert_eq!(pod["spec"]["containers"][0]["imagePullPolicy"], "Always");
    let ns = defaulted("v1", json!({"kind": "Namespace"}));
    assert_eq!(ns["status"]["phase"], "Active");
}
