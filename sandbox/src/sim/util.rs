//! Small helpers over JSON objects: fields, labels and selectors, quantities, durations,
//! owner references and the pod-template hash.

use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};

use crate::clock::rfc3339;
use crate::resources::{ResourceType, by_plural};

/// A resource type by group and plural; the registry is static, so a miss is a programming
/// error caught by the tests, and falls back to pods to stay panic-free.
pub fn rt(group: &str, plural: &str) -> &'static ResourceType {
    by_plural(group, plural)
        .or_else(|| by_plural("", "pods"))
        .unwrap_or(&crate::resources::RESOURCES[0])
}

/// Resource types the simulation works on.
pub struct Kinds;

#[allow(missing_docs)]
impl Kinds {
    pub fn pods() -> &'static ResourceType {
        rt("", "pods")
    }
    pub fn nodes() -> &'static ResourceType {
        rt("", "nodes")
    }
    pub fn namespaces() -> &'static ResourceType {
        rt("", "namespaces")
    }
    pub fn services() -> &'static ResourceType {
        rt("", "services")
    }
    pub fn endpoints() -> &'static ResourceType {
        rt("", "endpoints")
    }
    pub fn slices() -> &'static ResourceType {
        rt("discovery.k8s.io", "endpointslices")
    }
    pub fn events() -> &'static ResourceType {
        rt("", "events")
    }
    pub fn configmaps() -> &'static ResourceType {
        rt("", "configmaps")
    }
    pub fn secrets() -> &'static ResourceType {
        rt("", "secrets")
    }
    pub fn serviceaccounts() -> &'static ResourceType {
        rt("", "serviceaccounts")
    }
    pub fn pvcs() -> &'static ResourceType {
        rt("", "persistentvolumeclaims")
    }
    pub fn pvs() -> &'static ResourceType {
        rt("", "persistentvolumes")
    }
    pub fn storageclasses() -> &'static ResourceType {
        rt("storage.k8s.io", "storageclasses")
    }
    pub fn deployments() -> &'static ResourceType {
        rt("apps", "deployments")
    }
    pub fn replicasets() -> &'static ResourceType {
        rt("apps", "replicasets")
    }
    pub fn statefulsets() -> &'static ResourceType {
        rt("apps", "statefulsets")
    }
    pub fn daemonsets() -> &'static ResourceType {
        rt("apps", "daemonsets")
    }
    pub fn jobs() -> &'static ResourceType {
        rt("batch", "jobs")
    }
}

/// `obj.metadata.<field>` as a string, or "".
pub fn meta<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj["metadata"][field].as_str().unwrap_or("")
}

/// The object's name.
pub fn name(obj: &Value) -> &str {
    meta(obj, "name")
}

/// The object's namespace ("" when cluster-scoped).
pub fn namespace(obj: &Value) -> &str {
    meta(obj, "namespace")
}

/// The object's uid.
pub fn uid(obj: &Value) -> &str {
    meta(obj, "uid")
}

/// A string at a JSON pointer, or "".
pub fn s<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// An integer at a JSON pointer.
pub fn i(obj: &Value, pointer: &str) -> Option<i64> {
    obj.pointer(pointer).and_then(Value::as_i64)
}

/// An array at a JSON pointer, or an empty slice.
pub fn arr<'a>(obj: &'a Value, pointer: &str) -> &'a [Value] {
    obj.pointer(pointer)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A mutable JSON object, making `v` one if it is not.
pub fn obj_mut(v: &mut Value) -> &mut Map<String, Value> {
    if !v.is_object() {
        *v = json!({});
    }
    match v {
        Value::Object(m) => m,
        _ => unreachable!("the value was just made an object"),
    }
}

/// The controller owner reference's uid, if any.
pub fn controller_uid(obj: &Value) -> Option<&str> {
    arr(obj, "/metadata/ownerReferences")
        .iter()
        .find(|r| r["controller"].as_bool() == Some(true))
        .and_then(|r| r["uid"].as_str())
}

