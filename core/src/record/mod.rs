//! The field-change log: the one write path for synced data.
//!
//! Every change is a [`FieldChange`] — `(entity, id, field, value, hlc, author)` — or a delete.
//! [`Writer`] issues local changes; [`Store::apply_remote`] applies changes from other devices.
//! Both merge through [`Batch`], which in one SQLite transaction:
//!
//! 1. keeps the merged state of each record in `record_state`: one row per record holding, for
//!    every field, the winning value and the hybrid logical time and author that wrote it
//!    (last writer wins per field, by [`Hlc`]);
//! 2. writes the winning values into the domain table's columns (domain tables are projections);
//! 3. for local changes, marks the changed fields of the record in `outbox` for sync to carry;
//! 4. at the end, brings the full-text index of each touched record up to date.
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

pub mod hlc;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::store::{Store, meta_set};
pub use hlc::{DeviceId, Hlc};

/// A kind of synced record and the domain table that projects it.
///
/// The table has an `id TEXT PRIMARY KEY` and one nullable column per field, named as the field.
#[derive(Debug)]
pub struct EntityDef {
    /// The entity's name on the wire and in `field_state`.
    pub name: &'static str,
    /// The domain table.
    pub table: &'static str,
    /// The fields, which are also the table's column names.
    pub fields: &'static [&'static str],
    /// The full-text index kept over some of the fields, if any.
    pub search: Option<&'static SearchIndex>,
}

/// A contentless FTS5 table (`content=''`, `contentless_delete=1`) indexing some columns of an
/// entity's table under the same rowid. [`Batch`] keeps it in step: once per transaction it
/// drops the entries of records that changed and indexes their new text, so a batch of a
/// thousand new records is one index insert, not a thousand small index flushes.
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

impl EntityDef {
    fn check_field(&self, field: &str) -> Result<()> {
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

/// Every entity the store knows. Changes for an entity not listed here (written by a newer
/// version) are kept in `field_state`, so nothing is lost, but project into no table.
fn entities() -> impl Iterator<Item = &'static EntityDef> {
    [
        crate::profile::ENTITIES,
        crate::timeline::ENTITIES,
        crate::meds::ENTITIES,
        crate::vault::ENTITIES,
    ]
    .into_iter()
    .flatten()
    .copied()
}

fn entity(name: &str) -> Option<&'static EntityDef> {
    entities().find(|e| e.name == name)
}

/// What a change does to its record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Sets one field.
    Set {
        /// The field's name.
        field: String,
        /// The new value.
        value: Value,
    },
    /// Deletes the whole record, for good.
    Delete,
}

/// One change to one record, as written locally and as carried by sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// The entity kind.
    pub entity: String,
    /// The record's id.
    pub id: String,
    /// What the change does.
    #[serde(flatten)]
    pub op: Op,
    /// When, in hybrid logical time; also names the writing device.
    pub hlc: String,
    /// The account that wrote it.
    pub author: String,
}

impl FieldChange {
    /// A stable id for the change: the same change always has the same id, so pushes and
    /// pulls are idempotent.
    ///
    /// It starts with the change's hybrid logical time (milliseconds and counter, in hex) and
    /// ends with a hash of what it changes: ids of successive changes sort in order, so an index
    /// of them grows at its right edge instead of at a random page per change.
    pub fn change_id(&self) -> String {
        let field = match &self.op {
            Op::Set { field, .. } => field.as_str(),
            Op::Delete => "",
        };
        change_id(&self.entity, &self.id, field, &self.hlc)
    }
}

fn change_id(entity: &str, id: &str, field: &str, hlc: &str) -> String {
    let hash = deterministic_id("change", &[entity, id, field, hlc]);
    match Hlc::parse(hlc) {
        Ok(hlc) => format!(
            "{:012x}{:08x}-{}",
            hlc.millis,
            hlc.counter,
            &hash.replace('-', "")[..16]
        ),
        Err(_) => hash,
    }
}

