//! The vault API for the apps.
