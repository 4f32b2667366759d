//! Benchmarks of the timeline against the targets, on a store of 100,000 events:
//!
//! - inserting them in batches: at least 50,000 events/s;
//! - one 50-event page by cursor: p50 at most 1 ms;
//! - a full-text query's first page: p50 at most 10 ms;
//! - the same workload on plain (unencrypted) SQLite, and the ratio encrypted/plain: at most 1.3.
//!
//! Run with `cargo bench -p cairn-core --bench timeline`. Each figure is printed on its own line.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cairn_core::store::MemoryKeyStore;
use cairn_core::timeline::{
    EventDetails, Measurement, NewEvent, Quantity, SymptomReport, TimelineQuery, TreatmentKind,
};
use cairn_core::{FixedClock, Store, Unlock};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

const EVENTS: usize = 100_000;
const BATCH: usize = 1_000;
const PAGE: usize = 50;

/// A small deterministic generator, so both stores get the very same events.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const WORDS: &[&str] = &[
    "tired",
    "walked",
    "slept",
    "badly",
    "nurse",
    "called",
    "clinic",
    "felt",
    "better",
    "worse",
    "morning",
    "evening",
    "after",
    "before",
    "lunch",
    "dinner",
    "water",
    "tea",
    "garden",
    "sister",
    "phoned",
    "appointment",
    "letter",
    "results",
    "scan",
    "bloods",
    "cannula",
    "port",
    "line",
    "hands",
    "feet",
    "cold",
    "warm",
    "rested",
    "sofa",
    "television",
    "book",
    "friend",
    "visited",
    "headache",
    "appetite",
    "soup",
    "toast",
    "ginger",
    "shower",
    "hair",
    "wig",
    "scarf",
    "hospital",
    "fièvre",
    "café",
    "naïve",
    "crème",
    "straße",
    "ward",
    "pharmacy",
    "prescription",
    "dose",
];
/// Words rarer than the rest (about 1% of events each): what a person searches for.
const RARE: &[&str] = &["ondansetron", "dexamethasone", "filgrastim", "lorazepam"];
const TITLES: &[&str] = &[
    "Good day",
    "Rough night",
    "Clinic visit",
    "Phone call with nurse",
    "Walk in the park",
    "Family lunch",
    "Bloods taken",
    "Scan booked",
    "Letter from hospital",
    "Rest day",
];
const TAGS: &[&str] = &[
    "chemo", "family", "work", "sleep", "food", "exercise", "meds",
];
const TERMS: &[&str] = &[
    "fatigue",
    "nausea",
    "pain",
    "insomnia",
    "neuropathy",
    "anxiety",
];

fn workload() -> Vec<NewEvent> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let start: Timestamp = "2024-01-01T00:00:00Z".parse().expect("start");
    (0..EVENTS)
        .map(|i| {
            // Roughly three years, a few minutes to a few hours apart, some at the same instant.
            let at =
                start + SignedDuration::from_secs((i as i64) * 900 + (rng.below(4) as i64) * 60);
            let mut body: Vec<&str> = (0..8 + rng.below(10)).map(|_| rng.pick(WORDS)).collect();
            if rng.below(100) == 0 {
                body.push(rng.pick(RARE));
            }
            let tags: Vec<&str> = (0..rng.below(3)).map(|_| rng.pick(TAGS)).collect();
            let details = match i % 6 {
                0 => EventDetails::Symptom {
                    report: SymptomReport {
                        severity: Some(rng.below(5) as u8),
                        ..SymptomReport::new(rng.pick(TERMS))
                    },
                },
                1 => EventDetails::Measurement {
                    measurement: Measurement::new(
                        Quantity::Temperature,
                        36.0 + rng.below(30) as f64 / 10.0,
                        "Cel",
                    ),
                },
                2 => EventDetails::Treatment {
                    treatment: TreatmentKind::Chemotherapy,
                    name: Some("EC".into()),
                    cycle: Some(1 + rng.below(6) as u32),
                },
                3 => EventDetails::Mood {
                    rating: 1 + rng.below(5) as u8,
                },
                _ => EventDetails::Note,
            };
            NewEvent::new(at, rng.pick(TITLES), details)
                .body(body.join(" "))
                .tags(tags)
                .zone("Europe/London")
        })
        .collect()
}

