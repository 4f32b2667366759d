//! The dose log: taken, skipped, snoozed, undone; missed after the late window; where a
//! scheduled dose stands.
//!
//! # Which occurrence a logged dose belongs to
//!
//! When a dose is logged without naming its occurrence, it is matched to the occurrence it was
//! most likely meant for, among those not yet taken or skipped:
//!
//! 1. **Overdue first.** The most recent occurrence that is already due and still inside its late
//!    window (`scheduled <= taken <= scheduled + late window`). A 22:00 dose taken at 00:40 the
//!    next night (late window of three hours) is the 22:00 dose, not tomorrow's; a morning dose
//!    taken in the afternoon is the morning dose, not the evening one.
//! 2. **Otherwise slightly early.** The next occurrence, if it is due within the late window and
//!    within half the interval since the occurrence before it.
//! 3. **Otherwise an extra dose**, recorded on its own (random id) and never counted as a
//!    scheduled dose. For as-needed medications every dose is of this kind, checked against the
//!    minimum gap and the cap.
//!
//! A dose logged by naming its occurrence always goes to that occurrence (an edit of the time).

use std::collections::HashMap;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde_json::Value;

use super::as_needed::AsNeededWarning;
use super::calendar::shift;
use super::medication::{DOSE, Loaded};
use super::occurrence::{Occ, dose_id, expand_into, occurrence_id, parse_packed_key};
use super::regimen::{MAX_REASON, ON_TIME_MINUTES, check_length};
use crate::error::{Error, Result};
use crate::ids::new_id;
use crate::record::Writer;
use crate::store::Store;

/// Where a scheduled dose stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum DoseStatus {
    /// Not due yet.
    Upcoming,
    /// Due now, inside its late window, not logged.
    Due,
    /// Taken on time.
    Taken,
    /// Taken, but later than the on-time window.
    TakenLate,
    /// Skipped on purpose.
    Skipped,
    /// Snoozed; the reminder comes back at `snoozed_until`.
    Snoozed,
    /// Past its late window and not logged.
    Missed,
}

/// What logging a dose did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct LoggedDose {
    /// The dose-log record's id.
    pub dose_id: String,
    /// The occurrence it was matched to; none for an as-needed or extra dose.
    pub occurrence_id: Option<String>,
    /// That occurrence's time.
    pub scheduled_at: Option<Timestamp>,
    /// The occurrence's status after logging.
    pub status: DoseStatus,
    /// As-needed warnings (gap, cap); empty when all is well.
    pub warnings: Vec<AsNeededWarning>,
}

/// What a dose-log row says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Logged {
    Taken,
    Skipped,
    Snoozed,
    /// A status written by a newer version: kept, read as not logged.
    Other,
}

impl Logged {
    fn parse(text: &str) -> Logged {
        match text {
            "taken" => Logged::Taken,
            "skipped" => Logged::Skipped,
            "snoozed" => Logged::Snoozed,
            _ => Logged::Other,
        }
    }
}

/// A dose-log row as the schedule code reads it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DoseRow {
    pub(crate) status: Logged,
    pub(crate) taken_at: Option<i64>,
    pub(crate) snoozed_until: Option<i64>,
}

impl DoseRow {
    /// Taken or skipped: nothing left to remind about.
    pub(crate) fn settled(&self) -> bool {
        matches!(self.status, Logged::Taken | Logged::Skipped)
    }
}

/// Scheduled dose-log rows by medication id, then packed occurrence key (see
/// [`Occ::packed_key`]): the year-long reads of adherence stay free of string keys.
#[derive(Debug, Default)]
pub(crate) struct DoseRows(HashMap<String, HashMap<u64, DoseRow>>);

impl DoseRows {
    /// The row of occurrence `o` of `medication_id`.
    pub(crate) fn get(&self, medication_id: &str, o: &Occ) -> Option<&DoseRow> {
        self.0.get(medication_id)?.get(&o.packed_key())
    }

