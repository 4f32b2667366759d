//! The flags of `cairn vault add` and `list`.

use std::path::PathBuf;

use clap::Args;

/// `cairn vault add`
#[derive(Debug, Args)]
pub(crate) struct AddArgs {
    /// The file to import.
    pub(super) path: PathBuf,
    /// The title (default: the file's name without extension).
    #[arg(long)]
    pub(super) title: Option<String>,
    /// lab_report, pathology, imaging, discharge_summary, prescription, letter, insurance
    /// or other.
    #[arg(long, default_value = "other")]
    pub(super) kind: String,
    /// The date on the document (YYYY-MM-DD).
    #[arg(long)]
    pub(super) date: Option<String>,
    /// A tag (repeat for several).
    #[arg(long = "tag")]
    pub(super) tags: Vec<String>,
    /// Notes.
    #[arg(long, default_value = "")]
    pub(super) notes: String,
    /// The MIME type (default: guessed from the extension).
    #[arg(long = "type")]
    pub(super) content_type: Option<String>,
    /// A linked timeline event id (repeat for several).
    #[arg(long = "event")]
    pub(super) events: Vec<String>,
}

/// `cairn vault list`
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Only this kind.
    #[arg(long)]
    pub(super) kind: Option<String>,
    /// Only documents with this tag.
    #[arg(long)]
    pub(super) tag: Option<String>,
    /// Only documents dated on or after this day (YYYY-MM-DD).
    #[arg(long)]
    pub(super) from: Option<String>,
    /// Only documents dated on or before this day (YYYY-MM-DD).
    #[arg(long)]
    pub(super) to: Option<String>,
    /// Print the documents as a JSON array.
    #[arg(long)]
    pub(super) json: bool,
}
