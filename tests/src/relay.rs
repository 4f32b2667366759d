//! A real relay on 127.0.0.1, in this process: started on a free port with its own data
//! directory, stopped (and restartable on the same port and data) by the test.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

/// A running relay.
pub struct TestRelay {
    addr: SocketAddr,
    dir: tempfile::TempDir,
    /// The relay's clock in milliseconds; 0 reads `follow` (or the system clock).
    time: Arc<AtomicU64>,
    follow: Option<Arc<dyn Fn() -> u64 + Send + Sync>>,
    limits: cairn_server::Limits,
    running: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
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
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let data = self.dir.path().to_path_buf();
        let want = self.addr;
        let time = self.time.clone();
        let follow = self.follow.clone();
        let limits = self.limits.clone();
        let handle = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("relay runtime");
            rt.block_on(async move {
                let listener = bind(want).await;
                ready_tx
                    .send(listener.local_addr().expect("relay address"))
                    .expect("test waits for the relay");
                let mut config = cairn_server::Config::new(data);
                config.limits = limits;
                config.clock = Arc::new(move || match (time.load(Ordering::SeqCst), &follow) {
                    (0, Some(f)) => f(),
                    (0, None) => std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_millis() as u64),
                    (t, _) => t,
                });
                cairn_server::run(listener, config, async {
                    let _ = stop_rx.await;
                })
                .await
                .expect("the relay runs");
            });
        });
        self.addr = ready_rx.recv().expect("the relay starts");
        self.running = Some((stop_tx, handle));
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
        if let Some((stop, handle)) = self.running.take() {
            let _ = stop.send(());
            let _ = handle.join();
        }
    }

    /// Stops the relay and starts it again on the same port and data.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }
}

/// Binds `addr`, waiting for a port just released by a stopped relay.
async fn bind(addr: SocketAddr) -> tokio::net::TcpListener {
    for _ in 0..200 {
        match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => return l,
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(25)).await,
        }
    }
    panic!("port {addr} did not come free");
}

impl Drop for TestRelay {
    fn drop(&mut self) {
        self.stop();
    }
}