    /// All rows of one medication, by packed key.
    pub(crate) fn of_medication(&self, medication_id: &str) -> Option<&HashMap<u64, DoseRow>> {
        self.0.get(medication_id)
    }

    /// The row of the occurrence with key text `key` of `medication_id`.
    pub(crate) fn get_by_key(&self, medication_id: &str, key: &str) -> Option<&DoseRow> {
        self.0.get(medication_id)?.get(&parse_packed_key(key)?)
    }
}

/// How far a wall-clock dose's logged instant can be from its instant in the current zone
/// (the widest zone offsets differ by 26 hours).
const ZONE_MARGIN: SignedDuration = SignedDuration::from_hours(48);

fn text_ref<'r>(r: &'r rusqlite::Row<'_>, i: usize) -> rusqlite::Result<&'r str> {
    r.get_ref(i)?.as_str().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

impl Store {
    /// Scheduled dose-log rows whose occurrence falls in `[from, to)`, with a margin for travel.
    pub(crate) fn dose_rows(&self, from: Timestamp, to: Timestamp) -> Result<DoseRows> {
        let lo = from.as_millisecond() - ZONE_MARGIN.as_millis() as i64;
        let hi = to.as_millisecond() + ZONE_MARGIN.as_millis() as i64;
        let mut stmt = self.conn().prepare_cached(
            "SELECT medication_id, occurrence_key, status, taken_at, snoozed_until FROM dose_log
             WHERE scheduled_at >= ?1 AND scheduled_at < ?2 AND occurrence_key IS NOT NULL
               AND medication_id IS NOT NULL AND status IS NOT NULL",
        )?;
        let mut rows = stmt.query(params![lo, hi])?;
        let mut out = DoseRows::default();
        while let Some(r) = rows.next()? {
            let Some(key) = parse_packed_key(text_ref(r, 1)?) else {
                continue;
            };
            let row = DoseRow {
                status: Logged::parse(text_ref(r, 2)?),
                taken_at: r.get(3)?,
                snoozed_until: r.get(4)?,
            };
            let med = text_ref(r, 0)?;
            match out.0.get_mut(med) {
                Some(map) => {
                    map.insert(key, row);
                }
                None => {
                    out.0.insert(med.to_owned(), HashMap::from([(key, row)]));
                }
            }
        }
        Ok(out)
    }

    fn dose_row(&self, id: &str) -> Result<Option<DoseRow>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT status, taken_at, snoozed_until FROM dose_log WHERE id = ?1 AND status IS NOT NULL",
        )?;
        let mut rows = stmt.query([id])?;
        Ok(match rows.next()? {
            Some(r) => Some(DoseRow {
                status: Logged::parse(text_ref(r, 0)?),
                taken_at: r.get(1)?,
                snoozed_until: r.get(2)?,
            }),
            None => None,
        })
    }
}

/// The status of an occurrence due at `at`, given its log row and the late window.
pub(crate) fn status_of(
    at: Timestamp,
    late: SignedDuration,
    row: Option<&DoseRow>,
    now: Timestamp,
) -> DoseStatus {
    let missed_at = at.as_millisecond() + late.as_millis() as i64;
    let now_ms = now.as_millisecond();
    match row.map(|r| (r.status, r)) {
        Some((Logged::Taken, r)) => {
            let on_time = late.min(SignedDuration::from_mins(i64::from(ON_TIME_MINUTES)));
            match r.taken_at {
                Some(t) if t > at.as_millisecond() + on_time.as_millis() as i64 => {
                    DoseStatus::TakenLate
                }
                _ => DoseStatus::Taken,
            }
        }
        Some((Logged::Skipped, _)) => DoseStatus::Skipped,
        Some((Logged::Snoozed, r)) => {
            let until = r.snoozed_until.unwrap_or(0);
            if now_ms < until {
                DoseStatus::Snoozed
            } else if now_ms > missed_at.max(until) {
                DoseStatus::Missed
            } else {
                DoseStatus::Due
            }
        }
        _ => {
            if now < at {
                DoseStatus::Upcoming
            } else if now_ms <= missed_at {
                DoseStatus::Due
            } else {
                DoseStatus::Missed
            }
        }
    }
}

