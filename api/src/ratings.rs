//! Providers' ratings (监督评价): the list with a Bayesian score, and dispatchers hiding an
//! abusive comment (audited; stars never change).

use axum::Json;
use axum::extract::State;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use shenbian_domain::rating::{PRIOR_MEAN, PRIOR_WEIGHT, bayesian_score};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::{ReasonBody, is_staff, is_staff_of};
use crate::audit::{self, Entry};
use crate::auth::{Principal, Staff};
use crate::db::begin_write;
use crate::entity::{order, partner, rating, volunteer};
use crate::error::ApiError;
use crate::extract::{JsonBody, Path, Query};
use crate::orders::closing::RatingView;
use crate::pagination::{PageParams, encode_cursor};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(provider_ratings)).routes(routes!(hide_comment))
}

/// A provider's standing from its ratings.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct RatingSummary {
    pub provider_id: Uuid,
    pub count: u64,
    /// Plain average of the stars; null without ratings.
    pub average: Option<f64>,
    /// Bayesian average: (5 × 4.0 + Σ stars) / (5 + n) — a provider starts as if it had five
    /// ratings of four stars.
    pub score: f64,
    pub prior_mean: f64,
    pub prior_weight: f64,
}

/// Ratings of one provider, newest first, with its summary.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct RatingPage {
    pub summary: RatingSummary,
    pub items: Vec<RatingView>,
    pub next_cursor: Option<String>,
}

/// A provider's score and ratings (anyone signed in). Hidden comments are shown to staff only.
#[utoipa::path(get, path = "/providers/{id}/ratings", tag = "ratings", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "a partner's or a volunteer's id"), PageParams),
    responses((status = 200, body = RatingPage)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn provider_ratings(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
    Query(params): Query<PageParams>,
) -> Result<Json<RatingPage>, ApiError> {
    let page = params.page()?;
    let db = state.db()?;
    let known = partner::Entity::find_by_id(id).one(db).await?.is_some()
        || volunteer::Entity::find_by_id(id).one(db).await?.is_some();
    if !known {
        return Err(ApiError::NotFound);
    }
    let all: Vec<i32> = rating::Entity::find()
        .select_only()
        .column(rating::Column::Stars)
        .filter(rating::Column::ProviderId.eq(id))
        .into_tuple()
        .all(db)
        .await?;
    let count = all.len() as u64;
    let sum: u64 = all.iter().map(|s| *s as u64).sum();
    let mut query = rating::Entity::find()
        .filter(rating::Column::ProviderId.eq(id))
        .order_by_desc(rating::Column::Id)
        .limit(page.limit + 1);
    if let Some(before) = page.after {
        query = query.filter(rating::Column::Id.lt(before));
    }
    let mut rows = query.all(db).await?;
    let more = rows.len() as u64 > page.limit;
    rows.truncate(page.limit as usize);
    let next_cursor = if more { rows.last().map(|r| encode_cursor(r.id)) } else { None };
    let staff = is_staff(&principal);
    Ok(Json(RatingPage {
        summary: RatingSummary {
            provider_id: id,
            count,
            average: (count > 0).then(|| sum as f64 / count as f64),
            score: bayesian_score(sum, count),
            prior_mean: PRIOR_MEAN,
            prior_weight: PRIOR_WEIGHT,
        },
        items: rows.into_iter().map(|r| RatingView::new(r, staff)).collect(),
        next_cursor,
    }))
}

/// Hide an abusive comment (the order's community dispatchers, admins); audited. The stars
/// stay as given.
#[utoipa::path(post, path = "/ratings/{id}/hide", tag = "ratings", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = ReasonBody, responses((status = 200, body = RatingView)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn hide_comment(
    State(state): State<AppState>,
    Staff { principal, .. }: Staff,
    Path(id): Path<Uuid>,
    JsonBody(body): JsonBody<ReasonBody>,
) -> Result<Json<RatingView>, ApiError> {
    let reason = body.checked()?;
    let now = state.now();
    let tx = begin_write(state.db()?).await?;
    let found = rating::Entity::find_by_id(id).one(&tx).await?.ok_or(ApiError::NotFound)?;
    let rated = order::Entity::find_by_id(found.order_id).one(&tx).await?.ok_or(ApiError::NotFound)?;
    if !is_staff_of(&principal, rated.community_id) {
        return Err(ApiError::NotFound);
    }
    let updated = rating::Entity::update_many()
        .col_expr(rating::Column::CommentHidden, Expr::value(true))
        .filter(rating::Column::Id.eq(id))
        .exec_with_returning(&tx)
        .await?
        .pop()
        .ok_or(ApiError::NotFound)?;
    audit::record(&tx, Entry::new(principal.user_id, "rating.hide_comment", "rating", id).with_reason(reason), now)
        .await?;
    tx.commit().await?;
    Ok(Json(RatingView::new(updated, true)))
}
