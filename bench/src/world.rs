//! The district the virtual users work in, made before any timed window, through the API as
//! people would make it: an admin (created as `shenbian admin create` does), a community with
//! a compound and a building, a category, its dispatcher, and per virtual user a crew — a
//! resident and a partner (its admin signed in) with an active contract over the community
//! and the category, a large `max_open_jobs` and no monthly quota.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};
use shenbian::state::AppState;
use shenbian::users::{NewStaff, create_staff};
use shenbian_domain::{DisplayName, Password, Phone, Role, RoleSet};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::client::{Actor, Answer, Api};

pub const PASSWORD: &str = "community-service-2026";

/// Open jobs a bench partner may hold (the most a contract allows): a virtual user has one
/// order in flight at a time, so the limit never bites.
pub const MAX_OPEN_JOBS: u32 = 1_000;

pub struct World {
    pub admin: Actor,
    pub dispatcher: Actor,
    pub community: Uuid,
    pub compound: Uuid,
    pub building: Uuid,
    pub category: String,
    pub crews: Vec<Crew>,
}

/// What one virtual user acts as: a resident who orders, and the partner (its admin) that
/// the dispatcher offers the order to.
#[derive(Clone)]
pub struct Crew {
    pub resident: Actor,
    pub owner: Actor,
    pub partner: Uuid,
    pub contract: Uuid,
}

fn next_phone() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("139{:08}", NEXT.fetch_add(1, Ordering::Relaxed))
}

fn expect(what: &str, answer: &Answer, status: u16) -> Result<(), String> {
    if answer.status == status {
        Ok(())
    } else {
        Err(format!("{what}: expected {status}, got {} {}", answer.status, String::from_utf8_lossy(&answer.body)))
    }
}

fn created_id(what: &str, answer: &Answer) -> Result<Uuid, String> {
    expect(what, answer, 201)?;
    answer.id().ok_or_else(|| format!("{what}: no id in the answer"))
}

fn actor_of(answer: &Answer) -> Result<Actor, String> {
    let body = answer.json();
    let user_id = body["user"]["id"].as_str().and_then(|s| s.parse().ok()).ok_or("no user id in a sign-in")?;
    let token = body["access_token"].as_str().ok_or("no access token in a sign-in")?.to_owned();
    let phone = body["user"]["phone"].as_str().unwrap_or_default().to_owned();
    Ok(Actor { user_id, phone, token })
}

async fn login(api: &Api, phone: &str) -> Result<Actor, String> {
    let answer = api.post("/auth/login", None, &json!({"phone": phone, "password": PASSWORD})).await;
    expect("login", &answer, 200)?;
    actor_of(&answer)
}

/// Registers a resident; signed in at once.
pub async fn resident(api: &Api, name: &str) -> Result<Actor, String> {
    let body = json!({"phone": next_phone(), "password": PASSWORD, "display_name": name});
    let answer = api.post("/auth/register", None, &body).await;
    expect("register", &answer, 201)?;
    actor_of(&answer)
}

