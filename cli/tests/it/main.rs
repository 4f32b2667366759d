//! The `cairn` command as a person or a QA script runs it.

mod store;
mod vault;
