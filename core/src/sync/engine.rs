//! The engine's steps, without I/O: each takes what the relay said and the store, checks it,
//! and says what to send next. `driver.rs` moves the bytes.
//!
//! - **Register and publish**: the relay learns this device (and account and space, for the
//!   device that created them); ledger entries this device wrote reach the relay.
//! - **Pull**: pages of envelopes after the cursor. Each is checked — the ledger accepts its
//!   device at its batch number, its signature verifies, it continues its device's chain, its
//!   scope key is one the ledger holds, it opens, its changes are stamped by its own device and
//!   not in the future — and a page is applied in one transaction with the new cursor and
//!   chain positions. After the last page, each device's signed head must be where its chain
//!   was applied to: a relay that withholds, rolls back or forks a device's history is caught.
//! - **Push**: the outbox is sealed into batches that continue this device's chain and kept
//!   until the relay acknowledges them, so a batch is pushed again byte for byte after any
//!   failure, and the outbox entries it carries are dropped only once it is stored.

use std::collections::{HashMap, HashSet};

use cairn_protocol::api::{CreateAccount, CreateSpace, PullPage, PushResponse, RegisterDevice};
use cairn_protocol::{
    ChainPoint, DeviceId, Envelope, EnvelopeHeader, LedgerBody, LedgerEntry, LedgerState,
    PROTOCOL_VERSION, Scope,
};

use super::batch::{self, MAX_BATCH_BYTES};
use super::identity::{Identity, REGISTERED};
use super::state::{self, Pending, Place};
use crate::crypto::ScopeKey;
use crate::error::{Error, Result};
use crate::hlc::Hlc;
use crate::record::FieldChange;
use crate::store::{Store, meta_set};

/// How far ahead of this device's clock a change may be stamped and still be applied: further,
/// and the writing device's clock is wrong; its changes wait rather than win every later merge.
pub const MAX_CLOCK_AHEAD_MS: u64 = 10 * 60 * 1000;
/// How far this device's clock may be from the relay's before it stops sealing changes: a
/// device whose clock is off would stamp its changes in the past or the future.
pub const MAX_CLOCK_SKEW_MS: u64 = 5 * 60 * 1000;
/// Outbox entries sealed per push.
const OUTBOX_ENTRIES_PER_SEAL: usize = 5_000;

/// What a sync needs at hand: the verified ledger, the scope keys this account can open, and
/// every device's place.
pub(crate) struct Session {
    pub(crate) identity: Identity,
    pub(crate) ledger: LedgerState,
    keys: HashMap<(Scope, u32), ScopeKey>,
    places: HashMap<DeviceId, Place>,
    cursor: u64,
}

impl Session {
    /// Loads what the store holds. Fails if the stored ledger no longer verifies.
    pub(crate) fn load(store: &Store) -> Result<Self> {
        let identity = store.sync_identity()?;
        let conn = store.conn();
        let entries: Vec<LedgerEntry> = state::ledger(conn)?.into_iter().map(|(e, _)| e).collect();
        let ledger = if entries.is_empty() {
            None
        } else {
            Some(
                LedgerState::replay(&entries, Some(&identity.owner_key))
                    .map_err(|e| Error::Corrupt(format!("the stored ledger: {e}")))?,
            )
        };
        let ledger = match ledger {
            Some(l) => l,
            None => {
                return Err(Error::NotFound {
                    entity: "space ledger (sync to fetch it)",
                });
            }
        };
        Ok(Self {
            identity,
            ledger,
            keys: state::scope_keys(conn)?,
            places: state::places(conn)?,
            cursor: state::cursor(conn)?,
        })
    }

    /// The space sequence number applied up to.
    pub(crate) fn cursor(&self) -> u64 {
        self.cursor
    }

    fn own(&self) -> &DeviceId {
        self.identity.device.id()
    }

    /// The newest batch of `device` this device has applied or been shown a head of.
    pub(crate) fn seen(&self, device: &DeviceId) -> u64 {
        let place = self.place(device);
        place.applied.seq.max(place.seen)
    }

