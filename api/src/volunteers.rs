//! Volunteers: a resident applies with skills (category codes), home community and the
//! buildings they look after (包楼联户); that community's dispatchers (or admins) approve,
//! reject, suspend and reinstate. A volunteer is a provider without a contract, with an
//! open-job limit.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use shenbian_domain::Role;
use shenbian_domain::partner::{ProviderAction, VOLUNTEER_DEFAULT_MAX_OPEN_JOBS};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::{ReasonBody, is_staff_of, text_field};
use crate::auth::{Principal, Resident};
use crate::categories::unknown_categories;
use crate::db::begin_write;
use crate::entity::enums::ProviderStatusDb;
use crate::entity::{building, community, compound, user, volunteer, volunteer_building, volunteer_skill};
use crate::error::{ApiError, t, violates_unique};
use crate::extract::{Fields, JsonBody, Path, Query};
use crate::pagination::{PageParams, Paginated};
use crate::state::AppState;
use crate::vetting::{Kind, Vetted, decide};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(apply, list_volunteers))
        .routes(routes!(get_volunteer))
        .routes(routes!(approve))
        .routes(routes!(reject))
        .routes(routes!(suspend))
        .routes(routes!(reinstate))
}

#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct VolunteerView {
    pub id: Uuid,
    pub user_id: Uuid,
    pub display_name: String,
    pub community_id: Uuid,
    /// Category codes the volunteer can serve.
    pub skills: Vec<String>,
    /// Buildings the volunteer looks after (包楼联户).
    pub building_ids: Vec<Uuid>,
    pub bio: String,
    pub status: ProviderStatusDb,
    pub status_reason: Option<String>,
    pub max_open_jobs: i32,
    pub open_jobs: i32,
    pub created_at: DateTime<Utc>,
}

/// Loads the skills, buildings and name that complete a volunteer's view.
async fn view(db: &impl ConnectionTrait, v: volunteer::Model) -> Result<VolunteerView, ApiError> {
    let skills = volunteer_skill::Entity::find()
        .filter(volunteer_skill::Column::VolunteerId.eq(v.id))
        .order_by_asc(volunteer_skill::Column::CategoryCode)
        .all(db)
        .await?;
    let buildings =
        volunteer_building::Entity::find().filter(volunteer_building::Column::VolunteerId.eq(v.id)).all(db).await?;
    let name = user::Entity::find_by_id(v.user_id).one(db).await?.map(|u| u.display_name).unwrap_or_default();
    Ok(VolunteerView {
        id: v.id,
        user_id: v.user_id,
        display_name: name,
        community_id: v.community_id,
        skills: skills.into_iter().map(|s| s.category_code).collect(),
        building_ids: buildings.into_iter().map(|b| b.building_id).collect(),
        bio: v.bio,
        status: v.status,
        status_reason: v.status_reason,
        max_open_jobs: v.max_open_jobs,
        open_jobs: v.open_jobs,
        created_at: v.created_at,
    })
}

