//! What each `cairn meds` command does. Each call into the core's meds API stands here once,
//! and the demo goes through the same functions.

use cairn_core::meds::{
    Adherence, DayOfWeek, DoseOccurrence, Medication, Phase, TimeZonePolicy, Timing, rrule,
};
use cairn_core::{Error, Store};
use jiff::SignedDuration;
use jiff::civil::Date;

use super::args::{AddArgs, DetailArgs, EditArgs, RegimenArgs};
use super::print;
use crate::input;
use crate::terminal::safe_println;

pub(super) fn add(store: &Store, args: &AddArgs) -> Result<(), Error> {
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

pub(super) fn list(store: &Store, json: bool) -> Result<(), Error> {
    print::list(&store.medications()?, json);
    Ok(())
}

pub(super) fn show(store: &Store, med: &str, json: bool) -> Result<(), Error> {
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
    print::medication(&m, &rrules, refill.as_ref(), json);
    Ok(())
}

pub(super) fn rm(store: &Store, med: &str) -> Result<(), Error> {
    let m = find(store, med)?;
    store.delete_medication(&m.id)?;
    safe_println!("deleted {}", m.name);
    Ok(())
}

/// The doses of `date` (default: today), then the as-needed medications and when each was
/// last taken.
pub(crate) fn today(store: &Store, date: Option<&str>, json: bool) -> Result<(), Error> {
    let day = match date {
        Some(d) => input::date("--date", d)?,
        None => today_date(store),
    };
    let doses = doses_on(store, day)?;
    if json {
        print::as_json(&doses);
        return Ok(());
    }
    print::day(store, day, &doses);
    let prn: Vec<Medication> = store
        .medications()?
        .into_iter()
        .filter(|m| m.is_as_needed())
        .collect();
    for m in prn {
        let last = store.last_taken(&m.id)?;
        print::as_needed(store, &m, last);
    }
    Ok(())
}

/// The scheduled doses of `day` in the device's zone, with their status as of now.
fn doses_on(store: &Store, day: Date) -> Result<Vec<DoseOccurrence>, Error> {
    store.doses_on(day)
}

pub(super) fn take(
    store: &Store,
    med: &str,
    at: Option<&str>,
    amount: Option<f64>,
    occurrence: Option<&str>,
    json: bool,
) -> Result<(), Error> {
    let m = find(store, med)?;
    let (zone, now) = (store.clock().time_zone(), store.clock().now());
    let at = at
        .map(|a| input::instant("--at", a, &zone, now))
        .transpose()?;
    let occurrence = occurrence.map(|o| input::id("--for", o)).transpose()?;
    let logged = store.take_dose(&m.id, at, amount, occurrence.as_deref())?;
    if json {
        print::as_json(&logged);
    } else {
        print::taken(store, &m, &logged);
    }
    Ok(())
}

pub(super) fn skip(
    store: &Store,
    med: &str,
    occurrence: Option<&str>,
    reason: Option<&str>,
    json: bool,
) -> Result<(), Error> {
    let m = find(store, med)?;
    let occurrence = occurrence.map(|o| input::id("--for", o)).transpose()?;
    let logged = store.skip_dose(&m.id, occurrence.as_deref(), reason)?;
    if json {
        print::as_json(&logged);
    } else {
        print::skipped(store, &m, &logged);
    }
    Ok(())
}

pub(super) fn snooze(
    store: &Store,
    med: &str,
    occurrence: Option<&str>,
    minutes: u32,
    json: bool,
) -> Result<(), Error> {
    let m = find(store, med)?;
    let occurrence = occurrence.map(|o| input::id("--for", o)).transpose()?;
    let logged = store.snooze_dose(&m.id, occurrence.as_deref(), minutes)?;
    if json {
        print::as_json(&logged);
    } else {
        print::snoozed(store, &m, &logged, minutes);
    }
    Ok(())
}

pub(super) fn undo(store: &Store, dose_id: &str) -> Result<(), Error> {
    store.undo_dose(&input::id("DOSE_ID", dose_id)?)?;
    safe_println!("undone");
    Ok(())
}

pub(super) fn plan(store: &Store, max: u32, commit: bool, json: bool) -> Result<(), Error> {
    let plan = store.plan_notifications(max)?;
    if json {
        print::as_json(&plan);
    } else {
        print::plan(&plan);
        print::reach(store, &plan);
    }
    if commit {
        store.commit_notification_plan(&plan)?;
        if !json {
            safe_println!("plan committed");
        }
    }
    Ok(())
}

pub(super) fn adherence(
    store: &Store,
    from: Option<&str>,
    to: Option<&str>,
    json: bool,
) -> Result<(), Error> {
    let to = match to {
        Some(t) => input::date("--to", t)?,
        None => today_date(store),
    };
    let from = match from {
        Some(f) => input::date("--from", f)?,
        None => to
            .checked_sub(SignedDuration::from_hours(24 * 29))
            .map_err(|_| Error::invalid("--to", "out of range"))?,
    };
    let a = adherence_over(store, from, to)?;
    if json {
        print::as_json(&a);
    } else {
        print::adherence(&a);
    }
    Ok(())
}

/// Adherence over the days `from..=to` in the device's zone, as of now.
pub(crate) fn adherence_over(store: &Store, from: Date, to: Date) -> Result<Adherence, Error> {
    store.adherence(from, to)
}

/// A medication by id, id prefix (at least 4 characters), name or name prefix (any case).
pub(super) fn find(store: &Store, text: &str) -> Result<Medication, Error> {
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

/// The device's today.
pub(crate) fn today_date(store: &Store) -> Date {
    store
        .clock()
        .now()
        .to_zoned_datetime(store.clock().time_zone())
        .date()
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
        Some(s) => input::date("--start", s)?.to_string(),
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
                    .map(|e| input::date("--end", e).map(|d| d.to_string()))
                    .transpose()?,
                count: r.count,
            }],
            None,
        ));
    };
    let bad = || Error::invalid("--taper", "expected dose:days phases, e.g. 4:3,2:3,1:3");
    let too_long = || Error::invalid("--taper", "the taper runs past the calendar's end");
    let mut phases = Vec::new();
    let mut next = Some(input::date("--start", &start)?);
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

pub(super) fn edit(store: &Store, args: EditArgs) -> Result<(), Error> {
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
        let to = input::date("--to", to)?;
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
