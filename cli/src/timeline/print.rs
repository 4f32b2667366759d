//! Timeline events, pages and symptom trends as text and JSON.

use cairn_core::timeline::{
    DayGroup, EventDetails, EventFlag, PRO_CTCAE_TERMS, SymptomPoint, TimelineEvent, TimelinePage,
    group_by_local_day,
};
use jiff::tz::TimeZone;
use serde_json::{Value, json};

use crate::terminal::{self, safe_println};

/// An event just added, as JSON or as a line under "Added KIND ID".
pub(super) fn added(e: &TimelineEvent, zone: &TimeZone, json: bool) {
    changed(
        &format!("Added {} {}", e.kind.as_str(), e.id),
        e,
        zone,
        json,
    );
}

/// An event just edited, as JSON or as a line under "Edited ID".
pub(super) fn edited(e: &TimelineEvent, zone: &TimeZone, json: bool) {
    changed(&format!("Edited {}", e.id), e, zone, json);
}

fn changed(heading: &str, e: &TimelineEvent, zone: &TimeZone, json: bool) {
    if json {
        println!("{}", terminal::pretty_json(&event_json(e)));
    } else {
        safe_println!("{heading}");
        dated_line(e, zone);
    }
}

/// One event in full, or as JSON.
pub(super) fn event(e: &TimelineEvent, zone: &TimeZone, json: bool) {
    if json {
        println!("{}", terminal::pretty_json(&event_json(e)));
    } else {
        in_full(e, zone);
    }
}

/// The appointments not yet over, a dated line each, or as a JSON array.
pub(super) fn upcoming(events: &[TimelineEvent], zone: &TimeZone, json: bool) {
    if json {
        let list: Vec<Value> = events.iter().map(event_json).collect();
        println!("{}", terminal::pretty_json(&Value::from(list)));
    } else if events.is_empty() {
        safe_println!("No upcoming appointments.");
    } else {
        for e in events {
            dated_line(e, zone);
        }
    }
}

/// The shipped PRO-CTCAE vocabulary, a term a line with the attributes it asks about.
pub(super) fn terms() {
    for t in PRO_CTCAE_TERMS {
        let attrs: Vec<&str> = t.attributes.iter().map(|a| a.as_str()).collect();
        safe_println!("{:<22} {:<42} {}", t.code, t.label, attrs.join(", "));
    }
}

/// The event as JSON, plus its local start in the zone it was recorded in.
fn event_json(e: &TimelineEvent) -> Value {
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

/// One page of events, grouped by local day with the cursors to the pages around it, or as JSON.
pub(super) fn page(page: TimelinePage, zone: &TimeZone, json: bool) {
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
    days(page.events, zone);
    if let Some(c) = page.older {
        safe_println!("older: --cursor {c}");
    }
    if let Some(c) = page.newer {
        safe_println!("newer: --cursor {c}");
    }
}

/// `events` under a heading for each local day in `zone`, one line each.
pub(crate) fn days(events: Vec<TimelineEvent>, zone: &TimeZone) {
    for DayGroup { date, events } in group_by_local_day(events, zone) {
        safe_println!("{}", date.strftime("%a %-d %b %Y"));
        for e in &events {
            safe_println!("  {}", line(e, zone));
        }
    }
}

/// One line: local time, kind, title, what the details add to it, flags, tags, id.
pub(crate) fn line(e: &TimelineEvent, zone: &TimeZone) -> String {
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

/// The event's local day, then its line.
pub(crate) fn dated_line(e: &TimelineEvent, zone: &TimeZone) {
    let local = e.occurred_at.to_zoned_datetime(zone.clone());
    safe_println!("  {}  {}", local.strftime("%a %-d %b %Y"), line(e, zone));
}

fn in_full(e: &TimelineEvent, zone: &TimeZone) {
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

/// One symptom's scores over time, a line each with a bar per attribute, or as JSON.
pub(crate) fn trend(term: &str, points: &[SymptomPoint], zone: &TimeZone, json: bool) {
    if json {
        let list: Vec<Value> = points.iter().map(point_json).collect();
        println!("{}", terminal::pretty_json(&Value::from(list)));
        return;
    }
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
