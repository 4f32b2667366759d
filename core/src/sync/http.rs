//! The relay over HTTP: reqwest (blocking) with rustls on the `ring` provider, CBOR bodies, and
//! a session token the device earns by signing a challenge.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use cairn_protocol::api::{
    self, BlobStatus, Challenge, ChallengeRequest, CompleteBlob, CreateAccount, CreateSpace,
    DeviceList, ErrorBody, ErrorCode, LedgerPage, LinkMessages, LinkSide, LinkSlot, PullPage,
    PushRequest, PushResponse, RegisterDevice, Token, TokenRequest, paths,
};
use cairn_protocol::codec::{CONTENT_TYPE, VERSION_HEADER, from_cbor, to_cbor};
use cairn_protocol::{ByteBuf, DeviceId, Envelope, Hash32, LedgerEntry, PROTOCOL_VERSION, SpaceId};
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::transport::Transport;
use crate::crypto::DeviceKey;
use crate::error::{Error, Result};

/// A relay reached over HTTP(S).
pub struct HttpTransport {
    base: String,
    client: Client,
    device: Option<Arc<DeviceKey>>,
    token: Mutex<Option<String>>,
    /// Body bytes sent and received, for measuring what sync costs on the wire.
    sent: AtomicU64,
    received: AtomicU64,
}

