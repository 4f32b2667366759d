//! Benchmarks of the vault, against the standard `age` tool on the same file in the same run.
//!
//! - import and export of a 100 MB file, in interleaved rounds with `age -e` and `age -d` (and
//!   `rage` when installed) on the same file: the machine may be shared, so each round runs
//!   every contender once, the order alternating, and medians are compared. Targets: at least
//!   1.5x the tool's speed with every core, at least 1.0x confined to one core (a child process
//!   pinned with `taskset`; the tool, started by it, is pinned with it);
//! - how much of the import's time the fsyncs crash safety needs take;
//! - peak memory growth while importing and while exporting a 1 GB file (target <= 16 MiB),
//!   measured in a child process (this binary, re-run) from /proc/self/status;
//! - where the time goes: the cipher and the fingerprint alone, in memory, on one thread.
//!
//! Run: `cargo bench -p cairn-core --bench vault` (about a minute). Each figure is printed on its
//! own line, with its target and PASS or FAIL where it has one; the last line is the verdict.
//! `CAIRN_BENCH_DIR` picks the directory the files go to (default: the system's temporary one).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cairn_core::store::MemoryKeyStore;
use cairn_core::vault::content::disk_wait;
use cairn_core::vault::{DocumentKind, DocumentMeta, ImportOutcome};
use cairn_core::{FixedClock, Store, Unlock};

const MB: u64 = 1_000_000;
const FILE_SIZE: u64 = 100 * MB;
const BIG_FILE_SIZE: u64 = 1_000 * MB;
/// Rounds with every core, and confined to one.
const ROUNDS: usize = 9;
const ONE_CORE_ROUNDS: usize = 7;
const ALL_CORES_TARGET: f64 = 1.5;
const ONE_CORE_TARGET: f64 = 1.0;
const MEMORY_TARGET_MIB: f64 = 16.0;
/// The tool the targets are set against.
const BASELINE: &str = "age";
/// Set in the child processes: what the child measures, and its paths.
const CHILD_ENV: &str = "CAIRN_VAULT_BENCH_CHILD";

fn clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::new(
        "2026-03-08T12:00:00Z".parse().expect("instant"),
        jiff::tz::TimeZone::UTC,
    ))
}

/// Writes `size` bytes of incompressible data, `seed` making each file different.
fn write_sample(path: &Path, size: u64, seed: u64) {
    let mut file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut block = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        for word in block.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            word.copy_from_slice(&x.to_le_bytes());
        }
        let n = left.min(block.len() as u64) as usize;
        file.write_all(&block[..n]).unwrap();
        left -= n as u64;
    }
    file.flush().unwrap();
    file.get_ref().sync_all().unwrap();
}

fn meta() -> DocumentMeta {
    let mut meta = DocumentMeta::new("MRI series", DocumentKind::Imaging);
    meta.content_type = "application/dicom".into();
    meta
}

fn mb_per_s(bytes: u64, took: Duration) -> f64 {
    bytes as f64 / MB as f64 / took.as_secs_f64()
}

fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "FAIL" }
}

/// The rounds' values of one figure.
#[derive(Debug, Default, Clone)]
struct Figure(Vec<f64>);

impl Figure {
    fn median(&self) -> f64 {
        let mut values = self.0.clone();
        values.sort_by(f64::total_cmp);
        match values.len() {
            0 => f64::NAN,
            n if n % 2 == 1 => values[n / 2],
            n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
        }
    }

    /// "median (lowest–highest of n rounds)".
    fn describe(&self, unit_scale: f64, decimals: usize) -> String {
        let low = self.0.iter().copied().fold(f64::INFINITY, f64::min) * unit_scale;
        let high = self.0.iter().copied().fold(f64::NEG_INFINITY, f64::max) * unit_scale;
        format!(
            "{:.decimals$} (median of {} rounds, {low:.decimals$}-{high:.decimals$})",
            self.median() * unit_scale,
            self.0.len()
        )
    }
}