struct Figures {
    insert_per_s: f64,
    page_p50: Duration,
    fts_p50: Duration,
    fts_common_p50: Duration,
}

fn p50(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn run(store: &Store, events: &[NewEvent]) -> Figures {
    let started = Instant::now();
    for batch in events.chunks(BATCH) {
        store.add_events(batch).expect("insert");
    }
    let insert_per_s = events.len() as f64 / started.elapsed().as_secs_f64();

    // Walk the whole timeline by cursor, timing each page.
    let q = TimelineQuery::default();
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    let mut seen = 0;
    loop {
        let t = Instant::now();
        let page = store
            .timeline_page(&q, cursor.as_deref(), PAGE)
            .expect("page");
        pages.push(t.elapsed());
        seen += page.events.len();
        match page.older {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, events.len(), "paging saw every event once");

    let fts = |words: &[&str]| {
        let mut samples = Vec::new();
        for round in 0..25 {
            for w in words {
                let q = TimelineQuery {
                    text: Some((*w).to_owned()),
                    ..TimelineQuery::default()
                };
                let t = Instant::now();
                let page = store.timeline_page(&q, None, PAGE).expect("search");
                samples.push(t.elapsed());
                assert!(round > 0 || !page.events.is_empty(), "{w} finds something");
            }
        }
        p50(samples)
    };
    Figures {
        insert_per_s,
        page_p50: p50(pages),
        fts_p50: fts(RARE),
        fts_common_p50: fts(&["hospital", "FIEVRE", "presc"]),
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "FAIL" }
}

fn main() {
    let events = workload();
    let clock = Arc::new(FixedClock::new(
        "2027-01-01T00:00:00Z".parse().expect("now"),
        TimeZone::get("Europe/London").expect("zone"),
    ));

    let dir = tempfile::tempdir().expect("temp dir");
    let keys = MemoryKeyStore::default();
    let enc_store = Store::create(
        &dir.path().join("encrypted"),
        Unlock::KeyStore(&keys),
        clock.clone(),
    )
    .expect("encrypted store");
    let enc = run(&enc_store, &events);
    drop(enc_store);

    let plain_store =
        Store::create_unencrypted_for_bench(&dir.path().join("plain"), clock).expect("plain store");
    let plain = run(&plain_store, &events);
    drop(plain_store);

    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!("timeline.events {EVENTS}");
    println!(
        "timeline.insert_events_per_s {:.0} target>=50000 {}",
        enc.insert_per_s,
        verdict(enc.insert_per_s >= 50_000.0)
    );
    println!(
        "timeline.page_by_cursor_p50_us {:.0} target<=1000 {}",
        us(enc.page_p50),
        verdict(enc.page_p50 <= Duration::from_millis(1))
    );
    println!(
        "timeline.fts_first_page_p50_us {:.0} target<=10000 {}",
        us(enc.fts_p50),
        verdict(enc.fts_p50 <= Duration::from_millis(10))
    );
    println!(
        "timeline.fts_common_word_first_page_p50_us {:.0} (informational)",
        us(enc.fts_common_p50)
    );
    println!(
        "timeline.plain.insert_events_per_s {:.0}",
        plain.insert_per_s
    );
    println!(
        "timeline.plain.page_by_cursor_p50_us {:.0}",
        us(plain.page_p50)
    );
    println!(
        "timeline.plain.fts_first_page_p50_us {:.0}",
        us(plain.fts_p50)
    );
    let ratios = [
        ("insert", plain.insert_per_s / enc.insert_per_s),
        ("page_by_cursor", us(enc.page_p50) / us(plain.page_p50)),
        ("fts_first_page", us(enc.fts_p50) / us(plain.fts_p50)),
    ];
    for (name, ratio) in ratios {
        println!(
            "timeline.ratio_encrypted_over_plain.{name} {ratio:.2} target<=1.3 {}",
            verdict(ratio <= 1.3)
        );
    }
}
