//! The masker: each class of secret it must hide, and ordinary text it must keep.

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
        &*TOKENS,
        &*WEBHOOK,
        &*URL_PASSWORD,
        &*FLAG,
        &*MYSQL_P,
        &*BASE64_LINE,
        &*NAME_VALUE,
        &*VALUE_NAME,
        &*KEY_VALUE,
    ] {
        assert!(!r.as_str().is_empty());
    }
}

#[test]
fn masks_each_class_the_scanners_know() {
    for (input, secret) in [
        // A prefix before the key.
        ("ERROR: password=hunter2-x1 rejected", "hunter2-x1"),
        ("WARN db: secret=sEcr3t-x2", "sEcr3t-x2"),
        ("level=error msg=\"auth failed\" password=pw-x3", "pw-x3"),
        // Connection strings.
        ("Server=db;Database=shop;User Id=sa;Pwd=Conn-x4;", "Conn-x4"),
        ("Data Source=x;Password=Conn-x5;Encrypt=true", "Conn-x5"),
        // URL passwords holding / @ :
        ("postgres://shop:p@ss/w0rd-x6@db:5432/shop", "w0rd-x6"),
        ("redis://:a/b@c:d-x7@cache:6379/0", "d-x7"),
        ("amqp://user:pa:ss-x8@rabbit", "ss-x8"),
        // Flags.
        ("exec app --db-password Flag-x9 --port 8080", "Flag-x9"),
        ("exec app --api-token=Flag-x10", "Flag-x10"),
        ("mysql -h db -u root -pMy-x11 shop", "My-x11"),
        ("mysqldump --user=root -pDump-x12 shop", "Dump-x12"),
        // Vendor formats.
        (
            "charge with sk_live_51HcX12abcdEFGHijklMNOP",
            "51HcX12abcdEFGH",
        ),
        (
            "stripe rk_test_4eC39HqLyjWDarjtT1zdp7dc",
            "4eC39HqLyjWDarjt",
        ),
        (
            "post to https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX now",
            "XXXXXXXXXXXXXXXXXXXXXXXX",
        ),
        (
            "discord https://discord.com/api/webhooks/123456789/abcDEF-ghi_jkl",
            "abcDEF-ghi_jkl",
        ),
        (
            "key AIzaSyA1234567890abcdefghijklmnopqrstuv",
            "AIzaSyA1234567890",
        ),
        (
            "SG.abcdefghijklmnop.qrstuvwxyzABCDEFGHIJKL",
            "qrstuvwxyzABCDEF",
        ),
        ("glpat-abcdefghij1234567890", "abcdefghij1234567890"),
        (
            "npm_abcdefghijklmnopqrstuvwxyz0123456789",
            "abcdefghijklmnopqrstuvwxyz0123",
        ),
        ("hvs.CAESIabcdefghijklmnopqrstuvwxyz", "CAESIabcdefghij"),
        ("xoxp-1234567890-abcdefghij", "1234567890-abcdefghij"),
        (
            "sk-ant-api03-abcdefghijklmnopqrstuvwxyz",
            "abcdefghijklmnopqrstu",
        ),
        ("ASIAXYZXYZXYZXYZXYZ1 session", "ASIAXYZXYZXYZXYZXYZ1"),
        // JSON name/value pairs in annotations, YAML env lists.
        (
            r#"[{"name":"DB_PASSWORD","value":"Json-x13"},{"name":"PORT","value":"80"}]"#,
            "Json-x13",
        ),
        (r#"{"value": "Json-x14", "name": "API_KEY"}"#, "Json-x14"),
        (
            "env:\n- name: STRIPE_SECRET\n  value: Yaml-x15\n",
            "Yaml-x15",
        ),
    ] {
        assert_masked(input, secret);
    }
}

#[test]
fn masks_pem_bodies_logged_line_by_line() {
    for line in [
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7",
        "  aBcDeF0123456789aBcDeF0123456789aBcDeF0123456789+/== ",
    ] {
        let out = mask_text(line);
        assert!(
            !out.contains("0123456789aBc") && !out.contains("MIIEvQIB"),
            "{out}"
        );
    }
    // A lower-case hex digest is not a key body.
    let digest = "4bcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789";
    assert_eq!(mask_text(digest), digest);
}

#[test]
fn keeps_ordinary_flags_urls_and_env() {
    for text in [
        "exec app --port 8080 --log-level debug",
        "docker run -p8080:80 nginx",
        "listening on http://0.0.0.0:8080/healthz",
        "GET /api/v1/namespaces/shop/pods?limit=500 200",
        "PWD=/home/app",
        "user=admin host=db",
        r#"[{"name":"PORT","value":"8080"}]"#,
        "Successfully assigned shop/backend-7c476d6695-8b9wx to node-1",
        "--token-file=<path>",
        "secret=${DB_SECRET}",
        "--forbid secrets: expected VERB:RESOURCE, e.g. list:secrets",
        "forbidden: cannot list secrets: RBAC denies it",
    ] {
        assert_unchanged(text);
    }
}

#[test]
fn masks_json_name_value_entries() {
    let mut v = serde_json::json!({"env": [{"name": "DB_PASSWORD", "value": "Json-x16"},
        {"name": "PORT", "value": "8080"}]});
    mask_json(&mut v);
    let t = v.to_string();
    assert!(!t.contains("Json-x16") && t.contains("8080"), "{t}");
}

#[test]
fn a_flag_and_its_value_in_separate_arguments() {
    let given = [
        "--db-password",
        "hunter2x",
        "--listen",
        ":8080",
        "--api-token",
        "--verbose",
        "--client-secret",
        "${SECRET}",
    ];
    let mut args = serde_json::json!(given);
    mask_json(&mut args);
    let mut expected = given;
    expected[1] = MASK;
    assert_eq!(args, serde_json::json!(expected));
}
