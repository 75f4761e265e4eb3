//! Tests of the small helpers: quantities, durations, selectors, hashes, image names.

use jiff::SignedDuration;
use serde_json::{Value, json};

use crate::scenario::parse_duration;
use crate::sim::kubelet::full_image;
use crate::sim::labels::{map_selects, selects};
use crate::sim::naming::{fnv32, safe_encode, template_hash};
use crate::sim::quantity::{cpu_millis, mem_bytes, quantity};
#[test]
fn quantities() {
    assert_eq!(cpu_millis(&json!("100m")), 100);
    assert_eq!(cpu_millis(&json!("2")), 2000);
    assert_eq!(cpu_millis(&json!(0.5)), 500);
    assert_eq!(mem_bytes(&json!("128Mi")), 128 * 1024 * 1024);
    assert_eq!(mem_bytes(&json!("1G")), 1_000_000_000);
    assert_eq!(mem_bytes(&json!("1e3")), 1000);
    assert_eq!(quantity(&json!("12Q")), None);
}

#[test]
fn durations() {
    assert_eq!(parse_duration("90s"), Some(SignedDuration::from_secs(90)));
    assert_eq!(
        parse_duration("2h30m"),
        Some(SignedDuration::from_secs(9000))
    );
    assert_eq!(
        parse_duration("3d"),
        Some(SignedDuration::from_secs(259_200))
    );
    assert_eq!(parse_duration("30"), None);
    assert_eq!(parse_duration("5x"), None);
}

#[test]
fn selectors() {
    let labels = json!({"app": "web", "tier": "front"});
    assert!(selects(&json!({"matchLabels": {"app": "web"}}), &labels));
    assert!(selects(&json!({}), &labels));
    assert!(!selects(&json!({"matchLabels": {"app": "db"}}), &labels));
    assert!(selects(
        &json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front", "x"]}]}),
        &labels
    ));
    assert!(!selects(
        &json!({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}),
        &labels
    ));
    assert!(map_selects(&json!({"app": "web"}), &labels));
    assert!(!map_selects(&json!({}), &labels));
}

#[test]
fn template_hash_is_stable_and_order_blind() {
    let a = json!({"metadata": {"labels": {"app": "b", "x": "y"}}, "spec": {"containers": [{"name": "c", "image": "i:1"}]}});
    let b: Value = serde_json::from_str(
        r#"{"spec": {"containers": [{"image": "i:1", "name": "c"}]}, "metadata": {"labels": {"x": "y", "app": "b", "pod-template-hash": "zzz"}}}"#,
    )
    .unwrap();
    let h = template_hash(&a);
    assert_eq!(h, template_hash(&b));
    assert!((8..=10).contains(&h.len()), "{h}");
    assert!(h.chars().all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c)));
    let mut c = a.clone();
    c["spec"]["containers"][0]["image"] = json!("i:2");
    assert_ne!(h, template_hash(&c));
    // A fixed value guards against accidental changes of the hash between releases.
    assert_eq!(
        template_hash(&json!({})),
        safe_encode(u64::from(fnv32(&json!({}))))
    );
}

#[test]
fn images() {
    assert_eq!(full_image("nginx"), "docker.io/library/nginx:latest");
    assert_eq!(full_image("x:v9"), "docker.io/library/x:v9");
    assert_eq!(
        full_image("shop/backend:1.4.0"),
        "docker.io/shop/backend:1.4.0"
    );
    assert_eq!(full_image("ghcr.io/a/b:1"), "ghcr.io/a/b:1");
    assert_eq!(full_image("localhost:5000/a"), "localhost:5000/a:latest");
}
