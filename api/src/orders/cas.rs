//! The order's compare-and-set: how a step (and the worker's expiry and auto-confirm)
//! changes an order's row. The other writes of an order's row — the worker's escalation,
//! the erasure of a resident's data — are guarded updates of their own, and bump its
//! version too.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, Iterable, ModelTrait, QueryFilter};

use crate::entity::enums::OrderStatusDb;
use crate::entity::order;

/// Writes `after` over the order read as `before`, provided the row still has `before`'s
/// status and version; `after` is then the row as stored, and is returned. Only the columns
/// that differ are written, and nothing is read back: every write of an order's row bumps
/// its version, so a row that still has the version read is the row read.
///
/// When the row moved meanwhile, nothing is written and the answer is `None` (for a
/// request, 409: [`super::steps::lost_race`]).
pub async fn compare_and_set(
    db: &impl ConnectionTrait,
    before: &order::Model,
    after: order::Model,
) -> Result<Option<order::Model>, DbErr> {
    debug_assert_eq!(before.id, after.id);
    debug_assert!(after.version > before.version, "a write of an order's row bumps its version");
    let mut update = order::Entity::update_many();
    for column in order::Column::iter() {
        let value = after.get(column);
        if before.get(column) != value {
            update = update.col_expr(column, Expr::value(value));
        }
    }
    let written = update
        .filter(order::Column::Id.eq(before.id))
        .filter(order::Column::Status.eq(before.status))
        .filter(order::Column::Version.eq(before.version))
        .exec(db)
        .await?
        .rows_affected;
    Ok((written == 1).then_some(after))
}

/// The order with no provider: kind, provider, contract and the times of its acceptance
/// cleared (release, reassign, a dispute resolved by a redo).
pub fn unassigned(o: &mut order::Model) {
    o.provider_kind = None;
    o.provider_id = None;
    o.contract_id = None;
    o.accepted_at = None;
    o.complete_by = None;
}

/// An offered order whose last open offer closed, pending again (as of `at`).
pub fn back_to_pending(o: &order::Model, at: DateTime<Utc>) -> order::Model {
    order::Model {
        status: OrderStatusDb::Pending,
        version: o.version + 1,
        accept_by: None,
        updated_at: at,
        ..o.clone()
    }
}
