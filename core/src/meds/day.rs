//! The day view: the scheduled doses of a day or a window, each joined with its dose-log record
//! and where it stands now, as the "today" screen shows them.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Serialize;

use super::calendar::{add_days, instant_at, start_of_day};
use super::dose_log::{DoseRows, DoseStatus, Logged, status_of};
use super::medication::Loaded;
use super::occurrence::{Occ, dose_id, expand_into, occurrence_id};
use crate::error::Result;
use crate::store::Store;

/// A scheduled dose as the "today" screen shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DoseOccurrence {
    /// The occurrence's stable id (the same on every device).
    pub id: String,
    /// The id its dose-log record has (or will have).
    pub dose_id: String,
    /// The medication.
    pub medication_id: String,
    /// The medication's name.
    pub medication_name: String,
    /// The phase's position in the regimen.
    pub phase: u32,
    /// The occurrence key: phase and scheduled local time.
    pub key: String,
    /// When it is due.
    pub scheduled_at: Timestamp,
    /// When it is due on the device's clock, RFC 9557 (`2026-03-08T08:00:00-05:00[America/New_York]`).
    pub scheduled_local: String,
    /// The amount due.
    pub dose: f64,
    /// The unit of the amount.
    pub unit: String,
    /// Where it stands.
    pub status: DoseStatus,
    /// When it was taken, if it was.
    pub taken_at: Option<Timestamp>,
    /// Until when it is snoozed, if it is.
    pub snoozed_until: Option<Timestamp>,
}

impl Store {
    /// The scheduled doses of the device's today, in order.
    pub fn doses_today(&self) -> Result<Vec<DoseOccurrence>> {
        let now = self.clock().now_zoned();
        self.doses_on_at(now.timestamp(), now.time_zone(), now.date())
    }

    /// The doses of `day` in the device's zone, with their status now.
    pub fn doses_on(&self, day: Date) -> Result<Vec<DoseOccurrence>> {
        let now = self.clock().now_zoned();
        self.doses_on_at(now.timestamp(), now.time_zone(), day)
    }

    /// The scheduled doses due in `[from, to)`, with their status now.
    pub fn doses_between(&self, from: Timestamp, to: Timestamp) -> Result<Vec<DoseOccurrence>> {
        let now = self.clock().now_zoned();
        self.doses_between_at(now.timestamp(), now.time_zone(), from, to)
    }

    /// The scheduled doses due on `day` in `zone`, with their status as of `now`.
    pub(crate) fn doses_on_at(
        &self,
        now: Timestamp,
        zone: &TimeZone,
        day: Date,
    ) -> Result<Vec<DoseOccurrence>> {
        let from = start_of_day(zone, day);
        let to = start_of_day(zone, add_days(day, 1));
        self.doses_between_at(now, zone, from, to)
    }

    /// The scheduled doses due in `[from, to)`, with their status as of `now`.
    pub(crate) fn doses_between_at(
        &self,
        now: Timestamp,
        zone: &TimeZone,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<DoseOccurrence>> {
        let meds = self.loaded_medications()?;
        let rows = self.dose_rows(from, to)?;
        let mut out = Vec::new();
        let mut occs = Vec::new();
        for m in &meds {
            occs.clear();
            expand_into(&m.compiled, zone, from, to, &mut occs);
            for o in &occs {
                // Due before the medication was added and never logged: not shown, so it can
                // be neither overdue nor missed. Once backfilled it shows as logged.
                if m.untracked(o.at, rows.get(&m.med.id, o).is_some_and(|r| r.settled())) {
                    continue;
                }
                out.push(occurrence_view(m, o, &rows, now, zone));
            }
        }
        out.sort_by(|a, b| {
            (a.scheduled_at, &a.medication_name, &a.key).cmp(&(
                b.scheduled_at,
                &b.medication_name,
                &b.key,
            ))
        });
        Ok(out)
    }
}

/// One occurrence joined with its log row, for the screens.
fn occurrence_view(
    m: &Loaded,
    o: &Occ,
    rows: &DoseRows,
    now: Timestamp,
    zone: &TimeZone,
) -> DoseOccurrence {
    let key = o.key();
    let row = rows.get(&m.med.id, o);
    let unit = m
        .med
        .phases
        .get(o.phase as usize)
        .map(|p| p.unit.clone())
        .unwrap_or_default();
    DoseOccurrence {
        id: occurrence_id(&m.med.id, &key),
        dose_id: dose_id(&m.med.id, &key),
        medication_id: m.med.id.clone(),
        medication_name: m.med.name.clone(),
        phase: u32::from(o.phase),
        scheduled_at: o.at,
        scheduled_local: o.at.to_zoned_datetime(zone.clone()).to_string(),
        dose: o.dose,
        unit,
        status: status_of(o.at, m.compiled.late_window, row, now),
        // An undone log keeps its row (so the same dose id is logged again); what it said is
        // shown only while it stands.
        taken_at: row
            .filter(|r| r.status == Logged::Taken)
            .and_then(|r| r.taken_at)
            .map(instant_at),
        snoozed_until: row
            .filter(|r| r.status == Logged::Snoozed)
            .and_then(|r| r.snoozed_until)
            .map(instant_at),
        key,
    }
}
