//! Sync through bad networks: the faults of `cairn_tests::faults` between devices and the
//! relay.

use axum::http::Method;
use cairn_core::Error;
use cairn_tests::{Fault, FaultRates, FaultyRelay};

use crate::devices::TestDevice;
use crate::sync::daily;

#[test]
fn ledger_entries_whose_answers_were_lost_are_kept_and_published_once() {
    let phone = TestDevice::patient();
    let med = phone.store.add_medication(&daily("Letrozole")).unwrap();
    let relay = crate::sync::relay_for(&phone);
    phone.store.create_account(&relay.url()).unwrap();
    // Every ledger entry the phone appends lands, and the answer is lost: its retries are told
    // the entry is not the next, and lost too.
    let network = FaultyRelay::start(
        &relay.url(),
        1,
        FaultRates {
            drop_after: 1000,
            ..FaultRates::none()
        },
    );
    network.strike_only(Method::POST, "/ledger");
    let via = phone.transport_at(&network.url());
    let err = phone.try_sync(&via).unwrap_err();
    assert!(matches!(err, Error::Network(_)), "{err:?}");
    assert!(network.counts().of(Fault::DropAfter) > 1);
    // The entry the relay took is published, the ones after it are sent: the keys they carry
    // (the meds key, say) are kept.
    network.set_faults(false);
    phone.try_sync(&via).unwrap();
    phone.store.take_dose(&med, None, None, None).unwrap();
    phone.try_sync(&via).unwrap();
    let mut phone = phone;
    let mut tablet = TestDevice::patient();
    phone.link(&mut tablet, &relay);
    assert_eq!(dump(&tablet), dump(&phone));
    assert_eq!(phone.store.status().unwrap().outbox_count, 0);
}

fn dump(d: &TestDevice) -> String {
    d.store.synced_state_dump().unwrap()
}
