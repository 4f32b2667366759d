//! Dose occurrences: a compiled regimen expanded into its scheduled doses, deterministic and in
//! instant order, and the keys and ids that match a dose-log record to its occurrence.
//!
//! Times of day are wall times in the medication's zone (the device's zone for wall-clock
//! medications, the home zone for fixed-zone ones), turned into instants by the DST rule of
//! [`resolve`]. Every-N-hours timings are elapsed time from their anchor and ignore wall clocks.
//!
//! An occurrence is identified by its medication, phase and scheduled local time (see
//! [`Occ::key`]), never by its instant: a wall-clock 08:00 dose is the same dose whether the phone
//! is in London or in Los Angeles, so a dose logged before a flight stays logged after it.

use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::calendar::{Resolver, add_days, days_between, resolve};
use super::compiled::{CPhase, CTiming, Compiled};
use crate::ids::deterministic_id;

/// One scheduled dose of a medication, as `occurrences` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Occurrence {
    /// The stable occurrence id (the same on every device).
    pub id: String,
    /// The occurrence key: phase and scheduled local time (`0|2026-03-08T22:00`).
    pub key: String,
    /// The phase's position in the regimen.
    pub phase: u32,
    /// When it is due.
    pub at: Timestamp,
    /// The amount due.
    pub dose: f64,
}

impl Occurrence {
    /// The id of its dose-log record (`deterministic_id("dose", [medication id, key])`).
    pub fn dose_id(&self, medication_id: &str) -> String {
        dose_id(medication_id, &self.key)
    }
}

/// One scheduled dose, before it is joined with the dose log.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Occ {
    /// When it is due.
    pub(crate) at: Timestamp,
    /// The phase's position in the regimen.
    pub(crate) phase: u16,
    /// The scheduled local wall time in the medication's zone; for elapsed timings, the anchor's
    /// date-time plus k intervals, counted without any zone (so the key of the k-th dose never
    /// depends on where the phone is or on DST).
    pub(crate) local: DateTime,
    /// Whether the timing is elapsed (every N hours) rather than wall-clock.
    pub(crate) elapsed: bool,
    /// The amount due.
    pub(crate) dose: f64,
}

impl Occ {
    /// The occurrence key: phase and scheduled local time, e.g. `0|2026-03-08T22:00` (elapsed
    /// timings end in `E`). Dose-log records of the same occurrence share it on every device.
    pub(crate) fn key(&self) -> String {
        let mut buf = String::with_capacity(20);
        self.write_key(&mut buf);
        buf
    }

    /// Writes [`Occ::key`] into `buf` (cleared first); the hot loops reuse one buffer.
    pub(crate) fn write_key(&self, buf: &mut String) {
        fn digits(buf: &mut String, value: i64, width: usize) {
            let mut tmp = [b'0'; 8];
            let mut v = value.unsigned_abs();
            for slot in tmp[..width].iter_mut().rev() {
                *slot = b'0' + (v % 10) as u8;
                v /= 10;
            }
            if value < 0 {
                buf.push('-');
            }
            buf.extend(tmp[..width].iter().map(|&b| b as char));
        }
        let l = self.local;
        buf.clear();
        digits(
            buf,
            i64::from(self.phase),
            if self.phase >= 10 { 2 } else { 1 },
        );
        buf.push('|');
        digits(buf, i64::from(l.year()), 4);
        buf.push('-');
        digits(buf, i64::from(l.month()), 2);
        buf.push('-');
        digits(buf, i64::from(l.day()), 2);
        buf.push('T');
        digits(buf, i64::from(l.hour()), 2);
        buf.push(':');
        digits(buf, i64::from(l.minute()), 2);
        if self.elapsed {
            buf.push('E');
        }
    }

    /// The key as one number: phase, elapsed flag and local minutes since 1970, for fast joins
    /// with the dose log. Two occurrences have the same packed key exactly when they have the
    /// same [`Occ::key`].
    pub(crate) fn packed_key(&self) -> u64 {
        let l = self.local;
        pack_key(
            self.phase,
            self.elapsed,
            i64::from(l.year()),
            i64::from(l.month()),
            i64::from(l.day()),
            i64::from(l.hour()) * 60 + i64::from(l.minute()),
        )
    }

