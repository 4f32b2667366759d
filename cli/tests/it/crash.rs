//! The kill-9 suite: every kind of write through `cairn`, killed with SIGKILL at each `fsync`,
//! `fdatasync`, `rename` and `unlink` of one undisturbed run, and at seeded random moments.
//!
//! After each kill: the store opens with the right passphrase (after a killed `passwd`, exactly
//! one of the old and the new), every write acknowledged before is there and the killed one is
//! either wholly there or not at all, `cairn check` passes, and once the next command has opened
//! the store nothing is left in `vault/tmp/`, no orphan content file in `vault/` and no
//! `*.partial` beside an export's destination.
//!
//! Kills at system calls use strace's fault injection. strace counts injected calls per system
//! call and per thread, so a kill point is "the n-th `fsync`" (or `rename`, …) of the run, and
//! every n from 1 to the count of an undisturbed run is one case.
//!
//! Each case starts from a fresh copy of one prepared store, so cases are independent and every
//! one can be replayed alone. The suite runs for minutes: it is ignored by the default test run,
//! and `scripts/test-all` runs it with a wall-clock budget, `CAIRN_CRASH_BUDGET_SECS` (default
//! 180); `CAIRN_CRASH_SEED` picks the random kill moments. Cases are taken round-robin over the
//! operations, so a budget that runs out leaves every operation covered in part; the report says
//! how many kill points were reached.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use cairn_tests::sample;

use crate::deadline::{Finished, run};
use crate::fixture::PASS;
use crate::vault::Lcg;

const NEW_PASS: &str = "amber-lantern-71-quiet-meadow";
/// Every command runs at the same instant, so listings of different runs compare equal.
const NOW: &str = "2026-12-02T21:05:00Z";
/// The calls after which a crash could leave a half-done state behind.
const SYSCALLS: &str = "fsync,fdatasync,rename,renameat,renameat2,unlink,unlinkat";
const DEFAULT_BUDGET: Duration = Duration::from_secs(180);
const DEFAULT_SEED: u64 = 0x5eed_cafe;
/// Random kills per operation, spread among its system-call kill points.
const RANDOM_KILLS: usize = 3;
const SIGKILL: i32 = 9;
/// A command that takes longer than this is hung (a lock never released, a runaway KDF).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// `cairn` on the store in `store`, at [`NOW`] in UTC, with `pass` as the passphrase; behind
/// `tracer` (strace and its options) if given.
fn cairn_command(tracer: Option<Command>, store: &Path, pass: &str) -> Command {
    let mut cmd = match tracer {
        Some(mut tracer) => {
            tracer.arg(env!("CARGO_BIN_EXE_cairn"));
            tracer
        }
        None => Command::new(env!("CARGO_BIN_EXE_cairn")),
    };
    cmd.env("CAIRN_PASSPHRASE", pass)
        .env("CAIRN_NEW_PASSPHRASE", NEW_PASS)
        .env_remove("CAIRN_DATA_DIR")
        .arg("--data-dir")
        .arg(store)
        .args(["--now", NOW, "--tz", "UTC"]);
    cmd
}

fn cairn<S: AsRef<std::ffi::OsStr>>(store: &Path, pass: &str, args: &[S]) -> Finished {
    let mut cmd = cairn_command(None, store, pass);
    cmd.args(args);
    run(cmd, None, COMMAND_TIMEOUT)
}

fn must(out: Finished, what: &str) -> String {
    assert!(
        out.ok(),
        "{what}: {}\nstdout: {}\nstderr: {}",
        out.why(),
        out.stdout,
        out.stderr
    );
    out.stdout
}

/// The first id in `stdout`, after `prefix` on its line.
fn id_after(stdout: &str, prefix: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(prefix))
        .and_then(|rest| uuids(rest).into_iter().next())
        .unwrap_or_else(|| panic!("no id after {prefix:?} in {stdout}"))
}

/// The UUIDs (in their 36-character text form) in `text`, in order.
fn uuids(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i + 36 <= b.len() {
        let candidate = &b[i..i + 36];
        let is_uuid = candidate.iter().enumerate().all(|(j, c)| match j {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        });
        if is_uuid {
            found.push(text[i..i + 36].to_owned());
            i += 36;
        } else {
            i += 1;
        }
    }
    found
}

