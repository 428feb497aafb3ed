//! Internal notes on an order: for the community's staff and the assigned provider; never
//! for other providers, never in the resident's timeline.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::access::{seen_or, visible_order};
use super::store::notes;
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
    if !standing.may_use_notes() {
        return Err(ApiError::Forbidden);
    }
    let rows = notes::page(db, id, page.after, page.limit + 1).await?;
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
    if !standing.may_use_notes() {
        return Err(ApiError::Forbidden);
    }
    let tx = begin_write(db).await?;
    let note = notes::add(&tx, id, principal.user_id, text, state.now()).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(note.into())))
}
