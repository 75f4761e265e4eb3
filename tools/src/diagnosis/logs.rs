//! The configuration keys a container's log says are missing (`KeyError: 'DATABASE_URL'`).

use std::sync::LazyLock;

use regex::Regex;

#[allow(clippy::expect_used)]
fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("constant pattern compiles")
}

static MISSING: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    vec![
        re(r#"KeyError: ['"]([A-Za-z_][A-Za-z0-9_]*)['"]"#),
        re(
            r#"(?i)(?:env(?:ironment)?(?:\s+variable|\s+var)?|config(?:uration)?\s+key|setting)\s+[`'"]?([A-Z_][A-Z0-9_]{2,})[`'"]?\s+(?:is\s+)?(?:not set|missing|required|undefined|empty|unset)"#,
        ),
        re(
            r#"(?i)(?:missing|required|undefined|unset)\s+(?:required\s+)?(?:env(?:ironment)?\s+(?:variable|var)s?|config(?:uration)?\s+key|setting)?:?\s*[`'"]?([A-Z_][A-Z0-9_]{2,})\b"#,
        ),
        re(
            r#"[`'"]?\b([A-Z][A-Z0-9]*_[A-Z0-9_]+|[A-Z]{3,})\b[`'"]?\s+(?:is not set|not set|must be set|is required|is missing|is undefined|is empty)"#,
        ),
        re(r"process\.env\.([A-Z_][A-Z0-9_]*) is undefined"),
    ]
});

/// Upper-case configuration names a log says are missing (`KeyError: 'DATABASE_URL'`,
/// `DATABASE_URL is not set`, `missing required env var DATABASE_URL`), first mention first.
pub fn missing_env_names(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        for r in MISSING.iter() {
            for c in r.captures_iter(line) {
                if let Some(m) = c.get(1) {
                    let name = m.as_str();
                    let upper_like = name
                        .chars()
                        .all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit() || ch == '_');
                    if upper_like && !out.iter().any(|o| o == name) {
                        out.push(name.to_string());
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_env_phrasings() {
        assert_eq!(
            missing_env_names("FATAL: DATABASE_URL is not set"),
            vec!["DATABASE_URL"]
        );
        assert_eq!(
            missing_env_names("error: missing required env var API_TOKEN"),
            vec!["API_TOKEN"]
        );
        assert_eq!(
            missing_env_names("Error: environment variable REDIS_HOST is required"),
            vec!["REDIS_HOST"]
        );
        assert!(missing_env_names("connection refused").is_empty());
    }
}
