//! Tests of the timeline: writes and their checks, paging, search, symptoms, measurements.

use std::sync::Arc;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ZonedDateTime};
use proptest::prelude::*;

use super::*;
use crate::store::MemoryKeyStore;
use crate::{Error, SteppableClock, Store, Unlock};

struct Phone {
    store: Store,
    clock: SteppableClock,
    _dir: tempfile::TempDir,
}

/// A phone in London, the Friday before the clocks go back.
fn phone() -> Phone {
    let now: ZonedDateTime = "2026-10-23T09:00:00+01:00[Europe/London]".parse().unwrap();
    let clock = SteppableClock::new(now.timestamp(), now.time_zone().clone());
    let dir = tempfile::tempdir().unwrap();
    let keys = MemoryKeyStore::default();
    let store =
        Store::create(dir.path(), Unlock::KeyStore(&keys), Arc::new(clock.clone())).unwrap();
    Phone {
        store,
        clock,
        _dir: dir,
    }
}

fn at(s: &str) -> Timestamp {
    s.parse::<ZonedDateTime>()
        .map(|z| z.timestamp())
        .or_else(|_| s.parse::<Timestamp>())
        .unwrap()
}

fn note(when: &str, title: &str) -> NewEvent {
    NewEvent::new(at(when), title, EventDetails::Note)
}

fn symptom(when: &str, report: SymptomReport) -> NewEvent {
    NewEvent::new(at(when), "", EventDetails::Symptom { report })
}

fn measured(when: &str, m: Measurement) -> NewEvent {
    NewEvent::new(at(when), "", EventDetails::Measurement { measurement: m })
}

