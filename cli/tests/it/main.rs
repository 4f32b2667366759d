//! The `cairn` command as a person or a QA script runs it.

mod crash;
mod damaged;
mod deadline;
mod fixture;
mod meds;
mod store;
mod sync;
mod terminal;
mod timeline;
mod vault;
