//! Fuzz target: see fuzz/README.md and `cairn_core::fuzzing::SearchIndexes`.

fn main() {
    // One in-memory database for the whole run: building the schema per input would dominate.
    let indexes = std::panic::AssertUnwindSafe(cairn_core::fuzzing::SearchIndexes::new());
    afl::fuzz!(|data: &[u8]| {
        indexes.check(data);
    });
}