fn tool_on_path(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The standard tools to compare with: Go `age` (the baseline), and `rage` when installed (also
/// looked for in cargo's bin directory).
fn tools() -> Vec<(String, String)> {
    let mut tools = Vec::new();
    if tool_on_path(BASELINE) {
        tools.push((BASELINE.to_owned(), BASELINE.to_owned()));
    }
    if tool_on_path("rage") {
        tools.push(("rage".to_owned(), "rage".to_owned()));
    } else if let Some(home) = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
    {
        let rage = home.join("bin").join("rage");
        if rage.is_file() {
            tools.push(("rage".to_owned(), rage.to_string_lossy().into_owned()));
        }
    }
    tools
}

/// Runs `tool` with `flags` on `input`, writing `out` (removed first: Cairn's outputs are new
/// files too).
fn run_tool(tool: &str, flags: &[&std::ffi::OsStr], input: &Path, out: &Path) -> Duration {
    let _ = std::fs::remove_file(out);
    let started = Instant::now();
    let status = Command::new(tool)
        .args(flags)
        .arg("-o")
        .arg(out)
        .arg(input)
        .output()
        .expect("run the baseline tool");
    let took = started.elapsed();
    assert!(
        status.status.success(),
        "{tool} failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    took
}

/// What one set of rounds measured.
#[derive(Default)]
struct Rounds {
    /// MB/s.
    import: Figure,
    export: Figure,
    /// Export, then an fsync of the copy (which export itself does not do), MB/s.
    export_synced: Figure,
    /// Per tool: name, encrypt and decrypt MB/s.
    tools: Vec<(String, Figure, Figure)>,
    /// Share of each import's time it stood still in the content's fsyncs (the staging file's
    /// and the vault directory's), and the share overlapped by writeback started early.
    fsync_share: Figure,
    background_share: Figure,
}

impl Rounds {
    fn tool(&self, name: &str) -> Option<&(String, Figure, Figure)> {
        self.tools.iter().find(|(n, _, _)| n == name)
    }

    /// Prints every figure; returns whether the targets were met.
    fn report(&self, prefix: &str, target: f64) -> bool {
        let mut pass = true;
        let baseline = self.tool(BASELINE);
        for (what, ours, tool_figure, verb) in [
            ("import", &self.import, baseline.map(|t| &t.1), "encrypt"),
            ("export", &self.export, baseline.map(|t| &t.2), "decrypt"),
        ] {
            match tool_figure {
                Some(theirs) => {
                    let goal = target * theirs.median();
                    let ok = ours.median() >= goal;
                    println!(
                        "vault.{prefix}{what}_100mb_mb_per_s {} (target >= {goal:.0}, \
                         {target:.1}x {BASELINE} -{}) {}",
                        ours.describe(1.0, 0),
                        &verb[..1],
                        verdict(ok)
                    );
                }
                None => println!(
                    "vault.{prefix}{what}_100mb_mb_per_s {}",
                    ours.describe(1.0, 0)
                ),
            }
        }
        for (name, enc, dec) in &self.tools {
            let role = if name == BASELINE {
                "baseline"
            } else {
                "for comparison"
            };
            println!(
                "vault.{prefix}{name}_encrypt_mb_per_s {} ({role})",
                enc.describe(1.0, 0)
            );
            println!(
                "vault.{prefix}{name}_decrypt_mb_per_s {} ({role})",
                dec.describe(1.0, 0)
            );
        }
        for (name, enc, dec) in &self.tools {
            for (what, ours, theirs, verb) in [
                ("import", &self.import, enc, "encrypt"),
                ("export", &self.export, dec, "decrypt"),
            ] {
                let ratio = ours.median() / theirs.median();
                if name == BASELINE {
                    let ok = ratio >= target;
                    pass &= ok;
                    println!(
                        "vault.{prefix}{what}_vs_{name}_{verb} {ratio:.2} (target >= {target:.1}) {}",
                        verdict(ok)
                    );
                } else {
                    println!("vault.{prefix}{what}_vs_{name}_{verb} {ratio:.2}");
                }
            }
        }
        if baseline.is_none() {
            println!("vault.{prefix}baseline none (Debian: `apt-get install -y age`)");
            pass = false;
        }
        println!(
            "vault.{prefix}import_time_in_content_fsyncs_percent {} (staging file and vault \
             directory; the database's own commits not counted)",
            self.fsync_share.describe(100.0, 1)
        );
        println!(
            "vault.{prefix}import_time_overlapped_by_early_writeback_percent {}",
            self.background_share.describe(100.0, 1)
        );
        pass
    }

    /// The rounds as lines, for a child to hand to its parent.
    fn to_lines(&self) -> String {
        let line = |name: &str, f: &Figure| {
            let values: Vec<String> = f.0.iter().map(f64::to_string).collect();
            format!("{name} {}\n", values.join(" "))
        };
        let mut out = line("import", &self.import)
            + &line("export", &self.export)
            + &line("export_synced", &self.export_synced)
            + &line("fsync_share", &self.fsync_share)
            + &line("background_share", &self.background_share);
        for (name, enc, dec) in &self.tools {
            out += &line(&format!("encrypt:{name}"), enc);
            out += &line(&format!("decrypt:{name}"), dec);
        }
        out
    }

    fn from_lines(text: &str) -> Self {
        let mut rounds = Rounds::default();
        for line in text.lines() {
            let mut words = line.split_whitespace();
            let Some(name) = words.next() else { continue };
            let figure = Figure(words.filter_map(|w| w.parse().ok()).collect());
            match name {
                "import" => rounds.import = figure,
                "export" => rounds.export = figure,
                "export_synced" => rounds.export_synced = figure,
                "fsync_share" => rounds.fsync_share = figure,
                "background_share" => rounds.background_share = figure,
                other => {
                    if let Some(tool) = other.strip_prefix("encrypt:") {
                        rounds
                            .tools
                            .push((tool.to_owned(), figure, Figure::default()));
                    } else if let Some(tool) = other.strip_prefix("decrypt:")
                        && let Some(entry) = rounds.tools.iter_mut().find(|t| t.0 == tool)
                    {
                        entry.2 = figure;
                    }
                }
            }
        }
        rounds
    }
}

/// Runs `rounds` rounds in `work`: each imports and exports `source` through a store and runs
/// each tool's encrypt and decrypt on the same file, the order alternating from round to round.
fn measure(work: &Path, source: &Path, rounds: usize) -> Rounds {
    let keys = MemoryKeyStore::default();
    let store = Store::create(&work.join("store"), Unlock::KeyStore(&keys), clock()).unwrap();
    let exported = work.join("exported.bin");
    let key = work.join("key.txt");
    let tools = tools();
    let mut result = Rounds {
        tools: tools
            .iter()
            .map(|(name, _)| (name.clone(), Figure::default(), Figure::default()))
            .collect(),
        ..Rounds::default()
    };
    let mut last_id: Option<String> = None;
    for round in 0..rounds {
        let cairn = |result: &mut Rounds, last_id: &mut Option<String>| {
            if let Some(id) = last_id.take() {
                store.delete_document(&id).unwrap();
            }
            let waited = disk_wait();
            let started = Instant::now();
            let outcome = store
                .import_document(source, &meta(), &mut |_, _| {})
                .unwrap();
            let took = started.elapsed();
            let after = disk_wait();
            result.import.0.push(mb_per_s(FILE_SIZE, took));
            let share = |d: Duration| d.as_secs_f64() / took.as_secs_f64();
            result
                .fsync_share
                .0
                .push(share(after.blocking - waited.blocking));
            result
                .background_share
                .0
                .push(share(after.background - waited.background));
            let ImportOutcome::Added(doc) = outcome else {
                panic!("the bench file was taken for a duplicate");
            };
            let _ = std::fs::remove_file(&exported);
            let started = Instant::now();
            store
                .export_document(&doc.id, &exported, &mut |_, _| {})
                .unwrap();
            result.export.0.push(mb_per_s(FILE_SIZE, started.elapsed()));
            std::fs::File::open(&exported).unwrap().sync_all().unwrap();
            result
                .export_synced
                .0
                .push(mb_per_s(FILE_SIZE, started.elapsed()));
            assert_eq!(std::fs::metadata(&exported).unwrap().len(), FILE_SIZE);
            std::fs::write(&key, format!("{}\n", *store.document_key(&doc.id).unwrap())).unwrap();
            *last_id = Some(doc.id);
        };
        let baseline = |result: &mut Rounds| {
            for ((name, tool), (_, enc, dec)) in tools.iter().zip(result.tools.iter_mut()) {
                let encrypted = work.join(format!("{name}.age"));
                let decrypted = work.join(format!("{name}.bin"));
                let took = run_tool(
                    tool,
                    &["-e".as_ref(), "-i".as_ref(), key.as_os_str()],
                    source,
                    &encrypted,
                );
                enc.0.push(mb_per_s(FILE_SIZE, took));
                let took = run_tool(
                    tool,
                    &["-d".as_ref(), "-i".as_ref(), key.as_os_str()],
                    &encrypted,
                    &decrypted,
                );
                dec.0.push(mb_per_s(FILE_SIZE, took));
                let _ = std::fs::remove_file(&decrypted);
            }
        };
        // The first round gives the tools their key; after that the order alternates.
        if round % 2 == 0 {
            cairn(&mut result, &mut last_id);
            baseline(&mut result);
        } else {
            baseline(&mut result);
            cairn(&mut result, &mut last_id);
        }
    }
    if let Some(id) = last_id {
        store.delete_document(&id).unwrap();
    }
    let _ = std::fs::remove_file(&exported);
    result
}

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// How far the peak resident size rises above where it stood just before `f`.
fn peak_growth_kib(f: impl FnOnce()) -> u64 {
    // Reset the peak to the current resident size (Linux: "5" to clear_refs), so the peak
    // after `f` is its own.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = status_kib("VmRSS:");
    f();
    status_kib("VmHWM:").saturating_sub(before)
}

/// The memory child: imports and exports the big file, reporting each one's peak growth.
fn memory_child(big: &Path, work: &Path) {
    let keys = MemoryKeyStore::default();
    let store = Store::create(&work.join("store"), Unlock::KeyStore(&keys), clock()).unwrap();
    // Warm up every code path (SQLite caches, age, BLAKE3, the workers) on a small file first.
    let warm = store
        .import_document_bytes(
            &[7u8; 3_000_000],
            &DocumentMeta::new("warm-up", DocumentKind::Other),
        )
        .unwrap();
    let out = work.join("exported.bin");
    store
        .export_document(&warm.document().id, &out, &mut |_, _| {})
        .unwrap();
    let mut id = String::new();
    let import = peak_growth_kib(|| {
        id = store
            .import_document(big, &meta(), &mut |_, _| {})
            .unwrap()
            .document()
            .id
            .clone();
    });
    let export = peak_growth_kib(|| {
        store.export_document(&id, &out, &mut |_, _| {}).unwrap();
    });
    assert_eq!(std::fs::metadata(&out).unwrap().len(), BIG_FILE_SIZE);
    println!("import_growth_kib {import}");
    println!("export_growth_kib {export}");
}

/// Runs this binary again as a child doing `what` on `paths`, pinned to one CPU if `pinned`;
/// returns its standard output, or `None` when it cannot be pinned here.
fn child(what: &str, paths: &[&Path], pinned: bool) -> Option<String> {
    let exe = std::env::current_exe().unwrap();
    let mut command = if pinned {
        if !tool_on_path("taskset") {
            return None;
        }
        let mut c = Command::new("taskset");
        c.arg("--cpu-list").arg("0").arg(exe);
        c
    } else {
        Command::new(exe)
    };
    let mut env = what.to_owned();
    for p in paths {
        env.push('\n');
        env.push_str(&p.to_string_lossy());
    }
    let out = command.env(CHILD_ENV, env).output().unwrap();
    assert!(
        out.status.success(),
        "{what} child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The cipher (as the `age` crate runs it) and the fingerprint alone, in memory on one thread:
/// the floor under what one core can do.
fn breakdown(source: &Path) {
    let data = std::fs::read(source).unwrap();
    let best = |f: &mut dyn FnMut()| {
        (0..3)
            .map(|_| {
                let started = Instant::now();
                f();
                started.elapsed()
            })
            .min()
            .unwrap()
    };
    let hash = best(&mut || {
        let mut hasher = blake3::Hasher::new_keyed(&[3u8; 32]);
        hasher.update(&data);
        std::hint::black_box(hasher.finalize());
    });
    let seal = best(&mut || {
        let identity = age::x25519::Identity::generate();
        let recipient = identity.to_public();
        let encryptor =
            age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
                .unwrap();
        let mut writer = encryptor.wrap_output(std::io::sink()).unwrap();
        for block in data.chunks(1 << 20) {
            writer.write_all(block).unwrap();
        }
        writer.finish().unwrap();
    });
    println!(
        "vault.breakdown_blake3_keyed_one_thread_mb_per_s {:.0}",
        mb_per_s(FILE_SIZE, hash)
    );
    println!(
        "vault.breakdown_chacha20poly1305_one_thread_mb_per_s {:.0} (the age crate, in memory)",
        mb_per_s(FILE_SIZE, seal)
    );
}

fn main() {
    if let Ok(args) = std::env::var(CHILD_ENV) {
        let mut args = args.split('\n');
        let what = args.next().unwrap_or_default();
        let paths: Vec<PathBuf> = args.map(PathBuf::from).collect();
        match what {
            "memory" => memory_child(&paths[0], &paths[1]),
            "one-core" => print!(
                "{}",
                measure(&paths[1], &paths[0], ONE_CORE_ROUNDS).to_lines()
            ),
            other => panic!("unknown child {other}"),
        }
        return;
    }
    let started = Instant::now();
    let work = tempfile::Builder::new()
        .prefix("cairn-vault-bench-")
        .tempdir_in(
            std::env::var_os("CAIRN_BENCH_DIR").unwrap_or_else(|| std::env::temp_dir().into()),
        )
        .unwrap();
    let source = work.path().join("scan.bin");
    write_sample(&source, FILE_SIZE, 1);
    println!(
        "vault.cores {}",
        std::thread::available_parallelism().map_or(1, usize::from)
    );

    // --- every core: rounds of Cairn and the tools, interleaved
    let all = measure(work.path(), &source, ROUNDS);
    let mut pass = all.report("", ALL_CORES_TARGET);
    println!(
        "vault.export_then_fsync_of_the_copy_mb_per_s {} (export itself does not fsync)",
        all.export_synced.describe(1.0, 0)
    );

    // --- one core: the same in a child pinned to one CPU (the tools it starts are pinned too)
    let one_core_dir = work.path().join("one-core");
    std::fs::create_dir(&one_core_dir).unwrap();
    match child("one-core", &[&source, &one_core_dir], true) {
        Some(out) => pass &= Rounds::from_lines(&out).report("one_core_", ONE_CORE_TARGET),
        None => println!("vault.one_core skipped (no taskset here) FAIL"),
    }

    breakdown(&source);
    std::fs::remove_file(&source).unwrap();

    // --- peak memory while importing and exporting 1 GB, in a child process
    let big = work.path().join("big.bin");
    write_sample(&big, BIG_FILE_SIZE, 2);
    let memory_dir = work.path().join("memory");
    std::fs::create_dir(&memory_dir).unwrap();
    let out = child("memory", &[&big, &memory_dir], false).expect("an unpinned child");
    for what in ["import", "export"] {
        let growth_kib: u64 = out
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{what}_growth_kib ")))
            .and_then(|v| v.trim().parse().ok())
            .expect("the child reports its growth");
        let growth_mib = growth_kib as f64 / 1024.0;
        let ok = growth_mib <= MEMORY_TARGET_MIB;
        pass &= ok;
        println!(
            "vault.{what}_1gb_peak_memory_growth_mib {growth_mib:.1} \
             (target <= {MEMORY_TARGET_MIB:.0}) {}",
            verdict(ok)
        );
    }
    println!("vault.bench_seconds {:.0}", started.elapsed().as_secs_f64());
    println!("vault.overall {}", verdict(pass));
}
