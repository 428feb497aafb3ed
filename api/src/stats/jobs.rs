//! The jobs the window's orders gave each provider: how many it completed, the minutes its
//! volunteers gave, and its name (the partner's, or the volunteer's display name) joined
//! once the jobs are counted, so that the list of those who did the most costs no query
//! per provider.

use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Func, JoinType, Query};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};
use shenbian_domain::figures::Completed;
use uuid::Uuid;

use super::Window;
use super::sql::{col, count, rows, window_orders};
use crate::entity::enums::{OrderStatusDb, ProviderKind};
use crate::entity::{order, partner, user, volunteer};

/// A provider's completed jobs among the window's orders.
#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct Jobs {
    pub provider_id: Uuid,
    pub provider_kind: Option<ProviderKind>,
    pub completed: i64,
    pub minutes: i64,
    /// The partner's name or the volunteer's display name; empty when neither is found.
    pub name: String,
}

impl Jobs {
    pub fn completed(&self) -> Completed {
        Completed { provider: self.provider_id, jobs: count(self.completed) }
    }
}

/// Every provider that completed one of the window's orders (not cancelled), with its
/// name.
pub async fn completed_by_provider(db: &impl ConnectionTrait, community: Uuid, w: &Window) -> Result<Vec<Jobs>, DbErr> {
    let done = window_orders(community, w)
        .expr_as(col(order::Column::ProviderId), "provider_id")
        .expr_as(col(order::Column::ProviderKind), "provider_kind")
        .expr_as(Func::count(Expr::col(Asterisk)), "completed")
        .expr_as(Func::sum(Func::coalesce([col(order::Column::Minutes), Expr::val(0)])), "minutes")
        .and_where(col(order::Column::Status).ne(OrderStatusDb::Cancelled))
        .and_where(col(order::Column::CompletedAt).is_not_null())
        .and_where(col(order::Column::ProviderId).is_not_null())
        .add_group_by([col(order::Column::ProviderId), col(order::Column::ProviderKind)])
        .to_owned();
    let t = Alias::new("t");
    let of_t = |name: &'static str| Expr::col((t.clone(), Alias::new(name)));
    let kind_is = |kind: ProviderKind| of_t("provider_kind").eq(kind);
    let query = Query::select()
        .exprs([of_t("provider_id"), of_t("provider_kind"), of_t("completed")])
        // A SUM is a bigint on PostgreSQL and an integer on SQLite: one type on both.
        .expr_as(Func::cast_as(of_t("minutes"), "BIGINT"), "minutes")
        .expr_as(
            Func::coalesce([
                Expr::col((partner::Entity, partner::Column::Name)),
                Expr::col((user::Entity, user::Column::DisplayName)),
                Expr::val(""),
            ]),
            "name",
        )
        .from_subquery(done, t.clone())
        .join(
            JoinType::LeftJoin,
            partner::Entity,
            Expr::col((partner::Entity, partner::Column::Id))
                .equals((t.clone(), Alias::new("provider_id")))
                .and(kind_is(ProviderKind::Partner)),
        )
        .join(
            JoinType::LeftJoin,
            volunteer::Entity,
            Expr::col((volunteer::Entity, volunteer::Column::Id))
                .equals((t.clone(), Alias::new("provider_id")))
                .and(kind_is(ProviderKind::Volunteer)),
        )
        .join(
            JoinType::LeftJoin,
            user::Entity,
            Expr::col((user::Entity, user::Column::Id)).equals((volunteer::Entity, volunteer::Column::UserId)),
        )
        .to_owned();
    rows(db, &query).await
}

/// How many volunteers completed jobs, and their minutes.
pub fn volunteers(jobs: &[Jobs]) -> (u64, i64) {
    jobs.iter()
        .filter(|j| j.provider_kind == Some(ProviderKind::Volunteer) && j.completed > 0)
        .fold((0, 0), |(n, m), j| (n + 1, m + j.minutes))
}
