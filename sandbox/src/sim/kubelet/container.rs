//! One container as the kubelet plays it: waiting for its turn, its image, its config
//! references, the `Behavior` it runs under, its restarts, probes and status.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::context::{CRes, One, PodCtx, container_id, term_fields, term_json};
use super::images::{image_id, pull_failure};
use super::references::config_error;
use super::timeline::{St, Term, Timeline, go_duration, retries, timeline};
use super::{Ctr, MAX_SEGMENTS, NetSegment, Pending};
use crate::scenario::Behavior;
use crate::sim::behavior::{self, Kill, Life};
use crate::sim::network::{self, Outcome};
use crate::sim::object::{i, name, namespace, s, uid};
use crate::sim::timestamps::{plus, secs_between, time};

/// Plays container `c` of the pod from `earliest` (when it may first start) to now.
pub fn container(
    cx: &PodCtx,
    c: &Value,
    ctr: &mut Ctr,
    earliest: Timestamp,
    init: bool,
    evs: &mut Pending,
) -> CRes {
    let one = One {
        cx,
        spec: c,
        name: s(c, "/name").to_string(),
        image: s(c, "/image").to_string(),
        init,
    };
    let now = cx.now;
    if now < earliest {
        evs.push((None, Some(earliest)));
        let reason = if init {
            "PodInitializing"
        } else {
            "ContainerCreating"
        };
        return one.not_started(one.waiting(reason, None, ctr), earliest);
    }
    if ctr.start.is_none() {
        if let Some(r) = pull_failure(&one, ctr, earliest, evs) {
            return r;
        }
        if let Some(r) = first_start(&one, ctr, earliest, evs) {
            return r;
        }
    }
    let (life, start) = lifecycle(&one, ctr, earliest);
    let tl = timeline(start, now, life.exit, |code| restarts(&one, code));
    if let Some(n) = tl.next {
        evs.push((None, Some(n)));
    }
    start_events(&one, ctr, &life, &tl, start, evs);
    state_status(&one, ctr, &life, &tl, start, evs)
}

/// Whether the container is restarted after exiting with `code`.
fn restarts(one: &One, code: i32) -> bool {
    match (one.init, one.cx.policy) {
        (_, "Never") => false,
        (true, _) | (false, "OnFailure") => code != 0,
        _ => true,
    }
}

/// The first start: the image is pulled and the config references resolved. Returns the
/// status while a reference is missing (`CreateContainerConfigError`, retried).
fn first_start(one: &One, ctr: &mut Ctr, earliest: Timestamp, evs: &mut Pending) -> Option<CRes> {
    let image = &one.image;
    evs.push((
        Some(one.ev(
            "Pulling",
            format!("Pulling image \"{image}\""),
            false,
            1,
            earliest,
            earliest,
        )),
        None,
    ));
    evs.push((
        Some(one.ev(
            "Pulled",
            format!(
                "Successfully pulled image \"{image}\" in 1.042s (1.042s including waiting). Image size: 52428800 bytes."
            ),
            false,
            1,
            earliest,
            earliest,
        )),
        None,
    ));
    if let Some(err) = config_error(one.cx.store, namespace(one.cx.pod), one.spec) {
        let since = *ctr.blocked_since.get_or_insert(earliest);
        let (count, last, next) = retries(since, one.cx.now);
        evs.push((
            Some(one.ev("Failed", format!("Error: {err}"), true, count, since, last)),
            Some(next),
        ));
        let status = one.waiting("CreateContainerConfigError", Some(err), ctr);
        return Some(one.not_started(status, since));
    }
    let start = if ctr.blocked_since.is_some() {
        one.cx.now
    } else {
        earliest
    };
    ctr.start = Some(start);
    ctr.first_start = Some(start);
    None
}

/// The Behavior the container runs under now, and its lifecycle: a change of lifecycle (a
/// config change) takes effect at the next start, as a real process would see it. Returns
/// the lifecycle in force and the start of its first instance.
fn lifecycle(one: &One, ctr: &mut Ctr, earliest: Timestamp) -> (Life, Timestamp) {
    let cx = one.cx;
    let now = cx.now;
    let idx = behavior::find_index(cx.sim, cx.store, cx.pod, one.spec, one.init);
    let b = idx.map(|i| &cx.sim.behaviors[i].0);
    if ctr.segments.last().map(|s| s.1) != Some(idx) {
        let at = if ctr.segments.is_empty() {
            ctr.start.unwrap_or(now)
        } else {
            now
        };
        ctr.segments.push((at, idx));
        if ctr.segments.len() > MAX_SEGMENTS {
            ctr.segments.remove(0);
        }
    }
    let fatal = b.is_some_and(|b| track_connects(one, ctr, idx, b));
    let life = behavior::life(b, cx.pod, one.spec, one.init, fatal);
    let mut start = ctr.start.unwrap_or(earliest);
    let b_logs = b
        .map(|b| b.previous_logs.clone().unwrap_or_else(|| b.logs.clone()))
        .unwrap_or_default();
    match &ctr.life {
        None => {
            ctr.life = Some(life.clone());
            ctr.life_logs = b_logs;
        }
        Some(old) if old.signature() != life.signature() => {
            let tl = timeline(start, now, old.exit, |code| restarts(one, code));
            let last = match tl.state {
                St::BackOff(_) => tl.last,
                // A process that runs on loses what it cannot run without: it exits now.
                St::Running(s) if fatal && old.exit.is_none() => Some(Term {
                    code: 1,
                    reason: "Error",
                    start: s,
                    end: now,
                    instance: tl.restarts,
                }),
                _ => None,
            };
            if last.is_some() {
                ctr.restarts_before += tl.restarts + 1;
                ctr.last_before = last;
                ctr.start = Some(now);
                start = now;
                ctr.life = Some(life.clone());
                ctr.prev_life_logs = Some(std::mem::replace(&mut ctr.life_logs, b_logs));
            }
        }
        Some(_) => {}
    }
    (ctr.life.clone().unwrap_or(life), start)
}

