//! Masking of secrets in free text (logs, events, annotations, env values) before any output.

use std::sync::LazyLock;

use regex::{Captures, Regex};

/// What a masked value is replaced with.
pub const MASK: &str = "****";

/// Compiles a pattern constant of this file; every one is compiled by `all_patterns_compile`.
#[allow(clippy::expect_used)]
fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("constant pattern compiles")
}

static PRIVATE_KEY_BLOCK: LazyLock<Regex> = LazyLock::new(|| {
    re(r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\z)")
});
static BEARER: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9\-._~+/]{6,}=*"));
static JWT: LazyLock<Regex> =
    LazyLock::new(|| re(r"\beyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"));
static AWS_KEY: LazyLock<Regex> = LazyLock::new(|| re(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"));
static GITHUB: LazyLock<Regex> =
    LazyLock::new(|| re(r"\b(?:ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{20,}"));
static SLACK: LazyLock<Regex> = LazyLock::new(|| re(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"));
static SK_KEY: LazyLock<Regex> =
    LazyLock::new(|| re(r"\bsk-(?:proj-|ant-|live_|test_)?[A-Za-z0-9_-]{20,}"));
static URL_PASSWORD: LazyLock<Regex> =
    LazyLock::new(|| re(r"([A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)([^@\s/]+)@"));
static KEY_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    re(r#"(["']?)([A-Za-z_][A-Za-z0-9_.-]*)(["']?)(\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,;&"'}\])]+)"#)
});

/// Masks token-shaped strings in free text: bearer and basic credentials, JWTs, AWS access keys,
/// GitHub, Slack and OpenAI-style tokens, private key blocks, passwords in URLs and
/// `password=…` / `secret: …` / `token=…` pairs. Ordinary words, IPs, image tags and
/// timestamps pass through unchanged.
pub fn mask_text(s: &str) -> String {
    let mut out = PRIVATE_KEY_BLOCK
        .replace_all(
            s,
            "-----BEGIN ${1}PRIVATE KEY----- **** -----END ${1}PRIVATE KEY-----",
        )
        .into_owned();
    out = BEARER.replace_all(&out, "${1}${2}****").into_owned();
    out = JWT.replace_all(&out, MASK).into_owned();
    out = AWS_KEY.replace_all(&out, MASK).into_owned();
    out = GITHUB.replace_all(&out, MASK).into_owned();
    out = SLACK.replace_all(&out, MASK).into_owned();
    out = SK_KEY.replace_all(&out, MASK).into_owned();
    out = URL_PASSWORD.replace_all(&out, "${1}****@").into_owned();
    out = KEY_VALUE
        .replace_all(&out, |c: &Captures<'_>| {
            let whole = c.get(0).map_or("", |m| m.as_str());
            let key = c.get(2).map_or("", |m| m.as_str());
            let value = c.get(5).map_or("", |m| m.as_str());
            let bare = value.trim_matches(|ch| ch == '"' || ch == '\'');
            let sep = c.get(4).map_or("", |m| m.as_str());
            // `volume "app-secret" : secret "x" not found` is the kubelet's prose, not a pair:
            // a spaced colon followed by the name of a kind. Anything else is a real pair,
            // spaced or not (`password = hunter2`).
            let kubelet_prose = sep.starts_with(char::is_whitespace)
                && sep.trim() == ":"
                && matches!(
                    bare.to_ascii_lowercase().as_str(),
                    "secret" | "secrets" | "configmap" | "configmaps" | "persistentvolumeclaim"
                );
            let keep = kubelet_prose
                || !is_secret_like_name(key)
                || bare.is_empty()
                || bare.contains(MASK)
                || bare.starts_with('<')
                || bare.eq_ignore_ascii_case("bearer")
                || bare.eq_ignore_ascii_case("basic")
                || bare.eq_ignore_ascii_case("null")
                || bare.eq_ignore_ascii_case("none");
            if keep {
                whole.to_string()
            } else {
                let quote = if value.starts_with('"') {
                    "\""
                } else if value.starts_with('\'') {
                    "'"
                } else {
                    ""
                };
                format!(
                    "{}{}{}{}{quote}{MASK}{quote}",
                    c.get(1).map_or("", |m| m.as_str()),
                    key,
                    c.get(3).map_or("", |m| m.as_str()),
                    c.get(4).map_or("", |m| m.as_str()),
                )
            }
        })
        .into_owned();
    out
}

/// Masks every string inside a JSON value with [`mask_text`]; a string under a secret-like key
/// is masked whole.
pub fn mask_json(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) => *s = mask_text(s),
        serde_json::Value::Array(a) => a.iter_mut().for_each(mask_json),
        serde_json::Value::Object(o) => {
            for (k, x) in o.iter_mut() {
                if is_secret_like_name(k) && x.is_string() {
                    *x = serde_json::Value::String(MASK.into());
                } else {
                    mask_json(x);
                }
            }
        }
        _ => {}
    }
}

