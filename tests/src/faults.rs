//! A bad network between one device and the relay: a proxy that loses, delays, repeats and
//! breaks requests. Each request suffers at most one fault, drawn from a seeded generator with
//! set rates, so a run is replayed from its seed (no wall-clock randomness).
//!
//! - **dropped before** it reaches the relay: the connection is cut, the relay never sees it;
//! - **dropped after** the relay answered: the relay stored it, the client never hears;
//! - **delayed** a few milliseconds;
//! - **duplicated**: sent to the relay twice, one after the other; the client hears the first
//!   answer;
//! - **truncated**: the answer arrives whole as HTTP, but its body is cut short;
//! - **reset**: the answer's head and part of its body, then the connection is reset;
//! - **a 500** from the proxy, the relay never asked.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::http::{Method, StatusCode};
use cairn_protocol::api::{ErrorBody, ErrorCode, PullPage};
use cairn_protocol::codec::{from_cbor, to_cbor};

use crate::proxy::{Answer, Exchange, Intercept, Proxy, Relay, Reply};

/// A small deterministic generator (xorshift64*).
#[derive(Debug, Clone)]
pub struct Xorshift(u64);

impl Xorshift {
    /// A generator for `seed` (any value, zero included).
    pub fn new(seed: u64) -> Self {
        // splitmix64 of the seed: neighbouring seeds give unrelated sequences, and the state is
        // never zero.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Self((z ^ (z >> 31)) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True `per_mille` times in a thousand.
    pub fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        match items.len() {
            0 => None,
            n => items.get(self.below(n as u64) as usize),
        }
    }
}

/// How often each fault strikes, in requests per thousand; the rest pass untouched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultRates {
    /// Cut before the relay sees the request.
    pub drop_before: u64,
    /// Cut after the relay answered.
    pub drop_after: u64,
    /// Delayed.
    pub delay: u64,
    /// Sent twice.
    pub duplicate: u64,
    /// Answered with a body cut short.
    pub truncate: u64,
    /// Answered in part, then reset.
    pub reset: u64,
    /// Answered with a 500 by the proxy.
    pub server_error: u64,
}

impl Default for FaultRates {
    /// About one request in three suffers a fault.
    fn default() -> Self {
        Self {
            drop_before: 50,
            drop_after: 60,
            delay: 50,
            duplicate: 50,
            truncate: 40,
            reset: 40,
            server_error: 50,
        }
    }
}

impl FaultRates {
    /// No faults at all (to set one rate on).
    pub fn none() -> Self {
        Self {
            drop_before: 0,
            drop_after: 0,
            delay: 0,
            duplicate: 0,
            truncate: 0,
            reset: 0,
            server_error: 0,
        }
    }
}

/// A fault a request suffered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Cut before the relay saw it.
    DropBefore,
    /// Cut after the relay answered.
    DropAfter,
    /// Delayed.
    Delay,
    /// Sent twice.
    Duplicate,
    /// Its answer's body cut short.
    Truncate,
    /// Its answer reset mid-body.
    Reset,
    /// Answered with a 500.
    ServerError,
}

impl Fault {
    /// Every fault, in a fixed order.
    pub const ALL: [Fault; 7] = [
        Fault::DropBefore,
        Fault::DropAfter,
        Fault::Delay,
        Fault::Duplicate,
        Fault::Truncate,
        Fault::Reset,
        Fault::ServerError,
    ];

    fn rate(self, rates: &FaultRates) -> u64 {
        match self {
            Fault::DropBefore => rates.drop_before,
            Fault::DropAfter => rates.drop_after,
            Fault::Delay => rates.delay,
            Fault::Duplicate => rates.duplicate,
            Fault::Truncate => rates.truncate,
            Fault::Reset => rates.reset,
            Fault::ServerError => rates.server_error,
        }
    }

    fn index(self) -> usize {
        Fault::ALL
            .iter()
            .position(|f| *f == self)
            .expect("every fault is listed")
    }
}

/// How many requests passed and how many suffered each fault.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// Requests the proxy handled.
    pub requests: u64,
    /// Requests that suffered each fault, in [`Fault::ALL`] order.
    pub faults: [u64; 7],
}

impl FaultCounts {
    /// Requests that suffered `fault`.
    pub fn of(&self, fault: Fault) -> u64 {
        self.faults[fault.index()]
    }

    /// Requests that suffered any fault.
    pub fn faulted(&self) -> u64 {
        self.faults.iter().sum()
    }

    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &FaultCounts) {
        self.requests += other.requests;
        for (a, b) in self.faults.iter_mut().zip(other.faults) {
            *a += b;
        }
    }
}

/// A faulty network in front of a relay.
pub struct FaultyRelay {
    state: Arc<Mutex<State>>,
    proxy: Proxy,
}

struct State {
    rng: Xorshift,
    rates: FaultRates,
    enabled: bool,
    counts: FaultCounts,
    /// Told when the next push arrives, before it goes on to the relay.
    on_push: Option<Sender<()>>,
    /// Set when a pull page carrying envelopes passes back to the client.
    on_page: Option<Arc<AtomicBool>>,
    /// When set, the only requests faults strike: a method and the end of a path.
    only: Option<(Method, &'static str)>,
}

impl FaultyRelay {
    /// Starts a proxy in front of the relay at `relay` (`http://127.0.0.1:PORT`) whose faults
    /// are drawn from `seed` at `rates`.
    pub fn start(relay: &str, seed: u64, rates: FaultRates) -> Self {
        let state = Arc::new(Mutex::new(State {
            rng: Xorshift::new(seed),
            rates,
            enabled: true,
            counts: FaultCounts::default(),
            on_push: None,
            on_page: None,
            only: None,
        }));
        let proxy = Proxy::start(relay, Faulty(state.clone()));
        Self { state, proxy }
    }

