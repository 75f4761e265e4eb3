//! Resource verbs: get, list, watch, create, update, patch, delete, deletecollection, and the
//! status, scale and log subresources.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use jiff::Timestamp;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::patch::{self, PatchType};
use super::select::Selector;
use super::table::{self, IncludeObject};
use super::{QueryPairs, Shared, Target, json_response, param, respond, value_response};
use crate::clock::rfc3339;
use crate::error::ApiError;
use crate::resources::{RESOURCES, ResourceType, storage_of};
use crate::store::{Store, meta_str};

/// One resource request, after routing and fault injection.
pub(crate) struct Request {
    pub(crate) shared: Arc<Shared>,
    pub(crate) target: Target,
    pub(crate) verb: &'static str,
    pub(crate) q: QueryPairs,
    pub(crate) accept: String,
    pub(crate) content_type: String,
    pub(crate) body: Bytes,
}

impl Request {
    fn p(&self, key: &str) -> Option<&str> {
        param(&self.q, key)
    }

    fn flag(&self, key: &str) -> bool {
        matches!(self.p(key), Some("true") | Some("1"))
    }

    fn dry_run(&self) -> bool {
        self.q.iter().any(|(k, v)| k == "dryRun" && v == "All")
    }

    fn wants_table(&self) -> bool {
        self.accept
            .split(',')
            .any(|a| a.contains("as=Table") && a.contains("g=meta.k8s.io"))
    }

    fn namespace(&self) -> &str {
        self.target.namespace.as_deref().unwrap_or("")
    }

    fn name(&self) -> &str {
        self.target.name.as_deref().unwrap_or("")
    }

    fn rt(&self) -> &'static ResourceType {
        self.target.rt
    }
}

/// Serves a resource request.
pub(crate) async fn serve(req: Request) -> Result<Response, ApiError> {
    let sub = req.target.sub.clone();
    if let Some(s) = &sub
        && !req.rt().subresources.contains(&s.as_str())
    {
        return Err(ApiError::no_route(&format!("{}/{s}", req.rt().plural)));
    }
    match (req.verb, sub.as_deref()) {
        ("get", Some("log")) => logs(&req),
        (_, Some("log")) => Err(ApiError::method_not_allowed()),
        ("get", Some("scale")) => scale_get(&req),
        ("patch", Some("scale")) | ("update", Some("scale")) => scale_write(&req),
        (_, Some("scale")) => Err(ApiError::method_not_allowed()),
        ("get", _) => get(&req),
        ("list", None) => list(&req),
        ("watch", None) => watch(&req),
        ("create", None) => create(&req),
        ("update", _) => update(&req),
        ("patch", _) => patch_object(&req),
        ("delete", None) => delete(&req),
        ("deletecollection", None) => delete_collection(&req),
        _ => Err(ApiError::method_not_allowed()),
    }
}

fn is_events_v1(rt: &ResourceType) -> bool {
    rt.group == "events.k8s.io"
}

/// A stored core Event as an `events.k8s.io/v1` Event.
fn to_events_v1(o: &Value) -> Value {
    let mut e = json!({
        "kind": "Event",
        "apiVersion": "events.k8s.io/v1",
        "metadata": o.get("metadata").cloned().unwrap_or_else(|| json!({})),
    });
    let copy = |e: &mut Value, from: &str, to: &str| {
        if let Some(v) = o.get(from).filter(|v| !v.is_null()) {
            e[to] = v.clone();
        }
    };
    copy(&mut e, "eventTime", "eventTime");
    if e.get("eventTime").is_none() {
        let t = o
            .get("firstTimestamp")
            .or_else(|| o.pointer("/metadata/creationTimestamp"))
            .cloned()
            .unwrap_or(Value::Null);
        e["eventTime"] = t;
    }
    copy(&mut e, "series", "series");
    copy(&mut e, "reportingComponent", "reportingController");
    if e.get("reportingController").is_none()
        && let Some(c) = o.pointer("/source/component")
    {
        e["reportingController"] = c.clone();
    }
    copy(&mut e, "reportingInstance", "reportingInstance");
    copy(&mut e, "action", "action");
    copy(&mut e, "reason", "reason");
    copy(&mut e, "involvedObject", "regarding");
    copy(&mut e, "related", "related");
    copy(&mut e, "message", "note");
    copy(&mut e, "type", "type");
    copy(&mut e, "source", "deprecatedSource");
    copy(&mut e, "firstTimestamp", "deprecatedFirstTimestamp");
    copy(&mut e, "lastTimestamp", "deprecatedLastTimestamp");
    copy(&mut e, "count", "deprecatedCount");
    e
}

