//! Authentication: a device proves it holds its registered key by signing a one-time nonce and
//! gets a bearer token; [`Caller`] checks that token on every other route. [`Anonymous`] and
//! [`LinkPeer`] stand for callers without a credential, rate-limited by their address.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cairn_protocol::api::{Challenge, ChallengeRequest, Token, TokenRequest};
use cairn_protocol::{AccountId, DeviceId, Hash32};
use rand::RngCore;
use rand::rngs::OsRng;

use crate::http::{ApiError, Cbor, RequestLog};
use crate::rate::RateLimiter;
use crate::relay::AppState;

/// How long a challenge may be answered (a minute).
pub(crate) const CHALLENGE_TTL_MS: u64 = 60_000;
/// How long a token is good for (an hour).
pub(crate) const TOKEN_TTL_MS: u64 = 60 * 60_000;

/// 32 random bytes from the operating system.
pub(crate) fn random_bytes() -> [u8; 32] {
    let mut bytes = [0; 32];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

/// What the relay keeps of a token: its hash, so its database grants nothing to a reader.
fn token_hash(token: &str) -> Hash32 {
    Hash32::of(token.as_bytes())
}

/// `POST /v1/auth/challenge`: a nonce for a registered device that is not revoked.
pub(crate) async fn challenge(
    State(relay): State<AppState>,
    _: Anonymous,
    Cbor(req): Cbor<ChallengeRequest>,
) -> Result<Cbor<Challenge>, ApiError> {
    let Some(device) = relay.storage.device(&req.device).await? else {
        relay.metrics.auth_failure();
        return Err(ApiError::unauthenticated("the device is not registered"));
    };
    if device.revoked {
        relay.metrics.auth_failure();
        return Err(ApiError::forbidden("the device is revoked"));
    }
    let nonce = Hash32(random_bytes());
    let expires_ms = relay.now() + CHALLENGE_TTL_MS;
    relay
        .storage
        .put_challenge(&req.device, &nonce, expires_ms)
        .await?;
    Ok(Cbor(Challenge { nonce, expires_ms }))
}

/// `POST /v1/auth/token`: the signed nonce, for a token.
pub(crate) async fn token(
    State(relay): State<AppState>,
    _: Anonymous,
    Cbor(req): Cbor<TokenRequest>,
) -> Result<Cbor<Token>, ApiError> {
    let now = relay.now();
    let refuse = |e: ApiError| {
        relay.metrics.auth_failure();
        Err(e)
    };
    // The nonce is used up here, whether or not what follows succeeds.
    if !relay
        .storage
        .take_challenge(&req.device, &req.nonce, now)
        .await?
    {
        return refuse(ApiError::unauthenticated(
            "the challenge is unknown, used or expired",
        ));
    }
    let Some(device) = relay.storage.device(&req.device).await? else {
        return refuse(ApiError::unauthenticated("the device is not registered"));
    };
    if device.revoked {
        return refuse(ApiError::forbidden("the device is revoked"));
    }
    if device
        .cert
        .key
        .verify(
            &TokenRequest::signed_bytes(&req.device, &req.nonce),
            &req.sig,
            "token request",
        )
        .is_err()
    {
        return refuse(ApiError::unauthenticated(
            "the signature does not verify under the device's key",
        ));
    }
    let token = URL_SAFE_NO_PAD.encode(random_bytes());
    let expires_ms = now + TOKEN_TTL_MS;
    relay
        .storage
        .put_token(&token_hash(&token), &req.device, expires_ms, now)
        .await?;
    Ok(Cbor(Token { token, expires_ms }))
}

/// The authenticated device of a request: `Authorization: Bearer <token>`, a live token of a
/// device that is not revoked, within the device's rate.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    /// The device.
    pub(crate) device: DeviceId,
    /// Its account.
    pub(crate) account: AccountId,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, relay: &AppState) -> Result<Self, ApiError> {
        let refuse = |e: ApiError| {
            relay.metrics.auth_failure();
            Err(e)
        };
        let Some(token) = bearer(parts) else {
            return refuse(ApiError::unauthenticated("a bearer token is needed"));
        };
        let now = relay.now();
        let Some(owner) = relay.storage.token(&token_hash(token), now).await? else {
            return refuse(ApiError::unauthenticated("the token is unknown or expired"));
        };
        if owner.revoked {
            return refuse(ApiError::forbidden("the device is revoked"));
        }
        if let Some(log) = parts.extensions.get::<RequestLog>() {
            log.set_device(&owner.device);
        }
        relay
            .device_rate
            .check(owner.device.as_str(), now)
            .map_err(ApiError::rate_limited)?;
        Ok(Caller {
            device: owner.device,
            account: owner.account,
        })
    }
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Takes a token from `limiter` for the peer's address.
fn limit_peer(parts: &Parts, limiter: &RateLimiter, now_ms: u64) -> Result<(), ApiError> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string());
    limiter.check(&peer, now_ms).map_err(ApiError::rate_limited)
}

/// A caller of a route that needs no credential, within its address's rate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Anonymous;

impl FromRequestParts<AppState> for Anonymous {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, relay: &AppState) -> Result<Self, ApiError> {
        limit_peer(parts, &relay.anonymous_rate, relay.now()).map(|()| Anonymous)
    }
}

/// The new device in a link rendezvous: no credential yet, so held to its address's (lower)
/// rate, which is what keeps slot ids from being guessed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LinkPeer;

impl FromRequestParts<AppState> for LinkPeer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, relay: &AppState) -> Result<Self, ApiError> {
        limit_peer(parts, &relay.link_rate, relay.now()).map(|()| LinkPeer)
    }
}