fn ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

fn from_ms(field: &'static str, ms: i64) -> Result<Timestamp> {
    Timestamp::from_millisecond(ms).map_err(|_| Error::invalid(field, "time out of range"))
}

/// What a log call is about: an occurrence (with its key and time) or none (an extra dose).
struct Target {
    occ: Occ,
    key: String,
}

impl Target {
    /// Writes this scheduled dose's log record: which dose it is, the `status` word, that
    /// status's own `details`, and when it was recorded. Returns the record's id, the same on
    /// every device.
    fn write_log<'f>(
        &'f self,
        w: &mut Writer<'_>,
        medication_id: &'f str,
        status: &'static str,
        details: impl IntoIterator<Item = (&'f str, Value)>,
        now: Timestamp,
    ) -> Result<String> {
        let id = dose_id(medication_id, &self.key);
        let fields = [
            ("medication_id", Value::from(medication_id)),
            ("occurrence_key", Value::from(self.key.as_str())),
            ("scheduled_at", Value::from(ms(self.occ.at))),
            ("status", Value::from(status)),
        ]
        .into_iter()
        .chain(details)
        .chain([("recorded_at", Value::from(ms(now)))]);
        w.set_all(&DOSE, &id, fields)?;
        Ok(id)
    }

    /// What logging this scheduled dose with `status` did.
    fn logged(&self, medication_id: &str, dose_id: String, status: DoseStatus) -> LoggedDose {
        LoggedDose {
            dose_id,
            occurrence_id: Some(occurrence_id(medication_id, &self.key)),
            scheduled_at: Some(self.occ.at),
            status,
            warnings: Vec::new(),
        }
    }
}

impl Store {
    /// Logs a dose taken at `taken_at` (default: now), matched to its occurrence by the rule in
    /// this module's documentation, or to `occurrence_id` when given.
    pub fn take_dose(
        &self,
        medication_id: &str,
        taken_at: Option<Timestamp>,
        amount: Option<f64>,
        occurrence_id: Option<&str>,
    ) -> Result<LoggedDose> {
        let now = self.clock().now_zoned();
        self.take_dose_at(
            now.timestamp(),
            now.time_zone(),
            medication_id,
            taken_at,
            amount,
            occurrence_id,
        )
    }

    /// [`Store::take_dose`] with an explicit instant and device zone.
    pub(crate) fn take_dose_at(
        &self,
        now: Timestamp,
        zone: &TimeZone,
        medication_id: &str,
        taken_at: Option<Timestamp>,
        amount: Option<f64>,
        occurrence_id: Option<&str>,
    ) -> Result<LoggedDose> {
        let m = self.loaded_medication(medication_id)?;
        let taken_at = taken_at.unwrap_or(now);
        if taken_at > shift(now, SignedDuration::from_mins(5)) {
            return Err(Error::invalid(
                "taken_at",
                "a dose cannot be taken in the future",
            ));
        }
        if let Some(a) = amount
            && !(a.is_finite() && a > 0.0)
        {
            return Err(Error::invalid("amount", "must be more than zero"));
        }
        let target = match occurrence_id {
            Some(id) => Some(self.find_occurrence(&m, zone, id, taken_at)?),
            None => self.match_occurrence(&m, zone, taken_at)?,
        };
        let mut w = self.writer()?;
        let result = match target {
            Some(t) => {
                let id = t.write_log(
                    &mut w,
                    medication_id,
                    "taken",
                    [
                        ("taken_at", Value::from(ms(taken_at))),
                        ("amount", Value::from(amount.unwrap_or(t.occ.dose))),
                    ],
                    now,
                )?;
                let row = DoseRow {
                    status: Logged::Taken,
                    taken_at: Some(ms(taken_at)),
                    snoozed_until: None,
                };
                let status = status_of(t.occ.at, m.compiled.late_window, Some(&row), now);
                t.logged(medication_id, id, status)
            }
            None => {
                let day = m.compiled.zone(zone).to_datetime(taken_at).date();
                let warnings = match m.compiled.as_needed_on(day) {
                    Some(rules) => self.as_needed_warnings(medication_id, taken_at, rules)?,
                    None => Vec::new(),
                };
                let default_amount = m
                    .compiled
                    .phases
                    .iter()
                    .rev()
                    .find(|p| p.start <= day)
                    .or(m.compiled.phases.first())
                    .map_or(1.0, |p| p.dose);
                let id = new_id();
                w.set_all(
                    &DOSE,
                    &id,
                    [
                        ("medication_id", Value::from(medication_id)),
                        ("scheduled_at", Value::from(ms(taken_at))),
                        ("status", Value::from("taken")),
                        ("taken_at", Value::from(ms(taken_at))),
                        ("amount", Value::from(amount.unwrap_or(default_amount))),
                        ("recorded_at", Value::from(ms(now))),
                    ],
                )?;
                LoggedDose {
                    dose_id: id,
                    occurrence_id: None,
                    scheduled_at: None,
                    status: DoseStatus::Taken,
                    warnings,
                }
            }
        };
        w.commit()?;
        Ok(result)
    }

