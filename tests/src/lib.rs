//! The black-box test harness: [`TestApp`] starts the real server on `127.0.0.1:0` against
//! its own fresh database — a temporary SQLite file, or, when `SHENBIAN_TEST_DATABASE_URL`
//! names a PostgreSQL server, a newly created database dropped afterwards — and offers a
//! signed-in client per role: every [`Actor`] sends requests as itself and has the story's
//! verbs ([`verbs`], [`records`]). [`scene`] sets up a district for order tests. The raw
//! `get`/`post`/`call` of [`TestApp`] stay for what only raw HTTP shows: headers, status
//! codes of malformed requests, bodies no verb would send.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::{Client, RequestBuilder, Response};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::Value;
use shenbian::state::{AppState, Clock, SystemClock};
use shenbian::{RunningServer, Settings};
use uuid::Uuid;

pub use shenbian;

pub mod accounts;
pub mod client;
pub mod records;
pub mod scene;
pub mod verbs;

pub use accounts::{category_body, partner_body};
pub use client::{Actor, Answer, Id, Problem, json_of, outcomes};
/// An order's status, as views carry it.
pub use shenbian::entity::enums::OrderStatusDb as Status;
pub use shenbian::orders::closing::Resolution;
pub use verbs::actions;

/// The password every test account gets unless a test says otherwise.
pub const PASSWORD: &str = "community-service-2026";

/// A fresh phone number per call, unique within the test process.
pub fn next_phone() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("139{:08}", (u64::from(std::process::id()) * 1000 + n) % 100_000_000)
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: Client,
    pub state: AppState,
    server: Option<RunningServer>,
    _dir: tempfile::TempDir,
    _pg: Option<PgDatabase>,
}

impl TestApp {
    /// A server on a fresh database with default test settings.
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// A server whose settings the test adjusts first.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Settings)) -> Self {
        Self::spawn_full(adjust, Arc::new(SystemClock), axum::Router::new()).await
    }

    /// A server with the test's own clock and extra routes.
    pub async fn spawn_full(
        adjust: impl FnOnce(&mut Settings),
        clock: Arc<dyn Clock>,
        extra: axum::Router<AppState>,
    ) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let pg = match std::env::var("SHENBIAN_TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => Some(PgDatabase::create(&url).await),
            _ => None,
        };
        let mut settings = Settings {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: dir.path().join("data"),
            database_url: pg.as_ref().map(|pg| shenbian::config::Secret::new(pg.url.clone())),
            // Every test client shares 127.0.0.1; only the throttling tests lower this.
            login_max_failures_per_address: 10_000,
            db_retry_interval_ms: 100,
            // Tests move time and call the worker's tick themselves.
            worker: false,
            shutdown_grace_secs: 5,
            ..Settings::default()
        };
        let planned = settings.database_url.clone();
        adjust(&mut settings);
        // A test that points the server at an unreachable database does not wait for it.
        let reachable = settings.database_url == planned;
        shenbian::webhooks::deliver::install_tls_provider();
        let server = RunningServer::start_with(settings, clock, extra).await.expect("server starts");
        let state = server.state.clone();
        if reachable {
            state.wait_ready().await;
        }
        Self {
            addr: server.addr,
            client: Client::builder().build().expect("client"),
            state,
            server: Some(server),
            _dir: dir,
            _pg: pg,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// `GET /api/v1{path}` with an optional token.
    pub fn get(&self, path: &str, token: Option<&str>) -> RequestBuilder {
        with_token(self.client.get(self.url(&format!("/api/v1{path}"))), token)
    }

    /// `POST /api/v1{path}` with a JSON body and an optional token.
    pub fn post(&self, path: &str, token: Option<&str>, body: &Value) -> RequestBuilder {
        with_token(self.client.post(self.url(&format!("/api/v1{path}"))).json(body), token)
    }

    /// `POST /api/v1{path}` without a body.
    pub fn post_empty(&self, path: &str, token: Option<&str>) -> RequestBuilder {
        with_token(self.client.post(self.url(&format!("/api/v1{path}"))), token)
    }

    /// `PATCH /api/v1{path}` with a JSON body and an optional token.
    pub fn patch(&self, path: &str, token: Option<&str>, body: &Value) -> RequestBuilder {
        with_token(self.client.patch(self.url(&format!("/api/v1{path}"))).json(body), token)
    }

    /// `DELETE /api/v1{path}` with an optional token.
    pub fn delete(&self, path: &str, token: Option<&str>) -> RequestBuilder {
        with_token(self.client.delete(self.url(&format!("/api/v1{path}"))), token)
    }

    /// A server whose "now" the test controls.
    pub async fn spawn_with_clock(clock: Arc<TestClock>) -> Self {
        Self::spawn_full(|_| {}, clock, axum::Router::new()).await
    }

    /// Sends a request and returns its status and JSON body (null when empty).
    pub async fn call(&self, request: RequestBuilder) -> (u16, Value) {
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) })
    }

    pub fn db(&self) -> &DatabaseConnection {
        self.state.db().expect("database ready")
    }

    /// Stops the server gracefully, waiting for in-flight requests.
    pub async fn shutdown(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }
}

fn with_token(builder: RequestBuilder, token: Option<&str>) -> RequestBuilder {
    match token {
        Some(token) => builder.bearer_auth(token),
        None => builder,
    }
}

/// Reads a response as a problem document, checking its content type.
pub async fn problem(response: Response) -> Value {
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert_eq!(content_type, "application/problem+json", "status {}", response.status());
    response.json().await.expect("problem json")
}

/// A PostgreSQL database made for one test and dropped after it.
struct PgDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl PgDatabase {
    async fn create(admin_url: &str) -> Self {
        let name = format!("shenbian_test_{}", Uuid::now_v7().simple());
        let admin = sea_orm::Database::connect(admin_url).await.expect("PostgreSQL for tests");
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create test database");
        let _ = admin.close().await;
        let base = admin_url.rsplit_once('/').map_or(admin_url, |(base, _)| base);
        Self { admin_url: admin_url.to_owned(), url: format!("{base}/{name}"), name }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs inside the test's runtime; a thread of its own may block on its own.
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

/// A fresh valid unified social credit code per call.
pub fn next_credit_code() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed) + u64::from(std::process::id()) * 10_000;
    let first16 = format!("91110000{:08}", n % 100_000_000);
    shenbian_domain::credit_code::CreditCode::complete(&first16).expect("a credit code").as_str().to_owned()
}

/// A clock the test moves. It starts at the real time and must never be set behind it:
/// access tokens carry an expiry that is checked against the real time.
pub struct TestClock(std::sync::Mutex<chrono::DateTime<chrono::Utc>>);

impl TestClock {
    /// A clock at the real time now.
    pub fn new() -> Arc<Self> {
        Arc::new(Self(std::sync::Mutex::new(chrono::Utc::now())))
    }

    pub fn set(&self, at: chrono::DateTime<chrono::Utc>) {
        *self.0.lock().expect("clock") = at;
    }

    pub fn advance(&self, by: chrono::Duration) {
        *self.0.lock().expect("clock") += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        *self.0.lock().expect("clock")
    }
}
