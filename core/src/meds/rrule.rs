//! RRULE (RFC 5545) import and export, for the timings RRULE can express.
//!
//! Daily and weekly times of day, every N days and every N hours map to one RRULE; cycles
//! ("14 on, 7 off") and as-needed do not (a cycle needs several rules or RDATEs), so export gives
//! `None` for them. Wall-clock medications export a floating `DTSTART` (no zone: 08:00 wherever
//! one is), fixed-zone ones a `DTSTART;TZID=…`, keeping wall times apart from elapsed intervals.

use std::collections::BTreeSet;

use jiff::civil::Time;

use super::expand::{add_days, resolve};
use super::regimen::{self, DayOfWeek, Phase, TimeZonePolicy, Timing, parse_date, parse_time};
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
    let timing = regimen::compile_timing(&phase.timing)?;
    let start = parse_date("start", &phase.start)?;
    let end = phase
        .end
        .as_deref()
        .map(|e| parse_date("end", e))
        .transpose()?;
    let (freq, first_time, by_time) = match (&phase.timing, &timing) {
        (Timing::TimesOfDay { days_of_week, .. }, regimen::CTiming::Times { times, .. }) => {
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
        (_, regimen::CTiming::EveryDays { every, times }) => {
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
        (_, regimen::CTiming::EveryHours { every, anchor }) => (
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
            let tz = crate::profile::check_time_zone("time_zone_policy", zone)?;
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

/// A phase from an RRULE (with or without its `DTSTART` line; without one, the rule starts on
/// `default_start` at midnight). `dose` and `unit` are the amount per occurrence.
pub fn phase_from_rrule(rule: &str, dose: f64, unit: &str, default_start: &str) -> Result<Phase> {
    let text = rule.trim();
    if text.len() > 2000 {
        return Err(Error::invalid("rrule", "too long"));
    }
    // RFC 5545 rules are ASCII, and the rrule crate slices some values by byte (a non-ASCII
    // BYDAY panicked in it).
    if !text.is_ascii() {
        return Err(Error::invalid("rrule", "not a valid RRULE"));
    }
    let mut lines: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if !lines
        .iter()
        .any(|l| l.to_ascii_uppercase().starts_with("DTSTART"))
    {
        let start = parse_date("start", default_start)?;
        // UTC keeps parsing independent of the machine's zone; only the civil values are used.
        lines.insert(0, format!("DTSTART:{}T000000Z", ical_date(start)));
    }
    for l in &mut lines {
        if l.to_ascii_uppercase().starts_with("FREQ=") {
            *l = format!("RRULE:{l}");
        }
    }
    let set: ::rrule::RRuleSet = lines
        .join("\n")
        .parse()
        .map_err(|_| Error::invalid("rrule", "not a valid RRULE"))?;
    let [rule] = set.get_rrule().as_slice() else {
        return Err(unsupported("more than one RRULE"));
    };
    if !set.get_rdate().is_empty() || !set.get_exdate().is_empty() || !set.get_exrule().is_empty() {
        return Err(unsupported("RDATE, EXDATE or EXRULE"));
    }
    if !rule.get_by_month().is_empty()
        || !rule.get_by_month_day().is_empty()
        || !rule.get_by_year_day().is_empty()
        || !rule.get_by_week_no().is_empty()
        || !rule.get_by_set_pos().is_empty()
        || rule.get_by_second().iter().any(|s| *s != 0)
    {
        return Err(unsupported(
            "a month, year-day, week-number or set-position rule",
        ));
    }
    let dtstart = set.get_dt_start().format("%Y-%m-%d %H:%M").to_string();
    let (start_date, start_time) = dtstart
        .split_once(' ')
        .ok_or_else(|| Error::invalid("rrule", "DTSTART is not a date-time"))?;
    let start_time = parse_time("rrule", start_time)?;
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
    let end = rule.get_until().map(|u| u.format("%Y-%m-%d").to_string());
    let phase = Phase {
        dose,
        unit: unit.to_owned(),
        timing,
        start: start_date.to_owned(),
        end,
        count: rule.get_count(),
    };
    // The whole phase as a regimen would check it: a COUNT of 0 or over the cap, or an UNTIL
    // before DTSTART, is refused here rather than by the regimen it would be added to.
    regimen::compile(&regimen::Medication::new("rrule", vec![phase.clone()]))?;
    Ok(phase)
}