    /// Logs a scheduled dose as skipped (`occurrence_id`, or the one due now). The reason is the
    /// patient's own words; it is stored, never logged.
    pub fn skip_dose(
        &self,
        medication_id: &str,
        occurrence_id: Option<&str>,
        reason: Option<&str>,
    ) -> Result<LoggedDose> {
        let now = self.clock().now_zoned();
        self.skip_dose_at(
            now.timestamp(),
            now.time_zone(),
            medication_id,
            occurrence_id,
            reason,
        )
    }

    /// [`Store::skip_dose`] with an explicit instant and device zone.
    pub(crate) fn skip_dose_at(
        &self,
        now: Timestamp,
        zone: &TimeZone,
        medication_id: &str,
        occurrence_id: Option<&str>,
        reason: Option<&str>,
    ) -> Result<LoggedDose> {
        if let Some(reason) = reason {
            check_length("reason", reason.trim(), MAX_REASON)?;
        }
        let m = self.loaded_medication(medication_id)?;
        let t = self.target(&m, zone, occurrence_id, now)?;
        let mut w = self.writer()?;
        let reason = reason
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map_or(Value::Null, Value::from);
        let id = t.write_log(&mut w, medication_id, "skipped", [("reason", reason)], now)?;
        w.commit()?;
        Ok(t.logged(medication_id, id, DoseStatus::Skipped))
    }

    /// Snoozes a scheduled dose (`occurrence_id`, or the one due now) for `minutes`.
    pub fn snooze_dose(
        &self,
        medication_id: &str,
        occurrence_id: Option<&str>,
        minutes: u32,
    ) -> Result<LoggedDose> {
        let now = self.clock().now_zoned();
        self.snooze_dose_at(
            now.timestamp(),
            now.time_zone(),
            medication_id,
            occurrence_id,
            minutes,
        )
    }

    /// [`Store::snooze_dose`] with an explicit instant and device zone.
    pub(crate) fn snooze_dose_at(
        &self,
        now: Timestamp,
        zone: &TimeZone,
        medication_id: &str,
        occurrence_id: Option<&str>,
        minutes: u32,
    ) -> Result<LoggedDose> {
        if minutes == 0 || minutes > 24 * 60 {
            return Err(Error::invalid("minutes", "snooze for 1 minute to 24 hours"));
        }
        let m = self.loaded_medication(medication_id)?;
        let t = self.target(&m, zone, occurrence_id, now)?;
        let until = shift(now, SignedDuration::from_mins(i64::from(minutes)));
        let mut w = self.writer()?;
        let details = [("snoozed_until", Value::from(ms(until)))];
        let id = t.write_log(&mut w, medication_id, "snoozed", details, now)?;
        w.commit()?;
        Ok(t.logged(medication_id, id, DoseStatus::Snoozed))
    }