/// `text` with every id that the prepared store did not hold replaced by `<new>`: an id a run
/// creates is random, and two runs of the same write must compare equal.
fn with_new_ids_masked(text: &str, known: &BTreeSet<String>) -> String {
    uuids(text)
        .into_iter()
        .filter(|id| !known.contains(id))
        .fold(text.to_owned(), |t, id| t.replace(&id, "<new>"))
}

/// One listing the suite reads back after a kill, to see what the store holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Listing {
    Timeline,
    Medications,
    Doses,
    Documents,
}

impl Listing {
    fn args(self) -> &'static [&'static str] {
        match self {
            Listing::Timeline => &["timeline", "list", "--limit", "500", "--json"],
            Listing::Medications => &["meds", "list", "--json"],
            Listing::Doses => &["meds", "today", "--json"],
            Listing::Documents => &["vault", "list"],
        }
    }

    /// The listing's items, each as one line of text, sorted: items written at the same
    /// instant may list in either order.
    fn items(self, stdout: &str, known: &BTreeSet<String>) -> Result<Vec<String>, String> {
        let mut items: Vec<String> = match self {
            Listing::Documents => stdout.lines().map(str::to_owned).collect(),
            _ => {
                let value: serde_json::Value = serde_json::from_str(stdout)
                    .map_err(|e| format!("{:?} is not JSON: {e}", self.args()))?;
                let array = match self {
                    Listing::Timeline => value.get("events").cloned(),
                    _ => Some(value),
                };
                array
                    .and_then(|a| a.as_array().cloned())
                    .ok_or_else(|| format!("{:?} is not a list", self.args()))?
                    .iter()
                    .map(|item| item.to_string())
                    .collect()
            }
        };
        for item in &mut items {
            *item = with_new_ids_masked(item, known);
        }
        items.sort();
        Ok(items)
    }
}

/// What the store holds, as far as one operation can change it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Holding {
    /// `cairn status`: record and outbox counts of every kind of record.
    status: String,
    listings: BTreeMap<Listing, Vec<String>>,
}

/// Every write the suite kills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    TimelineAdd,
    TimelineEdit,
    TimelineRm,
    MedsAdd,
    MedsTake,
    MedsSkip,
    MedsUndo,
    Passwd,
    VaultAdd,
    VaultReplace,
    VaultRm,
    VaultExport,
}

impl Operation {
    const ALL: [Operation; 12] = [
        Operation::TimelineAdd,
        Operation::TimelineEdit,
        Operation::TimelineRm,
        Operation::MedsAdd,
        Operation::MedsTake,
        Operation::MedsSkip,
        Operation::MedsUndo,
        Operation::Passwd,
        Operation::VaultAdd,
        Operation::VaultReplace,
        Operation::VaultRm,
        Operation::VaultExport,
    ];

