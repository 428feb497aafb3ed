//! Prometheus metrics, kept per process (each instance is scraped on its own): requests by
//! route and status, a latency histogram per route, and the database pool's use.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Registry {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<(String, String), Histogram>,
}

#[derive(Clone, Default)]
pub struct Metrics(Arc<Mutex<Registry>>);

impl Metrics {
    /// Records one answered request. `route` is the matched route template, never the raw
    /// path, so ids do not explode the label set.
    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        let Ok(mut registry) = self.0.lock() else { return };
        *registry.requests.entry((method.to_owned(), route.to_owned(), status)).or_default() += 1;
        let h = registry.latency.entry((method.to_owned(), route.to_owned())).or_default();
        let secs = elapsed.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    /// The text exposition format.
    pub fn render(&self, pool: Option<(u32, usize)>) -> String {
        let mut out = String::new();
        let Ok(registry) = self.0.lock() else { return out };
        out.push_str("# HELP shenbian_http_requests_total Requests answered, by route and status.\n");
        out.push_str("# TYPE shenbian_http_requests_total counter\n");
        for ((method, route, status), n) in &registry.requests {
            let _ = writeln!(
                out,
                "shenbian_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP shenbian_http_request_duration_seconds Time to answer, by route.\n");
        out.push_str("# TYPE shenbian_http_request_duration_seconds histogram\n");
        for ((method, route), h) in &registry.latency {
            let labels = format!("method=\"{method}\",route=\"{route}\"");
            for (bound, n) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(out, "shenbian_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}");
            }
            let _ = writeln!(out, "shenbian_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(out, "shenbian_http_request_duration_seconds_sum{{{labels}}} {}", h.sum);
            let _ = writeln!(out, "shenbian_http_request_duration_seconds_count{{{labels}}} {}", h.count);
        }
        if let Some((size, idle)) = pool {
            out.push_str("# HELP shenbian_db_pool_connections Connections in the database pool.\n");
            out.push_str("# TYPE shenbian_db_pool_connections gauge\n");
            let _ = writeln!(out, "shenbian_db_pool_connections{{state=\"open\"}} {size}");
            let _ = writeln!(out, "shenbian_db_pool_connections{{state=\"idle\"}} {idle}");
            let _ = writeln!(
                out,
                "shenbian_db_pool_connections{{state=\"in_use\"}} {}",
                (size as usize).saturating_sub(idle)
            );
        }
        out
    }
}
