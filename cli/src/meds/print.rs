//! Medications, the day's doses, the dose log, the notification plan and adherence as text and
//! JSON. The JSON is the core's values as they serialise (instants as RFC 3339, in UTC; the
//! day's doses and the notifications also carry their time on the device's clock); the text
//! shows instants on the device's clock through [`zoned`].

use cairn_core::Store;
use cairn_core::meds::{
    Adherence, AdherenceCounts, AsNeededWarning, DoseOccurrence, DoseStatus, LoggedDose,
    Medication, NotificationPlan, RefillStatus, TimeZonePolicy, Timing,
};
use jiff::civil::Date;
use jiff::{Timestamp, ZonedDateTime};
use serde::Serialize;

use crate::terminal::{self, safe_println};

/// A medication as `list --json` prints it: the core's fields and the regimen in words.
#[derive(Serialize)]
struct Listed<'a> {
    #[serde(flatten)]
    medication: &'a Medication,
    summary: String,
}

impl<'a> Listed<'a> {
    fn new(medication: &'a Medication) -> Self {
        Listed {
            medication,
            summary: regimen_summary(medication),
        }
    }
}

/// A medication as `show --json` prints it: as listed, with each phase's RRULE (null where no
/// RRULE can express it) and its supply (null when the stock is not tracked).
#[derive(Serialize)]
struct Shown<'a> {
    #[serde(flatten)]
    listed: Listed<'a>,
    rrules: &'a [Option<String>],
    refill: Option<&'a RefillStatus>,
}

/// The medications, a line each, or as a JSON array.
pub(super) fn list(meds: &[Medication], json: bool) {
    if json {
        let list: Vec<Listed<'_>> = meds.iter().map(Listed::new).collect();
        as_json(&list);
    } else if meds.is_empty() {
        safe_println!("no medications");
    } else {
        for m in meds {
            safe_println!("{}  {}  {}", short(&m.id), m.name, regimen_summary(m));
        }
    }
}

/// A dose just taken, the dose it was matched to, and what an as-needed dose breaks.
pub(super) fn taken(store: &Store, m: &Medication, logged: &LoggedDose) {
    match logged.scheduled_at {
        Some(at) => safe_println!(
            "taken: {} for the dose of {} ({})",
            m.name,
            local(store, at),
            status_word(logged.status)
        ),
        None => safe_println!("taken: {} (not a scheduled dose)", m.name),
    }
    for w in &logged.warnings {
        safe_println!("warning: {}", warning_text(store, w));
    }
}

/// A dose just skipped.
pub(super) fn skipped(store: &Store, m: &Medication, logged: &LoggedDose) {
    safe_println!(
        "skipped: {} at {}",
        m.name,
        local(store, logged.scheduled_at.unwrap_or(Timestamp::UNIX_EPOCH))
    );
}

/// A dose just snoozed.
pub(super) fn snoozed(store: &Store, m: &Medication, logged: &LoggedDose, minutes: u32) {
    safe_println!(
        "snoozed: {} ({}) for {minutes} minutes",
        m.name,
        local(store, logged.scheduled_at.unwrap_or(Timestamp::UNIX_EPOCH))
    );
}

