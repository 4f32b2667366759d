//! `cairn demo`: a walkthrough of Cairn in a temporary directory, feature by feature, then two
//! devices syncing through a relay in this process (`demo/sync.rs`).

use std::sync::Arc;

use cairn_core::meds::{Medication, Phase, Timing};
use cairn_core::timeline::{
    EventDetails, Measurement, NewEvent, Quantity, SymptomReport, TimelineQuery, TreatmentKind,
};
use cairn_core::vault::{DocumentFilter, DocumentKind, DocumentMeta, ImportOutcome};
use cairn_core::{Clock, Error, Profile, Store, Unlock};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};

use crate::terminal::safe_println;
use crate::{meds, timeline, vault};

mod sync;

/// Runs the walkthrough in a new temporary directory, removed afterwards.
pub(crate) fn run(clock: Arc<dyn Clock>) -> Result<(), Error> {
    let dir = tempfile::Builder::new().prefix("cairn-demo-").tempdir()?;
    let pass = "demo passphrase, not a real one";
    safe_println!(
        "== Cairn demo (in {}, removed afterwards)",
        dir.path().display()
    );
    safe_println!();
    safe_println!("-- A new encrypted store, protected by a passphrase (Argon2id, then SQLCipher)");
    let store_dir = dir.path().join("store");
    let store = Store::create(&store_dir, Unlock::Passphrase(pass), clock.clone())?;
    store.set_profile(&Profile {
        display_name: "Maya".into(),
        home_time_zone: "Europe/London".into(),
    })?;
    safe_println!("profile: Maya, home zone Europe/London");
    walk_timeline(&store)?;
    walk_meds(&store)?;
    walk_vault(&store)?;
    safe_println!();
    safe_println!("-- Store status");
    crate::store::print_status(&store)?;
    store.close()?;

    safe_println!();
    safe_println!("-- On disk, nothing is readable");
    let bytes = std::fs::read(store_dir.join(cairn_core::store::DATABASE_FILE))?;
    let header = bytes.starts_with(b"SQLite format 3");
    safe_println!(
        "cairn.db: {} bytes, plaintext SQLite header: {}",
        bytes.len(),
        if header { "YES" } else { "no" }
    );
    if header {
        return Err(Error::Corrupt(
            "the demo store was written unencrypted".into(),
        ));
    }
    safe_println!();
    safe_println!("-- A wrong passphrase is refused, and changes nothing");
    match Store::open(
        &store_dir,
        Unlock::Passphrase("not the passphrase"),
        clock.clone(),
    ) {
        Err(Error::WrongKey) => safe_println!("wrong passphrase: refused (WrongKey)"),
        Err(e) => return Err(e),
        Ok(_) => {
            return Err(Error::Corrupt(
                "a wrong passphrase opened the demo store".into(),
            ));
        }
    }
    let mut store = Store::open(&store_dir, Unlock::Passphrase(pass), clock.clone())?;
    safe_println!(
        "right passphrase: opened, {} records",
        store.status()?.record_count
    );
    sync::walk(dir.path(), &mut store, pass, clock)?;
    store.close()
}

/// The timeline part: the first month after a diagnosis, then shows it.
fn walk_timeline(store: &Store) -> Result<(), Error> {
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
    timeline::print::days(page.events, &zone);
    safe_println!();
    safe_println!("-- Search ignores case and accents: \"ZOE CAFE\"");
    for e in store.search_timeline("ZOE CAFE", 10)?.events {
        safe_println!("  {}", timeline::print::line(&e, &zone));
    }
    safe_println!();
    safe_println!("-- Nausea since the first cycle (PRO-CTCAE scores, not a CTCAE grade)");
    let nausea = store.symptom_trend("nausea", None, None)?;
    timeline::print::trend("nausea", &nausea, &zone, false);
    safe_println!();
    safe_println!("-- Upcoming appointments");
    for e in store.upcoming_appointments(5)? {
        timeline::print::dated_line(&e, &zone);
    }
    Ok(())
}

