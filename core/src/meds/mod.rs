//! Medications: regimens, dose occurrences, the dose log, adherence and the notification plan.
//!
//! The modules stand in floors, from the ground up; each imports only from floors below it and
//! nothing from this face (`tests/floors.rs` checks both):
//!
//! 1. [`regimen`]: the model (medication, phases, timings, zone policy), its limits and the
//!    parsers of its texts; `calendar`: days, saturating shifts, midnights and the DST rule that
//!    turns a wall time into an instant.
//! 2. `compiled`: a timing checked into civil types, and the compiled form of a regimen.
//! 3. `occurrence`: a compiled regimen expanded into dose occurrences, and the keys and stable
//!    ids that match a dose-log record to its occurrence.
//! 4. `compile`: a whole medication checked and its phases chained into the compiled form;
//!    [`occurrences`] of one medication.
//! 5. `medication`: the synced entities ([`MEDICATION`], [`DOSE`]), adding, editing and reading
//!    medications, stock counts, regimen changes that keep their history, postponed cycles;
//!    [`rrule`]: RRULE import and export for the regimens RRULE can express, with their zone.
//! 6. `as_needed`: the minimum gap and the cap of as-needed doses.
//! 7. `dose_log`: taken, skipped, snoozed, undone; missed by the late window; matching a late
//!    dose to the occurrence it was meant for.
//! 8. `day`: the doses of a day with where each stands; `adherence`: adherence over a date range,
//!    stock and refill alerts.
//! 9. `plan`: the platform's local notifications, reconciled with what the platform holds.
//!
//! Medications and dose-log records are synced entities written through [`crate::record`]; the
//! last notification plan is device-local and lives in a table sync never sees. The values the
//! screens show serialise with serde (the CLI's `--json`), instants as RFC 3339 like the
//! timeline's and the vault's.

mod adherence;
mod as_needed;
pub(crate) mod calendar;
pub(crate) mod compile;
pub(crate) mod compiled;
mod day;
mod dose_log;
mod medication;
pub(crate) mod occurrence;
mod plan;
pub mod regimen;
pub mod rrule;

#[cfg(test)]
mod tests;

pub use adherence::{Adherence, AdherenceCounts, MedicationAdherence, RefillStatus};
pub use as_needed::AsNeededWarning;
pub use calendar::start_of_day;
pub use compile::occurrences;
pub use day::DoseOccurrence;
pub use dose_log::{DoseStatus, LoggedDose};
pub(crate) use medication::ENTITIES;
pub use medication::{DOSE, MEDICATION};
pub use occurrence::Occurrence;
pub use plan::{
    NotificationKind, NotificationPlan, NotificationScheduler, PlannedNotification, SyncMode,
    sync_notifications_through,
};
pub use regimen::{
    CycleStart, DayOfWeek, Medication, ON_TIME_MINUTES, Phase, TimeZonePolicy, Timing,
};
