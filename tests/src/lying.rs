//! A relay that lies: a proxy in front of a real [`TestRelay`](crate::TestRelay) that decodes
//! the relay's answers and rewrites them as a malicious relay would, per the [`Lie`] it is told
//! to tell. It remembers every envelope it has carried (pushed or pulled), as a relay does, so
//! it can replay one, splice one into another space's page or show an old head.
//!
//! It holds no key of any device or account: what it serves is what a relay could serve. A
//! forgery that needs a signature (a ledger entry) is signed by whoever the test says, never by
//! a key the clients trust.

use std::sync::{Arc, Mutex, PoisonError};

use axum::http::{Method, StatusCode};
use cairn_protocol::api::{DeviceList, LedgerPage, PullPage, PushRequest, PushResponse, Stored};
use cairn_protocol::codec::{from_cbor, to_cbor};
use cairn_protocol::{
    DeviceId, Envelope, Hash32, KemKey, KeyWrap, LedgerBody, LedgerEntry, Scope, SpaceId,
};

use crate::proxy::{Exchange, Intercept, Proxy, Relay, Reply};

/// Makes a forged ledger entry for the given index, naming the given hash as the entry before:
/// the relay knows both, so its forgery sits exactly where a real entry would.
pub type Forger = Box<dyn Fn(u64, Hash32) -> LedgerEntry + Send + Sync>;

/// What the relay lies about. Each lie rewrites only answers the relay gave with success.
pub enum Lie {
    /// Nothing: answers pass unchanged.
    Honest,
    /// The first envelope of every page is moved to another scope (its header rewritten).
    MoveScope,
    /// An envelope of space `from` (one the relay carried) is put first in every page.
    Splice {
        /// The space it is taken from.
        from: SpaceId,
    },
    /// The first envelope of `device` the relay carried is served again, first in every page,
    /// under a new sequence number after the cursor.
    Replay {
        /// Whose batch.
        device: DeviceId,
    },
    /// The first envelope of `device` in every page is left out.
    DropBatch {
        /// Whose batch.
        device: DeviceId,
    },
    /// The last `n` envelopes of every page are left out; the heads still show them.
    WithholdTail {
        /// How many.
        n: usize,
    },
    /// `device`'s head is replaced by the head of the first envelope of it the relay carried.
    RollBack {
        /// Whose head.
        device: DeviceId,
    },
    /// `device`'s head is left out.
    HideDevice {
        /// Whose head.
        device: DeviceId,
    },
    /// An entry the forger makes is appended to every ledger page (and pull pages count it).
    ForgeLedger(Forger),
    /// In every `scope` key entry of a ledger page, the wrap to `wrap.account` is replaced by
    /// `wrap` (a key of the relay's choosing, sealed to that account's public key).
    SwapWrap {
        /// The scope whose entries are rewritten.
        scope: Scope,
        /// The wrap put in.
        wrap: KeyWrap,
    },
    /// Every envelope of a page is re-encoded with protocol version 0.
    DowngradeEnvelopes,
    /// Every ledger entry of a page is re-encoded with protocol version 0.
    DowngradeLedger,
    /// A push's acknowledgement names other batches than were pushed (each one place later).
    MisAck,
    /// The account's device list carries another key-agreement key for the account.
    SwapAccountKey(KemKey),
    /// Pushes go no further than the liar: it keeps their envelopes (a relay sees every push)
    /// and closes the connection without an answer.
    SwallowPushes,
    /// `device`'s head is replaced by the head of another envelope of it the relay carried at
    /// the same batch number: the head of a second history of that device.
    Fork {
        /// Whose head.
        device: DeviceId,
    },
}

/// A lying relay in front of a real one.
pub struct LyingRelay {
    state: Arc<Mutex<State>>,
    proxy: Proxy,
}

struct State {
    lie: Lie,
    told: usize,
    carried: Vec<Envelope>,
}

impl LyingRelay {
    /// Starts an honest proxy in front of the relay at `relay` (`http://127.0.0.1:PORT`).
    pub fn start(relay: &str) -> Self {
        let state = Arc::new(Mutex::new(State {
            lie: Lie::Honest,
            told: 0,
            carried: Vec::new(),
        }));
        let proxy = Proxy::start(relay, Liar(state.clone()));
        Self { state, proxy }
    }

    /// Its address: give it to a device as its relay.
    pub fn url(&self) -> String {
        self.proxy.url()
    }

    /// From now on, tells `lie`.
    pub fn tell(&self, lie: Lie) {
        let mut state = lock(&self.state);
        state.lie = lie;
        state.told = 0;
    }

