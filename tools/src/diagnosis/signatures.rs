//! The failure vocabulary of logs: ranked signatures (name resolution, refused and reset
//! connections, timeouts, TLS, 401/403 and RBAC, file permissions, full and read-only disks,
//! database auth and limits, missing config, runtime refusals, OOM, segfaults, panics) and the
//! object each one names (host and port, path, API call, user, key), so the engine can follow
//! it to the Service, claim or ServiceAccount behind it.

use std::sync::LazyLock;

use regex::Regex;

#[allow(clippy::expect_used)]
fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("constant pattern compiles")
}

/// What kind of failure a log line shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// The runtime or the program refuses to run as configured (as root, bad flags).
    RuntimeRefusal,
    /// No space left on the device.
    DiskFull,
    /// A read-only file system.
    ReadOnlyFs,
    /// A missing environment variable, config key or file.
    MissingConfig,
    /// An API call refused by RBAC (`... is forbidden: User "..." cannot list ...`).
    Forbidden,
    /// A database refused the credentials.
    DbAuth,
    /// A database or server limit (too many connections).
    DbLimit,
    /// A host name that does not resolve.
    NameResolution,
    /// TLS / x509 certificate failures.
    Tls,
    /// Connection refused: nothing listens behind the address.
    ConnectionRefused,
    /// Timeouts connecting or waiting.
    Timeout,
    /// Connection reset or broken pipe.
    ConnectionReset,
    /// 401 / invalid credentials at an HTTP API.
    Unauthorized,
    /// File permission denied.
    PermissionDenied,
    /// Out of memory inside the process.
    OutOfMemory,
    /// Segmentation fault / core dump.
    Segfault,
    /// A panic, fatal error or uncaught exception (the summary line).
    Fatal,
    /// An exception or error named by type (`ValueError: ...`).
    Exception,
    /// Any other line that says error or failed.
    Error,
}

impl Class {
    /// A short name for the class, as the reason of a finding built on a log alone.
    pub fn reason(self) -> &'static str {
        match self {
            Class::RuntimeRefusal => "RuntimeRefusal",
            Class::DiskFull => "NoSpaceLeft",
            Class::ReadOnlyFs => "ReadOnlyFilesystem",
            Class::MissingConfig => "MissingConfig",
            Class::Forbidden => "Forbidden",
            Class::DbAuth => "AuthenticationFailed",
            Class::DbLimit => "TooManyConnections",
            Class::NameResolution => "NameResolutionFailed",
            Class::Tls => "TLSError",
            Class::ConnectionRefused => "ConnectionRefused",
            Class::Timeout => "Timeout",
            Class::ConnectionReset => "ConnectionReset",
            Class::Unauthorized => "Unauthorized",
            Class::PermissionDenied => "PermissionDenied",
            Class::OutOfMemory => "OutOfMemory",
            Class::Segfault => "SegmentationFault",
            Class::Fatal => "Fatal",
            Class::Exception => "Exception",
            Class::Error => "LogErrors",
        }
    }

    /// Whether the class says something specific (not a bare error word).
    pub fn specific(self) -> bool {
        !matches!(self, Class::Fatal | Class::Exception | Class::Error)
    }
}

/// The object a failure names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Target {
    /// Host name or IP the program tried to reach.
    pub host: Option<String>,
    /// Port it tried.
    pub port: Option<u16>,
    /// File system path.
    pub path: Option<String>,
    /// API call refused: (verb, resource, namespace) and the user.
    pub api: Option<ApiCall>,
    /// Database or login user.
    pub user: Option<String>,
    /// Config key or env var.
    pub key: Option<String>,
}

/// An API call RBAC refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiCall {
    /// `list`, `get`...
    pub verb: String,
    /// `pods`, `configmaps`...
    pub resource: String,
    /// API group ("" for core).
    pub group: String,
    /// Namespace of the call (None: cluster scope).
    pub namespace: Option<String>,
    /// `system:serviceaccount:apps:reporter`.
    pub user: String,
}

