//! Symptoms the clinic can use: a shipped vocabulary of common PRO-CTCAE terms, the 0–4 verbal
//! scales, and the points of a trend (read by `query.rs`, with the other queries).
//!
//! PRO-CTCAE (the patient-reported version of the NCI's adverse-event criteria) asks, for each
//! term, some of *frequency*, *severity* and *interference* with daily activities on five-point
//! verbal scales, or only whether it was *present*. A patient's score is not a CTCAE grade: the
//! grade (1–5) is a clinician's judgement, stored in its own field when given, and never computed
//! from the patient's scores.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What a PRO-CTCAE item asks about a symptom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum SymptomAttribute {
    /// How often: Never … Almost constantly.
    Frequency,
    /// How bad at its worst: None … Very severe.
    Severity,
    /// How much it got in the way of usual activities: Not at all … Very much.
    Interference,
    /// Whether it was there at all: No / Yes.
    Presence,
}

/// Longest symptom term, in characters (the vocabulary's longest label is well under it).
pub const MAX_TERM_CHARS: usize = 120;

const FREQUENCY_LABELS: [&str; 5] = [
    "Never",
    "Rarely",
    "Occasionally",
    "Frequently",
    "Almost constantly",
];
const SEVERITY_LABELS: [&str; 5] = ["None", "Mild", "Moderate", "Severe", "Very severe"];
const INTERFERENCE_LABELS: [&str; 5] = [
    "Not at all",
    "A little bit",
    "Somewhat",
    "Quite a bit",
    "Very much",
];

impl SymptomAttribute {
    /// The attribute's name in storage and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            SymptomAttribute::Frequency => "frequency",
            SymptomAttribute::Severity => "severity",
            SymptomAttribute::Interference => "interference",
            SymptomAttribute::Presence => "presence",
        }
    }

    /// The verbal label of a score: `Severity` 3 is "Severe". Presence is 0 (No) or 1 (Yes).
    pub fn label(self, score: u8) -> Option<&'static str> {
        let labels: &[&'static str] = match self {
            SymptomAttribute::Frequency => &FREQUENCY_LABELS,
            SymptomAttribute::Severity => &SEVERITY_LABELS,
            SymptomAttribute::Interference => &INTERFERENCE_LABELS,
            SymptomAttribute::Presence => &["No", "Yes"],
        };
        labels.get(usize::from(score)).copied()
    }
}

/// One term of the shipped vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SymptomTerm {
    /// The stable code stored with a report, e.g. `"mouth_sores"`.
    pub code: &'static str,
    /// The patient-facing name, as PRO-CTCAE words it.
    pub label: &'static str,
    /// Which attributes PRO-CTCAE asks about this term.
    pub attributes: &'static [SymptomAttribute],
    /// Other spellings people type (British/American, plain words).
    pub aliases: &'static [&'static str],
}

use SymptomAttribute::{Frequency as F, Interference as I, Presence as P, Severity as S};

