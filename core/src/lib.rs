//! Cairn's core: everything the patient and caregiver apps show is computed here.
//!
//! # Layout
//!
//! The modules stand in floors, from the ground up; a module imports only from lower floors
//! (`tests/floors.rs` checks it).
//!
//! 1. [`error`]: the one [`Error`] type and [`Result`] alias.
//! 2. The ground: [`clock`] (injected time; nothing else reads the system clock or zone),
//!    [`crypto`] (the keys of sync: account and device keys, scope-key wraps, sealed
//!    envelopes, the recovery kit), [`hlc`] (the hybrid logical clock), [`ids`] (random and
//!    derived record ids), [`text`] (what people type: trimmed, bounded, never quoted in an
//!    error), [`time`] (checked zone names and epoch milliseconds), and
//!    `uniffi_support` (feature `uniffi`: how instants and dates cross the FFI, as the
//!    platform's instant type and ISO `YYYY-MM-DD` text).
//! 3. [`store`]: the SQLCipher database — keying (platform key store or Argon2id passphrase),
//!    what a store directory holds, pragmas, numbered migrations, key rotation, the page check —
//!    and the entity definitions it is handed as data.
//! 4. [`record`]: the field-change log, the one write path for synced data: last-writer-wins
//!    merge, tombstones, the outbox, search-index upkeep.
//! 5. The features, which do not import one another: [`profile`] (the patient's name and home
//!    zone), [`timeline`] (events, symptoms, measurements, appointments; paged and searched),
//!    [`meds`] (medications, regimens, doses, adherence, the notification plan), [`vault`]
//!    (documents: encrypted content files beside the database, metadata in it). Each adds its
//!    operations to [`Store`] in its own `impl Store` blocks.
//! 6. [`sync`]: the engine that converges a space's devices through a relay it does not trust:
//!    identity, ledger, sealing and checking batches, `sync_now`, linking devices.
//! 7. `open`, the composition root: the list of every feature's entities, handed to the store
//!    as it opens ([`Store::open`], [`Store::create`]), the steps after opening (vault
//!    recovery), and the vault's half of [`Store::check`].
//! 8. `fuzzing` (feature `fuzzing`): the entry points of the fuzz targets in `fuzz/`.

#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!();

pub mod clock;
pub mod crypto;
pub mod error;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod hlc;
pub mod ids;
pub mod meds;
mod open;
pub mod profile;
pub mod record;
pub mod store;
pub mod sync;
pub mod text;
pub mod time;
pub mod timeline;
#[cfg(feature = "uniffi")]
pub mod uniffi_support;
pub mod vault;

pub use clock::{Clock, FixedClock, SteppableClock, SystemClock};
pub use error::{Error, Result};
pub use profile::Profile;
pub use store::{Store, StoreStatus, Unlock};
