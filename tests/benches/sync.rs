//! Sync against its targets, through a real relay on 127.0.0.1 (loopback):
//!
//! - the first sync of 100,000 changes from one device to a fresh second device: at most 4 s
//!   (at least 25,000 changes/s), with the time split into relay, checking and applying, and
//!   the same changes applied locally without relay or encryption as the baseline of the run;
//! - one change, pushed on one device and applied on the other: p50 at most 50 ms, p99 at
//!   most 200 ms;
//! - relay ingest from 50 devices pushing at once: at least 5,000 changes/s;
//! - bytes on the wire and bytes the relay stores, per change.
//!
//! Run with `cargo bench -p cairn-tests --bench sync`. Each figure is printed on its own line
//! with its target and PASS or FAIL. Rounds of the first sync and of its baseline alternate,
//! since the machine is shared.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use cairn_core::record::FieldChange;
use cairn_core::store::MemoryKeyStore;
use cairn_core::sync::{self, CancelToken, HttpTransport, Quiet, RetryPolicy, SyncReport};
use cairn_core::timeline::{EventDetails, EventEdit, NewEvent};
use cairn_core::{Store, SystemClock, Unlock};
use cairn_tests::TestRelay;
use jiff::{SignedDuration, Timestamp};

const CHANGES: usize = 100_000;
const ROUNDS: usize = 3;

fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "FAIL" }
}

fn report_max(name: &str, value: f64, unit: &str, target: f64) {
    println!(
        "{name} {value:.3} target<={target} {} ({unit})",
        verdict(value <= target)
    );
}

fn report_min(name: &str, value: f64, unit: &str, target: f64) {
    println!(
        "{name} {value:.1} target>={target} {} ({unit})",
        verdict(value >= target)
    );
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// A new store in `dir`, keyed from a memory key store, on the system clock.
fn store(dir: &Path) -> Store {
    let keys = MemoryKeyStore::default();
    Store::create(dir, Unlock::KeyStore(&keys), Arc::new(SystemClock)).expect("store")
}

fn transport(store: &Store, relay: &TestRelay) -> HttpTransport {
    let id = store.sync_identity().expect("identity");
    HttpTransport::new(&relay.url())
        .expect("relay")
        .as_device(id.device.clone())
}

fn sync(store: &Store, relay: &HttpTransport) -> SyncReport {
    sync::sync_now(
        store,
        relay,
        &Quiet,
        &CancelToken::new(),
        RetryPolicy::default(),
    )
    .expect("sync")
}

/// Events of about ten fields each, until `changes` field changes are waiting in the outbox.
fn fill(store: &Store, changes: usize) -> Vec<String> {
    let start: Timestamp = Timestamp::now() - SignedDuration::from_hours(24 * 365);
    let mut ids = Vec::new();
    let mut i = 0usize;
    while store.outbox(usize::MAX >> 1).expect("outbox").changes.len() < changes {
        let batch: Vec<NewEvent> = (0..1_000)
            .map(|_| {
                i += 1;
                let mut e = NewEvent::new(
                    start + SignedDuration::from_mins(i as i64),
                    format!("Walked {} minutes after lunch", i % 90),
                    EventDetails::Note,
                );
                e.body = format!("Felt tired in the evening, entry {i}");
                e.tags = vec!["walk".into()];
                e
            })
            .collect();
        ids.extend(store.add_events(&batch).expect("events"));
    }
    ids
}

fn dir_size(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        total += if p.is_dir() {
            dir_size(&p)
        } else {
            entry.metadata().map_or(0, |m| m.len())
        };
    }
    total
}

