//! Benchmarks of the meds against the targets, with 30 active medications (daily,
//! weekday, every-N-days, every-8-hours, 14/7 and 21/7 cycles, fixed-zone and wall-clock, some
//! with stock tracked) in an encrypted store holding a year of their dose log:
//!
//! - planning 64 notifications: p50 at most 0.3 ms;
//! - expanding a year of occurrences for the 30 medications: at most 20 ms;
//! - adherence over the year: at most 20 ms;
//! - app launch to the first Today view (open the store with the platform key store's raw key,
//!   then today's doses): p50 at most 20 ms. No passphrase derivation is on that path.
//!
//! Run with `cargo bench -p cairn-core --bench meds`. Each figure is printed on its own line
//! with its target and PASS or FAIL.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cairn_core::meds::{DOSE, DayOfWeek, Medication, Phase, TimeZonePolicy, Timing, occurrences};
use cairn_core::store::MemoryKeyStore;
use cairn_core::{SteppableClock, Store, Unlock};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

const MEDS: usize = 30;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn times(rng: &mut Rng, n: usize) -> Vec<String> {
    let mut out: Vec<String> = (0..n)
        .map(|i| {
            let h = 6 + (i as u64 * 14 / n as u64) + rng.below(2);
            let m = rng.below(4) * 15;
            format!("{h:02}:{m:02}")
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn medication(i: usize, rng: &mut Rng) -> Medication {
    let start = "2025-06-01".to_owned();
    let timing = match i % 6 {
        0 | 1 => Timing::TimesOfDay {
            times: times(rng, 1 + i % 4),
            days_of_week: Vec::new(),
        },
        2 => Timing::TimesOfDay {
            times: times(rng, 1),
            days_of_week: vec![DayOfWeek::Mon, DayOfWeek::Wed, DayOfWeek::Fri],
        },
        3 => Timing::EveryNDays {
            every_days: 2,
            times: times(rng, 2),
        },
        4 => Timing::EveryNHours {
            every_hours: 8,
            anchor: "06:00".into(),
        },
        _ => Timing::Cycle {
            days_on: if i.is_multiple_of(2) { 14 } else { 21 },
            days_off: 7,
            times: times(rng, 2),
            cycles: None,
        },
    };
    let mut med = Medication::new(
        &format!("Medication {i}"),
        vec![Phase {
            dose: 1.0 + (i % 3) as f64,
            unit: "tablet".into(),
            timing,
            start,
            end: None,
            count: None,
        }],
    );
    if i.is_multiple_of(3) {
        med.time_zone_policy = TimeZonePolicy::FixedZone {
            zone: "Europe/London".into(),
        };
    }
    if i % 3 == 1 {
        med.stock = Some(5000.0);
        med.refill_threshold_days = Some(7);
    }
    med.late_window_minutes = 180;
    med
}

fn p50(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn report(name: &str, value: f64, unit: &str, target: f64) {
    let verdict = if value <= target { "PASS" } else { "FAIL" };
    println!("{name} {value:.3} target<={target} {verdict} ({unit})");
}

fn main() {
    let zone = TimeZone::get("Europe/London").expect("zone");
    let now: Timestamp = "2026-11-23T07:00:00Z".parse().expect("now");
    let year_ago = now - SignedDuration::from_hours(24 * 365);
    let dir = tempfile::tempdir().expect("temp dir");
    let keys = MemoryKeyStore::default();
    let clock = SteppableClock::new(now, zone.clone());
    let store =
        Store::create(dir.path(), Unlock::KeyStore(&keys), Arc::new(clock.clone())).expect("store");
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let mut meds = Vec::new();
    for i in 0..MEDS {
        let med = medication(i, &mut rng);
        let id = store.add_medication(&med).expect("add");
        meds.push(store.medication(&id).expect("read back"));
    }

    // A year of dose log: 90% taken (up to an hour late), 5% skipped, 5% not logged.
    let started = Instant::now();
    let mut logged = 0usize;
    for med in &meds {
        let occs = occurrences(med, &zone, year_ago, now).expect("expand");
        for chunk in occs.chunks(2000) {
            let mut w = store.writer().expect("writer");
            for o in chunk {
                let roll = rng.below(100);
                if roll >= 95 {
                    continue;
                }
                let status = if roll < 90 { "taken" } else { "skipped" };
                let taken = o.at + SignedDuration::from_mins(rng.below(60) as i64);
                let mut fields = vec![
                    ("medication_id", Value::from(med.id.as_str())),
                    ("occurrence_key", Value::from(o.key.as_str())),
                    ("scheduled_at", Value::from(o.at.as_millisecond())),
                    ("status", Value::from(status)),
                    ("recorded_at", Value::from(taken.as_millisecond())),
                ];
                if status == "taken" {
                    fields.push(("taken_at", Value::from(taken.as_millisecond())));
                    fields.push(("amount", Value::from(o.dose)));
                }
                w.set_all(&DOSE, &o.dose_id(&med.id), fields).expect("log");
                logged += 1;
            }
            w.commit().expect("commit");
        }
    }
    println!(
        "meds.setup_doses_logged {logged} (in {:.1} s)",
        started.elapsed().as_secs_f64()
    );

    // Expanding a year of occurrences for the 30 medications (with their stable ids).
    let mut samples = Vec::new();
    let mut count = 0;
    for _ in 0..21 {
        let t = Instant::now();
        count = 0;
        for med in &meds {
            count += occurrences(med, &zone, year_ago, now)
                .expect("expand")
                .len();
        }
        samples.push(t.elapsed());
    }
    println!("meds.expand_year_occurrences {count}");
    report(
        "meds.expand_year_30_meds_ms",
        p50(samples).as_secs_f64() * 1e3,
        "ms, p50 of 21",
        20.0,
    );

    // Adherence over the year.
    let today = zone.to_datetime(now).date();
    let from = zone.to_datetime(year_ago).date();
    let mut samples = Vec::new();
    let mut percent = None;
    for _ in 0..21 {
        let t = Instant::now();
        let a = store.adherence(from, today).expect("adherence");
        samples.push(t.elapsed());
        percent = a.overall.percent;
    }
    println!("meds.adherence_percent {:.1}", percent.unwrap_or(0.0));
    report(
        "meds.adherence_year_30_meds_ms",
        p50(samples).as_secs_f64() * 1e3,
        "ms, p50 of 21",
        20.0,
    );

    // Planning 64 notifications, as the app does on every launch and after every log: the clock
    // moves 7 minutes between calls, so reminders fall out of the window and new ones come in.
    let mut samples = Vec::new();
    let mut commit_samples = Vec::new();
    let mut planned = 0;
    for i in 0..400 {
        clock.set(now + SignedDuration::from_mins(7 * i));
        let t = Instant::now();
        let plan = store.plan_notifications(64).expect("plan");
        samples.push(t.elapsed());
        planned = plan.planned.len();
        let t = Instant::now();
        store.commit_notification_plan(&plan).expect("commit plan");
        commit_samples.push(t.elapsed());
    }
    println!("meds.plan_notifications {planned}");
    report(
        "meds.plan_64_notifications_30_meds_p50_ms",
        p50(samples).as_secs_f64() * 1e3,
        "ms, p50 of 400",
        0.3,
    );
    println!(
        "meds.plan_commit_p50_ms {:.3} (informational)",
        p50(commit_samples).as_secs_f64() * 1e3
    );
    store.close().expect("close");

    // App launch to the first Today view: what a tap on the icon waits for. The raw key comes
    // from the key store (no Argon2id), the store opens and migrates nothing, recovery finds
    // nothing to do, and the day's doses are computed against a year of dose log.
    let clock = Arc::new(clock);
    clock.set(now);
    let mut samples = Vec::new();
    let mut doses = 0;
    for _ in 0..21 {
        let t = Instant::now();
        let store = Store::open(dir.path(), Unlock::KeyStore(&keys), clock.clone()).expect("open");
        doses = store.doses_today().expect("today").len();
        samples.push(t.elapsed());
        store.close().expect("close");
    }
    println!("meds.launch_today_doses {doses}");
    report(
        "meds.launch_to_today_p50_ms",
        p50(samples).as_secs_f64() * 1e3,
        "ms, p50 of 21: open with a raw key + today's doses",
        20.0,
    );
}
