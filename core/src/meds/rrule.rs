//! RRULE (RFC 5545) import and export, for the timings RRULE can express.
//!
//! Daily and weekly times of day, every N days and every N hours map to one RRULE; cycles
//! ("14 on, 7 off") and as-needed do not (a cycle needs several rules or RDATEs), so export gives
//! `None` for them. Wall-clock medications export a floating `DTSTART` (no zone: 08:00 wherever
//! one is), fixed-zone ones a `DTSTART;TZID=…`, keeping wall times apart from elapsed intervals.

use std::collections::BTreeSet;

use jiff::civil::{Date, DateTime, Time};

use super::calendar::{add_days, days_between, resolve};
use super::compile::compile;
use super::compiled::{CTiming, compile_timing};
use super::regimen::{DayOfWeek, Medication, Phase, TimeZonePolicy, Timing, parse_date};
use crate::error::{Error, Result};

const ICAL_DAYS: [&str; 7] = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

fn ical_date(d: jiff::civil::Date) -> String {
    format!("{:04}{:02}{:02}", d.year(), d.month(), d.day())
}

fn join<T: ToString>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Hours and minutes whose every combination is exactly `times` (what BYHOUR x BYMINUTE means).
fn hour_minute_product(times: &[Time]) -> Option<(BTreeSet<i8>, BTreeSet<i8>)> {
    let hours: BTreeSet<i8> = times.iter().map(|t| t.hour()).collect();
    let minutes: BTreeSet<i8> = times.iter().map(|t| t.minute()).collect();
    let distinct: BTreeSet<(i8, i8)> = times.iter().map(|t| (t.hour(), t.minute())).collect();
    (hours.len() * minutes.len() == distinct.len()).then_some((hours, minutes))
}

/// The phase as `DTSTART` and `RRULE` lines, or `None` when one RRULE cannot express it.
pub fn phase_to_rrule(phase: &Phase, policy: &TimeZonePolicy) -> Result<Option<String>> {
    let timing = compile_timing(&phase.timing)?;
    let start = parse_date("start", &phase.start)?;
    let end = phase
        .end
        .as_deref()
        .map(|e| parse_date("end", e))
        .transpose()?;
    if end.is_some() && phase.count.is_some() {
        // RFC 5545 allows COUNT or UNTIL, never both.
        return Ok(None);
    }
    let (freq, first_time, by_time) = match (&phase.timing, &timing) {
        (Timing::TimesOfDay { days_of_week, .. }, CTiming::Times { times, .. }) => {
            let Some((h, m)) = hour_minute_product(times) else {
                return Ok(None);
            };
            let mut days: Vec<DayOfWeek> = days_of_week.clone();
            days.sort();
            days.dedup();
            let by = format!(";BYHOUR={};BYMINUTE={};BYSECOND=0", join(h), join(m));
            if days.is_empty() || days.len() == 7 {
                ("FREQ=DAILY".to_owned(), times[0], by)
            } else {
                let byday = join(days.iter().map(|d| ICAL_DAYS[d.index() as usize]));
                (format!("FREQ=WEEKLY;BYDAY={byday}"), times[0], by)
            }
        }
        (_, CTiming::EveryDays { every, times }) => {
            let Some((h, m)) = hour_minute_product(times) else {
                return Ok(None);
            };
            let freq = if *every == 1 {
                "FREQ=DAILY".to_owned()
            } else {
                format!("FREQ=DAILY;INTERVAL={every}")
            };
            let by = format!(";BYHOUR={};BYMINUTE={};BYSECOND=0", join(h), join(m));
            (freq, times[0], by)
        }
        (_, CTiming::EveryHours { every, anchor }) => (
            format!("FREQ=HOURLY;INTERVAL={}", every.as_hours()),
            *anchor,
            format!(";BYMINUTE={};BYSECOND=0", anchor.minute()),
        ),
        _ => return Ok(None),
    };
    let dtstart_time = format!("T{:02}{:02}00", first_time.hour(), first_time.minute());
    let (dtstart, until) = match policy {
        TimeZonePolicy::WallClock => (
            format!("DTSTART:{}{dtstart_time}", ical_date(start)),
            end.map(|e| format!(";UNTIL={}T235959", ical_date(e))),
        ),
        TimeZonePolicy::FixedZone { zone } => {
            let tz = crate::time::check_time_zone("time_zone_policy", zone)?;
            // RFC 5545: with a zoned DTSTART, UNTIL is given in UTC.
            let until = end
                .and_then(|e| resolve(&tz, add_days(e, 1).to_datetime(Time::midnight())))
                .map(|t| {
                    let u =
                        jiff::tz::TimeZone::UTC.to_datetime(t - jiff::SignedDuration::from_secs(1));
                    format!(
                        ";UNTIL={}T{:02}{:02}{:02}Z",
                        ical_date(u.date()),
                        u.hour(),
                        u.minute(),
                        u.second()
                    )
                });
            (
                // The zone's canonical name: lookups here ignore case, calendars do not.
                format!(
                    "DTSTART;TZID={}:{}{dtstart_time}",
                    tz.iana_name().unwrap_or(zone),
                    ical_date(start)
                ),
                until,
            )
        }
    };
    let count = phase
        .count
        .map(|c| format!(";COUNT={c}"))
        .unwrap_or_default();
    Ok(Some(format!(
        "{dtstart}\nRRULE:{freq}{by_time}{}{count}",
        until.unwrap_or_default()
    )))
}

