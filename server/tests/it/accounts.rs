//! Accounts and devices: created once, idempotent when sent again, refused when they do not
//! verify or contradict what is stored.

use cairn_protocol::api::{CreateAccount, DeviceList, ErrorCode, RegisterDevice, paths};
use cairn_protocol::{KemKey, Key32, Sig64};

use crate::fixture::{TestRelay, account, device, sign_in};

#[test]
fn an_account_is_created_once_and_the_same_request_again_is_no_change() {
    let relay = TestRelay::start();
    let maya = account(1);
    let phone = device(&maya, 1);
    let create = CreateAccount {
        account: maya.record.clone(),
        device: phone.cert.clone(),
    };
    relay.post(paths::ACCOUNTS, None, &create).done();
    relay.post(paths::ACCOUNTS, None, &create).done();

    // Another key-agreement key under the same account id, correctly self-signed by the same
    // identity key: still not the stored record.
    let mut other = maya.record.clone();
    other.kem = KemKey(Key32([0xee; 32]));
    other.sig = Sig64(
        ed25519_dalek::Signer::sign(
            &maya.key,
            &cairn_protocol::AccountRecord::signed_bytes(&other.account, &other.sign, &other.kem),
        )
        .to_bytes(),
    );
    relay
        .post(
            paths::ACCOUNTS,
            None,
            &CreateAccount {
                account: other,
                device: phone.cert.clone(),
            },
        )
        .refused(409, ErrorCode::Conflict);

    let token = sign_in(&phone, &relay);
    let mine: DeviceList = relay.get(paths::MY_DEVICES, Some(&token)).ok();
    assert_eq!(mine.account, maya.record);
    assert_eq!(mine.devices.len(), 1);
    assert_eq!(mine.devices[0].cert, phone.cert);
    assert_eq!(mine.devices[0].last_seen_ms, Some(relay.now()));
}

#[test]
fn an_account_or_device_that_does_not_verify_is_refused() {
    let relay = TestRelay::start();
    let maya = account(1);
    let phone = device(&maya, 1);

    let mut forged = maya.record.clone();
    forged.sig.0[0] ^= 1;
    relay
        .post(
            paths::ACCOUNTS,
            None,
            &CreateAccount {
                account: forged,
                device: phone.cert.clone(),
            },
        )
        .refused(400, ErrorCode::Invalid);

    // A device certified by another account.
    let mallory = account(2);
    relay
        .post(
            paths::ACCOUNTS,
            None,
            &CreateAccount {
                account: maya.record.clone(),
                device: device(&mallory, 1).cert,
            },
        )
        .refused(400, ErrorCode::Invalid);

    // Not CBOR at all.
    relay
        .post_raw(paths::ACCOUNTS, None, b"{\"account\": 1}".to_vec())
        .refused(400, ErrorCode::Invalid);
}

#[test]
fn a_device_is_registered_under_its_stored_account_only() {
    let relay = TestRelay::start();
    let maya = account(1);
    let phone = device(&maya, 1);
    let tablet = device(&maya, 2);
    let register = RegisterDevice {
        cert: tablet.cert.clone(),
    };
    relay
        .post(paths::DEVICES, None, &register)
        .refused(404, ErrorCode::NotFound);

    relay
        .post(
            paths::ACCOUNTS,
            None,
            &CreateAccount {
                account: maya.record.clone(),
                device: phone.cert.clone(),
            },
        )
        .done();
    relay.post(paths::DEVICES, None, &register).done();
    relay.post(paths::DEVICES, None, &register).done();

    // The device's own signature back is broken.
    let mut unaccepted = device(&maya, 3).cert;
    unaccepted.device_sig.0[5] ^= 1;
    relay
        .post(paths::DEVICES, None, &RegisterDevice { cert: unaccepted })
        .refused(400, ErrorCode::Invalid);

    // The same device id certified again with another key.
    let rekeyed = device(&maya, 4);
    let vk = cairn_protocol::VerifyKey(Key32(rekeyed.key.verifying_key().to_bytes()));
    let cert = cairn_protocol::DeviceCert {
        device: tablet.id.clone(),
        key: vk,
        account_sig: Sig64(
            ed25519_dalek::Signer::sign(
                &maya.key,
                &cairn_protocol::DeviceCert::account_signs(&maya.id, &tablet.id, &vk, 1),
            )
            .to_bytes(),
        ),
        device_sig: Sig64(
            ed25519_dalek::Signer::sign(
                &rekeyed.key,
                &cairn_protocol::DeviceCert::device_signs(
                    &maya.id,
                    &maya.record.sign,
                    &tablet.id,
                    &vk,
                ),
            )
            .to_bytes(),
        ),
        ..tablet.cert.clone()
    };
    relay
        .post(paths::DEVICES, None, &RegisterDevice { cert })
        .refused(409, ErrorCode::Conflict);

    let token = sign_in(&phone, &relay);
    let mine: DeviceList = relay.get(paths::MY_DEVICES, Some(&token)).ok();
    let ids: Vec<_> = mine.devices.iter().map(|d| d.cert.device.clone()).collect();
    assert_eq!(ids, vec![phone.id.clone(), tablet.id.clone()]);
    assert_eq!(
        mine.devices[1].last_seen_ms, None,
        "the tablet never signed in"
    );
}