    fn place(&self, device: &DeviceId) -> Place {
        self.places.get(device).copied().unwrap_or_default()
    }
}

/// What the store must tell the relay before it syncs.
pub(crate) enum Registration {
    /// Nothing: the relay knows this device.
    Done,
    /// The account, its first device and the space, from the genesis entry this device wrote.
    NewAccount(Box<(CreateAccount, CreateSpace)>),
    /// This device of an existing account.
    Device(Box<RegisterDevice>),
}

/// What registering this device takes, if anything.
pub(crate) fn registration(store: &Store) -> Result<Registration> {
    if store.registered()? {
        return Ok(Registration::Done);
    }
    let identity = store.sync_identity()?;
    let now = crate::clock::unix_ms(store.clock().as_ref());
    let ledger = state::ledger(store.conn())?;
    Ok(match ledger.first() {
        Some((genesis, _)) if genesis.author == *identity.device.id() => {
            let LedgerBody::Genesis { owner, device } = &genesis.body else {
                return Err(Error::Corrupt("the stored genesis entry".into()));
            };
            Registration::NewAccount(Box::new((
                CreateAccount {
                    account: owner.clone(),
                    device: device.clone(),
                },
                CreateSpace {
                    genesis: genesis.clone(),
                },
            )))
        }
        _ => Registration::Device(Box::new(RegisterDevice {
            cert: identity.cert(now),
        })),
    })
}

/// Notes that the relay knows this device.
pub(crate) fn registered(store: &Store) -> Result<()> {
    meta_set(store.conn(), REGISTERED, "1")
}

/// Ledger entries the relay does not have yet, in order.
pub(crate) fn unpublished(store: &Store) -> Result<Vec<LedgerEntry>> {
    Ok(state::ledger(store.conn())?
        .into_iter()
        .filter(|(e, published)| !published && e.index > 0)
        .map(|(e, _)| e)
        .collect())
}

/// Notes that the relay holds entry `index`.
pub(crate) fn published(store: &Store, index: u64) -> Result<()> {
    state::mark_published(store.conn(), index)
}

/// Checks ledger entries the relay gave (from the store's length on) and keeps them, with any
/// scope key they wrap to this account. If this device is not on the ledger yet (recovered
/// from its kit), it writes its own entry introducing itself, for the next publish.
pub(crate) fn take_ledger(store: &Store, entries: &[LedgerEntry]) -> Result<()> {
    let identity = store.sync_identity()?;
    let stored: Vec<LedgerEntry> = state::ledger(store.conn())?
        .into_iter()
        .map(|(e, _)| e)
        .collect();
    let tamper = |e: cairn_protocol::ProtocolError| Error::Tampered(e.to_string());
    let mut ledger = match stored.is_empty() {
        true => None,
        false => Some(LedgerState::replay(&stored, Some(&identity.owner_key)).map_err(tamper)?),
    };
    let tx = store.conn().unchecked_transaction()?;
    for entry in entries {
        match ledger.as_mut() {
            None => {
                ledger =
                    Some(LedgerState::genesis(entry, Some(&identity.owner_key)).map_err(tamper)?)
            }
            Some(l) => l.apply(entry).map_err(tamper)?,
        }
        state::add_ledger_entry(&tx, entry, true)?;
        if let LedgerBody::ScopeKey {
            scope,
            epoch,
            wraps,
        } = &entry.body
            && let Some(wrap) = wraps
                .iter()
                .find(|w| w.account == *identity.account.account())
        {
            let key = identity
                .account
                .unwrap(&identity.space, *scope, *epoch, wrap)?;
            state::add_scope_key(&tx, *scope, *epoch, &key)?;
        }
    }
    if let Some(l) = &ledger
        && !l.devices().contains_key(identity.device.id())
    {
        let now = crate::clock::unix_ms(store.clock().as_ref());
        let entry = identity.device.ledger_entry(
            &identity.space,
            l.len(),
            l.head(),
            LedgerBody::AddDevice {
                cert: identity.cert(now),
            },
        );
        let mut check = l.clone();
        check.apply(&entry).map_err(tamper)?;
        state::add_ledger_entry(&tx, &entry, false)?;
    }
    tx.commit()?;
    Ok(())
}

