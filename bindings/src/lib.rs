//! The one uniffi library the iOS and Android apps load.
//!
//! # Layout
//!
//! - [`error`]: the flat [`CairnError`] the apps switch on, converted from the core's error.
//! - [`store`]: [`CairnStore`], the open encrypted store, and what the app implements for it:
//!   the [`KeyStore`] and the [`Clock`].
//! - [`sync`]: the account, linking devices, `sync_now` and the [`sync::SyncObserver`].
//! - [`timeline`], [`meds`], [`vault`]: each feature's methods on [`CairnStore`]; the values
//!   they take and return are the core's own records.
//!
//! Objects wrap core types and delegate; no logic lives here. Errors never panic across the FFI:
//! every exported function returns `Result<_, CairnError>`.

uniffi::setup_scaffolding!();

// Instants and dates cross as the core declares them (`cairn_core`'s `uniffi_support`): the
// platform's instant type, and ISO `YYYY-MM-DD` text.
uniffi::use_remote_type!(cairn_core::jiff::Timestamp);
uniffi::use_remote_type!(cairn_core::jiff::civil::Date);

pub mod error;
pub mod meds;
pub mod store;
pub mod sync;
pub mod timeline;
pub mod vault;

pub use error::{CairnError, KeyStoreError};
pub use store::{CairnStore, Clock, KeyStore};
