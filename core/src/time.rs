//! Checked conversions of time as callers pass it: IANA zone names and epoch milliseconds.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::error::{Error, Result};

/// Checks an IANA time zone name against the bundled time zone database.
pub fn check_time_zone(field: &'static str, name: &str) -> Result<TimeZone> {
    TimeZone::get(name).map_err(|_| Error::invalid(field, "not a known IANA time zone"))
}

/// The instant `ms` milliseconds after the Unix epoch; out of range is [`Error::Invalid`] for
/// `field`. For callers that carry instants as epoch milliseconds (the FFI, QA).
pub fn instant_from_ms(field: &'static str, ms: i64) -> Result<Timestamp> {
    Timestamp::from_millisecond(ms).map_err(|_| Error::invalid(field, "out of range"))
}
