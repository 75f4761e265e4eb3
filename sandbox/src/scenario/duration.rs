//! Durations as people write them (`90s`, `30m`, `2h30m`, `1h 30m`, `1.5m`, `500ms`, `3d`, `1w`):
//! kai's one duration parser, jiff's. Scenarios, eval tasks and the command line all use it.

use jiff::{SignedDuration, Span, SpanRelativeTo};

/// Parses a duration with units, in jiff's friendly format (or ISO 8601, `PT90S`): days are 24
/// hours and weeks 7 days. `None` for a number without a unit, a negative duration, years or
/// months (no fixed length), and anything else.
pub fn parse_duration(text: &str) -> Option<SignedDuration> {
    let span: Span = text.trim().parse().ok()?;
    if span.is_negative() {
        return None;
    }
    span.to_duration(SpanRelativeTo::days_are_24_hours()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn secs(s: i64) -> Option<SignedDuration> {
        Some(SignedDuration::from_secs(s))
    }

    /// Every form the two hand-written parsers this replaced accepted in use.
    #[test]
    fn accepts_what_scenarios_and_flags_write() {
        for (text, want) in [
            ("90s", secs(90)),
            ("5m", secs(300)),
            ("30m", secs(1800)),
            ("2h", secs(7200)),
            ("1h30m", secs(5400)),
            ("2h30m", secs(9000)),
            ("1h 30m", secs(5400)),
            (" 10m ", secs(600)),
            ("1.5m", secs(90)),
            ("500ms", Some(SignedDuration::from_millis(500))),
            ("1d", secs(86_400)),
            ("3d", secs(259_200)),
            ("1w", secs(604_800)),
            ("1d12h", secs(129_600)),
            ("0s", secs(0)),
            ("10sec", secs(10)),
            ("5mins", secs(300)),
            ("2hrs", secs(7200)),
        ] {
            assert_eq!(parse_duration(text), want, "{text:?}");
        }
    }

    #[test]
    fn rejects_what_has_no_fixed_length_or_no_unit() {
        for text in [
            "",
            "30",
            "m",
            "5x",
            "five minutes",
            "-5s",
            "5s ago",
            "5m-",
            "5y",
            "1mo",
            "99999999999999999999h",
        ] {
            assert_eq!(parse_duration(text), None, "{text:?}");
        }
    }
}
