//! The flags of `cairn meds add` and `edit`: the regimen in one line, and the details.

use clap::Args;

/// The regimen in one line.
#[derive(Debug, Args, Default)]
pub(crate) struct RegimenArgs {
    /// The amount per dose.
    #[arg(long)]
    pub(super) dose: Option<f64>,
    /// The unit of the amount (tablet, mg, ml…).
    #[arg(long)]
    pub(super) unit: Option<String>,
    /// Times of day, comma-separated (08:00,20:00).
    #[arg(long, value_delimiter = ',')]
    pub(super) times: Vec<String>,
    /// Only on these days (mon,wed,fri).
    #[arg(long, value_delimiter = ',')]
    pub(super) days: Vec<String>,
    /// Every N days from the start.
    #[arg(long)]
    pub(super) every_days: Option<u32>,
    /// Every N hours of elapsed time from --anchor on the start date.
    #[arg(long)]
    pub(super) every_hours: Option<u32>,
    /// The first dose's time for --every-hours (default: the first of --times, or 08:00).
    #[arg(long)]
    pub(super) anchor: Option<String>,
    /// A cycle of days on / days off, e.g. 14/7; cycle day 1 is the start.
    #[arg(long)]
    pub(super) cycle: Option<String>,
    /// How many cycles.
    #[arg(long)]
    pub(super) cycles: Option<u32>,
    /// As needed.
    #[arg(long)]
    pub(super) prn: bool,
    /// As needed: the least time between doses (8h, 90m or minutes).
    #[arg(long)]
    pub(super) min_gap: Option<String>,
    /// As needed: the cap, doses per period (3/24h).
    #[arg(long)]
    pub(super) max: Option<String>,
    /// The first day (default: today).
    #[arg(long)]
    pub(super) start: Option<String>,
    /// The last day.
    #[arg(long)]
    pub(super) end: Option<String>,
    /// The number of doses in total.
    #[arg(long)]
    pub(super) count: Option<u32>,
    /// Tapering: dose:days phases in sequence with the same timing (4:3,2:3,1:3).
    #[arg(long)]
    pub(super) taper: Option<String>,
    /// The regimen as an RRULE (FREQ=DAILY;BYHOUR=8,20;BYMINUTE=0), with or without DTSTART.
    #[arg(long)]
    pub(super) rrule: Option<String>,
}

impl RegimenArgs {
    pub(super) fn given(&self) -> bool {
        !self.times.is_empty()
            || self.every_days.is_some()
            || self.every_hours.is_some()
            || self.cycle.is_some()
            || self.prn
            || self.taper.is_some()
            || self.rrule.is_some()
    }
}

/// The medication's details.
#[derive(Debug, Args, Default)]
pub(crate) struct DetailArgs {
    /// Strength, e.g. "500 mg".
    #[arg(long)]
    pub(super) strength: Option<String>,
    /// Form, e.g. tablet.
    #[arg(long)]
    pub(super) form: Option<String>,
    /// Route, e.g. oral.
    #[arg(long)]
    pub(super) route: Option<String>,
    /// How to take it.
    #[arg(long)]
    pub(super) instructions: Option<String>,
    /// Who prescribed it.
    #[arg(long)]
    pub(super) prescriber: Option<String>,
    /// A code, system|code (e.g. http://www.nlm.nih.gov/research/umls/rxnorm|200328).
    #[arg(long)]
    pub(super) code: Option<String>,
    /// `wall` (08:00 wherever you are) or an IANA zone to keep (e.g. Europe/London).
    #[arg(long)]
    pub(super) zone: Option<String>,
    /// Minutes after its time an untaken dose counts as missed.
    #[arg(long)]
    pub(super) late: Option<u32>,
    /// Units on hand now.
    #[arg(long)]
    pub(super) stock: Option<f64>,
    /// Alert when fewer than this many days of supply remain.
    #[arg(long)]
    pub(super) refill_days: Option<u32>,
}

/// `cairn meds add`
#[derive(Debug, Args)]
pub(crate) struct AddArgs {
    /// The medication's name.
    pub(super) name: String,
    #[command(flatten)]
    pub(super) regimen: RegimenArgs,
    #[command(flatten)]
    pub(super) details: DetailArgs,
}

/// `cairn meds edit`
#[derive(Debug, Args)]
pub(crate) struct EditArgs {
    /// The medication (id, id prefix or name).
    pub(super) med: String,
    /// A new name.
    #[arg(long)]
    pub(super) name: Option<String>,
    /// Postpone this cycle (1 = the first) of the first cycle phase; needs --to.
    #[arg(long)]
    pub(super) postpone_cycle: Option<u32>,
    /// The postponed cycle's new day 1.
    #[arg(long)]
    pub(super) to: Option<String>,
    #[command(flatten)]
    pub(super) regimen: RegimenArgs,
    #[command(flatten)]
    pub(super) details: DetailArgs,
}
