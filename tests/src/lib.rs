//! What the end-to-end tests in `tests/it/` and the `cairn` command's tests share: sample bytes,
//! a real relay in this process, and proxies that break or falsify what crosses them.

pub mod faults;
pub mod lying;
pub mod proxy;
pub mod relay;

pub use faults::{Fault, FaultCounts, FaultRates, FaultyRelay, Xorshift};
pub use lying::{Lie, LyingRelay};
pub use relay::TestRelay;

/// Deterministic bytes that look random (xorshift64) and differ per `seed`: document content
/// that neither compresses nor repeats, the same on every run.
pub fn sample(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}
