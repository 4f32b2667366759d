//! `cairn meds`: medications, today's doses, the dose log, adherence and the notification plan.
//!
//! Regimens are written in one line: `--times 08:00,20:00 --cycle 14/7`, `--every-hours 8`,
//! `--prn --min-gap 8h --max 3/24h`, `--taper 4:3,2:3,1:3` (dose:days, in sequence), or an RRULE.
//! `--now` and `--tz` set the clock and the device's zone, so QA can cross DST and time zones.

use cairn_core::meds::{
    Adherence, AsNeededWarning, DayOfWeek, DoseOccurrence, DoseStatus, Medication,
    NotificationPlan, Phase, PlannedNotification, TimeZonePolicy, Timing, rrule,
};
use cairn_core::{Error, Store};
use clap::{Args, Subcommand};
use jiff::civil::{Date, DateTime};
use jiff::{SignedDuration, Timestamp, ZonedDateTime};
use serde_json::{Value, json};

use crate::Context;
use crate::terminal::{self, safe_println};

/// `cairn meds …`
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Adds a medication with its regimen.
    Add(Box<AddArgs>),
    /// Lists the medications.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Shows one medication: details, regimen (and its RRULE when one can express it), supply.
    Show {
        /// The medication (id, id prefix or name).
        med: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Changes the fields given, and only those; timing flags set a new regimen from --start
    /// (default today), keeping the past schedule.
    Edit(Box<EditArgs>),
    /// Deletes a medication (its dose log stays).
    Rm {
        /// The medication (id, id prefix or name).
        med: String,
    },
    /// The day's scheduled doses and where each stands.
    Today {
        /// Another day than today (YYYY-MM-DD).
        #[arg(long)]
        date: Option<String>,
        /// Print JSON instead of text (includes the occurrence ids `--for` takes).
        #[arg(long)]
        json: bool,
    },
    /// Logs a dose as taken (matched to the dose it was meant for, even after midnight).
    Take {
        /// The medication (id, id prefix or name).
        med: String,
        /// When it was taken: RFC 3339, local `2026-03-08T22:00` or `22:00` today (default: now).
        #[arg(long)]
        at: Option<String>,
        /// The amount, if not the scheduled one.
        #[arg(long)]
        amount: Option<f64>,
        /// The occurrence id it was for (see `today --json`).
        #[arg(long = "for")]
        occurrence: Option<String>,
    },
    /// Logs a scheduled dose as skipped.
    Skip {
        /// The medication (id, id prefix or name).
        med: String,
        /// The occurrence id (default: the dose due now).
        #[arg(long = "for")]
        occurrence: Option<String>,
        /// Why (kept with the record).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Snoozes a scheduled dose.
    Snooze {
        /// The medication (id, id prefix or name).
        med: String,
        /// The occurrence id (default: the dose due now).
        #[arg(long = "for")]
        occurrence: Option<String>,
        /// For how long.
        #[arg(long, default_value_t = 15)]
        minutes: u32,
    },
    /// Withdraws a logged dose (a mistaken tap); the dose reads as not logged again.
    Undo {
        /// The dose record's id (`dose_id` in `today --json`).
        dose_id: String,
    },
    /// The local notifications the phone should hold, as a diff against the last plan.
    Plan {
        /// At most this many notifications (iOS keeps 64).
        #[arg(long, default_value_t = 64)]
        max: u32,
        /// Remember this plan as scheduled, so the next diff is against it.
        #[arg(long)]
        commit: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Adherence over a date range, per medication and overall.
    Adherence {
        /// The first day (default: 29 days before --to).
        #[arg(long)]
        from: Option<String>,
        /// The last day (default: today).
        #[arg(long)]
        to: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// The regimen in one line.
#[derive(Debug, Args, Default)]
pub(crate) struct RegimenArgs {
    /// The amount per dose.
    #[arg(long)]
    dose: Option<f64>,
    /// The unit of the amount (tablet, mg, ml…).
    #[arg(long)]
    unit: Option<String>,
    /// Times of day, comma-separated (08:00,20:00).
    #[arg(long, value_delimiter = ',')]
    times: Vec<String>,
    /// Only on these days (mon,wed,fri).
    #[arg(long, value_delimiter = ',')]
    days: Vec<String>,
    /// Every N days from the start.
    #[arg(long)]
    every_days: Option<u32>,
    /// Every N hours of elapsed time from --anchor on the start date.
    #[arg(long)]
    every_hours: Option<u32>,
    /// The first dose's time for --every-hours (default: the first of --times, or 08:00).
    #[arg(long)]
    anchor: Option<String>,
    /// A cycle of days on / days off, e.g. 14/7; cycle day 1 is the start.
    #[arg(long)]
    cycle: Option<String>,
    /// How many cycles.
    #[arg(long)]
    cycles: Option<u32>,
    /// As needed.
    #[arg(long)]
    prn: bool,
    /// As needed: the least time between doses (8h, 90m or minutes).
    #[arg(long)]
    min_gap: Option<String>,
    /// As needed: the cap, doses per period (3/24h).
    #[arg(long)]
    max: Option<String>,
    /// The first day (default: today).
    #[arg(long)]
    start: Option<String>,
    /// The last day.
    #[arg(long)]
    end: Option<String>,
    /// The number of doses in total.
    #[arg(long)]
    count: Option<u32>,
    /// Tapering: dose:days phases in sequence with the same timing (4:3,2:3,1:3).
    #[arg(long)]
    taper: Option<String>,
    /// The regimen as an RRULE (FREQ=DAILY;BYHOUR=8,20;BYMINUTE=0), with or without DTSTART.
    #[arg(long)]
    rrule: Option<String>,
}

impl RegimenArgs {
    fn given(&self) -> bool {
        !self.times.is_empty()
            || self.every_days.is_some()
            || self.every_hours.is_some()
            || self.cycle.is_some()
            || self.prn
            || self.taper.is_some()
            || self.rrule.is_some()
    }
}

/// The medication's details.
#[derive(Debug, Args, Default)]
pub(crate) struct DetailArgs {
    /// Strength, e.g. "500 mg".
    #[arg(long)]
    strength: Option<String>,
    /// Form, e.g. tablet.
    #[arg(long)]
    form: Option<String>,
    /// Route, e.g. oral.
    #[arg(long)]
    route: Option<String>,
    /// How to take it.
    #[arg(long)]
    instructions: Option<String>,
    /// Who prescribed it.
    #[arg(long)]
    prescriber: Option<String>,
    /// A code, system|code (e.g. http://www.nlm.nih.gov/research/umls/rxnorm|200328).
    #[arg(long)]
    code: Option<String>,
    /// `wall` (08:00 wherever you are) or an IANA zone to keep (e.g. Europe/London).
    #[arg(long)]
    zone: Option<String>,
    /// Minutes after its time an untaken dose counts as missed.
    #[arg(long)]
    late: Option<u32>,
    /// Units on hand now.
    #[arg(long)]
    stock: Option<f64>,
    /// Alert when fewer than this many days of supply remain.
    #[arg(long)]
    refill_days: Option<u32>,
}

/// `cairn meds add`
#[derive(Debug, Args)]
pub(crate) struct AddArgs {
    /// The medication's name.
    name: String,
    #[command(flatten)]
    regimen: RegimenArgs,
    #[command(flatten)]
    details: DetailArgs,
}

/// `cairn meds edit`
#[derive(Debug, Args)]
pub(crate) struct EditArgs {
    /// The medication (id, id prefix or name).
    med: String,
    /// A new name.
    #[arg(long)]
    name: Option<String>,
    /// Postpone this cycle (1 = the first) of the first cycle phase; needs --to.
    #[arg(long)]
    postpone_cycle: Option<u32>,
    /// The postponed cycle's new day 1.
    #[arg(long)]
    to: Option<String>,
    #[command(flatten)]
    regimen: RegimenArgs,
    #[command(flatten)]
    details: DetailArgs,
}

pub(crate) fn run(ctx: &Context, cmd: Command) -> Result<(), Error> {
    let store = ctx.open()?;
    run_on(&store, cmd)?;
    store.close()
}

fn run_on(store: &Store, cmd: Command) -> Result<(), Error> {
    match cmd {
        Command::Add(args) => {
            let (phases, policy) = regimen(store, &args.regimen)?;
            let mut med = Medication::new(&args.name, phases);
            if let Some(policy) = policy {
                med.time_zone_policy = policy;
            }
            apply_details(&mut med, &args.details)?;
            let id = store.add_medication(&med)?;
            safe_println!("added {} ({id})", med.name);
            Ok(())
        }
        Command::List { json } => {
            let meds = store.medications()?;
            if json {
                let list: Vec<Value> = meds.iter().map(medication_json).collect();
                println!("{}", terminal::json_text(Value::Array(list).to_string()));
            } else if meds.is_empty() {
                safe_println!("no medications");
            } else {
                for m in &meds {
                    safe_println!("{}  {}  {}", short(&m.id), m.name, regimen_summary(m));
                }
            }
            Ok(())
        }
        Command::Show { med, json } => show(store, &med, json),
        Command::Edit(args) => edit(store, *args),
        Command::Rm { med } => {
            let m = find(store, &med)?;
            store.delete_medication(&m.id)?;
            safe_println!("deleted {}", m.name);
            Ok(())
        }
        Command::Today { date, json } => today(store, date.as_deref(), json),
        Command::Take {
            med,
            at,
            amount,
            occurrence,
        } => {
            let m = find(store, &med)?;
            let at = at.map(|a| parse_instant(store, &a)).transpose()?;
            let logged = store.take_dose(&m.id, at, amount, occurrence.as_deref())?;
            match logged.scheduled_at.map(|t| t.as_millisecond()) {
                Some(ms) => safe_println!(
                    "taken: {} for the dose of {} ({})",
                    m.name,
                    local(store, ms),
                    status_word(logged.status)
                ),
                None => safe_println!("taken: {} (not a scheduled dose)", m.name),
            }
            for w in &logged.warnings {
                safe_println!("warning: {}", warning_text(store, w));
            }
            Ok(())
        }
        Command::Skip {
            med,
            occurrence,
            reason,
        } => {
            let m = find(store, &med)?;
            let logged = store.skip_dose(&m.id, occurrence.as_deref(), reason.as_deref())?;
            safe_println!(
                "skipped: {} at {}",
                m.name,
                local(store, logged.scheduled_at.map_or(0, |t| t.as_millisecond()))
            );
            Ok(())
        }
        Command::Snooze {
            med,
            occurrence,
            minutes,
        } => {
            let m = find(store, &med)?;
            let logged = store.snooze_dose(&m.id, occurrence.as_deref(), minutes)?;
            safe_println!(
                "snoozed: {} ({}) for {minutes} minutes",
                m.name,
                local(store, logged.scheduled_at.map_or(0, |t| t.as_millisecond()))
            );
            Ok(())
        }
        Command::Undo { dose_id } => {
            store.undo_dose(dose_id.trim())?;
            safe_println!("undone");
            Ok(())
        }
        Command::Plan { max, commit, json } => {
            let plan = store.plan_notifications(max)?;
            if json {
                let v = json!({
                    "schedule": plan.schedule.iter().map(notification_json).collect::<Vec<_>>(),
                    "cancel": plan.cancel,
                    "planned": plan.planned.iter().map(notification_json).collect::<Vec<_>>(),
                    "reaches_until": zoned(store, plan.reaches_until.as_millisecond()).map(|z| z.to_string()),
                    "runs_dry": plan.runs_dry,
                });
                println!("{}", terminal::json_text(v.to_string()));
            } else {
                print_plan(&plan.planned, &plan.schedule, &plan.cancel);
                safe_println!("{}", reach_text(store, &plan));
            }
            if commit {
                store.commit_notification_plan(&plan)?;
                if !json {
                    safe_println!("plan committed");
                }
            }
            Ok(())
        }
        Command::Adherence { from, to, json } => {
            let zone = store.clock().time_zone();
            let today = store.clock().now().to_zoned_datetime(zone).date();
            let to = match to {
                Some(t) => parse_date("--to", &t)?,
                None => today,
            };
            let from = match from {
                Some(f) => parse_date("--from", &f)?,
                None => to
                    .checked_sub(SignedDuration::from_hours(24 * 29))
                    .map_err(|_| Error::invalid("--to", "out of range"))?,
            };
            let a = store.adherence(&from.to_string(), &to.to_string())?;
            if json {
                println!("{}", terminal::json_text(adherence_json(&a).to_string()));
            } else {
                print_adherence(&a);
            }
            Ok(())
        }
    }
}

/// A medication by id, id prefix (at least 4 characters), name or name prefix (any case).
fn find(store: &Store, text: &str) -> Result<Medication, Error> {
    let meds = store.medications()?;
    let t = text.trim();
    if let Some(m) = meds.iter().find(|m| m.id == t) {
        return Ok(m.clone());
    }
    let by_prefix: Vec<&Medication> = if t.len() >= 4 {
        meds.iter().filter(|m| m.id.starts_with(t)).collect()
    } else {
        Vec::new()
    };
    let lower = t.to_lowercase();
    let mut by_name: Vec<&Medication> = meds
        .iter()
        .filter(|m| m.name.to_lowercase() == lower)
        .collect();
    if by_name.is_empty() && !lower.is_empty() {
        by_name = meds
            .iter()
            .filter(|m| m.name.to_lowercase().starts_with(&lower))
            .collect();
    }
    match (by_prefix.as_slice(), by_name.as_slice()) {
        ([m], _) | ([], [m]) => Ok((*m).clone()),
        ([], []) => Err(Error::NotFound {
            entity: "medication",
        }),
        _ => Err(Error::invalid(
            "medication",
            "more than one medication matches; use its id",
        )),
    }
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

fn parse_date(field: &'static str, text: &str) -> Result<Date, Error> {
    text.trim()
        .parse::<Date>()
        .map_err(|_| Error::invalid(field, "dates are YYYY-MM-DD"))
}

fn today_date(store: &Store) -> Date {
    store
        .clock()
        .now()
        .to_zoned_datetime(store.clock().time_zone())
        .date()
}

/// RFC 3339, a local date-time in the device's zone, or a time of day today.
fn parse_instant(store: &Store, text: &str) -> Result<Timestamp, Error> {
    let t = text.trim();
    if let Ok(ts) = t.parse::<Timestamp>() {
        return Ok(ts);
    }
    let zone = store.clock().time_zone();
    let local = if let Ok(dt) = t.parse::<DateTime>() {
        dt
    } else {
        let time = cairn_core::meds::regimen::parse_time("--at", t).map_err(|_| {
            Error::invalid(
                "--at",
                "expected RFC 3339, a local 2026-03-08T22:00, or 22:00",
            )
        })?;
        today_date(store).to_datetime(time)
    };
    local
        .to_zoned_datetime(zone)
        .map(|z| z.timestamp())
        .map_err(|_| Error::invalid("--at", "not a time in this zone"))
}

/// `8h`, `90m` or a number of minutes.
fn parse_minutes(field: &'static str, text: &str) -> Result<u32, Error> {
    let t = text.trim().to_ascii_lowercase();
    let bad = || Error::invalid(field, "expected hours (8h) or minutes (90m)");
    if let Some(h) = t.strip_suffix('h') {
        return h
            .trim()
            .parse::<u32>()
            .ok()
            .and_then(|h| h.checked_mul(60))
            .ok_or_else(bad);
    }
    t.trim_end_matches('m').trim().parse().map_err(|_| bad())
}

/// `3/24h` or `3/24` -> (doses, hours).
fn parse_cap(text: &str) -> Result<(u32, u32), Error> {
    let bad = || Error::invalid("--max", "expected doses per hours, e.g. 3/24h");
    let (n, hours) = text.split_once('/').ok_or_else(bad)?;
    let n = n.trim().parse().map_err(|_| bad())?;
    let hours = hours
        .trim()
        .trim_end_matches('h')
        .parse()
        .map_err(|_| bad())?;
    Ok((n, hours))
}

/// The phases the regimen flags describe, and the time-zone policy an imported RRULE names
/// (`--zone` still wins).
fn regimen(store: &Store, r: &RegimenArgs) -> Result<(Vec<Phase>, Option<TimeZonePolicy>), Error> {
    let dose = r.dose.unwrap_or(1.0);
    let unit = r.unit.clone().unwrap_or_else(|| "tablet".to_owned());
    let start = match &r.start {
        Some(s) => parse_date("--start", s)?.to_string(),
        None => today_date(store).to_string(),
    };
    if let Some(rule) = &r.rrule {
        let imported = rrule::phase_from_rrule(rule, dose, &unit, &start)?;
        let mut phase = imported.phase;
        if r.start.is_some() {
            phase.start = start;
        }
        return Ok((vec![phase], Some(imported.time_zone_policy)));
    }
    let times = r.times.clone();
    let timing = if r.prn {
        let (max_doses, period_hours) = match &r.max {
            Some(m) => parse_cap(m)?,
            None => (u32::MAX, 24),
        };
        Timing::AsNeeded {
            min_gap_minutes: match &r.min_gap {
                Some(g) => parse_minutes("--min-gap", g)?,
                None => 0,
            },
            max_doses,
            period_hours,
        }
    } else if let Some(hours) = r.every_hours {
        Timing::EveryNHours {
            every_hours: hours,
            anchor: r
                .anchor
                .clone()
                .or_else(|| times.first().cloned())
                .unwrap_or_else(|| "08:00".to_owned()),
        }
    } else if let Some(cycle) = &r.cycle {
        let bad = || Error::invalid("--cycle", "expected days on/days off, e.g. 14/7");
        let (on, off) = cycle.split_once('/').ok_or_else(bad)?;
        Timing::Cycle {
            days_on: on.trim().parse().map_err(|_| bad())?,
            days_off: off.trim().parse().map_err(|_| bad())?,
            times,
            cycles: r.cycles,
        }
    } else if let Some(every) = r.every_days {
        Timing::EveryNDays {
            every_days: every,
            times,
        }
    } else {
        let days = r
            .days
            .iter()
            .map(|d| {
                DayOfWeek::parse(d)
                    .ok_or_else(|| Error::invalid("--days", "expected mon,tue,wed,thu,fri,sat,sun"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Timing::TimesOfDay {
            times,
            days_of_week: days,
        }
    };
    let Some(taper) = &r.taper else {
        return Ok((
            vec![Phase {
                dose,
                unit,
                timing,
                start,
                end: r
                    .end
                    .as_deref()
                    .map(|e| parse_date("--end", e).map(|d| d.to_string()))
                    .transpose()?,
                count: r.count,
            }],
            None,
        ));
    };
    let bad = || Error::invalid("--taper", "expected dose:days phases, e.g. 4:3,2:3,1:3");
    let too_long = || Error::invalid("--taper", "the taper runs past the calendar's end");
    let mut phases = Vec::new();
    let mut next = Some(parse_date("--start", &start)?);
    for step in taper.split(',') {
        let day = next.ok_or_else(too_long)?;
        let (d, days) = step.split_once(':').ok_or_else(bad)?;
        let d: f64 = d.trim().parse().map_err(|_| bad())?;
        // Days are counted in u32 and added to a date with checks: a huge count is an error,
        // never an overflow.
        let days: u32 = days.trim().parse().map_err(|_| bad())?;
        if days == 0 {
            return Err(Error::invalid(
                "--taper",
                "each step lasts at least one day",
            ));
        }
        if phases.len() == 64 {
            return Err(Error::invalid("--taper", "at most 64 steps"));
        }
        let end = day
            .checked_add(
                jiff::Span::new()
                    .try_days(i64::from(days - 1))
                    .map_err(|_| too_long())?,
            )
            .map_err(|_| too_long())?;
        phases.push(Phase {
            dose: d,
            unit: unit.clone(),
            timing: timing.clone(),
            start: day.to_string(),
            end: Some(end.to_string()),
            count: None,
        });
        next = end.tomorrow().ok();
    }
    Ok((phases, None))
}

fn apply_details(med: &mut Medication, d: &DetailArgs) -> Result<(), Error> {
    let set = |target: &mut String, v: &Option<String>| {
        if let Some(v) = v {
            *target = v.clone();
        }
    };
    set(&mut med.strength, &d.strength);
    set(&mut med.form, &d.form);
    set(&mut med.route, &d.route);
    set(&mut med.instructions, &d.instructions);
    set(&mut med.prescriber, &d.prescriber);
    if let Some(code) = &d.code {
        med.code = (!code.is_empty()).then(|| code.clone());
    }
    if let Some(zone) = &d.zone {
        med.time_zone_policy = if zone.eq_ignore_ascii_case("wall") {
            TimeZonePolicy::WallClock
        } else {
            cairn_core::time::check_time_zone("--zone", zone)?;
            TimeZonePolicy::FixedZone { zone: zone.clone() }
        };
    }
    if let Some(late) = d.late {
        med.late_window_minutes = late;
    }
    if let Some(stock) = d.stock {
        med.stock = Some(stock);
    }
    if let Some(days) = d.refill_days {
        med.refill_threshold_days = Some(days);
    }
    Ok(())
}

fn edit(store: &Store, args: EditArgs) -> Result<(), Error> {
    let mut m = find(store, &args.med)?;
    if let Some(cycle) = args.postpone_cycle {
        let to = args
            .to
            .as_deref()
            .ok_or_else(|| Error::invalid("--to", "--postpone-cycle needs --to DATE"))?;
        if cycle < 2 {
            return Err(Error::invalid(
                "--postpone-cycle",
                "cycle 1 starts with the regimen; change --start instead",
            ));
        }
        let phase = m
            .phases
            .iter()
            .position(|p| matches!(p.timing, Timing::Cycle { .. }))
            .ok_or_else(|| Error::invalid("--postpone-cycle", "this regimen has no cycles"))?;
        store.postpone_cycle(&m.id, phase as u32, cycle - 1, to)?;
        m = store.medication(&m.id)?;
    }
    if args.regimen.given() {
        // The new regimen starts on --start (default today); the days before keep theirs.
        let (phases, policy) = regimen(store, &args.regimen)?;
        store.change_regimen(&m.id, phases)?;
        m = store.medication(&m.id)?;
        if let Some(policy) = policy {
            m.time_zone_policy = policy;
        }
    }
    if let Some(name) = &args.name {
        m.name = name.clone();
    }
    apply_details(&mut m, &args.details)?;
    store.update_medication(&m)?;
    safe_println!("saved {}", m.name);
    Ok(())
}

fn regimen_summary(m: &Medication) -> String {
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

fn medication_json(m: &Medication) -> Value {
    json!({
        "id": m.id,
        "name": m.name,
        "strength": m.strength,
        "form": m.form,
        "route": m.route,
        "instructions": m.instructions,
        "prescriber": m.prescriber,
        "code": m.code,
        "time_zone_policy": serde_json::to_value(&m.time_zone_policy).unwrap_or(Value::Null),
        "late_window_minutes": m.late_window_minutes,
        "stock": m.stock,
        "refill_threshold_days": m.refill_threshold_days,
        "phases": serde_json::to_value(&m.phases).unwrap_or(Value::Null),
        "cycle_starts": serde_json::to_value(&m.cycle_starts).unwrap_or(Value::Null),
        "summary": regimen_summary(m),
    })
}

fn show(store: &Store, med: &str, json: bool) -> Result<(), Error> {
    let m = find(store, med)?;
    let rrules: Vec<Option<String>> = m
        .phases
        .iter()
        .map(|p| rrule::phase_to_rrule(p, &m.time_zone_policy))
        .collect::<Result<_, _>>()?;
    let refill = store
        .refill_status()?
        .into_iter()
        .find(|r| r.medication_id == m.id);
    if json {
        let mut v = medication_json(&m);
        v["rrules"] = json!(rrules);
        v["remaining"] = json!(refill.as_ref().map(|r| r.remaining));
        v["days_left"] = json!(refill.as_ref().and_then(|r| r.days_left));
        v["needs_refill"] = json!(refill.as_ref().map(|r| r.needs_refill));
        println!("{}", terminal::json_text(v.to_string()));
        return Ok(());
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
    safe_println!("  {:<13}{}", "regimen", regimen_summary(&m));
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
    Ok(())
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

fn zoned(store: &Store, ms: i64) -> Option<ZonedDateTime> {
    Timestamp::from_millisecond(ms)
        .ok()
        .map(|t| t.to_zoned_datetime(store.clock().time_zone()))
}

fn local(store: &Store, ms: i64) -> String {
    zoned(store, ms)
        .map(|z| z.strftime("%a %d %b %H:%M %Z").to_string())
        .unwrap_or_default()
}

fn hm(store: &Store, ms: i64) -> String {
    zoned(store, ms)
        .map(|z| z.strftime("%H:%M").to_string())
        .unwrap_or_default()
}

fn warning_text(store: &Store, w: &AsNeededWarning) -> String {
    match w {
        AsNeededWarning::TooSoon {
            next_allowed_at, ..
        } => format!(
            "sooner than the minimum gap; the next dose was due no earlier than {}",
            local(store, next_allowed_at.as_millisecond())
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

fn occurrence_json(d: &DoseOccurrence) -> Value {
    json!({
        "occurrence_id": d.id,
        "dose_id": d.dose_id,
        "medication_id": d.medication_id,
        "medication": d.medication_name,
        "key": d.key,
        "scheduled_at": d.scheduled_local,
        "dose": d.dose,
        "unit": d.unit,
        "status": status_word(d.status),
        "taken_at_ms": d.taken_at.map(|t| t.as_millisecond()),
        "snoozed_until_ms": d.snoozed_until.map(|t| t.as_millisecond()),
    })
}

fn today(store: &Store, date: Option<&str>, json: bool) -> Result<(), Error> {
    let zone = store.clock().time_zone();
    let day = match date {
        Some(d) => parse_date("--date", d)?,
        None => today_date(store),
    };
    let doses = store.doses_on_at(store.clock().now(), &zone, day)?;
    if json {
        let list: Vec<Value> = doses.iter().map(occurrence_json).collect();
        println!("{}", terminal::json_text(Value::Array(list).to_string()));
        return Ok(());
    }
    safe_println!(
        "{} ({})",
        day.strftime("%A %-d %B %Y"),
        zone.iana_name().unwrap_or("local time")
    );
    if doses.is_empty() {
        safe_println!("  no scheduled doses");
    }
    for d in &doses {
        let when = zoned(store, d.scheduled_at.as_millisecond())
            .map(|z| z.strftime("%H:%M %Z").to_string())
            .unwrap_or_default();
        let extra = match (
            d.status,
            d.taken_at.map(|t| t.as_millisecond()),
            d.snoozed_until.map(|t| t.as_millisecond()),
        ) {
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
    let prn: Vec<Medication> = store
        .medications()?
        .into_iter()
        .filter(|m| m.is_as_needed())
        .collect();
    for m in prn {
        let last = store
            .last_taken(&m.id)?
            .map(|t| format!("last taken {}", local(store, t.as_millisecond())))
            .unwrap_or_else(|| "not taken yet".to_owned());
        safe_println!("  as needed  {:<24} {last}", m.name);
    }
    Ok(())
}

/// How far the plan reaches, and whether reminders stop there unless Cairn runs again.
fn reach_text(store: &Store, plan: &NotificationPlan) -> String {
    let until = zoned(store, plan.reaches_until.as_millisecond()).map_or_else(
        || plan.reaches_until.as_millisecond().to_string(),
        |z| z.strftime("%a %d %b %Y %H:%M %Z").to_string(),
    );
    if plan.runs_dry {
        format!("runs dry after {until}: the last reminder asks to open Cairn")
    } else {
        format!("holds every reminder until {until}")
    }
}

fn notification_json(n: &PlannedNotification) -> Value {
    json!({
        "id": n.id,
        "kind": format!("{:?}", n.kind).to_lowercase(),
        "fire_at": n.fire_at_local,
        "title": n.title,
        "body": n.body,
        "occurrence_ids": n.occurrence_ids,
        "last_in_window": n.last_in_window,
    })
}

fn print_plan(
    planned: &[PlannedNotification],
    schedule: &[PlannedNotification],
    cancel: &[String],
) {
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

fn adherence_json(a: &Adherence) -> Value {
    let counts = |c: &cairn_core::meds::AdherenceCounts| {
        json!({
            "scheduled": c.scheduled,
            "taken_on_time": c.taken_on_time,
            "taken_late": c.taken_late,
            "skipped": c.skipped,
            "missed": c.missed,
            "pending": c.pending,
            "percent": c.percent,
        })
    };
    json!({
        "from": a.from,
        "to": a.to,
        "overall": counts(&a.overall),
        "per_medication": a.per_medication.iter().map(|m| json!({
            "medication_id": m.medication_id,
            "medication": m.medication_name,
            "counts": counts(&m.counts),
        })).collect::<Vec<_>>(),
    })
}

fn print_adherence(a: &Adherence) {
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
    let row = |name: &str, c: &cairn_core::meds::AdherenceCounts| {
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

/// Adds the meds part of the demo: a capecitabine 14-on/7-off cycle and an as-needed
/// anti-nausea drug; a dose taken, today's doses, the notification plan and adherence.
pub(crate) fn demo(store: &Store) -> Result<(), Error> {
    safe_println!();
    safe_println!("-- Medications: a chemotherapy cycle and an as-needed anti-nausea drug");
    let today = today_date(store);
    let cycle_start = today
        .checked_sub(SignedDuration::from_hours(24 * 3))
        .map_err(|_| Error::invalid("demo", "date out of range"))?;
    let mut cape = Medication::new(
        "Capecitabine",
        vec![Phase {
            dose: 3.0,
            unit: "tablet".into(),
            timing: Timing::Cycle {
                days_on: 14,
                days_off: 7,
                times: vec!["08:00".into(), "20:00".into()],
                cycles: Some(6),
            },
            start: cycle_start.to_string(),
            end: None,
            count: None,
        }],
    );
    cape.strength = "500 mg".into();
    cape.form = "tablet".into();
    cape.route = "oral".into();
    cape.instructions = "within 30 minutes after a meal".into();
    cape.late_window_minutes = 180;
    cape.stock = Some(84.0);
    cape.refill_threshold_days = Some(7);
    let cape_id = store.add_medication(&cape)?;
    safe_println!("added Capecitabine 500 mg: {}", regimen_summary(&cape));
    let mut ondansetron = Medication::new(
        "Ondansetron",
        vec![Phase {
            dose: 1.0,
            unit: "tablet".into(),
            timing: Timing::AsNeeded {
                min_gap_minutes: 8 * 60,
                max_doses: 3,
                period_hours: 24,
            },
            start: cycle_start.to_string(),
            end: None,
            count: None,
        }],
    );
    ondansetron.strength = "8 mg".into();
    let ond_id = store.add_medication(&ondansetron)?;
    safe_println!("added Ondansetron 8 mg: {}", regimen_summary(&ondansetron));

    let now = store.clock().now();
    let zone = store.clock().time_zone();
    // The days of the cycle so far, backfilled (they were due before the medication was added,
    // so the day view does not list them): every dose taken ten minutes after its time but
    // one, skipped for nausea.
    let from = cairn_core::meds::doses::start_of_day_in(&zone, cycle_start);
    let past = cairn_core::meds::occurrences(&store.medication(&cape_id)?, &zone, from, now)?;
    for (i, d) in past.iter().enumerate() {
        if i == 3 {
            store.skip_dose(&cape_id, Some(&d.id), Some("nausea"))?;
            continue;
        }
        let at = d.at + SignedDuration::from_mins(10);
        store.take_dose(&cape_id, Some(at.min(now)), None, Some(&d.id))?;
    }
    safe_println!(
        "logged the {} doses of the cycle so far (one skipped for nausea)",
        past.len()
    );
    let first = store.take_dose(&ond_id, None, None, None)?;
    let second = store.take_dose(&ond_id, None, None, None)?;
    safe_println!(
        "took ondansetron twice in a row: first {} warning(s), second: {}",
        first.warnings.len(),
        second
            .warnings
            .first()
            .map(|w| warning_text(store, w))
            .unwrap_or_else(|| "no warning".into())
    );
    safe_println!();
    safe_println!("-- Today's doses");
    today_print(store)?;
    safe_println!();
    safe_println!("-- The notification plan (the soonest 6; iOS keeps 64)");
    let plan = store.plan_notifications(6)?;
    print_plan(&plan.planned, &plan.schedule, &plan.cancel);
    store.commit_notification_plan(&plan)?;
    safe_println!();
    safe_println!("-- Adherence this cycle");
    let a = store.adherence_at(now, &zone, cycle_start, today)?;
    print_adherence(&a);
    Ok(())
}

fn today_print(store: &Store) -> Result<(), Error> {
    today(store, None, false)
}
