//! The journey timeline: diagnoses, treatments, appointments, symptoms, measurements, notes.
//!
//! - `limits`: how much an event may hold.
//! - [`model`]: event kinds, typed details, the checks every write passes.
//! - [`symptoms`]: the shipped PRO-CTCAE vocabulary, the 0–4 verbal scales, symptom trends.
//! - [`measurement`]: UCUM units, conversions, the fever and out-of-range flags.
//! - [`query`]: cursor paging both ways, filters, full-text search, upcoming appointments,
//!   grouping by local day.
//!
//! An event is one `timeline_event` record; each of its fields is its own change in the
//! field-change log (`record/`), so edits of different fields on two devices both survive. The
//! full-text index is declared on the entity ([`TIMELINE_EVENT`]) and `record/` keeps it in step
//! once per transaction.

mod limits;
pub mod measurement;
pub mod model;
pub mod query;
pub mod symptoms;

#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

pub use limits::{
    MAX_BODY_CHARS, MAX_LABEL_CHARS, MAX_LINKS, MAX_QUESTION_CHARS, MAX_QUESTIONS, MAX_TAG_CHARS,
    MAX_TAGS, MAX_TITLE_CHARS,
};
pub use measurement::{FEVER_CELSIUS, Measurement, Quantity, convert};
pub use model::{
    EndEdit, EventDetails, EventEdit, EventFlag, EventKind, NewEvent, TimelineEvent, TreatmentKind,
};
pub use query::{
    Cursor, DayGroup, MAX_PAGE_SIZE, MAX_SEARCH_CHARS, TimelineDayPage, TimelinePage,
    TimelineQuery, group_by_local_day, search_expression,
};
pub use symptoms::{
    MAX_TERM_CHARS, PRO_CTCAE_TERMS, SymptomAttribute, SymptomPoint, SymptomReport, SymptomTerm,
    find_term,
};

use cairn_protocol::Scope;

use crate::error::{Error, Result};
use crate::record::{EntityDef, SearchIndex, Writer};
use crate::store::Store;

/// A timeline event. Times are Unix epoch milliseconds; `tags`, `payload` and the id lists are
/// JSON text; `clinician_grade` is a clinician's CTCAE grade for a symptom.
pub static TIMELINE_EVENT: EntityDef = EntityDef {
    name: "timeline_event",
    table: "timeline_event",
    fields: &[
        "kind",
        "occurred_at",
        "recorded_zone",
        "ends_at",
        "title",
        "body",
        "tags",
        "payload",
        "clinician_grade",
        "medication_ids",
        "document_ids",
    ],
    search: Some(&TIMELINE_SEARCH),
    scope: Scope::Timeline,
};

/// Full-text search over titles, text and tags (migration 0005), kept in step by `record/`.
static TIMELINE_SEARCH: SearchIndex = SearchIndex {
    table: "timeline_fts",
    columns: &["title", "body", "tags"],
};

/// The last (millisecond << 12 | counter) an event id was made from, in this process.
static LAST_EVENT_ID_TICK: AtomicU64 = AtomicU64::new(0);

/// The timeline's synced entities.
pub(crate) static ENTITIES: &[&EntityDef] = &[&TIMELINE_EVENT];

/// An event checked and normalised, ready to write.
struct CheckedEvent {
    kind: EventKind,
    occurred_at: i64,
    zone: String,
    ends_at: Option<i64>,
    title: String,
    body: String,
    tags: Vec<String>,
    payload: Value,
    clinician_grade: Option<u8>,
    medication_ids: Vec<String>,
    document_ids: Vec<String>,
}

fn payload_of(details: &EventDetails) -> Value {
    serde_json::to_value(details).expect("event details serialise to JSON")
}

fn grade_of(details: &EventDetails) -> Option<u8> {
    match details {
        EventDetails::Symptom { report } => report.clinician_grade,
        _ => None,
    }
}

