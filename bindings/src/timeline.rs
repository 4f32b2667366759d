//! The timeline API for the apps.
//!
//! The values are the core's own records: instants cross as the platform's instant type, zones
//! as IANA names, local dates as `YYYY-MM-DD`, and the paging cursor as an opaque string. Calls
//! are coarse: a page of events, not one call per event.

use std::sync::Arc;

use cairn_core::timeline::{
    EventEdit, NewEvent, Quantity, SymptomAttribute, SymptomPoint, TimelineDayPage, TimelineEvent,
    TimelinePage, TimelineQuery, PRO_CTCAE_TERMS,
};
use jiff::Timestamp;

use crate::error::CairnError;
use crate::store::CairnStore;

/// A term of the shipped PRO-CTCAE vocabulary: the core's term, whose text lives in the
/// library, so it crosses as an object read through its methods.
#[derive(Debug, uniffi::Object)]
pub struct SymptomTerm(cairn_core::timeline::SymptomTerm);

#[uniffi::export]
impl SymptomTerm {
    /// The code stored with a report.
    pub fn code(&self) -> String {
        self.0.code.to_owned()
    }

    /// The patient-facing name.
    pub fn label(&self) -> String {
        self.0.label.to_owned()
    }

    /// The attributes asked about it.
    pub fn attributes(&self) -> Vec<SymptomAttribute> {
        self.0.attributes.to_vec()
    }
}

fn page_limit(limit: u32) -> usize {
    usize::try_from(limit).unwrap_or(usize::MAX)
}

#[uniffi::export]
impl CairnStore {
    /// Adds an event; returns its id.
    pub fn add_event(&self, event: NewEvent) -> Result<String, CairnError> {
        self.with(|s| s.add_event(&event))
    }

    /// One event; `NotFound` if it does not exist or was deleted.
    pub fn event(&self, id: String) -> Result<TimelineEvent, CairnError> {
        self.with(|s| s.event(&id))
    }

    /// Changes the fields given, each as its own change (edits of different fields on two
    /// devices both survive).
    pub fn edit_event(&self, id: String, edit: EventEdit) -> Result<(), CairnError> {
        self.with(|s| s.edit_event(&id, &edit))
    }

    /// Deletes an event for good.
    pub fn delete_event(&self, id: String) -> Result<(), CairnError> {
        self.with(|s| s.delete_event(&id))
    }

    /// An event's start in the zone it was recorded in, RFC 9557
    /// (`2026-10-23T10:00:00+01:00[Europe/London]`).
    pub fn local_start(&self, event: TimelineEvent) -> String {
        event.local_start().to_string()
    }

    /// A page of at most `limit` (1–500) events, newest first. `cursor` is none for the newest
    /// page, or a cursor from an earlier page.
    pub fn timeline_page(
        &self,
        filter: TimelineQuery,
        cursor: Option<String>,
        limit: u32,
    ) -> Result<TimelinePage, CairnError> {
        self.with(|s| s.timeline_page(&filter, cursor.as_deref(), page_limit(limit)))
    }

    /// A page of events grouped by local day in the IANA zone `zone`.
    pub fn timeline_days(
        &self,
        filter: TimelineQuery,
        cursor: Option<String>,
        limit: u32,
        zone: String,
    ) -> Result<TimelineDayPage, CairnError> {
        self.with(|s| {
            let tz = cairn_core::time::check_time_zone("zone", &zone)?;
            let page = s.timeline_page(&filter, cursor.as_deref(), page_limit(limit))?;
            Ok(page.by_local_day(&tz))
        })
    }

    /// The first page of events matching the words of `text`.
    pub fn search_timeline(&self, text: String, limit: u32) -> Result<TimelinePage, CairnError> {
        self.with(|s| s.search_timeline(&text, page_limit(limit)))
    }

    /// Appointments not yet over, soonest first.
    pub fn upcoming_appointments(&self, limit: u32) -> Result<Vec<TimelineEvent>, CairnError> {
        self.with(|s| s.upcoming_appointments(page_limit(limit)))
    }

    /// One symptom's reports over a time range, oldest first.
    pub fn symptom_trend(
        &self,
        term: String,
        from: Option<Timestamp>,
        until: Option<Timestamp>,
    ) -> Result<Vec<SymptomPoint>, CairnError> {
        self.with(|s| s.symptom_trend(&term, from, until))
    }
}

/// The shipped PRO-CTCAE vocabulary.
#[uniffi::export]
pub fn pro_ctcae_terms() -> Vec<Arc<SymptomTerm>> {
    PRO_CTCAE_TERMS
        .iter()
        .map(|t| Arc::new(SymptomTerm(*t)))
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
