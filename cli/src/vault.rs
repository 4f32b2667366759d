//! `cairn vault`.

use cairn_core::Error;
use clap::Subcommand;

use crate::Context;

/// `cairn vault …`
#[derive(Debug, Subcommand)]
pub(crate) enum Command {}

pub(crate) fn run(_ctx: &Context, cmd: Command) -> Result<(), Error> {
    match cmd {}
}

/// Adds the vault part of the demo.
pub(crate) fn demo(_store: &cairn_core::Store) -> Result<(), Error> {
    Ok(())
}
