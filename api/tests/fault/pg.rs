//! PostgreSQL for one test: a cluster of its own (`initdb`/`pg_ctl` on a free port in a
//! temporary directory, so the test may stop and start it), or a fresh database on a shared
//! server. Both are guards: dropping them stops the cluster or drops the database, also when
//! the test fails.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use sea_orm::ConnectionTrait;
use uuid::Uuid;

/// Where Debian keeps `initdb` and `pg_ctl` (off `PATH`): `pg_config --bindir`.
fn pg_bindir() -> PathBuf {
    let out = Command::new("pg_config").arg("--bindir").output().expect("pg_config (PostgreSQL server binaries)");
    assert!(out.status.success(), "pg_config --bindir failed");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// A PostgreSQL tool run as the `postgres` user when we are root (initdb refuses root).
fn as_postgres(tool: &Path) -> Command {
    let root = std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false);
    if root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(tool);
        command
    } else {
        Command::new(tool)
    }
}

fn run(mut command: Command, what: &str) {
    let out = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A PostgreSQL cluster of the test's own, listening on 127.0.0.1 at a free port.
pub struct PgCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
}

impl PgCluster {
    /// `initdb` and start; returns once the server accepts connections (`pg_ctl -w`).
    pub fn start() -> Self {
        let bin = pg_bindir();
        let dir = tempfile::tempdir().expect("temporary directory");
        run(
            {
                let mut chown = Command::new("chown");
                chown.arg("postgres:postgres").arg(dir.path());
                chown
            },
            "chown the cluster directory to postgres",
        );
        let mut initdb = as_postgres(&bin.join("initdb"));
        initdb.arg("-D").arg(dir.path().join("data"));
        initdb.args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions"]);
        run(initdb, "initdb");
        let cluster = Self { dir, bin, port: super::free_port() };
        cluster.start_again();
        cluster
    }

    fn pg_ctl(&self) -> Command {
        let mut command = as_postgres(&self.bin.join("pg_ctl"));
        command.arg("-D").arg(self.dir.path().join("data"));
        command
    }

    /// Starts the (stopped) cluster on its port and waits until it accepts connections.
    pub fn start_again(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50",
            self.port,
            self.dir.path().display()
        );
        let mut start = self.pg_ctl();
        start.arg("-l").arg(self.dir.path().join("log")).args(["-w", "-t", "30", "-o", &options, "start"]);
        run(start, "pg_ctl start");
    }

    /// Stops the cluster (`fast`: open sessions are ended) and waits until it is down.
    pub fn stop(&self) {
        let mut stop = self.pg_ctl();
        stop.args(["-w", "-t", "30", "-m", "fast", "stop"]);
        run(stop, "pg_ctl stop");
    }

    /// The URL of a database in this cluster.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        // Whatever state the test left it in; the directory goes with `dir` afterwards.
        let mut stop = self.pg_ctl();
        stop.args(["-w", "-m", "immediate", "stop"]);
        let _ = stop.output();
    }
}

/// A database created on a PostgreSQL server for one test, dropped (`WITH (FORCE)`) after it.
pub struct PgDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl PgDatabase {
    /// `admin_url` names a database to connect to for `CREATE DATABASE` (e.g. `postgres`).
    pub async fn create(admin_url: &str) -> Self {
        let name = format!("shenbian_fault_{}", Uuid::now_v7().simple());
        let admin = sea_orm::Database::connect(admin_url).await.expect("PostgreSQL for fault tests");
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create the test database");
        let _ = admin.close().await;
        let base = admin_url.rsplit_once('/').map_or(admin_url, |(base, _)| base);
        Self { admin_url: admin_url.to_owned(), url: format!("{base}/{name}"), name }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop may run inside the test's runtime: a thread of its own blocks on its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                if let Ok(admin) = sea_orm::Database::connect(&admin_url).await {
                    let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}
