//! The plaintext inside an envelope: a batch of one device's field changes of one scope, in a
//! compact CBOR form. The writing device and its account are not repeated per change: they are
//! the envelope's (signed) device and that device's certified account, so a device can only
//! ever write changes as itself.

use cairn_protocol::codec::{from_cbor, to_cbor};
use cairn_protocol::{AccountId, DeviceId};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::hlc::{DeviceId as HlcDevice, Hlc};
use crate::record::{FieldChange, Op};

/// The most plaintext one envelope carries; a larger outbox is cut into several batches.
pub(crate) const MAX_BATCH_BYTES: usize = 256 << 10;

#[derive(Serialize, Deserialize)]
struct WireBatch {
    /// The entity names the changes use, each once.
    #[serde(rename = "e")]
    entities: Vec<String>,
    /// The changes.
    #[serde(rename = "c")]
    changes: Vec<WireChange>,
}

/// `(entity index, record id, field or none for a delete, value, HLC milliseconds, HLC
/// counter)`.
#[derive(Serialize, Deserialize)]
struct WireChange(u32, String, Option<String>, Value, u64, u32);

/// About how many bytes `change` takes in a batch, to cut batches before [`MAX_BATCH_BYTES`].
pub(crate) fn weight(change: &FieldChange) -> usize {
    let value = match &change.op {
        Op::Set { field, value } => field.len() + estimate(value),
        Op::Delete => 0,
    };
    24 + change.id.len() + value
}

fn estimate(value: &Value) -> usize {
    match value {
        Value::Null | Value::Bool(_) => 1,
        Value::Number(_) => 9,
        Value::String(s) => s.len() + 5,
        Value::Array(a) => 5 + a.iter().map(estimate).sum::<usize>(),
        Value::Object(o) => {
            5 + o
                .iter()
                .map(|(k, v)| k.len() + 5 + estimate(v))
                .sum::<usize>()
        }
    }
}

/// Encodes `changes`, all written by `device`.
pub(crate) fn encode(changes: &[FieldChange]) -> Result<Vec<u8>> {
    let mut entities: Vec<String> = Vec::new();
    let mut wire = Vec::with_capacity(changes.len());
    for c in changes {
        let hlc = Hlc::parse(&c.hlc)?;
        let e = match entities.iter().position(|e| *e == c.entity) {
            Some(i) => i,
            None => {
                entities.push(c.entity.clone());
                entities.len() - 1
            }
        };
        let (field, value) = match &c.op {
            Op::Set { field, value } => (Some(field.clone()), value.clone()),
            Op::Delete => (None, Value::Null),
        };
        wire.push(WireChange(
            e as u32,
            c.id.clone(),
            field,
            value,
            hlc.millis,
            hlc.counter,
        ));
    }
    Ok(to_cbor(&WireBatch {
        entities,
        changes: wire,
    }))
}

/// Decodes a batch sealed by `device` of `account`. A batch that does not decode was not written
/// by a Cairn device: the message says so without quoting it.
pub(crate) fn decode(
    plaintext: &[u8],
    device: &DeviceId,
    account: &AccountId,
) -> Result<Vec<FieldChange>> {
    let garbled = || Error::Tampered(format!("a batch of device {device} does not decode"));
    let batch: WireBatch = from_cbor(plaintext, "batch").map_err(|_| garbled())?;
    let hlc_device = HlcDevice::parse(device.as_str()).map_err(|_| garbled())?;
    let mut out = Vec::with_capacity(batch.changes.len());
    for WireChange(e, id, field, value, millis, counter) in batch.changes {
        let entity = batch.entities.get(e as usize).ok_or_else(garbled)?.clone();
        let hlc = Hlc {
            millis,
            counter,
            device: hlc_device.clone(),
        };
        out.push(FieldChange {
            entity,
            id,
            op: match field {
                Some(field) => Op::Set { field, value },
                None => Op::Delete,
            },
            hlc: hlc.to_string(),
            author: account.as_str().to_owned(),
        });
    }
    Ok(out)
}
