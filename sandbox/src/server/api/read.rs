//! get and list: single objects, pages with `continue` tokens, and Table answers.

use std::io::Write;
use std::sync::Arc;

use axum::response::Response;
use serde_json::{Value, json};

use super::events::{served, served_stored};
use super::{Request, encoded_response};
use crate::error::ApiError;
use crate::server::select::Selector;
use crate::server::table::{self, IncludeObject};
use crate::server::{json_response, value_response};
use crate::store::{Store, Stored, meta_str};

/// GET of one object (or its Table row).
pub(super) fn get(req: &Request) -> Result<Response, ApiError> {
    let rt = req.rt();
    let (obj, now) = {
        let w = req.shared.lock();
        let o = req.stored(&w.store)?;
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
    encoded_response(req, 200, &obj)
}

/// The opaque `continue` token after the object with this namespace and name.
pub(super) fn continue_token(ns: &str, name: &str) -> String {
    format!("{ns}/{name}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The namespace and name a `continue` token points after.
pub(super) fn parse_continue(token: &str) -> Result<(String, String), ApiError> {
    // Any text can arrive here: decode byte pairs, never slice the string itself.
    let bad = |why: &str| {
        ApiError::bad_request(format!(
            "invalid continue token: continue key is not valid: {why}"
        ))
    };
    let hex = |b: u8| {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    let raw = token.as_bytes();
    if !raw.len().is_multiple_of(2) {
        return Err(bad("the token was not issued by this server"));
    }
    let bytes = raw
        .chunks(2)
        .map(|p| Some(hex(p[0])? << 4 | hex(p[1])?))
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(|| bad("the token was not issued by this server"))?;
    let text =
        String::from_utf8(bytes).map_err(|_| bad("the token was not issued by this server"))?;
    let (ns, name) = text
        .split_once('/')
        .ok_or_else(|| bad("the token was not issued by this server"))?;
    Ok((ns.to_string(), name.to_string()))
}

/// One page of a list answer.
struct Page {
    /// The selected objects of this page, as stored (or converted, for events.k8s.io).
    items: Vec<Stored>,
    /// The store's resource version.
    rv: u64,
    /// The `continue` token of the next page.
    next: Option<String>,
    /// Objects after this page (`remainingItemCount`), when known.
    remaining: Option<usize>,
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
    // A token names the key it stopped at: one from another namespace's list is not valid here
    // (as the API server, whose keys carry the namespace prefix).
    if let (Some((token_ns, _)), Some(ns)) = (&after, req.target.namespace.as_deref())
        && rt.namespaced
        && token_ns != ns
    {
        return Err(ApiError::bad_request(format!(
            "invalid continue token: continue key is not valid: it continues a list of namespace {token_ns:?}, not {ns:?}"
        )));
    }
    // From the continue token's key on, never the whole collection per page.
    let after = after
        .as_ref()
        .map(|(ns, name)| (ns.as_str(), name.as_str()));
    let mut out = Vec::new();
    let mut next = None;
    let mut remaining = None;
    let mut objects = store.list_after(rt, req.target.namespace.as_deref(), after);
    let mut last_key: Option<(&str, &str)> = None;
    while let Some((ns, name, o)) = objects.next() {
        // Objects held only encoded are decoded only when a selector must look inside.
        let o = served_stored(rt, o);
        if !sel.is_empty() && !sel.matches(&o.value()) {
            continue;
        }
        if limit > 0 && out.len() == limit {
            let (ns, name) = last_key.unwrap_or((ns, name));
            next = Some(continue_token(ns, name));
            // As the API server: how many are left, only when no selector makes it a guess
            // (clients size their buffers by it).
            if sel.is_empty() {
                remaining = Some(1 + objects.count());
            }
            break;
        }
        last_key = Some((ns, name));
        out.push(o);
    }
    Ok(Page {
        items: out,
        rv: store.resource_version(),
        next,
        remaining,
    })
}

/// A list's metadata: its resource version, the next page's token and the count after it.
fn list_meta(rv: u64, next: Option<&str>, remaining: Option<usize>) -> Value {
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if let Some(c) = next {
        meta["continue"] = json!(c);
    }
    if let Some(n) = remaining {
        meta["remainingItemCount"] = json!(n);
    }
    meta
}

/// GET of a collection: one page of the selected objects (or their Table).
pub(super) fn list(req: &Request) -> Result<Response, ApiError> {
    let rt = req.rt();
    let (items, rv, next, remaining, now) = {
        let w = req.shared.lock();
        let page = select_page(req, &w.store)?;
        (
            page.items,
            page.rv,
            page.next,
            page.remaining,
            w.store.clock().now(),
        )
    };
    if req.wants_table() {
        let meta = list_meta(rv, next.as_deref(), remaining);
        let items: Vec<Arc<Value>> = items.iter().map(Stored::value).collect();
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
    if req.wants_protobuf() {
        let meta = list_meta(rv, next.as_deref(), remaining);
        let items: Vec<Arc<Value>> = items.iter().map(Stored::value).collect();
        let items: Vec<&Value> = items.iter().map(|o| &**o).collect();
        let list = json!({"kind": format!("{}List", rt.kind), "apiVersion": rt.api_version(),
            "metadata": meta, "items": items});
        return encoded_response(req, 200, &list);
    }
    // Written piece by piece: each object's encoding is the one the store holds (made once per
    // version), copied, not serialized again.
    let len: usize = items.iter().map(|o| o.json().len() + 1).sum();
    let mut buf: Vec<u8> = Vec::with_capacity(256 + len);
    let cont = next
        .map(|c| format!(",\"continue\":\"{c}\""))
        .unwrap_or_default()
        + &remaining
            .map(|n| format!(",\"remainingItemCount\":{n}"))
            .unwrap_or_default();
    let _ = write!(
        buf,
        "{{\"kind\":\"{}List\",\"apiVersion\":\"{}\",\"metadata\":{{\"resourceVersion\":\"{rv}\"{cont}}},\"items\":[",
        rt.kind,
        rt.api_version()
    );
    for (i, o) in items.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.extend_from_slice(o.json());
    }
    buf.extend_from_slice(b"]}");
    Ok(json_response(200, buf))
}
