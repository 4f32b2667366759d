//! What the store holds, as data: each kind of synced record, its domain table and columns, and
//! the full-text index kept over some of them.
//!
//! The definitions belong to the features, and the composition root (`open.rs`) hands their
//! list to [`Store`](super::Store) when it opens; `record/` reads them to merge, index and dump
//! records. The store itself never names a feature.

use cairn_protocol::Scope;

use crate::error::{Error, Result};

/// A kind of synced record and the domain table that holds it.
///
/// The table has a unique `id TEXT`, one nullable column per field, named as the field, and a
/// `sync_state TEXT` column written only by `record/`.
#[derive(Debug)]
pub struct EntityDef {
    /// The entity's name on the wire, in the outbox and in tombstones.
    pub name: &'static str,
    /// The domain table.
    pub table: &'static str,
    /// The fields, which are also the table's column names. Append only: stored merge states
    /// refer to declared fields by position, so a field is never removed or moved.
    pub fields: &'static [&'static str],
    /// The full-text index kept over some of the fields, if any.
    pub search: Option<&'static SearchIndex>,
    /// The scope whose key seals its changes, and which a member must be granted to read it.
    pub scope: Scope,
}

/// A contentless FTS5 table (`content=''`, with `secure-delete` on) indexing some columns of an
/// entity's table under the same rowid. `record/` keeps it in step: once per transaction it
/// drops the entries of records that changed, with the text they were indexed with (so that
/// secure-delete removes their terms from the index, not only hides them), and indexes their
/// new text, so a batch of a thousand new records is one index insert, not a thousand small
/// index flushes.
///
/// The domain table needs a stable rowid (an `INTEGER PRIMARY KEY` column), so that `VACUUM`
/// cannot renumber rows under the index.
#[derive(Debug)]
pub struct SearchIndex {
    /// The FTS5 table.
    pub table: &'static str,
    /// The indexed columns, named as in both tables.
    pub columns: &'static [&'static str],
}

/// The entities a store holds: each feature's definitions, as the composition root lists them.
pub type Entities = &'static [&'static [&'static EntityDef]];

impl EntityDef {
    /// Whether `field` is one of the entity's declared fields.
    pub(crate) fn check_field(&self, field: &str) -> Result<()> {
        if self.fields.contains(&field) {
            Ok(())
        } else {
            Err(Error::invalid(
                "field",
                format!("{} has no field {field}", self.name),
            ))
        }
    }
}
