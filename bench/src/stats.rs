//! What a phase measured: per endpoint, every request's latency (microseconds), the count
//! of successes and the failures by status (0 = no answer at all). Quantiles are exact
//! (nearest rank). Latencies are kept as a plain list — four bytes a request — rather than
//! in per-user histograms, whose fixed size would swell the resident set size that the
//! bench measures in this very process.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// One endpoint's numbers.
#[derive(Default)]
pub struct Endpoint {
    micros: Vec<u32>,
    sorted: bool,
    pub ok: u64,
    pub errors: BTreeMap<u16, u64>,
}

impl Endpoint {
    fn sort(&mut self) {
        if !self.sorted {
            self.micros.sort_unstable();
            self.sorted = true;
        }
    }

    /// A latency quantile in milliseconds (nearest rank); the rows are sorted before any
    /// table is made, so this reads a sorted list.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.micros.is_empty() {
            return 0.0;
        }
        let rank = ((q * self.micros.len() as f64).ceil() as usize).clamp(1, self.micros.len());
        f64::from(self.micros[rank - 1]) / 1000.0
    }

    pub fn max_ms(&self) -> f64 {
        self.micros.last().map_or(0.0, |m| f64::from(*m) / 1000.0)
    }

    pub fn mean_ms(&self) -> f64 {
        if self.micros.is_empty() {
            return 0.0;
        }
        self.micros.iter().map(|m| f64::from(*m)).sum::<f64>() / self.micros.len() as f64 / 1000.0
    }

    pub fn failed(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// Endpoints in the order they were first seen.
#[derive(Default)]
pub struct Recorder {
    rows: Vec<(&'static str, Endpoint)>,
}

impl Recorder {
    fn row(&mut self, name: &'static str) -> &mut Endpoint {
        let at = match self.rows.iter().position(|(n, _)| *n == name) {
            Some(at) => at,
            None => {
                self.rows.push((name, Endpoint::default()));
                self.rows.len() - 1
            }
        };
        &mut self.rows[at].1
    }

    /// Records one request: a 2xx is a success, anything else an error by status.
    pub fn record(&mut self, name: &'static str, status: u16, took: Duration) {
        let row = self.row(name);
        row.micros.push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
        row.sorted = false;
        if (200..300).contains(&status) {
            row.ok += 1;
        } else {
            *row.errors.entry(status).or_default() += 1;
        }
    }

    pub fn merge(&mut self, other: Recorder) {
        for (name, theirs) in other.rows {
            let mine = self.row(name);
            mine.micros.extend_from_slice(&theirs.micros);
            mine.sorted = false;
            mine.ok += theirs.ok;
            for (status, n) in theirs.errors {
                *mine.errors.entry(status).or_default() += n;
            }
        }
    }

    /// Puts the rows in the given order (rows not named go last) and sorts their latencies.
    pub fn ordered(mut self, names: &[&str]) -> Self {
        self.rows.sort_by_key(|(n, _)| names.iter().position(|x| x == n).unwrap_or(names.len()));
        self.finish()
    }

    /// Sorts every row's latencies, for the quantiles; call it once recording is over.
    pub fn finish(mut self) -> Self {
        for (_, e) in &mut self.rows {
            e.sort();
        }
        self
    }

    pub fn get(&self, name: &str) -> Option<&Endpoint> {
        self.rows.iter().find(|(n, _)| *n == name).map(|(_, e)| e)
    }

    /// Successful requests of the named endpoints, added up.
    pub fn ok_of(&self, names: &[&str]) -> u64 {
        self.rows.iter().filter(|(n, _)| names.contains(n)).map(|(_, e)| e.ok).sum()
    }

    pub fn total_ok(&self) -> u64 {
        self.rows.iter().map(|(_, e)| e.ok).sum()
    }

    /// The table: successes per second over the window, latency quantiles of every
    /// answered request (failures included), and the failures by status.
    pub fn table(&self, window: Duration) -> String {
        let secs = window.as_secs_f64().max(1e-9);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "  {:<34} {:>9} {:>8} {:>8} {:>8} {:>8}  errors",
            "endpoint", "ok/s", "p50 ms", "p95 ms", "p99 ms", "max ms"
        );
        for (name, e) in &self.rows {
            let errors = errors_text(e);
            let _ = writeln!(
                out,
                "  {:<34} {:>9.1} {:>8.2} {:>8.2} {:>8.2} {:>8.1}  {errors}",
                name,
                e.ok as f64 / secs,
                e.quantile_ms(0.50),
                e.quantile_ms(0.95),
                e.quantile_ms(0.99),
                e.max_ms()
            );
        }
        out
    }
}

impl Recorder {
    /// Latency only, for requests sent one at a time.
    pub fn latency_table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "  {:<38} {:>5} {:>8} {:>8} {:>8} {:>8} {:>8}  errors",
            "request", "n", "mean ms", "p50 ms", "p95 ms", "p99 ms", "max ms"
        );
        for (name, e) in &self.rows {
            let _ = writeln!(
                out,
                "  {:<38} {:>5} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.1}  {}",
                name,
                e.ok + e.failed(),
                e.mean_ms(),
                e.quantile_ms(0.50),
                e.quantile_ms(0.95),
                e.quantile_ms(0.99),
                e.max_ms(),
                errors_text(e)
            );
        }
        out
    }
}

fn errors_text(e: &Endpoint) -> String {
    if e.errors.is_empty() {
        "-".to_owned()
    } else {
        e.errors.iter().map(|(s, n)| format!("{}x{n}", status_name(*s))).collect::<Vec<_>>().join(" ")
    }
}

fn status_name(status: u16) -> String {
    if status == 0 { "no-answer".to_owned() } else { status.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_merged_recorder_adds_counts_and_keeps_quantiles() {
        let mut a = Recorder::default();
        let mut b = Recorder::default();
        for ms in 1..=100 {
            a.record("GET /x", 200, Duration::from_millis(ms));
        }
        b.record("GET /x", 409, Duration::from_millis(1));
        b.record("POST /y", 503, Duration::from_millis(1));
        a.merge(b);
        let a = a.finish();
        let x = a.get("GET /x").unwrap();
        assert_eq!(x.ok, 100);
        assert_eq!(x.errors.get(&409), Some(&1));
        assert_eq!(x.quantile_ms(0.50), 50.0);
        assert_eq!(x.quantile_ms(0.99), 99.0);
        assert_eq!(x.max_ms(), 100.0);
        assert_eq!(a.ok_of(&["GET /x", "POST /y"]), 100);
        assert!(a.table(Duration::from_secs(10)).contains("503x1"));
    }
}