/// One recognised log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The failure class.
    pub class: Class,
    /// The line, cleaned (timestamp removed, shortened).
    pub line: String,
    /// What it names.
    pub target: Target,
}

struct Rule {
    class: Class,
    pattern: Regex,
}

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    let r = |class, p: &str| Rule {
        class,
        pattern: re(p),
    };
    vec![
        r(
            Class::RuntimeRefusal,
            r#"(?i)("?root"? execution of the .{1,40} is not permitted|(must not|cannot|can't|refus\w*( to)?|not allowed to|do not) run (\S+ )?(as|under) (the )?root|running as root is not (allowed|supported|permitted)|exec format error)"#,
        ),
        r(
            Class::DiskFull,
            r"(?i)(no space left on device|\bENOSPC\b|disk (is )?full|disk quota exceeded|could not extend file)",
        ),
        r(Class::ReadOnlyFs, r"(?i)(read-only file ?system|\bEROFS\b)"),
        r(
            Class::Forbidden,
            r#"(?i)(is forbidden: User .{1,160}? cannot \w+|\bRBAC: access denied)"#,
        ),
        r(
            Class::DbAuth,
            r#"(?i)(password authentication failed|access denied for user|authentication failed for user|login failed for user|FATAL:\s+role "[^"]+" does not exist|invalid password)"#,
        ),
        r(
            Class::DbLimit,
            r"(?i)(too many (connections|clients)|remaining connection slots are reserved|max_connections|connection limit exceeded)",
        ),
        r(
            Class::NameResolution,
            r"(?i)(could not resolve host|failed to resolve|name or service not known|no such host|temporary failure in name resolution|\bENOTFOUND\b|\bEAI_AGAIN\b|unknownhostexception|nodename nor servname|NameResolutionError|getaddrinfo failed|could not translate host name)",
        ),
        r(
            Class::Tls,
            r"(?i)(x509:|certificate (has expired|is not valid|signed by unknown|verify failed)|CERTIFICATE_VERIFY_FAILED|tls: (handshake|bad certificate|failed)|SSL routines|SSLHandshakeException|unable to get local issuer certificate)",
        ),
        r(
            Class::ConnectionRefused,
            r"(?i)(connection refused|\bECONNREFUSED\b|connect: connection refused|ConnectException: Connection refused)",
        ),
        r(
            Class::Timeout,
            r"(?i)(i/o timeout|timed? ?out|\bETIMEDOUT\b|deadline exceeded|ConnectTimeout|ReadTimeout|context deadline)",
        ),
        r(
            Class::ConnectionReset,
            r"(?i)(connection reset by peer|\bECONNRESET\b|broken pipe|\bEPIPE\b|unexpected EOF)",
        ),
        r(
            Class::Unauthorized,
            r"(?i)(\b401\b.*unauthori[sz]ed|unauthori[sz]ed|invalid (api[ _-]?)?(key|token)|authentication required|\b403 Forbidden\b)",
        ),
        r(
            Class::PermissionDenied,
            r"(?i)(permission denied|\bEACCES\b|operation not permitted|\bEPERM\b)",
        ),
        r(
            Class::OutOfMemory,
            r"(?i)(out of memory|OutOfMemoryError|cannot allocate memory|heap out of memory|memory allocation failed)",
        ),
        r(
            Class::Segfault,
            r"(?i)(segmentation fault|\bSIGSEGV\b|core dumped|SIGABRT)",
        ),
        r(
            Class::MissingConfig,
            r#"(?i)(KeyError: ['"]|\b[A-Z][A-Z0-9_]{2,}\b['"`]? (is not set|not set|must be set|is required|is missing|is undefined|is empty)|missing (required )?(env|config|key|variable|setting|environment)|environment variable \S+ (is )?(not set|required|missing)|no such file or directory|config(uration)? file .*not found)"#,
        ),
        r(
            Class::Fatal,
            r"(?i)(^exception in thread|(^|\s)(panic:|fatal( error)?[:\]]|\[?fatal\]?\s|level=(fatal|panic)|uncaught|unhandled))",
        ),
        r(
            Class::Exception,
            r"^[A-Za-z_][A-Za-z0-9_.]*(Error|Exception|Exit|Interrupt)(:|$)",
        ),
        r(
            Class::Error,
            r#"(?i)((^|[\s\[{"])(error|err|exception|fail(ed|ure)?)(\]|:|\s|=|"|$)|level=error|"level":\s*"error"|severity=error|not found)"#,
        ),
    ]
});

