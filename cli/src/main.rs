//! `cairn`: every core feature from a terminal, for QA, demos and scripts.
//!
//! # Layout
//!
//! - `main.rs`: arguments, the passphrase, the injected clock, one-line errors.
//! - `demo.rs`: the walkthrough in a temporary directory.
//! - `timeline.rs`, `meds.rs`, `vault.rs`: one subcommand each.
//! - `terminal.rs`: stored and typed text made unable to drive the terminal it is printed on.

mod demo;
mod meds;
mod terminal;
mod timeline;
mod vault;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use cairn_core::store::CheckDepth;
use cairn_core::{Clock, Error, FixedClock, Store, SystemClock, Unlock};
use clap::{Parser, Subcommand};
use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::terminal::safe_println;

/// Cairn: your health journey, encrypted on your device.
#[derive(Debug, Parser)]
#[command(name = "cairn", version, about)]
struct Cli {
    /// Where the encrypted store lives (default: the per-user data directory).
    #[arg(long, global = true, env = "CAIRN_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Pretend it is this instant (RFC 3339, e.g. 2026-03-08T06:30:00-05:00). For QA.
    #[arg(long, global = true)]
    now: Option<String>,
    /// Pretend the device is in this IANA time zone (e.g. America/New_York). For QA.
    #[arg(long, global = true)]
    tz: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Creates a new encrypted store protected by a passphrase.
    Init,
    /// Shows the schema version, device id and record and outbox counts.
    Status,
    /// Changes the passphrase (reads CAIRN_NEW_PASSPHRASE or asks).
    Passwd,
    /// Checks the store: every database page, its structure, every document's content.
    /// Exits non-zero and names each problem if anything is damaged.
    Check {
        /// Only the pages' HMACs: one quick read of the database file.
        #[arg(long)]
        quick: bool,
    },
    /// Walks through Cairn in a temporary directory.
    Demo,
    /// The journey timeline: events, symptoms, measurements, appointments.
    #[command(subcommand)]
    Timeline(timeline::Command),
    /// Symptom scores over time.
    #[command(subcommand)]
    Symptoms(timeline::SymptomsCommand),
    /// Medications, reminders and the dose log.
    #[command(subcommand)]
    Meds(meds::Command),
    /// The encrypted document vault.
    #[command(subcommand)]
    Vault(vault::Command),
}

/// What every command needs: where the store is, and what time it is.
pub(crate) struct Context {
    pub(crate) data_dir: PathBuf,
    pub(crate) clock: Arc<dyn Clock>,
}

impl Context {
    /// Opens the store, asking for the passphrase.
    pub(crate) fn open(&self) -> Result<Store, Error> {
        if !Store::exists_in(&self.data_dir)? {
            return Err(Error::NotFound {
                entity: "store (run `cairn init` first)",
            });
        }
        let pass = passphrase("Passphrase: ", "CAIRN_PASSPHRASE")?;
        Store::open(
            &self.data_dir,
            Unlock::Passphrase(&pass),
            self.clock.clone(),
        )
    }
}

/// The real clock, or the instant and zone QA asked for.
#[derive(Debug)]
struct CliClock {
    now: Option<Timestamp>,
    zone: TimeZone,
}

impl Clock for CliClock {
    fn now(&self) -> Timestamp {
        self.now.unwrap_or_else(|| SystemClock.now())
    }
    fn time_zone(&self) -> TimeZone {
        self.zone.clone()
    }
}

fn clock(now: Option<&str>, tz: Option<&str>) -> Result<Arc<dyn Clock>, Error> {
    let zone = match tz {
        Some(name) => cairn_core::time::check_time_zone("--tz", name)?,
        None => SystemClock.time_zone(),
    };
    let now = now
        .map(|s| {
            s.parse::<Timestamp>().map_err(|_| {
                Error::invalid("--now", "expected RFC 3339, e.g. 2026-03-08T06:30:00-05:00")
            })
        })
        .transpose()?;
    Ok(match now {
        Some(now) => Arc::new(FixedClock::new(now, zone)),
        None => Arc::new(CliClock { now: None, zone }),
    })
}

