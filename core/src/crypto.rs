//! The keys of sync and what is done with them: sign, wrap, seal, open.
//!
//! Nothing here is a primitive: Ed25519 is `ed25519-dalek`, HPKE (RFC 9180) is `hpke`,
//! XChaCha20-Poly1305 is `chacha20poly1305`, HKDF-SHA256 is `hkdf`. This module composes them;
//! `docs/adr/0007-sync-keys-and-envelopes.md` records the composition and the threat each part
//! stops.
//!
//! - An **account** has one 32-byte secret, which every device of the account holds (in its
//!   encrypted store) and the recovery kit prints. HKDF-SHA256 derives from it, under separate
//!   labels, the Ed25519 identity key and the X25519 key that receives scope keys.
//! - A **device** has its own random Ed25519 key; the account certifies it and it signs back.
//! - A **scope key** is 32 random bytes per (space, scope, epoch), wrapped with HPKE to each
//!   entitled account. Envelopes are sealed with XChaCha20-Poly1305 under a key derived from it
//!   (HKDF-SHA256, labelled with space, scope and epoch), a random 192-bit nonce, and the header
//!   as associated data. The plaintext is padded (Padmé) so its length says little.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use ed25519_dalek::{Signer, SigningKey};
use hkdf::Hkdf;
use hpke::{Deserializable, Kem as _, OpModeR, OpModeS, Serializable};
use rand::RngCore;
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use cairn_protocol::canon::Canon;
use cairn_protocol::{
    AccountId, AccountRecord, ByteBuf, DeviceCert, DeviceId, Envelope, EnvelopeHeader, Hash32,
    KemKey, Key32, KeyWrap, LedgerBody, LedgerEntry, Nonce24, PROTOCOL_VERSION, Scope, Sig64,
    SpaceId, VerifyKey,
};

use crate::error::{Error, Result};

type Kem = hpke::kem::X25519HkdfSha256;
type WrapKdf = hpke::kdf::HkdfSha256;
type WrapAead = hpke::aead::ChaCha20Poly1305;

/// 32 random bytes from the operating system.
fn random32() -> Zeroizing<[u8; 32]> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(bytes.as_mut());
    bytes
}

/// HKDF-SHA256 of `ikm` under `label`, 32 bytes.
fn derive(ikm: &[u8], label: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(None, ikm)
        .expand(label, out.as_mut())
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    out
}

/// An account's secret and the keys derived from it. Never leaves the core, never crosses the
/// FFI, never in an error or log.
pub struct AccountKeys {
    account: AccountId,
    secret: Zeroizing<[u8; 32]>,
    sign: SigningKey,
    kem_private: <Kem as hpke::Kem>::PrivateKey,
    kem_public: <Kem as hpke::Kem>::PublicKey,
}

impl std::fmt::Debug for AccountKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountKeys")
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

impl AccountKeys {
    /// A new account secret for `account`.
    pub fn generate(account: AccountId) -> Self {
        Self::from_secret(account, &random32())
    }

    /// The keys of `account` from its secret (held by each of its devices, or typed from the
    /// recovery kit).
    pub fn from_secret(account: AccountId, secret: &[u8; 32]) -> Self {
        let sign_seed = derive(secret, b"cairn/v1/account/identity-key");
        let kem_ikm = derive(secret, b"cairn/v1/account/key-agreement-key");
        let (kem_private, kem_public) = Kem::derive_keypair(kem_ikm.as_ref());
        Self {
            account,
            secret: Zeroizing::new(*secret),
            sign: SigningKey::from_bytes(&sign_seed),
            kem_private,
            kem_public,
        }
    }

    /// The account.
    pub fn account(&self) -> &AccountId {
        &self.account
    }

    /// The secret, to store or print in the recovery kit.
    pub fn secret(&self) -> &[u8; 32] {
        &self.secret
    }

    /// The identity key.
    pub fn verify_key(&self) -> VerifyKey {
        VerifyKey(Key32(self.sign.verifying_key().to_bytes()))
    }

