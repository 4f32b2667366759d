//! Measurements: a value in a UCUM unit, an optional reference range, and the flags that matter
//! (fever at or above 38.0 °C, out of range). Weight, temperature and blood glucose convert
//! between their units.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A temperature at or above this many degrees Celsius is a fever: for a patient on
/// chemotherapy, the red flag oncology teams tell them to phone about at once.
pub const FEVER_CELSIUS: f64 = 38.0;

/// What is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Quantity {
    /// Body temperature (`Cel`, `[degF]`).
    Temperature,
    /// Body weight (`kg`, `g`, `[lb_av]`).
    Weight,
    /// Blood pressure: systolic as the value, diastolic as the second value (`mm[Hg]`).
    BloodPressure,
    /// Heart rate (`/min`).
    HeartRate,
    /// Blood glucose (`mg/dL`, `mmol/L`).
    BloodGlucose,
    /// A pain score, 0–10 (`{score}`).
    PainScore,
    /// A lab value, named (e.g. "neutrophils", `10*9/L`).
    Lab,
}

impl Quantity {
    /// Every quantity.
    pub const ALL: [Quantity; 7] = [
        Quantity::Temperature,
        Quantity::Weight,
        Quantity::BloodPressure,
        Quantity::HeartRate,
        Quantity::BloodGlucose,
        Quantity::PainScore,
        Quantity::Lab,
    ];

    /// The name in storage and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Quantity::Temperature => "temperature",
            Quantity::Weight => "weight",
            Quantity::BloodPressure => "blood_pressure",
            Quantity::HeartRate => "heart_rate",
            Quantity::BloodGlucose => "blood_glucose",
            Quantity::PainScore => "pain_score",
            Quantity::Lab => "lab",
        }
    }

    /// Parses a name; an unknown one is [`Error::Invalid`] for `quantity`.
    pub fn parse(name: &str) -> Result<Self> {
        let name = name.trim().to_ascii_lowercase().replace(['-', ' '], "_");
        Self::ALL
            .into_iter()
            .find(|q| q.as_str() == name)
            .ok_or_else(|| Error::invalid("quantity", "unknown quantity"))
    }

    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            Quantity::Temperature => "Temperature",
            Quantity::Weight => "Weight",
            Quantity::BloodPressure => "Blood pressure",
            Quantity::HeartRate => "Heart rate",
            Quantity::BloodGlucose => "Blood glucose",
            Quantity::PainScore => "Pain score",
            Quantity::Lab => "Lab value",
        }
    }

    /// The UCUM units Cairn accepts for this quantity; the first is the one it converts to.
    pub fn units(self) -> &'static [&'static str] {
        match self {
            Quantity::Temperature => &["Cel", "[degF]"],
            Quantity::Weight => &["kg", "g", "[lb_av]"],
            Quantity::BloodPressure => &["mm[Hg]"],
            Quantity::HeartRate => &["/min"],
            Quantity::BloodGlucose => &["mmol/L", "mg/dL"],
            Quantity::PainScore => &["{score}"],
            Quantity::Lab => LAB_UNITS,
        }
    }
}

/// Units of common lab results (full blood count, chemistry, markers).
const LAB_UNITS: &[&str] = &[
    "10*9/L", "10*12/L", "g/dL", "g/L", "mg/dL", "mg/L", "mmol/L", "umol/L", "U/L", "kU/L", "%",
    "fL", "pg", "mL/min", "ng/mL", "{score}",
];

/// A measured value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Measurement {
    /// What is measured.
    pub quantity: Quantity,
    /// For lab values, what was measured ("neutrophils"); required for [`Quantity::Lab`].
    pub name: Option<String>,
    /// The value (systolic for blood pressure).
    pub value: f64,
    /// The diastolic value for blood pressure; nothing for other quantities.
    pub second_value: Option<f64>,
    /// The UCUM unit, e.g. `Cel`, `kg`, `mm[Hg]`, `10*9/L`.
    pub unit: String,
    /// The reference range's lower end, in `unit`.
    pub range_low: Option<f64>,
    /// The reference range's upper end, in `unit`.
    pub range_high: Option<f64>,
}

impl Measurement {
    /// A measurement of `quantity`: `value` in `unit`, no range.
    pub fn new(quantity: Quantity, value: f64, unit: impl Into<String>) -> Self {
        Self {
            quantity,
            name: None,
            value,
            second_value: None,
            unit: unit.into(),
            range_low: None,
            range_high: None,
        }
    }

    /// A blood pressure reading, `systolic`/`diastolic` mm[Hg].
    pub fn blood_pressure(systolic: f64, diastolic: f64) -> Self {
        Self {
            second_value: Some(diastolic),
            ..Self::new(Quantity::BloodPressure, systolic, "mm[Hg]")
        }
    }

