//! RBAC as the API server evaluates it: who a request is ([`Subject`]), whether the Roles,
//! ClusterRoles and their bindings in the store allow a verb on a resource ([`allowed`]), the
//! rules that apply in a namespace (for `SelfSubjectRulesReview`), and the default ClusterRoles
//! every cluster has.

use serde_json::{Value, json};

use crate::resources::{ResourceType, by_plural};
use crate::store::Store;

/// The bearer token of the sandbox's default user, who is cluster-admin.
pub const ADMIN_TOKEN: &str = "kai-sandbox";

/// Prefix of the bearer tokens that authenticate as a ServiceAccount: `PREFIX` + `NS:NAME`.
const SA_TOKEN_PREFIX: &str = "kai-sandbox-sa:";

/// The user making a request, as the authenticator names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// User name, e.g. `system:serviceaccount:shop:deployer`.
    pub user: String,
    /// Groups the user is in.
    pub groups: Vec<String>,
}

impl Subject {
    /// The sandbox's default user: in `system:masters`, so every request is allowed.
    pub fn admin() -> Self {
        Subject {
            user: "kubernetes-admin".into(),
            groups: vec!["system:masters".into(), "system:authenticated".into()],
        }
    }

    /// A ServiceAccount, named and grouped as the API server's token authenticator does.
    pub fn service_account(namespace: &str, name: &str) -> Self {
        Subject {
            user: format!("system:serviceaccount:{namespace}:{name}"),
            groups: vec![
                "system:serviceaccounts".into(),
                format!("system:serviceaccounts:{namespace}"),
                "system:authenticated".into(),
            ],
        }
    }

    /// Parses `serviceaccount:NS:NAME` (what `kai sandbox --as` takes) or the full
    /// `system:serviceaccount:NS:NAME` user name.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let rest = spec
            .strip_prefix("system:serviceaccount:")
            .or_else(|| spec.strip_prefix("serviceaccount:"))
            .ok_or_else(|| {
                format!(
                    "identity {spec:?} is not a ServiceAccount: write serviceaccount:NAMESPACE:NAME"
                )
            })?;
        match rest.split_once(':') {
            Some((ns, name)) if valid_label(ns) && valid_label(name) => {
                Ok(Self::service_account(ns, name))
            }
            _ => Err(format!(
                "identity {spec:?} is not a ServiceAccount: write serviceaccount:NAMESPACE:NAME with lowercase names"
            )),
        }
    }

    /// The ServiceAccount's namespace and name, if this subject is one.
    pub fn service_account_of(&self) -> Option<(&str, &str)> {
        self.user
            .strip_prefix("system:serviceaccount:")
            .and_then(|r| r.split_once(':'))
    }

    /// The bearer token that authenticates as this subject in the sandbox.
    pub fn token(&self) -> String {
        match self.service_account_of() {
            Some((ns, name)) => format!("{SA_TOKEN_PREFIX}{ns}:{name}"),
            None => ADMIN_TOKEN.to_string(),
        }
    }

    /// Who an `Authorization` header value authenticates as. No header, or a token that is
    /// not a ServiceAccount's, is the default user (the sandbox has no other users).
    pub fn from_authorization(header: Option<&str>) -> Self {
        header
            .and_then(|h| h.strip_prefix("Bearer "))
            .and_then(|t| t.trim().strip_prefix(SA_TOKEN_PREFIX))
            .and_then(|r| r.split_once(':'))
            .filter(|(ns, name)| valid_label(ns) && valid_label(name))
            .map_or_else(Self::admin, |(ns, name)| Self::service_account(ns, name))
    }

    /// Who a request is, from its `Authorization` header and its impersonation headers
    /// (`Impersonate-User`, `Impersonate-Group`), as the API server's authentication and
    /// impersonation filters decide it. kubectl sends no bearer token over plain HTTP, so the
    /// sandbox's kubeconfigs name a ServiceAccount both ways. Only a superuser may impersonate
    /// someone else; the error is the API server's wording.
    pub fn from_headers(
        authorization: Option<&str>,
        impersonate_user: Option<&str>,
        impersonate_groups: &[&str],
    ) -> Result<Self, String> {
        let caller = Self::from_authorization(authorization);
        let Some(user) = impersonate_user.map(str::trim).filter(|u| !u.is_empty()) else {
            return Ok(caller);
        };
        if user == caller.user && impersonate_groups.is_empty() {
            return Ok(caller);
        }
        if !caller.is_superuser() {
            return Err(format!(
                "users \"{user}\" is forbidden: User \"{}\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope",
                caller.user
            ));
        }
        let mut subject = match user
            .strip_prefix("system:serviceaccount:")
            .and_then(|r| r.split_once(':'))
        {
            Some((ns, name)) => Self::service_account(ns, name),
            None => Subject {
                user: user.to_string(),
                groups: Vec::new(),
            },
        };
        for g in impersonate_groups {
            if !subject.groups.iter().any(|x| x == g) {
                subject.groups.push(g.to_string());
            }
        }
        if !subject.groups.iter().any(|g| g == "system:authenticated") {
            subject.groups.push("system:authenticated".into());
        }
        Ok(subject)
    }

    /// Whether RBAC is bypassed for this subject, as for `system:masters` in a real cluster.
    pub fn is_superuser(&self) -> bool {
        self.groups.iter().any(|g| g == "system:masters")
    }
}

