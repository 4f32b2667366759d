//! The field-change log: the one write path for synced data.
//!
//! Every change is a [`FieldChange`] — `(entity, id, field, value, hlc, author)` — or a delete.
//! [`Writer`] issues local changes; [`Store::apply_remote`] applies changes from other devices.
//! Both go through [`apply`], which in one SQLite transaction:
//!
//! 1. keeps the winning value per field in `field_state` (last writer wins by [`Hlc`]),
//! 2. writes the winning value into the domain table's column (domain tables are projections),
//! 3. for local changes, appends the change to `outbox` for sync to carry.
//!
//! Deletes are permanent tombstones: no edit, older or concurrent, brings a record back. The
//! result depends only on the set of changes applied, never on their order or repetition.

pub mod hlc;

use rusqlite::{OptionalExtension, Transaction, params};
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
    /// ends with a hash of what it changes: ids of successive local changes sort in order, so
    /// the outbox's unique index grows at its right edge instead of at a random page per change.
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

/// Local writes in one transaction. Nothing is visible until [`Writer::commit`]; dropping the
/// writer rolls everything back.
pub struct Writer<'s> {
    store: &'s Store,
    tx: Transaction<'s>,
    hlc: Hlc,
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

    /// Sets several fields of one record: one change per field, as if [`Writer::set`] were
    /// called for each in turn, but written with one statement each for the merged state, the
    /// outbox and the domain row (a new record is one INSERT, and table triggers fire once).
    pub fn set_all<'f>(
        &mut self,
        def: &EntityDef,
        id: &str,
        fields: impl IntoIterator<Item = (&'f str, Value)>,
    ) -> Result<()> {
        let mut changes: Vec<LocalSet<'f>> = Vec::new();
        for (field, value) in fields {
            def.check_field(field)?;
            let hlc = self.next_hlc().to_string();
            changes.push(LocalSet {
                field,
                json: canonical_json(&value),
                change_id: change_id(def.name, id, field, &hlc),
                hlc,
                value,
            });
        }
        // Bounded statements: SQLite limits the parameters of one statement.
        let mut won: Vec<(&str, rusqlite::types::Value)> = Vec::new();
        for chunk in changes.chunks(64) {
            let winners = record_fields(&self.tx, def.name, id, &self.store.account, chunk)?;
            for c in chunk.iter().filter(|c| winners.contains(&c.hlc)) {
                won.retain(|(f, _)| *f != c.field);
                won.push((c.field, sql_value(&c.value)));
            }
            enqueue_sets(&self.tx, def.name, id, &self.store.account, chunk)?;
        }
        project(&self.tx, def, id, &won)
    }

    /// Deletes record `id` for good.
    pub fn delete(&mut self, def: &EntityDef, id: &str) -> Result<()> {
        let hlc = self.next_hlc();
        let change = FieldChange {
            entity: def.name.to_owned(),
            id: id.to_owned(),
            op: Op::Delete,
            hlc: hlc.to_string(),
            author: self.store.account.clone(),
        };
        apply(&self.tx, &change, &hlc)?;
        enqueue(&self.tx, &change)
    }

    /// Commits the data, the outbox entries and the clock together.
    pub fn commit(self) -> Result<()> {
        meta_set(&self.tx, "hlc", &self.hlc.to_string())?;
        self.tx.commit()?;
        *self.store.hlc.borrow_mut() = self.hlc;
        Ok(())
    }
}

