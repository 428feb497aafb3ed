//! The steps of an order's life that providers and dispatchers take: dispatch, withdraw,
//! accept, decline, start, complete, release, reassign, cancel. Each handler checks its body,
//! then runs the step through the one pipeline ([`super::pipeline`]): read with the caller's
//! standing, the domain's plan, one guarded write. Two racing actors: one wins, the other
//! gets 409.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use shenbian_domain::order::Action;
use shenbian_domain::step::Step;
use utoipa::ToSchema;
use uuid::Uuid;

use super::access::seen_by_bearer_or;
use super::dispatch::eligible_offers;
use super::pipeline::begin;
use super::view::OrderView;
use crate::access::{ReasonBody, check_reason, text_field};
use crate::auth::Bearer;
use crate::error::{ApiError, t};
use crate::extract::{JsonBody, Lang, MaybeJson, Path};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DispatchBody {
    /// Partner or volunteer ids (never user ids): one for a directed offer, several (up to
    /// 20) for a broadcast where the first to accept wins.
    #[schema(min_items = 1, max_items = 20)]
    provider_ids: Vec<Uuid>,
    /// The accept window; else the contract's, else the category's for the urgency.
    #[schema(minimum = 1, maximum = 10080)]
    accept_within_minutes: Option<u32>,
}

/// Offer the order to one provider or several (the community's dispatchers). Every target is
/// checked; any that may not be offered it makes the whole dispatch `422 not_eligible`, with
/// the reasons per provider.
#[utoipa::path(post, path = "/orders/{id}/dispatch", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path),
    ("accept-language" = Option<String>, Header)), request_body = DispatchBody, responses((status = 200, body = OrderView)))]
#[tracing::instrument(skip_all, fields(user_id, order_id = %id))]
pub async fn dispatch(
    State(state): State<AppState>,
    caller: Bearer,
    lang: Lang,
    Path(id): Path<Uuid>,
    JsonBody(body): JsonBody<DispatchBody>,
) -> Result<Json<OrderView>, ApiError> {
    let mut targets = body.provider_ids.clone();
    targets.sort();
    targets.dedup();
    let checked = if targets.is_empty() || targets.len() > 20 {
        Err(ApiError::validation("provider_ids", t("须为 1 到 20 个服务方", "between 1 and 20 providers")))
    } else if body.accept_within_minutes.is_some_and(|m| !(1..=10_080).contains(&m)) {
        Err(ApiError::validation("accept_within_minutes", t("须在 1 到 10080 之间", "between 1 and 10080")))
    } else {
        Ok(())
    };
    seen_by_bearer_or(&state, &caller, id, checked).await?;
    let ctx = begin(&state, &caller, id, None).await?;
    ctx.may(Action::Dispatched)?;
    let offers = eligible_offers(&ctx, &targets, body.accept_within_minutes, state.today(), lang).await?;
    Ok(Json(ctx.run(Step::Dispatch { offers }).await?.view()))
}

