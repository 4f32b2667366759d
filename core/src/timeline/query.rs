//! Reading the timeline: cursor paging both ways over (time, id), filters, full-text search,
//! upcoming appointments, grouping by local day, and one symptom term's trend.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use rusqlite::types::Value as Sql;
use serde::Serialize;

use super::model::{EventDetails, EventKind, TimelineEvent};
use super::symptoms::{SymptomPoint, find_term};
use crate::error::{Error, Result};
use crate::store::Store;

/// Largest page the store returns.
pub const MAX_PAGE_SIZE: usize = 500;
/// Longest search text accepted, in characters.
pub const MAX_SEARCH_CHARS: usize = 1_000;

/// What to show: every filter narrows; an empty query is the whole timeline.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TimelineQuery {
    /// Events at or after this instant.
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub from: Option<Timestamp>,
    /// Events before this instant.
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub until: Option<Timestamp>,
    /// Only these kinds (any of them); empty for all.
    #[cfg_attr(feature = "uniffi", uniffi(default = []))]
    pub kinds: Vec<EventKind>,
    /// Only events carrying every one of these tags.
    #[cfg_attr(feature = "uniffi", uniffi(default = []))]
    pub tags: Vec<String>,
    /// Only events linked to this medication.
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub medication_id: Option<String>,
    /// Only events linked to this document.
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub document_id: Option<String>,
    /// Only events whose title, text or tags contain these words (case and accents ignored; the
    /// last letters of each word may be missing: "chem" finds "chemotherapy").
    #[cfg_attr(feature = "uniffi", uniffi(default = None))]
    pub text: Option<String>,
}

/// Where a page starts: after an event, towards older or newer ones. Opaque to the apps, which
/// pass back the strings of [`TimelinePage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// Towards older events (true) or newer ones (false).
    pub older: bool,
    /// The boundary event's time (whole milliseconds, as events are stored).
    pub at: Timestamp,
    /// The boundary event's id (the tie-break between events at the same millisecond).
    pub id: String,
}

const CURSOR_PREFIX: &str = "tl1.";

impl Cursor {
    /// The opaque text form.
    pub fn encode(&self) -> String {
        let dir = if self.older { 'o' } else { 'n' };
        let inner = format!("{dir}{}:{}", self.at.as_millisecond(), self.id);
        format!("{CURSOR_PREFIX}{}", hex::encode(inner.as_bytes()))
    }

    /// Parses the text form; anything else is [`Error::Invalid`] for `cursor`.
    pub fn decode(text: &str) -> Result<Self> {
        let bad = || Error::invalid("cursor", "not a timeline cursor");
        let hex_part = text.trim().strip_prefix(CURSOR_PREFIX).ok_or_else(bad)?;
        let bytes = hex::decode(hex_part).map_err(|_| bad())?;
        let inner = String::from_utf8(bytes).map_err(|_| bad())?;
        let older = match inner.chars().next() {
            Some('o') => true,
            Some('n') => false,
            _ => return Err(bad()),
        };
        let (at, id) = inner[1..].split_once(':').ok_or_else(bad)?;
        let at_ms: i64 = at.parse().map_err(|_| bad())?;
        let at = Timestamp::from_millisecond(at_ms).map_err(|_| bad())?;
        if id.is_empty() {
            return Err(bad());
        }
        let cursor = Cursor {
            older,
            at,
            id: id.to_owned(),
        };
        // One cursor, one text: upper-case hex, a `+` or leading zeros would name the same
        // boundary under another text, so only what `encode` writes is a cursor.
        if cursor.encode() != text.trim() {
            return Err(bad());
        }
        Ok(cursor)
    }
}

/// One page of events, newest first, with cursors to the neighbouring pages.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TimelinePage {
    /// The events, newest first; ties at the same instant in descending id order.
    pub events: Vec<TimelineEvent>,
    /// The page of older events; `None` when there are none.
    pub older: Option<String>,
    /// The page of newer events; `None` when this page is the newest. (Events added since may
    /// make a page newer than the first one: refresh from the start to see them.)
    pub newer: Option<String>,
}

/// Events of one local calendar day.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DayGroup {
    /// The day, in the zone the grouping was asked for.
    pub date: Date,
    /// The day's events, in the order given.
    pub events: Vec<TimelineEvent>,
}

/// A page of events grouped by local day, with the cursors of the page it was made of.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TimelineDayPage {
    /// The days, newest first.
    pub days: Vec<DayGroup>,
    /// The page of older events; `None` when there are none.
    pub older: Option<String>,
    /// The page of newer events; `None` when this page is the newest.
    pub newer: Option<String>,
}

