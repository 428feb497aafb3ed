//! The invitee's side: the caller's pending invitations, matched by the keyed hash of the
//! phone she signed in with, and her answer to one. Anyone else's invitation is 404.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use shenbian_domain::invitation::InvitationAction;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::{answer, phone_hash, status_at};
use crate::access::membership;
use crate::audit::{self, Entry};
use crate::auth::Principal;
use crate::db::begin_write;
use crate::entity::enums::{InvitationStatusDb, MemberRole, ProviderStatusDb};
use crate::entity::{partner, partner_invitation, partner_member, user};
use crate::error::{ApiError, Problem, t, violates_unique};
use crate::extract::{Path, Query};
use crate::pagination::{PageParams, Paginated};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(my_invitations)).routes(routes!(accept)).routes(routes!(decline))
}

/// An invitation as its invitee sees it: who invites her, and to what role.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyInvitationView {
    pub id: Uuid,
    pub partner_id: Uuid,
    pub partner_name: String,
    pub role: MemberRole,
    pub status: InvitationStatusDb,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl MyInvitationView {
    fn new(inv: partner_invitation::Model, partner_name: String, now: DateTime<Utc>) -> Self {
        Self {
            id: inv.id,
            partner_id: inv.partner_id,
            partner_name,
            role: inv.role,
            status: status_at(&inv, now).into(),
            created_at: inv.created_at,
            expires_at: inv.expires_at,
        }
    }
}

/// The keyed hash of the caller's phone; `None` for an account without one (erased).
async fn my_phone_hash(
    state: &AppState,
    db: &impl ConnectionTrait,
    principal: &Principal,
) -> Result<Option<String>, ApiError> {
    let me = user::Entity::find_by_id(principal.user_id).one(db).await?.ok_or(ApiError::Unauthorized)?;
    me.phone.map(|p| phone_hash(state, &p)).transpose()
}

/// My pending, unexpired invitations, newest first.
#[utoipa::path(get, path = "/me/invitations", tag = "me", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = Paginated<MyInvitationView>)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn my_invitations(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<PageParams>,
) -> Result<Json<Paginated<MyInvitationView>>, ApiError> {
    let page = params.page()?;
    let db = state.db()?;
    let Some(hash) = my_phone_hash(&state, db, &principal).await? else {
        return Ok(Json(Paginated { items: Vec::new(), next_cursor: None }));
    };
    let now = state.now();
    let mut query = partner_invitation::Entity::find()
        .filter(partner_invitation::Column::PhoneHash.eq(hash))
        .filter(partner_invitation::Column::Status.eq(InvitationStatusDb::Pending))
        .filter(partner_invitation::Column::ExpiresAt.gt(now))
        .order_by_desc(partner_invitation::Column::Id)
        .limit(page.limit + 1);
    if let Some(after) = page.after {
        query = query.filter(partner_invitation::Column::Id.lt(after));
    }
    let rows = query.find_also_related(partner::Entity).all(db).await?;
    Ok(Json(Paginated::from_rows(
        rows,
        page,
        |(i, _)| i.id,
        |(i, p)| MyInvitationView::new(i, p.map(|p| p.name).unwrap_or_default(), now),
    )))
}

/// Accept an invitation: the caller joins the partner with the role offered.
#[utoipa::path(post, path = "/me/invitations/{id}/accept", operation_id = "accept_invitation", tag = "me", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = MyInvitationView),
        (status = 409, description = "`invalid_transition` (answered, revoked or expired), `already_member`, `partner_not_approved`", body = Problem, content_type = "application/problem+json")))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn accept(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
) -> Result<Json<MyInvitationView>, ApiError> {
    respond(&state, &principal, id, InvitationAction::Accept).await.map(Json)
}

/// Decline an invitation.
#[utoipa::path(post, path = "/me/invitations/{id}/decline", operation_id = "decline_invitation", tag = "me", security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses((status = 200, body = MyInvitationView),
        (status = 409, description = "`invalid_transition`: answered, revoked or expired already", body = Problem, content_type = "application/problem+json")))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn decline(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
) -> Result<Json<MyInvitationView>, ApiError> {
    respond(&state, &principal, id, InvitationAction::Decline).await.map(Json)
}

/// The invitee's answer, in one write transaction: the guarded status change and, on
/// accepting, the membership commit together or not at all.
async fn respond(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    action: InvitationAction,
) -> Result<MyInvitationView, ApiError> {
    let now = state.now();
    let tx = begin_write(state.db()?).await?;
    let hash = my_phone_hash(state, &tx, principal).await?.ok_or(ApiError::NotFound)?;
    let current = partner_invitation::Entity::find_by_id(id)
        .filter(partner_invitation::Column::PhoneHash.eq(hash))
        .one(&tx)
        .await?
        .ok_or(ApiError::NotFound)?;
    let found = partner::Entity::find_by_id(current.partner_id).one(&tx).await?.ok_or(ApiError::NotFound)?;
    if action == InvitationAction::Accept {
        if found.status != ProviderStatusDb::Approved {
            return Err(ApiError::conflict(
                "partner_not_approved",
                t("该合作方目前不能接收新成员", "this partner may not take new members now"),
            ));
        }
        if membership(&tx, principal.user_id, current.partner_id).await?.is_some() {
            return Err(ApiError::conflict(
                "already_member",
                t("你已经是该合作方的成员", "you are a member of this partner already"),
            ));
        }
    }
    let answered = answer(&tx, &current, action, principal.user_id, now).await?;
    if action == InvitationAction::Accept {
        partner_member::Entity::insert(partner_member::ActiveModel {
            partner_id: Set(answered.partner_id),
            user_id: Set(principal.user_id),
            role: Set(answered.role),
            created_at: Set(now),
        })
        .exec(&tx)
        .await
        .map_err(|e| {
            if violates_unique(&e, "partner_members_pkey", "partner_members.partner_id") {
                ApiError::conflict(
                    "already_member",
                    t("你已经是该合作方的成员", "you are a member of this partner already"),
                )
            } else {
                e.into()
            }
        })?;
    }
    let verb = match action {
        InvitationAction::Accept => "partner.invitation_accept",
        InvitationAction::Decline => "partner.invitation_decline",
        InvitationAction::Revoke => "partner.invitation_revoke",
    };
    let entry = Entry::new(principal.user_id, verb, "partner", answered.partner_id).with_reason(id.to_string());
    audit::record(&tx, entry, now).await?;
    tx.commit().await?;
    Ok(MyInvitationView::new(answered, found.name, now))
}
