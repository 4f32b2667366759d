//! The timeline API for the apps.
//!
//! Instants cross the FFI as milliseconds since the Unix epoch, zones as IANA names, local
//! dates as `YYYY-MM-DD`, and the paging cursor as an opaque string. Calls are coarse: a page of
//! events, not one call per event.

use cairn_core::timeline::{
    group_by_local_day, EventDetails, EventEdit, EventFlag, EventKind, NewEvent, Quantity,
    SymptomAttribute, SymptomPoint, SymptomReport, TimelineEvent, TimelinePage, TimelineQuery,
    PRO_CTCAE_TERMS,
};

use cairn_core::time::instant_from_ms as instant;

use crate::error::CairnError;
use crate::store::CairnStore;

/// One event as the timeline shows it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TimelineEntry {
    /// The event's id.
    pub id: String,
    /// Its kind.
    pub kind: EventKind,
    /// When it happened or starts, in milliseconds since the Unix epoch.
    pub occurred_at_ms: i64,
    /// The IANA zone it was recorded in.
    pub recorded_zone: String,
    /// Its start in that zone, RFC 9557 (`2026-10-23T10:00:00+01:00[Europe/London]`).
    pub local_start: String,
    /// When it ended, if it has a duration.
    pub ends_at_ms: Option<i64>,
    /// The title.
    pub title: String,
    /// Free text.
    pub body: String,
    /// Tags, normalised.
    pub tags: Vec<String>,
    /// What only this kind of event carries.
    pub details: EventDetails,
    /// Linked medication ids.
    pub medication_ids: Vec<String>,
    /// Linked document ids.
    pub document_ids: Vec<String>,
    /// Fever, out of range.
    pub flags: Vec<EventFlag>,
}

impl From<TimelineEvent> for TimelineEntry {
    fn from(e: TimelineEvent) -> Self {
        Self {
            local_start: e.local_start().to_string(),
            id: e.id,
            kind: e.kind,
            occurred_at_ms: e.occurred_at.as_millisecond(),
            recorded_zone: e.recorded_zone,
            ends_at_ms: e.ends_at.map(|t| t.as_millisecond()),
            title: e.title,
            body: e.body,
            tags: e.tags,
            details: e.details,
            medication_ids: e.medication_ids,
            document_ids: e.document_ids,
            flags: e.flags,
        }
    }
}

/// A new event.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NewTimelineEntry {
    /// When it happened or starts, in milliseconds since the Unix epoch.
    pub occurred_at_ms: i64,
    /// The IANA zone it happened in; none for the device's zone.
    pub recorded_zone: Option<String>,
    /// When it ended, if it has a duration.
    pub ends_at_ms: Option<i64>,
    /// The title; may be empty for kinds with a natural one (not notes or milestones).
    pub title: String,
    /// Free text.
    pub body: String,
    /// Tags.
    pub tags: Vec<String>,
    /// The kind and what only it carries.
    pub details: EventDetails,
    /// Linked medication ids.
    pub medication_ids: Vec<String>,
    /// Linked document ids.
    pub document_ids: Vec<String>,
}

/// A field-level edit: only the fields given change.
#[derive(Debug, Clone, Default, PartialEq, uniffi::Record)]
pub struct TimelineEntryEdit {
    /// A new start.
    #[uniffi(default = None)]
    pub occurred_at_ms: Option<i64>,
    /// A new recorded zone.
    #[uniffi(default = None)]
    pub recorded_zone: Option<String>,
    /// A new end.
    #[uniffi(default = None)]
    pub ends_at_ms: Option<i64>,
    /// Removes the end (wins over `ends_at_ms`).
    #[uniffi(default = false)]
    pub clear_end: bool,
    /// A new title.
    #[uniffi(default = None)]
    pub title: Option<String>,
    /// New free text.
    #[uniffi(default = None)]
    pub body: Option<String>,
    /// New tags.
    #[uniffi(default = None)]
    pub tags: Option<Vec<String>>,
    /// New details, of the same kind.
    #[uniffi(default = None)]
    pub details: Option<EventDetails>,
    /// New linked medications.
    #[uniffi(default = None)]
    pub medication_ids: Option<Vec<String>>,
    /// New linked documents.
    #[uniffi(default = None)]
    pub document_ids: Option<Vec<String>>,
}

