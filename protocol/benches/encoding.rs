//! The wire encoding, measured: a pull page of 500 envelopes (4 KiB of ciphertext each, the
//! size a small batch pads to) and their heads, in CBOR (the encoding chosen), postcard (compact
//! but not self-describing) and JSON with byte strings as base64 (what a JSON API would send).
//!
//! Run with `cargo bench -p cairn-protocol --bench encoding`. Prints bytes and encode and
//! decode times per page for each. CBOR's field names are what being self-describing costs (a
//! newer peer's extra field is skipped, not a parse error): it must stay within 5% of postcard's
//! size and at most 80% of JSON's.

use std::time::Instant;

use base64::Engine;
use cairn_protocol::api::{PullPage, Stored};
use cairn_protocol::codec::{from_cbor, to_cbor};
use cairn_protocol::{
    ByteBuf, DeviceId, Envelope, EnvelopeHeader, Hash32, Nonce24, PROTOCOL_VERSION, Scope, Sig64,
    SpaceId,
};

fn page() -> PullPage {
    let space = SpaceId::parse("5a5a5a5a-0000-4000-8000-000000000001").expect("space");
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut bytes = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    };
    let envelopes: Vec<Stored> = (0..500u64)
        .map(|i| {
            let device = DeviceId::parse(&format!("{:032x}", i % 3 + 1)).expect("device");
            Stored {
                seq: i + 1,
                envelope: Envelope {
                    header: EnvelopeHeader {
                        v: PROTOCOL_VERSION,
                        space: space.clone(),
                        scope: Scope::Timeline,
                        epoch: 1,
                        device,
                        seq: i / 3 + 1,
                        prev: Hash32::from_slice(&bytes(32)).expect("hash"),
                    },
                    nonce: Nonce24::from_slice(&bytes(24)).expect("nonce"),
                    ct: ByteBuf(bytes(4096)),
                    sig: Sig64::from_slice(&bytes(64)).expect("sig"),
                },
            }
        })
        .collect();
    let heads = envelopes[envelopes.len() - 3..]
        .iter()
        .map(|s| s.envelope.head())
        .collect();
    PullPage {
        envelopes,
        next_after: 500,
        more: false,
        heads,
        ledger_len: 5,
        server_time_ms: 1_800_000_000_000,
    }
}

/// The page as JSON, byte strings as base64 text: CBOR's value tree mapped onto JSON's.
fn to_json_base64(page: &PullPage) -> Vec<u8> {
    fn convert(v: ciborium::Value) -> serde_json::Value {
        use ciborium::Value as C;
        match v {
            C::Integer(i) => serde_json::Value::from(i128::from(i) as i64),
            C::Bytes(b) => {
                serde_json::Value::from(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b))
            }
            C::Float(f) => serde_json::Value::from(f),
            C::Text(t) => serde_json::Value::from(t),
            C::Bool(b) => serde_json::Value::from(b),
            C::Null => serde_json::Value::Null,
            C::Tag(_, inner) => convert(*inner),
            C::Array(a) => serde_json::Value::Array(a.into_iter().map(convert).collect()),
            C::Map(m) => serde_json::Value::Object(
                m.into_iter()
                    .map(|(k, v)| (k.into_text().unwrap_or_default(), convert(v)))
                    .collect(),
            ),
            _ => serde_json::Value::Null,
        }
    }
    let tree: ciborium::Value = ciborium::Value::serialized(page).expect("value tree");
    serde_json::to_vec(&convert(tree)).expect("json")
}

fn time<T>(rounds: u32, mut f: impl FnMut() -> T) -> f64 {
    let started = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(f());
    }
    started.elapsed().as_secs_f64() * 1e3 / f64::from(rounds)
}

fn main() {
    let page = page();
    let rounds = 20;
    let cbor = to_cbor(&page);
    let postcard = postcard::to_allocvec(&page).expect("postcard");
    let json = to_json_base64(&page);
    let ct: usize = page.envelopes.iter().map(|s| s.envelope.ct.len()).sum();
    println!("encoding.ciphertext_bytes {ct}");
    for (name, size) in [
        ("cbor", cbor.len()),
        ("postcard", postcard.len()),
        ("json_base64", json.len()),
    ] {
        println!(
            "encoding.{name}_bytes {size}  ({:.1}% over the ciphertext)",
            (size as f64 / ct as f64 - 1.0) * 100.0
        );
    }
    let cbor_encode = time(rounds, || to_cbor(&page));
    let cbor_decode = time(rounds, || {
        from_cbor::<PullPage>(&cbor, "page").expect("cbor")
    });
    let postcard_encode = time(rounds, || postcard::to_allocvec(&page).expect("postcard"));
    let postcard_decode = time(rounds, || {
        postcard::from_bytes::<PullPage>(&postcard).expect("postcard")
    });
    let json_encode = time(rounds, || to_json_base64(&page));
    println!("encoding.cbor_encode_ms {cbor_encode:.3}");
    println!("encoding.cbor_decode_ms {cbor_decode:.3}");
    println!("encoding.postcard_encode_ms {postcard_encode:.3}");
    println!("encoding.postcard_decode_ms {postcard_decode:.3}");
    println!("encoding.json_base64_encode_ms {json_encode:.3}");
    let over_postcard = cbor.len() as f64 / postcard.len() as f64;
    let verdict = |ok: bool| if ok { "PASS" } else { "FAIL" };
    println!(
        "encoding.cbor_over_postcard_size {over_postcard:.4} target<=1.05 {}",
        verdict(over_postcard <= 1.05)
    );
    let over_json = cbor.len() as f64 / json.len() as f64;
    println!(
        "encoding.cbor_over_json_size {over_json:.3} target<=0.80 {}",
        verdict(over_json <= 0.80)
    );
}
