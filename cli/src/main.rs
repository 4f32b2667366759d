//! `cairn`: every core feature from a terminal, for QA, demos and scripts.
//!
//! # Layout
//!
//! - `main.rs`: the arguments and one-line errors.
//! - `context.rs`: what every command needs: the store's directory, the clock `--now` and
//!   `--tz` set, the passphrase.
//! - `store.rs`: the store's own commands (`init`, `status`, `passwd`, `check`).
//! - `input.rs`: one grammar for instants, dates and ids, shared by every command.
//! - `timeline/`, `meds/`, `vault/`, `sync/` (account, device, sync): one subcommand each, in the same rooms: `mod.rs` the
//!   subcommands, `args.rs` their flags, `run.rs` what each does, `print.rs` its text and JSON.
//! - `demo.rs`: the walkthrough in a temporary directory; `demo/sync.rs` its end, a tablet
//!   linked and synced through a relay in this process.
//! - `terminal.rs`: stored and typed text made unable to drive the terminal it is printed on.

mod context;
mod demo;
mod input;
mod meds;
mod store;
mod sync;
mod terminal;
mod timeline;
mod vault;

use std::path::PathBuf;
use std::process::ExitCode;

use cairn_core::Error;
use clap::{Parser, Subcommand};

use crate::context::Context;

/// Cairn: your health journey, encrypted on your device.
#[derive(Debug, Parser)]
#[command(name = "cairn", version, about)]
struct Cli {
    /// Where the encrypted store lives (default: the per-user data directory).
    #[arg(long, global = true, env = "CAIRN_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Pretend it is this instant (RFC 3339 or RFC 9557, or local in --tz, as --at). For QA.
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
    /// Your sync account: create it on a relay, print or use its recovery kit.
    #[command(subcommand)]
    Account(sync::AccountCommand),
    /// Your devices: link a new one with a code, join from one, list, revoke.
    #[command(subcommand)]
    Device(sync::DeviceCommand),
    /// Syncs with the relay: brings down other devices' changes, sends this one's.
    Sync(sync::SyncArgs),
}

fn run(cli: Cli) -> Result<(), Error> {
    let clock = context::clock(cli.now.as_deref(), cli.tz.as_deref())?;
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
        Command::Init => store::init(&ctx),
        Command::Status => store::status(&ctx),
        Command::Passwd => store::passwd(&ctx),
        Command::Check { quick } => store::check(&ctx, quick),
        Command::Demo => demo::run(ctx.clock),
        Command::Timeline(cmd) => timeline::run(&ctx, cmd),
        Command::Symptoms(cmd) => timeline::run_symptoms(&ctx, cmd),
        Command::Meds(cmd) => meds::run(&ctx, cmd),
        Command::Vault(cmd) => vault::run(&ctx, cmd),
        Command::Account(cmd) => sync::run_account(&ctx, cmd),
        Command::Device(cmd) => sync::run_device(&ctx, cmd),
        Command::Sync(args) => sync::run_sync(&ctx, args),
    }
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
