//! Linking a new device to an account: a one-time code shown on a device that has the account,
//! typed (or scanned) on the new one, and SPAKE2 over the relay's rendezvous.
//!
//! The relay carries the messages and learns nothing from them: SPAKE2 (a PAKE) turns the code
//! into a shared key without the code ever crossing, so a relay that guesses gets one try per
//! rendezvous (the existing device gives up on the first message that does not open), and an
//! eavesdropper cannot test guesses offline. Every message after the PAKE is sealed with a key
//! derived for its direction, its associated data binding the rendezvous and both PAKE
//! messages, so opening one is the proof that the other side knew the code.
//!
//! 1. existing → PAKE message; new → PAKE message.
//! 2. existing → *offer*: the account's public keys, the space, the relay.
//! 3. new → *hello*: its device id and key, signed back for that account.
//! 4. existing: certifies the device, adds it to the space's ledger, → *welcome*: the account
//!    secret and the certificate. The new device stores them and syncs.

use std::time::{Duration, Instant};

use cairn_protocol::api::{LinkSide, LinkSlot};
use cairn_protocol::canon::Canon;
use cairn_protocol::codec::{from_cbor, to_cbor};
use cairn_protocol::{
    AccountRecord, ByteBuf, DeviceCert, DeviceId, LedgerBody, Sig64, SpaceId, VerifyKey,
};
use rand::Rng;
use serde::{Deserialize, Serialize};
use spake2::{Ed25519Group, Identity as PakeId, Password, Spake2};
use zeroize::Zeroizing;

use super::driver::CancelToken;
use super::transport::Transport;
use crate::crypto::{DeviceKey, link_key, open_message, seal_message};
use crate::error::{Error, Result};
use crate::store::{Store, StoreAccess};

/// How long each side waits for the other at most, in all.
pub const LINK_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Digits of the code's secret part.
const CODE_DIGITS: usize = 8;
/// Characters of the QR code's secret part (Crockford base32: 130 bits).
const QR_SECRET_CHARS: usize = 26;

/// A link the existing device has opened: what to show the person, and what it needs to finish.
pub struct LinkInvite {
    /// The code to type on the new device: the rendezvous, then the secret (`K7M2Q9XWPA-4821-9375`).
    pub code: String,
    /// The QR code's text: the relay, the rendezvous and a long secret.
    pub qr: String,
    slot: LinkSlot,
    password: Zeroizing<String>,
    qr_password: Zeroizing<String>,
}

impl std::fmt::Debug for LinkInvite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkInvite")
            .field("slot", &self.slot.slot)
            .finish_non_exhaustive()
    }
}

/// What the new device learns from the existing one's offer.
#[derive(Serialize, Deserialize)]
struct Offer {
    account: AccountRecord,
    space: SpaceId,
}

#[derive(Serialize, Deserialize)]
struct Hello {
    device: DeviceId,
    key: VerifyKey,
    device_sig: Sig64,
}

#[derive(Serialize, Deserialize)]
struct Welcome {
    secret: ByteBuf,
    cert: DeviceCert,
}

/// One side's PAKE state and, once both messages are known, the derived keys.
struct Channel {
    ad: Vec<u8>,
    to_new: Zeroizing<[u8; 32]>,
    to_existing: Zeroizing<[u8; 32]>,
}

fn pake_ids() -> (PakeId, PakeId) {
    (
        PakeId::new(b"cairn/v1/link/existing"),
        PakeId::new(b"cairn/v1/link/new"),
    )
}

fn pake_password(slot: &str, secret: &str) -> Password {
    Password::new(
        Canon::new("cairn/v1/link/password")
            .str(slot)
            .str(secret)
            .finish(),
    )
}

fn channel(slot: &str, key: &[u8], existing_msg: &[u8], new_msg: &[u8]) -> Channel {
    Channel {
        ad: Canon::new("cairn/v1/link/transcript")
            .str(slot)
            .bytes(existing_msg)
            .bytes(new_msg)
            .finish(),
        to_new: link_key(key, "existing-to-new"),
        to_existing: link_key(key, "new-to-existing"),
    }
}

