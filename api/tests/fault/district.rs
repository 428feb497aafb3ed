//! A small district made over HTTP, as people would make it: an admin (from the command
//! line), a community with a compound and a building, a category, a dispatcher, a partner
//! with an active contract, and residents. Tokens stay valid across restarts: the signing key
//! lives in the database.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use shenbian_domain::credit_code::CreditCode;
use uuid::Uuid;

use super::server::PASSWORD;

/// A fresh mainland mobile number per call, unique within the test process.
pub fn next_phone() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("137{:08}", (u64::from(std::process::id()) * 1000 + n) % 100_000_000)
}

/// An HTTP client for one server address.
#[derive(Clone)]
pub struct Api {
    pub client: reqwest::Client,
    pub base: String,
}

/// What a request got: a status and a JSON body (null when empty), or a transport error.
pub type Answer = Result<(u16, Value), reqwest::Error>;

impl Api {
    pub fn new(addr: std::net::SocketAddr) -> Self {
        shenbian::webhooks::deliver::install_tls_provider();
        let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client");
        Self { client, base: format!("http://{addr}") }
    }

    /// Sends a request to `path` (under the server root) and reads the whole answer.
    pub async fn send(&self, method: reqwest::Method, path: &str, token: Option<&str>, body: Option<&Value>) -> Answer {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        Ok((
            status,
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) },
        ))
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.send(reqwest::Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Answer {
        self.send(reqwest::Method::POST, path, token, Some(body)).await
    }

    /// A request that must answer `expected`; returns its body.
    pub async fn expect(
        &self,
        expected: u16,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> Value {
        let (status, body) = self.send(method.clone(), path, Some(token), body).await.expect("request");
        assert_eq!(status, expected, "{method} {path}: {body}");
        body
    }
}

/// A signed-in account.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: Uuid,
    pub phone: String,
    pub token: String,
}

pub fn id_of(body: &Value) -> Uuid {
    body["id"].as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("an id in {body}"))
}

fn actor(phone: &str, signed_in: &Value) -> Actor {
    Actor {
        id: signed_in["user"]["id"].as_str().and_then(|s| s.parse().ok()).expect("user id"),
        phone: phone.to_owned(),
        token: signed_in["access_token"].as_str().expect("access token").to_owned(),
    }
}

pub async fn login(api: &Api, phone: &str) -> Actor {
    let (status, body) =
        api.post("/api/v1/auth/login", None, &json!({"phone": phone, "password": PASSWORD})).await.expect("login");
    assert_eq!(status, 200, "login: {body}");
    actor(phone, &body)
}

pub async fn register(api: &Api) -> Actor {
    let phone = next_phone();
    let body = json!({"phone": phone, "password": PASSWORD, "display_name": "王秀英"});
    let (status, body) = api.post("/api/v1/auth/register", None, &body).await.expect("register");
    assert_eq!(status, 201, "register: {body}");
    actor(&phone, &body)
}

pub struct District {
    pub admin: Actor,
    pub dispatcher: Actor,
    /// The partner's admin: accepts, starts and completes its jobs.
    pub provider: Actor,
    pub partner: Uuid,
    pub community: Uuid,
    pub compound: Uuid,
    pub building: Uuid,
    pub residents: Vec<Actor>,
}

/// Sets the district up on a running server whose admin `admin_phone` exists already.
pub async fn district(api: &Api, admin_phone: &str, residents: usize) -> District {
    let admin = login(api, admin_phone).await;
    let post = |expected: u16, path: String, token: String, body: Option<Value>| async move {
        api.expect(expected, reqwest::Method::POST, &format!("/api/v1{path}"), &token, body.as_ref()).await
    };
    let a = || admin.token.clone();
    let code = format!("C{}", &Uuid::now_v7().simple().to_string()[20..]);
    let body = json!({"code": code, "name": "幸福里社区", "street": "和平街道"});
    let community = id_of(&post(201, "/communities".into(), a(), Some(body)).await);
    let sla = json!({"dispatch": 240, "accept": 120, "complete": 2880});
    let body = json!({"code": "home_repair", "name_zh": "家电维修", "name_en": "Home repair", "group": "生活服务",
        "sla": {"normal": sla, "urgent": sla, "emergency": sla}});
    post(201, "/categories".into(), a(), Some(body)).await;
    let body = json!({"name": "阳光花园"});
    let compound = id_of(&post(201, format!("/communities/{community}/compounds"), a(), Some(body)).await);
    let body = json!({"name": "3号楼"});
    let building = id_of(&post(201, format!("/compounds/{compound}/buildings"), a(), Some(body)).await);
    let phone = next_phone();
    let body = json!({"phone": phone, "password": PASSWORD, "display_name": "李卫东", "roles": ["dispatcher"],
        "community_id": community});
    post(201, "/users".into(), a(), Some(body)).await;
    let dispatcher = login(api, &phone).await;

    let provider = register(api).await;
    let credit_code = CreditCode::complete(&format!("91110000{:08}", std::process::id())).expect("a credit code");
    let body = json!({"name": "安居维修服务社", "kind": "household", "credit_code": credit_code.as_str(),
        "contact_name": "刘师傅", "contact_phone": next_phone(), "description": "水电维修"});
    let partner = id_of(&post(201, "/partners".into(), provider.token.clone(), Some(body)).await);
    post(200, format!("/partners/{partner}/approve"), a(), None).await;
    let body = json!({"partner_id": partner, "title": "社区服务契约", "community_ids": [community],
        "category_codes": ["home_repair"], "valid_from": "2026-01-01", "valid_to": "2030-12-31",
        "terms": {"pricing": "free", "max_open_jobs": 1000}});
    let contract = id_of(&post(201, "/contracts".into(), a(), Some(body)).await);
    post(200, format!("/contracts/{contract}/sign"), provider.token.clone(), None).await;
    post(200, format!("/contracts/{contract}/activate"), a(), None).await;

    let mut people = Vec::new();
    for _ in 0..residents {
        people.push(register(api).await);
    }
    District { admin, dispatcher, provider, partner, community, compound, building, residents: people }
}

impl District {
    /// The body of an order in this district.
    pub fn order_body(&self) -> Value {
        json!({
            "community_id": self.community, "category_code": "home_repair", "title": "厨房水管漏水",
            "description": "水槽下面的水管一直滴水", "urgency": "urgent",
            "address": {"compound_id": self.compound, "building_id": self.building, "unit": "2单元", "room": "301"}
        })
    }
}
