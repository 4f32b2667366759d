//! What each `cairn timeline` and `cairn symptoms` command does.

use cairn_core::timeline::{
    EndEdit, EventDetails, EventEdit, EventKind, Measurement, NewEvent, Quantity, SymptomReport,
    TimelineQuery, TreatmentKind,
};
use cairn_core::{Error, Store};
use jiff::tz::TimeZone;

use super::args::{AddArgs, DetailArgs, EditArgs, ListArgs, PageArgs, SearchArgs};
use super::print;
use crate::input;
use crate::terminal::safe_println;

impl PageArgs {
    /// Reads the page `query` asks for and prints it.
    fn show(&self, store: &Store, query: &TimelineQuery, zone: &TimeZone) -> Result<(), Error> {
        let page = store.timeline_page(query, self.cursor.as_deref(), self.limit)?;
        print::page(page, zone, self.json);
        Ok(())
    }
}

pub(super) fn add(store: &Store, zone: &TimeZone, args: AddArgs) -> Result<(), Error> {
    let event_zone = match &args.zone {
        Some(z) => cairn_core::time::check_time_zone("--zone", z)?,
        None => zone.clone(),
    };
    let kind = EventKind::parse(&args.kind)?;
    let now = store.clock().now();
    let at = match &args.at {
        Some(s) => input::instant("--at", s, &event_zone, now)?,
        None => now,
    };
    let ends_at = args
        .end
        .as_deref()
        .map(|s| input::instant("--end", s, &event_zone, now))
        .transpose()?;
    let details = details(base_details(kind, &args.details)?, &args.details)?;
    let event = NewEvent {
        occurred_at: at,
        recorded_zone: args.zone.clone(),
        ends_at,
        title: args.title,
        body: args.body,
        tags: args.tags,
        details,
        medication_ids: input::ids("--med", &args.medication_ids)?,
        document_ids: input::ids("--doc", &args.document_ids)?,
    };
    let id = store.add_event(&event)?;
    let event = store.event(&id)?;
    print::added(&event, zone, args.json);
    Ok(())
}

pub(super) fn list(store: &Store, zone: &TimeZone, args: ListArgs) -> Result<(), Error> {
    let now = store.clock().now();
    let query = TimelineQuery {
        from: args
            .from
            .as_deref()
            .map(|s| input::instant("--from", s, zone, now))
            .transpose()?,
        until: args
            .until
            .as_deref()
            .map(|s| input::instant("--until", s, zone, now))
            .transpose()?,
        kinds: args
            .kinds
            .iter()
            .map(|k| EventKind::parse(k))
            .collect::<Result<_, _>>()?,
        tags: args.tags,
        medication_id: args
            .medication_id
            .as_deref()
            .map(|m| input::id("--med", m))
            .transpose()?,
        document_id: args
            .document_id
            .as_deref()
            .map(|d| input::id("--doc", d))
            .transpose()?,
        text: None,
    };
    args.page.show(store, &query, zone)
}

pub(super) fn search(store: &Store, zone: &TimeZone, args: &SearchArgs) -> Result<(), Error> {
    let query = TimelineQuery {
        text: Some(args.words.join(" ")),
        ..TimelineQuery::default()
    };
    args.page.show(store, &query, zone)
}

pub(super) fn show(store: &Store, zone: &TimeZone, id: &str, json: bool) -> Result<(), Error> {
    let event = store.event(&input::id("ID", id)?)?;
    print::event(&event, zone, json);
    Ok(())
}

