//! What must hold after any fault: every order's event log replays to its stored state, and
//! no order is half-moved (its offers and its provider's capacity agree with its state).
//! Read straight from the database, so the check does not depend on the server it checks.

use std::collections::HashMap;

use sea_orm::{
    AccessMode, ColumnTrait, DatabaseBackend, EntityTrait, IsolationLevel, PaginatorTrait, QueryFilter, QueryOrder,
    TransactionOptions, TransactionTrait,
};
use serde_json::Value;
use shenbian::entity::enums::{OfferStatus, OrderStatusDb};
use shenbian::entity::{contract, offer, order, order_event};
use uuid::Uuid;

use super::district::{Actor, Api};

/// The states of the forward life cycle, in order: "at least that state" compares ranks.
pub const FORWARD: [&str; 6] = ["pending", "offered", "accepted", "in_progress", "completed", "closed"];

pub fn rank(status: &str) -> usize {
    FORWARD.iter().position(|s| *s == status).unwrap_or_else(|| panic!("{status} is not on the forward path"))
}

pub fn name(status: OrderStatusDb) -> String {
    serde_json::to_value(status).ok().and_then(|v| v.as_str().map(str::to_owned)).expect("a status word")
}

/// Checks every order in the database at `url` and returns each one's stored state. The
/// reads share one snapshot, so a write meanwhile (the worker's) cannot tear them.
pub async fn consistent_orders(url: &str) -> HashMap<Uuid, String> {
    let conn = sea_orm::Database::connect(url).await.expect("the database under test");
    let snapshot = match conn.get_database_backend() {
        DatabaseBackend::Postgres => TransactionOptions {
            isolation_level: Some(IsolationLevel::RepeatableRead),
            access_mode: Some(AccessMode::ReadOnly),
            ..TransactionOptions::default()
        },
        // A deferred SQLite transaction reads one WAL snapshot from its first read on.
        _ => TransactionOptions::default(),
    };
    let txn = conn.begin_with_options(snapshot).await.expect("a read transaction");
    let db = &txn;
    let orders = order::Entity::find().all(db).await.expect("orders");
    let events = order_event::Entity::find().order_by_asc(order_event::Column::Seq).all(db).await.expect("events");
    let offers = offer::Entity::find().all(db).await.expect("offers");
    let contracts = contract::Entity::find().all(db).await.expect("contracts");

    let mut logs: HashMap<Uuid, Vec<&order_event::Model>> = HashMap::new();
    for e in &events {
        logs.entry(e.order_id).or_default().push(e);
    }
    let mut by_order: HashMap<Uuid, Vec<&offer::Model>> = HashMap::new();
    for o in &offers {
        by_order.entry(o.order_id).or_default().push(o);
    }
    let mut states = HashMap::new();
    for o in &orders {
        let log = logs.remove(&o.id).unwrap_or_default();
        let replayed = replay(log.iter().map(|e| (name_of(e.from_status), name(e.to_status), e.seq)), o.id);
        assert_eq!(replayed.as_deref(), Some(name(o.status).as_str()), "order {}: the log replays to its state", o.id);

        let offers = by_order.remove(&o.id).unwrap_or_default();
        let open = offers.iter().filter(|f| f.status == OfferStatus::Open).count();
        let accepted: Vec<_> = offers.iter().filter(|f| f.status == OfferStatus::Accepted).collect();
        let holds = matches!(o.status, OrderStatusDb::Accepted | OrderStatusDb::InProgress);
        assert_eq!(open > 0, o.status == OrderStatusDb::Offered, "order {} ({:?}): open offers {open}", o.id, o.status);
        if holds {
            assert!(o.provider_id.is_some(), "order {}: assigned", o.id);
            assert!(
                accepted.iter().any(|f| Some(f.provider_id) == o.provider_id),
                "order {}: its accepted offer",
                o.id
            );
        }
    }
    assert!(logs.is_empty(), "events of orders that do not exist: {:?}", logs.keys());
    assert!(by_order.is_empty(), "offers of orders that do not exist");
    for c in &contracts {
        let holding = orders
            .iter()
            .filter(|o| o.contract_id == Some(c.id))
            .filter(|o| matches!(o.status, OrderStatusDb::Accepted | OrderStatusDb::InProgress))
            .count();
        assert_eq!(c.open_jobs as usize, holding, "contract {}: open jobs match its accepted and started orders", c.id);
    }
    for o in &orders {
        states.insert(o.id, name(o.status));
    }
    let _ = txn.rollback().await;
    let _ = conn.close().await;
    states
}

fn name_of(status: Option<OrderStatusDb>) -> Option<String> {
    status.map(name)
}

/// How many orders a resident has, read from the database at `url`.
pub async fn orders_of(url: &str, resident: Uuid) -> usize {
    let conn = sea_orm::Database::connect(url).await.expect("the database under test");
    let count = order::Entity::find().filter(order::Column::ResidentId.eq(resident)).count(&conn).await.expect("count");
    let _ = conn.close().await;
    count as usize
}

/// Replays `(from, to, seq)` events: the first creates the order, each one starts where the
/// previous ended. Returns the final state.
fn replay(events: impl Iterator<Item = (Option<String>, String, i64)>, order: Uuid) -> Option<String> {
    let mut state: Option<String> = None;
    for (i, (from, to, seq)) in events.enumerate() {
        if i == 0 {
            assert_eq!((from.as_deref(), to.as_str()), (None, "pending"), "order {order}: created first (seq {seq})");
        } else {
            assert_eq!(from, state, "order {order}: event seq {seq} starts where the previous one ended");
        }
        state = Some(to);
    }
    state
}

/// The same check as a client sees it: `GET /orders/{id}` and its `/events` as an admin.
pub async fn replays_over_http(api: &Api, admin: &Actor, order: Uuid) -> String {
    let token = Some(admin.token.as_str());
    let (status, o) = api.get(&format!("/api/v1/orders/{order}"), token).await.expect("order");
    assert_eq!(status, 200, "{o}");
    let (status, events) = api.get(&format!("/api/v1/orders/{order}/events?limit=100"), token).await.expect("events");
    assert_eq!(status, 200, "{events}");
    let items = events["items"].as_array().expect("items");
    let str_of = |v: &Value| v.as_str().map(str::to_owned);
    let replayed =
        replay(items.iter().map(|e| (str_of(&e["from_status"]), str_of(&e["to_status"]).unwrap(), 0)), order);
    let stored = str_of(&o["status"]).expect("status");
    assert_eq!(replayed.as_deref(), Some(stored.as_str()), "order {order}: the log replays to its state");
    stored
}
