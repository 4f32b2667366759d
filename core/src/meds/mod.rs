//! Medications: regimens, dose occurrences, the dose log, adherence and the notification plan.

use crate::record::EntityDef;

/// The medications' synced entities.
pub(crate) static ENTITIES: &[&EntityDef] = &[];
