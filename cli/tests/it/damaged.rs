//! A store whose files were damaged: truncated, zeroed or flipped pages, a lost `-wal`, a
//! foreign file in the database's place, a damaged `cairn.kdf`, a read-only directory, a full
//! disk.
//!
//! For each damage, on a fresh copy of one prepared store, `cairn status`, a write and `cairn
//! check` end with exactly one line on stderr and a non-zero exit, without panic text, naming
//! the damage plainly (a damaged file is not called a wrong passphrase where the file allows
//! telling them apart), and delete nothing: every file the damaged store held is there
//! afterwards, byte for byte.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use cairn_tests::sample;

use crate::deadline::{Finished, run};
use crate::fixture::{self, PASS};

/// Longer than any healthy command takes here: a damaged file must be refused, not waited on.
const LIMIT: Duration = Duration::from_secs(10);
const PAGE: usize = 4096;

/// Words that name damage rather than a wrong passphrase.
const DAMAGED: &[&str] = &[
    "damaged",
    "corrupt",
    "not a cairn",
    "truncated",
    "malformed",
    "empty",
];
/// Words for a database that is not Cairn's: damage, or a plainly foreign file.
const FOREIGN: &[&str] = &[
    "damaged",
    "corrupt",
    "not a cairn",
    "not encrypted",
    "unencrypted",
    "plain sqlite",
];
/// Random bytes look exactly like an encrypted database opened with another key.
const DAMAGED_OR_WRONG_KEY: &[&str] = &[
    "damaged",
    "corrupt",
    "not a cairn",
    "malformed",
    "passphrase",
];
const KEY_FILE: &[&str] = &["cairn.kdf", "key file", "damaged", "corrupt"];
const READ_ONLY: &[&str] = &["read-only", "read only", "readonly", "permission"];
const FULL: &[&str] = &["full", "no space", "too large"];

fn cairn(store: &Path, args: &[&str]) -> Finished {
    let mut cmd = fixture::command(store, PASS);
    cmd.args(args).env_remove("RUST_BACKTRACE");
    run(cmd, None, LIMIT)
}

fn must(out: Finished, what: &str) -> String {
    assert!(out.ok(), "{what}: {}\n{}", out.why(), out.stdout);
    out.stdout
}

/// A store with events, a medication and two documents, copied afresh for every damage.
struct Prepared {
    root: tempfile::TempDir,
    store: PathBuf,
}

impl Prepared {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        let store = root.path().join("store");
        must(cairn(&store, &["init"]), "init");
        for (kind, flags) in [
            (
                "diagnosis",
                &["--condition", "Breast cancer", "--stage", "IIA"][..],
            ),
            ("symptom", &["--term", "nausea", "--frequency", "2"][..]),
        ] {
            let mut args = vec!["timeline", "add", "--kind", kind];
            args.extend_from_slice(flags);
            must(cairn(&store, &args), "timeline add");
        }
        must(
            cairn(
                &store,
                &[
                    "meds",
                    "add",
                    "Tamoxifen",
                    "--dose",
                    "20",
                    "--unit",
                    "mg",
                    "--times",
                    "09:00",
                ],
            ),
            "meds add",
        );
        for (i, title) in ["Pathology report", "MRI report"].iter().enumerate() {
            let file = root.path().join(format!("document-{i}.pdf"));
            std::fs::write(&file, sample(100_000, 40 + i as u64)).unwrap();
            must(
                cairn(
                    &store,
                    &["vault", "add", file.to_str().unwrap(), "--title", title],
                ),
                "vault add",
            );
        }
        Prepared { root, store }
    }

    /// A fresh copy of the store in `dir`.
    fn copy_to(&self, dir: &Path) -> PathBuf {
        copy_dir(&self.store, dir);
        dir.to_owned()
    }

    fn fresh_copy(&self) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir_in(self.root.path()).unwrap();
        let store = self.copy_to(&dir.path().join("store"));
        (dir, store)
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// Every file under `dir`, by relative path, with its bytes.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                walk(root, &entry.path(), out);
            } else {
                let rel = entry.path().strip_prefix(root).unwrap().to_owned();
                out.insert(rel, std::fs::read(entry.path()).unwrap_or_default());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The files of `before` that are gone or changed in `store` now, except those `may_change`.
fn deleted_or_changed(
    before: &BTreeMap<PathBuf, Vec<u8>>,
    store: &Path,
    may_change: &dyn Fn(&Path) -> bool,
) -> Vec<String> {
    let now = files(store);
    before
        .iter()
        .filter(|(path, _)| !may_change(path))
        .filter_map(|(path, bytes)| match now.get(path) {
            None => Some(format!("{} was deleted", path.display())),
            Some(b) if b != bytes => Some(format!("{} was changed", path.display())),
            Some(_) => None,
        })
        .collect()
}

/// What a command given to a damaged store may do.
#[derive(Clone, Copy)]
enum Expect {
    /// Fail in one line holding one of these words.
    Refused(&'static [&'static str]),
    /// Succeed (the damage is where it does not read), or fail as [`Expect::Refused`] does.
    OkOrRefused(&'static [&'static str]),
}

