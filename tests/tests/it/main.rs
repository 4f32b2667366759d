//! End-to-end tests of Cairn: several devices, the CLI as a user runs it, faults injected.

mod devices;
mod faults;
mod lying_relay;
mod meds;
mod sync;
mod timeline;
mod vault;
