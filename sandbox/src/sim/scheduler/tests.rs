//! Tests of the scheduler's filters and its wording.

use serde_json::json;

use super::*;

fn node(name: &str) -> NodeFit {
    NodeFit {
        name: name.into(),
        labels: json!({"kubernetes.io/hostname": name, "disk": "ssd"}),
        taints: vec![],
        unschedulable: false,
        cpu: 4000,
        mem: 8 << 30,
        pods: 110,
        used: (0, 0, 0),
        ext: Default::default(),
        ext_used: Default::default(),
        residents: Vec::new(),
    }
}

#[test]
fn messages_are_worded_like_kube_scheduler() {
    let big = json!({"spec": {"containers": [{"name": "a", "resources": {"requests": {"memory": "64Gi"}}}]}});
    let nodes = [node("a"), node("b"), node("c")];
    let per: Vec<_> = nodes.iter().map(|n| reasons_for(&big, n, &nodes)).collect();
    assert_eq!(
        failure_message(3, &per),
        "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."
    );
    let sel = json!({"spec": {"nodeSelector": {"gpu": "true"}, "containers": []}});
    let per: Vec<_> = nodes.iter().map(|n| reasons_for(&sel, n, &nodes)).collect();
    assert_eq!(
        failure_message(3, &per),
        "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
    );
    let mut tainted = node("cp");
    tainted.taints =
        vec![json!({"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"})];
    let per = vec![
        reasons_for(&big, &tainted, &[]),
        reasons_for(&big, &node("a"), &[]),
        reasons_for(&big, &node("b"), &[]),
    ];
    assert_eq!(
        failure_message(3, &per),
        "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient memory. preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod."
    );
}

#[test]
fn tolerations_and_affinity() {
    let taint = json!({"key": "dedicated", "value": "gpu", "effect": "NoSchedule"});
    let pod = json!({"spec": {"tolerations": [{"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}]}});
    assert!(tolerated(&pod, &taint));
    let any = json!({"spec": {"tolerations": [{"operator": "Exists"}]}});
    assert!(tolerated(&any, &taint));
    let other = json!({"spec": {"tolerations": [{"key": "dedicated", "operator": "Equal", "value": "cpu"}]}});
    assert!(!tolerated(&other, &taint));
    let aff = json!({"spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}]}}}}});
    assert!(affinity_matches(&aff, &node("a")));
    let not = json!({"spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "disk", "operator": "NotIn", "values": ["ssd"]}]}]}}}}});
    assert!(!affinity_matches(&not, &node("a")));
    let field = json!({"spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["b"]}]}]}}}}});
    assert!(!affinity_matches(&field, &node("a")));
    assert!(affinity_matches(&field, &node("b")));
}

#[test]
fn requests_sum_containers_and_default_to_limits() {
    let pod = json!({"spec": {"containers": [
        {"resources": {"requests": {"cpu": "250m", "memory": "128Mi"}}},
        {"resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}
    ], "initContainers": [{"resources": {"requests": {"cpu": "2"}}}]}});
    assert_eq!(requests(&pod), (2000, (128 << 20) + (1 << 30)));
}
