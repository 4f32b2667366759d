//! Benchmarks of the meds (see the targets).

fn main() {}