    /// A named lab value.
    pub fn lab(name: impl Into<String>, value: f64, unit: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            ..Self::new(Quantity::Lab, value, unit)
        }
    }

    /// With a reference range.
    pub fn range(mut self, low: Option<f64>, high: Option<f64>) -> Self {
        self.range_low = low;
        self.range_high = high;
        self
    }

    /// "Temperature", "Blood pressure", or the lab value's name.
    pub fn label(&self) -> String {
        match (&self.quantity, &self.name) {
            (Quantity::Lab, Some(name)) => name.clone(),
            (q, _) => q.label().to_owned(),
        }
    }

    /// "38.4 Cel", "128/84 mm[Hg]".
    pub fn display_value(&self) -> String {
        match self.second_value {
            Some(second) => format!("{}/{} {}", self.value, second, self.unit),
            None => format!("{} {}", self.value, self.unit),
        }
    }

    /// The value converted to `unit` (weight, temperature and blood glucose convert).
    pub fn value_in(&self, unit: &str) -> Result<f64> {
        convert(self.quantity, self.value, &self.unit, unit)
    }

    /// Whether this is a temperature at or above 38.0 °C (compared at the thermometer's 0.1 °C,
    /// so 100.4 °F counts).
    pub fn is_fever(&self) -> bool {
        if self.quantity != Quantity::Temperature {
            return false;
        }
        match self.value_in("Cel") {
            Ok(c) => (c * 10.0).round() >= FEVER_CELSIUS * 10.0,
            Err(_) => false,
        }
    }

    /// Whether the value lies outside its reference range.
    pub fn is_out_of_range(&self) -> bool {
        self.range_low.is_some_and(|low| self.value < low)
            || self.range_high.is_some_and(|high| self.value > high)
    }

    /// Checks the value, unit and range.
    pub(crate) fn validated(&self) -> Result<Measurement> {
        for (field, v) in [
            ("value", Some(self.value)),
            ("second_value", self.second_value),
            ("range_low", self.range_low),
            ("range_high", self.range_high),
        ] {
            if v.is_some_and(|v| !v.is_finite()) {
                return Err(Error::invalid(field, "must be a finite number"));
            }
        }
        let unit = self.unit.trim();
        if !self.quantity.units().contains(&unit) {
            return Err(Error::invalid(
                "unit",
                format!(
                    "not a UCUM unit Cairn knows for {} (use one of {})",
                    self.quantity.as_str(),
                    self.quantity.units().join(", ")
                ),
            ));
        }
        match (self.quantity, self.second_value) {
            (Quantity::BloodPressure, None) => {
                return Err(Error::invalid(
                    "second_value",
                    "blood pressure needs the diastolic value",
                ));
            }
            (Quantity::BloodPressure, Some(_)) => {}
            (_, Some(_)) => {
                return Err(Error::invalid(
                    "second_value",
                    "only blood pressure has a second value",
                ));
            }
            (_, None) => {}
        }
        let positive = matches!(
            self.quantity,
            Quantity::Weight | Quantity::BloodPressure | Quantity::HeartRate
        );
        if positive && (self.value <= 0.0 || self.second_value.is_some_and(|v| v <= 0.0)) {
            return Err(Error::invalid("value", "must be above zero"));
        }
        if self.quantity == Quantity::Temperature
            && !(25.0..=45.0).contains(&convert(Quantity::Temperature, self.value, unit, "Cel")?)
        {
            return Err(Error::invalid(
                "value",
                "not a body temperature (check the unit)",
            ));
        }
        if self.quantity == Quantity::PainScore && !(0.0..=10.0).contains(&self.value) {
            return Err(Error::invalid("value", "pain scores run from 0 to 10"));
        }
        if !matches!(self.quantity, Quantity::Temperature | Quantity::Lab) && self.value < 0.0 {
            return Err(Error::invalid("value", "must not be negative"));
        }
        let name = crate::text::optional_text(
            "name",
            self.name.as_deref(),
            super::limits::MAX_LABEL_CHARS,
        )?;
        if self.quantity == Quantity::Lab && name.is_none() {
            return Err(Error::invalid("name", "a lab value needs a name"));
        }
        if let (Some(low), Some(high)) = (self.range_low, self.range_high)
            && low > high
        {
            return Err(Error::invalid("range_low", "is above range_high"));
        }
        Ok(Measurement {
            name,
            unit: unit.to_owned(),
            ..self.clone()
        })
    }
}

/// Glucose's molar mass over ten: mg/dL = mmol/L × 18.016.
const GLUCOSE_MG_DL_PER_MMOL_L: f64 = 18.016;

/// Converts `value` of `quantity` from one UCUM unit to another. Weight (`kg`, `g`, `[lb_av]`),
/// temperature (`Cel`, `[degF]`) and blood glucose (`mmol/L`, `mg/dL`) convert; any unit converts
/// to itself; anything else is [`Error::Invalid`] for `unit`.
pub fn convert(quantity: Quantity, value: f64, from: &str, to: &str) -> Result<f64> {
    if !value.is_finite() {
        return Err(Error::invalid("value", "must be a finite number"));
    }
    let units = quantity.units();
    if !units.contains(&from) || !units.contains(&to) {
        return Err(Error::invalid(
            "unit",
            format!("not a UCUM unit Cairn knows for {}", quantity.as_str()),
        ));
    }
    if from == to {
        return Ok(value);
    }
    match quantity {
        Quantity::Temperature => Ok(match from {
            "Cel" => value * 9.0 / 5.0 + 32.0,
            _ => (value - 32.0) * 5.0 / 9.0,
        }),
        Quantity::Weight => {
            // Through kilograms; the avoirdupois pound is exactly 0.45359237 kg.
            let kg = match from {
                "kg" => value,
                "g" => value / 1000.0,
                _ => value * 0.453_592_37,
            };
            Ok(match to {
                "kg" => kg,
                "g" => kg * 1000.0,
                _ => kg / 0.453_592_37,
            })
        }
        Quantity::BloodGlucose => Ok(match from {
            "mmol/L" => value * GLUCOSE_MG_DL_PER_MMOL_L,
            _ => value / GLUCOSE_MG_DL_PER_MMOL_L,
        }),
        _ => Err(Error::invalid(
            "unit",
            format!("{} values do not convert between units", quantity.as_str()),
        )),
    }
}