/// An `events.k8s.io/v1` Event as the core Event the store keeps.
fn from_events_v1(e: &Value) -> Value {
    let mut o = json!({
        "kind": "Event",
        "apiVersion": "v1",
        "metadata": e.get("metadata").cloned().unwrap_or_else(|| json!({})),
    });
    for (from, to) in [
        ("eventTime", "eventTime"),
        ("series", "series"),
        ("reportingController", "reportingComponent"),
        ("reportingInstance", "reportingInstance"),
        ("action", "action"),
        ("reason", "reason"),
        ("regarding", "involvedObject"),
        ("related", "related"),
        ("note", "message"),
        ("type", "type"),
        ("deprecatedSource", "source"),
        ("deprecatedFirstTimestamp", "firstTimestamp"),
        ("deprecatedLastTimestamp", "lastTimestamp"),
        ("deprecatedCount", "count"),
    ] {
        if let Some(v) = e.get(from).filter(|v| !v.is_null()) {
            o[to] = v.clone();
        }
    }
    o
}

/// The object as served through `rt` (events.k8s.io Events are converted).
fn served(rt: &ResourceType, o: Arc<Value>) -> Arc<Value> {
    if is_events_v1(rt) {
        Arc::new(to_events_v1(&o))
    } else {
        o
    }
}

fn get(req: &Request) -> Result<Response, ApiError> {
    let rt = req.rt();
    let (obj, now) = {
        let w = req.shared.lock();
        let o = w
            .store
            .get(rt, req.namespace(), req.name())
            .ok_or_else(|| ApiError::not_found(rt.group, rt.plural, req.name()))?;
        (o, w.store.clock().now())
    };
    let obj = served(rt, obj);
    if req.wants_table() {
        let meta =
            json!({"resourceVersion": meta_str(&obj, "resourceVersion").unwrap_or_default()});
        let t = table::table(
            rt,
            std::iter::once(&*obj),
            now,
            IncludeObject::parse(req.p("includeObject")),
            meta,
        );
        return Ok(value_response(200, &t));
    }
    Ok(json_response(
        200,
        serde_json::to_vec(&*obj).unwrap_or_default(),
    ))
}

/// The opaque `continue` token after the object with this namespace and name.
fn continue_token(ns: &str, name: &str) -> String {
    format!("{ns}/{name}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn parse_continue(token: &str) -> Result<(String, String), ApiError> {
    let bad = || {
        ApiError::bad_request("continue key is not valid: the token was not issued by this server")
    };
    if !token.len().is_multiple_of(2) {
        return Err(bad());
    }
    let bytes: Result<Vec<u8>, _> = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&token[i..i + 2], 16))
        .collect();
    let text = String::from_utf8(bytes.map_err(|_| bad())?).map_err(|_| bad())?;
    let (ns, name) = text.split_once('/').ok_or_else(bad)?;
    Ok((ns.to_string(), name.to_string()))
}

fn key_of(o: &Value) -> (&str, &str) {
    let m = &o["metadata"];
    (
        m["namespace"].as_str().unwrap_or(""),
        m["name"].as_str().unwrap_or(""),
    )
}

/// One page of a list answer.
struct Page {
    /// The selected objects of this page.
    items: Vec<Arc<Value>>,
    /// The store's resource version.
    rv: u64,
    /// The `continue` token of the next page.
    next: Option<String>,
}

/// The selected objects of a list, one page of them.
fn select_page(req: &Request, store: &Store) -> Result<Page, ApiError> {
    let rt = req.rt();
    let sel = Selector::parse(req.p("labelSelector"), req.p("fieldSelector"))?;
    let limit = match req.p("limit") {
        Some(l) => l
            .parse::<usize>()
            .map_err(|_| ApiError::bad_request(format!("invalid limit {l:?}: must be a number")))?,
        None => 0,
    };
    let after = req
        .p("continue")
        .filter(|c| !c.is_empty())
        .map(parse_continue)
        .transpose()?;
    let all = store.list(rt, req.target.namespace.as_deref());
    let start = match &after {
        Some((ns, name)) => all.partition_point(|o| key_of(o) <= (ns.as_str(), name.as_str())),
        None => 0,
    };
    let mut out = Vec::new();
    let mut next = None;
    for o in &all[start..] {
        let o = served(rt, o.clone());
        if !sel.is_empty() && !sel.matches(&o) {
            continue;
        }
        if limit > 0 && out.len() == limit {
            let last: &Arc<Value> = out.last().unwrap_or(&o);
            let (ns, name) = key_of(last);
            next = Some(continue_token(ns, name));
            break;
        }
        out.push(o);
    }
    Ok(Page {
        items: out,
        rv: store.resource_version(),
        next,
    })
}

