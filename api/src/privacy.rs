//! Personal-data rights: a resident downloads everything held about them (`GET /me/export`)
//! and closes their account (`POST /me/close`): phone, name and exact addresses erased,
//! orders kept anonymised for the figures, sessions ended, idempotency records purged (see
//! `erasure`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::audit::{self, Entry};
use crate::auth::Principal;
use crate::auth::throttle::{Attempt, ClientAddr};
use crate::db::begin_write;
use crate::entity::enums::MemberRole;
use crate::entity::{order, order_event, partner_member, rating, user, volunteer, volunteer_hour};
use crate::erasure::erase_personal_data;
use crate::error::{ApiError, t};
use crate::extract::JsonBody;
use crate::orders::closing::RatingView;
use crate::orders::feed::EventView;
use crate::orders::store::names::names_of;
use crate::orders::view::OrderView;
use crate::state::AppState;
use crate::views::UserView;

/// `POST /me/close` is routed with the rest of `/me` in `me.rs`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export)).routes(routes!(close))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderExport {
    pub order: OrderView,
    pub events: Vec<EventView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HourExport {
    pub minutes: i32,
    pub kind: String,
    pub order_id: Option<Uuid>,
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipExport {
    pub partner_id: Uuid,
    pub role: MemberRole,
    pub joined_at: DateTime<Utc>,
}

/// Everything Shenbian holds about the caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct Export {
    pub exported_at: DateTime<Utc>,
    pub account: UserView,
    /// Orders for the caller, with their timelines.
    pub orders: Vec<OrderExport>,
    /// Ratings the caller gave.
    pub ratings: Vec<RatingView>,
    /// The caller's volunteer record and hours, if a volunteer.
    pub volunteer_id: Option<Uuid>,
    pub volunteer_hours: Vec<HourExport>,
    pub partner_memberships: Vec<MembershipExport>,
}

/// Download all your data as JSON.
#[utoipa::path(get, path = "/me/export", operation_id = "export_my_data", tag = "me", security(("bearer" = [])), responses((status = 200, body = Export)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn export(State(state): State<AppState>, principal: Principal) -> Result<Json<Export>, ApiError> {
    let db = state.db()?;
    let me = user::Entity::find_by_id(principal.user_id).one(db).await?.ok_or(ApiError::Unauthorized)?;
    let mine = order::Entity::find()
        .filter(order::Column::ResidentId.eq(me.id))
        .order_by_asc(order::Column::Id)
        .all(db)
        .await?;
    let names = names_of(db, &mine.iter().map(|o| o.id).collect::<Vec<_>>()).await?;
    let mut orders = Vec::new();
    for o in mine {
        let id = o.id;
        let events = order_event::Entity::find()
            .filter(order_event::Column::OrderId.eq(o.id))
            .order_by_asc(order_event::Column::Seq)
            .all(db)
            .await?
            .into_iter()
            .map(EventView::from)
            .collect();
        orders
            .push(OrderExport { order: OrderView::new(o, &names.get(&id).cloned().unwrap_or_default(), true), events });
    }
    let ratings = rating::Entity::find()
        .filter(rating::Column::RatedBy.eq(me.id))
        .all(db)
        .await?
        .into_iter()
        .map(|r| RatingView::new(r, true))
        .collect();
    let volunteer = volunteer::Entity::find().filter(volunteer::Column::UserId.eq(me.id)).one(db).await?;
    let volunteer_hours = match &volunteer {
        Some(v) => volunteer_hour::Entity::find()
            .filter(volunteer_hour::Column::VolunteerId.eq(v.id))
            .order_by_asc(volunteer_hour::Column::Id)
            .all(db)
            .await?
            .into_iter()
            .map(|h| HourExport { minutes: h.minutes, kind: h.kind, order_id: h.order_id, reason: h.reason, at: h.at })
            .collect(),
        None => Vec::new(),
    };
    let partner_memberships = partner_member::Entity::find()
        .filter(partner_member::Column::UserId.eq(me.id))
        .all(db)
        .await?
        .into_iter()
        .map(|m| MembershipExport { partner_id: m.partner_id, role: m.role, joined_at: m.created_at })
        .collect();
    Ok(Json(Export {
        exported_at: state.now(),
        account: me.into(),
        orders,
        ratings,
        volunteer_id: volunteer.map(|v| v.id),
        volunteer_hours,
        partner_memberships,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    /// The current password, so that a stolen token cannot close the account.
    password: String,
}

/// Close your account: phone, name and exact addresses are erased, and your phone and
/// name are redacted from the texts about you; your orders stay anonymised for the
/// figures; every session ends. Needs the password (attempts throttled like sign-in). A
/// partner's last admin hands the partner over first (409).
#[utoipa::path(post, path = "/me/close", operation_id = "close_account", tag = "me", security(("bearer" = [])), request_body = CloseRequest,
    responses((status = 204, description = "account closed and personal data erased")))]
#[tracing::instrument(skip_all, fields(user_id))]
pub async fn close(
    State(state): State<AppState>,
    principal: Principal,
    addr: ClientAddr,
    JsonBody(body): JsonBody<CloseRequest>,
) -> Result<StatusCode, ApiError> {
    let db = state.db()?;
    let me = user::Entity::find_by_id(principal.user_id).one(db).await?.ok_or(ApiError::Unauthorized)?;
    let attempt = Attempt::of_account(&state, &me, &addr)?;
    let reservation = attempt.reserve(db, &state.settings, state.now()).await?;
    reservation.wait().await;
    if !state.hasher.verify(body.password, me.password_hash.clone()).await? {
        return Err(ApiError::validation("password", t("不正确", "is incorrect")));
    }
    let now = state.now();
    let tx = begin_write(db).await?;
    // Counted as a success whatever follows: the password was right.
    attempt.succeeded(&tx, reservation).await?;
    for m in partner_member::Entity::find().filter(partner_member::Column::UserId.eq(me.id)).all(&tx).await? {
        if m.role == MemberRole::Admin {
            let admins = partner_member::Entity::find()
                .filter(partner_member::Column::PartnerId.eq(m.partner_id))
                .filter(partner_member::Column::Role.eq(MemberRole::Admin))
                .count(&tx)
                .await?;
            if admins <= 1 {
                tx.commit().await?;
                return Err(ApiError::conflict(
                    "transfer_admin_first",
                    t("请先让另一位成员成为合作方管理员", "make another member the partner's admin first"),
                ));
            }
        }
    }
    // Read again inside the transaction: the name and phone to redact are the current ones.
    let me = user::Entity::find_by_id(me.id).one(&tx).await?.ok_or(ApiError::Unauthorized)?;
    erase_personal_data(&tx, &state, &me, now).await?;
    audit::record(&tx, Entry::new(me.id, "user.erase", "user", me.id), now).await?;
    tx.commit().await?;
    tracing::info!(user_id = %me.id, "account closed and personal data erased");
    Ok(StatusCode::NO_CONTENT)
}
