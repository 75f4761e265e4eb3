//! The sandbox's clock: real time, or a manual clock that tests advance explicitly.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use jiff::{SignedDuration, Timestamp};

/// Source of "now" for every controller, the kubelet simulation and object timestamps.
#[derive(Debug, Clone)]
pub struct Clock {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    manual: bool,
    /// For a manual clock: the current time in milliseconds since the epoch.
    /// For a real clock: an offset in milliseconds added to the system time.
    millis: AtomicI64,
}

impl Clock {
    /// A clock that follows the system time.
    pub fn real() -> Self {
        Self {
            inner: Arc::new(Inner {
                manual: false,
                millis: AtomicI64::new(0),
            }),
        }
    }

    /// A clock that stands still at `start` until [`Clock::advance`] moves it.
    pub fn manual(start: Timestamp) -> Self {
        Self {
            inner: Arc::new(Inner {
                manual: true,
                millis: AtomicI64::new(start.as_millisecond()),
            }),
        }
    }

    /// Whether this clock moves only when advanced.
    pub fn is_manual(&self) -> bool {
        self.inner.manual
    }

    /// The current time.
    pub fn now(&self) -> Timestamp {
        let ms = self.inner.millis.load(Ordering::SeqCst);
        if self.inner.manual {
            Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
        } else {
            Timestamp::now()
                .checked_add(SignedDuration::from_millis(ms))
                .unwrap_or_else(|_| Timestamp::now())
        }
    }

    /// Moves the clock forward (both kinds: a real clock gains an offset).
    pub fn advance(&self, by: SignedDuration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.inner.millis.fetch_add(ms, Ordering::SeqCst);
    }
}

/// Formats a timestamp as Kubernetes does (`2024-01-02T03:04:05Z`, second precision).
pub fn rfc3339(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Formats a timestamp with microseconds, as Kubernetes writes `eventTime` (`MicroTime`).
pub fn rfc3339_micro(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let start: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let c = Clock::manual(start);
        assert_eq!(c.now(), start);
        c.advance(SignedDuration::from_secs(90));
        assert_eq!(rfc3339(c.now()), "2026-01-01T00:01:30Z");
    }
}
