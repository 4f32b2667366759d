//! The merge state of a record and how it is encoded (docs/adr/0005).

use std::collections::{BTreeMap, HashMap};

use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::store::EntityDef;

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
pub(super) struct RecordState {
    /// (HLC, author) of each clock.
    pub(super) c: Vec<(String, String)>,
    pub(super) f: BTreeMap<String, Slot>,
}

/// The stored form of a [`RecordState`].
#[derive(Serialize, Deserialize)]
pub(super) struct StoredState {
    pub(super) c: Vec<(String, i64)>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(super) p: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(super) f: BTreeMap<String, Slot>,
}

/// The (device, author) pairs seen in clocks, numbered locally in `sync_peers`: a stored clock
/// carries a small number instead of 70 characters of ids.
#[derive(Default)]
pub(super) struct Peers {
    pub(super) loaded: bool,
    pub(super) by_number: HashMap<i64, (String, String)>,
    pub(super) by_pair: HashMap<(String, String), i64>,
    /// The pair asked for last, and its number: a batch of local writes asks for one pair.
    pub(super) last: Option<(String, String, i64)>,
}

impl Peers {
    pub(super) fn load(&mut self, conn: &Connection) -> Result<()> {
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

    pub(super) fn number(&mut self, conn: &Connection, device: &str, author: &str) -> Result<i64> {
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

    pub(super) fn lookup(&mut self, conn: &Connection, device: &str, author: &str) -> Result<i64> {
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
pub(super) fn split_hlc(hlc: &str) -> Result<(&str, &str)> {
    match (hlc.get(..21), hlc.get(22..)) {
        (Some(stamp), Some(device)) if hlc.as_bytes()[21] == b'.' => Ok((stamp, device)),
        _ => Err(Error::invalid("hlc", "malformed timestamp")),
    }
}

/// The characters of clock indexes in `"p"`.
pub(super) const BASE36: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// Where one field's winning value lives; see [`RecordState`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub(super) enum Slot {
    /// Kept in the state: `[clock, "v", value]`.
    Inline(usize, InlineTag, Value),
    /// In the field's column, read back as the JSON type named: `[clock, type]`.
    Column(usize, ColumnType),
}

impl Slot {
    /// Where a value written at `clock` lives: in its column when a column holds it exactly
    /// (`in_column`: the field has one), else in the state.
    pub(super) fn for_value(clock: usize, value: &Value, in_column: bool) -> Self {
        match ColumnType::of(value) {
            Some(ty) if in_column => Slot::Column(clock, ty),
            _ => Slot::Inline(clock, InlineTag::V, value.clone()),
        }
    }

    pub(super) fn clock(&self) -> usize {
        match self {
            Slot::Inline(i, ..) | Slot::Column(i, _) => *i,
        }
    }

    pub(super) fn clock_mut(&mut self) -> &mut usize {
        match self {
            Slot::Inline(i, ..) | Slot::Column(i, _) => i,
        }
    }
}

/// The marker of an inline slot.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(super) enum InlineTag {
    #[serde(rename = "v")]
    V,
}

/// The JSON type of a value held in a column.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub(super) enum ColumnType {
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

    pub(super) fn letter(self) -> u8 {
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
    pub(super) fn of(value: &Value) -> Option<Self> {
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
    pub(super) fn read(self, column: rusqlite::types::ValueRef<'_>) -> Option<Value> {
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
    pub(super) fn parse(text: &str, def: Option<&EntityDef>, peers: &Peers) -> Result<Self> {
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
    pub(super) fn store(
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
    pub(super) fn tidy_clocks(&mut self) {
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
    pub(super) fn clock(&mut self, hlc: &str, author: &str) -> usize {
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
    pub(super) fn newer(&self, field: &str, clock: usize) -> bool {
        match self.f.get(field) {
            Some(slot) => self.c[clock].0 > self.c[slot.clock()].0,
            None => true,
        }
    }
}

/// The stored merge state of record `id` of an entity this build does not know.
pub(super) fn unknown_entity_state(
    conn: &Connection,
    entity: &str,
    id: &str,
) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT state FROM record_state WHERE entity = ?1 AND id = ?2")?
        .query_row([entity, id], |r| r.get(0))
        .optional()?)
}
