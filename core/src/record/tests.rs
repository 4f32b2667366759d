use std::sync::Arc;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use proptest::prelude::*;
use serde_json::json;

use super::batch::Batch;
use super::rows::{Write, read_record};
use super::state::{Peers, RecordState, Slot};
use super::*;
use crate::clock::{Clock, SteppableClock};
use crate::error::Error;
use crate::hlc::DeviceId;
use crate::hlc::Hlc;
use crate::profile::PROFILE;
use crate::store::Store;
use crate::store::{MemoryKeyStore, Unlock};
use serde_json::Value;

fn replica(clock: Arc<dyn Clock>) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let keys = MemoryKeyStore::default();
    let store = Store::create(dir.path(), Unlock::KeyStore(&keys), clock).unwrap();
    (dir, store)
}

fn start() -> SteppableClock {
    SteppableClock::new(
        "2026-10-25T00:30:00Z".parse::<Timestamp>().unwrap(),
        TimeZone::get("Europe/London").unwrap(),
    )
}

fn device(n: u8) -> DeviceId {
    DeviceId::parse(&format!("{n:032x}")).unwrap()
}

#[test]
fn a_local_write_lands_in_the_table_the_log_and_the_outbox_together() {
    let (_d, store) = replica(Arc::new(start()));
    let mut w = store.writer().unwrap();
    w.set(&PROFILE, "p1", "display_name", "Ana").unwrap();
    w.set(&PROFILE, "p1", "display_name", "Ana María").unwrap();
    w.commit().unwrap();
    let name: String = store
        .conn()
        .query_row("SELECT display_name FROM profile WHERE id='p1'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(name, "Ana María", "the later write in one transaction wins");
    let out = store.outbox(10).unwrap();
    assert_eq!(
        out.changes.len(),
        1,
        "a field written twice before a push is sent once"
    );
    assert_eq!(
        out.changes[0].op,
        Op::Set {
            field: "display_name".into(),
            value: json!("Ana María")
        },
        "with its latest value"
    );

    let mut w = store.writer().unwrap();
    w.set(&PROFILE, "p1", "display_name", "rolled back")
        .unwrap();
    drop(w);
    assert_eq!(
        store.outbox(10).unwrap(),
        out,
        "a dropped writer leaves nothing behind"
    );
    assert!(matches!(
        store
            .writer()
            .unwrap()
            .set(&PROFILE, "p1", "no_such_field", 1),
        Err(Error::Invalid { field: "field", .. })
    ));
}

#[test]
fn the_clock_persists_and_stays_monotonic_when_the_wall_clock_goes_back() {
    let clock = start();
    let dir = tempfile::tempdir().unwrap();
    let keys = MemoryKeyStore::default();
    let store =
        Store::create(dir.path(), Unlock::KeyStore(&keys), Arc::new(clock.clone())).unwrap();
    let mut w = store.writer().unwrap();
    w.set(&PROFILE, "p", "display_name", "one").unwrap();
    w.commit().unwrap();
    let first = store.outbox(1).unwrap().changes[0].hlc.clone();
    store.close().unwrap();

    clock.advance(jiff::SignedDuration::from_hours(-5));
    let store = Store::open(dir.path(), Unlock::KeyStore(&keys), Arc::new(clock)).unwrap();
    let mut w = store.writer().unwrap();
    w.set(&PROFILE, "p", "display_name", "two").unwrap();
    w.commit().unwrap();
    let second = store.outbox(10).unwrap().changes[0].hlc.clone();
    assert!(second > first, "{second} after {first}");
    let name: String = store
        .conn()
        .query_row("SELECT display_name FROM profile", [], |r| r.get(0))
        .unwrap();
    assert_eq!(name, "two");
}

#[test]
fn an_edit_racing_a_delete_does_not_resurrect() {
    let clock = start();
    let (_a, alice) = replica(Arc::new(clock.clone()));
    let (_b, bob) = replica(Arc::new(clock.clone()));
    let mut w = alice.writer().unwrap();
    w.set(&PROFILE, "r", "display_name", "x").unwrap();
    w.commit().unwrap();
    bob.apply_remote(&alice.outbox(100).unwrap().changes)
        .unwrap();
    alice.acknowledge_outbox(i64::MAX).unwrap();

    let mut w = alice.writer().unwrap();
    w.delete(&PROFILE, "r").unwrap();
    w.commit().unwrap();
    // Bob edits later in wall time, without having seen the delete.
    clock.advance(jiff::SignedDuration::from_mins(10));
    let mut w = bob.writer().unwrap();
    w.set(&PROFILE, "r", "home_time_zone", "Asia/Kolkata")
        .unwrap();
    w.commit().unwrap();

    let from_alice = alice.outbox(100).unwrap().changes;
    let from_bob = bob.outbox(100).unwrap().changes;
    alice.apply_remote(&from_bob).unwrap();
    bob.apply_remote(&from_alice).unwrap();
    for store in [&alice, &bob] {
        assert!(store.is_deleted(&PROFILE, "r").unwrap());
        let rows: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM profile", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 0);
    }
    assert_eq!(
        alice.synced_state_dump().unwrap(),
        bob.synced_state_dump().unwrap()
    );
}

#[test]
fn edits_of_different_fields_on_two_devices_both_win() {
    let clock = start();
    let (_a, a) = replica(Arc::new(clock.clone()));
    let (_b, b) = replica(Arc::new(clock.clone()));
    let mut w = a.writer().unwrap();
    w.set(&PROFILE, "r", "display_name", "Sam").unwrap();
    w.commit().unwrap();
    let mut w = b.writer().unwrap();
    w.set(&PROFILE, "r", "home_time_zone", "America/New_York")
        .unwrap();
    w.commit().unwrap();
    let ca = a.outbox(10).unwrap().changes;
    let cb = b.outbox(10).unwrap().changes;
    a.apply_remote(&cb).unwrap();
    b.apply_remote(&ca).unwrap();
    for s in [&a, &b] {
        let row: (String, String) = s
            .conn()
            .query_row(
                "SELECT display_name, home_time_zone FROM profile WHERE id='r'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(row, ("Sam".into(), "America/New_York".into()));
    }
}

/// A change set written by a few devices: sets and deletes on a handful of records and fields,
/// with clashing timestamps and unknown entities from a newer version.
fn change_set() -> impl Strategy<Value = Vec<FieldChange>> {
    let change = (
        0u8..3,
        0u64..6,
        0u32..3,
        0u8..4,
        prop_oneof![Just("profile"), Just("future_thing")],
        0u8..3,
        0u8..10,
    )
        .prop_map(|(dev, millis, counter, id, entity, field, value)| {
            let hlc = Hlc {
                millis: 1_000 + millis,
                counter,
                device: device(dev),
            };
            let op = if value == 9 {
                Op::Delete
            } else {
                let field = ["display_name", "home_time_zone", "unknown_field"][field as usize];
                Op::Set {
                    field: field.into(),
                    value: json!(format!("v{value}")),
                }
            };
            FieldChange {
                entity: entity.into(),
                id: format!("r{id}"),
                op,
                hlc: hlc.to_string(),
                author: format!("acct{dev}"),
            }
        });
    // One device never issues the same timestamp twice: keep the first change per (device, hlc).
    prop::collection::vec(change, 1..40).prop_map(|changes| {
        let mut seen = std::collections::HashSet::new();
        changes
            .into_iter()
            .filter(|c| seen.insert(c.hlc.clone()))
            .collect()
    })
}

/// A delivery of the change set: every change at least once, duplicates, any order, in batches.
fn delivery(changes: Vec<FieldChange>) -> impl Strategy<Value = Vec<Vec<FieldChange>>> {
    let n = changes.len();
    (
        Just(changes),
        prop::collection::vec(0..n, 0..n),
        any::<u64>(),
        1usize..8,
    )
        .prop_map(|(changes, dups, seed, batch)| {
            let mut all: Vec<FieldChange> = changes
                .iter()
                .cloned()
                .chain(dups.into_iter().map(|i| changes[i].clone()))
                .collect();
            // A deterministic shuffle from the seed.
            let mut s = seed | 1;
            for i in (1..all.len()).rev() {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                all.swap(i, (s % (i as u64 + 1)) as usize);
            }
            all.chunks(batch).map(<[FieldChange]>::to_vec).collect()
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn three_replicas_converge_whatever_the_delivery(
        (d1, d2, d3) in change_set().prop_flat_map(|c| (delivery(c.clone()), delivery(c.clone()), delivery(c)))
    ) {
        let clock: Arc<dyn Clock> = Arc::new(start());
        let mut dumps = Vec::new();
        for batches in [d1, d2, d3] {
            let (_dir, store) = replica(clock.clone());
            for batch in &batches {
                store.apply_remote(batch).unwrap();
            }
            prop_assert_eq!(store.outbox(1).unwrap(), Outbox::default(), "remote changes are not pushed back");
            dumps.push(store.synced_state_dump().unwrap());
        }
        prop_assert_eq!(&dumps[0], &dumps[1]);
        prop_assert_eq!(&dumps[1], &dumps[2]);
    }
}

/// What a device does next in [`devices_writing_and_syncing_converge`].
#[derive(Debug, Clone)]
enum Step {
    Set {
        device: usize,
        record: u8,
        field: usize,
        value: u8,
    },
    Delete {
        device: usize,
        record: u8,
    },
    Sync {
        device: usize,
    },
    Wait {
        minutes: i64,
    },
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let step = prop_oneof![
        4 => (0usize..3, 0u8..3, 0usize..2, 0u8..6).prop_map(|(device, record, field, value)| Step::Set { device, record, field, value }),
        1 => (0usize..3, 0u8..3).prop_map(|(device, record)| Step::Delete { device, record }),
        2 => (0usize..3).prop_map(|device| Step::Sync { device }),
        1 => (-2i64..5).prop_map(|minutes| Step::Wait { minutes }),
    ];
    prop::collection::vec(step, 1..40)
}

/// A relay standing in for the server: everything pushed, in order, and how far each device
/// has pulled.
#[derive(Default)]
struct Relay {
    log: Vec<FieldChange>,
}

fn sync(store: &Store, relay: &mut Relay, pulled: &mut usize) {
    let out = store.outbox(3).unwrap();
    relay.log.extend(out.changes);
    if let Some(seq) = out.up_to {
        store.acknowledge_outbox(seq).unwrap();
    }
    store.apply_remote(&relay.log[*pulled..]).unwrap();
    *pulled = relay.log.len();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Devices write, delete and sync in any interleaving, pushing only the latest value of
    /// each changed field a few outbox entries at a time; once all have synced twice they hold
    /// the same state and nothing is left to push.
    #[test]
    fn devices_writing_and_syncing_converge(steps in steps()) {
        let clock = start();
        let devices: Vec<_> = (0..3).map(|_| replica(Arc::new(clock.clone()))).collect();
        let mut relay = Relay::default();
        let mut pulled = [0usize; 3];
        for step in steps {
            match step {
                Step::Set { device, record, field, value } => {
                    let mut w = devices[device].1.writer().unwrap();
                    let field = ["display_name", "home_time_zone"][field];
                    w.set(&PROFILE, &format!("r{record}"), field, format!("v{value}")).unwrap();
                    w.commit().unwrap();
                }
                Step::Delete { device, record } => {
                    let mut w = devices[device].1.writer().unwrap();
                    w.delete(&PROFILE, &format!("r{record}")).unwrap();
                    w.commit().unwrap();
                }
                Step::Sync { device } => sync(&devices[device].1, &mut relay, &mut pulled[device]),
                Step::Wait { minutes } => clock.advance(jiff::SignedDuration::from_mins(minutes)),
            }
        }
        for _ in 0..2 {
            for (i, (_, store)) in devices.iter().enumerate() {
                while store.outbox(1).unwrap().up_to.is_some() {
                    sync(store, &mut relay, &mut pulled[i]);
                }
                sync(store, &mut relay, &mut pulled[i]);
            }
        }
        let dumps: Vec<String> = devices.iter().map(|(_, s)| s.synced_state_dump().unwrap()).collect();
        prop_assert_eq!(&dumps[0], &dumps[1]);
        prop_assert_eq!(&dumps[1], &dumps[2]);
        for (_, store) in &devices {
            prop_assert_eq!(store.status().unwrap().outbox_count, 0);
        }
    }
}

#[test]
fn a_deleted_record_keeps_nothing_but_its_tombstone() {
    let clock = start();
    let (_a, phone) = replica(Arc::new(clock.clone()));
    let (_b, tablet) = replica(Arc::new(clock.clone()));
    let mut w = phone.writer().unwrap();
    w.set(&PROFILE, "r", "display_name", "Private name")
        .unwrap();
    w.commit().unwrap();
    let edit = phone.outbox(10).unwrap().changes;
    assert_eq!(phone.status().unwrap().record_count, 1);
    let mut w = phone.writer().unwrap();
    w.delete(&PROFILE, "r").unwrap();
    w.commit().unwrap();
    let out = phone.outbox(10).unwrap();
    assert_eq!(out.changes.len(), 1, "only the delete is pushed: {out:?}");
    assert_eq!(out.changes[0].op, Op::Delete);
    assert!(!phone.synced_state_dump().unwrap().contains("Private name"));
    assert_eq!(phone.status().unwrap().record_count, 0);

    // The tablet hears of the delete first and of the edit later: the edit is not stored.
    tablet.apply_remote(&out.changes).unwrap();
    assert_eq!(tablet.apply_remote(&edit).unwrap(), 0);
    assert_eq!(
        phone.synced_state_dump().unwrap(),
        tablet.synced_state_dump().unwrap()
    );
    assert!(!tablet.synced_state_dump().unwrap().contains("Private name"));
}

#[test]
fn a_field_another_device_overwrote_is_not_pushed_again() {
    let clock = start();
    let (_a, phone) = replica(Arc::new(clock.clone()));
    let (_b, tablet) = replica(Arc::new(clock.clone()));
    let mut w = phone.writer().unwrap();
    w.set_all(
        &PROFILE,
        "r",
        [
            ("display_name", json!("Sam")),
            ("home_time_zone", json!("Europe/London")),
        ],
    )
    .unwrap();
    w.commit().unwrap();
    clock.advance(jiff::SignedDuration::from_mins(1));
    let mut w = tablet.writer().unwrap();
    w.set(&PROFILE, "r", "display_name", "Samira").unwrap();
    w.commit().unwrap();
    phone
        .apply_remote(&tablet.outbox(10).unwrap().changes)
        .unwrap();
    let out = phone.outbox(10).unwrap();
    let fields: Vec<&Op> = out.changes.iter().map(|c| &c.op).collect();
    assert_eq!(
        fields,
        vec![&Op::Set {
            field: "home_time_zone".into(),
            value: json!("Europe/London")
        }],
        "the phone's display_name lost to the tablet's: only its time zone is left to send"
    );
}

#[test]
fn a_record_moved_by_migration_5_reads_back_as_it_was_and_is_stored_compactly_on_its_next_write() {
    let conn = rusqlite::Connection::open_in_memory().unwrap();
    crate::store::migrations::migrate_to(&conn, 4).unwrap();
    let (h1, h2) = (
        "0000000003e8.00000000.0000000000000000000000000000000a",
        "0000000007d0.00000001.0000000000000000000000000000000b",
    );
    conn.execute_batch(&format!(
        r#"
        INSERT INTO field_state(entity, id, field, value, hlc, author) VALUES
            ('profile', 'p', 'display_name', '"Ana"', '{h1}', 'acct-a'),
            ('profile', 'p', 'home_time_zone', '"Europe/Lisbon"', '{h2}', 'acct-b'),
            ('profile', 'p', 'pronouns', '"she/her"', '{h2}', 'acct-b');
        INSERT INTO profile(id, display_name, home_time_zone) VALUES ('p', 'Ana', 'Europe/Lisbon');
        "#
    ))
    .unwrap();
    crate::store::migrations::migrate(&conn).unwrap();
    let expected = vec![
        (
            "display_name".to_owned(),
            json!("Ana"),
            h1.to_owned(),
            "acct-a".to_owned(),
        ),
        (
            "home_time_zone".to_owned(),
            json!("Europe/Lisbon"),
            h2.to_owned(),
            "acct-b".to_owned(),
        ),
        (
            "pronouns".to_owned(),
            json!("she/her"),
            h2.to_owned(),
            "acct-b".to_owned(),
        ),
    ];
    let mut peers = Peers::default();
    assert_eq!(
        read_record(&conn, &mut peers, Some(&PROFILE), "profile", "p").unwrap(),
        Some(expected.clone())
    );

    // An older write changes nothing but re-stores the state in its positional form.
    let mut batch = Batch::default();
    let old = "000000000001.00000000.0000000000000000000000000000000c";
    let won = batch
        .merge(
            &conn,
            Some(&PROFILE),
            "profile",
            "p",
            vec![Write {
                field: "display_name",
                value: json!("Old"),
                hlc: old,
                author: "acct-c",
            }],
        )
        .unwrap();
    assert_eq!(won, 0);
    let newer = "0000000007d0.00000002.0000000000000000000000000000000c";
    batch
        .merge(
            &conn,
            Some(&PROFILE),
            "profile",
            "p",
            vec![Write {
                field: "display_name",
                value: json!("Ana María"),
                hlc: newer,
                author: "acct-c",
            }],
        )
        .unwrap();
    let stored: String = conn
        .query_row("SELECT sync_state FROM profile WHERE id = 'p'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let stored: Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(stored["p"], "1s0s", "declared fields by position: {stored}");
    assert_eq!(
        stored["f"]["pronouns"][1], "v",
        "an unknown field keeps its value"
    );
    assert_eq!(
        stored["c"].as_array().unwrap().len(),
        2,
        "equal clocks merge and unused ones go"
    );
    let mut now = expected;
    now[0] = (
        "display_name".into(),
        json!("Ana María"),
        newer.into(),
        "acct-c".into(),
    );
    assert_eq!(
        read_record(&conn, &mut Peers::default(), Some(&PROFILE), "profile", "p").unwrap(),
        Some(now)
    );
}

#[test]
fn every_entity_fits_the_outbox_field_mask() {
    for def in crate::open::ENTITIES.iter().copied().flatten() {
        assert!(def.fields.len() < 63, "{} has too many fields", def.name);
    }
}

proptest! {
    /// A new record's state, written without building it first, is what the general path
    /// stores for the same fields.
    #[test]
    fn a_new_records_state_is_what_the_general_path_stores(
        present in prop::collection::vec(any::<bool>(), 11),
        big in any::<bool>(),
    ) {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        crate::store::migrations::migrate(&conn).unwrap();
        let def = &crate::timeline::TIMELINE_EVENT;
        let mut columns: Vec<(&'static str, Value)> = def
            .fields
            .iter()
            .zip(&present)
            .filter(|(_, p)| **p)
            .map(|(f, _)| (*f, json!(format!("value of {f}"))))
            .collect();
        if big && !columns.is_empty() {
            columns[0].1 = json!(u64::MAX);
        }
        let hlc = "0000000003e8.00000000.0000000000000000000000000000000a";
        let mut batch = Batch::default();
        let fast = batch.new_state(&conn, def, hlc, "acct", &columns).unwrap();
        let mut state = RecordState::default();
        let clock = state.clock(hlc, "acct");
        for (field, value) in &columns {
            state.f.insert((*field).to_owned(), Slot::for_value(clock, value, true));
        }
        let general = state.store(Some(def), &mut batch.peers, &conn).unwrap();
        prop_assert_eq!(fast, general);
    }
}
