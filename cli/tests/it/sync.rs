//! `cairn account`, `cairn device` and `cairn sync` as a patient runs them: a phone and a
//! tablet, each a `cairn` data directory, syncing through a real relay on 127.0.0.1 in this
//! process. The relay and the command both read the system clock, as a phone and its relay do.

use std::io::{BufRead, BufReader, Read};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, ChildStdout, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cairn_tests::TestRelay;
use serde_json::Value;

use crate::fixture::{PASS, cairn, command, new_store, ok, store_in};

/// Words of the phone's record that no error line may carry.
const RECORD_WORDS: [&str; 3] = ["Capecitabine", "Okafor", "IIA"];

/// The phone's record: a diagnosis, an appointment and a medication.
fn write_record(phone: &Path) {
    ok(&cairn(
        phone,
        PASS,
        &[
            "timeline",
            "add",
            "--kind",
            "diagnosis",
            "--condition",
            "Breast cancer",
            "--stage",
            "IIA",
        ],
    ));
    ok(&cairn(
        phone,
        PASS,
        &[
            "timeline",
            "add",
            "--kind",
            "appointment",
            "--provider",
            "Dr Okafor",
            "--question",
            "Can I travel?",
        ],
    ));
    ok(&cairn(
        phone,
        PASS,
        &[
            "meds",
            "add",
            "Capecitabine",
            "--dose",
            "3",
            "--unit",
            "tablet",
            "--times",
            "08:00,20:00",
        ],
    ));
}

/// `cairn account create --server URL` on `phone`: the recovery kit it printed.
fn create_account(phone: &Path, relay: &TestRelay) -> String {
    let out = ok(&cairn(
        phone,
        PASS,
        &["account", "create", "--server", &relay.url()],
    ));
    assert!(out.contains("recovery kit"), "{out}");
    assert!(out.contains("Synced:"), "{out}");
    out.lines()
        .map(str::trim)
        .find(|l| l.starts_with("CAIRN1-"))
        .unwrap_or_else(|| panic!("no kit in: {out}"))
        .to_owned()
}

/// A phone with its record and an account on `relay`, and its recovery kit.
fn phone_with_account(relay: &TestRelay) -> (tempfile::TempDir, String) {
    let phone = new_store();
    write_record(&store_in(&phone));
    let kit = create_account(&store_in(&phone), relay);
    (phone, kit)
}

/// `cairn device link --json` running on a device: the code it shows, and the command, which
/// waits for the new device. Killed if the test ends first.
struct Showing {
    child: Child,
    stdout: BufReader<ChildStdout>,
    code: String,
}

impl Showing {
    /// Starts it on `phone` and reads the code from its first line as it appears.
    fn start(phone: &Path) -> Self {
        let mut child = command(phone, PASS)
            .args(["device", "link", "--json"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run cairn device link");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        if line.is_empty() {
            let mut stderr = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            panic!("device link showed no code: {stderr}");
        }
        let invite: Value = serde_json::from_str(&line).expect("a JSON line");
        assert!(invite["qr"].as_str().unwrap().starts_with("cairn-link:1:"));
        let code = invite["code"].as_str().unwrap().to_owned();
        Self {
            child,
            stdout,
            code,
        }
    }

    /// Waits for it to end (a link takes a second or two), then its exit status, the rest of
    /// its stdout and its stderr.
    fn finish(mut self) -> (std::process::ExitStatus, String, String) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "device link still waits for the new device"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut stdout = String::new();
        self.stdout.read_to_string(&mut stdout).unwrap();
        let mut stderr = String::new();
        let mut pipe = self.child.stderr.take().unwrap();
        pipe.read_to_string(&mut stderr).unwrap();
        (status, stdout, stderr)
    }
}

