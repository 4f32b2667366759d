//! Domain rows: reading a record's fields with their clocks, writing its winning values.

use rusqlite::{Connection, OptionalExtension};
use serde_json::Value;

use super::change::canonical_json;
use super::state::{Peers, RecordState, Slot, unknown_entity_state};
use crate::error::{Error, Result};
use crate::store::EntityDef;

/// A record's fields as they are now: (field, value, hlc, author), by field.
pub(super) type Fields = Vec<(String, Value, String, String)>;

/// Reads every field of record `id` of `entity` (whose definition is `def` when this build
/// knows it) with its value and clock, or `None` if there is no record.
pub(super) fn read_record(
    conn: &Connection,
    peers: &mut Peers,
    def: Option<&EntityDef>,
    entity: &str,
    id: &str,
) -> Result<Option<Fields>> {
    let corrupt = || Error::Corrupt(format!("{entity} record"));
    peers.load(conn)?;
    let Some(def) = def else {
        return unknown_entity_state(conn, entity, id)?
            .map(|t| {
                fields_of(&RecordState::parse(&t, None, peers)?, &[], |_| None).ok_or_else(corrupt)
            })
            .transpose();
    };
    let sql = format!(
        "SELECT sync_state, {} FROM {} WHERE id = ?1",
        def.fields.join(", "),
        def.table
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query([id])?;
    let Some(row) = rows.next()? else {
        return Ok(None);
    };
    let Some(text) = row.get::<_, Option<String>>(0)? else {
        return Ok(Some(Vec::new()));
    };
    let state = RecordState::parse(&text, Some(def), peers)?;
    fields_of(&state, def.fields, |i| row.get_ref(i + 1).ok())
        .ok_or_else(corrupt)
        .map(Some)
}

/// Joins a state with its columns (`column(i)` reads column `i` of `columns`).
pub(super) fn fields_of<'r>(
    state: &RecordState,
    columns: &[&str],
    column: impl Fn(usize) -> Option<rusqlite::types::ValueRef<'r>>,
) -> Option<Fields> {
    let mut out = Vec::with_capacity(state.f.len());
    for (field, slot) in &state.f {
        let (hlc, author) = state.c.get(slot.clock())?.clone();
        let value = match slot {
            Slot::Inline(_, _, value) => value.clone(),
            Slot::Column(_, ty) => {
                let i = columns.iter().position(|c| c == field)?;
                ty.read(column(i)?)?
            }
        };
        out.push((field.clone(), value, hlc, author));
    }
    Some(out)
}

/// One write of one field, as merged by [`Batch::merge`].
pub(super) struct Write<'a> {
    pub(super) field: &'a str,
    pub(super) value: Value,
    pub(super) hlc: &'a str,
    pub(super) author: &'a str,
}

/// Runs `sql` (from [`Batch::insert_sql`] or [`Batch::upsert_sql`]) for one record: its id, its
/// columns in order, then its merge state.
pub(super) fn write_row(
    tx: &Connection,
    sql: &str,
    id: &str,
    columns: &[(&str, Value)],
    state: &str,
) -> Result<()> {
    let mut stmt = tx.prepare_cached(sql)?;
    stmt.raw_bind_parameter(1, id)?;
    for (i, (_, v)) in columns.iter().enumerate() {
        stmt.raw_bind_parameter(i + 2, SqlValue(v))?;
    }
    stmt.raw_bind_parameter(columns.len() + 2, state)?;
    stmt.raw_execute()?;
    Ok(())
}

/// A JSON value bound as an SQL value: null, integer, real or text (arrays and objects as
/// canonical JSON text), without copying strings.
pub(super) struct SqlValue<'a>(&'a Value);

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
/// Whether record `id` of `entity` has a tombstone.
pub(super) fn tombstoned(conn: &Connection, entity: &str, id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM tombstones WHERE entity = ?1 AND id = ?2")?
        .query_row([entity, id], |_| Ok(()))
        .optional()?
        .is_some())
}
