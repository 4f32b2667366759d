//! An account's public keys, and the certificate that binds a device to an account.
//!
//! An account is a person. Its identity key (Ed25519) signs; its key-agreement key (X25519)
//! receives scope keys wrapped with HPKE. Both come from one account secret that every device of
//! the account holds and the recovery kit prints. A device has its own Ed25519 key; its
//! certificate is signed by the account's identity key, and the device signs back over the
//! account's key, so a device cannot be added without the account, nor an account claimed by a
//! device.

use serde::{Deserialize, Serialize};

use crate::bytes::Sig64;
use crate::canon::Canon;
use crate::ids::{AccountId, DeviceId};
use crate::keys::{KemKey, VerifyKey};
use crate::{PROTOCOL_VERSION, ProtocolError, Result};

/// An account's public keys, signed by its own identity key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRecord {
    /// Protocol version.
    pub v: u16,
    /// The account.
    pub account: AccountId,
    /// Its identity key.
    pub sign: VerifyKey,
    /// Its key-agreement key.
    pub kem: KemKey,
    /// The identity key's signature over [`AccountRecord::signed_bytes`].
    pub sig: Sig64,
}

impl AccountRecord {
    /// What the identity key signs.
    pub fn signed_bytes(account: &AccountId, sign: &VerifyKey, kem: &KemKey) -> Vec<u8> {
        Canon::new("cairn/v1/account")
            .u16(PROTOCOL_VERSION)
            .str(account.as_str())
            .fixed(&sign.0.0)
            .fixed(&kem.0.0)
            .finish()
    }

    /// Checks the version and the self-signature.
    pub fn verify(&self) -> Result<()> {
        check_version(self.v)?;
        self.sign.verify(
            &Self::signed_bytes(&self.account, &self.sign, &self.kem),
            &self.sig,
            "account record",
        )
    }

    /// The record's canonical bytes, signature included (for layouts that embed it).
    pub(crate) fn canon(&self, c: &mut Canon) {
        c.u16(self.v)
            .str(self.account.as_str())
            .fixed(&self.sign.0.0)
            .fixed(&self.kem.0.0)
            .fixed(&self.sig.0);
    }
}

/// A device's certificate: its key, signed by the account, and the device's signature back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceCert {
    /// Protocol version.
    pub v: u16,
    /// The account the device belongs to.
    pub account: AccountId,
    /// The device.
    pub device: DeviceId,
    /// The device's signing key.
    pub key: VerifyKey,
    /// When the account certified it (milliseconds since the epoch; informational).
    pub issued_ms: u64,
    /// The account identity key's signature over [`DeviceCert::account_signs`].
    pub account_sig: Sig64,
    /// The device key's signature over [`DeviceCert::device_signs`].
    pub device_sig: Sig64,
}

impl DeviceCert {
    /// What the account's identity key signs.
    pub fn account_signs(
        account: &AccountId,
        device: &DeviceId,
        key: &VerifyKey,
        issued_ms: u64,
    ) -> Vec<u8> {
        Canon::new("cairn/v1/device-cert")
            .u16(PROTOCOL_VERSION)
            .str(account.as_str())
            .str(device.as_str())
            .fixed(&key.0.0)
            .u64(issued_ms)
            .finish()
    }

    /// What the device's key signs: that it belongs to this account, under this identity key.
    pub fn device_signs(
        account: &AccountId,
        account_key: &VerifyKey,
        device: &DeviceId,
        key: &VerifyKey,
    ) -> Vec<u8> {
        Canon::new("cairn/v1/device-accepts")
            .u16(PROTOCOL_VERSION)
            .str(account.as_str())
            .fixed(&account_key.0.0)
            .str(device.as_str())
            .fixed(&key.0.0)
            .finish()
    }

    /// Checks the certificate against its account: both signatures, and that it names it.
    pub fn verify(&self, account: &AccountRecord) -> Result<()> {
        check_version(self.v)?;
        if self.account != account.account {
            return Err(ProtocolError::BadSignature {
                what: "device certificate (another account's)",
            });
        }
        account.sign.verify(
            &Self::account_signs(&self.account, &self.device, &self.key, self.issued_ms),
            &self.account_sig,
            "device certificate",
        )?;
        self.key.verify(
            &Self::device_signs(&self.account, &account.sign, &self.device, &self.key),
            &self.device_sig,
            "device certificate (the device's signature back)",
        )
    }

    /// The certificate's canonical bytes, signatures included.
    pub(crate) fn canon(&self, c: &mut Canon) {
        c.u16(self.v)
            .str(self.account.as_str())
            .str(self.device.as_str())
            .fixed(&self.key.0.0)
            .u64(self.issued_ms)
            .fixed(&self.account_sig.0)
            .fixed(&self.device_sig.0);
    }
}

/// Refuses any version but this build's: there is nothing to downgrade to.
pub(crate) fn check_version(v: u16) -> Result<()> {
    if v == PROTOCOL_VERSION {
        Ok(())
    } else {
        Err(ProtocolError::Version { found: v })
    }
}