impl Drop for Showing {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Links a new device in `tablet` (no store yet) to `phone`'s account, as a person does: the
/// phone shows a code, the tablet types it. Returns the tablet's device id.
fn link(phone: &Path, tablet: &Path, relay: &TestRelay) -> String {
    let showing = Showing::start(phone);
    let joined = ok(&cairn(
        tablet,
        PASS,
        &["device", "join", &showing.code, "--server", &relay.url()],
    ));
    assert!(joined.contains("Joined"), "{joined}");
    assert!(joined.contains("Synced:"), "{joined}");
    let (status, stdout, stderr) = showing.finish();
    assert!(status.success(), "{stdout}\n{stderr}");
    let linked: Value = serde_json::from_str(stdout.trim()).expect("a JSON line");
    linked["linked"].as_str().unwrap().to_owned()
}

/// The phone with an account, and a tablet linked to it.
fn phone_and_tablet(relay: &TestRelay) -> (tempfile::TempDir, tempfile::TempDir, String) {
    let (phone, _) = phone_with_account(relay);
    let tablet = tempfile::tempdir().unwrap();
    let id = link(&store_in(&phone), &store_in(&tablet), relay);
    (phone, tablet, id)
}

/// Output that went through `--json`.
fn json(out: &Output) -> Value {
    let text = ok(out);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// `cairn sync --json`: what it did.
fn sync(dir: &Path) -> Value {
    json(&cairn(dir, PASS, &["sync", "--json"]))
}

fn titles(dir: &Path) -> Vec<String> {
    json(&cairn(dir, PASS, &["timeline", "list", "--json"]))["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["title"].as_str().unwrap().to_owned())
        .collect()
}

fn medications(dir: &Path) -> Vec<String> {
    json(&cairn(dir, PASS, &["meds", "list", "--json"]))
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The one line a failed command printed; it must carry none of the record's words.
fn one_line_error(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "succeeded: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("cairn: "), "{stderr}");
    for word in RECORD_WORDS {
        assert!(!stderr.contains(word), "{stderr}");
    }
    stderr
}

/// Another way to the relay: a TCP forwarder on a port of its own, counting the connections it
/// carries. It serves until the test's process ends.
struct Forwarder {
    addr: SocketAddr,
    carried: Arc<AtomicUsize>,
}

impl Forwarder {
    fn to(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let carried = Arc::new(AtomicUsize::new(0));
        let count = carried.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(relay) = TcpStream::connect(target) else {
                    continue;
                };
                count.fetch_add(1, Ordering::SeqCst);
                pipe(&client, &relay);
                pipe(&relay, &client);
            }
        });
        Self { addr, carried }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn carried(&self) -> usize {
        self.carried.load(Ordering::SeqCst)
    }
}

/// Copies what `from` receives to `to` until it ends, then ends `to`'s sending side.
fn pipe(from: &TcpStream, to: &TcpStream) {
    let (mut from, mut to) = (from.try_clone().unwrap(), to.try_clone().unwrap());
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Write);
    });
}

#[test]
fn a_tablet_linked_by_code_syncs_the_phones_timeline_and_meds_both_ways() {
    let relay = TestRelay::start();
    let (phone, tablet, tablet_id) = phone_and_tablet(&relay);
    let (phone, tablet) = (store_in(&phone), store_in(&tablet));

    // The join brought everything down already; a sync finds nothing new.
    let report = sync(&tablet);
    assert_eq!(report["pulled_changes"], 0, "{report}");
    assert_eq!(report["retries"], 0, "{report}");
    let on_tablet = titles(&tablet);
    assert!(
        on_tablet.iter().any(|t| t.contains("Breast cancer")),
        "{on_tablet:?}"
    );
    assert!(
        on_tablet.iter().any(|t| t.contains("Dr Okafor")),
        "{on_tablet:?}"
    );
    assert_eq!(medications(&tablet), ["Capecitabine"]);

    ok(&cairn(
        &tablet,
        PASS,
        &[
            "timeline",
            "add",
            "--kind",
            "note",
            "--title",
            "Scan booked",
        ],
    ));
    assert_eq!(sync(&tablet)["pushed_batches"], 1);
    let report = sync(&phone);
    assert_eq!(report["pulled_batches"], 1, "{report}");
    assert!(titles(&phone).contains(&"Scan booked".to_owned()));

    let devices = json(&cairn(&phone, PASS, &["device", "list", "--json"]));
    let devices = devices.as_array().unwrap();
    assert_eq!(devices.len(), 2, "{devices:?}");
    assert_eq!(devices[0]["this_device"], true);
    assert_eq!(devices[1]["id"], tablet_id.as_str());
    assert_eq!(devices[1]["this_device"], false);
    assert!(devices.iter().all(|d| d["revoked"] == false));
    let text = ok(&cairn(&tablet, PASS, &["device", "list"]));
    assert!(text.contains(&format!("{tablet_id}  added")), "{text}");
    assert!(text.contains("this device"), "{text}");
}

