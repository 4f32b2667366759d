//! What the core's values need to cross the FFI: how jiff's time types cross, declared once for
//! every value record, and the one flat error the apps switch on.
//!
//! An instant is uniffi's builtin `SystemTime` (Kotlin `java.time.Instant`, Swift `Date`); a
//! calendar date is its ISO `YYYY-MM-DD` text, so a screen shows and sends it as it reads. Both
//! are remote types: the bindings crate uses these converters with `uniffi::use_remote_type!`.
//!
//! [`CairnError`] lives here, beside the converters, because a value that does not lift (an
//! instant beyond the calendar, a date that is not one) must reach the app as the same typed
//! `Invalid` error as any other bad input: uniffi hands a failed lift to the caller as the
//! function's own error type only when the converter failed with exactly that type.

use std::time::{SystemTime, UNIX_EPOCH};

use jiff::Timestamp;

use crate::error::Error;

uniffi::custom_type!(Timestamp, SystemTime, {
    remote,
    lower: |instant| system_time(instant),
    try_lift: |time| Timestamp::try_from(time).map_err(|_| invalid(Error::invalid(
        "instant",
        "outside the calendar Cairn keeps (years -9999 to 9999)",
    ))),
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
        .map_err(|_| invalid(Error::invalid("date", "expected a date such as 2026-03-08"))),
});

/// A failed lift as the apps' typed error.
fn invalid(error: Error) -> uniffi::deps::anyhow::Error {
    CairnError::from(error).into()
}

/// What went wrong, as the apps see it. The message is readable text without patient data.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum CairnError {
    /// The key or passphrase does not open the store; nothing was changed.
    #[error("{0}")]
    WrongKey(String),
    /// The store is closed, or no key is available.
    #[error("{0}")]
    Locked(String),
    /// The thing asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Input was rejected; the message names the field and the reason.
    #[error("{0}")]
    Invalid(String),
    /// The member's role or scopes do not allow this.
    #[error("{0}")]
    PermissionDenied(String),
    /// The server could not be reached or answered badly.
    #[error("{0}")]
    Network(String),
    /// A concurrent change got there first.
    #[error("{0}")]
    Conflict(String),
    /// Data on disk is damaged or was tampered with.
    #[error("{0}")]
    Corrupt(String),
    /// Part of the store (its database) is missing beside the rest; nothing was changed. The
    /// app offers to restore it from a backup.
    #[error("{0}")]
    Incomplete(String),
    /// The database or file system failed.
    #[error("{0}")]
    Storage(String),
    /// The app's key store failed.
    #[error("{0}")]
    KeyStore(String),
    /// The app's notification scheduler refused; the last plan was left as it was.
    #[error("{0}")]
    Scheduler(String),
    /// What the relay sent does not verify (forged, replayed, withheld, rolled back); nothing
    /// of it was applied. The app says sync is stopped for safety, not a network hiccup.
    #[error("{0}")]
    Tampered(String),
    /// A clock is too far off to sync: this device's, or another device's (the message says
    /// which).
    #[error("{0}")]
    Clock(String),
    /// The operation was cancelled; what was done so far is kept.
    #[error("{0}")]
    Cancelled(String),
    /// A bug in Cairn.
    #[error("{0}")]
    Internal(String),
}

/// Every core error has its kind here: a new one is a decision, not a silent `Internal`.
impl From<Error> for CairnError {
    fn from(e: Error) -> Self {
        let message = e.to_string();
        match e {
            Error::WrongKey => CairnError::WrongKey(message),
            Error::Locked(_) => CairnError::Locked(message),
            Error::NotFound { .. } => CairnError::NotFound(message),
            Error::Invalid { .. } => CairnError::Invalid(message),
            Error::Corrupt(_) => CairnError::Corrupt(message),
            Error::Incomplete { .. } => CairnError::Incomplete(message),
            Error::KeyStore(_) => CairnError::KeyStore(message),
            Error::Scheduler(_) => CairnError::Scheduler(message),
            Error::Storage(_) | Error::Io(_) | Error::Disk(_) => CairnError::Storage(message),
            Error::Network(_) => CairnError::Network(message),
            Error::Denied(_) => CairnError::PermissionDenied(message),
            Error::Conflict(_) => CairnError::Conflict(message),
            Error::Tampered(_) => CairnError::Tampered(message),
            Error::Clock(_) => CairnError::Clock(message),
            Error::Cancelled => CairnError::Cancelled(message),
        }
    }
}