    /// From now on, passes answers unchanged.
    pub fn be_honest(&self) {
        self.tell(Lie::Honest);
    }

    /// How many answers the current lie has rewritten.
    pub fn lies_told(&self) -> usize {
        lock(&self.state).told
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

struct Liar(Arc<Mutex<State>>);

/// The answers a lie can rewrite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pull,
    Push,
    Ledger,
    Devices,
}

fn kind(request: &Exchange) -> Option<Kind> {
    let route = request.route();
    let space = route.starts_with("/v1/spaces/");
    match (&request.method, route) {
        (&Method::GET, r) if space && r.ends_with("/envelopes") => Some(Kind::Pull),
        (&Method::POST, r) if space && r.ends_with("/envelopes") => Some(Kind::Push),
        (&Method::GET, r) if space && r.ends_with("/ledger") => Some(Kind::Ledger),
        (&Method::GET, cairn_protocol::api::paths::MY_DEVICES) => Some(Kind::Devices),
        _ => None,
    }
}

impl Intercept for Liar {
    async fn handle(&self, request: Exchange, relay: Relay) -> Reply {
        if kind(&request) == Some(Kind::Push) {
            let mut state = lock(&self.0);
            if matches!(state.lie, Lie::SwallowPushes) {
                if let Ok(pushed) = from_cbor::<PushRequest>(&request.body, "push") {
                    state.carry(pushed.envelopes.iter());
                }
                state.told += 1;
                return Reply::Close;
            }
        }
        let Some(mut answer) = relay.send(&request).await else {
            return Reply::Close;
        };
        let Some(kind) = kind(&request).filter(|_| answer.status == StatusCode::OK) else {
            return Reply::Answer(answer);
        };
        // A forgery sits on top of the relay's real ledger: read its head first (no lock is
        // held across the wait).
        let forging = matches!(lock(&self.0).lie, Lie::ForgeLedger(_));
        let ledger_top = match (forging, kind) {
            (true, Kind::Ledger) => ledger_top(&request, &relay).await,
            _ => None,
        };
        let mut state = lock(&self.0);
        let body = match kind {
            Kind::Pull => {
                let mut page: PullPage = from_cbor(&answer.body, "pull page").expect("relay page");
                state.carry(page.envelopes.iter().map(|s| &s.envelope));
                let after = request
                    .query("after")
                    .and_then(|a| a.parse().ok())
                    .unwrap_or(0);
                if state.lie_in_page(&mut page, after) {
                    state.told += 1;
                }
                to_cbor(&page)
            }
            Kind::Push => {
                if let Ok(pushed) = from_cbor::<PushRequest>(&request.body, "push") {
                    state.carry(pushed.envelopes.iter());
                }
                let mut ack: PushResponse = from_cbor(&answer.body, "push answer").expect("ack");
                if matches!(state.lie, Lie::MisAck) && !ack.accepted.is_empty() {
                    for accepted in &mut ack.accepted {
                        accepted.device_seq += 1;
                    }
                    state.told += 1;
                }
                to_cbor(&ack)
            }
            Kind::Ledger => {
                let mut page: LedgerPage =
                    from_cbor(&answer.body, "ledger page").expect("relay ledger");
                if state.lie_in_ledger(&mut page, ledger_top) {
                    state.told += 1;
                }
                to_cbor(&page)
            }
            Kind::Devices => {
                let mut list: DeviceList =
                    from_cbor(&answer.body, "device list").expect("relay device list");
                if let Lie::SwapAccountKey(kem) = &state.lie {
                    list.account.kem = *kem;
                    state.told += 1;
                }
                to_cbor(&list)
            }
        };
        answer.body = body.into();
        Reply::Answer(answer)
    }
}

/// The index and hash a next entry of the relay's ledger would have, read from the relay with
/// the client's own credentials.
async fn ledger_top(request: &Exchange, relay: &Relay) -> Option<(u64, Hash32)> {
    let whole = Exchange {
        path: format!("{}?from=0", request.route()),
        ..request.clone()
    };
    let answer = relay.send(&whole).await?;
    let page: LedgerPage = from_cbor(&answer.body, "ledger page").ok()?;
    let last = page.entries.last()?;
    Some((page.len, last.hash()))
}

impl State {
    /// Remembers envelopes the relay carried, each once.
    fn carry<'a>(&mut self, envelopes: impl Iterator<Item = &'a Envelope>) {
        for e in envelopes {
            if !self.carried.iter().any(|c| c.link() == e.link()) {
                self.carried.push(e.clone());
            }
        }
    }

