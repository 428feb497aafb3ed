//! Closing the loop (闭环): the resident confirms a finished job or disputes it, a dispatcher
//! confirms after a follow-up call (回访) or resolves a dispute, and the job is rated once.
//! A volunteer's minutes count when the order closes. Each runs through the one pipeline
//! ([`super::pipeline`]).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shenbian_domain::order::ActorRole;
use shenbian_domain::rating::{Stars, check_comment};
use shenbian_domain::step::Step;
use utoipa::ToSchema;
use uuid::Uuid;

use super::access::seen_by_bearer_or;
use super::pipeline::{begin, refused};
use super::view::OrderView;
use crate::access::{ReasonBody, check_reason};
use crate::auth::Bearer;
use crate::entity::enums::ProviderKind;
use crate::entity::rating;
use crate::error::{ApiError, FieldIssue};
use crate::extract::{JsonBody, MaybeJson, Path};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmBody {
    /// What the resident said on the follow-up call (dispatchers).
    #[schema(max_length = 500)]
    note: Option<String>,
}

/// Confirm a completed job: the resident, or a dispatcher after a follow-up call (recorded
/// as such). The volunteer's minutes count from now.
#[utoipa::path(post, path = "/orders/{id}/confirm", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body(content = Option<ConfirmBody>), responses((status = 200, body = OrderView)))]
#[tracing::instrument(skip_all, fields(user_id, order_id = %id))]
pub async fn confirm(
    State(state): State<AppState>,
    caller: Bearer,
    Path(id): Path<Uuid>,
    MaybeJson(body): MaybeJson<ConfirmBody>,
) -> Result<Json<OrderView>, ApiError> {
    let ctx = begin(&state, &caller, id, None).await?;
    Ok(Json(ctx.run(Step::Confirm { note: body.note }).await?.view()))
}

/// Dispute a completed job, with a reason (the resident).
#[utoipa::path(post, path = "/orders/{id}/dispute", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = ReasonBody, responses((status = 200, body = OrderView)))]
#[tracing::instrument(skip_all, fields(user_id, order_id = %id))]
pub async fn dispute(
    State(state): State<AppState>,
    caller: Bearer,
    Path(id): Path<Uuid>,
    JsonBody(body): JsonBody<ReasonBody>,
) -> Result<Json<OrderView>, ApiError> {
    let reason = seen_by_bearer_or(&state, &caller, id, body.checked()).await?;
    let ctx = begin(&state, &caller, id, None).await?;
    Ok(Json(ctx.run(Step::Dispute { reason }).await?.view()))
}

/// How a dispatcher settles a dispute.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// The job is done again: back to pending, to be dispatched anew.
    Redo,
    /// The job stands: the order closes (a volunteer's minutes count).
    Close,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    outcome: Resolution,
    #[schema(min_length = 1, max_length = 500)]
    reason: String,
}

