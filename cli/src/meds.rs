//! `cairn meds`.

use cairn_core::Error;
use clap::Subcommand;

use crate::Context;

/// `cairn meds …`
#[derive(Debug, Subcommand)]
pub(crate) enum Command {}

pub(crate) fn run(_ctx: &Context, cmd: Command) -> Result<(), Error> {
    match cmd {}
}

/// Adds the meds part of the demo.
pub(crate) fn demo(_store: &cairn_core::Store) -> Result<(), Error> {
    Ok(())
}