fn invalid_field(r: Result<impl std::fmt::Debug, Error>) -> &'static str {
    match r {
        Err(Error::Invalid { field, .. }) => field,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn an_event_reads_back_as_written_in_the_zone_it_was_recorded_in() {
    let p = phone();
    let id = p
        .store
        .add_event(
            &NewEvent::new(
                at("2026-10-20T14:00:00+01:00[Europe/London]"),
                "  First chemo  ",
                EventDetails::Treatment {
                    treatment: TreatmentKind::Chemotherapy,
                    name: Some("EC".into()),
                    cycle: Some(1),
                },
            )
            .ends_at(at("2026-10-20T17:30:00+01:00[Europe/London]"))
            .body("Cannula in the left arm. Cold cap worked.")
            .tags(["Chemo ", "chemo", "EC  cycle"]),
        )
        .unwrap();
    let e = p.store.event(&id).unwrap();
    assert_eq!(e.kind, EventKind::Treatment);
    assert_eq!(e.title, "First chemo");
    assert_eq!(
        e.recorded_zone, "Europe/London",
        "the clock's zone by default"
    );
    assert_eq!(e.tags, vec!["chemo", "ec cycle"]);
    assert_eq!(e.local_start().hour(), 14);
    assert_eq!(
        e.ends_at.unwrap() - e.occurred_at,
        SignedDuration::from_mins(210)
    );
    assert!(e.flags.is_empty());
}

#[test]
fn kinds_with_a_natural_title_get_one_and_notes_need_theirs() {
    let p = phone();
    let id = p
        .store
        .add_event(&symptom(
            "2026-10-21T08:00:00+01:00[Europe/London]",
            SymptomReport {
                severity: Some(2),
                ..SymptomReport::new("Feeling sick")
            },
        ))
        .unwrap();
    assert_eq!(p.store.event(&id).unwrap().title, "Nausea");
    let err = p
        .store
        .add_event(&note("2026-10-21T08:00:00+01:00[Europe/London]", "   "));
    assert_eq!(invalid_field(err), "title");
}

#[test]
fn bad_input_is_refused_by_field_and_nothing_is_written() {
    let p = phone();
    let t = "2026-10-21T08:00:00+01:00[Europe/London]";
    assert_eq!(invalid_field(EventKind::parse("holiday")), "kind");
    let backwards = note(t, "Scan").ends_at(at("2026-10-21T07:00:00+01:00[Europe/London]"));
    assert_eq!(invalid_field(p.store.add_event(&backwards)), "ends_at");
    let nan = measured(t, Measurement::new(Quantity::Temperature, f64::NAN, "Cel"));
    assert_eq!(invalid_field(p.store.add_event(&nan)), "value");
    let inf = measured(t, Measurement::new(Quantity::Weight, f64::INFINITY, "kg"));
    assert_eq!(invalid_field(p.store.add_event(&inf)), "value");
    let stone = measured(t, Measurement::new(Quantity::Weight, 10.0, "[stone]"));
    assert_eq!(invalid_field(p.store.add_event(&stone)), "unit");
    let loud = symptom(
        t,
        SymptomReport {
            severity: Some(5),
            ..SymptomReport::new("nausea")
        },
    );
    assert_eq!(invalid_field(p.store.add_event(&loud)), "severity");
    let rash_severity = symptom(
        t,
        SymptomReport {
            severity: Some(2),
            ..SymptomReport::new("rash")
        },
    );
    assert_eq!(invalid_field(p.store.add_event(&rash_severity)), "severity");
    let grade6 = symptom(
        t,
        SymptomReport {
            clinician_grade: Some(6),
            ..SymptomReport::new("nausea")
        },
    );
    assert_eq!(invalid_field(p.store.add_event(&grade6)), "clinician_grade");
    let surgery = NewEvent::new(
        at(t),
        "",
        EventDetails::Treatment {
            treatment: TreatmentKind::Surgery,
            name: None,
            cycle: Some(2),
        },
    );
    assert_eq!(invalid_field(p.store.add_event(&surgery)), "cycle");
    let mood = NewEvent::new(at(t), "", EventDetails::Mood { rating: 0 });
    assert_eq!(invalid_field(p.store.add_event(&mood)), "rating");
    let zone = note(t, "Flight").zone("Mars/Olympus_Mons");
    assert_eq!(invalid_field(p.store.add_event(&zone)), "recorded_zone");
    let bp = measured(
        t,
        Measurement::new(Quantity::BloodPressure, 120.0, "mm[Hg]"),
    );
    assert_eq!(invalid_field(p.store.add_event(&bp)), "second_value");
    // A batch with one bad event writes nothing.
    let batch = [note(t, "fine"), backwards.clone()];
    assert_eq!(invalid_field(p.store.add_events(&batch)), "ends_at");
    assert_eq!(p.store.status().unwrap().record_count, 0);
}

#[test]
fn error_text_never_carries_what_the_patient_wrote() {
    let p = phone();
    let secret = "Positive for BRCA2 — tell nobody yet";
    let long = secret.repeat(20);
    let err = p
        .store
        .add_event(&note("2026-10-21T08:00:00+01:00[Europe/London]", &long))
        .unwrap_err();
    assert!(!err.to_string().contains("BRCA2"), "{err}");
    let err = p.store.search_timeline("!!! ???", 10).unwrap_err();
    assert!(matches!(err, Error::Invalid { field: "text", .. }));
}

/// `n` characters of something a patient would not want in a log.
fn private_text(n: usize) -> String {
    "BRCA2+".chars().cycle().take(n).collect()
}

#[test]
fn every_free_text_field_has_a_length_limit_named_in_the_error() {
    let p = phone();
    let t = "2026-10-21T08:00:00+01:00[Europe/London]";
    let diagnosis = |condition: String, stage: Option<String>| {
        NewEvent::new(at(t), "", EventDetails::Diagnosis { condition, stage })
    };
    let treatment = |name: String| {
        NewEvent::new(
            at(t),
            "",
            EventDetails::Treatment {
                treatment: TreatmentKind::Chemotherapy,
                name: Some(name),
                cycle: Some(1),
            },
        )
    };
    let appointment = |provider: &str, place: &str, questions: Vec<String>, after: &str| {
        NewEvent::new(
            at(t),
            "",
            EventDetails::Appointment {
                provider: Some(provider.into()),
                place: Some(place.into()),
                questions,
                notes_after: Some(after.into()),
            },
        )
    };
    let label = private_text(MAX_LABEL_CHARS);
    let over = private_text(MAX_LABEL_CHARS + 1);
    let cases: Vec<(&str, NewEvent)> = vec![
        ("title", note(t, &private_text(MAX_TITLE_CHARS + 1))),
        (
            "body",
            note(t, "Scan").body(private_text(MAX_BODY_CHARS + 1)),
        ),
        (
            "tags",
            note(t, "Scan").tags([private_text(MAX_TAG_CHARS + 1)]),
        ),
        ("condition", diagnosis(over.clone(), None)),
        (
            "stage",
            diagnosis("Breast cancer".into(), Some(over.clone())),
        ),
        ("name", treatment(over.clone())),
        ("provider", appointment(&over, "B", vec![], "ok")),
        ("place", appointment("Dr Okafor", &over, vec![], "ok")),
        (
            "questions",
            appointment(
                "Dr Okafor",
                "B",
                vec![private_text(MAX_QUESTION_CHARS + 1)],
                "ok",
            ),
        ),
        (
            "notes_after",
            appointment("Dr Okafor", "B", vec![], &private_text(MAX_BODY_CHARS + 1)),
        ),
        (
            "term",
            symptom(t, SymptomReport::new(private_text(MAX_TERM_CHARS + 1))),
        ),
        (
            "name",
            measured(t, Measurement::lab(over.clone(), 1.0, "g/L")),
        ),
    ];
    for (field, event) in &cases {
        let err = p.store.add_event(event).unwrap_err();
        assert!(
            matches!(&err, Error::Invalid { field: f, .. } if f == field),
            "{field}: {err:?}"
        );
        assert!(!err.to_string().contains("BRCA2"), "{field}: {err}");
    }
    assert_eq!(p.store.status().unwrap().record_count, 0);

    // At the limit, every one of them is accepted.
    let longest = [
        note(t, &private_text(MAX_TITLE_CHARS)).body(private_text(MAX_BODY_CHARS)),
        diagnosis(label.clone(), Some(label.clone())),
        treatment(label.clone()),
        appointment(
            &label,
            &label,
            vec![private_text(MAX_QUESTION_CHARS); MAX_QUESTIONS],
            &private_text(MAX_BODY_CHARS),
        ),
        symptom(t, SymptomReport::new(private_text(MAX_TERM_CHARS))),
        measured(t, Measurement::lab(label.clone(), 1.0, "g/L")),
    ];
    p.store.add_events(&longest).unwrap();
}

#[test]
fn too_many_questions_tags_or_links_are_refused_and_an_edit_changes_nothing() {
    let p = phone();
    let t = "2026-10-21T08:00:00+01:00[Europe/London]";
    let many = |n: usize, prefix: &str| (0..n).map(|i| format!("{prefix}{i}")).collect::<Vec<_>>();
    let questions = NewEvent::new(
        at(t),
        "",
        EventDetails::Appointment {
            provider: None,
            place: None,
            questions: many(MAX_QUESTIONS + 1, "Question "),
            notes_after: None,
        },
    );
    assert_eq!(invalid_field(p.store.add_event(&questions)), "questions");
    let tags = note(t, "Scan").tags(many(MAX_TAGS + 1, "tag"));
    assert_eq!(invalid_field(p.store.add_event(&tags)), "tags");
    let mut links = note(t, "Scan");
    links.medication_ids = many(MAX_LINKS + 1, "med-");
    assert_eq!(invalid_field(p.store.add_event(&links)), "medication_ids");
    links.medication_ids.clear();
    links.document_ids = many(MAX_LINKS + 1, "doc-");
    assert_eq!(invalid_field(p.store.add_event(&links)), "document_ids");

    let id = p
        .store
        .add_event(&NewEvent::new(
            at(t),
            "",
            EventDetails::Diagnosis {
                condition: "Breast cancer".into(),
                stage: Some("IIA".into()),
            },
        ))
        .unwrap();
    let before = p.store.event(&id).unwrap();
    let edit = EventEdit {
        title: Some("Diagnosis".into()),
        details: Some(EventDetails::Diagnosis {
            condition: "Breast cancer".into(),
            stage: Some(private_text(MAX_LABEL_CHARS + 1)),
        }),
        ..EventEdit::default()
    };
    assert_eq!(invalid_field(p.store.edit_event(&id, &edit)), "stage");
    assert_eq!(p.store.event(&id).unwrap(), before);
}

#[test]
fn search_text_longer_than_the_limit_is_refused() {
    let p = phone();
    let err = p
        .store
        .search_timeline(&private_text(MAX_SEARCH_CHARS + 1), 10)
        .unwrap_err();
    assert!(
        matches!(err, Error::Invalid { field: "text", .. }),
        "{err:?}"
    );
    p.store
        .search_timeline(&private_text(MAX_SEARCH_CHARS), 10)
        .unwrap();
}

#[test]
fn an_edit_writes_only_the_fields_that_change() {
    let p = phone();
    let id = p
        .store
        .add_event(
            &note("2026-10-21T08:00:00+01:00[Europe/London]", "Call the nurse")
                .body("About the rash"),
        )
        .unwrap();
    let before = p.store.status().unwrap().outbox_count;
    p.store
        .edit_event(
            &id,
            &EventEdit {
                title: Some("Call the nurse".into()),
                body: Some("About the rash on my hands".into()),
                ..EventEdit::default()
            },
        )
        .unwrap();
    assert_eq!(p.store.status().unwrap().outbox_count, before + 1);
    let e = p.store.event(&id).unwrap();
    assert_eq!(e.body, "About the rash on my hands");
    let kind_change = EventEdit {
        details: Some(EventDetails::Milestone),
        ..EventEdit::default()
    };
    assert_eq!(invalid_field(p.store.edit_event(&id, &kind_change)), "kind");
    let end_before = EventEdit {
        ends_at: Some(EndEdit::At {
            at: at("2026-10-20T08:00:00+01:00[Europe/London]"),
        }),
        ..EventEdit::default()
    };
    assert_eq!(
        invalid_field(p.store.edit_event(&id, &end_before)),
        "ends_at"
    );
}

#[test]
fn edits_of_different_fields_on_two_devices_both_win() {
    let phone_a = phone();
    let tablet = phone();
    let id = phone_a
        .store
        .add_event(&note("2026-10-21T08:00:00+01:00[Europe/London]", "Scan").body("CT"))
        .unwrap();
    let exchange = |from: &Phone, to: &Phone| {
        let out = from.store.outbox(10_000).unwrap();
        if let Some(last) = out.up_to {
            from.store.acknowledge_outbox(last).unwrap();
        }
        to.store.apply_remote(&out.changes).unwrap();
    };
    exchange(&phone_a, &tablet);
    phone_a.clock.advance(SignedDuration::from_mins(5));
    tablet.clock.advance(SignedDuration::from_mins(6));
    phone_a
        .store
        .edit_event(
            &id,
            &EventEdit {
                title: Some("CT scan, chest and abdomen".into()),
                ..EventEdit::default()
            },
        )
        .unwrap();
    tablet
        .store
        .edit_event(
            &id,
            &EventEdit {
                tags: Some(vec!["scan".into()]),
                ..EventEdit::default()
            },
        )
        .unwrap();
    exchange(&phone_a, &tablet);
    exchange(&tablet, &phone_a);
    for p in [&phone_a, &tablet] {
        let e = p.store.event(&id).unwrap();
        assert_eq!(e.title, "CT scan, chest and abdomen");
        assert_eq!(e.tags, vec!["scan"]);
        assert_eq!(e.body, "CT");
        assert_eq!(
            p.store.search_timeline("abdomen", 10).unwrap().events.len(),
            1
        );
    }
}

#[test]
fn a_deleted_event_is_gone_from_reads_and_search() {
    let p = phone();
    let id = p
        .store
        .add_event(&note(
            "2026-10-21T08:00:00+01:00[Europe/London]",
            "Wig fitting",
        ))
        .unwrap();
    assert_eq!(p.store.search_timeline("wig", 10).unwrap().events.len(), 1);
    p.store.delete_event(&id).unwrap();
    assert!(matches!(p.store.event(&id), Err(Error::NotFound { .. })));
    assert!(
        p.store
            .search_timeline("wig", 10)
            .unwrap()
            .events
            .is_empty()
    );
    assert!(matches!(
        p.store.delete_event(&id),
        Err(Error::NotFound { .. })
    ));
    assert!(p.store.is_deleted(&TIMELINE_EVENT, &id).unwrap());
}

#[test]
fn search_ignores_case_and_accents_and_finds_word_prefixes() {
    let p = phone();
    let t = "2026-10-22T19:00:00+01:00[Europe/London]";
    let fever = p
        .store
        .add_event(&note(t, "Fièvre après la chimio").body("Appelé l'hôpital"))
        .unwrap();
    let tagged = p
        .store
        .add_event(&note(t, "Bloods").tags(["Neutrophils"]))
        .unwrap();
    let ids = |q: &str| -> Vec<String> {
        p.store
            .search_timeline(q, 10)
            .unwrap()
            .events
            .into_iter()
            .map(|e| e.id)
            .collect()
    };
    assert_eq!(ids("FIEVRE"), vec![fever.clone()]);
    assert_eq!(ids("hopital"), vec![fever.clone()]);
    assert_eq!(ids("chim"), vec![fever.clone()]);
    assert_eq!(ids("neutro"), vec![tagged.clone()]);
    assert_eq!(ids("fievre hopital"), vec![fever.clone()]);
    assert!(
        ids("fievre neutrophils").is_empty(),
        "every word must match"
    );
    // FTS5 syntax and SQL punctuation are only separators.
    for hostile in [
        "\"",
        "fièvre\" OR \"",
        "NEAR(a b)",
        "x' ; DROP TABLE timeline_event; --",
        "a* -b ^c",
        "col:val",
        "(((",
    ] {
        match p.store.search_timeline(hostile, 10) {
            Ok(_) | Err(Error::Invalid { field: "text", .. }) => {}
            Err(e) => panic!("{hostile}: {e}"),
        }
    }
    p.store
        .edit_event(
            &fever,
            &EventEdit {
                title: Some("Temperature after chemo".into()),
                body: Some(String::new()),
                ..EventEdit::default()
            },
        )
        .unwrap();
    assert!(ids("fievre").is_empty(), "the old title left the index");
    assert_eq!(ids("temperature"), vec![fever]);
}

#[test]
fn the_search_expression_quotes_every_word() {
    assert_eq!(
        search_expression("Fièvre, 38.5! a\"b").as_deref(),
        Some("\"Fièvre,\"* \"38.5!\"* \"a\"\"b\"*")
    );
    assert_eq!(search_expression(" -- \" * "), None);
    // Found by fuzzing: FTS5 reads a NUL as the end of the query ("unterminated string").
    assert_eq!(
        search_expression("F\0ev re\u{1}").as_deref(),
        Some("\"F\"* \"ev\"* \"re\"*")
    );
}

/// Found by fuzzing: an accent typed as a combining mark (`Fie\u{301}vre`) split the word in the
/// query but not in the index, so an event was not found by its own title.
#[test]
fn an_event_is_found_by_its_own_title() {
    let p = phone();
    for title in [
        "Fie\u{301}vre e\u{301}leve\u{301}e",
        "Temp 38.5°C",
        "naïv*e \u{e000}x",
    ] {
        let id = p
            .store
            .add_event(&note("2026-10-21T08:00:00+01:00[Europe/London]", title))
            .unwrap();
        let found = p.store.search_timeline(title, 10).unwrap();
        assert!(found.events.iter().any(|e| e.id == id), "{title:?}");
    }
}

#[test]
fn filters_narrow_by_kind_tag_link_and_time() {
    let p = phone();
    let day = |d: u32| format!("2026-10-{d:02}T10:00:00+01:00[Europe/London]");
    let mut linked = note(&day(2), "Started ondansetron").tags(["Meds"]);
    linked.medication_ids = vec!["med-ondansetron".into()];
    linked.document_ids = vec!["doc-letter".into()];
    let linked = p.store.add_event(&linked).unwrap();
    let sym = p
        .store
        .add_event(&symptom(
            &day(3),
            SymptomReport {
                frequency: Some(3),
                severity: Some(2),
                ..SymptomReport::new("nausea")
            },
        ))
        .unwrap();
    let later = p
        .store
        .add_event(&note(&day(20), "Walk").tags(["meds", "Walk"]))
        .unwrap();
    let page = |q: TimelineQuery| -> Vec<String> {
        p.store
            .timeline_page(&q, None, 50)
            .unwrap()
            .events
            .into_iter()
            .map(|e| e.id)
            .collect()
    };
    assert_eq!(
        page(TimelineQuery {
            kinds: vec![EventKind::Symptom],
            ..Default::default()
        }),
        vec![sym.clone()]
    );
    assert_eq!(
        page(TimelineQuery {
            tags: vec!["MEDS".into()],
            ..Default::default()
        }),
        vec![later.clone(), linked.clone()]
    );
    assert_eq!(
        page(TimelineQuery {
            tags: vec!["meds".into(), "walk".into()],
            ..Default::default()
        }),
        vec![later.clone()]
    );
    assert_eq!(
        page(TimelineQuery {
            medication_id: Some("med-ondansetron".into()),
            ..Default::default()
        }),
        vec![linked.clone()]
    );
    assert_eq!(
        page(TimelineQuery {
            document_id: Some("doc-letter".into()),
            ..Default::default()
        }),
        vec![linked.clone()]
    );
    assert_eq!(
        page(TimelineQuery {
            from: Some(at(&day(3))),
            until: Some(at(&day(20))),
            ..Default::default()
        }),
        vec![sym]
    );
    let backwards = TimelineQuery {
        from: Some(at(&day(20))),
        until: Some(at(&day(3))),
        ..Default::default()
    };
    assert_eq!(
        invalid_field(p.store.timeline_page(&backwards, None, 10)),
        "until"
    );
}

#[test]
fn bad_cursors_and_limits_are_refused() {
    let p = phone();
    let q = TimelineQuery::default();
    for bad in ["", "tl1.zz", "tl1.6f", "hello", "tl1.6f31323a"] {
        assert_eq!(
            invalid_field(p.store.timeline_page(&q, Some(bad), 10)),
            "cursor"
        );
    }
    assert_eq!(invalid_field(p.store.timeline_page(&q, None, 0)), "limit");
    assert_eq!(invalid_field(p.store.timeline_page(&q, None, 501)), "limit");
    let c = Cursor {
        older: false,
        at: Timestamp::from_millisecond(-5).unwrap(),
        id: "a:b".into(),
    };
    assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
}

/// Found by fuzzing: these named the boundary of `n-2471111:@>g`, `n86400000:a:b` or `n0:a:b`
/// under a second text.
#[test]
fn a_cursor_has_one_text() {
    let hex = |inner: &str| format!("tl1.{}", hex::encode(inner));
    for other in [
        "tl1.6E2d32343731313131313a403e67".to_owned(),
        hex("n+86400000:a:b"),
        hex("n-0:a:b"),
        hex("n0000:a:b"),
    ] {
        assert!(Cursor::decode(&other).is_err(), "{other}");
    }
    let c = Cursor::decode(&hex("n-2471111:@>g")).unwrap();
    assert_eq!(c.at.as_millisecond(), -2471111);
    assert_eq!(Cursor::decode(&format!("  {}\n", c.encode())).unwrap(), c);
}

/// Pages through everything older, then from the oldest page back up through everything newer.
/// Returns both walks, newest first.
fn walk(store: &Store, q: &TimelineQuery, limit: usize) -> (Vec<String>, Vec<String>) {
    let ids = |p: &TimelinePage| p.events.iter().map(|e| e.id.clone()).collect::<Vec<_>>();
    let mut page = store.timeline_page(q, None, limit).unwrap();
    assert!(page.newer.is_none(), "the first page is the newest");
    let mut down = Vec::new();
    loop {
        assert!(page.events.len() <= limit);
        down.extend(ids(&page));
        match page.older.clone() {
            Some(c) => page = store.timeline_page(q, Some(&c), limit).unwrap(),
            None => break,
        }
    }
    let mut up = ids(&page);
    let mut cursor = page.newer.clone();
    while let Some(c) = cursor {
        let newer = store.timeline_page(q, Some(&c), limit).unwrap();
        assert!(newer.events.len() <= limit);
        let mut all = ids(&newer);
        all.extend(up);
        up = all;
        cursor = newer.newer.clone();
    }
    (down, up)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    #[test]
    fn paging_both_ways_sees_every_event_once_in_time_then_id_order(
        minutes in prop::collection::vec(0i64..40, 1..60),
        limit in 1usize..9,
    ) {
        let p = phone();
        let base = at("2026-10-01T00:00:00Z");
        // Few distinct minutes: many events share an instant, so the id tie-break matters.
        let events: Vec<NewEvent> = minutes
            .iter()
            .map(|m| NewEvent::new(base + SignedDuration::from_mins(*m), "n", EventDetails::Note))
            .collect();
        let ids = p.store.add_events(&events).unwrap();
        let mut expected: Vec<(i64, String)> = minutes.iter().zip(&ids).map(|(m, id)| (*m, id.clone())).collect();
        expected.sort();
        expected.reverse();
        let expected: Vec<String> = expected.into_iter().map(|(_, id)| id).collect();
        let (down, up) = walk(&p.store, &TimelineQuery::default(), limit);
        prop_assert_eq!(&down, &expected);
        prop_assert_eq!(&up, &expected);
    }
}

#[test]
fn pages_keep_their_order_when_events_share_a_millisecond() {
    let p = phone();
    let t = "2026-10-21T08:00:00+01:00[Europe/London]";
    let events: Vec<NewEvent> = (0..25).map(|i| note(t, &format!("dose {i}"))).collect();
    p.store.add_events(&events).unwrap();
    let (down, up) = walk(&p.store, &TimelineQuery::default(), 4);
    let mut sorted = down.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(down, sorted);
    assert_eq!(up, sorted);
}

#[test]
fn the_vocabulary_knows_which_attributes_each_term_asks() {
    let rash = find_term("Rash").unwrap();
    assert_eq!(rash.attributes, &[SymptomAttribute::Presence]);
    assert_eq!(find_term("diarrhoea").unwrap().code, "diarrhea");
    assert_eq!(find_term("Mouth sores").unwrap().code, "mouth_sores");
    assert_eq!(
        find_term("shortness_of_breath").unwrap().code,
        "shortness_of_breath"
    );
    assert!(find_term("tennis elbow").is_none());
    for t in PRO_CTCAE_TERMS {
        assert!(!t.attributes.is_empty(), "{}", t.code);
        assert_eq!(find_term(t.code).unwrap().code, t.code);
        assert_eq!(find_term(t.label).unwrap().code, t.code);
    }
    for code in [
        "fatigue",
        "nausea",
        "vomiting",
        "diarrhea",
        "constipation",
        "pain",
        "neuropathy",
        "mouth_sores",
        "rash",
        "shortness_of_breath",
        "insomnia",
        "anxiety",
    ] {
        assert!(find_term(code).is_some(), "{code}");
    }
    assert_eq!(SymptomAttribute::Severity.label(3), Some("Severe"));
    assert_eq!(
        SymptomAttribute::Frequency.label(4),
        Some("Almost constantly")
    );
    assert_eq!(SymptomAttribute::Interference.label(0), Some("Not at all"));
    assert_eq!(SymptomAttribute::Severity.label(5), None);
}

#[test]
fn a_free_text_symptom_is_kept_as_typed() {
    let p = phone();
    let id = p
        .store
        .add_event(&symptom(
            "2026-10-21T08:00:00+01:00[Europe/London]",
            SymptomReport {
                severity: Some(1),
                ..SymptomReport::new("  Metallic taste in the morning ")
            },
        ))
        .unwrap();
    let e = p.store.event(&id).unwrap();
    let EventDetails::Symptom { report } = e.details else {
        panic!("a symptom")
    };
    assert_eq!(report.term, "Metallic taste in the morning");
    assert!(report.vocabulary_term().is_none());
    assert_eq!(e.title, "Metallic taste in the morning");
}

#[test]
fn a_trend_lists_one_terms_scores_and_keeps_the_clinician_grade_apart() {
    let p = phone();
    let days = ["2026-10-10", "2026-10-12", "2026-10-14", "2026-10-16"];
    for (i, d) in days.iter().enumerate() {
        p.store
            .add_event(&symptom(
                &format!("{d}T20:00:00+01:00[Europe/London]"),
                SymptomReport {
                    frequency: Some(i as u8),
                    severity: Some(4),
                    ..SymptomReport::new("nausea")
                },
            ))
            .unwrap();
    }
    p.store
        .add_event(&symptom(
            "2026-10-13T20:00:00+01:00[Europe/London]",
            SymptomReport {
                severity: Some(3),
                ..SymptomReport::new("fatigue")
            },
        ))
        .unwrap();
    let graded = p
        .store
        .add_event(&symptom(
            "2026-10-15T11:00:00+01:00[Europe/London]",
            SymptomReport {
                frequency: Some(2),
                clinician_grade: Some(2),
                ..SymptomReport::new("Nausea")
            },
        ))
        .unwrap();
    let trend = p
        .store
        .symptom_trend(
            "NAUSEA",
            Some(at("2026-10-11T00:00:00+01:00[Europe/London]")),
            Some(at("2026-10-16T00:00:00+01:00[Europe/London]")),
        )
        .unwrap();
    let freq: Vec<Option<u8>> = trend.iter().map(|p| p.report.frequency).collect();
    assert_eq!(
        freq,
        vec![Some(1), Some(2), Some(2)],
        "oldest first, in range"
    );
    // A patient's "very severe" is not a grade; the clinician's grade is its own value.
    assert_eq!(trend[0].report.clinician_grade, None);
    assert_eq!(trend[2].event_id, graded);
    assert_eq!(trend[2].report.clinician_grade, Some(2));
    assert!(
        trend[2]
            .report
            .describe()
            .contains("clinician CTCAE grade 2")
    );
    assert!(!trend[0].report.describe().contains("grade"));
    assert_eq!(
        p.store.symptom_trend("fatigue", None, None).unwrap().len(),
        1
    );
    // The clinician's grade is its own field: the payload never holds it.
    let payload = serde_json::to_string(&EventDetails::Symptom {
        report: SymptomReport {
            clinician_grade: Some(3),
            ..SymptomReport::new("nausea")
        },
    })
    .unwrap();
    assert!(!payload.contains("grade"), "{payload}");
}

#[test]
fn fever_is_flagged_at_thirty_eight_degrees_in_either_unit() {
    let t = |v: f64, unit: &str| Measurement::new(Quantity::Temperature, v, unit);
    assert!(t(38.0, "Cel").is_fever());
    assert!(t(39.2, "Cel").is_fever());
    assert!(!t(37.9, "Cel").is_fever());
    assert!(t(100.4, "[degF]").is_fever());
    assert!(!t(100.2, "[degF]").is_fever());
    assert!(!Measurement::new(Quantity::HeartRate, 120.0, "/min").is_fever());
    let p = phone();
    let id = p
        .store
        .add_event(&measured(
            "2026-10-22T23:10:00+01:00[Europe/London]",
            t(38.4, "Cel"),
        ))
        .unwrap();
    let e = p.store.event(&id).unwrap();
    assert_eq!(e.flags, vec![EventFlag::Fever]);
    assert_eq!(e.title, "Temperature");
}

#[test]
fn weight_temperature_and_glucose_convert_and_others_do_not() {
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    assert!(close(
        convert(Quantity::Weight, 1.0, "kg", "[lb_av]").unwrap(),
        2.204_622_621_848_775_8
    ));
    assert!(close(
        convert(Quantity::Weight, 154.0, "[lb_av]", "kg").unwrap(),
        69.853_224_98
    ));
    assert!(close(
        convert(Quantity::Weight, 2.5, "kg", "g").unwrap(),
        2500.0
    ));
    assert!(close(
        convert(Quantity::Temperature, 38.0, "Cel", "[degF]").unwrap(),
        100.4
    ));
    assert!(close(
        convert(Quantity::Temperature, 98.6, "[degF]", "Cel").unwrap(),
        37.0
    ));
    assert!(close(
        convert(Quantity::BloodGlucose, 5.0, "mmol/L", "mg/dL").unwrap(),
        90.08
    ));
    assert_eq!(
        invalid_field(convert(Quantity::HeartRate, 60.0, "/min", "Cel")),
        "unit"
    );
    assert_eq!(
        invalid_field(convert(Quantity::Weight, f64::NAN, "kg", "g")),
        "value"
    );
    let w = Measurement::new(Quantity::Weight, 68.0, "kg");
    assert!(close(w.value_in("kg").unwrap(), 68.0));
}

#[test]
fn out_of_range_lab_values_are_flagged() {
    let p = phone();
    let low = Measurement::lab("Neutrophils", 0.9, "10*9/L").range(Some(2.0), Some(7.5));
    let id = p
        .store
        .add_event(&measured("2026-10-19T09:00:00+01:00[Europe/London]", low))
        .unwrap();
    let e = p.store.event(&id).unwrap();
    assert_eq!(e.flags, vec![EventFlag::OutOfRange]);
    assert_eq!(e.title, "Neutrophils");
    let fine = Measurement::blood_pressure(118.0, 76.0).range(Some(90.0), Some(140.0));
    assert!(!fine.is_out_of_range());
    let unnamed = Measurement::new(Quantity::Lab, 1.0, "10*9/L");
    assert_eq!(
        invalid_field(
            p.store
                .add_event(&measured("2026-10-19T09:00:00Z", unnamed))
        ),
        "name"
    );
    let backwards = Measurement::lab("Hb", 120.0, "g/L").range(Some(130.0), Some(110.0));
    assert_eq!(
        invalid_field(
            p.store
                .add_event(&measured("2026-10-19T09:00:00Z", backwards))
        ),
        "range_low"
    );
}

#[test]
fn days_are_local_to_the_zone_asked_for_across_the_clocks_going_back() {
    let p = phone();
    // Sunday 25 October 2026: London falls back from BST to GMT at 02:00.
    let times = [
        "2026-10-25T23:30:00+00:00[Europe/London]",
        "2026-10-25T01:30:00+01:00[Europe/London]",
        "2026-10-25T01:30:00+00:00[Europe/London]",
        "2026-10-24T23:59:00+01:00[Europe/London]",
    ];
    for t in times {
        p.store.add_event(&note(t, "sleepless")).unwrap();
    }
    let page = p
        .store
        .timeline_page(&TimelineQuery::default(), None, 50)
        .unwrap();
    let london = group_by_local_day(
        page.events.clone(),
        &TimeZone::get("Europe/London").unwrap(),
    );
    let shape: Vec<(String, usize)> = london
        .iter()
        .map(|d| (d.date.to_string(), d.events.len()))
        .collect();
    assert_eq!(
        shape,
        vec![("2026-10-25".into(), 3), ("2026-10-24".into(), 1)]
    );
    let new_york = group_by_local_day(page.events, &TimeZone::get("America/New_York").unwrap());
    let shape: Vec<(String, usize)> = new_york
        .iter()
        .map(|d| (d.date.to_string(), d.events.len()))
        .collect();
    assert_eq!(
        shape,
        vec![("2026-10-25".into(), 1), ("2026-10-24".into(), 3)]
    );
}

#[test]
fn upcoming_appointments_are_those_not_yet_over_soonest_first() {
    let p = phone();
    let appt = |when: &str, end: Option<&str>, who: &str| {
        let mut e = NewEvent::new(
            at(when),
            "",
            EventDetails::Appointment {
                provider: Some(who.into()),
                place: Some("Outpatients B".into()),
                questions: vec!["Can I fly in December?".into(), " ".into()],
                notes_after: None,
            },
        );
        e.ends_at = end.map(at);
        e
    };
    p.store
        .add_event(&appt(
            "2026-10-20T10:00:00+01:00[Europe/London]",
            None,
            "GP",
        ))
        .unwrap();
    let now_on = p
        .store
        .add_event(&appt(
            "2026-10-23T08:30:00+01:00[Europe/London]",
            Some("2026-10-23T09:30:00+01:00[Europe/London]"),
            "Bloods",
        ))
        .unwrap();
    let next_week = p
        .store
        .add_event(&appt(
            "2026-10-30T14:00:00+00:00[Europe/London]",
            None,
            "Dr Okafor",
        ))
        .unwrap();
    let tomorrow = p
        .store
        .add_event(&appt(
            "2026-10-24T11:00:00+01:00[Europe/London]",
            None,
            "Physio",
        ))
        .unwrap();
    let ids: Vec<String> = p
        .store
        .upcoming_appointments(10)
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(ids, vec![now_on, tomorrow, next_week.clone()]);
    let e = p.store.event(&next_week).unwrap();
    let EventDetails::Appointment { questions, .. } = e.details else {
        panic!("an appointment")
    };
    assert_eq!(questions, vec!["Can I fly in December?"]);
    assert_eq!(e.title, "Appointment: Dr Okafor");
    p.clock.advance(SignedDuration::from_hours(24 * 30));
    assert!(p.store.upcoming_appointments(10).unwrap().is_empty());
}

#[test]
fn pages_come_straight_from_an_index_without_sorting() {
    let p = phone();
    let cursor = Cursor {
        older: true,
        at: Timestamp::from_millisecond(1_792_000_000_000).unwrap(),
        id: "01a167c6-2000-7000-8000-000000000000".into(),
    };
    let newer = Cursor {
        older: false,
        ..cursor.clone()
    };
    let queries = [
        TimelineQuery::default(),
        TimelineQuery {
            kinds: vec![EventKind::Appointment],
            ..Default::default()
        },
        TimelineQuery {
            kinds: vec![EventKind::Symptom, EventKind::Measurement],
            ..Default::default()
        },
        TimelineQuery {
            text: Some("fievre".into()),
            tags: vec!["chemo".into()],
            ..Default::default()
        },
        TimelineQuery {
            from: Some(at("2026-10-01T00:00:00Z")),
            until: Some(at("2026-11-01T00:00:00Z")),
            medication_id: Some("m".into()),
            ..Default::default()
        },
    ];
    for q in &queries {
        for c in [None, Some(&cursor), Some(&newer)] {
            let (sql, params) = query::page_sql(q, c, 50).unwrap();
            let mut stmt = p
                .store
                .conn()
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap();
            let plan: Vec<String> = stmt
                .query_map(rusqlite::params_from_iter(params), |r| {
                    r.get::<_, String>(3)
                })
                .unwrap()
                .map(|r| r.unwrap())
                .collect();
            let plan = plan.join("\n");
            assert!(
                plan.contains("USING INDEX timeline_event_"),
                "{q:?}\n{plan}"
            );
            assert!(!plan.contains("TEMP B-TREE FOR ORDER BY"), "{q:?}\n{plan}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever a person types, search answers with events or with "no words", never with a
    /// storage error, and never panics.
    #[test]
    fn any_search_text_is_answered_without_a_storage_error(text in "\\PC{0,40}") {
        let p = phone();
        p.store
            .add_event(&note("2026-10-21T08:00:00+01:00[Europe/London]", "Fièvre").body("Café"))
            .unwrap();
        match p.store.search_timeline(&text, 10) {
            Ok(_) | Err(Error::Invalid { field: "text", .. }) => {}
            Err(e) => prop_assert!(false, "{e}"),
        }
    }

    /// A cursor is either one this store made or an Invalid error, never a panic.
    #[test]
    fn any_cursor_text_decodes_or_is_refused(text in "\\PC{0,60}") {
        match Cursor::decode(&text) {
            Ok(c) => prop_assert_eq!(Cursor::decode(&c.encode()).unwrap(), c),
            Err(e) => {
                let is_cursor = matches!(e, Error::Invalid { field: "cursor", .. });
                prop_assert!(is_cursor, "{e}");
            }
        }
    }

    /// Weight and temperature survive a round trip through the other unit.
    #[test]
    fn conversions_round_trip(v in -50.0f64..500.0) {
        for (q, a, b) in [
            (Quantity::Weight, "kg", "[lb_av]"),
            (Quantity::Weight, "g", "[lb_av]"),
            (Quantity::Temperature, "Cel", "[degF]"),
            (Quantity::BloodGlucose, "mmol/L", "mg/dL"),
        ] {
            let there = convert(q, v, a, b).unwrap();
            let back = convert(q, there, b, a).unwrap();
            prop_assert!((back - v).abs() < 1e-9 * v.abs().max(1.0), "{q:?} {v} -> {there} -> {back}");
        }
    }
}

/// One step of [`the_search_index_always_matches_the_events`].
#[derive(Debug, Clone)]
enum Op {
    /// Adds notes in one batch, each titled with one word and with one word of text.
    Add(Vec<(usize, usize)>),
    /// Retitles the n-th live event (modulo how many there are).
    Retitle(usize, usize),
    /// Adds a word to the n-th live event's tags.
    Tag(usize, usize),
    /// Deletes the n-th live event.
    Delete(usize),
    /// A second device writes a new event and edits an existing one; this one pulls both.
    Remote(usize, usize),
}

const INDEX_WORDS: &[&str] = &["ginger", "sofa", "scan", "nurse", "cannula", "fièvre"];

fn index_ops() -> impl Strategy<Value = Vec<Op>> {
    let w = 0..INDEX_WORDS.len();
    let op = prop_oneof![
        3 => prop::collection::vec((w.clone(), w.clone()), 1..4).prop_map(Op::Add),
        2 => (any::<usize>(), w.clone()).prop_map(|(n, w)| Op::Retitle(n, w)),
        1 => (any::<usize>(), w.clone()).prop_map(|(n, w)| Op::Tag(n, w)),
        1 => any::<usize>().prop_map(Op::Delete),
        1 => (any::<usize>(), w).prop_map(|(n, w)| Op::Remote(n, w)),
    ];
    prop::collection::vec(op, 1..16)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Whatever mix of batches, edits, deletes and remote changes, a search for a word finds
    /// exactly the live events whose title, text or tags hold it: no entry is left behind by an
    /// edit or a delete, and none is missing after a remote write.
    #[test]
    fn the_search_index_always_matches_the_events(ops in index_ops()) {
        let p = phone();
        let other = phone();
        let mut minute = 0i64;
        let mut when = || {
            minute += 1;
            crate::clock::Clock::now(&p.clock) - SignedDuration::from_mins(10_000 - minute)
        };
        for op in ops {
            let live: Vec<String> = p
                .store
                .timeline_page(&TimelineQuery::default(), None, 500)
                .unwrap()
                .events
                .into_iter()
                .map(|e| e.id)
                .collect();
            match op {
                Op::Add(words) => {
                    let events: Vec<NewEvent> = words
                        .iter()
                        .map(|(t, b)| {
                            NewEvent::new(when(), INDEX_WORDS[*t], EventDetails::Note)
                                .body(format!("felt {}", INDEX_WORDS[*b]))
                        })
                        .collect();
                    p.store.add_events(&events).unwrap();
                }
                Op::Retitle(n, w) if !live.is_empty() => {
                    let edit = EventEdit { title: Some(INDEX_WORDS[w].into()), ..EventEdit::default() };
                    p.store.edit_event(&live[n % live.len()], &edit).unwrap();
                }
                Op::Tag(n, w) if !live.is_empty() => {
                    let edit = EventEdit { tags: Some(vec![INDEX_WORDS[w].into()]), ..EventEdit::default() };
                    p.store.edit_event(&live[n % live.len()], &edit).unwrap();
                }
                Op::Delete(n) if !live.is_empty() => p.store.delete_event(&live[n % live.len()]).unwrap(),
                Op::Remote(n, w) => {
                    // The other device knows what this one has, adds one and retitles one.
                    other.store.apply_remote(&p.store.outbox(10_000).unwrap().changes).unwrap();
                    other.store.add_event(&NewEvent::new(when(), INDEX_WORDS[w], EventDetails::Note)).unwrap();
                    if !live.is_empty() {
                        let edit = EventEdit { title: Some(INDEX_WORDS[w].into()), ..EventEdit::default() };
                        let id = &live[n % live.len()];
                        if other.store.event(id).is_ok() {
                            other.store.edit_event(id, &edit).unwrap();
                        }
                    }
                    let out = other.store.outbox(10_000).unwrap();
                    p.store.apply_remote(&out.changes).unwrap();
                    if let Some(seq) = out.up_to {
                        other.store.acknowledge_outbox(seq).unwrap();
                    }
                }
                _ => {}
            }
        }
        let events = p
            .store
            .timeline_page(&TimelineQuery::default(), None, 500)
            .unwrap()
            .events;
        for word in INDEX_WORDS {
            let folded = word.replace('è', "e");
            let mut expected: Vec<&str> = events
                .iter()
                .filter(|e| {
                    e.title.replace('è', "e").contains(&folded)
                        || e.body.replace('è', "e").contains(&folded)
                        || e.tags.iter().any(|t| t.replace('è', "e").contains(&folded))
                })
                .map(|e| e.id.as_str())
                .collect();
            expected.sort_unstable();
            let q = TimelineQuery { text: Some(folded.to_uppercase()), ..TimelineQuery::default() };
            let found = p.store.timeline_page(&q, None, 500).unwrap().events;
            let mut found: Vec<&str> = found.iter().map(|e| e.id.as_str()).collect();
            found.sort_unstable();
            prop_assert_eq!(found, expected, "search for {}", word);
        }
    }
}
