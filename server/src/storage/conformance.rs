//! The suite every [`Storage`] backend passes: each function takes a fresh, empty storage and
//! panics on the first rule it breaks. [`crate::storage_conformance_tests!`] makes one test of
//! each for a backend.
//!
//! Storage checks no signature, so the structures here carry none that verify: what is tested
//! is what storage alone must hold — idempotency, conflicts, the chain and sequence rules,
//! quotas, expiry and single use.

use std::collections::BTreeMap;
use std::sync::Arc;

use cairn_protocol::api::LinkSide;
use cairn_protocol::{
    AccountId, AccountRecord, ByteBuf, DeviceCert, DeviceId, Envelope, EnvelopeHeader, Hash32,
    KemKey, Key32, LedgerBody, LedgerEntry, Nonce24, PROTOCOL_VERSION, Scope, Sig64, SpaceId,
    VerifyKey,
};

use super::{BlobRecord, Put, Storage, StorageError};

/// Makes one `#[tokio::test]` per conformance function for a backend; `$open` is an expression
/// giving `(Arc<dyn Storage>, guard)`, a fresh empty storage and whatever keeps it alive.
#[macro_export]
macro_rules! storage_conformance_tests {
    ($open:expr) => {
        $crate::storage_conformance_tests!(@each $open;
            accounts_and_devices_round_trip,
            push_is_idempotent,
            push_refuses_forks_and_gaps_and_stores_nothing_of_the_batch,
            space_sequence_has_no_gaps_under_concurrent_pushers,
            ledger_appends_conflict_unless_next,
            pull_pages_by_count_and_bytes_and_reports_heads,
            blobs_resume_complete_and_keep_to_their_quota,
            tokens_and_challenges_expire_and_challenges_are_single_use,
            link_slots_hold_a_bounded_number_of_messages_until_they_expire,
            stats_count_what_is_stored,
        );
    };
    (@each $open:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let (storage, _guard) = $open;
                $crate::storage::conformance::$name(storage).await;
            }
        )*
    };
}

fn account_id(n: u8) -> AccountId {
    AccountId::parse(&format!("{n:08x}-0000-4000-8000-000000000000")).expect("a valid id")
}

fn device_id(n: u32) -> DeviceId {
    DeviceId::parse(&format!("{n:032x}")).expect("a valid id")
}

fn space_id(n: u8) -> SpaceId {
    SpaceId::parse(&format!("{n:08x}-5555-4000-8000-000000000000")).expect("a valid id")
}

fn record(n: u8) -> AccountRecord {
    AccountRecord {
        v: PROTOCOL_VERSION,
        account: account_id(n),
        sign: VerifyKey(Key32([n; 32])),
        kem: KemKey(Key32([n.wrapping_add(1); 32])),
        sig: Sig64([n; 64]),
    }
}

fn cert(account: u8, device: u32) -> DeviceCert {
    DeviceCert {
        v: PROTOCOL_VERSION,
        account: account_id(account),
        device: device_id(device),
        key: VerifyKey(Key32([device as u8; 32])),
        issued_ms: 1,
        account_sig: Sig64([1; 64]),
        device_sig: Sig64([2; 64]),
    }
}

fn genesis(space: u8, account: u8, device: u32) -> LedgerEntry {
    LedgerEntry {
        v: PROTOCOL_VERSION,
        space: space_id(space),
        index: 0,
        prev: Hash32::ZERO,
        author: device_id(device),
        body: LedgerBody::Genesis {
            owner: record(account),
            device: cert(account, device),
        },
        sig: Sig64([3; 64]),
    }
}

fn ledger_entry(space: u8, index: u64, device: u32) -> LedgerEntry {
    LedgerEntry {
        v: PROTOCOL_VERSION,
        space: space_id(space),
        index,
        prev: Hash32([index as u8; 32]),
        author: device_id(device),
        body: LedgerBody::RevokeDevice {
            device: device_id(999),
            last_seq: index,
        },
        sig: Sig64([4; 64]),
    }
}

