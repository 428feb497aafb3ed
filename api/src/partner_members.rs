//! A partner's members: members and staff list them, its admin removes them. Members join
//! only by accepting an invitation (`crate::invitations`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use shenbian_domain::phone::mask_phone;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::{is_staff, membership};
use crate::audit::{self, Entry};
use crate::auth::Principal;
use crate::db::begin_write;
use crate::entity::enums::MemberRole;
use crate::entity::{partner, partner_member, user};
use crate::error::{ApiError, t};
use crate::extract::Path;
use crate::pagination::Paginated;
use crate::partners::visible_partner;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_members)).routes(routes!(remove_member))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    pub user_id: Uuid,
    pub display_name: String,
    /// Full for the partner admin and staff; masked for other members.
    pub phone: Option<String>,
    pub role: MemberRole,
    pub joined_at: DateTime<Utc>,
}

/// Checks that the caller is the partner's admin: 404 if they cannot see the partner,
/// 403 if they can but are not its admin.
pub(crate) async fn require_partner_admin(
    state: &AppState,
    principal: &Principal,
    partner_id: Uuid,
) -> Result<(), ApiError> {
    let db = state.db()?;
    visible_partner(db, principal, partner_id).await?;
    match membership(db, principal.user_id, partner_id).await? {
        Some(MemberRole::Admin) => Ok(()),
        _ => Err(ApiError::Forbidden),
    }
}

/// The partner's members (its members and staff); phones in full for its admin and staff,
/// whose read is audited (`partner.members_read`, the member ids).
#[utoipa::path(get, path = "/partners/{id}/members", tag = "partners", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = Paginated<MemberView>)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn list_members(
    State(state): State<AppState>,
    principal: Principal,
    Path(partner_id): Path<Uuid>,
) -> Result<Json<Paginated<MemberView>>, ApiError> {
    let db = state.db()?;
    visible_partner(db, &principal, partner_id).await?;
    let role = membership(db, principal.user_id, partner_id).await?;
    if role.is_none() && !is_staff(&principal) {
        return Err(ApiError::Forbidden);
    }
    let unmasked = is_staff(&principal) || role == Some(MemberRole::Admin);
    let rows = partner_member::Entity::find()
        .filter(partner_member::Column::PartnerId.eq(partner_id))
        .order_by_asc(partner_member::Column::CreatedAt)
        .find_also_related(user::Entity)
        .all(db)
        .await?;
    let items = rows
        .into_iter()
        .filter_map(|(m, u)| u.map(|u| (m, u)))
        .map(|(m, u)| MemberView {
            user_id: m.user_id,
            display_name: u.display_name,
            phone: u.phone.map(|p| if unmasked { p } else { mask_phone(&p) }),
            role: m.role,
            joined_at: m.created_at,
        })
        .collect::<Vec<_>>();
    if is_staff(&principal) && role.is_none() {
        let what = audit::ids(items.iter().map(|m| m.user_id));
        audit::record_read(db, principal.user_id, "partner.members_read", "partner", partner_id, what, state.now())
            .await?;
    }
    Ok(Json(Paginated { items, next_cursor: None }))
}

/// Remove a member (the partner admin). The last admin cannot be removed.
#[utoipa::path(delete, path = "/partners/{id}/members/{user_id}", tag = "partners", security(("bearer" = [])),
    params(("id" = Uuid, Path), ("user_id" = Uuid, Path)), responses((status = 204, description = "removed")))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn remove_member(
    State(state): State<AppState>,
    principal: Principal,
    Path((partner_id, member_id)): Path<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    require_partner_admin(&state, &principal, partner_id).await?;
    let now = state.now();
    let tx = begin_write(state.db()?).await?;
    // Two admins removing each other at once would each count two admins and leave none:
    // lock the partner's row (PostgreSQL; SQLite's write lock is held already), then check
    // again that the caller is still an admin before counting.
    partner::Entity::find_by_id(partner_id).lock_exclusive().one(&tx).await?.ok_or(ApiError::NotFound)?;
    if membership(&tx, principal.user_id, partner_id).await? != Some(MemberRole::Admin) {
        return Err(ApiError::Forbidden);
    }
    let target =
        partner_member::Entity::find_by_id((partner_id, member_id)).one(&tx).await?.ok_or(ApiError::NotFound)?;
    if target.role == MemberRole::Admin {
        let admins = partner_member::Entity::find()
            .filter(partner_member::Column::PartnerId.eq(partner_id))
            .filter(partner_member::Column::Role.eq(MemberRole::Admin))
            .count(&tx)
            .await?;
        if admins <= 1 {
            return Err(ApiError::conflict(
                "last_admin",
                t("合作方至少要保留一名管理员", "a partner keeps at least one admin"),
            ));
        }
    }
    partner_member::Entity::delete_by_id((partner_id, member_id)).exec(&tx).await?;
    let entry = Entry::new(principal.user_id, "partner.member_remove", "partner", partner_id)
        .with_reason(member_id.to_string());
    audit::record(&tx, entry, now).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
