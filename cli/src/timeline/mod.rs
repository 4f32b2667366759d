//! `cairn timeline` and `cairn symptoms`.
//!
//! - `args.rs`: the flags of the commands that take many.
//! - `run.rs`: what each command does.
//! - `print.rs`: events, pages and trends as text and JSON.

mod args;
pub(crate) mod print;
mod run;

use cairn_core::Error;
use clap::Subcommand;

use self::args::{AddArgs, EditArgs, ListArgs, SearchArgs};
use crate::context::Context;

/// `cairn timeline …`
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Adds an event (diagnosis, treatment, appointment, symptom, measurement, mood, note, milestone).
    Add(Box<AddArgs>),
    /// Lists events, newest first, a page at a time, grouped by day.
    List(ListArgs),
    /// Finds events by words of their title, text or tags (case and accents ignored).
    Search(SearchArgs),
    /// Shows one event in full.
    Show {
        /// The event's id.
        id: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Changes the fields given, and only those.
    Edit(Box<EditArgs>),
    /// Deletes an event.
    Rm {
        /// The event's id.
        id: String,
    },
    /// Appointments not yet over, soonest first.
    Upcoming {
        /// How many at most.
        #[arg(long, default_value_t = 10)]
        limit: usize,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// `cairn symptoms …`
#[derive(Debug, Subcommand)]
pub(crate) enum SymptomsCommand {
    /// One symptom's scores over time, oldest first.
    Trend {
        /// A PRO-CTCAE term (code, name or common word, e.g. "nausea", "diarrhoea") or the free
        /// text a symptom was logged with.
        term: String,
        /// From this date or instant (inclusive).
        #[arg(long)]
        from: Option<String>,
        /// Until this date or instant (exclusive).
        #[arg(long)]
        until: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The shipped PRO-CTCAE vocabulary and what each term asks.
    Terms,
}

pub(crate) fn run(ctx: &Context, cmd: Command) -> Result<(), Error> {
    let store = ctx.open()?;
    let zone = store.clock().time_zone();
    match cmd {
        Command::Add(args) => run::add(&store, &zone, *args)?,
        Command::List(args) => run::list(&store, &zone, args)?,
        Command::Search(args) => run::search(&store, &zone, &args)?,
        Command::Show { id, json } => run::show(&store, &zone, &id, json)?,
        Command::Edit(args) => run::edit(&store, &zone, *args)?,
        Command::Rm { id } => run::rm(&store, &id)?,
        Command::Upcoming { limit, json } => run::upcoming(&store, &zone, limit, json)?,
    }
    store.close()
}

pub(crate) fn run_symptoms(ctx: &Context, cmd: SymptomsCommand) -> Result<(), Error> {
    match cmd {
        SymptomsCommand::Terms => {
            print::terms();
            Ok(())
        }
        SymptomsCommand::Trend {
            term,
            from,
            until,
            json,
        } => {
            let store = ctx.open()?;
            run::trend(&store, &term, from.as_deref(), until.as_deref(), json)?;
            store.close()
        }
    }
}
