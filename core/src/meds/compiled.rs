//! A regimen checked and turned into civil types: the form occurrences are expanded from.
//!
//! [`compile_timing`] checks one timing and turns its `HH:MM` texts and day counts into times
//! and durations; `compile` (one floor up) checks the whole medication and chains its phases.

use std::collections::BTreeMap;

use jiff::SignedDuration;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;

use super::regimen::{MAX_TIMES_PER_DAY, Timing, parse_time};
use crate::error::{Error, Result};

/// A checked timing, in civil types.
#[derive(Debug, Clone)]
pub(crate) enum CTiming {
    Times {
        times: Vec<Time>,
        /// Bit `i` set: day `i` (Monday = 0) applies.
        days: u8,
    },
    EveryDays {
        every: i64,
        times: Vec<Time>,
    },
    EveryHours {
        every: SignedDuration,
        anchor: Time,
    },
    Cycle {
        on: i64,
        off: i64,
        times: Vec<Time>,
        cycles: Option<u32>,
    },
    AsNeeded {
        min_gap: SignedDuration,
        max_doses: u32,
        period: SignedDuration,
    },
}

/// A checked phase.
#[derive(Debug, Clone)]
pub(crate) struct CPhase {
    pub(crate) index: u16,
    pub(crate) dose: f64,
    pub(crate) timing: CTiming,
    pub(crate) start: Date,
    pub(crate) end: Option<Date>,
    pub(crate) count: Option<u32>,
}

/// A checked medication, ready to expand.
#[derive(Debug, Clone)]
pub(crate) struct Compiled {
    /// `None` for wall clock; the home zone for fixed zone.
    pub(crate) fixed_zone: Option<TimeZone>,
    pub(crate) late_window: SignedDuration,
    pub(crate) phases: Vec<CPhase>,
    /// `(phase, cycle)` -> its postponed cycle day 1.
    pub(crate) cycle_starts: BTreeMap<(u16, u32), Date>,
}

impl Compiled {
    /// The zone the times are read in, given the device's zone.
    pub(crate) fn zone<'a>(&'a self, device: &'a TimeZone) -> &'a TimeZone {
        self.fixed_zone.as_ref().unwrap_or(device)
    }

    /// The as-needed rules, if the medication has an as-needed phase active on `day`.
    pub(crate) fn as_needed_on(&self, day: Date) -> Option<(SignedDuration, u32, SignedDuration)> {
        self.phases.iter().find_map(|p| match p.timing {
            CTiming::AsNeeded {
                min_gap,
                max_doses,
                period,
            } if p.start <= day && p.end.is_none_or(|e| day <= e) => {
                Some((min_gap, max_doses, period))
            }
            _ => None,
        })
    }
}

fn times(field: &'static str, list: &[String]) -> Result<Vec<Time>> {
    if list.is_empty() {
        return Err(Error::invalid(field, "at least one time of day is needed"));
    }
    if list.len() > MAX_TIMES_PER_DAY {
        return Err(Error::invalid(field, "at most 48 times of day"));
    }
    let mut out = list
        .iter()
        .map(|t| parse_time(field, t))
        .collect::<Result<Vec<_>>>()?;
    out.sort();
    let before = out.len();
    out.dedup();
    if out.len() != before {
        return Err(Error::invalid(field, "the same time is listed twice"));
    }
    Ok(out)
}

fn positive(field: &'static str, value: u32) -> Result<i64> {
    if value == 0 {
        return Err(Error::invalid(field, "must be at least 1"));
    }
    Ok(i64::from(value))
}

/// Checks a timing.
pub(crate) fn compile_timing(timing: &Timing) -> Result<CTiming> {
    Ok(match timing {
        Timing::TimesOfDay {
            times: t,
            days_of_week,
        } => {
            let days = if days_of_week.is_empty() {
                0x7f
            } else {
                days_of_week.iter().fold(0u8, |m, d| m | (1 << d.index()))
            };
            CTiming::Times {
                times: times("times", t)?,
                days,
            }
        }
        Timing::EveryNDays {
            every_days,
            times: t,
        } => {
            let every = positive("every_days", *every_days)?;
            if every > 3660 {
                return Err(Error::invalid("every_days", "at most ten years"));
            }
            CTiming::EveryDays {
                every,
                times: times("times", t)?,
            }
        }
        Timing::EveryNHours {
            every_hours,
            anchor,
        } => {
            let every = positive("every_hours", *every_hours)?;
            if every > 24 * 366 {
                return Err(Error::invalid("every_hours", "at most a year"));
            }
            CTiming::EveryHours {
                every: SignedDuration::from_hours(every),
                anchor: parse_time("anchor", anchor)?,
            }
        }
        Timing::Cycle {
            days_on,
            days_off,
            times: t,
            cycles,
        } => {
            let on = positive("days_on", *days_on)?;
            if on > 3660 || i64::from(*days_off) > 3660 {
                return Err(Error::invalid("days_on", "cycles are at most ten years"));
            }
            if *cycles == Some(0) {
                return Err(Error::invalid("cycles", "must be at least 1"));
            }
            CTiming::Cycle {
                on,
                off: i64::from(*days_off),
                times: times("times", t)?,
                cycles: *cycles,
            }
        }
        Timing::AsNeeded {
            min_gap_minutes,
            max_doses,
            period_hours,
        } => {
            if *max_doses == 0 {
                return Err(Error::invalid(
                    "max_doses",
                    "the cap must allow at least one dose",
                ));
            }
            let period = positive("period_hours", *period_hours)?;
            if u64::from(*min_gap_minutes) > 24 * 60 * 31 {
                return Err(Error::invalid("min_gap_minutes", "at most 31 days"));
            }
            CTiming::AsNeeded {
                min_gap: SignedDuration::from_mins(i64::from(*min_gap_minutes)),
                max_doses: *max_doses,
                period: SignedDuration::from_hours(period),
            }
        }
    })
}