fn list(req: &Request) -> Result<Response, ApiError> {
    let rt = req.rt();
    let (items, rv, next, now) = {
        let w = req.shared.lock();
        let page = select_page(req, &w.store)?;
        (page.items, page.rv, page.next, w.store.clock().now())
    };
    if req.wants_table() {
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if let Some(c) = &next {
            meta["continue"] = json!(c);
        }
        let mut buf = Vec::with_capacity(256 + items.len() * 512);
        table::write_table(
            rt,
            &items,
            now,
            IncludeObject::parse(req.p("includeObject")),
            &meta,
            &mut buf,
        )
        .map_err(|e| ApiError::internal(format!("encoding a table of {}: {e}", rt.plural)))?;
        return Ok(json_response(200, buf));
    }
    // Written piece by piece: the objects are serialized straight from the store's copies.
    let mut buf: Vec<u8> = Vec::with_capacity(256 + items.len() * 1536);
    let cont = next
        .map(|c| format!(",\"continue\":\"{c}\""))
        .unwrap_or_default();
    let _ = write!(
        buf,
        "{{\"kind\":\"{}List\",\"apiVersion\":\"{}\",\"metadata\":{{\"resourceVersion\":\"{rv}\"{cont}}},\"items\":[",
        rt.kind,
        rt.api_version()
    );
    if is_events_v1(rt) {
        // Converted on the fly: nothing stable to cache.
        for (i, o) in items.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            serde_json::to_writer(&mut buf, &**o)
                .map_err(|e| ApiError::internal(format!("encoding {}: {e}", rt.plural)))?;
        }
    } else {
        req.shared.encoded.write_list(&items, &mut buf)?;
    }
    buf.extend_from_slice(b"]}");
    Ok(json_response(200, buf))
}

