//! Benchmarks of the vault (see the targets).

fn main() {}
