//! Kubernetes resource quantities (`100m`, `128Mi`, `1e9`) as numbers.

use serde_json::Value;

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