/// A device's chain of envelopes in a space, each naming the one before.
fn chain(space: &SpaceId, device: &DeviceId, bodies: &[&[u8]]) -> Vec<Envelope> {
    let mut prev = Hash32::ZERO;
    bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            let e = envelope(space, device, i as u64 + 1, prev, body);
            prev = e.link();
            e
        })
        .collect()
}

fn envelope(space: &SpaceId, device: &DeviceId, seq: u64, prev: Hash32, body: &[u8]) -> Envelope {
    Envelope {
        header: EnvelopeHeader {
            v: PROTOCOL_VERSION,
            space: space.clone(),
            scope: Scope::Meds,
            epoch: 1,
            device: device.clone(),
            seq,
            prev,
        },
        nonce: Nonce24([seq as u8; 24]),
        ct: ByteBuf(body.to_vec()),
        sig: Sig64([5; 64]),
    }
}

async fn space_with_owner(storage: &dyn Storage, space: u8) -> SpaceId {
    storage
        .create_account(&record(space), &cert(space, u32::from(space)))
        .await
        .expect("the account is stored");
    storage
        .create_space(&genesis(space, space, u32::from(space)))
        .await
        .expect("the space is stored");
    space_id(space)
}

/// Accounts and devices come back as stored; the same record again changes nothing, another
/// under a taken id is a conflict; revocation shows.
pub async fn accounts_and_devices_round_trip(storage: Arc<dyn Storage>) {
    let s = storage.as_ref();
    assert_eq!(
        s.create_account(&record(1), &cert(1, 10)).await.unwrap(),
        Put::Created
    );
    assert_eq!(
        s.create_account(&record(1), &cert(1, 10)).await.unwrap(),
        Put::Existing
    );
    let mut other = record(1);
    other.kem = KemKey(Key32([99; 32]));
    assert!(matches!(
        s.create_account(&other, &cert(1, 10)).await,
        Err(StorageError::Conflict(_))
    ));
    assert_eq!(s.account(&account_id(1)).await.unwrap(), Some(record(1)));
    assert_eq!(s.account(&account_id(2)).await.unwrap(), None);

    assert_eq!(s.register_device(&cert(1, 11)).await.unwrap(), Put::Created);
    assert_eq!(
        s.register_device(&cert(1, 11)).await.unwrap(),
        Put::Existing
    );
    let mut reissued = cert(1, 11);
    reissued.issued_ms = 2;
    assert!(matches!(
        s.register_device(&reissued).await,
        Err(StorageError::Conflict(_))
    ));
    assert!(matches!(
        s.register_device(&cert(2, 20)).await,
        Err(StorageError::NotFound(_))
    ));
    // A device id belongs to one account.
    s.create_account(&record(3), &cert(3, 30)).await.unwrap();
    assert!(matches!(
        s.register_device(&cert(3, 11)).await,
        Err(StorageError::Conflict(_))
    ));

    let devices = s.account_devices(&account_id(1)).await.unwrap();
    let ids: Vec<_> = devices.iter().map(|d| d.cert.device.clone()).collect();
    assert_eq!(ids, vec![device_id(10), device_id(11)]);
    assert!(
        devices
            .iter()
            .all(|d| !d.revoked && d.last_seen_ms.is_none())
    );
    assert_eq!(
        s.device(&device_id(11)).await.unwrap().map(|d| d.cert),
        Some(cert(1, 11))
    );
    assert_eq!(s.device(&device_id(12)).await.unwrap(), None);

    s.put_token(&Hash32([1; 32]), &device_id(11), 1_000, 500)
        .await
        .unwrap();
    let seen = s.device(&device_id(11)).await.unwrap().unwrap();
    assert_eq!(seen.last_seen_ms, Some(500));

    s.revoke_device(&device_id(11)).await.unwrap();
    assert!(s.device(&device_id(11)).await.unwrap().unwrap().revoked);
    assert!(!s.device(&device_id(10)).await.unwrap().unwrap().revoked);
    assert!(matches!(
        s.revoke_device(&device_id(12)).await,
        Err(StorageError::NotFound(_))
    ));
}