/// An owner reference making `owner` the controller of a dependent.
pub fn owner_ref(owner: &Value) -> Value {
    json!({
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": name(owner),
        "uid": uid(owner),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// Whether the object is being deleted.
pub fn terminating(obj: &Value) -> bool {
    obj["metadata"]["deletionTimestamp"].is_string()
}

/// Whether a plain label map selector (a Service's) matches `labels`. Empty matches nothing.
pub fn map_selects(selector: &Value, labels: &Value) -> bool {
    let Some(sel) = selector.as_object() else {
        return false;
    };
    !sel.is_empty() && sel.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Whether a `LabelSelector` (`matchLabels`, `matchExpressions`) matches `labels`.
/// An empty selector matches everything, as in Kubernetes.
pub fn selects(selector: &Value, labels: &Value) -> bool {
    if let Some(m) = selector["matchLabels"].as_object()
        && !m.iter().all(|(k, v)| labels.get(k) == Some(v))
    {
        return false;
    }
    arr(selector, "/matchExpressions").iter().all(|e| {
        let key = e["key"].as_str().unwrap_or("");
        let values: Vec<&str> = arr(e, "/values").iter().filter_map(Value::as_str).collect();
        let have = labels.get(key).and_then(Value::as_str);
        match e["operator"].as_str().unwrap_or("") {
            "In" => have.is_some_and(|h| values.contains(&h)),
            "NotIn" => have.is_none_or(|h| !values.contains(&h)),
            "Exists" => have.is_some(),
            "DoesNotExist" => have.is_none(),
            _ => false,
        }
    })
}

/// A CPU quantity in millicores (`100m`, `0.5`, `2`).
pub fn cpu_millis(q: &Value) -> i64 {
    quantity(q).map_or(0, |v| (v * 1000.0).round() as i64)
}

/// A memory quantity in bytes (`128Mi`, `1G`, `1e9`).
pub fn mem_bytes(q: &Value) -> i64 {
    quantity(q).map_or(0, |v| v.round() as i64)
}

/// Parses a Kubernetes quantity to its value in base units.
pub fn quantity(q: &Value) -> Option<f64> {
    if let Some(n) = q.as_f64() {
        return Some(n);
    }
    let t = q.as_str()?.trim();
    let split = t
        .find(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
        .unwrap_or(t.len());
    let (num, suffix) = t.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "Ki" => 1024.0,
        "Mi" => 1024.0 * 1024.0,
        "Gi" => 1024.0 * 1024.0 * 1024.0,
        "Ti" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some(n * mult)
}

/// Parses a duration such as `90s`, `30m`, `2h30m`, `3d`.
pub fn parse_duration(text: &str) -> Option<SignedDuration> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    let mut num = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: i64 = num.parse().ok()?;
        num.clear();
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    if !num.is_empty() {
        return None;
    }
    Some(SignedDuration::from_secs(total))
}

/// `t + secs`, saturating.
pub fn plus(t: Timestamp, secs: f64) -> Timestamp {
    t.checked_add(SignedDuration::from_secs_f64(secs))
        .unwrap_or(t)
}

/// Seconds from `a` to `b` (negative if `b` is earlier).
pub fn secs_between(a: Timestamp, b: Timestamp) -> f64 {
    b.duration_since(a).as_secs_f64()
}

/// Parses an RFC 3339 timestamp field.
pub fn ts(v: &Value) -> Option<Timestamp> {
    v.as_str().and_then(|t| t.parse().ok())
}

/// A timestamp as Kubernetes writes it.
pub fn time(t: Timestamp) -> Value {
    json!(rfc3339(t))
}

/// FNV-1a (32-bit) of the canonical JSON form of `v`: keys sorted, so the hash does not
/// depend on the order fields were written in.
pub fn fnv32(v: &Value) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            h ^= u32::from(*b);
            h = h.wrapping_mul(0x0100_0193);
        }
    };
    canonical(v, &mut feed);
    h
}

fn canonical(v: &Value, feed: &mut impl FnMut(&[u8])) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            feed(b"{");
            for k in keys {
                feed(k.as_bytes());
                feed(b":");
                canonical(&m[k], feed);
                feed(b",");
            }
            feed(b"}");
        }
        Value::Array(a) => {
            feed(b"[");
            for x in a {
                canonical(x, feed);
                feed(b",");
            }
            feed(b"]");
        }
        other => feed(other.to_string().as_bytes()),
    }
}

/// Kubernetes' `rand.SafeEncodeString` of a number's decimal form: no vowels, no
/// look-alike characters, like the hashes in ReplicaSet names.
pub fn safe_encode(n: u64) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    n.to_string()
        .bytes()
        .map(|b| ALPHABET[usize::from(b) % ALPHABET.len()] as char)
        .collect()
}

/// The `pod-template-hash` of a pod template: stable across runs and field order, and
/// blind to the `pod-template-hash` label itself.
pub fn template_hash(template: &Value) -> String {
    let mut t = template.clone();
    if let Some(labels) = t
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove("pod-template-hash");
    }
    safe_encode(u64::from(fnv32(&t)))
}

/// A deterministic 16-hex-digit suffix for event names.
pub fn hex_suffix(seed: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Normalises an image reference as containerd reports it: `nginx` →
/// `docker.io/library/nginx:latest`.
pub fn full_image(image: &str) -> String {
    let (path, tagged) = match image.rsplit_once('/') {
        Some((_, last)) => (image, last.contains(':') || last.contains('@')),
        None => (image, image.contains(':') || image.contains('@')),
    };
    let with_tag = if tagged {
        path.to_string()
    } else {
        format!("{path}:latest")
    };
    let first = with_tag.split('/').next().unwrap_or("");
    let has_registry = with_tag.contains('/')
        && (first.contains('.') || first.contains(':') || first == "localhost");
    if has_registry {
        with_tag
    } else if with_tag.contains('/') {
        format!("docker.io/{with_tag}")
    } else {
        format!("docker.io/library/{with_tag}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
