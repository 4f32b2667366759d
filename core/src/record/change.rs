//! Changes as they are written and carried by sync, and their stable ids.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::hlc::Hlc;
use crate::ids::deterministic_id;

/// What a change does to its record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Sets one field.
    Set {
        /// The field's name.
        field: String,
        /// The new value.
        value: Value,
    },
    /// Deletes the whole record, for good.
    Delete,
}

/// One change to one record, as written locally and as carried by sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// The entity kind.
    pub entity: String,
    /// The record's id.
    pub id: String,
    /// What the change does.
    #[serde(flatten)]
    pub op: Op,
    /// When, in hybrid logical time; also names the writing device.
    pub hlc: String,
    /// The account that wrote it.
    pub author: String,
}

impl FieldChange {
    /// A stable id for the change: the same change always has the same id, so pushes and
    /// pulls are idempotent.
    ///
    /// It starts with the change's hybrid logical time (milliseconds and counter, in hex) and
    /// ends with a hash of what it changes: ids of successive changes sort in order, so an index
    /// of them grows at its right edge instead of at a random page per change.
    pub fn change_id(&self) -> String {
        let field = match &self.op {
            Op::Set { field, .. } => field.as_str(),
            Op::Delete => "",
        };
        change_id(&self.entity, &self.id, field, &self.hlc)
    }
}

pub(super) fn change_id(entity: &str, id: &str, field: &str, hlc: &str) -> String {
    let hash = deterministic_id("change", &[entity, id, field, hlc]);
    match Hlc::parse(hlc) {
        Ok(hlc) => format!(
            "{:012x}{:08x}-{}",
            hlc.millis,
            hlc.counter,
            &hash.replace('-', "")[..16]
        ),
        Err(_) => hash,
    }
}
pub(super) fn canonical_json(value: &Value) -> String {
    // serde_json's map is ordered by key, so equal values always give equal text.
    serde_json::to_string(value).expect("JSON values serialise")
}
