//! Test devices that speak the domain, and exchanges of changes between them.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use cairn_core::record::FieldChange;
use cairn_core::store::{MemoryKeyStore, StoreAccess};
use cairn_core::sync::{self, HttpTransport, RetryPolicy, SyncReport, Transport};
use cairn_core::{SteppableClock, Store, Unlock};
use cairn_tests::TestRelay;
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// A phone with its own encrypted store, key store and clock the test moves.
// Each test module uses the parts it needs.
#[allow(dead_code)]
pub(crate) struct TestDevice {
    pub(crate) store: Store,
    pub(crate) clock: SteppableClock,
    pub(crate) keys: Arc<MemoryKeyStore>,
    pub(crate) dir: tempfile::TempDir,
}

impl TestDevice {
    /// The patient's phone, at home in London on the morning before the clocks go back.
    pub(crate) fn patient() -> Self {
        Self::at("2026-10-24T08:00:00+01:00[Europe/London]")
    }

    /// A caregiver's phone in the same zone.
    #[allow(dead_code)]
    pub(crate) fn caregiver() -> Self {
        Self::patient()
    }

    /// A device whose clock starts at `zoned` (RFC 9557, e.g. `2026-03-08T01:30:00-05:00[America/New_York]`).
    pub(crate) fn at(zoned: &str) -> Self {
        let z: jiff::ZonedDateTime = zoned.parse().expect("test time");
        Self::with_clock(SteppableClock::new(z.timestamp(), z.time_zone().clone()))
    }

    /// A device on the given clock.
    pub(crate) fn with_clock(clock: SteppableClock) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let keys = Arc::new(MemoryKeyStore::default());
        // The store in `dir/store`; the rest of `dir` stands for the person's own files.
        let store = Store::create(
            &dir.path().join("store"),
            Unlock::KeyStore(keys.as_ref()),
            Arc::new(clock.clone()),
        )
        .expect("create store");
        Self {
            store,
            clock,
            keys,
            dir,
        }
    }

    /// Another device holding a copy of this one's store as it is now, with the same keys and
    /// clock: a store copied to a second phone, or a backup restored while this one lives on.
    #[allow(dead_code)]
    pub(crate) fn copy(&self) -> TestDevice {
        let dir = backup(self);
        let store = Store::open(
            &dir.path().join("store"),
            Unlock::KeyStore(self.keys.as_ref()),
            Arc::new(self.clock.clone()),
        )
        .expect("open the copy");
        TestDevice {
            store,
            clock: self.clock.clone(),
            keys: self.keys.clone(),
            dir,
        }
    }

    /// Everything this device has not pushed yet, marked as pushed.
    pub(crate) fn push(&self) -> Vec<FieldChange> {
        let out = self.store.outbox(usize::MAX >> 1).expect("outbox");
        if let Some(last) = out.up_to {
            self.store.acknowledge_outbox(last).expect("ack");
        }
        out.changes
    }

    /// Applies what other devices pushed.
    pub(crate) fn pull(&self, changes: &[FieldChange]) {
        self.store.apply_remote(changes).expect("apply");
    }

    /// Exchanges changes both ways with `other`.
    pub(crate) fn sync_with(&self, other: &TestDevice) {
        let mine = self.push();
        let theirs = other.push();
        other.pull(&mine);
        self.pull(&theirs);
    }

    /// Creates the patient's account on `relay` with this device, and syncs.
    #[allow(dead_code)]
    pub(crate) fn create_account(&self, relay: &TestRelay) -> String {
        let kit = self
            .store
            .create_account(&relay.url())
            .expect("create account");
        self.sync(relay);
        kit.to_string()
    }

    /// This device's transport to `relay`.
    #[allow(dead_code)]
    pub(crate) fn transport(&self, relay: &TestRelay) -> HttpTransport {
        self.transport_at(&relay.url())
    }

    /// This device's transport to the relay at `url` (a proxy, say).
    #[allow(dead_code)]
    pub(crate) fn transport_at(&self, url: &str) -> HttpTransport {
        let id = self.store.sync_identity().expect("sync identity");
        HttpTransport::new(url)
            .expect("relay address")
            .as_device(id.device.clone())
    }

    /// One sync through `relay`, which must succeed.
    #[allow(dead_code)]
    pub(crate) fn sync(&self, relay: &TestRelay) -> SyncReport {
        self.try_sync(&self.transport(relay)).expect("sync")
    }

    /// One sync through `transport`.
    #[allow(dead_code)]
    pub(crate) fn try_sync(&self, transport: &dyn Transport) -> cairn_core::Result<SyncReport> {
        sync::sync_now(
            &self.store,
            transport,
            &sync::Quiet,
            &sync::CancelToken::new(),
            retry_policy(),
        )
    }

    /// Links `new` to this device's account through `relay`: this device shows a code, the new
    /// one types it; then the new device syncs.
    #[allow(dead_code)]
    pub(crate) fn link(&mut self, new: &mut TestDevice, relay: &TestRelay) {
        self.link_unsynced(new, relay);
        new.sync(relay);
    }

    /// Links `new` as [`TestDevice::link`] does, leaving its first sync to the test.
    pub(crate) fn link_unsynced(&mut self, new: &mut TestDevice, relay: &TestRelay) {
        let shows = self.transport(relay);
        let invite = sync::start_link(&self.store, &shows).expect("start link");
        let code = invite.code.clone();
        // `&mut` moves into the thread (a store is used by one thread at a time).
        let store = &mut self.store;
        std::thread::scope(|scope| {
            let existing = scope.spawn(move || {
                sync::finish_link(&*store, &shows, &invite, &sync::CancelToken::new())
            });
            let joins = HttpTransport::new(&relay.url()).expect("relay address");
            sync::join(&mut new.store, &joins, &code, &sync::CancelToken::new()).expect("join");
            existing.join().expect("link thread").expect("finish link");
        });
    }

    /// The app started again: its store opened from `dir` with its key store and clock.
    fn reopen(clock: SteppableClock, keys: Arc<MemoryKeyStore>, dir: tempfile::TempDir) -> Self {
        let store = Store::open(
            &dir.path().join("store"),
            Unlock::KeyStore(keys.as_ref()),
            Arc::new(clock.clone()),
        )
        .expect("reopen store");
        Self {
            store,
            clock,
            keys,
            dir,
        }
    }

    /// The app killed during a sync through `transport`: the sync's local steps run until
    /// `steps` of them have, or until `doom` is set, and then the store is dropped without
    /// being closed; the app starts again with the store opened from its directory. Returns
    /// what the sync came to (a killed sync fails with [`is_killed`] true).
    pub(crate) fn killed_during_sync(
        self,
        transport: &dyn Transport,
        steps: usize,
        doom: Arc<AtomicBool>,
    ) -> (cairn_core::Result<SyncReport>, Self) {
        let TestDevice {
            store,
            clock,
            keys,
            dir,
        } = self;
        let doomed = Doomed {
            store: Mutex::new(Some(store)),
            steps: AtomicUsize::new(steps),
            doom,
        };
        let result = sync::sync_now(
            &doomed,
            transport,
            &sync::Quiet,
            &sync::CancelToken::new(),
            retry_policy(),
        );
        // A sync that finished before its end came leaves its store the same way: dropped.
        drop(doomed);
        (result, Self::reopen(clock, keys, dir))
    }

    /// Moves the device's clock to `instant`.
    #[allow(dead_code)]
    pub(crate) fn set_now(&self, instant: Timestamp) {
        self.clock.set(instant);
    }

    /// Moves the device into another zone (a flight).
    #[allow(dead_code)]
    pub(crate) fn fly_to(&self, zone: &str) {
        self.clock.set_zone(TimeZone::get(zone).expect("zone"));
    }
}

