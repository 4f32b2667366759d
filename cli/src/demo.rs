//! `cairn demo`: a walkthrough of Cairn in a temporary directory.

use std::sync::Arc;

use cairn_core::{Clock, Error, Profile, Store, Unlock};

pub(crate) fn run(clock: Arc<dyn Clock>) -> Result<(), Error> {
    let dir = tempfile::Builder::new().prefix("cairn-demo-").tempdir()?;
    let pass = "demo passphrase, not a real one";
    println!(
        "== Cairn demo (in {}, removed afterwards)",
        dir.path().display()
    );
    println!();
    println!("-- A new encrypted store, protected by a passphrase (Argon2id, then SQLCipher)");
    let store_dir = dir.path().join("store");
    let store = Store::create(&store_dir, Unlock::Passphrase(pass), clock.clone())?;
    store.set_profile(&Profile {
        display_name: "Maya".into(),
        home_time_zone: "Europe/London".into(),
    })?;
    println!("profile: Maya, home zone Europe/London");
    crate::timeline::demo(&store)?;
    crate::meds::demo(&store)?;
    crate::vault::demo(&store)?;
    println!();
    println!("-- Store status");
    crate::print_status(&store)?;
    store.close()?;

    println!();
    println!("-- On disk, nothing is readable");
    let bytes = std::fs::read(store_dir.join(cairn_core::store::DATABASE_FILE))?;
    let header = bytes.starts_with(b"SQLite format 3");
    println!(
        "cairn.db: {} bytes, plaintext SQLite header: {}",
        bytes.len(),
        if header { "YES" } else { "no" }
    );
    if header {
        return Err(Error::Corrupt(
            "the demo store was written unencrypted".into(),
        ));
    }
    println!();
    println!("-- A wrong passphrase is refused, and changes nothing");
    match Store::open(
        &store_dir,
        Unlock::Passphrase("not the passphrase"),
        clock.clone(),
    ) {
        Err(Error::WrongKey) => println!("wrong passphrase: refused (WrongKey)"),
        Err(e) => return Err(e),
        Ok(_) => {
            return Err(Error::Corrupt(
                "a wrong passphrase opened the demo store".into(),
            ));
        }
    }
    let store = Store::open(&store_dir, Unlock::Passphrase(pass), clock)?;
    println!(
        "right passphrase: opened, {} records",
        store.status()?.record_count
    );
    store.close()
}
