//! Prometheus metrics, kept per server instance (several servers may run in
//! one process, as the tests do) and rendered in the text exposition format.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the latency histogram buckets.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Default)]
struct Inner {
    /// (method, route template, status class): labels from fixed sets only.
    requests: BTreeMap<(&'static str, String, &'static str), u64>,
    latency: BTreeMap<String, Histogram>,
    verdicts: BTreeMap<String, u64>,
    bytes_verified: u64,
    documents_verified: u64,
}

#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A method label: the standard methods, anything else `OTHER` (a client
/// chooses the method; a label per string would grow without bound).
pub fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"];
    KNOWN
        .iter()
        .find(|m| **m == method)
        .copied()
        .unwrap_or("OTHER")
}

/// A status label: its class.
pub fn status_label(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

impl Metrics {
    /// Count a request. `route` must be a route template of the router (or
    /// `unmatched`): never a path the client chose.
    pub fn request(&self, method: &str, route: &str, status: u16, took: Duration) {
        let Ok(mut m) = self.inner.lock() else { return };
        *m.requests
            .entry((
                method_label(method),
                route.to_string(),
                status_label(status),
            ))
            .or_default() += 1;
        let h = m.latency.entry(route.to_string()).or_default();
        let s = took.as_secs_f64();
        for (i, b) in BUCKETS.iter().enumerate() {
            if s <= *b {
                h.counts[i] += 1;
            }
        }
        h.sum += s;
        h.count += 1;
    }

    pub fn verified(&self, indication: &str, bytes: u64) {
        let Ok(mut m) = self.inner.lock() else { return };
        *m.verdicts.entry(indication.to_string()).or_default() += 1;
        m.bytes_verified += bytes;
        m.documents_verified += 1;
    }

    pub fn render(&self) -> String {
        use std::fmt::Write;
        let Ok(m) = self.inner.lock() else {
            return String::new();
        };
        let mut o = String::new();
        o.push_str("# HELP kyso_http_requests_total HTTP requests by method, route and status.\n");
        o.push_str("# TYPE kyso_http_requests_total counter\n");
        for ((method, route, status), n) in &m.requests {
            let _ = writeln!(
                o,
                "kyso_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
                escape(method),
                escape(route)
            );
        }
        o.push_str("# HELP kyso_http_request_duration_seconds Request latency by route.\n");
        o.push_str("# TYPE kyso_http_request_duration_seconds histogram\n");
        for (route, h) in &m.latency {
            let r = escape(route);
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    o,
                    "kyso_http_request_duration_seconds_bucket{{route=\"{r}\",le=\"{b}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                o,
                "kyso_http_request_duration_seconds_bucket{{route=\"{r}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                o,
                "kyso_http_request_duration_seconds_sum{{route=\"{r}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                o,
                "kyso_http_request_duration_seconds_count{{route=\"{r}\"}} {}",
                h.count
            );
        }
        o.push_str("# HELP kyso_verdicts_total Documents verified, by overall indication.\n");
        o.push_str("# TYPE kyso_verdicts_total counter\n");
        for (ind, n) in &m.verdicts {
            let _ = writeln!(
                o,
                "kyso_verdicts_total{{indication=\"{}\"}} {n}",
                escape(ind)
            );
        }
        o.push_str("# HELP kyso_verified_bytes_total Bytes of documents verified.\n");
        o.push_str("# TYPE kyso_verified_bytes_total counter\n");
        let _ = writeln!(o, "kyso_verified_bytes_total {}", m.bytes_verified);
        o.push_str("# HELP kyso_verified_documents_total Documents verified.\n");
        o.push_str("# TYPE kyso_verified_documents_total counter\n");
        let _ = writeln!(o, "kyso_verified_documents_total {}", m.documents_verified);
        o
    }
}
