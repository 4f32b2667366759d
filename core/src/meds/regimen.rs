//! The regimen model: a medication's phases and their timings, validated and compiled.
//!
//! Aligned with FHIR `Dosage`/`Timing` where it can be: phases follow `Dosage.sequence` (one after
//! the other: tapering is several phases), a timing is `Timing.repeat` (`timeOfDay`, `dayOfWeek`,
//! `frequency`/`period`, `bounds`, `count`), and as-needed is `asNeeded` with
//! `maxDosePerPeriod`. FHIR has no cycle primitive; a cycle is its own timing here and exports to
//! FHIR as phases with bounds.
//!
//! The public types carry plain strings (`"08:00"`, `"2026-03-01"`, IANA names) so they cross the
//! FFI unchanged; `compile` checks them against the limits here and turns them into the civil
//! types expansion uses.

use jiff::Timestamp;
use jiff::civil::{Date, Time};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A day of the week (FHIR `dayOfWeek` codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum DayOfWeek {
    /// Monday.
    Mon,
    /// Tuesday.
    Tue,
    /// Wednesday.
    Wed,
    /// Thursday.
    Thu,
    /// Friday.
    Fri,
    /// Saturday.
    Sat,
    /// Sunday.
    Sun,
}

impl DayOfWeek {
    /// Every day, Monday first.
    pub const ALL: [DayOfWeek; 7] = [
        DayOfWeek::Mon,
        DayOfWeek::Tue,
        DayOfWeek::Wed,
        DayOfWeek::Thu,
        DayOfWeek::Fri,
        DayOfWeek::Sat,
        DayOfWeek::Sun,
    ];

    /// Monday is 0.
    pub fn index(self) -> u8 {
        self as u8
    }

    /// The FHIR / iCalendar two-or-three-letter code, lower case (`mon`).
    pub fn code(self) -> &'static str {
        ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][self as usize]
    }

    /// Parses `mon`, `Monday`, `MO`, … (case-insensitive).
    pub fn parse(text: &str) -> Option<DayOfWeek> {
        let t = text.trim().to_ascii_lowercase();
        let prefix = t.get(..2)?;
        Some(match prefix {
            "mo" => DayOfWeek::Mon,
            "tu" => DayOfWeek::Tue,
            "we" => DayOfWeek::Wed,
            "th" => DayOfWeek::Thu,
            "fr" => DayOfWeek::Fri,
            "sa" => DayOfWeek::Sat,
            "su" => DayOfWeek::Sun,
            _ => return None,
        })
    }
}

/// When the doses of one phase are due.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Timing {
    /// At fixed times of day (`"08:00"`), every day, or only on `days_of_week` when not empty.
    TimesOfDay {
        /// Local times of day, `HH:MM`.
        times: Vec<String>,
        /// The days it applies to; empty means every day.
        days_of_week: Vec<DayOfWeek>,
    },
    /// Every `every_days` days counted from the phase's start, at fixed times.
    EveryNDays {
        /// The interval in days (1 = daily).
        every_days: u32,
        /// Local times of day, `HH:MM`.
        times: Vec<String>,
    },
    /// Every `every_hours` hours of elapsed time from `anchor` on the phase's start date.
    /// Elapsed, not wall-clock: a DST change does not stretch or shorten the interval.
    EveryNHours {
        /// The interval in hours.
        every_hours: u32,
        /// The first dose's local time on the start date, `HH:MM`.
        anchor: String,
    },
    /// Cycles of `days_on` days with doses at `times`, then `days_off` days without. Cycle day 1
    /// of the first cycle is the phase's start; a postponed cycle moves every later one.
    Cycle {
        /// Days with doses in each cycle.
        days_on: u32,
        /// Rest days after them.
        days_off: u32,
        /// Local times of day on the days on, `HH:MM`.
        times: Vec<String>,
        /// How many cycles; none means until the phase ends.
        cycles: Option<u32>,
    },
    /// As needed (PRN): no reminders; logging checks the gap and the cap.
    AsNeeded {
        /// The least time between two doses, in minutes.
        min_gap_minutes: u32,
        /// The most doses in any window of `period_hours`.
        max_doses: u32,
        /// The window of the cap, in hours.
        period_hours: u32,
    },
}

/// One phase of a regimen: a dose with a timing, from a start date to an end date or a count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Phase {
    /// The amount per dose, in `unit`.
    pub dose: f64,
    /// The unit of `dose` (`tablet`, `mg`, `ml`).
    pub unit: String,
    /// When the doses are due.
    pub timing: Timing,
    /// The first day of the phase (`YYYY-MM-DD`), in the medication's zone.
    pub start: String,
    /// The last day of the phase, inclusive; none means open-ended (or bounded by `count`).
    pub end: Option<String>,
    /// The number of doses the phase has in total; none means bounded by `end` only.
    pub count: Option<u32>,
}

/// Which zone a medication's times of day are read in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum TimeZonePolicy {
    /// 08:00 wherever the patient is: follows the device's zone.
    WallClock,
    /// Keeps the times of the home zone when travelling (for drugs where the interval matters).
    FixedZone {
        /// The IANA zone the times are read in.
        zone: String,
    },
}