impl Store {
    /// Starts a local write.
    pub fn writer(&self) -> Result<Writer<'_>> {
        let tx = self.conn.unchecked_transaction()?;
        Ok(Writer {
            store: self,
            tx,
            hlc: self.hlc.borrow().clone(),
        })
    }

    /// Applies changes received from other devices, in one transaction. Order and repetition do
    /// not matter. Returns how many changed the local state.
    pub fn apply_remote(&self, changes: &[FieldChange]) -> Result<usize> {
        let tx = self.conn.unchecked_transaction()?;
        let mut clock = self.hlc.borrow().clone();
        let mut applied = 0;
        for change in changes {
            let hlc = Hlc::parse(&change.hlc)?;
            if apply(&tx, change, &hlc)? {
                applied += 1;
            }
            clock = clock.observe(&hlc);
        }
        meta_set(&tx, "hlc", &clock.to_string())?;
        tx.commit()?;
        *self.hlc.borrow_mut() = clock;
        Ok(applied)
    }

    /// Local changes not yet pushed, oldest first, up to `limit`.
    pub fn outbox(&self, limit: usize) -> Result<Vec<(i64, FieldChange)>> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, entity, id, field, value, hlc, author FROM outbox ORDER BY seq LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit as i64], |r| {
            let field: Option<String> = r.get(3)?;
            let value: Option<String> = r.get(4)?;
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                field,
                value,
                r.get(5)?,
                r.get(6)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, entity, id, field, value, hlc, author) = row?;
            let op = match (field, value) {
                (Some(field), Some(value)) => Op::Set {
                    field,
                    value: serde_json::from_str(&value)
                        .map_err(|_| Error::Corrupt("outbox value".into()))?,
                },
                _ => Op::Delete,
            };
            out.push((
                seq,
                FieldChange {
                    entity,
                    id,
                    op,
                    hlc,
                    author,
                },
            ));
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
fn tombstoned(conn: &rusqlite::Connection, entity: &str, id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM tombstones WHERE entity = ?1 AND id = ?2")?
        .query_row([entity, id], |_| Ok(()))
        .optional()?
        .is_some())
}

fn enqueue(tx: &Transaction<'_>, change: &FieldChange) -> Result<()> {
    let (field, value) = match &change.op {
        Op::Set { field, value } => (Some(field.as_str()), Some(canonical_json(value))),
        Op::Delete => (None, None),
    };
    tx.prepare_cached(
        "INSERT OR IGNORE INTO outbox(change_id, entity, id, field, value, hlc, author)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        change.change_id(),
        change.entity,
        change.id,
        field,
        value,
        change.hlc,
        change.author
    ])?;
    Ok(())
}

/// One local set, ready to write.
struct LocalSet<'f> {
    field: &'f str,
    value: Value,
    json: String,
    hlc: String,
    change_id: String,
}

fn values_clause(rows: usize, columns: usize) -> String {
    let row = format!("({})", vec!["?"; columns].join(", "));
    vec![row; rows].join(", ")
}