    /// The account's public keys, self-signed.
    pub fn record(&self) -> AccountRecord {
        let sign = self.verify_key();
        let kem = KemKey(Key32(
            self.kem_public
                .to_bytes()
                .as_slice()
                .try_into()
                .expect("an X25519 public key is 32 bytes"),
        ));
        let sig = self.sign_bytes(&AccountRecord::signed_bytes(&self.account, &sign, &kem));
        AccountRecord {
            v: PROTOCOL_VERSION,
            account: self.account.clone(),
            sign,
            kem,
            sig,
        }
    }

    fn sign_bytes(&self, message: &[u8]) -> Sig64 {
        Sig64(self.sign.sign(message).to_bytes())
    }

    /// Certifies `device` as one of this account's devices; the device signs back.
    pub fn certify(&self, device: &DeviceKey, issued_ms: u64) -> DeviceCert {
        let key = device.verify_key();
        let account_sig = self.sign_bytes(&DeviceCert::account_signs(
            &self.account,
            device.id(),
            &key,
            issued_ms,
        ));
        let device_sig = device.sign(&DeviceCert::device_signs(
            &self.account,
            &self.verify_key(),
            device.id(),
            &key,
        ));
        DeviceCert {
            v: PROTOCOL_VERSION,
            account: self.account.clone(),
            device: device.id().clone(),
            key,
            issued_ms,
            account_sig,
            device_sig,
        }
    }

    /// The certificate of a device that signed back with `device_sig` (over
    /// [`DeviceCert::device_signs`]) elsewhere: a device being linked, which holds its own key.
    pub fn certify_remote(
        &self,
        device: &DeviceId,
        key: &VerifyKey,
        device_sig: Sig64,
        issued_ms: u64,
    ) -> DeviceCert {
        DeviceCert {
            v: PROTOCOL_VERSION,
            account: self.account.clone(),
            device: device.clone(),
            key: *key,
            issued_ms,
            account_sig: self.sign_bytes(&DeviceCert::account_signs(
                &self.account,
                device,
                key,
                issued_ms,
            )),
            device_sig,
        }
    }

    /// Opens the wrap of `scope`'s key at `epoch` in `space` addressed to this account.
    pub fn unwrap(
        &self,
        space: &SpaceId,
        scope: Scope,
        epoch: u32,
        wrap: &KeyWrap,
    ) -> Result<ScopeKey> {
        let refused =
            || Error::Tampered(format!("the {} key's wrap does not open", scope.as_str()));
        if wrap.account != self.account {
            return Err(refused());
        }
        let info = KeyWrap::info(space, scope, epoch, &self.account);
        let enc =
            <Kem as hpke::Kem>::EncappedKey::from_bytes(&wrap.enc.0).map_err(|_| refused())?;
        let key = hpke::single_shot_open::<WrapAead, WrapKdf, Kem>(
            &OpModeR::Base,
            &self.kem_private,
            &enc,
            &info,
            &wrap.ct,
            &info,
        )
        .map_err(|_| refused())?;
        let key = Zeroizing::new(key);
        let bytes: [u8; 32] = key.as_slice().try_into().map_err(|_| refused())?;
        Ok(ScopeKey(Zeroizing::new(bytes)))
    }
}

/// A device's signing key.
pub struct DeviceKey {
    id: DeviceId,
    key: SigningKey,
}

impl std::fmt::Debug for DeviceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl DeviceKey {
    /// A new key for device `id`.
    pub fn generate(id: DeviceId) -> Self {
        Self::from_secret(id, &random32())
    }

    /// The key of device `id` from its stored secret.
    pub fn from_secret(id: DeviceId, secret: &[u8; 32]) -> Self {
        Self {
            id,
            key: SigningKey::from_bytes(secret),
        }
    }