/// One of the core's values (a plan, the day's doses, adherence, a logged dose) as JSON.
pub(super) fn as_json(value: &(impl Serialize + ?Sized)) {
    println!("{}", terminal::pretty_json(value));
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// The regimen in words, phase after phase.
pub(crate) fn regimen_summary(m: &Medication) -> String {
    m.phases
        .iter()
        .map(|p| {
            let amount = format!("{} {}", fmt_amount(p.dose), p.unit);
            let timing = match &p.timing {
                Timing::TimesOfDay {
                    times,
                    days_of_week,
                } => {
                    if days_of_week.is_empty() {
                        format!("daily at {}", times.join(", "))
                    } else {
                        let days: Vec<&str> = days_of_week.iter().map(|d| d.code()).collect();
                        format!("{} at {}", days.join(","), times.join(", "))
                    }
                }
                Timing::EveryNDays { every_days, times } => {
                    format!("every {every_days} days at {}", times.join(", "))
                }
                Timing::EveryNHours {
                    every_hours,
                    anchor,
                } => format!("every {every_hours} h from {anchor}"),
                Timing::Cycle {
                    days_on,
                    days_off,
                    times,
                    cycles,
                } => format!(
                    "{days_on} days on / {days_off} off at {}{}",
                    times.join(", "),
                    cycles.map(|c| format!(", {c} cycles")).unwrap_or_default()
                ),
                Timing::AsNeeded {
                    min_gap_minutes,
                    max_doses,
                    period_hours,
                } => {
                    let cap = if *max_doses == u32::MAX {
                        String::new()
                    } else {
                        format!(", at most {max_doses} per {period_hours} h")
                    };
                    format!("as needed, {} min apart{cap}", min_gap_minutes)
                }
            };
            let bounds = match (&p.end, p.count) {
                (Some(e), _) => format!(" from {} to {e}", p.start),
                (None, Some(c)) => format!(" from {}, {c} doses", p.start),
                _ => format!(" from {}", p.start),
            };
            format!("{amount} {timing}{bounds}")
        })
        .collect::<Vec<_>>()
        .join("; then ")
}

fn fmt_amount(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e9 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

fn status_word(s: DoseStatus) -> &'static str {
    match s {
        DoseStatus::Upcoming => "upcoming",
        DoseStatus::Due => "due",
        DoseStatus::Taken => "taken",
        DoseStatus::TakenLate => "taken late",
        DoseStatus::Skipped => "skipped",
        DoseStatus::Snoozed => "snoozed",
        DoseStatus::Missed => "missed",
    }
}

fn zoned(store: &Store, at: Timestamp) -> ZonedDateTime {
    at.to_zoned_datetime(store.clock().time_zone())
}

fn local(store: &Store, at: Timestamp) -> String {
    zoned(store, at).strftime("%a %d %b %H:%M %Z").to_string()
}

fn hm(store: &Store, at: Timestamp) -> String {
    zoned(store, at).strftime("%H:%M").to_string()
}

/// What an as-needed dose taken now breaks, in words.
pub(crate) fn warning_text(store: &Store, w: &AsNeededWarning) -> String {
    match w {
        AsNeededWarning::TooSoon {
            next_allowed_at, ..
        } => format!(
            "sooner than the minimum gap; the next dose was due no earlier than {}",
            local(store, *next_allowed_at)
        ),
        AsNeededWarning::OverCap {
            doses_in_period,
            max_doses,
            period_hours,
        } => format!(
            "{doses_in_period} doses in {period_hours} h, more than the {max_doses} allowed"
        ),
    }
}

/// How far the plan reaches, and whether reminders stop there unless Cairn runs again.
pub(super) fn reach(store: &Store, plan: &NotificationPlan) {
    safe_println!("{}", reach_text(store, plan));
}

fn reach_text(store: &Store, plan: &NotificationPlan) -> String {
    let until = zoned(store, plan.reaches_until)
        .strftime("%a %d %b %Y %H:%M %Z")
        .to_string();
    if plan.runs_dry {
        format!("runs dry after {until}: the last reminder asks to open Cairn")
    } else {
        format!("holds every reminder until {until}")
    }
}

/// The plan's notifications, `+` before the ones to schedule, then the ones to cancel.
pub(crate) fn plan(plan: &NotificationPlan) {
    let (planned, schedule, cancel) = (&plan.planned, &plan.schedule, &plan.cancel);
    safe_println!(
        "{} notifications planned: {} to schedule, {} to cancel",
        planned.len(),
        schedule.len(),
        cancel.len()
    );
    for n in planned {
        let new = if schedule.iter().any(|s| s.id == n.id) {
            "+"
        } else {
            " "
        };
        let when = n.fire_at_local.parse::<ZonedDateTime>().map_or_else(
            |_| n.fire_at_local.clone(),
            |z| z.strftime("%a %d %b %H:%M %Z").to_string(),
        );
        safe_println!("{new} {when}  {}: {}", n.title, n.body);
    }
    for id in cancel {
        safe_println!("- cancel {}", short(id));
    }
}

/// Adherence per medication and overall, a row each.
pub(crate) fn adherence(a: &Adherence) {
    safe_println!("Adherence {} to {}", a.from, a.to);
    safe_println!(
        "  {:<24} {:>9} {:>7} {:>5} {:>7} {:>6} {:>7} {:>6}",
        "",
        "scheduled",
        "on time",
        "late",
        "skipped",
        "missed",
        "pending",
        "%"
    );
    let row = |name: &str, c: &AdherenceCounts| {
        safe_println!(
            "  {name:<24} {:>9} {:>7} {:>5} {:>7} {:>6} {:>7} {:>6}",
            c.scheduled,
            c.taken_on_time,
            c.taken_late,
            c.skipped,
            c.missed,
            c.pending,
            c.percent
                .map(|p| format!("{p:.0}%"))
                .unwrap_or_else(|| "-".to_owned())
        );
    };
    for m in &a.per_medication {
        row(&m.medication_name, &m.counts);
    }
    row("overall", &a.overall);
}

/// One medication in full: details, zone policy, regimen, postponed cycles, RRULEs, supply.
pub(super) fn medication(
    m: &Medication,
    rrules: &[Option<String>],
    refill: Option<&RefillStatus>,
    json: bool,
) {
    if json {
        let shown = Shown {
            listed: Listed::new(m),
            rrules,
            refill,
        };
        as_json(&shown);
        return;
    }
    safe_println!("{} ({})", m.name, m.id);
    for (label, value) in [
        ("strength", &m.strength),
        ("form", &m.form),
        ("route", &m.route),
        ("instructions", &m.instructions),
        ("prescriber", &m.prescriber),
    ] {
        if !value.is_empty() {
            safe_println!("  {label:<13}{value}");
        }
    }
    if let Some(code) = &m.code {
        safe_println!("  {:<13}{code}", "code");
    }
    let policy = match &m.time_zone_policy {
        TimeZonePolicy::WallClock => "wall clock (follows the device's zone)".to_owned(),
        TimeZonePolicy::FixedZone { zone } => format!("fixed to {zone}"),
    };
    safe_println!("  {:<13}{policy}", "zone");
    safe_println!("  {:<13}{} minutes", "late after", m.late_window_minutes);
    safe_println!("  {:<13}{}", "regimen", regimen_summary(m));
    for c in &m.cycle_starts {
        safe_println!(
            "  {:<13}cycle {} starts {}",
            "postponed",
            c.cycle + 1,
            c.start
        );
    }
    for (i, r) in rrules.iter().enumerate() {
        match r {
            Some(r) => {
                safe_println!("  rrule {}:", i + 1);
                terminal::print_paragraph("    ", r);
            }
            None => safe_println!("  rrule {}: (not expressible as one RRULE)", i + 1),
        }
    }
    if let Some(r) = refill {
        let days = r
            .days_left
            .map(|d| format!("{d:.1} days"))
            .unwrap_or_else(|| "not in use".to_owned());
        safe_println!(
            "  {:<13}{} left, {}{}",
            "supply",
            fmt_amount(r.remaining),
            days,
            if r.needs_refill { " - refill now" } else { "" }
        );
    }
}

/// The day under a heading that names the zone, a dose a line with where it stands.
pub(super) fn day(store: &Store, day: Date, doses: &[DoseOccurrence]) {
    let zone = store.clock().time_zone();
    safe_println!(
        "{} ({})",
        day.strftime("%A %-d %B %Y"),
        zone.iana_name().unwrap_or("local time")
    );
    if doses.is_empty() {
        safe_println!("  no scheduled doses");
    }
    for d in doses {
        let when = zoned(store, d.scheduled_at)
            .strftime("%H:%M %Z")
            .to_string();
        let extra = match (d.status, d.taken_at, d.snoozed_until) {
            (DoseStatus::Taken | DoseStatus::TakenLate, Some(t), _) => {
                format!(" at {}", hm(store, t))
            }
            (DoseStatus::Snoozed, _, Some(u)) => format!(" until {}", hm(store, u)),
            _ => String::new(),
        };
        safe_println!(
            "  {when:<10} {:<24} {:>4} {:<8} {}{extra}",
            d.medication_name,
            fmt_amount(d.dose),
            d.unit,
            status_word(d.status)
        );
    }
}

/// An as-needed medication and when it was last taken.
pub(super) fn as_needed(store: &Store, m: &Medication, last: Option<Timestamp>) {
    let last = last
        .map(|t| format!("last taken {}", local(store, t)))
        .unwrap_or_else(|| "not taken yet".to_owned());
    safe_println!("  as needed  {:<24} {last}", m.name);
}
