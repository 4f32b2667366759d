//! Spaces, ledgers and envelopes: the path a patient's devices take, and what the relay refuses
//! along it — forks, gaps, forged genesis and ledger entries, batches from the wrong device.

use cairn_protocol::api::{
    AppendLedger, CreateSpace, ErrorCode, LedgerPage, MAX_PUSH_ENVELOPES, PullPage, PushRequest,
    PushResponse, paths,
};
use cairn_protocol::{
    ByteBuf, ChainPoint, Envelope, Hash32, Key32, KeyWrap, LedgerBody, LedgerEntry, LedgerState,
    Scope,
};

use crate::fixture::{Patient, TestRelay, account, device, space_of};

fn push(
    relay: &TestRelay,
    token: &str,
    space: &cairn_protocol::SpaceId,
    envelopes: &[Envelope],
) -> crate::fixture::Reply {
    relay.post(
        &paths::envelopes(space),
        Some(token),
        &PushRequest {
            envelopes: envelopes.to_vec(),
        },
    )
}

fn pull(
    relay: &TestRelay,
    token: &str,
    space: &cairn_protocol::SpaceId,
    after: u64,
    limit: u32,
) -> PullPage {
    relay
        .get(
            &format!("{}?after={after}&limit={limit}", paths::envelopes(space)),
            Some(token),
        )
        .ok()
}

fn meds_key(maya: &Patient, index: u64, prev: Hash32) -> LedgerEntry {
    maya.phone.entry(
        &maya.space,
        index,
        prev,
        LedgerBody::ScopeKey {
            scope: Scope::Meds,
            epoch: 1,
            wraps: vec![KeyWrap {
                account: maya.account.id.clone(),
                enc: Key32([7; 32]),
                ct: ByteBuf(vec![1; 48]),
            }],
        },
    )
}

#[test]
fn a_patients_phone_and_tablet_share_a_space_through_the_relay() {
    let relay = TestRelay::start();
    let maya = Patient::signs_up(&relay, 1);
    let (tablet, tablet_token) = maya.adds_device(&relay, 2);
    let space = &maya.space;

    // The phone writes the meds key and certifies the tablet on the ledger.
    let key = meds_key(&maya, 1, maya.genesis.hash());
    relay
        .post(
            &paths::ledger(space),
            Some(&maya.token),
            &AppendLedger { entry: key.clone() },
        )
        .done();
    let add = tablet.entry(
        space,
        2,
        key.hash(),
        LedgerBody::AddDevice {
            cert: tablet.cert.clone(),
        },
    );
    relay
        .post(
            &paths::ledger(space),
            Some(&tablet_token),
            &AppendLedger { entry: add.clone() },
        )
        .done();
    let ledger: LedgerPage = relay
        .get(
            &format!("{}?from=0", paths::ledger(space)),
            Some(&tablet_token),
        )
        .ok();
    assert_eq!(ledger.len, 3);
    assert_eq!(ledger.entries, vec![maya.genesis.clone(), key, add.clone()]);
    // The tablet replays it and trusts the owner key it knows.
    let state = LedgerState::replay(&ledger.entries, Some(&maya.account.record.sign)).unwrap();
    assert!(state.batch_key(&tablet.id, 1).is_some());
    let tail: LedgerPage = relay
        .get(
            &format!("{}?from=2", paths::ledger(space)),
            Some(&maya.token),
        )
        .ok();
    assert_eq!(tail.entries, vec![add]);
    assert_eq!(tail.len, 3);

    // Both devices push.
    let phone_batches = maya
        .phone
        .chain(space, &[b"dose taken", b"dose skipped", b"refill"]);
    let reply: PushResponse = push(&relay, &maya.token, space, &phone_batches).ok();
    assert_eq!(
        reply
            .accepted
            .iter()
            .map(|a| (a.device_seq, a.seq))
            .collect::<Vec<_>>(),
        vec![(1, 1), (2, 2), (3, 3)]
    );
    assert_eq!(reply.server_time_ms, relay.now());
    let tablet_batches = tablet.chain(space, &[b"symptom", b"note"]);
    let reply: PushResponse = push(&relay, &tablet_token, space, &tablet_batches).ok();
    assert_eq!(
        reply.accepted.iter().map(|a| a.seq).collect::<Vec<_>>(),
        vec![4, 5]
    );

    // The tablet pulls everything, two at a time.
    let mut after = 0;
    let mut got = Vec::new();
    loop {
        let page = pull(&relay, &tablet_token, space, after, 2);
        assert_eq!(page.ledger_len, 3);
        assert_eq!(page.server_time_ms, relay.now());
        got.extend(page.envelopes.iter().map(|s| (s.seq, s.envelope.clone())));
        after = page.next_after;
        // Heads name each device's newest batch, verify on their own, and match the chain.
        let mut heads = page.heads.clone();
        heads.sort_by(|a, b| a.header.device.cmp(&b.header.device));
        assert_eq!(
            heads,
            vec![phone_batches[2].head(), tablet_batches[1].head()]
        );
        heads[0].verify(&maya.phone.cert.key).unwrap();
        heads[1].verify(&tablet.cert.key).unwrap();
        if !page.more {
            break;
        }
        assert_eq!(page.envelopes.len(), 2);
    }
    assert_eq!(after, 5);
    let expected: Vec<(u64, Envelope)> = phone_batches
        .iter()
        .chain(&tablet_batches)
        .cloned()
        .enumerate()
        .map(|(i, e)| (i as u64 + 1, e))
        .collect();
    assert_eq!(got, expected);
    // Each device's chain checks out as a client checks it.
    let mut at = ChainPoint::default();
    for (_, e) in got.iter().filter(|(_, e)| e.header.device == maya.phone.id) {
        at.check_next(&e.header).unwrap();
        e.verify(&maya.phone.cert.key).unwrap();
        at = ChainPoint::after(e);
    }
    assert_eq!(at, phone_batches[2].head().point());

    // Past the end: nothing, and the cursor stays.
    let page = pull(&relay, &maya.token, space, 5, 10);
    assert!(page.envelopes.is_empty() && !page.more);
    assert_eq!(page.next_after, 5);
}

