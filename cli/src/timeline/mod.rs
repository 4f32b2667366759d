//! `cairn timeline` and `cairn symptoms`.

use cairn_core::timeline::{
    DayGroup, EventDetails, EventEdit, EventFlag, EventKind, Measurement, NewEvent,
    PRO_CTCAE_TERMS, Quantity, SymptomPoint, SymptomReport, TimelineEvent, TimelinePage,
    TimelineQuery, TreatmentKind, group_by_local_day,
};
use cairn_core::{Error, Store};
use clap::{Args, Subcommand};
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, ZonedDateTime};
use serde_json::{Value, json};

use crate::Context;
use crate::terminal::{self, safe_println};

/// `cairn timeline …`
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Adds an event (diagnosis, treatment, appointment, symptom, measurement, mood, note, milestone).
    Add(Box<AddArgs>),
    /// Lists events, newest first, a page at a time, grouped by day.
    List(ListArgs),
    /// Finds events by words of their title, text or tags (case and accents ignored).
    Search(SearchArgs),
    /// Shows one event in full.
    Show {
        /// The event's id.
        id: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Changes the fields given, and only those.
    Edit(Box<EditArgs>),
    /// Deletes an event.
    Rm {
        /// The event's id.
        id: String,
    },
    /// Appointments not yet over, soonest first.
    Upcoming {
        /// How many at most.
        #[arg(long, default_value_t = 10)]
        limit: usize,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// `cairn symptoms …`
#[derive(Debug, Subcommand)]
pub(crate) enum SymptomsCommand {
    /// One symptom's scores over time, oldest first.
    Trend {
        /// A PRO-CTCAE term (code, name or common word, e.g. "nausea", "diarrhoea") or the free
        /// text a symptom was logged with.
        term: String,
        /// From this date or instant (inclusive).
        #[arg(long)]
        from: Option<String>,
        /// Until this date or instant (exclusive).
        #[arg(long)]
        until: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The shipped PRO-CTCAE vocabulary and what each term asks.
    Terms,
}

/// Fields every kind of event may have.
#[derive(Debug, Args)]
pub(crate) struct AddArgs {
    /// diagnosis, treatment, appointment, symptom, measurement, mood, note or milestone.
    #[arg(long)]
    kind: String,
    /// The title (other kinds than note and milestone get one from their details if left out).
    #[arg(long, default_value = "")]
    title: String,
    /// When: RFC 3339 (2026-10-21T08:00:00+01:00) or local (2026-10-21T08:00, in --zone). Default: now.
    #[arg(long)]
    at: Option<String>,
    /// The IANA zone it happened in (default: the device's).
    #[arg(long)]
    zone: Option<String>,
    /// When it ended (same forms as --at).
    #[arg(long)]
    end: Option<String>,
    /// Free text.
    #[arg(long, default_value = "")]
    body: String,
    /// A tag (repeatable).
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// A linked medication id (repeatable).
    #[arg(long = "med")]
    medication_ids: Vec<String>,
    /// A linked document id (repeatable).
    #[arg(long = "doc")]
    document_ids: Vec<String>,
    #[command(flatten)]
    details: DetailArgs,
    /// Print the new event as JSON.
    #[arg(long)]
    json: bool,
}

/// What only some kinds of event carry.
#[derive(Debug, Args, Default)]
pub(crate) struct DetailArgs {
    /// Diagnosis: the condition.
    #[arg(long)]
    condition: Option<String>,
    /// Diagnosis: the stage.
    #[arg(long)]
    stage: Option<String>,
    /// Treatment: surgery, chemotherapy, radiation, immunotherapy, hormone or other.
    #[arg(long)]
    treatment: Option<String>,
    /// Treatment: the regimen or procedure.
    #[arg(long)]
    name: Option<String>,
    /// Treatment: the cycle number.
    #[arg(long)]
    cycle: Option<u32>,
    /// Appointment: who.
    #[arg(long)]
    provider: Option<String>,
    /// Appointment: where.
    #[arg(long)]
    place: Option<String>,
    /// Appointment: a question to ask (repeatable).
    #[arg(long = "question")]
    questions: Vec<String>,
    /// Appointment: notes afterwards.
    #[arg(long)]
    notes_after: Option<String>,
    /// Symptom: the PRO-CTCAE term or free text.
    #[arg(long)]
    term: Option<String>,
    /// Symptom: how often, 0 (never) to 4 (almost constantly).
    #[arg(long)]
    frequency: Option<u8>,
    /// Symptom: how bad, 0 (none) to 4 (very severe).
    #[arg(long)]
    severity: Option<u8>,
    /// Symptom: interference with usual activities, 0 (not at all) to 4 (very much).
    #[arg(long)]
    interference: Option<u8>,
    /// Symptom: whether it was present (yes or no).
    #[arg(long)]
    present: Option<String>,
    /// Symptom: the CTCAE grade (1-5) a clinician gave.
    #[arg(long)]
    grade: Option<u8>,
    /// Measurement: temperature, weight, blood_pressure, heart_rate, blood_glucose, pain_score or lab.
    #[arg(long)]
    quantity: Option<String>,
    /// Measurement: the value (systolic for blood pressure).
    #[arg(long, allow_negative_numbers = true)]
    value: Option<f64>,
    /// Measurement: the diastolic value of a blood pressure.
    #[arg(long)]
    value2: Option<f64>,
    /// Measurement: the UCUM unit (Cel, [degF], kg, [lb_av], mm[Hg], /min, mg/dL, mmol/L, 10*9/L, {score}).
    #[arg(long)]
    unit: Option<String>,
    /// Measurement: the reference range's lower end.
    #[arg(long, allow_negative_numbers = true)]
    low: Option<f64>,
    /// Measurement: the reference range's upper end.
    #[arg(long, allow_negative_numbers = true)]
    high: Option<f64>,
    /// Mood: 1 (very low) to 5 (very good).
    #[arg(long)]
    rating: Option<u8>,
}

/// Which page of a listing, and how to print it.
#[derive(Debug, Args)]
pub(crate) struct PageArgs {
    /// Events per page.
    #[arg(long, default_value_t = 50)]
    limit: usize,
    /// Continue from a cursor printed by an earlier page.
    #[arg(long)]
    cursor: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

impl PageArgs {
    /// Reads the page `query` asks for and prints it.
    fn show(&self, store: &Store, query: &TimelineQuery, zone: &TimeZone) -> Result<(), Error> {
        let page = store.timeline_page(query, self.cursor.as_deref(), self.limit)?;
        print_page(page, zone, self.json);
        Ok(())
    }
}

/// `cairn timeline list`
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Only this kind (repeatable).
    #[arg(long = "kind")]
    kinds: Vec<String>,
    /// Only events with this tag (repeatable: all of them).
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// From this date or instant (inclusive).
    #[arg(long)]
    from: Option<String>,
    /// Until this date or instant (exclusive).
    #[arg(long)]
    until: Option<String>,
    /// Only events linked to this medication.
    #[arg(long = "med")]
    medication_id: Option<String>,
    /// Only events linked to this document.
    #[arg(long = "doc")]
    document_id: Option<String>,
    #[command(flatten)]
    page: PageArgs,
}

/// `cairn timeline search`
#[derive(Debug, Args)]
pub(crate) struct SearchArgs {
    /// The words to find.
    #[arg(required = true)]
    words: Vec<String>,
    #[command(flatten)]
    page: PageArgs,
}

/// `cairn timeline edit`
#[derive(Debug, Args)]
pub(crate) struct EditArgs {
    /// The event's id.
    id: String,
    /// A new title.
    #[arg(long)]
    title: Option<String>,
    /// A new start (same forms as `add --at`).
    #[arg(long)]
    at: Option<String>,
    /// A new recorded zone.
    #[arg(long)]
    zone: Option<String>,
    /// A new end.
    #[arg(long, conflicts_with = "no_end")]
    end: Option<String>,
    /// Removes the end.
    #[arg(long)]
    no_end: bool,
    /// New free text.
    #[arg(long)]
    body: Option<String>,
    /// New tags, replacing the old ones (repeatable).
    #[arg(long = "tag", conflicts_with = "no_tags")]
    tags: Vec<String>,
    /// Removes every tag.
    #[arg(long)]
    no_tags: bool,
    /// New linked medications, replacing the old ones (repeatable).
    #[arg(long = "med")]
    medication_ids: Vec<String>,
    /// New linked documents, replacing the old ones (repeatable).
    #[arg(long = "doc")]
    document_ids: Vec<String>,
    #[command(flatten)]
    details: DetailArgs,
    /// Print the edited event as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(ctx: &Context, cmd: Command) -> Result<(), Error> {
    let store = ctx.open()?;
    let zone = store.clock().time_zone();
    match cmd {
        Command::Add(args) => {
            let args = *args;
            let event_zone = match &args.zone {
                Some(z) => cairn_core::time::check_time_zone("--zone", z)?,
                None => zone.clone(),
            };
            let kind = EventKind::parse(&args.kind)?;
            let at = match &args.at {
                Some(s) => parse_instant("--at", s, &event_zone)?,
                None => store.clock().now(),
            };
            let ends_at = args
                .end
                .as_deref()
                .map(|s| parse_instant("--end", s, &event_zone))
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
                medication_ids: args.medication_ids,
                document_ids: args.document_ids,
            };
            let id = store.add_event(&event)?;
            let event = store.event(&id)?;
            if args.json {
                println!("{}", terminal::pretty_json(&event_json(&event)));
            } else {
                safe_println!("Added {} {}", event.kind.as_str(), event.id);
                print_event(&event, &zone);
            }
        }
        Command::List(args) => {
            let query = TimelineQuery {
                from: args
                    .from
                    .as_deref()
                    .map(|s| parse_instant("--from", s, &zone))
                    .transpose()?,
                until: args
                    .until
                    .as_deref()
                    .map(|s| parse_instant("--until", s, &zone))
                    .transpose()?,
                kinds: args
                    .kinds
                    .iter()
                    .map(|k| EventKind::parse(k))
                    .collect::<Result<_, _>>()?,
                tags: args.tags,
                medication_id: args.medication_id,
                document_id: args.document_id,
                text: None,
            };
            args.page.show(&store, &query, &zone)?;
        }
        Command::Search(args) => {
            let query = TimelineQuery {
                text: Some(args.words.join(" ")),
                ..TimelineQuery::default()
            };
            args.page.show(&store, &query, &zone)?;
        }
        Command::Show { id, json } => {
            let event = store.event(&id)?;
            if json {
                println!("{}", terminal::pretty_json(&event_json(&event)));
            } else {
                print_event_full(&event, &zone);
            }
        }
        Command::Edit(args) => {
            let args = *args;
            let current = store.event(&args.id)?;
            let event_zone = match &args.zone {
                Some(z) => cairn_core::time::check_time_zone("--zone", z)?,
                None => TimeZone::get(&current.recorded_zone).unwrap_or(zone.clone()),
            };
            let instant = |flag: &'static str, s: &Option<String>| {
                s.as_deref()
                    .map(|s| parse_instant(flag, s, &event_zone))
                    .transpose()
            };
            let edit = EventEdit {
                occurred_at: instant("--at", &args.at)?,
                recorded_zone: args.zone.clone(),
                ends_at: if args.no_end {
                    Some(None)
                } else {
                    instant("--end", &args.end)?.map(Some)
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
                medication_ids: (!args.medication_ids.is_empty()).then_some(args.medication_ids),
                document_ids: (!args.document_ids.is_empty()).then_some(args.document_ids),
            };
            store.edit_event(&args.id, &edit)?;
            let event = store.event(&args.id)?;
            if args.json {
                println!("{}", terminal::pretty_json(&event_json(&event)));
            } else {
                safe_println!("Edited {}", event.id);
                print_event(&event, &zone);
            }
        }
        Command::Rm { id } => {
            store.delete_event(&id)?;
            safe_println!("Deleted {id}");
        }
        Command::Upcoming { limit, json } => {
            let events = store.upcoming_appointments(limit)?;
            if json {
                let list: Vec<Value> = events.iter().map(event_json).collect();
                println!("{}", terminal::pretty_json(&Value::from(list)));
            } else if events.is_empty() {
                safe_println!("No upcoming appointments.");
            } else {
                for e in &events {
                    print_event(e, &zone);
                }
            }
        }
    }
    store.close()
}

pub(crate) fn run_symptoms(ctx: &Context, cmd: SymptomsCommand) -> Result<(), Error> {
    match cmd {
        SymptomsCommand::Terms => {
            for t in PRO_CTCAE_TERMS {
                let attrs: Vec<&str> = t.attributes.iter().map(|a| a.as_str()).collect();
                safe_println!("{:<22} {:<42} {}", t.code, t.label, attrs.join(", "));
            }
            Ok(())
        }
        SymptomsCommand::Trend {
            term,
            from,
            until,
            json,
        } => {
            let store = ctx.open()?;
            let zone = store.clock().time_zone();
            let from = from
                .as_deref()
                .map(|s| parse_instant("--from", s, &zone))
                .transpose()?;
            let until = until
                .as_deref()
                .map(|s| parse_instant("--until", s, &zone))
                .transpose()?;
            let points = store.symptom_trend(&term, from, until)?;
            if json {
                let list: Vec<Value> = points.iter().map(point_json).collect();
                println!("{}", terminal::pretty_json(&Value::from(list)));
            } else {
                print_trend(&term, &points, &zone);
            }
            store.close()
        }
    }
}

/// Parses an instant: RFC 3339 / RFC 9557, or a local date-time (or date, at midnight) in `zone`.
pub(crate) fn parse_instant(
    flag: &'static str,
    s: &str,
    zone: &TimeZone,
) -> Result<Timestamp, Error> {
    let s = s.trim();
    if let Ok(z) = s.parse::<ZonedDateTime>() {
        return Ok(z.timestamp());
    }
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t);
    }
    let civil = s
        .replacen(' ', "T", 1)
        .parse::<DateTime>()
        .or_else(|_| s.parse::<jiff::civil::Date>().map(|d| d.at(0, 0, 0, 0)))
        .map_err(|_| {
            Error::invalid(
                flag,
                "expected 2026-10-21T08:00:00+01:00, 2026-10-21T08:00 or 2026-10-21",
            )
        })?;
    civil
        .to_zoned_datetime(zone.clone())
        .map(|z| z.timestamp())
        .map_err(|_| Error::invalid(flag, "out of range"))
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

impl DetailArgs {
    fn any(&self) -> bool {
        self.condition.is_some()
            || self.stage.is_some()
            || self.treatment.is_some()
            || self.name.is_some()
            || self.cycle.is_some()
            || self.provider.is_some()
            || self.place.is_some()
            || !self.questions.is_empty()
            || self.notes_after.is_some()
            || self.term.is_some()
            || self.frequency.is_some()
            || self.severity.is_some()
            || self.interference.is_some()
            || self.present.is_some()
            || self.grade.is_some()
            || self.quantity.is_some()
            || self.value.is_some()
            || self.value2.is_some()
            || self.unit.is_some()
            || self.low.is_some()
            || self.high.is_some()
            || self.rating.is_some()
    }
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

/// The event as JSON, plus its local start in the zone it was recorded in.
pub(crate) fn event_json(e: &TimelineEvent) -> Value {
    let mut v = serde_json::to_value(e).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut v {
        map.insert("local_start".into(), json!(e.local_start().to_string()));
        if let EventDetails::Symptom { report } = &e.details {
            // The payload keeps the clinician's grade out; JSON readers get it beside it.
            map.insert("clinician_grade".into(), json!(report.clinician_grade));
        }
    }
    v
}

fn point_json(p: &SymptomPoint) -> Value {
    json!({
        "event_id": p.event_id,
        "occurred_at": p.occurred_at.to_string(),
        "term": p.report.term,
        "frequency": p.report.frequency,
        "severity": p.report.severity,
        "interference": p.report.interference,
        "present": p.report.present,
        "clinician_grade": p.report.clinician_grade,
    })
}

fn print_page(page: TimelinePage, zone: &TimeZone, json: bool) {
    if json {
        let events: Vec<Value> = page.events.iter().map(event_json).collect();
        println!(
            "{}",
            terminal::pretty_json(
                &json!({"events": events, "older": page.older, "newer": page.newer})
            )
        );
        return;
    }
    if page.events.is_empty() {
        safe_println!("No events.");
    }
    for DayGroup { date, events } in group_by_local_day(page.events, zone) {
        safe_println!("{}", date.strftime("%a %-d %b %Y"));
        for e in &events {
            safe_println!("  {}", line(e, zone));
        }
    }
    if let Some(c) = page.older {
        safe_println!("older: --cursor {c}");
    }
    if let Some(c) = page.newer {
        safe_println!("newer: --cursor {c}");
    }
}

/// One line: local time, kind, title, what the details add to it, flags, tags, id.
fn line(e: &TimelineEvent, zone: &TimeZone) -> String {
    let local = e.occurred_at.to_zoned_datetime(zone.clone());
    let mut s = format!(
        "{}  {:<11} {}",
        local.strftime("%H:%M"),
        e.kind.as_str(),
        e.title
    );
    let title = e.title.to_lowercase();
    let extra: Vec<String> = summary_parts(&e.details)
        .into_iter()
        .filter(|p| !title.contains(&p.to_lowercase()))
        .collect();
    if !extra.is_empty() {
        s.push_str(&format!(" — {}", extra.join(", ")));
    }
    for f in &e.flags {
        s.push_str(match f {
            EventFlag::Fever => "  [FEVER: call your chemo line]",
            EventFlag::OutOfRange => "  [out of range]",
        });
    }
    for t in &e.tags {
        s.push_str(&format!(" #{t}"));
    }
    s.push_str(&format!("  ({})", e.id));
    s
}

fn summary(d: &EventDetails) -> String {
    summary_parts(d).join(", ")
}

fn summary_parts(d: &EventDetails) -> Vec<String> {
    match d {
        EventDetails::Diagnosis { condition, stage } => {
            let mut parts = vec![condition.clone()];
            parts.extend(stage.iter().map(|s| format!("stage {s}")));
            parts
        }
        EventDetails::Treatment {
            treatment,
            name,
            cycle,
        } => {
            let mut parts = vec![treatment.label().to_owned()];
            parts.extend(name.iter().cloned());
            parts.extend(cycle.iter().map(|c| format!("cycle {c}")));
            parts
        }
        EventDetails::Appointment {
            provider, place, ..
        } => provider.iter().chain(place.iter()).cloned().collect(),
        EventDetails::Symptom { report } => vec![report.describe()],
        EventDetails::Measurement { measurement } => vec![measurement.display_value()],
        EventDetails::Mood { rating } => vec![format!("{rating}/5")],
        EventDetails::Note | EventDetails::Milestone => Vec::new(),
    }
}

fn print_event(e: &TimelineEvent, zone: &TimeZone) {
    let local = e.occurred_at.to_zoned_datetime(zone.clone());
    safe_println!("  {}  {}", local.strftime("%a %-d %b %Y"), line(e, zone));
}

fn print_event_full(e: &TimelineEvent, zone: &TimeZone) {
    let local = e.occurred_at.to_zoned_datetime(zone.clone());
    safe_println!("{} ({})", e.title, e.kind.label());
    safe_println!("id        {}", e.id);
    safe_println!(
        "when      {} (recorded in {})",
        local.strftime("%a %-d %b %Y %H:%M %Z"),
        e.recorded_zone
    );
    if let Some(end) = e.ends_at {
        let end = end.to_zoned_datetime(zone.clone());
        safe_println!("until     {}", end.strftime("%a %-d %b %Y %H:%M %Z"));
    }
    let s = summary(&e.details);
    if !s.is_empty() {
        safe_println!("details   {s}");
    }
    if let EventDetails::Appointment {
        questions,
        notes_after,
        ..
    } = &e.details
    {
        for q in questions {
            safe_println!("ask       {q}");
        }
        if let Some(n) = notes_after {
            terminal::print_paragraph("after     ", n);
        }
    }
    if let EventDetails::Measurement { measurement } = &e.details
        && let (Some(_), _) | (_, Some(_)) = (measurement.range_low, measurement.range_high)
    {
        let bound = |b: Option<f64>| b.map_or("…".to_owned(), |v| v.to_string());
        safe_println!(
            "range     {}–{} {}",
            bound(measurement.range_low),
            bound(measurement.range_high),
            measurement.unit
        );
    }
    for f in &e.flags {
        safe_println!(
            "flag      {}",
            match f {
                EventFlag::Fever =>
                    "FEVER (38.0 °C or more): on chemotherapy, call your chemo line now",
                EventFlag::OutOfRange => "outside the reference range",
            }
        );
    }
    if !e.tags.is_empty() {
        safe_println!("tags      {}", e.tags.join(", "));
    }
    if !e.medication_ids.is_empty() {
        safe_println!("meds      {}", e.medication_ids.join(", "));
    }
    if !e.document_ids.is_empty() {
        safe_println!("documents {}", e.document_ids.join(", "));
    }
    if !e.body.is_empty() {
        safe_println!();
        terminal::print_paragraph("", &e.body);
    }
}

fn print_trend(term: &str, points: &[SymptomPoint], zone: &TimeZone) {
    let Some(first) = points.first() else {
        safe_println!("No reports of {term}.");
        return;
    };
    safe_println!("{} — {} reports", first.report.label(), points.len());
    for p in points {
        let local = p.occurred_at.to_zoned_datetime(zone.clone());
        let bars: Vec<String> = p
            .report
            .scores()
            .into_iter()
            .map(|(attr, score)| {
                format!(
                    "{:<12} {:<4}",
                    attr.as_str(),
                    "#".repeat(usize::from(score))
                )
            })
            .collect();
        safe_println!(
            "  {}  {}  {}",
            local.strftime("%a %-d %b %H:%M"),
            bars.join("  "),
            p.report.describe()
        );
    }
}

/// Adds the timeline part of the demo: the first month after a diagnosis, then shows it.
pub(crate) fn demo(store: &Store) -> Result<(), Error> {
    let zone = TimeZone::get("Europe/London").map_err(|_| Error::invalid("zone", "missing"))?;
    let today = store.clock().now().to_zoned_datetime(zone.clone()).date();
    let at = |days_ago: i64, h: i8, m: i8| -> Result<Timestamp, Error> {
        today
            .checked_sub(days_ago.days())
            .and_then(|d| d.at(h, m, 0, 0).to_zoned_datetime(zone.clone()))
            .map(|z| z.timestamp())
            .map_err(|_| Error::invalid("demo date", "out of range"))
    };
    let symptom = |term: &str, f: Option<u8>, s: Option<u8>, i: Option<u8>| EventDetails::Symptom {
        report: SymptomReport {
            frequency: f,
            severity: s,
            interference: i,
            ..SymptomReport::new(term)
        },
    };
    let measure = |m: Measurement| EventDetails::Measurement { measurement: m };
    let z = "Europe/London";
    let events = vec![
        NewEvent::new(
            at(30, 11, 0)?,
            "",
            EventDetails::Diagnosis {
                condition: "Breast cancer (invasive ductal carcinoma), HER2-negative".into(),
                stage: Some("IIA".into()),
            },
        )
        .body("Dr Okafor explained the biopsy results. Chemo first, then surgery. Sam was with me.")
        .tags(["diagnosis"])
        .zone(z),
        NewEvent::new(
            at(27, 14, 30)?,
            "",
            EventDetails::Appointment {
                provider: Some("Dr Okafor, oncology".into()),
                place: Some("Outpatients B".into()),
                questions: vec![
                    "How many cycles?".into(),
                    "Can I keep working?".into(),
                    "Will the cold cap help?".into(),
                ],
                notes_after: Some(
                    "6 cycles of EC then paclitaxel. Work part-time if I feel up to it.".into(),
                ),
            },
        )
        .ends_at(at(27, 15, 15)?)
        .zone(z),
        NewEvent::new(
            at(23, 16, 0)?,
            "Bought a wig and two scarves",
            EventDetails::Note,
        )
        .body("Zoë came with me. Café afterwards — felt almost normal.")
        .zone(z),
        NewEvent::new(
            at(21, 9, 30)?,
            "",
            EventDetails::Treatment {
                treatment: TreatmentKind::Chemotherapy,
                name: Some("EC".into()),
                cycle: Some(1),
            },
        )
        .ends_at(at(21, 13, 0)?)
        .body("Cannula in the left hand. Cold cap for the whole session.")
        .tags(["chemo"])
        .zone(z),
        NewEvent::new(
            at(20, 20, 0)?,
            "",
            symptom("nausea", Some(3), Some(2), None),
        )
        .body("Ondansetron helped after an hour.")
        .tags(["chemo"])
        .zone(z),
        NewEvent::new(
            at(19, 20, 0)?,
            "",
            symptom("nausea", Some(2), Some(2), None),
        )
        .zone(z),
        NewEvent::new(
            at(18, 21, 0)?,
            "",
            symptom("fatigue", None, Some(3), Some(3)),
        )
        .zone(z),
        NewEvent::new(
            at(17, 20, 0)?,
            "",
            symptom("nausea", Some(1), Some(1), None),
        )
        .zone(z),
        NewEvent::new(at(15, 8, 0)?, "", EventDetails::Mood { rating: 2 }).zone(z),
        NewEvent::new(
            at(11, 22, 40)?,
            "",
            measure(Measurement::new(Quantity::Temperature, 38.3, "Cel")),
        )
        .body("Rang the chemo line. Went to the assessment unit, home by 3am.")
        .zone(z),
        NewEvent::new(
            at(10, 9, 0)?,
            "",
            measure(Measurement::lab("Neutrophils", 0.8, "10*9/L").range(Some(2.0), Some(7.5))),
        )
        .tags(["bloods"])
        .zone(z),
        NewEvent::new(
            at(7, 8, 0)?,
            "",
            measure(Measurement::new(Quantity::Weight, 61.4, "kg")),
        )
        .zone(z),
        NewEvent::new(
            at(3, 18, 0)?,
            "First walk round the park since chemo",
            EventDetails::Milestone,
        )
        .zone(z),
        NewEvent::new(
            at(-3, 10, 0)?,
            "",
            EventDetails::Appointment {
                provider: Some("Chemo day unit".into()),
                place: Some("Ward 4".into()),
                questions: vec!["Should the dose change after the fever?".into()],
                notes_after: None,
            },
        )
        .tags(["chemo"])
        .zone(z),
    ];
    store.add_events(&events)?;

    safe_println!();
    safe_println!("-- The first month after the diagnosis (timeline, grouped by day in {z})");
    let page = store.timeline_page(&TimelineQuery::default(), None, 50)?;
    for DayGroup { date, events } in group_by_local_day(page.events, &zone) {
        safe_println!("{}", date.strftime("%a %-d %b %Y"));
        for e in &events {
            safe_println!("  {}", line(e, &zone));
        }
    }
    safe_println!();
    safe_println!("-- Search ignores case and accents: \"ZOE CAFE\"");
    for e in store.search_timeline("ZOE CAFE", 10)?.events {
        safe_println!("  {}", line(&e, &zone));
    }
    safe_println!();
    safe_println!("-- Nausea since the first cycle (PRO-CTCAE scores, not a CTCAE grade)");
    print_trend("nausea", &store.symptom_trend("nausea", None, None)?, &zone);
    safe_println!();
    safe_println!("-- Upcoming appointments");
    for e in store.upcoming_appointments(5)? {
        print_event(&e, &zone);
    }
    Ok(())
}