/// A new random record id (UUID v4 text form).
pub fn new_id() -> String {
    let mut bytes = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    uuid_text(&bytes)
}

/// An id derived from what a record *is*, so two people creating it for the same real thing
/// (a dose of a medication at its scheduled time) create the same record and merge.
///
/// `kind` separates id spaces; `parts` are length-prefixed so `["ab","c"]` and `["a","bc"]`
/// differ.
pub fn deterministic_id(kind: &str, parts: &[&str]) -> String {
    let mut hasher = blake3::Hasher::new_derive_key("cairn deterministic id v1");
    hasher.update(&(kind.len() as u64).to_le_bytes());
    hasher.update(kind.as_bytes());
    for part in parts {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    let hash = hasher.finalize();
    let mut bytes: [u8; 16] = hash.as_bytes()[..16].try_into().expect("16 of 32 bytes");
    // Marked as a version 8 (custom) UUID so it never collides with a random v4 id.
    bytes[6] = (bytes[6] & 0x0f) | 0x80;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    uuid_text(&bytes)
}

fn uuid_text(b: &[u8; 16]) -> String {
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The merged state of one record: every field's winning value, with the time and author of
/// the write that set it.
///
/// Stored as JSON, `{"c": [[hlc, author], ...], "f": {field: [value, i]}}` where `i` indexes
/// `c`: fields written together share one clock entry, so a new record of a dozen fields
/// stores its 90-byte time and author once. Entries no field refers to any more are dropped
/// before the state is written.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
struct RecordState {
    c: Vec<(String, String)>,
    f: BTreeMap<String, (Value, usize)>,
}

impl RecordState {
    fn parse(text: &str) -> Result<Self> {
        let corrupt = || Error::Corrupt("merged record state".into());
        let state: Self = serde_json::from_str(text).map_err(|_| corrupt())?;
        if state.f.values().any(|(_, i)| *i >= state.c.len()) {
            return Err(corrupt());
        }
        Ok(state)
    }

    fn compact_text(&mut self) -> String {
        let mut used = vec![false; self.c.len()];
        for (_, i) in self.f.values() {
            used[*i] = true;
        }
        if used.iter().any(|u| !u) {
            let mut renumber = vec![0; self.c.len()];
            let mut kept = Vec::new();
            for (i, clock) in std::mem::take(&mut self.c).into_iter().enumerate() {
                if used[i] {
                    renumber[i] = kept.len();
                    kept.push(clock);
                }
            }
            self.c = kept;
            for (_, i) in self.f.values_mut() {
                *i = renumber[*i];
            }
        }
        serde_json::to_string(self).expect("record state serialises")
    }

    /// The winning write of `field`: its value, time and author.
    fn get(&self, field: &str) -> Option<(&Value, &str, &str)> {
        let (value, i) = self.f.get(field)?;
        let (hlc, author) = &self.c[*i];
        Some((value, hlc, author))
    }

    /// The index of clock entry (`hlc`, `author`), added if new.
    fn clock(&mut self, hlc: &str, author: &str) -> usize {
        match self.c.iter().position(|(h, a)| h == hlc && a == author) {
            Some(i) => i,
            None => {
                self.c.push((hlc.to_owned(), author.to_owned()));
                self.c.len() - 1
            }
        }
    }

    /// Offers a write of `field` at clock entry `clock`; keeps it if it is newer than the stored
    /// one and says whether. Text order of HLCs is timestamp order.
    fn offer(&mut self, field: &str, value: Value, clock: usize) -> bool {
        let newer = match self.f.get(field) {
            Some((_, current)) => self.c[clock].0 > self.c[*current].0,
            None => true,
        };
        if newer {
            self.f.insert(field.to_owned(), (value, clock));
        }
        newer
    }
}

/// One write of one field, as merged by [`Batch::merge`].
struct Write<'a> {
    field: &'a str,
    value: Value,
    hlc: &'a str,
    author: &'a str,
}

/// A JSON value bound as an SQL value: null, integer, real or text (arrays and objects as
/// canonical JSON text), without copying strings.
struct SqlValue<'a>(&'a Value);

