//! The journey timeline: diagnoses, treatments, appointments, symptoms, measurements, notes.

use crate::record::EntityDef;

/// The timeline's synced entities.
pub(crate) static ENTITIES: &[&EntityDef] = &[];