pub(super) fn edit(store: &Store, zone: &TimeZone, args: EditArgs) -> Result<(), Error> {
    let id = input::id("ID", &args.id)?;
    let current = store.event(&id)?;
    let event_zone = match &args.zone {
        Some(z) => cairn_core::time::check_time_zone("--zone", z)?,
        None => TimeZone::get(&current.recorded_zone).unwrap_or(zone.clone()),
    };
    let now = store.clock().now();
    let instant = |flag: &'static str, s: &Option<String>| {
        s.as_deref()
            .map(|s| input::instant(flag, s, &event_zone, now))
            .transpose()
    };
    let edit = EventEdit {
        occurred_at: instant("--at", &args.at)?,
        recorded_zone: args.zone.clone(),
        ends_at: if args.no_end {
            Some(EndEdit::Remove)
        } else {
            instant("--end", &args.end)?.map(|at| EndEdit::At { at })
        },
        title: args.title,
        body: args.body,
        tags: if args.no_tags {
            Some(Vec::new())
        } else {
            (!args.tags.is_empty()).then_some(args.tags)
        },
        details: if args.details.any() {
            Some(details(current.details.clone(), &args.details)?)
        } else {
            None
        },
        medication_ids: (!args.medication_ids.is_empty())
            .then(|| input::ids("--med", &args.medication_ids))
            .transpose()?,
        document_ids: (!args.document_ids.is_empty())
            .then(|| input::ids("--doc", &args.document_ids))
            .transpose()?,
    };
    store.edit_event(&id, &edit)?;
    let event = store.event(&id)?;
    print::edited(&event, zone, args.json);
    Ok(())
}

pub(super) fn rm(store: &Store, id: &str) -> Result<(), Error> {
    let id = input::id("ID", id)?;
    store.delete_event(&id)?;
    safe_println!("Deleted {id}");
    Ok(())
}

pub(super) fn upcoming(
    store: &Store,
    zone: &TimeZone,
    limit: usize,
    json: bool,
) -> Result<(), Error> {
    let events = store.upcoming_appointments(limit)?;
    print::upcoming(&events, zone, json);
    Ok(())
}

pub(super) fn trend(
    store: &Store,
    term: &str,
    from: Option<&str>,
    until: Option<&str>,
    json: bool,
) -> Result<(), Error> {
    let (zone, now) = (store.clock().time_zone(), store.clock().now());
    let from = from
        .map(|s| input::instant("--from", s, &zone, now))
        .transpose()?;
    let until = until
        .map(|s| input::instant("--until", s, &zone, now))
        .transpose()?;
    let points = store.symptom_trend(term, from, until)?;
    print::trend(term, &points, &zone, json);
    Ok(())
}

fn base_details(kind: EventKind, a: &DetailArgs) -> Result<EventDetails, Error> {
    Ok(match kind {
        EventKind::Diagnosis => EventDetails::Diagnosis {
            condition: String::new(),
            stage: None,
        },
        EventKind::Treatment => EventDetails::Treatment {
            treatment: match &a.treatment {
                Some(t) => TreatmentKind::parse(t)?,
                None => TreatmentKind::Other,
            },
            name: None,
            cycle: None,
        },
        EventKind::Appointment => EventDetails::Appointment {
            provider: None,
            place: None,
            questions: Vec::new(),
            notes_after: None,
        },
        EventKind::Symptom => EventDetails::Symptom {
            report: SymptomReport::new(
                a.term
                    .clone()
                    .ok_or(Error::invalid("--term", "a symptom needs a term"))?,
            ),
        },
        EventKind::Measurement => EventDetails::Measurement {
            measurement: Measurement::new(
                Quantity::parse(
                    a.quantity
                        .as_deref()
                        .ok_or(Error::invalid("--quantity", "a measurement needs one"))?,
                )?,
                a.value
                    .ok_or(Error::invalid("--value", "a measurement needs one"))?,
                a.unit
                    .clone()
                    .ok_or(Error::invalid("--unit", "a measurement needs one"))?,
            ),
        },
        EventKind::Mood => EventDetails::Mood {
            rating: a
                .rating
                .ok_or(Error::invalid("--rating", "a mood needs a rating 1-5"))?,
        },
        EventKind::Note => EventDetails::Note,
        EventKind::Milestone => EventDetails::Milestone,
    })
}

