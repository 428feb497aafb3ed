//! Closing the loop (闭环): the resident confirms a finished job or disputes it, a dispatcher
//! confirms after a follow-up call (回访) or resolves a dispute, and the job is rated once.
//! A volunteer's minutes count when the order is confirmed.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, LockType, Query as SqlQuery, QueryStatementBuilder, ReturningClause};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, FromQueryResult, Iterable,
    ModelTrait,
};
use serde::{Deserialize, Serialize};
use shenbian_domain::order::{Action, ActorRole, OrderStatus, Outcome, decide_as_any};
use shenbian_domain::rating::{Stars, check_comment};
use utoipa::ToSchema;
use uuid::Uuid;

use super::access::{resident_standing, seen_by_bearer_or};
use super::events::{NewEvent, append};
use super::steps::{Guard, begin, begin_first};
use super::view::OrderView;
use crate::access::{ReasonBody, check_reason};
use crate::auth::Bearer;
use crate::db::begin_write;
use crate::entity::enums::{OrderStatusDb, ProviderKind};
use crate::entity::{order, rating, volunteer_hour};
use crate::error::{ApiError, FieldIssue, t, violates_unique};
use crate::extract::{JsonBody, MaybeJson, Path};
use crate::state::AppState;

/// Counts a confirmed volunteer job's minutes in the ledger, in the confirming transaction.
pub async fn count_hours(db: &impl ConnectionTrait, o: &order::Model, at: DateTime<Utc>) -> Result<(), ApiError> {
    if let (Some(ProviderKind::Volunteer), Some(volunteer_id), Some(minutes)) =
        (o.provider_kind, o.provider_id, o.minutes)
    {
        volunteer_hour::Entity::insert(volunteer_hour::ActiveModel {
            id: Set(Uuid::now_v7()),
            volunteer_id: Set(volunteer_id),
            order_id: Set(Some(o.id)),
            minutes: Set(minutes),
            kind: Set("service".into()),
            reason: Set(None),
            created_by: Set(None),
            at: Set(at),
        })
        .exec(db)
        .await?;
    }
    Ok(())
}

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
    let ctx = begin_first(&state, &caller, id, Action::Confirmed, Guard::Resident, &[], state.now()).await?;
    // The resident's own confirmation first; a dispatcher's is a follow-up call.
    let roles: Vec<ActorRole> = ctx.standing.roles().into_iter().filter(|r| *r != ActorRole::Provider).collect();
    let (role, to) = shenbian_domain::order::decide_as_any(ctx.from(), Action::Confirmed, &roles, Outcome::Default)
        .map_err(super::steps::refusal)
        .map_err(|e| if ctx.standing.roles() == [ActorRole::Provider] { ApiError::Forbidden } else { e })?;
    let reason = match role {
        ActorRole::Dispatcher => Some(match body.note.as_deref().map(str::trim) {
            Some(note) if !note.is_empty() => format!("follow_up_call: {}", note.chars().take(480).collect::<String>()),
            _ => "follow_up_call".to_owned(),
        }),
        _ => None,
    };
    let updated = ctx.move_with(to, &[]).await?;
    count_hours(&ctx.tx, &updated, ctx.now).await?;
    let event = NewEvent::new(Action::Confirmed, Some(ctx.principal.user_id), role, ctx.from(), to).reason(reason);
    let standing = ctx.standing.clone();
    ctx.finish(updated, vec![event], standing).await
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
    let (role, to) = ctx.decide(Action::Disputed, Outcome::Default)?;
    let updated = ctx.move_to(to, |_| {}).await?;
    let event = NewEvent::new(Action::Disputed, Some(ctx.principal.user_id), role, ctx.from(), to).reason(Some(reason));
    let standing = ctx.standing.clone();
    ctx.finish(updated, vec![event], standing).await
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
    let outcome = if body.outcome == Resolution::Close { Outcome::Close } else { Outcome::Default };
    let (role, to) = ctx.decide(Action::Resolved, outcome)?;
    let updated = if to == OrderStatus::Pending {
        ctx.move_to(to, |o| {
            super::cas::unassigned(o);
            o.completed_at = None;
        })
        .await?
    } else {
        let closed = ctx.move_to(to, |_| {}).await?;
        count_hours(&ctx.tx, &closed, ctx.now).await?;
        closed
    };
    let mut event =
        NewEvent::new(Action::Resolved, Some(ctx.principal.user_id), role, ctx.from(), to).reason(Some(reason));
    event.provider_id = ctx.order.provider_id;
    let standing = ctx.standing.clone();
    ctx.finish(updated, vec![event], standing).await
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

/// A second rating of an order is 409.
fn rated_twice(e: DbErr) -> ApiError {
    if violates_unique(&e, "uq_rating_order", "ratings.order_id") {
        ApiError::conflict("already_rated", t("这张订单已经评价过", "this order has been rated"))
    } else {
        e.into()
    }
}