/// Settles this device's unpublished ledger entries against `relay`, the relay's entries from
/// index `from` on, after the relay refused this device's entry at `from` as not the next.
///
/// An entry of this device's the relay already holds (an append that landed, whose answer was
/// lost) is published, and the entries after it stay to be sent. From the first place where
/// the relay holds another entry (another device wrote there first), this device's entries are
/// forgotten and the relay's taken instead; its introduction, if it is still not on the ledger,
/// is written again on top of them.
pub(crate) fn settle_unpublished(store: &Store, from: u64, relay: &[LedgerEntry]) -> Result<()> {
    let mine = unpublished(store)?;
    let mut lost_at = None;
    let tx = store.conn().unchecked_transaction()?;
    for entry in mine.iter().filter(|e| e.index >= from) {
        match relay.get((entry.index - from) as usize) {
            Some(theirs) if theirs.hash() == entry.hash() => {
                state::mark_published(&tx, entry.index)?;
            }
            Some(_) => {
                lost_at = Some(entry.index);
                break;
            }
            None => break,
        }
    }
    if let Some(at) = lost_at {
        tx.execute(
            "DELETE FROM sync_ledger WHERE published = 0 AND idx >= ?1",
            [at as i64],
        )?;
    }
    tx.commit()?;
    match lost_at {
        Some(at) => take_ledger(store, &relay[(at - from) as usize..]),
        None => Ok(()),
    }
}

/// How many ledger entries the store holds.
pub(crate) fn ledger_len(store: &Store) -> Result<u64> {
    Ok(state::ledger(store.conn())?.len() as u64)
}

/// What applying a page did.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Applied {
    /// Envelopes of other devices applied.
    pub(crate) envelopes: u64,
    /// Changes they carried.
    pub(crate) changes: u64,
    /// Microseconds spent checking and opening them.
    pub(crate) check_us: u64,
    /// Microseconds spent applying them.
    pub(crate) apply_us: u64,
}

/// What one pull (all its pages) did to each device's chain, for judging the heads it ends
/// with. The relay reads the heads before the page, so a batch pushed in between is in the page
/// but not yet in its device's head: a head may stand anywhere from where the chain was before
/// the pull to where the pull took it.
pub(crate) struct Pulled {
    /// Each device's place before the pull.
    start: HashMap<DeviceId, Place>,
    /// The point after each batch the pull applied, by device.
    points: HashMap<DeviceId, Vec<ChainPoint>>,
}

impl Pulled {
    /// A pull starting from `session`'s places.
    pub(crate) fn new(session: &Session) -> Self {
        Self {
            start: session.places.clone(),
            points: HashMap::new(),
        }
    }

    fn start(&self, device: &DeviceId) -> Place {
        self.start.get(device).copied().unwrap_or_default()
    }

    /// Whether `point` is one `device`'s chain stood at during the pull.
    fn passed(&self, device: &DeviceId, point: ChainPoint) -> bool {
        self.start(device).applied == point
            || self
                .points
                .get(device)
                .is_some_and(|points| points.contains(&point))
    }
}

