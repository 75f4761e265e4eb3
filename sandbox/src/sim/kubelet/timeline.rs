//! A container's restarts as a pure function of time: when each instance starts and ends,
//! the kubelet's back-off between restarts (10s doubling to 5 minutes), and the retries of
//! pulls, mounts and config lookups.

use jiff::Timestamp;

use super::super::behavior::Exit;
use super::super::timestamps::plus;

/// Longest back-off between restarts (and between retries of pulls and mounts).
const MAX_BACKOFF: f64 = 300.0;
/// A container that ran this long resets its back-off.
const BACKOFF_RESET: f64 = 600.0;

/// A terminated container instance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Term {
    /// Exit code.
    pub code: i32,
    /// `Completed`, `Error`, `OOMKilled` ...
    pub reason: &'static str,
    /// When the instance started.
    pub start: Timestamp,
    /// When it ended.
    pub end: Timestamp,
    /// Which instance (0 for the first) under the current lifecycle.
    pub instance: u32,
}

/// Where a container is now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum St {
    /// Running since.
    Running(Timestamp),
    /// Waiting to restart after a crash, with the back-off delay in seconds.
    BackOff(f64),
    /// Terminated and not restarting.
    Done(Term),
}

/// A container's history from its first start to `now`.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// Restarts so far.
    pub restarts: u32,
    /// Where it is now.
    pub state: St,
    /// The latest terminated instance.
    pub last: Option<Term>,
    /// The one before it.
    pub prev: Option<Term>,
    /// When the latest instance started.
    pub last_start: Timestamp,
    /// Back-offs of 10s or more (each a `BackOff` event).
    pub backoffs: u64,
    /// The first of them.
    pub first_backoff: Option<Timestamp>,
    /// The latest of them.
    pub last_backoff: Option<Timestamp>,
    /// When something is next due.
    pub next: Option<Timestamp>,
}

/// The back-off before restart number `streak + 1`: the first restart is immediate (the
/// kubelet's next sync), then 10s doubling up to 5 minutes.
pub fn backoff_delay(streak: u32) -> f64 {
    if streak == 0 {
        1.0
    } else {
        (10.0 * 2f64.powi(streak.min(16) as i32 - 1)).min(MAX_BACKOFF)
    }
}

/// Plays a container from `start` to `now`: `exit` ends each instance, `restarts(code)` says
/// whether it is restarted.
pub fn timeline(
    start: Timestamp,
    now: Timestamp,
    exit: Option<Exit>,
    restarts: impl Fn(i32) -> bool,
) -> Timeline {
    let mut tl = Timeline {
        restarts: 0,
        state: St::Running(start),
        last: None,
        prev: None,
        last_start: start,
        backoffs: 0,
        first_backoff: None,
        last_backoff: None,
        next: None,
    };
    let Some(exit) = exit else {
        return tl;
    };
    let mut s = start;
    let mut streak = 0u32;
    loop {
        tl.last_start = s;
        let e = plus(s, exit.after);
        if now < e {
            tl.state = St::Running(s);
            tl.next = Some(e);
            return tl;
        }
        let term = Term {
            code: exit.code,
            reason: exit.reason,
            start: s,
            end: e,
            instance: tl.restarts,
        };
        tl.prev = tl.last.replace(term);
        if !restarts(exit.code) {
            tl.state = St::Done(term);
            return tl;
        }
        if exit.after >= BACKOFF_RESET {
            streak = 0;
        }
        let delay = backoff_delay(streak);
        streak += 1;
        if delay >= 10.0 {
            tl.backoffs += 1;
            tl.first_backoff.get_or_insert(e);
            tl.last_backoff = Some(e);
        }
        let next = plus(e, delay);
        if now < next || tl.restarts >= 1_000_000 {
            tl.state = St::BackOff(delay);
            tl.next = Some(next);
            return tl;
        }
        tl.restarts += 1;
        s = next;
    }
}

/// Retries (image pulls, mounts, config) at `since` and then after back-offs of 10s doubling
/// to 5 minutes: how many happened by `now`, the latest, and the next.
pub fn retries(since: Timestamp, now: Timestamp) -> (u64, Timestamp, Timestamp) {
    let mut count = 1;
    let mut last = since;
    let mut delay = 10.0;
    loop {
        let next = plus(last, delay);
        if next > now || count > 1_000_000 {
            return (count, last, next);
        }
        count += 1;
        last = next;
        delay = (delay * 2.0).min(MAX_BACKOFF);
    }
}

/// Go's duration format for whole seconds: `10s`, `1m20s`, `5m0s`.
pub fn go_duration(secs: f64) -> String {
    let s = secs.round() as u64;
    if s < 60 {
        format!("{s}s")
    } else {
        format!("{}m{}s", s / 60, s % 60)
    }
}
