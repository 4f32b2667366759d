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
    /// The platform key store failed.
    #[error("key store failed: {0}")]
    KeyStore(String),
    /// The platform's notification scheduler refused (notifications off, exact alarms not
    /// allowed); the stored plan was left as it was.
    #[error("the notification scheduler refused: {0}")]
    Scheduler(String),
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
        match e.sqlite_error_code() {
            // A page whose HMAC fails reads as corrupt: damaged or tampered, never silently used.
            Some(rusqlite::ErrorCode::DatabaseCorrupt) => Error::Corrupt("database pages".into()),
            _ => Error::Storage(e),
        }
    }
}