#[test]
fn pushing_the_same_batches_again_answers_the_same_places() {
    let relay = TestRelay::start();
    let maya = Patient::signs_up(&relay, 1);
    let space = &maya.space;
    let batches = maya.phone.chain(space, &[b"one", b"two", b"three"]);
    let first: PushResponse = push(&relay, &maya.token, space, &batches[..2]).ok();
    let again: PushResponse = push(&relay, &maya.token, space, &batches[..2]).ok();
    assert_eq!(again.accepted, first.accepted);
    // A push that repeats the last batch and continues.
    let on: PushResponse = push(&relay, &maya.token, space, &batches[1..]).ok();
    assert_eq!(
        on.accepted
            .iter()
            .map(|a| (a.device_seq, a.seq))
            .collect::<Vec<_>>(),
        vec![(2, 2), (3, 3)]
    );
    assert_eq!(pull(&relay, &maya.token, space, 0, 100).envelopes.len(), 3);
}

#[test]
fn a_fork_or_a_gap_in_a_devices_chain_is_a_conflict_and_stores_nothing() {
    let relay = TestRelay::start();
    let maya = Patient::signs_up(&relay, 1);
    let space = &maya.space;
    let batches = maya.phone.chain(space, &[b"one", b"two", b"three"]);
    push(&relay, &maya.token, space, &batches[..2]).done();

    let fork = maya.phone.seal(space, 2, batches[0].link(), b"another two");
    push(&relay, &maya.token, space, &[fork]).refused(409, ErrorCode::Conflict);
    let gap = maya.phone.seal(space, 5, Hash32([5; 32]), b"five");
    push(&relay, &maya.token, space, std::slice::from_ref(&gap)).refused(409, ErrorCode::Conflict);
    // A good batch with the gap after it: neither is stored.
    push(&relay, &maya.token, space, &[batches[2].clone(), gap]).refused(409, ErrorCode::Conflict);
    let page = pull(&relay, &maya.token, space, 0, 100);
    assert_eq!(page.envelopes.len(), 2);
    assert_eq!(page.heads, vec![batches[1].head()]);
}