#[test]
fn a_revoked_tablet_is_refused_at_its_next_sync() {
    let relay = TestRelay::start();
    let (phone, tablet, tablet_id) = phone_and_tablet(&relay);
    let (phone, tablet) = (store_in(&phone), store_in(&tablet));

    let out = ok(&cairn(&phone, PASS, &["device", "revoke", &tablet_id[..8]]));
    assert!(
        out.contains(&format!("Revoked device {tablet_id}")),
        "{out}"
    );
    let why = one_line_error(&cairn(&tablet, PASS, &["sync"]));
    assert!(why.contains("revoked"), "{why}");

    let devices = json(&cairn(&phone, PASS, &["device", "list", "--json"]));
    let tablet_entry = devices
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == tablet_id.as_str())
        .expect("the tablet is listed");
    assert_eq!(tablet_entry["revoked"], true);
    let why = one_line_error(&cairn(&phone, PASS, &["device", "revoke", &tablet_id]));
    assert!(why.contains("already revoked"), "{why}");
}

#[test]
fn the_recovery_kit_brings_everything_down_to_a_new_device() {
    let relay = TestRelay::start();
    let (phone, kit) = phone_with_account(&relay);
    let new_phone = tempfile::tempdir().unwrap();
    let new_phone = store_in(&new_phone);

    let out = command(&new_phone, PASS)
        .args(["account", "recover", "--server", &relay.url()])
        .env("CAIRN_RECOVERY_KIT", &kit)
        .output()
        .unwrap();
    let text = ok(&out);
    assert!(text.contains("Recovered"), "{text}");
    assert!(!text.contains(&kit), "the kit is not printed back: {text}");
    assert_eq!(titles(&new_phone), titles(&store_in(&phone)));
    assert_eq!(medications(&new_phone), ["Capecitabine"]);
    let devices = json(&cairn(&new_phone, PASS, &["device", "list", "--json"]));
    assert_eq!(devices.as_array().unwrap().len(), 2, "{devices}");
    let again = ok(&cairn(&new_phone, PASS, &["account", "kit"]));
    assert!(again.contains(&kit), "the same account's kit: {again}");
}

#[test]
fn sync_reaches_the_relay_another_way_for_one_run() {
    let relay = TestRelay::start();
    let (phone, tablet, _) = phone_and_tablet(&relay);
    let (phone, tablet) = (store_in(&phone), store_in(&tablet));
    let forwarder = Forwarder::to(relay.addr());

    ok(&cairn(
        &phone,
        PASS,
        &[
            "timeline",
            "add",
            "--kind",
            "note",
            "--title",
            "Bloods fine",
        ],
    ));
    let out = json(&cairn(
        &phone,
        PASS,
        &["sync", "--json", "--server", &forwarder.url()],
    ));
    assert_eq!(out["pushed_batches"], 1, "{out}");
    let carried = forwarder.carried();
    assert!(carried > 0, "the sync went through the forwarder");

    // The account's own address is kept: the next sync goes straight to the relay.
    assert_eq!(sync(&tablet)["pulled_batches"], 1);
    assert!(titles(&tablet).contains(&"Bloods fine".to_owned()));
    sync(&phone);
    assert_eq!(forwarder.carried(), carried);
}

#[test]
fn sync_commands_before_an_account_say_how_to_make_one() {
    let phone = new_store();
    let phone = store_in(&phone);
    write_record(&phone);
    for args in [
        &["sync"][..],
        &["device", "link"],
        &["device", "list"],
        &["account", "kit"],
    ] {
        let why = one_line_error(&cairn(&phone, PASS, args));
        assert!(
            why.contains("cairn account create --server"),
            "{args:?}: {why}"
        );
    }
}