fn main() {
    let tmp = tempfile::tempdir().expect("temp dir");
    // Rate limits lifted: this measures what the relay can take, not how it throttles.
    let unlimited = cairn_server::Rate {
        burst: 1_000_000,
        per_minute: 60_000_000,
    };
    let relay = TestRelay::with_limits(cairn_server::Limits {
        device_rate: unlimited,
        anonymous_rate: unlimited,
        ..cairn_server::Limits::default()
    });
    let phone = store(&tmp.path().join("phone"));
    let kit = phone.create_account(&relay.url()).expect("account");
    let phone_relay = transport(&phone, &relay);
    sync(&phone, &phone_relay);

    // The phone's journey: 100,000 changes, pushed once.
    let ids = fill(&phone, CHANGES);
    let outbox: Vec<FieldChange> = phone.outbox(usize::MAX >> 1).expect("outbox").changes;
    let changes = outbox.len();
    let relay_before = dir_size(relay.data_dir());
    let pushed = sync(&phone, &phone_relay);
    let (sent, _) = phone_relay.body_bytes();
    let stored = dir_size(relay.data_dir()).saturating_sub(relay_before);
    println!("sync.changes {changes}");
    println!("sync.push_seconds {:.3}", pushed.elapsed_ms as f64 / 1e3);
    println!(
        "  (seal {} ms, relay {} ms, {} batches)",
        pushed.seal_ms, pushed.network_ms, pushed.pushed_batches
    );
    println!(
        "sync.wire_bytes_per_change_pushed {:.1}",
        sent as f64 / changes as f64
    );
    println!(
        "sync.relay_bytes_stored_per_change {:.1}",
        stored as f64 / changes as f64
    );

    // First sync to a fresh device, alternating with the baseline: the same changes applied
    // to a fresh store directly.
    let mut firsts = Vec::new();
    let mut baselines = Vec::new();
    let mut last = SyncReport::default();
    let mut received = 0;
    for round in 0..ROUNDS {
        let base = store(&tmp.path().join(format!("baseline-{round}")));
        let t = Instant::now();
        base.apply_remote(&outbox).expect("baseline apply");
        baselines.push(t.elapsed().as_secs_f64());
        drop(base);

        let mut fresh = store(&tmp.path().join(format!("fresh-{round}")));
        fresh
            .recover_account(&relay.url(), &kit)
            .expect("a new device from the kit");
        let fresh_relay = transport(&fresh, &relay);
        let t = Instant::now();
        last = sync(&fresh, &fresh_relay);
        firsts.push(t.elapsed().as_secs_f64());
        assert!(
            last.pulled_changes as usize >= changes,
            "everything arrived"
        );
        received = fresh_relay.body_bytes().1;
    }
    let first = median(firsts);
    let baseline = median(baselines);
    report_max(
        "sync.first_sync_seconds",
        first,
        "s, median of 3, 100,000 changes",
        4.0,
    );
    report_min(
        "sync.first_sync_changes_per_s",
        changes as f64 / first,
        "changes/s",
        25_000.0,
    );
    println!(
        "  (last round: relay {} ms, check and open {} ms, apply {} ms)",
        last.network_ms, last.check_ms, last.apply_ms
    );
    println!("sync.first_sync_local_apply_seconds {baseline:.3}");
    println!("sync.first_sync_over_local_apply {:.2}", first / baseline);
    println!(
        "sync.wire_bytes_per_change_pulled {:.1}",
        received as f64 / changes as f64
    );

    // One change, phone to tablet.
    let tablet = store(&tmp.path().join("tablet"));
    let mut tablet = tablet;
    tablet.recover_account(&relay.url(), &kit).expect("tablet");
    let tablet_relay = transport(&tablet, &relay);
    sync(&tablet, &tablet_relay);
    let mut latencies = Vec::new();
    for i in 0..200 {
        let id = &ids[i % ids.len()];
        let t = Instant::now();
        phone
            .edit_event(
                id,
                &EventEdit {
                    title: Some(format!("Walked, round {i}")),
                    ..EventEdit::default()
                },
            )
            .expect("edit");
        sync(&phone, &phone_relay);
        let r = sync(&tablet, &tablet_relay);
        latencies.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(r.pulled_changes, 1);
    }
    report_max(
        "sync.one_change_p50_ms",
        percentile(latencies.clone(), 0.5),
        "ms, edit and push on the phone to applied on the tablet, 200 rounds",
        50.0,
    );
    report_max(
        "sync.one_change_p99_ms",
        percentile(latencies, 0.99),
        "ms",
        200.0,
    );

    // Ingest: 50 devices, each with its own account, pushing at once.
    const DEVICES: usize = 50;
    const PER_DEVICE: usize = 2_000;
    let devices: Vec<(Store, HttpTransport)> = (0..DEVICES)
        .map(|i| {
            let s = store(&tmp.path().join(format!("ingest-{i}")));
            s.create_account(&relay.url()).expect("account");
            let t = transport(&s, &relay);
            sync(&s, &t);
            fill(&s, PER_DEVICE);
            (s, t)
        })
        .collect();
    let total: usize = devices
        .iter()
        .map(|(s, _)| s.outbox(usize::MAX >> 1).expect("outbox").changes.len())
        .sum();
    let started = Instant::now();
    let threads: Vec<_> = devices
        .into_iter()
        .map(|(s, t)| std::thread::spawn(move || sync(&s, &t)))
        .collect();
    for t in threads {
        t.join().expect("a device's push");
    }
    let ingest = started.elapsed().as_secs_f64();
    report_min(
        "sync.relay_ingest_changes_per_s",
        total as f64 / ingest,
        "changes/s from 50 devices at once (sealing on the same two cores included)",
        5_000.0,
    );
}