/// Which events to show; every field narrows, an empty filter is the whole timeline.
#[derive(Debug, Clone, Default, PartialEq, uniffi::Record)]
pub struct TimelineFilter {
    /// At or after this instant (ms since the epoch).
    #[uniffi(default = None)]
    pub from_ms: Option<i64>,
    /// Before this instant (ms since the epoch).
    #[uniffi(default = None)]
    pub until_ms: Option<i64>,
    /// Only these kinds; empty for all.
    #[uniffi(default = [])]
    pub kinds: Vec<EventKind>,
    /// Only events with every one of these tags.
    #[uniffi(default = [])]
    pub tags: Vec<String>,
    /// Only events linked to this medication.
    #[uniffi(default = None)]
    pub medication_id: Option<String>,
    /// Only events linked to this document.
    #[uniffi(default = None)]
    pub document_id: Option<String>,
    /// Words to find in titles, text and tags (case and accents ignored, prefixes match).
    #[uniffi(default = None)]
    pub text: Option<String>,
}

/// A page of events, newest first, with opaque cursors to the neighbouring pages.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TimelineEntryPage {
    /// The events.
    pub events: Vec<TimelineEntry>,
    /// Pass back for older events; none when there are none.
    pub older: Option<String>,
    /// Pass back for newer events; none on the newest page.
    pub newer: Option<String>,
}

/// One local calendar day of events.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TimelineDay {
    /// The day, `YYYY-MM-DD`, in the zone asked for.
    pub date: String,
    /// The day's events, newest first.
    pub events: Vec<TimelineEntry>,
}

/// A page of events grouped by local day.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct TimelineDayPage {
    /// The days, newest first.
    pub days: Vec<TimelineDay>,
    /// Pass back for older events.
    pub older: Option<String>,
    /// Pass back for newer events.
    pub newer: Option<String>,
}

/// One report of a symptom, as a point of its trend.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SymptomTrendPoint {
    /// The event it belongs to.
    pub event_id: String,
    /// When, in milliseconds since the Unix epoch.
    pub occurred_at_ms: i64,
    /// The scores, and the clinician's grade when given.
    pub report: SymptomReport,
}

impl From<SymptomPoint> for SymptomTrendPoint {
    fn from(p: SymptomPoint) -> Self {
        Self {
            event_id: p.event_id,
            occurred_at_ms: p.occurred_at.as_millisecond(),
            report: p.report,
        }
    }
}

/// A term of the shipped PRO-CTCAE vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SymptomTermInfo {
    /// The code stored with a report.
    pub code: String,
    /// The patient-facing name.
    pub label: String,
    /// The attributes asked about it.
    pub attributes: Vec<SymptomAttribute>,
}

impl TimelineFilter {
    fn to_core(&self) -> cairn_core::Result<TimelineQuery> {
        Ok(TimelineQuery {
            from: self.from_ms.map(|ms| instant("from_ms", ms)).transpose()?,
            until: self
                .until_ms
                .map(|ms| instant("until_ms", ms))
                .transpose()?,
            kinds: self.kinds.clone(),
            tags: self.tags.clone(),
            medication_id: self.medication_id.clone(),
            document_id: self.document_id.clone(),
            text: self.text.clone(),
        })
    }
}

impl From<TimelinePage> for TimelineEntryPage {
    fn from(p: TimelinePage) -> Self {
        Self {
            events: p.events.into_iter().map(Into::into).collect(),
            older: p.older,
            newer: p.newer,
        }
    }
}

fn page_limit(limit: u32) -> usize {
    usize::try_from(limit).unwrap_or(usize::MAX)
}

#[uniffi::export]
impl CairnStore {
    /// Adds an event; returns its id.
    pub fn add_timeline_entry(&self, entry: NewTimelineEntry) -> Result<String, CairnError> {
        self.with(|s| {
            let event = NewEvent {
                occurred_at: instant("occurred_at_ms", entry.occurred_at_ms)?,
                recorded_zone: entry.recorded_zone,
                ends_at: entry
                    .ends_at_ms
                    .map(|ms| instant("ends_at_ms", ms))
                    .transpose()?,
                title: entry.title,
                body: entry.body,
                tags: entry.tags,
                details: entry.details,
                medication_ids: entry.medication_ids,
                document_ids: entry.document_ids,
            };
            s.add_event(&event)
        })
    }

    /// One event; `NotFound` if it does not exist or was deleted.
    pub fn timeline_entry(&self, id: String) -> Result<TimelineEntry, CairnError> {
        self.with(|s| s.event(&id).map(Into::into))
    }

