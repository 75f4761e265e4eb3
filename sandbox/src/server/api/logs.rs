//! The `log` subresource: the simulated container output, filtered and followed as the
//! kubelet serves it.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use jiff::Timestamp;
use serde_json::Value;

use super::Request;
use crate::error::ApiError;
use crate::server::respond;

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

/// GET of a pod's `log` subresource, followed with `follow=true`.
pub(super) fn logs(req: &Request) -> Result<Response, ApiError> {
    let rt = req.rt();
    let previous = req.flag("previous");
    let (container, lines, now, running_now) = {
        let w = req.shared.lock();
        let pod = req.stored(&w.store)?;
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
