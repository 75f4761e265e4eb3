use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;

use super::{Held, Mark, mark_of, next_hold};

const AFTER: Duration = Duration::from_secs(300);

fn marks(pods: &[(&str, &str, i64)]) -> BTreeMap<String, Mark> {
    pods.iter()
        .map(|(n, uid, restarts)| {
            (
                n.to_string(),
                Mark {
                    uid: uid.to_string(),
                    restarts: *restarts,
                },
            )
        })
        .collect()
}

#[test]
fn a_restarting_pod_holds_the_finding_and_each_restart_restarts_the_quiet_time() {
    let t0 = Instant::now();
    let h = next_hold(None, marks(&[("web-1", "u1", 3)]), t0, AFTER).unwrap();
    assert_eq!(h.quiet_since, t0);
    // Still 3 restarts a minute later: held, quiet since t0.
    let t1 = t0 + Duration::from_secs(60);
    let h = next_hold(Some(&h), marks(&[("web-1", "u1", 3)]), t1, AFTER).unwrap();
    assert_eq!(h.quiet_since, t0);
    // A restart: quiet again from now.
    let t2 = t0 + Duration::from_secs(250);
    let h = next_hold(Some(&h), marks(&[("web-1", "u1", 4)]), t2, AFTER).unwrap();
    assert_eq!(h.quiet_since, t2);
    // Quiet for the whole time after the last restart: resolved.
    assert!(next_hold(Some(&h), marks(&[("web-1", "u1", 4)]), t2 + AFTER, AFTER).is_none());
}

#[test]
fn gone_replaced_or_never_restarted_pods_resolve_at_once() {
    let t0 = Instant::now();
    assert!(next_hold(None, marks(&[]), t0, AFTER).is_none());
    assert!(next_hold(None, marks(&[("web-1", "u1", 0)]), t0, AFTER).is_none());
    let held = Held {
        quiet_since: t0,
        pods: marks(&[("web-0", "old", 5)]),
    };
    // A StatefulSet pod deleted and made again under its name: a new uid.
    assert!(next_hold(Some(&held), marks(&[("web-0", "new", 1)]), t0, AFTER).is_none());
}

#[test]
fn restarts_are_counted_over_every_container() {
    let pod = json!({"metadata": {"uid": "u"}, "status": {
        "initContainerStatuses": [{"restartCount": 1}],
        "containerStatuses": [{"restartCount": 2}, {"restartCount": 3}]}});
    assert_eq!(
        mark_of(&pod),
        Mark {
            uid: "u".into(),
            restarts: 6
        }
    );
}