    /// The secret, to store.
    pub fn secret(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.key.to_bytes())
    }

    /// The device.
    pub fn id(&self) -> &DeviceId {
        &self.id
    }

    /// The public key.
    pub fn verify_key(&self) -> VerifyKey {
        VerifyKey(Key32(self.key.verifying_key().to_bytes()))
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> Sig64 {
        Sig64(self.key.sign(message).to_bytes())
    }

    /// Ledger entry `index` of `space`, after the entry whose hash is `prev`, saying `body`,
    /// written and signed by this device.
    pub fn ledger_entry(
        &self,
        space: &SpaceId,
        index: u64,
        prev: Hash32,
        body: LedgerBody,
    ) -> LedgerEntry {
        let mut entry = LedgerEntry {
            v: PROTOCOL_VERSION,
            space: space.clone(),
            index,
            prev,
            author: self.id.clone(),
            body,
            sig: Sig64([0; 64]),
        };
        entry.sig = self.sign(&entry.signed_bytes());
        entry
    }
}

/// The key of one scope of one space at one epoch.
#[derive(Clone)]
pub struct ScopeKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for ScopeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScopeKey(..)")
    }
}

impl ScopeKey {
    /// A new random key.
    pub fn generate() -> Self {
        Self(random32())
    }

    /// The key from its stored bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| Error::Corrupt("a stored scope key".into()))?;
        Ok(Self(Zeroizing::new(bytes)))
    }

    /// The bytes, to store.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key wrapped to `recipient` for `scope` at `epoch` in `space`.
    pub fn wrap_to(
        &self,
        space: &SpaceId,
        scope: Scope,
        epoch: u32,
        recipient: &AccountRecord,
    ) -> Result<KeyWrap> {
        let info = KeyWrap::info(space, scope, epoch, &recipient.account);
        let pk = <Kem as hpke::Kem>::PublicKey::from_bytes(&recipient.kem.0.0)
            .map_err(|_| Error::Tampered("an account's key-agreement key is not a key".into()))?;
        let (enc, ct) = hpke::single_shot_seal::<WrapAead, WrapKdf, Kem>(
            &OpModeS::Base,
            &pk,
            &info,
            self.0.as_ref(),
            &info,
        )
        .map_err(|_| Error::Tampered("an account's key-agreement key refuses a wrap".into()))?;
        Ok(KeyWrap {
            account: recipient.account.clone(),
            enc: Key32(
                enc.to_bytes()
                    .as_slice()
                    .try_into()
                    .expect("an X25519 encapsulated key is 32 bytes"),
            ),
            ct: ByteBuf(ct),
        })
    }

    /// The envelope cipher of this key for `header`'s space, scope and epoch.
    fn envelope_cipher(&self, header: &EnvelopeHeader) -> XChaCha20Poly1305 {
        let label = Canon::new("cairn/v1/envelope-key")
            .str(header.space.as_str())
            .str(header.scope.as_str())
            .u32(header.epoch)
            .finish();
        let key = derive(self.0.as_ref(), &label);
        XChaCha20Poly1305::new(&(*key).into())
    }

    /// Seals `plaintext` (padded) under `header`, signed by `device`.
    pub fn seal(&self, header: EnvelopeHeader, plaintext: &[u8], device: &DeviceKey) -> Envelope {
        let mut padded = pad(plaintext);
        let mut nonce = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ad = header.canon();
        let ct = self
            .envelope_cipher(&header)
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &padded,
                    aad: &ad,
                },
            )
            .expect("XChaCha20-Poly1305 seals any batch under 4 GiB");
        padded.zeroize();
        let mut envelope = Envelope {
            header,
            nonce: Nonce24(nonce),
            ct: ByteBuf(ct),
            sig: Sig64([0; 64]),
        };
        envelope.sig = device.sign(&Envelope::signed_bytes(
            &envelope.header,
            &envelope.body_hash(),
        ));
        envelope
    }

    /// Opens an envelope sealed under this key (its signature is checked by the caller).
    pub fn open(&self, envelope: &Envelope) -> Result<Zeroizing<Vec<u8>>> {
        let refused = || {
            Error::Tampered(format!(
                "batch {} of device {} does not open under its scope's key",
                envelope.header.seq, envelope.header.device
            ))
        };
        let padded = Zeroizing::new(
            self.envelope_cipher(&envelope.header)
                .decrypt(
                    &XNonce::from(envelope.nonce.0),
                    Payload {
                        msg: &envelope.ct,
                        aad: &envelope.header.canon(),
                    },
                )
                .map_err(|_| refused())?,
        );
        unpad(&padded).ok_or_else(refused)
    }
}