    fn name(self) -> &'static str {
        match self {
            Operation::TimelineAdd => "timeline add",
            Operation::TimelineEdit => "timeline edit",
            Operation::TimelineRm => "timeline rm",
            Operation::MedsAdd => "meds add",
            Operation::MedsTake => "meds take",
            Operation::MedsSkip => "meds skip",
            Operation::MedsUndo => "meds undo",
            Operation::Passwd => "passwd",
            Operation::VaultAdd => "vault add",
            Operation::VaultReplace => "vault replace",
            Operation::VaultRm => "vault rm",
            Operation::VaultExport => "vault export",
        }
    }

    /// The command line, against the prepared store `base` copied into `case`.
    fn args(self, base: &Prepared, case: &CaseDir) -> Vec<OsString> {
        let s = |v: &[&str]| v.iter().map(OsString::from).collect::<Vec<_>>();
        match self {
            Operation::TimelineAdd => s(&[
                "timeline",
                "add",
                "--kind",
                "note",
                "--title",
                "Written as the power went",
            ]),
            Operation::TimelineEdit => s(&[
                "timeline",
                "edit",
                &base.event_to_edit,
                "--title",
                "Questions for Dr Okafor",
            ]),
            Operation::TimelineRm => s(&["timeline", "rm", &base.event_to_remove]),
            Operation::MedsAdd => s(&[
                "meds",
                "add",
                "Ondansetron",
                "--dose",
                "8",
                "--unit",
                "mg",
                "--times",
                "13:00,22:00",
            ]),
            // The evening dose, due at NOW.
            Operation::MedsTake => s(&["meds", "take", "Tamoxifen"]),
            Operation::MedsSkip => s(&["meds", "skip", "Tamoxifen", "--reason", "nausea"]),
            Operation::MedsUndo => s(&["meds", "undo", &base.dose_to_undo]),
            Operation::Passwd => s(&["passwd"]),
            Operation::VaultAdd => {
                let mut a = s(&["vault", "add"]);
                a.push(base.scan.clone().into());
                a.extend(s(&["--title", "CT scan"]));
                a
            }
            Operation::VaultReplace => {
                let mut a = s(&["vault", "replace", &base.document_to_replace]);
                a.push(base.new_version.clone().into());
                a
            }
            Operation::VaultRm => s(&["vault", "rm", &base.document_to_remove]),
            Operation::VaultExport => {
                let mut a = s(&["vault", "export", &base.document_to_replace]);
                a.push(case.export_destination().into());
                a
            }
        }
    }

    /// What to read back to see whether the write happened and nothing else was lost.
    fn listings(self) -> &'static [Listing] {
        match self {
            Operation::TimelineAdd | Operation::TimelineEdit | Operation::TimelineRm => {
                &[Listing::Timeline]
            }
            Operation::MedsAdd => &[Listing::Medications, Listing::Doses],
            Operation::MedsTake | Operation::MedsSkip | Operation::MedsUndo => &[Listing::Doses],
            // Re-encryption rewrites every page: read the records back, not only their counts.
            Operation::Passwd => &[Listing::Timeline, Listing::Documents],
            Operation::VaultAdd
            | Operation::VaultReplace
            | Operation::VaultRm
            | Operation::VaultExport => &[Listing::Documents],
        }
    }
}

/// The store every case starts from, and the ids and files the operations use.
struct Prepared {
    root: tempfile::TempDir,
    store: PathBuf,
    /// Every id the prepared store's listings show.
    known_ids: BTreeSet<String>,
    event_to_edit: String,
    event_to_remove: String,
    dose_to_undo: String,
    document_to_replace: String,
    document_to_replace_bytes: Vec<u8>,
    document_to_remove: String,
    /// A new document of a few MB for `vault add`.
    scan: PathBuf,
    /// A new version for `vault replace`.
    new_version: PathBuf,
    new_version_bytes: Vec<u8>,
    content_files: BTreeSet<String>,
    holding: Holding,
}

