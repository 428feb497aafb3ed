//! Appends to the audit log, inside the caller's transaction so that the entry commits
//! exactly when the action does; and records staff reads of unmasked personal data, one
//! entry per request. Admins read the log at `GET /audit` ([`routes`]).

pub mod routes;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait};
use uuid::Uuid;

use crate::crypto::keys::Keys;
use crate::db::begin_write;
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

impl<'a> Entry<'a> {
    /// An action without a reason.
    pub fn new(actor: Uuid, action: &'a str, object_type: &'a str, object_id: impl ToString) -> Self {
        Self { actor: Some(actor), action, object_type, object_id: object_id.to_string(), reason: None }
    }

    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
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

/// A staff read of unmasked personal data: one entry per request, in a transaction of its
/// own, naming what was read (`what`: the ids returned, or the query with any phone
/// replaced by [`phone_key`]) — never the data itself. The answer is given only once the
/// entry is committed.
pub async fn record_read(
    db: &DatabaseConnection,
    actor: Uuid,
    action: &str,
    object_type: &str,
    object_id: impl ToString,
    what: String,
    at: DateTime<Utc>,
) -> Result<(), ApiError> {
    let tx = begin_write(db).await?;
    let entry = Entry::new(actor, action, object_type, object_id).with_reason(what);
    record(&tx, entry, at).await?;
    tx.commit().await?;
    Ok(())
}

/// A phone as the audit log may name it: a keyed hash (16 hex digits), the same for the
/// same phone, so that an auditor can match searches without the log holding the number.
pub fn phone_key(keys: &Keys, phone: &str) -> String {
    let hash = keys.keyed_hash("audit:phone", phone);
    format!("phone#{}", &hash[..16])
}

/// Ids as an audit reason lists them.
pub fn ids(ids: impl IntoIterator<Item = Uuid>) -> String {
    let list: Vec<String> = ids.into_iter().map(|id| id.to_string()).collect();
    format!("ids: {}", list.join(","))
}
