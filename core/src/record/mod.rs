//! The field-change log: the one write path for synced data.
//!
//! Every change is a [`FieldChange`] — `(entity, id, field, value, hlc, author)` — or a delete.
//! [`Writer`] issues local changes; [`Store::apply_remote`] applies changes from other devices.
//! Both merge through [`Batch`], which in one SQLite transaction:
//!
//! 1. merges each field by last-writer-wins on [`Hlc`], and writes the winning values into the
//!    domain table's columns together with the row's `sync_state`: for every field, the hybrid
//!    logical time and author of the write that set it (see [`RecordState`]). The domain row is
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

use std::collections::{BTreeMap, HashMap, HashSet};

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::hlc::Hlc;
use crate::ids::deterministic_id;
pub use crate::store::{EntityDef, SearchIndex};
use crate::store::{Store, meta_set};

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

/// The merge state of one record: for every field, the clock (HLC and author) of the write
/// that set it and where its value lives.
///
/// It is stored in the domain row's `sync_state` column (or in `record_state` for an entity
/// this build does not know) as compact JSON, [`StoredState`]:
///
/// - `"c"`: the clocks, `[stamp, peer]`: the HLC's time part (`mmmmmmmmmmmm.cccccccc`) and the
///   local number of its (device, author) pair in `sync_peers`. Fields written together share
///   one clock, so a new record stores one.
/// - `"p"`: two characters per declared field of the entity, in declaration order: the clock
///   index in base 36 and the JSON type that reads the field's column back (`s` string, `i`
///   integer, `r` real, `b` boolean, `j` array or object as JSON text, `n` null), or `--` for
///   a field not set.
/// - `"f"`: any other field by name: `[clock, type]` for a value in its column, or
///   `[clock, "v", value]` for a value kept here (no column of that name, or a number no column
///   holds exactly).
///
/// Clocks no field refers to any more are dropped, and equal ones merged, when the state is
/// written.
#[derive(Debug, Default, Clone, PartialEq)]
struct RecordState {
    /// (HLC, author) of each clock.
    c: Vec<(String, String)>,
    f: BTreeMap<String, Slot>,
}

/// The stored form of a [`RecordState`].
#[derive(Serialize, Deserialize)]
struct StoredState {
    c: Vec<(String, i64)>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    p: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    f: BTreeMap<String, Slot>,
}

/// The (device, author) pairs seen in clocks, numbered locally in `sync_peers`: a stored clock
/// carries a small number instead of 70 characters of ids.
#[derive(Default)]
struct Peers {
    loaded: bool,
    by_number: HashMap<i64, (String, String)>,
    by_pair: HashMap<(String, String), i64>,
    /// The pair asked for last, and its number: a batch of local writes asks for one pair.
    last: Option<(String, String, i64)>,
}

impl Peers {
    fn load(&mut self, conn: &Connection) -> Result<()> {
        if self.loaded {
            return Ok(());
        }
        let mut stmt = conn.prepare_cached("SELECT n, device, author FROM sync_peers")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        for row in rows {
            let (n, device, author): (i64, String, String) = row?;
            self.by_pair.insert((device.clone(), author.clone()), n);
            self.by_number.insert(n, (device, author));
        }
        self.loaded = true;
        Ok(())
    }

    fn number(&mut self, conn: &Connection, device: &str, author: &str) -> Result<i64> {
        if let Some((d, a, n)) = &self.last
            && d == device
            && a == author
        {
            return Ok(*n);
        }
        let n = self.lookup(conn, device, author)?;
        self.last = Some((device.to_owned(), author.to_owned(), n));
        Ok(n)
    }

    fn lookup(&mut self, conn: &Connection, device: &str, author: &str) -> Result<i64> {
        self.load(conn)?;
        if let Some(n) = self.by_pair.get(&(device.to_owned(), author.to_owned())) {
            return Ok(*n);
        }
        let n: i64 = conn
            .prepare_cached("INSERT INTO sync_peers(device, author) VALUES (?1, ?2) RETURNING n")?
            .query_row([device, author], |r| r.get(0))?;
        self.by_pair
            .insert((device.to_owned(), author.to_owned()), n);
        self.by_number
            .insert(n, (device.to_owned(), author.to_owned()));
        Ok(n)
    }
}

