//! `kubectl logs`: the lines of a container's current or previous instance, from the
//! Behaviors that applied while it ran.

use jiff::Timestamp;
use serde_json::Value;

use super::{Ctr, NetSegment, client};
use crate::error::ApiError;
use crate::scenario::Behavior;
use crate::sim::behavior;
use crate::sim::object::{arr, name, uid};
use crate::sim::timestamps::{plus, secs_between, ts};
use crate::sim::{LogLine, Simulator};
use crate::store::Store;

/// `kubectl logs`: the current or previous instance of a container.
pub fn logs(
    sim: &Simulator,
    store: &Store,
    pod: &Value,
    container: Option<&str>,
    previous: bool,
    now: Timestamp,
) -> Result<Vec<LogLine>, ApiError> {
    let pname = name(pod);
    let names = |ptr: &str| -> Vec<&str> {
        arr(pod, ptr)
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect()
    };
    let mains = names("/spec/containers");
    let inits = names("/spec/initContainers");
    let cname = pick(pname, container, &mains, &inits)?;
    let init = !mains.contains(&cname);
    let list = if init {
        "initContainerStatuses"
    } else {
        "containerStatuses"
    };
    let cstatus = arr(pod, &format!("/status/{list}"))
        .iter()
        .find(|s| s["name"] == cname)
        .cloned()
        .unwrap_or(Value::Null);
    let spec = arr(
        pod,
        if init {
            "/spec/initContainers"
        } else {
            "/spec/containers"
        },
    )
    .iter()
    .find(|c| c["name"] == cname)
    .cloned()
    .unwrap_or(Value::Null);
    let b = behavior::find(sim, store, pod, &spec, init);
    let (current, last) = instances(&cstatus);
    let waiting = cstatus["state"]["waiting"]["reason"].as_str();
    let (instance, lines) = if previous {
        // While in back-off the "current" container is the one that just exited.
        let prev = if current.is_some() {
            last
        } else {
            let restarts = cstatus["restartCount"].as_i64().unwrap_or(0);
            if restarts > 0 {
                last.map(|(s, e)| {
                    let e = e.unwrap_or(s);
                    let before = e.duration_since(s).as_secs_f64();
                    (plus(s, -(before + 10.0)), Some(plus(s, -10.0)))
                })
            } else {
                None
            }
        };
        let Some(p) = prev else {
            return Err(ApiError::bad_request(format!(
                "previous terminated container \"{cname}\" in pod \"{pname}\" not found"
            )));
        };
        // The previous instance may have run under a lifecycle since replaced.
        let ctr = runtime_ctr(sim, pod, cname, &mains, &inits, init);
        let older = ctr.and_then(|c| {
            let first_of_life = current.is_some_and(|(s, _)| Some(s) == c.start);
            c.prev_life_logs.clone().filter(|_| first_of_life)
        });
        let lines =
            older.or_else(|| b.map(|b| b.previous_logs.clone().unwrap_or_else(|| b.logs.clone())));
        (p, lines.unwrap_or_default())
    } else {
        let cur = current.or(if waiting == Some("CrashLoopBackOff") {
            last
        } else {
            None
        });
        let Some(cur) = cur else {
            let reason = match waiting {
                Some("ErrImagePull" | "ImagePullBackOff") => "trying and failing to pull image",
                Some(r) => r,
                None => "ContainerCreating",
            };
            return Err(ApiError::bad_request(format!(
                "container \"{cname}\" in pod \"{pname}\" is waiting to start: {reason}"
            )));
        };
        (cur, b.map(|b| b.logs.clone()).unwrap_or_default())
    };
    let (start, end) = instance;
    let end = end.unwrap_or(now).min(now);
    if b.is_some_and(|b| b.start_error.is_some()) {
        // The runtime never started the process: nothing was written.
        return Ok(Vec::new());
    }
    let ctr = runtime_ctr(sim, pod, cname, &mains, &inits, init);
    let segments = if previous {
        None
    } else {
        ctr.map(|c| c.segments.clone()).filter(|s| !s.is_empty())
    };
    let mut out = match segments {
        Some(segs) => segmented_logs(sim, &segs, start, end),
        None => written(b, &lines, start, end),
    };
    if let Some(c) = ctr.filter(|c| !c.net.is_empty()) {
        let ip = pod["status"]["podIP"].as_str().unwrap_or("");
        out.extend(client_lines(sim, &c.net, start, end, ip));
        out.sort_by_key(|l| l.time);
    }
    Ok(out)
}

/// Most lines one failing `connects` entry writes into one instance's log.
const MAX_RETRY_LINES: u64 = 300;

/// The client's lines about what it reached while the instance ran from `start` to `end`:
/// one line when something works, one per retry while it fails.
fn client_lines(
    sim: &Simulator,
    net: &[NetSegment],
    start: Timestamp,
    end: Timestamp,
    ip: &str,
) -> Vec<LogLine> {
    let mut out = Vec::new();
    for (n, seg) in net.iter().enumerate() {
        let until = net.get(n + 1).map_or(end, |s| s.from.min(end));
        let from = seg.from.max(start);
        if from > until || (from == until && n + 1 < net.len()) {
            continue;
        }
        let Some(b) = sim.behaviors.get(seg.behavior).map(|(b, _)| b) else {
            continue;
        };
        let style = b.client.unwrap_or_default();
        for (conn, outcome) in b.connects.iter().zip(&seg.outcomes) {
            let text = client::line(style, conn, outcome, ip);
            if !outcome.failed() {
                out.push(LogLine {
                    time: plus(from, 0.2).min(end.max(from)),
                    text,
                });
                continue;
            }
            let every = conn.every_seconds.unwrap_or(10).max(1) as f64;
            let tries = (secs_between(from, until) / every).floor().max(0.0) as u64 + 1;
            for k in tries.saturating_sub(MAX_RETRY_LINES)..tries {
                let time = plus(from, 0.2 + k as f64 * every).min(end.max(from));
                out.push(LogLine {
                    time,
                    text: text.clone(),
                });
            }
        }
    }
    out
}

