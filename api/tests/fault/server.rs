//! The real `shenbian` binary as a child process: started with its settings in the
//! environment, ready when its stdout names its address and its log says "database ready"
//! (read, never slept for), and killed with SIGKILL when the test says so or when dropped.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_shenbian");
/// The password of every account the fault tests make.
pub const PASSWORD: &str = "district-admin-2026";

/// Where a server keeps its data.
#[derive(Debug, Clone)]
pub enum Store {
    /// A PostgreSQL database URL.
    Postgres(String),
    /// The directory of the embedded SQLite database.
    Sqlite(PathBuf),
}

/// `shenbian` with a store and extra `SHENBIAN_*` settings, on a port of its choosing.
pub fn command(store: &Store, settings: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BIN);
    command
        .env_remove("SHENBIAN_DATABASE_URL")
        .env_remove("SHENBIAN_CONFIG")
        // The tests' own knobs are no settings of the server's (which refuses unknown ones).
        .env_remove("SHENBIAN_FAULT_SEED")
        .env_remove("SHENBIAN_TEST_DATABASE_URL")
        .env("SHENBIAN_BIND", "127.0.0.1:0")
        .env("SHENBIAN_LOG", "info")
        .env("SHENBIAN_ADMIN_PASSWORD", PASSWORD);
    match store {
        Store::Postgres(url) => command.env("SHENBIAN_DATABASE_URL", url),
        Store::Sqlite(dir) => command.env("SHENBIAN_DATA_DIR", dir),
    };
    for (name, value) in settings {
        command.env(name, value);
    }
    command
}

/// `shenbian admin create`: the first admin, made from the command line.
pub fn create_admin(store: &Store, phone: &str) {
    let out = command(store, &[]).args(["admin", "create", "--phone", phone, "--name", "区管理员"]).output().unwrap();
    assert!(out.status.success(), "admin create: {}", String::from_utf8_lossy(&out.stderr));
}

/// A running server process. Dropping it kills it.
pub struct Shenbian {
    child: Child,
    pub addr: SocketAddr,
    log: Option<mpsc::Receiver<String>>,
}

impl Shenbian {
    /// Starts the binary and returns once it listens and its database is ready.
    pub fn start(store: &Store, settings: &[(&str, &str)]) -> Self {
        let mut server = Self::spawn(store, settings);
        server.wait_ready();
        server
    }

    /// Starts the binary and returns once it listens, whatever its database does.
    pub fn spawn(store: &Store, settings: &[(&str, &str)]) -> Self {
        let mut child = command(store, settings)
            .arg("serve")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn shenbian");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("first line");
        let addr = line
            .trim()
            .strip_prefix("shenbian listening on http://")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("a 'listening' line, got {line:?}"));
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        // The log is read on a thread of its own, which keeps draining it (or the server
        // would block on a full pipe) after nobody listens any more.
        let (lines, log) = mpsc::channel();
        let stderr = BufReader::new(child.stderr.take().expect("stderr"));
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        Self { child, addr, log: Some(log) }
    }

    /// Reads the log until it says "database ready" (within a minute).
    pub fn wait_ready(&mut self) {
        let log = self.log.take().expect("the log is read once");
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = Vec::new();
        loop {
            match log.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(line) if line.contains("database ready") => return,
                Ok(line) => seen.push(line),
                Err(_) => panic!("server not ready within 60 s; its log:\n{}", seen.join("\n")),
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// SIGKILL: no shutdown, no flush, no goodbye.
    pub fn kill9(mut self) {
        self.kill_now();
    }

    fn kill_now(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Shenbian {
    fn drop(&mut self) {
        self.kill_now();
    }
}