    fn first_carried(&self, pick: impl Fn(&Envelope) -> bool) -> Option<Envelope> {
        self.carried.iter().find(|e| pick(e)).cloned()
    }

    /// Rewrites a pull page per the lie; whether it changed anything.
    fn lie_in_page(&self, page: &mut PullPage, after: u64) -> bool {
        match &self.lie {
            Lie::Honest
            | Lie::SwapWrap { .. }
            | Lie::DowngradeLedger
            | Lie::MisAck
            | Lie::SwapAccountKey(_)
            | Lie::SwallowPushes => false,
            Lie::ForgeLedger(_) => {
                // The forged entry is counted, so a client pulling reads the ledger; the lie
                // is told where the entry is served.
                page.ledger_len += 1;
                false
            }
            Lie::MoveScope => match page.envelopes.first_mut() {
                Some(first) => {
                    let h = &mut first.envelope.header;
                    h.scope = match h.scope {
                        Scope::Timeline => Scope::Meds,
                        _ => Scope::Timeline,
                    };
                    true
                }
                None => false,
            },
            Lie::Splice { from } => match self.first_carried(|e| e.header.space == *from) {
                Some(e) => {
                    put_first(page, after, e);
                    true
                }
                None => false,
            },
            Lie::Replay { device } => match self.first_carried(|e| e.header.device == *device) {
                Some(e) => {
                    put_first(page, after, e);
                    true
                }
                None => false,
            },
            Lie::DropBatch { device } => {
                match page
                    .envelopes
                    .iter()
                    .position(|s| s.envelope.header.device == *device)
                {
                    Some(i) => {
                        page.envelopes.remove(i);
                        true
                    }
                    None => false,
                }
            }
            Lie::WithholdTail { n } => {
                let keep = page.envelopes.len().saturating_sub(*n);
                let withheld = page.envelopes.len() > keep;
                page.envelopes.truncate(keep);
                page.next_after = page.envelopes.last().map_or(after, |s| s.seq);
                withheld
            }
            Lie::RollBack { device } => {
                let older = self.first_carried(|e| e.header.device == *device);
                match (
                    older,
                    page.heads.iter_mut().find(|h| h.header.device == *device),
                ) {
                    (Some(older), Some(head)) if older.header.seq < head.header.seq => {
                        *head = older.head();
                        true
                    }
                    _ => false,
                }
            }
            Lie::Fork { device } => {
                let Some(head) = page.heads.iter_mut().find(|h| h.header.device == *device) else {
                    return false;
                };
                let other = self.first_carried(|e| {
                    e.header.device == *device
                        && e.header.seq == head.header.seq
                        && e.link() != head.link()
                });
                match other {
                    Some(other) => {
                        *head = other.head();
                        true
                    }
                    None => false,
                }
            }
            Lie::HideDevice { device } => {
                let before = page.heads.len();
                page.heads.retain(|h| h.header.device != *device);
                page.heads.len() < before
            }
            Lie::DowngradeEnvelopes => {
                for s in &mut page.envelopes {
                    s.envelope.header.v = 0;
                }
                !page.envelopes.is_empty()
            }
        }
    }

    /// Rewrites a ledger page per the lie; whether it changed anything.
    fn lie_in_ledger(&self, page: &mut LedgerPage, top: Option<(u64, Hash32)>) -> bool {
        match &self.lie {
            Lie::ForgeLedger(forge) => match top {
                Some((index, prev)) => {
                    page.entries.push(forge(index, prev));
                    page.len = index + 1;
                    true
                }
                None => false,
            },
            Lie::SwapWrap { scope, wrap } => {
                let mut swapped = false;
                for entry in &mut page.entries {
                    if let LedgerBody::ScopeKey {
                        scope: s, wraps, ..
                    } = &mut entry.body
                        && s == scope
                    {
                        for w in wraps.iter_mut().filter(|w| w.account == wrap.account) {
                            *w = wrap.clone();
                            swapped = true;
                        }
                    }
                }
                swapped
            }
            Lie::DowngradeLedger => {
                for entry in &mut page.entries {
                    entry.v = 0;
                }
                !page.entries.is_empty()
            }
            _ => false,
        }
    }
}

/// Puts `envelope` first in `page`, numbering the page's envelopes again from `after + 1` as
/// the relay's own sequence would.
fn put_first(page: &mut PullPage, after: u64, envelope: Envelope) {
    page.envelopes.insert(0, Stored { seq: 0, envelope });
    for (i, stored) in page.envelopes.iter_mut().enumerate() {
        stored.seq = after + 1 + i as u64;
    }
    page.next_after = after + page.envelopes.len() as u64;
}
