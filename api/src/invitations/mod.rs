//! Invitations to join a partner organisation. The partner's admin invites a phone; the
//! person who signs in with that phone accepts or declines; nobody becomes a member without
//! saying yes. The phone is kept only as a keyed hash and never looked up when inviting, so
//! an invitation's answer is the same — in content and in time — whether or not the phone
//! has an account, and says nothing about who holds it.

mod invitee;
mod partner_side;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::Serialize;
use shenbian_domain::invitation::{InvitationAction, InvitationStatus};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use uuid::Uuid;

use crate::entity::enums::{InvitationStatusDb, MemberRole};
use crate::entity::partner_invitation;
use crate::error::{ApiError, t};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    partner_side::router().merge(invitee::router())
}

/// The keyed hash an invitation stores instead of the phone (a normalised `Phone`).
pub(crate) fn phone_hash(state: &AppState, phone: &str) -> Result<String, ApiError> {
    Ok(state.keys()?.keyed_hash("invitation:phone", phone))
}

/// The status as it stands at `now`.
fn status_at(inv: &partner_invitation::Model, now: DateTime<Utc>) -> InvitationStatus {
    InvitationStatus::from(inv.status).seen(inv.expires_at <= now)
}

/// An invitation as the partner's admin sees it: never the invitee's name or phone.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationView {
    pub id: Uuid,
    pub partner_id: Uuid,
    /// The role the invitee gets on accepting.
    pub role: MemberRole,
    pub status: InvitationStatusDb,
    pub created_at: DateTime<Utc>,
    /// An invitation unanswered by then can no longer be accepted.
    pub expires_at: DateTime<Utc>,
    /// When it was accepted, declined or revoked.
    pub answered_at: Option<DateTime<Utc>>,
    /// The account that joined, once accepted (it is listed among the members then).
    pub member_id: Option<Uuid>,
}

impl InvitationView {
    fn new(inv: partner_invitation::Model, now: DateTime<Utc>) -> Self {
        let status = status_at(&inv, now);
        Self {
            id: inv.id,
            partner_id: inv.partner_id,
            role: inv.role,
            status: status.into(),
            created_at: inv.created_at,
            expires_at: inv.expires_at,
            answered_at: inv.answered_at,
            member_id: if status == InvitationStatus::Accepted { inv.answered_by } else { None },
        }
    }
}

/// Moves a pending, unexpired invitation to the state after `action`, by a guarded update:
/// of two racing answers exactly one changes the row. The loser gets `409
/// invalid_transition` naming the state it found.
async fn answer(
    db: &impl ConnectionTrait,
    current: &partner_invitation::Model,
    action: InvitationAction,
    by: Uuid,
    now: DateTime<Utc>,
) -> Result<partner_invitation::Model, ApiError> {
    let refused = |e: shenbian_domain::transition::WrongState| ApiError::InvalidTransition(e.message);
    let next = status_at(current, now).apply(action).map_err(refused)?;
    let updated = partner_invitation::Entity::update_many()
        .col_expr(partner_invitation::Column::Status, Expr::value(InvitationStatusDb::from(next)))
        .col_expr(partner_invitation::Column::AnsweredAt, Expr::value(Some(now)))
        .col_expr(partner_invitation::Column::AnsweredBy, Expr::value(Some(by)))
        .filter(partner_invitation::Column::Id.eq(current.id))
        .filter(partner_invitation::Column::Status.eq(InvitationStatusDb::Pending))
        .filter(partner_invitation::Column::ExpiresAt.gt(now))
        .exec_with_returning(db)
        .await?;
    if let Some(updated) = updated.into_iter().next() {
        return Ok(updated);
    }
    // Answered meanwhile: name the state the winner left.
    let latest = partner_invitation::Entity::find_by_id(current.id).one(db).await?.ok_or(ApiError::NotFound)?;
    let from = status_at(&latest, now);
    match from.apply(action) {
        Err(refused) => Err(ApiError::InvalidTransition(refused.message)),
        Ok(_) => Err(ApiError::InvalidTransition(t(
            "邀请刚被他人处理；请刷新后重试",
            "the invitation changed meanwhile; reload it",
        ))),
    }
}