impl Prepared {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let store = root.path().join("store");
        must(cairn::<&str>(&store, PASS, &["init"]), "init");
        let add_note = |title: &str| {
            id_after(
                &must(
                    cairn(
                        &store,
                        PASS,
                        &["timeline", "add", "--kind", "note", "--title", title],
                    ),
                    "timeline add",
                ),
                "Added note ",
            )
        };
        add_note("First visit to the oncology ward");
        let event_to_edit = add_note("Questions");
        let event_to_remove = add_note("A note written by mistake");
        must(
            cairn(
                &store,
                PASS,
                &[
                    "meds",
                    "add",
                    "Tamoxifen",
                    "--dose",
                    "20",
                    "--unit",
                    "mg",
                    "--times",
                    "09:00,21:00",
                ],
            ),
            "meds add",
        );
        must(
            cairn(
                &store,
                PASS,
                &["meds", "take", "Tamoxifen", "--at", "2026-12-02T09:02:00Z"],
            ),
            "meds take",
        );
        let today: serde_json::Value = serde_json::from_str(&must(
            cairn(&store, PASS, &["meds", "today", "--json"]),
            "meds today",
        ))
        .unwrap();
        let dose_to_undo = today
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["status"] == "taken")
            .and_then(|d| d["dose_id"].as_str())
            .expect("the morning dose is taken")
            .to_owned();

        let document = |name: &str, bytes: &[u8], title: &str| {
            let path = root.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            id_after(
                &must(
                    cairn(
                        &store,
                        PASS,
                        &[
                            "vault".as_ref(),
                            "add".as_ref(),
                            path.as_os_str(),
                            "--title".as_ref(),
                            title.as_ref(),
                        ],
                    ),
                    "vault add",
                ),
                "added ",
            )
        };
        let document_to_replace_bytes = sample(200_000, 1);
        let document_to_replace = document(
            "blood-results.pdf",
            &document_to_replace_bytes,
            "Blood results",
        );
        let document_to_remove = document("mri.pdf", &sample(150_000, 2), "MRI report");
        let scan = root.path().join("ct-scan.bin");
        std::fs::write(&scan, sample(4 * 1024 * 1024, 3)).unwrap();
        let new_version = root.path().join("blood-results-corrected.pdf");
        let new_version_bytes = sample(3 * 1024 * 1024, 4);
        std::fs::write(&new_version, &new_version_bytes).unwrap();

        let mut listings = BTreeMap::new();
        let mut known_ids = BTreeSet::new();
        let status = must(cairn::<&str>(&store, PASS, &["status"]), "status");
        known_ids.extend(uuids(&status));
        let raw: Vec<(Listing, String)> = [
            Listing::Timeline,
            Listing::Medications,
            Listing::Doses,
            Listing::Documents,
        ]
        .into_iter()
        .map(|l| (l, must(cairn(&store, PASS, l.args()), "listing")))
        .collect();
        for (_, stdout) in &raw {
            known_ids.extend(uuids(stdout));
        }
        for (listing, stdout) in &raw {
            listings.insert(*listing, listing.items(stdout, &known_ids).unwrap());
        }
        let content_files = content_files(&store);
        assert_eq!(content_files.len(), 2, "two documents, two content files");
        Prepared {
            root,
            store,
            known_ids,
            event_to_edit,
            event_to_remove,
            dose_to_undo,
            document_to_replace,
            document_to_replace_bytes,
            document_to_remove,
            scan,
            new_version,
            new_version_bytes,
            content_files,
            holding: Holding { status, listings },
        }
    }

    /// What the prepared store holds, as far as `op` can change it.
    fn holding_for(&self, op: Operation) -> Holding {
        Holding {
            status: self.holding.status.clone(),
            listings: op
                .listings()
                .iter()
                .map(|l| (*l, self.holding.listings[l].clone()))
                .collect(),
        }
    }
}

/// The names of the vault's content files.
fn content_files(store: &Path) -> BTreeSet<String> {
    names_in(&store.join("vault"))
        .into_iter()
        .filter(|n| n.ends_with(".age"))
        .collect()
}

fn names_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A fresh copy of the prepared store, and a directory for exports, for one case.
struct CaseDir {
    root: tempfile::TempDir,
}

impl CaseDir {
    fn new(base: &Prepared) -> Self {
        let root = tempfile::tempdir_in(base.root.path()).unwrap();
        copy_dir(&base.store, &root.path().join("store"));
        std::fs::create_dir(root.path().join("exports")).unwrap();
        CaseDir { root }
    }

    fn store(&self) -> PathBuf {
        self.root.path().join("store")
    }

    fn exports(&self) -> PathBuf {
        self.root.path().join("exports")
    }

    fn export_destination(&self) -> PathBuf {
        self.exports().join("blood-results.pdf")
    }
}

/// Where a case kills the write.
#[derive(Debug, Clone)]
enum Kill {
    /// On entering the `nth` call of `syscall` (counted from 1).
    AtSyscall { syscall: String, nth: u32 },
    /// After a random delay.
    After(Duration),
}

impl std::fmt::Display for Kill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Kill::AtSyscall { syscall, nth } => write!(f, "killed at {syscall} #{nth}"),
            Kill::After(d) => write!(f, "killed after {} µs", d.as_micros()),
        }
    }
}