/// A passphrase from the environment variable, or typed at a hidden prompt.
pub(crate) fn passphrase(prompt: &str, var: &str) -> Result<zeroize::Zeroizing<String>, Error> {
    if let Ok(p) = std::env::var(var) {
        return Ok(zeroize::Zeroizing::new(p));
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::Locked(
            "no passphrase: set CAIRN_PASSPHRASE or run in a terminal",
        ));
    }
    rpassword::prompt_password(prompt)
        .map(zeroize::Zeroizing::new)
        .map_err(Error::Io)
}

fn new_passphrase(var: &str) -> Result<zeroize::Zeroizing<String>, Error> {
    if let Ok(p) = std::env::var(var) {
        return Ok(zeroize::Zeroizing::new(p));
    }
    let first = passphrase("New passphrase: ", var)?;
    let again = passphrase("Repeat it: ", var)?;
    if *first != *again {
        return Err(Error::invalid("passphrase", "the two entries differ"));
    }
    Ok(first)
}

fn run(cli: Cli) -> Result<(), Error> {
    let clock = clock(cli.now.as_deref(), cli.tz.as_deref())?;
    let data_dir = match cli.data_dir {
        Some(d) => d,
        None => dirs::data_dir()
            .ok_or(Error::invalid(
                "--data-dir",
                "no per-user data directory on this system; pass --data-dir",
            ))?
            .join("cairn"),
    };
    let ctx = Context { data_dir, clock };
    match cli.command {
        Command::Init => {
            let pass = new_passphrase("CAIRN_PASSPHRASE")?;
            let store = Store::create(&ctx.data_dir, Unlock::Passphrase(&pass), ctx.clock.clone())?;
            safe_println!("Created an encrypted store in {}", ctx.data_dir.display());
            safe_println!("device {}", store.device_id().as_str());
            store.close()
        }
        Command::Status => {
            let store = ctx.open()?;
            print_status(&store)?;
            store.close()
        }
        Command::Passwd => {
            let mut store = ctx.open()?;
            let old = passphrase("Passphrase: ", "CAIRN_PASSPHRASE")?;
            let new = new_passphrase("CAIRN_NEW_PASSPHRASE")?;
            store.change_passphrase(&old, &new)?;
            safe_println!("Passphrase changed; the store was re-encrypted.");
            store.close()
        }
        Command::Check { quick } => {
            let store = ctx.open()?;
            let depth = if quick {
                CheckDepth::Pages
            } else {
                CheckDepth::Full
            };
            let report = store.check(depth)?;
            for problem in &report.problems {
                println!("problem  {problem}");
            }
            println!(
                "{} page(s) and {} document(s) checked, {} problem(s)",
                report.pages,
                report.documents,
                report.problems.len()
            );
            store.close()?;
            if report.is_healthy() {
                Ok(())
            } else {
                Err(Error::Corrupt(format!(
                    "the store check found {} problem(s)",
                    report.problems.len()
                )))
            }
        }
        Command::Demo => demo::run(ctx.clock),
        Command::Timeline(cmd) => timeline::run(&ctx, cmd),
        Command::Symptoms(cmd) => timeline::run_symptoms(&ctx, cmd),
        Command::Meds(cmd) => meds::run(&ctx, cmd),
        Command::Vault(cmd) => vault::run(&ctx, cmd),
    }
}

pub(crate) fn print_status(store: &Store) -> Result<(), Error> {
    let s = store.status()?;
    safe_println!("schema version  {}", s.schema_version);
    safe_println!("device          {}", s.device_id);
    safe_println!("records         {}", s.record_count);
    safe_println!("outbox          {}", s.outbox_count);
    Ok(())
}

fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        // Rust ignores SIGPIPE, so `cairn … | head` makes println! panic once the reader has
        // gone. Stop quietly with the status a shell gives a process killed by SIGPIPE.
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") {
            std::process::exit(141);
        }
        // A bug must still end in one line, never a backtrace with whatever was on the stack.
        eprintln!("cairn: internal error (a bug in Cairn); any unfinished change was rolled back");
    }));
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cairn: {}", terminal::printable(&e.to_string()));
            ExitCode::FAILURE
        }
    }
}
