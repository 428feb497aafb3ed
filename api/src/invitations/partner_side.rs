//! The partner admin's side: invite a phone, list the partner's invitations, revoke one.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Duration;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;
use shenbian_domain::invitation::InvitationAction;
use shenbian_domain::phone::Phone;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{InvitationView, answer, phone_hash};
use crate::access::membership;
use crate::audit::{self, Entry};
use crate::auth::Principal;
use crate::db::begin_write;
use crate::entity::enums::{InvitationStatusDb, MemberRole, ProviderStatusDb};
use crate::entity::{partner, partner_invitation};
use crate::error::{ApiError, Problem, t};
use crate::extract::{JsonBody, Path, Query};
use crate::pagination::{PageParams, Paginated};
use crate::partner_members::require_partner_admin;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(invite, list_invitations)).routes(routes!(revoke))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationRequest {
    /// The invitee's mobile number. Whether it has an account is neither checked nor told.
    #[schema(example = "13800002222")]
    phone: String,
    #[serde(default = "member")]
    role: MemberRole,
}

fn member() -> MemberRole {
    MemberRole::Member
}

/// Invite a phone to join the partner (its admin; the partner must be approved). The answer
/// is the same whether or not the phone has an account. Inviting a phone that has a pending
/// invitation from this partner renews that invitation (same id, the new role, a fresh
/// expiry) instead of sending a second one.
#[utoipa::path(post, path = "/partners/{id}/invitations", operation_id = "invite_member", tag = "partners", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = InvitationRequest,
    responses((status = 201, body = InvitationView),
        (status = 409, description = "`partner_not_approved`: a pending or suspended partner cannot invite", body = Problem, content_type = "application/problem+json")))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn invite(
    State(state): State<AppState>,
    principal: Principal,
    Path(partner_id): Path<Uuid>,
    JsonBody(body): JsonBody<InvitationRequest>,
) -> Result<(StatusCode, Json<InvitationView>), ApiError> {
    require_partner_admin(&state, &principal, partner_id).await?;
    let phone = Phone::parse(&body.phone).map_err(|e| ApiError::validation("phone", e))?;
    let hash = phone_hash(&state, phone.as_str())?;
    let now = state.now();
    let expires_at = now + Duration::hours(state.settings.invitation_ttl_hours as i64);
    let tx = begin_write(state.db()?).await?;
    // The partner's row lock (PostgreSQL; SQLite's write lock is held already) serialises
    // invitations to the partner, so two at once to one phone leave one pending invitation.
    let found = partner::Entity::find_by_id(partner_id).lock_exclusive().one(&tx).await?.ok_or(ApiError::NotFound)?;
    if membership(&tx, principal.user_id, partner_id).await? != Some(MemberRole::Admin) {
        return Err(ApiError::Forbidden);
    }
    if found.status != ProviderStatusDb::Approved {
        return Err(ApiError::conflict(
            "partner_not_approved",
            t("只有已批准的合作方才能邀请成员", "only an approved partner may invite members"),
        ));
    }
    let pending = partner_invitation::Entity::find()
        .filter(partner_invitation::Column::PartnerId.eq(partner_id))
        .filter(partner_invitation::Column::PhoneHash.eq(hash.as_str()))
        .filter(partner_invitation::Column::Status.eq(InvitationStatusDb::Pending))
        .one(&tx)
        .await?;
    let invitation = match pending {
        Some(pending) => partner_invitation::Entity::update_many()
            .col_expr(partner_invitation::Column::Role, Expr::value(body.role))
            .col_expr(partner_invitation::Column::ExpiresAt, Expr::value(expires_at))
            .filter(partner_invitation::Column::Id.eq(pending.id))
            .filter(partner_invitation::Column::Status.eq(InvitationStatusDb::Pending))
            .exec_with_returning(&tx)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| {
                ApiError::conflict("conflict", t("邀请刚被他人处理；请重试", "the invitation changed meanwhile; retry"))
            })?,
        None => {
            partner_invitation::Entity::insert(partner_invitation::ActiveModel {
                id: Set(Uuid::now_v7()),
                partner_id: Set(partner_id),
                phone_hash: Set(hash),
                role: Set(body.role),
                status: Set(InvitationStatusDb::Pending),
                created_by: Set(principal.user_id),
                created_at: Set(now),
                expires_at: Set(expires_at),
                answered_at: Set(None),
                answered_by: Set(None),
            })
            .exec_with_returning(&tx)
            .await?
        }
    };
    let entry =
        Entry::new(principal.user_id, "partner.invite", "partner", partner_id).with_reason(invitation.id.to_string());
    audit::record(&tx, entry, now).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(InvitationView::new(invitation, now))))
}

/// The partner's invitations, newest first (its admin): status, role and times only.
#[utoipa::path(get, path = "/partners/{id}/invitations", tag = "partners", security(("bearer" = [])),
    params(("id" = Uuid, Path), PageParams), responses((status = 200, body = Paginated<InvitationView>)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn list_invitations(
    State(state): State<AppState>,
    principal: Principal,
    Path(partner_id): Path<Uuid>,
    Query(params): Query<PageParams>,
) -> Result<Json<Paginated<InvitationView>>, ApiError> {
    let page = params.page()?;
    require_partner_admin(&state, &principal, partner_id).await?;
    let mut query = partner_invitation::Entity::find()
        .filter(partner_invitation::Column::PartnerId.eq(partner_id))
        .order_by_desc(partner_invitation::Column::Id)
        .limit(page.limit + 1);
    if let Some(after) = page.after {
        query = query.filter(partner_invitation::Column::Id.lt(after));
    }
    let rows = query.all(state.db()?).await?;
    let now = state.now();
    Ok(Json(Paginated::from_rows(rows, page, |i| i.id, |i| InvitationView::new(i, now))))
}

/// Withdraw a pending invitation (the partner's admin).
#[utoipa::path(post, path = "/partners/{id}/invitations/{invitation_id}/revoke", operation_id = "revoke_invitation", tag = "partners",
    security(("bearer" = [])), params(("id" = Uuid, Path), ("invitation_id" = Uuid, Path)),
    responses((status = 200, body = InvitationView),
        (status = 409, description = "`invalid_transition`: answered, revoked or expired already", body = Problem, content_type = "application/problem+json")))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn revoke(
    State(state): State<AppState>,
    principal: Principal,
    Path((partner_id, invitation_id)): Path<(Uuid, Uuid)>,
) -> Result<Json<InvitationView>, ApiError> {
    require_partner_admin(&state, &principal, partner_id).await?;
    let now = state.now();
    let tx = begin_write(state.db()?).await?;
    let current = partner_invitation::Entity::find_by_id(invitation_id)
        .filter(partner_invitation::Column::PartnerId.eq(partner_id))
        .one(&tx)
        .await?
        .ok_or(ApiError::NotFound)?;
    let revoked = answer(&tx, &current, InvitationAction::Revoke, principal.user_id, now).await?;
    let entry = Entry::new(principal.user_id, "partner.invitation_revoke", "partner", partner_id)
        .with_reason(invitation_id.to_string());
    audit::record(&tx, entry, now).await?;
    tx.commit().await?;
    Ok(Json(InvitationView::new(revoked, now)))
}
