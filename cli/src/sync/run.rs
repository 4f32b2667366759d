//! What each sync command does.

use cairn_core::sync::{
    self, CancelToken, HttpTransport, RetryPolicy, SyncObserver, SyncReport, Transport,
    finish_link, start_link,
};
use cairn_core::{Error, Store, Unlock};

use super::args::{AccountCommand, DeviceCommand, SyncArgs};
use super::print;
use crate::context::{Context, new_passphrase, passphrase};
use crate::terminal::safe_println;

/// A store without a sync account, told with the commands that give it one.
fn no_account_yet(e: Error) -> Error {
    match e {
        Error::NotFound { .. } => Error::NotFound {
            entity: "sync account (run `cairn account create --server URL`, or join one from a \
                     new store: `cairn device join`, `cairn account recover`)",
        },
        e => e,
    }
}

/// The relay this store syncs with, as this device (or at `server` for this run).
pub(crate) fn relay_for(store: &Store, server: Option<&str>) -> Result<HttpTransport, Error> {
    let identity = store.sync_identity().map_err(no_account_yet)?;
    let address = server.unwrap_or(&identity.relay);
    Ok(HttpTransport::new(address)?.as_device(identity.device.clone()))
}

/// One sync, telling `observer` how it goes. A relay that could not be reached is said to have
/// been tried again, and that nothing was lost.
fn sync_with(
    store: &Store,
    relay: &dyn Transport,
    observer: &dyn SyncObserver,
) -> Result<SyncReport, Error> {
    let policy = RetryPolicy::default();
    sync::sync_now(store, relay, observer, &CancelToken::new(), policy).map_err(|e| match e {
        // Every request is tried `attempts` times before a network failure ends the sync.
        Error::Network(why) => Error::Network(format!(
            "{why}; tried {} times, nothing was lost: run `cairn sync` later",
            policy.attempts
        )),
        e => e,
    })
}

/// Syncs with a progress bar (or quietly for `--json`), then prints the summary.
fn sync_and_report(store: &Store, relay: &dyn Transport, json: bool) -> Result<SyncReport, Error> {
    let bar = print::SyncBar::new(json);
    let report = sync_with(store, relay, &bar);
    bar.finish();
    let report = report?;
    print::report(&report, json);
    Ok(report)
}

/// The store at the data directory, created under a new passphrase when there is none.
fn open_or_create(ctx: &Context) -> Result<Store, Error> {
    if Store::exists_in(&ctx.data_dir)? {
        return ctx.open();
    }
    let pass = new_passphrase("CAIRN_PASSPHRASE")?;
    let store = Store::create(&ctx.data_dir, Unlock::Passphrase(&pass), ctx.clock.clone())?;
    safe_println!("Created an encrypted store in {}", ctx.data_dir.display());
    Ok(store)
}

/// `cairn account …`
pub(crate) fn run_account(ctx: &Context, cmd: AccountCommand) -> Result<(), Error> {
    match cmd {
        AccountCommand::Create { server } => {
            let store = ctx.open()?;
            // Checked before anything is written.
            HttpTransport::new(&server)?;
            let kit = store.create_account(&server)?;
            print::kit(&kit);
            let relay = relay_for(&store, None)?;
            sync_and_report(&store, &relay, false)?;
            store.close()
        }
        AccountCommand::Kit => {
            let store = ctx.open()?;
            print::kit(&store.recovery_kit().map_err(no_account_yet)?);
            store.close()
        }
        AccountCommand::Recover { server } => {
            HttpTransport::new(&server)?;
            let kit = passphrase("Recovery kit: ", "CAIRN_RECOVERY_KIT")?;
            let mut store = open_or_create(ctx)?;
            store.recover_account(&server, &kit)?;
            let relay = relay_for(&store, None)?;
            sync_and_report(&store, &relay, false)?;
            safe_println!("Recovered: this device is now one of the account's devices.");
            store.close()
        }
    }
}

/// `cairn device …`
pub(crate) fn run_device(ctx: &Context, cmd: DeviceCommand) -> Result<(), Error> {
    match cmd {
        DeviceCommand::Link { json } => {
            let store = ctx.open()?;
            let relay = relay_for(&store, None)?;
            // The ledger must be current before a device is added to it.
            sync_with(&store, &relay, &sync::Quiet)?;
            let invite = start_link(&store, &relay)?;
            print::invite(&invite, json);
            let device = finish_link(&store, &relay, &invite, &CancelToken::new())?;
            print::linked(device.as_str(), json);
            store.close()
        }
        DeviceCommand::Join { code, server } => {
            let relay = HttpTransport::new(&server)?;
            let mut store = open_or_create(ctx)?;
            sync::join(&mut store, &relay, &code, &CancelToken::new())?;
            safe_println!("Joined: this device is now one of the account's devices.");
            let relay = relay_for(&store, None)?;
            sync_and_report(&store, &relay, false)?;
            store.close()
        }
        DeviceCommand::List { json } => {
            let store = ctx.open()?;
            let relay = relay_for(&store, None)?;
            sync_with(&store, &relay, &sync::Quiet)?;
            print::devices(&sync::devices(&store, &relay)?, json);
            store.close()
        }
        DeviceCommand::Revoke { device } => {
            let store = ctx.open()?;
            let relay = relay_for(&store, None)?;
            // What the device sent before it was lost is kept: sync first.
            sync_with(&store, &relay, &sync::Quiet)?;
            let revoked = sync::revoke_device(&store, &relay, &device)?;
            safe_println!(
                "Revoked device {revoked}: the relay no longer answers it, and nothing it sends \
                 from now on is accepted. What it already holds stays on it."
            );
            store.close()
        }
    }
}

/// `cairn sync`
pub(crate) fn run_sync(ctx: &Context, args: SyncArgs) -> Result<(), Error> {
    let store = ctx.open()?;
    let relay = relay_for(&store, args.server.as_deref())?;
    sync_and_report(&store, &relay, args.json)?;
    store.close()
}