fn unsupported(what: &str) -> Error {
    Error::invalid(
        "rrule",
        format!("{what} cannot be expressed as a Cairn schedule"),
    )
}

/// A phase imported from an RRULE, with the time-zone policy its `DTSTART` names.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ImportedPhase {
    /// The phase.
    pub phase: Phase,
    /// `DTSTART;TZID=…` (or a UTC `DTSTART`) keeps that zone; a floating one, or none, follows
    /// the wall clock.
    pub time_zone_policy: TimeZonePolicy,
}

/// A phase from an RRULE (with or without its `DTSTART` line; without one, the rule starts on
/// `default_start` at midnight, on the wall clock). `dose` and `unit` are the amount per
/// occurrence.
///
/// It gives the same doses the RRULE does, or an error: the time-zone policy comes from
/// `DTSTART` (`TZID` or UTC: that zone; floating: the wall clock), the first day's doses start
/// at `DTSTART`'s time, and `UNTIL` (UTC with a zoned `DTSTART`) is read in the rule's zone. A
/// rule whose first or last day holds only some of its doses cannot be one Cairn phase and is
/// refused, as are rules with parts Cairn has no timing for.
pub fn phase_from_rrule(
    rule: &str,
    dose: f64,
    unit: &str,
    default_start: &str,
) -> Result<ImportedPhase> {
    let text = rule.trim();
    if text.len() > 2000 {
        return Err(Error::invalid("rrule", "too long"));
    }
    // RFC 5545 rules are ASCII, and the rrule crate slices some values by byte (a non-ASCII
    // BYDAY panicked in it).
    if !text.is_ascii() {
        return Err(Error::invalid("rrule", "not a valid RRULE"));
    }
    let not_valid = || Error::invalid("rrule", "not a valid RRULE");
    let mut dtstart = None;
    let mut rrule = None;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let upper = line.to_ascii_uppercase();
        if upper.starts_with("DTSTART") {
            if dtstart.replace(line).is_some() {
                return Err(unsupported("more than one DTSTART"));
            }
        } else if upper.starts_with("RRULE:") || upper.starts_with("FREQ=") {
            let body = if upper.starts_with("RRULE:") {
                &line[6..]
            } else {
                line
            };
            if rrule.replace(body).is_some() {
                return Err(unsupported("more than one RRULE"));
            }
        } else if ["RDATE", "EXDATE", "EXRULE"]
            .iter()
            .any(|p| upper.starts_with(p))
        {
            return Err(unsupported("RDATE, EXDATE or EXRULE"));
        } else {
            return Err(not_valid());
        }
    }
    let rrule = rrule.ok_or_else(not_valid)?;
    let (start, start_time, policy) = match dtstart {
        Some(line) => parse_dtstart(line)?,
        None => (
            parse_date("start", default_start)?,
            Time::midnight(),
            TimeZonePolicy::WallClock,
        ),
    };
    // UNTIL is read here, in the rule's zone; the rrule crate only parses the other parts,
    // against a DTSTART of the same civil values (it never sees the zone, so a wall time that
    // a DST change skips cannot trip it).
    let mut until = None;
    let mut parts = Vec::new();
    for part in rrule.split(';').filter(|p| !p.is_empty()) {
        match part.split_once('=') {
            Some((key, value)) if key.eq_ignore_ascii_case("UNTIL") => {
                if until.replace(value).is_some() {
                    return Err(not_valid());
                }
            }
            _ => parts.push(part),
        }
    }
    let crate_text = format!(
        "DTSTART:{}T{:02}{:02}{:02}Z\nRRULE:{}",
        ical_date(start),
        start_time.hour(),
        start_time.minute(),
        start_time.second(),
        parts.join(";")
    );
    let set: ::rrule::RRuleSet = crate_text.parse().map_err(|_| not_valid())?;
    let [rule] = set.get_rrule().as_slice() else {
        return Err(unsupported("more than one RRULE"));
    };
    if until.is_some() && rule.get_count().is_some() {
        return Err(not_valid());
    }
    if !rule.get_by_month().is_empty()
        || !rule.get_by_month_day().is_empty()
        || !rule.get_by_year_day().is_empty()
        || !rule.get_by_week_no().is_empty()
        || !rule.get_by_set_pos().is_empty()
        || rule.get_by_second().iter().any(|s| *s != 0)
        || (rule.get_by_second().is_empty() && start_time.second() != 0)
    {
        return Err(unsupported(
            "a month, year-day, week-number, set-position or seconds rule",
        ));
    }
    let mut days = Vec::new();
    for wd in rule.get_by_weekday() {
        match wd {
            ::rrule::NWeekday::Every(d) => {
                days.push(DayOfWeek::ALL[d.num_days_from_monday() as usize])
            }
            ::rrule::NWeekday::Nth(..) => return Err(unsupported("an nth weekday")),
        }
    }
    days.sort();
    days.dedup();
    let times = || -> Vec<String> {
        let hours = rule.get_by_hour();
        let minutes = rule.get_by_minute();
        let hours: Vec<u8> = if hours.is_empty() {
            vec![start_time.hour() as u8]
        } else {
            hours.to_vec()
        };
        let minutes: Vec<u8> = if minutes.is_empty() {
            vec![start_time.minute() as u8]
        } else {
            minutes.to_vec()
        };
        let mut out: Vec<String> = hours
            .iter()
            .flat_map(|h| minutes.iter().map(move |m| format!("{h:02}:{m:02}")))
            .collect();
        out.sort();
        out
    };
    let interval = u32::from(rule.get_interval());
    let timing = match rule.get_freq() {
        ::rrule::Frequency::Daily if interval == 1 || days.is_empty() => {
            if interval == 1 {
                Timing::TimesOfDay {
                    times: times(),
                    days_of_week: if days.len() == 7 { Vec::new() } else { days },
                }
            } else {
                Timing::EveryNDays {
                    every_days: interval,
                    times: times(),
                }
            }
        }
        ::rrule::Frequency::Weekly if interval == 1 => Timing::TimesOfDay {
            times: times(),
            days_of_week: if days.len() == 7 { Vec::new() } else { days },
        },
        ::rrule::Frequency::Hourly if days.is_empty() && rule.get_by_hour().is_empty() => {
            if rule
                .get_by_minute()
                .iter()
                .any(|m| i8::try_from(*m).ok() != Some(start_time.minute()))
            {
                return Err(unsupported("an hourly rule at several minutes"));
            }
            Timing::EveryNHours {
                every_hours: interval,
                anchor: format!("{:02}:{:02}", start_time.hour(), start_time.minute()),
            }
        }
        _ => return Err(unsupported("this frequency")),
    };
    let compiled = compile_timing(&timing)?;
    let dose_day = |d: Date| -> bool {
        match &compiled {
            CTiming::Times { days, .. } => days & (1 << d.weekday().to_monday_zero_offset()) != 0,
            CTiming::EveryDays { every, .. } => d >= start && days_between(start, d) % every == 0,
            _ => true,
        }
    };
    // RFC 5545: nothing happens before DTSTART, so the start day's doses begin at its time.
    if let CTiming::Times { times, .. } | CTiming::EveryDays { times, .. } = &compiled
        && dose_day(start)
        && times[0] < start_time
    {
        return Err(unsupported(
            "a DTSTART after the first dose of its day (the first day would be short)",
        ));
    }
    let end = until
        .map(|u| {
            let u = parse_until(u, &policy)?;
            end_from_until(u, &compiled, start, start_time, dose_day)
        })
        .transpose()?;
    let phase = Phase {
        dose,
        unit: unit.to_owned(),
        timing,
        start: start.to_string(),
        end: end.map(|e| e.to_string()),
        count: rule.get_count(),
    };
    // The whole phase as a regimen would check it: a COUNT of 0 or over the cap, or an UNTIL
    // before DTSTART, is refused here rather than by the regimen it would be added to.
    compile(&Medication::new("rrule", vec![phase.clone()]))?;
    Ok(ImportedPhase {
        phase,
        time_zone_policy: policy,
    })
}

