//! Who gets in: challenges and tokens, revocation, and every authenticated route refusing a
//! caller with no credential, a wrong token, a revoked device, or a device of another account.

use cairn_protocol::api::{
    AppendLedger, Challenge, ChallengeRequest, CompleteBlob, CreateSpace, DeviceList, ErrorCode,
    LinkSlot, PushRequest, paths,
};
use cairn_protocol::codec::to_cbor;
use cairn_protocol::{Hash32, LedgerBody, Scope};
use reqwest::Method;

use crate::fixture::{Patient, TestRelay, device, sign_in};

struct Route {
    method: Method,
    path: String,
    body: Option<Vec<u8>>,
    /// Whether it acts on the space (a device of another account is refused), rather than
    /// on the caller's own account.
    space_scoped: bool,
}

fn route(method: Method, path: String, body: Option<Vec<u8>>, space_scoped: bool) -> Route {
    Route {
        method,
        path,
        body,
        space_scoped,
    }
}

#[test]
fn every_authenticated_route_refuses_no_credential_a_wrong_token_a_revoked_device_and_another_account()
 {
    let relay = TestRelay::start();
    let maya = Patient::signs_up(&relay, 1);
    let (tablet, tablet_token) = maya.adds_device(&relay, 2);
    let mallory = Patient::signs_up(&relay, 3);
    relay
        .post_raw(&paths::revoke(&tablet.id), Some(&maya.token), vec![])
        .done();
    let slot: LinkSlot = relay.post_raw(paths::LINK, Some(&maya.token), vec![]).ok();

    let space = &maya.space;
    let blob = paths::blob(space, &Hash32::of(b"a document"));
    let next_entry = maya.phone.entry(
        space,
        1,
        maya.genesis.hash(),
        LedgerBody::ScopeKey {
            scope: Scope::Meds,
            epoch: 1,
            wraps: vec![],
        },
    );
    let routes = [
        route(Method::GET, paths::MY_DEVICES.into(), None, false),
        route(Method::POST, paths::revoke(&maya.phone.id), None, true),
        route(
            Method::POST,
            paths::SPACES.into(),
            Some(to_cbor(&CreateSpace {
                genesis: maya.genesis.clone(),
            })),
            true,
        ),
        route(Method::GET, paths::ledger(space), None, true),
        route(
            Method::POST,
            paths::ledger(space),
            Some(to_cbor(&AppendLedger { entry: next_entry })),
            true,
        ),
        route(
            Method::POST,
            paths::envelopes(space),
            Some(to_cbor(&PushRequest {
                envelopes: maya.phone.chain(space, &[b"sealed"]),
            })),
            true,
        ),
        route(Method::GET, paths::envelopes(space), None, true),
        route(Method::GET, blob.clone(), None, true),
        route(Method::GET, format!("{blob}?offset=0&len=10"), None, true),
        route(
            Method::PUT,
            format!("{blob}?offset=0"),
            Some(b"bytes".to_vec()),
            true,
        ),
        route(
            Method::POST,
            blob.clone(),
            Some(to_cbor(&CompleteBlob { size: 5 })),
            true,
        ),
        route(Method::POST, paths::LINK.into(), None, false),
        route(
            Method::POST,
            format!("/v1/link/{}/existing", slot.slot),
            Some(b"pake".to_vec()),
            true,
        ),
        route(
            Method::GET,
            format!("/v1/link/{}/new", slot.slot),
            None,
            true,
        ),
    ];

    let wrong = "bm90LWEtdG9rZW4tdGhlLXJlbGF5LWlzc3VlZA";
    for r in &routes {
        let send =
            |token: Option<&str>| relay.send(r.method.clone(), &r.path, token, r.body.clone());
        let what = format!("{} {}", r.method, r.path);
        let reply = send(None);
        assert_eq!(reply.status, 401, "no credential: {what}");
        reply.refused(401, ErrorCode::Unauthenticated);
        send(Some(wrong)).refused(401, ErrorCode::Unauthenticated);
        let reply = send(Some(&tablet_token));
        assert_eq!(reply.status, 403, "revoked: {what}");
        reply.refused(403, ErrorCode::Forbidden);
        if r.space_scoped {
            let reply = send(Some(&mallory.token));
            assert_eq!(reply.status, 403, "another account: {what}");
            reply.refused(403, ErrorCode::Forbidden);
        }
    }

    // Nothing any of them tried was stored.
    let page: cairn_protocol::api::LedgerPage =
        relay.get(&paths::ledger(space), Some(&maya.token)).ok();
    assert_eq!(page.len, 1);
    let pulled: cairn_protocol::api::PullPage =
        relay.get(&paths::envelopes(space), Some(&maya.token)).ok();
    assert!(pulled.envelopes.is_empty());
    let mine: DeviceList = relay.get(paths::MY_DEVICES, Some(&maya.token)).ok();
    assert!(
        !mine
            .devices
            .iter()
            .find(|d| d.cert.device == maya.phone.id)
            .unwrap()
            .revoked
    );
}

