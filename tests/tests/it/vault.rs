//! End-to-end tests of the vault.
