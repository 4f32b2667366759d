//! One transaction's merge: last-writer-wins per field, the outbox and the full-text index.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use super::rows::{Write, tombstoned, write_row};
use super::state::{BASE36, ColumnType, Peers, RecordState, Slot, split_hlc, unknown_entity_state};
use crate::error::Result;
use crate::store::EntityDef;
use crate::store::SearchIndex;

/// A record touched in this transaction.
pub(super) struct Touched {
    pub(super) def: &'static EntityDef,
    pub(super) id: String,
    /// The record's row, once known.
    pub(super) rowid: Option<i64>,
    /// Local changes for the outbox: `Some(Some(mask))` for the fields changed (bit `i` for the
    /// entity's `i`th declared field), `Some(None)` once the record is deleted, `None` when
    /// nothing local touched it.
    pub(super) local: Option<Option<u64>>,
}

/// A row's entry in a full-text index as it was before this transaction: its rowid, then the
/// text of each indexed column (or null).
pub(super) type StaleEntry = Vec<Value>;

/// What one transaction has touched, for the work done once at its end: outbox entries and the
/// full-text index.
#[derive(Default)]
pub(super) struct Batch {
    /// Records of known entities touched, in the order first touched.
    pub(super) touched: Vec<Touched>,
    /// Where each record is in `touched`, by entity and id.
    pub(super) index: HashMap<&'static str, HashMap<String, usize>>,
    /// Index entries to drop: rows that were indexed before this transaction changed them.
    pub(super) stale: Vec<(&'static SearchIndex, StaleEntry)>,
    /// The upsert of each (table, set of columns) written, by column bitmask.
    pub(super) upserts: HashMap<(&'static str, u64), String>,
    /// The insert of each (table, set of columns) of new records, by column bitmask.
    pub(super) inserts: HashMap<(&'static str, u64), String>,
    pub(super) peers: Peers,
    /// Whether a record was deleted: the WAL then still holds its old pages.
    pub(super) deleted: bool,
}

impl Batch {
    /// Notes a record as touched; returns its place in `touched` and whether it is new there.
    pub(super) fn touch(&mut self, def: &'static EntityDef, id: &str) -> (usize, bool) {
        let ids = self.index.entry(def.name).or_default();
        if let Some(i) = ids.get(id) {
            return (*i, false);
        }
        self.touched.push(Touched {
            def,
            id: id.to_owned(),
            rowid: None,
            local: None,
        });
        let i = self.touched.len() - 1;
        ids.insert(id.to_owned(), i);
        (i, true)
    }

    /// Loads a record's merge state (`None`: no record). The first time a searchable record is
    /// touched in the transaction, its index entry (if it has one) is noted as stale.
    pub(super) fn load(
        &mut self,
        tx: &Connection,
        def: Option<&'static EntityDef>,
        entity: &str,
        id: &str,
    ) -> Result<Option<RecordState>> {
        let Some(def) = def else {
            let text = unknown_entity_state(tx, entity, id)?;
            self.peers.load(tx)?;
            return text
                .as_deref()
                .map(|t| RecordState::parse(t, None, &self.peers))
                .transpose();
        };
        // With the indexed text as it is now: what the index holds for the row, to drop.
        let indexed = def.search.map_or(0, |s| s.columns.len());
        let columns: String = def
            .search
            .iter()
            .flat_map(|s| s.columns)
            .map(|c| format!(", {c}"))
            .collect();
        let row: Option<(i64, Option<String>, StaleEntry)> = tx
            .prepare_cached(&format!(
                "SELECT rowid, sync_state{columns} FROM {} WHERE id = ?1",
                def.table
            ))?
            .query_row([id], |r| {
                let rowid: i64 = r.get(0)?;
                let mut entry = vec![Value::from(rowid)];
                for c in 0..indexed {
                    entry.push(match r.get_ref(c + 2)? {
                        rusqlite::types::ValueRef::Text(t) => {
                            Value::from(String::from_utf8_lossy(t).into_owned())
                        }
                        rusqlite::types::ValueRef::Integer(n) => Value::from(n),
                        rusqlite::types::ValueRef::Real(x) => Value::from(x),
                        _ => Value::Null,
                    });
                }
                Ok((rowid, r.get(1)?, entry))
            })
            .optional()?;
        let (i, first) = self.touch(def, id);
        let row = row.map(|(rowid, state, entry)| {
            if first {
                self.touched[i].rowid = Some(rowid);
                if let Some(search) = def.search {
                    self.stale.push((search, entry));
                }
            }
            (rowid, state)
        });
        match row {
            None => Ok(None),
            Some((_, None)) => Ok(Some(RecordState::default())),
            Some((_, Some(text))) => {
                self.peers.load(tx)?;
                RecordState::parse(&text, Some(def), &self.peers).map(Some)
            }
        }
    }

    /// Notes local changes for the outbox: the fields in `mask`, or `None` for a delete.
    pub(super) fn note_local(&mut self, def: &'static EntityDef, id: &str, mask: Option<u64>) {
        let (i, _) = self.touch(def, id);
        let local = &mut self.touched[i].local;
        *local = match (*local, mask) {
            (None, mask) => Some(mask),
            (Some(None), _) | (Some(Some(_)), None) => Some(None),
            (Some(Some(changed)), Some(mask)) => Some(Some(changed | mask)),
        };
    }

    /// The work done once per transaction, just before it commits. Returns whether a record
    /// was deleted, for [`erase_wal`] after the commit.
    pub(super) fn finish(self, tx: &Connection) -> Result<bool> {
        let mut insert =
            tx.prepare_cached("INSERT INTO outbox(entity, id, fields) VALUES (?1, ?2, ?3)")?;
        for t in &self.touched {
            if let Some(local) = &t.local {
                // Bit 63 is never set (see `field_mask`), so the mask fits an i64.
                let fields = local.map(|mask| mask as i64);
                insert.execute(params![t.def.name, t.id, fields])?;
            }
        }
        drop(insert);
        // One statement per index and kind of work: FTS5 then gathers every entry of the
        // transaction in memory and writes them as one segment at commit.
        // Stale entries are dropped with the text they were indexed with, which is what lets
        // FTS5's secure-delete take the row's terms out of the segments holding them (a
        // contentless index cannot look the text up itself, and a delete by rowid alone only
        // hides the row until a merge reaches it): what the patient deleted or replaced is
        // erased from the index, not merely unfindable.
        let mut stale: Vec<(&'static SearchIndex, Vec<StaleEntry>)> = Vec::new();
        for (search, entry) in self.stale {
            match stale.iter_mut().find(|(s, _)| std::ptr::eq(*s, search)) {
                Some((_, entries)) => entries.push(entry),
                None => stale.push((search, vec![entry])),
            }
        }
        for (search, entries) in stale {
            let values: Vec<String> = (0..search.columns.len())
                .map(|i| format!("e.value ->> {}", i + 1))
                .collect();
            tx.execute(
                &format!(
                    "INSERT INTO {fts}({fts}, rowid, {columns})
                     SELECT 'delete', e.value ->> 0, {values} FROM json_each(?1) e",
                    fts = search.table,
                    columns = search.columns.join(", "),
                    values = values.join(", "),
                ),
                [serde_json::to_string(&entries).expect("index entries serialise")],
            )?;
        }
        let mut searched: Vec<(&'static EntityDef, Vec<i64>)> = Vec::new();
        for t in &self.touched {
            let def = t.def;
            if def.search.is_none() {
                continue;
            }
            let Some(rowid) = t.rowid else { continue };
            match searched.iter_mut().find(|(d, _)| std::ptr::eq(*d, def)) {
                Some((_, rowids)) => rowids.push(rowid),
                None => searched.push((def, vec![rowid])),
            }
        }
        for (def, rowids) in searched {
            let search = def.search.expect("only searchable entities are gathered");
            let columns = search.columns.join(", ");
            // Rows deleted in this transaction are gone and so are not indexed.
            tx.execute(
                &format!(
                    "INSERT INTO {fts}(rowid, {columns}) SELECT rowid, {columns} FROM {table}
                     WHERE rowid IN (SELECT value FROM json_each(?1))",
                    fts = search.table,
                    table = def.table,
                ),
                [serde_json::to_string(&rowids).expect("rowids serialise")],
            )?;
        }
        Ok(self.deleted)
    }

    /// Applies a delete by last-writer-wins between tombstones; returns whether it changed
    /// anything. The record's row, values and merge state go with the first tombstone.
    pub(super) fn delete(
        &mut self,
        tx: &Connection,
        def: Option<&'static EntityDef>,
        entity: &str,
        id: &str,
        hlc: &str,
        author: &str,
    ) -> Result<bool> {
        if def.is_some() {
            // Notes the search index entry before the row goes.
            self.load(tx, def, entity, id)?;
        }
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
            self.deleted = true;
            match def {
                Some(def) => tx
                    .prepare_cached(&format!("DELETE FROM {} WHERE id = ?1", def.table))?
                    .execute([id])?,
                None => tx
                    .prepare_cached("DELETE FROM record_state WHERE entity = ?1 AND id = ?2")?
                    .execute([entity, id])?,
            };
        }
        Ok(won)
    }

    /// Writes a record that cannot exist yet, its id just made: no state to read and no
    /// tombstone to check, one INSERT (which fails rather than overwrite, should the id exist).
    pub(super) fn create(
        &mut self,
        tx: &Connection,
        def: &'static EntityDef,
        id: &str,
        hlc: &str,
        author: &str,
        mut columns: Vec<(&'static str, Value)>,
    ) -> Result<()> {
        columns.sort_by_key(|(c, _)| def.fields.iter().position(|f| f == c));
        let text = self.new_state(tx, def, hlc, author, &columns)?;
        write_row(tx, self.insert_sql(def, &columns), id, &columns, &text)?;
        let (i, _) = self.touch(def, id);
        self.touched[i].rowid = Some(tx.last_insert_rowid());
        Ok(())
    }

    /// The stored merge state of a new record whose `columns` were all written at one clock:
    /// what [`RecordState::store`] writes, without building the state first.
    pub(super) fn new_state(
        &mut self,
        tx: &Connection,
        def: &'static EntityDef,
        hlc: &str,
        author: &str,
        columns: &[(&'static str, Value)],
    ) -> Result<String> {
        if columns.is_empty() {
            return RecordState::default().store(Some(def), &mut self.peers, tx);
        }
        let mut p = Vec::with_capacity(2 * def.fields.len());
        for (field, value) in columns {
            let (Some(i), Some(ty)) = (
                def.fields.iter().position(|f| f == field),
                ColumnType::of(value),
            ) else {
                // A value no column holds exactly: the general form.
                let mut state = RecordState::default();
                let clock = state.clock(hlc, author);
                for (field, value) in columns {
                    state
                        .f
                        .insert((*field).to_owned(), Slot::for_value(clock, value, true));
                }
                return state.store(Some(def), &mut self.peers, tx);
            };
            p.resize(2 * i, b'-');
            p.extend_from_slice(&[BASE36[0], ty.letter()]);
        }
        let (stamp, device) = split_hlc(hlc)?;
        let n = self.peers.number(tx, device, author)?;
        let p = std::str::from_utf8(&p).expect("ASCII");
        // The stamp is hex digits and a dot, `p` letters, digits and dashes: nothing to escape.
        Ok(format!(r#"{{"c":[["{stamp}",{n}]],"p":"{p}"}}"#))
    }

    /// Merges writes of several fields of one record; returns how many won. The winning values
    /// and the new merge state are written in one statement. Writes to a deleted record are
    /// dropped.
    pub(super) fn merge(
        &mut self,
        tx: &Connection,
        def: Option<&'static EntityDef>,
        entity: &str,
        id: &str,
        writes: Vec<Write<'_>>,
    ) -> Result<usize> {
        let loaded = self.load(tx, def, entity, id)?;
        // A deleted record has no row and no state, and never gets them back.
        if loaded.is_none() && tombstoned(tx, entity, id)? {
            return Ok(0);
        }
        let mut state = loaded.unwrap_or_default();
        let mut columns: Vec<(&'static str, Value)> = Vec::new();
        let mut count = 0;
        for w in writes {
            let clock = state.clock(w.hlc, w.author);
            if !state.newer(w.field, clock) {
                continue;
            }
            count += 1;
            let column = def.and_then(|d| d.fields.iter().copied().find(|f| *f == w.field));
            let slot = Slot::for_value(clock, &w.value, column.is_some());
            state.f.insert(w.field.to_owned(), slot);
            if let Some(column) = column {
                columns.retain(|(c, _)| *c != column);
                columns.push((column, w.value));
            }
        }
        if count == 0 {
            return Ok(0);
        }
        let text = state.store(def, &mut self.peers, tx)?;
        match def {
            Some(def) => {
                // In declaration order: the cached statement for a set of columns binds them so.
                columns.sort_by_key(|(c, _)| def.fields.iter().position(|f| f == c));
                write_row(tx, self.upsert_sql(def, &columns), id, &columns, &text)?;
                let (i, _) = self.touch(def, id);
                if self.touched[i].rowid.is_none() {
                    // No row before, so the upsert inserted one (RETURNING would cost a
                    // temporary table per statement).
                    self.touched[i].rowid = Some(tx.last_insert_rowid());
                }
            }
            None => {
                tx.prepare_cached(
                    "INSERT INTO record_state(entity, id, state) VALUES (?1, ?2, ?3)
                     ON CONFLICT(entity, id) DO UPDATE SET state = excluded.state",
                )?
                .execute(params![entity, id, text])?;
            }
        }
        Ok(count)
    }

    /// The insert of a new record's `columns` (declared fields of `def`, in declaration order)
    /// and merge state: `?1` is the id, then one parameter per column, then the state.
    pub(super) fn insert_sql(
        &mut self,
        def: &'static EntityDef,
        columns: &[(&str, Value)],
    ) -> &str {
        let mask = field_mask(def, columns.iter().map(|(c, _)| *c));
        self.inserts
            .entry((def.table, mask))
            .or_insert_with(|| row_sql(def, columns, false))
    }

    /// The upsert of `columns` (declared fields of `def`, in declaration order) and the merge
    /// state into `def`'s table: `?1` is the id, then one parameter per column, then the state.
    pub(super) fn upsert_sql(
        &mut self,
        def: &'static EntityDef,
        columns: &[(&str, Value)],
    ) -> &str {
        let mask = field_mask(def, columns.iter().map(|(c, _)| *c));
        self.upserts
            .entry((def.table, mask))
            .or_insert_with(|| row_sql(def, columns, true))
    }
}
/// The bitmask of `fields` (declared fields of `def`): bit `i` for the `i`th declared field.
/// Entities declare fewer than 63 fields (a test checks), so the mask fits an i64.
pub(super) fn field_mask<'f>(def: &EntityDef, fields: impl IntoIterator<Item = &'f str>) -> u64 {
    fields.into_iter().fold(0, |mask, field| {
        match def.fields.iter().position(|f| *f == field) {
            Some(i) if i < 63 => mask | 1 << i,
            _ => mask,
        }
    })
}

/// After a delete: the WAL still holds the pages as they were before it, the deleted values
/// among them, until it is reused. Folding it into the main file (whose freed pages and cells
/// `secure_delete` zeroes) and truncating it erases them. When another connection is reading,
/// the WAL cannot be truncated yet; the last connection to close does it then.
pub(super) fn erase_wal(conn: &Connection) -> Result<()> {
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(())
}

/// The statement writing `columns` and the merge state into `def`'s table: `?1` is the id, then
/// one parameter per column, then the state. With `upsert`, a row that exists is updated.
fn row_sql(def: &EntityDef, columns: &[(&str, Value)], upsert: bool) -> String {
    let mut names: Vec<&str> = columns.iter().map(|(c, _)| *c).collect();
    names.push("sync_state");
    let placeholders: Vec<String> = (0..names.len()).map(|i| format!("?{}", i + 2)).collect();
    let mut sql = format!(
        "INSERT INTO {table}(id, {names}) VALUES (?1, {placeholders})",
        table = def.table,
        names = names.join(", "),
        placeholders = placeholders.join(", "),
    );
    if upsert {
        let updates: Vec<String> = names
            .iter()
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        sql.push_str(" ON CONFLICT(id) DO UPDATE SET ");
        sql.push_str(&updates.join(", "));
    }
    sql
}
