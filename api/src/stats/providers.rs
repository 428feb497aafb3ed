//! A provider's own record over a window of local dates: the offers made to it, the jobs it
//! completed and the ratings it received, each counted from an index that holds every
//! column it reads; and, as of now, its load and this month's quota use.

use axum::Json;
use axum::extract::State;
use chrono::NaiveDate;
use sea_orm::sea_query::{Asterisk, Expr, ExprTrait, Func, JoinType, Order, SelectStatement};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, QuerySelect};
use serde::Serialize;
use shenbian_domain::figures::ratio;
use shenbian_domain::rating::bayesian_score;
use utoipa::ToSchema;
use uuid::Uuid;

use super::sql::{count, count_if, rows};
use super::{DateRange, Window, window};
use crate::access::{is_staff, is_staff_of, membership};
use crate::auth::Principal;
use crate::entity::enums::{ContractStatusDb, OfferStatus, ProviderKind};
use crate::entity::{contract, contract_usage, offer, order, partner, rating, volunteer};
use crate::error::ApiError;
use crate::extract::{Path, Query};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaUse {
    pub contract_id: Uuid,
    pub month: String,
    pub used: u64,
    pub quota: Option<i32>,
}

/// A provider's record over a window of local dates: the offers made to it, the jobs it
/// completed and the ratings it received in the window; its load and quota use now.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderFigures {
    pub provider_id: Uuid,
    pub kind: ProviderKind,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub timezone: String,
    /// Offers made in the window.
    pub offers: u64,
    /// Accepted among the window's offers decided (accepted, declined or expired).
    pub acceptance_rate: Option<f64>,
    /// Jobs completed in the window.
    pub completed: u64,
    /// Completed by the deadline, among those completed.
    pub on_time_rate: Option<f64>,
    /// Ratings given in the window.
    pub ratings: u64,
    pub average_stars: Option<f64>,
    /// Bayesian score of the window's ratings (prior: five ratings of 4.0).
    pub score: f64,
    /// Accepted and in-progress jobs now, and the limit.
    pub open_jobs: i64,
    pub max_open_jobs: i64,
    /// This month's quota use per active contract (partners).
    pub quota_use: Vec<QuotaUse>,
}

/// The offers made to a provider in a window.
#[derive(Debug, Default, FromQueryResult)]
struct Offers {
    offers: i64,
    accepted: i64,
    /// Accepted, declined or expired.
    decided: i64,
}

/// The jobs a provider completed in a window.
#[derive(Debug, Default, FromQueryResult)]
struct Done {
    completed: i64,
    /// By the deadline.
    on_time: i64,
}

/// The ratings a provider received in a window.
#[derive(Debug, Default, FromQueryResult)]
struct Ratings {
    ratings: i64,
    /// NULL when nothing was rated.
    stars: Option<i64>,
}

/// An active contract of a partner, with this month's accepted jobs under it.
#[derive(Debug, FromQueryResult)]
struct ActiveContract {
    contract_id: Uuid,
    monthly_quota: Option<i32>,
    open_jobs: i32,
    max_open_jobs: i32,
    used: i32,
}

fn all() -> Expr {
    Func::count(Expr::col(Asterisk)).into()
}

/// The offers made in the window (`ix_offer_provider_created`).
async fn offers(db: &impl ConnectionTrait, id: Uuid, w: &Window) -> Result<Offers, DbErr> {
    let decided = [OfferStatus::Accepted, OfferStatus::Declined, OfferStatus::Expired];
    let row = offer::Entity::find()
        .select_only()
        .expr_as(all(), "offers")
        .expr_as(count_if(offer::Column::Status.eq(OfferStatus::Accepted)), "accepted")
        .expr_as(count_if(offer::Column::Status.is_in(decided)), "decided")
        .filter(offer::Column::ProviderId.eq(id))
        .filter(offer::Column::CreatedAt.gte(w.start))
        .filter(offer::Column::CreatedAt.lt(w.end))
        .into_model::<Offers>()
        .one(db)
        .await?;
    Ok(row.unwrap_or_default())
}

/// The jobs completed in the window (`ix_order_provider_completed`).
async fn done(db: &impl ConnectionTrait, id: Uuid, w: &Window) -> Result<Done, DbErr> {
    let row = order::Entity::find()
        .select_only()
        .expr_as(all(), "completed")
        .expr_as(count_if(order::Column::CompletedAt.into_expr().lte(order::Column::CompleteBy.into_expr())), "on_time")
        .filter(order::Column::ProviderId.eq(id))
        .filter(order::Column::CompletedAt.gte(w.start))
        .filter(order::Column::CompletedAt.lt(w.end))
        .into_model::<Done>()
        .one(db)
        .await?;
    Ok(row.unwrap_or_default())
}