/// Pushing envelopes already stored answers their places again and stores nothing twice; a
/// push may repeat the end of the chain and continue it.
pub async fn push_is_idempotent(storage: Arc<dyn Storage>) {
    let s = storage.as_ref();
    let space = space_with_owner(s, 1).await;
    let phone = device_id(1);
    let batches = chain(&space, &phone, &[b"one", b"two", b"three"]);

    let first = s.push(&space, &phone, batches[..2].to_vec()).await.unwrap();
    assert_eq!(
        first
            .iter()
            .map(|a| (a.device_seq, a.seq))
            .collect::<Vec<_>>(),
        vec![(1, 1), (2, 2)]
    );
    let again = s.push(&space, &phone, batches[..2].to_vec()).await.unwrap();
    assert_eq!(again, first);
    let on = s.push(&space, &phone, batches[1..].to_vec()).await.unwrap();
    assert_eq!(
        on.iter().map(|a| (a.device_seq, a.seq)).collect::<Vec<_>>(),
        vec![(2, 2), (3, 3)]
    );
    let page = s.pull(&space, 0, 100, usize::MAX).await.unwrap();
    assert_eq!(page.envelopes.len(), 3, "nothing is stored twice");
    assert_eq!(
        page.envelopes
            .iter()
            .map(|e| e.envelope.clone())
            .collect::<Vec<_>>(),
        batches
    );
    // An empty push stores nothing and answers nothing.
    assert!(s.push(&space, &phone, vec![]).await.unwrap().is_empty());
}

/// Another batch at a stored place (a fork), a batch after a hole (a gap) and a batch naming
/// the wrong predecessor are conflicts, and the whole push they came in is not stored.
pub async fn push_refuses_forks_and_gaps_and_stores_nothing_of_the_batch(
    storage: Arc<dyn Storage>,
) {
    let s = storage.as_ref();
    let space = space_with_owner(s, 1).await;
    let phone = device_id(1);
    let batches = chain(&space, &phone, &[b"one", b"two", b"three"]);
    s.push(&space, &phone, batches[..2].to_vec()).await.unwrap();

    let fork = envelope(&space, &phone, 2, batches[0].link(), b"another two");
    assert!(matches!(
        s.push(&space, &phone, vec![fork]).await,
        Err(StorageError::Conflict(_))
    ));
    let gap = envelope(&space, &phone, 4, batches[2].link(), b"four");
    assert!(matches!(
        s.push(&space, &phone, vec![gap]).await,
        Err(StorageError::Conflict(_))
    ));
    let wrong_prev = envelope(&space, &phone, 3, batches[0].link(), b"three");
    assert!(matches!(
        s.push(&space, &phone, vec![wrong_prev]).await,
        Err(StorageError::Conflict(_))
    ));
    let zero = envelope(&space, &phone, 0, Hash32::ZERO, b"zero");
    assert!(matches!(
        s.push(&space, &phone, vec![zero]).await,
        Err(StorageError::Conflict(_))
    ));
    // A good batch followed by a fork: neither is stored.
    let fork_after = envelope(&space, &phone, 4, batches[0].link(), b"four");
    assert!(matches!(
        s.push(&space, &phone, vec![batches[2].clone(), fork_after])
            .await,
        Err(StorageError::Conflict(_))
    ));
    let page = s.pull(&space, 0, 100, usize::MAX).await.unwrap();
    assert_eq!(page.envelopes.len(), 2);
    assert_eq!(
        s.heads(&space).await.unwrap(),
        vec![batches[1].head()],
        "the head did not move"
    );
    // The refused push did not use up a sequence number.
    let third = s
        .push(&space, &phone, vec![batches[2].clone()])
        .await
        .unwrap();
    assert_eq!(third[0].seq, 3);
    assert!(matches!(
        s.push(&space_id(9), &phone, chain(&space_id(9), &phone, &[b"x"]))
            .await,
        Err(StorageError::NotFound(_))
    ));
}