/// An instance of a container: when it started and (if it did) ended.
type Instance = (Timestamp, Option<Timestamp>);

/// The current and the previous instance, from the status the kubelet wrote (or the
/// captured status of a frozen pod).
fn instances(cstatus: &Value) -> (Option<Instance>, Option<Instance>) {
    let current = match (
        &cstatus["state"]["running"],
        &cstatus["state"]["terminated"],
    ) {
        (r, _) if r.is_object() => ts(&r["startedAt"]).map(|s| (s, None)),
        (_, t) if t.is_object() => ts(&t["startedAt"]).map(|s| (s, ts(&t["finishedAt"]))),
        _ => None,
    };
    let last = &cstatus["lastState"]["terminated"];
    let last = if last.is_object() {
        ts(&last["startedAt"]).map(|s| (s, ts(&last["finishedAt"])))
    } else {
        None
    };
    (current, last)
}

/// The lines an instance that ran from `start` to `end` wrote: its start-up `lines`, then
/// the Behavior's periodic lines (the last 500 repetitions).
fn written(
    b: Option<&Behavior>,
    lines: &[String],
    start: Timestamp,
    end: Timestamp,
) -> Vec<LogLine> {
    let mut out: Vec<LogLine> = lines
        .iter()
        .enumerate()
        .map(|(n, l)| LogLine {
            time: plus(
                start,
                (n as f64 * 0.05).min(secs_between(start, end).max(0.0)),
            ),
            text: l.clone(),
        })
        .collect();
    if let Some(p) = b.and_then(|b| b.periodic_logs.as_ref()) {
        let every = p.every_seconds.max(1) as f64;
        let span = secs_between(start, end);
        let reps = (span / every).floor().max(0.0) as u64;
        let from = reps.saturating_sub(500);
        for r in (from + 1)..=reps {
            let at = plus(start, r as f64 * every);
            out.extend(p.lines.iter().map(|l| LogLine {
                time: at,
                text: l.clone(),
            }));
        }
    }
    out
}

/// The container `kubectl logs` means: the one named, or the only regular one.
fn pick<'a>(
    pname: &str,
    container: Option<&'a str>,
    mains: &[&'a str],
    inits: &[&'a str],
) -> Result<&'a str, ApiError> {
    match container {
        Some(c) if !c.is_empty() => {
            if !mains.contains(&c) && !inits.contains(&c) {
                return Err(ApiError::bad_request(format!(
                    "container {c} is not valid for pod {pname}"
                )));
            }
            Ok(c)
        }
        _ if mains.len() == 1 => Ok(mains[0]),
        _ => {
            let mut m = format!(
                "a container name must be specified for pod {pname}, choose one of: [{}]",
                mains.join(" ")
            );
            if !inits.is_empty() {
                m.push_str(&format!(
                    " or one of the init containers: [{}]",
                    inits.join(" ")
                ));
            }
            Err(ApiError::bad_request(m))
        }
    }
}

/// The kubelet's memory of a container, if the pod is simulated.
fn runtime_ctr<'a>(
    sim: &'a Simulator,
    pod: &Value,
    cname: &str,
    mains: &[&str],
    inits: &[&str],
    init: bool,
) -> Option<&'a Ctr> {
    let rt = sim.runtime.get(uid(pod))?;
    let (list, idx) = if init {
        (&rt.init, inits.iter().position(|n| *n == cname))
    } else {
        (&rt.containers, mains.iter().position(|n| *n == cname))
    };
    idx.and_then(|i| list.get(i))
}

/// The log of an instance that ran from `start` to `end` while the applying Behavior
/// changed at the `segments` moments: start-up lines from the first, then each one's
/// periodic lines for the time it applied.
fn segmented_logs(
    sim: &Simulator,
    segments: &[(Timestamp, Option<usize>)],
    start: Timestamp,
    end: Timestamp,
) -> Vec<LogLine> {
    let behavior_at = |t: Timestamp| {
        segments
            .iter()
            .rev()
            .find(|(from, _)| *from <= t)
            .or(segments.first())
            .and_then(|(_, i)| *i)
            .map(|i| &sim.behaviors[i].0)
    };
    let span = secs_between(start, end).max(0.0);
    let mut out: Vec<LogLine> = behavior_at(start)
        .map(|b| b.logs.as_slice())
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(n, l)| LogLine {
            time: plus(start, (n as f64 * 0.05).min(span)),
            text: l.clone(),
        })
        .collect();
    for (n, (from, idx)) in segments.iter().enumerate() {
        let until = segments.get(n + 1).map_or(end, |(t, _)| (*t).min(end));
        let from = (*from).max(start);
        if until <= from {
            continue;
        }
        let Some(p) = idx.and_then(|i| sim.behaviors[i].0.periodic_logs.as_ref()) else {
            continue;
        };
        let every = p.every_seconds.max(1) as f64;
        let first = (secs_between(start, from) / every).ceil().max(1.0) as u64;
        let last = (secs_between(start, until) / every).floor() as u64;
        if last < first {
            continue;
        }
        for r in first.max(last.saturating_sub(499))..=last {
            let at = plus(start, r as f64 * every);
            out.extend(p.lines.iter().map(|l| LogLine {
                time: at,
                text: l.clone(),
            }));
        }
    }
    out
}