#[test]
fn a_batch_the_ledger_does_not_vouch_for_is_refused() {
    let relay = TestRelay::start();
    let maya = Patient::signs_up(&relay, 1);
    let (tablet, tablet_token) = maya.adds_device(&relay, 2);
    let space = &maya.space;

    // Tampered after signing.
    let mut tampered = maya.phone.seal(space, 1, Hash32::ZERO, b"sealed");
    tampered.ct.0[0] ^= 1;
    push(&relay, &maya.token, space, &[tampered]).refused(400, ErrorCode::Invalid);
    // Another device's batch, pushed with the phone's token.
    let tablets = tablet.seal(space, 1, Hash32::ZERO, b"sealed");
    push(&relay, &maya.token, space, std::slice::from_ref(&tablets))
        .refused(403, ErrorCode::Forbidden);
    // The tablet's own, before the ledger certifies it.
    push(&relay, &tablet_token, space, &[tablets]).refused(403, ErrorCode::Forbidden);
    // Named for another space.
    let elsewhere = maya.phone.seal(&space_of(9), 1, Hash32::ZERO, b"sealed");
    push(&relay, &maya.token, space, &[elsewhere]).refused(400, ErrorCode::Invalid);
    // An unknown space.
    push(&relay, &maya.token, &space_of(9), &[]).refused(404, ErrorCode::NotFound);

    // Revoked on the ledger after batch 1: batch 1 is taken, batch 2 is not.
    let add = tablet.entry(
        space,
        1,
        maya.genesis.hash(),
        LedgerBody::AddDevice {
            cert: tablet.cert.clone(),
        },
    );
    let revoke = maya.phone.entry(
        space,
        2,
        add.hash(),
        LedgerBody::RevokeDevice {
            device: tablet.id.clone(),
            last_seq: 1,
        },
    );
    relay
        .post(
            &paths::ledger(space),
            Some(&maya.token),
            &AppendLedger { entry: add },
        )
        .done();
    let tablet_batches = tablet.chain(space, &[b"one", b"two"]);
    push(&relay, &tablet_token, space, &tablet_batches[..1]).done();
    relay
        .post(
            &paths::ledger(space),
            Some(&maya.token),
            &AppendLedger { entry: revoke },
        )
        .done();
    // Revoked on the ledger, the tablet may not even read the space any more.
    push(&relay, &tablet_token, space, &tablet_batches[1..]).refused(403, ErrorCode::Forbidden);
    relay
        .get(&paths::envelopes(space), Some(&tablet_token))
        .refused(403, ErrorCode::Forbidden);
}

#[test]
fn forged_genesis_entries_are_refused() {
    let relay = TestRelay::start();
    let maya = Patient::signs_up(&relay, 1);
    let mallory = account(3);
    let mallorys_phone = device(&mallory, 3);
    let create = |genesis: LedgerEntry| {
        relay.post(paths::SPACES, Some(&maya.token), &CreateSpace { genesis })
    };
    let space = space_of(2);

    // Written by another device than the caller.
    create(mallorys_phone.entry(
        &space,
        0,
        Hash32::ZERO,
        LedgerBody::Genesis {
            owner: mallory.record.clone(),
            device: mallorys_phone.cert.clone(),
        },
    ))
    .refused(403, ErrorCode::Forbidden);
    // Naming another owner account than the caller's.
    let mallorys_cert_for_maya_phone = {
        let mut d = device(&mallory, 1);
        d.cert.device = maya.phone.id.clone();
        d
    };
    create(maya.phone.entry(
        &space,
        0,
        Hash32::ZERO,
        LedgerBody::Genesis {
            owner: mallory.record.clone(),
            device: mallorys_cert_for_maya_phone.cert,
        },
    ))
    .refused(400, ErrorCode::Invalid);
    // A broken signature.
    let mut broken = maya.phone.entry(
        &space,
        0,
        Hash32::ZERO,
        LedgerBody::Genesis {
            owner: maya.account.record.clone(),
            device: maya.phone.cert.clone(),
        },
    );
    broken.sig.0[3] ^= 1;
    create(broken).refused(400, ErrorCode::Invalid);
    // Not a genesis entry, or not entry 0.
    create(meds_key(&maya, 0, Hash32::ZERO)).refused(400, ErrorCode::Invalid);
    create(maya.phone.entry(
        &space,
        1,
        Hash32::ZERO,
        LedgerBody::Genesis {
            owner: maya.account.record.clone(),
            device: maya.phone.cert.clone(),
        },
    ))
    .refused(400, ErrorCode::Invalid);

    // The identical genesis again is no change; another one for the same space is a conflict.
    create(maya.genesis.clone()).done();
    let mut again = maya.genesis.clone();
    again.body = LedgerBody::Genesis {
        owner: maya.account.record.clone(),
        device: {
            let mut cert = maya.phone.cert.clone();
            cert.issued_ms = 2;
            cert.account_sig = cairn_protocol::Sig64(
                ed25519_dalek::Signer::sign(
                    &maya.account.key,
                    &cairn_protocol::DeviceCert::account_signs(
                        &maya.account.id,
                        &maya.phone.id,
                        &cert.key,
                        2,
                    ),
                )
                .to_bytes(),
            );
            cert
        },
    };
    again.sig = cairn_protocol::Sig64(
        ed25519_dalek::Signer::sign(&maya.phone.key, &again.signed_bytes()).to_bytes(),
    );
    create(again).refused(409, ErrorCode::Conflict);
    relay
        .get(&paths::ledger(&space), Some(&maya.token))
        .refused(404, ErrorCode::NotFound);
}