/// `base` with the flags given laid over it; flags for another kind are refused.
fn details(base: EventDetails, a: &DetailArgs) -> Result<EventDetails, Error> {
    let wrong = |flag: &'static str| Error::invalid(flag, "does not apply to this kind of event");
    let set = |slot: &mut Option<String>, v: &Option<String>| {
        if let Some(v) = v {
            *slot = Some(v.clone());
        }
    };
    let diagnosis = a.condition.is_some() || a.stage.is_some();
    let treatment = a.treatment.is_some() || a.name.is_some() || a.cycle.is_some();
    let appointment = a.provider.is_some()
        || a.place.is_some()
        || !a.questions.is_empty()
        || a.notes_after.is_some();
    let symptom = a.term.is_some()
        || a.frequency.is_some()
        || a.severity.is_some()
        || a.interference.is_some()
        || a.present.is_some()
        || a.grade.is_some();
    let measurement = a.quantity.is_some()
        || a.value.is_some()
        || a.value2.is_some()
        || a.unit.is_some()
        || a.low.is_some()
        || a.high.is_some();
    let kind = base.kind();
    for (given, k, flag) in [
        (diagnosis, EventKind::Diagnosis, "--condition"),
        (treatment, EventKind::Treatment, "--treatment"),
        (appointment, EventKind::Appointment, "--provider"),
        (symptom, EventKind::Symptom, "--term"),
        (measurement, EventKind::Measurement, "--quantity"),
        (a.rating.is_some(), EventKind::Mood, "--rating"),
    ] {
        if given && kind != k {
            return Err(wrong(flag));
        }
    }
    Ok(match base {
        EventDetails::Diagnosis {
            mut condition,
            mut stage,
        } => {
            if let Some(c) = &a.condition {
                condition = c.clone();
            }
            set(&mut stage, &a.stage);
            EventDetails::Diagnosis { condition, stage }
        }
        EventDetails::Treatment {
            mut treatment,
            mut name,
            mut cycle,
        } => {
            if let Some(t) = &a.treatment {
                treatment = TreatmentKind::parse(t)?;
            }
            set(&mut name, &a.name);
            if a.cycle.is_some() {
                cycle = a.cycle;
            }
            EventDetails::Treatment {
                treatment,
                name,
                cycle,
            }
        }
        EventDetails::Appointment {
            mut provider,
            mut place,
            mut questions,
            mut notes_after,
        } => {
            set(&mut provider, &a.provider);
            set(&mut place, &a.place);
            set(&mut notes_after, &a.notes_after);
            if !a.questions.is_empty() {
                questions = a.questions.clone();
            }
            EventDetails::Appointment {
                provider,
                place,
                questions,
                notes_after,
            }
        }
        EventDetails::Symptom { mut report } => {
            if let Some(t) = &a.term {
                report.term = t.clone();
            }
            for (slot, v) in [
                (&mut report.frequency, a.frequency),
                (&mut report.severity, a.severity),
                (&mut report.interference, a.interference),
                (&mut report.clinician_grade, a.grade),
            ] {
                if v.is_some() {
                    *slot = v;
                }
            }
            if let Some(p) = &a.present {
                report.present = Some(match p.trim().to_ascii_lowercase().as_str() {
                    "yes" | "y" | "true" | "1" => true,
                    "no" | "n" | "false" | "0" => false,
                    _ => return Err(Error::invalid("--present", "expected yes or no")),
                });
            }
            EventDetails::Symptom { report }
        }
        EventDetails::Measurement { mut measurement } => {
            if let Some(q) = &a.quantity {
                measurement.quantity = Quantity::parse(q)?;
            }
            if let Some(v) = a.value {
                measurement.value = v;
            }
            if a.value2.is_some() {
                measurement.second_value = a.value2;
            }
            if let Some(u) = &a.unit {
                measurement.unit = u.clone();
            }
            set(&mut measurement.name, &a.name);
            if a.low.is_some() {
                measurement.range_low = a.low;
            }
            if a.high.is_some() {
                measurement.range_high = a.high;
            }
            EventDetails::Measurement { measurement }
        }
        EventDetails::Mood { rating } => EventDetails::Mood {
            rating: a.rating.unwrap_or(rating),
        },
        other => other,
    })
}
