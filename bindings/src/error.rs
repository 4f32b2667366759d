//! The errors the apps switch on: the core's flat [`CairnError`], and what their key store throws.

/// What went wrong, as the apps see it; declared in the core beside the converters of its
/// values, so a value that does not lift is the same typed error as any other bad input.
pub use cairn_core::uniffi_support::CairnError;

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
