//! The patient's profile: the name the apps greet them with and their home time zone.

use rusqlite::OptionalExtension;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::record::{EntityDef, deterministic_id};
use crate::store::Store;

/// The profile entity: one record per store.
pub static PROFILE: EntityDef = EntityDef {
    name: "profile",
    table: "profile",
    fields: &["display_name", "home_time_zone"],
    search: None,
};

/// The profile's synced entities.
pub(crate) static ENTITIES: &[&EntityDef] = &[&PROFILE];

/// The patient's profile.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Profile {
    /// How the apps address the patient.
    pub display_name: String,
    /// The IANA zone of home, used by medications pinned to the home zone.
    pub home_time_zone: String,
}

/// Checks an IANA time zone name against the bundled time zone database.
pub fn check_time_zone(field: &'static str, name: &str) -> Result<jiff::tz::TimeZone> {
    jiff::tz::TimeZone::get(name).map_err(|_| Error::invalid(field, "not a known IANA time zone"))
}

impl Store {
    fn profile_id(&self) -> String {
        // Every device of the account writes the same profile record.
        deterministic_id("profile", &[self.account_id()])
    }

    /// Sets the profile.
    pub fn set_profile(&self, profile: &Profile) -> Result<()> {
        let name = profile.display_name.trim();
        if name.is_empty() {
            return Err(Error::invalid("display_name", "must not be empty"));
        }
        check_time_zone("home_time_zone", &profile.home_time_zone)?;
        let id = self.profile_id();
        let mut w = self.writer()?;
        w.set(&PROFILE, &id, "display_name", Value::from(name))?;
        w.set(
            &PROFILE,
            &id,
            "home_time_zone",
            Value::from(profile.home_time_zone.as_str()),
        )?;
        w.commit()
    }

    /// The profile, if one was set.
    pub fn profile(&self) -> Result<Option<Profile>> {
        let row: Option<(Option<String>, Option<String>)> = self
            .conn
            .query_row(
                "SELECT display_name, home_time_zone FROM profile WHERE id = ?1",
                [self.profile_id()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(row.and_then(|(name, zone)| {
            Some(Profile {
                display_name: name?,
                home_time_zone: zone?,
            })
        }))
    }
}