fn strings(values: &[String]) -> Value {
    Value::from(values.to_vec())
}

impl Store {
    /// A new event id: a UUID version 7 (RFC 9562) whose first 48 bits are the creation time in
    /// Unix milliseconds, the next 12 a counter within the millisecond (RFC 9562's method 1), and
    /// the rest random. Ids made one after another sort one after another, so a batch of new
    /// events appends to the right edge of every index keyed by id (the table's unique id, the
    /// outbox) instead of touching a random page per event: the difference between thousands
    /// and tens of thousands of events per second.
    fn new_event_id(&self) -> String {
        let now = u64::try_from(self.clock().now().as_millisecond()).unwrap_or(0);
        // (ms << 12) | counter, never going back within this process, even if the clock does.
        let mut last = LAST_EVENT_ID_TICK.load(Ordering::Relaxed);
        let tick = loop {
            let next = (now << 12).max(last + 1);
            match LAST_EVENT_ID_TICK.compare_exchange_weak(
                last,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break next,
                Err(seen) => last = seen,
            }
        };
        let mut bytes = [0u8; 16];
        // The random bits only keep ids of one millisecond apart: the thread's CSPRNG serves.
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes[8..]);
        let ms = tick >> 12;
        bytes[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
        bytes[6] = 0x70 | ((tick >> 8) & 0x0f) as u8;
        bytes[7] = (tick & 0xff) as u8;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        crate::ids::uuid_text(&bytes)
    }

    fn check_event(&self, event: &NewEvent) -> Result<CheckedEvent> {
        let details = event.details.validated()?;
        let zone = match &event.recorded_zone {
            Some(z) => model::checked_zone(z)?,
            None => self
                .clock()
                .time_zone()
                .iana_name()
                .unwrap_or("UTC")
                .to_owned(),
        };
        model::check_end(event.occurred_at, event.ends_at)?;
        Ok(CheckedEvent {
            kind: details.kind(),
            occurred_at: event.occurred_at.as_millisecond(),
            zone,
            ends_at: event.ends_at.map(|t| t.as_millisecond()),
            title: model::checked_title(&event.title, &details)?,
            body: model::checked_body(&event.body)?,
            tags: model::normalised_tags(&event.tags)?,
            payload: payload_of(&details),
            clinician_grade: grade_of(&details),
            medication_ids: model::normalised_ids("medication_ids", &event.medication_ids)?,
            document_ids: model::normalised_ids("document_ids", &event.document_ids)?,
        })
    }

    /// Adds an event; returns its id.
    pub fn add_event(&self, event: &NewEvent) -> Result<String> {
        let mut ids = self.add_events(std::slice::from_ref(event))?;
        Ok(ids.remove(0))
    }

    /// Adds several events in one transaction (an import, a demo); returns their ids in order.
    /// Nothing is written if any event is invalid.
    pub fn add_events(&self, events: &[NewEvent]) -> Result<Vec<String>> {
        let checked = events
            .iter()
            .map(|e| self.check_event(e))
            .collect::<Result<Vec<_>>>()?;
        let mut w = self.writer()?;
        let mut ids = Vec::with_capacity(checked.len());
        for event in checked {
            let id = self.new_event_id();
            write_new(&mut w, &id, event)?;
            ids.push(id);
        }
        w.commit()?;
        Ok(ids)
    }

