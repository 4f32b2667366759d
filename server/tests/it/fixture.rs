//! A real relay on 127.0.0.1:0 in its own runtime, a blocking HTTP client, and the people and
//! devices that use it (the protocol's seeded test accounts and devices).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use cairn_protocol::api::{
    Challenge, ChallengeRequest, CreateAccount, CreateSpace, ErrorBody, ErrorCode, Token, paths,
};
use cairn_protocol::codec::{CONTENT_TYPE, VERSION_HEADER, from_cbor, to_cbor};
pub use cairn_protocol::testing::{TestAccount, TestDevice, account, device};
use cairn_protocol::{Hash32, LedgerBody, LedgerEntry, PROTOCOL_VERSION, SpaceId};
use cairn_server::{Config, Limits};
use reqwest::Method;
use reqwest::blocking::Client;
use reqwest::header::HeaderMap;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tempfile::TempDir;

/// Where every test's relay clock starts: a fixed instant, so expiries are exact.
pub const START_MS: u64 = 1_800_000_000_000;

/// A relay running on loopback for one test.
pub struct TestRelay {
    pub url: String,
    dir: Arc<TempDir>,
    limits: Limits,
    clock: Arc<AtomicU64>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<cairn_server::Result<()>>>,
    http: Client,
}

impl TestRelay {
    /// A relay with the default limits.
    pub fn start() -> Self {
        Self::start_with(|_| {})
    }

    /// A relay with limits changed by `adjust`.
    pub fn start_with(adjust: impl FnOnce(&mut Limits)) -> Self {
        let mut limits = Limits::default();
        adjust(&mut limits);
        let dir = Arc::new(tempfile::tempdir().expect("a temporary directory"));
        Self::launch(dir, limits, Arc::new(AtomicU64::new(START_MS)))
    }

    fn launch(dir: Arc<TempDir>, limits: Limits, clock: Arc<AtomicU64>) -> Self {
        install_crypto_provider();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let mut config = Config::new(dir.path());
        config.limits = limits.clone();
        let time = clock.clone();
        config.clock = Arc::new(move || time.load(Ordering::SeqCst));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)?;
                cairn_server::run(listener, config, async {
                    let _ = stopped.await;
                })
                .await
            })
        });
        let http = Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("an HTTP client");
        TestRelay {
            url,
            dir,
            limits,
            clock,
            stop: Some(stop),
            thread: Some(thread),
            http,
        }
    }

    /// Asks the relay to stop and waits until it has.
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            thread
                .join()
                .expect("the relay thread did not panic")
                .expect("the relay stopped cleanly");
        }
    }

    /// Stops the relay and starts a new one on the same data directory and clock.
    pub fn restart(mut self) -> Self {
        self.stop();
        Self::launch(self.dir.clone(), self.limits.clone(), self.clock.clone())
    }

    /// The relay's data directory.
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The relay's time.
    pub fn now(&self) -> u64 {
        self.clock.load(Ordering::SeqCst)
    }

    /// Moves the relay's time on.
    pub fn advance(&self, ms: u64) {
        self.clock.fetch_add(ms, Ordering::SeqCst);
    }

    /// A request, with a token if given and the body as it is.
    pub fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Reply {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.url))
            .header(VERSION_HEADER, PROTOCOL_VERSION.to_string());
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.header("content-type", CONTENT_TYPE).body(body);
        }
        Reply::from(req.send().expect("the relay answers"))
    }

    /// `GET`.
    pub fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(Method::GET, path, token, None)
    }

    /// `POST` with a CBOR body.
    pub fn post<T: Serialize>(&self, path: &str, token: Option<&str>, body: &T) -> Reply {
        self.send(Method::POST, path, token, Some(to_cbor(body)))
    }

    /// `POST` with raw bytes.
    pub fn post_raw(&self, path: &str, token: Option<&str>, body: Vec<u8>) -> Reply {
        self.send(Method::POST, path, token, Some(body))
    }

    /// `PUT` with raw bytes.
    pub fn put_raw(&self, path: &str, token: Option<&str>, body: Vec<u8>) -> Reply {
        self.send(Method::PUT, path, token, Some(body))
    }

    /// Writes `request` (a whole HTTP/1.1 request, as bytes) on a connection of its own and
    /// answers the response's status. For what an HTTP client will not send: a body cut short,
    /// headers announcing a body that never comes.
    pub fn raw(&self, request: &[u8]) -> u16 {
        let addr = self.url.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        // The relay may answer and close before all of it is written.
        let _ = stream.write_all(request);
        let mut answer = Vec::new();
        let mut buf = [0; 1024];
        while !contains(&answer, b"\r\n") {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
        let line = String::from_utf8_lossy(&answer);
        line.split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    /// Every file the relay wrote (database, WAL, blobs), as its path and bytes.
    pub fn files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, out);
                } else {
                    let bytes = std::fs::read(&path).unwrap();
                    out.push((path, bytes));
                }
            }
        }
        let mut out = Vec::new();
        walk(self.data_dir(), &mut out);
        out
    }
}

