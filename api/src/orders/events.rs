//! Appending to the event log. Every event gets a global sequence number from one counter
//! row, bumped as the last write of its transaction: the row lock is held until commit, so
//! sequence numbers commit in order and a feed cursor never skips an event that commits late.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use shenbian_domain::order::{Action, ActorRole, OrderStatus};
use uuid::Uuid;

use crate::entity::{event_counter, order_event};
use crate::error::ApiError;

/// One event to append.
pub struct NewEvent {
    pub action: Action,
    pub actor_id: Option<Uuid>,
    pub role: ActorRole,
    pub from: Option<OrderStatus>,
    pub to: OrderStatus,
    pub reason: Option<String>,
    pub provider_id: Option<Uuid>,
}

impl NewEvent {
    pub fn new(action: Action, actor_id: Option<Uuid>, role: ActorRole, from: OrderStatus, to: OrderStatus) -> Self {
        Self { action, actor_id, role, from: Some(from), to, reason: None, provider_id: None }
    }

    pub fn reason(mut self, reason: Option<String>) -> Self {
        self.reason = reason;
        self
    }

    pub fn provider(mut self, provider_id: Uuid) -> Self {
        self.provider_id = Some(provider_id);
        self
    }
}

/// Appends events of one order in one go. Call it last in the transaction.
pub async fn append(
    db: &impl ConnectionTrait,
    order_id: Uuid,
    events: Vec<NewEvent>,
    at: DateTime<Utc>,
) -> Result<(), ApiError> {
    if events.is_empty() {
        return Ok(());
    }
    let n = events.len() as i64;
    let bumped = event_counter::Entity::update_many()
        .col_expr(event_counter::Column::Value, Expr::col(event_counter::Column::Value).add(n))
        .filter(event_counter::Column::Id.eq(1))
        .exec_with_returning(db)
        .await?;
    let last = bumped.first().map(|c| c.value).ok_or_else(|| ApiError::internal("event counter missing"))?;
    let rows = events.into_iter().enumerate().map(|(i, e)| order_event::ActiveModel {
        id: Set(Uuid::now_v7()),
        seq: Set(last - n + 1 + i as i64),
        order_id: Set(order_id),
        action: Set(e.action.into()),
        actor_id: Set(e.actor_id),
        actor_role: Set(e.role.into()),
        from_status: Set(e.from.map(Into::into)),
        to_status: Set(e.to.into()),
        reason: Set(e.reason),
        provider_id: Set(e.provider_id),
        at: Set(at),
    });
    order_event::Entity::insert_many(rows).exec_without_returning(db).await?;
    Ok(())
}
