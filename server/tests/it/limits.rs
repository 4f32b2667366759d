//! The relay's bounds: body sizes, rates, and the one protocol version it speaks.

use cairn_protocol::api::{
    ChallengeRequest, ErrorCode, Health, LinkMessages, LinkSide, LinkSlot, MAX_PUSH_BYTES,
    MAX_SMALL_BODY, paths,
};
use cairn_protocol::codec::VERSION_HEADER;
use reqwest::Method;

use crate::fixture::{Patient, TestRelay, account, device};

#[test]
fn a_body_over_a_routes_limit_is_too_large() {
    let relay = TestRelay::start();
    let maya = Patient::signs_up(&relay, 1);
    let auth = format!("authorization: Bearer {}\r\n", maya.token);
    // Announced by its length: refused before it is read.
    for (path, limit) in [
        (paths::ACCOUNTS.to_owned(), MAX_SMALL_BODY),
        (paths::AUTH_TOKEN.to_owned(), MAX_SMALL_BODY),
        (paths::ledger(&maya.space), MAX_SMALL_BODY),
        (paths::envelopes(&maya.space), MAX_PUSH_BYTES),
    ] {
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: relay\r\n{auth}content-length: {}\r\n\r\n",
            limit + 1
        );
        assert_eq!(relay.raw(head.as_bytes()), 413, "{path}");
    }
    // Streamed without a length: cut off at the limit all the same.
    let slot: LinkSlot = relay.post_raw(paths::LINK, Some(&maya.token), vec![]).ok();
    let path = paths::link_messages(&slot.slot, LinkSide::Existing);
    let body = vec![b'x'; 16 * 1024 + 1];
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nhost: relay\r\n{auth}transfer-encoding: chunked\r\n\r\n{:x}\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    request.extend_from_slice(b"\r\n0\r\n\r\n");
    assert_eq!(relay.raw(&request), 413);
    // A small body that is not CBOR is malformed, not too large.
    relay
        .post_raw(paths::ACCOUNTS, None, vec![0xff; 100])
        .refused(400, ErrorCode::Invalid);
    // Nothing of the refused message was kept.
    let got: LinkMessages = relay.get(&path, None).ok();
    assert!(got.messages.is_empty());
}

#[test]
fn a_device_over_its_rate_waits_as_long_as_the_relay_says() {
    let relay = TestRelay::start_with(|limits| {
        limits.device_rate = cairn_server::Rate {
            burst: 3,
            per_minute: 60,
        }
    });
    let maya = Patient::signs_up(&relay, 1);
    let (_, tablet_token) = maya.adds_device(&relay, 2);
    // Signing up used one request (creating the space).
    relay.get(paths::MY_DEVICES, Some(&maya.token)).done();
    relay.get(paths::MY_DEVICES, Some(&maya.token)).done();
    let limited = relay.get(paths::MY_DEVICES, Some(&maya.token));
    limited.refused(429, ErrorCode::RateLimited);
    assert_eq!(limited.header("retry-after"), Some("1"));
    // Another device has its own bucket.
    relay.get(paths::MY_DEVICES, Some(&tablet_token)).done();
    relay.advance(1_000);
    relay.get(paths::MY_DEVICES, Some(&maya.token)).done();
}

#[test]
fn callers_without_a_credential_are_rate_limited_by_address() {
    let relay = TestRelay::start_with(|limits| {
        limits.anonymous_rate = cairn_server::Rate {
            burst: 2,
            per_minute: 6,
        }
    });
    let phone = device(&account(1), 1);
    let ask = || {
        relay.post(
            paths::AUTH_CHALLENGE,
            None,
            &ChallengeRequest {
                device: phone.id.clone(),
            },
        )
    };
    ask().refused(401, ErrorCode::Unauthenticated);
    ask().refused(401, ErrorCode::Unauthenticated);
    let limited = ask();
    limited.refused(429, ErrorCode::RateLimited);
    assert_eq!(limited.header("retry-after"), Some("10"));
    // Health is never limited.
    relay.get(paths::HEALTH, None).done();
    relay.advance(10_000);
    ask().refused(401, ErrorCode::Unauthenticated);
}

#[test]
fn another_protocol_version_is_refused_and_every_answer_names_this_one() {
    let relay = TestRelay::start();
    let health: Health = relay.get(paths::HEALTH, None).ok();
    assert_eq!(health.status, "ok");
    assert_eq!(health.protocol, 1);

    let client = reqwest::blocking::Client::builder()
        .no_proxy()
        .build()
        .unwrap();
    let send = |method: Method, path: &str, version: Option<&str>| {
        let mut req = client.request(method, format!("{}{path}", relay.url));
        if let Some(v) = version {
            req = req.header(VERSION_HEADER, v);
        }
        crate::fixture::Reply::from(req.send().unwrap())
    };
    for version in ["2", "0", "one"] {
        let reply = send(Method::GET, paths::HEALTH, Some(version));
        reply.refused(426, ErrorCode::Version);
        assert_eq!(reply.header(VERSION_HEADER), Some("1"));
    }
    // Without the header, the request is taken; every answer carries it, errors too.
    for (method, path, status) in [
        (Method::GET, paths::HEALTH, 200),
        (Method::GET, paths::METRICS, 200),
        (Method::GET, paths::MY_DEVICES, 401),
        (Method::GET, "/v1/nowhere", 404),
        (Method::DELETE, paths::HEALTH, 405),
    ] {
        let reply = send(method, path, None);
        assert_eq!(reply.status, status, "{path}");
        assert_eq!(reply.header(VERSION_HEADER), Some("1"), "{path}");
        if status >= 400 {
            assert!(reply.error_body().is_some(), "{path} answers an error body");
        }
    }
}

#[test]
fn a_request_that_outlasts_its_timeout_is_answered_unavailable() {
    let relay = TestRelay::start_with(|limits| {
        limits.request_timeout = std::time::Duration::from_millis(200);
    });
    let maya = Patient::signs_up(&relay, 1);
    let slot: LinkSlot = relay.post_raw(paths::LINK, Some(&maya.token), vec![]).ok();
    let path = paths::link_messages(&slot.slot, LinkSide::Existing);
    let reply = relay.get(&format!("{path}?wait_ms=5000"), None);
    reply.refused(503, ErrorCode::Unavailable);
    assert_eq!(reply.header(VERSION_HEADER), Some("1"));
}