const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Waits for `side`'s message number `index` at the rendezvous.
fn await_message(
    relay: &dyn Transport,
    slot: &str,
    side: LinkSide,
    index: usize,
    cancel: &CancelToken,
    deadline: Instant,
) -> Result<Vec<u8>> {
    loop {
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        if Instant::now() > deadline {
            return Err(Error::Network(
                "the other device did not answer in time: start again with a new code".into(),
            ));
        }
        match relay.read_link(slot, side, index, 20_000) {
            Ok(messages) if !messages.is_empty() => return Ok(messages[0].0.clone()),
            Ok(_) | Err(Error::Network(_)) => {
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => return Err(e),
        }
    }
}

/// What the new device posts in place of its hello when the code did not match: the existing
/// device cannot open it, so it gives up at once instead of waiting out [`LINK_TIMEOUT`] for a
/// hello that will never come.
const NO_AGREEMENT: &[u8] = b"no agreement";

fn wrong_code() -> Error {
    Error::invalid(
        "code",
        "the devices did not agree: the code was mistyped, or someone else tried it; start \
         again with a new code",
    )
}

/// Opens a rendezvous for linking a new device to this store's account, returning the code to
/// show. Finish with [`finish_link`] while the new device runs [`join`].
pub fn start_link<A: StoreAccess + ?Sized>(
    access: &A,
    relay: &dyn Transport,
) -> Result<LinkInvite> {
    access.with_store(|s| s.sync_identity().map(drop))?;
    let slot = relay.open_link()?;
    let mut rng = rand::rngs::OsRng;
    let digits: String = (0..CODE_DIGITS)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect();
    let qr_secret: String = (0..QR_SECRET_CHARS)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..32)]))
        .collect();
    let code = format!("{}-{}-{}", slot.slot, &digits[..4], &digits[4..]);
    let qr = format!("cairn-link:1:{}:{}:{}", relay.relay(), slot.slot, qr_secret);
    Ok(LinkInvite {
        code,
        qr,
        slot,
        password: Zeroizing::new(digits),
        qr_password: Zeroizing::new(qr_secret),
    })
}

/// Runs the existing device's side of a link until the new device is certified, on the ledger
/// and welcomed. Returns the new device's id.
pub fn finish_link<A: StoreAccess + ?Sized>(
    access: &A,
    relay: &dyn Transport,
    invite: &LinkInvite,
    cancel: &CancelToken,
) -> Result<DeviceId> {
    let deadline = Instant::now() + LINK_TIMEOUT;
    let slot = invite.slot.slot.as_str();
    let (id_existing, id_new) = pake_ids();
    // The new device may have typed the code or scanned the QR: both passwords are tried, each
    // on its own PAKE run, and whichever opens the hello is the one it used.
    let runs: Vec<(Spake2<Ed25519Group>, Vec<u8>)> = [&invite.password, &invite.qr_password]
        .into_iter()
        .map(|pw| Spake2::<Ed25519Group>::start_a(&pake_password(slot, pw), &id_existing, &id_new))
        .collect();
    for (_, msg) in &runs {
        relay.post_link(slot, LinkSide::Existing, msg)?;
    }
    // The new device answers the run it chose at its index, then its hello.
    let new_msg = await_message(relay, slot, LinkSide::New, 0, cancel, deadline)?;
    let which = await_message(relay, slot, LinkSide::New, 1, cancel, deadline)?;
    let run = match which.as_slice() {
        [0] => 0,
        [1] => 1,
        _ => return Err(wrong_code()),
    };
    let mut runs = runs;
    let (state, existing_msg) = runs.swap_remove(run);
    let key = Zeroizing::new(state.finish(&new_msg).map_err(|_| wrong_code())?);
    let ch = channel(slot, &key, &existing_msg, &new_msg);
    let identity = access.with_store(|s| s.sync_identity())?;
    let offer = Offer {
        account: identity.account.record(),
        space: identity.space.clone(),
    };
    relay.post_link(
        slot,
        LinkSide::Existing,
        &seal_message(&ch.to_new, &ch.ad, &to_cbor(&offer)),
    )?;
    let sealed = await_message(relay, slot, LinkSide::New, 2, cancel, deadline)?;
    let hello: Hello = open_message(&ch.to_existing, &ch.ad, &sealed)
        .and_then(|pt| from_cbor(&pt, "hello").ok())
        .ok_or_else(wrong_code)?;
    let now = access.with_store(|s| Ok(crate::clock::unix_ms(s.clock().as_ref())))?;
    let cert = identity
        .account
        .certify_remote(&hello.device, &hello.key, hello.device_sig, now);
    cert.verify(&identity.account.record())
        .map_err(|_| wrong_code())?;
    super::devices::append_entry(access, relay, |_| {
        Ok(LedgerBody::AddDevice { cert: cert.clone() })
    })?;
    let welcome = Welcome {
        secret: ByteBuf(identity.account.secret().to_vec()),
        cert,
    };
    let sealed = Zeroizing::new(to_cbor(&welcome));
    relay.post_link(
        slot,
        LinkSide::Existing,
        &seal_message(&ch.to_new, &ch.ad, &sealed),
    )?;
    Ok(hello.device)
}