fn watch_event(req: &Request, kind: &str, obj: &Value, now: Timestamp, table: bool) -> Bytes {
    let object = if table {
        let meta = json!({"resourceVersion": meta_str(obj, "resourceVersion").unwrap_or_default()});
        table::table(
            req.rt(),
            std::iter::once(obj),
            now,
            IncludeObject::parse(req.p("includeObject")),
            meta,
        )
    } else {
        obj.clone()
    };
    let mut line = serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

fn watch(req: &Request) -> Result<Response, ApiError> {
    let rt = req.rt();
    let storage = storage_of(rt);
    let sel = Selector::parse(req.p("labelSelector"), req.p("fieldSelector"))?;
    let ns = req.target.namespace.clone();
    let timeout = req
        .p("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or(1800);
    let table = req.wants_table();
    let ns_sel = ns.clone();
    let selected = move |o: &Value| {
        let in_ns = match &ns_sel {
            Some(n) if rt.namespaced => key_of(o).0 == n,
            _ => true,
        };
        in_ns && (sel.is_empty() || sel.matches(o))
    };
    let (backlog, mut rx, now, start_rv) = {
        let w = req.shared.lock();
        let rx = w.store.subscribe();
        let now = w.store.clock().now();
        let start_rv = w.store.resource_version();
        let initial_events = req.flag("sendInitialEvents");
        let backlog: Vec<(&'static str, Arc<Value>)> = match req.p("resourceVersion") {
            Some(rv) if !rv.is_empty() && rv != "0" && !initial_events => {
                let rv: u64 = rv.parse().map_err(|_| {
                    ApiError::bad_request(format!("invalid resourceVersion {rv:?}"))
                })?;
                w.store
                    .changes_since(rv)?
                    .into_iter()
                    .filter(|c| std::ptr::eq(c.resource, storage))
                    .map(|c| (c.change.as_watch_type(), served(rt, c.object)))
                    .filter(|(_, o)| selected(o))
                    .collect()
            }
            // No version: the current state first, as synthetic ADDED events.
            _ => w
                .store
                .list(rt, ns.as_deref())
                .into_iter()
                .map(|o| ("ADDED", served(rt, o)))
                .filter(|(_, o)| selected(o))
                .collect(),
        };
        (backlog, rx, now, start_rv)
    };
    let mut first: VecDeque<Bytes> = backlog
        .iter()
        .map(|(t, o)| watch_event(req, t, o, now, table))
        .collect();
    if req.flag("sendInitialEvents") {
        // A streaming list ends its initial state with this bookmark (kube-rs, client-go).
        let mark = json!({"type": "BOOKMARK", "object": {
            "kind": rt.kind, "apiVersion": rt.api_version(),
            "metadata": {"resourceVersion": start_rv.to_string(),
                "annotations": {"k8s.io/initial-events-end": "true"}}}});
        let mut line = serde_json::to_vec(&mark).unwrap_or_default();
        line.push(b'\n');
        first.push_back(Bytes::from(line));
    }
    let (tx, out) = tokio::sync::mpsc::channel::<Bytes>(256);
    let shared = req.shared.clone();
    let q = req.q.clone();
    let accept = req.accept.clone();
    let target = req.target.clone();
    tokio::spawn(async move {
        let view = Request {
            shared: shared.clone(),
            target,
            verb: "watch",
            q,
            accept,
            content_type: String::new(),
            body: Bytes::new(),
        };
        while let Some(b) = first.pop_front() {
            if tx.send(b).await.is_err() {
                return;
            }
        }
        let deadline = tokio::time::sleep(Duration::from_secs(timeout));
        tokio::pin!(deadline);
        // Changes up to `last` were sent (or were before the watch began).
        let mut last = start_rv;
        loop {
            let mut due: Vec<crate::store::Change> = Vec::new();
            tokio::select! {
                _ = &mut deadline => return,
                _ = tx.closed() => return,
                got = rx.recv() => match got {
                    Ok(c) => due.push(c),
                    // Fell behind the broadcast: catch up from the store's history instead.
                    Err(RecvError::Lagged(_)) => {
                        let missed = shared.lock().store.changes_since(last);
                        match missed {
                            Ok(m) => due = m,
                            Err(e) => {
                                let mut line = serde_json::to_vec(&json!({"type": "ERROR", "object": e.status()})).unwrap_or_default();
                                line.push(b'\n');
                                let _ = tx.send(Bytes::from(line)).await;
                                return;
                            }
                        }
                    }
                    Err(RecvError::Closed) => return,
                }
            }
            for c in due {
                if c.rv <= last {
                    continue;
                }
                last = c.rv;
                if !std::ptr::eq(c.resource, storage) {
                    continue;
                }
                let o = served(rt, c.object);
                if !selected(&o) {
                    continue;
                }
                let now = shared.clock.now();
                let kind = c.change.as_watch_type();
                if tx
                    .send(watch_event(&view, kind, &o, now, table))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
    });
    let stream = futures::stream::unfold(out, |mut out| async move {
        out.recv().await.map(|b| (Ok::<Bytes, Infallible>(b), out))
    });
    let mut r = Response::new(Body::from_stream(stream));
    *r.status_mut() = StatusCode::OK;
    let ct = if table {
        "application/json;as=Table;v=v1;g=meta.k8s.io"
    } else {
        "application/json"
    };
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    r.headers_mut().insert(
        header::TRANSFER_ENCODING,
        HeaderValue::from_static("chunked"),
    );
    Ok(r)
}

/// Drops `null` fields, as decoding into the typed Kubernetes structs does: a template's
/// `creationTimestamp: null` from kubectl must not make it differ from the stored one.
fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(strip_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

fn parse_body(req: &Request) -> Result<Value, ApiError> {
    // Protobuf is refused with 415, on which client-go falls back to JSON.
    let ct = req.content_type.split(';').next().unwrap_or("").trim();
    if !ct.is_empty() && ct != "application/json" && ct != "*/*" {
        return Err(ApiError::unsupported_body(&req.content_type));
    }
    let mut v: Value = serde_json::from_slice(&req.body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body of the request could not be decoded as JSON: {e}"
        ))
    })?;
    if !v.is_object() {
        return Err(ApiError::bad_request("the body must be a JSON object"));
    }
    strip_nulls(&mut v);
    Ok(v)
}

/// Namespaces that exist in every cluster, even when a scenario does not list them.
const BUILTIN_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public", "kube-node-lease"];

fn check_namespace_exists(store: &Store, ns: &str) -> Result<(), ApiError> {
    let nss = crate::resources::by_plural("", "namespaces");
    match nss {
        Some(nrt) if !BUILTIN_NAMESPACES.contains(&ns) && store.get(nrt, "", ns).is_none() => {
            Err(ApiError::not_found("", "namespaces", ns))
        }
        _ => Ok(()),
    }
}

/// Makes the body's identity agree with the URL, as the API server requires.
fn align_identity(req: &Request, obj: &mut Value, with_name: bool) -> Result<(), ApiError> {
    let rt = req.rt();
    if let Some(kind) = obj.get("kind").and_then(Value::as_str)
        && !kind.is_empty()
        && kind != rt.kind
    {
        return Err(ApiError::bad_request(format!(
            "the kind of the object ({kind}) does not match the resource {} ({})",
            rt.plural, rt.kind
        )));
    }
    if !obj.get("metadata").is_some_and(Value::is_object) {
        obj["metadata"] = json!({});
    }
    if rt.namespaced {
        let url_ns = req.namespace();
        if url_ns.is_empty() {
            return Err(ApiError::method_not_allowed());
        }
        match meta_str(obj, "namespace") {
            Some(ns) if !ns.is_empty() && ns != url_ns => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            _ => obj["metadata"]["namespace"] = json!(url_ns),
        }
    }
    if with_name {
        match meta_str(obj, "name") {
            Some(n) if !n.is_empty() && n != req.name() => {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({n}) does not match the name on the URL ({})",
                    req.name()
                )));
            }
            _ => obj["metadata"]["name"] = json!(req.name()),
        }
    }
    Ok(())
}

fn object_response(code: u16, rt: &ResourceType, o: Arc<Value>) -> Response {
    let o = served(rt, o);
    json_response(code, serde_json::to_vec(&*o).unwrap_or_default())
}

