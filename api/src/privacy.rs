//! Personal-data rights: a resident downloads everything held about them (`GET /me/export`)
//! and closes their account (`DELETE /me`): phone, name and exact addresses erased, orders
//! kept anonymised for the figures, sessions ended, idempotency records purged.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::audit::{self, Entry};
use crate::auth::Principal;
use crate::auth::session::{self, Sessions};
use crate::db::begin_write;
use crate::entity::enums::MemberRole;
use crate::entity::{
    auth_failure, idempotency_key, one_time_code, order, order_event, partner, partner_member, rating, user, volunteer,
    volunteer_hour,
};
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::orders::closing::RatingView;
use crate::orders::read::EventView;
use crate::orders::view::OrderView;
use crate::state::AppState;
use crate::views::UserView;

/// `DELETE /me` is routed with `GET /me` in `me.rs` (one path, one route).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export))
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
#[utoipa::path(get, path = "/me/export", tag = "me", security(("bearer" = [])), responses((status = 200, body = Export)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn export(State(state): State<AppState>, principal: Principal) -> Result<Json<Export>, ApiError> {
    let db = state.db()?;
    let me = user::Entity::find_by_id(principal.user_id).one(db).await?.ok_or(ApiError::Unauthorized)?;
    let mut orders = Vec::new();
    for o in order::Entity::find()
        .filter(order::Column::ResidentId.eq(me.id))
        .order_by_asc(order::Column::Id)
        .all(db)
        .await?
    {
        let events = order_event::Entity::find()
            .filter(order_event::Column::OrderId.eq(o.id))
            .order_by_asc(order_event::Column::Seq)
            .all(db)
            .await?
            .into_iter()
            .map(EventView::from)
            .collect();
        orders.push(OrderExport { order: OrderView::new(o, &me.display_name, true), events });
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
pub struct EraseBody {
    /// The current password, so that a stolen token cannot close the account.
    password: String,
}

/// The name an erased account keeps, for figures and timelines.
pub const ERASED_NAME: &str = "已注销用户";

/// Close your account: phone, name and exact addresses are erased, your orders stay
/// anonymised for the figures, every session ends. A partner's last admin hands the partner
/// over first (409).
#[utoipa::path(delete, path = "/me", tag = "me", security(("bearer" = [])), request_body = EraseBody,
    responses((status = 204, description = "account closed and personal data erased")))]
#[tracing::instrument(skip_all, fields(user_id))]
pub async fn erase(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody<EraseBody>,
) -> Result<StatusCode, ApiError> {
    let db = state.db()?;
    let me = user::Entity::find_by_id(principal.user_id).one(db).await?.ok_or(ApiError::Unauthorized)?;
    if !state.hasher.verify(body.password, me.password_hash.clone()).await? {
        return Err(ApiError::validation("password", "is incorrect"));
    }
    let now = state.now();
    let tx = begin_write(db).await?;
    for m in partner_member::Entity::find().filter(partner_member::Column::UserId.eq(me.id)).all(&tx).await? {
        if m.role == MemberRole::Admin {
            let admins = partner_member::Entity::find()
                .filter(partner_member::Column::PartnerId.eq(m.partner_id))
                .filter(partner_member::Column::Role.eq(MemberRole::Admin))
                .count(&tx)
                .await?;
            if admins <= 1 {
                return Err(ApiError::conflict(
                    "transfer_admin_first",
                    "make another member the partner's admin first",
                ));
            }
        }
    }
    let phone = me.phone.clone().unwrap_or_default();
    erase_personal_data(&tx, &state, me.id, &phone, now).await?;
    audit::record(&tx, Entry::new(me.id, "user.erase", "user", me.id), now).await?;
    tx.commit().await?;
    tracing::info!(user_id = %me.id, "account closed and personal data erased");
    Ok(StatusCode::NO_CONTENT)
}

/// Erases one person's personal data everywhere it is held, in the caller's transaction.
async fn erase_personal_data(
    db: &impl ConnectionTrait,
    state: &AppState,
    user_id: Uuid,
    phone: &str,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    user::Entity::update_many()
        .col_expr(user::Column::Phone, Expr::value(Option::<String>::None))
        .col_expr(user::Column::DisplayName, Expr::value(ERASED_NAME))
        .col_expr(user::Column::PasswordHash, Expr::value(Option::<String>::None))
        .col_expr(user::Column::Status, Expr::value(user::UserStatus::Erased))
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::Id.eq(user_id))
        .exec(db)
        .await?;
    // Orders stay for the figures: category, community, urgency, times, states.
    order::Entity::update_many()
        .col_expr(order::Column::ContactPhone, Expr::value(""))
        .col_expr(order::Column::Unit, Expr::value(""))
        .col_expr(order::Column::Room, Expr::value(""))
        .col_expr(order::Column::AddressDetail, Expr::value(""))
        .col_expr(order::Column::BuildingId, Expr::value(Option::<Uuid>::None))
        .col_expr(order::Column::Title, Expr::value("（已注销用户的工单）"))
        .col_expr(order::Column::Description, Expr::value(""))
        // Every write of an order's row bumps its version (see `compare_and_set`): a step
        // racing the erasure finds the order changed and answers nothing erased.
        .col_expr(order::Column::Version, Expr::col(order::Column::Version).add(1))
        .filter(order::Column::ResidentId.eq(user_id))
        .exec(db)
        .await?;
    if !phone.is_empty() {
        order::Entity::update_many()
            .col_expr(order::Column::ContactPhone, Expr::value(""))
            .col_expr(order::Column::Version, Expr::col(order::Column::Version).add(1))
            .filter(order::Column::ContactPhone.eq(phone))
            .exec(db)
            .await?;
        partner::Entity::update_many()
            .col_expr(partner::Column::ContactPhone, Expr::value(""))
            .filter(partner::Column::ContactPhone.eq(phone))
            .exec(db)
            .await?;
        // Idempotency records hold whole responses; any that carry the phone go.
        idempotency_key::Entity::delete_many().filter(idempotency_key::Column::Body.contains(phone)).exec(db).await?;
        let key = state.keys()?.keyed_hash("throttle:account", phone);
        auth_failure::Entity::delete_many().filter(auth_failure::Column::KeyHash.eq(key)).exec(db).await?;
    }
    idempotency_key::Entity::delete_many().filter(idempotency_key::Column::UserId.eq(user_id)).exec(db).await?;
    one_time_code::Entity::delete_many().filter(one_time_code::Column::UserId.eq(user_id)).exec(db).await?;
    rating::Entity::update_many()
        .col_expr(rating::Column::Comment, Expr::value(Option::<String>::None))
        .filter(rating::Column::RatedBy.eq(user_id))
        .exec(db)
        .await?;
    volunteer::Entity::update_many()
        .col_expr(volunteer::Column::Bio, Expr::value(""))
        .filter(volunteer::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    partner_member::Entity::delete_many().filter(partner_member::Column::UserId.eq(user_id)).exec(db).await?;
    session::revoke(db, Sessions::AllOf(user_id), "account_closed", now).await?;
    Ok(())
}
