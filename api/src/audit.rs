//! Appends to the audit log, inside the caller's transaction so that the entry commits
//! exactly when the action does; and records staff reads of unmasked personal data, one
//! entry per request.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait};
use uuid::Uuid;

use crate::auth::keys::Keys;
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

pub mod routes {
    //! `GET /audit`: admins read the log; nothing edits it.

    use axum::Json;
    use axum::extract::State;
    use chrono::{DateTime, Utc};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
    use serde::{Deserialize, Serialize};
    use utoipa::{IntoParams, ToSchema};
    use utoipa_axum::router::OpenApiRouter;
    use utoipa_axum::routes;
    use uuid::Uuid;

    use crate::auth::Admin;
    use crate::entity::audit_log;
    use crate::error::ApiError;
    use crate::extract::Query;
    use crate::pagination::{PageParams, Paginated};
    use crate::state::AppState;

    pub fn router() -> OpenApiRouter<AppState> {
        OpenApiRouter::new().routes(routes!(list_audit))
    }

    #[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
    pub struct AuditView {
        pub id: Uuid,
        /// Who acted; null for the command line.
        pub actor: Option<Uuid>,
        /// `object.verb`, e.g. `partner.approve`.
        pub action: String,
        pub object_type: String,
        pub object_id: String,
        pub reason: Option<String>,
        pub at: DateTime<Utc>,
    }

    impl From<audit_log::Model> for AuditView {
        fn from(a: audit_log::Model) -> Self {
            Self {
                id: a.id,
                actor: a.actor_id,
                action: a.action,
                object_type: a.object_type,
                object_id: a.object_id,
                reason: a.reason,
                at: a.at,
            }
        }
    }

    #[derive(Deserialize, IntoParams)]
    #[serde(deny_unknown_fields)]
    pub struct AuditFilter {
        /// e.g. `partner.approve`
        action: Option<String>,
        object_type: Option<String>,
        object_id: Option<String>,
        actor: Option<Uuid>,
        #[param(minimum = 1, maximum = 100)]
        limit: Option<u64>,
        cursor: Option<String>,
    }

    /// The audit log, oldest first (admins).
    #[utoipa::path(get, path = "/audit", tag = "audit", security(("bearer" = [])), params(AuditFilter),
        responses((status = 200, body = Paginated<AuditView>)))]
    #[tracing::instrument(skip_all, fields(user_id))]
    async fn list_audit(
        State(state): State<AppState>,
        _admin: Admin,
        Query(filter): Query<AuditFilter>,
    ) -> Result<Json<Paginated<AuditView>>, ApiError> {
        let page = PageParams { limit: filter.limit, cursor: filter.cursor }.page()?;
        let mut query = audit_log::Entity::find().order_by_asc(audit_log::Column::Id).limit(page.limit + 1);
        if let Some(after) = page.after {
            query = query.filter(audit_log::Column::Id.gt(after));
        }
        if let Some(action) = filter.action {
            query = query.filter(audit_log::Column::Action.eq(action));
        }
        if let Some(object_type) = filter.object_type {
            query = query.filter(audit_log::Column::ObjectType.eq(object_type));
        }
        if let Some(object_id) = filter.object_id {
            query = query.filter(audit_log::Column::ObjectId.eq(object_id));
        }
        if let Some(actor) = filter.actor {
            query = query.filter(audit_log::Column::ActorId.eq(actor));
        }
        let rows = query.all(state.db()?).await?;
        Ok(Json(Paginated::from_rows(rows, page, |a| a.id, AuditView::from)))
    }
}
