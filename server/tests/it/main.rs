//! The relay over HTTP: a real relay on 127.0.0.1:0, driven the way devices drive it.

mod access;
mod accounts;
mod at_rest;
mod blobs;
mod fixture;
mod lifecycle;
mod limits;
mod link;
mod sync;
