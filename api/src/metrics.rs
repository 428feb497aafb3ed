//! Prometheus metrics, kept per process (each instance is scraped on its own): requests by
//! route and status, a latency histogram per route, sign-in failures and throttles, the
//! worker's health, and the process's CPU time and memory. Figures that live in the
//! database (orders by status, overdue orders) are read when scraped, in `ops`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::MatchedPath;
use axum::http::Method;

mod process;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Per route template: requests by method and status, latency by method.
#[derive(Default)]
struct RouteStats {
    requests: BTreeMap<(Method, u16), u64>,
    latency: BTreeMap<Method, Histogram>,
}

#[derive(Default)]
struct Registry {
    routes: BTreeMap<String, RouteStats>,
}

/// Why a sign-in attempt was refused before it was evaluated (see `auth::throttle`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Throttle {
    /// Too many failures on one account from one address: 429.
    AccountAndAddress,
    /// Too many failures from one address on any accounts: 429.
    Address,
    /// Too many failures on one account from anywhere: the attempt waited first.
    SlowDown,
}

impl Throttle {
    const ALL: [Throttle; 3] = [Throttle::AccountAndAddress, Throttle::Address, Throttle::SlowDown];

    /// The name of the limit, in logs and labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Throttle::AccountAndAddress => "account_and_address",
            Throttle::Address => "address",
            Throttle::SlowDown => "slow_down",
        }
    }
}

/// What a failed sign-in attempt presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInFailure {
    /// A wrong phone or password at `/auth/login`.
    Password,
    /// A wrong or spent one-time code at `/auth/claim`.
    Code,
}

#[derive(Default)]
struct Counters {
    sign_in_failures: [AtomicU64; 2],
    throttles: [AtomicU64; 3],
    worker_ticks: AtomicU64,
    worker_failures: AtomicU64,
    /// Unix seconds of the last tick that finished, 0 before the first.
    worker_last_run: AtomicI64,
    worker_expired: AtomicU64,
    worker_dispatched: AtomicU64,
    worker_escalated: AtomicU64,
    worker_confirmed: AtomicU64,
}

#[derive(Default)]
struct Inner {
    registry: Mutex<Registry>,
    counters: Counters,
}

#[derive(Clone, Default)]
pub struct Metrics(Arc<Inner>);

/// What one worker tick did, for the counters.
#[derive(Debug, Clone, Copy)]
pub struct WorkerTick {
    pub at_unix_secs: i64,
    pub expired: u32,
    pub dispatched: u32,
    pub escalated: u32,
    pub confirmed: u32,
}

