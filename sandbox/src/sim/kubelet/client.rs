//! The log lines a client writes about what it reaches, in the words of common clients:
//! plain, Go, Python (requests, the kubernetes client), Node.js and curl.

use crate::scenario::{ClientStyle, Connect};
use crate::sim::network::{DNS_IP, Outcome, target};

/// The line a client of `style` in a pod at `ip` writes after trying `conn`.
pub fn line(style: ClientStyle, conn: &Connect, outcome: &Outcome, ip: &str) -> String {
    if let Some(path) = &conn.write {
        return file_line(style, path, outcome);
    }
    if let Some(api) = &conn.api {
        let what = format!("{} {}", api.verb, api.resource);
        return api_line(style, &what, outcome);
    }
    let to = target(conn);
    let (host, port) = to.rsplit_once(':').unwrap_or((to.as_str(), "80"));
    net_line(style, host, port, outcome, ip)
}

fn net_line(style: ClientStyle, host: &str, port: &str, outcome: &Outcome, ip: &str) -> String {
    use ClientStyle::*;
    use Outcome::*;
    let py = |cause: &str| {
        format!(
            "requests.exceptions.ConnectionError: HTTPConnectionPool(host='{host}', port={port}): Max retries exceeded with url: / (Caused by {cause})"
        )
    };
    match (style, outcome) {
        (Plain, Worked) => format!("INFO connected to {host}:{port}"),
        (Plain, NoSuchHost) => {
            format!("ERROR could not resolve host {host}: Name or service not known")
        }
        (Plain, DnsTimeout) => format!(
            "ERROR could not resolve host {host}: Temporary failure in name resolution (no answer from {DNS_IP}:53)"
        ),
        (Plain, Refused(a)) => {
            format!("ERROR connect to {host}:{port} ({a}) failed: Connection refused")
        }
        (Plain, Timeout(a)) => format!(
            "ERROR connect to {host}:{port} ({a}) failed: Connection timed out after 10000 ms"
        ),
        (Go, Worked) => format!("level=info msg=\"connected\" addr={host}:{port}"),
        (Go, NoSuchHost) => format!(
            "level=error msg=\"connection failed\" err=\"dial tcp: lookup {host} on {DNS_IP}:53: no such host\""
        ),
        (Go, DnsTimeout) => format!(
            "level=error msg=\"connection failed\" err=\"dial tcp: lookup {host} on {DNS_IP}:53: read udp {ip}:41372->{DNS_IP}:53: i/o timeout\""
        ),
        (Go, Refused(a)) => format!(
            "level=error msg=\"connection failed\" err=\"dial tcp {a}: connect: connection refused\""
        ),
        (Go, Timeout(a)) => {
            format!("level=error msg=\"connection failed\" err=\"dial tcp {a}: i/o timeout\"")
        }
        (Python, Worked) => format!("INFO:app:connected to {host}:{port}"),
        (Python, NoSuchHost) => py(&format!(
            "NameResolutionError(\"<urllib3.connection.HTTPConnection object at 0x7f2c1a3b4d90>: Failed to resolve '{host}' ([Errno -2] Name or service not known)\"))"
        )),
        (Python, DnsTimeout) => py(&format!(
            "NameResolutionError(\"<urllib3.connection.HTTPConnection object at 0x7f2c1a3b4d90>: Failed to resolve '{host}' ([Errno -3] Temporary failure in name resolution)\"))"
        )),
        (Python, Refused(_)) => py(
            "NewConnectionError('<urllib3.connection.HTTPConnection object at 0x7f2c1a3b4d90>: Failed to establish a new connection: [Errno 111] Connection refused'))",
        ),
        (Python, Timeout(_)) => py(&format!(
            "ConnectTimeoutError(<urllib3.connection.HTTPConnection object at 0x7f2c1a3b4d90>, 'Connection to {host} timed out. (connect timeout=10)'))"
        )),
        (Node, Worked) => format!("connected to {host}:{port}"),
        (Node, NoSuchHost) => format!("Error: getaddrinfo ENOTFOUND {host}"),
        (Node, DnsTimeout) => format!("Error: getaddrinfo EAI_AGAIN {host}"),
        (Node, Refused(a)) => format!("Error: connect ECONNREFUSED {a}"),
        (Node, Timeout(a)) => format!("Error: connect ETIMEDOUT {a}"),
        (Curl, Worked) => format!("ok: {host}:{port} reachable"),
        (Curl, NoSuchHost) => format!("curl: (6) Could not resolve host: {host}"),
        (Curl, DnsTimeout) => "curl: (28) Resolving timed out after 5000 milliseconds".into(),
        (Curl, Refused(_)) => format!(
            "curl: (7) Failed to connect to {host} port {port} after 2 ms: Connection refused"
        ),
        (Curl, Timeout(_)) => format!(
            "curl: (28) Failed to connect to {host} port {port} after 10002 ms: Timeout was reached"
        ),
        (_, other) => format!("ERROR {host}:{port}: {}", other.words()),
    }
}