fn valid_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
}

/// The outcome of an authorization check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request is allowed.
    pub allowed: bool,
    /// Why, worded as the RBAC authorizer does (`RBAC: allowed by ...`); empty when denied.
    pub reason: String,
}

impl Decision {
    fn allow(reason: String) -> Self {
        Decision {
            allowed: true,
            reason,
        }
    }

    fn deny() -> Self {
        Decision {
            allowed: false,
            reason: String::new(),
        }
    }
}

/// What a request asks to do, in RBAC's terms.
#[derive(Debug, Clone, Default)]
pub struct Attributes<'a> {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`...
    pub verb: &'a str,
    /// API group; empty for the core group.
    pub group: &'a str,
    /// Plural resource, e.g. `pods`.
    pub resource: &'a str,
    /// Subresource, e.g. `log`; empty for none.
    pub subresource: &'a str,
    /// The object's name, when the request names one.
    pub name: Option<&'a str>,
    /// The namespace; `None` for the cluster scope.
    pub namespace: Option<&'a str>,
}

/// Whether `subject` may `verb` the `resource` (`pods`, or `pods/log` for a subresource) of
/// API `group` in `namespace` (`None`: at the cluster scope), by the RBAC objects in `store`.
pub fn allowed(
    store: &Store,
    subject: &Subject,
    verb: &str,
    group: &str,
    resource: &str,
    namespace: Option<&str>,
) -> Decision {
    let (resource, subresource) = resource.split_once('/').unwrap_or((resource, ""));
    authorize(
        store,
        subject,
        &Attributes {
            verb,
            group,
            resource,
            subresource,
            name: None,
            namespace,
        },
    )
}

/// [`allowed`] with every attribute, including the object's name (for `resourceNames`).
pub fn authorize(store: &Store, subject: &Subject, attrs: &Attributes) -> Decision {
    if subject.is_superuser() {
        return Decision::allow("RBAC: allowed by membership in group \"system:masters\"".into());
    }
    for grant in grants(store, subject, attrs.namespace) {
        if grant.rules.iter().any(|r| rule_allows(r, attrs)) {
            return Decision::allow(grant.reason);
        }
    }
    Decision::deny()
}

/// Whether `subject` may `verb` (`get`, ...) the non-resource URL `path` (`/api`, `/healthz`).
pub fn allowed_path(store: &Store, subject: &Subject, verb: &str, path: &str) -> Decision {
    if subject.is_superuser() {
        return Decision::allow("RBAC: allowed by membership in group \"system:masters\"".into());
    }
    for grant in grants(store, subject, None) {
        let ok = grant.rules.iter().any(|r| {
            list(r, "verbs").iter().any(|v| *v == "*" || *v == verb)
                && list(r, "nonResourceURLs").iter().any(|u| {
                    *u == "*"
                        || *u == path
                        || u.strip_suffix('*').is_some_and(|p| path.starts_with(p))
                })
        });
        if ok {
            return Decision::allow(grant.reason);
        }
    }
    Decision::deny()
}

