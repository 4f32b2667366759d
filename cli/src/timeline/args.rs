//! The flags of `cairn timeline add`, `list`, `search` and `edit`.

use clap::Args;

/// Fields every kind of event may have.
#[derive(Debug, Args)]
pub(crate) struct AddArgs {
    /// diagnosis, treatment, appointment, symptom, measurement, mood, note or milestone.
    #[arg(long)]
    pub(super) kind: String,
    /// The title (other kinds than note and milestone get one from their details if left out).
    #[arg(long, default_value = "")]
    pub(super) title: String,
    /// When: RFC 3339 or RFC 9557, local (2026-10-21T08:00, in --zone), a date or a time today. Default: now.
    #[arg(long)]
    pub(super) at: Option<String>,
    /// The IANA zone it happened in (default: the device's).
    #[arg(long)]
    pub(super) zone: Option<String>,
    /// When it ended (same forms as --at).
    #[arg(long)]
    pub(super) end: Option<String>,
    /// Free text.
    #[arg(long, default_value = "")]
    pub(super) body: String,
    /// A tag (repeatable).
    #[arg(long = "tag")]
    pub(super) tags: Vec<String>,
    /// A linked medication id (repeatable).
    #[arg(long = "med")]
    pub(super) medication_ids: Vec<String>,
    /// A linked document id (repeatable).
    #[arg(long = "doc")]
    pub(super) document_ids: Vec<String>,
    #[command(flatten)]
    pub(super) details: DetailArgs,
    /// Print the new event as JSON.
    #[arg(long)]
    pub(super) json: bool,
}

/// What only some kinds of event carry.
#[derive(Debug, Args, Default)]
pub(crate) struct DetailArgs {
    /// Diagnosis: the condition.
    #[arg(long)]
    pub(super) condition: Option<String>,
    /// Diagnosis: the stage.
    #[arg(long)]
    pub(super) stage: Option<String>,
    /// Treatment: surgery, chemotherapy, radiation, immunotherapy, hormone or other.
    #[arg(long)]
    pub(super) treatment: Option<String>,
    /// Treatment: the regimen or procedure.
    #[arg(long)]
    pub(super) name: Option<String>,
    /// Treatment: the cycle number.
    #[arg(long)]
    pub(super) cycle: Option<u32>,
    /// Appointment: who.
    #[arg(long)]
    pub(super) provider: Option<String>,
    /// Appointment: where.
    #[arg(long)]
    pub(super) place: Option<String>,
    /// Appointment: a question to ask (repeatable).
    #[arg(long = "question")]
    pub(super) questions: Vec<String>,
    /// Appointment: notes afterwards.
    #[arg(long)]
    pub(super) notes_after: Option<String>,
    /// Symptom: the PRO-CTCAE term or free text.
    #[arg(long)]
    pub(super) term: Option<String>,
    /// Symptom: how often, 0 (never) to 4 (almost constantly).
    #[arg(long)]
    pub(super) frequency: Option<u8>,
    /// Symptom: how bad, 0 (none) to 4 (very severe).
    #[arg(long)]
    pub(super) severity: Option<u8>,
    /// Symptom: interference with usual activities, 0 (not at all) to 4 (very much).
    #[arg(long)]
    pub(super) interference: Option<u8>,
    /// Symptom: whether it was present (yes or no).
    #[arg(long)]
    pub(super) present: Option<String>,
    /// Symptom: the CTCAE grade (1-5) a clinician gave.
    #[arg(long)]
    pub(super) grade: Option<u8>,
    /// Measurement: temperature, weight, blood_pressure, heart_rate, blood_glucose, pain_score or lab.
    #[arg(long)]
    pub(super) quantity: Option<String>,
    /// Measurement: the value (systolic for blood pressure).
    #[arg(long, allow_negative_numbers = true)]
    pub(super) value: Option<f64>,
    /// Measurement: the diastolic value of a blood pressure.
    #[arg(long)]
    pub(super) value2: Option<f64>,
    /// Measurement: the UCUM unit (Cel, [degF], kg, [lb_av], mm[Hg], /min, mg/dL, mmol/L, 10*9/L, {score}).
    #[arg(long)]
    pub(super) unit: Option<String>,
    /// Measurement: the reference range's lower end.
    #[arg(long, allow_negative_numbers = true)]
    pub(super) low: Option<f64>,
    /// Measurement: the reference range's upper end.
    #[arg(long, allow_negative_numbers = true)]
    pub(super) high: Option<f64>,
    /// Mood: 1 (very low) to 5 (very good).
    #[arg(long)]
    pub(super) rating: Option<u8>,
}

