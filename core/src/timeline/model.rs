//! Timeline events: their kinds, typed details, and the checks every write passes.

use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime};
use serde::{Deserialize, Serialize};

use super::limits::{
    MAX_BODY_CHARS, MAX_LABEL_CHARS, MAX_LINKS, MAX_QUESTION_CHARS, MAX_QUESTIONS, MAX_TAG_CHARS,
    MAX_TAGS, MAX_TITLE_CHARS,
};
use super::measurement::Measurement;
use super::symptoms::SymptomReport;
use crate::error::{Error, Result};
use crate::text::{check_length, optional_text, required_text};

/// What kind of moment an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum EventKind {
    /// A diagnosis: condition, stage.
    Diagnosis,
    /// A treatment: surgery, a chemotherapy cycle, radiation, ...
    Treatment,
    /// An appointment with a provider, with questions to ask and notes afterwards.
    Appointment,
    /// A symptom or side effect, scored on the PRO-CTCAE scales.
    Symptom,
    /// A measurement: temperature, weight, blood pressure, a lab value, ...
    Measurement,
    /// How the patient feels overall.
    Mood,
    /// A free-text note.
    Note,
    /// A milestone: last chemo, scan clear, back at work.
    Milestone,
}

impl EventKind {
    /// Every kind, in the order the apps list them.
    pub const ALL: [EventKind; 8] = [
        EventKind::Diagnosis,
        EventKind::Treatment,
        EventKind::Appointment,
        EventKind::Symptom,
        EventKind::Measurement,
        EventKind::Mood,
        EventKind::Note,
        EventKind::Milestone,
    ];

    /// The kind's name in storage, on the wire and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Diagnosis => "diagnosis",
            EventKind::Treatment => "treatment",
            EventKind::Appointment => "appointment",
            EventKind::Symptom => "symptom",
            EventKind::Measurement => "measurement",
            EventKind::Mood => "mood",
            EventKind::Note => "note",
            EventKind::Milestone => "milestone",
        }
    }

    /// Parses a kind's name; an unknown name is [`Error::Invalid`] for `kind`.
    pub fn parse(name: &str) -> Result<Self> {
        let name = name.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == name)
            .ok_or_else(|| Error::invalid("kind", "unknown event kind"))
    }

    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            EventKind::Diagnosis => "Diagnosis",
            EventKind::Treatment => "Treatment",
            EventKind::Appointment => "Appointment",
            EventKind::Symptom => "Symptom",
            EventKind::Measurement => "Measurement",
            EventKind::Mood => "Mood",
            EventKind::Note => "Note",
            EventKind::Milestone => "Milestone",
        }
    }
}

/// The kind of a treatment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum TreatmentKind {
    /// An operation.
    Surgery,
    /// A chemotherapy cycle.
    Chemotherapy,
    /// Radiotherapy (a fraction or a course).
    Radiation,
    /// Immunotherapy.
    Immunotherapy,
    /// Hormone (endocrine) therapy.
    Hormone,
    /// Anything else.
    Other,
}

impl TreatmentKind {
    /// Every treatment kind.
    pub const ALL: [TreatmentKind; 6] = [
        TreatmentKind::Surgery,
        TreatmentKind::Chemotherapy,
        TreatmentKind::Radiation,
        TreatmentKind::Immunotherapy,
        TreatmentKind::Hormone,
        TreatmentKind::Other,
    ];

    /// The name in storage and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            TreatmentKind::Surgery => "surgery",
            TreatmentKind::Chemotherapy => "chemotherapy",
            TreatmentKind::Radiation => "radiation",
            TreatmentKind::Immunotherapy => "immunotherapy",
            TreatmentKind::Hormone => "hormone",
            TreatmentKind::Other => "other",
        }
    }

    /// Parses a name; an unknown one is [`Error::Invalid`] for `treatment`.
    pub fn parse(name: &str) -> Result<Self> {
        let name = name.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == name)
            .ok_or_else(|| Error::invalid("treatment", "unknown treatment kind"))
    }

    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            TreatmentKind::Surgery => "Surgery",
            TreatmentKind::Chemotherapy => "Chemotherapy",
            TreatmentKind::Radiation => "Radiation",
            TreatmentKind::Immunotherapy => "Immunotherapy",
            TreatmentKind::Hormone => "Hormone therapy",
            TreatmentKind::Other => "Treatment",
        }
    }

    /// Whether treatments of this kind come in numbered cycles. Surgery does not.
    pub fn has_cycles(self) -> bool {
        !matches!(self, TreatmentKind::Surgery)
    }
}