/// An HLC's text split into its time part and its device: Hlc's text form is 12 hex digits,
/// '.', 8 hex digits, '.', the device.
fn split_hlc(hlc: &str) -> Result<(&str, &str)> {
    match (hlc.get(..21), hlc.get(22..)) {
        (Some(stamp), Some(device)) if hlc.as_bytes()[21] == b'.' => Ok((stamp, device)),
        _ => Err(Error::invalid("hlc", "malformed timestamp")),
    }
}

/// The characters of clock indexes in `"p"`.
const BASE36: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// Where one field's winning value lives; see [`RecordState`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum Slot {
    /// Kept in the state: `[clock, "v", value]`.
    Inline(usize, InlineTag, Value),
    /// In the field's column, read back as the JSON type named: `[clock, type]`.
    Column(usize, ColumnType),
}

impl Slot {
    /// Where a value written at `clock` lives: in its column when a column holds it exactly
    /// (`in_column`: the field has one), else in the state.
    fn for_value(clock: usize, value: &Value, in_column: bool) -> Self {
        match ColumnType::of(value) {
            Some(ty) if in_column => Slot::Column(clock, ty),
            _ => Slot::Inline(clock, InlineTag::V, value.clone()),
        }
    }

    fn clock(&self) -> usize {
        match self {
            Slot::Inline(i, ..) | Slot::Column(i, _) => *i,
        }
    }

    fn clock_mut(&mut self) -> &mut usize {
        match self {
            Slot::Inline(i, ..) | Slot::Column(i, _) => i,
        }
    }
}

/// The marker of an inline slot.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
enum InlineTag {
    #[serde(rename = "v")]
    V,
}

/// The JSON type of a value held in a column.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
enum ColumnType {
    #[serde(rename = "s")]
    String,
    #[serde(rename = "i")]
    Integer,
    #[serde(rename = "r")]
    Real,
    #[serde(rename = "b")]
    Bool,
    #[serde(rename = "j")]
    Json,
    #[serde(rename = "n")]
    Null,
}

impl ColumnType {
    const ALL: [Self; 6] = [
        Self::String,
        Self::Integer,
        Self::Real,
        Self::Bool,
        Self::Json,
        Self::Null,
    ];

    fn letter(self) -> u8 {
        match self {
            Self::String => b's',
            Self::Integer => b'i',
            Self::Real => b'r',
            Self::Bool => b'b',
            Self::Json => b'j',
            Self::Null => b'n',
        }
    }

    /// How `value` is held in a column, or `None` when no column holds it exactly (an integer
    /// beyond 64-bit signed range).
    fn of(value: &Value) -> Option<Self> {
        Some(match value {
            Value::Null => Self::Null,
            Value::Bool(_) => Self::Bool,
            Value::Number(n) if n.is_i64() => Self::Integer,
            Value::Number(n) if n.is_f64() => Self::Real,
            Value::Number(_) => return None,
            Value::String(_) => Self::String,
            Value::Array(_) | Value::Object(_) => Self::Json,
        })
    }

    /// The JSON value a column holds. A column's declared type may have converted what was
    /// written (an integer into a REAL column); such conversions are read back.
    fn read(self, column: rusqlite::types::ValueRef<'_>) -> Option<Value> {
        use rusqlite::types::ValueRef as V;
        let text = |t: &[u8]| std::str::from_utf8(t).ok().map(str::to_owned);
        Some(match (self, column) {
            (Self::Null, V::Null) => Value::Null,
            (Self::Bool, V::Integer(i)) => Value::Bool(i != 0),
            (Self::Integer, V::Integer(i)) => Value::from(i),
            (Self::Integer, V::Real(r)) if r.fract() == 0.0 && r.abs() < 9.0e15 => {
                Value::from(r as i64)
            }
            (Self::Real, V::Real(r)) => Value::from(r),
            (Self::Real, V::Integer(i)) => Value::from(i as f64),
            (Self::String, V::Text(t)) => Value::String(text(t)?),
            (Self::String, V::Integer(i)) => Value::String(i.to_string()),
            (Self::Json, V::Text(t)) => serde_json::from_slice(t).ok()?,
            (Self::Integer, V::Text(t)) => {
                Value::from(std::str::from_utf8(t).ok()?.parse::<i64>().ok()?)
            }
            _ => return None,
        })
    }
}