/// A key for one direction of a device link, from the key both sides' PAKE agreed on.
pub(crate) fn link_key(pake_key: &[u8], direction: &str) -> Zeroizing<[u8; 32]> {
    derive(pake_key, format!("cairn/v1/link/{direction}").as_bytes())
}

/// Seals a link message under `key` with associated data `ad`: a random nonce, then the
/// ciphertext.
pub(crate) fn seal_message(key: &[u8; 32], ad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let ct = XChaCha20Poly1305::new(&(*key).into())
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: plaintext,
                aad: ad,
            },
        )
        .expect("XChaCha20-Poly1305 seals a link message");
    let mut out = nonce.to_vec();
    out.extend_from_slice(&ct);
    out
}

/// Opens a link message sealed with [`seal_message`]; `None` when it does not open (another
/// key: the code was wrong).
pub(crate) fn open_message(key: &[u8; 32], ad: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let (nonce, ct) = sealed.split_at_checked(24)?;
    let nonce: [u8; 24] = nonce.try_into().ok()?;
    XChaCha20Poly1305::new(&(*key).into())
        .decrypt(&XNonce::from(nonce), Payload { msg: ct, aad: ad })
        .ok()
        .map(Zeroizing::new)
}

/// `plaintext` behind its 4-byte length, padded with zeros to Padmé's length for it: at most
/// about 12% more, and a length that reveals O(log log n) bits instead of O(log n).
fn pad(plaintext: &[u8]) -> Vec<u8> {
    let len = u32::try_from(plaintext.len()).expect("a batch is under 4 GiB");
    let total = padme(plaintext.len() as u64 + 4) as usize;
    let mut out = Vec::with_capacity(total + 16);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(plaintext);
    out.resize(total, 0);
    out
}

fn unpad(padded: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let len = u32::from_be_bytes(padded.get(..4)?.try_into().ok()?) as usize;
    let body = padded.get(4..4 + len)?;
    // Padding is zeros and only as long as Padmé makes it: anything else was not sealed here.
    if padded.len() as u64 != padme(len as u64 + 4) || padded[4 + len..].iter().any(|&b| b != 0) {
        return None;
    }
    Some(Zeroizing::new(body.to_vec()))
}

/// Padmé (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and Communication with
/// PURBs", 2019): rounds `len` up so only its top bits are kept.
fn padme(len: u64) -> u64 {
    if len < 2 {
        return len;
    }
    let e = 63 - len.leading_zeros() as u64;
    let s = 64 - e.leading_zeros() as u64;
    let last_bits = e - s;
    let mask = (1u64 << last_bits) - 1;
    (len + mask) & !mask
}

/// The recovery kit: the account secret and the ids needed to find the account again, as text a
/// person can print and type. Crockford base32 in groups of four, with a checksum so a mistyped
/// kit is refused rather than recovering nobody.
pub mod recovery {
    use super::*;

    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    const PREFIX: &str = "CAIRN1";

    /// The kit's text for `account` in `space` with `secret`.
    pub fn encode(account: &AccountId, space: &SpaceId, secret: &[u8; 32]) -> Zeroizing<String> {
        let mut bytes = Zeroizing::new(Vec::with_capacity(66));
        bytes.extend_from_slice(&uuid_bytes(account.as_str()));
        bytes.extend_from_slice(&uuid_bytes(space.as_str()));
        bytes.extend_from_slice(secret);
        let check = blake3::hash(&bytes);
        bytes.extend_from_slice(&check.as_bytes()[..2]);
        let text = Zeroizing::new(base32(&bytes));
        let groups: Vec<&str> = text
            .as_bytes()
            .chunks(4)
            .map(|c| std::str::from_utf8(c).expect("base32 is ascii"))
            .collect();
        Zeroizing::new(format!("{PREFIX}-{}", groups.join("-")))
    }

