//! An order's offers: made at a dispatch, spent by an accept, closed by a decline, an
//! expiry, a withdrawal, a cancellation or a suspension — each close a guarded update on
//! the offer still being open.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use sea_orm::{QueryOrder, QuerySelect};
use shenbian_domain::step::{NewOffer, OfferEnd};
use uuid::Uuid;

use super::Stored;
use crate::entity::enums::OfferStatus;
use crate::entity::offer;

impl From<OfferEnd> for OfferStatus {
    fn from(end: OfferEnd) -> Self {
        match end {
            OfferEnd::Declined => OfferStatus::Declined,
            OfferEnd::Expired => OfferStatus::Expired,
            OfferEnd::Closed => OfferStatus::Closed,
        }
    }
}

/// Inserts open offers of an order, made by `by` (none: the worker).
pub async fn make(
    db: &impl ConnectionTrait,
    order_id: Uuid,
    offers: &[NewOffer],
    by: Option<Uuid>,
    at: DateTime<Utc>,
) -> Stored<()> {
    let rows = offers.iter().map(|o| offer::ActiveModel {
        id: Set(Uuid::now_v7()),
        order_id: Set(order_id),
        provider_kind: Set(o.provider.kind.into()),
        provider_id: Set(o.provider.id),
        contract_id: Set(o.contract_id),
        status: Set(OfferStatus::Open),
        accept_by: Set(o.accept_by),
        reason: Set(None),
        dispatched_by: Set(by.unwrap_or_default()),
        created_at: Set(at),
        closed_at: Set(None),
    });
    offer::Entity::insert_many(rows).exec_without_returning(db).await?;
    Ok(())
}

/// Closes one offer if it is still open, with a status and a reason; `false` when it was
/// not open any more (someone else closed it first).
pub async fn close_one(
    db: &impl ConnectionTrait,
    offer_id: Uuid,
    status: OfferStatus,
    reason: Option<&str>,
    at: DateTime<Utc>,
) -> Stored<bool> {
    let mut update = offer::Entity::update_many()
        .col_expr(offer::Column::Status, Expr::value(status))
        .col_expr(offer::Column::ClosedAt, Expr::value(at));
    if let Some(reason) = reason {
        update = update.col_expr(offer::Column::Reason, Expr::value(reason));
    }
    let closed = update
        .filter(offer::Column::Id.eq(offer_id))
        .filter(offer::Column::Status.eq(OfferStatus::Open))
        .exec(db)
        .await?
        .rows_affected;
    Ok(closed > 0)
}

/// Closes every open offer of an order, with a status and a reason.
pub async fn close_all(
    db: &impl ConnectionTrait,
    order_id: Uuid,
    status: OfferStatus,
    reason: &str,
    at: DateTime<Utc>,
) -> Stored<u64> {
    Ok(offer::Entity::update_many()
        .col_expr(offer::Column::Status, Expr::value(status))
        .col_expr(offer::Column::Reason, Expr::value(reason))
        .col_expr(offer::Column::ClosedAt, Expr::value(at))
        .filter(offer::Column::OrderId.eq(order_id))
        .filter(offer::Column::Status.eq(OfferStatus::Open))
        .exec(db)
        .await?
        .rows_affected)
}

/// How many offers of an order are open.
pub async fn open_count(db: &impl ConnectionTrait, order_id: Uuid) -> Stored<u64> {
    Ok(offer::Entity::find()
        .filter(offer::Column::OrderId.eq(order_id))
        .filter(offer::Column::Status.eq(OfferStatus::Open))
        .count(db)
        .await?)
}

/// How many offers of an order were declined or expired: the auto-dispatch's attempts.
pub async fn failed_count(db: &impl ConnectionTrait, order_id: Uuid) -> Stored<u64> {
    Ok(offer::Entity::find()
        .filter(offer::Column::OrderId.eq(order_id))
        .filter(offer::Column::Status.is_in([OfferStatus::Declined, OfferStatus::Expired]))
        .count(db)
        .await?)
}

/// The open offers of an order, oldest first.
pub async fn open_of(db: &impl ConnectionTrait, order_id: Uuid) -> Stored<Vec<offer::Model>> {
    Ok(offer::Entity::find()
        .filter(offer::Column::OrderId.eq(order_id))
        .filter(offer::Column::Status.eq(OfferStatus::Open))
        .order_by_asc(offer::Column::CreatedAt)
        .all(db)
        .await?)
}

/// Whose open offers, across orders.
#[derive(Debug, Clone, Copy)]
pub enum Whose {
    /// A partner's or a volunteer's.
    Provider(Uuid),
    /// Those made under a contract.
    Contract(Uuid),
}

/// The open offers of a provider or under a contract, across orders.
pub async fn open_of_whom(db: &impl ConnectionTrait, whose: Whose) -> Stored<Vec<offer::Model>> {
    let filter = match whose {
        Whose::Provider(id) => offer::Column::ProviderId.eq(id),
        Whose::Contract(id) => offer::Column::ContractId.eq(id),
    };
    Ok(offer::Entity::find().filter(filter).filter(offer::Column::Status.eq(OfferStatus::Open)).all(db).await?)
}

/// Open offers whose accept window has passed, up to `limit`.
pub async fn due_to_expire(db: &impl ConnectionTrait, now: DateTime<Utc>, limit: u64) -> Stored<Vec<offer::Model>> {
    Ok(offer::Entity::find()
        .filter(offer::Column::Status.eq(OfferStatus::Open))
        .filter(offer::Column::AcceptBy.lte(now))
        .limit(limit)
        .all(db)
        .await?)
}
