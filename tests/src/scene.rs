//! A small district for order tests: a community with a compound and a building, a
//! category, its dispatcher and an admin; partners with active contracts and approved
//! volunteers on demand.

use serde_json::{Value, json};
use uuid::Uuid;

use crate::{Actor, TestApp, next_credit_code, next_phone};

pub struct World {
    pub admin: Actor,
    pub dispatcher: Actor,
    pub community: Uuid,
    pub compound: Uuid,
    pub building: Uuid,
    pub category: String,
}

fn id(body: &Value) -> Uuid {
    body["id"].as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("an id in {body}"))
}

/// Sets up the community, its places, a category and the staff.
pub async fn world(app: &TestApp) -> World {
    let admin = app.admin().await;
    let community = app.community().await;
    let dispatcher = app.dispatcher(community).await;
    let category = app.category(&admin, "home_repair").await;
    let token = Some(dispatcher.access_token.as_str());
    let (status, compound) =
        app.call(app.post(&format!("/communities/{community}/compounds"), token, &json!({"name": "阳光花园"}))).await;
    assert_eq!(status, 201, "{compound}");
    let compound = id(&compound);
    let (status, building) =
        app.call(app.post(&format!("/compounds/{compound}/buildings"), token, &json!({"name": "3号楼"}))).await;
    assert_eq!(status, 201, "{building}");
    World { admin, dispatcher, community, compound, building: id(&building), category }
}

/// A partner with an active contract over the world's community and category.
pub async fn partner(app: &TestApp, w: &World, max_open_jobs: u32, monthly_quota: Option<u32>) -> (Actor, Uuid, Uuid) {
    let mut terms = json!({"pricing": "free", "max_open_jobs": max_open_jobs});
    if let Some(q) = monthly_quota {
        terms["monthly_quota"] = json!(q);
    }
    partner_with_terms(app, w, terms).await
}

/// An approved partner with an active contract of these terms for the world's community and
/// category: (owner, partner id, contract id).
pub async fn partner_with_terms(app: &TestApp, w: &World, terms: Value) -> (Actor, Uuid, Uuid) {
    let owner = app.resident().await;
    let body = json!({
        "name": "安居维修服务社", "kind": "household", "credit_code": next_credit_code(),
        "contact_name": "刘师傅", "contact_phone": next_phone(), "description": "水电维修"
    });
    let (status, p) = app.call(app.post("/partners", Some(&owner.access_token), &body)).await;
    assert_eq!(status, 201, "{p}");
    let partner = id(&p);
    let (status, _) =
        app.call(app.post_empty(&format!("/partners/{partner}/approve"), Some(&w.admin.access_token))).await;
    assert_eq!(status, 200);
    let contract = app.active_contract(&w.admin, &owner, partner, w.community, &w.category, terms).await;
    (owner, partner, contract)
}

/// An approved volunteer of the world's community with its category as skill.
pub async fn volunteer(app: &TestApp, w: &World) -> (Actor, Uuid) {
    let person = app.resident().await;
    let body =
        json!({"skills": [w.category], "community_id": w.community, "building_ids": [w.building], "bio": "退休电工"});
    let (status, v) = app.call(app.post("/volunteers", Some(&person.access_token), &body)).await;
    assert_eq!(status, 201, "{v}");
    let volunteer = id(&v);
    let (status, _) =
        app.call(app.post_empty(&format!("/volunteers/{volunteer}/approve"), Some(&w.dispatcher.access_token))).await;
    assert_eq!(status, 200);
    (person, volunteer)
}

/// The body of an order in the world.
pub fn order_body(w: &World) -> Value {
    json!({
        "community_id": w.community, "category_code": w.category, "title": "厨房水管漏水",
        "description": "水槽下面的水管一直滴水，需要师傅上门", "urgency": "urgent",
        "address": {"compound_id": w.compound, "building_id": w.building, "unit": "2单元", "room": "301", "detail": "进门左手边"}
    })
}

/// A resident places an order; returns it.
pub async fn place(app: &TestApp, w: &World, resident: &Actor) -> Value {
    let (status, order) = app.call(app.post("/orders", Some(&resident.access_token), &order_body(w))).await;
    assert_eq!(status, 201, "{order}");
    order
}

/// A dispatcher offers an order to providers; asserts it worked.
pub async fn dispatch(app: &TestApp, w: &World, order: Uuid, providers: &[Uuid]) -> Value {
    let body = json!({"provider_ids": providers});
    let (status, o) =
        app.call(app.post(&format!("/orders/{order}/dispatch"), Some(&w.dispatcher.access_token), &body)).await;
    assert_eq!(status, 200, "{o}");
    o
}

/// Sends a step and returns (status, body).
pub async fn step(app: &TestApp, actor: &Actor, order: Uuid, action: &str, body: Option<Value>) -> (u16, Value) {
    let path = format!("/orders/{order}/{action}");
    match body {
        Some(body) => app.call(app.post(&path, Some(&actor.access_token), &body)).await,
        None => app.call(app.post_empty(&path, Some(&actor.access_token))).await,
    }
}

/// Checks that replaying an order's event log gives its stored state.
pub async fn assert_replays(app: &TestApp, admin: &Actor, order: Uuid) {
    let (status, o) = app.call(app.get(&format!("/orders/{order}"), Some(&admin.access_token))).await;
    assert_eq!(status, 200);
    let (_, events) = app.call(app.get(&format!("/orders/{order}/events?limit=100"), Some(&admin.access_token))).await;
    let mut state: Option<String> = None;
    for e in events["items"].as_array().unwrap() {
        if e["action"] != "created" {
            assert_eq!(e["from_status"].as_str(), state.as_deref(), "event {e} follows the previous state");
        }
        state = e["to_status"].as_str().map(str::to_owned);
    }
    assert_eq!(state.as_deref(), o["status"].as_str(), "the log replays to the stored state");
}
