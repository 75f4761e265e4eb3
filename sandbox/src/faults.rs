//! Fault injection: added latency, error rates, throttling and forbidden verbs (RBAC stand-in).

use serde::Deserialize;

/// Faults the API server injects into requests. Set in a scenario's `Settings` document
/// (`faults:`) or on the `kai sandbox` command line.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Faults {
    /// Added to every API request, in milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// Fraction (0.0 to 1.0) of API requests answered `500 InternalError`.
    #[serde(default)]
    pub error_rate: f64,
    /// Fraction (0.0 to 1.0) of API requests answered `429 TooManyRequests`.
    #[serde(default)]
    pub throttle_rate: f64,
    /// `Retry-After` seconds sent with a 429.
    #[serde(default = "default_retry_after")]
    pub retry_after_seconds: u64,
    /// Requests refused with `403 Forbidden`, worded like RBAC.
    #[serde(default)]
    pub forbidden: Vec<ForbiddenRule>,
    /// Seed of the fault generator, so a run is repeatable.
    #[serde(default)]
    pub seed: u64,
}

fn default_retry_after() -> u64 {
    1
}

/// Refuses matching requests with `403 Forbidden`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ForbiddenRule {
    /// Verbs refused (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`); empty = all.
    #[serde(default)]
    pub verbs: Vec<String>,
    /// Resources refused, by plural (`secrets`, `deployments`, `pods/log`); empty = all.
    #[serde(default)]
    pub resources: Vec<String>,
    /// Namespaces where the rule applies; empty = all and cluster scope.
    #[serde(default)]
    pub namespaces: Vec<String>,
}

/// The user name forbidden requests are refused to, as RBAC would name it.
pub const SANDBOX_USER: &str = "kai-sandbox";

/// One request as fault injection sees it.
#[derive(Debug, Clone, Copy)]
pub struct FaultRequest<'a> {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`.
    pub verb: &'a str,
    /// API group of the resource; empty for core.
    pub group: &'a str,
    /// Resource, with its subresource if any (`pods`, `pods/log`, `deployments/scale`);
    /// for a discovery request, the URL path (`/api`, `/apis/apps/v1`).
    pub resource: &'a str,
    /// The object's name, if the request names one.
    pub name: Option<&'a str>,
    /// Namespace of the request; None at cluster scope.
    pub namespace: Option<&'a str>,
    /// Discovery and `/version`: never delayed nor failed at random, only refused by a rule
    /// that names their path.
    pub discovery: bool,
}

/// Applies [`Faults`] to requests, deterministically from the seed and the request order.
#[derive(Debug, Default)]
pub struct FaultInjector {
    faults: Faults,
    counter: std::sync::atomic::AtomicU64,
}

impl FaultInjector {
    /// An injector for `faults`.
    pub fn new(faults: Faults) -> Self {
        Self {
            faults,
            counter: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The faults applied.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The delay to add before answering `req` (zero for discovery).
    pub fn latency(&self, req: &FaultRequest<'_>) -> std::time::Duration {
        if req.discovery {
            std::time::Duration::ZERO
        } else {
            std::time::Duration::from_millis(self.faults.latency_ms)
        }
    }

    /// The error `req` is refused with, if any: a forbidden rule first, then throttling
    /// (`429` with `Retry-After`), then a random `500`.
    pub fn check(&self, req: &FaultRequest<'_>) -> Result<(), crate::ApiError> {
        if self.faults.forbidden.iter().any(|r| r.matches(req)) {
            return Err(if req.discovery {
                crate::ApiError::forbidden_path(SANDBOX_USER, req.verb, req.resource)
            } else {
                crate::ApiError::forbidden_named(
                    SANDBOX_USER,
                    req.verb,
                    req.group,
                    req.resource,
                    req.name,
                    req.namespace,
                )
            });
        }
        if req.discovery || (self.faults.throttle_rate <= 0.0 && self.faults.error_rate <= 0.0) {
            return Ok(());
        }
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let x = unit(self.faults.seed, n);
        if x < self.faults.throttle_rate {
            return Err(crate::ApiError::too_many_requests(
                self.faults.retry_after_seconds,
            ));
        }
        if x < self.faults.throttle_rate + self.faults.error_rate {
            return Err(crate::ApiError::internal(
                "injected fault: the sandbox failed this request on purpose (faults.errorRate)",
            ));
        }
        Ok(())
    }
}

impl ForbiddenRule {
    fn matches(&self, req: &FaultRequest<'_>) -> bool {
        let any =
            |list: &[String], v: &str| list.is_empty() || list.iter().any(|x| x == "*" || x == v);
        if req.discovery {
            // Discovery is refused only by a rule that names the path itself.
            return self.resources.iter().any(|r| r == req.resource) && any(&self.verbs, req.verb);
        }
        let ns_ok = self.namespaces.is_empty()
            || req
                .namespace
                .is_some_and(|ns| self.namespaces.iter().any(|x| x == ns));
        any(&self.verbs, req.verb) && any(&self.resources, req.resource) && ns_ok
    }
}

/// A number in [0, 1) from the seed and a request counter (splitmix64).
fn unit(seed: u64, n: u64) -> f64 {
    let mut z = seed
        .wrapping_add(n.wrapping_mul(0x9e37_79b9_7f4a_7c15))
        .wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(verb: &'a str, resource: &'a str, ns: Option<&'a str>) -> FaultRequest<'a> {
        FaultRequest {
            verb,
            group: "",
            resource,
            name: None,
            namespace: ns,
            discovery: false,
        }
    }

    #[test]
    fn forbidden_rule_is_worded_like_rbac() {
        let f = FaultInjector::new(Faults {
            forbidden: vec![ForbiddenRule {
                verbs: vec!["list".into()],
                resources: vec!["pods".into()],
                namespaces: vec!["shop".into()],
            }],
            ..Faults::default()
        });
        let e = f.check(&req("list", "pods", Some("shop"))).unwrap_err();
        assert_eq!(e.code, 403);
        assert_eq!(
            e.message,
            "pods is forbidden: User \"kai-sandbox\" cannot list resource \"pods\" in API group \"\" in the namespace \"shop\""
        );
        assert!(f.check(&req("get", "pods", Some("shop"))).is_ok());
        assert!(f.check(&req("list", "pods", Some("other"))).is_ok());
        assert!(f.check(&req("list", "pods/log", Some("shop"))).is_ok());
    }

    #[test]
    fn rates_are_deterministic_and_roughly_right() {
        let faults = Faults {
            error_rate: 0.2,
            throttle_rate: 0.1,
            retry_after_seconds: 3,
            seed: 42,
            ..Faults::default()
        };
        let run = || {
            let f = FaultInjector::new(faults.clone());
            (0..1000)
                .map(|_| f.check(&req("get", "pods", None)).err().map(|e| e.code))
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        let n429 = a.iter().filter(|c| **c == Some(429)).count();
        let n500 = a.iter().filter(|c| **c == Some(500)).count();
        assert!((50..150).contains(&n429), "{n429}");
        assert!((130..270).contains(&n500), "{n500}");
        let mut d = req("get", "/api", None);
        d.discovery = true;
        let f = FaultInjector::new(faults);
        assert!((0..100).all(|_| f.check(&d).is_ok()));
    }
}
