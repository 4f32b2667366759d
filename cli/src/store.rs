//! The store's own commands: `init`, `status`, `passwd` and `check`.

use cairn_core::store::CheckDepth;
use cairn_core::{Error, Store, Unlock};

use crate::context::{Context, new_passphrase, passphrase};
use crate::terminal::safe_println;

/// `cairn init`: a new store under a new passphrase.
pub(crate) fn init(ctx: &Context) -> Result<(), Error> {
    let pass = new_passphrase("CAIRN_PASSPHRASE")?;
    let store = Store::create(&ctx.data_dir, Unlock::Passphrase(&pass), ctx.clock.clone())?;
    safe_println!("Created an encrypted store in {}", ctx.data_dir.display());
    safe_println!("device {}", store.device_id().as_str());
    store.close()
}

/// `cairn status`
pub(crate) fn status(ctx: &Context) -> Result<(), Error> {
    let store = ctx.open()?;
    print_status(&store)?;
    store.close()
}

/// `cairn passwd`: the old passphrase, then the new one; the store is re-encrypted.
pub(crate) fn passwd(ctx: &Context) -> Result<(), Error> {
    let mut store = ctx.open()?;
    let old = passphrase("Passphrase: ", "CAIRN_PASSPHRASE")?;
    let new = new_passphrase("CAIRN_NEW_PASSPHRASE")?;
    store.change_passphrase(&old, &new)?;
    safe_println!("Passphrase changed; the store was re-encrypted.");
    store.close()
}

/// `cairn check`: a line per problem and a count; an error when anything is damaged.
pub(crate) fn check(ctx: &Context, quick: bool) -> Result<(), Error> {
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

/// The schema version, device id, and record and outbox counts.
pub(crate) fn print_status(store: &Store) -> Result<(), Error> {
    let s = store.status()?;
    safe_println!("schema version  {}", s.schema_version);
    safe_println!("device          {}", s.device_id);
    safe_println!("records         {}", s.record_count);
    safe_println!("outbox          {}", s.outbox_count);
    Ok(())
}
