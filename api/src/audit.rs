//! Appends to the audit log, inside the caller's transaction so that the entry commits
//! exactly when the action does.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
use uuid::Uuid;

use crate::entity::audit_log;
use crate::error::ApiError;

/// One audited action: `action` is `object.verb` (`user.deactivate`).
pub struct Entry<'a> {
    pub actor: Option<Uuid>,
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: String,
    pub reason: Option<String>,
}

pub async fn record(db: &impl ConnectionTrait, entry: Entry<'_>, at: DateTime<Utc>) -> Result<(), ApiError> {
    audit_log::Entity::insert(audit_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        actor_id: Set(entry.actor),
        action: Set(entry.action.to_owned()),
        object_type: Set(entry.object_type.to_owned()),
        object_id: Set(entry.object_id),
        reason: Set(entry.reason),
        at: Set(at),
    })
    .exec(db)
    .await?;
    Ok(())
}
