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

#[test]
fn python_traceback_quotes_the_error_line() {
    let log = "Starting backend v1.1\nTraceback (most recent call last):\n  File \"/app/main.py\", line 3, in <module>\n    url = os.environ['DATABASE_URL']\n  File \"/usr/lib/python3.12/os.py\", line 714, in __getitem__\n    raise KeyError(key) from None\nKeyError: 'DATABASE_URL'\n";
    let sigs = error_signatures(log);
    assert_eq!(
        sigs.first().map(String::as_str),
        Some("KeyError: 'DATABASE_URL'")
    );
    assert_eq!(
        crate::diagnosis::logs::missing_env_names(log),
        vec!["DATABASE_URL".to_string()]
    );
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
fn java_exception_and_fatal() {
    let log = "INFO boot\nException in thread \"main\" java.lang.IllegalStateException: no config\n\tat App.main(App.java:3)\n";
    assert!(error_signatures(log)[0].contains("IllegalStateException"));
    let log = "FATAL: password authentication failed for user \"app\"";
    assert_eq!(error_signatures(log).len(), 1);
}
