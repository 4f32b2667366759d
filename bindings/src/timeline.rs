//! The timeline API for the apps.
