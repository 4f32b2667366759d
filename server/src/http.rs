//! What every route shares: CBOR bodies, the error answer, the protocol header, and the layer
//! that logs and counts each request.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{FromRequest, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cairn_protocol::api::{ErrorBody, ErrorCode};
use cairn_protocol::codec::{CONTENT_TYPE, VERSION_HEADER, from_cbor, to_cbor};
use cairn_protocol::{DeviceId, PROTOCOL_VERSION, ProtocolError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::blobs::BlobError;
use crate::relay::AppState;
use crate::storage::StorageError;

/// An error answer: an [`ErrorBody`] in CBOR with the status its code names.
#[derive(Debug)]
pub(crate) struct ApiError {
    code: ErrorCode,
    message: Cow<'static, str>,
    retry_after_s: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        ApiError {
            code,
            message: message.into(),
            retry_after_s: None,
        }
    }

    pub(crate) fn unauthenticated(message: &'static str) -> Self {
        Self::new(ErrorCode::Unauthenticated, message)
    }

    pub(crate) fn forbidden(message: &'static str) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    pub(crate) fn not_found(message: &'static str) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub(crate) fn invalid(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::Invalid, message)
    }

    pub(crate) fn conflict(message: &'static str) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    pub(crate) fn too_large(message: &'static str) -> Self {
        Self::new(ErrorCode::TooLarge, message)
    }

    pub(crate) fn rate_limited(retry_after_s: u64) -> Self {
        ApiError {
            retry_after_s: Some(retry_after_s),
            ..Self::new(ErrorCode::RateLimited, "too many requests; retry later")
        }
    }

    /// A failure of the relay itself: logged here, answered without its details.
    pub(crate) fn unavailable(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "request failed");
        Self::new(ErrorCode::Unavailable, "the relay failed; retry later")
    }
}

/// The status an error code is answered with (see [`ErrorCode`]).
pub(crate) fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Invalid => StatusCode::BAD_REQUEST,
        ErrorCode::Conflict => StatusCode::CONFLICT,
        ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::QuotaExceeded => StatusCode::INSUFFICIENT_STORAGE,
        ErrorCode::Version => StatusCode::UPGRADE_REQUIRED,
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code,
            message: self.message.into_owned(),
        };
        let mut response = (status_of(self.code), Cbor(body)).into_response();
        if let Some(secs) = self.retry_after_s {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Conflict(why) => ApiError::conflict(why),
            StorageError::NotFound(what) => ApiError::not_found(what),
            StorageError::QuotaExceeded => ApiError::new(
                ErrorCode::QuotaExceeded,
                "the space's blob quota is used up",
            ),
            StorageError::Backend(_) => ApiError::unavailable(&e),
        }
    }
}

impl From<BlobError> for ApiError {
    fn from(e: BlobError) -> Self {
        ApiError::unavailable(&e)
    }
}

impl From<ProtocolError> for ApiError {
    fn from(e: ProtocolError) -> Self {
        // The protocol's texts name the rule and the position, never a value.
        ApiError::invalid(e.to_string())
    }
}

/// A CBOR body: read from a request, written into a response.
#[derive(Debug)]
pub(crate) struct Cbor<T>(pub T);

impl<T: Serialize> IntoResponse for Cbor<T> {
    fn into_response(self) -> Response {
        (
            [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
            to_cbor(&self.0),
        )
            .into_response()
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Cbor<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let Raw(bytes) = Raw::from_request(req, state).await?;
        decode(&bytes).map(Cbor)
    }
}

/// Reads a CBOR body already in hand.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    Ok(from_cbor(bytes, "request body")?)
}

/// A raw body, within the route's limit.
#[derive(Debug)]
pub(crate) struct Raw(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for Raw {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match Bytes::from_request(req, state).await {
            Ok(bytes) => Ok(Raw(bytes)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(
                ApiError::too_large("the body is larger than this route takes"),
            ),
            Err(_) => Err(ApiError::invalid("the body could not be read")),
        }
    }
}

/// The layer around every route: refuses another protocol version before anything else runs,
/// makes every error an [`ErrorBody`] (also those of layers and of axum's own extractors), and
/// stamps every response with the protocol header.
pub(crate) async fn protocol(req: Request, next: Next) -> Response {
    let other_version = req
        .headers()
        .get(VERSION_HEADER)
        .is_some_and(|v| v.to_str().ok() != Some(PROTOCOL_VERSION.to_string().as_str()));
    let response = if other_version {
        ApiError::new(
            ErrorCode::Version,
            format!("this relay speaks protocol version {PROTOCOL_VERSION} only"),
        )
        .into_response()
    } else {
        next.run(req).await
    };
    let mut response = with_error_body(response);
    response
        .headers_mut()
        .insert(VERSION_HEADER, HeaderValue::from(PROTOCOL_VERSION));
    response
}

/// An error answered by something other than a handler (a body limit, a timeout, a path that
/// does not parse) gets the error body its status means; its own body is dropped.
fn with_error_body(response: Response) -> Response {
    let status = response.status();
    let is_cbor = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes() == CONTENT_TYPE.as_bytes());
    if !(status.is_client_error() || status.is_server_error()) || is_cbor {
        return response;
    }
    let (code, message) = match status {
        StatusCode::UNAUTHORIZED => (ErrorCode::Unauthenticated, "a credential is needed"),
        StatusCode::FORBIDDEN => (ErrorCode::Forbidden, "not allowed"),
        StatusCode::NOT_FOUND => (ErrorCode::NotFound, "no such route"),
        StatusCode::PAYLOAD_TOO_LARGE => (ErrorCode::TooLarge, "the body is too large"),
        StatusCode::TOO_MANY_REQUESTS => (ErrorCode::RateLimited, "too many requests"),
        s if s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT => {
            (ErrorCode::Unavailable, "the relay did not answer in time")
        }
        _ => (ErrorCode::Invalid, "the request is malformed"),
    };
    let mut replaced = ApiError::new(code, message).into_response();
    *replaced.status_mut() = status;
    replaced
}

/// Filled in by the request's authentication, read by the log line.
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestLog(Arc<OnceLock<String>>);

impl RequestLog {
    /// Notes the authenticated device (its first eight hex digits are enough to follow it).
    pub(crate) fn set_device(&self, device: &DeviceId) {
        let _ = self.0.set(device.as_str()[..8].to_owned());
    }
}

/// Logs and counts every request: method, route template, status, latency, device prefix —
/// never a body, a query or an id in the path.
pub(crate) async fn observe(
    State(relay): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let log = RequestLog::default();
    req.extensions_mut().insert(log.clone());
    let response = next.run(req).await;
    let status = response.status().as_u16();
    relay.metrics.request(method.as_str(), &route, status);
    tracing::info!(
        method = %method,
        route = %route,
        status,
        latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        device = log.0.get().map_or("-", String::as_str),
        "request"
    );
    response
}