/// Fifty devices pushing at once get space sequence numbers 1…N with none skipped or
/// repeated, and each device's batches keep their chain order.
pub async fn space_sequence_has_no_gaps_under_concurrent_pushers(storage: Arc<dyn Storage>) {
    const PUSHERS: u32 = 50;
    const BATCHES: usize = 4;
    let space = space_with_owner(storage.as_ref(), 1).await;
    let mut tasks = Vec::new();
    for n in 0..PUSHERS {
        let storage = storage.clone();
        let space = space.clone();
        tasks.push(tokio::spawn(async move {
            let device = device_id(1000 + n);
            let bodies: Vec<Vec<u8>> = (0..BATCHES).map(|i| vec![n as u8, i as u8]).collect();
            let refs: Vec<&[u8]> = bodies.iter().map(Vec::as_slice).collect();
            let batches = chain(&space, &device, &refs);
            let mut seqs = Vec::new();
            // Two pushes each, so pushers interleave.
            for half in batches.chunks(BATCHES / 2) {
                let accepted = storage.push(&space, &device, half.to_vec()).await.unwrap();
                seqs.extend(accepted.iter().map(|a| a.seq));
            }
            seqs
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        let seqs = task.await.expect("a pusher finished");
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "a device's batches keep their order"
        );
        all.extend(seqs);
    }
    all.sort_unstable();
    let total = PUSHERS as u64 * BATCHES as u64;
    assert_eq!(all, (1..=total).collect::<Vec<_>>());

    let page = storage.pull(&space, 0, 1000, usize::MAX).await.unwrap();
    let seqs: Vec<u64> = page.envelopes.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=total).collect::<Vec<_>>());
    let mut next: BTreeMap<DeviceId, u64> = BTreeMap::new();
    for stored in &page.envelopes {
        let at = next
            .entry(stored.envelope.header.device.clone())
            .or_insert(1);
        assert_eq!(
            stored.envelope.header.seq, *at,
            "chain order within the space"
        );
        *at += 1;
    }
    assert_eq!(storage.heads(&space).await.unwrap().len(), PUSHERS as usize);
}

/// A space's genesis is stored once; an entry is appended only at the ledger's length.
pub async fn ledger_appends_conflict_unless_next(storage: Arc<dyn Storage>) {
    let s = storage.as_ref();
    s.create_account(&record(1), &cert(1, 1)).await.unwrap();
    let g = genesis(1, 1, 1);
    assert_eq!(s.create_space(&g).await.unwrap(), Put::Created);
    assert_eq!(s.create_space(&g).await.unwrap(), Put::Existing);
    let mut other = g.clone();
    other.sig = Sig64([9; 64]);
    assert!(matches!(
        s.create_space(&other).await,
        Err(StorageError::Conflict(_))
    ));
    assert_eq!(s.spaces().await.unwrap(), vec![space_id(1)]);

    s.append_ledger(&ledger_entry(1, 1, 1)).await.unwrap();
    assert!(matches!(
        s.append_ledger(&ledger_entry(1, 1, 1)).await,
        Err(StorageError::Conflict(_))
    ));
    assert!(matches!(
        s.append_ledger(&ledger_entry(1, 3, 1)).await,
        Err(StorageError::Conflict(_))
    ));
    s.append_ledger(&ledger_entry(1, 2, 1)).await.unwrap();
    assert!(matches!(
        s.append_ledger(&ledger_entry(2, 1, 1)).await,
        Err(StorageError::NotFound(_))
    ));

    let all = s.ledger(&space_id(1), 0).await.unwrap();
    assert_eq!(all, vec![g, ledger_entry(1, 1, 1), ledger_entry(1, 2, 1)]);
    let tail = s.ledger(&space_id(1), 2).await.unwrap();
    assert_eq!(tail, vec![ledger_entry(1, 2, 1)]);
    assert!(s.ledger(&space_id(1), 3).await.unwrap().is_empty());
    assert!(matches!(
        s.ledger(&space_id(2), 0).await,
        Err(StorageError::NotFound(_))
    ));
}

