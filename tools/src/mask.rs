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
    re(
        r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY( BLOCK)?-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|\z)",
    )
});
static BEARER: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9\-._~+/]{6,}=*"));
static JWT: LazyLock<Regex> =
    LazyLock::new(|| re(r"\beyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"));
/// Well-known token formats, after the rule sets of gitleaks and detect-secrets: each has a
/// fixed prefix or shape that ordinary text does not.
static TOKENS: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"\b(?:",
        // AWS access key ids.
        r"(?:A3T[A-Z0-9]|AKIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ASIA)[A-Z0-9]{16}",
        // GitHub, GitLab.
        r"|gh[pousr]_[A-Za-z0-9_]{20,}|github_pat_[A-Za-z0-9_]{20,}",
        r"|glpat-[A-Za-z0-9_-]{20,}|glptt-[A-Za-z0-9_-]{20,}|GR1348941[A-Za-z0-9_-]{20,}",
        // Slack tokens.
        r"|xox[abposre]-[A-Za-z0-9-]{10,}|xapp-[0-9]-[A-Za-z0-9-]{10,}",
        // Stripe keys and webhook secrets.
        r"|(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,}|whsec_[A-Za-z0-9]{16,}",
        // OpenAI, Anthropic and other `sk-` keys.
        r"|sk-(?:proj-|ant-(?:api\d\d-)?|live_|test_)?[A-Za-z0-9_-]{20,}",
        // Google API keys and OAuth access tokens.
        r"|AIza[A-Za-z0-9_-]{35}|ya29\.[A-Za-z0-9_-]{20,}",
        // SendGrid, Twilio, Mailgun, Mailchimp.
        r"|SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}|SK[0-9a-fA-F]{32}",
        r"|key-[0-9a-zA-Z]{32}|[0-9a-f]{32}-us[0-9]{1,2}",
        // npm, PyPI, Docker Hub, Hugging Face, DigitalOcean.
        r"|npm_[A-Za-z0-9]{36}|pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{20,}|dckr_pat_[A-Za-z0-9_-]{20,}",
        r"|hf_[A-Za-z0-9]{30,}|do[por]_v1_[a-f0-9]{64}",
        // Square, Shopify, HashiCorp Vault, age.
        r"|sq0(?:atp|csp)-[A-Za-z0-9_-]{22,}|shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}",
        r"|hv[sb]\.[A-Za-z0-9_-]{24,}|AGE-SECRET-KEY-1[0-9A-Z]{58}",
        r")",
    ))
});
/// Webhook URLs whose path is the secret (Slack, Discord, Microsoft Teams).
static WEBHOOK: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)(https://(?:hooks\.slack\.com/(?:services|workflows|triggers)",
        r"|(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks",
        r"|[a-z0-9-]+\.webhook\.office\.com/webhookb2))/[^\s\x22'<>]+"
    ))
});
/// `scheme://user:password@host`: the password may hold `/`, `@` or `:`; the host is what
/// follows the last `@` of the authority.
static URL_PASSWORD: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"([A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)(\S+)@([A-Za-z0-9.\-\[\]_]+(?::\d+)?(?:[/?#\s\x22',;)]|$))",
    )
});
/// A command-line flag with its value, `--db-password X` / `--api-token=X`.
static FLAG: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(\s|^|["'\[,])(--?[A-Za-z][A-Za-z0-9_.-]*)(\s+|=)("[^"]*"|'[^']*'|[^\s"',\]-][^\s"',\]]*)"#,
    )
});
/// mysql's `-pSECRET` (the password glued to the flag).
static MYSQL_P: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)(\bmysql[a-z]*\b[^\n]*?\s-p)([^\s-]\S*)"));
/// A whole line of base64: the body of a PEM key logged line by line.
static BASE64_LINE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?m)^(\s*)([A-Za-z0-9+/]{40,100}={0,2})(\s*)$"));
/// `name: SECRET_NAME` followed by `value: X` (env lists as JSON or YAML inside annotations,
/// ConfigMaps and logs).
static NAME_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?i)(["']?name["']?\s*[:=]\s*["']?)([A-Za-z_][A-Za-z0-9_.-]*)(["']?\s*(?:,|\n)\s*-?\s*["']?value["']?\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,}\]]+)"#,
    )
});
static VALUE_NAME: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?i)(["']?value["']?\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,}\]]+)(\s*(?:,|\n)\s*["']?name["']?\s*[:=]\s*["']?)([A-Za-z_][A-Za-z0-9_.-]*)"#,
    )
});
static KEY_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    re(r#"(["']?)([A-Za-z_][A-Za-z0-9_.-]*)(["']?)(\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,;&"'}\])]+)"#)
});