/// Tries the Behavior's `connects` against the cluster now and remembers when their
/// outcomes change; returns whether one the container cannot run without fails.
fn track_connects(one: &One, ctr: &mut Ctr, idx: Option<usize>, b: &Behavior) -> bool {
    let (Some(idx), false) = (idx, b.connects.is_empty()) else {
        return false;
    };
    let outcomes: Vec<Outcome> = b
        .connects
        .iter()
        .map(|c| network::outcome(one.cx.store, one.cx.pod, one.spec, c))
        .collect();
    let fatal = b
        .connects
        .iter()
        .zip(&outcomes)
        .any(|(c, o)| c.fatal && o.failed());
    let same = ctr
        .net
        .last()
        .is_some_and(|s| s.behavior == idx && s.outcomes == outcomes);
    if !same {
        let from = if ctr.net.is_empty() {
            ctr.start.unwrap_or(one.cx.now)
        } else {
            one.cx.now
        };
        ctr.net.push(NetSegment {
            from,
            behavior: idx,
            outcomes,
        });
        if ctr.net.len() > MAX_SEGMENTS {
            ctr.net.remove(0);
        }
    }
    fatal
}

/// The events of the container's starts and restarts: Created, Started, Pulled (already
/// present) and BackOff, aggregated.
fn start_events(
    one: &One,
    ctr: &Ctr,
    life: &Life,
    tl: &Timeline,
    start: Timestamp,
    evs: &mut Pending,
) {
    let cname = &one.name;
    let pod = one.cx.pod;
    let restart_count = ctr.restarts_before + tl.restarts;
    let first_start = ctr.first_start.unwrap_or(start);
    let starts = u64::from(restart_count) + 1;
    evs.push((
        Some(one.ev(
            "Created",
            format!("Created container: {cname}"),
            false,
            starts,
            first_start,
            tl.last_start,
        )),
        None,
    ));
    let (reason, message, warning) = match &life.start_error {
        Some(err) => ("Failed", format!("Error: {err}"), true),
        None => ("Started", format!("Started container {cname}"), false),
    };
    evs.push((
        Some(one.ev(reason, message, warning, starts, first_start, tl.last_start)),
        None,
    ));
    if let Some(k) = &life.kill {
        probe_kills(one, k, tl, first_start, evs);
    }
    if restart_count > 0 {
        evs.push((
            Some(one.ev(
                "Pulled",
                format!(
                    "Container image \"{}\" already present on machine",
                    one.image
                ),
                false,
                u64::from(restart_count),
                first_start,
                tl.last_start,
            )),
            None,
        ));
    }
    if let (Some(first), Some(last)) = (tl.first_backoff, tl.last_backoff) {
        evs.push((
            Some(one.ev(
                "BackOff",
                format!(
                    "Back-off restarting failed container {cname} in pod {}_{}({})",
                    name(pod),
                    namespace(pod),
                    uid(pod)
                ),
                true,
                tl.backoffs,
                first,
                last,
            )),
            None,
        ));
    }
}