/// An operation's undisturbed run: what it changes, and where it can be killed.
struct Reference {
    applied: Holding,
    kill_points: Vec<Kill>,
    elapsed: Duration,
}

/// The strace command line tracing [`SYSCALLS`], writing its log to `log`.
fn strace(log: &Path, inject: Option<(&str, u32)>) -> Command {
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-o"])
        .arg(log)
        .args(["-e", &format!("trace={SYSCALLS}")]);
    if let Some((syscall, nth)) = inject {
        cmd.args(["-e", &format!("inject={syscall}:signal=SIGKILL:when={nth}")]);
    }
    cmd.arg("--");
    cmd
}

/// Runs `op` under strace in `case`, killed at `inject` if given.
fn traced(op: Operation, base: &Prepared, case: &CaseDir, inject: Option<(&str, u32)>) -> Finished {
    let tracer = strace(&case.root.path().join("strace.log"), inject);
    let mut cmd = cairn_command(Some(tracer), &case.store(), PASS);
    cmd.args(op.args(base, case));
    run(cmd, None, COMMAND_TIMEOUT)
}

/// Counts the traced calls in a strace log, per call, taking the busiest thread's count: that
/// is how strace numbers the calls it injects into.
fn count_calls(log: &str) -> Vec<(String, u32)> {
    let mut per_thread: BTreeMap<(String, String), u32> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for line in log.lines() {
        let Some((pid, rest)) = line.split_once(' ') else {
            continue;
        };
        let rest = rest.trim_start();
        if rest.starts_with('<') {
            continue; // "<... fsync resumed>": counted when it started.
        }
        let Some(name) = rest.split('(').next().filter(|n| !n.contains(' ')) else {
            continue;
        };
        if !order.iter().any(|n| n == name) {
            order.push(name.to_owned());
        }
        *per_thread
            .entry((name.to_owned(), pid.to_owned()))
            .or_default() += 1;
    }
    order
        .into_iter()
        .map(|name| {
            let most = per_thread
                .iter()
                .filter(|((n, _), _)| *n == name)
                .map(|(_, c)| *c)
                .max()
                .unwrap_or(0);
            (name, most)
        })
        .collect()
}

/// Reads back what the store in `store` holds, as far as `op` can change it.
fn read_holding(
    op: Operation,
    base: &Prepared,
    store: &Path,
    pass: &str,
    status: String,
) -> Result<Holding, String> {
    let mut listings = BTreeMap::new();
    for listing in op.listings() {
        let out = cairn(store, pass, listing.args());
        if !out.ok() {
            return Err(format!(
                "`cairn {}` failed: {}",
                listing.args().join(" "),
                out.why()
            ));
        }
        listings.insert(*listing, listing.items(&out.stdout, &base.known_ids)?);
    }
    Ok(Holding { status, listings })
}

impl Reference {
    fn new(op: Operation, base: &Prepared) -> Result<Self, String> {
        let case = CaseDir::new(base);
        let out = traced(op, base, &case, None);
        if !out.ok() {
            return Err(format!("the undisturbed run failed: {}", out.why()));
        }
        let log = std::fs::read_to_string(case.root.path().join("strace.log"))
            .map_err(|e| format!("no strace log: {e}"))?;
        let kill_points = count_calls(&log)
            .into_iter()
            .flat_map(|(syscall, count)| {
                (1..=count).map(move |nth| Kill::AtSyscall {
                    syscall: syscall.clone(),
                    nth,
                })
            })
            .collect();
        let pass = if op == Operation::Passwd {
            NEW_PASS
        } else {
            PASS
        };
        let status = cairn::<&str>(&case.store(), pass, &["status"]);
        if !status.ok() {
            return Err(format!(
                "status after the undisturbed run: {}",
                status.why()
            ));
        }
        let applied = read_holding(op, base, &case.store(), pass, status.stdout)?;
        Ok(Reference {
            applied,
            kill_points,
            elapsed: out.elapsed,
        })
    }
}

