//! The document vault: metadata in the database, content as encrypted files beside it.

use crate::record::EntityDef;

/// The vault's synced entities.
pub(crate) static ENTITIES: &[&EntityDef] = &[];
