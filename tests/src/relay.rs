//! A real relay on 127.0.0.1, in this process (a [`RelayThread`]): started on a free port with
//! its own data directory, stopped (and restartable on the same port and data) by the test.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cairn_server::RelayThread;

/// A running relay.
pub struct TestRelay {
    addr: SocketAddr,
    dir: tempfile::TempDir,
    /// The relay's clock in milliseconds; 0 reads `follow` (or the system clock).
    time: Arc<AtomicU64>,
    follow: Option<Arc<dyn Fn() -> u64 + Send + Sync>>,
    limits: cairn_server::Limits,
    running: Option<RelayThread>,
}

impl TestRelay {
    /// Starts a relay on a free port of 127.0.0.1 with an empty data directory, on the system
    /// clock.
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// Starts a relay whose clock is `clock` (milliseconds since the epoch): tests whose devices
    /// live on a test clock give the relay the same time.
    pub fn following(clock: impl Fn() -> u64 + Send + Sync + 'static) -> Self {
        Self::start_with(Some(Arc::new(clock)))
    }

    /// Starts a relay on the system clock with `limits` (a benchmark lifts the rate limits).
    pub fn with_limits(limits: cairn_server::Limits) -> Self {
        Self::start_with_limits(None, limits)
    }

    fn start_with(follow: Option<Arc<dyn Fn() -> u64 + Send + Sync>>) -> Self {
        Self::start_with_limits(follow, cairn_server::Limits::default())
    }

    fn start_with_limits(
        follow: Option<Arc<dyn Fn() -> u64 + Send + Sync>>,
        limits: cairn_server::Limits,
    ) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("cairn-relay-")
            .tempdir()
            .expect("relay data dir");
        let mut relay = Self {
            addr: "127.0.0.1:0".parse().expect("address"),
            dir,
            time: Arc::new(AtomicU64::new(0)),
            follow,
            limits,
            running: None,
        };
        relay.launch();
        relay
    }

    fn launch(&mut self) {
        let mut config = cairn_server::Config::new(self.dir.path());
        config.limits = self.limits.clone();
        let time = self.time.clone();
        let follow = self.follow.clone();
        config.clock = Arc::new(move || match (time.load(Ordering::SeqCst), &follow) {
            (0, Some(f)) => f(),
            (0, None) => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            (t, _) => t,
        });
        // A restart binds the port the stopped relay just released: wait for it to come free.
        for _ in 0..200 {
            match RelayThread::start(self.addr, config.clone()) {
                Ok(relay) => {
                    self.addr = relay.addr();
                    self.running = Some(relay);
                    return;
                }
                Err(cairn_server::Error::Io(e)) if e.kind() == std::io::ErrorKind::AddrInUse => {
                    std::thread::sleep(std::time::Duration::from_millis(25));
                }
                Err(e) => panic!("the relay starts: {e}"),
            }
        }
        panic!("port {} did not come free", self.addr);
    }

    /// The relay's address, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The relay's socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The relay's data directory (its database and blobs).
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Every file under the data directory.
    pub fn files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    out.push(path);
                }
            }
        }
        let mut out = Vec::new();
        walk(self.dir.path(), &mut out);
        out
    }

    /// Sets the relay's clock (milliseconds since the epoch); 0 to go back to the clock it
    /// started with.
    pub fn set_time_ms(&self, ms: u64) {
        self.time.store(ms, Ordering::SeqCst);
    }

    /// Stops the relay, finishing requests in flight.
    pub fn stop(&mut self) {
        if let Some(mut relay) = self.running.take() {
            let _ = relay.stop();
        }
    }

    /// Stops the relay and starts it again on the same port and data.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }
}