/// The rules that apply to `subject` in `namespace`: those of its ClusterRoleBindings and of
/// the RoleBindings there, as `SelfSubjectRulesReview` reports them (resource rules, then
/// non-resource rules, in the API's field names).
pub fn rules_for(store: &Store, subject: &Subject, namespace: &str) -> (Vec<Value>, Vec<Value>) {
    let mut resource_rules = Vec::new();
    let mut non_resource = Vec::new();
    let all = if subject.is_superuser() {
        vec![Grant {
            rules: cluster_admin_rules(),
            reason: String::new(),
        }]
    } else {
        grants(store, subject, Some(namespace))
    };
    for grant in all {
        for r in grant.rules {
            let mut out = serde_json::Map::new();
            let verbs = r.get("verbs").cloned().unwrap_or_else(|| json!([]));
            if r.get("nonResourceURLs").is_some() {
                out.insert("verbs".into(), verbs);
                out.insert("nonResourceURLs".into(), r["nonResourceURLs"].clone());
                non_resource.push(Value::Object(out));
                continue;
            }
            out.insert("verbs".into(), verbs);
            for k in ["apiGroups", "resources", "resourceNames"] {
                if let Some(v) = r.get(k) {
                    out.insert(k.into(), v.clone());
                }
            }
            resource_rules.push(Value::Object(out));
        }
    }
    (resource_rules, non_resource)
}

/// The rules one binding grants, and the authorizer's reason naming it.
struct Grant {
    rules: Vec<Value>,
    reason: String,
}

fn rt(group: &str, plural: &str) -> Option<&'static ResourceType> {
    by_plural(group, plural)
}

/// Every binding that names `subject` and applies in `namespace` (cluster bindings always).
fn grants(store: &Store, subject: &Subject, namespace: Option<&str>) -> Vec<Grant> {
    let group = "rbac.authorization.k8s.io";
    let mut out = Vec::new();
    let (Some(crb), Some(rb), Some(cr), Some(role)) = (
        rt(group, "clusterrolebindings"),
        rt(group, "rolebindings"),
        rt(group, "clusterroles"),
        rt(group, "roles"),
    ) else {
        return out;
    };
    for b in store.list(crb, None) {
        let Some(who) = bound_subject(&b, subject, "") else {
            continue;
        };
        let role_name = b.pointer("/roleRef/name").and_then(Value::as_str);
        if b.pointer("/roleRef/kind").and_then(Value::as_str) != Some("ClusterRole") {
            continue;
        }
        if let Some(name) = role_name
            && let Some(r) = store.get(cr, "", name)
        {
            out.push(Grant {
                rules: rules_of(&r),
                reason: format!(
                    "RBAC: allowed by ClusterRoleBinding \"{}\" of ClusterRole \"{name}\" to {who}",
                    b["metadata"]["name"].as_str().unwrap_or("")
                ),
            });
        }
    }
    let Some(ns) = namespace else {
        return out;
    };
    for b in store.list(rb, Some(ns)) {
        let Some(who) = bound_subject(&b, subject, ns) else {
            continue;
        };
        let Some(name) = b.pointer("/roleRef/name").and_then(Value::as_str) else {
            continue;
        };
        let (found, kind) = match b.pointer("/roleRef/kind").and_then(Value::as_str) {
            Some("ClusterRole") => (store.get(cr, "", name), "ClusterRole"),
            Some("Role") => (store.get(role, ns, name), "Role"),
            _ => continue,
        };
        if let Some(r) = found {
            out.push(Grant {
                rules: rules_of(&r),
                reason: format!(
                    "RBAC: allowed by RoleBinding \"{}/{ns}\" of {kind} \"{name}\" to {who}",
                    b["metadata"]["name"].as_str().unwrap_or("")
                ),
            });
        }
    }
    out
}

/// How the binding names `subject`, worded for the reason (`ServiceAccount "name/ns"`), if it
/// does. `binding_ns` is the namespace a ServiceAccount subject without one defaults to.
fn bound_subject(binding: &Value, subject: &Subject, binding_ns: &str) -> Option<String> {
    let subjects = binding.get("subjects").and_then(Value::as_array)?;
    for s in subjects {
        let name = s["name"].as_str().unwrap_or("");
        match s["kind"].as_str() {
            Some("ServiceAccount") => {
                let ns = s["namespace"]
                    .as_str()
                    .filter(|n| !n.is_empty())
                    .unwrap_or(binding_ns);
                if subject.service_account_of() == Some((ns, name)) {
                    return Some(format!("ServiceAccount \"{name}/{ns}\""));
                }
            }
            Some("User") if subject.user == name => return Some(format!("User \"{name}\"")),
            Some("Group") if subject.groups.iter().any(|g| g == name) => {
                return Some(format!("Group \"{name}\""));
            }
            _ => {}
        }
    }
    None
}