/// Rates a closed order write-first, as its resident in the app (`given`): the rating's
/// `INSERT … SELECT` from the order carries the session check, the order's state (closed,
/// with a provider) and its resident in its condition, takes the order's provider, and
/// locks the order's row on PostgreSQL as [`super::steps::Ctx::unchanged`] does; the
/// rating comes back with the caller's roles, and the domain decides on them as after a
/// read. `None` when no row went in or the domain decides otherwise (a resident who also
/// dispatches for the order's community rates "by phone"): nothing is written, and the
/// rating is made as before, after a read.
async fn rate_first(
    state: &AppState,
    caller: &Bearer,
    given: &rating::Model,
) -> Result<Option<rating::Model>, ApiError> {
    let pool = state.db()?;
    let tx = begin_write(pool).await?;
    let from = OrderStatus::Closed;
    let values = rating::Column::iter().map(|c| match c {
        rating::Column::ProviderKind => Expr::col((order::Entity, order::Column::ProviderKind)),
        rating::Column::ProviderId => Expr::col((order::Entity, order::Column::ProviderId)),
        c => Expr::val(given.get(c)),
    });
    let mut rated = SqlQuery::select();
    rated
        .exprs(values)
        .from(order::Entity)
        .and_where(order::Column::Id.eq(given.order_id))
        .and_where(order::Column::Status.eq(OrderStatusDb::from(from)))
        .and_where(order::Column::ResidentId.eq(caller.user_id()))
        .and_where(order::Column::ProviderId.is_not_null())
        .and_where(caller.live_session(given.created_at));
    if tx.get_database_backend() == DatabaseBackend::Postgres {
        rated.lock(LockType::Update);
    }
    // The order's community, named apart from the rating's columns.
    let community = SqlQuery::select()
        .expr_as(Expr::col(order::Column::CommunityId), "order_community_id")
        .from(order::Entity)
        .and_where(order::Column::Id.eq(given.order_id))
        .to_owned();
    let mut returning: Vec<Expr> = rating::Column::iter().map(|c| c.select_as(Expr::col(c))).collect();
    let columns = returning.len();
    returning.extend(caller.caller_user());
    returning.push(Expr::SubQuery(None, Box::new(community.into_sub_query_statement())));
    let mut insert = SqlQuery::insert();
    insert
        .into_table(rating::Entity)
        .columns(rating::Column::iter())
        .select_from(rated)
        .map_err(ApiError::internal)?
        .returning(ReturningClause::Exprs(returning));
    let Some(row) = tx.query_one(&insert).await.map_err(rated_twice)? else {
        tx.rollback().await?;
        return Ok(None);
    };
    let created = rating::Model::from_query_result(&row, "")?;
    let roles: Option<String> = row.try_get_by_index(columns)?;
    let community_id: Option<Uuid> = row.try_get_by_index(columns + 1)?;
    let order_community: Uuid = row.try_get_by_index(columns + 2)?;
    let principal = caller.checked(roles.as_deref(), community_id);
    let standing = resident_standing(&principal, order_community);
    let decided = decide_as_any(from, Action::Rated, &standing.roles(), Outcome::Default);
    let Ok((role @ ActorRole::Resident, to)) = decided else {
        tx.rollback().await?;
        return Ok(None);
    };
    let event = NewEvent::new(Action::Rated, Some(principal.user_id), role, from, to).provider(created.provider_id);
    append(&tx, created.order_id, vec![event], created.created_at).await?;
    tx.commit().await?;
    Ok(Some(created))
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
    let now = state.now();
    // The rating as the resident gives it in the app; the provider is the order's.
    let given = rating::Model {
        id: Uuid::now_v7(),
        order_id: id,
        provider_kind: ProviderKind::Partner,
        provider_id: Uuid::nil(),
        stars,
        timeliness,
        attitude,
        quality,
        comment,
        comment_hidden: false,
        source: "app".to_owned(),
        rated_by: caller.user_id(),
        created_at: now,
    };
    if let Some(created) = rate_first(&state, &caller, &given).await? {
        return Ok((StatusCode::CREATED, Json(RatingView::new(created, true))));
    }
    let ctx = begin(&state, &caller, id, None).await?;
    let roles: Vec<ActorRole> = ctx.standing.roles().into_iter().filter(|r| *r != ActorRole::Provider).collect();
    let (role, to) = shenbian_domain::order::decide_as_any(ctx.from(), Action::Rated, &roles, Outcome::Default)
        .map_err(super::steps::refusal)
        .map_err(|e| if roles.is_empty() { ApiError::Forbidden } else { e })?;
    let (Some(kind), Some(provider_id)) = (ctx.order.provider_kind, ctx.order.provider_id) else {
        return Err(ApiError::InvalidTransition(t("这张订单没有可评价的服务方", "the order has no provider to rate")));
    };
    let source = if role == ActorRole::Resident { "app" } else { "phone" };
    // The rating goes in only while the order is as read: the step's compare-and-set and
    // its one write in one statement.
    let created = rating::Model {
        provider_kind: kind,
        provider_id,
        source: source.to_owned(),
        rated_by: ctx.principal.user_id,
        created_at: ctx.now,
        ..given
    };
    let columns: Vec<rating::Column> = rating::Column::iter().collect();
    let values: Vec<Expr> = columns.iter().map(|c| Expr::val(created.get(*c))).collect();
    let insert = SqlQuery::insert()
        .into_table(rating::Entity)
        .columns(columns)
        .select_from(SqlQuery::select().exprs(values).and_where(ctx.unchanged()).to_owned())
        .map_err(ApiError::internal)?
        .to_owned();
    let inserted = ctx.tx.execute(&insert).await.map_err(rated_twice)?;
    if inserted.rows_affected() != 1 {
        return Err(super::steps::lost_race());
    }
    let event = NewEvent::new(Action::Rated, Some(ctx.principal.user_id), role, ctx.from(), to).provider(provider_id);
    append(&ctx.tx, id, vec![event], ctx.now).await?;
    ctx.tx.commit().await?;
    Ok((StatusCode::CREATED, Json(RatingView::new(created, true))))
}
