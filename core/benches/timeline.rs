//! Benchmarks of the timeline against the targets, on a store of 100,000 events:
//!
//! - inserting them in batches: at least 50,000 events/s;
//! - one 50-event page by cursor, walking the whole timeline: p50 at most 50 µs;
//! - a full-text query's first page: p50 at most 1 ms;
//! - the same workload on plain (unencrypted) SQLite, and the ratio encrypted/plain: at most
//!   1.10 for inserts and pages.
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

/// What one store measured.
#[derive(Default)]
struct Figures {
    insert: Duration,
    insert_cpu_s: f64,
    pages: Vec<Duration>,
    fts: Vec<Duration>,
    fts_common: Vec<Duration>,
}

/// CPU time (user + system) this process has used, from /proc on Linux: wall-clock rates swing
/// with whatever else the machine runs; CPU per event does not.
fn cpu_seconds() -> f64 {
    let read = || -> Option<f64> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the command name (which is in parentheses and may hold spaces).
        let rest = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let utime: f64 = fields.get(11)?.parse().ok()?;
        let stime: f64 = fields.get(12)?.parse().ok()?;
        // The kernel reports clock ticks; USER_HZ is 100 on every Linux the project targets.
        Some((utime + stime) / 100.0)
    };
    read().unwrap_or(f64::NAN)
}

fn p50(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let out = f();
    (out, t.elapsed())
}

/// Runs the workload on both stores step by step, encrypted then plain, so that whatever else
/// the machine does at a moment weighs on both alike and the ratio stays meaningful.
fn run(stores: [&Store; 2], events: &[NewEvent]) -> [Figures; 2] {
    let mut figures = [Figures::default(), Figures::default()];
    for batch in events.chunks(BATCH) {
        for (store, fig) in stores.iter().zip(figures.iter_mut()) {
            let cpu = cpu_seconds();
            let (result, took) = timed(|| store.add_events(batch));
            result.expect("insert");
            fig.insert += took;
            fig.insert_cpu_s += cpu_seconds() - cpu;
        }
    }

    // Walk the whole timeline by cursor, timing each page.
    let q = TimelineQuery::default();
    let mut cursors: [Option<String>; 2] = [None, None];
    let mut seen = [0, 0];
    loop {
        let mut done = true;
        for i in 0..2 {
            let (page, took) = timed(|| stores[i].timeline_page(&q, cursors[i].as_deref(), PAGE));
            let page = page.expect("page");
            figures[i].pages.push(took);
            seen[i] += page.events.len();
            cursors[i] = page.older;
            done &= cursors[i].is_none();
        }
        if done {
            break;
        }
    }
    assert_eq!(seen, [events.len(); 2], "paging saw every event once");

    for round in 0..25 {
        for (words, common) in [(RARE, false), (&["hospital", "FIEVRE", "presc"][..], true)] {
            for w in words {
                let q = TimelineQuery {
                    text: Some((*w).to_owned()),
                    ..TimelineQuery::default()
                };
                for (store, fig) in stores.iter().zip(figures.iter_mut()) {
                    let (page, took) = timed(|| store.timeline_page(&q, None, PAGE));
                    let page = page.expect("search");
                    assert!(round > 0 || !page.events.is_empty(), "{w} finds something");
                    if common {
                        fig.fts_common.push(took);
                    } else {
                        fig.fts.push(took);
                    }
                }
            }
        }
    }
    figures
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
    let encrypted = Store::create(
        &dir.path().join("encrypted"),
        Unlock::KeyStore(&keys),
        clock.clone(),
    )
    .expect("encrypted store");
    let plain =
        Store::create_unencrypted_for_bench(&dir.path().join("plain"), clock).expect("plain store");
    let [enc, pl] = run([&encrypted, &plain], &events);

    let n = events.len() as f64;
    let rate = |f: &Figures| n / f.insert.as_secs_f64();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!("timeline.events {EVENTS}");
    println!(
        "timeline.insert_events_per_s {:.0} target>=50000 {}",
        rate(&enc),
        verdict(rate(&enc) >= 50_000.0)
    );
    println!(
        "timeline.insert_cpu_us_per_event {:.1} (informational)",
        enc.insert_cpu_s * 1e6 / n
    );
    println!(
        "timeline.page_by_cursor_p50_us {:.0} target<=50 {}",
        us(p50(&enc.pages)),
        verdict(p50(&enc.pages) <= Duration::from_micros(50))
    );
    println!(
        "timeline.fts_first_page_p50_us {:.0} target<=1000 {}",
        us(p50(&enc.fts)),
        verdict(p50(&enc.fts) <= Duration::from_millis(1))
    );
    println!(
        "timeline.fts_common_word_first_page_p50_us {:.0} (informational)",
        us(p50(&enc.fts_common))
    );
    println!("timeline.plain.insert_events_per_s {:.0}", rate(&pl));
    println!(
        "timeline.plain.insert_cpu_us_per_event {:.1} (informational)",
        pl.insert_cpu_s * 1e6 / n
    );
    println!(
        "timeline.plain.page_by_cursor_p50_us {:.0}",
        us(p50(&pl.pages))
    );
    println!(
        "timeline.plain.fts_first_page_p50_us {:.0}",
        us(p50(&pl.fts))
    );
    let ratios = [
        ("insert", enc.insert.as_secs_f64() / pl.insert.as_secs_f64()),
        ("page_by_cursor", us(p50(&enc.pages)) / us(p50(&pl.pages))),
        ("fts_first_page", us(p50(&enc.fts)) / us(p50(&pl.fts))),
    ];
    for (name, ratio) in ratios {
        println!(
            "timeline.ratio_encrypted_over_plain.{name} {ratio:.2} target<=1.10 {}",
            verdict(ratio <= 1.10)
        );
    }
}