/// Take back every open offer (the community's dispatchers); the order is pending again.
#[utoipa::path(post, path = "/orders/{id}/withdraw", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = ReasonBody, responses((status = 200, body = OrderView)))]
#[tracing::instrument(skip_all, fields(user_id, order_id = %id))]
pub async fn withdraw(
    State(state): State<AppState>,
    caller: Bearer,
    Path(id): Path<Uuid>,
    JsonBody(body): JsonBody<ReasonBody>,
) -> Result<Json<OrderView>, ApiError> {
    let reason = seen_by_bearer_or(&state, &caller, id, body.checked()).await?;
    let ctx = begin(&state, &caller, id, None).await?;
    Ok(Json(ctx.run(Step::Withdraw { reason }).await?.view()))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderChoice {
    /// Which of the caller's providers acts, when they act for several.
    provider_id: Option<Uuid>,
}

/// Accept an offer (the provider offered it). The first to accept wins; the other offers
/// close. Capacity and the contract's monthly quota are taken here.
#[utoipa::path(post, path = "/orders/{id}/accept", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body(content = Option<ProviderChoice>), responses((status = 200, body = OrderView)))]
#[tracing::instrument(skip_all, fields(user_id, order_id = %id))]
pub async fn accept(
    State(state): State<AppState>,
    caller: Bearer,
    Path(id): Path<Uuid>,
    MaybeJson(body): MaybeJson<ProviderChoice>,
) -> Result<Json<OrderView>, ApiError> {
    let ctx = begin(&state, &caller, id, body.provider_id).await?;
    Ok(Json(ctx.run(Step::Accept).await?.view()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclineBody {
    #[schema(min_length = 1, max_length = 500)]
    reason: String,
    provider_id: Option<Uuid>,
}

/// Decline an offer, with a reason (the provider offered it). Only the last open offer's
/// decline sends the order back to pending; declines in a broadcast never collide.
#[utoipa::path(post, path = "/orders/{id}/decline", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = DeclineBody, responses((status = 200, body = OrderView)))]
#[tracing::instrument(skip_all, fields(user_id, order_id = %id))]
pub async fn decline(
    State(state): State<AppState>,
    caller: Bearer,
    Path(id): Path<Uuid>,
    JsonBody(body): JsonBody<DeclineBody>,
) -> Result<Json<OrderView>, ApiError> {
    let reason = seen_by_bearer_or(&state, &caller, id, check_reason(&body.reason)).await?;
    let ctx = begin(&state, &caller, id, body.provider_id).await?;
    Ok(Json(ctx.run(Step::Decline { reason }).await?.view()))
}

/// Start the job (the assigned provider).
#[utoipa::path(post, path = "/orders/{id}/start", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body(content = Option<ProviderChoice>), responses((status = 200, body = OrderView)))]
#[tracing::instrument(skip_all, fields(user_id, order_id = %id))]
pub async fn start(
    State(state): State<AppState>,
    caller: Bearer,
    Path(id): Path<Uuid>,
    MaybeJson(body): MaybeJson<ProviderChoice>,
) -> Result<Json<OrderView>, ApiError> {
    let ctx = begin(&state, &caller, id, body.provider_id).await?;
    Ok(Json(ctx.run(Step::Start).await?.view()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteBody {
    /// What was done.
    #[schema(min_length = 1, max_length = 1000)]
    summary: String,
    /// Whole minutes worked; required for a volunteer's job (1–1440).
    #[schema(minimum = 1, maximum = 1440)]
    minutes: Option<u32>,
    provider_id: Option<Uuid>,
}

/// Complete the job with a summary and, for volunteers, the minutes worked (the assigned
/// provider). Capacity is given back.
#[utoipa::path(post, path = "/orders/{id}/complete", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = CompleteBody, responses((status = 200, body = OrderView)))]
#[tracing::instrument(skip_all, fields(user_id, order_id = %id))]
pub async fn complete(
    State(state): State<AppState>,
    caller: Bearer,
    Path(id): Path<Uuid>,
    JsonBody(body): JsonBody<CompleteBody>,
) -> Result<Json<OrderView>, ApiError> {
    let summary = text_field(&body.summary, 1, 1000).map_err(|e| ApiError::validation("summary", e));
    let summary = seen_by_bearer_or(&state, &caller, id, summary).await?;
    let ctx = begin(&state, &caller, id, body.provider_id).await?;
    Ok(Json(ctx.run(Step::Complete { summary, minutes: body.minutes }).await?.view()))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseBody {
    #[schema(min_length = 1, max_length = 500)]
    reason: String,
    provider_id: Option<Uuid>,
}

/// Give a job back, with a reason (the assigned provider): the order is pending again.
#[utoipa::path(post, path = "/orders/{id}/release", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = ReleaseBody, responses((status = 200, body = OrderView)))]
#[tracing::instrument(skip_all, fields(user_id, order_id = %id))]
pub async fn release(
    State(state): State<AppState>,
    caller: Bearer,
    Path(id): Path<Uuid>,
    JsonBody(body): JsonBody<ReleaseBody>,
) -> Result<Json<OrderView>, ApiError> {
    let reason = seen_by_bearer_or(&state, &caller, id, check_reason(&body.reason)).await?;
    let ctx = begin(&state, &caller, id, body.provider_id).await?;
    Ok(Json(ctx.run(Step::Release { reason }).await?.view()))
}

/// Take a job from its provider (a no-show), with a reason (the community's dispatchers).
#[utoipa::path(post, path = "/orders/{id}/reassign", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = ReasonBody, responses((status = 200, body = OrderView)))]
#[tracing::instrument(skip_all, fields(user_id, order_id = %id))]
pub async fn reassign(
    State(state): State<AppState>,
    caller: Bearer,
    Path(id): Path<Uuid>,
    JsonBody(body): JsonBody<ReasonBody>,
) -> Result<Json<OrderView>, ApiError> {
    let reason = seen_by_bearer_or(&state, &caller, id, body.checked()).await?;
    let ctx = begin(&state, &caller, id, None).await?;
    Ok(Json(ctx.run(Step::Reassign { reason }).await?.view()))
}

/// Cancel, with a reason: the resident before the job starts, a dispatcher any time before
/// completion. Open offers close; an accepted job gives its capacity back.
#[utoipa::path(post, path = "/orders/{id}/cancel", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = ReasonBody, responses((status = 200, body = OrderView)))]
#[tracing::instrument(skip_all, fields(user_id, order_id = %id))]
pub async fn cancel(
    State(state): State<AppState>,
    caller: Bearer,
    Path(id): Path<Uuid>,
    JsonBody(body): JsonBody<ReasonBody>,
) -> Result<Json<OrderView>, ApiError> {
    let reason = seen_by_bearer_or(&state, &caller, id, body.checked()).await?;
    let ctx = begin(&state, &caller, id, None).await?;
    Ok(Json(ctx.run(Step::Cancel { reason }).await?.view()))
}