impl rusqlite::ToSql for SqlValue<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, Value as Sql, ValueRef};
        Ok(match self.0 {
            Value::Null => ToSqlOutput::Owned(Sql::Null),
            Value::Bool(b) => ToSqlOutput::Owned(Sql::Integer(i64::from(*b))),
            Value::Number(n) => match n.as_i64() {
                Some(i) => ToSqlOutput::Owned(Sql::Integer(i)),
                None => ToSqlOutput::Owned(Sql::Real(n.as_f64().unwrap_or(f64::NAN))),
            },
            Value::String(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            other => ToSqlOutput::Owned(Sql::Text(canonical_json(other))),
        })
    }
}

/// What one transaction has touched, for the work done once at its end: outbox entries and the
/// full-text index.
#[derive(Default)]
struct Batch {
    /// Local changes per record, in the order records were first touched: the changed fields,
    /// or `None` once the record is deleted.
    outbox: Vec<(String, String, Option<BTreeSet<String>>)>,
    outbox_index: HashMap<(String, String), usize>,
    /// Records of searchable entities touched, once each.
    searched: Vec<(&'static EntityDef, String)>,
    searched_seen: HashSet<(&'static str, String)>,
    /// Index entries to drop: rows that were indexed before this transaction changed them.
    stale: Vec<(&'static SearchIndex, i64)>,
    /// The upsert of each (table, set of columns) written, by column bitmask.
    upserts: HashMap<(&'static str, u64), String>,
}

impl Batch {
    /// Loads a record's merged state; the first time a searchable record is touched, notes its
    /// index entry (if it has one) as stale.
    fn load(
        &mut self,
        tx: &Connection,
        entity: &str,
        def: Option<&'static EntityDef>,
        id: &str,
    ) -> Result<Option<RecordState>> {
        let text: Option<String> = tx
            .prepare_cached("SELECT state FROM record_state WHERE entity = ?1 AND id = ?2")?
            .query_row([entity, id], |r| r.get(0))
            .optional()?;
        let state = text.as_deref().map(RecordState::parse).transpose()?;
        if let Some(def) = def
            && let Some(search) = def.search
            && self.searched_seen.insert((def.name, id.to_owned()))
        {
            self.searched.push((def, id.to_owned()));
            // A record without merged state has no row yet, so no index entry.
            if state.is_some() {
                let rowid: Option<i64> = tx
                    .prepare_cached(&format!("SELECT rowid FROM {} WHERE id = ?1", def.table))?
                    .query_row([id], |r| r.get(0))
                    .optional()?;
                if let Some(rowid) = rowid {
                    self.stale.push((search, rowid));
                }
            }
        }
        Ok(state)
    }

    fn save(tx: &Connection, entity: &str, id: &str, state: &mut RecordState) -> Result<()> {
        tx.prepare_cached(
            "INSERT INTO record_state(entity, id, state) VALUES (?1, ?2, ?3)
             ON CONFLICT(entity, id) DO UPDATE SET state = excluded.state",
        )?
        .execute(params![entity, id, state.compact_text()])?;
        Ok(())
    }

    fn note_local(&mut self, entity: &str, id: &str, fields: Option<&[&str]>) {
        let key = (entity.to_owned(), id.to_owned());
        let i = *self.outbox_index.entry(key).or_insert_with(|| {
            self.outbox
                .push((entity.to_owned(), id.to_owned(), Some(BTreeSet::new())));
            self.outbox.len() - 1
        });
        let entry = &mut self.outbox[i].2;
        match fields {
            None => *entry = None,
            Some(fields) => {
                if let Some(set) = entry {
                    set.extend(fields.iter().map(|f| (*f).to_owned()));
                }
            }
        }
    }

    /// The work done once per transaction, just before it commits.
    fn finish(self, tx: &Connection) -> Result<()> {
        for (entity, id, fields) in &self.outbox {
            let fields = fields
                .as_ref()
                .map(|f| serde_json::to_string(f).expect("field names serialise"));
            tx.prepare_cached("INSERT INTO outbox(entity, id, fields) VALUES (?1, ?2, ?3)")?
                .execute(params![entity, id, fields])?;
        }
        // One statement per index and kind of work: FTS5 then gathers every entry of the
        // transaction in memory and writes them as one segment at commit.
        let mut stale: HashMap<&'static str, Vec<i64>> = HashMap::new();
        for (search, rowid) in &self.stale {
            stale.entry(search.table).or_default().push(*rowid);
        }
        for (table, rowids) in stale {
            tx.execute(
                &format!("DELETE FROM {table} WHERE rowid IN (SELECT value FROM json_each(?1))"),
                [serde_json::to_string(&rowids).expect("rowids serialise")],
            )?;
        }
        let mut touched: Vec<(&'static EntityDef, Vec<&str>)> = Vec::new();
        for (def, id) in &self.searched {
            match touched.iter_mut().find(|(d, _)| std::ptr::eq(*d, *def)) {
                Some((_, ids)) => ids.push(id),
                None => touched.push((def, vec![id])),
            }
        }
        for (def, ids) in touched {
            let search = def.search.expect("only searchable entities are noted");
            let columns = search.columns.join(", ");
            tx.execute(
                &format!(
                    "INSERT INTO {fts}(rowid, {columns}) SELECT rowid, {columns} FROM {table}
                     WHERE id IN (SELECT value FROM json_each(?1))",
                    fts = search.table,
                    table = def.table,
                ),
                [serde_json::to_string(&ids).expect("ids serialise")],
            )?;
        }
        Ok(())
    }

    /// Applies a delete by last-writer-wins between tombstones; returns whether it changed
    /// anything. The merged state and the domain row go with the first tombstone.
    fn delete(
        &mut self,
        tx: &Connection,
        entity: &str,
        id: &str,
        hlc: &str,
        author: &str,
    ) -> Result<bool> {
        let def = self::entity(entity);
        self.load(tx, entity, def, id)?;
        // Concurrent deletes keep the latest tombstone so every replica stores the same row: the
        // upsert only replaces an older tombstone.
        let won = tx
            .prepare_cached(
                "INSERT INTO tombstones(entity, id, hlc, author) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(entity, id) DO UPDATE SET hlc = excluded.hlc, author = excluded.author
                 WHERE excluded.hlc > tombstones.hlc",
            )?
            .execute(params![entity, id, hlc, author])?
            > 0;
        if won {
            tx.prepare_cached("DELETE FROM record_state WHERE entity = ?1 AND id = ?2")?
                .execute([entity, id])?;
            if let Some(def) = def {
                tx.prepare_cached(&format!("DELETE FROM {} WHERE id = ?1", def.table))?
                    .execute([id])?;
            }
        }
        Ok(won)
    }

    /// The statement that writes `fields` of a record into `def`'s table.
    fn upsert_sql(&mut self, def: &'static EntityDef, fields: &[(&str, &Value)]) -> &str {
        let mask = fields.iter().fold(0u64, |m, (f, _)| {
            let i = def.fields.iter().position(|d| d == f).unwrap_or(63);
            m | 1 << i.min(63)
        });
        self.upserts
            .entry((def.table, mask))
            .or_insert_with(|| upsert_sql(def, fields))
    }

    /// Merges writes of several fields of one record; returns how many won. Winning fields of a
    /// known entity are written to its table in one statement. Writes to a deleted record are
    /// dropped.
    fn merge(
        &mut self,
        tx: &Connection,
        entity: &str,
        id: &str,
        writes: Vec<Write<'_>>,
    ) -> Result<usize> {
        if tombstoned(tx, entity, id)? {
            return Ok(0);
        }
        let def = self::entity(entity);
        let mut state = self.load(tx, entity, def, id)?.unwrap_or_default();
        let mut won: Vec<&str> = Vec::new();
        let mut count = 0;
        for w in writes {
            let clock = state.clock(w.hlc, w.author);
            if state.offer(w.field, w.value, clock) {
                count += 1;
                if !won.contains(&w.field) {
                    won.push(w.field);
                }
            }
        }
        if count == 0 {
            return Ok(0);
        }
        if let Some(def) = def {
            // In declaration order: the cached statement for a set of columns binds them so.
            let known: Vec<(&str, &Value)> = def
                .fields
                .iter()
                .filter(|f| won.contains(f))
                .filter_map(|f| state.f.get(*f).map(|(v, _)| (*f, v)))
                .collect();
            let sql = self.upsert_sql(def, &known);
            project(tx, sql, id, &known)?;
        }
        Self::save(tx, entity, id, &mut state)?;
        Ok(count)
    }
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

    fn next_hlc(&mut self) -> Hlc {
        self.hlc = self
            .hlc
            .tick(crate::clock::unix_ms(self.store.clock.as_ref()));
        self.hlc.clone()
    }

    /// Sets `field` of record `id` to `value`.
    pub fn set(
        &mut self,
        def: &EntityDef,
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
        def: &EntityDef,
        id: &str,
        fields: impl IntoIterator<Item = (&'f str, Value)>,
    ) -> Result<()> {
        let mut values: Vec<(&'f str, Value)> = Vec::new();
        for (field, value) in fields {
            def.check_field(field)?;
            values.retain(|(f, _)| *f != field);
            values.push((field, value));
        }
        if values.is_empty() {
            return Ok(());
        }
        let hlc = self.next_hlc().to_string();
        let store = self.store;
        let names: Vec<&str> = values.iter().map(|(f, _)| *f).collect();
        let writes = values
            .into_iter()
            .map(|(field, value)| Write {
                field,
                value,
                hlc: &hlc,
                author: &store.account,
            })
            .collect();
        self.batch.merge(&self.tx, def.name, id, writes)?;
        self.batch.note_local(def.name, id, Some(&names));
        Ok(())
    }

    /// Deletes record `id` for good.
    pub fn delete(&mut self, def: &EntityDef, id: &str) -> Result<()> {
        let hlc = self.next_hlc().to_string();
        self.batch
            .delete(&self.tx, def.name, id, &hlc, &self.store.account)?;
        self.batch.note_local(def.name, id, None);
        Ok(())
    }

    /// Commits the data, the outbox entries, the search index and the clock together.
    pub fn commit(self) -> Result<()> {
        self.batch.finish(&self.tx)?;
        meta_set(&self.tx, "hlc", &self.hlc.to_string())?;
        self.tx.commit()?;
        *self.store.hlc.borrow_mut() = self.hlc;
        Ok(())
    }
}

/// Local changes waiting to be pushed, read by [`Store::outbox`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outbox {
    /// The changes, each with the current merged value of its field.
    pub changes: Vec<FieldChange>,
    /// The last outbox entry read: once the server has stored `changes`, pass it to
    /// [`Store::acknowledge_outbox`]. `None` when the outbox is empty.
    pub up_to: Option<i64>,
}

impl Store {
    /// Starts a local write.
    pub fn writer(&self) -> Result<Writer<'_>> {
        let tx = self.conn.unchecked_transaction()?;
        Ok(Writer {
            store: self,
            tx,
            hlc: self.hlc.borrow().clone(),
            batch: Batch::default(),
        })
    }

    /// Applies changes received from other devices, in one transaction. Order and repetition do
    /// not matter. Returns how many changed the local state.
    pub fn apply_remote(&self, changes: &[FieldChange]) -> Result<usize> {
        let tx = self.conn.unchecked_transaction()?;
        let mut clock = self.hlc.borrow().clone();
        // Changes grouped by record, so each record's state is read and written once.
        let mut groups: Vec<(&str, &str, Vec<&FieldChange>)> = Vec::new();
        let mut index: HashMap<(&str, &str), usize> = HashMap::new();
        for change in changes {
            let hlc = Hlc::parse(&change.hlc)?;
            clock = clock.observe(&hlc);
            let key = (change.entity.as_str(), change.id.as_str());
            let i = *index.entry(key).or_insert_with(|| {
                groups.push((key.0, key.1, Vec::new()));
                groups.len() - 1
            });
            groups[i].2.push(change);
        }
        let mut batch = Batch::default();
        let mut applied = 0;
        for (entity, id, group) in groups {
            let mut writes = Vec::new();
            for change in group {
                match &change.op {
                    Op::Delete => {
                        if batch.delete(&tx, entity, id, &change.hlc, &change.author)? {
                            applied += 1;
                        }
                    }
                    Op::Set { field, value } => writes.push(Write {
                        field,
                        value: value.clone(),
                        hlc: &change.hlc,
                        author: &change.author,
                    }),
                }
            }
            if !writes.is_empty() {
                applied += batch.merge(&tx, entity, id, writes)?;
            }
        }
        batch.finish(&tx)?;
        meta_set(&tx, "hlc", &clock.to_string())?;
        tx.commit()?;
        *self.hlc.borrow_mut() = clock;
        Ok(applied)
    }

    /// Local changes not yet pushed, oldest first, from at most `limit` outbox entries (an entry
    /// is the fields one transaction changed in one record). A field changed again since is sent
    /// once, with its latest value; a field another device has since overwritten is not sent,
    /// nor is any field of a deleted record (its values are gone): only the delete.
    pub fn outbox(&self, limit: usize) -> Result<Outbox> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT o.seq, o.entity, o.id, o.fields, s.state, t.hlc, t.author
             FROM outbox o
             LEFT JOIN record_state s ON s.entity = o.entity AND s.id = o.id
             LEFT JOIN tombstones t ON t.entity = o.entity AND t.id = o.id
             ORDER BY o.seq LIMIT ?1",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut rows = stmt.query([limit])?;
        let mut out = Outbox::default();
        let mut sent: HashSet<String> = HashSet::new();
        let device = self.device.as_str();
        while let Some(r) = rows.next()? {
            let seq: i64 = r.get(0)?;
            let entity: String = r.get(1)?;
            let id: String = r.get(2)?;
            let fields: Option<String> = r.get(3)?;
            let state: Option<String> = r.get(4)?;
            let tombstone: Option<(String, String)> = match (r.get(5)?, r.get(6)?) {
                (Some(h), Some(a)) => Some((h, a)),
                _ => None,
            };
            out.up_to = Some(seq);
            let mut changes = Vec::new();
            match (fields, tombstone) {
                (None, Some((hlc, author))) => changes.push(FieldChange {
                    entity,
                    id,
                    op: Op::Delete,
                    hlc,
                    author,
                }),
                // Edits of a record deleted since, and (never written) a delete without its
                // tombstone: nothing to send.
                (Some(_), Some(_)) | (None, None) => {}
                (Some(fields), None) => {
                    let names: Vec<String> = serde_json::from_str(&fields)
                        .map_err(|_| Error::Corrupt("outbox entry".into()))?;
                    let state = match state {
                        Some(s) => RecordState::parse(&s)?,
                        None => RecordState::default(),
                    };
                    for name in names {
                        if let Some((value, hlc, author)) = state.get(&name)
                            && hlc.ends_with(device)
                        {
                            changes.push(FieldChange {
                                entity: entity.clone(),
                                id: id.clone(),
                                op: Op::Set {
                                    field: name,
                                    value: value.clone(),
                                },
                                hlc: hlc.to_owned(),
                                author: author.to_owned(),
                            });
                        }
                    }
                }
            }
            out.changes
                .extend(changes.into_iter().filter(|c| sent.insert(c.change_id())));
        }
        Ok(out)
    }

    /// Drops outbox entries up to and including `seq`, once the server has acknowledged them.
    pub fn acknowledge_outbox(&self, seq: i64) -> Result<()> {
        self.conn
            .execute("DELETE FROM outbox WHERE seq <= ?1", [seq])?;
        Ok(())
    }

    /// Whether record `id` of `def` was deleted.
    pub fn is_deleted(&self, def: &EntityDef, id: &str) -> Result<bool> {
        tombstoned(&self.conn, def.name, id)
    }
}

/// Whether record `id` of `entity` has a tombstone.
fn tombstoned(conn: &Connection, entity: &str, id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM tombstones WHERE entity = ?1 AND id = ?2")?
        .query_row([entity, id], |_| Ok(()))
        .optional()?
        .is_some())
}

fn canonical_json(value: &Value) -> String {
    // serde_json's map is ordered by key, so equal values always give equal text.
    serde_json::to_string(value).expect("JSON values serialise")
}

/// An upsert of `fields` (declared columns of `def`, never free text) into `def`'s table:
/// `?1` is the id, then one parameter per field in order.
fn upsert_sql(def: &EntityDef, fields: &[(&str, &Value)]) -> String {
    let columns: Vec<&str> = fields.iter().map(|(f, _)| *f).collect();
    let placeholders: Vec<String> = (0..fields.len()).map(|i| format!("?{}", i + 2)).collect();
    let updates: Vec<String> = columns
        .iter()
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    format!(
        "INSERT INTO {table}(id, {columns}) VALUES (?1, {placeholders})
         ON CONFLICT(id) DO UPDATE SET {updates}",
        table = def.table,
        columns = columns.join(", "),
        placeholders = placeholders.join(", "),
        updates = updates.join(", "),
    )
}

/// Writes winning field values into the domain row with `sql`, from [`upsert_sql`].
fn project(tx: &Connection, sql: &str, id: &str, fields: &[(&str, &Value)]) -> Result<()> {
    if fields.is_empty() {
        return Ok(());
    }
    let mut stmt = tx.prepare_cached(sql)?;
    stmt.raw_bind_parameter(1, id)?;
    for (i, (_, v)) in fields.iter().enumerate() {
        stmt.raw_bind_parameter(i + 2, SqlValue(v))?;
    }
    stmt.raw_execute()?;
    Ok(())
}

#[cfg(test)]
mod tests;

impl Store {
    /// A canonical text dump of all synced state: merged fields, tombstones and every domain
    /// table, in a fixed order. Two replicas that have applied the same changes dump the same
    /// text; QA compares devices with it.
    pub fn synced_state_dump(&self) -> Result<String> {
        use std::fmt::Write;
        let mut out = String::new();
        let mut stmt = self
            .conn
            .prepare("SELECT entity, id, state FROM record_state ORDER BY entity, id")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let entity: String = r.get(0)?;
            let id: String = r.get(1)?;
            let state = RecordState::parse(&r.get::<_, String>(2)?)?;
            for field in state.f.keys() {
                let (value, hlc, author) = state.get(field).expect("a field of the state");
                writeln!(
                    out,
                    "field {entity}|{id}|{field}|{}|{hlc}|{author}",
                    canonical_json(value),
                )
                .expect("write to string");
            }
        }
        let mut stmt = self
            .conn
            .prepare("SELECT entity, id, hlc, author FROM tombstones ORDER BY entity, id")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let cols: [String; 4] = [r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?];
            writeln!(out, "tombstone {}", cols.join("|")).expect("write to string");
        }
        for def in entities() {
            let sql = format!(
                "SELECT id, {} FROM {} ORDER BY id",
                def.fields.join(", "),
                def.table
            );
            let mut stmt = self.conn.prepare(&sql)?;
            let mut rows = stmt.query([])?;
            while let Some(r) = rows.next()? {
                write!(out, "{} ", def.table).expect("write to string");
                for i in 0..=def.fields.len() {
                    let v: rusqlite::types::Value = r.get(i)?;
                    write!(out, "{v:?}|").expect("write to string");
                }
                out.push('\n');
            }
        }
        Ok(out)
    }
}
