//! Places: communities (社区, admins), their compounds (小区) and buildings (楼栋), kept by
//! the community's dispatchers and admins. Anyone may read them: residents pick their
//! community before they have an account, and none of this is personal.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::{is_staff_of, text_field};
use crate::audit::{self, Entry};
use crate::auth::{Admin, Principal};
use crate::db::begin_write;
use crate::entity::{building, community, compound};
use crate::error::{ApiError, t, violates_unique};
use crate::extract::{Fields, JsonBody, Path, Query};
use crate::pagination::{PageParams, Paginated};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_community, list_communities))
        .routes(routes!(get_community, patch_community))
        .routes(routes!(create_compound, list_compounds))
        .routes(routes!(create_building, list_buildings))
}

/// A community's settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CommunitySettings {
    /// Offer new orders to the best candidate automatically (default off).
    pub auto_dispatch: bool,
    /// Per-category exceptions to `auto_dispatch`, by category code.
    pub auto_dispatch_categories: BTreeMap<String, bool>,
}

impl CommunitySettings {
    pub fn from_stored(stored: &str) -> Self {
        serde_json::from_str(stored).unwrap_or_default()
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CommunityView {
    pub id: Uuid,
    /// Short code, unique in the district.
    pub code: String,
    pub name: String,
    /// The street (街道) the community belongs to.
    pub street: String,
    pub settings: CommunitySettings,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<community::Model> for CommunityView {
    fn from(c: community::Model) -> Self {
        Self {
            id: c.id,
            settings: CommunitySettings::from_stored(&c.settings),
            code: c.code,
            name: c.name,
            street: c.street,
            created_at: c.created_at,
        }
    }
}

fn check_code(code: &str) -> Result<String, shenbian_domain::message::Message> {
    let ok = (1..=32).contains(&code.len()) && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(code.to_owned())
    } else {
        Err(t("须为 1–32 个字符，只含 A-Z、a-z、0-9、- 或 _", "must be 1–32 characters of A-Z, a-z, 0-9, - or _"))
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCommunity {
    #[schema(example = "XFL", min_length = 1, max_length = 32)]
    code: String,
    #[schema(example = "幸福里社区", min_length = 1, max_length = 100)]
    name: String,
    #[schema(example = "和平街道", min_length = 1, max_length = 100)]
    street: String,
    #[serde(default)]
    settings: CommunitySettings,
}

/// Create a community (admins).
#[utoipa::path(post, path = "/communities", tag = "places", security(("bearer" = [])), request_body = CreateCommunity,
    responses((status = 201, body = CommunityView)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn create_community(
    State(state): State<AppState>,
    Admin(admin): Admin,
    JsonBody(body): JsonBody<CreateCommunity>,
) -> Result<(StatusCode, Json<CommunityView>), ApiError> {
    let mut fields = Fields::default();
    let code = fields.check("code", check_code(&body.code));
    let name = fields.check("name", text_field(&body.name, 1, 100));
    let street = fields.check("street", text_field(&body.street, 1, 100));
    let (Some(code), Some(name), Some(street)) = (code, name, street) else {
        return Err(fields.into_error());
    };
    let now = state.now();
    let tx = begin_write(state.db()?).await?;
    let created = community::Entity::insert(community::ActiveModel {
        id: Set(Uuid::now_v7()),
        code: Set(code),
        name: Set(name),
        street: Set(street),
        settings: Set(serde_json::to_string(&body.settings).map_err(ApiError::internal)?),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_with_returning(&tx)
    .await
    .map_err(|e| {
        if violates_unique(&e, "uq_community_code", "communities.code") {
            ApiError::conflict("code_taken", t("已有使用此代码的社区", "a community with this code exists"))
        } else {
            e.into()
        }
    })?;
    let entry = Entry::new(admin.user_id, "community.create", "community", created.id);
    audit::record(&tx, entry, now).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// List communities, in creation order (anyone).
#[utoipa::path(get, path = "/communities", tag = "places", params(PageParams),
    responses((status = 200, body = Paginated<CommunityView>)))]
async fn list_communities(
    State(state): State<AppState>,
    Query(params): Query<PageParams>,
) -> Result<Json<Paginated<CommunityView>>, ApiError> {
    let page = params.page()?;
    let mut query = community::Entity::find().order_by_asc(community::Column::Id).limit(page.limit + 1);
    if let Some(after) = page.after {
        query = query.filter(community::Column::Id.gt(after));
    }
    let rows = query.all(state.db()?).await?;
    Ok(Json(Paginated::from_rows(rows, page, |c| c.id, CommunityView::from)))
}

/// One community (anyone).
#[utoipa::path(get, path = "/communities/{id}", tag = "places", params(("id" = Uuid, Path)),
    responses((status = 200, body = CommunityView)))]
async fn get_community(State(state): State<AppState>, Path(id): Path<Uuid>) -> Result<Json<CommunityView>, ApiError> {
    let found = community::Entity::find_by_id(id).one(state.db()?).await?;
    found.map(|c| Json(c.into())).ok_or(ApiError::NotFound)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchCommunity {
    #[schema(min_length = 1, max_length = 100)]
    name: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    street: Option<String>,
    /// Replaces the settings as a whole.
    settings: Option<CommunitySettings>,
}

/// Edit a community's name, street or settings (admins).
#[utoipa::path(patch, path = "/communities/{id}", tag = "places", security(("bearer" = [])), params(("id" = Uuid, Path)),
    request_body = PatchCommunity, responses((status = 200, body = CommunityView)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn patch_community(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<Uuid>,
    JsonBody(body): JsonBody<PatchCommunity>,
) -> Result<Json<CommunityView>, ApiError> {
    let mut fields = Fields::default();
    let name = body.name.as_deref().map(|n| fields.check("name", text_field(n, 1, 100)));
    let street = body.street.as_deref().map(|s| fields.check("street", text_field(s, 1, 100)));
    fields.finish()?;
    let now = state.now();
    let tx = begin_write(state.db()?).await?;
    let existing = community::Entity::find_by_id(id).one(&tx).await?.ok_or(ApiError::NotFound)?;
    let mut model: community::ActiveModel = existing.into();
    if let Some(Some(name)) = name {
        model.name = Set(name);
    }
    if let Some(Some(street)) = street {
        model.street = Set(street);
    }
    if let Some(settings) = &body.settings {
        model.settings = Set(serde_json::to_string(settings).map_err(ApiError::internal)?);
    }
    model.updated_at = Set(now);
    let updated = community::Entity::update(model).exec(&tx).await?;
    audit::record(&tx, Entry::new(admin.user_id, "community.update", "community", id), now).await?;
    tx.commit().await?;
    Ok(Json(updated.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BuildingView {
    pub id: Uuid,
    pub compound_id: Uuid,
    pub name: String,
}

impl From<building::Model> for BuildingView {
    fn from(b: building::Model) -> Self {
        Self { id: b.id, compound_id: b.compound_id, name: b.name }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompoundView {
    pub id: Uuid,
    pub community_id: Uuid,
    pub name: String,
    /// Its buildings, by name.
    pub buildings: Vec<BuildingView>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NameBody {
    #[schema(example = "阳光花园", min_length = 1, max_length = 100)]
    name: String,
}

/// Add a compound to a community (its dispatchers, admins).
#[utoipa::path(post, path = "/communities/{id}/compounds", tag = "places", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = NameBody, responses((status = 201, body = CompoundView)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn create_compound(
    State(state): State<AppState>,
    principal: Principal,
    Path(community_id): Path<Uuid>,
    JsonBody(body): JsonBody<NameBody>,
) -> Result<(StatusCode, Json<CompoundView>), ApiError> {
    let db = state.db()?;
    community::Entity::find_by_id(community_id).one(db).await?.ok_or(ApiError::NotFound)?;
    if !is_staff_of(&principal, community_id) {
        return Err(ApiError::Forbidden);
    }
    let name = text_field(&body.name, 1, 100).map_err(|e| ApiError::validation("name", e))?;
    let now = state.now();
    let tx = begin_write(db).await?;
    let created = compound::Entity::insert(compound::ActiveModel {
        id: Set(Uuid::now_v7()),
        community_id: Set(community_id),
        name: Set(name),
        created_at: Set(now),
    })
    .exec_with_returning(&tx)
    .await
    .map_err(|e| {
        if violates_unique(&e, "uq_compound_name", "compounds.community_id") {
            ApiError::conflict("name_taken", t("该社区已有同名小区", "the community has a compound of this name"))
        } else {
            e.into()
        }
    })?;
    audit::record(&tx, Entry::new(principal.user_id, "compound.create", "compound", created.id), now).await?;
    tx.commit().await?;
    let view = CompoundView { id: created.id, community_id, name: created.name, buildings: Vec::new() };
    Ok((StatusCode::CREATED, Json(view)))
}

/// A community's compounds with their buildings (anyone).
#[utoipa::path(get, path = "/communities/{id}/compounds", tag = "places", params(("id" = Uuid, Path), PageParams),
    responses((status = 200, body = Paginated<CompoundView>)))]
async fn list_compounds(
    State(state): State<AppState>,
    Path(community_id): Path<Uuid>,
    Query(params): Query<PageParams>,
) -> Result<Json<Paginated<CompoundView>>, ApiError> {
    let page = params.page()?;
    let db = state.db()?;
    community::Entity::find_by_id(community_id).one(db).await?.ok_or(ApiError::NotFound)?;
    let mut query = compound::Entity::find()
        .filter(compound::Column::CommunityId.eq(community_id))
        .order_by_asc(compound::Column::Id)
        .limit(page.limit + 1);
    if let Some(after) = page.after {
        query = query.filter(compound::Column::Id.gt(after));
    }
    let compounds = query.all(db).await?;
    let ids: Vec<Uuid> = compounds.iter().map(|c| c.id).collect();
    let mut buildings: BTreeMap<Uuid, Vec<BuildingView>> = BTreeMap::new();
    for b in building::Entity::find()
        .filter(building::Column::CompoundId.is_in(ids))
        .order_by_asc(building::Column::Name)
        .all(db)
        .await?
    {
        buildings.entry(b.compound_id).or_default().push(b.into());
    }
    Ok(Json(Paginated::from_rows(
        compounds,
        page,
        |c| c.id,
        |c| CompoundView {
            buildings: buildings.remove(&c.id).unwrap_or_default(),
            id: c.id,
            community_id: c.community_id,
            name: c.name,
        },
    )))
}

/// Add a building to a compound (the community's dispatchers, admins).
#[utoipa::path(post, path = "/compounds/{id}/buildings", tag = "places", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = NameBody, responses((status = 201, body = BuildingView)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn create_building(
    State(state): State<AppState>,
    principal: Principal,
    Path(compound_id): Path<Uuid>,
    JsonBody(body): JsonBody<NameBody>,
) -> Result<(StatusCode, Json<BuildingView>), ApiError> {
    let db = state.db()?;
    let parent = compound::Entity::find_by_id(compound_id).one(db).await?.ok_or(ApiError::NotFound)?;
    if !is_staff_of(&principal, parent.community_id) {
        return Err(ApiError::Forbidden);
    }
    let name = text_field(&body.name, 1, 100).map_err(|e| ApiError::validation("name", e))?;
    let now = state.now();
    let tx = begin_write(db).await?;
    let created = building::Entity::insert(building::ActiveModel {
        id: Set(Uuid::now_v7()),
        compound_id: Set(compound_id),
        name: Set(name),
        created_at: Set(now),
    })
    .exec_with_returning(&tx)
    .await
    .map_err(|e| {
        if violates_unique(&e, "uq_building_name", "buildings.compound_id") {
            ApiError::conflict("name_taken", t("该小区已有同名楼栋", "the compound has a building of this name"))
        } else {
            e.into()
        }
    })?;
    audit::record(&tx, Entry::new(principal.user_id, "building.create", "building", created.id), now).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// A compound's buildings (anyone).
#[utoipa::path(get, path = "/compounds/{id}/buildings", tag = "places", params(("id" = Uuid, Path)),
    responses((status = 200, body = Paginated<BuildingView>)))]
async fn list_buildings(
    State(state): State<AppState>,
    Path(compound_id): Path<Uuid>,
) -> Result<Json<Paginated<BuildingView>>, ApiError> {
    let db = state.db()?;
    compound::Entity::find_by_id(compound_id).one(db).await?.ok_or(ApiError::NotFound)?;
    let rows = building::Entity::find()
        .filter(building::Column::CompoundId.eq(compound_id))
        .order_by_asc(building::Column::Name)
        .limit(1000)
        .all(db)
        .await?;
    Ok(Json(Paginated { items: rows.into_iter().map(BuildingView::from).collect(), next_cursor: None }))
}