/// A postponed cycle: cycle `cycle` (0 = the first) of phase `phase` starts on `start` instead;
/// every later cycle follows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct CycleStart {
    /// The phase's position in the regimen (0-based).
    pub phase: u32,
    /// The cycle's number within the phase (0-based).
    pub cycle: u32,
    /// Its new cycle day 1 (`YYYY-MM-DD`).
    pub start: String,
}

/// A medication and its regimen.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Medication {
    /// Its id; leave empty when adding a new one.
    pub id: String,
    /// The name the patient knows it by.
    pub name: String,
    /// Strength, e.g. `500 mg`.
    pub strength: String,
    /// Form, e.g. `tablet`.
    pub form: String,
    /// Route, e.g. `oral`.
    pub route: String,
    /// How to take it, e.g. `with food`.
    pub instructions: String,
    /// Who prescribed it.
    pub prescriber: String,
    /// An optional coded identity (RxNorm, SNOMED CT, dm+d), as `system|code`.
    pub code: Option<String>,
    /// Wall clock or fixed zone.
    pub time_zone_policy: TimeZonePolicy,
    /// After how many minutes past its time an untaken dose counts as missed.
    pub late_window_minutes: u32,
    /// Units on hand when last counted (none: not tracked).
    pub stock: Option<f64>,
    /// When the stock was counted (set by the store).
    pub stock_counted_at: Option<Timestamp>,
    /// Alert when fewer than this many days of supply remain.
    pub refill_threshold_days: Option<u32>,
    /// The phases, in sequence.
    pub phases: Vec<Phase>,
    /// Postponed cycles.
    pub cycle_starts: Vec<CycleStart>,
}

impl Medication {
    /// A medication with only a name and phases; everything else empty or default
    /// (wall clock, a 2-hour late window, stock not tracked).
    pub fn new(name: &str, phases: Vec<Phase>) -> Medication {
        Medication {
            id: String::new(),
            name: name.to_owned(),
            strength: String::new(),
            form: String::new(),
            route: String::new(),
            instructions: String::new(),
            prescriber: String::new(),
            code: None,
            time_zone_policy: TimeZonePolicy::WallClock,
            late_window_minutes: DEFAULT_LATE_WINDOW_MINUTES,
            stock: None,
            stock_counted_at: None,
            refill_threshold_days: None,
            phases,
            cycle_starts: Vec::new(),
        }
    }

    /// Whether every phase is as-needed (no scheduled doses).
    pub fn is_as_needed(&self) -> bool {
        self.phases
            .iter()
            .all(|p| matches!(p.timing, Timing::AsNeeded { .. }))
    }
}

/// The late window when none is given: two hours.
pub const DEFAULT_LATE_WINDOW_MINUTES: u32 = 120;
/// A dose taken within this many minutes of its time (or the late window, if shorter) is on time.
pub const ON_TIME_MINUTES: u32 = 60;
/// The longest late window accepted: a day.
pub(crate) const MAX_LATE_WINDOW_MINUTES: u32 = 24 * 60;
/// The largest amount per dose: far above any real dose in any unit, low enough that totals
/// over years of doses stay exact.
pub const MAX_DOSE: f64 = 1_000_000.0;
/// The most times of day one timing lists (every half hour).
pub(crate) const MAX_TIMES_PER_DAY: usize = 48;
/// The most postponed cycles one medication keeps.
pub(crate) const MAX_CYCLE_STARTS: usize = 1000;

/// Longest accepted text, in characters, per medication field: they end up in notifications
/// and on small screens, and sync carries them to every device.
pub(crate) const TEXT_LIMITS: [(&str, usize); 7] = [
    ("name", 200),
    ("strength", 100),
    ("form", 100),
    ("route", 100),
    ("instructions", 2000),
    ("prescriber", 200),
    ("code", 200),
];
/// Longest unit of a dose (`tablet`, `mg`, `puff`), in characters.
pub(crate) const MAX_UNIT: usize = 50;
/// Longest reason given for a skipped dose, in characters.
pub(crate) const MAX_REASON: usize = 500;

pub(crate) use crate::text::check_length;

/// Parses `HH:MM` (24-hour).
pub fn parse_time(field: &'static str, text: &str) -> Result<Time> {
    let t = text.trim();
    let (h, m) = t
        .split_once(':')
        .ok_or_else(|| Error::invalid(field, "times are HH:MM, e.g. 08:00"))?;
    let h: i8 = h
        .parse()
        .map_err(|_| Error::invalid(field, "times are HH:MM, e.g. 08:00"))?;
    let m: i8 = m
        .parse()
        .map_err(|_| Error::invalid(field, "times are HH:MM, e.g. 08:00"))?;
    if !(0..24).contains(&h) || !(0..60).contains(&m) {
        return Err(Error::invalid(field, "time out of range (00:00 to 23:59)"));
    }
    Time::new(h, m, 0, 0).map_err(|_| Error::invalid(field, "time out of range"))
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(field: &'static str, text: &str) -> Result<Date> {
    text.trim()
        .parse::<Date>()
        .map_err(|_| Error::invalid(field, "dates are YYYY-MM-DD"))
}
