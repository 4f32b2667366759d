//! The handlers, one module per group of endpoints (`protocol/README.md` documents each).

pub(crate) mod accounts;
pub(crate) mod auth;
pub(crate) mod blobs;
pub(crate) mod envelopes;
pub(crate) mod health;
pub(crate) mod link;
pub(crate) mod spaces;