/// Which page of a listing, and how to print it.
#[derive(Debug, Args)]
pub(crate) struct PageArgs {
    /// Events per page.
    #[arg(long, default_value_t = 50)]
    pub(super) limit: usize,
    /// Continue from a cursor printed by an earlier page.
    #[arg(long)]
    pub(super) cursor: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub(super) json: bool,
}

/// `cairn timeline list`
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Only this kind (repeatable).
    #[arg(long = "kind")]
    pub(super) kinds: Vec<String>,
    /// Only events with this tag (repeatable: all of them).
    #[arg(long = "tag")]
    pub(super) tags: Vec<String>,
    /// From this date or instant (inclusive).
    #[arg(long)]
    pub(super) from: Option<String>,
    /// Until this date or instant (exclusive).
    #[arg(long)]
    pub(super) until: Option<String>,
    /// Only events linked to this medication.
    #[arg(long = "med")]
    pub(super) medication_id: Option<String>,
    /// Only events linked to this document.
    #[arg(long = "doc")]
    pub(super) document_id: Option<String>,
    #[command(flatten)]
    pub(super) page: PageArgs,
}

/// `cairn timeline search`
#[derive(Debug, Args)]
pub(crate) struct SearchArgs {
    /// The words to find.
    #[arg(required = true)]
    pub(super) words: Vec<String>,
    #[command(flatten)]
    pub(super) page: PageArgs,
}

/// `cairn timeline edit`
#[derive(Debug, Args)]
pub(crate) struct EditArgs {
    /// The event's id.
    pub(super) id: String,
    /// A new title.
    #[arg(long)]
    pub(super) title: Option<String>,
    /// A new start (same forms as `add --at`).
    #[arg(long)]
    pub(super) at: Option<String>,
    /// A new recorded zone.
    #[arg(long)]
    pub(super) zone: Option<String>,
    /// A new end.
    #[arg(long, conflicts_with = "no_end")]
    pub(super) end: Option<String>,
    /// Removes the end.
    #[arg(long)]
    pub(super) no_end: bool,
    /// New free text.
    #[arg(long)]
    pub(super) body: Option<String>,
    /// New tags, replacing the old ones (repeatable).
    #[arg(long = "tag", conflicts_with = "no_tags")]
    pub(super) tags: Vec<String>,
    /// Removes every tag.
    #[arg(long)]
    pub(super) no_tags: bool,
    /// New linked medications, replacing the old ones (repeatable).
    #[arg(long = "med")]
    pub(super) medication_ids: Vec<String>,
    /// New linked documents, replacing the old ones (repeatable).
    #[arg(long = "doc")]
    pub(super) document_ids: Vec<String>,
    #[command(flatten)]
    pub(super) details: DetailArgs,
    /// Print the edited event as JSON.
    #[arg(long)]
    pub(super) json: bool,
}

impl DetailArgs {
    pub(super) fn any(&self) -> bool {
        self.condition.is_some()
            || self.stage.is_some()
            || self.treatment.is_some()
            || self.name.is_some()
            || self.cycle.is_some()
            || self.provider.is_some()
            || self.place.is_some()
            || !self.questions.is_empty()
            || self.notes_after.is_some()
            || self.term.is_some()
            || self.frequency.is_some()
            || self.severity.is_some()
            || self.interference.is_some()
            || self.present.is_some()
            || self.grade.is_some()
            || self.quantity.is_some()
            || self.value.is_some()
            || self.value2.is_some()
            || self.unit.is_some()
            || self.low.is_some()
            || self.high.is_some()
            || self.rating.is_some()
    }
}