fn rules_of(role: &Value) -> Vec<Value> {
    role.get("rules")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn list<'a>(rule: &'a Value, field: &str) -> Vec<&'a str> {
    rule.get(field)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// One PolicyRule against the request, with RBAC's wildcards: `*` for verbs, groups and
/// resources, `pods/*` for every subresource of pods, `*/scale` for one subresource of all.
fn rule_allows(rule: &Value, a: &Attributes) -> bool {
    let verbs = list(rule, "verbs");
    if !verbs.iter().any(|v| *v == "*" || *v == a.verb) {
        return false;
    }
    if !list(rule, "apiGroups")
        .iter()
        .any(|g| *g == "*" || *g == a.group)
    {
        return false;
    }
    let combined = if a.subresource.is_empty() {
        a.resource.to_string()
    } else {
        format!("{}/{}", a.resource, a.subresource)
    };
    let resource_ok = list(rule, "resources").iter().any(|r| {
        *r == "*"
            || *r == combined
            || (!a.subresource.is_empty()
                && (*r == format!("{}/*", a.resource) || *r == format!("*/{}", a.subresource)))
    });
    if !resource_ok {
        return false;
    }
    let names = list(rule, "resourceNames");
    names.is_empty() || a.name.is_some_and(|n| names.contains(&n))
}

fn cluster_admin_rules() -> Vec<Value> {
    vec![
        json!({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}),
        json!({"nonResourceURLs": ["*"], "verbs": ["*"]}),
    ]
}

const READ: &[&str] = &["get", "list", "watch"];
const WRITE: &[&str] = &["create", "delete", "deletecollection", "patch", "update"];

/// What `view` may read (Secrets excluded, as in a real cluster), by group.
const VIEWABLE: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "configmaps",
            "endpoints",
            "persistentvolumeclaims",
            "persistentvolumeclaims/status",
            "pods",
            "pods/log",
            "pods/status",
            "replicationcontrollers",
            "replicationcontrollers/scale",
            "replicationcontrollers/status",
            "serviceaccounts",
            "services",
            "services/status",
            "bindings",
            "events",
            "limitranges",
            "namespaces",
            "namespaces/status",
            "resourcequotas",
            "resourcequotas/status",
        ],
    ),
    (
        "apps",
        &[
            "controllerrevisions",
            "daemonsets",
            "daemonsets/status",
            "deployments",
            "deployments/scale",
            "deployments/status",
            "replicasets",
            "replicasets/scale",
            "replicasets/status",
            "statefulsets",
            "statefulsets/scale",
            "statefulsets/status",
        ],
    ),
    (
        "autoscaling",
        &[
            "horizontalpodautoscalers",
            "horizontalpodautoscalers/status",
        ],
    ),
    (
        "batch",
        &["cronjobs", "cronjobs/status", "jobs", "jobs/status"],
    ),
    (
        "policy",
        &["poddisruptionbudgets", "poddisruptionbudgets/status"],
    ),
    (
        "networking.k8s.io",
        &["ingresses", "ingresses/status", "networkpolicies"],
    ),
    ("discovery.k8s.io", &["endpointslices"]),
    ("events.k8s.io", &["events"]),
];

/// What `edit` may change, by group (besides everything `view` reads).
const EDITABLE: &[(&str, &[&str])] = &[
    (
        "",
        &[
            "configmaps",
            "endpoints",
            "persistentvolumeclaims",
            "pods",
            "pods/attach",
            "pods/exec",
            "pods/portforward",
            "pods/proxy",
            "pods/eviction",
            "replicationcontrollers",
            "replicationcontrollers/scale",
            "secrets",
            "serviceaccounts",
            "services",
            "services/proxy",
        ],
    ),
    (
        "apps",
        &[
            "daemonsets",
            "deployments",
            "deployments/rollback",
            "deployments/scale",
            "replicasets",
            "replicasets/scale",
            "statefulsets",
            "statefulsets/scale",
        ],
    ),
    ("autoscaling", &["horizontalpodautoscalers"]),
    ("batch", &["cronjobs", "jobs"]),
    ("policy", &["poddisruptionbudgets"]),
    ("networking.k8s.io", &["ingresses", "networkpolicies"]),
];