impl RecordState {
    /// Reads a stored state; `def` is the entity's definition when this build knows it.
    fn parse(text: &str, def: Option<&EntityDef>, peers: &Peers) -> Result<Self> {
        let corrupt = || Error::Corrupt("merge state of a record".into());
        let stored: StoredState = serde_json::from_str(text).map_err(|_| corrupt())?;
        let mut c = Vec::with_capacity(stored.c.len());
        for (stamp, n) in stored.c {
            let (device, author) = peers.by_number.get(&n).ok_or_else(corrupt)?;
            c.push((format!("{stamp}.{device}"), author.clone()));
        }
        let mut f = stored.f;
        let p = stored.p.as_bytes();
        if !p.is_empty() {
            let fields = def.ok_or_else(corrupt)?.fields;
            if !p.len().is_multiple_of(2) || p.len() / 2 > fields.len() {
                return Err(corrupt());
            }
            for (field, pair) in fields.iter().zip(p.chunks(2)) {
                if pair == b"--" {
                    continue;
                }
                let clock = BASE36
                    .iter()
                    .position(|b| *b == pair[0])
                    .ok_or_else(corrupt)?;
                let ty = ColumnType::ALL
                    .into_iter()
                    .find(|t| t.letter() == pair[1])
                    .ok_or_else(corrupt)?;
                f.insert((*field).to_owned(), Slot::Column(clock, ty));
            }
        }
        if f.values().any(|slot| slot.clock() >= c.len()) {
            return Err(corrupt());
        }
        Ok(Self { c, f })
    }

    /// The stored form, numbering new peers on the way.
    fn store(
        &mut self,
        def: Option<&EntityDef>,
        peers: &mut Peers,
        conn: &Connection,
    ) -> Result<String> {
        self.tidy_clocks();
        let mut stored = StoredState {
            c: Vec::with_capacity(self.c.len()),
            p: String::new(),
            f: BTreeMap::new(),
        };
        for (hlc, author) in &self.c {
            let (stamp, device) = split_hlc(hlc)?;
            stored
                .c
                .push((stamp.to_owned(), peers.number(conn, device, author)?));
        }
        let mut p = vec![b'-'; def.map_or(0, |d| d.fields.len() * 2)];
        for (field, slot) in &self.f {
            let position = def.and_then(|d| d.fields.iter().position(|f| f == field));
            match (position, slot) {
                (Some(i), Slot::Column(clock, ty)) if *clock < BASE36.len() => {
                    p[2 * i] = BASE36[*clock];
                    p[2 * i + 1] = ty.letter();
                }
                _ => {
                    stored.f.insert(field.clone(), slot.clone());
                }
            }
        }
        while p.ends_with(b"--") {
            p.truncate(p.len() - 2);
        }
        stored.p = String::from_utf8(p).expect("ASCII");
        Ok(serde_json::to_string(&stored).expect("record state serialises"))
    }

    /// Drops clocks no field refers to and merges equal ones.
    fn tidy_clocks(&mut self) {
        let mut used = vec![false; self.c.len()];
        for slot in self.f.values() {
            used[slot.clock()] = true;
        }
        let mut renumber = vec![0; self.c.len()];
        let mut kept: Vec<(String, String)> = Vec::new();
        for (i, clock) in std::mem::take(&mut self.c).into_iter().enumerate() {
            if !used[i] {
                continue;
            }
            renumber[i] = match kept.iter().position(|k| *k == clock) {
                Some(j) => j,
                None => {
                    kept.push(clock);
                    kept.len() - 1
                }
            };
        }
        self.c = kept;
        for slot in self.f.values_mut() {
            let i = slot.clock_mut();
            *i = renumber[*i];
        }
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

    /// Whether a write of `field` at clock entry `clock` is newer than the stored one. Text
    /// order of HLCs is timestamp order.
    fn newer(&self, field: &str, clock: usize) -> bool {
        match self.f.get(field) {
            Some(slot) => self.c[clock].0 > self.c[slot.clock()].0,
            None => true,
        }
    }
}

/// The stored merge state of record `id` of an entity this build does not know.
fn unknown_entity_state(conn: &Connection, entity: &str, id: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT state FROM record_state WHERE entity = ?1 AND id = ?2")?
        .query_row([entity, id], |r| r.get(0))
        .optional()?)
}