    /// The account, space and secret a kit holds; a kit that is not one, or mistyped, is
    /// `Invalid`.
    pub fn decode(text: &str) -> Result<(AccountId, SpaceId, Zeroizing<[u8; 32]>)> {
        let bad = || Error::invalid("recovery kit", "not a Cairn recovery kit, or mistyped");
        let cleaned: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let body = cleaned.strip_prefix(PREFIX).ok_or_else(bad)?;
        let bytes = Zeroizing::new(unbase32(body).ok_or_else(bad)?);
        if bytes.len() != 66 {
            return Err(bad());
        }
        let check = blake3::hash(&bytes[..64]);
        if check.as_bytes()[..2] != bytes[64..] {
            return Err(bad());
        }
        let account = AccountId::parse(&uuid_text(&bytes[..16])).map_err(|_| bad())?;
        let space = SpaceId::parse(&uuid_text(&bytes[16..32])).map_err(|_| bad())?;
        let mut secret = Zeroizing::new([0u8; 32]);
        secret.copy_from_slice(&bytes[32..64]);
        Ok((account, space, secret))
    }

    fn uuid_bytes(text: &str) -> [u8; 16] {
        let hex: String = text.chars().filter(|c| *c != '-').collect();
        let mut out = [0u8; 16];
        hex::decode_to_slice(hex, &mut out).expect("ids are checked UUIDs");
        out
    }

    fn uuid_text(bytes: &[u8]) -> String {
        let h = hex::encode(bytes);
        format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
    }