/// What only some kinds of event carry. Stored as the event's `payload` field (JSON).
///
/// The whole payload is one field of the change log: two devices editing different parts of one
/// payload at once keep the later edit. Title, text, tags, times, links and the clinician's grade
/// are fields of their own and merge independently.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum EventDetails {
    /// A diagnosis.
    Diagnosis {
        /// The condition, e.g. "Breast cancer (invasive ductal carcinoma)".
        condition: String,
        /// The stage as the clinic wrote it, e.g. "IIA" or "T2 N1 M0".
        stage: Option<String>,
    },
    /// A treatment.
    Treatment {
        /// Surgery, chemotherapy, ...
        treatment: TreatmentKind,
        /// The regimen or procedure, e.g. "EC" or "lumpectomy".
        name: Option<String>,
        /// The cycle number, from 1, where the treatment has cycles.
        cycle: Option<u32>,
    },
    /// An appointment. Its time is the event's time; its end the event's end.
    Appointment {
        /// Who: "Dr Okafor, oncology".
        provider: Option<String>,
        /// Where: "Royal Marsden, Outpatients B".
        place: Option<String>,
        /// Questions to ask, in order.
        #[serde(default)]
        questions: Vec<String>,
        /// Notes written afterwards.
        notes_after: Option<String>,
    },
    /// A symptom or side effect.
    Symptom {
        /// The term and the patient's scores.
        report: SymptomReport,
    },
    /// A measurement.
    Measurement {
        /// The value, unit and reference range.
        measurement: Measurement,
    },
    /// Overall mood.
    Mood {
        /// 1 (very low) to 5 (very good).
        rating: u8,
    },
    /// A free-text note.
    Note,
    /// A milestone.
    Milestone,
}

impl EventDetails {
    /// The kind of event these details belong to.
    pub fn kind(&self) -> EventKind {
        match self {
            EventDetails::Diagnosis { .. } => EventKind::Diagnosis,
            EventDetails::Treatment { .. } => EventKind::Treatment,
            EventDetails::Appointment { .. } => EventKind::Appointment,
            EventDetails::Symptom { .. } => EventKind::Symptom,
            EventDetails::Measurement { .. } => EventKind::Measurement,
            EventDetails::Mood { .. } => EventKind::Mood,
            EventDetails::Note => EventKind::Note,
            EventDetails::Milestone => EventKind::Milestone,
        }
    }

    /// A title to use when the person gave none; `None` for kinds that need one (notes,
    /// milestones).
    pub fn default_title(&self) -> Option<String> {
        match self {
            EventDetails::Diagnosis { condition, .. } => Some(condition.clone()),
            EventDetails::Treatment {
                treatment, cycle, ..
            } => Some(match cycle {
                Some(c) => format!("{} cycle {c}", treatment.label()),
                None => treatment.label().to_owned(),
            }),
            EventDetails::Appointment { provider, .. } => Some(match provider {
                Some(p) => format!("Appointment: {p}"),
                None => "Appointment".to_owned(),
            }),
            EventDetails::Symptom { report } => Some(report.label()),
            EventDetails::Measurement { measurement } => Some(measurement.label()),
            EventDetails::Mood { rating } => Some(format!("Mood {rating}/5")),
            EventDetails::Note | EventDetails::Milestone => None,
        }
    }

    /// Checks and normalises the details (trimmed text, known units, scores in range).
    pub(crate) fn validated(&self) -> Result<EventDetails> {
        Ok(match self {
            EventDetails::Diagnosis { condition, stage } => EventDetails::Diagnosis {
                condition: required_text("condition", condition, MAX_LABEL_CHARS)?,
                stage: optional_text("stage", stage.as_deref(), MAX_LABEL_CHARS)?,
            },
            EventDetails::Treatment {
                treatment,
                name,
                cycle,
            } => {
                if let Some(c) = cycle {
                    if !treatment.has_cycles() {
                        return Err(Error::invalid("cycle", "does not apply to surgery"));
                    }
                    if *c == 0 {
                        return Err(Error::invalid("cycle", "cycles are numbered from 1"));
                    }
                }
                EventDetails::Treatment {
                    treatment: *treatment,
                    name: optional_text("name", name.as_deref(), MAX_LABEL_CHARS)?,
                    cycle: *cycle,
                }
            }
            EventDetails::Appointment {
                provider,
                place,
                questions,
                notes_after,
            } => EventDetails::Appointment {
                provider: optional_text("provider", provider.as_deref(), MAX_LABEL_CHARS)?,
                place: optional_text("place", place.as_deref(), MAX_LABEL_CHARS)?,
                questions: checked_questions(questions)?,
                notes_after: optional_text("notes_after", notes_after.as_deref(), MAX_BODY_CHARS)?,
            },
            EventDetails::Symptom { report } => EventDetails::Symptom {
                report: report.validated()?,
            },
            EventDetails::Measurement { measurement } => EventDetails::Measurement {
                measurement: measurement.validated()?,
            },
            EventDetails::Mood { rating } => {
                if !(1..=5).contains(rating) {
                    return Err(Error::invalid("rating", "must be 1 to 5"));
                }
                EventDetails::Mood { rating: *rating }
            }
            EventDetails::Note => EventDetails::Note,
            EventDetails::Milestone => EventDetails::Milestone,
        })
    }

