//! The object store: every served object (as a tree, or only its JSON encoding for frozen
//! objects: see [`Stored`]), resource versions, a change history for list-then-watch, and a
//! broadcast of changes to open watches.

mod stored;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use serde_json::{Map, Value, json};
use tokio::sync::broadcast;

use crate::clock::{Clock, rfc3339};
use crate::error::ApiError;
use crate::resources::{RESOURCES, ResourceType, storage_of};
pub use stored::Stored;

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeType {
    /// The object was created.
    Added,
    /// The object was updated.
    Modified,
    /// The object was deleted.
    Deleted,
}

impl ChangeType {
    /// The watch event type: `ADDED`, `MODIFIED`, `DELETED`.
    pub fn as_watch_type(self) -> &'static str {
        match self {
            ChangeType::Added => "ADDED",
            ChangeType::Modified => "MODIFIED",
            ChangeType::Deleted => "DELETED",
        }
    }
}

/// One change to one object, as watches see it.
#[derive(Debug, Clone)]
pub struct Change {
    /// The store's resource version after this change.
    pub rv: u64,
    /// Added, modified or deleted.
    pub change: ChangeType,
    /// The (storage) resource type of the object.
    pub resource: &'static ResourceType,
    /// The object's namespace ("" for a cluster-scoped one).
    pub namespace: String,
    /// The object's name.
    pub name: String,
    /// The object after the change (before it, for a deletion): the stored version itself.
    pub object: Stored,
}

type Key = (String, String);

/// How a created object is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hold {
    /// As a tree: the simulation works on it.
    Tree,
    /// Only encoded: a frozen object nothing but clients reads.
    Encoded,
}

/// Changes kept for watches that resume from an older resourceVersion. Older ones get
/// `410 Expired` and relist, as with a real API server's watch cache; the bound keeps a large
/// cluster's memory at about one copy of its objects rather than one per change.
const HISTORY_CAP: usize = 10_000;

/// All objects of the sandbox, keyed by resource, namespace and name.
pub struct Store {
    rv: u64,
    tables: HashMap<&'static str, BTreeMap<Key, Stored>>,
    history: VecDeque<Change>,
    history_cap: usize,
    /// Changes at or before this resource version are no longer in the history.
    history_floor: u64,
    /// The resource version of the last change in each namespace.
    namespace_rv: HashMap<String, u64>,
    tx: broadcast::Sender<Change>,
    counter: u64,
    clock: Clock,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("rv", &self.rv)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// An empty store whose timestamps come from `clock`.
    pub fn new(clock: Clock) -> Self {
        let (tx, _) = broadcast::channel(4096);
        let mut tables = HashMap::new();
        for r in RESOURCES {
            tables.insert(storage_of(r).key, BTreeMap::new());
        }
        Self {
            rv: 1000,
            tables,
            history: VecDeque::new(),
            history_cap: HISTORY_CAP,
            history_floor: 0,
            namespace_rv: HashMap::new(),
            tx,
            counter: 0,
            clock,
        }
    }

    /// The clock the store stamps objects with.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The current resource version of the whole store.
    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    /// The resource version of the last change to an object in namespace `ns` (0: none yet):
    /// a controller whose work in a namespace depends only on its objects can skip it while
    /// this has not moved.
    pub fn namespace_version(&self, ns: &str) -> u64 {
        self.namespace_rv.get(ns).copied().unwrap_or(0)
    }

