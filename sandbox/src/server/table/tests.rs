//! Tests of the Table printers.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::format::human_duration;
use super::pods::{pod_cells, pod_status};
use super::{IncludeObject, table, write_table};

#[test]
fn written_table_equals_the_built_one() {
    let rt = crate::resources::by_plural("", "pods").unwrap();
    let now: Timestamp = "2026-01-01T00:05:00Z".parse().unwrap();
    let pods: Vec<std::sync::Arc<Value>> = (0..3)
        .map(|i| {
            std::sync::Arc::new(
                json!({"metadata": {"name": format!("p{i}"), "namespace": "x",
                "creationTimestamp": "2026-01-01T00:00:00Z", "labels": {"a": "b"}},
                "spec": {"containers": [{"name": "c"}]}, "status": {"phase": "Running"}}),
            )
        })
        .collect();
    let meta = json!({"resourceVersion": "7"});
    for include in [
        IncludeObject::None,
        IncludeObject::Metadata,
        IncludeObject::Object,
    ] {
        let built = table(rt, pods.iter().map(|p| &**p), now, include, meta.clone());
        let mut buf = Vec::new();
        write_table(rt, &pods, now, include, &meta, &mut buf).unwrap();
        let written: Value = serde_json::from_slice(&buf).unwrap();
        assert_eq!(written, built);
    }
}

#[test]
fn human_durations() {
    assert_eq!(human_duration(5), "5s");
    assert_eq!(human_duration(150), "2m30s");
    assert_eq!(human_duration(600), "10m");
    assert_eq!(human_duration(3 * 3600 + 120), "3h2m");
    assert_eq!(human_duration(30 * 3600), "30h");
    assert_eq!(human_duration(3 * 86400 + 3600), "3d1h");
}

#[test]
fn pod_status_like_kubectl() {
    let crash = json!({"spec": {"containers": [{"name": "a"}]}, "status": {"phase": "Running",
        "containerStatuses": [{"name": "a", "ready": false, "restartCount": 4,
          "state": {"waiting": {"reason": "CrashLoopBackOff"}},
          "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2026-01-01T00:00:00Z"}}}]}});
    let (r, ready, total, restarts, _) = pod_status(&crash);
    assert_eq!(
        (r.as_str(), ready, total, restarts),
        ("CrashLoopBackOff", 0, 1, 4)
    );
    let now: Timestamp = "2026-01-01T00:05:00Z".parse().unwrap();
    assert_eq!(pod_cells(&crash, now)[3], json!("4 (5m ago)"));
    let init = json!({"spec": {"initContainers": [{"name": "i"}], "containers": [{"name": "a"}]}, "status": {"phase": "Pending",
        "initContainerStatuses": [{"name": "i", "state": {"running": {}}}]}});
    assert_eq!(pod_status(&init).0, "Init:0/1");
    let evicted = json!({"spec": {"containers": [{"name": "a"}]}, "status": {"phase": "Failed", "reason": "Evicted"}});
    assert_eq!(pod_status(&evicted).0, "Evicted");
    let term = json!({"metadata": {"deletionTimestamp": "x"}, "spec": {"containers": [{"name": "a"}]}, "status": {"phase": "Running"}});
    assert_eq!(pod_status(&term).0, "Terminating");
    let oom = json!({"spec": {"containers": [{"name": "a"}]}, "status": {"phase": "Running",
        "containerStatuses": [{"name": "a", "state": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}]}});
    assert_eq!(pod_status(&oom).0, "OOMKilled");
}