fn create(req: &Request) -> Result<Response, ApiError> {
    let rt = req.rt();
    let mut obj = parse_body(req)?;
    align_identity(req, &mut obj, false)?;
    if is_events_v1(rt) {
        obj = from_events_v1(&obj);
    }
    let storage = storage_of(rt);
    let dry = req.dry_run();
    let mut w = req.shared.lock();
    if rt.namespaced {
        check_namespace_exists(&w.store, req.namespace())?;
    }
    // As in a real API server, a client cannot set the status of a new object.
    if rt.subresources.contains(&"status")
        && let Some(m) = obj.as_object_mut()
    {
        m.remove("status");
    }
    let created = w.store.create_opts(storage, obj, dry)?;
    if !dry {
        w.reconcile();
    }
    drop(w);
    Ok(object_response(201, rt, created))
}

/// The object to store for a write of `new` over `old`: the main resource cannot change
/// `status`, the status subresource can change only `status`.
fn merge_for_write(req: &Request, old: &Value, mut new: Value) -> Value {
    let rt = req.rt();
    if req.target.sub.as_deref() == Some("status") {
        let mut out = old.clone();
        match new.get_mut("status").map(Value::take) {
            Some(s) => out["status"] = s,
            None => {
                if let Some(m) = out.as_object_mut() {
                    m.remove("status");
                }
            }
        }
        out["metadata"]["resourceVersion"] = new["metadata"]["resourceVersion"].take();
        out
    } else {
        if rt.subresources.contains(&"status") {
            match old.get("status") {
                Some(s) => new["status"] = s.clone(),
                None => {
                    if let Some(m) = new.as_object_mut() {
                        m.remove("status");
                    }
                }
            }
        }
        new
    }
}

fn update(req: &Request) -> Result<Response, ApiError> {
    let rt = req.rt();
    let mut obj = parse_body(req)?;
    align_identity(req, &mut obj, true)?;
    if is_events_v1(rt) {
        obj = from_events_v1(&obj);
    }
    let storage = storage_of(rt);
    let dry = req.dry_run();
    let mut w = req.shared.lock();
    let old = w
        .store
        .get(storage, req.namespace(), req.name())
        .ok_or_else(|| ApiError::not_found(rt.group, rt.plural, req.name()))?;
    let new = merge_for_write(req, &old, obj);
    let stored = w.store.update_opts(storage, new, dry)?;
    if !dry {
        w.reconcile();
    }
    drop(w);
    Ok(object_response(200, rt, stored))
}

fn patch_object(req: &Request) -> Result<Response, ApiError> {
    let rt = req.rt();
    let kind = PatchType::from_content_type(&req.content_type)?;
    let storage = storage_of(rt);
    let dry = req.dry_run();
    let mut w = req.shared.lock();
    let old = w
        .store
        .get(storage, req.namespace(), req.name())
        .ok_or_else(|| ApiError::not_found(rt.group, rt.plural, req.name()))?;
    let base = served(rt, old.clone());
    let mut patched = patch::apply(kind, &base, &req.body)?;
    strip_nulls(&mut patched);
    if is_events_v1(rt) {
        patched = from_events_v1(&patched);
    }
    // Identity stays: a patch cannot rename or move an object.
    for k in ["name", "namespace", "uid"] {
        match old["metadata"].get(k) {
            Some(v) => patched["metadata"][k] = v.clone(),
            None => {
                if let Some(m) = patched["metadata"].as_object_mut() {
                    m.remove(k);
                }
            }
        }
    }
    let new = merge_for_write(req, &old, patched);
    let stored = w.store.update_opts(storage, new, dry)?;
    if !dry {
        w.reconcile();
    }
    drop(w);
    Ok(object_response(200, rt, stored))
}

/// The delete options of a DELETE: body (`DeleteOptions`) and query parameters.
struct DeleteOpts {
    dry_run: bool,
    orphan: bool,
    precondition_uid: Option<String>,
    precondition_rv: Option<String>,
}

fn delete_opts(req: &Request) -> DeleteOpts {
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let policy = body
        .get("propagationPolicy")
        .and_then(Value::as_str)
        .or(req.p("propagationPolicy"))
        .unwrap_or("Background")
        .to_string();
    let orphan_flag = body
        .get("orphanDependents")
        .and_then(Value::as_bool)
        .or_else(|| req.p("orphanDependents").map(|v| v == "true"))
        .unwrap_or(false);
    let body_dry = body
        .get("dryRun")
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(|v| v == "All"));
    DeleteOpts {
        dry_run: req.dry_run() || body_dry,
        orphan: policy == "Orphan" || orphan_flag,
        precondition_uid: body
            .pointer("/preconditions/uid")
            .and_then(Value::as_str)
            .map(str::to_string),
        precondition_rv: body
            .pointer("/preconditions/resourceVersion")
            .and_then(Value::as_str)
            .map(str::to_string),
    }
}