/// The meds part: a capecitabine 14-on/7-off cycle and an as-needed anti-nausea drug; a dose
/// taken, today's doses, the notification plan and adherence.
fn walk_meds(store: &Store) -> Result<(), Error> {
    safe_println!();
    safe_println!("-- Medications: a chemotherapy cycle and an as-needed anti-nausea drug");
    let today = meds::run::today_date(store);
    let cycle_start = today
        .checked_sub(SignedDuration::from_hours(24 * 3))
        .map_err(|_| Error::invalid("demo", "date out of range"))?;
    let mut cape = Medication::new(
        "Capecitabine",
        vec![Phase {
            dose: 3.0,
            unit: "tablet".into(),
            timing: Timing::Cycle {
                days_on: 14,
                days_off: 7,
                times: vec!["08:00".into(), "20:00".into()],
                cycles: Some(6),
            },
            start: cycle_start.to_string(),
            end: None,
            count: None,
        }],
    );
    cape.strength = "500 mg".into();
    cape.form = "tablet".into();
    cape.route = "oral".into();
    cape.instructions = "within 30 minutes after a meal".into();
    cape.late_window_minutes = 180;
    cape.stock = Some(84.0);
    cape.refill_threshold_days = Some(7);
    let cape_id = store.add_medication(&cape)?;
    safe_println!(
        "added Capecitabine 500 mg: {}",
        meds::print::regimen_summary(&cape)
    );
    let mut ondansetron = Medication::new(
        "Ondansetron",
        vec![Phase {
            dose: 1.0,
            unit: "tablet".into(),
            timing: Timing::AsNeeded {
                min_gap_minutes: 8 * 60,
                max_doses: 3,
                period_hours: 24,
            },
            start: cycle_start.to_string(),
            end: None,
            count: None,
        }],
    );
    ondansetron.strength = "8 mg".into();
    let ond_id = store.add_medication(&ondansetron)?;
    safe_println!(
        "added Ondansetron 8 mg: {}",
        meds::print::regimen_summary(&ondansetron)
    );

    let now = store.clock().now();
    let zone = store.clock().time_zone();
    // The days of the cycle so far, backfilled (they were due before the medication was added,
    // so the day view does not list them): every dose taken ten minutes after its time but
    // one, skipped for nausea.
    let from = cairn_core::meds::start_of_day(&zone, cycle_start);
    let past = cairn_core::meds::occurrences(&store.medication(&cape_id)?, &zone, from, now)?;
    for (i, d) in past.iter().enumerate() {
        if i == 3 {
            store.skip_dose(&cape_id, Some(&d.id), Some("nausea"))?;
            continue;
        }
        let at = d.at + SignedDuration::from_mins(10);
        store.take_dose(&cape_id, Some(at.min(now)), None, Some(&d.id))?;
    }
    safe_println!(
        "logged the {} doses of the cycle so far (one skipped for nausea)",
        past.len()
    );
    let first = store.take_dose(&ond_id, None, None, None)?;
    let second = store.take_dose(&ond_id, None, None, None)?;
    safe_println!(
        "took ondansetron twice in a row: first {} warning(s), second: {}",
        first.warnings.len(),
        second
            .warnings
            .first()
            .map(|w| meds::print::warning_text(store, w))
            .unwrap_or_else(|| "no warning".into())
    );
    safe_println!();
    safe_println!("-- Today's doses");
    meds::run::today(store, None, false)?;
    safe_println!();
    safe_println!("-- The notification plan (the soonest 6; iOS keeps 64)");
    let plan = store.plan_notifications(6)?;
    meds::print::plan(&plan);
    store.commit_notification_plan(&plan)?;
    safe_println!();
    safe_println!("-- Adherence this cycle");
    let a = meds::run::adherence_over(store, cycle_start, today)?;
    meds::print::adherence(&a);
    Ok(())
}

/// The vault part: a sample PDF imported, found, verified and exported.
fn walk_vault(store: &Store) -> Result<(), Error> {
    safe_println!();
    safe_println!("-- The document vault: each file encrypted with its own age key");
    // The person's own files, beside the store's directory.
    let pdf = store.dir().with_file_name("discharge-summary.pdf");
    std::fs::write(&pdf, sample_pdf())?;
    let meta = DocumentMeta {
        title: "Discharge summary, cycle 3".into(),
        kind: DocumentKind::DischargeSummary,
        document_date: Some(jiff::civil::date(2026, 2, 14)),
        tags: vec!["chemo".into(), "cycle 3".into()],
        notes: "Neutropenic fever; antibiotics for a week.".into(),
        content_type: "application/pdf".into(),
        linked_events: Vec::new(),
    };
    let outcome = store.import_document(&pdf, &meta, &mut |_, _| {})?;
    let doc = outcome.document().clone();
    safe_println!("imported a sample PDF ({} bytes) as {}", doc.size, doc.id);
    let again = store.import_document(&pdf, &meta, &mut |_, _| {})?;
    if let ImportOutcome::AlreadyInVault(existing) = again {
        safe_println!(
            "importing it again: already in the vault as {}",
            existing.id
        );
    }
    for d in store.documents(&DocumentFilter::default())? {
        vault::print::line(&d);
    }
    safe_println!(
        "search \"neutropenic\": {} document(s)",
        store.search_documents("neutropenic")?.len()
    );
    for check in store.verify_vault()? {
        safe_println!("verify: {:?} {}", check.health, check.id);
    }
    let out = store.dir().with_file_name("exported.pdf");
    store.export_document(&doc.id, &out, &mut |_, _| {})?;
    let same = std::fs::read(&out)? == std::fs::read(&pdf)?;
    safe_println!(
        "exported to {}: identical to the original: {}",
        out.display(),
        if same { "yes" } else { "NO" }
    );
    let stored = std::fs::read(store.document_content_path(&doc.id)?)?;
    safe_println!(
        "on disk: an age file ({} bytes), plaintext PDF header: {}",
        stored.len(),
        if stored.windows(5).any(|w| w == b"%PDF-") {
            "YES"
        } else {
            "no"
        }
    );
    if !same {
        return Err(Error::Corrupt(
            "the demo export differs from the import".into(),
        ));
    }
    Ok(())
}

/// A small, valid one-page PDF: a discharge letter, written by hand with a correct xref table.
fn sample_pdf() -> Vec<u8> {
    let text = "BT /F1 14 Tf 72 760 Td (Discharge summary - sample, not a real patient) Tj \
                0 -24 Td /F1 11 Tf (Admitted for neutropenic fever; discharged on day 4.) Tj ET";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] \
         /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>"
            .to_owned(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
        format!("<< /Length {} >>\nstream\n{text}\nendstream", text.len()),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_pdf_has_a_correct_cross_reference_table() {
        let pdf = sample_pdf();
        let text = String::from_utf8_lossy(&pdf).into_owned();
        let startxref: usize = text
            .rsplit("startxref\n")
            .next()
            .and_then(|t| t.lines().next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        assert!(text[startxref..].starts_with("xref\n0 6\n"));
        let entries: Vec<usize> = text[startxref..]
            .lines()
            .skip(3)
            .take(5)
            .map(|l| l[..10].parse().unwrap())
            .collect();
        for (i, offset) in entries.iter().enumerate() {
            assert!(
                text.as_bytes()[*offset..].starts_with(format!("{} 0 obj", i + 1).as_bytes()),
                "object {} at {offset}",
                i + 1
            );
        }
        assert!(text.ends_with("%%EOF\n"));
    }
}
