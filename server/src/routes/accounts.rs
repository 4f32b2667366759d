//! Accounts and their devices: creation, registration, the caller's list, revocation.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use cairn_protocol::DeviceId;
use cairn_protocol::api::{CreateAccount, DeviceInfo, DeviceList, RegisterDevice};

use crate::http::{ApiError, Cbor};
use crate::relay::AppState;
use crate::routes::auth::{Anonymous, Caller};

/// `POST /v1/accounts`: a self-signed account record and its first device's certificate.
pub(crate) async fn create(
    State(relay): State<AppState>,
    _: Anonymous,
    Cbor(req): Cbor<CreateAccount>,
) -> Result<StatusCode, ApiError> {
    req.account.verify()?;
    req.device.verify(&req.account)?;
    relay
        .storage
        .create_account(&req.account, &req.device)
        .await?;
    Ok(StatusCode::OK)
}

/// `POST /v1/devices`: another device, certified by its stored account.
pub(crate) async fn register(
    State(relay): State<AppState>,
    _: Anonymous,
    Cbor(req): Cbor<RegisterDevice>,
) -> Result<StatusCode, ApiError> {
    let Some(account) = relay.storage.account(&req.cert.account).await? else {
        return Err(ApiError::not_found("no such account"));
    };
    req.cert.verify(&account)?;
    relay.storage.register_device(&req.cert).await?;
    Ok(StatusCode::OK)
}

/// `GET /v1/devices/mine`: the caller's account and its devices.
pub(crate) async fn mine(
    State(relay): State<AppState>,
    caller: Caller,
) -> Result<Cbor<DeviceList>, ApiError> {
    let Some(account) = relay.storage.account(&caller.account).await? else {
        return Err(ApiError::unauthenticated("the caller's account is gone"));
    };
    let devices = relay
        .storage
        .account_devices(&caller.account)
        .await?
        .into_iter()
        .map(|d| DeviceInfo {
            cert: d.cert,
            revoked: d.revoked,
            last_seen_ms: d.last_seen_ms,
        })
        .collect();
    Ok(Cbor(DeviceList { account, devices }))
}

/// `POST /v1/devices/{device}/revoke`: a device of the caller's own account stops being let in.
pub(crate) async fn revoke(
    State(relay): State<AppState>,
    caller: Caller,
    Path(device): Path<String>,
) -> Result<StatusCode, ApiError> {
    let device = DeviceId::parse(&device)?;
    let Some(record) = relay.storage.device(&device).await? else {
        return Err(ApiError::not_found("no such device"));
    };
    if record.cert.account != caller.account {
        return Err(ApiError::forbidden("the device belongs to another account"));
    }
    relay.storage.revoke_device(&device).await?;
    Ok(StatusCode::OK)
}