    /// The occurrence a skip or snooze is about: the one named, or the one due at `now`.
    fn target(
        &self,
        m: &Loaded,
        zone: &TimeZone,
        occurrence_id: Option<&str>,
        now: Timestamp,
    ) -> Result<Target> {
        match occurrence_id {
            Some(id) => self.find_occurrence(m, zone, id, now),
            None => self.match_occurrence(m, zone, now)?.ok_or_else(|| {
                Error::invalid(
                    "occurrence",
                    "no dose of this medication is due now; name the occurrence",
                )
            }),
        }
    }

    /// The occurrence with id `id`, searched from a week before `around` to two days after.
    fn find_occurrence(
        &self,
        m: &Loaded,
        zone: &TimeZone,
        id: &str,
        around: Timestamp,
    ) -> Result<Target> {
        let mut occs = Vec::new();
        expand_into(
            &m.compiled,
            zone,
            shift(around, SignedDuration::from_hours(-24 * 8)),
            shift(around, SignedDuration::from_hours(48)),
            &mut occs,
        );
        occs.into_iter()
            .find(|o| o.id(&m.med.id) == id)
            .map(|occ| Target {
                key: occ.key(),
                occ,
            })
            .ok_or(Error::NotFound {
                entity: "dose occurrence",
            })
    }

    /// The occurrence a dose taken at `at` was meant for (see the module documentation).
    fn match_occurrence(
        &self,
        m: &Loaded,
        zone: &TimeZone,
        at: Timestamp,
    ) -> Result<Option<Target>> {
        let late = m.compiled.late_window;
        let mut occs = Vec::new();
        let margin = late + SignedDuration::from_hours(36);
        expand_into(
            &m.compiled,
            zone,
            shift(at, -margin),
            shift(at, margin),
            &mut occs,
        );
        let open = |o: &Occ| -> Result<bool> {
            Ok(self
                .dose_row(&dose_id(&m.med.id, &o.key()))?
                .is_none_or(|r| !r.settled()))
        };
        // 1. The most recent overdue occurrence still inside its late window.
        for o in occs
            .iter()
            .rev()
            .filter(|o| o.at <= at && at <= shift(o.at, late))
        {
            if open(o)? {
                return Ok(Some(Target {
                    key: o.key(),
                    occ: *o,
                }));
            }
        }
        // 2. The next occurrence, slightly early.
        if let Some(i) = occs.iter().position(|o| o.at > at) {
            let o = occs[i];
            let mut window = late;
            if i > 0 {
                window = window.min(o.at.duration_since(occs[i - 1].at) / 2);
            }
            if o.at.duration_since(at) <= window && open(&o)? {
                return Ok(Some(Target {
                    key: o.key(),
                    occ: o,
                }));
            }
        }
        Ok(None)
    }

    /// Withdraws a logged dose (a mistaken tap): the record stays, marked `undone`, and the
    /// occurrence reads as not logged again. Dose records are never deleted: a tombstone is
    /// permanent, and a scheduled dose's id is fixed, so a deleted dose could never be logged
    /// again.
    pub fn undo_dose(&self, dose_id: &str) -> Result<()> {
        let exists = self
            .conn()
            .query_row(
                "SELECT 1 FROM dose_log WHERE id = ?1 AND status IS NOT NULL",
                [dose_id],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if !exists {
            return Err(Error::NotFound { entity: "dose" });
        }
        let now = self.clock().now();
        let mut w = self.writer()?;
        w.set(&DOSE, dose_id, "status", Value::from("undone"))?;
        w.set(&DOSE, dose_id, "recorded_at", Value::from(ms(now)))?;
        w.commit()
    }

    /// When `medication_id` was last taken, if ever.
    pub fn last_taken(&self, medication_id: &str) -> Result<Option<Timestamp>> {
        let last: Option<i64> = self.conn().query_row(
            "SELECT max(taken_at) FROM dose_log WHERE medication_id = ?1 AND status = 'taken'",
            [medication_id],
            |r| r.get(0),
        )?;
        last.map(|t| from_ms("taken_at", t)).transpose()
    }
}