impl TimelinePage {
    /// This page's events grouped by their local day in `zone` ([`group_by_local_day`]).
    pub fn by_local_day(self, zone: &TimeZone) -> TimelineDayPage {
        TimelineDayPage {
            days: group_by_local_day(self.events, zone),
            older: self.older,
            newer: self.newer,
        }
    }
}

/// Groups consecutive events by their local day in `zone`: a page, newest first, becomes its days,
/// newest first. An event at 23:30 in London on a day when New York is still on the previous one
/// lands on different days in the two zones.
pub fn group_by_local_day(events: Vec<TimelineEvent>, zone: &TimeZone) -> Vec<DayGroup> {
    let mut days: Vec<DayGroup> = Vec::new();
    for event in events {
        let date = event.occurred_at.to_zoned_datetime(zone.clone()).date();
        match days.last_mut() {
            Some(day) if day.date == date => day.events.push(event),
            _ => days.push(DayGroup {
                date,
                events: vec![event],
            }),
        }
    }
    days
}

/// What a person typed into the timeline's search box as a full-text query (at most 16 words;
/// see [`crate::record::match_expression`]). `None` when there is no word at all.
pub fn search_expression(text: &str) -> Option<String> {
    crate::record::match_expression(text, 16)
}

const COLUMNS: &str = "e.id, e.kind, e.occurred_at, e.recorded_zone, e.ends_at, e.title, e.body, \
                       e.tags, e.payload, e.clinician_grade, e.medication_ids, e.document_ids";

/// An event row is complete once its kind, time, title and payload have arrived; a record whose
/// fields are still arriving from another device is not shown yet.
const COMPLETE: &str = "e.occurred_at IS NOT NULL AND +e.kind IS NOT NULL \
                        AND e.title IS NOT NULL AND e.payload IS NOT NULL";

pub(crate) fn timestamp(ms: i64) -> Result<Timestamp> {
    Timestamp::from_millisecond(ms).map_err(|_| Error::Corrupt("timeline event time".into()))
}

pub(crate) fn parse_payload(text: &str) -> Result<EventDetails> {
    serde_json::from_str(text).map_err(|_| Error::Corrupt("timeline event payload".into()))
}

fn parse_list(text: Option<&str>) -> Result<Vec<String>> {
    match text {
        // Most events link no medication or document: no parser for an empty list.
        None | Some("[]") => Ok(Vec::new()),
        Some(t) => {
            serde_json::from_str(t).map_err(|_| Error::Corrupt("timeline event list".into()))
        }
    }
}

/// One row of [`COLUMNS`] as an event. Text columns are read in place (no copy before parsing)
/// and only the event's own strings are allocated.
fn event_from_row(r: &rusqlite::Row<'_>) -> Result<TimelineEvent> {
    let text = |i: usize| -> Result<Option<&str>> {
        r.get_ref(i)?
            .as_str_or_null()
            .map_err(|_| Error::Corrupt("timeline event column".into()))
    };
    let required = |i: usize| -> Result<&str> {
        text(i)?.ok_or_else(|| Error::Corrupt("timeline event column".into()))
    };
    let kind =
        EventKind::parse(required(1)?).map_err(|_| Error::Corrupt("timeline event kind".into()))?;
    let mut details = parse_payload(required(8)?)?;
    if details.kind() != kind {
        return Err(Error::Corrupt("timeline event payload".into()));
    }
    if let EventDetails::Symptom { report } = &mut details {
        let grade: Option<i64> = r.get(9)?;
        report.clinician_grade = grade.and_then(|g| u8::try_from(g).ok());
    }
    let flags = details.flags();
    Ok(TimelineEvent {
        id: required(0)?.to_owned(),
        kind,
        occurred_at: timestamp(r.get(2)?)?,
        recorded_zone: text(3)?.unwrap_or("UTC").to_owned(),
        ends_at: r.get::<_, Option<i64>>(4)?.map(timestamp).transpose()?,
        title: required(5)?.to_owned(),
        body: text(6)?.unwrap_or_default().to_owned(),
        tags: parse_list(text(7)?)?,
        details,
        medication_ids: parse_list(text(10)?)?,
        document_ids: parse_list(text(11)?)?,
        flags,
    })
}

/// The events of a statement's rows, in order.
fn collect_events(mut rows: rusqlite::Rows<'_>, capacity: usize) -> Result<Vec<TimelineEvent>> {
    let mut events = Vec::with_capacity(capacity);
    while let Some(r) = rows.next()? {
        events.push(event_from_row(r)?);
    }
    Ok(events)
}

