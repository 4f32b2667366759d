//! `cairn timeline` and `cairn symptoms`.

use cairn_core::Error;
use clap::Subcommand;

use crate::Context;

/// `cairn timeline …`
#[derive(Debug, Subcommand)]
pub(crate) enum Command {}

/// `cairn symptoms …`
#[derive(Debug, Subcommand)]
pub(crate) enum SymptomsCommand {}

pub(crate) fn run(_ctx: &Context, cmd: Command) -> Result<(), Error> {
    match cmd {}
}

pub(crate) fn run_symptoms(_ctx: &Context, cmd: SymptomsCommand) -> Result<(), Error> {
    match cmd {}
}

/// Adds the timeline part of the demo.
pub(crate) fn demo(_store: &cairn_core::Store) -> Result<(), Error> {
    Ok(())
}