/// Settle a dispute (the community's dispatchers): redo or close.
#[utoipa::path(post, path = "/orders/{id}/resolve", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = ResolveBody, responses((status = 200, body = OrderView)))]
#[tracing::instrument(skip_all, fields(user_id, order_id = %id))]
pub async fn resolve(
    State(state): State<AppState>,
    caller: Bearer,
    Path(id): Path<Uuid>,
    JsonBody(body): JsonBody<ResolveBody>,
) -> Result<Json<OrderView>, ApiError> {
    let reason = seen_by_bearer_or(&state, &caller, id, check_reason(&body.reason)).await?;
    let ctx = begin(&state, &caller, id, None).await?;
    let close = body.outcome == Resolution::Close;
    Ok(Json(ctx.run(Step::Resolve { close, reason }).await?.view()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingBody {
    #[schema(minimum = 1, maximum = 5)]
    stars: i64,
    #[schema(minimum = 1, maximum = 5)]
    timeliness: Option<i64>,
    #[schema(minimum = 1, maximum = 5)]
    attitude: Option<i64>,
    #[schema(minimum = 1, maximum = 5)]
    quality: Option<i64>,
    #[schema(max_length = 500)]
    comment: Option<String>,
}

#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct RatingView {
    pub id: Uuid,
    pub order_id: Uuid,
    pub provider_kind: ProviderKind,
    pub provider_id: Uuid,
    pub stars: i32,
    pub timeliness: Option<i32>,
    pub attitude: Option<i32>,
    pub quality: Option<i32>,
    /// Null when hidden by a dispatcher (abusive).
    pub comment: Option<String>,
    pub comment_hidden: bool,
    /// `app` (the resident) or `phone` (a dispatcher recorded it after a call).
    pub source: String,
    pub created_at: DateTime<Utc>,
}

impl RatingView {
    pub fn new(r: rating::Model, show_hidden: bool) -> Self {
        let comment = if r.comment_hidden && !show_hidden { None } else { r.comment };
        Self {
            id: r.id,
            order_id: r.order_id,
            provider_kind: r.provider_kind,
            provider_id: r.provider_id,
            stars: r.stars,
            timeliness: r.timeliness,
            attitude: r.attitude,
            quality: r.quality,
            comment,
            comment_hidden: r.comment_hidden,
            source: r.source,
            created_at: r.created_at,
        }
    }
}

/// Rate a completed or closed job, once: the resident in the app, or a dispatcher recording
/// a rating given by phone (marked as such). A second rating is 409.
#[utoipa::path(post, path = "/orders/{id}/rating", operation_id = "rate_order", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = RatingBody, responses((status = 201, body = RatingView)))]
#[tracing::instrument(skip_all, fields(user_id, order_id = %id))]
pub async fn rate(
    State(state): State<AppState>,
    caller: Bearer,
    Path(id): Path<Uuid>,
    JsonBody(body): JsonBody<RatingBody>,
) -> Result<(StatusCode, Json<RatingView>), ApiError> {
    let mut errors = Vec::new();
    let mut score = |field: &str, v: Option<i64>| match v.map(Stars::new) {
        Some(Ok(s)) => Some(i32::from(s.get())),
        Some(Err(e)) => {
            errors.push(FieldIssue::new(field, e));
            None
        }
        None => None,
    };
    let stars = score("stars", Some(body.stars));
    let (timeliness, attitude, quality) =
        (score("timeliness", body.timeliness), score("attitude", body.attitude), score("quality", body.quality));
    let comment = match body.comment.as_deref().map(check_comment) {
        Some(Ok(c)) if !c.is_empty() => Some(c),
        Some(Err(e)) => {
            errors.push(FieldIssue::new("comment", e));
            None
        }
        _ => None,
    };
    let checked = stars.filter(|_| errors.is_empty()).ok_or(ApiError::Validation(errors));
    let stars = seen_by_bearer_or(&state, &caller, id, checked).await?;
    let ctx = begin(&state, &caller, id, None).await?;
    let plan = ctx.plan(Step::Rate).map_err(refused)?;
    let (Some(kind), Some(provider_id)) = (ctx.read.order.provider_kind, ctx.read.order.provider_id) else {
        return Err(refused(shenbian_domain::step::StepRefusal::NoProviderToRate));
    };
    // The resident rates in the app; a dispatcher records a rating given by phone.
    let source = if plan.role == ActorRole::Resident { "app" } else { "phone" };
    let rating = rating::Model {
        id: Uuid::now_v7(),
        order_id: id,
        provider_kind: kind,
        provider_id,
        stars,
        timeliness,
        attitude,
        quality,
        comment,
        comment_hidden: false,
        source: source.to_owned(),
        rated_by: caller.user_id(),
        created_at: ctx.now,
    };
    ctx.apply(&plan, Some(&rating)).await?;
    Ok((StatusCode::CREATED, Json(RatingView::new(rating, true))))
}