    /// The occurrence's stable id: the same on every device.
    pub(crate) fn id(&self, medication_id: &str) -> String {
        occurrence_id(medication_id, &self.key())
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn pack_key(phase: u16, elapsed: bool, y: i64, m: i64, d: i64, minute_of_day: i64) -> u64 {
    let minutes = days_from_civil(y, m, d) * 1440 + minute_of_day + (1 << 40);
    (u64::from(phase) << 48) | (u64::from(elapsed) << 47) | (minutes as u64 & ((1 << 47) - 1))
}

/// [`Occ::packed_key`] from the key text (`0|2026-03-08T22:00`, `E` for elapsed); `None` when
/// the text is not a key this version writes.
pub(crate) fn parse_packed_key(key: &str) -> Option<u64> {
    let (phase, rest) = key.split_once('|')?;
    let phase: u16 = phase.parse().ok()?;
    let (rest, elapsed) = match rest.strip_suffix('E') {
        Some(r) => (r, true),
        None => (rest, false),
    };
    let b = rest.as_bytes();
    if b.len() != 16 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    let num =
        |range: std::ops::Range<usize>| -> Option<i64> { rest.get(range)?.parse::<i64>().ok() };
    let (y, m, d, h, min) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || h > 23 || min > 59 {
        return None;
    }
    Some(pack_key(phase, elapsed, y, m, d, h * 60 + min))
}

/// The stable id of occurrence `key` of a medication.
pub(crate) fn occurrence_id(medication_id: &str, key: &str) -> String {
    deterministic_id("occurrence", &[medication_id, key])
}

/// The deterministic id of the dose-log record of occurrence `key`: the patient and a caregiver
/// logging the same dose write one record.
pub(crate) fn dose_id(medication_id: &str, key: &str) -> String {
    deterministic_id("dose", &[medication_id, key])
}

/// Cycle day 1 of each cycle of a cycle phase, in order, up to the one that starts after `until`
/// or up to cycle number `upto` (whichever comes first), honouring postponed cycles.
pub(crate) fn cycle_starts(
    c: &Compiled,
    p: &CPhase,
    until: Option<Date>,
    upto: Option<u32>,
) -> Vec<Date> {
    let CTiming::Cycle {
        on, off, cycles, ..
    } = p.timing
    else {
        return Vec::new();
    };
    let limit = until.unwrap_or(Date::MAX).min(p.end.unwrap_or(Date::MAX));
    let mut out = Vec::new();
    let mut start = p.start;
    let mut k: u32 = 0;
    loop {
        if start > limit {
            break;
        }
        out.push(start);
        if cycles.is_some_and(|n| k + 1 >= n) || upto.is_some_and(|u| k >= u) || k >= 100_000 {
            break;
        }
        k += 1;
        let next = c
            .cycle_starts
            .get(&(p.index, k))
            .copied()
            .unwrap_or_else(|| add_days(start, on + off));
        if next <= start {
            // Saturated at the calendar's end.
            break;
        }
        start = next;
    }
    out
}

/// Calls `f` with every scheduled local date-time of a date-based phase whose date is in
/// `[lo, hi]`, in order. A counted phase is counted from its start, so its `count`-th dose is
/// the same whatever the window. `f` returns false to stop.
pub(crate) fn for_each_local_dose(
    c: &Compiled,
    p: &CPhase,
    lo: Date,
    hi: Date,
    mut f: impl FnMut(DateTime) -> bool,
) {
    let hi = p.end.map_or(hi, |e| e.min(hi));
    let counting = p.count.is_some();
    let begin = if counting { p.start } else { lo.max(p.start) };
    if begin > hi {
        return;
    }
    let mut remaining = p.count.map_or(u64::MAX, u64::from);
    // Emits the doses of one day; false when the count is used up or `f` asked to stop.
    let mut day = |d: Date, times: &[Time]| -> bool {
        for &t in times {
            if remaining == 0 {
                return false;
            }
            remaining -= 1;
            if d >= lo && !f(d.to_datetime(t)) {
                return false;
            }
        }
        remaining > 0
    };
    match &p.timing {
        CTiming::Times { times, days } => {
            let mut d = begin;
            while d <= hi {
                let wd = d.weekday().to_monday_zero_offset();
                if days & (1 << wd) != 0 && !day(d, times) {
                    return;
                }
                d = add_days(d, 1);
                if d == Date::MAX {
                    return;
                }
            }
        }
        CTiming::EveryDays { every, times } => {
            let offset = days_between(p.start, begin);
            let first = (offset + every - 1).div_euclid(*every) * every;
            let mut d = add_days(p.start, first);
            while d <= hi {
                if !day(d, times) {
                    return;
                }
                let next = add_days(d, *every);
                if next == d || next == Date::MAX {
                    return;
                }
                d = next;
            }
        }
        CTiming::Cycle { on, times, .. } => {
            for cs in cycle_starts(c, p, Some(hi), None) {
                let last_on = add_days(cs, on - 1);
                if last_on < begin {
                    continue;
                }
                let mut d = if counting { cs } else { cs.max(begin) };
                while d <= last_on && d <= hi {
                    if !day(d, times) {
                        return;
                    }
                    let next = add_days(d, 1);
                    if next == d {
                        // The calendar's last day: nothing comes after it.
                        return;
                    }
                    d = next;
                }
            }
        }
        CTiming::EveryHours { .. } | CTiming::AsNeeded { .. } => {}
    }
}

/// The last day a phase can have a dose: its end date, or the day of its last dose when it is
/// bounded by a count or a number of cycles; `None` when open-ended.
pub(crate) fn last_dose_day(c: &Compiled, p: &CPhase) -> Option<Date> {
    if let Some(end) = p.end {
        return Some(end);
    }
    let bounded_cycles = matches!(
        p.timing,
        CTiming::Cycle {
            cycles: Some(_),
            ..
        }
    );
    let count = match p.count {
        Some(n) => n,
        None if bounded_cycles => u32::MAX,
        None => return None,
    };
    match &p.timing {
        CTiming::EveryHours { every, anchor } => {
            let first = p.start.to_datetime(*anchor);
            let span = every.checked_mul(i32::try_from(count - 1).ok()?)?;
            Some(first.checked_add(span).ok()?.date())
        }
        CTiming::AsNeeded { .. } => None,
        _ => {
            let mut last = None;
            let horizon = add_days(p.start, 366 * 300);
            for_each_local_dose(c, p, p.start, horizon, |dt| {
                last = Some(dt.date());
                true
            });
            last
        }
    }
}

/// Appends the occurrences of one medication due in `[from, to)`, in order of instant, then
/// phase, then local time. `device` is the device's zone (used by wall-clock medications).
pub(crate) fn expand_into(
    c: &Compiled,
    device: &TimeZone,
    from: Timestamp,
    to: Timestamp,
    out: &mut Vec<Occ>,
) {
    if from >= to {
        return;
    }
    let first = out.len();
    let zone = c.zone(device);
    let mut resolver = Resolver::new(zone);
    // One day of margin each side: a DST gap or fold can move a wall time across midnight.
    let lo = add_days(zone.to_datetime(from).date(), -1);
    let hi = add_days(zone.to_datetime(to).date(), 1);
    for p in &c.phases {
        match &p.timing {
            CTiming::AsNeeded { .. } => {}
            CTiming::EveryHours { every, anchor } => {
                expand_elapsed(zone, p, *every, *anchor, from, to, out);
            }
            _ => {
                if p.start > hi || p.end.is_some_and(|e| e < lo) {
                    continue;
                }
                for_each_local_dose(c, p, lo, hi, |local| {
                    if let Some(at) = resolver.resolve(local)
                        && from <= at
                        && at < to
                    {
                        out.push(Occ {
                            at,
                            phase: p.index,
                            local,
                            elapsed: false,
                            dose: p.dose,
                        });
                    }
                    true
                });
            }
        }
    }
    out[first..].sort_by_key(|o| (o.at, o.phase, o.local));
}

fn expand_elapsed(
    zone: &TimeZone,
    p: &CPhase,
    every: SignedDuration,
    anchor: Time,
    from: Timestamp,
    to: Timestamp,
    out: &mut Vec<Occ>,
) {
    let Some(anchor_at) = resolve(zone, p.start.to_datetime(anchor)) else {
        return;
    };
    // The phase ends at the end of its last day, read in the medication's zone.
    let end_at = p
        .end
        .and_then(|e| resolve(zone, add_days(e, 1).to_datetime(Time::midnight())));
    let step = every.as_secs().max(1);
    let since = from.duration_since(anchor_at).as_secs();
    let mut k = if since > 0 {
        (since + step - 1) / step
    } else {
        0
    };
    let count = p.count.map_or(i64::MAX, i64::from);
    let first_local = p.start.to_datetime(anchor);
    while k < count {
        let Ok(at) = anchor_at.checked_add(SignedDuration::from_secs(step.saturating_mul(k)))
        else {
            return;
        };
        if at >= to || end_at.is_some_and(|e| at >= e) {
            return;
        }
        let Ok(local) = first_local.checked_add(SignedDuration::from_secs(step.saturating_mul(k)))
        else {
            return;
        };
        out.push(Occ {
            at,
            phase: p.index,
            local,
            elapsed: true,
            dose: p.dose,
        });
        k += 1;
    }
}
