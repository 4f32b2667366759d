//! Counters, and the Prometheus text at `GET /metrics`. Labels are route templates, methods
//! and statuses: never an id, so the metrics say how much, never whose.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use crate::storage::Stats;

/// What the relay counts itself; storage totals are read when scraped.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    auth_failures: AtomicU64,
}

impl Metrics {
    /// Counts a request by method, route template and status.
    pub(crate) fn request(&self, method: &str, route: &str, status: u16) {
        let mut requests = self.requests.lock().unwrap_or_else(PoisonError::into_inner);
        *requests
            .entry((method.to_owned(), route.to_owned(), status))
            .or_default() += 1;
    }

    /// Counts a refused credential or signature.
    pub(crate) fn auth_failure(&self) {
        self.auth_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub(crate) fn render(&self, stats: &Stats) -> String {
        let mut out = String::new();
        out.push_str("# HELP cairn_requests_total Requests answered, by route and status.\n");
        out.push_str("# TYPE cairn_requests_total counter\n");
        for ((method, route, status), n) in self
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            let _ = writeln!(
                out,
                "cairn_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        let mut gauge = |name: &str, kind: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            let _ = writeln!(out, "{name} {value}");
        };
        gauge(
            "cairn_auth_failures_total",
            "counter",
            "Refused credentials, challenges and signatures.",
            self.auth_failures.load(Ordering::Relaxed),
        );
        gauge(
            "cairn_envelopes_stored",
            "gauge",
            "Envelopes stored.",
            stats.envelopes,
        );
        gauge(
            "cairn_envelope_bytes_stored",
            "gauge",
            "Encoded bytes of the envelopes stored.",
            stats.envelope_bytes,
        );
        gauge(
            "cairn_blob_bytes_stored",
            "gauge",
            "Blob bytes held, partial uploads included.",
            stats.blob_bytes,
        );
        gauge(
            "cairn_link_slots_active",
            "gauge",
            "Link rendezvous slots open.",
            stats.link_slots,
        );
        out
    }
}