    /// Subscribes to changes made from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.tx.subscribe()
    }

    /// How many watches are open now (tests wait for a client's watch before changing things).
    pub fn watchers(&self) -> usize {
        self.tx.receiver_count()
    }

    /// Changes after `rv`, oldest first; `410 Expired` if some were already dropped.
    pub fn changes_since(&self, rv: u64) -> Result<Vec<Change>, ApiError> {
        let oldest = self
            .history
            .front()
            .map_or(self.rv, |c| c.rv - 1)
            .max(self.history_floor);
        if rv < oldest {
            return Err(ApiError::gone(format!(
                "too old resource version: {rv} ({oldest})"
            )));
        }
        // History is in resource-version order: find the start instead of scanning it all
        // (the simulation asks on every pass).
        let start = self.history.partition_point(|c| c.rv <= rv);
        Ok(self.history.range(start..).cloned().collect())
    }

    /// Drops the change history (after loading a scenario, when nobody can be watching yet):
    /// its superseded object versions would otherwise double the memory of a large scenario.
    /// Watches from before now get `410 Expired` and relist, as from a trimmed history.
    pub fn forget_history(&mut self) {
        self.history.clear();
        self.history_floor = self.rv;
    }

    /// One object, if it exists.
    pub fn get(
        &self,
        rt: &'static ResourceType,
        namespace: &str,
        name: &str,
    ) -> Option<Arc<Value>> {
        let ns = if rt.namespaced { namespace } else { "" };
        self.table(rt)
            .and_then(|t| t.get(&(ns.to_string(), name.to_string())))
            .map(Stored::value)
    }

    /// Whether an object exists (without decoding it).
    pub fn contains(&self, rt: &'static ResourceType, namespace: &str, name: &str) -> bool {
        let ns = if rt.namespaced { namespace } else { "" };
        self.table(rt)
            .is_some_and(|t| t.contains_key(&(ns.to_string(), name.to_string())))
    }

    /// Objects of a resource, in one namespace or (None) all, ordered by namespace and name.
    pub fn list(&self, rt: &'static ResourceType, namespace: Option<&str>) -> Vec<Arc<Value>> {
        self.each(rt, namespace).collect()
    }

    /// [`Store::list`] one object at a time: a loop over a large collection that keeps
    /// little holds one decoded object at a time, not all of them.
    pub fn each<'a>(
        &'a self,
        rt: &'static ResourceType,
        namespace: Option<&'a str>,
    ) -> impl Iterator<Item = Arc<Value>> + 'a {
        self.list_after(rt, namespace, None)
            .map(|(_, _, o)| o.value())
    }

    /// [`Store::list`] without the objects held only encoded. Those are all frozen, so a
    /// controller that leaves frozen objects alone lists with this and never decodes them.
    pub fn list_trees(
        &self,
        rt: &'static ResourceType,
        namespace: Option<&str>,
    ) -> Vec<Arc<Value>> {
        self.list_after(rt, namespace, None)
            .filter(|(_, _, o)| !o.is_encoded())
            .map(|(_, _, o)| o.value())
            .collect()
    }

    /// [`Store::list`] with only the parts at `paths` decoded from objects held encoded (see
    /// [`Stored::project`]): for a controller that reads a few fields of many frozen objects.
    pub fn list_projected(
        &self,
        rt: &'static ResourceType,
        namespace: Option<&str>,
        paths: &[&str],
    ) -> Vec<Arc<Value>> {
        self.list_after(rt, namespace, None)
            .map(|(_, _, o)| o.project(paths))
            .collect()
    }

    /// Objects of a resource (one namespace or all) after the key `after`, in key order, without
    /// copying the list: a page of a large collection costs its own size, not the whole list's.
    pub fn list_after<'a>(
        &'a self,
        rt: &'static ResourceType,
        namespace: Option<&'a str>,
        after: Option<(&str, &str)>,
    ) -> impl Iterator<Item = (&'a str, &'a str, &'a Stored)> + 'a {
        use std::ops::Bound;
        let ns = namespace.filter(|_| rt.namespaced);
        let lower = match (after, ns) {
            (Some((n, name)), _) => Bound::Excluded((n.to_string(), name.to_string())),
            (None, Some(n)) => Bound::Included((n.to_string(), String::new())),
            (None, None) => Bound::Unbounded,
        };
        self.table(rt)
            .into_iter()
            .flat_map(move |t| t.range((lower.clone(), Bound::Unbounded)))
            .take_while(move |((n, _), _)| ns.is_none_or(|want| n == want))
            .map(|((n, name), v)| (n.as_str(), name.as_str(), v))
    }

    /// Number of objects of a resource in all namespaces.
    pub fn count(&self, rt: &'static ResourceType) -> usize {
        self.table(rt).map_or(0, BTreeMap::len)
    }

    /// Creates an object. Fills `apiVersion`, `kind`, `uid`, `resourceVersion`,
    /// `creationTimestamp` (unless given), `generation`, and a name from `generateName`.
    pub fn create(
        &mut self,
        rt: &'static ResourceType,
        obj: Value,
    ) -> Result<Arc<Value>, ApiError> {
        self.create_opts(rt, obj, false)
    }

    /// [`Store::create`], or with `dry_run` only the checks and the object that would be
    /// stored (with a provisional `uid` and `resourceVersion`), storing nothing.
    pub fn create_opts(
        &mut self,
        rt: &'static ResourceType,
        obj: Value,
        dry_run: bool,
    ) -> Result<Arc<Value>, ApiError> {
        self.insert_new(rt, obj, dry_run, Hold::Tree)
    }

    /// [`Store::create`] of an object the simulation will never change (loaded with its
    /// status): it is held only encoded, about a tenth of the memory of its tree.
    pub fn create_frozen(
        &mut self,
        rt: &'static ResourceType,
        obj: Value,
    ) -> Result<Arc<Value>, ApiError> {
        self.insert_new(rt, obj, false, Hold::Encoded)
    }

    fn insert_new(
        &mut self,
        rt: &'static ResourceType,
        mut obj: Value,
        dry_run: bool,
        hold: Hold,
    ) -> Result<Arc<Value>, ApiError> {
        if !obj.is_object() {
            return Err(ApiError::bad_request("the object must be a JSON object"));
        }
        stringify_labels(&mut obj);
        crate::defaults::apply(rt, &mut obj);
        let name = match meta_str(&obj, "name") {
            Some(n) if !n.is_empty() => n,
            _ => match meta_str(&obj, "generateName") {
                Some(prefix) if !prefix.is_empty() => {
                    let mut n;
                    loop {
                        n = format!("{prefix}{}", self.suffix());
                        if !self.contains(rt, &meta_str(&obj, "namespace").unwrap_or_default(), &n)
                        {
                            break;
                        }
                    }
                    n
                }
                _ => {
                    return Err(ApiError::invalid(
                        rt.kind,
                        "",
                        "metadata.name",
                        "Required value: name or generateName is required",
                    ));
                }
            },
        };
        validate_name(rt, &name)?;
        let namespace = if rt.namespaced {
            meta_str(&obj, "namespace")
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "default".into())
        } else {
            String::new()
        };
        let key = (namespace.clone(), name.clone());
        if self.table(rt).is_some_and(|t| t.contains_key(&key)) {
            return Err(ApiError::already_exists(rt.group, rt.plural, &name));
        }
        let rv = self.rv + 1;
        let uid = if dry_run { String::new() } else { self.uid() };
        let now = rfc3339(self.clock.now());
        let o = obj_mut(&mut obj);
        o.insert("apiVersion".into(), json!(rt.api_version()));
        o.insert("kind".into(), json!(rt.kind));
        let m = o.entry("metadata").or_insert_with(|| json!({}));
        if !m.is_object() {
            *m = json!({});
        }
        let m = obj_mut(m);
        m.insert("name".into(), json!(name));
        if rt.namespaced {
            m.insert("namespace".into(), json!(namespace));
        } else {
            m.remove("namespace");
        }
        if dry_run {
            m.remove("uid");
            m.remove("resourceVersion");
        } else {
            m.insert("uid".into(), json!(uid));
            m.insert("resourceVersion".into(), json!(rv.to_string()));
        }
        if !m.get("creationTimestamp").is_some_and(Value::is_string) {
            m.insert("creationTimestamp".into(), json!(now));
        }
        if has_spec(rt) {
            m.insert("generation".into(), json!(1));
        }
        let obj = Arc::new(obj);
        if dry_run {
            return Ok(obj);
        }
        self.rv = rv;
        let stored = match hold {
            Hold::Tree => Stored::tree(obj.clone()),
            Hold::Encoded => Stored::encoded(&obj),
        };
        self.table_mut(rt).insert(key.clone(), stored.clone());
        self.record(ChangeType::Added, rt, key, stored);
        Ok(obj)
    }

    /// Replaces an object. A `resourceVersion` in `obj` that is not the current one is a
    /// `409 Conflict`; none means "last write wins". Identity fields are kept; `generation`
    /// grows when `spec` changes. An update that changes nothing makes no change event.
    pub fn update(
        &mut self,
        rt: &'static ResourceType,
        obj: Value,
    ) -> Result<Arc<Value>, ApiError> {
        self.update_opts(rt, obj, false)
    }

    /// [`Store::update`], or with `dry_run` only the checks and the object that would be
    /// stored, storing nothing.
    pub fn update_opts(
        &mut self,
        rt: &'static ResourceType,
        mut obj: Value,
        dry_run: bool,
    ) -> Result<Arc<Value>, ApiError> {
        stringify_labels(&mut obj);
        crate::defaults::apply(rt, &mut obj);
        let name = meta_str(&obj, "name").unwrap_or_default();
        let namespace = if rt.namespaced {
            meta_str(&obj, "namespace").unwrap_or_else(|| "default".into())
        } else {
            String::new()
        };
        let key = (namespace.clone(), name.clone());
        let Some(old) = self.table(rt).and_then(|t| t.get(&key)).map(Stored::value) else {
            return Err(ApiError::not_found(rt.group, rt.plural, &name));
        };
        let old_rv = meta_str(&old, "resourceVersion").unwrap_or_default();
        if let Some(rv) = meta_str(&obj, "resourceVersion").filter(|r| !r.is_empty())
            && rv != old_rv
        {
            return Err(ApiError::conflict(rt.group, rt.plural, &name));
        }
        {
            let o = obj_mut(&mut obj);
            o.insert("apiVersion".into(), json!(rt.api_version()));
            o.insert("kind".into(), json!(rt.kind));
            let m = obj_mut(o.entry("metadata").or_insert_with(|| json!({})));
            for k in ["uid", "creationTimestamp", "generation"] {
                match old["metadata"].get(k) {
                    Some(v) => m.insert(k.into(), v.clone()),
                    None => m.remove(k),
                };
            }
            if rt.namespaced {
                m.insert("namespace".into(), json!(namespace));
            }
            m.insert("resourceVersion".into(), json!(old_rv));
        }
        if obj == *old {
            return Ok(old);
        }
        if has_spec(rt) && obj.get("spec") != old.get("spec") {
            let g = old["metadata"]["generation"].as_i64().unwrap_or(1) + 1;
            obj["metadata"]["generation"] = json!(g);
        }
        // A deletion waits only for finalizers; once they are gone, the object goes.
        let deleting = obj["metadata"]
            .get("deletionTimestamp")
            .is_some_and(Value::is_string);
        let finalizers = obj["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty())
            // A namespace waits for its contents: the namespace controller's finalizer.
            || (rt.kind == "Namespace"
                && obj["spec"]["finalizers"]
                    .as_array()
                    .is_some_and(|f| !f.is_empty()));
        if dry_run {
            return Ok(Arc::new(obj));
        }
        if deleting && !finalizers {
            return self.delete(rt, &namespace, &name);
        }
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        let obj = Arc::new(obj);
        let stored = Stored::tree(obj.clone());
        self.table_mut(rt).insert(key.clone(), stored.clone());
        self.record(ChangeType::Modified, rt, key, stored);
        Ok(obj)
    }

    /// Deletes an object now (finalizers are honoured by [`Store::update`] callers that set
    /// `deletionTimestamp`). Cascading to owned objects is the garbage collector's work.
    pub fn delete(
        &mut self,
        rt: &'static ResourceType,
        namespace: &str,
        name: &str,
    ) -> Result<Arc<Value>, ApiError> {
        let ns = if rt.namespaced { namespace } else { "" };
        let key = (ns.to_string(), name.to_string());
        let Some(old) = self.table_mut(rt).remove(&key) else {
            return Err(ApiError::not_found(rt.group, rt.plural, name));
        };
        self.rv += 1;
        let mut gone = (*old.value()).clone();
        gone["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        let gone = Arc::new(gone);
        self.record(ChangeType::Deleted, rt, key, Stored::tree(gone.clone()));
        Ok(gone)
    }

    /// A deterministic 5-character suffix in the alphabet Kubernetes uses for generated names.
    pub fn suffix(&mut self) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        self.counter += 1;
        let mut x = splitmix(self.counter);
        (0..5)
            .map(|_| {
                let c = ALPHABET[(x % ALPHABET.len() as u64) as usize] as char;
                x /= ALPHABET.len() as u64;
                c
            })
            .collect()
    }

    fn uid(&mut self) -> String {
        self.counter += 1;
        let a = splitmix(self.counter);
        let b = splitmix(a);
        format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            b >> 52,
            b & 0xffff_ffff_ffff
        )
    }

    fn record(&mut self, change: ChangeType, rt: &'static ResourceType, key: Key, object: Stored) {
        let (namespace, name) = key;
        if !namespace.is_empty() {
            match self.namespace_rv.get_mut(&namespace) {
                Some(rv) => *rv = self.rv,
                None => {
                    self.namespace_rv.insert(namespace.clone(), self.rv);
                }
            }
        }
        let c = Change {
            rv: self.rv,
            change,
            resource: storage_of(rt),
            namespace,
            name,
            object,
        };
        if self.history.len() >= self.history_cap {
            self.history.pop_front();
        }
        self.history.push_back(c.clone());
        // No receivers is fine: nobody is watching.
        let _ = self.tx.send(c);
    }

    fn table(&self, rt: &'static ResourceType) -> Option<&BTreeMap<Key, Stored>> {
        self.tables.get(storage_of(rt).key)
    }

    fn table_mut(&mut self, rt: &'static ResourceType) -> &mut BTreeMap<Key, Stored> {
        self.tables.entry(storage_of(rt).key).or_default()
    }
}