/// A volunteer the caller may see (themselves, or staff of their community); else 404.
async fn visible(db: &impl ConnectionTrait, principal: &Principal, id: Uuid) -> Result<volunteer::Model, ApiError> {
    let found = volunteer::Entity::find_by_id(id).one(db).await?.ok_or(ApiError::NotFound)?;
    if found.user_id == principal.user_id || is_staff_of(principal, found.community_id) {
        Ok(found)
    } else {
        Err(ApiError::NotFound)
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VolunteerApplication {
    /// Category codes, 1–20.
    #[schema(min_items = 1, max_items = 20)]
    skills: Vec<String>,
    community_id: Uuid,
    /// Buildings of that community the volunteer looks after, up to 50.
    #[serde(default)]
    #[schema(max_items = 50)]
    building_ids: Vec<Uuid>,
    #[serde(default)]
    #[schema(max_length = 500)]
    bio: String,
}

/// Apply to volunteer (residents). One application per account.
#[utoipa::path(post, path = "/volunteers", operation_id = "apply_volunteer", tag = "volunteers", security(("bearer" = [])), request_body = VolunteerApplication,
    responses((status = 201, body = VolunteerView)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn apply(
    State(state): State<AppState>,
    Resident(principal): Resident,
    JsonBody(body): JsonBody<VolunteerApplication>,
) -> Result<(StatusCode, Json<VolunteerView>), ApiError> {
    let db = state.db()?;
    let mut fields = Fields::default();
    let mut skills = body.skills.clone();
    skills.sort();
    skills.dedup();
    let mut buildings = body.building_ids.clone();
    buildings.sort();
    buildings.dedup();
    if skills.is_empty() || skills.len() > 20 {
        fields.push("skills", t("须为 1 到 20 个服务类别代码", "between 1 and 20 category codes"));
    } else {
        let unknown = unknown_categories(db, &skills).await?;
        if !unknown.is_empty() {
            fields.push(
                "skills",
                (
                    format!("没有这些服务类别，或它们已停用：{}", unknown.join("、")),
                    format!("unknown or inactive categories: {}", unknown.join(", ")),
                ),
            );
        }
    }
    if community::Entity::find_by_id(body.community_id).one(db).await?.is_none() {
        fields.push("community_id", t("没有这个社区", "no such community"));
    }
    if buildings.len() > 50 {
        fields.push("building_ids", t("最多 50 栋楼", "at most 50 buildings"));
    } else if !buildings.is_empty() {
        let compounds: Vec<Uuid> = compound::Entity::find()
            .filter(compound::Column::CommunityId.eq(body.community_id))
            .all(db)
            .await?
            .into_iter()
            .map(|c| c.id)
            .collect();
        let found = building::Entity::find()
            .filter(building::Column::Id.is_in(buildings.clone()))
            .filter(building::Column::CompoundId.is_in(compounds))
            .all(db)
            .await?;
        if found.len() != buildings.len() {
            fields.push("building_ids", t("每栋楼都须属于该社区", "every building must belong to the community"));
        }
    }
    let bio = fields.check("bio", text_field(&body.bio, 0, 500));
    let Some(bio) = bio else { return Err(fields.into_error()) };
    fields.finish()?;

    let now = state.now();
    let tx = begin_write(db).await?;
    let created = volunteer::Entity::insert(volunteer::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(principal.user_id),
        community_id: Set(body.community_id),
        bio: Set(bio),
        status: Set(ProviderStatusDb::Pending),
        status_reason: Set(None),
        max_open_jobs: Set(VOLUNTEER_DEFAULT_MAX_OPEN_JOBS as i32),
        open_jobs: Set(0),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_with_returning(&tx)
    .await
    .map_err(|e| {
        if violates_unique(&e, "uq_volunteer_user", "volunteers.user_id") {
            ApiError::conflict(
                "already_applied",
                t("该账号已有志愿者记录", "this account has a volunteer record already"),
            )
        } else {
            e.into()
        }
    })?;
    let skill_rows = skills
        .iter()
        .map(|code| volunteer_skill::ActiveModel { volunteer_id: Set(created.id), category_code: Set(code.clone()) });
    volunteer_skill::Entity::insert_many(skill_rows).exec(&tx).await?;
    if !buildings.is_empty() {
        let rows = buildings
            .iter()
            .map(|b| volunteer_building::ActiveModel { volunteer_id: Set(created.id), building_id: Set(*b) });
        volunteer_building::Entity::insert_many(rows).exec(&tx).await?;
    }
    crate::notifications::tell_staff(
        &tx,
        created.community_id,
        shenbian_domain::notification::Kind::VolunteerApplied,
        created.id,
        now,
    )
    .await?;
    let view = view(&tx, created).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct VolunteerFilter {
    status: Option<ProviderStatusDb>,
    /// Admins only; a dispatcher always sees their own community.
    community_id: Option<Uuid>,
    /// Only volunteers with this skill.
    category_code: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u64>,
    cursor: Option<String>,
}

/// Volunteers: a dispatcher sees their community's, an admin all, anyone else their own.
#[utoipa::path(get, path = "/volunteers", tag = "volunteers", security(("bearer" = [])), params(VolunteerFilter),
    responses((status = 200, body = Paginated<VolunteerView>)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn list_volunteers(
    State(state): State<AppState>,
    principal: Principal,
    Query(filter): Query<VolunteerFilter>,
) -> Result<Json<Paginated<VolunteerView>>, ApiError> {
    let page = PageParams { limit: filter.limit, cursor: filter.cursor }.page()?;
    let db = state.db()?;
    let mut query = volunteer::Entity::find().order_by_asc(volunteer::Column::Id).limit(page.limit + 1);
    if let Some(after) = page.after {
        query = query.filter(volunteer::Column::Id.gt(after));
    }
    if principal.has(Role::Admin) {
        if let Some(community) = filter.community_id {
            query = query.filter(volunteer::Column::CommunityId.eq(community));
        }
    } else if let (true, Some(community)) = (principal.has(Role::Dispatcher), principal.community_id) {
        query = query.filter(volunteer::Column::CommunityId.eq(community));
    } else {
        query = query.filter(volunteer::Column::UserId.eq(principal.user_id));
    }
    if let Some(status) = filter.status {
        query = query.filter(volunteer::Column::Status.eq(status));
    }
    if let Some(category) = filter.category_code {
        let ids = volunteer_skill::Entity::find()
            .filter(volunteer_skill::Column::CategoryCode.eq(category))
            .all(db)
            .await?
            .into_iter()
            .map(|s| s.volunteer_id);
        query = query.filter(volunteer::Column::Id.is_in(ids));
    }
    let rows = query.all(db).await?;
    let more = rows.len() as u64 > page.limit;
    let mut items = Vec::new();
    for v in rows.into_iter().take(page.limit as usize) {
        items.push(view(db, v).await?);
    }
    let next_cursor = if more { items.last().map(|v| crate::pagination::encode_cursor(v.id)) } else { None };
    Ok(Json(Paginated { items, next_cursor }))
}

/// One volunteer (themselves, or staff of their community).
#[utoipa::path(get, path = "/volunteers/{id}", tag = "volunteers", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = VolunteerView)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn get_volunteer(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
) -> Result<Json<VolunteerView>, ApiError> {
    let db = state.db()?;
    let found = visible(db, &principal, id).await?;
    Ok(Json(view(db, found).await?))
}

/// Volunteers are vetted by their community's dispatchers and by admins; the volunteer
/// sees their own record but does not decide on it.
impl Vetted for volunteer::Entity {
    const KIND: Kind = Kind::Volunteer;
    const ID: volunteer::Column = volunteer::Column::Id;
    const STATUS: volunteer::Column = volunteer::Column::Status;
    const STATUS_REASON: volunteer::Column = volunteer::Column::StatusReason;
    const VERSION: volunteer::Column = volunteer::Column::Version;
    const UPDATED_AT: volunteer::Column = volunteer::Column::UpdatedAt;

    type View = VolunteerView;

    fn state(row: &volunteer::Model) -> (ProviderStatusDb, i32) {
        (row.status, row.version)
    }

    async fn visible(db: &impl ConnectionTrait, principal: &Principal, id: Uuid) -> Result<volunteer::Model, ApiError> {
        visible(db, principal, id).await
    }

    fn may_decide(principal: &Principal, row: &volunteer::Model) -> bool {
        is_staff_of(principal, row.community_id)
    }

    async fn view(db: &impl ConnectionTrait, row: volunteer::Model) -> Result<VolunteerView, ApiError> {
        view(db, row).await
    }
}

/// Approve a volunteer (the community's dispatchers, admins).
#[utoipa::path(post, path = "/volunteers/{id}/approve", operation_id = "approve_volunteer", tag = "volunteers", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = VolunteerView)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn approve(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
) -> Result<Json<VolunteerView>, ApiError> {
    Ok(Json(decide::<volunteer::Entity>(&state, &principal, id, ProviderAction::Approve, None).await?))
}

/// Reject an application, with a reason (the community's dispatchers, admins).
#[utoipa::path(post, path = "/volunteers/{id}/reject", operation_id = "reject_volunteer", tag = "volunteers", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = ReasonBody, responses((status = 200, body = VolunteerView)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn reject(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
    JsonBody(body): JsonBody<ReasonBody>,
) -> Result<Json<VolunteerView>, ApiError> {
    Ok(Json(decide::<volunteer::Entity>(&state, &principal, id, ProviderAction::Reject, Some(body.checked())).await?))
}

/// Suspend a volunteer, with a reason: open offers close; accepted jobs carry on.
#[utoipa::path(post, path = "/volunteers/{id}/suspend", operation_id = "suspend_volunteer", tag = "volunteers", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = ReasonBody, responses((status = 200, body = VolunteerView)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn suspend(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
    JsonBody(body): JsonBody<ReasonBody>,
) -> Result<Json<VolunteerView>, ApiError> {
    Ok(Json(decide::<volunteer::Entity>(&state, &principal, id, ProviderAction::Suspend, Some(body.checked())).await?))
}

/// Reinstate a suspended volunteer (the community's dispatchers, admins).
#[utoipa::path(post, path = "/volunteers/{id}/reinstate", operation_id = "reinstate_volunteer", tag = "volunteers", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = VolunteerView)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn reinstate(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
) -> Result<Json<VolunteerView>, ApiError> {
    Ok(Json(decide::<volunteer::Entity>(&state, &principal, id, ProviderAction::Reinstate, None).await?))
}