    /// Edits the fields `edit` names, each as its own change; fields whose value does not change
    /// are not written, so an edit never overwrites another device's concurrent edit of a field
    /// this one left alone.
    pub fn edit_event(&self, id: &str, edit: &EventEdit) -> Result<()> {
        let current = self.event(id)?;
        let mut changes: Vec<(&'static str, Value)> = Vec::new();
        let start = edit.occurred_at.unwrap_or(current.occurred_at);
        let end = edit.ends_at.map_or(current.ends_at, EndEdit::end);
        model::check_end(start, end)?;
        if start != current.occurred_at {
            changes.push(("occurred_at", Value::from(start.as_millisecond())));
        }
        if end != current.ends_at {
            let v = end.map_or(Value::Null, |t| Value::from(t.as_millisecond()));
            changes.push(("ends_at", v));
        }
        if let Some(zone) = &edit.recorded_zone {
            let zone = model::checked_zone(zone)?;
            if zone != current.recorded_zone {
                changes.push(("recorded_zone", Value::from(zone)));
            }
        }
        let details = match &edit.details {
            Some(d) => {
                if d.kind() != current.kind {
                    return Err(Error::invalid(
                        "kind",
                        "an event's kind cannot change; delete it and add a new one",
                    ));
                }
                d.validated()?
            }
            None => current.details.clone(),
        };
        if edit.details.is_some() {
            let payload = payload_of(&details);
            if payload != payload_of(&current.details) {
                changes.push(("payload", payload));
            }
            let grade = grade_of(&details);
            if grade != grade_of(&current.details) {
                changes.push(("clinician_grade", grade.map_or(Value::Null, Value::from)));
            }
        }
        if let Some(title) = &edit.title {
            let title = model::checked_title(title, &details)?;
            if title != current.title {
                changes.push(("title", Value::from(title)));
            }
        }
        if let Some(body) = &edit.body {
            let body = model::checked_body(body)?;
            if body != current.body {
                changes.push(("body", Value::from(body)));
            }
        }
        if let Some(tags) = &edit.tags {
            let tags = model::normalised_tags(tags)?;
            if tags != current.tags {
                changes.push(("tags", strings(&tags)));
            }
        }
        if let Some(ids) = &edit.medication_ids {
            let ids = model::normalised_ids("medication_ids", ids)?;
            if ids != current.medication_ids {
                changes.push(("medication_ids", strings(&ids)));
            }
        }
        if let Some(ids) = &edit.document_ids {
            let ids = model::normalised_ids("document_ids", ids)?;
            if ids != current.document_ids {
                changes.push(("document_ids", strings(&ids)));
            }
        }
        if changes.is_empty() {
            return Ok(());
        }
        let mut w = self.writer()?;
        w.set_all(&TIMELINE_EVENT, id, changes)?;
        w.commit()
    }

    /// Deletes an event for good (a tombstone: a concurrent edit does not bring it back).
    pub fn delete_event(&self, id: &str) -> Result<()> {
        self.event(id)?;
        let mut w = self.writer()?;
        w.delete(&TIMELINE_EVENT, id)?;
        w.commit()
    }
}

fn write_new(w: &mut Writer<'_>, id: &str, e: CheckedEvent) -> Result<()> {
    // Only fields with a value are written: an empty field is simply absent. One `set_all`, so
    // the row (and its full-text entry) is written once.
    let mut fields: Vec<(&'static str, Value)> = vec![
        ("kind", Value::from(e.kind.as_str())),
        ("occurred_at", Value::from(e.occurred_at)),
        ("recorded_zone", Value::from(e.zone)),
        ("title", Value::from(e.title)),
        ("payload", e.payload),
    ];
    if let Some(end) = e.ends_at {
        fields.push(("ends_at", Value::from(end)));
    }
    if !e.body.is_empty() {
        fields.push(("body", Value::from(e.body)));
    }
    if !e.tags.is_empty() {
        fields.push(("tags", strings(&e.tags)));
    }
    if let Some(g) = e.clinician_grade {
        fields.push(("clinician_grade", Value::from(g)));
    }
    if !e.medication_ids.is_empty() {
        fields.push(("medication_ids", strings(&e.medication_ids)));
    }
    if !e.document_ids.is_empty() {
        fields.push(("document_ids", strings(&e.document_ids)));
    }
    // The id was made just now: nothing to merge with.
    w.create(&TIMELINE_EVENT, id, fields)
}
