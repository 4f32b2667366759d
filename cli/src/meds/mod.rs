//! `cairn meds`: medications, today's doses, the dose log, adherence and the notification plan.
//!
//! Regimens are written in one line: `--times 08:00,20:00 --cycle 14/7`, `--every-hours 8`,
//! `--prn --min-gap 8h --max 3/24h`, `--taper 4:3,2:3,1:3` (dose:days, in sequence), or an RRULE.
//! `--now` and `--tz` set the clock and the device's zone, so QA can cross DST and time zones.
//!
//! - `args.rs`: the regimen and detail flags of `add` and `edit`.
//! - `run.rs`: what each command does; every call into the core's meds API is made there, once.
//! - `print.rs`: medications, the day's doses, the plan and adherence as text and JSON.

mod args;
pub(crate) mod print;
pub(crate) mod run;

use cairn_core::Error;
use clap::Subcommand;

use self::args::{AddArgs, EditArgs};
use crate::context::Context;

/// `cairn meds …`
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Adds a medication with its regimen.
    Add(Box<AddArgs>),
    /// Lists the medications.
    List {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Shows one medication: details, regimen (and its RRULE when one can express it), supply.
    Show {
        /// The medication (id, id prefix or name).
        med: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Changes the fields given, and only those; timing flags set a new regimen from --start
    /// (default today), keeping the past schedule.
    Edit(Box<EditArgs>),
    /// Deletes a medication (its dose log stays).
    Rm {
        /// The medication (id, id prefix or name).
        med: String,
    },
    /// The day's scheduled doses and where each stands.
    Today {
        /// Another day than today (YYYY-MM-DD).
        #[arg(long)]
        date: Option<String>,
        /// Print JSON instead of text (each dose's `id` is what `--for` takes).
        #[arg(long)]
        json: bool,
    },
    /// Logs a dose as taken (matched to the dose it was meant for, even after midnight).
    Take {
        /// The medication (id, id prefix or name).
        med: String,
        /// When it was taken: RFC 3339 or RFC 9557, a local date-time, a date, or `22:00` today (default: now).
        #[arg(long)]
        at: Option<String>,
        /// The amount, if not the scheduled one.
        #[arg(long)]
        amount: Option<f64>,
        /// The occurrence id it was for (see `today --json`).
        #[arg(long = "for")]
        occurrence: Option<String>,
        /// Print what was logged as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Logs a scheduled dose as skipped.
    Skip {
        /// The medication (id, id prefix or name).
        med: String,
        /// The occurrence id (default: the dose due now).
        #[arg(long = "for")]
        occurrence: Option<String>,
        /// Why (kept with the record).
        #[arg(long)]
        reason: Option<String>,
        /// Print what was logged as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Snoozes a scheduled dose.
    Snooze {
        /// The medication (id, id prefix or name).
        med: String,
        /// The occurrence id (default: the dose due now).
        #[arg(long = "for")]
        occurrence: Option<String>,
        /// For how long.
        #[arg(long, default_value_t = 15)]
        minutes: u32,
        /// Print what was logged as JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Withdraws a logged dose (a mistaken tap); the dose reads as not logged again.
    Undo {
        /// The dose record's id (`dose_id` in `today --json`).
        dose_id: String,
    },
    /// The local notifications the phone should hold, as a diff against the last plan.
    Plan {
        /// At most this many notifications (iOS keeps 64).
        #[arg(long, default_value_t = 64)]
        max: u32,
        /// Remember this plan as scheduled, so the next diff is against it.
        #[arg(long)]
        commit: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Adherence over a date range, per medication and overall.
    Adherence {
        /// The first day (default: 29 days before --to).
        #[arg(long)]
        from: Option<String>,
        /// The last day (default: today).
        #[arg(long)]
        to: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(ctx: &Context, cmd: Command) -> Result<(), Error> {
    let store = ctx.open()?;
    match cmd {
        Command::Add(args) => run::add(&store, &args)?,
        Command::List { json } => run::list(&store, json)?,
        Command::Show { med, json } => run::show(&store, &med, json)?,
        Command::Edit(args) => run::edit(&store, *args)?,
        Command::Rm { med } => run::rm(&store, &med)?,
        Command::Today { date, json } => run::today(&store, date.as_deref(), json)?,
        Command::Take {
            med,
            at,
            amount,
            occurrence,
            json,
        } => run::take(
            &store,
            &med,
            at.as_deref(),
            amount,
            occurrence.as_deref(),
            json,
        )?,
        Command::Skip {
            med,
            occurrence,
            reason,
            json,
        } => run::skip(&store, &med, occurrence.as_deref(), reason.as_deref(), json)?,
        Command::Snooze {
            med,
            occurrence,
            minutes,
            json,
        } => run::snooze(&store, &med, occurrence.as_deref(), minutes, json)?,
        Command::Undo { dose_id } => run::undo(&store, &dose_id)?,
        Command::Plan { max, commit, json } => run::plan(&store, max, commit, json)?,
        Command::Adherence { from, to, json } => {
            run::adherence(&store, from.as_deref(), to.as_deref(), json)?;
        }
    }
    store.close()
}