/// The three things tried on every damaged store.
#[derive(Clone, Copy)]
enum Attempt {
    Status,
    Write,
    Check,
}

impl Attempt {
    const ALL: [Attempt; 3] = [Attempt::Status, Attempt::Write, Attempt::Check];

    fn args(self) -> &'static [&'static str] {
        match self {
            Attempt::Status => &["status"],
            Attempt::Write => &[
                "timeline",
                "add",
                "--kind",
                "note",
                "--title",
                "Written after the damage",
            ],
            Attempt::Check => &["check"],
        }
    }
}

/// A command line cut to its subcommand, to name it in a problem.
fn short(args: &[&str]) -> String {
    args.iter().take(2).copied().collect::<Vec<_>>().join(" ")
}

/// Whether `out` is what `expect` allows; the problem in a line if not.
fn judge(out: &Finished, attempt: Attempt, expect: Expect) -> Result<(), String> {
    let (words, may_succeed) = match expect {
        Expect::Refused(words) => (words, false),
        Expect::OkOrRefused(words) => (words, true),
    };
    let all = format!("{}{}", out.stdout, out.stderr);
    for bad in [
        "panicked",
        "backtrace",
        "internal error",
        "memory allocation",
    ] {
        if all.to_lowercase().contains(bad) {
            return Err(format!("prints {bad:?}: {}", out.stderr.trim()));
        }
    }
    if out.timed_out {
        return Err(out.why());
    }
    if out.ok() {
        return if may_succeed {
            Ok(())
        } else {
            Err("succeeds".into())
        };
    }
    if out.code.is_none() {
        return Err(out.why());
    }
    if out.stderr.contains("unrecognized subcommand") {
        return Err("does not exist yet".into());
    }
    if out.stderr.lines().count() != 1 {
        return Err(format!(
            "{} lines on stderr: {:?}",
            out.stderr.lines().count(),
            out.stderr
        ));
    }
    // `check` may list its findings on stdout; the others say it all on their one line.
    let said = match attempt {
        Attempt::Check => all.to_lowercase(),
        _ => out.stderr.to_lowercase(),
    };
    if !words.iter().any(|w| said.contains(w)) {
        return Err(format!(
            "does not say {}: {}",
            words.join("|"),
            out.stderr.trim()
        ));
    }
    Ok(())
}

/// One damage, and what each attempt may do with it.
struct Damage<'a> {
    name: &'a str,
    apply: &'a dyn Fn(&Path),
    status: Expect,
    write: Expect,
    check: Expect,
}

impl Damage<'_> {
    fn expect(&self, attempt: Attempt) -> Expect {
        match attempt {
            Attempt::Status => self.status,
            Attempt::Write => self.write,
            Attempt::Check => self.check,
        }
    }
}

/// Tries every attempt on its own fresh damaged copy; returns the problems, one line each.
fn try_each(base: &Prepared, damage: &Damage<'_>) -> Vec<String> {
    let mut problems = Vec::new();
    for attempt in Attempt::ALL {
        let (_dir, store) = base.fresh_copy();
        (damage.apply)(&store);
        let before = files(&store);
        let out = cairn(&store, attempt.args());
        let what = short(attempt.args());
        if let Err(why) = judge(&out, attempt, damage.expect(attempt)) {
            problems.push(format!("{}: `cairn {what}` {why}", damage.name));
        }
        // A write that went through changes the database; nothing else may change.
        let written = |p: &Path| out.ok() && is_database(p);
        for lost in deleted_or_changed(&before, &store, &written) {
            problems.push(format!("{}: `cairn {what}`: {lost}", damage.name));
        }
    }
    problems
}