/// Runs one case: how the write ended, and the first thing that went wrong after it, if any.
fn run_case(
    op: Operation,
    kill: &Kill,
    base: &Prepared,
    reference: &Reference,
) -> (Option<Outcome>, Result<(), String>) {
    let case = CaseDir::new(base);
    let out = match kill {
        Kill::AtSyscall { syscall, nth } => traced(op, base, &case, Some((syscall, *nth))),
        Kill::After(delay) => {
            let mut cmd = cairn_command(None, &case.store(), PASS);
            cmd.args(op.args(base, &case));
            run(cmd, Some(*delay), COMMAND_TIMEOUT)
        }
    };
    if out.timed_out {
        return (None, Err(format!("the write {}", out.why())));
    }
    let outcome = match (out.ok(), out.signal) {
        (true, _) => Outcome::Finished,
        (false, Some(SIGKILL)) => Outcome::Killed,
        (false, _) => {
            let why = format!("the write failed by itself: {}", out.why());
            return (None, Err(why));
        }
    };
    (Some(outcome), verify(op, base, reference, &case, outcome))
}

/// After a write ended as `outcome`: the store opens, holds what it should, has nothing left
/// over and passes its own check.
fn verify(
    op: Operation,
    base: &Prepared,
    reference: &Reference,
    case: &CaseDir,
    outcome: Outcome,
) -> Result<(), String> {
    let acknowledged = outcome == Outcome::Finished;
    let store = case.store();

    // The store opens: with the passphrase it had, or after `passwd` with exactly one of the two.
    let (pass, status) = if op == Operation::Passwd {
        let old = cairn::<&str>(&store, PASS, &["status"]);
        let new = cairn::<&str>(&store, NEW_PASS, &["status"]);
        match (old.ok(), new.ok()) {
            (true, false) if !acknowledged => (PASS, old),
            (false, true) => (NEW_PASS, new),
            (true, false) => return Err("passwd said done but the old passphrase opens".into()),
            (true, true) => return Err("both the old and the new passphrase open".into()),
            (false, false) => {
                return Err(format!(
                    "neither passphrase opens: old {}; new {}",
                    old.why(),
                    new.why()
                ));
            }
        }
    } else {
        (PASS, cairn::<&str>(&store, PASS, &["status"]))
    };
    if !status.ok() {
        return Err(format!("the store does not open: {}", status.why()));
    }

    // The next command opened the store: nothing half-written may be left.
    let leftovers = names_in(&store.join("vault").join("tmp"));
    if !leftovers.is_empty() {
        return Err(format!("left in vault/tmp: {}", leftovers.join(", ")));
    }
    let partials: Vec<String> = names_in(&case.exports())
        .into_iter()
        .filter(|n| n.ends_with(".partial"))
        .collect();
    if !partials.is_empty() {
        return Err(format!("left beside the export: {}", partials.join(", ")));
    }

    // Every acknowledged write is there; the killed one wholly or not at all.
    let holding = read_holding(op, base, &store, pass, status.stdout)?;
    let before = base.holding_for(op);
    let applied = holding == reference.applied;
    if acknowledged && !applied {
        return Err(format!(
            "acknowledged but not all there: {}",
            difference(&reference.applied, &holding)
        ));
    }
    if !applied && holding != before {
        return Err(format!(
            "neither the old state nor the new: {}",
            difference(&before, &holding)
        ));
    }

    // Content files: one per document, no orphan.
    let files = content_files(&store);
    let documents = holding
        .listings
        .get(&Listing::Documents)
        .map(|items| items.iter().filter(|l| !l.ends_with("document(s)")).count());
    match documents {
        Some(n) if files.len() != n => {
            return Err(format!(
                "{} content file(s) for {n} document(s)",
                files.len()
            ));
        }
        None if files != base.content_files => {
            return Err("the vault's content files changed".into());
        }
        _ => {}
    }
    match op {
        Operation::VaultExport => {
            let dest = case.export_destination();
            match std::fs::read(&dest) {
                Ok(bytes) if bytes != base.document_to_replace_bytes => {
                    return Err("the export holds something else than the document".into());
                }
                Err(_) if acknowledged => {
                    return Err("export said done but the destination is missing".into());
                }
                _ => {}
            }
        }
        Operation::VaultReplace => {
            let copy = case.exports().join("read-back.pdf");
            let out = cairn(
                &store,
                pass,
                &[
                    "vault".as_ref(),
                    "export".as_ref(),
                    base.document_to_replace.as_ref(),
                    copy.as_os_str(),
                ],
            );
            if !out.ok() {
                return Err(format!(
                    "the replaced document does not export: {}",
                    out.why()
                ));
            }
            let bytes = std::fs::read(&copy).unwrap_or_default();
            let want = if applied {
                &base.new_version_bytes
            } else {
                &base.document_to_replace_bytes
            };
            if bytes != *want {
                return Err("the document's content is not the version its listing says".into());
            }
        }
        _ => {}
    }

    // The store checks itself.
    let check = cairn::<&str>(&store, pass, &["check"]);
    if !check.ok() {
        if check.stderr.contains("unrecognized subcommand") {
            return Err("`cairn check` does not exist yet (unrecognized subcommand)".into());
        }
        let first = check
            .stdout
            .lines()
            .chain(check.stderr.lines())
            .next()
            .unwrap_or("")
            .to_owned();
        return Err(format!("`cairn check` fails: {first}"));
    }
    Ok(())
}