    /// The flags the apps show beside the event.
    pub fn flags(&self) -> Vec<EventFlag> {
        let mut flags = Vec::new();
        if let EventDetails::Measurement { measurement } = self {
            if measurement.is_fever() {
                flags.push(EventFlag::Fever);
            }
            if measurement.is_out_of_range() {
                flags.push(EventFlag::OutOfRange);
            }
        }
        flags
    }
}

/// Something about an event the apps highlight. Computed on read, never stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum EventFlag {
    /// A temperature at or above 38.0 °C: on chemotherapy, call the clinic's emergency line.
    Fever,
    /// A measurement outside its reference range.
    OutOfRange,
}

/// One event of the journey, as the apps show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TimelineEvent {
    /// The event's id.
    pub id: String,
    /// Its kind (also the kind of `details`).
    pub kind: EventKind,
    /// When it happened or starts.
    pub occurred_at: Timestamp,
    /// The IANA zone it was recorded in; its local time is shown in this zone.
    pub recorded_zone: String,
    /// When it ended, if it has a duration.
    pub ends_at: Option<Timestamp>,
    /// The title.
    pub title: String,
    /// Free text.
    pub body: String,
    /// Tags, normalised (trimmed, lower case).
    pub tags: Vec<String>,
    /// What only this kind of event carries.
    pub details: EventDetails,
    /// Ids of linked medications.
    pub medication_ids: Vec<String>,
    /// Ids of linked documents.
    pub document_ids: Vec<String>,
    /// Fever, out of range: computed from the details.
    pub flags: Vec<EventFlag>,
}

impl TimelineEvent {
    /// The start in the zone it was recorded in.
    pub fn local_start(&self) -> ZonedDateTime {
        let zone = TimeZone::get(&self.recorded_zone).unwrap_or(TimeZone::UTC);
        self.occurred_at.to_zoned_datetime(zone)
    }
}

/// A new event, before it is checked and stored.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct NewEvent {
    /// When it happened or starts.
    pub occurred_at: Timestamp,
    /// The IANA zone it was recorded in; `None` takes the device's zone from the clock.
    pub recorded_zone: Option<String>,
    /// When it ended, if it has a duration; not before `occurred_at`.
    pub ends_at: Option<Timestamp>,
    /// The title; may be empty for kinds that have a default title (not notes or milestones).
    pub title: String,
    /// Free text.
    pub body: String,
    /// Tags.
    pub tags: Vec<String>,
    /// The kind and what only it carries.
    pub details: EventDetails,
    /// Ids of linked medications.
    pub medication_ids: Vec<String>,
    /// Ids of linked documents.
    pub document_ids: Vec<String>,
}

impl NewEvent {
    /// An event at `occurred_at` with a title and details, and nothing else yet.
    pub fn new(occurred_at: Timestamp, title: impl Into<String>, details: EventDetails) -> Self {
        Self {
            occurred_at,
            recorded_zone: None,
            ends_at: None,
            title: title.into(),
            body: String::new(),
            tags: Vec::new(),
            details,
            medication_ids: Vec::new(),
            document_ids: Vec::new(),
        }
    }

    /// With free text.
    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = body.into();
        self
    }

    /// With tags.
    pub fn tags<I: IntoIterator<Item = S>, S: Into<String>>(mut self, tags: I) -> Self {
        self.tags = tags.into_iter().map(Into::into).collect();
        self
    }

    /// Ending at `ends_at`.
    pub fn ends_at(mut self, ends_at: Timestamp) -> Self {
        self.ends_at = Some(ends_at);
        self
    }

    /// Recorded in the IANA zone `zone`.
    pub fn zone(mut self, zone: impl Into<String>) -> Self {
        self.recorded_zone = Some(zone.into());
        self
    }
}

