//! Adherence over a date range, and stock with refill alerts.
//!
//! Adherence counts scheduled doses only (as-needed and extra doses are not a schedule to keep):
//! taken on time, taken late, skipped, missed, and those not yet decided (pending). The
//! percentage is taken (on time or late) over the decided ones. A dose whose late window had
//! closed before the medication was added is not tracked: left out unless someone logs it
//! (docs/adr/0004).
//!
//! Stock is never decremented in place: the remaining supply is the last count minus the amounts
//! of the doses taken since, so two devices logging at once cannot lose a decrement.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, civil::Date};
use rusqlite::params;
use serde::Serialize;

use super::calendar::{add_days, days_between, shift, start_of_day};
use super::dose_log::{DoseStatus, status_of};
use super::medication::Loaded;
use super::occurrence::{Occ, expand_into};
use crate::error::{Error, Result};
use crate::store::Store;

/// Counts of scheduled doses by outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct AdherenceCounts {
    /// Scheduled doses in the range.
    pub scheduled: u32,
    /// Taken within the on-time window.
    pub taken_on_time: u32,
    /// Taken later than that.
    pub taken_late: u32,
    /// Skipped on purpose.
    pub skipped: u32,
    /// Not logged by the end of their late window.
    pub missed: u32,
    /// Not decided yet (upcoming, due, snoozed).
    pub pending: u32,
    /// Taken (on time or late) as a percentage of the decided doses; none when none are decided.
    pub percent: Option<f64>,
}

impl AdherenceCounts {
    fn add(&mut self, status: DoseStatus) {
        self.scheduled += 1;
        match status {
            DoseStatus::Taken => self.taken_on_time += 1,
            DoseStatus::TakenLate => self.taken_late += 1,
            DoseStatus::Skipped => self.skipped += 1,
            DoseStatus::Missed => self.missed += 1,
            DoseStatus::Upcoming | DoseStatus::Due | DoseStatus::Snoozed => self.pending += 1,
        }
    }

    fn merge(&mut self, other: &AdherenceCounts) {
        self.scheduled += other.scheduled;
        self.taken_on_time += other.taken_on_time;
        self.taken_late += other.taken_late;
        self.skipped += other.skipped;
        self.missed += other.missed;
        self.pending += other.pending;
    }

    fn finish(&mut self) {
        let taken = self.taken_on_time + self.taken_late;
        let decided = taken + self.skipped + self.missed;
        self.percent = (decided > 0).then(|| f64::from(taken) * 100.0 / f64::from(decided));
    }
}

/// One medication's adherence.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct MedicationAdherence {
    /// The medication.
    pub medication_id: String,
    /// Its name.
    pub medication_name: String,
    /// Its counts.
    pub counts: AdherenceCounts,
}

/// Adherence over a date range, per medication and overall.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Adherence {
    /// The first day, `YYYY-MM-DD`.
    pub from: String,
    /// The last day (inclusive), `YYYY-MM-DD`.
    pub to: String,
    /// Per medication with scheduled doses, by name.
    pub per_medication: Vec<MedicationAdherence>,
    /// All medications together.
    pub overall: AdherenceCounts,
}

/// A medication's supply.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct RefillStatus {
    /// The medication.
    pub medication_id: String,
    /// Its name.
    pub medication_name: String,
    /// Units left: the last count minus the doses taken since.
    pub remaining: f64,
    /// Units used per day: scheduled over the next four weeks, or as-needed use over the last four.
    pub daily_use: f64,
    /// Days of supply left; none when nothing is used.
    pub days_left: Option<f64>,
    /// The alert threshold in days, if set.
    pub threshold_days: Option<u32>,
    /// Whether the supply has fallen below the threshold.
    pub needs_refill: bool,
}

const FOUR_WEEKS: SignedDuration = SignedDuration::from_hours(24 * 28);

impl Store {
    /// Adherence over the days `from..=to` in the device's zone, as of now.
    pub fn adherence(&self, from: Date, to: Date) -> Result<Adherence> {
        let now = self.clock().now_zoned();
        self.adherence_at(now.timestamp(), now.time_zone(), from, to)
    }

