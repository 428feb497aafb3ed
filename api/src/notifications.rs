//! The inbox: `GET /me/notifications` and marking notices read.
//!
//! The notices of the life cycle are written by the database in the transaction of their
//! event (the trigger of migration 000014, from the domain's rule of who hears of what);
//! the worker adds the notices of the clock ([`remind`]): an offer expiring soon, a closed
//! order not yet rated. A notice is stored as its kind and subject; its words are made when
//! it is read, in the reader's language, with the order's number and service.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Statement,
};
use serde::{Deserialize, Serialize};
use shenbian_domain::notification::{Kind, Subject, message};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::Principal;
use crate::db::begin_write;
use crate::entity::{category, notification, offer, order};
use crate::error::{ApiError, t};
use crate::extract::{JsonBody, Query};
use crate::lang::Lang;
use crate::pagination::{PageParams, encode_text_cursor};
use crate::state::AppState;

/// An offer this close to its accept-by time earns its provider a reminder.
pub const OFFER_EXPIRING_WITHIN: Duration = Duration::minutes(10);
/// A closed order unrated this long after its confirmation earns its resident a reminder.
pub const RATE_REMINDER_AFTER: Duration = Duration::hours(24);
/// Reminders look back no further than this (older orders are left in peace).
const RATE_REMINDER_UNTIL: Duration = Duration::days(7);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(inbox)).routes(routes!(mark_read))
}

/// One notice, in the reader's language.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NotificationView {
    pub id: i64,
    /// `order.<action>` for a step of an order (`order.accepted`, `order.dispatched` — a new
    /// offer), `offer.expiring`, `order.rate_reminder`, `volunteer.applied`,
    /// `webhook.failing`, `webhook.disabled`.
    pub kind: String,
    /// The words to show (zh-CN, or English with `Accept-Language: en`).
    pub text: String,
    pub order_id: Option<Uuid>,
    /// The order's number (`XFL-20261205-0042`).
    pub order_number: Option<String>,
    /// The event, offer, volunteer application or webhook the notice is about.
    pub subject_id: Option<Uuid>,
    pub at: DateTime<Utc>,
    pub read: bool,
}

/// A page of the inbox, newest first, with the count of unread notices.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InboxPage {
    pub items: Vec<NotificationView>,
    /// Pass as `cursor` for the next (older) page; null on the last page.
    pub next_cursor: Option<String>,
    /// Unread notices in the whole inbox.
    pub unread: u64,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct InboxParams {
    /// Items per page, 1–100 (default 20).
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only unread notices.
    pub unread: Option<bool>,
}

