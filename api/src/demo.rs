//! `shenbian demo`: fills a fresh database with a believable district — three communities
//! with compounds and buildings, twelve partners with signed contracts for the services
//! they do (from the starter catalogue), twenty volunteers, dispatchers, residents, and
//! about a hundred orders in every state with their timelines, ratings and hours, spread
//! over the last 90 days. It drives the real API in-process on a clock of its own that tells each order's
//! story at its time, so every demo order went through the same rules as a real one.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use shenbian_domain::credit_code::CreditCode;
use shenbian_domain::{DisplayName, Password, Phone, Role, RoleSet};
use tower::ServiceExt;
use uuid::Uuid;

use crate::crypto::keys::Keys;
use crate::state::{AppState, Clock};
use crate::users::{NewStaff, create_staff};

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "shenbian-demo-2026";

/// The starter catalogue's categories the demo's orders are for, with their zh-CN names.
const CATEGORIES: [(&str, &str); 10] = [
    ("legal_advice", "法律咨询"),
    ("home_medical", "上门医疗"),
    ("elder_meals", "助老助餐"),
    ("after_school", "四点半课堂"),
    ("appliance_repair", "家电维修"),
    ("plumbing_electric", "水电维修"),
    ("job_guidance", "就业指导"),
    ("counselling", "心理疏导"),
    ("housekeeping", "家政保洁"),
    ("elder_companion", "助老陪护"),
];

/// Partners, their kind and the categories they serve.
const PARTNERS: [(&str, &str, [&str; 2]); 12] = [
    ("明理律师事务所", "legal", ["legal_advice", "job_guidance"]),
    ("仁和社区诊所", "medical", ["home_medical", "elder_companion"]),
    ("夕阳红养老服务中心", "elderly_care", ["elder_meals", "elder_companion"]),
    ("启航教育培训学校", "education", ["after_school", "job_guidance"]),
    ("安居家电维修部", "household", ["appliance_repair", "plumbing_electric"]),
    ("顺通水电维修服务社", "household", ["plumbing_electric", "appliance_repair"]),
    ("和平街道就业服务站", "other", ["job_guidance", "legal_advice"]),
    ("心晴心理咨询工作室", "medical", ["counselling", "elder_companion"]),
    ("洁家家政服务公司", "household", ["housekeeping", "elder_companion"]),
    ("康乐护理服务站", "elderly_care", ["elder_companion", "home_medical"]),
    ("新华书店社区服务点", "education", ["after_school", "counselling"]),
    ("众益公益服务中心", "other", ["elder_meals", "housekeeping"]),
];

/// The demo's clock: it stands where the story is and only moves forward.
struct StoryClock(Mutex<DateTime<Utc>>);

impl Clock for StoryClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl StoryClock {
    /// Moves the clock to `at`, unless the story is past it already.
    fn at(&self, at: DateTime<Utc>) {
        let mut now = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *now = (*now).max(at);
    }

    fn advance(&self, by: Duration) {
        let at = self.now() + by;
        self.at(at);
    }
}

const SURNAMES: [&str; 12] = ["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙"];
const GIVEN: [&str; 10] = ["秀英", "建国", "桂兰", "志强", "丽娟", "伟", "淑珍", "海燕", "国庆", "玉兰"];

/// What a newcomer signs in with.
#[derive(Debug, Default)]
pub struct Accounts {
    pub lines: Vec<String>,
}

/// A signed-in demo account.
#[derive(Clone)]
struct Who {
    token: String,
    phone: String,
}

struct Api {
    router: Router,
}

impl Api {
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Result<(u16, Value), String> {
        let mut request = Request::builder().method(method.clone()).uri(format!("/api/v1{path}"));
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = match body {
            Some(body) => request.header("content-type", "application/json").body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        }
        .map_err(|e| e.to_string())?;
        let response = self.router.clone().oneshot(request).await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.map_err(|e| e.to_string())?;
        let value = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
        Ok((status, value))
    }

    /// A call that must succeed with `expect`.
    async fn ok(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        expect: u16,
    ) -> Result<Value, String> {
        let (status, value) = self.call(method.clone(), path, token, body).await?;
        if status == expect { Ok(value) } else { Err(format!("{method} {path}: {status} {value}")) }
    }

    async fn register(&self, phone: &str, name: &str) -> Result<Who, String> {
        let body = json!({"phone": phone, "password": DEMO_PASSWORD, "display_name": name});
        let v = self.ok(Method::POST, "/auth/register", None, Some(body), 201).await?;
        Ok(who(&v, phone))
    }

