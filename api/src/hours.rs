//! Volunteer hours: the ledger as a volunteer-service record (name, service, date, minutes,
//! confirming community), and corrections by dispatchers — new entries with a reason, never
//! edits.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::{is_staff_of, text_field};
use crate::audit::{self, Entry};
use crate::auth::Principal;
use crate::db::begin_write;
use crate::entity::{category, community, order, user, volunteer, volunteer_hour};
use crate::error::{ApiError, t};
use crate::extract::{JsonBody, Path, Query};
use crate::pagination::{PageParams, encode_cursor};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(hours)).routes(routes!(correct))
}

/// One line of a volunteer's service record.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct HoursEntry {
    pub id: Uuid,
    /// `service` (a confirmed job) or `correction`.
    pub kind: String,
    pub order_id: Option<Uuid>,
    /// What was done: the category and the order's title.
    pub service: Option<String>,
    /// Local date of the entry.
    pub date: NaiveDate,
    pub minutes: i32,
    /// The community that confirmed the service.
    pub community: String,
    /// For corrections: why.
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct HoursRecord {
    pub volunteer_id: Uuid,
    pub name: String,
    pub community_id: Uuid,
    pub community: String,
    /// Sum of every entry, corrections included.
    pub total_minutes: i64,
    pub items: Vec<HoursEntry>,
    pub next_cursor: Option<String>,
}

/// Loads a volunteer the caller may see: themselves or staff of their community; else 404.
async fn visible(state: &AppState, principal: &Principal, id: Uuid) -> Result<volunteer::Model, ApiError> {
    let found = volunteer::Entity::find_by_id(id).one(state.db()?).await?.ok_or(ApiError::NotFound)?;
    if found.user_id == principal.user_id || is_staff_of(principal, found.community_id) {
        Ok(found)
    } else {
        Err(ApiError::NotFound)
    }
}

