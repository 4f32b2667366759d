//! The meds API for the apps.