impl Drop for TestRelay {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// reqwest (built without a provider) will not build a client until one is installed. The
/// tests speak plain HTTP, so which provider it is does not matter; ring's builds everywhere.
#[expect(deprecated, reason = "the provider is never used for plain HTTP")]
fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A relay's answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl From<reqwest::blocking::Response> for Reply {
    fn from(response: reqwest::blocking::Response) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().expect("a whole body").to_vec();
        Reply {
            status,
            headers,
            body,
        }
    }
}

impl Reply {
    /// The body, read as `T`, when the status is 200.
    pub fn ok<T: DeserializeOwned>(&self) -> T {
        assert_eq!(self.status, 200, "{:?}", self.error_body());
        from_cbor(&self.body, "response").expect("a CBOR body")
    }

    /// Asserts a 200.
    pub fn done(&self) {
        assert_eq!(self.status, 200, "{:?}", self.error_body());
    }

    /// The error body, if it is one.
    pub fn error_body(&self) -> Option<ErrorBody> {
        from_cbor(&self.body, "error").ok()
    }

    /// Asserts the status and the error code, and that it is an error body.
    pub fn refused(&self, status: u16, code: ErrorCode) {
        assert_eq!(self.status, status, "{:?}", self.error_body());
        let body = self.error_body().expect("an error body");
        assert_eq!(body.code, code, "{}", body.message);
        assert_eq!(
            self.headers.get("content-type").unwrap(),
            CONTENT_TYPE,
            "errors are CBOR"
        );
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Proves `device`'s key to the relay and gets a token.
pub fn sign_in(device: &TestDevice, relay: &TestRelay) -> String {
    let challenge: Challenge = relay
        .post(
            paths::AUTH_CHALLENGE,
            None,
            &ChallengeRequest {
                device: device.id.clone(),
            },
        )
        .ok();
    let token: Token = relay
        .post(
            paths::AUTH_TOKEN,
            None,
            &device.token_request(&challenge.nonce),
        )
        .ok();
    token.token
}

/// The space a patient's phone creates.
pub fn space_of(seed: u8) -> SpaceId {
    SpaceId::parse(&format!("{seed:08x}-5a5a-4000-8000-000000000001")).unwrap()
}

/// A patient who signed up on the relay: an account, a phone with a token, and a space whose
/// ledger holds its genesis entry.
pub struct Patient {
    pub account: TestAccount,
    pub phone: TestDevice,
    pub token: String,
    pub space: SpaceId,
    pub genesis: LedgerEntry,
}

impl Patient {
    /// Account `seed`, its phone (device `seed`), signed in, and space `seed` created.
    pub fn signs_up(relay: &TestRelay, seed: u8) -> Patient {
        let account = account(seed);
        let phone = device(&account, seed);
        relay
            .post(
                paths::ACCOUNTS,
                None,
                &CreateAccount {
                    account: account.record.clone(),
                    device: phone.cert.clone(),
                },
            )
            .done();
        let token = sign_in(&phone, relay);
        let space = space_of(seed);
        let genesis = phone.entry(
            &space,
            0,
            Hash32::ZERO,
            LedgerBody::Genesis {
                owner: account.record.clone(),
                device: phone.cert.clone(),
            },
        );
        relay
            .post(
                paths::SPACES,
                Some(&token),
                &CreateSpace {
                    genesis: genesis.clone(),
                },
            )
            .done();
        Patient {
            account,
            phone,
            token,
            space,
            genesis,
        }
    }

    /// Registers another device of the account (device `seed`) and signs it in.
    pub fn adds_device(&self, relay: &TestRelay, seed: u8) -> (TestDevice, String) {
        let tablet = device(&self.account, seed);
        relay
            .post(
                paths::DEVICES,
                None,
                &cairn_protocol::api::RegisterDevice {
                    cert: tablet.cert.clone(),
                },
            )
            .done();
        let token = sign_in(&tablet, relay);
        (tablet, token)
    }
}

/// A plaintext "sealed" with a keystream from a random key: ciphertext the relay cannot tell
/// from a real one, made from a plaintext the test knows.
pub fn seal_bytes(plaintext: &[u8]) -> Vec<u8> {
    let key: [u8; 32] = rand::random();
    let mut stream = vec![0; plaintext.len()];
    blake3::Hasher::new_keyed(&key)
        .finalize_xof()
        .fill(&mut stream);
    plaintext.iter().zip(stream).map(|(p, k)| p ^ k).collect()
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