#[test]
fn a_challenge_is_answered_once_within_a_minute_by_the_devices_own_key() {
    let relay = TestRelay::start();
    let maya = Patient::signs_up(&relay, 1);
    let ask = || -> Challenge {
        relay
            .post(
                paths::AUTH_CHALLENGE,
                None,
                &ChallengeRequest {
                    device: maya.phone.id.clone(),
                },
            )
            .ok()
    };

    let challenge = ask();
    assert_eq!(challenge.expires_ms, relay.now() + 60_000);
    let answer = maya.phone.token_request(&challenge.nonce);
    relay.post(paths::AUTH_TOKEN, None, &answer).done();
    relay
        .post(paths::AUTH_TOKEN, None, &answer)
        .refused(401, ErrorCode::Unauthenticated);

    // Signed by another key.
    let challenge = ask();
    let impostor = device(&crate::fixture::account(9), 9);
    let mut forged = impostor.token_request(&challenge.nonce);
    forged.device = maya.phone.id.clone();
    relay
        .post(paths::AUTH_TOKEN, None, &forged)
        .refused(401, ErrorCode::Unauthenticated);
    // The refused answer used the nonce up.
    relay
        .post(
            paths::AUTH_TOKEN,
            None,
            &maya.phone.token_request(&challenge.nonce),
        )
        .refused(401, ErrorCode::Unauthenticated);

    // Expired.
    let challenge = ask();
    relay.advance(60_000);
    relay
        .post(
            paths::AUTH_TOKEN,
            None,
            &maya.phone.token_request(&challenge.nonce),
        )
        .refused(401, ErrorCode::Unauthenticated);

    // A nonce the relay never gave.
    relay
        .post(
            paths::AUTH_TOKEN,
            None,
            &maya.phone.token_request(&Hash32([7; 32])),
        )
        .refused(401, ErrorCode::Unauthenticated);

    // A device the relay does not know.
    relay
        .post(
            paths::AUTH_CHALLENGE,
            None,
            &ChallengeRequest {
                device: impostor.id.clone(),
            },
        )
        .refused(401, ErrorCode::Unauthenticated);
}

#[test]
fn a_token_lasts_an_hour() {
    let relay = TestRelay::start();
    let maya = Patient::signs_up(&relay, 1);
    relay.advance(60 * 60_000 - 1);
    relay.get(paths::MY_DEVICES, Some(&maya.token)).done();
    relay.advance(1);
    relay
        .get(paths::MY_DEVICES, Some(&maya.token))
        .refused(401, ErrorCode::Unauthenticated);
    let fresh = sign_in(&maya.phone, &relay);
    relay.get(paths::MY_DEVICES, Some(&fresh)).done();
}

#[test]
fn a_revoked_device_loses_its_tokens_and_gets_no_new_one() {
    let relay = TestRelay::start();
    let maya = Patient::signs_up(&relay, 1);
    let (tablet, tablet_token) = maya.adds_device(&relay, 2);
    let mallory = Patient::signs_up(&relay, 3);

    relay
        .post_raw(&paths::revoke(&tablet.id), Some(&mallory.token), vec![])
        .refused(403, ErrorCode::Forbidden);
    relay.get(paths::MY_DEVICES, Some(&tablet_token)).done();

    relay
        .post_raw(&paths::revoke(&tablet.id), Some(&maya.token), vec![])
        .done();
    relay
        .get(paths::MY_DEVICES, Some(&tablet_token))
        .refused(403, ErrorCode::Forbidden);
    relay
        .post(
            paths::AUTH_CHALLENGE,
            None,
            &ChallengeRequest {
                device: tablet.id.clone(),
            },
        )
        .refused(403, ErrorCode::Forbidden);

    let mine: DeviceList = relay.get(paths::MY_DEVICES, Some(&maya.token)).ok();
    let states: Vec<_> = mine
        .devices
        .iter()
        .map(|d| (d.cert.device.clone(), d.revoked))
        .collect();
    assert_eq!(
        states,
        vec![(maya.phone.id.clone(), false), (tablet.id.clone(), true)]
    );
    relay
        .post_raw(
            &paths::revoke(&device(&maya.account, 77).id),
            Some(&maya.token),
            vec![],
        )
        .refused(404, ErrorCode::NotFound);
}

#[test]
fn a_bearer_token_is_read_from_the_authorization_header_only() {
    let relay = TestRelay::start();
    let maya = Patient::signs_up(&relay, 1);
    let reply = relay.send(
        Method::GET,
        &format!("{}?token={}", paths::MY_DEVICES, maya.token),
        None,
        None,
    );
    reply.refused(401, ErrorCode::Unauthenticated);
    relay
        .get(paths::MY_DEVICES, Some(&format!("{}x", maya.token)))
        .refused(401, ErrorCode::Unauthenticated);
}
