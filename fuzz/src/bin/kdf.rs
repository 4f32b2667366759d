//! Fuzz target: see fuzz/README.md and `cairn_core::fuzzing::kdf`.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        cairn_core::fuzzing::kdf(data);
    });
}
