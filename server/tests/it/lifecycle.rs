//! A relay's life: it rebuilds what it knows from its files on restart, finishes requests in
//! flight when it stops, counts what it does, and logs without payloads.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cairn_protocol::api::{
    AppendLedger, LedgerPage, LinkMessages, LinkSide, LinkSlot, PullPage, PushRequest, paths,
};
use cairn_protocol::{Hash32, LedgerBody};

use crate::fixture::{Patient, TestRelay, contains, seal_bytes};

#[test]
fn a_restarted_relay_rebuilds_each_spaces_ledger_from_its_files() {
    let relay = TestRelay::start();
    let maya = Patient::signs_up(&relay, 1);
    let (tablet, tablet_token) = maya.adds_device(&relay, 2);
    let space = &maya.space;
    let add = tablet.entry(
        space,
        1,
        maya.genesis.hash(),
        LedgerBody::AddDevice {
            cert: tablet.cert.clone(),
        },
    );
    relay
        .post(
            &paths::ledger(space),
            Some(&maya.token),
            &AppendLedger { entry: add.clone() },
        )
        .done();
    let batches = maya.phone.chain(space, &[b"one", b"two"]);
    relay
        .post(
            &paths::envelopes(space),
            Some(&maya.token),
            &PushRequest {
                envelopes: batches[..1].to_vec(),
            },
        )
        .done();

    let relay = relay.restart();
    // The tablet is still on the ledger (its batches are taken), the next index is 2, the
    // phone's chain continues where it was, and tokens survive.
    let page: LedgerPage = relay.get(&paths::ledger(space), Some(&tablet_token)).ok();
    assert_eq!(page.len, 2);
    relay
        .post(
            &paths::envelopes(space),
            Some(&tablet_token),
            &PushRequest {
                envelopes: tablet.chain(space, &[b"tablet"]),
            },
        )
        .done();
    relay
        .post(
            &paths::envelopes(space),
            Some(&maya.token),
            &PushRequest {
                envelopes: batches[1..].to_vec(),
            },
        )
        .done();
    let revoke = maya.phone.entry(
        space,
        2,
        add.hash(),
        LedgerBody::RevokeDevice {
            device: tablet.id.clone(),
            last_seq: 1,
        },
    );
    relay
        .post(
            &paths::ledger(space),
            Some(&maya.token),
            &AppendLedger { entry: revoke },
        )
        .done();
    let pulled: PullPage = relay.get(&paths::envelopes(space), Some(&maya.token)).ok();
    assert_eq!(
        pulled.envelopes.iter().map(|s| s.seq).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(pulled.ledger_len, 3);
}

#[test]
fn stopping_finishes_requests_in_flight() {
    let mut relay = TestRelay::start();
    let maya = Patient::signs_up(&relay, 1);
    let slot: LinkSlot = relay.post_raw(paths::LINK, Some(&maya.token), vec![]).ok();
    let path = format!(
        "{}?after=0&wait_ms=20000",
        paths::link_messages(&slot.slot, LinkSide::Existing)
    );
    let url = relay.url.clone();
    let waiting = std::thread::spawn(move || {
        let client = reqwest::blocking::Client::builder()
            .no_proxy()
            .build()
            .unwrap();
        let started = Instant::now();
        let reply = crate::fixture::Reply::from(client.get(format!("{url}{path}")).send().unwrap());
        (reply, started.elapsed())
    });
    std::thread::sleep(Duration::from_millis(300));
    let stopping = Instant::now();
    relay.stop();
    let (reply, waited) = waiting.join().unwrap();
    // The long poll was answered, not cut, and the stop did not wait out its 20 s.
    let got: LinkMessages = reply.ok();
    assert!(got.messages.is_empty());
    assert!(waited < Duration::from_secs(10));
    assert!(stopping.elapsed() < Duration::from_secs(10));
}

#[test]
fn metrics_count_requests_by_route_and_what_is_stored_without_naming_anyone() {
    let relay = TestRelay::start();
    let maya = Patient::signs_up(&relay, 1);
    relay
        .post(
            &paths::envelopes(&maya.space),
            Some(&maya.token),
            &PushRequest {
                envelopes: maya.phone.chain(&maya.space, &[&[1; 100], &[2; 100]]),
            },
        )
        .done();
    relay
        .put_raw(
            &format!("{}?offset=0", paths::blob(&maya.space, &Hash32([1; 32]))),
            Some(&maya.token),
            vec![0; 1234],
        )
        .done();
    relay
        .post_raw(paths::LINK, Some(&maya.token), vec![])
        .done();
    relay
        .get(paths::MY_DEVICES, Some("not-a-token"))
        .refused(401, cairn_protocol::api::ErrorCode::Unauthenticated);
    relay.get(paths::HEALTH, None).done();
    let other_version = b"GET /v1/health HTTP/1.1\r\nhost: relay\r\ncairn-protocol: 2\r\n\r\n";
    assert_eq!(relay.raw(other_version), 426);

    let reply = relay.get(paths::METRICS, None);
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    let text = String::from_utf8(reply.body).unwrap();
    for line in [
        "cairn_requests_total{method=\"GET\",route=\"/v1/health\",status=\"200\"} 1",
        "cairn_requests_total{method=\"GET\",route=\"/v1/health\",status=\"426\"} 1",
        "cairn_requests_total{method=\"POST\",route=\"/v1/spaces/{space}/envelopes\",status=\"200\"} 1",
        "cairn_requests_total{method=\"GET\",route=\"/v1/devices/mine\",status=\"401\"} 1",
        "cairn_envelopes_stored 2",
        "cairn_blob_bytes_stored 1234",
        "cairn_link_slots_active 1",
        "cairn_auth_failures_total 1",
    ] {
        assert!(text.contains(line), "missing {line:?} in\n{text}");
    }
    assert!(text.contains("cairn_envelope_bytes_stored "));
    assert!(!text.contains(maya.space.as_str()) && !text.contains(maya.phone.id.as_str()));
}

/// Log lines written into memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_request_log_names_route_status_and_device_but_no_payload_token_or_id() {
    let captured = Captured::default();
    let sink = captured.clone();
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_writer(move || sink.clone())
        .init();

    let relay = TestRelay::start();
    let maya = Patient::signs_up(&relay, 1);
    let ct = seal_bytes(b"MARKER: a note about the night sweats");
    relay
        .post(
            &paths::envelopes(&maya.space),
            Some(&maya.token),
            &PushRequest {
                envelopes: maya.phone.chain(&maya.space, &[&ct]),
            },
        )
        .done();
    relay
        .get(&paths::envelopes(&maya.space), Some(&maya.token))
        .done();
    drop(relay);

    let logs = captured.0.lock().unwrap().clone();
    let text = String::from_utf8(logs.clone()).unwrap();
    let push_line = text
        .lines()
        .find(|l| {
            l.contains("\"route\":\"/v1/spaces/{space}/envelopes\"")
                && l.contains("\"method\":\"POST\"")
        })
        .expect("the push is logged");
    assert!(push_line.contains("\"status\":200"));
    assert!(push_line.contains("\"latency_ms\":"));
    assert!(push_line.contains(&format!("\"device\":\"{}\"", &maya.phone.id.as_str()[..8])));
    assert!(!contains(&logs, &ct[..16]));
    assert!(!contains(&logs, b"MARKER"));
    assert!(!contains(&logs, maya.token.as_bytes()));
    assert!(
        !contains(&logs, maya.space.as_str().as_bytes()),
        "no space id in any line"
    );
    assert!(
        !contains(&logs, maya.phone.id.as_str().as_bytes()),
        "only a device's prefix"
    );
}