#[test]
fn forged_or_misplaced_ledger_entries_are_refused_and_change_nothing() {
    let relay = TestRelay::start();
    let maya = Patient::signs_up(&relay, 1);
    let mallory = Patient::signs_up(&relay, 3);
    let space = &maya.space;
    let append = |token: &str, entry: LedgerEntry| {
        relay.post(&paths::ledger(space), Some(token), &AppendLedger { entry })
    };

    let mut broken = meds_key(&maya, 1, maya.genesis.hash());
    broken.sig.0[0] ^= 1;
    append(&maya.token, broken).refused(400, ErrorCode::Invalid);
    // Mallory's device introducing itself into Maya's space, sent by Maya's phone.
    let intruder = mallory.phone.entry(
        space,
        1,
        maya.genesis.hash(),
        LedgerBody::AddDevice {
            cert: mallory.phone.cert.clone(),
        },
    );
    append(&maya.token, intruder).refused(400, ErrorCode::Invalid);
    // Not following the entry before.
    append(&maya.token, meds_key(&maya, 1, Hash32::ZERO)).refused(400, ErrorCode::Invalid);
    // Not at the ledger's length.
    append(&maya.token, meds_key(&maya, 2, maya.genesis.hash())).refused(409, ErrorCode::Conflict);
    append(&maya.token, maya.genesis.clone()).refused(409, ErrorCode::Conflict);
    // Another space's entry on this space's path.
    let mut moved = meds_key(&maya, 1, maya.genesis.hash());
    moved.space = mallory.space.clone();
    append(&maya.token, moved).refused(400, ErrorCode::Invalid);

    let page: LedgerPage = relay.get(&paths::ledger(space), Some(&maya.token)).ok();
    assert_eq!(page.entries, vec![maya.genesis.clone()]);

    let key = meds_key(&maya, 1, maya.genesis.hash());
    append(&maya.token, key.clone()).done();
    append(&maya.token, key).refused(409, ErrorCode::Conflict);
}

#[test]
fn a_push_is_bounded_in_envelopes() {
    let relay = TestRelay::start();
    let maya = Patient::signs_up(&relay, 1);
    let space = &maya.space;
    let cts: Vec<Vec<u8>> = (0..=MAX_PUSH_ENVELOPES).map(|i| vec![i as u8; 8]).collect();
    let refs: Vec<&[u8]> = cts.iter().map(Vec::as_slice).collect();
    let batches = maya.phone.chain(space, &refs);
    push(&relay, &maya.token, space, &batches).refused(413, ErrorCode::TooLarge);
    let reply: PushResponse = push(&relay, &maya.token, space, &batches[..MAX_PUSH_ENVELOPES]).ok();
    assert_eq!(reply.accepted.len(), MAX_PUSH_ENVELOPES);
    // Pull's default page is 500, its largest 1000: a limit above is cut to it.
    let page = pull(&relay, &maya.token, space, 0, 5_000);
    assert_eq!(page.envelopes.len(), MAX_PUSH_ENVELOPES);
}