/// Common self-reportable PRO-CTCAE terms and the attributes each is asked about (after the
/// PRO-CTCAE item library, version 1.0).
#[rustfmt::skip]
pub static PRO_CTCAE_TERMS: &[SymptomTerm] = &[
    term("fatigue", "Fatigue, tiredness, or lack of energy", &[S, I], &["tiredness", "tired"]),
    term("nausea", "Nausea", &[F, S], &["feeling sick"]),
    term("vomiting", "Vomiting", &[F, S], &["being sick"]),
    term("diarrhea", "Diarrhoea (loose or watery stools)", &[F], &["diarrhoea", "loose stools"]),
    term("constipation", "Constipation", &[S], &[]),
    term("pain", "Pain", &[F, S, I], &["general pain"]),
    term("neuropathy", "Numbness or tingling in hands or feet", &[S, I], &["numbness", "tingling", "peripheral neuropathy"]),
    term("mouth_sores", "Mouth or throat sores", &[S, I], &["mouth sores", "mucositis", "sore mouth"]),
    term("rash", "Rash", &[P], &[]),
    term("shortness_of_breath", "Shortness of breath", &[S, I], &["shortness of breath", "breathlessness", "dyspnoea", "dyspnea"]),
    term("insomnia", "Insomnia (trouble sleeping)", &[S, I], &["trouble sleeping", "sleeplessness"]),
    term("anxiety", "Anxiety", &[F, S, I], &["anxious", "worry"]),
    term("sad", "Sad or unhappy feelings", &[F, S, I], &["sadness", "low mood"]),
    term("decreased_appetite", "Decreased appetite", &[S, I], &["decreased appetite", "loss of appetite", "no appetite"]),
    term("taste_changes", "Problems with tasting food or drink", &[S], &["taste changes", "taste"]),
    term("dry_mouth", "Dry mouth", &[S], &["dry mouth"]),
    term("hair_loss", "Hair loss", &[P], &["hair loss", "alopecia"]),
    term("hand_foot_syndrome", "Hand-foot syndrome", &[S], &["hand-foot syndrome", "hand foot syndrome"]),
    term("headache", "Headache", &[F, S, I], &[]),
    term("dizziness", "Dizziness", &[S, I], &["dizzy"]),
    term("cough", "Cough", &[S, I], &[]),
    term("hot_flashes", "Hot flashes", &[F, S], &["hot flushes", "hot flashes"]),
    term("swelling", "Swelling of the arms or legs", &[F, S, I], &["oedema", "edema"]),
    term("itching", "Itchy skin", &[S], &["itchy skin", "itch"]),
    term("concentration", "Problems with concentration", &[S, I], &["poor concentration"]),
    term("memory", "Problems with memory", &[S, I], &["forgetfulness"]),
    term("chills", "Shivering or shaking chills", &[F, S], &["shivering", "rigors"]),
    term("abdominal_pain", "Pain in the abdomen (belly area)", &[F, S, I], &["abdominal pain", "stomach pain", "belly pain"]),
    term("heartburn", "Heartburn", &[F, S], &["indigestion"]),
];

const fn term(
    code: &'static str,
    label: &'static str,
    attributes: &'static [SymptomAttribute],
    aliases: &'static [&'static str],
) -> SymptomTerm {
    SymptomTerm {
        code,
        label,
        attributes,
        aliases,
    }
}

/// The vocabulary term `text` names (its code, label or an alias, in any case), if any.
pub fn find_term(text: &str) -> Option<&'static SymptomTerm> {
    let t = text.trim().to_lowercase().replace('_', " ");
    PRO_CTCAE_TERMS.iter().find(|term| {
        term.code.replace('_', " ") == t
            || term.label.to_lowercase() == t
            || term.aliases.iter().any(|a| *a == t)
    })
}

/// A symptom as the patient reports it: a vocabulary term (or free text) and scores on the 0–4
/// verbal scales; plus the clinician's CTCAE grade, if one was given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SymptomReport {
    /// A vocabulary code (`"nausea"`), which a label or alias is turned into on write, or free
    /// text for a symptom outside the vocabulary.
    pub term: String,
    /// How often, 0 (Never) – 4 (Almost constantly).
    pub frequency: Option<u8>,
    /// How bad at its worst, 0 (None) – 4 (Very severe).
    pub severity: Option<u8>,
    /// Interference with usual activities, 0 (Not at all) – 4 (Very much).
    pub interference: Option<u8>,
    /// Whether it was present at all.
    pub present: Option<bool>,
    /// The CTCAE grade (1–5) a clinician gave. Stored in its own field, not in the payload, so
    /// it merges independently of the patient's scores and is never derived from them.
    #[serde(skip)]
    pub clinician_grade: Option<u8>,
}

impl SymptomReport {
    /// A report of `term` with no scores yet.
    pub fn new(term: impl Into<String>) -> Self {
        Self {
            term: term.into(),
            frequency: None,
            severity: None,
            interference: None,
            present: None,
            clinician_grade: None,
        }
    }