    async fn login(&self, phone: &str) -> Result<Who, String> {
        let v = self
            .ok(Method::POST, "/auth/login", None, Some(json!({"phone": phone, "password": DEMO_PASSWORD})), 200)
            .await?;
        Ok(who(&v, phone))
    }
}

fn who(v: &Value, phone: &str) -> Who {
    Who { token: v["access_token"].as_str().unwrap_or_default().to_owned(), phone: phone.to_owned() }
}

fn id(v: &Value) -> Uuid {
    v["id"].as_str().and_then(|s| s.parse().ok()).unwrap_or_default()
}

fn person(i: usize) -> String {
    format!("{}{}", SURNAMES[i % SURNAMES.len()], GIVEN[(i / SURNAMES.len() + i) % GIVEN.len()])
}

/// Fills the database behind `state` (which must be ready and empty of demo accounts). The
/// district is set up 91 days ago; its orders follow, the finished ones over the first 86
/// days, those still under way over the last days, the newest half a day old.
pub async fn run(state: AppState) -> Result<Accounts, String> {
    let db = state.db().map_err(|e| e.to_string())?.clone();
    let today = Utc::now();
    let clock = Arc::new(StoryClock(Mutex::new(today - Duration::days(91))));
    // The story's sign-ins last through it.
    let mut settings = state.settings.clone();
    settings.access_token_ttl_secs = 100 * 86_400;
    settings.refresh_token_ttl_days = 100;
    let keys = Keys::load(&db, &settings).await.map_err(|e| e.to_string())?;
    let state = AppState::new(settings, clock.clone());
    state.set_ready(db.clone(), keys);
    let admin_phone = "13900000000";
    let staff = NewStaff {
        phone: Phone::parse(admin_phone).map_err(|e| e.to_string())?,
        password: Password::parse(DEMO_PASSWORD).map_err(|e| e.to_string())?,
        name: DisplayName::parse("区管理员").map_err(|e| e.to_string())?,
        roles: RoleSet::of([Role::Admin]),
        community_id: None,
    };
    create_staff(&state, &db, None, staff)
        .await
        .map_err(|_| "the demo needs a fresh database (its admin exists already)".to_owned())?;
    // Demo sign-ins must not trip the throttle; the real settings stay untouched elsewhere.
    let api = Api { router: crate::app::app(state.clone(), Router::new(), Router::new()) };
    let admin = api.login(admin_phone).await?;
    let a = Some(admin.token.as_str());
    let mut accounts = Accounts::default();
    accounts.lines.push(format!("admin       {admin_phone}  区管理员"));

    // Places.
    let mut communities = Vec::new();
    for (i, (code, name)) in [("XFL", "幸福里社区"), ("HP", "和平社区"), ("XH", "新华社区")].iter().enumerate()
    {
        let c = api
            .ok(Method::POST, "/communities", a, Some(json!({"code": code, "name": name, "street": "和平街道"})), 201)
            .await?;
        let dispatcher_phone = format!("1390000010{i}");
        let body = json!({"phone": dispatcher_phone, "password": DEMO_PASSWORD, "display_name": format!("{}调度员", name.chars().take(2).collect::<String>()),
            "roles": ["dispatcher"], "community_id": id(&c)});
        api.ok(Method::POST, "/users", a, Some(body), 201).await?;
        let dispatcher = api.login(&dispatcher_phone).await?;
        accounts.lines.push(format!("dispatcher  {dispatcher_phone}  {name}"));
        let mut places = Vec::new();
        for compound in ["阳光花园", "和谐家园"] {
            let body = json!({"name": compound});
            let cp = api
                .ok(
                    Method::POST,
                    &format!("/communities/{}/compounds", id(&c)),
                    Some(&dispatcher.token),
                    Some(body),
                    201,
                )
                .await?;
            for b in 1..=3 {
                let body = json!({"name": format!("{b}号楼")});
                let bd = api
                    .ok(
                        Method::POST,
                        &format!("/compounds/{}/buildings", id(&cp)),
                        Some(&dispatcher.token),
                        Some(body),
                        201,
                    )
                    .await?;
                places.push((id(&cp), id(&bd)));
            }
        }
        communities.push((id(&c), dispatcher, places));
    }
    let community_ids: Vec<Uuid> = communities.iter().map(|c| c.0).collect();

    // The catalogue is the installation's starter catalogue (migration 000013).
    clock.advance(Duration::hours(1));

    // Partners with signed, active contracts over every community and two categories each.
    let mut partners: Vec<(Uuid, Who, Vec<&str>)> = Vec::new();
    for (i, (name, kind, cats)) in PARTNERS.iter().enumerate() {
        let owner = api.register(&format!("139000002{i:02}"), &person(i + 40)).await?;
        let code = CreditCode::complete(&format!("91110105{:08}", 57_000_000 + i * 7919)).ok_or("credit code")?;
        let body = json!({"name": name, "kind": kind, "credit_code": code.as_str(), "contact_name": person(i + 40),
            "contact_phone": owner.phone, "description": format!("{name}，红色合伙人")});
        let p = api.ok(Method::POST, "/partners", Some(&owner.token), Some(body), 201).await?;
        let pid = id(&p);
        api.ok(Method::POST, &format!("/partners/{pid}/approve"), a, None, 200).await?;
        let cats = cats.to_vec();
        let terms = if i % 3 == 0 {
            json!({"pricing": "free", "max_open_jobs": 10, "monthly_quota": 50, "accept_within_minutes": 60})
        } else {
            json!({"pricing": "discount", "discount_percent": 20 + (i as u32 % 4) * 10, "max_open_jobs": 10})
        };
        let body = json!({"partner_id": pid, "title": format!("{name}社区服务契约"), "community_ids": community_ids,
            "category_codes": cats, "valid_from": "2026-01-01", "valid_to": "2027-12-31", "terms": terms});
        let contract = api.ok(Method::POST, "/contracts", a, Some(body), 201).await?;
        api.ok(Method::POST, &format!("/contracts/{}/sign", id(&contract)), Some(&owner.token), None, 200).await?;
        api.ok(Method::POST, &format!("/contracts/{}/activate", id(&contract)), a, None, 200).await?;
        if i == 0 {
            accounts.lines.push(format!("partner     {}  {name}的管理员", owner.phone));
        }
        partners.push((pid, owner, cats));
    }

    // Volunteers (包楼联户), approved by their community's dispatcher.
    let mut volunteers: Vec<(Uuid, Who, usize, Vec<&str>)> = Vec::new();
    for i in 0..20 {
        let v = api.register(&format!("139000003{i:02}"), &person(i + 60)).await?;
        let c = i % 3;
        let cats = vec![CATEGORIES[(i + 2) % 10].0, CATEGORIES[(i + 7) % 10].0];
        let building = communities[c].2[i % 6].1;
        let body = json!({"skills": cats, "community_id": communities[c].0, "building_ids": [building], "bio": "社区党员志愿者"});
        let rec = api.ok(Method::POST, "/volunteers", Some(&v.token), Some(body), 201).await?;
        api.ok(Method::POST, &format!("/volunteers/{}/approve", id(&rec)), Some(&communities[c].1.token), None, 200)
            .await?;
        if i == 0 {
            accounts.lines.push(format!("volunteer   {}  {}", v.phone, person(i + 60)));
        }
        volunteers.push((id(&rec), v, c, cats));
    }

    // Residents.
    let mut residents = Vec::new();
    for i in 0..30 {
        residents.push(api.register(&format!("139000004{i:02}"), &person(i)).await?);
    }
    accounts.lines.push(format!("resident    {}  {}", residents[0].phone, person(0)));

    // About a hundred orders, in every state: the finished ones over the first 86 days, then
    // those still under way, the pending ones last.
    let targets = [
        ("closed", 30),
        ("cancelled", 10),
        ("resolved_redo", 4),
        ("completed", 14),
        ("disputed", 6),
        ("in_progress", 8),
        ("accepted", 8),
        ("offered", 10),
        ("pending", 10),
    ];
    let finished: usize = targets.iter().take(3).map(|(_, count)| count).sum();
    let total: usize = targets.iter().map(|(_, count)| count).sum();
    let placed_at = |n: usize| -> DateTime<Utc> {
        let (from, span, i, of) = if n < finished {
            (today - Duration::days(90), Duration::days(86), n, finished)
        } else {
            (today - Duration::days(4), Duration::hours(84), n - finished, total - finished)
        };
        from + span * i as i32 / of as i32
    };
    let mut n = 0usize;
    for (target, count) in targets {
        for _ in 0..count {
            clock.at(placed_at(n));
            let (community, dispatcher, places) = &communities[n % 3];
            let category = CATEGORIES[n % 10].0;
            let resident = &residents[n % residents.len()];
            let (compound, building) = places[n % places.len()];
            let title = format!("{}需求", CATEGORIES[n % 10].1);
            let urgency = ["normal", "urgent", "emergency"][n % 3];
            let body = json!({"community_id": community, "category_code": category, "title": title,
                "description": "请尽快安排，谢谢", "urgency": urgency,
                "address": {"compound_id": compound, "building_id": building, "unit": format!("{}单元", n % 4 + 1), "room": format!("{}0{}", n % 6 + 1, n % 3 + 1)}});
            let order = id(&api.ok(Method::POST, "/orders", Some(&resident.token), Some(body), 201).await?);
            n += 1;
            let later = |minutes: i64| clock.advance(Duration::minutes(minutes));
            if target == "pending" {
                continue;
            }
            if target == "cancelled" {
                later(30);
                api.ok(
                    Method::POST,
                    &format!("/orders/{order}/cancel"),
                    Some(&resident.token),
                    Some(json!({"reason": "问题已自行解决"})),
                    200,
                )
                .await?;
                continue;
            }
            // Volunteers take jobs that end (their capacity is two); partners the rest.
            let ends = matches!(target, "completed" | "closed" | "disputed" | "resolved_redo");
            let volunteer = volunteers.iter().find(|v| v.2 == n.wrapping_sub(1) % 3 && v.3.contains(&category) && ends);
            let (provider, worker, is_volunteer) = match volunteer {
                Some(v) => (v.0, v.1.clone(), true),
                None => match partners.iter().find(|p| p.2.contains(&category)) {
                    Some(p) => (p.0, p.1.clone(), false),
                    None => continue,
                },
            };
            let d = Some(dispatcher.token.as_str());
            later(12);
            api.ok(
                Method::POST,
                &format!("/orders/{order}/dispatch"),
                d,
                Some(json!({"provider_ids": [provider]})),
                200,
            )
            .await?;
            if target == "offered" {
                continue;
            }
            let w = Some(worker.token.as_str());
            // Within the shortest window to accept (an emergency's, 10 minutes).
            later(8);
            api.ok(Method::POST, &format!("/orders/{order}/accept"), w, None, 200).await?;
            if target == "accepted" {
                continue;
            }
            later(45);
            api.ok(Method::POST, &format!("/orders/{order}/start"), w, None, 200).await?;
            if target == "in_progress" {
                continue;
            }
            let minutes = 30 + (n % 5) * 15;
            later(minutes as i64 + 5);
            let done = if is_volunteer {
                json!({"summary": "已上门完成服务", "minutes": minutes})
            } else {
                json!({"summary": "已上门完成服务"})
            };
            api.ok(Method::POST, &format!("/orders/{order}/complete"), w, Some(done), 200).await?;
            let r = Some(resident.token.as_str());
            match target {
                "closed" => {
                    later(20 * 60);
                    if n.is_multiple_of(4) {
                        api.ok(
                            Method::POST,
                            &format!("/orders/{order}/confirm"),
                            d,
                            Some(json!({"note": "电话回访，居民满意"})),
                            200,
                        )
                        .await?;
                    } else {
                        api.ok(Method::POST, &format!("/orders/{order}/confirm"), r, None, 200).await?;
                    }
                    let stars = [5, 5, 4, 5, 3][n % 5];
                    later(15);
                    let rating = json!({"stars": stars, "timeliness": stars, "attitude": 5, "quality": stars, "comment": "服务很周到"});
                    api.ok(Method::POST, &format!("/orders/{order}/rating"), r, Some(rating), 201).await?;
                }
                "disputed" => {
                    later(90);
                    api.ok(
                        Method::POST,
                        &format!("/orders/{order}/dispute"),
                        r,
                        Some(json!({"reason": "问题没有完全解决"})),
                        200,
                    )
                    .await?;
                }
                "resolved_redo" => {
                    later(90);
                    api.ok(
                        Method::POST,
                        &format!("/orders/{order}/dispute"),
                        r,
                        Some(json!({"reason": "还是有问题"})),
                        200,
                    )
                    .await?;
                    later(60);
                    let body = json!({"outcome": "redo", "reason": "安排重新上门"});
                    api.ok(Method::POST, &format!("/orders/{order}/resolve"), d, Some(body), 200).await?;
                }
                _ => {}
            }
        }
    }
    accounts.lines.push(format!("({n} orders; every account's password: {DEMO_PASSWORD})"));
    Ok(accounts)
}