/// Deletes one object and, unless orphaning, every object it owns, transitively.
/// An object with finalizers is only marked for deletion.
fn delete_one(
    store: &mut Store,
    rt: &'static ResourceType,
    ns: &str,
    name: &str,
    orphan: bool,
) -> Result<Arc<Value>, ApiError> {
    let Some(old) = store.get(rt, ns, name) else {
        return Err(ApiError::not_found(rt.group, rt.plural, name));
    };
    let has_finalizers = old["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|f| !f.is_empty());
    if has_finalizers {
        if old["metadata"]["deletionTimestamp"].is_string() {
            return Ok(old);
        }
        let mut marked = (*old).clone();
        marked["metadata"]["deletionTimestamp"] = json!(rfc3339(store.clock().now()));
        marked["metadata"]["deletionGracePeriodSeconds"] = json!(0);
        return store.update(rt, marked);
    }
    let gone = store.delete(rt, ns, name)?;
    let uid = meta_str(&gone, "uid").unwrap_or_default();
    if !uid.is_empty() {
        let mut queue = vec![uid];
        while let Some(owner) = queue.pop() {
            for dep_rt in RESOURCES.iter().filter(|r| std::ptr::eq(storage_of(r), *r)) {
                let scope = if rt.namespaced && dep_rt.namespaced {
                    Some(ns)
                } else {
                    None
                };
                for dep in store.list(dep_rt, scope) {
                    let owned = dep["metadata"]["ownerReferences"]
                        .as_array()
                        .is_some_and(|refs| refs.iter().any(|r| r["uid"] == owner.as_str()));
                    if !owned {
                        continue;
                    }
                    let (dns, dname) = key_of(&dep);
                    let (dns, dname) = (dns.to_string(), dname.to_string());
                    if orphan {
                        let mut freed = (*dep).clone();
                        if let Some(refs) = freed["metadata"]["ownerReferences"].as_array_mut() {
                            refs.retain(|r| r["uid"] != owner.as_str());
                        }
                        store.update(dep_rt, freed)?;
                    } else if let Ok(d) = store.delete(dep_rt, &dns, &dname)
                        && let Some(u) = meta_str(&d, "uid")
                    {
                        queue.push(u);
                    }
                }
            }
            if orphan {
                break;
            }
        }
    }
    Ok(gone)
}

fn delete(req: &Request) -> Result<Response, ApiError> {
    let rt = req.rt();
    let storage = storage_of(rt);
    let opts = delete_opts(req);
    let mut w = req.shared.lock();
    let old = w
        .store
        .get(storage, req.namespace(), req.name())
        .ok_or_else(|| ApiError::not_found(rt.group, rt.plural, req.name()))?;
    if let Some(uid) = &opts.precondition_uid
        && meta_str(&old, "uid").as_deref() != Some(uid.as_str())
    {
        return Err(ApiError::conflict(rt.group, rt.plural, req.name()));
    }
    if let Some(rv) = &opts.precondition_rv
        && meta_str(&old, "resourceVersion").as_deref() != Some(rv.as_str())
    {
        return Err(ApiError::conflict(rt.group, rt.plural, req.name()));
    }
    if opts.dry_run {
        drop(w);
        return Ok(object_response(200, rt, old));
    }
    let gone = delete_one(
        &mut w.store,
        storage,
        req.namespace(),
        req.name(),
        opts.orphan,
    )?;
    w.reconcile();
    drop(w);
    Ok(object_response(200, rt, gone))
}

fn delete_collection(req: &Request) -> Result<Response, ApiError> {
    let rt = req.rt();
    let storage = storage_of(rt);
    let opts = delete_opts(req);
    let mut w = req.shared.lock();
    let sel = Selector::parse(req.p("labelSelector"), req.p("fieldSelector"))?;
    let victims: Vec<Arc<Value>> = w
        .store
        .list(storage, req.target.namespace.as_deref())
        .into_iter()
        .filter(|o| sel.is_empty() || sel.matches(&served(rt, o.clone())))
        .collect();
    let mut gone = Vec::new();
    for v in &victims {
        let (ns, name) = key_of(v);
        if opts.dry_run {
            gone.push(v.clone());
        } else if let Ok(g) = delete_one(&mut w.store, storage, ns, name, opts.orphan) {
            gone.push(g);
        }
    }
    if !opts.dry_run {
        w.reconcile();
    }
    let rv = w.store.resource_version();
    drop(w);
    let items: Vec<Value> = gone.into_iter().map(|o| (*served(rt, o)).clone()).collect();
    Ok(value_response(
        200,
        &json!({"kind": format!("{}List", rt.kind), "apiVersion": rt.api_version(),
                "metadata": {"resourceVersion": rv.to_string()}, "items": items}),
    ))
}

/// The `status.selector` string of a scalable object.
fn selector_text(o: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(m) = o
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
    {
        for (k, v) in m {
            parts.push(format!("{k}={}", v.as_str().unwrap_or("")));
        }
    }
    for e in o
        .pointer("/spec/selector/matchExpressions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        let key = e["key"].as_str().unwrap_or("");
        let values: Vec<&str> = e["values"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        parts.push(match e["operator"].as_str().unwrap_or("") {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            _ => format!("!{key}"),
        });
    }
    parts.join(",")
}

/// The `autoscaling/v1` Scale of a deployment, replica set or stateful set.
fn scale_of(o: &Value) -> Value {
    let m = &o["metadata"];
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": m["name"],
            "namespace": m["namespace"],
            "uid": m["uid"],
            "resourceVersion": m["resourceVersion"],
            "creationTimestamp": m["creationTimestamp"],
        },
        "spec": {"replicas": o.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(1)},
        "status": {
            "replicas": o.pointer("/status/replicas").and_then(Value::as_i64).unwrap_or(0),
            "selector": selector_text(o),
        }
    })
}

