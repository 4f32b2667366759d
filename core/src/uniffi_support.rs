//! How jiff's time types cross the FFI, declared once for every value record of the core.
//!
//! An instant is uniffi's builtin `SystemTime` (Kotlin `java.time.Instant`, Swift `Date`); a
//! calendar date is its ISO `YYYY-MM-DD` text, so a screen shows and sends it as it reads. Both
//! are remote types: the bindings crate uses these converters with `uniffi::use_remote_type!`.

use std::time::{SystemTime, UNIX_EPOCH};

use jiff::Timestamp;

use crate::error::Error;

uniffi::custom_type!(Timestamp, SystemTime, {
    remote,
    lower: |instant| system_time(instant),
    try_lift: |time| Ok(Timestamp::try_from(time)?),
});

/// `instant` as a `SystemTime`. It cannot overflow: jiff's years -9999 to 9999 lie well inside
/// the 64-bit seconds of `SystemTime` on every platform the apps run on.
fn system_time(instant: Timestamp) -> SystemTime {
    let since_epoch = instant.as_duration();
    if since_epoch.is_negative() {
        UNIX_EPOCH - since_epoch.unsigned_abs()
    } else {
        UNIX_EPOCH + since_epoch.unsigned_abs()
    }
}

/// A calendar date under a name of its own: Swift's `Date` is already the instant.
type LocalDate = jiff::civil::Date;

uniffi::custom_type!(LocalDate, String, {
    remote,
    lower: |date| date.to_string(),
    try_lift: |text| text
        .trim()
        .parse()
        .map_err(|_| Error::invalid("date", "expected a date such as 2026-03-08").into()),
});