/// `DTSTART[;TZID=zone]:YYYYMMDD[THHMMSS[Z]]` -> its civil date and time, and the policy.
fn parse_dtstart(line: &str) -> Result<(Date, Time, TimeZonePolicy)> {
    let bad = || Error::invalid("rrule", "DTSTART is not a date-time");
    let (head, value) = line.split_once(':').ok_or_else(bad)?;
    let zone = head.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("TZID")
            .then(|| v.trim().trim_matches('"'))
    });
    let value = value.trim();
    let (value, utc) = match value.strip_suffix(['Z', 'z']) {
        Some(v) => (v, true),
        None => (value, false),
    };
    let (date, time) = civil(value).ok_or_else(bad)?;
    let policy = match (zone, utc) {
        (Some(_), true) => return Err(bad()),
        (Some(zone), false) => {
            // Kept as the zone's canonical name (lookups ignore case), as export writes it.
            let tz = crate::time::check_time_zone("rrule", zone)?;
            TimeZonePolicy::FixedZone {
                zone: tz.iana_name().unwrap_or(zone).to_owned(),
            }
        }
        (None, true) => TimeZonePolicy::FixedZone {
            zone: "UTC".to_owned(),
        },
        (None, false) => TimeZonePolicy::WallClock,
    };
    Ok((date, time, policy))
}