/// Pull pages by count and by bytes, always moves forward by at least one envelope, says
/// whether more follow, and heads name each device's newest batch.
pub async fn pull_pages_by_count_and_bytes_and_reports_heads(storage: Arc<dyn Storage>) {
    let s = storage.as_ref();
    let space = space_with_owner(s, 1).await;
    let (phone, tablet) = (device_id(1), device_id(2));
    let phone_batches = chain(&space, &phone, &[&[1; 100], &[2; 100], &[3; 100]]);
    let tablet_batches = chain(&space, &tablet, &[&[4; 100], &[5; 100]]);
    s.push(&space, &phone, phone_batches[..2].to_vec())
        .await
        .unwrap();
    s.push(&space, &tablet, tablet_batches.clone())
        .await
        .unwrap();
    s.push(&space, &phone, phone_batches[2..].to_vec())
        .await
        .unwrap();

    let mut after = 0;
    let mut pages = Vec::new();
    loop {
        let page = s.pull(&space, after, 2, usize::MAX).await.unwrap();
        let seqs: Vec<u64> = page.envelopes.iter().map(|e| e.seq).collect();
        pages.push(seqs.clone());
        if !page.more {
            break;
        }
        after = *seqs.last().expect("a page with more after it is not empty");
    }
    assert_eq!(pages, vec![vec![1, 2], vec![3, 4], vec![5]]);

    // A byte budget smaller than one envelope still gives one.
    let page = s.pull(&space, 0, 100, 1).await.unwrap();
    assert_eq!(page.envelopes.len(), 1);
    assert!(page.more);
    let page = s.pull(&space, 5, 100, usize::MAX).await.unwrap();
    assert!(page.envelopes.is_empty() && !page.more);

    let mut heads = s.heads(&space).await.unwrap();
    heads.sort_by(|a, b| a.header.device.cmp(&b.header.device));
    assert_eq!(
        heads,
        vec![phone_batches[2].head(), tablet_batches[1].head()]
    );
    assert!(matches!(
        s.pull(&space_id(9), 0, 10, usize::MAX).await,
        Err(StorageError::NotFound(_))
    ));
}

