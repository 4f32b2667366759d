//! The one flat error the apps switch on, converted from the core's error in one place.

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
    /// A bug in Cairn.
    #[error("{0}")]
    Internal(String),
}

impl From<cairn_core::Error> for CairnError {
    fn from(e: cairn_core::Error) -> Self {
        use cairn_core::Error as E;
        let message = e.to_string();
        match e {
            E::WrongKey => CairnError::WrongKey(message),
            E::Locked(_) => CairnError::Locked(message),
            E::NotFound { .. } => CairnError::NotFound(message),
            E::Invalid { .. } => CairnError::Invalid(message),
            E::Corrupt(_) => CairnError::Corrupt(message),
            E::Incomplete { .. } => CairnError::Incomplete(message),
            E::KeyStore(_) => CairnError::KeyStore(message),
            E::Scheduler(_) => CairnError::Scheduler(message),
            E::Storage(_) | E::Io(_) | E::Disk(_) => CairnError::Storage(message),
            _ => CairnError::Internal(message),
        }
    }
}

/// What the app's [`crate::KeyStore`] throws.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum KeyStoreError {
    /// The key store could not be used (locked device, user cancelled, hardware error).
    #[error("key store unavailable: {reason}")]
    Unavailable {
        /// The platform's reason.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for KeyStoreError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        KeyStoreError::Unavailable { reason: e.reason }
    }
}
