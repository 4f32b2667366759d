//! The verifiers against forgeries: each rule of the ledger and the chain has a refused case.

use ed25519_dalek::Signer;

use crate::codec::{from_cbor, to_cbor};
use crate::testing::{TestAccount, TestDevice, account, device};
use crate::*;

fn space() -> SpaceId {
    SpaceId::parse("5a5a5a5a-0000-4000-8000-000000000001").unwrap()
}

fn entry(by: &TestDevice, index: u64, prev: Hash32, body: LedgerBody) -> LedgerEntry {
    by.entry(&space(), index, prev, body)
}

fn genesis(owner: &TestAccount, phone: &TestDevice) -> LedgerEntry {
    entry(
        phone,
        0,
        Hash32::ZERO,
        LedgerBody::Genesis {
            owner: owner.record.clone(),
            device: phone.cert.clone(),
        },
    )
}

fn wrap(to: &AccountId) -> KeyWrap {
    KeyWrap {
        account: to.clone(),
        enc: Key32([7; 32]),
        ct: ByteBuf(vec![1; 48]),
    }
}

#[test]
fn a_ledger_of_genesis_a_second_device_a_key_and_a_revocation_replays() {
    let maya = account(1);
    let phone = device(&maya, 11);
    let tablet = device(&maya, 12);
    let g = genesis(&maya, &phone);
    let key = entry(
        &phone,
        1,
        g.hash(),
        LedgerBody::ScopeKey {
            scope: Scope::Meds,
            epoch: 1,
            wraps: vec![wrap(&maya.id)],
        },
    );
    // The tablet introduces itself with a certificate the account signed.
    let add = entry(
        &tablet,
        2,
        key.hash(),
        LedgerBody::AddDevice {
            cert: tablet.cert.clone(),
        },
    );
    let revoke = entry(
        &phone,
        3,
        add.hash(),
        LedgerBody::RevokeDevice {
            device: tablet.id.clone(),
            last_seq: 4,
        },
    );
    let ledger = [g, key, add, revoke];
    let state = LedgerState::replay(&ledger, Some(&maya.record.sign)).unwrap();
    assert_eq!(state.len(), 4);
    assert_eq!(state.current_epoch(Scope::Meds), Some(1));
    assert!(state.wrap(Scope::Meds, 1, &maya.id).is_some());
    assert!(state.batch_key(&tablet.id, 4).is_some());
    assert!(state.batch_key(&tablet.id, 5).is_none(), "revoked after 4");
    assert!(state.batch_key(&phone.id, 1_000).is_some());
    // Every entry survives the wire.
    let back: Vec<LedgerEntry> = from_cbor(&to_cbor(&ledger.to_vec()), "ledger").unwrap();
    assert_eq!(back, ledger);
}