impl std::fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTransport")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// Installs rustls' `ring` provider as the process default, once: reqwest is built without a
/// provider of its own, so phones need no C toolchain for aws-lc and the library stays small.
///
/// rustls marks `ring`'s provider deprecated because it has no post-quantum key exchange. TLS
/// here protects only what the relay sees anyway (ids, sizes, ciphertext); every record and
/// key is end-to-end encrypted inside it (docs/adr/0007), so the transport's key exchange is
/// not what keeps patient data confidential.
#[allow(deprecated)]
fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Another part of the process may have installed one already; either serves.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl HttpTransport {
    /// The relay at `base` (`https://relay.example`, or `http://127.0.0.1:PORT` on a test
    /// machine), unauthenticated until [`HttpTransport::as_device`].
    pub fn new(base: &str) -> Result<Self> {
        let base = base.trim().trim_end_matches('/').to_owned();
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(Error::invalid(
                "relay",
                "expected an http:// or https:// address",
            ));
        }
        install_crypto_provider();
        let mut builder = Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("cairn/", env!("CARGO_PKG_VERSION")));
        if base.starts_with("http://") {
            // No TLS is spoken to this relay: the platform's certificate store (which a minimal
            // system may lack) is not needed.
            builder = builder.tls_certs_only(std::iter::empty());
        }
        let client = builder.build().map_err(|e| {
            Error::Network(format!(
                "cannot set up the HTTP client: {}",
                std::error::Error::source(&e).map_or_else(|| e.to_string(), |s| s.to_string())
            ))
        })?;
        Ok(Self {
            base,
            client,
            device: None,
            token: Mutex::new(None),
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
        })
    }

    /// This transport, authenticating as `device`.
    pub fn as_device(mut self, device: Arc<DeviceKey>) -> Self {
        self.device = Some(device);
        self
    }

    /// Body bytes sent to and received from the relay so far (requests and answers, without
    /// HTTP headers).
    pub fn body_bytes(&self) -> (u64, u64) {
        (
            self.sent.load(Ordering::Relaxed),
            self.received.load(Ordering::Relaxed),
        )
    }

    fn count_sent(&self, n: usize) {
        self.sent.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Reads a CBOR answer; one cut short or garbled is a network failure (trying again helps).
    fn decode<T: DeserializeOwned>(&self, resp: Response) -> Result<T> {
        let bytes = resp
            .bytes()
            .map_err(|_| Error::Network("the relay's answer was cut short".into()))?;
        self.received
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        from_cbor(&bytes, "answer")
            .map_err(|_| Error::Network("the relay's answer was cut short or garbled".into()))
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn request(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, self.url(path))
            .header(VERSION_HEADER, PROTOCOL_VERSION.to_string())
    }

    /// A session token for the device: signs a fresh challenge.
    fn token(&self, refresh: bool) -> Result<String> {
        let device = self
            .device
            .as_ref()
            .ok_or(Error::Locked("this device has no relay credentials"))?;
        let mut held = self.token.lock().unwrap_or_else(|p| p.into_inner());
        if !refresh && let Some(t) = held.as_ref() {
            return Ok(t.clone());
        }
        let challenge: Challenge = self.call_plain(
            reqwest::Method::POST,
            paths::AUTH_CHALLENGE,
            &to_cbor(&ChallengeRequest {
                device: device.id().clone(),
            }),
        )?;
        let sig = device.sign(&TokenRequest::signed_bytes(device.id(), &challenge.nonce));
        let token: Token = self.call_plain(
            reqwest::Method::POST,
            paths::AUTH_TOKEN,
            &to_cbor(&TokenRequest {
                device: device.id().clone(),
                nonce: challenge.nonce,
                sig,
            }),
        )?;
        *held = Some(token.token.clone());
        Ok(token.token)
    }

    /// An unauthenticated call with a CBOR body.
    fn send_plain(&self, method: reqwest::Method, path: &str, body: &[u8]) -> Result<Response> {
        self.count_sent(body.len());
        send(
            self.request(method, path)
                .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
                .body(body.to_vec()),
        )
    }

    /// An unauthenticated call with a CBOR body, answered in CBOR.
    fn call_plain<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &[u8],
    ) -> Result<T> {
        self.decode(self.send_plain(method, path, body)?)
    }

    /// An authenticated call; a refused token is renewed once.
    fn call_raw(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<Response> {
        if let Some((_, bytes)) = &body {
            self.count_sent(bytes.len());
        }
        let mut refresh = false;
        loop {
            let token = self.token(refresh)?;
            let mut req = self.request(method.clone(), path).bearer_auth(token);
            if let Some((content_type, bytes)) = &body {
                req = req
                    .header(reqwest::header::CONTENT_TYPE, *content_type)
                    .body(bytes.clone());
            }
            match send(req) {
                Err(Error::Denied(_)) if !refresh => refresh = true,
                other => return other,
            }
        }
    }

    fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T> {
        self.decode(self.call_raw(method, path, body.map(|b| (CONTENT_TYPE, to_cbor(b))))?)
    }

    fn call_empty(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<()> {
        self.call_raw(method, path, body.map(|b| (CONTENT_TYPE, to_cbor(b))))
            .map(drop)
    }
}

/// Sends a request; a status that is not success becomes the error it means.
fn send(req: RequestBuilder) -> Result<Response> {
    let resp = req.send().map_err(|e| {
        // `Error::Network` reads "the relay could not be reached: …"; this says why.
        Error::Network(if e.is_timeout() {
            "it did not answer in time".into()
        } else {
            "no connection to it (check its address and the network)".into()
        })
    })?;
    let status = resp.status();
    if status.is_success() {
        return Ok(resp);
    }
    let message = resp
        .bytes()
        .ok()
        .and_then(|b| from_cbor::<ErrorBody>(&b, "error").ok())
        .map(|e| (e.code, e.message));
    let (code, text) = message.unwrap_or((ErrorCode::Unavailable, status.to_string()));
    Err(match (status, code) {
        (StatusCode::UNAUTHORIZED, _) | (StatusCode::FORBIDDEN, _) => Error::Denied(text),
        (StatusCode::CONFLICT, _) => Error::Conflict(text),
        (StatusCode::INSUFFICIENT_STORAGE, _) => Error::Denied(text),
        (StatusCode::UPGRADE_REQUIRED, _) => Error::invalid(
            "relay",
            "it speaks another protocol version: update Cairn or the relay",
        ),
        (StatusCode::NOT_FOUND, _) => Error::NotFound {
            entity: "relay resource",
        },
        (s, _) if s == StatusCode::BAD_REQUEST || s == StatusCode::PAYLOAD_TOO_LARGE => {
            Error::invalid("request", format!("the relay refused it: {text}"))
        }
        _ => Error::Network(format!("the relay failed ({status})")),
    })
}

impl Transport for HttpTransport {
    fn relay(&self) -> &str {
        &self.base
    }

    fn create_account(&self, body: &CreateAccount) -> Result<()> {
        self.send_plain(Method::POST, paths::ACCOUNTS, &to_cbor(body))
            .map(drop)
    }

    fn register_device(&self, body: &RegisterDevice) -> Result<()> {
        self.send_plain(Method::POST, paths::DEVICES, &to_cbor(body))
            .map(drop)
    }

    fn devices(&self) -> Result<DeviceList> {
        self.call(Method::GET, paths::MY_DEVICES, None::<&()>)
    }

    fn revoke_device(&self, device: &DeviceId) -> Result<()> {
        self.call_empty(Method::POST, &paths::revoke(device), None::<&()>)
    }

    fn create_space(&self, body: &CreateSpace) -> Result<()> {
        self.call_empty(Method::POST, paths::SPACES, Some(body))
    }

    fn ledger(&self, space: &SpaceId, from: u64) -> Result<LedgerPage> {
        self.call(
            Method::GET,
            &format!("{}?from={from}", paths::ledger(space)),
            None::<&()>,
        )
    }

    fn append_ledger(&self, space: &SpaceId, entry: &LedgerEntry) -> Result<()> {
        self.call_empty(
            Method::POST,
            &paths::ledger(space),
            Some(&api::AppendLedger {
                entry: entry.clone(),
            }),
        )
    }

    fn push(&self, space: &SpaceId, envelopes: &[Envelope]) -> Result<PushResponse> {
        self.call(
            Method::POST,
            &paths::envelopes(space),
            Some(&PushRequest {
                envelopes: envelopes.to_vec(),
            }),
        )
    }

    fn pull(&self, space: &SpaceId, after: u64, limit: u32) -> Result<PullPage> {
        self.call(
            Method::GET,
            &format!("{}?after={after}&limit={limit}", paths::envelopes(space)),
            None::<&()>,
        )
    }

    fn blob_status(&self, space: &SpaceId, hash: &Hash32) -> Result<BlobStatus> {
        self.call(Method::GET, &paths::blob(space, hash), None::<&()>)
    }

    fn put_blob_chunk(
        &self,
        space: &SpaceId,
        hash: &Hash32,
        offset: u64,
        bytes: &[u8],
    ) -> Result<()> {
        self.call_raw(
            Method::PUT,
            &format!("{}?offset={offset}", paths::blob(space, hash)),
            Some(("application/octet-stream", bytes.to_vec())),
        )
        .map(drop)
    }

    fn complete_blob(&self, space: &SpaceId, hash: &Hash32, size: u64) -> Result<()> {
        self.call_empty(
            Method::POST,
            &paths::blob(space, hash),
            Some(&CompleteBlob { size }),
        )
    }

    fn get_blob(&self, space: &SpaceId, hash: &Hash32, offset: u64, len: u64) -> Result<Vec<u8>> {
        let resp = self.call_raw(
            Method::GET,
            &format!("{}?offset={offset}&len={len}", paths::blob(space, hash)),
            None,
        )?;
        let bytes = resp
            .bytes()
            .map_err(|_| Error::Network("a document download was cut short".into()))?;
        self.received
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        Ok(bytes.to_vec())
    }

    fn open_link(&self) -> Result<LinkSlot> {
        self.call(Method::POST, paths::LINK, None::<&()>)
    }

    fn post_link(&self, slot: &str, side: LinkSide, message: &[u8]) -> Result<()> {
        let path = paths::link_messages(slot, side);
        let body = Some(("application/octet-stream", message.to_vec()));
        match side {
            LinkSide::Existing => self.call_raw(Method::POST, &path, body).map(drop),
            LinkSide::New => {
                let req = self
                    .request(Method::POST, &path)
                    .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                    .body(message.to_vec());
                send(req).map(drop)
            }
        }
    }

    fn read_link(
        &self,
        slot: &str,
        side: LinkSide,
        after: usize,
        wait_ms: u32,
    ) -> Result<Vec<ByteBuf>> {
        let path = format!(
            "{}?after={after}&wait_ms={wait_ms}",
            paths::link_messages(slot, side)
        );
        // Whoever reads may be the new device, which has no credentials yet.
        let req = match self.device {
            Some(_) => self
                .request(Method::GET, &path)
                .bearer_auth(self.token(false)?),
            None => self.request(Method::GET, &path),
        };
        let messages: LinkMessages = self.decode(send(req)?)?;
        Ok(messages.messages)
    }
}
