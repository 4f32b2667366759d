//! A relay on a thread of its own, for a program that is not async: `cairn demo` and the tests
//! start one on `127.0.0.1:0`, talk to it over HTTP like any device, and stop it when done.

use std::net::SocketAddr;
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use crate::{Config, Error, Result};

/// A relay serving on its own thread and tokio runtime. Dropping it stops it.
pub struct RelayThread {
    addr: SocketAddr,
    running: Option<(oneshot::Sender<()>, JoinHandle<Result<()>>)>,
}

impl std::fmt::Debug for RelayThread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayThread")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl RelayThread {
    /// Binds `addr` (port 0 for a free one) and runs a relay with `config` on it ([`run`]). The
    /// socket is bound before this returns, so a device may connect at once; a bind that fails
    /// (the port is taken) is this call's error.
    ///
    /// [`run`]: crate::run
    pub fn start(addr: SocketAddr, config: Config) -> Result<Self> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        // Two workers: a relay in a demo or a test serves a few devices, on a machine that runs
        // them too.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = std::thread::Builder::new()
            .name("cairn-relay".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)?;
                    crate::run(listener, config, async {
                        let _ = stopped.await;
                    })
                    .await
                })
            })?;
        Ok(Self {
            addr,
            running: Some((stop, handle)),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, the address devices are given.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops it after the requests in flight, and says whether it ran without failing.
    pub fn stop(&mut self) -> Result<()> {
        let Some((stop, handle)) = self.running.take() else {
            return Ok(());
        };
        let _ = stop.send(());
        handle.join().unwrap_or_else(|_| {
            Err(Error::Io(std::io::Error::other(
                "the relay's thread panicked",
            )))
        })
    }
}

impl Drop for RelayThread {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
