//! The window's orders counted by status (with the deadlines missed and the escalations),
//! by category, by channel and by urgency.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Asterisk, Expr, ExprTrait, Func, SelectStatement};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, Iterable};
use shenbian_domain::order::OrderStatus;
use uuid::Uuid;

use super::Window;
use super::sql::{col, count_if, rows, window_orders};
use crate::entity::enums::{Channel, OrderStatusDb, UrgencyDb};
use crate::entity::order;

/// The orders of one status, those of them that missed a deadline, and those escalated.
#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct StatusCount {
    pub status: OrderStatusDb,
    pub orders: i64,
    pub late: i64,
    pub escalated: i64,
}

#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct CategoryCount {
    pub category_code: String,
    pub orders: i64,
}

#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct ChannelCount {
    pub channel: Channel,
    pub orders: i64,
}

#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct UrgencyCount {
    pub urgency: UrgencyDb,
    pub orders: i64,
}

/// `SELECT {by}, COUNT(*) AS orders … GROUP BY {by}` over the window's orders.
fn counted_by(community: Uuid, w: &Window, by: order::Column) -> SelectStatement {
    window_orders(community, w)
        .expr_as(col(by), by)
        .expr_as(Func::count(Expr::col(Asterisk)), "orders")
        .add_group_by([col(by)])
        .to_owned()
}

/// Whether an order (not cancelled) missed a deadline as of `now`: dispatched late or
/// still waiting past the dispatch deadline, completed late or still open past the
/// completion deadline.
fn late(now: DateTime<Utc>) -> Expr {
    let status = || col(order::Column::Status);
    let waiting = [OrderStatusDb::Pending, OrderStatusDb::Offered];
    let holding = OrderStatusDb::iter().filter(|s| OrderStatus::from(*s).holds_capacity());
    let (dispatched, dispatch_by) = (|| col(order::Column::FirstDispatchedAt), || col(order::Column::DispatchBy));
    let (completed, complete_by) = (|| col(order::Column::CompletedAt), || col(order::Column::CompleteBy));
    status().ne(OrderStatusDb::Cancelled).and(
        dispatched()
            .gt(dispatch_by())
            .or(dispatched().is_null().and(dispatch_by().lt(now)).and(status().is_in(waiting)))
            .or(completed().gt(complete_by()))
            .or(completed().is_null().and(complete_by().lt(now)).and(status().is_in(holding))),
    )
}

/// The window's orders by status, with those that missed a deadline as of `now` and those
/// escalated to the dispatchers.
pub async fn by_status(
    db: &impl ConnectionTrait,
    community: Uuid,
    w: &Window,
    now: DateTime<Utc>,
) -> Result<Vec<StatusCount>, DbErr> {
    let query = counted_by(community, w, order::Column::Status)
        .expr_as(count_if(late(now)), "late")
        .expr_as(count_if(col(order::Column::EscalationLevel).gt(0)), "escalated")
        .to_owned();
    rows(db, &query).await
}

pub async fn by_category(db: &impl ConnectionTrait, community: Uuid, w: &Window) -> Result<Vec<CategoryCount>, DbErr> {
    rows(db, &counted_by(community, w, order::Column::CategoryCode)).await
}

pub async fn by_channel(db: &impl ConnectionTrait, community: Uuid, w: &Window) -> Result<Vec<ChannelCount>, DbErr> {
    rows(db, &counted_by(community, w, order::Column::Channel)).await
}

pub async fn by_urgency(db: &impl ConnectionTrait, community: Uuid, w: &Window) -> Result<Vec<UrgencyCount>, DbErr> {
    rows(db, &counted_by(community, w, order::Column::Urgency)).await
}
