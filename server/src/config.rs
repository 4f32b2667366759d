//! What a relay is started with: where it keeps its data, its limits, and its clock.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The relay's clock: milliseconds since the Unix epoch. Every expiry, rate and `server_time_ms`
/// reads it, so tests can set the relay's time.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The system's clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    })
}

/// How a relay runs.
#[derive(Clone)]
pub struct Config {
    /// Holds `relay.db` (SQLite) and `blobs/`; created if missing.
    pub data_dir: PathBuf,
    /// Quotas, timeouts and rates.
    pub limits: Limits,
    /// The relay's time.
    pub clock: Clock,
}

impl Config {
    /// A relay keeping its data in `data_dir`, with the default limits and the system clock.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Config {
            data_dir: data_dir.into(),
            limits: Limits::default(),
            clock: system_clock(),
        }
    }

    /// The SQLite database's path.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("relay.db")
    }

    /// The blob directory.
    pub fn blob_dir(&self) -> PathBuf {
        self.data_dir.join("blobs")
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// What the relay allows.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Blob bytes a space may hold, partial uploads included (default 1 GiB).
    pub blob_quota_per_space: u64,
    /// How long a request may take (default 30 s; above the longest link wait, 25 s).
    pub request_timeout: Duration,
    /// How long a push or a blob chunk may take (default 120 s: megabytes over a slow link).
    pub transfer_timeout: Duration,
    /// Requests per authenticated device.
    pub device_rate: Rate,
    /// Requests per peer address to the routes that need no credential.
    pub anonymous_rate: Rate,
    /// Requests per peer address to the new device's side of a link rendezvous (a slot id is
    /// short, so guessing one is throttled harder).
    pub link_new_rate: Rate,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            blob_quota_per_space: 1 << 30,
            request_timeout: Duration::from_secs(30),
            transfer_timeout: Duration::from_secs(120),
            device_rate: Rate {
                burst: 300,
                per_minute: 1200,
            },
            anonymous_rate: Rate {
                burst: 60,
                per_minute: 120,
            },
            link_new_rate: Rate {
                burst: 30,
                per_minute: 60,
            },
        }
    }
}

/// A token bucket: `burst` requests at once, refilled at `per_minute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// The bucket's size.
    pub burst: u32,
    /// Requests added back per minute.
    pub per_minute: u32,
}