    /// Its address: give it to a device as its relay.
    pub fn url(&self) -> String {
        self.proxy.url()
    }

    /// Turns the faults on or off; off, every request passes untouched.
    pub fn set_faults(&self, on: bool) {
        lock(&self.state).enabled = on;
    }

    /// From now on, faults strike only `method` requests whose path (without its query) ends
    /// with `suffix`; the rest pass untouched.
    pub fn strike_only(&self, method: Method, suffix: &'static str) {
        lock(&self.state).only = Some((method, suffix));
    }

    /// What the proxy has done so far.
    pub fn counts(&self) -> FaultCounts {
        lock(&self.state).counts
    }

    /// Tells `tx` when the next push arrives, before the relay sees it (to restart the relay
    /// under it, say).
    pub fn on_next_push(&self, tx: Sender<()>) {
        lock(&self.state).on_push = Some(tx);
    }

    /// Sets `flag` when the next pull page carrying envelopes goes back to the client, before
    /// the client has it (to kill the client while it applies the page, say).
    pub fn on_next_page(&self, flag: Arc<AtomicBool>) {
        lock(&self.state).on_page = Some(flag);
    }

    /// Forgets whatever [`FaultyRelay::on_next_push`] and [`FaultyRelay::on_next_page`] asked
    /// for and did not happen.
    pub fn forget_watches(&self) {
        let mut state = lock(&self.state);
        state.on_push = None;
        state.on_page = None;
    }
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What one request will suffer, drawn before it is forwarded.
#[derive(Debug, Clone, Copy)]
enum Plan {
    Pass,
    Fault(Fault, u64),
}

struct Faulty(Arc<Mutex<State>>);

impl Faulty {
    fn plan(&self, request: &Exchange) -> (Plan, Option<Sender<()>>) {
        let mut state = lock(&self.0);
        state.counts.requests += 1;
        let push = request.method == Method::POST && request.route().ends_with("/envelopes");
        let told = if push { state.on_push.take() } else { None };
        let struck = state.only.as_ref().is_none_or(|(method, suffix)| {
            request.method == method && request.route().ends_with(suffix)
        });
        if !state.enabled || !struck {
            return (Plan::Pass, told);
        }
        let rates = state.rates;
        let mut roll = state.rng.below(1000);
        // The fault's own parameter (a delay, where to cut) is drawn every time, so the
        // sequence of draws does not depend on which fault struck.
        let param = state.rng.next_u64();
        for fault in Fault::ALL {
            let rate = fault.rate(&rates);
            if roll < rate {
                return (Plan::Fault(fault, param), told);
            }
            roll -= rate;
        }
        (Plan::Pass, told)
    }

    fn count(&self, fault: Fault) {
        lock(&self.0).counts.faults[fault.index()] += 1;
    }

    /// Passes `answer` back, setting the page watch if it is a page carrying envelopes.
    fn deliver(&self, request: &Exchange, answer: &Answer) {
        let pull = request.method == Method::GET && request.route().ends_with("/envelopes");
        if !pull || answer.status != StatusCode::OK {
            return;
        }
        let carries = from_cbor::<PullPage>(&answer.body, "pull page")
            .is_ok_and(|page| !page.envelopes.is_empty());
        if carries && let Some(flag) = lock(&self.0).on_page.take() {
            flag.store(true, Ordering::SeqCst);
        }
    }
}

impl Intercept for Faulty {
    async fn handle(&self, request: Exchange, relay: Relay) -> Reply {
        let (plan, told) = self.plan(&request);
        if let Some(tx) = told {
            let _ = tx.send(());
            // Gives whoever was told a moment to act (a relay to begin stopping) before the
            // push goes on.
            tokio::time::sleep(Duration::from_millis(3)).await;
        }
        let (fault, param) = match plan {
            Plan::Pass => {
                return match relay.send(&request).await {
                    Some(answer) => {
                        self.deliver(&request, &answer);
                        Reply::Answer(answer)
                    }
                    None => Reply::Close,
                };
            }
            Plan::Fault(fault, param) => (fault, param),
        };
        match fault {
            Fault::DropBefore => {
                self.count(fault);
                return Reply::Close;
            }
            Fault::ServerError => {
                self.count(fault);
                let body = to_cbor(&ErrorBody {
                    code: ErrorCode::Unavailable,
                    message: "the relay failed".into(),
                });
                return Reply::Answer(Answer::cbor(StatusCode::INTERNAL_SERVER_ERROR, body));
            }
            Fault::Delay => {
                self.count(fault);
                tokio::time::sleep(Duration::from_millis(1 + param % 40)).await;
            }
            _ => {}
        }
        let Some(answer) = relay.send(&request).await else {
            return Reply::Close;
        };
        match fault {
            Fault::Duplicate => {
                self.count(fault);
                let _ = relay.send(&request).await;
            }
            Fault::DropAfter => {
                self.count(fault);
                return Reply::Close;
            }
            Fault::Truncate | Fault::Reset if !answer.body.is_empty() => {
                self.count(fault);
                let keep = (param % answer.body.len() as u64) as usize;
                if fault == Fault::Reset {
                    return Reply::Cut(answer, keep);
                }
                let mut cut = answer;
                cut.body = cut.body.slice(..keep);
                return Reply::Answer(cut);
            }
            _ => {}
        }
        self.deliver(&request, &answer);
        Reply::Answer(answer)
    }
}