/// How a case's write ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Killed,
    /// The kill point was not reached: the run made fewer calls than the undisturbed one.
    Finished,
}

/// The items one holding has that the other lacks, in a line.
fn difference(want: &Holding, got: &Holding) -> String {
    if want.status != got.status {
        return format!(
            "status {:?}, expected {:?}",
            got.status
                .lines()
                .filter(|l| !l.starts_with("device"))
                .collect::<Vec<_>>(),
            want.status
                .lines()
                .filter(|l| !l.starts_with("device"))
                .collect::<Vec<_>>()
        );
    }
    for (listing, items) in &want.listings {
        let empty = Vec::new();
        let got_items = got.listings.get(listing).unwrap_or(&empty);
        let missing: Vec<_> = items.iter().filter(|i| !got_items.contains(i)).collect();
        let extra: Vec<_> = got_items.iter().filter(|i| !items.contains(i)).collect();
        if !missing.is_empty() || !extra.is_empty() {
            let cut = |v: Vec<&String>| {
                v.iter()
                    .map(|s| s.chars().take(160).collect::<String>())
                    .collect::<Vec<_>>()
                    .join(" | ")
            };
            return format!(
                "{:?}: missing [{}], unexpected [{}]",
                listing,
                cut(missing),
                cut(extra)
            );
        }
    }
    "no difference".into()
}

/// Per-operation tallies for the closing report.
#[derive(Default)]
struct Tally {
    syscall_points: usize,
    syscall_run: usize,
    random_points: usize,
    random_run: usize,
    killed: usize,
    passed: usize,
    failed: usize,
}

fn budget() -> Duration {
    std::env::var("CAIRN_CRASH_BUDGET_SECS")
        .ok()
        .map(|v| {
            Duration::from_secs_f64(v.parse().unwrap_or_else(|_| {
                panic!("CAIRN_CRASH_BUDGET_SECS must be a number of seconds, not {v:?}")
            }))
        })
        .unwrap_or(DEFAULT_BUDGET)
}

fn seed() -> u64 {
    std::env::var("CAIRN_CRASH_SEED")
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("CAIRN_CRASH_SEED must be a number, not {v:?}"))
        })
        .unwrap_or(DEFAULT_SEED)
}

/// `points` with `random` spread evenly among them, so a budget that ends early has run some
/// of both.
fn interleave(points: Vec<Kill>, random: Vec<Kill>) -> Vec<Kill> {
    let every = points.len() / (random.len() + 1) + 1;
    let mut random = random.into_iter();
    let mut all = Vec::new();
    for (i, point) in points.into_iter().enumerate() {
        if i > 0 && i % every == 0 {
            all.extend(random.next());
        }
        all.push(point);
    }
    all.extend(random);
    all
}

