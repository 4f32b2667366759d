//! `cairn vault`: the encrypted document vault.
//!
//! - `args.rs`: the flags of `add` and `list`.
//! - `run.rs`: what each command does.
//! - `print.rs`: documents as lines, in full and as JSON; the verify report; progress bars.

mod args;
pub(crate) mod print;
mod run;

use std::path::PathBuf;

use cairn_core::Error;
use clap::Subcommand;

use self::args::{AddArgs, ListArgs};
use crate::context::Context;

/// `cairn vault …`
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Imports a file into the vault, encrypted.
    Add(AddArgs),
    /// Lists documents, newest first.
    List(ListArgs),
    /// Searches titles, notes and tags.
    Search {
        /// Words to look for (all must match, as prefixes).
        #[arg(required = true)]
        words: Vec<String>,
        /// Print the documents as a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Shows one document's details.
    Show {
        /// The document's id.
        id: String,
        /// Print the document as a JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Decrypts a document to a file.
    Export {
        /// The document's id.
        id: String,
        /// Where to write it (replaced if it exists).
        dest: PathBuf,
    },
    /// Replaces a document's content with a new version.
    Replace {
        /// The document's id.
        id: String,
        /// The new content.
        path: PathBuf,
    },
    /// Writes a document's age key to a new file (readable only by you) and names its encrypted
    /// file, so both can be handed to someone with the standard `age` or `rage` tool.
    Key {
        /// The document's id.
        id: String,
        /// The key file to create (refused if it exists).
        out: PathBuf,
    },
    /// Deletes a document for good (its key is destroyed).
    Rm {
        /// The document's id.
        id: String,
    },
    /// Checks every document's content file; exits non-zero if any is damaged.
    Verify,
}

pub(crate) fn run(ctx: &Context, cmd: Command) -> Result<(), Error> {
    let store = ctx.open()?;
    match cmd {
        Command::Add(args) => run::add(&store, args)?,
        Command::List(args) => run::list(&store, args)?,
        Command::Search { words, json } => run::search(&store, &words, json)?,
        Command::Show { id, json } => run::show(&store, &id, json)?,
        Command::Export { id, dest } => run::export(&store, &id, &dest)?,
        Command::Replace { id, path } => run::replace(&store, &id, &path)?,
        Command::Key { id, out } => run::key(&store, &id, &out)?,
        Command::Rm { id } => run::rm(&store, &id)?,
        Command::Verify => run::verify(&store)?,
    }
    store.close()
}
