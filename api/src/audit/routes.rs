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
