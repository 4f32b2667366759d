//! Local writes.

use rusqlite::Transaction;
use serde_json::Value;

use super::batch::{Batch, erase_wal, field_mask};
use super::rows::Write;
use crate::error::Result;
use crate::hlc::Hlc;
use crate::store::{EntityDef, Store, meta_set};

/// Whether a write may find its record already there.
#[derive(Clone, Copy)]
enum Record {
    /// The id was just made: nothing can be there, and an existing row is an error.
    New,
    /// The record may exist; its fields merge with what is there.
    MayExist,
}

/// Local writes in one transaction. Nothing is visible until [`Writer::commit`]; dropping the
/// writer rolls everything back. The full-text index catches up at commit.
pub struct Writer<'s> {
    store: &'s Store,
    tx: Transaction<'s>,
    hlc: Hlc,
    batch: Batch,
}

impl std::fmt::Debug for Writer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

impl<'s> Writer<'s> {
    /// The transaction, for domain modules' reads and checks inside the write.
    pub fn tx(&self) -> &Transaction<'s> {
        &self.tx
    }

    pub(super) fn next_hlc(&mut self) -> Hlc {
        self.hlc = self
            .hlc
            .tick(crate::clock::unix_ms(self.store.clock().as_ref()));
        self.hlc.clone()
    }

    /// Sets `field` of record `id` to `value`.
    pub fn set(
        &mut self,
        def: &'static EntityDef,
        id: &str,
        field: &str,
        value: impl Into<Value>,
    ) -> Result<()> {
        self.set_all(def, id, [(field, value.into())])
    }

    /// Sets several fields of one record as one write: one change per field, all at the same
    /// hybrid logical time (a field named twice keeps its last value). The domain row is written
    /// with one statement, and a new record is one INSERT.
    pub fn set_all<'f>(
        &mut self,
        def: &'static EntityDef,
        id: &str,
        fields: impl IntoIterator<Item = (&'f str, Value)>,
    ) -> Result<()> {
        self.write(def, id, fields, Record::MayExist)
    }

    /// Creates record `id` with `fields`, like [`Writer::set_all`] on an id that is certain
    /// to be new because it was just made ([`crate::ids::new_id`], a timeline event id): the write skips
    /// looking for a record that cannot be there. An id that exists is an error, not an
    /// overwrite.
    pub fn create<'f>(
        &mut self,
        def: &'static EntityDef,
        id: &str,
        fields: impl IntoIterator<Item = (&'f str, Value)>,
    ) -> Result<()> {
        self.write(def, id, fields, Record::New)
    }

    /// One local write of several fields of one record, at one hybrid logical time, marked for
    /// the outbox.
    fn write<'f>(
        &mut self,
        def: &'static EntityDef,
        id: &str,
        fields: impl IntoIterator<Item = (&'f str, Value)>,
        record: Record,
    ) -> Result<()> {
        let values = declared(def, fields)?;
        if values.is_empty() {
            return Ok(());
        }
        let hlc = self.next_hlc().to_string();
        let author = self.store.account_id();
        let mask = field_mask(def, values.iter().map(|(f, _)| *f));
        match record {
            Record::New => self.batch.create(&self.tx, def, id, &hlc, author, values)?,
            Record::MayExist => {
                let writes = values
                    .into_iter()
                    .map(|(field, value)| Write {
                        field,
                        value,
                        hlc: &hlc,
                        author,
                    })
                    .collect();
                self.batch
                    .merge(&self.tx, Some(def), def.name, id, writes)?;
            }
        }
        self.batch.note_local(def, id, Some(mask));
        Ok(())
    }

    /// Deletes record `id` for good.
    pub fn delete(&mut self, def: &'static EntityDef, id: &str) -> Result<()> {
        let hlc = self.next_hlc().to_string();
        self.batch.delete(
            &self.tx,
            Some(def),
            def.name,
            id,
            &hlc,
            self.store.account_id(),
        )?;
        self.batch.note_local(def, id, None);
        Ok(())
    }

    /// Commits the data, the outbox entries, the search index and the clock together.
    pub fn commit(self) -> Result<()> {
        let deleted = self.batch.finish(&self.tx)?;
        meta_set(&self.tx, "hlc", &self.hlc.to_string())?;
        self.tx.commit()?;
        self.store.set_last_hlc(self.hlc);
        if deleted {
            erase_wal(self.store.conn())?;
        }
        Ok(())
    }
}

impl Store {
    /// Starts a local write.
    pub fn writer(&self) -> Result<Writer<'_>> {
        let tx = self.conn().unchecked_transaction()?;
        Ok(Writer {
            store: self,
            tx,
            hlc: self.last_hlc(),
            batch: Batch::default(),
        })
    }
}

/// `fields` checked against `def` and named as `def` spells them; a field named twice keeps its
/// last value.
pub(super) fn declared<'f>(
    def: &EntityDef,
    fields: impl IntoIterator<Item = (&'f str, Value)>,
) -> Result<Vec<(&'static str, Value)>> {
    let mut values: Vec<(&'static str, Value)> = Vec::new();
    for (field, value) in fields {
        def.check_field(field)?;
        let field = def
            .fields
            .iter()
            .copied()
            .find(|f| *f == field)
            .expect("checked above");
        values.retain(|(f, _)| *f != field);
        values.push((field, value));
    }
    Ok(values)
}
