//! End-to-end tests of the timeline.
