//! `--client wrk`: one endpoint loaded by [wrk](https://github.com/wg/wrk), a C load
//! generator in a process of its own, instead of the bench's own client in this process.
//! The requests are the closed loop's (the same users, tokens, orders and bodies), written
//! into a Lua script as ready-made requests that wrk's threads send round the users in turn.
//! While wrk runs, this process does nothing but serve, so its CPU time over the window is
//! the server's (with the database's threads): divided by the answered requests, it is the
//! server's cost per request, whatever the client costs. wrk's own CPU time is that of a
//! waited-for child.

use std::fmt::Write as _;
use std::process::Command;
use std::time::Duration;

/// One request as a user sends it over and over.
pub struct Request {
    pub method: &'static str,
    /// From the server's root (`/api/v1/…`, `/healthz`, a page's path).
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<String>,
}

impl Request {
    pub fn get(path: String) -> Self {
        Self { method: "GET", path, headers: Vec::new(), body: None }
    }

    pub fn header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn bearer(self, token: &str) -> Self {
        self.header("Authorization", format!("Bearer {token}"))
    }

    pub fn post_json(path: String, body: String) -> Self {
        Self { method: "POST", path, headers: vec![("Content-Type", "application/json".to_owned())], body: Some(body) }
    }
}

/// What one wrk run measured.
pub struct Run {
    /// Answers within the window, and of them those that failed (a status ≥ 400, or a
    /// connection's error).
    pub requests: u64,
    pub failed: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// This process's CPU time over the window: the server's.
    pub server_cpu: Duration,
    /// wrk's CPU time over the window.
    pub client_cpu: Duration,
}

impl Run {
    pub fn ok(&self) -> u64 {
        self.requests.saturating_sub(self.failed)
    }

    /// Server CPU microseconds per answered request.
    pub fn server_us_per_request(&self) -> f64 {
        self.server_cpu.as_secs_f64() * 1e6 / self.requests.max(1) as f64
    }

    pub fn client_us_per_request(&self) -> f64 {
        self.client_cpu.as_secs_f64() * 1e6 / self.requests.max(1) as f64
    }
}

/// The Lua script that sends `requests` round in turn, each of wrk's threads from its own
/// place, and prints the summary on one line wrk's output can be searched for.
fn script(requests: &[Request]) -> String {
    let mut lua = String::from("local requests = {\n");
    for r in requests {
        let headers: String =
            r.headers.iter().map(|(name, value)| format!("[ {} ] = {}, ", quoted(name), quoted(value))).collect();
        let body = r.body.as_deref().map_or_else(|| "nil".to_owned(), quoted);
        let _ = writeln!(lua, "  wrk.format({}, {}, {{ {headers}}}, {body}),", quoted(r.method), quoted(&r.path));
    }
    lua.push_str(
        r#"}
local n = #requests
local i = 0
local threads = 0

function setup(thread)
  thread:set("first", threads)
  threads = threads + 1
end

function init(args)
  i = (first or 0) % n
end

function request()
  i = i % n + 1
  return requests[i]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("shenbian-wrk requests=%d failed=%d p50_us=%.0f p99_us=%.0f\n",
    summary.requests, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"#,
    );
    lua
}

/// A Lua long string holding `s` exactly (no escapes are read in one).
fn quoted(s: &str) -> String {
    let mut level = 0;
    while s.contains(&format!("]{}]", "=".repeat(level))) {
        level += 1;
    }
    let eq = "=".repeat(level);
    format!("[{eq}[{s}]{eq}]")
}

/// Loads `base` with `requests` from `clients` connections: `warmup` unrecorded, then
/// `window` measured.
pub async fn run(
    base: &str,
    requests: &[Request],
    clients: usize,
    warmup: Duration,
    window: Duration,
) -> Result<Run, String> {
    if requests.is_empty() {
        return Err("wrk: nothing to send".into());
    }
    let dir = tempfile::tempdir().map_err(|e| format!("wrk: temporary directory: {e}"))?;
    let path = dir.path().join("requests.lua");
    std::fs::write(&path, script(requests)).map_err(|e| format!("wrk: script: {e}"))?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(clients).max(1);
    let command = move |seconds: u64| {
        let mut wrk = Command::new("wrk");
        wrk.arg(format!("-t{threads}"))
            .arg(format!("-c{}", clients.max(threads)))
            .arg(format!("-d{seconds}s"))
            .args(["--timeout", "60s", "-s"])
            .arg(&path)
            .arg(base);
        wrk
    };
    let mut warm = command(warmup.as_secs().max(1));
    let mut timed = command(window.as_secs().max(1));
    let not_run = |e: std::io::Error| format!("wrk (is it installed? apt-get install wrk): {e}");
    tokio::task::spawn_blocking(move || {
        if !warmup.is_zero() {
            warm.output().map_err(not_run)?;
        }
        let before = cpu_times()?;
        let output = timed.output().map_err(not_run)?;
        let after = cpu_times()?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let line = stdout
            .lines()
            .find_map(|l| l.strip_prefix("shenbian-wrk "))
            .ok_or_else(|| format!("wrk printed no summary: {stdout} {}", String::from_utf8_lossy(&output.stderr)))?;
        let field = |name: &str| -> Result<f64, String> {
            line.split(' ')
                .find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("wrk's summary has no {name}: {line}"))
        };
        Ok(Run {
            requests: field("requests")? as u64,
            failed: field("failed")? as u64,
            p50_ms: field("p50_us")? / 1e3,
            p99_ms: field("p99_us")? / 1e3,
            server_cpu: after.own.saturating_sub(before.own),
            client_cpu: after.children.saturating_sub(before.children),
        })
    })
    .await
    .map_err(|e| format!("wrk: {e}"))?
}