/// A string field of `metadata`.
pub fn meta_str(obj: &Value, field: &str) -> Option<String> {
    obj.get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Label and annotation values are strings in Kubernetes; YAML like `revision: 2` or
/// `enabled: true` becomes `"2"` and `"true"`, so every client can decode the object.
fn stringify_labels(obj: &mut Value) {
    for field in ["labels", "annotations"] {
        if let Some(Value::Object(m)) = obj.get_mut("metadata").and_then(|m| m.get_mut(field)) {
            for v in m.values_mut() {
                let text = match &*v {
                    Value::String(_) => continue,
                    Value::Null => String::new(),
                    other => other.to_string(),
                };
                *v = Value::String(text);
            }
        }
    }
}

fn obj_mut(v: &mut Value) -> &mut Map<String, Value> {
    if !v.is_object() {
        *v = json!({});
    }
    match v {
        Value::Object(m) => m,
        _ => unreachable!("the value was just made an object"),
    }
}

fn has_spec(rt: &ResourceType) -> bool {
    !matches!(
        rt.kind,
        "ConfigMap"
            | "Secret"
            | "Event"
            | "Endpoints"
            | "EndpointSlice"
            | "ServiceAccount"
            | "ControllerRevision"
            | "Role"
            | "RoleBinding"
            | "ClusterRole"
            | "ClusterRoleBinding"
    )
}

fn validate_name(rt: &ResourceType, name: &str) -> Result<(), ApiError> {
    // RBAC objects are named like path segments (`system:basic-user`), as in the API server.
    if rt.group == "rbac.authorization.k8s.io" {
        return match name {
            "." | ".." => Err(ApiError::invalid(
                rt.kind,
                name,
                "metadata.name",
                &format!("Invalid value: \"{name}\": may not be '{name}'"),
            )),
            _ if name.contains('/') || name.contains('%') => Err(ApiError::invalid(
                rt.kind,
                name,
                "metadata.name",
                &format!("Invalid value: \"{name}\": may not contain '/' or '%'"),
            )),
            _ => Ok(()),
        };
    }
    let ok = name.len() <= 253
        && !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid(
            rt.kind,
            name,
            "metadata.name",
            &format!(
                "Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
            ),
        ))
    }
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests;
