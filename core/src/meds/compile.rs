//! From a medication to its compiled regimen and its occurrences: every field checked, the
//! phases chained in sequence, postponed cycles kept in order.

use std::collections::BTreeMap;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::calendar::add_days;
use super::compiled::{CPhase, CTiming, Compiled, compile_timing};
use super::occurrence::{self, Occurrence, expand_into, last_dose_day, occurrence_id};
use super::regimen::{
    MAX_CYCLE_STARTS, MAX_DOSE, MAX_LATE_WINDOW_MINUTES, MAX_UNIT, Medication, TEXT_LIMITS,
    TimeZonePolicy, check_length, parse_date,
};
use crate::error::{Error, Result};

/// Checks a whole medication and compiles it for expansion.
pub(crate) fn compile(med: &Medication) -> Result<Compiled> {
    if med.name.trim().is_empty() {
        return Err(Error::invalid("name", "must not be empty"));
    }
    let code = med.code.as_deref().unwrap_or_default();
    let texts = [
        &med.name,
        &med.strength,
        &med.form,
        &med.route,
        &med.instructions,
        &med.prescriber,
        code,
    ];
    for ((field, max), text) in TEXT_LIMITS.into_iter().zip(texts) {
        check_length(field, text.trim(), max)?;
    }
    if med.cycle_starts.len() > MAX_CYCLE_STARTS {
        return Err(Error::invalid(
            "cycle_starts",
            "at most 1000 postponed cycles",
        ));
    }
    let fixed_zone = match &med.time_zone_policy {
        TimeZonePolicy::WallClock => None,
        TimeZonePolicy::FixedZone { zone } => {
            Some(crate::time::check_time_zone("time_zone_policy", zone)?)
        }
    };
    if med.late_window_minutes == 0 || med.late_window_minutes > MAX_LATE_WINDOW_MINUTES {
        return Err(Error::invalid(
            "late_window_minutes",
            "must be between 1 minute and 24 hours",
        ));
    }
    if let Some(stock) = med.stock
        && !(stock.is_finite() && stock >= 0.0)
    {
        return Err(Error::invalid("stock", "must be zero or more"));
    }
    if med.refill_threshold_days == Some(0) {
        return Err(Error::invalid(
            "refill_threshold_days",
            "must be at least 1",
        ));
    }
    if med.phases.is_empty() {
        return Err(Error::invalid(
            "phases",
            "a regimen needs at least one phase",
        ));
    }
    if med.phases.len() > 64 {
        return Err(Error::invalid("phases", "at most 64 phases"));
    }
    let mut phases: Vec<CPhase> = Vec::with_capacity(med.phases.len());
    for (index, p) in med.phases.iter().enumerate() {
        if !(p.dose.is_finite() && p.dose > 0.0) {
            return Err(Error::invalid("dose", "must be more than zero"));
        }
        if p.dose > MAX_DOSE {
            return Err(Error::invalid("dose", "at most 1000000 per dose"));
        }
        check_length("unit", p.unit.trim(), MAX_UNIT)?;
        let timing = compile_timing(&p.timing)?;
        let start = parse_date("start", &p.start)?;
        let end = p.end.as_deref().map(|e| parse_date("end", e)).transpose()?;
        if let Some(end) = end
            && end < start
        {
            return Err(Error::invalid("end", "the phase ends before it starts"));
        }
        if p.count == Some(0) {
            return Err(Error::invalid("count", "must be at least 1"));
        }
        if p.count.is_some() && matches!(timing, CTiming::AsNeeded { .. }) {
            return Err(Error::invalid(
                "count",
                "an as-needed phase is bounded by dates, not a count",
            ));
        }
        if p.count.is_some_and(|c| c > 100_000) {
            return Err(Error::invalid("count", "at most 100000 doses"));
        }
        if let Some(prev) = phases.last()
            && start <= prev.start
        {
            return Err(Error::invalid(
                "phases",
                "phases overlap: each must start after the one before",
            ));
        }
        phases.push(CPhase {
            index: index as u16,
            dose: p.dose,
            timing,
            start,
            end,
            count: p.count,
        });
    }
    let mut cycle_starts = BTreeMap::new();
    for cs in &med.cycle_starts {
        let phase = phases
            .get(cs.phase as usize)
            .ok_or_else(|| Error::invalid("cycle_starts", "no such phase"))?;
        if !matches!(phase.timing, CTiming::Cycle { .. }) {
            return Err(Error::invalid("cycle_starts", "that phase has no cycles"));
        }
        if cs.cycle == 0 {
            return Err(Error::invalid(
                "cycle_starts",
                "the first cycle starts with the phase; move the phase's start instead",
            ));
        }
        cycle_starts.insert(
            (phase.index, cs.cycle),
            parse_date("cycle_starts", &cs.start)?,
        );
    }
    let mut compiled = Compiled {
        fixed_zone,
        late_window: SignedDuration::from_mins(i64::from(med.late_window_minutes)),
        phases,
        cycle_starts,
    };
    // A postponed cycle may not start before the previous cycle's days on are over.
    for &(phase, cycle) in compiled.cycle_starts.keys() {
        let p = &compiled.phases[phase as usize];
        let starts = occurrence::cycle_starts(&compiled, p, None, Some(cycle));
        if let (Some(prev), Some(this), CTiming::Cycle { on, .. }) = (
            starts.get(cycle as usize - 1),
            starts.get(cycle as usize),
            &p.timing,
        ) && *this < add_days(*prev, *on)
        {
            return Err(Error::invalid(
                "cycle_starts",
                "a cycle cannot start before the previous cycle's days on are over",
            ));
        }
    }
    // Phases run in sequence (FHIR Dosage.sequence). An open-ended phase ends the day before the
    // next one starts; an explicit end or a count that reaches into the next phase is an overlap.
    for i in 1..compiled.phases.len() {
        let next_start = compiled.phases[i].start;
        let prev = &compiled.phases[i - 1];
        match last_dose_day(&compiled, prev) {
            Some(last) if last >= next_start => {
                return Err(Error::invalid(
                    "phases",
                    "phases overlap: each must start after the one before ends",
                ));
            }
            Some(_) => {}
            None => compiled.phases[i - 1].end = Some(add_days(next_start, -1)),
        }
    }
    Ok(compiled)
}

/// The occurrences of `med` due in `[from, to)` with the device in `device_zone`, in order.
pub fn occurrences(
    med: &Medication,
    device_zone: &TimeZone,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<Occurrence>> {
    let compiled = compile(med)?;
    let mut occs = Vec::new();
    expand_into(&compiled, device_zone, from, to, &mut occs);
    Ok(occs
        .iter()
        .map(|o| {
            let key = o.key();
            Occurrence {
                id: occurrence_id(&med.id, &key),
                phase: u32::from(o.phase),
                at: o.at,
                dose: o.dose,
                key,
            }
        })
        .collect())
}
