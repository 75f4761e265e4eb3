//! Kubernetes resource quantities (`100m`, `128Mi`, `1e9`) as numbers.

use serde_json::Value;

/// The largest magnitude a quantity counts as (2^48: 256 TiB, 281 billion cores): sums over
/// thousands of pods then stay far from overflowing, whatever a scenario writes (`1e400`).
const LARGEST: f64 = (1u64 << 48) as f64;

/// A quantity as a whole number, rounded and bounded to ±[`LARGEST`].
pub fn whole(v: f64) -> i64 {
    if v.is_nan() {
        return 0;
    }
    v.round().clamp(-LARGEST, LARGEST) as i64
}

/// A CPU quantity in millicores (`100m`, `0.5`, `2`).
pub fn cpu_millis(q: &Value) -> i64 {
    quantity(q).map_or(0, |v| whole(v * 1000.0))
}

/// A memory quantity in bytes (`128Mi`, `1G`, `1e9`).
pub fn mem_bytes(q: &Value) -> i64 {
    quantity(q).map_or(0, whole)
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