#[test]
fn the_ledger_refuses_forgeries_and_changes_nothing() {
    let maya = account(1);
    let mallory = account(2);
    let phone = device(&maya, 11);
    let intruder = device(&mallory, 13);
    let g = genesis(&maya, &phone);
    let state = LedgerState::genesis(&g, Some(&maya.record.sign)).unwrap();

    // A genesis entry of another owner than the one this client knows.
    let forged_genesis = genesis(&mallory, &intruder);
    assert!(LedgerState::genesis(&forged_genesis, Some(&maya.record.sign)).is_err());

    let refused = |e: LedgerEntry| {
        let mut s = state.clone();
        let err = s.apply(&e).unwrap_err();
        assert_eq!(s, state, "a refused entry changes nothing");
        err
    };
    // A device of another account adding itself.
    let add = LedgerBody::AddDevice {
        cert: intruder.cert.clone(),
    };
    assert!(matches!(
        refused(entry(&intruder, 1, g.hash(), add)),
        ProtocolError::Ledger { .. }
    ));
    // A valid body with a broken signature.
    let mut e = entry(
        &phone,
        1,
        g.hash(),
        LedgerBody::ScopeKey {
            scope: Scope::Timeline,
            epoch: 1,
            wraps: vec![wrap(&maya.id)],
        },
    );
    e.sig.0[0] ^= 1;
    assert!(matches!(refused(e), ProtocolError::BadSignature { .. }));
    // Not following the entry before, or not the next index.
    let body = || LedgerBody::ScopeKey {
        scope: Scope::Timeline,
        epoch: 1,
        wraps: vec![wrap(&maya.id)],
    };
    refused(entry(&phone, 1, Hash32::ZERO, body()));
    refused(entry(&phone, 2, g.hash(), body()));
    // A key wrapped to an account that is not a member, or to nobody.
    refused(entry(
        &phone,
        1,
        g.hash(),
        LedgerBody::ScopeKey {
            scope: Scope::Timeline,
            epoch: 1,
            wraps: vec![wrap(&maya.id), wrap(&mallory.id)],
        },
    ));
    refused(entry(
        &phone,
        1,
        g.hash(),
        LedgerBody::ScopeKey {
            scope: Scope::Timeline,
            epoch: 1,
            wraps: vec![],
        },
    ));
    // Epoch 0, and then an epoch that goes down.
    refused(entry(
        &phone,
        1,
        g.hash(),
        LedgerBody::ScopeKey {
            scope: Scope::Timeline,
            epoch: 0,
            wraps: vec![wrap(&maya.id)],
        },
    ));
    let mut s = state.clone();
    let two = entry(
        &phone,
        1,
        g.hash(),
        LedgerBody::ScopeKey {
            scope: Scope::Timeline,
            epoch: 2,
            wraps: vec![wrap(&maya.id)],
        },
    );
    s.apply(&two).unwrap();
    let one = entry(
        &phone,
        2,
        two.hash(),
        LedgerBody::ScopeKey {
            scope: Scope::Timeline,
            epoch: 1,
            wraps: vec![wrap(&maya.id)],
        },
    );
    assert!(s.apply(&one).is_err());
    // Another version.
    let mut old = entry(&phone, 1, g.hash(), body());
    old.v = 0;
    old.sig = Sig64(phone.key.sign(&old.signed_bytes()).to_bytes());
    assert_eq!(refused(old), ProtocolError::Version { found: 0 });
}

fn sealed(by: &TestDevice, seq: u64, prev: Hash32, body: &[u8]) -> Envelope {
    by.seal(&space(), seq, prev, body)
}

#[test]
fn a_devices_chain_shows_a_drop_a_replay_a_fork_and_a_tampered_body() {
    let maya = account(1);
    let phone = device(&maya, 11);
    let key = phone.cert.key;
    let one = sealed(&phone, 1, Hash32::ZERO, b"first");
    let two = sealed(&phone, 2, one.link(), b"second");
    let three = sealed(&phone, 3, two.link(), b"third");
    let mut at = ChainPoint::default();
    for e in [&one, &two, &three] {
        e.verify(&key).unwrap();
        at.check_next(&e.header).unwrap();
        at = ChainPoint::after(e);
    }
    let start = ChainPoint::default();
    assert!(start.check_next(&two.header).is_err(), "one dropped");
    let after_two = ChainPoint::after(&two);
    assert!(after_two.check_next(&two.header).is_err(), "a replay");
    let fork = sealed(&phone, 3, one.link(), b"other third");
    assert!(after_two.check_next(&fork.header).is_err(), "a fork");
    // The head verifies on its own and points where the chain ends.
    let head = three.head();
    head.verify(&key).unwrap();
    assert_eq!(head.point(), ChainPoint::after(&three));
    // A changed body or header no longer verifies.
    let mut tampered = two.clone();
    tampered.ct.0[0] ^= 1;
    assert!(tampered.verify(&key).is_err());
    let mut moved = two.clone();
    moved.header.scope = Scope::Documents;
    assert!(moved.verify(&key).is_err());
    let mut renumbered = head.clone();
    renumbered.header.seq = 9;
    assert!(renumbered.verify(&key).is_err());
}

#[test]
fn malformed_bytes_are_a_typed_error() {
    let e: Result<LedgerEntry> = from_cbor(&[0xff, 0x00, 0x13], "ledger entry");
    assert!(matches!(e, Err(ProtocolError::Malformed { .. })));
    let maya = account(1);
    let bytes = to_cbor(&maya.record);
    let cut: Result<AccountRecord> = from_cbor(&bytes[..bytes.len() - 3], "account");
    assert!(matches!(cut, Err(ProtocolError::Malformed { .. })));
}
