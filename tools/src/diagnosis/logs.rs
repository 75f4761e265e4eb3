//! Log scanning: failure lines of a container's log tail, and the config keys it says are missing.

use std::sync::LazyLock;

use regex::Regex;

#[allow(clippy::expect_used)]
fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("constant pattern compiles")
}

/// Failure lines of a log tail, most telling first (see [`crate::diagnosis::signatures`]),
/// de-duplicated, each trimmed to one line.
pub fn error_signatures(text: &str) -> Vec<String> {
    super::signatures::scan(text)
        .into_iter()
        .map(|s| s.line)
        .collect()
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
    fn python_traceback_quotes_the_error_line() {
        let log = "Starting backend v1.1\nTraceback (most recent call last):\n  File \"/app/main.py\", line 3, in <module>\n    url = os.environ['DATABASE_URL']\n  File \"/usr/lib/python3.12/os.py\", line 714, in __getitem__\n    raise KeyError(key) from None\nKeyError: 'DATABASE_URL'\n";
        let sigs = error_signatures(log);
        assert_eq!(
            sigs.first().map(String::as_str),
            Some("KeyError: 'DATABASE_URL'")
        );
        assert_eq!(missing_env_names(log), vec!["DATABASE_URL".to_string()]);
    }

    #[test]
    fn go_panic_and_dedup() {
        let log = "2024-05-01T10:00:00Z level=info msg=starting\n2024-05-01T10:00:01Z level=error msg=\"dial tcp 10.0.0.5:5432: connect: connection refused\"\n2024-05-01T10:00:02Z level=error msg=\"dial tcp 10.0.0.5:5433: connect: connection refused\"\npanic: cannot reach database\n";
        let sigs = error_signatures(log);
        // The line naming the object outranks the panic that summarises it.
        assert!(sigs[0].contains("connection refused"), "{sigs:?}");
        assert_eq!(sigs.len(), 2, "{sigs:?}");
        assert_eq!(sigs[1], "panic: cannot reach database");
    }

    #[test]
    fn healthy_logs_have_no_signature() {
        let log =
            "listening on :8080\nGET /healthz 200\nprocessed 10 jobs, errors=0\nno errors found\n";
        assert!(
            error_signatures(log).is_empty(),
            "{:?}",
            error_signatures(log)
        );
    }

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

    #[test]
    fn java_exception_and_fatal() {
        let log = "INFO boot\nException in thread \"main\" java.lang.IllegalStateException: no config\n\tat App.main(App.java:3)\n";
        assert!(error_signatures(log)[0].contains("IllegalStateException"));
        let log = "FATAL: password authentication failed for user \"app\"";
        assert_eq!(error_signatures(log).len(), 1);
    }
}