/// How test devices retry: quickly, a few times.
pub(crate) fn retry_policy() -> RetryPolicy {
    RetryPolicy {
        attempts: 4,
        base_delay: std::time::Duration::from_millis(5),
        max_delay: std::time::Duration::from_millis(50),
    }
}

/// What a sync killed by [`TestDevice::killed_during_sync`] fails with.
const KILLED: &str = "the app was killed";

fn killed() -> cairn_core::Error {
    cairn_core::Error::Io(std::io::Error::other(KILLED))
}

/// Whether `e` is the end of a killed sync.
pub(crate) fn is_killed(e: &cairn_core::Error) -> bool {
    matches!(e, cairn_core::Error::Io(io) if io.to_string() == KILLED)
}

/// A store an app holds until it is killed: each local step of a sync takes it, until the
/// steps run out or the doom is set; then it is dropped on the spot, never closed, and that
/// step and every later one fail. Most steps commit once, so a kill before one leaves the
/// database as a kill in the middle of it would (SQLite rolls an unfinished transaction back).
struct Doomed {
    store: Mutex<Option<Store>>,
    steps: AtomicUsize,
    doom: Arc<AtomicBool>,
}

impl StoreAccess for Doomed {
    fn with_store<T>(
        &self,
        f: impl FnOnce(&Store) -> cairn_core::Result<T>,
    ) -> cairn_core::Result<T> {
        let mut held = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        let left = self.steps.load(Ordering::SeqCst);
        if left == 0 || self.doom.load(Ordering::SeqCst) {
            drop(held.take());
            return Err(killed());
        }
        self.steps.store(left - 1, Ordering::SeqCst);
        match held.as_ref() {
            Some(store) => f(store),
            None => Err(killed()),
        }
    }
}

#[test]
fn a_profile_edited_on_two_devices_merges_field_by_field() {
    let phone = TestDevice::patient();
    let tablet = TestDevice::patient();
    phone
        .store
        .set_profile(&cairn_core::Profile {
            display_name: "Maya".into(),
            home_time_zone: "Europe/London".into(),
        })
        .unwrap();
    phone.sync_with(&tablet);
    assert_eq!(
        phone.store.synced_state_dump().unwrap(),
        tablet.store.synced_state_dump().unwrap()
    );
    assert_eq!(phone.store.status().unwrap().outbox_count, 0);
}

/// A copy of `device`'s store directory as it is now (an old backup, later).
pub(crate) fn backup(device: &TestDevice) -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    let from = device.dir.path().join("store");
    let to = copy.path().join("store");
    fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                copy_dir(&path, &to.join(entry.file_name()));
            } else {
                std::fs::copy(&path, to.join(entry.file_name())).unwrap();
            }
        }
    }
    copy_dir(&from, &to);
    copy
}