fn api_line(style: ClientStyle, what: &str, outcome: &Outcome) -> String {
    use ClientStyle::*;
    use Outcome::*;
    match (style, outcome) {
        (Python, Forbidden(m)) => format!(
            "kubernetes.client.exceptions.ApiException: (403) Reason: Forbidden HTTP response body: {{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{{}},\"status\":\"Failure\",\"message\":\"{}\",\"reason\":\"Forbidden\",\"code\":403}}",
            m.replace('"', "\\\"")
        ),
        (Go, Forbidden(m)) => format!(
            "level=error msg=\"failed to {what}\" err=\"{}\"",
            m.replace('"', "\\\"")
        ),
        (Node, Forbidden(m)) => format!("HttpError: HTTP request failed: 403 Forbidden: {m}"),
        (Curl, Forbidden(m)) => format!(
            "{{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{{}},\"status\":\"Failure\",\"message\":\"{}\",\"reason\":\"Forbidden\",\"code\":403}}",
            m.replace('"', "\\\"")
        ),
        (Plain, Forbidden(m)) => format!("ERROR Kubernetes API {what}: 403 Forbidden: {m}"),
        (_, Worked) => format!("INFO Kubernetes API {what}: OK"),
        (style, Timeout(a)) => net_line(
            style,
            "kubernetes.default.svc",
            "443",
            &Timeout(a.clone()),
            "",
        ),
        (_, other) => format!("ERROR Kubernetes API {what}: {}", other.words()),
    }
}

fn file_line(style: ClientStyle, path: &str, outcome: &Outcome) -> String {
    use ClientStyle::*;
    use Outcome::*;
    match (style, outcome) {
        (_, Worked) => format!("INFO wrote {path}"),
        (Go, NoSpace) => format!(
            "level=error msg=\"write failed\" err=\"write {path}: no space left on device\""
        ),
        (Go, ReadOnly) => {
            format!("level=error msg=\"write failed\" err=\"open {path}: read-only file system\"")
        }
        (Python, NoSpace) => format!("OSError: [Errno 28] No space left on device: '{path}'"),
        (Python, ReadOnly) => format!("OSError: [Errno 30] Read-only file system: '{path}'"),
        (Node, NoSpace) => format!("Error: ENOSPC: no space left on device, write '{path}'"),
        (Node, ReadOnly) => format!("Error: EROFS: read-only file system, open '{path}'"),
        (Curl, NoSpace) => format!("sh: write error: {path}: No space left on device"),
        (Curl, ReadOnly) => format!("sh: can't create {path}: Read-only file system"),
        (_, NoSpace) => format!("ERROR write {path}: No space left on device"),
        (_, ReadOnly) => format!("ERROR write {path}: Read-only file system"),
        (_, other) => format!("ERROR write {path}: {}", other.words()),
    }
}
