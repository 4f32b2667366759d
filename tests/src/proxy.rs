//! An HTTP proxy on 127.0.0.1, in this process, in front of a relay: each request is handed to
//! an [`Intercept`], which forwards it to the relay (or not) and says what the client hears —
//! an answer, an answer cut off mid-body, or nothing at all (the connection closed).
//!
//! axum routes every request to the intercept; each connection is served by hyper under a
//! switch the intercept can pull, so a fault can cut the very connection a request came on.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Once};
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::Duration;

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use http_body::{Frame, SizeHint};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::sync::{oneshot, watch};
use tower::ServiceExt;

/// A request as the client sent it.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// Its method.
    pub method: Method,
    /// Its path and query (`/v1/spaces/…/envelopes?after=3&limit=500`).
    pub path: String,
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body.
    pub body: Bytes,
}

impl Exchange {
    /// The path without the query.
    pub fn route(&self) -> &str {
        self.path.split('?').next().unwrap_or("")
    }

    /// The query parameter `name`, if the request has it.
    pub fn query(&self, name: &str) -> Option<&str> {
        let (_, query) = self.path.split_once('?')?;
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v)
    }
}

/// What the relay answered (or what the proxy says it did).
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The headers worth passing on (content type, protocol version, retry-after).
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Answer {
    /// A CBOR answer of `status` with `body`.
    pub fn cbor(status: StatusCode, body: Vec<u8>) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(cairn_protocol::codec::CONTENT_TYPE),
        );
        Self {
            status,
            headers,
            body: body.into(),
        }
    }
}

/// What the client hears.
#[derive(Debug)]
pub enum Reply {
    /// This answer, whole.
    Answer(Answer),
    /// Nothing: the connection is closed without an answer.
    Close,
    /// The answer's status, headers and length, then only the first `n` bytes of its body
    /// before the connection is closed.
    Cut(Answer, usize),
}

/// Decides what each request does.
pub trait Intercept: Send + Sync + 'static {
    /// Handles one request; `relay` forwards it.
    fn handle(&self, request: Exchange, relay: Relay) -> impl Future<Output = Reply> + Send;
}

/// The relay behind the proxy.
#[derive(Debug, Clone)]
pub struct Relay {
    client: reqwest::Client,
    base: String,
}

impl Relay {
    /// Sends `request` to the relay; `None` when it cannot be reached or its answer does not
    /// arrive whole (a relay restarting, say).
    pub async fn send(&self, request: &Exchange) -> Option<Answer> {
        let mut builder = self
            .client
            .request(
                request.method.clone(),
                format!("{}{}", self.base, request.path),
            )
            .body(request.body.clone());
        for (name, value) in &request.headers {
            if !hop_by_hop(name) {
                builder = builder.header(name, value);
            }
        }
        let response = builder.send().await.ok()?;
        let status = response.status();
        let mut headers = HeaderMap::new();
        for (name, value) in response.headers() {
            if !hop_by_hop(name) {
                headers.insert(name, value.clone());
            }
        }
        let body = response.bytes().await.ok()?;
        Some(Answer {
            status,
            headers,
            body,
        })
    }
}

/// Headers that describe one connection or one body's framing, not the message: the proxy
/// sets its own.
fn hop_by_hop(name: &header::HeaderName) -> bool {
    [
        header::CONNECTION,
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::HOST,
        header::UPGRADE,
    ]
    .contains(name)
}

/// Pulled to cut the connection a request came on.
#[derive(Clone)]
struct Cutter(Arc<watch::Sender<bool>>);

impl Cutter {
    fn cut(&self) {
        self.0.send_replace(true);
    }
}

/// A running proxy.
pub struct Proxy {
    addr: SocketAddr,
    running: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
}

/// reqwest is built without a TLS provider of its own; the proxy speaks plain HTTP but a client
/// cannot be built until one is installed.
#[allow(deprecated)]
fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl Proxy {
    /// Starts a proxy on a free port of 127.0.0.1 in front of the relay at `relay`
    /// (`http://127.0.0.1:PORT`), each request going through `intercept`.
    pub fn start(relay: &str, intercept: impl Intercept) -> Self {
        install_crypto_provider();
        let relay = Relay {
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("proxy's HTTP client"),
            base: relay.trim_end_matches('/').to_owned(),
        };
        let intercept = Arc::new(intercept);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let handle = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("proxy runtime");
            rt.block_on(serve(intercept, relay, ready_tx, stop_rx));
        });
        let addr = ready_rx.recv().expect("the proxy starts");
        Self {
            addr,
            running: Some((stop_tx, handle)),
        }
    }

    /// The proxy's address, `http://127.0.0.1:PORT`: give it to a device as its relay.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some((stop, handle)) = self.running.take() {
            let _ = stop.send(());
            let _ = handle.join();
        }
    }
}

/// Accepts connections until `stop`, serving each on its own task under its own cutter.
async fn serve<I: Intercept>(
    intercept: Arc<I>,
    relay: Relay,
    ready: std::sync::mpsc::Sender<SocketAddr>,
    mut stop: oneshot::Receiver<()>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("proxy binds");
    ready
        .send(listener.local_addr().expect("proxy address"))
        .expect("the test waits for the proxy");
    let router = axum::Router::new().fallback(move |cutter: Extension<Cutter>, req: Request| {
        let intercept = intercept.clone();
        let relay = relay.clone();
        async move { answer(intercept.as_ref(), relay, cutter.0, req).await }
    });
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
            _ = &mut stop => return,
        };
        // A cut connection is reset, not closed in order: what a crashed peer or middlebox
        // leaves the client with.
        let _ = stream.set_zero_linger();
        let (cut_tx, mut cut_rx) = watch::channel(false);
        let cutter = Cutter(Arc::new(cut_tx));
        let service = router.clone().map_request(move |mut req: Request<_>| {
            req.extensions_mut().insert(cutter.clone());
            req
        });
        tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
            tokio::select! {
                _ = connection => {}
                _ = cut_rx.wait_for(|cut| *cut) => {}
            }
        });
    }
}

/// Runs one request through the intercept and turns its reply into a response.
async fn answer<I: Intercept>(
    intercept: &I,
    relay: Relay,
    cutter: Cutter,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return cut(&cutter).await;
    };
    let exchange = Exchange {
        method: parts.method,
        path: parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned()),
        headers: parts.headers,
        body,
    };
    match intercept.handle(exchange, relay).await {
        Reply::Answer(a) => respond(a.status, a.headers, Body::from(a.body)),
        Reply::Close => cut(&cutter).await,
        Reply::Cut(a, n) => {
            let n = n.min(a.body.len());
            let body = CutBody {
                sent: Some(a.body.slice(..n)),
                len: a.body.len() as u64,
                cutter,
            };
            respond(a.status, a.headers, Body::new(body))
        }
    }
}

fn respond(status: StatusCode, headers: HeaderMap, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}

/// Cuts the connection and never answers.
async fn cut(cutter: &Cutter) -> Response {
    cutter.cut();
    std::future::pending().await
}

/// A body announced at `len` bytes that sends what it has, then cuts the connection.
struct CutBody {
    sent: Option<Bytes>,
    len: u64,
    cutter: Cutter,
}

impl http_body::Body for CutBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match self.sent.take() {
            Some(bytes) if !bytes.is_empty() => Poll::Ready(Some(Ok(Frame::data(bytes)))),
            _ => {
                // The connection's task wakes on the cut and drops the connection.
                self.cutter.cut();
                Poll::Pending
            }
        }
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.len)
    }
}
