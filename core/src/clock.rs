//! Injected time: nothing in the core reads the system clock or time zone directly.
//!
//! A [`Clock`] gives the current instant and the device's time zone. Tests use [`FixedClock`] or
//! [`SteppableClock`] to move time, change zones and cross DST.

use std::sync::{Arc, Mutex};

use jiff::{SignedDuration, Timestamp, ZonedDateTime, tz::TimeZone};

/// The source of "now" and "here".
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current instant.
    fn now(&self) -> Timestamp;
    /// The device's current time zone.
    fn time_zone(&self) -> TimeZone;
    /// The current instant in the device's zone.
    fn now_zoned(&self) -> ZonedDateTime {
        self.now().to_zoned_datetime(self.time_zone())
    }
}

/// Milliseconds since the Unix epoch, as the hybrid logical clock wants them.
pub(crate) fn unix_ms(clock: &dyn Clock) -> u64 {
    u64::try_from(clock.now().as_millisecond()).unwrap_or(0)
}

/// The real clock and the system's zone. Only the CLI and the apps construct it.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
    fn time_zone(&self) -> TimeZone {
        TimeZone::system()
    }
}

/// A clock that always says the same instant and zone.
#[derive(Debug, Clone)]
pub struct FixedClock {
    now: Timestamp,
    zone: TimeZone,
}

impl FixedClock {
    /// A clock stopped at `now` in `zone`.
    pub fn new(now: Timestamp, zone: TimeZone) -> Self {
        Self { now, zone }
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.now
    }
    fn time_zone(&self) -> TimeZone {
        self.zone.clone()
    }
}

/// A clock tests move by hand: forwards, backwards, or into another zone.
#[derive(Debug, Clone)]
pub struct SteppableClock {
    state: Arc<Mutex<(Timestamp, TimeZone)>>,
}

impl SteppableClock {
    /// A clock at `now` in `zone`.
    pub fn new(now: Timestamp, zone: TimeZone) -> Self {
        Self {
            state: Arc::new(Mutex::new((now, zone))),
        }
    }
    /// Moves the clock by `by` (negative to go back, as a wall clock may after an NTP fix).
    pub fn advance(&self, by: SignedDuration) {
        let mut s = self.lock();
        s.0 = s.0.checked_add(by).expect("test clock moved out of range");
    }
    /// Sets the instant.
    pub fn set(&self, now: Timestamp) {
        self.lock().0 = now;
    }
    /// Moves the device into another zone (a flight).
    pub fn set_zone(&self, zone: TimeZone) {
        self.lock().1 = zone;
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, (Timestamp, TimeZone)> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Clock for SteppableClock {
    fn now(&self) -> Timestamp {
        self.lock().0
    }
    fn time_zone(&self) -> TimeZone {
        self.lock().1.clone()
    }
}