/// The container's status from where its timeline is now, with readiness probing.
fn state_status(
    one: &One,
    ctr: &Ctr,
    life: &Life,
    tl: &Timeline,
    start: Timestamp,
    evs: &mut Pending,
) -> CRes {
    let (pod, c, cname, now) = (one.cx.pod, one.spec, &one.name, one.cx.now);
    let restart_count = ctr.restarts_before + tl.restarts;
    let last_term = match tl.state {
        St::Running(_) | St::BackOff(_) => tl.last.or(ctr.last_before),
        St::Done(_) => tl.prev.or(ctr.last_before),
    };
    let last_state = last_term
        .map(|t| term_json(&t, pod, cname))
        .map(|mut t| {
            with_start_error(&mut t["terminated"], life);
            t
        })
        .unwrap_or(json!({}));
    let mut st = json!({"name": cname, "image": one.image, "imageID": image_id(&one.image),
        "restartCount": restart_count, "lastState": last_state});
    let (ready, started, done, since);
    match tl.state {
        St::Running(s) => {
            let delay = i(c, "/readinessProbe/initialDelaySeconds").unwrap_or(0) as f64;
            let ready_at = plus(s, delay);
            let starting = life.kill.as_ref().is_some_and(|k| k.probe == "Startup");
            let probe_ok = life.unready.is_none() && !starting;
            ready = !one.init && probe_ok && now >= ready_at;
            if probe_ok && now < ready_at && !one.init {
                evs.push((None, Some(ready_at)));
            }
            if let Some(msg) = life.unready.as_ref().filter(|_| !starting) {
                let first_start = ctr.first_start.unwrap_or(start);
                let msg = msg.replace("{ip}", &one.cx.ip);
                readiness_failures(one, &msg, plus(first_start, delay), evs);
            }
            st["state"] = json!({"running": {"startedAt": time(s)}});
            st["containerID"] = json!(container_id(pod, cname, restart_count));
            started = true;
            done = None;
            since = if ready { ready_at } else { s };
        }
        St::BackOff(delay) => {
            st["state"] = match &life.start_error {
                // The kubelet reports the runtime's refusal until the back-off begins.
                Some(err) if delay < 10.0 => {
                    json!({"waiting": {"reason": "RunContainerError", "message": err}})
                }
                _ => json!({"waiting": {"reason": "CrashLoopBackOff", "message": format!(
                "back-off {} restarting failed container={cname} pod={}_{}({})",
                go_duration(delay), name(pod), namespace(pod), uid(pod))}}),
            };
            ready = false;
            started = false;
            done = None;
            since = tl.last.map_or(start, |t| t.end);
        }
        St::Done(term) => {
            let mut term_st = term_fields(&term, pod, cname);
            with_start_error(&mut term_st, life);
            st["state"] = json!({"terminated": term_st});
            st["containerID"] = json!(container_id(
                pod,
                cname,
                term.instance + ctr.restarts_before
            ));
            ready = one.init && term.code == 0;
            started = false;
            done = Some(term);
            since = term.end;
        }
    }
    st["ready"] = json!(ready);
    st["started"] = json!(started);
    CRes {
        status: st,
        ready,
        started_ever: true,
        done,
        since,
    }
}

/// The `Unhealthy` event of a failing readiness probe, probing since `first`.
fn readiness_failures(one: &One, msg: &str, first: Timestamp, evs: &mut Pending) {
    let now = one.cx.now;
    if now < first {
        return;
    }
    let period = i(one.spec, "/readinessProbe/periodSeconds")
        .unwrap_or(10)
        .max(1) as f64;
    let n = (secs_between(first, now) / period).floor() as u64 + 1;
    evs.push((
        Some(one.ev(
            "Unhealthy",
            format!("Readiness probe failed: {msg}"),
            true,
            n,
            first,
            plus(first, (n - 1) as f64 * period),
        )),
        None,
    ));
}

/// A container the runtime could not start never ran: the API shows the epoch as its start
/// and the runtime's error as the message.
fn with_start_error(term: &mut Value, life: &Life) {
    if let (Some(err), true) = (&life.start_error, term["reason"] == "StartError") {
        term["message"] = json!(err);
        term["startedAt"] = json!("1970-01-01T00:00:00Z");
    }
}

/// The Unhealthy and Killing events of a liveness or startup probe that keeps failing.
fn probe_kills(one: &One, k: &Kill, tl: &Timeline, first_start: Timestamp, evs: &mut Pending) {
    let now = one.cx.now;
    let kills = u64::from(tl.restarts) + u64::from(!matches!(tl.state, St::Running(_)));
    let running = match tl.state {
        St::Running(s) if now >= plus(s, k.delay) => {
            ((secs_between(plus(s, k.delay), now) / k.period).floor() as u64 + 1)
                .min(u64::from(k.threshold) - 1)
        }
        _ => 0,
    };
    let failures = kills * u64::from(k.threshold) + running;
    if failures == 0 {
        if let St::Running(s) = tl.state {
            evs.push((None, Some(plus(s, k.delay))));
        }
        return;
    }
    let last = match tl.state {
        St::Running(s) if running > 0 => plus(s, k.delay + (running - 1) as f64 * k.period),
        _ => tl.last.map_or(now, |t| t.end),
    };
    if let St::Running(s) = tl.state {
        evs.push((None, Some(plus(s, k.delay + running as f64 * k.period))));
    }
    let message = k.message.replace("{ip}", &one.cx.ip);
    let first = plus(first_start, k.delay);
    evs.push((
        Some(one.ev(
            "Unhealthy",
            format!("{} probe failed: {message}", k.probe),
            true,
            failures,
            first,
            last.max(first),
        )),
        None,
    ));
    if kills > 0 {
        let first_kill = plus(first_start, k.after());
        let last_kill = tl.last.map_or(first_kill, |t| t.end);
        evs.push((
            Some(one.ev(
                "Killing",
                format!(
                    "Container {} failed {} probe, will be restarted",
                    one.name,
                    k.probe.to_lowercase()
                ),
                false,
                kills,
                first_kill,
                last_kill.max(first_kill),
            )),
            None,
        ));
    }
}