/// The SQL and parameters of one page: filters, the cursor's side, the order and the limit
/// (one more than asked, to learn whether there is more).
pub(crate) fn page_sql(
    query: &TimelineQuery,
    cursor: Option<&Cursor>,
    limit: usize,
) -> Result<(String, Vec<Sql>)> {
    let older = cursor.is_none_or(|c| c.older);
    let mut sql = format!("SELECT {COLUMNS} FROM timeline_event e WHERE {COMPLETE}");
    let mut params: Vec<Sql> = Vec::new();
    if let (Some(from), Some(until)) = (query.from, query.until)
        && until < from
    {
        return Err(Error::invalid("until", "is before from"));
    }
    if let Some(from) = query.from {
        sql.push_str(" AND e.occurred_at >= ?");
        params.push(Sql::Integer(from.as_millisecond()));
    }
    if let Some(until) = query.until {
        sql.push_str(" AND e.occurred_at < ?");
        params.push(Sql::Integer(until.as_millisecond()));
    }
    if let [kind] = query.kinds.as_slice() {
        // One kind: the (kind, occurred_at, id) index yields the page order directly.
        sql.push_str(" AND e.kind = ?");
        params.push(Sql::Text(kind.as_str().to_owned()));
    } else if !query.kinds.is_empty() {
        // Several: unary + keeps the planner on the time index, which yields the page order.
        sql.push_str(" AND +e.kind IN (");
        for (i, kind) in query.kinds.iter().enumerate() {
            sql.push_str(if i == 0 { "?" } else { ", ?" });
            params.push(Sql::Text(kind.as_str().to_owned()));
        }
        sql.push(')');
    }
    for tag in super::model::normalised_tags(&query.tags)? {
        sql.push_str(" AND EXISTS (SELECT 1 FROM json_each(e.tags) WHERE value = ?)");
        params.push(Sql::Text(tag));
    }
    if let Some(med) = &query.medication_id {
        sql.push_str(" AND EXISTS (SELECT 1 FROM json_each(e.medication_ids) WHERE value = ?)");
        params.push(Sql::Text(med.trim().to_owned()));
    }
    if let Some(doc) = &query.document_id {
        sql.push_str(" AND EXISTS (SELECT 1 FROM json_each(e.document_ids) WHERE value = ?)");
        params.push(Sql::Text(doc.trim().to_owned()));
    }
    if let Some(text) = &query.text {
        crate::text::check_length("text", text, MAX_SEARCH_CHARS)?;
        let Some(expr) = search_expression(text) else {
            return Err(Error::invalid("text", "has no words to search for"));
        };
        // The matches are collected once; the unary + keeps the planner walking the time
        // index and stopping after one page, instead of sorting every match of a common word.
        sql.push_str(
            " AND +e.rowid IN (SELECT rowid FROM timeline_fts WHERE timeline_fts MATCH ?)",
        );
        params.push(Sql::Text(expr));
    }
    if let Some(c) = cursor {
        sql.push_str(if c.older {
            " AND (e.occurred_at, e.id) < (?, ?)"
        } else {
            " AND (e.occurred_at, e.id) > (?, ?)"
        });
        params.push(Sql::Integer(c.at.as_millisecond()));
        params.push(Sql::Text(c.id.clone()));
    }
    sql.push_str(if older {
        " ORDER BY e.occurred_at DESC, e.id DESC"
    } else {
        " ORDER BY e.occurred_at ASC, e.id ASC"
    });
    // The limit is written into the text, not bound: SQLite plans with a bound LIMIT's value
    // and so prepares the statement again on every bind, which cost a page a third of its time.
    // It is a number checked against MAX_PAGE_SIZE, and one page size means one cached statement.
    sql.push_str(&format!(" LIMIT {}", limit + 1));

    Ok((sql, params))
}

impl Store {
    /// One event; [`Error::NotFound`] if it does not exist or was deleted.
    pub fn event(&self, id: &str) -> Result<TimelineEvent> {
        let sql = format!("SELECT {COLUMNS} FROM timeline_event e WHERE e.id = ?1 AND {COMPLETE}");
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let mut rows = stmt.query([id])?;
        match rows.next()? {
            Some(r) => event_from_row(r),
            None => Err(Error::NotFound {
                entity: "timeline event",
            }),
        }
    }