/// The value masked, keeping its quotes.
fn masked_value(value: &str) -> String {
    let quote = if value.starts_with('"') {
        "\""
    } else if value.starts_with('\'') {
        "'"
    } else {
        ""
    };
    format!("{quote}{MASK}{quote}")
}

/// A value not worth masking: empty, already masked, a placeholder or reference.
fn is_placeholder(bare: &str) -> bool {
    bare.is_empty()
        || bare.contains(MASK)
        || bare.starts_with('<')
        || bare.starts_with("${")
        || ["bearer", "basic", "null", "none", "true", "false"]
            .iter()
            .any(|w| bare.eq_ignore_ascii_case(w))
}

/// Whether `key = value` carries a secret: a secret-like key, or a connection string's `Pwd`
/// (but not the shell's `PWD=/home/x`).
fn secret_pair(key: &str, bare: &str) -> bool {
    is_secret_like_name(key)
        || (key.eq_ignore_ascii_case("pwd") && !bare.starts_with('/') && !bare.starts_with('~'))
}

/// `key: value` / `key=value` pairs with a secret-like key. A pair whose key is ordinary is
/// skipped but its value is searched again, so `ERROR: password=X` masks X.
fn mask_pairs(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut copied = 0;
    let mut from = 0;
    while let Some(c) = KEY_VALUE.captures_at(s, from) {
        let (Some(key), Some(sep), Some(value)) = (c.get(2), c.get(4), c.get(5)) else {
            break;
        };
        let bare = value.as_str().trim_matches(|ch| ch == '"' || ch == '\'');
        // `volume "app-secret" : secret "x" not found` is the kubelet's prose, not a pair:
        // a spaced colon followed by the name of a kind.
        let kubelet_prose = sep.as_str().starts_with(char::is_whitespace)
            && sep.as_str().trim() == ":"
            && matches!(
                bare.to_ascii_lowercase().as_str(),
                "secret" | "secrets" | "configmap" | "configmaps" | "persistentvolumeclaim"
            );
        // `cannot list secrets: RBAC`, `--forbid secrets: expected VERB:RESOURCE`: a plural
        // resource word before a colon and a space is prose, not a key.
        let plural_prose = sep.as_str().trim_start().starts_with(':')
            && sep.as_str().ends_with(char::is_whitespace)
            && matches!(
                key.as_str().to_ascii_lowercase().as_str(),
                "secrets" | "tokens" | "passwords" | "credentials"
            );
        if !kubelet_prose
            && !plural_prose
            && secret_pair(key.as_str(), bare)
            && !is_placeholder(bare)
        {
            out.push_str(&s[copied..value.start()]);
            out.push_str(&masked_value(value.as_str()));
            copied = value.end();
            from = value.end();
        } else {
            from = value.start();
        }
    }
    out.push_str(&s[copied..]);
    out
}

fn mixed_base64(token: &str) -> bool {
    token.chars().any(|c| c.is_ascii_uppercase())
        && token.chars().any(|c| c.is_ascii_lowercase())
        && token.chars().any(|c| c.is_ascii_digit())
}