fn scale_get(req: &Request) -> Result<Response, ApiError> {
    let rt = req.rt();
    let w = req.shared.lock();
    let o = w
        .store
        .get(rt, req.namespace(), req.name())
        .ok_or_else(|| ApiError::not_found(rt.group, rt.plural, req.name()))?;
    drop(w);
    Ok(value_response(200, &scale_of(&o)))
}

fn scale_write(req: &Request) -> Result<Response, ApiError> {
    let rt = req.rt();
    let dry = req.dry_run();
    let mut w = req.shared.lock();
    let old = w
        .store
        .get(rt, req.namespace(), req.name())
        .ok_or_else(|| ApiError::not_found(rt.group, rt.plural, req.name()))?;
    let current = scale_of(&old);
    let wanted = if req.verb == "patch" {
        let kind = PatchType::from_content_type(&req.content_type)?;
        patch::apply(kind, &current, &req.body)?
    } else {
        parse_body(req)?
    };
    let rv = meta_str(&wanted, "resourceVersion").unwrap_or_default();
    if !rv.is_empty() && Some(rv) != meta_str(&old, "resourceVersion") {
        return Err(ApiError::conflict(rt.group, rt.plural, req.name()));
    }
    let replicas = match wanted.pointer("/spec/replicas") {
        Some(v) => v
            .as_i64()
            .filter(|n| (0..=i64::from(i32::MAX)).contains(n))
            .ok_or_else(|| {
                ApiError::invalid(
                    "Scale",
                    req.name(),
                    "spec.replicas",
                    &format!("Invalid value: {v}: must be greater than or equal to 0"),
                )
            })?,
        None => 0,
    };
    let mut new = (*old).clone();
    new["spec"]["replicas"] = json!(replicas);
    let stored = w.store.update_opts(rt, new, dry)?;
    if !dry {
        w.reconcile();
    }
    let latest = if dry {
        stored
    } else {
        w.store
            .get(rt, req.namespace(), req.name())
            .unwrap_or(stored)
    };
    drop(w);
    Ok(value_response(200, &scale_of(&latest)))
}

/// The container a log request is for: the one named, or the pod's default container.
fn log_container(pod: &Value, asked: Option<&str>) -> Result<String, ApiError> {
    let pod_name = pod["metadata"]["name"].as_str().unwrap_or("");
    let names: Vec<&str> = [
        "/spec/initContainers",
        "/spec/containers",
        "/spec/ephemeralContainers",
    ]
    .iter()
    .flat_map(|p| {
        pod.pointer(p)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
            .iter()
            .filter_map(|c| c["name"].as_str())
    })
    .collect();
    let main: Vec<&str> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|c| c["name"].as_str()).collect())
        .unwrap_or_default();
    match asked.filter(|c| !c.is_empty()) {
        Some(c) if names.contains(&c) => Ok(c.to_string()),
        Some(c) => Err(ApiError::bad_request(format!(
            "container {c} is not valid for pod {pod_name}"
        ))),
        None if main.len() == 1 => Ok(main[0].to_string()),
        None => {
            if let Some(d) = pod
                .pointer("/metadata/annotations/kubectl.kubernetes.io~1default-container")
                .and_then(Value::as_str)
            {
                return Ok(d.to_string());
            }
            Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {pod_name}, choose one of: [{}]",
                main.join(" ")
            )))
        }
    }
}

