//! What the bench measures: the real server, started in this process on `127.0.0.1:0`
//! against a fresh database — SQLite in a temporary directory, or a PostgreSQL database
//! created for the run and dropped at the end — with one route production does not have.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use sea_orm::ConnectionTrait;
use shenbian::config::Secret;
use shenbian::state::{AppState, SystemClock};
use shenbian::{RunningServer, Settings};
use uuid::Uuid;

/// The route that does nothing, behind the same middleware as every other route: the
/// ceiling of the HTTP stack itself. It exists only in this binary.
pub const NOOP_PATH: &str = "/bench/noop";

/// The route that does nothing outside the middleware: the ceiling of axum and the client.
/// It exists only in this binary.
pub const BARE_PATH: &str = "/bench/bare";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct Target {
    pub base: String,
    pub settings: Settings,
    pub state: AppState,
    server: RunningServer,
    _dir: tempfile::TempDir,
    pg: Option<PgDatabase>,
}

impl Target {
    /// Creates the database and starts the server; returns once it is migrated and ready.
    pub async fn start(backend: Backend, pg_url: &str, pool: Option<u32>) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
        let pg = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(PgDatabase::create(pg_url).await?),
        };
        let defaults = Settings::default();
        let settings = Settings {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: dir.path().join("data"),
            database_url: pg.as_ref().map(|pg| Secret::new(pg.url.clone())),
            db_max_connections: pool.unwrap_or(defaults.db_max_connections),
            // Every virtual user shares 127.0.0.1: sign-in throttling must never count here.
            login_max_failures_per_address: 1_000_000,
            login_max_failures_per_account_and_address: 1_000_000,
            login_slow_down_after_failures: 1_000_000,
            // A --scale run outlasts 15 minutes; tokens are still checked on every request.
            access_token_ttl_secs: 86_400,
            shutdown_grace_secs: 5,
            // The webhook part of `--notify` delivers to a receiver on 127.0.0.1.
            webhook_allow_private_targets: true,
            ..defaults
        };
        shenbian::telemetry::init(&settings);
        let noop = Router::new().route(NOOP_PATH, get(|| async { StatusCode::NO_CONTENT }));
        let bare = Router::new().route(BARE_PATH, get(|| async { StatusCode::NO_CONTENT }));
        let server = RunningServer::start_with_bare(settings.clone(), Arc::new(SystemClock), noop, bare)
            .await
            .map_err(|e| format!("server: {e}"))?;
        let state = server.state.clone();
        let ready = tokio::time::timeout(std::time::Duration::from_secs(60), state.wait_ready()).await;
        if ready.is_err() {
            server.shutdown().await;
            if let Some(pg) = pg {
                pg.drop_database().await;
            }
            return Err("the database did not become ready within 60 s".into());
        }
        Ok(Self { base: format!("http://{}", server.addr), settings, state, server, _dir: dir, pg })
    }

    /// Stops the server and drops the PostgreSQL database, if one was made and `keep` is false.
    pub async fn stop(self, keep: bool) {
        self.server.shutdown().await;
        if let Ok(db) = self.state.db() {
            let _ = db.clone().close().await;
        }
        match self.pg {
            Some(pg) if keep => println!("kept PostgreSQL database {} ({})", pg.name, pg.url),
            Some(pg) => pg.drop_database().await,
            None => {}
        }
    }

    pub fn database_name(&self) -> String {
        match &self.pg {
            Some(pg) => format!("PostgreSQL database {}", pg.name),
            None => format!("SQLite {}", self.settings.data_dir.join("shenbian.db").display()),
        }
    }
}

/// A PostgreSQL database made for one run.
struct PgDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl PgDatabase {
    async fn create(admin_url: &str) -> Result<Self, String> {
        let name = format!("shenbian_bench_{}", Uuid::now_v7().simple());
        let admin = sea_orm::Database::connect(admin_url).await.map_err(|e| format!("PostgreSQL at --pg-url: {e}"))?;
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.map_err(|e| format!("create: {e}"))?;
        let _ = admin.close().await;
        Ok(Self { admin_url: admin_url.to_owned(), url: database_url(admin_url, &name), name })
    }

    async fn drop_database(self) {
        match sea_orm::Database::connect(&self.admin_url).await {
            Ok(admin) => {
                let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
                if let Err(e) = admin.execute_unprepared(&sql).await {
                    eprintln!("could not drop {}: {e}", self.name);
                }
                let _ = admin.close().await;
            }
            Err(e) => eprintln!("could not drop {}: {e}", self.name),
        }
    }
}

/// The URL of database `name` on the server of `url`, keeping any query string.
fn database_url(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let server = match base.rsplit_once('/') {
        Some((server, _)) if server.contains("://") && !server.ends_with('/') => server,
        _ => base.trim_end_matches('/'),
    };
    match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::database_url;

    #[test]
    fn the_database_name_replaces_the_one_in_the_url() {
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5432/postgres", "b1"),
            "postgres://postgres@127.0.0.1:5432/b1"
        );
        assert_eq!(database_url("postgres://u@h/postgres?sslmode=disable", "b1"), "postgres://u@h/b1?sslmode=disable");
        assert_eq!(database_url("postgres://u@h:5432", "b1"), "postgres://u@h:5432/b1");
    }
}
