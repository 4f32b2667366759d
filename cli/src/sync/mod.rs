//! `cairn account`, `cairn device` and `cairn sync`: the patient's devices through a relay.

mod args;
mod print;
mod run;

pub(crate) use args::{AccountCommand, DeviceCommand, SyncArgs};
pub(crate) use run::{relay_for, run_account, run_device, run_sync};