/// Builds the district and `crews` crews.
pub async fn build(api: &Api, state: &AppState, crews: usize) -> Result<World, String> {
    let db = state.db().map_err(|e| e.to_string())?;
    let phone = next_phone();
    let staff = NewStaff {
        phone: Phone::parse(&phone).map_err(|e| e.to_string())?,
        password: Password::parse(PASSWORD).map_err(|e| e.to_string())?,
        name: DisplayName::parse("区管理员").map_err(|e| e.to_string())?,
        roles: RoleSet::of([Role::Admin]),
        community_id: None,
    };
    create_staff(state, db, None, staff).await.map_err(|e| format!("admin: {e}"))?;
    let admin = login(api, &phone).await?;

    let body = json!({"code": "BENCH", "name": "幸福里社区", "street": "和平街道"});
    let community = created_id("community", &api.post("/communities", Some(&admin.token), &body).await)?;
    let phone = next_phone();
    let body = json!({"phone": phone, "password": PASSWORD, "display_name": "李卫东", "roles": ["dispatcher"],
        "community_id": community});
    created_id("dispatcher", &api.post("/users", Some(&admin.token), &body).await)?;
    let dispatcher = login(api, &phone).await?;
    let path = format!("/communities/{community}/compounds");
    let compound =
        created_id("compound", &api.post(&path, Some(&dispatcher.token), &json!({"name": "阳光花园"})).await)?;
    let path = format!("/compounds/{compound}/buildings");
    let building = created_id("building", &api.post(&path, Some(&dispatcher.token), &json!({"name": "3号楼"})).await)?;
    let category = "home_repair".to_owned();
    let answer = api.post("/categories", Some(&admin.token), &category_body(&category)).await;
    expect("category", &answer, 201)?;

    let mut world = World { admin, dispatcher, community, compound, building, category, crews: Vec::new() };
    // A few crews at a time: each costs two password hashes.
    let mut made = JoinSet::new();
    for i in 0..crews {
        let (api, admin, community, category) =
            (api.clone(), world.admin.clone(), world.community, world.category.clone());
        made.spawn(async move { (i, crew(&api, &admin, community, &category).await) });
        if made.len() >= 4 {
            collect(&mut made, &mut world.crews).await?;
        }
    }
    while !made.is_empty() {
        collect(&mut made, &mut world.crews).await?;
    }
    Ok(world)
}

async fn collect(made: &mut JoinSet<(usize, Result<Crew, String>)>, crews: &mut Vec<Crew>) -> Result<(), String> {
    if let Some(done) = made.join_next().await {
        let (_, crew) = done.map_err(|e| e.to_string())?;
        crews.push(crew?);
    }
    Ok(())
}

/// A resident, and a partner applied for by a new account, approved, under an active contract.
async fn crew(api: &Api, admin: &Actor, community: Uuid, category: &str) -> Result<Crew, String> {
    let person = resident(api, "王秀英").await?;
    let owner = resident(api, "刘建国").await?;
    let body = json!({
        "name": "安居维修服务社", "kind": "household", "credit_code": next_credit_code(),
        "contact_name": "刘师傅", "contact_phone": next_phone(), "description": "水电维修"
    });
    let partner = created_id("partner", &api.post("/partners", Some(&owner.token), &body).await)?;
    expect("approve", &api.post_empty(&format!("/partners/{partner}/approve"), &admin.token).await, 200)?;
    let body = json!({
        "partner_id": partner, "title": "社区服务契约", "community_ids": [community], "category_codes": [category],
        "valid_from": "2026-01-01", "valid_to": "2035-12-31",
        "terms": {"pricing": "free", "max_open_jobs": MAX_OPEN_JOBS}
    });
    let contract = created_id("contract", &api.post("/contracts", Some(&admin.token), &body).await)?;
    expect("sign", &api.post_empty(&format!("/contracts/{contract}/sign"), &owner.token).await, 200)?;
    expect("activate", &api.post_empty(&format!("/contracts/{contract}/activate"), &admin.token).await, 200)?;
    Ok(Crew { resident: person, owner, partner, contract })
}

/// A fresh valid unified social credit code per call.
fn next_credit_code() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let first16 = format!("91110000{:08}", NEXT.fetch_add(1, Ordering::Relaxed));
    shenbian_domain::credit_code::CreditCode::complete(&first16).expect("a credit code").as_str().to_owned()
}

fn category_body(code: &str) -> Value {
    json!({
        "code": code, "name_zh": "居家维修", "name_en": "Home repair", "group": "生活服务",
        "sla": {
            "normal": {"dispatch": 240, "accept": 120, "complete": 2880},
            "urgent": {"dispatch": 60, "accept": 30, "complete": 480},
            "emergency": {"dispatch": 15, "accept": 10, "complete": 120}
        }
    })
}

/// The body of an order in the world.
pub fn order_body(w: &World) -> Value {
    json!({
        "community_id": w.community, "category_code": w.category, "title": "厨房水管漏水",
        "description": "水槽下面的水管一直滴水，需要师傅上门", "urgency": "urgent",
        "address": {"compound_id": w.compound, "building_id": w.building, "unit": "2单元", "room": "301",
            "detail": "进门左手边"}
    })
}
