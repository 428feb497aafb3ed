//! `/webhooks`: the district's admins manage the district's endpoints, a partner's admins
//! their partner's. Anyone else sees none: a stranger's endpoint is a 404.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde::{Deserialize, Serialize};
use shenbian_domain::Role;
use shenbian_domain::order::Action;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::deliver::check_target;
use super::sign::new_secret;
use crate::audit::{self, Entry};
use crate::auth::Principal;
use crate::db::begin_write;
use crate::entity::enums::MemberRole;
use crate::entity::{community, event_counter, partner_member, webhook, webhook_attempt};
use crate::error::{ApiError, t};
use crate::extract::{Fields, JsonBody, Path, Query};
use crate::pagination::{PageParams, Paginated, decode_text_cursor, encode_text_cursor};
use crate::state::AppState;

/// A rotated-out secret keeps signing beside the new one for this long.
pub const ROTATION_OVERLAP: Duration = Duration::hours(24);
/// Endpoints one owner (the district, or a partner) may have.
pub const MAX_PER_OWNER: u64 = 10;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get_one, patch, delete))
        .routes(routes!(attempts))
        .routes(routes!(replay))
}

/// An endpoint, without its secret.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookView {
    pub id: Uuid,
    /// The partner whose events it receives; null for the district's.
    pub partner_id: Option<Uuid>,
    pub url: String,
    pub description: String,
    /// The event types wanted (`order.accepted`, …); empty: all.
    pub event_types: Vec<String>,
    /// The communities wanted; empty: all.
    pub community_ids: Vec<Uuid>,
    pub enabled: bool,
    /// Why it was switched off: `gone` (the receiver answered 410), `failing` (five days of
    /// failures), `owner` (switched off by its owner).
    pub disabled_reason: Option<String>,
    /// The feed cursor of the last event delivered.
    pub delivered_cursor: String,
    /// Failed attempts in a row at the next event.
    pub failures: i32,
    pub failing_since: Option<DateTime<Utc>>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<webhook::Model> for WebhookView {
    fn from(w: webhook::Model) -> Self {
        Self {
            id: w.id,
            partner_id: w.partner_id,
            url: w.url,
            description: w.description,
            event_types: w.event_types.split_whitespace().map(str::to_owned).collect(),
            community_ids: w.community_ids.split_whitespace().filter_map(|c| c.parse().ok()).collect(),
            enabled: w.enabled,
            disabled_reason: w.disabled_reason,
            delivered_cursor: encode_text_cursor(&w.delivered_seq.to_string()),
            failures: w.failures,
            failing_since: w.failing_since,
            next_attempt_at: w.next_attempt_at,
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

/// An endpoint with its signing secret: shown when it is made and when it is rotated, never
/// again.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// `whsec_…`: verify `webhook-signature` with it (Standard Webhooks).
    pub secret: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// `https://…` (or `http://…`) that receives `POST`s.
    #[schema(max_length = 2000)]
    pub url: String,
    #[serde(default)]
    #[schema(max_length = 200)]
    pub description: String,
    /// Event types wanted (`order.dispatched`, `order.accepted`, …); empty or absent: all.
    #[serde(default)]
    pub event_types: Vec<String>,
    /// Communities wanted; empty or absent: all.
    #[serde(default)]
    pub community_ids: Vec<Uuid>,
    /// The partner whose events to receive (its admins only); absent: the district's (admins).
    pub partner_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    #[schema(max_length = 2000)]
    pub url: Option<String>,
    #[schema(max_length = 200)]
    pub description: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub community_ids: Option<Vec<Uuid>>,
    /// Switch on (clears its failures and delivers from where it stopped) or off.
    pub enabled: Option<bool>,
    /// A new secret (answered once); the old one keeps signing beside it for 24 hours.
    #[serde(default)]
    pub rotate_secret: bool,
}

/// The partners the caller is an admin of.
async fn admin_of(db: &impl ConnectionTrait, user: Uuid) -> Result<Vec<Uuid>, ApiError> {
    Ok(partner_member::Entity::find()
        .filter(partner_member::Column::UserId.eq(user))
        .filter(partner_member::Column::Role.eq(MemberRole::Admin))
        .all(db)
        .await?
        .into_iter()
        .map(|m| m.partner_id)
        .collect())
}

/// The endpoints the caller manages.
async fn managed(db: &impl ConnectionTrait, principal: &Principal) -> Result<Condition, ApiError> {
    let mut scope = Condition::any().add(webhook::Column::PartnerId.is_in(admin_of(db, principal.user_id).await?));
    if principal.has(Role::Admin) {
        scope = scope.add(webhook::Column::PartnerId.is_null());
    }
    Ok(scope)
}

/// One endpoint the caller manages; 404 for any other.
async fn find_managed(db: &impl ConnectionTrait, principal: &Principal, id: Uuid) -> Result<webhook::Model, ApiError> {
    webhook::Entity::find_by_id(id).filter(managed(db, principal).await?).one(db).await?.ok_or(ApiError::NotFound)
}

/// Checks a URL, event types and communities; pushes each problem to `fields`.
async fn check_body(
    state: &AppState,
    fields: &mut Fields,
    url: Option<&str>,
    description: Option<&str>,
    event_types: Option<&[String]>,
    community_ids: Option<&[Uuid]>,
) -> Result<(), ApiError> {
    if let Some(url) = url {
        match reqwest::Url::parse(url) {
            _ if url.chars().count() > 2000 => fields.push("url", t("最长 2000 个字符", "at most 2000 characters")),
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                if u.host_str().is_some_and(|h| {
                    h.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>().is_ok()
                }) && let Err(refused) = check_target(url, state.settings.webhook_allow_private_targets).await
                {
                    fields.push("url", (format!("不允许的地址：{refused}"), refused));
                }
            }
            _ => fields.push("url", t("须为 http:// 或 https:// 开头的网址", "must be an http:// or https:// URL")),
        }
    }
    if description.is_some_and(|d| d.chars().count() > 200) {
        fields.push("description", t("最长 200 个字符", "at most 200 characters"));
    }
    if let Some(types) = event_types {
        let unknown: Vec<&str> = types
            .iter()
            .map(String::as_str)
            .filter(|t| !Action::ALL.iter().any(|a| t.strip_prefix("order.") == Some(a.as_str())))
            .collect();
        if types.len() > Action::ALL.len() || !unknown.is_empty() {
            fields.push(
                "event_types",
                (
                    format!("未知的事件类型：{}（应如 order.accepted）", unknown.join("、")),
                    format!("unknown event types: {} (expected e.g. order.accepted)", unknown.join(", ")),
                ),
            );
        }
    }
    if let Some(ids) = community_ids {
        if ids.len() > 100 {
            fields.push("community_ids", t("最多 100 个社区", "at most 100 communities"));
        } else if !ids.is_empty() {
            let found = community::Entity::find()
                .filter(community::Column::Id.is_in(ids.to_vec()))
                .select_only()
                .column(community::Column::Id)
                .into_tuple::<Uuid>()
                .all(state.db()?)
                .await?;
            if ids.iter().any(|id| !found.contains(id)) {
                fields.push("community_ids", t("没有这个社区", "no such community"));
            }
        }
    }
    Ok(())
}

fn joined<T: ToString>(items: &[T]) -> String {
    let mut items: Vec<String> = items.iter().map(ToString::to_string).collect();
    items.sort();
    items.dedup();
    items.join(" ")
}

/// Registers an endpoint; its secret is in the answer, and only there. It receives the
/// events committed from now on.
#[utoipa::path(post, path = "/webhooks", tag = "webhooks", security(("bearer" = [])), request_body = NewWebhook,
    responses((status = 201, body = WebhookWithSecret)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn create(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody<NewWebhook>,
) -> Result<(StatusCode, Json<WebhookWithSecret>), ApiError> {
    let db = state.db()?;
    match body.partner_id {
        None if !principal.has(Role::Admin) => return Err(ApiError::Forbidden),
        Some(p) if !admin_of(db, principal.user_id).await?.contains(&p) => {
            let member = partner_member::Entity::find_by_id((p, principal.user_id)).one(db).await?;
            return Err(if member.is_some() { ApiError::Forbidden } else { ApiError::NotFound });
        }
        _ => {}
    }
    let mut fields = Fields::default();
    check_body(
        &state,
        &mut fields,
        Some(&body.url),
        Some(&body.description),
        Some(&body.event_types),
        Some(&body.community_ids),
    )
    .await?;
    fields.finish()?;
    let owned = webhook::Entity::find()
        .filter(match body.partner_id {
            Some(p) => webhook::Column::PartnerId.eq(p),
            None => webhook::Column::PartnerId.is_null(),
        })
        .count(db)
        .await?;
    if owned >= MAX_PER_OWNER {
        return Err(ApiError::conflict(
            "too_many_webhooks",
            t("Webhook 数量已达上限（10 个）；请先删除不用的", "at most 10 webhooks per owner; delete one first"),
        ));
    }
    let now = state.now();
    let secret = new_secret();
    let tx = begin_write(db).await?;
    let head = event_counter::Entity::find_by_id(1).one(&tx).await?.map_or(0, |c| c.value);
    let created = webhook::Entity::insert(webhook::ActiveModel {
        id: Set(Uuid::now_v7()),
        partner_id: Set(body.partner_id),
        created_by: Set(principal.user_id),
        url: Set(body.url),
        description: Set(body.description),
        event_types: Set(joined(&body.event_types)),
        community_ids: Set(joined(&body.community_ids)),
        secret: Set(secret.clone()),
        previous_secret: Set(None),
        previous_secret_until: Set(None),
        enabled: Set(true),
        disabled_reason: Set(None),
        delivered_seq: Set(head),
        failures: Set(0),
        failing_since: Set(None),
        next_attempt_at: Set(None),
        lease_owner: Set(None),
        lease_until: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_with_returning(&tx)
    .await?;
    audit::record(&tx, Entry::new(principal.user_id, "webhook.create", "webhook", created.id), now).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(WebhookWithSecret { webhook: created.into(), secret })))
}

/// The endpoints the caller manages (the district's for admins, their partners' for
/// partner admins), oldest first.
#[utoipa::path(get, path = "/webhooks", tag = "webhooks", security(("bearer" = [])),
    responses((status = 200, body = Vec<WebhookView>)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn list(State(state): State<AppState>, principal: Principal) -> Result<Json<Vec<WebhookView>>, ApiError> {
    let db = state.db()?;
    let rows = webhook::Entity::find()
        .filter(managed(db, &principal).await?)
        .order_by_asc(webhook::Column::Id)
        .all(db)
        .await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

/// One endpoint.
#[utoipa::path(get, path = "/webhooks/{id}", tag = "webhooks", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = WebhookView)))]
#[tracing::instrument(skip_all, fields(user_id, webhook_id = %id))]
async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
) -> Result<Json<WebhookView>, ApiError> {
    Ok(Json(find_managed(state.db()?, &principal, id).await?.into()))
}

/// Changes an endpoint; switches it on or off; rotates its secret (the answer then carries
/// the new one; the old one signs beside it for 24 hours).
#[utoipa::path(patch, path = "/webhooks/{id}", tag = "webhooks", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = WebhookPatch, responses((status = 200, body = WebhookView)))]
#[tracing::instrument(skip_all, fields(user_id, webhook_id = %id))]
async fn patch(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
    JsonBody(body): JsonBody<WebhookPatch>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let db = state.db()?;
    let found = find_managed(db, &principal, id).await?;
    let mut fields = Fields::default();
    check_body(
        &state,
        &mut fields,
        body.url.as_deref(),
        body.description.as_deref(),
        body.event_types.as_deref(),
        body.community_ids.as_deref(),
    )
    .await?;
    fields.finish()?;
    let now = state.now();
    let mut update = webhook::Entity::update_many()
        .col_expr(webhook::Column::UpdatedAt, Expr::value(now))
        .filter(webhook::Column::Id.eq(found.id));
    if let Some(url) = body.url {
        update = update.col_expr(webhook::Column::Url, Expr::value(url));
    }
    if let Some(description) = body.description {
        update = update.col_expr(webhook::Column::Description, Expr::value(description));
    }
    if let Some(types) = &body.event_types {
        update = update.col_expr(webhook::Column::EventTypes, Expr::value(joined(types)));
    }
    if let Some(ids) = &body.community_ids {
        update = update.col_expr(webhook::Column::CommunityIds, Expr::value(joined(ids)));
    }
    match body.enabled {
        Some(true) if !found.enabled => {
            update = update
                .col_expr(webhook::Column::Enabled, Expr::value(true))
                .col_expr(webhook::Column::DisabledReason, Expr::value(Option::<String>::None))
                .col_expr(webhook::Column::Failures, Expr::value(0))
                .col_expr(webhook::Column::FailingSince, Expr::value(Option::<DateTime<Utc>>::None))
                .col_expr(webhook::Column::NextAttemptAt, Expr::value(Option::<DateTime<Utc>>::None));
        }
        Some(false) if found.enabled => {
            update = update
                .col_expr(webhook::Column::Enabled, Expr::value(false))
                .col_expr(webhook::Column::DisabledReason, Expr::value("owner"));
        }
        _ => {}
    }
    let secret = body.rotate_secret.then(new_secret);
    if let Some(secret) = &secret {
        update = update
            .col_expr(webhook::Column::Secret, Expr::value(secret.clone()))
            .col_expr(webhook::Column::PreviousSecret, Expr::value(found.secret.clone()))
            .col_expr(webhook::Column::PreviousSecretUntil, Expr::value(now + ROTATION_OVERLAP));
    }
    let tx = begin_write(db).await?;
    update.exec(&tx).await?;
    let action = if secret.is_some() { "webhook.rotate_secret" } else { "webhook.update" };
    audit::record(&tx, Entry::new(principal.user_id, action, "webhook", found.id), now).await?;
    let changed = webhook::Entity::find_by_id(found.id).one(&tx).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    let view = WebhookView::from(changed);
    let answer = match secret {
        Some(secret) => serde_json::to_value(WebhookWithSecret { webhook: view, secret }),
        None => serde_json::to_value(view),
    };
    Ok(Json(answer.map_err(ApiError::internal)?))
}

/// Deletes an endpoint and its attempts.
#[utoipa::path(delete, path = "/webhooks/{id}", tag = "webhooks", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 204, description = "deleted")))]
#[tracing::instrument(skip_all, fields(user_id, webhook_id = %id))]
async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    let db = state.db()?;
    let found = find_managed(db, &principal, id).await?;
    let now = state.now();
    let tx = begin_write(db).await?;
    webhook_attempt::Entity::delete_many().filter(webhook_attempt::Column::WebhookId.eq(found.id)).exec(&tx).await?;
    webhook::Entity::delete_by_id(found.id).exec(&tx).await?;
    audit::record(&tx, Entry::new(principal.user_id, "webhook.delete", "webhook", found.id), now).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// One delivery attempt.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AttemptView {
    pub id: i64,
    pub event_id: Uuid,
    /// The event's feed cursor.
    pub cursor: String,
    /// 1 for the first attempt at this event.
    pub attempt: i32,
    /// The receiver's HTTP status; null when no answer came (see `error`).
    pub status: Option<i32>,
    pub latency_ms: i32,
    pub error: Option<String>,
    /// The start of the receiver's answer (at most 500 characters).
    pub response_excerpt: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct AttemptParams {
    /// Items per page, 1–100 (default 20).
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// An endpoint's delivery attempts, newest first.
#[utoipa::path(get, path = "/webhooks/{id}/attempts", tag = "webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path), AttemptParams), responses((status = 200, body = Paginated<AttemptView>)))]
#[tracing::instrument(skip_all, fields(user_id, webhook_id = %id))]
async fn attempts(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
    Query(params): Query<AttemptParams>,
) -> Result<Json<Paginated<AttemptView>>, ApiError> {
    let (limit, before) = PageParams { limit: params.limit, cursor: params.cursor.clone() }.seq_page()?;
    let db = state.db()?;
    let found = find_managed(db, &principal, id).await?;
    let mut query = webhook_attempt::Entity::find().filter(webhook_attempt::Column::WebhookId.eq(found.id));
    if let Some(before) = before {
        query = query.filter(webhook_attempt::Column::Id.lt(before));
    }
    let mut rows = query.order_by_desc(webhook_attempt::Column::Id).limit(limit + 1).all(db).await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(|a| encode_text_cursor(&a.id.to_string())) } else { None };
    let items = rows
        .into_iter()
        .map(|a| AttemptView {
            id: a.id,
            event_id: a.event_id,
            cursor: encode_text_cursor(&a.seq.to_string()),
            attempt: a.attempt,
            status: a.status,
            latency_ms: a.latency_ms,
            error: a.error,
            response_excerpt: a.response_excerpt,
            at: a.at,
        })
        .collect();
    Ok(Json(Paginated { items, next_cursor }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Replay {
    /// A feed cursor (an event's `cursor`, a `delivered_cursor`, `/events`' `next_cursor`):
    /// the events after it are sent again, in order. Absent: from the start of the log.
    pub after: Option<String>,
}

/// Sends the events after a cursor again (in order, then onwards as usual), and switches
/// the endpoint on if it was off.
#[utoipa::path(post, path = "/webhooks/{id}/replay", tag = "webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = Replay, responses((status = 202, body = WebhookView)))]
#[tracing::instrument(skip_all, fields(user_id, webhook_id = %id))]
async fn replay(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
    JsonBody(body): JsonBody<Replay>,
) -> Result<(StatusCode, Json<WebhookView>), ApiError> {
    let db = state.db()?;
    let found = find_managed(db, &principal, id).await?;
    let after = match body.after.as_deref() {
        None | Some("") => 0,
        Some(c) => decode_text_cursor(c)
            .and_then(|s| s.parse::<i64>().ok())
            .filter(|s| *s >= 0)
            .ok_or_else(|| ApiError::validation("after", t("不是事件流给出的游标", "is not a cursor of the feed")))?,
    };
    let now = state.now();
    let tx = begin_write(db).await?;
    let head = event_counter::Entity::find_by_id(1).one(&tx).await?.map_or(0, |c| c.value);
    if after > head {
        return Err(ApiError::validation("after", t("该游标在事件流末尾之后", "is past the end of the feed")));
    }
    // The lease is dropped with the cursor: an instance delivering now finds its cursor
    // moved and stops.
    webhook::Entity::update_many()
        .col_expr(webhook::Column::DeliveredSeq, Expr::value(after))
        .col_expr(webhook::Column::Enabled, Expr::value(true))
        .col_expr(webhook::Column::DisabledReason, Expr::value(Option::<String>::None))
        .col_expr(webhook::Column::Failures, Expr::value(0))
        .col_expr(webhook::Column::FailingSince, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(webhook::Column::NextAttemptAt, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(webhook::Column::LeaseOwner, Expr::value(Option::<Uuid>::None))
        .col_expr(webhook::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(webhook::Column::UpdatedAt, Expr::value(now))
        .filter(webhook::Column::Id.eq(found.id))
        .exec(&tx)
        .await?;
    audit::record(&tx, Entry::new(principal.user_id, "webhook.replay", "webhook", found.id), now).await?;
    let changed = webhook::Entity::find_by_id(found.id).one(&tx).await?.ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok((StatusCode::ACCEPTED, Json(changed.into())))
}