struct CpuTimes {
    own: Duration,
    children: Duration,
}

/// This process's user and system CPU time, and that of its waited-for children, from
/// `/proc/self/stat` (in clock ticks: Linux's `USER_HZ`, 100 per second).
fn cpu_times() -> Result<CpuTimes, String> {
    const TICK_MS: u64 = 10;
    let stat = std::fs::read_to_string("/proc/self/stat").map_err(|e| format!("/proc/self/stat: {e}"))?;
    // The fields after the command's name, which is in parentheses and may hold spaces:
    // state is the 3rd field, utime the 14th, stime, cutime and cstime the next three.
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).ok_or("/proc/self/stat: no command name")?;
    let fields: Vec<u64> = after_name.split_whitespace().skip(11).take(4).filter_map(|f| f.parse().ok()).collect();
    let [utime, stime, cutime, cstime] = fields[..] else {
        return Err(format!("/proc/self/stat: unexpected {stat}"));
    };
    Ok(CpuTimes {
        own: Duration::from_millis(TICK_MS * (utime + stime)),
        children: Duration::from_millis(TICK_MS * (cutime + cstime)),
    })
}

#[cfg(test)]
mod tests {
    use super::{Request, quoted, script};

    #[test]
    fn a_long_string_holds_its_text_whatever_brackets_it_has() {
        assert_eq!(quoted("厨房\"水管\""), "[[厨房\"水管\"]]");
        assert_eq!(quoted("a]]b"), "[=[a]]b]=]");
        assert_eq!(quoted("a]]b]=]c"), "[==[a]]b]=]c]==]");
    }

    #[test]
    fn the_script_holds_every_request_with_its_headers_and_body() {
        let requests = [
            Request::get("/api/v1/orders?limit=20".into()).bearer("t1"),
            Request::post_json("/api/v1/orders".into(), r#"{"title":"厨房水管漏水"}"#.into()).bearer("t2"),
        ];
        let lua = script(&requests);
        assert!(lua.contains(
            r#"wrk.format([[GET]], [[/api/v1/orders?limit=20]], { [ [[Authorization]] ] = [[Bearer t1]], }, nil),"#
        ));
        assert!(lua.contains(
            r#"wrk.format([[POST]], [[/api/v1/orders]], { [ [[Content-Type]] ] = [[application/json]], [ [[Authorization]] ] = [[Bearer t2]], }, [[{"title":"厨房水管漏水"}]]),"#
        ));
    }
}
