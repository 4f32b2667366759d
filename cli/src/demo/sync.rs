//! The sync part of the walkthrough: a relay in this process, the patient's account, a tablet
//! linked by code, syncs both ways, and what the relay's files hold.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cairn_core::sync::{self, CancelToken, HttpTransport, SyncReport};
use cairn_core::timeline::{EventDetails, NewEvent, SymptomReport, TimelineQuery};
use cairn_core::{Clock, Error, Store, Unlock};
use cairn_server::RelayThread;
use jiff::tz::TimeZone;

use crate::terminal::safe_println;
use crate::{meds, timeline};

/// Words the demo wrote, in the profile, the timeline, the medications and a document's notes,
/// that must appear in none of the relay's files.
const MARKERS: [&str; 5] = ["Maya", "Okafor", "nausea", "Capecitabine", "Neutropenic"];

/// The patient's home zone, as in the rest of the walkthrough.
const HOME: &str = "Europe/London";

/// Starts a relay on 127.0.0.1, creates the patient's account with `phone`'s store, links a
/// tablet (a new store in `dir`) by code, syncs both ways, and looks for the demo's words in
/// the relay's files.
pub(super) fn walk(
    dir: &Path,
    phone: &mut Store,
    pass: &str,
    clock: Arc<dyn Clock>,
) -> Result<(), Error> {
    safe_println!();
    safe_println!("-- Sync: a relay that stores only what devices seal and sign");
    let relay_dir = dir.join("relay");
    let mut config = cairn_server::Config::new(&relay_dir);
    // The relay keeps the devices' time, so a demo at `--now` syncs as one on the real clock.
    let relay_clock = clock.clone();
    config.clock = Arc::new(move || u64::try_from(relay_clock.now().as_millisecond()).unwrap_or(0));
    let mut relay = RelayThread::start(([127, 0, 0, 1], 0).into(), config)
        .map_err(|e| Error::Network(format!("the demo's relay did not start: {e}")))?;
    let url = relay.url();
    safe_println!("relay: {url}, in this process (SQLite and blob files in relay/)");

    let kit = phone.create_account(&url)?;
    let shown: Vec<&str> = kit.split('-').take(3).collect();
    safe_println!(
        "account created on the phone; its recovery kit: {}-… (restores everything)",
        shown.join("-")
    );
    let phone_relay = as_device(phone, &url)?;
    let sent = sync::sync_store(phone, &phone_relay)?;
    safe_println!("phone synced: {}", sent_and_received(&sent));

    safe_println!();
    safe_println!("-- A tablet joins by code (or QR code); the relay cannot learn the code");
    let mut tablet = Store::create(&dir.join("tablet"), Unlock::Passphrase(pass), clock)?;
    let invite = sync::start_link(&*phone, &phone_relay)?;
    safe_println!("phone shows:  {}", invite.code);
    // The phone waits for the tablet on a thread of its own, as it would on its own screen.
    let cancel = CancelToken::new();
    let linked = std::thread::scope(|scope| {
        // A store is used by one thread at a time: `&mut` hands it over.
        let (shows, relay, invite, cancel) = (&mut *phone, &phone_relay, &invite, &cancel);
        let waiting = scope.spawn(move || sync::finish_link(&*shows, relay, invite, cancel));
        let joined = HttpTransport::new(&url).and_then(|anonymous| {
            sync::join(&mut tablet, &anonymous, &invite.code, &CancelToken::new())
        });
        if joined.is_err() {
            cancel.cancel();
        }
        let linked = waiting
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        joined.and(linked)
    })?;
    safe_println!(
        "tablet typed it: linked as device {}",
        &linked.as_str()[..8]
    );
    let tablet_relay = as_device(&tablet, &url)?;
    let received = sync::sync_store(&tablet, &tablet_relay)?;
    safe_println!("tablet synced: {}", sent_and_received(&received));

    safe_println!();
    safe_println!("-- On the tablet: the newest events (in {HOME}) and today's doses");
    // The events were written in the patient's home zone, and are shown in it as above.
    let zone = TimeZone::get(HOME).map_err(|_| Error::invalid("zone", "missing"))?;
    let newest = tablet.timeline_page(&TimelineQuery::default(), None, 3)?;
    timeline::print::days(newest.events, &zone);
    meds::run::today(&tablet, None, false)?;

    safe_println!();
    safe_println!("-- Both ways: the tablet logs fatigue, the phone syncs it down");
    let fatigue = tablet.add_event(&NewEvent::new(
        tablet.clock().now(),
        "",
        EventDetails::Symptom {
            report: SymptomReport {
                severity: Some(2),
                ..SymptomReport::new("fatigue")
            },
        },
    ))?;
    let sent = sync::sync_store(&tablet, &tablet_relay)?;
    safe_println!("tablet synced: {}", sent_and_received(&sent));
    let received = sync::sync_store(phone, &phone_relay)?;
    safe_println!("phone synced: {}", sent_and_received(&received));
    safe_println!(
        "on the phone: {}",
        timeline::print::line(&phone.event(&fatigue)?, &zone)
    );
    tablet.close()?;

    relay
        .stop()
        .map_err(|e| Error::Network(format!("the demo's relay failed: {e}")))?;
    let files = files_under(&relay_dir)?;
    let mut held = Vec::new();
    for file in &files {
        held.push(std::fs::read(file)?);
    }
    let bytes: usize = held.iter().map(Vec::len).sum();
    safe_println!();
    safe_println!(
        "-- What the relay holds: {} file(s), {} KiB; any word the demo wrote?",
        files.len(),
        bytes.div_ceil(1024)
    );
    let mut readable = Vec::new();
    for marker in MARKERS {
        let found = held
            .iter()
            .any(|b| b.windows(marker.len()).any(|w| w == marker.as_bytes()));
        safe_println!("{marker:<13} {}", if found { "YES" } else { "no" });
        if found {
            readable.push(marker);
        }
    }
    if !readable.is_empty() {
        return Err(Error::Corrupt(
            "the demo's relay holds words the devices wrote".into(),
        ));
    }
    Ok(())
}

/// `store`'s device, speaking to the relay at `url`.
fn as_device(store: &Store, url: &str) -> Result<HttpTransport, Error> {
    Ok(HttpTransport::new(url)?.as_device(store.sync_identity()?.device.clone()))
}

/// What a sync moved, in a few words.
fn sent_and_received(r: &SyncReport) -> String {
    let mut moved = Vec::new();
    if r.pushed_batches > 0 {
        moved.push(format!("sent {} batch(es)", r.pushed_batches));
    }
    if r.pulled_batches > 0 {
        moved.push(format!(
            "received {} batch(es), {} change(s)",
            r.pulled_batches, r.pulled_changes
        ));
    }
    if moved.is_empty() {
        moved.push("nothing new".into());
    }
    moved.join(", ")
}

/// Every file under `dir`, its subdirectories' included.
fn files_under(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                dirs.push(entry.path());
            } else {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    Ok(out)
}