/// Whether a name (env var, config key, header) suggests its value is a secret:
/// PASSWORD, PASSWD, SECRET, TOKEN, API_KEY, APIKEY, PRIVATE_KEY, CREDENTIAL, ACCESS_KEY, AUTH…
pub fn is_secret_like_name(name: &str) -> bool {
    let upper: String = name
        .trim()
        .chars()
        .map(|c| match c {
            '-' | '.' | ' ' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect();
    const CONTAINS: &[&str] = &[
        "PASSWORD",
        "PASSWD",
        "PASSPHRASE",
        "SECRET",
        "TOKEN",
        "API_KEY",
        "APIKEY",
        "PRIVATE_KEY",
        "PRIVATEKEY",
        "CREDENTIAL",
        "ACCESS_KEY",
        "ACCESSKEY",
        "SIGNING_KEY",
        "ENCRYPTION_KEY",
        "MASTER_KEY",
        "SSH_KEY",
        "AUTHORIZATION",
        "COOKIE",
    ];
    if CONTAINS.iter().any(|w| upper.contains(w)) {
        return true;
    }
    let segments: Vec<&str> = upper.split('_').filter(|s| !s.is_empty()).collect();
    // Short words are secret-like only as whole segments: `AUTH_HEADER`, `DB_PASS`, `SENTRY_DSN`,
    // but not `AUTHOR`, `PASSENGER` or the shell's `PWD`.
    segments
        .iter()
        .any(|s| matches!(*s, "AUTH" | "PASS" | "DSN" | "PSK"))
        || (segments.len() > 1 && segments.contains(&"PWD"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_masked(input: &str, secret: &str) {
        let out = mask_text(input);
        assert!(!out.contains(secret), "{secret:?} survived in {out:?}");
        assert!(out.contains(MASK), "no mask in {out:?}");
    }

    fn assert_unchanged(input: &str) {
        assert_eq!(mask_text(input), input);
    }

    #[test]
    fn masks_bearer_tokens() {
        assert_masked(
            "GET /api Authorization: Bearer abcdef123456.xyz",
            "abcdef123456",
        );
        let out = mask_text("Authorization: Bearer abcdef123456");
        assert_eq!(out, "Authorization: Bearer ****");
        assert_masked(
            "auth header basic dXNlcjpwYXNzd29yZA==",
            "dXNlcjpwYXNzd29yZA",
        );
    }

    #[test]
    fn masks_jwts() {
        assert_masked("token eyJhbGciOiJIUzI1NiJ9.CANARY.sig used", "CANARY");
        assert_masked(
            "jwt=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            "dozjgNryP4J3",
        );
        assert_masked(
            "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.CANARY.sig",
            "CANARY",
        );
    }

    #[test]
    fn masks_cloud_and_vendor_keys() {
        assert_masked("using AKIAIOSFODNN7EXAMPLE for s3", "AKIAIOSFODNN7EXAMPLE");
        assert_masked(
            "clone with ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "ghp_abcdefghijklmnop",
        );
        assert_masked(
            "slack xoxb-123456789012-abcdefghijkl posted",
            "xoxb-123456789012",
        );
        assert_masked(
            "model key sk-proj-abcdefghijklmnopqrstuvwx1234",
            "abcdefghijklmnopqrstuvwx",
        );
        assert_masked("key sk-abcdefghijklmnopqrstuvwxyz", "sk-abcdefghij");
    }

    #[test]
    fn masks_private_key_blocks() {
        let text = "conf:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7\nabc\n-----END RSA PRIVATE KEY-----\nafter";
        let out = mask_text(text);
        assert!(!out.contains("MIIEpAIBAAKCAQEA7"), "{out}");
        assert!(out.contains("after"));
        assert!(out.contains("-----BEGIN RSA PRIVATE KEY-----"));
        // A block cut off at the end of a log window is masked to the end.
        let out = mask_text("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkq");
        assert!(!out.contains("MIIEvQIBADANBgkq"), "{out}");
    }

    #[test]
    fn masks_url_passwords() {
        assert_eq!(
            mask_text("connecting to postgres://shop:pw-CANARY-55d1@db:5432/shop"),
            "connecting to postgres://shop:****@db:5432/shop"
        );
        assert_masked("redis://:hunter2@cache:6379", "hunter2");
        assert_masked("amqp://guest:guest-pass@rabbit/", "guest-pass");
    }

    #[test]
    fn masks_key_value_pairs() {
        assert_eq!(
            mask_text("password=hunter2 user=bob"),
            "password=**** user=bob"
        );
        assert_eq!(mask_text("secret: s3cr3t"), "secret: ****");
        assert_eq!(mask_text("token=abc123&x=1"), "token=****&x=1");
        assert_eq!(mask_text(r#"{"api_key": "abc"}"#), r#"{"api_key": "****"}"#);
        assert_eq!(mask_text("DB_PASSWORD='x y'"), "DB_PASSWORD='****'");
        assert_eq!(mask_text("API_TOKEN=tok-CANARY-91b2e4"), "API_TOKEN=****");
        assert_eq!(mask_text("clientSecret: abc"), "clientSecret: ****");
        // Spaced separators are pairs too (config dumps, log lines).
        assert_eq!(mask_text("password = hunter2"), "password = ****");
        assert_eq!(mask_text("API_TOKEN : abc"), "API_TOKEN : ****");
        assert_eq!(mask_text(r#"DB_PASSWORD = "x""#), r#"DB_PASSWORD = "****""#);
    }

    #[test]
    fn keeps_ordinary_text() {
        for text in [
            "Started container backend",
            "Back-off restarting failed container backend in pod backend-7d9f8-abcde_shop",
            "Successfully pulled image \"shop/backend:1.4.0\" in 1.2s",
            "listening on 10.244.0.12:8080 and [::1]:8080",
            "2026-11-22T04:44:53Z INFO request done in 12ms",
            "time=12:00:01 level=info msg=ok",
            "token refresh failed: timeout after 30s",
            "Error: secret \"backend-secrets\" not found",
            "couldn't find key db-url in Secret shop/backend-secrets",
            "MountVolume.SetUp failed for volume \"tls-secret\" : secret \"tls\" not found",
            "KeyError: 'DATABASE_URL'",
            "0/3 nodes are available: 3 Insufficient memory.",
            "image nginx:1.25-alpine sha256:abcdef0123456789",
            "API_TOKEN=<secret backend-secrets/api-token>",
            "password=****",
            "author=jane skip=true",
            "Readiness probe failed: HTTP probe failed with statuscode: 503",
            "https://example.com:8443/path?q=1",
            "the task was skipped",
        ] {
            assert_unchanged(text);
        }
    }

    #[test]
    fn masks_json_strings() {
        let mut v = serde_json::json!({"message": "Bearer abcdefgh123", "api_key": "plain",
            "list": ["postgres://u:pw@h/db", 3]});
        mask_json(&mut v);
        let t = v.to_string();
        assert!(
            !t.contains("abcdefgh123") && !t.contains("plain") && !t.contains(":pw@"),
            "{t}"
        );
    }

    #[test]
    fn secret_like_names() {
        for name in [
            "PASSWORD",
            "DB_PASSWORD",
            "db-passwd",
            "API_TOKEN",
            "GITHUB_TOKEN",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_ACCESS_KEY_ID",
            "OPENAI_API_KEY",
            "apiKey",
            "STRIPE_APIKEY",
            "TLS_PRIVATE_KEY",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "AUTH",
            "BASIC_AUTH_USER",
            "AUTHORIZATION",
            "DB_PASS",
            "SENTRY_DSN",
            "JWT_SIGNING_KEY",
            "SESSION_SECRET",
            "x-api-key",
            "MYSQL_ROOT_PWD",
        ] {
            assert!(is_secret_like_name(name), "{name}");
        }
        for name in [
            "DATABASE_HOST",
            "PORT",
            "LOG_LEVEL",
            "AUTHOR",
            "PASSENGER_COUNT",
            "PWD",
            "HOME",
            "NODE_NAME",
            "KEY_ID_PREFIX_LEN",
            "image",
        ] {
            assert!(!is_secret_like_name(name), "{name}");
        }
    }

    #[test]
    fn all_patterns_compile() {
        for r in [
            &*PRIVATE_KEY_BLOCK,
            &*BEARER,
            &*JWT,
            &*AWS_KEY,
            &*GITHUB,
            &*SLACK,
            &*SK_KEY,
            &*URL_PASSWORD,
            &*KEY_VALUE,
        ] {
            assert!(!r.as_str().is_empty());
        }
    }
}