/// A blob upload continues only where it stands, counts against its space's quota while
/// partial, becomes read-only once complete, and can be dropped.
pub async fn blobs_resume_complete_and_keep_to_their_quota(storage: Arc<dyn Storage>) {
    let s = storage.as_ref();
    let space = space_with_owner(s, 1).await;
    let other_space = space_with_owner(s, 2).await;
    let (a, b) = (Hash32([0xa; 32]), Hash32([0xb; 32]));
    let quota = 100;

    assert_eq!(s.blob(&space, &a).await.unwrap(), None);
    assert!(matches!(
        s.advance_blob(&space, &a, 10, 20, quota).await,
        Err(StorageError::Conflict(_))
    ));
    s.advance_blob(&space, &a, 0, 40, quota).await.unwrap();
    assert!(matches!(
        s.advance_blob(&space, &a, 0, 40, quota).await,
        Err(StorageError::Conflict(_))
    ));
    assert!(matches!(
        s.advance_blob(&space, &a, 30, 50, quota).await,
        Err(StorageError::Conflict(_))
    ));
    s.advance_blob(&space, &a, 40, 60, quota).await.unwrap();
    assert_eq!(
        s.blob(&space, &a).await.unwrap(),
        Some(BlobRecord {
            received: 60,
            complete: false
        })
    );
    // Partial uploads count: 60 + 50 is over 100, in this space only.
    assert!(matches!(
        s.advance_blob(&space, &b, 0, 50, quota).await,
        Err(StorageError::QuotaExceeded)
    ));
    s.advance_blob(&other_space, &b, 0, 50, quota)
        .await
        .unwrap();
    s.advance_blob(&space, &b, 0, 40, quota).await.unwrap();
    assert_eq!(s.blob_usage(&space).await.unwrap(), 100);

    assert!(s.complete_blob(&space, &a, 59).await.is_err());
    s.complete_blob(&space, &a, 60).await.unwrap();
    assert_eq!(
        s.blob(&space, &a).await.unwrap(),
        Some(BlobRecord {
            received: 60,
            complete: true
        })
    );
    assert!(matches!(
        s.advance_blob(&space, &a, 60, 60, quota).await,
        Err(StorageError::Conflict(_))
    ));

    s.drop_blob(&space, &b).await.unwrap();
    assert_eq!(s.blob(&space, &b).await.unwrap(), None);
    assert_eq!(s.blob_usage(&space).await.unwrap(), 60);
    assert!(matches!(
        s.advance_blob(&space_id(9), &a, 0, 1, quota).await,
        Err(StorageError::NotFound(_))
    ));
}

/// A challenge is good once, for its device, before it expires; a token is good until it
/// expires and says when its device was revoked; sweeping forgets what expired.
pub async fn tokens_and_challenges_expire_and_challenges_are_single_use(storage: Arc<dyn Storage>) {
    let s = storage.as_ref();
    s.create_account(&record(1), &cert(1, 1)).await.unwrap();
    s.register_device(&cert(1, 2)).await.unwrap();
    let (phone, tablet) = (device_id(1), device_id(2));
    let nonce = |n: u8| Hash32([n; 32]);

    s.put_challenge(&phone, &nonce(1), 1_000).await.unwrap();
    assert!(
        !s.take_challenge(&tablet, &nonce(1), 10).await.unwrap(),
        "another device's"
    );
    assert!(
        !s.take_challenge(&phone, &nonce(1), 10).await.unwrap(),
        "a nonce tried once is gone, even by the wrong device"
    );
    s.put_challenge(&phone, &nonce(2), 1_000).await.unwrap();
    assert!(s.take_challenge(&phone, &nonce(2), 999).await.unwrap());
    assert!(
        !s.take_challenge(&phone, &nonce(2), 999).await.unwrap(),
        "single use"
    );
    s.put_challenge(&phone, &nonce(3), 1_000).await.unwrap();
    assert!(
        !s.take_challenge(&phone, &nonce(3), 1_000).await.unwrap(),
        "expired"
    );
    assert!(
        !s.take_challenge(&phone, &nonce(4), 0).await.unwrap(),
        "never issued"
    );

    let (t1, t2) = (Hash32([0x71; 32]), Hash32([0x72; 32]));
    s.put_token(&t1, &phone, 5_000, 100).await.unwrap();
    s.put_token(&t2, &tablet, 5_000, 100).await.unwrap();
    let owner = s.token(&t1, 4_999).await.unwrap().expect("a live token");
    assert_eq!(owner.device, phone);
    assert_eq!(owner.account, account_id(1));
    assert!(!owner.revoked);
    assert_eq!(s.token(&t1, 5_000).await.unwrap(), None, "expired");
    assert_eq!(s.token(&Hash32([0x73; 32]), 0).await.unwrap(), None);

    s.revoke_device(&tablet).await.unwrap();
    assert!(
        s.token(&t2, 100)
            .await
            .unwrap()
            .expect("still known")
            .revoked
    );

    s.put_challenge(&phone, &nonce(5), 6_000).await.unwrap();
    s.sweep(5_000).await.unwrap();
    assert_eq!(s.token(&t1, 0).await.unwrap(), None, "swept");
    assert!(
        s.take_challenge(&phone, &nonce(5), 5_500).await.unwrap(),
        "not yet expired"
    );
}

