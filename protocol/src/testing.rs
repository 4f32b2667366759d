//! Accounts and devices with real keys from a seed byte, and what they sign: ledger entries,
//! envelopes, sign-in answers. For the protocol's own tests and the relay's (feature
//! `testing`); a client's keys come from `cairn-core`'s crypto, never from here.

use ed25519_dalek::{Signer, SigningKey};

use crate::api::TokenRequest;
use crate::{
    AccountId, AccountRecord, ByteBuf, DeviceCert, DeviceId, Envelope, EnvelopeHeader, Hash32,
    KemKey, Key32, LedgerBody, LedgerEntry, Nonce24, PROTOCOL_VERSION, Scope, Sig64, SpaceId,
    VerifyKey,
};

/// An account's keys.
pub struct TestAccount {
    /// Its id.
    pub id: AccountId,
    /// Its signing key.
    pub key: SigningKey,
    /// Its signed record.
    pub record: AccountRecord,
}

/// A device's keys and certificate.
pub struct TestDevice {
    /// Its id.
    pub id: DeviceId,
    /// Its signing key.
    pub key: SigningKey,
    /// Its certificate, signed both ways.
    pub cert: DeviceCert,
}

/// The account of seed `seed`.
pub fn account(seed: u8) -> TestAccount {
    let key = SigningKey::from_bytes(&[seed; 32]);
    let id = AccountId::parse(&format!("{seed:08x}-0000-4000-8000-000000000000"))
        .expect("a test account id");
    let sign = VerifyKey(Key32(key.verifying_key().to_bytes()));
    let kem = KemKey(Key32([seed.wrapping_add(1); 32]));
    let sig = Sig64(
        key.sign(&AccountRecord::signed_bytes(&id, &sign, &kem))
            .to_bytes(),
    );
    TestAccount {
        record: AccountRecord {
            v: PROTOCOL_VERSION,
            account: id.clone(),
            sign,
            kem,
            sig,
        },
        id,
        key,
    }
}

/// Device `seed` of `of`, certified by it.
pub fn device(of: &TestAccount, seed: u8) -> TestDevice {
    let key = SigningKey::from_bytes(&[seed; 32]);
    let id = DeviceId::parse(&format!("{seed:032x}")).expect("a test device id");
    let vk = VerifyKey(Key32(key.verifying_key().to_bytes()));
    let account_sig = of
        .key
        .sign(&DeviceCert::account_signs(&of.id, &id, &vk, 1))
        .to_bytes();
    let device_sig = key
        .sign(&DeviceCert::device_signs(&of.id, &of.record.sign, &id, &vk))
        .to_bytes();
    TestDevice {
        cert: DeviceCert {
            v: PROTOCOL_VERSION,
            account: of.id.clone(),
            device: id.clone(),
            key: vk,
            issued_ms: 1,
            account_sig: Sig64(account_sig),
            device_sig: Sig64(device_sig),
        },
        id,
        key,
    }
}

impl TestDevice {
    /// The signed answer to a sign-in challenge.
    pub fn token_request(&self, nonce: &Hash32) -> TokenRequest {
        TokenRequest {
            device: self.id.clone(),
            nonce: *nonce,
            sig: Sig64(
                self.key
                    .sign(&TokenRequest::signed_bytes(&self.id, nonce))
                    .to_bytes(),
            ),
        }
    }

    /// Ledger entry `index` of `space`, after the entry whose hash is `prev`, written and signed
    /// by this device.
    pub fn entry(
        &self,
        space: &SpaceId,
        index: u64,
        prev: Hash32,
        body: LedgerBody,
    ) -> LedgerEntry {
        let mut e = LedgerEntry {
            v: PROTOCOL_VERSION,
            space: space.clone(),
            index,
            prev,
            author: self.id.clone(),
            body,
            sig: Sig64([0; 64]),
        };
        e.sig = Sig64(self.key.sign(&e.signed_bytes()).to_bytes());
        e
    }

    /// Batch `seq` of its chain in `space`, after the batch whose link is `prev`, carrying `ct`
    /// (whatever bytes: nothing but a device with the scope key can tell them from ciphertext).
    pub fn seal(&self, space: &SpaceId, seq: u64, prev: Hash32, ct: &[u8]) -> Envelope {
        let mut e = Envelope {
            header: EnvelopeHeader {
                v: PROTOCOL_VERSION,
                space: space.clone(),
                scope: Scope::Meds,
                epoch: 1,
                device: self.id.clone(),
                seq,
                prev,
            },
            nonce: Nonce24([seq as u8; 24]),
            ct: ByteBuf(ct.to_vec()),
            sig: Sig64([0; 64]),
        };
        e.sig = Sig64(
            self.key
                .sign(&Envelope::signed_bytes(&e.header, &e.body_hash()))
                .to_bytes(),
        );
        e
    }

    /// Its chain's batches 1…n in `space`, with ciphertexts `cts`.
    pub fn chain(&self, space: &SpaceId, cts: &[&[u8]]) -> Vec<Envelope> {
        let mut prev = Hash32::ZERO;
        cts.iter()
            .enumerate()
            .map(|(i, ct)| {
                let e = self.seal(space, i as u64 + 1, prev, ct);
                prev = e.link();
                e
            })
            .collect()
    }
}
