//! An order's internal notes.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::Stored;
use crate::entity::order_note;

/// A page of an order's notes, oldest first: `limit` notes after the note `after`, if given.
pub async fn page(
    db: &impl ConnectionTrait,
    order_id: Uuid,
    after: Option<Uuid>,
    limit: u64,
) -> Stored<Vec<order_note::Model>> {
    let mut query = order_note::Entity::find()
        .filter(order_note::Column::OrderId.eq(order_id))
        .order_by_asc(order_note::Column::Id)
        .limit(limit);
    if let Some(after) = after {
        query = query.filter(order_note::Column::Id.gt(after));
    }
    Ok(query.all(db).await?)
}

/// Adds a note to an order.
pub async fn add(
    db: &impl ConnectionTrait,
    order_id: Uuid,
    author_id: Uuid,
    body: String,
    at: DateTime<Utc>,
) -> Stored<order_note::Model> {
    Ok(order_note::Entity::insert(order_note::ActiveModel {
        id: Set(Uuid::now_v7()),
        order_id: Set(order_id),
        author_id: Set(author_id),
        body: Set(body),
        created_at: Set(at),
    })
    .exec_with_returning(db)
    .await?)
}