/// Checks and applies one page of envelopes, with the cursor and chain positions, in one
/// transaction. Nothing of a page that fails a check is applied.
pub(crate) fn apply_page(
    store: &Store,
    session: &mut Session,
    page: &PullPage,
    pulled: &mut Pulled,
) -> Result<Applied> {
    let now = crate::clock::unix_ms(store.clock().as_ref());
    let own = session.own().clone();
    let mut places = session.places.clone();
    let mut cursor = session.cursor;
    let mut changes: Vec<FieldChange> = Vec::new();
    let mut points: Vec<(DeviceId, ChainPoint)> = Vec::new();
    let mut applied = Applied::default();
    // This device's batches the relay turned out to hold: acknowledged, or superseded.
    let mut own_seen: Vec<(u64, cairn_protocol::Hash32)> = Vec::new();
    // Each envelope is checked on its own: those before one that fails are applied, then the
    // failure is reported.
    let checking = std::time::Instant::now();
    let mut failure = None;
    for stored in &page.envelopes {
        match take_envelope(store, session, &mut places, &mut cursor, stored, now, &own) {
            Ok(Taken::Changes(batch)) => {
                applied.envelopes += 1;
                applied.changes += batch.len() as u64;
                changes.extend(batch);
                let env = &stored.envelope;
                points.push((env.header.device.clone(), ChainPoint::after(env)));
            }
            Ok(Taken::Own(seq, link)) => own_seen.push((seq, link)),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    applied.check_us = checking.elapsed().as_micros() as u64;
    let applying = std::time::Instant::now();
    if cursor == session.cursor && own_seen.is_empty() {
        // An empty page (the usual answer when nothing is new): nothing to write.
        applied.apply_us = applying.elapsed().as_micros() as u64;
        return match failure {
            Some(e) => Err(e),
            None => Ok(applied),
        };
    }
    let pending = state::pending(store.conn())?;
    store.apply_remote_then(&changes, |tx| {
        for (device, place) in &places {
            if session.places.get(device) != Some(place) {
                state::set_place(tx, device, place)?;
            }
        }
        state::set_cursor(tx, cursor)?;
        for (seq, link) in &own_seen {
            if let Some(p) = pending.iter().find(|p| p.envelope.header.seq == *seq) {
                if p.envelope.link() != *link {
                    return Err(Error::Conflict(format!(
                        "this device's history forked at batch {seq}: its store was copied to \
                         another device, or restored while the old one kept syncing"
                    )));
                }
                // The relay holds this batch: what it carries is delivered.
                if let Some(up_to) = p.outbox_up_to {
                    tx.execute("DELETE FROM outbox WHERE seq <= ?1", [up_to])?;
                }
                state::drop_pending(tx, *seq)?;
            }
        }
        Ok(())
    })?;
    applied.apply_us = applying.elapsed().as_micros() as u64;
    session.places = places;
    session.cursor = cursor;
    for (device, point) in points {
        pulled.points.entry(device).or_default().push(point);
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(applied),
    }
}

/// What one checked envelope gives.
enum Taken {
    /// Another device's batch (or one this device sealed before a restore), with its changes.
    Changes(Vec<FieldChange>),
    /// A batch this device sealed and has the changes of: its number and link.
    Own(u64, cairn_protocol::Hash32),
}

/// Checks one envelope of a page against the ledger, its device's chain and its scope key, and
/// opens it; moves the cursor and the device's place past it.
fn take_envelope(
    store: &Store,
    session: &Session,
    places: &mut HashMap<DeviceId, Place>,
    cursor: &mut u64,
    stored: &cairn_protocol::api::Stored,
    now: u64,
    own: &DeviceId,
) -> Result<Taken> {
    if stored.seq <= *cursor {
        return Err(Error::Tampered(
            "the relay sent a batch from before where this device had read to".into(),
        ));
    }
    let env = &stored.envelope;
    let h = &env.header;
    if h.space != session.identity.space {
        return Err(Error::Tampered(
            "the relay sent another space's batch".into(),
        ));
    }
    let (key, account) = session.ledger.batch_key(&h.device, h.seq).ok_or_else(|| {
        Error::Tampered(format!(
            "batch {} of device {} is not from a device the ledger accepts",
            h.seq, h.device
        ))
    })?;
    env.verify(key)
        .map_err(|e| Error::Tampered(e.to_string()))?;
    let place = places.entry(h.device.clone()).or_default();
    if h.device == *own && h.seq <= place.applied.seq {
        // Each batch of this device's comes back once, in its chain's order, after it was
        // pushed: one at or before the newest the relay already handed back or showed a head
        // of is served again.
        if h.seq <= place.seen {
            return Err(Error::Tampered(
                cairn_protocol::ProtocolError::Chain {
                    device: h.device.clone(),
                    seq: h.seq,
                    reason: "a batch already applied came again (a replay)",
                }
                .to_string(),
            ));
        }
        place.seen = h.seq;
        *cursor = stored.seq;
        return Ok(Taken::Own(h.seq, env.link()));
    }
    place
        .applied
        .check_next(h)
        .map_err(|e| Error::Tampered(e.to_string()))?;
    let scope_key = session.keys.get(&(h.scope, h.epoch)).ok_or_else(|| {
        Error::Tampered(format!(
            "batch {} of device {} is sealed under a key the ledger does not hold",
            h.seq, h.device
        ))
    })?;
    let plaintext = scope_key.open(env)?;
    let batch = batch::decode(&plaintext, &h.device, account)?;
    for change in &batch {
        check_change(store, change, h, now)?;
    }
    place.applied = ChainPoint::after(env);
    place.seen = place.seen.max(h.seq);
    *cursor = stored.seq;
    Ok(Taken::Changes(batch))
}

/// Checks one change of a batch before it is applied.
fn check_change(store: &Store, change: &FieldChange, h: &EnvelopeHeader, now: u64) -> Result<()> {
    let hlc = Hlc::parse(&change.hlc)?;
    if hlc.millis > now.saturating_add(MAX_CLOCK_AHEAD_MS) {
        return Err(Error::Clock(format!(
            "device {}'s clock is {} ahead: its changes wait until it is set right",
            h.device,
            describe_ms(hlc.millis - now)
        )));
    }
    // A change of a known entity belongs to the scope it was sealed under: a key for one scope
    // cannot be used to write another's records.
    if let Some(def) = store.entity(&change.entity)
        && def.scope != h.scope
    {
        return Err(Error::Tampered(format!(
            "batch {} of device {} carries changes outside its scope",
            h.seq, h.device
        )));
    }
    Ok(())
}

/// A duration in words, for clock messages.
fn describe_ms(ms: u64) -> String {
    let minutes = ms / 60_000;
    match minutes {
        0..=119 => format!("{minutes} minutes"),
        120..=2879 => format!("{} hours", minutes / 60),
        _ => format!("{} days", minutes / 1440),
    }
}

/// Checks each device's signed head against where its chain was applied, after the last page:
/// the relay may not withhold a device's newer batches, roll one back, fork it, or hide a
/// device this store has seen. A head may lag the page by the batches pushed while it was
/// read (see [`Pulled`]), never more.
pub(crate) fn check_heads(
    store: &Store,
    session: &mut Session,
    page: &PullPage,
    pulled: &Pulled,
) -> Result<()> {
    let own = session.own().clone();
    let pending = state::pending(store.conn())?;
    let own_acknowledged = session
        .place(&own)
        .applied
        .seq
        .saturating_sub(pending.len() as u64);
    let mut shown: HashSet<DeviceId> = HashSet::new();
    let tx = store.conn().unchecked_transaction()?;
    for head in &page.heads {
        let h = &head.header;
        if h.space != session.identity.space {
            return Err(Error::Tampered(
                "the relay showed another space's head".into(),
            ));
        }
        let (key, _) = session.ledger.batch_key(&h.device, h.seq).ok_or_else(|| {
            Error::Tampered(format!(
                "the relay showed a head of device {} the ledger does not accept",
                h.device
            ))
        })?;
        head.verify(key)
            .map_err(|e| Error::Tampered(e.to_string()))?;
        shown.insert(h.device.clone());
        let mut place = session.place(&h.device);
        if h.device == own {
            if h.seq < own_acknowledged {
                return Err(Error::Tampered(format!(
                    "the relay no longer has this device's batches after {}: it lost or rolled \
                     them back",
                    h.seq
                )));
            }
            if h.seq > place.applied.seq {
                return Err(Error::Tampered(
                    "the relay shows batches of this device it has not handed back".into(),
                ));
            }
        } else {
            if h.seq > place.applied.seq {
                return Err(Error::Tampered(format!(
                    "the relay withholds batches {}..{} of device {}",
                    place.applied.seq + 1,
                    h.seq,
                    h.device
                )));
            }
            let start = pulled.start(&h.device);
            let held = start.applied.seq.max(start.seen);
            if h.seq < held {
                return Err(Error::Tampered(format!(
                    "the relay rolled device {}'s history back from batch {held} to {}",
                    h.device, h.seq
                )));
            }
            if !pulled.passed(&h.device, head.point()) {
                return Err(Error::Tampered(format!(
                    "device {}'s history forked at batch {}",
                    h.device, h.seq
                )));
            }
        }
        place.seen = place.seen.max(h.seq);
        if session.places.get(&h.device) != Some(&place) {
            state::set_place(&tx, &h.device, &place)?;
            session.places.insert(h.device.clone(), place);
        }
    }
    // A device whose first batches came while the heads were read has no head yet; one seen
    // before the pull must have one.
    for (device, place) in &pulled.start {
        if *device != own && place.applied.seq.max(place.seen) > 0 && !shown.contains(device) {
            return Err(Error::Tampered(format!(
                "the relay hides device {device}, whose batches this device has seen"
            )));
        }
    }
    // No head of this device at all is the same loss as an older one: the relay no longer has
    // what it acknowledged.
    if own_acknowledged > 0 && !shown.contains(&own) {
        return Err(Error::Tampered(format!(
            "the relay shows no batch of this device, though it acknowledged {own_acknowledged}: \
             it lost or dropped them"
        )));
    }
    tx.commit()?;
    Ok(())
}

/// This device's unacknowledged batches; when there are none, the outbox sealed into new ones
/// (kept before they are sent). `server_time_ms` is the relay's clock: a device whose own clock
/// is far from it seals nothing.
pub(crate) fn batches_to_push(
    store: &Store,
    session: &mut Session,
    server_time_ms: Option<u64>,
) -> Result<Vec<Envelope>> {
    let pending = state::pending(store.conn())?;
    if !pending.is_empty() {
        return Ok(pending.into_iter().map(|p| p.envelope).collect());
    }
    let waiting: bool =
        store
            .conn()
            .query_row("SELECT EXISTS (SELECT 1 FROM outbox)", [], |r| r.get(0))?;
    if !waiting {
        return Ok(Vec::new());
    }
    let now = crate::clock::unix_ms(store.clock().as_ref());
    if let Some(server) = server_time_ms {
        let skew = now.abs_diff(server);
        if skew > MAX_CLOCK_SKEW_MS {
            return Err(Error::Clock(format!(
                "this device's clock is {} {} the relay's: set it right, then sync again \
                 (changes are kept until then)",
                describe_ms(skew),
                if now > server { "ahead of" } else { "behind" }
            )));
        }
    }
    // Changes stamped while this device's clock ran ahead are stamped again, now that it is
    // right, before any of them leaves.
    if let Some(server) = server_time_ms {
        store.restamp_unpushed(server.saturating_add(MAX_CLOCK_SKEW_MS))?;
    }
    let outbox = store.outbox(OUTBOX_ENTRIES_PER_SEAL)?;
    let Some(up_to) = outbox.up_to else {
        return Ok(Vec::new());
    };
    let own = session.own().clone();
    // Only this device's own writes travel from it; each device sends its own.
    let mine: Vec<FieldChange> = outbox
        .changes
        .into_iter()
        .filter(|c| Hlc::parse(&c.hlc).is_ok_and(|h| h.device.as_str() == own.as_str()))
        .collect();
    // Batches per scope, each under about MAX_BATCH_BYTES of plaintext.
    let mut by_scope: Vec<(Scope, Vec<Vec<FieldChange>>)> = Vec::new();
    for change in mine {
        let scope = store
            .entity(&change.entity)
            .map(|d| d.scope)
            .ok_or_else(|| Error::Corrupt("an outbox entry of an unknown entity".into()))?;
        let batches = match by_scope.iter_mut().find(|(s, _)| *s == scope) {
            Some((_, b)) => b,
            None => {
                by_scope.push((scope, vec![Vec::new()]));
                &mut by_scope.last_mut().expect("just pushed").1
            }
        };
        let size: usize = batches
            .last()
            .map_or(0, |b| b.iter().map(batch::weight).sum());
        if size + batch::weight(&change) > MAX_BATCH_BYTES
            && batches.last().is_some_and(|b| !b.is_empty())
        {
            batches.push(Vec::new());
        }
        batches.last_mut().expect("never empty").push(change);
    }
    let mut place = session.place(&own);
    let mut sealed = Vec::new();
    for (scope, batches) in by_scope {
        let epoch = session
            .ledger
            .current_epoch(scope)
            .ok_or_else(|| Error::Corrupt(format!("the ledger has no {} key", scope.as_str())))?;
        let key = session.keys.get(&(scope, epoch)).ok_or_else(|| {
            Error::Corrupt(format!(
                "this device does not hold the {} key",
                scope.as_str()
            ))
        })?;
        for changes in batches.into_iter().filter(|b| !b.is_empty()) {
            let header = EnvelopeHeader {
                v: PROTOCOL_VERSION,
                space: session.identity.space.clone(),
                scope,
                epoch,
                device: own.clone(),
                seq: place.applied.seq + 1,
                prev: place.applied.link,
            };
            let envelope = key.seal(header, &batch::encode(&changes)?, &session.identity.device);
            place.applied = ChainPoint::after(&envelope);
            sealed.push((envelope, changes.len() as u64));
        }
    }
    let tx = store.conn().unchecked_transaction()?;
    let last = sealed.len().saturating_sub(1);
    for (i, (envelope, changes)) in sealed.iter().enumerate() {
        state::add_pending(
            &tx,
            &Pending {
                envelope: envelope.clone(),
                outbox_up_to: (i == last).then_some(up_to),
                changes: *changes,
            },
        )?;
    }
    if sealed.is_empty() {
        // Entries with nothing of this device's left to send (edits of records deleted since).
        tx.execute("DELETE FROM outbox WHERE seq <= ?1", [up_to])?;
    }
    state::set_place(&tx, &own, &place)?;
    tx.commit()?;
    session.places.insert(own, place);
    Ok(sealed.into_iter().map(|(e, _)| e).collect())
}

/// Notes what the relay acknowledged of `sent`: those batches are delivered, and the outbox
/// entries they carried go. Returns how many changes they carried.
pub(crate) fn acknowledged(
    store: &Store,
    sent: &[Envelope],
    response: &PushResponse,
) -> Result<u64> {
    if response.accepted.len() != sent.len()
        || sent
            .iter()
            .zip(&response.accepted)
            .any(|(e, a)| e.header.seq != a.device_seq)
    {
        return Err(Error::Tampered(
            "the relay's acknowledgement does not match what was pushed".into(),
        ));
    }
    let pending = state::pending(store.conn())?;
    let tx = store.conn().unchecked_transaction()?;
    let mut changes = 0;
    for e in sent {
        if let Some(p) = pending
            .iter()
            .find(|p| p.envelope.header.seq == e.header.seq)
        {
            if let Some(up_to) = p.outbox_up_to {
                tx.execute("DELETE FROM outbox WHERE seq <= ?1", [up_to])?;
            }
            state::drop_pending(&tx, e.header.seq)?;
            changes += p.changes;
        }
    }
    tx.commit()?;
    Ok(changes)
}
