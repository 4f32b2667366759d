//! End-to-end tests of the meds.