    /// A page of at most `limit` events matching `query`, newest first. `cursor` is `None` for
    /// the newest page, or a cursor from an earlier page to move older or newer. The order is
    /// stable: by time, then id, in both directions.
    pub fn timeline_page(
        &self,
        query: &TimelineQuery,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<TimelinePage> {
        if limit == 0 || limit > MAX_PAGE_SIZE {
            return Err(Error::invalid(
                "limit",
                format!("must be 1 to {MAX_PAGE_SIZE}"),
            ));
        }
        let cursor = cursor.map(Cursor::decode).transpose()?;
        let older = cursor.as_ref().is_none_or(|c| c.older);

        let (sql, params) = page_sql(query, cursor.as_ref(), limit)?;
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let mut events =
            collect_events(stmt.query(rusqlite::params_from_iter(params))?, limit + 1)?;
        let more = events.len() > limit;
        events.truncate(limit);
        if !older {
            events.reverse();
        }
        let cursor_at = |e: &TimelineEvent, older: bool| {
            Cursor {
                older,
                at: e.occurred_at,
                id: e.id.clone(),
            }
            .encode()
        };
        // Going older, what lies newer is where we came from; going newer, the reverse.
        let (has_older, has_newer) = if older {
            (more, cursor.is_some())
        } else {
            (true, more)
        };
        let page = match (events.first(), events.last()) {
            (Some(first), Some(last)) => TimelinePage {
                older: has_older.then(|| cursor_at(last, true)),
                newer: has_newer.then(|| cursor_at(first, false)),
                events,
            },
            _ => {
                // An empty page: the way back is the cursor we came with, turned around.
                let back = cursor.map(|c| {
                    Cursor {
                        older: !c.older,
                        ..c
                    }
                    .encode()
                });
                TimelinePage {
                    older: if older { None } else { back.clone() },
                    newer: if older { back } else { None },
                    events,
                }
            }
        };
        Ok(page)
    }

    /// The first page of events matching the words of `text` (see [`TimelineQuery::text`]).
    pub fn search_timeline(&self, text: &str, limit: usize) -> Result<TimelinePage> {
        self.timeline_page(
            &TimelineQuery {
                text: Some(text.to_owned()),
                ..TimelineQuery::default()
            },
            None,
            limit,
        )
    }

    /// Appointments not yet over, soonest first: starting from now, or started and not ended.
    pub fn upcoming_appointments(&self, limit: usize) -> Result<Vec<TimelineEvent>> {
        if limit == 0 || limit > MAX_PAGE_SIZE {
            return Err(Error::invalid(
                "limit",
                format!("must be 1 to {MAX_PAGE_SIZE}"),
            ));
        }
        let now = self.clock().now();
        // An appointment longer than a day is not an appointment: look back one day at most.
        let lookback = now
            .checked_sub(SignedDuration::from_hours(24))
            .unwrap_or(now);
        let sql = format!(
            "SELECT {COLUMNS} FROM timeline_event e
             WHERE e.kind = 'appointment' AND e.occurred_at >= ?1
               AND coalesce(e.ends_at, e.occurred_at) >= ?2
               AND e.title IS NOT NULL AND e.payload IS NOT NULL
             ORDER BY e.occurred_at, e.id LIMIT {limit}"
        );
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let rows = stmt.query(rusqlite::params![
            lookback.as_millisecond(),
            now.as_millisecond()
        ])?;
        collect_events(rows, limit)
    }

    /// One term's reports from `from` (inclusive) until `until` (exclusive), oldest first.
    ///
    /// `term` is a vocabulary code, label or alias, or the free text a symptom was logged with
    /// (matched ignoring ASCII case).
    pub fn symptom_trend(
        &self,
        term: &str,
        from: Option<Timestamp>,
        until: Option<Timestamp>,
    ) -> Result<Vec<SymptomPoint>> {
        let text = term.trim();
        if text.is_empty() {
            return Err(Error::invalid("term", "must not be empty"));
        }
        let code = find_term(text).map_or_else(|| text.to_owned(), |t| t.code.to_owned());
        let mut stmt = self.conn().prepare_cached(
            "SELECT id, occurred_at, payload, clinician_grade FROM timeline_event
             WHERE kind = 'symptom' AND occurred_at >= ?1 AND occurred_at < ?2
               AND title IS NOT NULL AND payload IS NOT NULL
               AND lower(json_extract(payload, '$.report.term')) = lower(?3)
             ORDER BY occurred_at, id",
        )?;
        let from = from.map_or(i64::MIN, |t| t.as_millisecond());
        let until = until.map_or(i64::MAX, |t| t.as_millisecond());
        let rows = stmt.query_map(rusqlite::params![from, until, code], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<i64>>(3)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (event_id, at, payload, grade) = row?;
            let details = parse_payload(&payload)?;
            let EventDetails::Symptom { mut report } = details else {
                return Err(Error::Corrupt("timeline symptom payload".into()));
            };
            report.clinician_grade = grade.and_then(|g| u8::try_from(g).ok());
            out.push(SymptomPoint {
                event_id,
                occurred_at: timestamp(at)?,
                report,
            });
        }
        Ok(out)
    }
}
