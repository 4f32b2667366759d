//! The patient's profile: the name the apps greet them with and their home time zone.

use rusqlite::OptionalExtension;
use serde_json::Value;

use cairn_protocol::Scope;

use crate::error::{Error, Result};
use crate::ids::deterministic_id;
use crate::record::EntityDef;
use crate::store::Store;
use crate::time::check_time_zone;

/// The profile entity: one record per store.
pub static PROFILE: EntityDef = EntityDef {
    name: "profile",
    table: "profile",
    fields: &["display_name", "home_time_zone"],
    search: None,
    scope: Scope::Profile,
};

/// Longest display name accepted, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 100;

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
        if name.chars().nth(MAX_DISPLAY_NAME_CHARS).is_some() {
            return Err(Error::invalid(
                "display_name",
                format!("longer than {MAX_DISPLAY_NAME_CHARS} characters"),
            ));
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
            .conn()
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::store::MemoryKeyStore;
    use crate::{FixedClock, Unlock};

    #[test]
    fn a_display_name_over_the_limit_is_refused_without_echoing_it() {
        let dir = tempfile::tempdir().unwrap();
        let keys = MemoryKeyStore::default();
        let clock = Arc::new(FixedClock::new(
            "2026-10-23T08:00:00Z".parse().unwrap(),
            jiff::tz::TimeZone::UTC,
        ));
        let store = Store::create(dir.path(), Unlock::KeyStore(&keys), clock).unwrap();
        let profile = |display_name: String| Profile {
            display_name,
            home_time_zone: "Europe/London".into(),
        };
        let long: String = "Maya "
            .chars()
            .cycle()
            .take(MAX_DISPLAY_NAME_CHARS + 1)
            .collect();
        let err = store.set_profile(&profile(long)).unwrap_err();
        assert!(
            matches!(
                &err,
                Error::Invalid {
                    field: "display_name",
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(!err.to_string().contains("Maya"), "{err}");
        assert_eq!(store.profile().unwrap(), None);
        let longest: String = "Maya "
            .chars()
            .cycle()
            .take(MAX_DISPLAY_NAME_CHARS)
            .collect();
        store.set_profile(&profile(longest.clone())).unwrap();
        assert_eq!(
            store.profile().unwrap().unwrap().display_name,
            longest.trim()
        );
    }
}
