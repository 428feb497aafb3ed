//! Who may act where: scope checks shared by the routes. Handlers state the role in their
//! signature (typed extractors); these answer the finer question of which objects.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::Deserialize;
use shenbian_domain::Role;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Principal;
use crate::entity::enums::MemberRole;
use crate::entity::partner_member;
use shenbian_domain::message::Message;

use crate::error::{ApiError, t};

/// True for admins and for the dispatchers of `community_id`.
pub fn is_staff_of(principal: &Principal, community_id: Uuid) -> bool {
    principal.has(Role::Admin) || (principal.has(Role::Dispatcher) && principal.community_id == Some(community_id))
}

/// True for admins and dispatchers of any community.
pub fn is_staff(principal: &Principal) -> bool {
    principal.has(Role::Admin) || principal.has(Role::Dispatcher)
}

/// The caller's role in a partner organisation, if a member.
pub async fn membership(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    partner_id: Uuid,
) -> Result<Option<MemberRole>, ApiError> {
    Ok(partner_member::Entity::find_by_id((partner_id, user_id)).one(db).await?.map(|m| m.role))
}

/// The partners the caller belongs to.
pub async fn partners_of(db: &impl ConnectionTrait, user_id: Uuid) -> Result<Vec<Uuid>, ApiError> {
    let rows = partner_member::Entity::find().filter(partner_member::Column::UserId.eq(user_id)).all(db).await?;
    Ok(rows.into_iter().map(|m| m.partner_id).collect())
}

/// A body that only carries a reason (suspensions, rejections, terminations).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonBody {
    /// Why, in a sentence (1–500 characters); recorded in the audit log.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

impl ReasonBody {
    /// The trimmed reason, or 422.
    pub fn checked(self) -> Result<String, ApiError> {
        check_reason(&self.reason)
    }
}

/// Checks a reason given in any body: 1–500 characters, no control characters.
pub fn check_reason(reason: &str) -> Result<String, ApiError> {
    let reason = reason.trim();
    let len = reason.chars().count();
    if len == 0 || len > 500 || reason.chars().any(char::is_control) {
        return Err(ApiError::validation(
            "reason",
            t("须为 1–500 个字，不含控制字符", "must be 1–500 characters without control characters"),
        ));
    }
    Ok(reason.to_owned())
}

/// Checks a free-text field: trimmed, within `max` characters, no control characters
/// except line breaks. Empty is allowed only when `min` is 0.
pub fn text_field(value: &str, min: usize, max: usize) -> Result<String, Message> {
    let value = value.trim();
    let len = value.chars().count();
    if len < min {
        return Err(if min == 1 {
            Message::new("不能为空", "must not be empty")
        } else {
            Message::new(format!("至少 {min} 个字"), format!("must be at least {min} characters"))
        });
    }
    if len > max {
        return Err(Message::new(format!("最多 {max} 个字"), format!("must be at most {max} characters")));
    }
    if value.chars().any(|c| c.is_control() && c != '\n') {
        return Err(Message::new("不能含控制字符", "must not contain control characters"));
    }
    Ok(value.to_owned())
}