fn logs(req: &Request) -> Result<Response, ApiError> {
    let rt = req.rt();
    let previous = req.flag("previous");
    let (container, lines, now, running_now) = {
        let w = req.shared.lock();
        let pod = w
            .store
            .get(rt, req.namespace(), req.name())
            .ok_or_else(|| ApiError::not_found(rt.group, rt.plural, req.name()))?;
        let container = log_container(&pod, req.p("container"))?;
        let lines = w.sim.logs(
            &w.store,
            req.namespace(),
            req.name(),
            Some(&container),
            previous,
        )?;
        let lines: Vec<(Timestamp, String)> = lines.into_iter().map(|l| (l.time, l.text)).collect();
        let running_now = running(&pod, &container);
        (container, lines, w.store.clock().now(), running_now)
    };
    let first = lines.first().map(|l| l.0);
    let last = lines.last().map(|l| l.0);
    let text = render_logs(req, lines, now)?;
    if !req.flag("follow") || previous || !running_now {
        return Ok(respond(200, "text/plain", text.into_bytes()));
    }
    // Follow: the lines so far, then new ones as the simulation writes them, until the
    // container instance ends or the client goes away.
    let (tx, out) = tokio::sync::mpsc::channel::<Bytes>(64);
    let shared = req.shared.clone();
    let (ns, pod) = (req.namespace().to_string(), req.name().to_string());
    let stamps = req.flag("timestamps");
    tokio::spawn(async move {
        if tx.send(Bytes::from(text)).await.is_err() {
            return;
        }
        let mut last = last;
        loop {
            tokio::select! {
                _ = tx.closed() => return,
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
            let (lines, still) = {
                let w = shared.lock();
                let still = w
                    .store
                    .get(rt, &ns, &pod)
                    .is_some_and(|p| running(&p, &container));
                match w.sim.logs(&w.store, &ns, &pod, Some(&container), false) {
                    Ok(l) => (l, still),
                    Err(_) => return,
                }
            };
            if lines.first().map(|l| l.time) != first && first.is_some() {
                return;
            }
            let mut chunk = String::new();
            let since = last;
            for l in lines.iter().filter(|l| since.is_none_or(|t| l.time > t)) {
                if stamps {
                    chunk.push_str(&l.time.strftime("%Y-%m-%dT%H:%M:%S%.9fZ").to_string());
                    chunk.push(' ');
                }
                chunk.push_str(&l.text);
                chunk.push('\n');
                last = Some(l.time);
            }
            if !chunk.is_empty() && tx.send(Bytes::from(chunk)).await.is_err() {
                return;
            }
            if !still {
                return;
            }
        }
    });
    let stream = futures::stream::unfold(out, |mut out| async move {
        out.recv().await.map(|b| (Ok::<Bytes, Infallible>(b), out))
    });
    let mut r = Response::new(Body::from_stream(stream));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(r)
}

/// Whether a container of the pod is running now (what `logs -f` follows).
fn running(pod: &Value, container: &str) -> bool {
    ["/status/containerStatuses", "/status/initContainerStatuses"]
        .iter()
        .filter_map(|p| pod.pointer(p).and_then(Value::as_array))
        .flatten()
        .any(|c| c["name"] == container && c.pointer("/state/running").is_some())
}

/// Applies `sinceTime`, `sinceSeconds`, `tailLines`, `timestamps` and `limitBytes`.
fn render_logs(
    req: &Request,
    mut lines: Vec<(Timestamp, String)>,
    now: Timestamp,
) -> Result<String, ApiError> {
    let num = |k: &str| -> Result<Option<i64>, ApiError> {
        req.p(k)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| ApiError::bad_request(format!("{k} must be a number, got {v:?}")))
            })
            .transpose()
    };
    if let Some(t) = req.p("sinceTime") {
        let since: Timestamp = t.parse().map_err(|_| {
            ApiError::bad_request(format!("sinceTime must be an RFC 3339 time, got {t:?}"))
        })?;
        lines.retain(|(ts, _)| *ts >= since);
    } else if let Some(secs) = num("sinceSeconds")? {
        let since = now
            .checked_sub(jiff::SignedDuration::from_secs(secs.max(0)))
            .unwrap_or(Timestamp::MIN);
        lines.retain(|(ts, _)| *ts >= since);
    }
    if let Some(n) = num("tailLines")? {
        let n = usize::try_from(n.max(0)).unwrap_or(0);
        if lines.len() > n {
            lines.drain(..lines.len() - n);
        }
    }
    let stamps = req.flag("timestamps");
    let mut out = String::new();
    for (ts, text) in &lines {
        if stamps {
            out.push_str(&ts.strftime("%Y-%m-%dT%H:%M:%S%.9fZ").to_string());
            out.push(' ');
        }
        out.push_str(text);
        if !text.ends_with('\n') {
            out.push('\n');
        }
    }
    if let Some(limit) = num("limitBytes")? {
        let limit = usize::try_from(limit.max(0)).unwrap_or(0);
        if out.len() > limit {
            let mut cut = limit;
            while cut > 0 && !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip() {
        let t = continue_token("shop", "web-1");
        assert_eq!(parse_continue(&t).unwrap(), ("shop".into(), "web-1".into()));
        assert!(parse_continue("zz").is_err());
    }

    #[test]
    fn events_convert_both_ways() {
        let core = json!({"kind": "Event", "apiVersion": "v1", "metadata": {"name": "e"},
            "involvedObject": {"kind": "Pod", "name": "p"}, "message": "m", "reason": "R", "type": "Warning",
            "firstTimestamp": "2026-01-01T00:00:00Z"});
        let v1 = to_events_v1(&core);
        assert_eq!(v1["regarding"]["name"], "p");
        assert_eq!(v1["note"], "m");
        assert_eq!(v1["eventTime"], "2026-01-01T00:00:00Z");
        let back = from_events_v1(&v1);
        assert_eq!(back["involvedObject"], core["involvedObject"]);
        assert_eq!(back["message"], "m");
    }
}
