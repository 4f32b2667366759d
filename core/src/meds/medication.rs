//! The medication entity: its synced fields and the dose log's, adding, editing and reading
//! medications, stock counts, regimen changes that keep their history, postponed cycles, and a
//! medication with its compiled regimen as the schedule reads it ([`Loaded`]).

use cairn_protocol::Scope;
use jiff::Timestamp;
use jiff::civil::Date;
use rusqlite::OptionalExtension;
use serde_json::Value;

use super::calendar::{add_days, instant_at, shift};
use super::compile::compile;
use super::compiled::Compiled;
use super::regimen::{
    CycleStart, DEFAULT_LATE_WINDOW_MINUTES, Medication, Phase, TimeZonePolicy, parse_date,
};
use crate::error::{Error, Result};
use crate::ids::new_id;
use crate::record::EntityDef;
use crate::store::Store;

/// A medication and its regimen.
pub static MEDICATION: EntityDef = EntityDef {
    name: "medication",
    table: "medications",
    fields: &[
        "name",
        "strength",
        "form",
        "route",
        "instructions",
        "prescriber",
        "code",
        "time_zone_policy",
        "fixed_zone",
        "late_window_minutes",
        "stock",
        "stock_counted_at",
        "refill_threshold_days",
        "regimen",
        "cycle_starts",
        "tracked_from",
    ],
    search: None,
    scope: Scope::Meds,
};

/// One logged dose. Scheduled doses have the id `deterministic_id("dose", [medication id,
/// occurrence key])`, so the patient and a caregiver logging the same dose write one record;
/// as-needed and extra doses have random ids.
pub static DOSE: EntityDef = EntityDef {
    name: "dose",
    table: "dose_log",
    fields: &[
        "medication_id",
        "occurrence_key",
        "scheduled_at",
        "status",
        "taken_at",
        "amount",
        "reason",
        "snoozed_until",
        "recorded_at",
    ],
    search: None,
    scope: Scope::Meds,
};

/// The medications' synced entities.
pub(crate) static ENTITIES: &[&EntityDef] = &[&MEDICATION, &DOSE];

const MEDICATION_COLUMNS: &str = "id, name, strength, form, route, instructions, prescriber, code, \
     time_zone_policy, fixed_zone, late_window_minutes, stock, stock_counted_at, \
     refill_threshold_days, regimen, cycle_starts";

fn policy_fields(policy: &TimeZonePolicy) -> (Value, Value) {
    match policy {
        TimeZonePolicy::WallClock => (Value::from("wall_clock"), Value::Null),
        TimeZonePolicy::FixedZone { zone } => {
            (Value::from("fixed_zone"), Value::from(zone.as_str()))
        }
    }
}

fn opt<T: Into<Value>>(v: Option<T>) -> Value {
    v.map_or(Value::Null, Into::into)
}

fn text_or_null(s: &str) -> Value {
    if s.is_empty() {
        Value::Null
    } else {
        Value::from(s)
    }
}

/// The synced fields of a medication, in [`MEDICATION`]'s order.
fn medication_fields(med: &Medication) -> Result<Vec<(&'static str, Value)>> {
    let (policy, zone) = policy_fields(&med.time_zone_policy);
    let regimen = serde_json::to_string(&med.phases)
        .map_err(|_| Error::invalid("phases", "cannot be serialised"))?;
    let cycles = serde_json::to_string(&med.cycle_starts)
        .map_err(|_| Error::invalid("cycle_starts", "cannot be serialised"))?;
    Ok(vec![
        ("name", Value::from(med.name.trim())),
        ("strength", text_or_null(&med.strength)),
        ("form", text_or_null(&med.form)),
        ("route", text_or_null(&med.route)),
        ("instructions", text_or_null(&med.instructions)),
        ("prescriber", text_or_null(&med.prescriber)),
        ("code", opt(med.code.clone())),
        ("time_zone_policy", policy),
        ("fixed_zone", zone),
        ("late_window_minutes", Value::from(med.late_window_minutes)),
        ("stock", opt(med.stock)),
        (
            "stock_counted_at",
            opt(med.stock_counted_at.map(|t| t.as_millisecond())),
        ),
        ("refill_threshold_days", opt(med.refill_threshold_days)),
        ("regimen", Value::from(regimen)),
        ("cycle_starts", Value::from(cycles)),
    ])
}