/// Last-writer-wins for several fields of one record in one statement; returns the HLCs of the
/// changes that won (newer than what was stored).
fn record_fields(
    tx: &Transaction<'_>,
    entity: &str,
    id: &str,
    author: &str,
    sets: &[LocalSet<'_>],
) -> Result<Vec<String>> {
    let sql = format!(
        "INSERT INTO field_state(entity, id, field, value, hlc, author) VALUES {}
         ON CONFLICT(entity, id, field) DO UPDATE
         SET value = excluded.value, hlc = excluded.hlc, author = excluded.author
         WHERE excluded.hlc > field_state.hlc
         RETURNING hlc",
        values_clause(sets.len(), 6)
    );
    let mut stmt = tx.prepare_cached(&sql)?;
    let mut i = 0;
    for s in sets {
        for v in [entity, id, s.field, &s.json, &s.hlc, author] {
            i += 1;
            stmt.raw_bind_parameter(i, v)?;
        }
    }
    let mut rows = stmt.raw_query();
    let mut won = Vec::with_capacity(sets.len());
    while let Some(row) = rows.next()? {
        won.push(row.get(0)?);
    }
    Ok(won)
}

/// Appends local sets to the outbox, in order, in one statement.
fn enqueue_sets(
    tx: &Transaction<'_>,
    entity: &str,
    id: &str,
    author: &str,
    sets: &[LocalSet<'_>],
) -> Result<()> {
    let sql = format!(
        "INSERT OR IGNORE INTO outbox(change_id, entity, id, field, value, hlc, author) VALUES {}",
        values_clause(sets.len(), 7)
    );
    let mut stmt = tx.prepare_cached(&sql)?;
    let mut i = 0;
    for s in sets {
        for v in [
            s.change_id.as_str(),
            entity,
            id,
            s.field,
            &s.json,
            &s.hlc,
            author,
        ] {
            i += 1;
            stmt.raw_bind_parameter(i, v)?;
        }
    }
    stmt.raw_execute()?;
    Ok(())
}

fn canonical_json(value: &Value) -> String {
    // serde_json's map is ordered by key, so equal values always give equal text.
    serde_json::to_string(value).expect("JSON values serialise")
}

fn sql_value(value: &Value) -> rusqlite::types::Value {
    use rusqlite::types::Value as Sql;
    match value {
        Value::Null => Sql::Null,
        Value::Bool(b) => Sql::Integer(i64::from(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Sql::Integer(i),
            None => Sql::Real(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Sql::Text(s.clone()),
        other => Sql::Text(canonical_json(other)),
    }
}

/// Applies one change by last-writer-wins. Returns whether it changed anything.
///
/// Statements are cached on the connection (`prepare_cached`): a batch of thousands of changes
/// then parses each SQL text once.
fn apply(tx: &Transaction<'_>, change: &FieldChange, hlc: &Hlc) -> Result<bool> {
    let hlc_text = hlc.to_string();
    let def = entity(&change.entity);
    match &change.op {
        Op::Delete => {
            // Concurrent deletes keep the latest tombstone so every replica stores the same row:
            // the upsert only replaces an older tombstone.
            let won = tx
                .prepare_cached(
                    "INSERT INTO tombstones(entity, id, hlc, author) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT(entity, id) DO UPDATE SET hlc = excluded.hlc, author = excluded.author
                     WHERE excluded.hlc > tombstones.hlc",
                )?
                .execute(params![change.entity, change.id, hlc_text, change.author])?
                > 0;
            if !won {
                return Ok(false);
            }
            if let Some(def) = def {
                tx.prepare_cached(&format!("DELETE FROM {} WHERE id = ?1", def.table))?
                    .execute([&change.id])?;
            }
            Ok(true)
        }
        Op::Set { field, value } => {
            if !record_field(tx, change, field, value, hlc)? {
                return Ok(false);
            }
            if let Some(def) = def
                && def.fields.contains(&field.as_str())
            {
                project(tx, def, &change.id, &[(field.as_str(), sql_value(value))])?;
            }
            Ok(true)
        }
    }
}

/// Keeps `value` as the field's merged state if `change` is newer than the stored one; returns
/// whether it was. One statement decides last-writer-wins: HLC text order is timestamp order.
fn record_field(
    tx: &Transaction<'_>,
    change: &FieldChange,
    field: &str,
    value: &Value,
    hlc: &Hlc,
) -> Result<bool> {
    Ok(tx
        .prepare_cached(
            "INSERT INTO field_state(entity, id, field, value, hlc, author)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(entity, id, field) DO UPDATE
             SET value = excluded.value, hlc = excluded.hlc, author = excluded.author
             WHERE excluded.hlc > field_state.hlc",
        )?
        .execute(params![
            change.entity,
            change.id,
            field,
            canonical_json(value),
            hlc.to_string(),
            change.author
        ])?
        > 0)
}

/// Writes winning field values into the domain row, in one statement, unless the record is
/// deleted. `fields` are declared columns of `def`, never free text.
fn project(
    tx: &Transaction<'_>,
    def: &EntityDef,
    id: &str,
    fields: &[(&str, rusqlite::types::Value)],
) -> Result<()> {
    if fields.is_empty() {
        return Ok(());
    }
    if tombstoned(tx, def.name, id)? {
        return Ok(());
    }
    let columns: Vec<&str> = fields.iter().map(|(f, _)| *f).collect();
    let placeholders: Vec<String> = (0..fields.len()).map(|i| format!("?{}", i + 2)).collect();
    let updates: Vec<String> = columns
        .iter()
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    let sql = format!(
        "INSERT INTO {table}(id, {columns}) VALUES (?1, {placeholders})
         ON CONFLICT(id) DO UPDATE SET {updates}",
        table = def.table,
        columns = columns.join(", "),
        placeholders = placeholders.join(", "),
        updates = updates.join(", "),
    );
    let mut stmt = tx.prepare_cached(&sql)?;
    stmt.raw_bind_parameter(1, id)?;
    for (i, (_, v)) in fields.iter().enumerate() {
        stmt.raw_bind_parameter(i + 2, v)?;
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
            .prepare("SELECT entity, id, field, value, hlc, author FROM field_state ORDER BY entity, id, field")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let cols: [String; 6] = [
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ];
            writeln!(out, "field {}", cols.join("|")).expect("write to string");
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
