//! Cairn's core: everything the patient and caregiver apps show is computed here.
//!
//! # Layout
//!
//! - [`store`]: the SQLCipher database — keying (platform key store or Argon2id passphrase),
//!   pragmas, numbered migrations, key rotation.
//! - [`record`]: the field-change log, the one write path for synced data: hybrid logical clock,
//!   last-writer-wins merge, tombstones, the outbox, search-index upkeep, deterministic ids.
//! - [`profile`]: the patient's name and home time zone.
//! - [`timeline`]: the journey — events, symptoms, measurements, appointments; paged and searched.
//! - [`meds`]: medications, regimens, dose occurrences, dose log, adherence, notification plan.
//! - [`vault`]: documents — encrypted content files beside the database, metadata in it.
//! - [`clock`]: injected time; nothing else reads the system clock or zone.
//! - [`error`]: the one [`Error`] type and [`Result`] alias.
//! - `fuzzing` (feature `fuzzing`): the entry points of the fuzz targets in `fuzz/`.

#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!();

pub mod clock;
pub mod error;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod meds;
pub mod profile;
pub mod record;
pub mod store;
pub mod timeline;
pub mod vault;

pub use clock::{Clock, FixedClock, SteppableClock, SystemClock};
pub use error::{Error, Result};
pub use profile::Profile;
pub use store::{Store, StoreStatus, Unlock};