/// Reads one `medications` row; `None` while the record is incomplete (fields still arriving).
fn medication_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Option<Medication>> {
    let id: String = r.get(0)?;
    let name: Option<String> = r.get(1)?;
    let policy: Option<String> = r.get(8)?;
    let zone: Option<String> = r.get(9)?;
    let late: Option<i64> = r.get(10)?;
    let regimen: Option<String> = r.get(14)?;
    let cycles: Option<String> = r.get(15)?;
    let (Some(name), Some(regimen)) = (name, regimen) else {
        return Ok(None);
    };
    let Ok(phases) = serde_json::from_str::<Vec<Phase>>(&regimen) else {
        return Ok(None);
    };
    let cycle_starts = cycles
        .and_then(|c| serde_json::from_str::<Vec<CycleStart>>(&c).ok())
        .unwrap_or_default();
    let time_zone_policy = match (policy.as_deref(), zone) {
        (Some("fixed_zone"), Some(zone)) => TimeZonePolicy::FixedZone { zone },
        _ => TimeZonePolicy::WallClock,
    };
    let text = |i: usize| -> rusqlite::Result<String> {
        Ok(r.get::<_, Option<String>>(i)?.unwrap_or_default())
    };
    Ok(Some(Medication {
        id,
        name,
        strength: text(2)?,
        form: text(3)?,
        route: text(4)?,
        instructions: text(5)?,
        prescriber: text(6)?,
        code: r.get(7)?,
        time_zone_policy,
        late_window_minutes: late
            .and_then(|l| u32::try_from(l).ok())
            .unwrap_or(DEFAULT_LATE_WINDOW_MINUTES),
        stock: r.get(11)?,
        stock_counted_at: r.get::<_, Option<i64>>(12)?.map(instant_at),
        refill_threshold_days: r
            .get::<_, Option<i64>>(13)?
            .and_then(|d| u32::try_from(d).ok()),
        phases,
        cycle_starts,
    }))
}

/// A medication with its compiled regimen, as the planning code reads them.
pub(crate) struct Loaded {
    pub(crate) med: Medication,
    pub(crate) compiled: Compiled,
    /// When Cairn started tracking it (ms): doses scheduled earlier and never logged are not
    /// tracked, so neither missed nor due. `i64::MIN` for medications added before this was kept.
    pub(crate) tracked_from_ms: i64,
}

impl Loaded {
    /// Whether an occurrence at `at` with no log entry is outside what Cairn tracks: its late
    /// window had closed before the medication was added, so the patient never had a chance to
    /// log it here. A dose still inside its window when the medication was added is tracked.
    pub(crate) fn untracked(&self, at: Timestamp, logged: bool) -> bool {
        let closes = shift(at, self.compiled.late_window).as_millisecond();
        !logged && closes < self.tracked_from_ms
    }
}

