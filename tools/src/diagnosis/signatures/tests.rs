//! Tests of the log vocabulary: classes, ranking and the objects extracted.

use super::*;

fn first(text: &str) -> Signature {
    best(text).unwrap_or_else(|| panic!("a signature in {text:?}"))
}

#[test]
fn name_resolution_names_the_host() {
    let s = first(
        "storefront listening on :8080\nERROR could not resolve host catalog: Name or service not known\n",
    );
    assert_eq!(s.class, Class::NameResolution);
    assert_eq!(s.target.host.as_deref(), Some("catalog"));
    let py = "requests.exceptions.ConnectionError: HTTPConnectionPool(host='inventory', port=8080): Max retries exceeded with url: / (Caused by NameResolutionError(\"<urllib3.connection.HTTPConnection object at 0x7f>: Failed to resolve 'inventory' ([Errno -3] Temporary failure in name resolution)\"))";
    let s = first(py);
    assert_eq!(s.class, Class::NameResolution);
    assert_eq!(s.target.host.as_deref(), Some("inventory"));
    assert_eq!(s.target.port, Some(8080));
    let go = "dial tcp: lookup redis.cache.svc.cluster.local on 10.96.0.10:53: no such host";
    assert_eq!(
        first(go).target.host.as_deref(),
        Some("redis.cache.svc.cluster.local")
    );
    assert_eq!(
        first("Error: getaddrinfo ENOTFOUND payments-api")
            .target
            .host
            .as_deref(),
        Some("payments-api")
    );
}

#[test]
fn refused_and_timeouts_name_host_and_port() {
    let s = first(
        "level=error msg=\"connection failed\" err=\"dial tcp 10.96.0.11:8080: connect: connection refused\"",
    );
    assert_eq!(s.class, Class::ConnectionRefused);
    assert_eq!(s.target.host.as_deref(), Some("10.96.0.11"));
    assert_eq!(s.target.port, Some(8080));
    let s = first("Error: connect ECONNREFUSED 10.0.0.7:5432");
    assert_eq!(
        (s.class, s.target.port),
        (Class::ConnectionRefused, Some(5432))
    );
    let s = first("dial tcp 10.96.4.2:6379: i/o timeout");
    assert_eq!((s.class, s.target.port), (Class::Timeout, Some(6379)));
}

#[test]
fn forbidden_names_the_call_and_the_service_account() {
    let line = r#"level=error msg="failed to list pods" err="pods is forbidden: User \"system:serviceaccount:apps:reporter\" cannot list resource \"pods\" in API group \"\" in the namespace \"apps\"""#;
    let s = first(line);
    assert_eq!(s.class, Class::Forbidden);
    let api = s.target.api.expect("api call");
    assert_eq!(api.user, "system:serviceaccount:apps:reporter");
    assert_eq!((api.verb.as_str(), api.resource.as_str()), ("list", "pods"));
    assert_eq!(api.namespace.as_deref(), Some("apps"));
}

#[test]
fn disk_and_runtime_refusals_outrank_banners_and_generic_errors() {
    let log = "LOG:  database system was interrupted; last known up at 2026-11-29 05:40:11 UTC\nLOG:  redo starts at 0/1A2B3C8\nERROR write /var/lib/postgresql/data/pg_wal/000000010000000000000042: No space left on device\n";
    let s = first(log);
    assert_eq!(s.class, Class::DiskFull);
    assert_eq!(
        s.target.path.as_deref(),
        Some("/var/lib/postgresql/data/pg_wal/000000010000000000000042")
    );
    let log = "PostgreSQL Database directory appears to contain a database; Skipping initialization\n\"root\" execution of the PostgreSQL server is not permitted.\nThe server must be started under an unprivileged user ID to prevent\n";
    assert_eq!(first(log).class, Class::RuntimeRefusal);
    let log = "error: something odd\nFATAL:  password authentication failed for user \"app\"\n";
    let s = first(log);
    assert_eq!(
        (s.class, s.target.user.as_deref()),
        (Class::DbAuth, Some("app"))
    );
}

#[test]
fn healthy_lines_have_no_signature() {
    for l in [
        "listening on :8080",
        "GET /healthz 200",
        "processed 10 jobs, errors=0",
        "no errors found",
        "storefront 1.8.0 listening on :8080",
        "INFO:orders:orders 2.3.0 serving on 0.0.0.0:8080",
    ] {
        assert_eq!(classify(l), None, "{l}");
    }
}

#[test]
fn tls_oom_segfault_and_permissions() {
    assert_eq!(
        first("x509: certificate signed by unknown authority").class,
        Class::Tls
    );
    assert_eq!(
        first("java.lang.OutOfMemoryError: Java heap space").class,
        Class::OutOfMemory
    );
    assert_eq!(
        first("Segmentation fault (core dumped)").class,
        Class::Segfault
    );
    let s = first("open /data/cache/index.db: permission denied");
    assert_eq!(
        (s.class, s.target.path.as_deref()),
        (Class::PermissionDenied, Some("/data/cache/index.db"))
    );
    assert_eq!(
        first("touch: /etc/app/x: Read-only file system").class,
        Class::ReadOnlyFs
    );
}