    fn base32(bytes: &[u8]) -> String {
        let mut out = String::new();
        let (mut acc, mut bits) = (0u32, 0u32);
        for &b in bytes {
            acc = (acc << 8) | u32::from(b);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
            }
        }
        if bits > 0 {
            out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
        }
        out
    }

    fn unbase32(text: &str) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        let (mut acc, mut bits) = (0u32, 0u32);
        for c in text.bytes() {
            // Crockford: I and L read as 1, O as 0.
            let c = match c {
                b'I' | b'L' => b'1',
                b'O' => b'0',
                c => c,
            };
            let v = ALPHABET.iter().position(|&a| a == c)? as u32;
            acc = (acc << 5) | v;
            bits += 5;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
                acc &= (1 << bits) - 1;
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_protocol::ledger::LedgerState;
    use cairn_protocol::{Hash32, LedgerBody, LedgerEntry};

    fn account() -> AccountKeys {
        AccountKeys::generate(AccountId::parse("0b9f3c2e-5d1a-4c8e-9f00-1234567890ab").unwrap())
    }

    fn space() -> SpaceId {
        SpaceId::parse("5a5a5a5a-0000-4000-8000-000000000001").unwrap()
    }

    fn device(n: u8) -> DeviceKey {
        DeviceKey::generate(DeviceId::parse(&format!("{n:032x}")).unwrap())
    }

    #[test]
    fn the_same_secret_gives_the_same_keys_and_a_record_that_verifies() {
        let a = account();
        let b = AccountKeys::from_secret(a.account().clone(), a.secret());
        assert_eq!(a.record(), b.record());
        a.record().verify().unwrap();
        let phone = device(1);
        a.certify(&phone, 5).verify(&a.record()).unwrap();
    }

    #[test]
    fn a_scope_key_wrapped_to_an_account_opens_only_for_it_and_only_where_it_was_wrapped() {
        let maya = account();
        let other = AccountKeys::generate(
            AccountId::parse("11111111-5d1a-4c8e-9f00-1234567890ab").unwrap(),
        );
        let key = ScopeKey::generate();
        let wrap = key
            .wrap_to(&space(), Scope::Meds, 1, &maya.record())
            .unwrap();
        let opened = maya.unwrap(&space(), Scope::Meds, 1, &wrap).unwrap();
        assert_eq!(opened.as_bytes(), key.as_bytes());
        // Moved to another scope, epoch or recipient, it does not open.
        assert!(maya.unwrap(&space(), Scope::Documents, 1, &wrap).is_err());
        assert!(maya.unwrap(&space(), Scope::Meds, 2, &wrap).is_err());
        let mut readdressed = wrap.clone();
        readdressed.account = other.account().clone();
        assert!(
            other
                .unwrap(&space(), Scope::Meds, 1, &readdressed)
                .is_err()
        );
    }

    fn header(device: &DeviceKey, seq: u64) -> EnvelopeHeader {
        EnvelopeHeader {
            v: PROTOCOL_VERSION,
            space: space(),
            scope: Scope::Timeline,
            epoch: 1,
            device: device.id().clone(),
            seq,
            prev: Hash32::ZERO,
        }
    }

    #[test]
    fn an_envelope_opens_under_its_key_and_its_header_and_nowhere_else() {
        let phone = device(1);
        let key = ScopeKey::generate();
        let env = key.seal(header(&phone, 1), b"Chemo cycle 3", &phone);
        env.verify(&phone.verify_key()).unwrap();
        assert_eq!(key.open(&env).unwrap().as_slice(), b"Chemo cycle 3");
        assert!(!env.ct.windows(b"Chemo".len()).any(|w| w == b"Chemo"));
        // Another key, another header (scope, epoch, place in the chain), a flipped bit.
        assert!(ScopeKey::generate().open(&env).is_err());
        for change in [
            |h: &mut EnvelopeHeader| h.scope = Scope::Meds,
            |h: &mut EnvelopeHeader| h.epoch = 2,
            |h: &mut EnvelopeHeader| h.seq = 2,
        ] {
            let mut moved = env.clone();
            change(&mut moved.header);
            assert!(key.open(&moved).is_err());
        }
        let mut flipped = env.clone();
        flipped.ct.0[3] ^= 1;
        assert!(key.open(&flipped).is_err());
    }

    #[test]
    fn padding_hides_the_exact_length() {
        let key = ScopeKey::generate();
        let phone = device(1);
        let a = key.seal(header(&phone, 1), &[b'x'; 1000], &phone);
        let b = key.seal(header(&phone, 1), &[b'x'; 1010], &phone);
        assert_eq!(a.ct.len(), b.ct.len());
        for len in [0, 1, 3, 4, 5, 100, 4096, 70_000] {
            let p = pad(&vec![7; len]);
            assert_eq!(unpad(&p).unwrap().len(), len);
            assert!(p.len() as f64 <= (len + 4) as f64 * 1.12 + 1.0);
        }
    }

    #[test]
    fn a_ledger_written_with_these_keys_replays() {
        let maya = account();
        let phone = device(1);
        let cert = maya.certify(&phone, 1);
        let mut genesis = LedgerEntry {
            v: PROTOCOL_VERSION,
            space: space(),
            index: 0,
            prev: Hash32::ZERO,
            author: phone.id().clone(),
            body: LedgerBody::Genesis {
                owner: maya.record(),
                device: cert,
            },
            sig: Sig64([0; 64]),
        };
        genesis.sig = phone.sign(&genesis.signed_bytes());
        LedgerState::replay(&[genesis], Some(&maya.verify_key())).unwrap();
    }

    #[test]
    fn the_recovery_kit_round_trips_and_refuses_a_typo() {
        let maya = account();
        let kit = recovery::encode(maya.account(), &space(), maya.secret());
        let (account, s, secret) = recovery::decode(&kit).unwrap();
        assert_eq!(
            (&account, &s, &*secret),
            (maya.account(), &space(), maya.secret())
        );
        // Lower case, spaces instead of dashes: still the kit.
        let relaxed = kit.replace('-', " ").to_lowercase();
        assert!(recovery::decode(&relaxed).is_ok());
        // One character changed: refused.
        let mut typo: Vec<char> = kit.chars().collect();
        let i = typo.len() - 10;
        typo[i] = if typo[i] == 'A' { 'B' } else { 'A' };
        let typo: String = typo.into_iter().collect();
        assert!(recovery::decode(&typo).is_err());
    }
}
