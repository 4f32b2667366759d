//! Benchmarks of the timeline (see the targets).

fn main() {}