/// The new device's side: joins the account whose device shows `code` (or whose QR reads
/// `code`), through `relay`, making this empty store a copy of its space. Sync afterwards brings
/// everything down.
pub fn join(
    store: &mut Store,
    relay: &dyn Transport,
    code: &str,
    cancel: &CancelToken,
) -> Result<()> {
    let (slot, secret, run) = parse_code(code)?;
    let deadline = Instant::now() + LINK_TIMEOUT;
    let (id_existing, id_new) = pake_ids();
    let (state, new_msg) =
        Spake2::<Ed25519Group>::start_b(&pake_password(&slot, &secret), &id_existing, &id_new);
    relay
        .post_link(&slot, LinkSide::New, &new_msg)
        .map_err(|e| match e {
            Error::NotFound { .. } => Error::invalid(
                "code",
                "no device is showing this code: it was mistyped, or it expired; start again \
                 with a new code",
            ),
            e => e,
        })?;
    relay.post_link(&slot, LinkSide::New, &[run])?;
    // Tells the existing device the code did not match, then says so here.
    let refuse = || {
        let _ = relay.post_link(&slot, LinkSide::New, NO_AGREEMENT);
        wrong_code()
    };
    let existing_msg = await_message(
        relay,
        &slot,
        LinkSide::Existing,
        run as usize,
        cancel,
        deadline,
    )?;
    let key = Zeroizing::new(state.finish(&existing_msg).map_err(|_| refuse())?);
    let ch = channel(&slot, &key, &existing_msg, &new_msg);
    let sealed = await_message(relay, &slot, LinkSide::Existing, 2, cancel, deadline)?;
    let offer: Offer = open_message(&ch.to_new, &ch.ad, &sealed)
        .and_then(|pt| from_cbor(&pt, "offer").ok())
        .ok_or_else(refuse)?;
    offer
        .account
        .verify()
        .map_err(|e| Error::Tampered(e.to_string()))?;
    let device = DeviceKey::generate(
        DeviceId::parse(store.device_id().as_str())
            .map_err(|_| Error::Corrupt("the stored device id".into()))?,
    );
    let hello = Hello {
        device: device.id().clone(),
        key: device.verify_key(),
        device_sig: device.sign(&DeviceCert::device_signs(
            &offer.account.account,
            &offer.account.sign,
            device.id(),
            &device.verify_key(),
        )),
    };
    relay.post_link(
        &slot,
        LinkSide::New,
        &seal_message(&ch.to_existing, &ch.ad, &to_cbor(&hello)),
    )?;
    let sealed = await_message(relay, &slot, LinkSide::Existing, 3, cancel, deadline)?;
    let welcome: Welcome = open_message(&ch.to_new, &ch.ad, &sealed)
        .and_then(|pt| from_cbor(&pt, "welcome").ok())
        .ok_or_else(wrong_code)?;
    let secret: [u8; 32] = welcome
        .secret
        .0
        .as_slice()
        .try_into()
        .map_err(|_| Error::Tampered("the welcome does not hold an account secret".into()))?;
    let secret = Zeroizing::new(secret);
    let keys = crate::crypto::AccountKeys::from_secret(offer.account.account.clone(), &secret);
    if keys.record() != offer.account
        || welcome.cert.device != *device.id()
        || welcome.cert.key != device.verify_key()
        || welcome.cert.verify(&offer.account).is_err()
    {
        return Err(Error::Tampered(
            "the other device's welcome does not match its offer".into(),
        ));
    }
    store.join_as(
        relay.relay(),
        &offer.account.account,
        &offer.space,
        &secret,
        &device,
    )
}

/// The rendezvous, the secret and which PAKE run it belongs to (0: typed code, 1: QR).
fn parse_code(code: &str) -> Result<(String, Zeroizing<String>, u8)> {
    let bad = || Error::invalid("code", "expected a code such as K7M2Q9XWPA-4821-9375");
    let code = code.trim();
    if let Some(rest) = code.strip_prefix("cairn-link:1:") {
        // cairn-link:1:<relay, which may hold colons>:<slot>:<secret>
        let mut parts = rest.rsplitn(3, ':');
        let secret = parts.next().ok_or_else(bad)?;
        let slot = parts.next().ok_or_else(bad)?;
        if secret.len() != QR_SECRET_CHARS || slot.is_empty() {
            return Err(bad());
        }
        return Ok((slot.to_owned(), Zeroizing::new(secret.to_owned()), 1));
    }
    let cleaned: String = code
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let (slot, digits) = cleaned.split_once('-').ok_or_else(bad)?;
    let digits: String = digits.chars().filter(|c| *c != '-').collect();
    if slot.is_empty() || digits.len() != CODE_DIGITS || !digits.chars().all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    Ok((slot.to_owned(), Zeroizing::new(digits), 0))
}
