//! The one error type of the core.
//!
//! Messages name what went wrong and which field, never patient data: error text ends up in logs,
//! crash reports and support tickets.

/// Everything the core can fail with. Each variant is something a caller can act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The key or passphrase does not open this database. The files were not changed.
    #[error("the key or passphrase does not open this store")]
    WrongKey,
    /// The store is closed or no key is available to open it.
    #[error("the store is locked: {0}")]
    Locked(&'static str),
    /// The thing asked for does not exist (or was deleted).
    #[error("{entity} not found")]
    NotFound {
        /// What kind of thing was looked up.
        entity: &'static str,
    },
    /// Input that cannot be accepted; `field` names the input, `reason` says why.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The name of the offending input field.
        field: &'static str,
        /// Why it was rejected, without echoing the value.
        reason: String,
    },
    /// Data on disk is damaged or was tampered with.
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// A store was here, but a part it cannot be opened without is missing or empty (the
    /// database beside its key file or documents, say). Nothing was changed or removed: the
    /// part can still be restored from a backup.
    #[error(
        "the store in this directory is incomplete: {missing}; nothing was changed or removed \
         (restore it from a backup, or start fresh in another directory)"
    )]
    Incomplete {
        /// What is missing, and what was found instead.
        missing: String,
    },
    /// The platform key store failed.
    #[error("key store failed: {0}")]
    KeyStore(String),
    /// The disk or file system would not let the store work: full, read-only, unreadable. The
    /// message says which; the last change was not saved and nothing else was changed.
    #[error("{0}")]
    Disk(&'static str),
    /// The platform's notification scheduler refused (notifications off, exact alarms not
    /// allowed); the stored plan was left as it was.
    #[error("the notification scheduler refused: {0}")]
    Scheduler(String),
    /// The relay could not be reached, timed out or failed; nothing was lost, and the next
    /// sync tries again.
    #[error("the relay could not be reached: {0}")]
    Network(String),
    /// The relay refused this device: unknown, revoked, or not a member of the space.
    #[error("the relay refused: {0}")]
    Denied(String),
    /// The relay holds something else where this device expected its own data (another
    /// device's link, a newer ledger entry); the message says what.
    #[error("conflict: {0}")]
    Conflict(String),
    /// What the relay (or anything between) sent does not verify: a forged, moved, replayed,
    /// withheld or rolled-back batch, ledger entry or key. Nothing of it was applied.
    #[error("refused what the relay sent: {0}")]
    Tampered(String),
    /// A clock is too far off to sync safely: this device's (set it right), or another device's
    /// whose changes are stamped in the future (they wait until it is set right).
    #[error("{0}")]
    Clock(String),
    /// The operation was cancelled; what was done so far is kept and consistent.
    #[error("cancelled")]
    Cancelled,
    /// The database reported an error.
    #[error("storage error: {0}")]
    Storage(rusqlite::Error),
    /// A file system error.
    #[error("file error: {0}")]
    Io(#[from] std::io::Error),
}

/// The core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Error::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode as C;
        match e.sqlite_error_code() {
            // A page whose HMAC fails reads as corrupt: damaged or tampered, never silently used.
            Some(C::DatabaseCorrupt) => Error::Corrupt("database pages".into()),
            Some(C::DiskFull) => Error::Disk(
                "the disk is full: free some space and try again (the last change was not saved)",
            ),
            Some(C::ReadOnly) => Error::Disk("the store's directory or files are read-only"),
            // SQLite cannot open the database, or create its -wal and -shm beside it.
            Some(C::CannotOpen) => Error::Disk(
                "the database cannot be opened: its directory is read-only or not accessible",
            ),
            Some(C::SystemIoFailure) => Error::Disk(
                "a disk read or write failed (the disk may be full or failing); the last change \
                 was not saved",
            ),
            _ => Error::Storage(e),
        }
    }
}
