//! Running a command with a time limit: the crash suite kills writes on purpose, and a damaged
//! file must never make `cairn` hang.

use std::io::Read as _;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How one run of `cairn` (or of strace running it) ended.
pub(crate) struct Finished {
    /// The exit code, if it exited.
    pub(crate) code: Option<i32>,
    /// The signal that ended it, if one did.
    pub(crate) signal: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    /// How long it ran.
    pub(crate) elapsed: Duration,
    /// Killed because it ran past its time limit.
    pub(crate) timed_out: bool,
}

impl Finished {
    /// Exited with status 0.
    pub(crate) fn ok(&self) -> bool {
        self.code == Some(0)
    }

    /// The first line of stderr, to quote in a failure.
    pub(crate) fn why(&self) -> String {
        if self.timed_out {
            return format!("did not finish within {:?}", self.elapsed);
        }
        let line = self.stderr.lines().next().unwrap_or("").trim();
        match (self.code, self.signal) {
            (Some(code), _) => format!("exit {code}: {line}"),
            (None, Some(sig)) => format!("killed by signal {sig}: {line}"),
            (None, None) => format!("ended without status: {line}"),
        }
    }
}

/// Runs `cmd` with its output captured; kills it after `kill_after` (a planned kill) or after
/// `limit` (then it is `timed_out`).
pub(crate) fn run(mut cmd: Command, kill_after: Option<Duration>, limit: Duration) -> Finished {
    let started = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {cmd:?}: {e}"));
    let drain = |mut pipe: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = kill_after.unwrap_or(limit);
    let mut timed_out = false;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        let elapsed = started.elapsed();
        if elapsed >= deadline {
            let _ = child.kill();
            timed_out = kill_after.is_none();
            break child.wait().unwrap();
        }
        std::thread::sleep((deadline - elapsed).min(Duration::from_millis(2)));
    };
    Finished {
        code: status.code(),
        signal: status.signal(),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
        elapsed: started.elapsed(),
        timed_out,
    }
}