/// The ratings given in the window (`ix_rating_provider_created`).
async fn ratings(db: &impl ConnectionTrait, id: Uuid, w: &Window) -> Result<Ratings, DbErr> {
    let row = rating::Entity::find()
        .select_only()
        .expr_as(all(), "ratings")
        // A SUM is a bigint on PostgreSQL and an integer on SQLite: one type on both.
        .expr_as(Func::cast_as(Func::sum(Expr::col(rating::Column::Stars)), "BIGINT"), "stars")
        .filter(rating::Column::ProviderId.eq(id))
        .filter(rating::Column::CreatedAt.gte(w.start))
        .filter(rating::Column::CreatedAt.lt(w.end))
        .into_model::<Ratings>()
        .one(db)
        .await?;
    Ok(row.unwrap_or_default())
}

/// A partner's active contracts with this month's use, in one query.
async fn active_contracts(
    db: &impl ConnectionTrait,
    partner_id: Uuid,
    month: &str,
) -> Result<Vec<ActiveContract>, DbErr> {
    let usage = |c: contract_usage::Column| Expr::col((contract_usage::Entity, c));
    let of = |c: contract::Column| Expr::col((contract::Entity, c));
    let query = SelectStatement::new()
        .expr_as(of(contract::Column::Id), "contract_id")
        .exprs([contract::Column::MonthlyQuota, contract::Column::OpenJobs, contract::Column::MaxOpenJobs].map(of))
        .expr_as(Func::coalesce([usage(contract_usage::Column::Accepted), Expr::val(0)]), "used")
        .from(contract::Entity)
        .join(
            JoinType::LeftJoin,
            contract_usage::Entity,
            usage(contract_usage::Column::ContractId)
                .equals((contract::Entity, contract::Column::Id))
                .and(usage(contract_usage::Column::Month).eq(month)),
        )
        .and_where(of(contract::Column::PartnerId).eq(partner_id))
        .and_where(of(contract::Column::Status).eq(ContractStatusDb::Active))
        .order_by((contract::Entity, contract::Column::Id), Order::Asc)
        .to_owned();
    rows(db, &query).await
}

/// A provider's record (staff; the partner's members; the volunteer themselves). The window
/// defaults to the last 30 days, like every figure; open jobs and quota use are as of now.
#[utoipa::path(get, path = "/stats/providers/{id}", tag = "figures", security(("bearer" = [])), params(("id" = Uuid, Path), DateRange),
    responses((status = 200, body = ProviderFigures)))]
#[tracing::instrument(skip_all, fields(user_id))]
pub async fn provider_stats(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
    Query(range): Query<DateRange>,
) -> Result<Json<ProviderFigures>, ApiError> {
    let w = window(&state, &range)?;
    let db = state.db()?;
    let staff = is_staff(&principal);
    let (kind, open_jobs, max_open_jobs, quota_use) = if partner::Entity::find_by_id(id).one(db).await?.is_some() {
        if !staff && membership(db, principal.user_id, id).await?.is_none() {
            return Err(ApiError::NotFound);
        }
        let month = crate::eligibility::month_key(state.today());
        let active = active_contracts(db, id, &month).await?;
        let open: i64 = active.iter().map(|c| i64::from(c.open_jobs)).sum();
        let max: i64 = active.iter().map(|c| i64::from(c.max_open_jobs)).sum();
        let uses = active
            .into_iter()
            .map(|c| QuotaUse {
                contract_id: c.contract_id,
                month: month.clone(),
                used: count(i64::from(c.used)),
                quota: c.monthly_quota,
            })
            .collect();
        (ProviderKind::Partner, open, max, uses)
    } else if let Some(v) = volunteer::Entity::find_by_id(id).one(db).await? {
        if v.user_id != principal.user_id && !is_staff_of(&principal, v.community_id) {
            return Err(ApiError::NotFound);
        }
        (ProviderKind::Volunteer, i64::from(v.open_jobs), i64::from(v.max_open_jobs), Vec::new())
    } else {
        return Err(ApiError::NotFound);
    };
    let (o, d, r) = (offers(db, id, &w).await?, done(db, id, &w).await?, ratings(db, id, &w).await?);
    let (ratings, stars) = (count(r.ratings), count(r.stars.unwrap_or(0)));
    Ok(Json(ProviderFigures {
        provider_id: id,
        kind,
        from: w.from,
        to: w.to,
        timezone: state.settings.timezone.clone(),
        offers: count(o.offers),
        acceptance_rate: ratio(count(o.accepted), count(o.decided)),
        completed: count(d.completed),
        on_time_rate: ratio(count(d.on_time), count(d.completed)),
        ratings,
        average_stars: ratio(stars, ratings),
        score: bayesian_score(stars, ratings),
        open_jobs,
        max_open_jobs,
        quota_use,
    }))
}
