//! As-needed (PRN) doses: the minimum gap between two doses and the cap per period, checked
//! when a dose is logged or before it is taken. A dose that breaks them is still recorded (the
//! patient took it); the warnings say what it broke.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use rusqlite::params;
use serde::Serialize;

use super::calendar::instant_at;
use crate::error::{Error, Result};
use crate::store::Store;

/// A warning the UI shows when an as-needed dose is logged (the dose is still recorded: the
/// patient took it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum AsNeededWarning {
    /// Less than the minimum gap since the last dose.
    TooSoon {
        /// When the previous dose was taken.
        last_taken_at: Timestamp,
        /// The earliest time the next dose was allowed.
        next_allowed_at: Timestamp,
    },
    /// More doses than the cap allows in its period (counting this one).
    OverCap {
        /// Doses in the period, this one included.
        doses_in_period: u32,
        /// The cap.
        max_doses: u32,
        /// The cap's period, in hours.
        period_hours: u32,
    },
}

impl Store {
    /// What logging an as-needed dose at `at` (default: now) would warn about (gap, cap),
    /// without logging it.
    pub fn check_as_needed(
        &self,
        medication_id: &str,
        at: Option<Timestamp>,
    ) -> Result<Vec<AsNeededWarning>> {
        let now = self.clock().now_zoned();
        self.check_as_needed_at(
            now.time_zone(),
            medication_id,
            at.unwrap_or(now.timestamp()),
        )
    }

    /// What logging an as-needed dose at `at` would warn about in `zone`.
    pub(crate) fn check_as_needed_at(
        &self,
        zone: &TimeZone,
        medication_id: &str,
        at: Timestamp,
    ) -> Result<Vec<AsNeededWarning>> {
        let m = self.loaded_medication(medication_id)?;
        let day = m.compiled.zone(zone).to_datetime(at).date();
        let rules = m
            .compiled
            .as_needed_on(day)
            .ok_or_else(|| Error::invalid("medication", "not taken as needed on that day"))?;
        // Counts the dose about to be taken, as logging it would.
        self.as_needed_warnings(medication_id, at, rules)
    }

    /// The gap and cap warnings for a dose taken at `at` (not yet recorded).
    pub(crate) fn as_needed_warnings(
        &self,
        medication_id: &str,
        at: Timestamp,
        (min_gap, max_doses, period): (SignedDuration, u32, SignedDuration),
    ) -> Result<Vec<AsNeededWarning>> {
        let mut warnings = Vec::new();
        let at = at.as_millisecond();
        let period_start = at - period.as_millis() as i64;
        let mut stmt = self.conn().prepare_cached(
            "SELECT taken_at FROM dose_log
             WHERE medication_id = ?1 AND status = 'taken' AND taken_at > ?2 AND taken_at <= ?3
             ORDER BY taken_at",
        )?;
        let lookback = period_start.min(at - min_gap.as_millis() as i64 - 1);
        let taken: Vec<i64> = stmt
            .query_map(params![medication_id, lookback, at], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        if let Some(&last) = taken.last() {
            let next = last + min_gap.as_millis() as i64;
            if at < next {
                warnings.push(AsNeededWarning::TooSoon {
                    last_taken_at: instant_at(last),
                    next_allowed_at: instant_at(next),
                });
            }
        }
        let in_period = taken.iter().filter(|&&t| t > period_start).count() as u32 + 1;
        if in_period > max_doses {
            warnings.push(AsNeededWarning::OverCap {
                doses_in_period: in_period,
                max_doses,
                period_hours: period.as_hours() as u32,
            });
        }
        Ok(warnings)
    }
}