/// `YYYYMMDD` (midnight) or `YYYYMMDDTHHMMSS` as civil values.
fn civil(value: &str) -> Option<(Date, Time)> {
    if value.len() == 8 {
        let d = jiff::civil::Date::strptime("%Y%m%d", value).ok()?;
        return Some((d, Time::midnight()));
    }
    let dt = jiff::civil::DateTime::strptime("%Y%m%dT%H%M%S", value).ok()?;
    Some((dt.date(), dt.time()))
}

/// `UNTIL`, as a civil date-time in the rule's zone; a date alone covers its whole day.
fn parse_until(value: &str, policy: &TimeZonePolicy) -> Result<DateTime> {
    let bad = || Error::invalid("rrule", "UNTIL is not a date-time");
    let value = value.trim();
    if value.len() == 8 {
        let (d, _) = civil(value).ok_or_else(bad)?;
        return Ok(d.to_datetime(Time::MAX));
    }
    let (value, utc) = match value.strip_suffix(['Z', 'z']) {
        Some(v) => (v, true),
        None => (value, false),
    };
    let (d, t) = civil(value).ok_or_else(bad)?;
    let dt = d.to_datetime(t);
    match policy {
        // RFC 5545: with a zoned DTSTART, UNTIL is UTC; read it on the zone's clock.
        TimeZonePolicy::FixedZone { zone } if utc => {
            let tz = crate::time::check_time_zone("rrule", zone)?;
            let at = jiff::tz::TimeZone::UTC
                .to_timestamp(dt)
                .map_err(|_| bad())?;
            Ok(tz.to_datetime(at))
        }
        _ => Ok(dt),
    }
}

/// The phase's last day for an `UNTIL` of `until` (inclusive): the day itself when none of its
/// doses come after `until`, the day before when all do; a day cut between two doses cannot be
/// said with an end date.
fn end_from_until(
    until: DateTime,
    timing: &CTiming,
    start: Date,
    start_time: Time,
    dose_day: impl Fn(Date) -> bool,
) -> Result<Date> {
    let day = until.date();
    let (first, last) = match timing {
        CTiming::Times { times, .. } | CTiming::EveryDays { times, .. } => {
            if !dose_day(day) {
                return Ok(day);
            }
            (times[0], times[times.len() - 1])
        }
        CTiming::EveryHours { every, .. } => {
            // The dose after `until`, counted in the rule's civil time.
            let anchor = start.to_datetime(start_time);
            let since = until.duration_since(anchor).as_secs().max(-1);
            let step = every.as_secs().max(1);
            let next = if since < 0 {
                0
            } else {
                since.div_euclid(step) + 1
            };
            let out_of_range = || Error::invalid("rrule", "UNTIL is out of range");
            let next_dose = anchor
                .checked_add(jiff::SignedDuration::from_secs(step.saturating_mul(next)))
                .map_err(|_| out_of_range())?;
            if next_dose.date() > day {
                return Ok(day);
            }
            if since < 0 {
                return Ok(add_days(start, -1));
            }
            // The last dose at or before `until`: on an earlier day, none of `until`'s day is
            // kept, and the phase ends the day before.
            let last_dose = anchor
                .checked_add(jiff::SignedDuration::from_secs(
                    step.saturating_mul(next - 1),
                ))
                .map_err(|_| out_of_range())?;
            if last_dose.date() < day {
                return Ok(add_days(day, -1));
            }
            return Err(unsupported("an UNTIL between two doses of one day"));
        }
        _ => return Ok(day),
    };
    if until.time() >= last {
        Ok(day)
    } else if until.time() < first {
        Ok(add_days(day, -1))
    } else {
        Err(unsupported("an UNTIL between two doses of one day"))
    }
}