/// A field-level edit: only the fields given are changed, each as its own change, so edits of
/// different fields on two devices both survive the merge.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct EventEdit {
    /// A new start.
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub occurred_at: Option<Timestamp>,
    /// A new recorded zone (IANA).
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub recorded_zone: Option<String>,
    /// A new end, or its removal.
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub ends_at: Option<EndEdit>,
    /// A new title.
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub title: Option<String>,
    /// New free text.
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub body: Option<String>,
    /// New tags (replacing the old ones).
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub tags: Option<Vec<String>>,
    /// New details; must be of the event's kind (delete and add again to change the kind).
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub details: Option<EventDetails>,
    /// New linked medications.
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub medication_ids: Option<Vec<String>>,
    /// New linked documents.
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub document_ids: Option<Vec<String>>,
}

/// A change to an event's end: the one field an edit may also clear, so "leave it" (no
/// `EndEdit`), "remove it" and "set it" are three different things on every platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum EndEdit {
    /// The event no longer has an end.
    Remove,
    /// The event ends at `at`.
    At {
        /// The new end.
        at: Timestamp,
    },
}

impl EndEdit {
    /// The end after this change.
    pub fn end(self) -> Option<Timestamp> {
        match self {
            EndEdit::Remove => None,
            EndEdit::At { at } => Some(at),
        }
    }
}

/// An appointment's questions: trimmed, empty ones dropped, at most [`MAX_QUESTIONS`] of at
/// most [`MAX_QUESTION_CHARS`] characters each.
fn checked_questions(questions: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for q in questions.iter().map(|q| q.trim()).filter(|q| !q.is_empty()) {
        if out.len() == MAX_QUESTIONS {
            return Err(Error::invalid(
                "questions",
                format!("more than {MAX_QUESTIONS} questions"),
            ));
        }
        check_length("questions", q, MAX_QUESTION_CHARS)?;
        out.push(q.to_owned());
    }
    Ok(out)
}

/// The title to store: trimmed, or the details' default when empty.
pub(crate) fn checked_title(title: &str, details: &EventDetails) -> Result<String> {
    let t = title.trim();
    let t = if t.is_empty() {
        details
            .default_title()
            .ok_or_else(|| Error::invalid("title", "must not be empty for this kind of event"))?
    } else {
        t.to_owned()
    };
    check_length("title", &t, MAX_TITLE_CHARS)?;
    Ok(t)
}

pub(crate) fn checked_body(body: &str) -> Result<String> {
    let b = body.trim_end();
    check_length("body", b, MAX_BODY_CHARS)?;
    Ok(b.to_owned())
}

/// Tags are trimmed, inner whitespace collapsed, lower-cased and de-duplicated (first kept), so
/// "Chemo " and "chemo" are one tag.
pub(crate) fn normalised_tags(tags: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for tag in tags {
        let t = tag.split_whitespace().collect::<Vec<_>>().join(" ");
        let t = t.to_lowercase();
        if t.is_empty() || out.contains(&t) {
            continue;
        }
        if t.chars().nth(MAX_TAG_CHARS).is_some() {
            return Err(Error::invalid(
                "tags",
                format!("a tag is longer than {MAX_TAG_CHARS} characters"),
            ));
        }
        // Refused at the first tag over, before de-duplicating a flood of them.
        if out.len() == MAX_TAGS {
            return Err(Error::invalid("tags", format!("more than {MAX_TAGS} tags")));
        }
        out.push(t);
    }
    Ok(out)
}

/// Linked ids: trimmed, non-empty, de-duplicated, at most [`MAX_LINKS`].
pub(crate) fn normalised_ids(field: &'static str, ids: &[String]) -> Result<Vec<String>> {
    if ids.len() > MAX_LINKS {
        return Err(Error::invalid(field, format!("more than {MAX_LINKS} ids")));
    }
    let mut out: Vec<String> = Vec::new();
    for id in ids {
        let id = id.trim();
        if id.is_empty() {
            return Err(Error::invalid(field, "an id is empty"));
        }
        if id.len() > 128 || id.chars().any(char::is_whitespace) {
            return Err(Error::invalid(field, "not a record id"));
        }
        if !out.iter().any(|o| o == id) {
            out.push(id.to_owned());
        }
    }
    Ok(out)
}

/// The zone name to store: a known IANA zone.
pub(crate) fn checked_zone(zone: &str) -> Result<String> {
    let tz = crate::time::check_time_zone("recorded_zone", zone.trim())?;
    Ok(tz.iana_name().unwrap_or(zone.trim()).to_owned())
}

pub(crate) fn check_end(start: Timestamp, end: Option<Timestamp>) -> Result<()> {
    match end {
        Some(end) if end < start => Err(Error::invalid("ends_at", "is before the start")),
        _ => Ok(()),
    }
}