fn rules_from(table: &[(&str, &[&str])], verbs: &[&str]) -> Vec<Value> {
    table
        .iter()
        .map(|(g, rs)| json!({"apiGroups": [g], "resources": rs, "verbs": verbs}))
        .collect()
}

fn view_rules() -> Vec<Value> {
    rules_from(VIEWABLE, READ)
}

fn edit_rules() -> Vec<Value> {
    let mut r = view_rules();
    r.extend(rules_from(EDITABLE, WRITE));
    r.push(json!({"apiGroups": [""], "resources": ["secrets"], "verbs": READ}));
    r.push(json!({"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]}));
    r
}

fn admin_rules() -> Vec<Value> {
    let mut r = edit_rules();
    r.push(json!({"apiGroups": ["rbac.authorization.k8s.io"],
        "resources": ["rolebindings", "roles"], "verbs": ["*"]}));
    r.push(json!({"apiGroups": ["authorization.k8s.io"],
        "resources": ["localsubjectaccessreviews"], "verbs": ["create"]}));
    r
}

/// The ClusterRoles and ClusterRoleBindings a new cluster has: `cluster-admin`, `admin`,
/// `edit`, `view`, and what lets every authenticated user discover the API and review its own
/// access (`system:discovery`, `system:basic-user`, `system:public-info-viewer`).
pub fn default_objects() -> Vec<Value> {
    let bootstrap = json!({"kubernetes.io/bootstrapping": "rbac-defaults"});
    let role = |name: &str, rules: Vec<Value>, aggregate_to: Option<&str>| {
        let mut labels = bootstrap.clone();
        if let Some(a) = aggregate_to {
            labels[format!("rbac.authorization.k8s.io/aggregate-to-{a}")] = json!("true");
        }
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": name, "labels": labels,
                "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
            "rules": rules})
    };
    let binding = |name: &str, group: &str| {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": bootstrap,
                "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}]})
    };
    let discovery_urls = json!([
        "/api",
        "/api/*",
        "/apis",
        "/apis/*",
        "/healthz",
        "/livez",
        "/openapi",
        "/openapi/*",
        "/readyz",
        "/version",
        "/version/"
    ]);
    vec![
        role("cluster-admin", cluster_admin_rules(), None),
        role("admin", admin_rules(), Some("admin")),
        role("edit", edit_rules(), Some("edit")),
        role("view", view_rules(), Some("view")),
        role(
            "system:discovery",
            vec![json!({"nonResourceURLs": discovery_urls, "verbs": ["get"]})],
            None,
        ),
        role(
            "system:public-info-viewer",
            vec![
                json!({"nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version", "/version/"],
                "verbs": ["get"]}),
            ],
            None,
        ),
        role(
            "system:basic-user",
            vec![
                json!({"apiGroups": ["authorization.k8s.io"],
                    "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                    "verbs": ["create"]}),
                json!({"apiGroups": ["authentication.k8s.io"],
                    "resources": ["selfsubjectreviews"], "verbs": ["create"]}),
            ],
            None,
        ),
        binding("cluster-admin", "system:masters"),
        binding("system:discovery", "system:authenticated"),
        binding("system:basic-user", "system:authenticated"),
        binding("system:public-info-viewer", "system:unauthenticated"),
    ]
}

/// Creates the [`default_objects`] that are not in the store yet (a scenario may bring its
/// own version of one).
pub fn bootstrap(store: &mut Store) {
    for obj in default_objects() {
        let kind = obj["kind"].as_str().unwrap_or_default();
        let Some(rt) = crate::resources::by_kind("rbac.authorization.k8s.io/v1", kind) else {
            continue;
        };
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        if store.get(rt, "", name).is_none() {
            // A default object is valid by construction; a failure would only repeat a
            // name the scenario already holds.
            let _ = store.create(rt, obj);
        }
    }
}

#[cfg(test)]
mod tests;
