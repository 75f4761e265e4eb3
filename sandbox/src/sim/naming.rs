//! Names the cluster generates: the pod-template hash, safe-encoded suffixes, event suffixes.

use serde_json::Value;

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