fn assert_none(problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// `cairn.db` and its `-wal` and `-shm`.
fn is_database(relative: &Path) -> bool {
    relative.to_string_lossy().starts_with("cairn.db")
}

fn db(store: &Path) -> PathBuf {
    store.join("cairn.db")
}

fn truncate_to(store: &Path, len: impl Fn(u64) -> u64) {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(db(store))
        .unwrap();
    let size = file.metadata().unwrap().len();
    file.set_len(len(size)).unwrap();
}

fn rewrite_db(store: &Path, change: impl Fn(&mut Vec<u8>)) {
    let mut bytes = std::fs::read(db(store)).unwrap();
    change(&mut bytes);
    std::fs::write(db(store), bytes).unwrap();
}

/// Flips one bit in the middle of page `page` (counted from 0); `None` is the last page.
fn flip_in_page(store: &Path, page: Option<usize>) {
    rewrite_db(store, |bytes| {
        let pages = bytes.len() / PAGE;
        let page = page.unwrap_or(pages - 1);
        bytes[page * PAGE + PAGE / 2] ^= 0x10;
    });
}

#[test]
fn a_truncated_database_is_called_damaged_and_nothing_is_deleted() {
    let base = Prepared::new();
    let mut problems = Vec::new();
    for (name, len) in [
        (
            "cairn.db truncated to 0 bytes",
            &(|_| 0u64) as &dyn Fn(u64) -> u64,
        ),
        ("cairn.db truncated to half", &|n| {
            n / 2 / PAGE as u64 * PAGE as u64
        }),
        ("cairn.db truncated to a non-page multiple", &|n| n - 1000),
    ] {
        problems.extend(try_each(
            &base,
            &Damage {
                name,
                apply: &|s| truncate_to(s, len),
                status: Expect::Refused(DAMAGED),
                write: Expect::Refused(DAMAGED),
                check: Expect::Refused(DAMAGED),
            },
        ));
    }
    assert_none(problems);
}

#[test]
fn a_damaged_first_page_is_not_called_a_wrong_passphrase() {
    let base = Prepared::new();
    let mut problems = Vec::new();
    let zero_first_page = |s: &Path| rewrite_db(s, |b| b[..PAGE].fill(0));
    let flip_first_page = |s: &Path| flip_in_page(s, Some(0));
    for (name, apply) in [
        ("zeroed first page", &zero_first_page as &dyn Fn(&Path)),
        ("a flipped byte in the first page", &flip_first_page),
    ] {
        problems.extend(try_each(
            &base,
            &Damage {
                name,
                apply,
                status: Expect::Refused(DAMAGED),
                write: Expect::Refused(DAMAGED),
                check: Expect::Refused(DAMAGED),
            },
        ));
    }
    assert_none(problems);
}

#[test]
fn a_flipped_byte_in_a_later_page_is_found_by_check() {
    let base = Prepared::new();
    let mut problems = Vec::new();
    let middle = |s: &Path| {
        let pages = std::fs::metadata(db(s)).unwrap().len() as usize / PAGE;
        flip_in_page(s, Some(pages / 2));
    };
    let last = |s: &Path| flip_in_page(s, None);
    for (name, apply) in [
        ("a flipped byte in a middle page", &middle as &dyn Fn(&Path)),
        ("a flipped byte in the last page", &last),
    ] {
        // Status and writes read only some pages; check reads every one.
        problems.extend(try_each(
            &base,
            &Damage {
                name,
                apply,
                status: Expect::OkOrRefused(DAMAGED),
                write: Expect::OkOrRefused(DAMAGED),
                check: Expect::Refused(DAMAGED),
            },
        ));
    }
    assert_none(problems);
}

/// A small PDF, as a person might have copied over the wrong file.
fn pdf() -> Vec<u8> {
    let mut bytes =
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
            .to_vec();
    bytes.extend(sample(20_000, 7));
    bytes.extend_from_slice(b"\n%%EOF\n");
    bytes
}

/// An empty, valid, unencrypted SQLite database: one page holding an empty schema.
fn plain_sqlite_database() -> Vec<u8> {
    let mut page = vec![0u8; PAGE];
    page[..16].copy_from_slice(b"SQLite format 3\0");
    page[16..18].copy_from_slice(&(PAGE as u16).to_be_bytes());
    page[18] = 1; // rollback journal, as `sqlite3` creates by default
    page[19] = 1;
    page[21] = 64; // payload fractions, fixed by the format
    page[22] = 32;
    page[23] = 32;
    page[24..28].copy_from_slice(&1u32.to_be_bytes()); // change counter
    page[28..32].copy_from_slice(&1u32.to_be_bytes()); // pages
    page[44..48].copy_from_slice(&4u32.to_be_bytes()); // schema format
    page[56..60].copy_from_slice(&1u32.to_be_bytes()); // UTF-8
    page[92..96].copy_from_slice(&1u32.to_be_bytes()); // valid for change 1
    page[96..100].copy_from_slice(&3_045_000u32.to_be_bytes());
    page[100] = 0x0d; // the schema table: a leaf with no rows
    page[105..107].copy_from_slice(&(PAGE as u16).to_be_bytes());
    page
}

#[test]
fn a_foreign_file_in_place_of_the_database_is_not_a_cairn_store() {
    let base = Prepared::new();
    let mut problems = Vec::new();
    let with = |bytes: Vec<u8>| move |s: &Path| std::fs::write(db(s), &bytes).unwrap();
    let a_pdf = with(pdf());
    let plain = with(plain_sqlite_database());
    let random = with(sample(45 * PAGE, 8));
    for (name, apply, words) in [
        ("a PDF as cairn.db", &a_pdf as &dyn Fn(&Path), FOREIGN),
        ("a plain SQLite database as cairn.db", &plain, FOREIGN),
        ("random bytes as cairn.db", &random, DAMAGED_OR_WRONG_KEY),
    ] {
        problems.extend(try_each(
            &base,
            &Damage {
                name,
                apply,
                status: Expect::Refused(words),
                write: Expect::Refused(words),
                check: Expect::Refused(words),
            },
        ));
    }
    assert_none(problems);
}

/// Rewrites one Argon2 parameter of `cairn.kdf`.
fn kdf_param(store: &Path, name: &str, value: u64) {
    let path = store.join("cairn.kdf");
    let mut kdf: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    kdf["current"]["params"][name] = value.into();
    std::fs::write(&path, serde_json::to_vec_pretty(&kdf).unwrap()).unwrap();
}

#[test]
fn a_damaged_key_file_is_refused_at_once() {
    let base = Prepared::new();
    let mut problems = Vec::new();
    let bad_json =
        |s: &Path| std::fs::write(s.join("cairn.kdf"), b"{\"version\": 1, \"cur").unwrap();
    let huge_memory = |s: &Path| kdf_param(s, "memory_kib", u32::MAX.into());
    let endless = |s: &Path| kdf_param(s, "iterations", u32::MAX.into());
    for (name, apply) in [
        ("cairn.kdf cut short", &bad_json as &dyn Fn(&Path)),
        ("cairn.kdf asking for 4 TiB of memory", &huge_memory),
        ("cairn.kdf asking for 2^32 passes", &endless),
    ] {
        problems.extend(try_each(
            &base,
            &Damage {
                name,
                apply,
                status: Expect::Refused(KEY_FILE),
                write: Expect::Refused(KEY_FILE),
                check: Expect::Refused(KEY_FILE),
            },
        ));
    }
    assert_none(problems);
}

#[test]
fn a_copy_of_a_store_in_use_without_its_wal_loses_no_document() {
    let base = Prepared::new();
    let (dir, live) = base.fresh_copy();
    // Another process holds the store open, so what the next commands write stays in the
    // `-wal` and is not yet checkpointed into cairn.db.
    let holder = cairn_core::Store::open(
        &live,
        cairn_core::Unlock::Passphrase(PASS),
        std::sync::Arc::new(cairn_core::SystemClock),
    )
    .unwrap();
    let scan = dir.path().join("scan.pdf");
    std::fs::write(&scan, sample(120_000, 50)).unwrap();
    must(
        cairn(
            &live,
            &["vault", "add", scan.to_str().unwrap(), "--title", "CT scan"],
        ),
        "vault add",
    );
    must(
        cairn(
            &live,
            &[
                "timeline",
                "add",
                "--kind",
                "note",
                "--title",
                "After the scan",
            ],
        ),
        "timeline add",
    );
    assert!(
        live.join("cairn.db-wal").exists(),
        "the writes are in the -wal while the store is open"
    );
    let copy = |to: &Path| {
        copy_dir(&live, to);
        std::fs::remove_file(to.join("cairn.db-wal")).unwrap();
    };

    let mut problems = Vec::new();
    for attempt in Attempt::ALL {
        let target = tempfile::tempdir_in(base.root.path()).unwrap();
        let store = target.path().join("store");
        copy(&store);
        let before = files(&store);
        let out = cairn(&store, attempt.args());
        let what = short(attempt.args());
        // The copy is an older, consistent database; check may name the content file whose
        // document only the lost -wal knew.
        if let Err(why) = judge(&out, attempt, Expect::OkOrRefused(DAMAGED)) {
            problems.push(format!("without its -wal: `cairn {what}` {why}"));
        }
        for lost in deleted_or_changed(&before, &store, &is_database) {
            problems.push(format!("without its -wal: `cairn {what}`: {lost}"));
        }
    }
    holder.close().unwrap();
    assert_none(problems);
}

/// A mount of its own at `dir`, unmounted when dropped.
struct Mount(PathBuf);

impl Mount {
    /// Mounts a tmpfs of `size` at `dir`, if this machine lets the tests mount.
    fn tmpfs(dir: &Path, size: &str) -> Option<Mount> {
        std::fs::create_dir_all(dir).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .is_ok_and(|o| o.status.success());
        mounted.then(|| Mount(dir.to_owned()))
    }

    fn remount_read_only(&self) -> bool {
        Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.0)
            .output()
            .is_ok_and(|o| o.status.success())
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).output();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

#[test]
fn a_read_only_data_directory_refuses_writes_in_one_line() {
    let base = Prepared::new();
    let root = tempfile::tempdir_in(base.root.path()).unwrap();
    // Permissions do not stop root: root gets a read-only mount instead.
    let mount = if is_root() {
        let mount = Mount::tmpfs(&root.path().join("ro"), "16m")
            .expect("as root, the test mounts a tmpfs to make a read-only directory");
        let store = base.copy_to(&mount.0.join("store"));
        assert!(mount.remount_read_only(), "remount the tmpfs read-only");
        Some((mount, store))
    } else {
        None
    };
    let store = match &mount {
        Some((_, store)) => store.clone(),
        None => {
            use std::os::unix::fs::PermissionsExt;
            let store = base.copy_to(&root.path().join("store"));
            for dir in [
                store.join("vault").join("tmp"),
                store.join("vault"),
                store.clone(),
            ] {
                std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
            }
            store
        }
    };
    let before = files(&store);
    let mut problems = Vec::new();
    for attempt in Attempt::ALL {
        let out = cairn(&store, attempt.args());
        let expect = match attempt {
            Attempt::Write => Expect::Refused(READ_ONLY),
            // Reading needs no writing; refusing to open read-only must still say why.
            Attempt::Status | Attempt::Check => Expect::OkOrRefused(READ_ONLY),
        };
        let what = short(attempt.args());
        if let Err(why) = judge(&out, attempt, expect) {
            problems.push(format!("read-only directory: `cairn {what}` {why}"));
        }
    }
    for lost in deleted_or_changed(&before, &store, &|_| false) {
        problems.push(format!("read-only directory: {lost}"));
    }
    if mount.is_none() {
        use std::os::unix::fs::PermissionsExt;
        for dir in [
            store.clone(),
            store.join("vault"),
            store.join("vault").join("tmp"),
        ] {
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    assert_none(problems);
}

/// Runs `cairn` as if the disk were full: on a full tmpfs when the machine lets the tests
/// mount one, otherwise with a file-size limit (RLIMIT_FSIZE) that stops any file growing.
enum FullDisk {
    Tmpfs {
        filler: PathBuf,
        /// Held for its unmount on drop.
        _mount: Mount,
    },
    FileSizeLimit,
}

impl FullDisk {
    fn new(base: &Prepared, root: &Path) -> (FullDisk, PathBuf) {
        match Mount::tmpfs(&root.join("disk"), "2m") {
            Some(mount) => {
                let store = base.copy_to(&mount.0.join("store"));
                let filler = mount.0.join("filler");
                (
                    FullDisk::Tmpfs {
                        filler,
                        _mount: mount,
                    },
                    store,
                )
            }
            None => (FullDisk::FileSizeLimit, base.copy_to(&root.join("store"))),
        }
    }

    fn cairn(&self, store: &Path, args: &[&str]) -> Finished {
        match self {
            FullDisk::Tmpfs { .. } => cairn(store, args),
            FullDisk::FileSizeLimit => {
                // 16 blocks of 512 bytes: the -wal cannot grow past its first pages. SIGXFSZ
                // would kill the process; ignored, a write past the limit fails with EFBIG.
                let mut cmd = Command::new("sh");
                cmd.arg("-c")
                    .arg("trap '' XFSZ; ulimit -f 16; exec \"$0\" \"$@\"")
                    .arg(env!("CARGO_BIN_EXE_cairn"))
                    .arg("--data-dir")
                    .arg(store)
                    .args(args)
                    .env("CAIRN_PASSPHRASE", PASS)
                    .env_remove("RUST_BACKTRACE");
                run(cmd, None, LIMIT)
            }
        }
    }

    /// Fills the disk to the last byte.
    fn fill(&self) {
        if let FullDisk::Tmpfs { filler, .. } = self {
            let mut f = std::fs::File::create(filler).unwrap();
            let block = vec![0xa5u8; 4096];
            while std::io::Write::write_all(&mut f, &block).is_ok() {}
        }
    }

    /// Makes room again.
    fn free(&self) {
        if let FullDisk::Tmpfs { filler, .. } = self {
            std::fs::remove_file(filler).unwrap();
        }
    }
}

#[test]
fn a_full_disk_refuses_the_write_and_keeps_the_store() {
    let base = Prepared::new();
    let root = tempfile::tempdir_in(base.root.path()).unwrap();
    let (disk, store) = FullDisk::new(&base, root.path());
    let listing_before = must(cairn(&store, &["vault", "list"]), "vault list");
    let timeline_before = must(cairn(&store, &["timeline", "list"]), "timeline list");
    disk.fill();
    let before = files(&store);
    let scan = root.path().join("scan.pdf");
    std::fs::write(&scan, sample(1024 * 1024, 60)).unwrap();

    let mut problems = Vec::new();
    let tries: [(&[&str], Attempt, Expect); 4] = [
        (
            Attempt::Status.args(),
            Attempt::Status,
            Expect::OkOrRefused(FULL),
        ),
        (Attempt::Write.args(), Attempt::Write, Expect::Refused(FULL)),
        (
            &["vault", "add", scan.to_str().unwrap(), "--title", "CT scan"],
            Attempt::Write,
            Expect::Refused(FULL),
        ),
        (
            Attempt::Check.args(),
            Attempt::Check,
            Expect::OkOrRefused(FULL),
        ),
    ];
    for (args, attempt, expect) in tries {
        let out = disk.cairn(&store, args);
        if let Err(why) = judge(&out, attempt, expect) {
            problems.push(format!("full disk: `cairn {}` {why}", short(args)));
        }
    }
    for lost in deleted_or_changed(&before, &store, &is_database) {
        problems.push(format!("full disk: {lost}"));
    }

    // With room again, the store is as it was, and nothing half-written is left.
    disk.free();
    for (args, was) in [
        (&["vault", "list"][..], &listing_before),
        (&["timeline", "list"][..], &timeline_before),
    ] {
        let out = cairn(&store, args);
        if !out.ok() || out.stdout != *was {
            problems.push(format!(
                "after the disk was full, `cairn {}` shows something else: {}",
                args.join(" "),
                out.why()
            ));
        }
    }
    let leftovers = std::fs::read_dir(store.join("vault").join("tmp"))
        .unwrap()
        .count();
    if leftovers > 0 {
        problems.push(format!(
            "after the disk was full: {leftovers} file(s) left in vault/tmp"
        ));
    }
    let check = cairn(&store, &["check"]);
    if !check.ok() {
        problems.push(format!(
            "after the disk was full: `cairn check` {}",
            check.why()
        ));
    }
    assert_none(problems);
}