/// A record's fields as they are now: (field, value, hlc, author), by field.
type Fields = Vec<(String, Value, String, String)>;

/// Reads every field of record `id` of `entity` (whose definition is `def` when this build
/// knows it) with its value and clock, or `None` if there is no record.
fn read_record(
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
fn fields_of<'r>(
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
struct Write<'a> {
    field: &'a str,
    value: Value,
    hlc: &'a str,
    author: &'a str,
}

/// Runs `sql` (from [`Batch::insert_sql`] or [`Batch::upsert_sql`]) for one record: its id, its
/// columns in order, then its merge state.
fn write_row(
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

/// A record touched in this transaction.
struct Touched {
    def: &'static EntityDef,
    id: String,
    /// The record's row, once known.
    rowid: Option<i64>,
    /// Local changes for the outbox: `Some(Some(mask))` for the fields changed (bit `i` for the
    /// entity's `i`th declared field), `Some(None)` once the record is deleted, `None` when
    /// nothing local touched it.
    local: Option<Option<u64>>,
}

/// A row's entry in a full-text index as it was before this transaction: its rowid, then the
/// text of each indexed column (or null).
type StaleEntry = Vec<Value>;

/// What one transaction has touched, for the work done once at its end: outbox entries and the
/// full-text index.
#[derive(Default)]
struct Batch {
    /// Records of known entities touched, in the order first touched.
    touched: Vec<Touched>,
    /// Where each record is in `touched`, by entity and id.
    index: HashMap<&'static str, HashMap<String, usize>>,
    /// Index entries to drop: rows that were indexed before this transaction changed them.
    stale: Vec<(&'static SearchIndex, StaleEntry)>,
    /// The upsert of each (table, set of columns) written, by column bitmask.
    upserts: HashMap<(&'static str, u64), String>,
    /// The insert of each (table, set of columns) of new records, by column bitmask.
    inserts: HashMap<(&'static str, u64), String>,
    peers: Peers,
    /// Whether a record was deleted: the WAL then still holds its old pages.
    deleted: bool,
}

impl Batch {
    /// Notes a record as touched; returns its place in `touched` and whether it is new there.
    fn touch(&mut self, def: &'static EntityDef, id: &str) -> (usize, bool) {
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
    fn load(
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
    fn note_local(&mut self, def: &'static EntityDef, id: &str, mask: Option<u64>) {
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
    fn finish(self, tx: &Connection) -> Result<bool> {
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
    fn delete(
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
    fn create(
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
    fn new_state(
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
    fn merge(
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
    fn insert_sql(&mut self, def: &'static EntityDef, columns: &[(&str, Value)]) -> &str {
        let mask = field_mask(def, columns.iter().map(|(c, _)| *c));
        self.inserts.entry((def.table, mask)).or_insert_with(|| {
            let mut names: Vec<&str> = columns.iter().map(|(c, _)| *c).collect();
            names.push("sync_state");
            let placeholders: Vec<String> =
                (0..names.len()).map(|i| format!("?{}", i + 2)).collect();
            format!(
                "INSERT INTO {table}(id, {names}) VALUES (?1, {placeholders})",
                table = def.table,
                names = names.join(", "),
                placeholders = placeholders.join(", "),
            )
        })
    }

    /// The upsert of `columns` (declared fields of `def`, in declaration order) and the merge
    /// state into `def`'s table: `?1` is the id, then one parameter per column, then the state.
    fn upsert_sql(&mut self, def: &'static EntityDef, columns: &[(&str, Value)]) -> &str {
        let mask = field_mask(def, columns.iter().map(|(c, _)| *c));
        self.upserts.entry((def.table, mask)).or_insert_with(|| {
            let mut names: Vec<&str> = columns.iter().map(|(c, _)| *c).collect();
            names.push("sync_state");
            let placeholders: Vec<String> =
                (0..names.len()).map(|i| format!("?{}", i + 2)).collect();
            let updates: Vec<String> = names
                .iter()
                .map(|c| format!("{c} = excluded.{c}"))
                .collect();
            format!(
                "INSERT INTO {table}(id, {names}) VALUES (?1, {placeholders})
                 ON CONFLICT(id) DO UPDATE SET {updates}",
                table = def.table,
                names = names.join(", "),
                placeholders = placeholders.join(", "),
                updates = updates.join(", "),
            )
        })
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
        let values = declared(def, fields)?;
        if values.is_empty() {
            return Ok(());
        }
        let hlc = self.next_hlc().to_string();
        let store = self.store;
        let mask = field_mask(def, values.iter().map(|(f, _)| *f));
        let writes = values
            .into_iter()
            .map(|(field, value)| Write {
                field,
                value,
                hlc: &hlc,
                author: store.account_id(),
            })
            .collect();
        self.batch
            .merge(&self.tx, Some(def), def.name, id, writes)?;
        self.batch.note_local(def, id, Some(mask));
        Ok(())
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
        let values = declared(def, fields)?;
        if values.is_empty() {
            return Ok(());
        }
        let hlc = self.next_hlc().to_string();
        let mask = field_mask(def, values.iter().map(|(f, _)| *f));
        self.batch
            .create(&self.tx, def, id, &hlc, self.store.account_id(), values)?;
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

/// One record's changes in a remote batch: entity, id, and each change with its HLC's canonical
/// text.
type RecordChanges<'c> = (&'c str, &'c str, Vec<(&'c FieldChange, String)>);

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
        let tx = self.conn().unchecked_transaction()?;
        Ok(Writer {
            store: self,
            tx,
            hlc: self.last_hlc(),
            batch: Batch::default(),
        })
    }

    /// Applies changes received from other devices, in one transaction. Order and repetition do
    /// not matter. Returns how many changed the local state.
    pub fn apply_remote(&self, changes: &[FieldChange]) -> Result<usize> {
        let tx = self.conn().unchecked_transaction()?;
        let mut clock = self.last_hlc();
        // Changes grouped by record, so each record's state is read and written once.
        // Each change with its HLC in canonical text, which is what orders and is stored.
        let mut groups: Vec<RecordChanges<'_>> = Vec::new();
        let mut index: HashMap<(&str, &str), usize> = HashMap::new();
        for change in changes {
            let hlc = Hlc::parse(&change.hlc)?;
            clock = clock.observe(&hlc);
            let key = (change.entity.as_str(), change.id.as_str());
            let i = *index.entry(key).or_insert_with(|| {
                groups.push((key.0, key.1, Vec::new()));
                groups.len() - 1
            });
            groups[i].2.push((change, hlc.to_string()));
        }
        let mut batch = Batch::default();
        let mut applied = 0;
        for (entity, id, group) in groups {
            let def = self.entity(entity);
            let mut writes = Vec::new();
            for (change, hlc) in &group {
                match &change.op {
                    Op::Delete => {
                        if batch.delete(&tx, def, entity, id, hlc, &change.author)? {
                            applied += 1;
                        }
                    }
                    Op::Set { field, value } => writes.push(Write {
                        field,
                        value: value.clone(),
                        hlc,
                        author: &change.author,
                    }),
                }
            }
            if !writes.is_empty() {
                applied += batch.merge(&tx, def, entity, id, writes)?;
            }
        }
        let deleted = batch.finish(&tx)?;
        meta_set(&tx, "hlc", &clock.to_string())?;
        tx.commit()?;
        self.set_last_hlc(clock);
        if deleted {
            erase_wal(self.conn())?;
        }
        Ok(applied)
    }

    /// Local changes not yet pushed, oldest first, from at most `limit` outbox entries (an entry
    /// is the fields one transaction changed in one record). A field changed again since is sent
    /// once, with its latest value; a field another device has since overwritten is not sent,
    /// nor is any field of a deleted record (its values are gone): only the delete.
    pub fn outbox(&self, limit: usize) -> Result<Outbox> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT o.seq, o.entity, o.id, o.fields, t.hlc, t.author
             FROM outbox o
             LEFT JOIN tombstones t ON t.entity = o.entity AND t.id = o.id
             ORDER BY o.seq LIMIT ?1",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut rows = stmt.query([limit])?;
        let mut out = Outbox::default();
        let mut peers = Peers::default();
        let mut sent: HashSet<String> = HashSet::new();
        let device = self.device_id().as_str();
        while let Some(r) = rows.next()? {
            let seq: i64 = r.get(0)?;
            let entity: String = r.get(1)?;
            let id: String = r.get(2)?;
            let fields: Option<i64> = r.get(3)?;
            let tombstone: Option<(String, String)> = match (r.get(4)?, r.get(5)?) {
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
                    let def = self.entity(&entity);
                    let names: Vec<&str> = match def {
                        Some(def) => def
                            .fields
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| *i < 63 && fields & (1 << i) != 0)
                            .map(|(_, f)| *f)
                            .collect(),
                        None => Vec::new(),
                    };
                    let current = read_record(self.conn(), &mut peers, def, &entity, &id)?
                        .unwrap_or_default();
                    for (field, value, hlc, author) in current {
                        if names.contains(&field.as_str()) && hlc.ends_with(device) {
                            changes.push(FieldChange {
                                entity: entity.clone(),
                                id: id.clone(),
                                op: Op::Set { field, value },
                                hlc,
                                author,
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
        self.conn()
            .execute("DELETE FROM outbox WHERE seq <= ?1", [seq])?;
        Ok(())
    }

    /// Whether record `id` of `def` was deleted.
    pub fn is_deleted(&self, def: &EntityDef, id: &str) -> Result<bool> {
        tombstoned(self.conn(), def.name, id)
    }
}

/// `fields` checked against `def` and named as `def` spells them; a field named twice keeps its
/// last value.
fn declared<'f>(
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

/// The bitmask of `fields` (declared fields of `def`): bit `i` for the `i`th declared field.
/// Entities declare fewer than 63 fields (a test checks), so the mask fits an i64.
fn field_mask<'f>(def: &EntityDef, fields: impl IntoIterator<Item = &'f str>) -> u64 {
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
fn erase_wal(conn: &Connection) -> Result<()> {
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(())
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

#[cfg(test)]
mod tests;

impl Store {
    /// A canonical text dump of all synced state: merged fields, tombstones and every domain
    /// table, in a fixed order. Two replicas that have applied the same changes dump the same
    /// text; QA compares devices with it.
    pub fn synced_state_dump(&self) -> Result<String> {
        use std::fmt::Write;
        let mut records: Vec<(String, String)> = Vec::new();
        for def in self.entities() {
            let mut stmt = self
                .conn()
                .prepare(&format!("SELECT id FROM {} ORDER BY id", def.table))?;
            let ids = stmt.query_map([], |r| r.get::<_, String>(0))?;
            for id in ids {
                records.push((def.name.to_owned(), id?));
            }
        }
        let mut stmt = self
            .conn()
            .prepare("SELECT entity, id FROM record_state ORDER BY entity, id")?;
        for row in stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))? {
            records.push(row?);
        }
        records.sort();
        let mut out = String::new();
        let mut peers = Peers::default();
        for (entity, id) in records {
            for (field, value, hlc, author) in
                read_record(self.conn(), &mut peers, self.entity(&entity), &entity, &id)?
                    .unwrap_or_default()
            {
                writeln!(
                    out,
                    "field {entity}|{id}|{field}|{}|{hlc}|{author}",
                    canonical_json(&value)
                )
                .expect("write to string");
            }
        }
        let mut stmt = self
            .conn()
            .prepare("SELECT entity, id, hlc, author FROM tombstones ORDER BY entity, id")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let cols: [String; 4] = [r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?];
            writeln!(out, "tombstone {}", cols.join("|")).expect("write to string");
        }
        for def in self.entities() {
            let sql = format!(
                "SELECT id, {} FROM {} ORDER BY id",
                def.fields.join(", "),
                def.table
            );
            let mut stmt = self.conn().prepare(&sql)?;
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