    /// Adherence over the days `from..=to` in `zone`, as of `now`.
    ///
    /// Wall-clock medications are read in `zone` for the whole range (the zone history of past
    /// days is not kept); occurrences are matched to the log by key, so travel does not turn a
    /// taken dose into a missed one.
    pub(crate) fn adherence_at(
        &self,
        now: Timestamp,
        zone: &TimeZone,
        from: Date,
        to: Date,
    ) -> Result<Adherence> {
        if to < from {
            return Err(Error::invalid("to", "the range ends before it starts"));
        }
        if days_between(from, to) > 366 * 5 {
            return Err(Error::invalid("to", "at most five years at a time"));
        }
        let start = start_of_day(zone, from);
        let end = start_of_day(zone, add_days(to, 1));
        let meds = self.loaded_medications()?;
        let rows = self.dose_rows(start, end)?;
        let mut overall = AdherenceCounts::default();
        let mut per_medication = Vec::new();
        let mut occs: Vec<Occ> = Vec::new();
        for m in &meds {
            occs.clear();
            expand_into(&m.compiled, zone, start, end, &mut occs);
            if occs.is_empty() {
                continue;
            }
            let mut counts = AdherenceCounts::default();
            let med_rows = rows.of_medication(&m.med.id);
            for o in &occs {
                let row = med_rows.and_then(|r| r.get(&o.packed_key()));
                // Due before the medication was added and not logged since: not tracked, so
                // neither scheduled nor missed. A backfilled dose counts as any other.
                if m.untracked(o.at, row.is_some_and(|r| r.settled())) {
                    continue;
                }
                let status = status_of(o.at, m.compiled.late_window, row, now);
                counts.add(status);
            }
            if counts.scheduled == 0 {
                continue;
            }
            overall.merge(&counts);
            counts.finish();
            per_medication.push(MedicationAdherence {
                medication_id: m.med.id.clone(),
                medication_name: m.med.name.clone(),
                counts,
            });
        }
        overall.finish();
        Ok(Adherence {
            from: from.to_string(),
            to: to.to_string(),
            per_medication,
            overall,
        })
    }

    /// The supply of every medication whose stock is tracked.
    pub fn refill_status(&self) -> Result<Vec<RefillStatus>> {
        let now = self.clock().now_zoned();
        self.refill_status_at(now.timestamp(), now.time_zone())
    }

    /// [`Store::refill_status`] as of `now` in `zone`.
    pub(crate) fn refill_status_at(
        &self,
        now: Timestamp,
        zone: &TimeZone,
    ) -> Result<Vec<RefillStatus>> {
        let mut out = Vec::new();
        for m in self.loaded_medications()? {
            if let Some(s) = self.refill_of(&m, now, zone)? {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// Units taken of `medication_id` in `[since, until]` (ms).
    fn units_taken(&self, medication_id: &str, since: i64, until: i64) -> Result<f64> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT total(amount) FROM dose_log
             WHERE medication_id = ?1 AND status = 'taken' AND taken_at >= ?2 AND taken_at <= ?3",
        )?;
        Ok(stmt.query_row(params![medication_id, since, until], |r| r.get(0))?)
    }

    /// The supply of one medication, if its stock is tracked.
    pub(crate) fn refill_of(
        &self,
        m: &Loaded,
        now: Timestamp,
        zone: &TimeZone,
    ) -> Result<Option<RefillStatus>> {
        let (Some(stock), Some(counted)) = (m.med.stock, m.med.stock_counted_at) else {
            return Ok(None);
        };
        let taken = self.units_taken(&m.med.id, counted.as_millisecond(), now.as_millisecond())?;
        let remaining = (stock - taken).max(0.0);
        // The rate is read over four weeks from the start of today, not from `now`, so it (and a
        // refill alert planned from it) stays put while the day's doses are taken.
        let day_start = start_of_day(zone, zone.to_datetime(now).date());
        let mut occs = Vec::new();
        expand_into(
            &m.compiled,
            zone,
            day_start,
            shift(day_start, FOUR_WEEKS),
            &mut occs,
        );
        let scheduled: f64 = occs.iter().map(|o| o.dose).sum();
        let daily_use = if scheduled > 0.0 {
            scheduled / 28.0
        } else {
            let past = shift(now, -FOUR_WEEKS);
            self.units_taken(&m.med.id, past.as_millisecond(), now.as_millisecond())? / 28.0
        };
        let days_left = (daily_use > 0.0).then(|| remaining / daily_use);
        let needs_refill = match (m.med.refill_threshold_days, days_left) {
            (Some(t), Some(d)) => d < f64::from(t),
            (Some(_), None) => remaining <= 0.0,
            _ => false,
        };
        Ok(Some(RefillStatus {
            medication_id: m.med.id.clone(),
            medication_name: m.med.name.clone(),
            remaining,
            daily_use,
            days_left,
            threshold_days: m.med.refill_threshold_days,
            needs_refill,
        }))
    }
}
