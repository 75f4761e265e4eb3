//! watch: the backlog or current state, then changes as the store makes them.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use jiff::Timestamp;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::events::served_stored;
use super::{Request, key_of};
use crate::error::ApiError;
use crate::resources::storage_of;
use crate::server::select::Selector;
use crate::server::table::{self, IncludeObject};
use crate::store::{Stored, meta_str};

/// One line of a watch stream.
fn watch_event(req: &Request, kind: &str, obj: &Stored, now: Timestamp, table: bool) -> Bytes {
    let mut line = if table {
        let obj = obj.value();
        let meta =
            json!({"resourceVersion": meta_str(&obj, "resourceVersion").unwrap_or_default()});
        let object = table::table(
            req.rt(),
            std::iter::once(&*obj),
            now,
            IncludeObject::parse(req.p("includeObject")),
            meta,
        );
        serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default()
    } else {
        // The stored encoding, shared with lists and other watches.
        let json = obj.json();
        let mut line = Vec::with_capacity(json.len() + 32);
        line.extend_from_slice(b"{\"type\":\"");
        line.extend_from_slice(kind.as_bytes());
        line.extend_from_slice(b"\",\"object\":");
        line.extend_from_slice(json);
        line.push(b'}');
        line
    };
    line.push(b'\n');
    Bytes::from(line)
}

/// GET with `watch=true`: a stream of watch events.
pub(super) fn watch(req: &Request) -> Result<Response, ApiError> {
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
    let any_in_ns = sel.is_empty();
    let selected = move |o: &Value| {
        let in_ns = match &ns_sel {
            Some(n) if rt.namespaced => key_of(o).0 == n,
            _ => true,
        };
        in_ns && (sel.is_empty() || sel.matches(o))
    };
    let (backlog, rx, now, start_rv) = {
        let w = req.shared.lock();
        let rx = w.store.subscribe();
        let now = w.store.clock().now();
        let start_rv = w.store.resource_version();
        let initial_events = req.flag("sendInitialEvents");
        let backlog: Vec<(&'static str, Stored)> = match req.p("resourceVersion") {
            Some(rv) if !rv.is_empty() && rv != "0" && !initial_events => {
                let rv: u64 = rv.parse().map_err(|_| {
                    ApiError::bad_request(format!("invalid resourceVersion {rv:?}"))
                })?;
                // Too old a version: a real API server answers 200 and then an ERROR event
                // with 410 in the stream (clients re-list on that; an HTTP 410 at watch start
                // leaves kube-runtime's watcher retrying the same version forever).
                let changes = match w.store.changes_since(rv) {
                    Ok(c) => c,
                    Err(e) if e.code == 410 => return Ok(gone_stream(&e)),
                    Err(e) => return Err(e),
                };
                changes
                    .into_iter()
                    .filter(|c| std::ptr::eq(c.resource, storage))
                    .map(|c| (c.change.as_watch_type(), served_stored(rt, &c.object)))
                    .filter(|(_, o)| selected(&o.value()))
                    .collect()
            }
            // No version: the current state first, as synthetic ADDED events.
            // Objects held only encoded are decoded only when a selector must look inside.
            _ => w
                .store
                .list_after(rt, ns.as_deref(), None)
                .map(|(_, _, o)| ("ADDED", served_stored(rt, o)))
                .filter(|(_, o)| any_in_ns || selected(&o.value()))
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
    let follow = Follow {
        view: Request {
            shared: req.shared.clone(),
            target: req.target.clone(),
            verb: "watch",
            q: req.q.clone(),
            accept: req.accept.clone(),
            content_type: String::new(),
            user_agent: String::new(),
            body: Bytes::new(),
            subject: req.subject.clone(),
        },
        rx,
        start_rv,
        timeout,
        table,
        selected,
    };
    tokio::spawn(follow.run(first, tx));
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

/// A watch stream holding only the `410 Expired` ERROR event, as a real API server sends it.
fn gone_stream(e: &ApiError) -> Response {
    let mut line =
        serde_json::to_vec(&json!({"type": "ERROR", "object": e.status()})).unwrap_or_default();
    line.push(b'\n');
    let mut r = Response::new(Body::from(line));
    *r.status_mut() = StatusCode::OK;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// The live part of a watch: changes after the initial events, until the timeout or until
/// the client goes away.
struct Follow<F> {
    view: Request,
    rx: tokio::sync::broadcast::Receiver<crate::store::Change>,
    /// Changes up to this version were sent (or were before the watch began).
    start_rv: u64,
    timeout: u64,
    table: bool,
    selected: F,
}

impl<F: Fn(&Value) -> bool> Follow<F> {
    async fn run(mut self, mut first: VecDeque<Bytes>, tx: tokio::sync::mpsc::Sender<Bytes>) {
        let rt = self.view.rt();
        let storage = storage_of(rt);
        let shared = self.view.shared.clone();
        while let Some(b) = first.pop_front() {
            if tx.send(b).await.is_err() {
                return;
            }
        }
        let deadline = tokio::time::sleep(Duration::from_secs(self.timeout));
        tokio::pin!(deadline);
        let mut last = self.start_rv;
        loop {
            let mut due: Vec<crate::store::Change> = Vec::new();
            tokio::select! {
                _ = &mut deadline => return,
                _ = tx.closed() => return,
                got = self.rx.recv() => match got {
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
                let o = served_stored(rt, &c.object);
                if !(self.selected)(&o.value()) {
                    continue;
                }
                let now = shared.clock.now();
                let kind = c.change.as_watch_type();
                let event = watch_event(&self.view, kind, &o, now, self.table);
                if tx.send(event).await.is_err() {
                    return;
                }
            }
        }
    }
}
