//! The black-box test harness: [`TestApp`] starts the real server on `127.0.0.1:0` against
//! its own fresh database — a temporary SQLite file, or, when `SHENBIAN_TEST_DATABASE_URL`
//! names a PostgreSQL server, a newly created database dropped afterwards — and offers a
//! signed-in client per role.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::{Client, RequestBuilder, Response};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait};
use serde_json::{Value, json};
use shenbian::entity::community;
use shenbian::state::{AppState, Clock, SystemClock};
use shenbian::users::{NewStaff, create_staff};
use shenbian::{RunningServer, Settings};
use shenbian_domain::{DisplayName, Password, Phone, Role, RoleSet};
use uuid::Uuid;

pub use shenbian;

pub mod scene;

/// The password every test account gets unless a test says otherwise.
pub const PASSWORD: &str = "community-service-2026";

/// A fresh phone number per call, unique within the test process.
pub fn next_phone() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("139{:08}", (u64::from(std::process::id()) * 1000 + n) % 100_000_000)
}

/// A signed-in account.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Uuid,
    pub phone: String,
    pub password: String,
    pub access_token: String,
    pub refresh_token: String,
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

    pub fn db(&self) -> &DatabaseConnection {
        self.state.db().expect("database ready")
    }

    /// Registers a resident and signs them in.
    pub async fn resident(&self) -> Actor {
        let phone = next_phone();
        let body = json!({"phone": phone, "password": PASSWORD, "display_name": "王秀英"});
        let response = self.post("/auth/register", None, &body).send().await.expect("register");
        assert_eq!(response.status(), 201, "register: {}", response.text().await.unwrap_or_default());
        actor_from(response, &phone, PASSWORD).await
    }

    /// Creates an admin account directly (as `shenbian admin create` does) and signs in.
    pub async fn admin(&self) -> Actor {
        self.staff([Role::Admin], None).await
    }

    /// Creates a dispatcher of a community and signs in.
    pub async fn dispatcher(&self, community_id: Uuid) -> Actor {
        self.staff([Role::Dispatcher], Some(community_id)).await
    }

    async fn staff(&self, roles: impl IntoIterator<Item = Role>, community_id: Option<Uuid>) -> Actor {
        let phone = next_phone();
        let staff = NewStaff {
            phone: Phone::parse(&phone).unwrap(),
            password: Password::parse(PASSWORD).unwrap(),
            name: DisplayName::parse("李卫东").unwrap(),
            roles: RoleSet::of(roles),
            community_id,
        };
        create_staff(&self.state, self.db(), None, staff).await.expect("staff account");
        self.login(&phone, PASSWORD).await
    }

    /// Signs in; panics unless it works.
    pub async fn login(&self, phone: &str, password: &str) -> Actor {
        let response = self.login_response(phone, password).await;
        assert_eq!(response.status(), 200, "login");
        actor_from(response, phone, password).await
    }

    pub async fn login_response(&self, phone: &str, password: &str) -> Response {
        self.post("/auth/login", None, &json!({"phone": phone, "password": password})).send().await.expect("login")
    }

    /// A community, written straight to the database (its endpoints come with places).
    pub async fn community(&self) -> Uuid {
        let id = Uuid::now_v7();
        let now = chrono::Utc::now();
        community::Entity::insert(community::ActiveModel {
            id: Set(id),
            code: Set(format!("C{}", id.simple())),
            name: Set("幸福里社区".into()),
            street: Set("和平街道".into()),
            settings: Set("{}".into()),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec(self.db())
        .await
        .expect("community");
        id
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

async fn actor_from(response: Response, phone: &str, password: &str) -> Actor {
    let body: Value = response.json().await.expect("json");
    Actor {
        user_id: body["user"]["id"].as_str().and_then(|s| s.parse().ok()).expect("user id"),
        phone: phone.to_owned(),
        password: password.to_owned(),
        access_token: body["access_token"].as_str().expect("access token").to_owned(),
        refresh_token: body["refresh_token"].as_str().expect("refresh token").to_owned(),
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

/// The body of a category with sensible service levels.
pub fn category_body(code: &str) -> Value {
    json!({
        "code": code, "name_zh": "法律咨询", "name_en": "Legal advice", "group": "专业服务",
        "sla": {
            "normal": {"dispatch": 240, "accept": 120, "complete": 2880},
            "urgent": {"dispatch": 60, "accept": 30, "complete": 480},
            "emergency": {"dispatch": 15, "accept": 10, "complete": 120}
        }
    })
}

impl TestApp {
    /// Sends a request and returns its status and JSON body (null when empty).
    pub async fn call(&self, request: RequestBuilder) -> (u16, Value) {
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) })
    }

    /// A category created by an admin; returns its code.
    pub async fn category(&self, admin: &Actor, code: &str) -> String {
        let (status, body) = self.call(self.post("/categories", Some(&admin.access_token), &category_body(code))).await;
        assert_eq!(status, 201, "category: {body}");
        code.to_owned()
    }

    /// A partner applied for by a new resident (its admin) and approved by `admin`.
    pub async fn approved_partner(&self, admin: &Actor) -> (Actor, Uuid) {
        let owner = self.resident().await;
        let body = json!({
            "name": "仁和社区诊所", "kind": "medical", "credit_code": next_credit_code(),
            "contact_name": "陈医生", "contact_phone": next_phone(), "description": "全科门诊，上门巡诊"
        });
        let (status, partner) = self.call(self.post("/partners", Some(&owner.access_token), &body)).await;
        assert_eq!(status, 201, "apply: {partner}");
        let id: Uuid = partner["id"].as_str().unwrap().parse().unwrap();
        let (status, _) =
            self.call(self.post_empty(&format!("/partners/{id}/approve"), Some(&admin.access_token))).await;
        assert_eq!(status, 200);
        (owner, id)
    }

    /// A contract recorded by `admin`, signed by the partner's admin and activated.
    pub async fn active_contract(
        &self,
        admin: &Actor,
        owner: &Actor,
        partner: Uuid,
        community: Uuid,
        category: &str,
        terms: Value,
    ) -> Uuid {
        let body = json!({
            "partner_id": partner, "title": "社区服务契约", "community_ids": [community], "category_codes": [category],
            "valid_from": "2026-01-01", "valid_to": "2030-12-31", "terms": terms
        });
        let (status, contract) = self.call(self.post("/contracts", Some(&admin.access_token), &body)).await;
        assert_eq!(status, 201, "contract: {contract}");
        let id: Uuid = contract["id"].as_str().unwrap().parse().unwrap();
        let (status, body) =
            self.call(self.post_empty(&format!("/contracts/{id}/sign"), Some(&owner.access_token))).await;
        assert_eq!(status, 200, "sign: {body}");
        let (status, body) =
            self.call(self.post_empty(&format!("/contracts/{id}/activate"), Some(&admin.access_token))).await;
        assert_eq!(status, 200, "activate: {body}");
        id
    }
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

/// The id in a JSON object's `id` field.
pub fn id_of(body: &Value) -> Uuid {
    body["id"].as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("an id in {body}"))
}

/// The body of a partner application with a fresh credit code and contact phone.
pub fn partner_body(name: &str, kind: &str) -> Value {
    json!({
        "name": name, "kind": kind, "credit_code": next_credit_code(),
        "contact_name": "陈医生", "contact_phone": next_phone(), "description": "上门服务"
    })
}

impl TestApp {
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

    /// A partner applied for by `owner` (who becomes its admin) and left pending.
    pub async fn pending_partner(&self, owner: &Actor, kind: &str) -> Uuid {
        let (status, partner) =
            self.call(self.post("/partners", Some(&owner.access_token), &partner_body("邻里帮服务社", kind))).await;
        assert_eq!(status, 201, "apply: {partner}");
        id_of(&partner)
    }

    /// `who` joins an approved partner with `role`: its admin `by` invites her phone and she
    /// accepts. Returns the invitation's id.
    pub async fn join_partner(&self, by: &Actor, partner: Uuid, who: &Actor, role: &str) -> Uuid {
        let body = json!({"phone": who.phone, "role": role});
        let path = format!("/partners/{partner}/invitations");
        let (status, invitation) = self.call(self.post(&path, Some(&by.access_token), &body)).await;
        assert_eq!(status, 201, "invite: {invitation}");
        let id = id_of(&invitation);
        let accept = format!("/me/invitations/{id}/accept");
        let (status, body) = self.call(self.post_empty(&accept, Some(&who.access_token))).await;
        assert_eq!(status, 200, "accept: {body}");
        id
    }

    /// A compound named `name` added to a community by `actor`.
    pub async fn compound(&self, actor: &Actor, community: Uuid, name: &str) -> Uuid {
        let path = format!("/communities/{community}/compounds");
        let (status, body) = self.call(self.post(&path, Some(&actor.access_token), &json!({"name": name}))).await;
        assert_eq!(status, 201, "compound: {body}");
        id_of(&body)
    }

    /// A building named `name` added to a compound by `actor`.
    pub async fn building(&self, actor: &Actor, compound: Uuid, name: &str) -> Uuid {
        let path = format!("/compounds/{compound}/buildings");
        let (status, body) = self.call(self.post(&path, Some(&actor.access_token), &json!({"name": name}))).await;
        assert_eq!(status, 201, "building: {body}");
        id_of(&body)
    }

    /// Every audit entry matching `query` (e.g. `action=partner.approve`), all pages.
    pub async fn audit_entries(&self, admin: &Actor, query: &str) -> Vec<Value> {
        let mut entries = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/audit?limit=100&{query}");
            if let Some(cursor) = &cursor {
                path.push_str(&format!("&cursor={cursor}"));
            }
            let (status, page) = self.call(self.get(&path, Some(&admin.access_token))).await;
            assert_eq!(status, 200, "audit: {page}");
            entries.extend(page["items"].as_array().expect("items").iter().cloned());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return entries,
            }
        }
    }
}
