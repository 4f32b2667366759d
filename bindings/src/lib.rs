//! The one uniffi library the iOS and Android apps load.
//!
//! # Layout
//!
//! - [`error`]: the flat [`CairnError`] the apps switch on, converted from the core's error.
//! - [`store`]: [`CairnStore`], the open encrypted store, and the [`KeyStore`] the app implements.
//! - [`timeline`], [`meds`], [`vault`]: each feature's methods on [`CairnStore`] and its records.
//!
//! Objects wrap core types and delegate; no logic lives here. Errors never panic across the FFI:
//! every exported function returns `Result<_, CairnError>`.

uniffi::setup_scaffolding!();

pub mod error;
pub mod meds;
pub mod store;
pub mod timeline;
pub mod vault;

pub use error::{CairnError, KeyStoreError};
pub use store::{CairnStore, KeyStore};
