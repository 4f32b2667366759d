//! What the tests of the `cairn` command share: the passphrase, the binary run on a store in a
//! temporary directory (with the clock and zone a test sets), and the output of a command that
//! must succeed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A passphrase strong enough for `cairn init`.
pub(crate) const PASS: &str = "tulip-gravel-93-orbit-canyon";

/// The Friday morning before the clocks go back in London.
pub(crate) const LONDON_NOW: &str = "2026-10-23T09:00:00+01:00";

/// `cairn --data-dir <dir>` with `pass` as the passphrase and no new passphrase; the caller
/// adds the arguments.
pub(crate) fn command(dir: &Path, pass: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cairn"));
    cmd.arg("--data-dir")
        .arg(dir)
        .env("CAIRN_PASSPHRASE", pass)
        .env_remove("CAIRN_NEW_PASSPHRASE");
    cmd
}

/// Runs `cairn --data-dir <dir> <args>` with `pass` as the passphrase.
pub(crate) fn cairn(dir: &Path, pass: &str, args: &[&str]) -> Output {
    command(dir, pass).args(args).output().expect("run cairn")
}

/// Runs `cairn --now <now> --tz <tz> <args>` on the store in `dir`.
pub(crate) fn cairn_at(dir: &Path, now: &str, tz: &str, args: &[&str]) -> Output {
    let mut all = vec!["--now", now, "--tz", tz];
    all.extend_from_slice(args);
    cairn(dir, PASS, &all)
}

/// Runs `cairn <args>` on the store in `dir` at [`LONDON_NOW`] in Europe/London.
pub(crate) fn in_london(dir: &Path, args: &[&str]) -> Output {
    cairn_at(dir, LONDON_NOW, "Europe/London", args)
}

/// The stdout of a command that must have succeeded; a failure shows both streams.
pub(crate) fn ok(out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// A temporary directory with a new store in [`store_in`] it; the rest of the directory stands
/// for the person's own files.
pub(crate) fn new_store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    ok(&cairn(&store_in(&dir), PASS, &["init"]));
    dir
}

/// The store's directory inside a [`new_store`] directory.
pub(crate) fn store_in(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("store")
}
