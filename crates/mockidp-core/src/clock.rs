use std::{
    sync::atomic::{AtomicI64, Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

/// Where the forge reads "now" from. Inject a [`FixedClock`] to mint tokens
/// at a chosen instant without sleeping.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Seconds since the Unix epoch.
    fn now(&self) -> i64;
}

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(elapsed) => i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX),
            // A clock set before 1970 is a broken machine; tokens minted on it are
            // expired, which is the honest answer.
            Err(_) => 0,
        }
    }
}

/// A clock pinned at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn now(&self) -> i64 {
        self.0
    }
}

/// A clock that stands still until told to move: share it (in an `Arc`)
/// between a test and a provider to expire codes and tokens without sleeping.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock at `now` (seconds since the epoch).
    pub fn new(now: i64) -> Self {
        Self(AtomicI64::new(now))
    }

    /// A clock at the current wall-clock time.
    pub fn at_system_time() -> Self {
        Self::new(SystemClock.now())
    }

    /// Moves the clock forward (or, negative, back) by `seconds`.
    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }

    /// Pins the clock at `now`.
    pub fn set(&self, now: i64) {
        self.0.store(now, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}
