//! Durations on the command line (`--timeout`, `--wait`, `--cooldown`, `--resync`): kai's one
//! parser (`kai_sandbox::scenario::parse_duration`, jiff's) plus a bare number of seconds.

use std::time::Duration;

/// Parses `90s`, `5m`, `1h30m`, `1h 30m`, `500ms`, `1d`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    kai_sandbox::scenario::parse_duration(t)
        .and_then(|d| Duration::try_from(d).ok())
        .ok_or_else(|| {
            format!("invalid duration \"{text}\": use a number with a unit, like 90s, 5m or 1h30m")
        })
}

/// The way a person would write it back: `5m`, `1h30m`, `90s` → `1m30s`.
pub fn format_duration(d: Duration) -> String {
    let total = d.as_secs();
    if total == 0 {
        return format!("{}ms", d.as_millis());
    }
    let (h, m, s) = (total / 3600, (total % 3600) / 60, total % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 {
        out.push_str(&format!("{s}s"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5m"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration(" 2h "), Ok(Duration::from_secs(7200)));
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "m", "5x", "five minutes", "-5s", "5m-"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(
            parse_duration("5y")
                .unwrap_err()
                .contains("invalid duration \"5y\"")
        );
    }

    #[test]
    fn formats_back() {
        assert_eq!(format_duration(Duration::from_secs(300)), "5m");
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::from_millis(200)), "200ms");
    }

    #[test]
    fn absurd_durations_are_errors_not_panics() {
        assert!(parse_duration("99999999999999999999h").is_err());
        assert!(parse_duration("300000000000000000000s1s").is_err());
    }
}