#[test]
fn an_unreachable_relay_fails_in_one_line_after_retries() {
    let mut relay = TestRelay::start();
    let (phone, _) = phone_with_account(&relay);
    let phone = store_in(&phone);
    ok(&cairn(
        &phone,
        PASS,
        &[
            "timeline",
            "add",
            "--kind",
            "note",
            "--title",
            "Offline note",
        ],
    ));
    relay.stop();

    let started = Instant::now();
    let why = one_line_error(&cairn(&phone, PASS, &["sync"]));
    assert!(why.contains("could not be reached"), "{why}");
    assert!(why.contains("tried 6 times"), "{why}");
    assert!(why.contains("nothing was lost"), "{why}");
    assert!(started.elapsed() < Duration::from_secs(30));

    // Nothing was lost: once the relay is back, the note goes up.
    relay.restart();
    assert_eq!(sync(&phone)["pushed_batches"], 1);
}

#[test]
fn a_mistyped_code_ends_both_devices_at_once() {
    let relay = TestRelay::start();
    let (phone, _) = phone_with_account(&relay);
    let showing = Showing::start(&store_in(&phone));
    let (slot, digits) = showing.code.split_once('-').unwrap();
    let wrong: String = digits
        .chars()
        .map(|c| match c {
            '0'..='8' => char::from(c as u8 + 1),
            '9' => '0',
            c => c,
        })
        .collect();
    let tablet = tempfile::tempdir().unwrap();

    let why = one_line_error(&cairn(
        &store_in(&tablet),
        PASS,
        &[
            "device",
            "join",
            &format!("{slot}-{wrong}"),
            "--server",
            &relay.url(),
        ],
    ));
    assert!(why.contains("mistyped"), "{why}");
    let (status, _, stderr) = showing.finish();
    assert!(!status.success());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("mistyped"), "{stderr}");
}

#[test]
fn a_code_no_device_shows_is_refused() {
    let relay = TestRelay::start();
    let tablet = tempfile::tempdir().unwrap();
    let tablet = store_in(&tablet);
    let join = |code: &str| {
        cairn(
            &tablet,
            PASS,
            &["device", "join", code, "--server", &relay.url()],
        )
    };

    let why = one_line_error(&join("ZZZZZZZZZZ-1234-5678"));
    assert!(why.contains("no device is showing this code"), "{why}");
    let why = one_line_error(&join("1234"));
    assert!(why.contains("expected a code such as"), "{why}");
}

#[test]
fn a_document_added_on_the_phone_exports_on_the_tablet_after_coming_down() {
    let relay = TestRelay::start();
    let (phone, tablet, _) = phone_and_tablet(&relay);
    let (phone, tablet) = (store_in(&phone), store_in(&tablet));
    let pdf = phone.parent().unwrap().join("pathology.pdf");
    let bytes = cairn_tests::sample(700_000, 5);
    std::fs::write(&pdf, &bytes).unwrap();
    let added = ok(&cairn(
        &phone,
        PASS,
        &["vault", "add", pdf.to_str().unwrap(), "--kind", "pathology"],
    ));
    let id = added
        .lines()
        .find_map(|l| l.strip_prefix("added "))
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(sync(&phone)["uploaded_blobs"], 1);
    sync(&tablet);
    let verify = ok(&cairn(&tablet, PASS, &["vault", "verify"]));
    assert!(verify.contains("not downloaded"), "{verify}");
    assert!(verify.contains("0 with problems"), "{verify}");
    let out = tablet.parent().unwrap().join("copy.pdf");
    let exported = ok(&cairn(
        &tablet,
        PASS,
        &["vault", "export", &id, out.to_str().unwrap()],
    ));
    assert!(exported.contains("downloaded"), "{exported}");
    assert_eq!(std::fs::read(&out).unwrap(), bytes);
    let verify = ok(&cairn(&tablet, PASS, &["vault", "verify"]));
    assert!(verify.starts_with("ok"), "{verify}");
}