/// A volunteer's hours, newest first, with the total (the volunteer; their community's
/// dispatchers; admins). A staff read is audited.
#[utoipa::path(get, path = "/volunteers/{id}/hours", operation_id = "volunteer_hours", tag = "volunteers", security(("bearer" = [])), params(("id" = Uuid, Path), PageParams),
    responses((status = 200, body = HoursRecord)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn hours(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
    Query(params): Query<PageParams>,
) -> Result<Json<HoursRecord>, ApiError> {
    let v = visible(&state, &principal, id).await?;
    let page = params.page()?;
    let db = state.db()?;
    let minutes: Vec<i32> = volunteer_hour::Entity::find()
        .select_only()
        .column(volunteer_hour::Column::Minutes)
        .filter(volunteer_hour::Column::VolunteerId.eq(id))
        .into_tuple()
        .all(db)
        .await?;
    let mut query = volunteer_hour::Entity::find()
        .filter(volunteer_hour::Column::VolunteerId.eq(id))
        .order_by_desc(volunteer_hour::Column::Id)
        .limit(page.limit + 1);
    if let Some(before) = page.after {
        query = query.filter(volunteer_hour::Column::Id.lt(before));
    }
    let mut rows = query.all(db).await?;
    let more = rows.len() as u64 > page.limit;
    rows.truncate(page.limit as usize);
    let next_cursor = if more { rows.last().map(|r| encode_cursor(r.id)) } else { None };
    let order_ids: Vec<Uuid> = rows.iter().filter_map(|r| r.order_id).collect();
    let orders: BTreeMap<Uuid, order::Model> = order::Entity::find()
        .filter(order::Column::Id.is_in(order_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    let categories: BTreeMap<String, String> =
        category::Entity::find().all(db).await?.into_iter().map(|c| (c.code, c.name_zh)).collect();
    let home = community::Entity::find_by_id(v.community_id).one(db).await?.map(|c| c.name).unwrap_or_default();
    let name = user::Entity::find_by_id(v.user_id).one(db).await?.map(|u| u.display_name).unwrap_or_default();
    if v.user_id != principal.user_id {
        let what = audit::ids(rows.iter().map(|r| r.id));
        audit::record_read(db, principal.user_id, "volunteer.hours_read", "volunteer", id, what, state.now()).await?;
    }
    let tz = state.timezone();
    let items = rows
        .into_iter()
        .map(|r| {
            let service = r.order_id.and_then(|o| orders.get(&o)).map(|o| {
                format!(
                    "{}：{}",
                    categories.get(&o.category_code).cloned().unwrap_or_else(|| o.category_code.clone()),
                    o.title
                )
            });
            HoursEntry {
                id: r.id,
                kind: r.kind,
                order_id: r.order_id,
                service,
                date: r.at.with_timezone(&tz).date_naive(),
                minutes: r.minutes,
                community: home.clone(),
                reason: r.reason,
                at: r.at,
            }
        })
        .collect();
    Ok(Json(HoursRecord {
        volunteer_id: id,
        name,
        community_id: v.community_id,
        community: home,
        total_minutes: minutes.iter().map(|m| i64::from(*m)).sum(),
        items,
        next_cursor,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Correction {
    /// Minutes to add (positive) or take away (negative), not zero, at most a day either way.
    #[schema(minimum = -1440, maximum = 1440)]
    minutes: i32,
    #[schema(min_length = 1, max_length = 500)]
    reason: String,
}

/// Correct a volunteer's hours with a new entry and a reason (their community's dispatchers,
/// admins); audited. The total may not go below zero.
#[utoipa::path(post, path = "/volunteers/{id}/hours/corrections", operation_id = "correct_hours", tag = "volunteers", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = Correction, responses((status = 201, body = HoursEntry)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn correct(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
    JsonBody(body): JsonBody<Correction>,
) -> Result<(StatusCode, Json<HoursEntry>), ApiError> {
    let v = visible(&state, &principal, id).await?;
    if !is_staff_of(&principal, v.community_id) {
        return Err(ApiError::Forbidden);
    }
    if body.minutes == 0 || !(-1440..=1440).contains(&body.minutes) {
        return Err(ApiError::validation(
            "minutes",
            t("须在 -1440 到 1440 之间，且不为 0", "between -1440 and 1440, not zero"),
        ));
    }
    let reason = text_field(&body.reason, 1, 500).map_err(|e| ApiError::validation("reason", e))?;
    let now = state.now();
    let tx = begin_write(state.db()?).await?;
    let minutes: Vec<i32> = volunteer_hour::Entity::find()
        .select_only()
        .column(volunteer_hour::Column::Minutes)
        .filter(volunteer_hour::Column::VolunteerId.eq(id))
        .into_tuple()
        .all(&tx)
        .await?;
    if minutes.iter().map(|m| i64::from(*m)).sum::<i64>() + i64::from(body.minutes) < 0 {
        return Err(ApiError::validation("minutes", t("调整后总时长会小于 0", "the total would fall below zero")));
    }
    let entry = volunteer_hour::Entity::insert(volunteer_hour::ActiveModel {
        id: Set(Uuid::now_v7()),
        volunteer_id: Set(id),
        order_id: Set(None),
        minutes: Set(body.minutes),
        kind: Set("correction".into()),
        reason: Set(Some(reason.clone())),
        created_by: Set(Some(principal.user_id)),
        at: Set(now),
    })
    .exec_with_returning(&tx)
    .await?;
    audit::record(
        &tx,
        Entry::new(principal.user_id, "volunteer.hours_correction", "volunteer", id).with_reason(reason.clone()),
        now,
    )
    .await?;
    let home = community::Entity::find_by_id(v.community_id).one(&tx).await?.map(|c| c.name).unwrap_or_default();
    tx.commit().await?;
    let date = entry.at.with_timezone(&state.timezone()).date_naive();
    Ok((
        StatusCode::CREATED,
        Json(HoursEntry {
            id: entry.id,
            kind: entry.kind,
            order_id: None,
            service: None,
            date,
            minutes: entry.minutes,
            community: home,
            reason: Some(reason),
            at: entry.at,
        }),
    ))
}
