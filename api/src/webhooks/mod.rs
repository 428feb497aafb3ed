//! Webhooks: a partner organisation's system or the district's receives, signed, the events
//! of the life cycle it may see, in log order, at least once.
//!
//! **The event log is the outbox.** Each endpoint keeps the sequence number of the last
//! event it was delivered (`delivered_seq`); an event committed is a delivery owed to every
//! endpoint that sees it, in the event's own transaction, with nothing else written. Events
//! commit in sequence order (`orders::store::events`), so an endpoint's cursor never skips
//! one that commits late. A delivery moves the cursor only after the receiver answered 2xx:
//! a crash between the two sends the event again (at least once; `webhook-id` is the
//! event's id, for the receiver to drop repeats).
//!
//! **What an endpoint sees** is its owner's feed: a partner's endpoint the events of its
//! offers and jobs (as `GET /events` shows its members), the district's every event;
//! narrowed by the event types and communities it asks for. The payload is thin: ids,
//! the action, the statuses, times — never a resident's phone, name, address or a reason
//! typed by someone.
//!
//! **Delivery** ([`deliver`]) runs in every instance's worker: an endpoint is taken with a
//! lease (a compare-and-set on its row), so one instance delivers to it at a time, one
//! event after another. A failure stops the endpoint until its next attempt, by the
//! schedule of `shenbian_domain::webhook` (or the receiver's `Retry-After`); 410 switches
//! it off, and so do five days of failures, its owner told in the inbox.

pub mod deliver;
pub mod routes;
pub mod sign;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::entity::enums::{ActionDb, ActorRoleDb, OrderStatusDb};
use crate::entity::webhook;
use crate::orders::store::list::FeedOf;
use crate::orders::store::names::NamedEvent;
use crate::pagination::encode_text_cursor;

/// The body of a delivery (Standard Webhooks' `type`, `timestamp`, `data`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Delivery {
    /// `order.<action>`: `order.dispatched`, `order.accepted`, ….
    #[serde(rename = "type")]
    pub kind: String,
    /// When the event happened.
    pub timestamp: DateTime<Utc>,
    pub data: DeliveryData,
}

/// An event, thin: what happened to which order, never who the resident is.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeliveryData {
    pub event_id: Uuid,
    /// The event's cursor in the feed (`GET /events?cursor=`, `POST /webhooks/{id}/replay`).
    pub cursor: String,
    pub seq: i64,
    pub order_id: Uuid,
    pub community_id: Option<Uuid>,
    pub action: ActionDb,
    pub actor_role: ActorRoleDb,
    pub from_status: Option<OrderStatusDb>,
    pub to_status: OrderStatusDb,
    /// The provider an offer step concerns.
    pub provider_id: Option<Uuid>,
    pub at: DateTime<Utc>,
}

impl Delivery {
    pub fn of(named: &NamedEvent) -> Self {
        let e = &named.event;
        Self {
            kind: format!("order.{}", shenbian_domain::order::Action::from(e.action).as_str()),
            timestamp: e.at,
            data: DeliveryData {
                event_id: e.id,
                cursor: encode_text_cursor(&e.seq.to_string()),
                seq: e.seq,
                order_id: e.order_id,
                community_id: named.names.community_id,
                action: e.action,
                actor_role: e.actor_role,
                from_status: e.from_status,
                to_status: e.to_status,
                provider_id: e.provider_id,
                at: e.at,
            },
        }
    }
}

/// The events an endpoint's owner may see: a partner's offers and jobs, or every event.
pub fn feed_of(w: &webhook::Model) -> FeedOf {
    match w.partner_id {
        // The nil user is nobody's resident: only the partner's own events.
        Some(partner) => FeedOf { user_id: Some(Uuid::nil()), community_id: None, providers: vec![partner] },
        None => FeedOf { user_id: None, community_id: None, providers: Vec::new() },
    }
}

/// Whether the endpoint asked for this event (its types and communities; none named: all).
pub fn wants(w: &webhook::Model, named: &NamedEvent) -> bool {
    let action = shenbian_domain::order::Action::from(named.event.action);
    let type_ok = w.event_types.is_empty()
        || w.event_types.split_whitespace().any(|t| t.strip_prefix("order.") == Some(action.as_str()));
    let community_ok = w.community_ids.is_empty()
        || named.names.community_id.is_some_and(|c| w.community_ids.split_whitespace().any(|w| w == c.to_string()));
    type_ok && community_ok
}
