//! How much a timeline event may hold: every limit in one place, below the modules that check
//! them.

/// Longest title accepted, in characters.
pub const MAX_TITLE_CHARS: usize = 300;
/// Longest free text accepted, in characters.
pub const MAX_BODY_CHARS: usize = 20_000;
/// Most tags on one event.
pub const MAX_TAGS: usize = 32;
/// Longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 64;
/// Longest short text of an event's details, in characters: a condition, a stage, a
/// treatment's or lab value's name, an appointment's provider or place.
pub const MAX_LABEL_CHARS: usize = 200;
/// Most questions on one appointment.
pub const MAX_QUESTIONS: usize = 50;
/// Longest question, in characters.
pub const MAX_QUESTION_CHARS: usize = 500;
/// Most linked medications, or linked documents, on one event.
pub const MAX_LINKS: usize = 100;
