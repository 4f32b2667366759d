//! What every command needs: where the store is, the clock `--now` and `--tz` set, and the
//! passphrase.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use cairn_core::{Clock, Error, FixedClock, Store, SystemClock, Unlock};
use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::input;

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

/// The clock `--now` and `--tz` describe: the system's instant and zone where one is not given.
/// A local `--now` is read in the `--tz` zone.
pub(crate) fn clock(now: Option<&str>, tz: Option<&str>) -> Result<Arc<dyn Clock>, Error> {
    let zone = match tz {
        Some(name) => cairn_core::time::check_time_zone("--tz", name)?,
        None => SystemClock.time_zone(),
    };
    let now = now
        .map(|s| input::instant("--now", s, &zone, SystemClock.now()))
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

/// A new passphrase from the environment variable, or typed twice at a hidden prompt.
pub(crate) fn new_passphrase(var: &str) -> Result<zeroize::Zeroizing<String>, Error> {
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
