//! A small district for order tests: a community with a compound and a building, a
//! category, its dispatcher and an admin; partners with active contracts and approved
//! volunteers on demand.

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use shenbian::entity::enums::ActionDb;
use shenbian::orders::view::OrderView;
use uuid::Uuid;

use crate::{Actor, Id, Status, TestApp, partner_body};

pub struct World {
    pub admin: Actor,
    pub dispatcher: Actor,
    pub community: Uuid,
    pub compound: Uuid,
    pub building: Uuid,
    pub category: String,
    pub db: DatabaseConnection,
}

impl World {
    /// Moves the start of `order`'s job `minutes` into the past, as if its provider had
    /// started it then: a completion reports at most the minutes since the start.
    pub async fn started_ago(&self, order: Uuid, minutes: i64) {
        let started = chrono::Utc::now() - chrono::Duration::minutes(minutes);
        shenbian::entity::order::Entity::update_many()
            .col_expr(shenbian::entity::order::Column::StartedAt, Expr::value(started))
            .filter(shenbian::entity::order::Column::Id.eq(order))
            .exec(&self.db)
            .await
            .expect("the start moved");
    }
}

/// Sets up the community, its places, a category and the staff.
pub async fn world(app: &TestApp) -> World {
    let admin = app.admin().await;
    let community = app.community().await;
    let dispatcher = app.dispatcher(community).await;
    let category = app.category(&admin, "home_repair").await;
    let compound = app.compound(&dispatcher, community, "阳光花园").await;
    let building = app.building(&dispatcher, compound, "3号楼").await;
    World { admin, dispatcher, community, compound, building, category, db: app.db().clone() }
}

/// A partner with an active contract over the world's community and category:
/// (its admin member, partner id, contract id).
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
    let mut body = partner_body("安居维修服务社", "household");
    body["contact_name"] = json!("刘师傅");
    body["description"] = json!("水电维修");
    let partner: Value = owner.create("/partners", &body).await.expect("the partner applies");
    let partner = partner.id();
    let _: Value = w.admin.post_empty(&format!("/partners/{partner}/approve")).await.expect("approved");
    let contract = app.active_contract(&w.admin, &owner, partner, w.community, &w.category, terms).await;
    (owner, partner, contract)
}

/// An approved volunteer of the world's community with its category as skill:
/// (the person, volunteer id).
pub async fn volunteer(app: &TestApp, w: &World) -> (Actor, Uuid) {
    let person = app.resident().await;
    let body =
        json!({"skills": [w.category], "community_id": w.community, "building_ids": [w.building], "bio": "退休电工"});
    let volunteer: Value = person.create("/volunteers", &body).await.expect("the volunteer applies");
    let volunteer = volunteer.id();
    let _: Value = w.dispatcher.post_empty(&format!("/volunteers/{volunteer}/approve")).await.expect("approved");
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

/// A resident places the world's order; returns it.
pub async fn place(w: &World, resident: &Actor) -> OrderView {
    resident.create_order(&order_body(w)).await.expect("the order is placed")
}

/// Checks that replaying an order's event log gives its stored state.
pub async fn assert_replays(admin: &Actor, order: Uuid) {
    let stored = admin.get_order(order).await.expect("the order");
    let events = admin.events(order).await.expect("its events");
    let mut state: Option<Status> = None;
    for e in &events.items {
        if e.action != ActionDb::Created {
            assert_eq!(e.from_status, state, "event {e:?} follows the previous state");
        }
        state = Some(e.to_status);
    }
    assert_eq!(state, Some(stored.status), "the log replays to the stored state");
}
