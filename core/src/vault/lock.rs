//! The vault's advisory lock, across processes: an iOS share extension, an Android service and
//! `cairn` in a terminal may each open the same store.
//!
//! Every operation that leaves a file for its commit to refer to (an import or replace between
//! its content file's rename and its metadata commit, an export between its temporary file and
//! the rename onto the destination) holds the lock shared; recovery removes what such
//! operations leave behind only while it holds the lock exclusively. A recovery that cannot get
//! it right away skips this time: what it would remove is still there at the next open. The
//! operating system releases a killed process's lock, so a crash never leaves it held.

use std::fs::{File, TryLockError};
use std::path::Path;

use crate::error::{Error, Result};

/// The lock file's name inside the vault directory.
const LOCK_FILE: &str = ".lock";

/// A held vault lock; released when dropped.
#[derive(Debug)]
pub(crate) struct VaultLock {
    _file: File,
}

impl VaultLock {
    /// Waits for and takes the lock shared, creating the vault directory if needed.
    pub(crate) fn shared(vault: &Path) -> Result<Self> {
        let file = open(vault)?;
        file.lock_shared()?;
        Ok(Self { _file: file })
    }

    /// Takes the lock exclusively if no other holder has it; `None` when one does.
    pub(crate) fn try_exclusive(vault: &Path) -> Result<Option<Self>> {
        let file = open(vault)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Self { _file: file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(Error::Io(e)),
        }
    }
}

fn open(vault: &Path) -> Result<File> {
    if !vault.is_dir() {
        crate::store::create_private_dir(vault)?;
    }
    let path = vault.join(LOCK_FILE);
    match crate::store::create_private_file(&path) {
        Ok(file) => Ok(file),
        Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(std::fs::OpenOptions::new().write(true).open(&path)?)
        }
        Err(e) => Err(e),
    }
}
