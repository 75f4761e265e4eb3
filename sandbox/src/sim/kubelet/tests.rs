//! Tests of the kubelet's clock-driven parts: back-off, restarts, retries, QoS class.

use serde_json::json;

use jiff::Timestamp;

use super::pod::qos_class;
use super::timeline::*;
use crate::sim::behavior::Exit;
use crate::sim::timestamps::plus;

fn t0() -> Timestamp {
    "2026-01-01T00:00:00Z".parse().unwrap()
}

#[test]
fn back_off_doubles_to_five_minutes() {
    let d: Vec<f64> = (0..8).map(backoff_delay).collect();
    assert_eq!(d, vec![1.0, 10.0, 20.0, 40.0, 80.0, 160.0, 300.0, 300.0]);
    assert_eq!(go_duration(10.0), "10s");
    assert_eq!(go_duration(80.0), "1m20s");
    assert_eq!(go_duration(300.0), "5m0s");
}

#[test]
fn crash_loop_restarts_grow_with_time() {
    let exit = Some(Exit {
        code: 1,
        reason: "Error",
        after: 3.0,
    });
    let at = |secs: f64| timeline(t0(), plus(t0(), secs), exit, |_| true);
    assert_eq!(at(1.0).state, St::Running(t0()));
    assert_eq!(at(3.5).state, St::BackOff(1.0));
    assert_eq!(at(3.5).restarts, 0);
    // exits at 3, restarts at 4, exits at 7, waits 10s
    assert_eq!(at(8.0).restarts, 1);
    assert_eq!(at(8.0).state, St::BackOff(10.0));
    let long = at(1800.0);
    assert!(
        long.restarts >= 8 && long.restarts <= 11,
        "{}",
        long.restarts
    );
    assert_eq!(long.last.unwrap().code, 1);
    // deterministic
    assert_eq!(at(1800.0).restarts, long.restarts);
    assert!(at(3600.0).restarts > long.restarts);
}

#[test]
fn never_restart_terminates() {
    let exit = Some(Exit {
        code: 2,
        reason: "Error",
        after: 5.0,
    });
    let tl = timeline(t0(), plus(t0(), 60.0), exit, |_| false);
    assert!(matches!(tl.state, St::Done(t) if t.code == 2));
    assert_eq!(tl.restarts, 0);
}

#[test]
fn retries_back_off() {
    let (n, last, next) = retries(t0(), plus(t0(), 35.0));
    assert_eq!(n, 3); // 0, 10, 30
    assert_eq!(last, plus(t0(), 30.0));
    assert_eq!(next, plus(t0(), 70.0));
}

#[test]
fn qos() {
    let be = json!({"spec": {"containers": [{"name": "a"}]}});
    assert_eq!(qos_class(&be), "BestEffort");
    let g = json!({"spec": {"containers": [{"name": "a", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}});
    assert_eq!(qos_class(&g), "Guaranteed");
    let b =
        json!({"spec": {"containers": [{"name": "a", "resources": {"requests": {"cpu": "1"}}}]}});
    assert_eq!(qos_class(&b), "Burstable");
}
