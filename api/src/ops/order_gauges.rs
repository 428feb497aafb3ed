//! The orders' gauges of `/metrics`, read from the database when scraped: two grouped
//! counts, whatever the number of orders.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ColumnTrait, Condition, DatabaseConnection, DbErr, EntityTrait, QuerySelect};
use shenbian_domain::order::OrderStatus;
use uuid::Uuid;

use crate::entity::enums::OrderStatusDb;
use crate::entity::order;
use crate::metrics::header;

const WAITING: [OrderStatusDb; 2] = [OrderStatusDb::Pending, OrderStatusDb::Offered];
const HOLDING: [OrderStatusDb; 2] = [OrderStatusDb::Accepted, OrderStatusDb::InProgress];

/// Overdue to dispatch, overdue to complete, late to dispatch, late to complete (`SUM`s:
/// none over no rows).
type Counts = (Option<i64>, Option<i64>, Option<i64>, Option<i64>);

/// Orders by community and status; open orders past their dispatch or completion deadline;
/// orders that missed a deadline (dispatched or completed late, or still open past it), as
/// the public figures count them.
pub async fn render(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<String, DbErr> {
    let mut out = String::new();
    let by_status: Vec<(Uuid, OrderStatusDb, i64)> = order::Entity::find()
        .select_only()
        .column(order::Column::CommunityId)
        .column(order::Column::Status)
        .column_as(order::Column::Id.count(), "n")
        .group_by(order::Column::CommunityId)
        .group_by(order::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    header(&mut out, "shenbian_orders", "gauge", "Orders, by community and status.");
    for (community, status, n) in by_status {
        let status = OrderStatus::from(status).as_str();
        let _ = writeln!(out, "shenbian_orders{{community=\"{community}\",status=\"{status}\"}} {n}");
    }

    use order::Column as C;
    let not_cancelled = || C::Status.ne(OrderStatusDb::Cancelled);
    let overdue_dispatch = Condition::all().add(C::Status.is_in(WAITING)).add(C::DispatchBy.lt(now));
    let overdue_completion = Condition::all().add(C::Status.is_in(HOLDING)).add(C::CompleteBy.lt(now));
    let late_dispatch = Condition::any()
        .add(Expr::col(C::FirstDispatchedAt).gt(Expr::col(C::DispatchBy)))
        .add(overdue_dispatch.clone().add(C::FirstDispatchedAt.is_null()));
    let late_completion = Condition::any()
        .add(Expr::col(C::CompletedAt).gt(Expr::col(C::CompleteBy)))
        .add(overdue_completion.clone().add(C::CompletedAt.is_null()));
    let count_if = |cond: Condition| {
        let case = Expr::case(Condition::all().add(cond).add(not_cancelled()), 1).finally(0);
        Expr::from(Func::cast_as(Func::sum(case), sea_orm::sea_query::Alias::new("BIGINT")))
    };
    let counts: Option<Counts> = order::Entity::find()
        .select_only()
        .column_as(count_if(overdue_dispatch), "overdue_dispatch")
        .column_as(count_if(overdue_completion), "overdue_completion")
        .column_as(count_if(late_dispatch), "late_dispatch")
        .column_as(count_if(late_completion), "late_completion")
        .into_tuple()
        .one(db)
        .await?;
    let (overdue_dispatch, overdue_completion, late_dispatch, late_completion) = counts.unwrap_or_default();
    header(&mut out, "shenbian_orders_overdue", "gauge", "Open orders past their deadline, by stage.");
    let _ = writeln!(out, "shenbian_orders_overdue{{stage=\"dispatch\"}} {}", overdue_dispatch.unwrap_or(0));
    let _ = writeln!(out, "shenbian_orders_overdue{{stage=\"completion\"}} {}", overdue_completion.unwrap_or(0));
    header(
        &mut out,
        "shenbian_orders_sla_breaches",
        "gauge",
        "Orders that missed a deadline (late, or open past it), by stage; cancelled orders excepted.",
    );
    let _ = writeln!(out, "shenbian_orders_sla_breaches{{stage=\"dispatch\"}} {}", late_dispatch.unwrap_or(0));
    let _ = writeln!(out, "shenbian_orders_sla_breaches{{stage=\"completion\"}} {}", late_completion.unwrap_or(0));
    Ok(out)
}