/// A link slot takes at most `max` messages a side, hands them out from an index, and is gone
/// once it expires.
pub async fn link_slots_hold_a_bounded_number_of_messages_until_they_expire(
    storage: Arc<dyn Storage>,
) {
    let s = storage.as_ref();
    let maya = account_id(1);
    s.open_link("ABCDEFGHJK", &maya, 1_000).await.unwrap();
    assert!(matches!(
        s.open_link("ABCDEFGHJK", &account_id(2), 1_000).await,
        Err(StorageError::Conflict(_))
    ));
    let slot = s.link_slot("ABCDEFGHJK", 10).await.unwrap().expect("open");
    assert_eq!(slot.account, maya);
    assert_eq!(slot.expires_ms, 1_000);
    assert_eq!(s.link_slot("ZZZZZZZZZZ", 10).await.unwrap(), None);

    for i in 0..3u8 {
        let at = s
            .post_link("ABCDEFGHJK", LinkSide::New, &[i; 5], 3, 10)
            .await
            .unwrap();
        assert_eq!(at, u32::from(i));
    }
    assert!(matches!(
        s.post_link("ABCDEFGHJK", LinkSide::New, b"more", 3, 10)
            .await,
        Err(StorageError::Conflict(_))
    ));
    s.post_link("ABCDEFGHJK", LinkSide::Existing, b"hello", 3, 10)
        .await
        .unwrap();
    let new_side = s
        .link_messages("ABCDEFGHJK", LinkSide::New, 1)
        .await
        .unwrap();
    assert_eq!(new_side, vec![ByteBuf(vec![1; 5]), ByteBuf(vec![2; 5])]);
    let existing_side = s
        .link_messages("ABCDEFGHJK", LinkSide::Existing, 0)
        .await
        .unwrap();
    assert_eq!(existing_side, vec![ByteBuf(b"hello".to_vec())]);

    assert_eq!(
        s.link_slot("ABCDEFGHJK", 1_000).await.unwrap(),
        None,
        "expired"
    );
    assert!(matches!(
        s.post_link("ABCDEFGHJK", LinkSide::Existing, b"late", 3, 1_000)
            .await,
        Err(StorageError::NotFound(_))
    ));
    s.sweep(1_000).await.unwrap();
    assert!(
        s.link_messages("ABCDEFGHJK", LinkSide::New, 0)
            .await
            .unwrap()
            .is_empty(),
        "an expired slot's messages are swept with it"
    );
    s.open_link("ABCDEFGHJK", &account_id(2), 2_000)
        .await
        .expect("a swept slot id is free again");
}

/// The totals follow what is stored.
pub async fn stats_count_what_is_stored(storage: Arc<dyn Storage>) {
    let s = storage.as_ref();
    assert_eq!(s.stats(0).await.unwrap(), Default::default());
    let space = space_with_owner(s, 1).await;
    let phone = device_id(1);
    let batches = chain(&space, &phone, &[&[1; 10], &[2; 20]]);
    s.push(&space, &phone, batches).await.unwrap();
    s.advance_blob(&space, &Hash32([1; 32]), 0, 77, 1_000)
        .await
        .unwrap();
    s.open_link("ABCDEFGHJK", &account_id(1), 1_000)
        .await
        .unwrap();
    let stats = s.stats(10).await.unwrap();
    assert_eq!(stats.envelopes, 2);
    assert!(stats.envelope_bytes > 30, "the envelopes' encoded size");
    assert_eq!(stats.blob_bytes, 77);
    assert_eq!(stats.link_slots, 1);
    assert_eq!(s.stats(1_000).await.unwrap().link_slots, 0);
}
