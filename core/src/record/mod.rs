//! The field-change log: the one write path for synced data.
//!
//! Every change is a [`FieldChange`] — `(entity, id, field, value, hlc, author)` — or a delete.
//! [`Writer`] issues local changes; [`Store::apply_remote`](crate::Store::apply_remote) applies changes from other devices.
//! Both merge through the batch (`batch.rs`), which in one SQLite transaction:
//!
//! 1. merges each field by last-writer-wins on the hybrid logical clock ([`crate::hlc::Hlc`]), and writes the winning values into the
//!    domain table's columns together with the row's `sync_state`: for every field, the hybrid
//!    logical time and author of the write that set it (`state.rs`, docs/adr/0005). The domain row is
//!    the one copy of a record's values, and one statement writes a record;
//! 2. for local changes, marks the changed fields of the record in `outbox` for sync to carry;
//! 3. at the end, brings the full-text index of each touched record up to date.
//!
//! Records of entities this build does not know (written by a newer version) keep their merged
//! state, values included, in `record_state`, so nothing is lost.
//!
//! Deletes are permanent tombstones: no edit, older or concurrent, brings a record back. A
//! deleted record keeps nothing but its tombstone: its merged state and domain row go, and a
//! change arriving after the delete is not stored, so what the patient deletes is erased from
//! the database on every replica. The result depends only on the set of changes applied, never
//! on their order or repetition.
//!
//! The outbox names changed fields, not values: a push reads their current merged state, so a
//! field written ten times before a push is sent once, with its latest value. Under per-field
//! last-writer-wins that converges exactly as sending every intermediate value would.
//!
//! # Layout
//!
//! - `change.rs`: [`FieldChange`], [`Op`] and the stable change id.
//! - `state.rs`: a record's merge state and its stored encoding (docs/adr/0005).
//! - `rows.rs`: reading a record's fields with their clocks; writing a domain row.
//! - `batch.rs`: one transaction's merge, outbox marks and full-text index upkeep.
//! - `writer.rs`: [`Writer`], local writes, which hand the entity's definition down.
//! - `sync.rs`: the half a sync engine attaches to: `apply_remote` (the only place that
//!   resolves entities by name), the [`Outbox`] and its acknowledgement.
//! - `dump.rs`: the canonical state dump replicas are compared with.
//! - `search.rs`: typed search text as a query of those indexes.

mod batch;
mod change;
mod dump;
mod rows;
mod search;
mod state;
mod sync;
mod writer;

pub use crate::store::{EntityDef, SearchIndex};
pub use change::{FieldChange, Op};
pub use search::match_expression;
pub use sync::Outbox;
pub use writer::Writer;

#[cfg(test)]
mod tests;