static TRACEBACK_START: LazyLock<Regex> =
    LazyLock::new(|| re(r"^Traceback \(most recent call last\)"));
static NOISE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)(error[s]?=0|errors?: 0|no errors?|error=nil|err=<nil>|0 errors|without error)")
});
static TIMESTAMP_PREFIX: LazyLock<Regex> =
    LazyLock::new(|| re(r"^\s*\[?\d{4}-\d{2}-\d{2}[T ][0-9:.,]+(Z|[+-]\d{2}:?\d{2})?\]?\s*"));
static DIGITS: LazyLock<Regex> = LazyLock::new(|| re(r"\d+"));

// Objects named in a line.
static HOST_PORT: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    vec![
        re(r#"host='([A-Za-z0-9_.-]+)', port=(\d+)"#),
        re(
            r"(?i)(?:dial tcp|connect to|connecting to|connect ECONNREFUSED|ECONNREFUSED|ETIMEDOUT|to|at|reach) \[?([A-Za-z0-9_.-]+\.?[A-Za-z0-9_-]*)\]?:(\d{2,5})\b",
        ),
        re(
            r"(?i)(?:https?|postgres(?:ql)?|mysql|redis|amqp|mongodb|grpc)://(?:[^@/\s]+@)?([A-Za-z0-9_.-]+)(?::(\d{2,5}))?",
        ),
    ]
});
static HOST_ONLY: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    vec![
        re(r#"(?i)could not resolve host:? '?"?([A-Za-z0-9_.-]+)"?'?"#),
        re(r#"(?i)failed to resolve '([A-Za-z0-9_.-]+)'"#),
        re(
            r"(?i)lookup ([A-Za-z0-9_.-]+)(?: on [0-9.:]+)?: (?:no such host|i/o timeout|server misbehaving)",
        ),
        re(r"(?i)(?:ENOTFOUND|EAI_AGAIN) ([A-Za-z0-9_.-]+)"),
        re(r"(?i)UnknownHostException: ([A-Za-z0-9_.-]+)"),
        re(r#"(?i)could not translate host name "([A-Za-z0-9_.-]+)""#),
    ]
});
static PATH: LazyLock<Regex> =
    LazyLock::new(|| re(r#"(/[A-Za-z0-9_.@%+=-]+(?:/[A-Za-z0-9_.@%+=-]+)*/?)"#));
static API_CALL: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?i)User \\?"([^"\\]+)\\?" cannot (\w+) resource \\?"([^"\\]+)\\?"(?: in API group \\?"([^"\\]*)\\?")?(?: in the namespace \\?"([^"\\]+)\\?")?"#,
    )
});
static DB_USER: LazyLock<Regex> =
    LazyLock::new(|| re(r#"(?i)(?:for user|user|role) ["']([A-Za-z0-9_.@-]+)["']"#));

const MAX_LINE: usize = 240;

/// The object a line names.
pub fn target(line: &str, class: Class) -> Target {
    let mut t = Target::default();
    for r in HOST_ONLY.iter() {
        if let Some(c) = r.captures(line) {
            t.host = c
                .get(1)
                .map(|m| m.as_str().trim_end_matches('.').to_string());
            break;
        }
    }
    // Names say more than addresses: a host name wins over an IP named in the same line.
    let mut candidates: Vec<(String, Option<u16>)> = HOST_PORT
        .iter()
        .filter_map(|r| r.captures(line))
        .filter_map(|c| {
            let h = c.get(1)?.as_str().trim_end_matches('.').to_string();
            Some((h, c.get(2).and_then(|m| m.as_str().parse().ok())))
        })
        .collect();
    candidates.sort_by_key(|(h, _)| h.parse::<std::net::IpAddr>().is_ok());
    if let Some(h) = t.host.clone() {
        t.port = candidates
            .iter()
            .find(|(c, _)| *c == h)
            .and_then(|(_, p)| *p);
    } else if let Some((h, p)) = candidates.into_iter().next() {
        t.host = Some(h);
        t.port = p;
    }
    if matches!(
        class,
        Class::DiskFull | Class::ReadOnlyFs | Class::PermissionDenied | Class::MissingConfig
    ) && let Some(m) = PATH.find(line)
        && !line[..m.start()].ends_with(':')
    {
        t.path = Some(m.as_str().to_string());
    }
    if let Some(c) = API_CALL.captures(line) {
        t.api = Some(ApiCall {
            user: c[1].to_string(),
            verb: c[2].to_string(),
            resource: c[3].to_string(),
            group: c.get(4).map_or(String::new(), |m| m.as_str().to_string()),
            namespace: c.get(5).map(|m| m.as_str().to_string()),
        });
    }
    if class == Class::DbAuth
        && let Some(c) = DB_USER.captures(line)
    {
        t.user = Some(c[1].to_string());
    }
    if class == Class::MissingConfig {
        t.key = crate::diagnosis::logs::missing_env_names(line)
            .into_iter()
            .next();
    }
    t
}

fn shorten(line: &str) -> String {
    if line.len() <= MAX_LINE {
        return line.to_string();
    }
    let mut end = MAX_LINE;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &line[..end])
}

fn clean(line: &str) -> String {
    shorten(TIMESTAMP_PREFIX.replace(line.trim(), "").trim())
}

/// The class of one line, if it shows a failure.
pub fn classify(line: &str) -> Option<Class> {
    let l = line.trim();
    if l.is_empty() || NOISE.is_match(l) {
        return None;
    }
    RULES
        .iter()
        .find(|r| r.pattern.is_match(l))
        .map(|r| r.class)
}

/// Failure signatures of a log tail, most telling first (by class, then the first line of
/// a class), de-duplicated (numbers ignored when comparing). A Python traceback contributes
/// its final line (`KeyError: 'DATABASE_URL'`), the one that names the error.
pub fn scan(text: &str) -> Vec<Signature> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found: Vec<(Class, usize, Signature)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut push = |class: Class, line: &str, at: usize, found: &mut Vec<_>| {
        let c = clean(line);
        if c.is_empty() {
            return;
        }
        let key = DIGITS
            .replace_all(&c.to_ascii_lowercase(), "#")
            .into_owned();
        if seen.insert(key) {
            let target = target(line, class);
            found.push((
                class,
                at,
                Signature {
                    class,
                    line: c,
                    target,
                },
            ));
        }
    };
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if TRACEBACK_START.is_match(line.trim_start()) {
            // The error line is the first unindented line after the frames.
            let mut j = i + 1;
            while j < lines.len() {
                let l = lines[j];
                if !l.is_empty() && !l.starts_with([' ', '\t']) && !TRACEBACK_START.is_match(l) {
                    break;
                }
                j += 1;
            }
            if let Some(err) = lines.get(j) {
                let class = classify(err)
                    .filter(|c| c.specific())
                    .unwrap_or(Class::Fatal);
                push(class, err, j, &mut found);
            }
            i = j + 1;
            continue;
        }
        if let Some(class) = classify(line) {
            push(class, line, i, &mut found);
        }
        i += 1;
    }
    found.sort_by_key(|(class, at, _)| (*class, *at));
    found.into_iter().map(|(_, _, s)| s).collect()
}

/// The most telling signature of a log tail.
pub fn best(text: &str) -> Option<Signature> {
    scan(text).into_iter().next()
}

/// Failure lines of a log tail, most telling first ,
/// de-duplicated, each trimmed to one line.
pub fn error_signatures(text: &str) -> Vec<String> {
    scan(text).into_iter().map(|s| s.line).collect()
}

#[cfg(test)]
mod tests;
