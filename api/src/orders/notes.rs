//! Internal notes on an order: for the community's staff and the assigned provider; never
//! for other providers, never in the resident's timeline.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use shenbian_domain::standing::Standing;

use super::access::{seen_or, visible_order};
use crate::access::text_field;
use crate::auth::Principal;
use crate::db::begin_write;
use crate::entity::order_note;
use crate::error::ApiError;
use crate::extract::{JsonBody, Path, Query};
use crate::pagination::{PageParams, Paginated};
use crate::state::AppState;

#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct NoteView {
    pub id: Uuid,
    pub order_id: Uuid,
    pub author: Uuid,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

impl From<order_note::Model> for NoteView {
    fn from(n: order_note::Model) -> Self {
        Self { id: n.id, order_id: n.order_id, author: n.author_id, body: n.body, created_at: n.created_at }
    }
}

fn may_use_notes(s: &Standing) -> bool {
    s.dispatcher || s.admin || s.assigned
}

/// An order's internal notes, oldest first.
#[utoipa::path(get, path = "/orders/{id}/notes", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path), PageParams),
    responses((status = 200, body = Paginated<NoteView>)))]
#[tracing::instrument(skip_all, fields(user_id, order_id = %id))]
pub async fn list_notes(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
    Query(params): Query<PageParams>,
) -> Result<Json<Paginated<NoteView>>, ApiError> {
    let db = state.db()?;
    let page = seen_or(db, &principal, id, params.page()).await?;
    let (_, standing) = visible_order(db, &principal, id, None).await?;
    if !may_use_notes(&standing) {
        return Err(ApiError::Forbidden);
    }
    let mut query = order_note::Entity::find()
        .filter(order_note::Column::OrderId.eq(id))
        .order_by_asc(order_note::Column::Id)
        .limit(page.limit + 1);
    if let Some(after) = page.after {
        query = query.filter(order_note::Column::Id.gt(after));
    }
    let rows = query.all(db).await?;
    Ok(Json(Paginated::from_rows(rows, page, |n| n.id, NoteView::from)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNote {
    #[schema(min_length = 1, max_length = 2000)]
    body: String,
}

/// Add an internal note.
#[utoipa::path(post, path = "/orders/{id}/notes", tag = "orders", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = NewNote, responses((status = 201, body = NoteView)))]
#[tracing::instrument(skip_all, fields(user_id, order_id = %id))]
pub async fn add_note(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
    JsonBody(body): JsonBody<NewNote>,
) -> Result<(StatusCode, Json<NoteView>), ApiError> {
    let db = state.db()?;
    let text = text_field(&body.body, 1, 2000).map_err(|e| ApiError::validation("body", e));
    let text = seen_or(db, &principal, id, text).await?;
    let (_, standing) = visible_order(db, &principal, id, None).await?;
    if !may_use_notes(&standing) {
        return Err(ApiError::Forbidden);
    }
    let tx = begin_write(db).await?;
    let note = order_note::Entity::insert(order_note::ActiveModel {
        id: Set(Uuid::now_v7()),
        order_id: Set(id),
        author_id: Set(principal.user_id),
        body: Set(text),
        created_at: Set(state.now()),
    })
    .exec_with_returning(&tx)
    .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(note.into())))
}