    /// The vocabulary term, when the report uses one.
    pub fn vocabulary_term(&self) -> Option<&'static SymptomTerm> {
        PRO_CTCAE_TERMS.iter().find(|t| t.code == self.term)
    }

    /// The name to show: the vocabulary label, or the free text.
    pub fn label(&self) -> String {
        match self.vocabulary_term() {
            Some(t) => t.label.to_owned(),
            None => self.term.trim().to_owned(),
        }
    }

    /// The scores given, with their attribute.
    pub fn scores(&self) -> Vec<(SymptomAttribute, u8)> {
        let mut out = Vec::new();
        if let Some(s) = self.frequency {
            out.push((SymptomAttribute::Frequency, s));
        }
        if let Some(s) = self.severity {
            out.push((SymptomAttribute::Severity, s));
        }
        if let Some(s) = self.interference {
            out.push((SymptomAttribute::Interference, s));
        }
        if let Some(p) = self.present {
            out.push((SymptomAttribute::Presence, u8::from(p)));
        }
        out
    }

    /// "Frequency: Occasionally (2), Severity: Severe (3)"; the clinician's grade, when given,
    /// is named as such.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self
            .scores()
            .into_iter()
            .map(|(attr, score)| {
                let label = attr.label(score).unwrap_or("?");
                if attr == SymptomAttribute::Presence {
                    format!("present: {label}")
                } else {
                    format!("{}: {label} ({score})", attr.as_str())
                }
            })
            .collect();
        if let Some(g) = self.clinician_grade {
            parts.push(format!("clinician CTCAE grade {g}"));
        }
        parts.join(", ")
    }

    /// Checks scores against the 0–4 scales and the term's attributes; turns a label or alias
    /// into its code.
    pub(crate) fn validated(&self) -> Result<SymptomReport> {
        let text = self.term.trim();
        if text.is_empty() {
            return Err(Error::invalid("term", "must not be empty"));
        }
        crate::text::check_length("term", text, MAX_TERM_CHARS)?;
        let vocabulary = find_term(text);
        for (attr, score) in [
            (SymptomAttribute::Frequency, self.frequency),
            (SymptomAttribute::Severity, self.severity),
            (SymptomAttribute::Interference, self.interference),
        ] {
            let Some(score) = score else { continue };
            if score > 4 {
                return Err(Error::invalid(attr_field(attr), "scores run from 0 to 4"));
            }
            if let Some(t) = vocabulary
                && !t.attributes.contains(&attr)
            {
                return Err(Error::invalid(
                    attr_field(attr),
                    format!("PRO-CTCAE does not ask this of {}", t.code),
                ));
            }
        }
        if self.present.is_some()
            && let Some(t) = vocabulary
            && !t.attributes.contains(&SymptomAttribute::Presence)
        {
            return Err(Error::invalid(
                "present",
                format!("PRO-CTCAE does not ask this of {}", t.code),
            ));
        }
        if let Some(g) = self.clinician_grade
            && !(1..=5).contains(&g)
        {
            return Err(Error::invalid(
                "clinician_grade",
                "CTCAE grades run from 1 to 5",
            ));
        }
        Ok(SymptomReport {
            term: vocabulary.map_or_else(|| text.to_owned(), |t| t.code.to_owned()),
            ..self.clone()
        })
    }
}

fn attr_field(attr: SymptomAttribute) -> &'static str {
    match attr {
        SymptomAttribute::Frequency => "frequency",
        SymptomAttribute::Severity => "severity",
        SymptomAttribute::Interference => "interference",
        SymptomAttribute::Presence => "present",
    }
}

/// One report of a term, as a point of its trend.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SymptomPoint {
    /// The event the report belongs to.
    pub event_id: String,
    /// When.
    pub occurred_at: Timestamp,
    /// The report: scores and the clinician's grade, if given.
    pub report: SymptomReport,
}