impl Metrics {
    /// Records one answered request. `route` is the matched route template, never the raw
    /// path, so ids do not explode the label set. A label set seen before costs no allocation.
    pub fn observe(&self, method: &Method, route: Option<&MatchedPath>, status: u16, elapsed: Duration) {
        let route = route.map_or("unmatched", MatchedPath::as_str);
        let Ok(mut registry) = self.0.registry.lock() else { return };
        if !registry.routes.contains_key(route) {
            registry.routes.insert(route.to_owned(), RouteStats::default());
        }
        let Some(stats) = registry.routes.get_mut(route) else { return };
        *stats.requests.entry((method.clone(), status)).or_default() += 1;
        let h = stats.latency.entry(method.clone()).or_default();
        let secs = elapsed.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    pub fn sign_in_failed(&self, what: SignInFailure) {
        self.0.counters.sign_in_failures[what as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn throttled(&self, why: Throttle) {
        self.0.counters.throttles[why as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn worker_ticked(&self, tick: WorkerTick) {
        let c = &self.0.counters;
        c.worker_ticks.fetch_add(1, Ordering::Relaxed);
        c.worker_last_run.store(tick.at_unix_secs, Ordering::Relaxed);
        c.worker_expired.fetch_add(u64::from(tick.expired), Ordering::Relaxed);
        c.worker_dispatched.fetch_add(u64::from(tick.dispatched), Ordering::Relaxed);
        c.worker_escalated.fetch_add(u64::from(tick.escalated), Ordering::Relaxed);
        c.worker_confirmed.fetch_add(u64::from(tick.confirmed), Ordering::Relaxed);
    }

    pub fn worker_failed(&self) {
        self.0.counters.worker_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// The text exposition format of what this process counted.
    pub fn render(&self, pool: Option<(u32, usize)>) -> String {
        let mut out = String::new();
        self.render_requests(&mut out);
        if let Some((size, idle)) = pool {
            header(&mut out, "shenbian_db_pool_connections", "gauge", "Connections in the database pool.");
            let _ = writeln!(out, "shenbian_db_pool_connections{{state=\"open\"}} {size}");
            let _ = writeln!(out, "shenbian_db_pool_connections{{state=\"idle\"}} {idle}");
            let _ = writeln!(
                out,
                "shenbian_db_pool_connections{{state=\"in_use\"}} {}",
                (size as usize).saturating_sub(idle)
            );
        }
        self.render_counters(&mut out);
        process::render(&mut out);
        header(&mut out, "shenbian_build_info", "gauge", "The running build; always 1.");
        let _ = writeln!(out, "shenbian_build_info{{version=\"{}\"}} 1", crate::VERSION);
        out
    }

    fn render_requests(&self, out: &mut String) {
        let Ok(registry) = self.0.registry.lock() else { return };
        header(out, "shenbian_http_requests_total", "counter", "Requests answered, by route and status.");
        for (route, stats) in &registry.routes {
            for ((method, status), n) in &stats.requests {
                let _ = writeln!(
                    out,
                    "shenbian_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}"
                );
            }
        }
        header(out, "shenbian_http_request_duration_seconds", "histogram", "Time to answer, by route.");
        let latencies = registry.routes.iter().flat_map(|(route, s)| s.latency.iter().map(move |(m, h)| (m, route, h)));
        for (method, route, h) in latencies {
            let labels = format!("method=\"{method}\",route=\"{route}\"");
            for (bound, n) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(out, "shenbian_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}");
            }
            let _ = writeln!(out, "shenbian_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(out, "shenbian_http_request_duration_seconds_sum{{{labels}}} {}", h.sum);
            let _ = writeln!(out, "shenbian_http_request_duration_seconds_count{{{labels}}} {}", h.count);
        }
    }

    fn render_counters(&self, out: &mut String) {
        let c = &self.0.counters;
        let get = |n: &AtomicU64| n.load(Ordering::Relaxed);
        header(out, "shenbian_sign_in_failures_total", "counter", "Sign-in attempts refused for a wrong secret.");
        for (what, n) in ["password", "code"].iter().zip(&c.sign_in_failures) {
            let _ = writeln!(out, "shenbian_sign_in_failures_total{{secret=\"{what}\"}} {}", get(n));
        }
        header(out, "shenbian_sign_in_throttled_total", "counter", "Attempts refused (429) or slowed down, by limit.");
        for (limit, n) in Throttle::ALL.iter().zip(&c.throttles) {
            let _ = writeln!(out, "shenbian_sign_in_throttled_total{{limit=\"{}\"}} {}", limit.as_str(), get(n));
        }
        let worker = [
            ("shenbian_worker_ticks_total", "counter", "Worker passes that finished.", &c.worker_ticks),
            ("shenbian_worker_failures_total", "counter", "Worker passes that failed.", &c.worker_failures),
            ("shenbian_worker_offers_expired_total", "counter", "Offers expired by the worker.", &c.worker_expired),
            (
                "shenbian_worker_auto_dispatches_total",
                "counter",
                "Orders offered by auto-dispatch.",
                &c.worker_dispatched,
            ),
            ("shenbian_worker_escalations_total", "counter", "Orders escalated by the worker.", &c.worker_escalated),
            (
                "shenbian_worker_auto_confirmations_total",
                "counter",
                "Completed orders confirmed by the worker.",
                &c.worker_confirmed,
            ),
        ];
        for (name, kind, help, n) in worker {
            header(out, name, kind, help);
            let _ = writeln!(out, "{name} {}", get(n));
        }
        header(
            out,
            "shenbian_worker_last_run_timestamp_seconds",
            "gauge",
            "When this process's worker last finished a pass (Unix time); 0 before the first.",
        );
        let _ =
            writeln!(out, "shenbian_worker_last_run_timestamp_seconds {}", c.worker_last_run.load(Ordering::Relaxed));
    }
}

/// `# HELP` and `# TYPE` lines.
pub fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}
