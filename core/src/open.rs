//! The composition root: the one module that knows every feature.
//!
//! It lists the synced entities the store holds ([`ENTITIES`]) and hands the list to the store
//! when it opens, and it runs the steps that come after opening (vault recovery) and the parts
//! of a check that belong to a feature (the vault's documents). The floors below never reach
//! up: `store/` and `record/` see the entities as data, and no feature names another.

use std::path::Path;
use std::sync::Arc;

use crate::clock::Clock;
use crate::error::Result;
use crate::store::{CheckDepth, Entities, IntegrityReport, Store, Unlock};
use crate::{meds, profile, timeline, vault};

/// Every synced entity, each feature's definitions. Changes for an entity not listed here
/// (written by a newer version) are kept, values and all, in `record_state`, so nothing is lost.
pub(crate) static ENTITIES: Entities = &[
    profile::ENTITIES,
    timeline::ENTITIES,
    meds::ENTITIES,
    vault::ENTITIES,
];

impl Store {
    /// Creates a new store in `dir` (created if missing, readable by this user only). Fails if
    /// any trace of a store is already there — a database, a key file, documents, or (for a
    /// key-store store) a key in the key store: creating over them would lock the old store's
    /// data out for good.
    pub fn create(dir: &Path, unlock: Unlock<'_>, clock: Arc<dyn Clock>) -> Result<Self> {
        let conn = Self::create_database(dir, unlock)?;
        Self::finish_open(conn, dir, clock, ENTITIES)?.after_open()
    }

    /// Opens the existing store in `dir`. Never creates one.
    ///
    /// A wrong key or passphrase gives [`Error::WrongKey`](crate::Error::WrongKey) and leaves
    /// every file as it was. With nothing in `dir` it is
    /// [`Error::NotFound`](crate::Error::NotFound); with traces of a store but no readable
    /// database (the database missing or empty beside its key file or documents, or a key in
    /// the key store) it is [`Error::Incomplete`](crate::Error::Incomplete), and nothing is
    /// removed. A database file that is cut short, zeroed, plain SQLite or another kind of file,
    /// or whose first page is damaged while later pages open with the key, is
    /// [`Error::Corrupt`](crate::Error::Corrupt).
    pub fn open(dir: &Path, unlock: Unlock<'_>, clock: Arc<dyn Clock>) -> Result<Self> {
        let conn = Self::open_database(dir, unlock)?;
        Self::finish_open(conn, dir, clock, ENTITIES)?.after_open()
    }

    /// BENCHMARK ONLY: a store whose database is plain, unencrypted SQLite, so benchmarks can
    /// measure SQLCipher's overhead against the same workload. Never reachable from the CLI or
    /// the FFI; nothing but `core/benches/` may call it.
    #[doc(hidden)]
    pub fn create_unencrypted_for_bench(dir: &Path, clock: Arc<dyn Clock>) -> Result<Self> {
        let conn = Self::create_unencrypted_database(dir)?;
        Self::finish_open(conn, dir, clock, ENTITIES)?.after_open()
    }

    /// What every open does once the database is keyed and migrated: clean up after vault
    /// operations a crash interrupted.
    fn after_open(self) -> Result<Self> {
        self.recover_vault()?;
        Ok(self)
    }

    /// Checks the store: every database page's HMAC (which catches a flipped byte in a page no
    /// read has touched), and with [`CheckDepth::Full`] also SQLite's structural check and every
    /// vault document decrypted and compared with its metadata.
    ///
    /// Problems are reported, not fixed: the report names each one without patient data.
    pub fn check(&self, depth: CheckDepth) -> Result<IntegrityReport> {
        let mut report = self.check_database(depth)?;
        if depth == CheckDepth::Full {
            for check in self.verify_vault()? {
                report.documents += 1;
                if check.health.is_problem() {
                    report.problems.push(format!(
                        "document {}: {}",
                        check.id,
                        check.health.describe()
                    ));
                }
            }
        }
        Ok(report)
    }
}
