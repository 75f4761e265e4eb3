//! Durations as scenarios write them (`90s`, `30m`, `2h30m`, `3d`).

use jiff::SignedDuration;

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