    /// Changes the fields given, each as its own change (edits of different fields on two
    /// devices both survive).
    pub fn edit_timeline_entry(
        &self,
        id: String,
        edit: TimelineEntryEdit,
    ) -> Result<(), CairnError> {
        self.with(|s| {
            let ends_at = if edit.clear_end {
                Some(None)
            } else {
                edit.ends_at_ms
                    .map(|ms| instant("ends_at_ms", ms).map(Some))
                    .transpose()?
            };
            let core = EventEdit {
                occurred_at: edit
                    .occurred_at_ms
                    .map(|ms| instant("occurred_at_ms", ms))
                    .transpose()?,
                recorded_zone: edit.recorded_zone,
                ends_at,
                title: edit.title,
                body: edit.body,
                tags: edit.tags,
                details: edit.details,
                medication_ids: edit.medication_ids,
                document_ids: edit.document_ids,
            };
            s.edit_event(&id, &core)
        })
    }

    /// Deletes an event for good.
    pub fn delete_timeline_entry(&self, id: String) -> Result<(), CairnError> {
        self.with(|s| s.delete_event(&id))
    }

    /// A page of at most `limit` (1–500) events, newest first. `cursor` is none for the newest
    /// page, or a cursor from an earlier page.
    pub fn timeline_page(
        &self,
        filter: TimelineFilter,
        cursor: Option<String>,
        limit: u32,
    ) -> Result<TimelineEntryPage, CairnError> {
        self.with(|s| {
            s.timeline_page(&filter.to_core()?, cursor.as_deref(), page_limit(limit))
                .map(Into::into)
        })
    }

    /// A page of events grouped by local day in the IANA zone `zone`.
    pub fn timeline_days(
        &self,
        filter: TimelineFilter,
        cursor: Option<String>,
        limit: u32,
        zone: String,
    ) -> Result<TimelineDayPage, CairnError> {
        self.with(|s| {
            let tz = cairn_core::time::check_time_zone("zone", &zone)?;
            let page = s.timeline_page(&filter.to_core()?, cursor.as_deref(), page_limit(limit))?;
            let days = group_by_local_day(page.events, &tz)
                .into_iter()
                .map(|d| TimelineDay {
                    date: d.date.to_string(),
                    events: d.events.into_iter().map(Into::into).collect(),
                })
                .collect();
            Ok(TimelineDayPage {
                days,
                older: page.older,
                newer: page.newer,
            })
        })
    }

    /// The first page of events matching the words of `text`.
    pub fn search_timeline(
        &self,
        text: String,
        limit: u32,
    ) -> Result<TimelineEntryPage, CairnError> {
        self.with(|s| s.search_timeline(&text, page_limit(limit)).map(Into::into))
    }

    /// Appointments not yet over, soonest first.
    pub fn upcoming_appointments(&self, limit: u32) -> Result<Vec<TimelineEntry>, CairnError> {
        self.with(|s| {
            s.upcoming_appointments(page_limit(limit))
                .map(|v| v.into_iter().map(Into::into).collect())
        })
    }

    /// One symptom's reports over a time range, oldest first.
    pub fn symptom_trend(
        &self,
        term: String,
        from_ms: Option<i64>,
        until_ms: Option<i64>,
    ) -> Result<Vec<SymptomTrendPoint>, CairnError> {
        self.with(|s| {
            let from = from_ms.map(|ms| instant("from_ms", ms)).transpose()?;
            let until = until_ms.map(|ms| instant("until_ms", ms)).transpose()?;
            s.symptom_trend(&term, from, until)
                .map(|v| v.into_iter().map(Into::into).collect())
        })
    }
}

/// The shipped PRO-CTCAE vocabulary.
#[uniffi::export]
pub fn pro_ctcae_terms() -> Vec<SymptomTermInfo> {
    PRO_CTCAE_TERMS
        .iter()
        .map(|t| SymptomTermInfo {
            code: t.code.to_owned(),
            label: t.label.to_owned(),
            attributes: t.attributes.to_vec(),
        })
        .collect()
}

/// The verbal label of a score ("Severe" for severity 3); none outside the scale.
#[uniffi::export]
pub fn symptom_score_label(attribute: SymptomAttribute, score: u8) -> Option<String> {
    attribute.label(score).map(str::to_owned)
}

/// Converts a measurement value between UCUM units (weight, temperature, blood glucose).
#[uniffi::export]
pub fn convert_measurement(
    quantity: Quantity,
    value: f64,
    from_unit: String,
    to_unit: String,
) -> Result<f64, CairnError> {
    Ok(cairn_core::timeline::convert(
        quantity, value, &from_unit, &to_unit,
    )?)
}