/// The `tracked_from` of one medication (null before migration 0006 or while syncing).
fn tracked_from_of(store: &Store, id: &str) -> Result<i64> {
    let v: Option<Option<i64>> = store
        .conn()
        .prepare_cached("SELECT tracked_from FROM medications WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    Ok(v.flatten().unwrap_or(i64::MIN))
}

impl Store {
    /// Adds a medication; returns its new id (any `id` given is ignored).
    pub fn add_medication(&self, med: &Medication) -> Result<String> {
        let mut med = med.clone();
        med.id = new_id();
        if med.stock.is_some() {
            med.stock_counted_at = Some(self.clock().now());
        }
        compile(&med)?;
        let mut fields = medication_fields(&med)?;
        // Set once, here: an edit of the regimen keeps it, so doses before it stay untracked.
        fields.push((
            "tracked_from",
            Value::from(self.clock().now().as_millisecond()),
        ));
        let mut w = self.writer()?;
        w.set_all(&MEDICATION, &med.id, fields)?;
        w.commit()?;
        Ok(med.id)
    }

    /// Saves an edited medication. Only the fields that changed are written, so concurrent
    /// edits of different fields on two devices both survive. A changed stock is re-counted now.
    pub fn update_medication(&self, med: &Medication) -> Result<()> {
        let old = self.medication(&med.id)?;
        let mut med = med.clone();
        if med.stock != old.stock {
            med.stock_counted_at = med.stock.map(|_| self.clock().now());
        } else {
            med.stock_counted_at = old.stock_counted_at;
        }
        compile(&med)?;
        let before = medication_fields(&old)?;
        let after = medication_fields(&med)?;
        let mut w = self.writer()?;
        for ((field, new), (_, was)) in after.into_iter().zip(before) {
            if new != was {
                w.set(&MEDICATION, &med.id, field, new)?;
            }
        }
        w.commit()
    }

    /// Deletes a medication for good. Its dose log stays (it is history).
    pub fn delete_medication(&self, id: &str) -> Result<()> {
        self.medication(id)?;
        let mut w = self.writer()?;
        w.delete(&MEDICATION, id)?;
        w.commit()
    }

    /// One medication.
    pub fn medication(&self, id: &str) -> Result<Medication> {
        self.conn()
            .query_row(
                &format!("SELECT {MEDICATION_COLUMNS} FROM medications WHERE id = ?1"),
                [id],
                medication_from_row,
            )
            .optional()?
            .flatten()
            .ok_or(Error::NotFound {
                entity: "medication",
            })
    }

    /// Every medication, by name.
    pub fn medications(&self) -> Result<Vec<Medication>> {
        Ok(self
            .medications_tracked_from()?
            .into_iter()
            .map(|(med, _)| med)
            .collect())
    }

    /// Every medication with the instant its doses are tracked from, in one statement.
    fn medications_tracked_from(&self) -> Result<Vec<(Medication, i64)>> {
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT {MEDICATION_COLUMNS}, tracked_from FROM medications \
             ORDER BY name COLLATE NOCASE, id"
        ))?;
        let tracked = MEDICATION_COLUMNS.split(',').count();
        let rows = stmt.query_map([], |r| {
            let tracked_from: Option<i64> = r.get(tracked)?;
            Ok(medication_from_row(r)?.map(|m| (m, tracked_from.unwrap_or(i64::MIN))))
        })?;
        let mut out = Vec::new();
        for row in rows {
            if let Some(m) = row? {
                out.push(m);
            }
        }
        Ok(out)
    }

    /// Every medication whose regimen compiles (one written by a newer version may not).
    pub(crate) fn loaded_medications(&self) -> Result<Vec<Loaded>> {
        let mut out = Vec::new();
        for (med, tracked_from_ms) in self.medications_tracked_from()? {
            let Ok(compiled) = compile(&med) else {
                continue;
            };
            out.push(Loaded {
                med,
                compiled,
                tracked_from_ms,
            });
        }
        Ok(out)
    }

    pub(crate) fn loaded_medication(&self, id: &str) -> Result<Loaded> {
        let med = self.medication(id)?;
        let compiled = compile(&med)?;
        let tracked_from_ms = tracked_from_of(self, id)?;
        Ok(Loaded {
            med,
            compiled,
            tracked_from_ms,
        })
    }

    /// Records a fresh count of the units on hand (after a refill, or a recount).
    pub fn set_stock(&self, medication_id: &str, units: f64) -> Result<()> {
        if !(units.is_finite() && units >= 0.0) {
            return Err(Error::invalid("stock", "must be zero or more"));
        }
        self.medication(medication_id)?;
        let mut w = self.writer()?;
        w.set(&MEDICATION, medication_id, "stock", Value::from(units))?;
        w.set(
            &MEDICATION,
            medication_id,
            "stock_counted_at",
            Value::from(self.clock().now().as_millisecond()),
        )?;
        w.commit()
    }

    /// Changes the regimen from the first new phase's start date on, keeping its history: phases
    /// over by then are kept, the one running then ends the day before, later ones are replaced.
    /// Past days keep the schedule they had, so adherence and logged doses stay matched.
    pub fn change_regimen(&self, medication_id: &str, new_phases: Vec<Phase>) -> Result<()> {
        let mut med = self.medication(medication_id)?;
        let first = new_phases
            .first()
            .ok_or_else(|| Error::invalid("phases", "a regimen needs at least one phase"))?;
        let from = parse_date("start", &first.start)?;
        let day_before = add_days(from, -1);
        let mut kept = Vec::new();
        for p in med.phases {
            let start = parse_date("start", &p.start)?;
            if start >= from {
                continue;
            }
            let end = p.end.as_deref().map(|e| parse_date("end", e)).transpose()?;
            let mut p = p;
            if end.is_none_or(|e| e >= from) {
                p.end = Some(day_before.to_string());
            }
            kept.push(p);
        }
        let kept_count = kept.len() as u32;
        // Postponed cycles of phases that were replaced go with them.
        med.cycle_starts.retain(|c| c.phase < kept_count);
        kept.extend(new_phases);
        med.phases = kept;
        self.update_medication(&med)
    }

    /// Postpones cycle `cycle` (0-based) of phase `phase` to start on `new_start`
    /// (`YYYY-MM-DD`); every later cycle moves with it.
    pub fn postpone_cycle(
        &self,
        medication_id: &str,
        phase: u32,
        cycle: u32,
        new_start: Date,
    ) -> Result<()> {
        let mut med = self.medication(medication_id)?;
        med.cycle_starts
            .retain(|c| !(c.phase == phase && c.cycle == cycle));
        med.cycle_starts.push(CycleStart {
            phase,
            cycle,
            start: new_start.to_string(),
        });
        med.cycle_starts.sort_by_key(|c| (c.phase, c.cycle));
        self.update_medication(&med)
    }
}