/// Masks secrets in free text: private key blocks (and base64 lines that look like their
/// bodies), bearer/basic credentials, JWTs, well-known token formats (cloud, VCS, chat,
/// payment, mail and package-registry keys), webhook URLs, passwords in URLs (even holding
/// `/` or `@`), secret-named flags (`--db-password X`, mysql's `-pX`), `name`/`value` pairs
/// naming a secret, and `password=…` / `secret: …` / `Pwd=…` pairs anywhere in a line.
/// Ordinary words, IPs, image tags, digests and timestamps pass through unchanged.
pub fn mask_text(s: &str) -> String {
    let mut out = PRIVATE_KEY_BLOCK
        .replace_all(
            s,
            "-----BEGIN ${1}PRIVATE KEY----- **** -----END ${1}PRIVATE KEY-----",
        )
        .into_owned();
    out = BASE64_LINE
        .replace_all(&out, |c: &Captures<'_>| {
            let token = c.get(2).map_or("", |m| m.as_str());
            if mixed_base64(token) {
                format!("{}{MASK}{}", &c[1], &c[3])
            } else {
                c[0].to_string()
            }
        })
        .into_owned();
    out = WEBHOOK.replace_all(&out, "${1}/****").into_owned();
    out = URL_PASSWORD.replace_all(&out, "${1}****@${3}").into_owned();
    out = BEARER.replace_all(&out, "${1}${2}****").into_owned();
    out = JWT.replace_all(&out, MASK).into_owned();
    out = TOKENS.replace_all(&out, MASK).into_owned();
    out = MYSQL_P.replace_all(&out, "${1}****").into_owned();
    out = FLAG
        .replace_all(&out, |c: &Captures<'_>| {
            let flag = c.get(2).map_or("", |m| m.as_str());
            let value = c.get(4).map_or("", |m| m.as_str());
            let bare = value.trim_matches(|ch| ch == '"' || ch == '\'');
            if is_secret_like_name(flag.trim_start_matches('-')) && !is_placeholder(bare) {
                format!("{}{flag}{}{}", &c[1], &c[3], masked_value(value))
            } else {
                c[0].to_string()
            }
        })
        .into_owned();
    for pattern in [&*NAME_VALUE, &*VALUE_NAME] {
        let name_first = std::ptr::eq(pattern, &*NAME_VALUE);
        out = pattern
            .replace_all(&out, |c: &Captures<'_>| {
                let (name, value) = if name_first {
                    (&c[2], &c[4])
                } else {
                    (&c[4], &c[2])
                };
                let bare = value.trim_matches(|ch| ch == '"' || ch == '\'');
                if !secret_pair(name, bare) || is_placeholder(bare) {
                    return c[0].to_string();
                }
                if name_first {
                    format!("{}{}{}{}", &c[1], &c[2], &c[3], masked_value(value))
                } else {
                    format!("{}{}{}{}", &c[1], masked_value(value), &c[3], &c[4])
                }
            })
            .into_owned();
    }
    mask_pairs(&out)
}

/// Masks every string inside a JSON value with [`mask_text`]; a string under a secret-like key
/// is masked whole.
pub fn mask_json(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::String(s) => *s = mask_text(s),
        serde_json::Value::Array(a) => {
            a.iter_mut().for_each(mask_json);
            mask_flag_values(a);
        }
        serde_json::Value::Object(o) => {
            // `{"name": "DB_PASSWORD", "value": "x"}`: an env entry naming a secret.
            let named_secret = o
                .get("name")
                .and_then(serde_json::Value::as_str)
                .is_some_and(is_secret_like_name);
            for (k, x) in o.iter_mut() {
                let secret = is_secret_like_name(k) || (named_secret && k == "value");
                if secret && x.is_string() {
                    *x = serde_json::Value::String(MASK.into());
                } else {
                    mask_json(x);
                }
            }
        }
        _ => {}
    }
}

/// In an argument list (`["--db-password", "x"]`), masks the value that follows a secret-like
/// flag given without `=`.
fn mask_flag_values(a: &mut [serde_json::Value]) {
    for i in 1..a.len() {
        let flag = a[i - 1].as_str().unwrap_or_default();
        let secret_flag = flag.starts_with('-')
            && !flag.contains('=')
            && is_secret_like_name(flag.trim_start_matches('-'));
        if secret_flag
            && let Some(v) = a[i].as_str()
            && !v.starts_with('-')
            && !is_placeholder(v)
        {
            a[i] = serde_json::Value::String(MASK.into());
        }
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
#[path = "mask_tests.rs"]
mod tests;