#[test]
#[ignore = "runs for minutes: scripts/test-all runs it with a time budget (CAIRN_CRASH_BUDGET_SECS)"]
fn every_write_killed_at_each_sync_rename_and_unlink_loses_nothing_and_leaves_nothing() {
    let started = Instant::now();
    let budget = budget();
    let seed = seed();
    let has_strace = Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        has_strace,
        "the crash suite needs strace (Debian: `apt-get install -y strace`; scripts/test-all \
         installs it)"
    );
    let base = Prepared::new();
    let mut rng = Lcg(seed);
    let mut tallies: Vec<Tally> = Operation::ALL.iter().map(|_| Tally::default()).collect();
    let mut queues: Vec<std::collections::VecDeque<Kill>> = Vec::new();
    let mut references = Vec::new();
    let (mut passed, mut failed) = (0usize, 0usize);
    for (i, op) in Operation::ALL.into_iter().enumerate() {
        match Reference::new(op, &base) {
            Ok(reference) => {
                let random: Vec<Kill> = (0..RANDOM_KILLS)
                    .map(|_| {
                        let span = reference.elapsed.as_micros() as u64 * 3 / 2;
                        Kill::After(Duration::from_micros(rng.below(span)))
                    })
                    .collect();
                tallies[i].syscall_points = reference.kill_points.len();
                tallies[i].random_points = random.len();
                queues.push(interleave(reference.kill_points.clone(), random).into());
                references.push(Some(reference));
            }
            Err(why) => {
                println!("crash FAIL {}: {why}", op.name());
                tallies[i].failed += 1;
                failed += 1;
                queues.push(Default::default());
                references.push(None);
            }
        }
    }
    let total_points: usize = tallies.iter().map(|t| t.syscall_points).sum();
    println!(
        "crash suite: budget {} s, seed {seed}; {total_points} system-call kill points and {} \
         random kills over {} operations (prepared in {:.1} s)",
        budget.as_secs(),
        RANDOM_KILLS * Operation::ALL.len(),
        Operation::ALL.len(),
        started.elapsed().as_secs_f64()
    );

    let mut budget_ran_out = false;
    'rounds: while queues.iter().any(|q| !q.is_empty()) {
        for (i, op) in Operation::ALL.into_iter().enumerate() {
            let Some(kill) = queues[i].pop_front() else {
                continue;
            };
            if started.elapsed() >= budget {
                budget_ran_out = true;
                break 'rounds;
            }
            let reference = references[i]
                .as_ref()
                .expect("queued only with a reference");
            let tally = &mut tallies[i];
            match kill {
                Kill::AtSyscall { .. } => tally.syscall_run += 1,
                Kill::After(_) => tally.random_run += 1,
            }
            let (outcome, verdict) = run_case(op, &kill, &base, reference);
            if outcome == Some(Outcome::Killed) {
                tally.killed += 1;
            }
            match verdict {
                Ok(()) => {
                    tally.passed += 1;
                    passed += 1;
                }
                Err(why) => {
                    tally.failed += 1;
                    failed += 1;
                    println!("crash FAIL {} {kill}: {why}", op.name());
                }
            }
        }
    }

    for (op, t) in Operation::ALL.iter().zip(&tallies) {
        println!(
            "  {:<14} {:>3}/{:<3} kill points, {}/{} random, {} killed mid-write: {} passed, {} failed",
            op.name(),
            t.syscall_run,
            t.syscall_points,
            t.random_run,
            t.random_points,
            t.killed,
            t.passed,
            t.failed
        );
    }
    let run_points: usize = tallies.iter().map(|t| t.syscall_run).sum();
    let run_random: usize = tallies.iter().map(|t| t.random_run).sum();
    println!(
        "crash suite: covered {run_points} of {total_points} system-call kill points and \
         {run_random} random kills in {:.0} s{}",
        started.elapsed().as_secs_f64(),
        if budget_ran_out {
            " (the time budget ran out; raise CAIRN_CRASH_BUDGET_SECS to cover more)"
        } else {
            ""
        }
    );
    println!("crash suite: {passed} passed, {failed} failed");
    assert_eq!(
        failed, 0,
        "{failed} crash case(s) failed; see the lines above"
    );
    assert!(passed > 0, "the budget ran out before any case ran");
}