/// The caller's notices, newest first.
#[utoipa::path(get, path = "/me/notifications", tag = "me", security(("bearer" = [])), params(InboxParams),
    responses((status = 200, body = InboxPage)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn inbox(
    State(state): State<AppState>,
    principal: Principal,
    lang: Lang,
    Query(params): Query<InboxParams>,
) -> Result<Json<InboxPage>, ApiError> {
    let (limit, before) = PageParams { limit: params.limit, cursor: params.cursor.clone() }.seq_page()?;
    let db = state.db()?;
    let mine = notification::Entity::find().filter(notification::Column::UserId.eq(principal.user_id));
    let mut query = mine.clone();
    if let Some(before) = before {
        query = query.filter(notification::Column::Id.lt(before));
    }
    if params.unread == Some(true) {
        query = query.filter(notification::Column::ReadAt.is_null());
    }
    let mut rows = query.order_by_desc(notification::Column::Id).limit(limit + 1).all(db).await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let unread = mine.filter(notification::Column::ReadAt.is_null()).count(db).await?;
    let next_cursor = if more { rows.last().map(|n| encode_text_cursor(&n.id.to_string())) } else { None };
    let items = render(&state, lang, rows).await?;
    Ok(Json(InboxPage { items, next_cursor, unread }))
}

/// The words of each notice, with its order's number and service and an offer's deadline.
async fn render(
    state: &AppState,
    lang: Lang,
    rows: Vec<notification::Model>,
) -> Result<Vec<NotificationView>, ApiError> {
    let db = state.db()?;
    let order_ids: Vec<Uuid> = rows.iter().filter_map(|n| n.order_id).collect();
    let orders: HashMap<Uuid, order::Model> = order::Entity::find()
        .filter(order::Column::Id.is_in(order_ids.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    let codes: Vec<String> = orders.values().map(|o| o.category_code.clone()).collect();
    let services: HashMap<String, category::Model> = category::Entity::find()
        .filter(category::Column::Code.is_in(codes))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.code.clone(), c))
        .collect();
    let offered = rows.iter().any(|n| matches!(n.kind.as_str(), "order.dispatched" | "offer.expiring"));
    let offers = if offered {
        offer::Entity::find().filter(offer::Column::OrderId.is_in(order_ids)).all(db).await?
    } else {
        Vec::new()
    };
    let english = lang == Lang::En;
    let zone = state.timezone();
    Ok(rows
        .into_iter()
        .map(|n| {
            let order = n.order_id.and_then(|id| orders.get(&id));
            // The offer a notice speaks of: named (an expiry reminder), else the order's
            // latest made by the notice's time (a new offer).
            let deadline = match n.kind.as_str() {
                "offer.expiring" => offers.iter().find(|o| Some(o.id) == n.subject_id),
                "order.dispatched" => offers
                    .iter()
                    .filter(|o| Some(o.order_id) == n.order_id && o.created_at <= n.at)
                    .max_by_key(|o| o.created_at),
                _ => None,
            }
            .map(|o| o.accept_by.with_timezone(&zone).format("%m-%d %H:%M").to_string());
            let subject = Subject {
                order_no: order.and_then(|o| o.number.clone()),
                service: order
                    .and_then(|o| services.get(&o.category_code))
                    .map(|c| if english { c.name_en.clone() } else { c.name_zh.clone() }),
                deadline,
            };
            let text = Kind::parse(&n.kind).map(|k| message(k, &subject).text(english).to_owned()).unwrap_or_default();
            NotificationView {
                id: n.id,
                kind: n.kind,
                text,
                order_id: n.order_id,
                order_number: subject.order_no,
                subject_id: n.subject_id,
                at: n.at,
                read: n.read_at.is_some(),
            }
        })
        .collect())
}

/// Which notices to mark read: some by id, or all.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkRead {
    /// Notices to mark read (at most 100); ids not in the caller's inbox are ignored.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub ids: Vec<i64>,
    /// Mark every notice read.
    #[serde(default)]
    pub all: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Unread {
    /// Unread notices left.
    pub unread: u64,
}

/// Marks notices read; answers how many stay unread.
#[utoipa::path(post, path = "/me/notifications/read", tag = "me", security(("bearer" = [])), request_body = MarkRead,
    responses((status = 200, body = Unread)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn mark_read(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody<MarkRead>,
) -> Result<Json<Unread>, ApiError> {
    if body.ids.len() > 100 {
        return Err(ApiError::validation("ids", t("一次最多 100 条", "at most 100 at a time")));
    }
    if body.ids.is_empty() && !body.all {
        return Err(ApiError::validation("ids", t("请给出通知编号，或设置 all", "give ids, or set all")));
    }
    let db = state.db()?;
    let tx = begin_write(db).await?;
    let mut update = notification::Entity::update_many()
        .col_expr(notification::Column::ReadAt, Expr::value(state.now()))
        .filter(notification::Column::UserId.eq(principal.user_id))
        .filter(notification::Column::ReadAt.is_null());
    if !body.all {
        update = update.filter(notification::Column::Id.is_in(body.ids));
    }
    update.exec(&tx).await?;
    tx.commit().await?;
    let unread = notification::Entity::find()
        .filter(notification::Column::UserId.eq(principal.user_id))
        .filter(notification::Column::ReadAt.is_null())
        .count(db)
        .await?;
    Ok(Json(Unread { unread }))
}

/// A statement with numbered parameters written `$1`, `$2`, … for both databases.
fn numbered(backend: DatabaseBackend, sql: &str, values: Vec<sea_orm::Value>) -> Statement {
    let sql = if backend == DatabaseBackend::Sqlite { sql.replace('$', "?") } else { sql.to_owned() };
    Statement::from_sql_and_values(backend, sql, values)
}

/// The users a provider (partner or volunteer) `provider` column stands for, as `user_id`.
fn provider_users(from: &str, provider: &str, filter: &str) -> String {
    format!(
        "SELECT m.user_id, {from} JOIN partner_members m ON m.partner_id = {provider} WHERE {filter} \
         UNION SELECT v.user_id, {from} JOIN volunteers v ON v.id = {provider} WHERE {filter}"
    )
}

/// The clock's notices due at `now`, each given once per reader (a unique key on reader,
/// kind and subject): open offers expiring within [`OFFER_EXPIRING_WITHIN`] to their
/// provider, closed orders unrated [`RATE_REMINDER_AFTER`] after to their resident. Returns
/// how many were written.
pub async fn remind(state: &AppState, now: DateTime<Utc>) -> Result<u64, ApiError> {
    let db = state.db()?;
    let backend = db.get_database_backend();
    let expiring = provider_users(
        "'offer.expiring' AS kind, f.order_id, f.id AS subject_id FROM offers f",
        "f.provider_id",
        "f.status = 'open' AND f.accept_by > $1 AND f.accept_by <= $2",
    );
    let expiring = numbered(
        backend,
        &format!(
            "INSERT INTO notifications (user_id, kind, order_id, subject_id, at) \
             SELECT user_id, kind, order_id, subject_id, $1 FROM ({expiring}) due WHERE true ON CONFLICT DO NOTHING"
        ),
        vec![now.into(), (now + OFFER_EXPIRING_WITHIN).into()],
    );
    let unrated = numbered(
        backend,
        "INSERT INTO notifications (user_id, kind, order_id, subject_id, at) \
         SELECT DISTINCT o.resident_id, 'order.rate_reminder', o.id, o.id, $1 FROM orders o \
         JOIN order_events e ON e.order_id = o.id AND e.action = 'confirmed' \
         WHERE o.status = 'closed' AND e.at <= $2 AND e.at > $3 \
         AND NOT EXISTS (SELECT 1 FROM ratings r WHERE r.order_id = o.id) \
         ON CONFLICT DO NOTHING",
        vec![now.into(), (now - RATE_REMINDER_AFTER).into(), (now - RATE_REMINDER_UNTIL).into()],
    );
    let tx = begin_write(db).await?;
    let mut written = tx.execute_raw(expiring).await?.rows_affected();
    written += tx.execute_raw(unrated).await?.rows_affected();
    tx.commit().await?;
    Ok(written)
}

/// Tells the dispatchers of `community` something that needs them (a volunteer's
/// application), in the caller's transaction.
pub async fn tell_staff(
    db: &impl ConnectionTrait,
    community: Uuid,
    kind: Kind,
    subject: Uuid,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    let sql = numbered(
        db.get_database_backend(),
        "INSERT INTO notifications (user_id, kind, order_id, subject_id, at) \
         SELECT u.id, $1, NULL, $2, $3 FROM users u WHERE u.community_id = $4 AND u.status = 'active' \
         AND (' ' || u.roles || ' ') LIKE '% dispatcher %' ON CONFLICT DO NOTHING",
        vec![kind.as_str().into(), subject.into(), now.into(), community.into()],
    );
    db.execute_raw(sql).await?;
    Ok(())
}

/// Tells users something, in the caller's transaction.
pub async fn tell(
    db: &impl ConnectionTrait,
    users: &[Uuid],
    kind: Kind,
    subject: Uuid,
    now: DateTime<Utc>,
) -> Result<(), sea_orm::DbErr> {
    for user in users {
        let sql = numbered(
            db.get_database_backend(),
            "INSERT INTO notifications (user_id, kind, order_id, subject_id, at) VALUES ($1, $2, NULL, $3, $4) \
             ON CONFLICT DO NOTHING",
            vec![(*user).into(), kind.as_str().into(), subject.into(), now.into()],
        );
        db.execute_raw(sql).await?;
    }
    Ok(())
}
