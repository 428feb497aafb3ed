//! The service catalogue: categories with names in Chinese and English, a group, and the
//! minutes allowed to dispatch, accept and complete at each urgency (分级响应). Admins keep
//! it; anyone reads it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use shenbian_domain::category::{CategoryCode, Sla, StepMinutes};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::access::text_field;
use crate::audit::{self, Entry};
use crate::auth::Admin;
use crate::db::begin_write;
use crate::entity::category;
use crate::error::{ApiError, t, violates_unique};
use crate::extract::{Fields, JsonBody, Path, Query};
use crate::pagination::{PageParams, Paginated, encode_text_cursor};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_category, list_categories)).routes(routes!(get_category, patch_category))
}

/// Minutes allowed for each step at one urgency.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepMinutesBody {
    /// From creation to dispatch.
    #[schema(minimum = 1)]
    dispatch: u32,
    /// From each dispatch to acceptance.
    #[schema(minimum = 1)]
    accept: u32,
    /// From acceptance to completion.
    #[schema(minimum = 1)]
    complete: u32,
}

/// Service levels per urgency; a more urgent level never allows more time.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaBody {
    normal: StepMinutesBody,
    urgent: StepMinutesBody,
    emergency: StepMinutesBody,
}

impl From<SlaBody> for Sla {
    fn from(b: SlaBody) -> Self {
        let step = |s: StepMinutesBody| StepMinutes { dispatch: s.dispatch, accept: s.accept, complete: s.complete };
        Sla { normal: step(b.normal), urgent: step(b.urgent), emergency: step(b.emergency) }
    }
}

impl From<Sla> for SlaBody {
    fn from(s: Sla) -> Self {
        let step = |s: StepMinutes| StepMinutesBody { dispatch: s.dispatch, accept: s.accept, complete: s.complete };
        SlaBody { normal: step(s.normal), urgent: step(s.urgent), emergency: step(s.emergency) }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CategoryView {
    /// Stable code, e.g. `legal_advice`.
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub group: String,
    pub sla: SlaBody,
    /// Inactive categories take no new orders.
    pub active: bool,
}

/// Reads a stored category's service levels.
pub fn stored_sla(model: &category::Model) -> Result<Sla, ApiError> {
    serde_json::from_str(&model.sla).map_err(ApiError::internal)
}

impl TryFrom<category::Model> for CategoryView {
    type Error = ApiError;
    fn try_from(c: category::Model) -> Result<Self, ApiError> {
        Ok(Self {
            sla: stored_sla(&c)?.into(),
            code: c.code,
            name_zh: c.name_zh,
            name_en: c.name_en,
            group: c.group_name,
            active: c.active,
        })
    }
}

/// The categories among `codes` that do not exist or are inactive.
pub async fn unknown_categories(db: &impl ConnectionTrait, codes: &[String]) -> Result<Vec<String>, ApiError> {
    let found = category::Entity::find()
        .filter(category::Column::Code.is_in(codes.iter().cloned()))
        .filter(category::Column::Active.eq(true))
        .all(db)
        .await?;
    Ok(codes.iter().filter(|c| !found.iter().any(|f| &f.code == *c)).cloned().collect())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCategory {
    #[schema(example = "legal_advice", min_length = 2, max_length = 32)]
    code: String,
    #[schema(example = "法律咨询", min_length = 1, max_length = 50)]
    name_zh: String,
    #[schema(example = "Legal advice", min_length = 1, max_length = 100)]
    name_en: String,
    /// A grouping for menus, e.g. `生活服务`.
    #[schema(example = "专业服务", min_length = 1, max_length = 50)]
    group: String,
    sla: SlaBody,
}

/// Add a category (admins).
#[utoipa::path(post, path = "/categories", tag = "catalogue", security(("bearer" = [])), request_body = CreateCategory,
    responses((status = 201, body = CategoryView)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn create_category(
    State(state): State<AppState>,
    Admin(admin): Admin,
    JsonBody(body): JsonBody<CreateCategory>,
) -> Result<(StatusCode, Json<CategoryView>), ApiError> {
    let mut fields = Fields::default();
    let code = fields.check("code", CategoryCode::parse(&body.code));
    let name_zh = fields.check("name_zh", text_field(&body.name_zh, 1, 50));
    let name_en = fields.check("name_en", text_field(&body.name_en, 1, 100));
    let group = fields.check("group", text_field(&body.group, 1, 50));
    let sla = fields.check("sla", Sla::parse(body.sla.into()));
    let (Some(code), Some(name_zh), Some(name_en), Some(group), Some(sla)) = (code, name_zh, name_en, group, sla)
    else {
        return Err(fields.into_error());
    };
    let now = state.now();
    let tx = begin_write(state.db()?).await?;
    let created = category::Entity::insert(category::ActiveModel {
        code: Set(code.as_str().to_owned()),
        name_zh: Set(name_zh),
        name_en: Set(name_en),
        group_name: Set(group),
        sla: Set(serde_json::to_string(&sla).map_err(ApiError::internal)?),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_with_returning(&tx)
    .await
    .map_err(|e| {
        if violates_unique(&e, "categories_pkey", "categories.code") {
            ApiError::conflict("code_taken", t("已有使用此代码的服务类别", "a category with this code exists"))
        } else {
            e.into()
        }
    })?;
    audit::record(&tx, Entry::new(admin.user_id, "category.create", "category", &created.code), now).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(created.try_into()?)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CategoryFilter {
    /// Only this group.
    group: Option<String>,
    /// Only active (true) or inactive (false) categories.
    active: Option<bool>,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u64>,
    cursor: Option<String>,
}

/// The catalogue, by code (anyone).
#[utoipa::path(get, path = "/categories", tag = "catalogue", params(CategoryFilter),
    responses((status = 200, body = Paginated<CategoryView>)))]
async fn list_categories(
    State(state): State<AppState>,
    Query(filter): Query<CategoryFilter>,
) -> Result<Json<Paginated<CategoryView>>, ApiError> {
    let (limit, after) = PageParams { limit: filter.limit, cursor: filter.cursor }.text_page()?;
    let mut query = category::Entity::find().order_by_asc(category::Column::Code).limit(limit + 1);
    if let Some(after) = after {
        query = query.filter(category::Column::Code.gt(after));
    }
    if let Some(group) = filter.group {
        query = query.filter(category::Column::GroupName.eq(group));
    }
    if let Some(active) = filter.active {
        query = query.filter(category::Column::Active.eq(active));
    }
    let mut rows = query.all(state.db()?).await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(|c| encode_text_cursor(&c.code)) } else { None };
    let items = rows.into_iter().map(CategoryView::try_from).collect::<Result<_, _>>()?;
    Ok(Json(Paginated { items, next_cursor }))
}

/// One category (anyone).
#[utoipa::path(get, path = "/categories/{code}", tag = "catalogue", params(("code" = String, Path)),
    responses((status = 200, body = CategoryView)))]
async fn get_category(State(state): State<AppState>, Path(code): Path<String>) -> Result<Json<CategoryView>, ApiError> {
    let found = category::Entity::find_by_id(code).one(state.db()?).await?.ok_or(ApiError::NotFound)?;
    Ok(Json(found.try_into()?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchCategory {
    #[schema(min_length = 1, max_length = 50)]
    name_zh: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    name_en: Option<String>,
    #[schema(min_length = 1, max_length = 50)]
    group: Option<String>,
    sla: Option<SlaBody>,
    active: Option<bool>,
}

/// Edit a category's names, group, service levels or activity (admins). The code stays.
#[utoipa::path(patch, path = "/categories/{code}", tag = "catalogue", security(("bearer" = [])),
    params(("code" = String, Path)), request_body = PatchCategory, responses((status = 200, body = CategoryView)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn patch_category(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(code): Path<String>,
    JsonBody(body): JsonBody<PatchCategory>,
) -> Result<Json<CategoryView>, ApiError> {
    let mut fields = Fields::default();
    let name_zh = body.name_zh.as_deref().map(|v| fields.check("name_zh", text_field(v, 1, 50)));
    let name_en = body.name_en.as_deref().map(|v| fields.check("name_en", text_field(v, 1, 100)));
    let group = body.group.as_deref().map(|v| fields.check("group", text_field(v, 1, 50)));
    let sla = body.sla.map(|s| fields.check("sla", Sla::parse(s.into())));
    fields.finish()?;
    let now = state.now();
    let tx = begin_write(state.db()?).await?;
    let existing = category::Entity::find_by_id(code.clone()).one(&tx).await?.ok_or(ApiError::NotFound)?;
    let mut model: category::ActiveModel = existing.into();
    if let Some(Some(v)) = name_zh {
        model.name_zh = Set(v);
    }
    if let Some(Some(v)) = name_en {
        model.name_en = Set(v);
    }
    if let Some(Some(v)) = group {
        model.group_name = Set(v);
    }
    if let Some(Some(v)) = sla {
        model.sla = Set(serde_json::to_string(&v).map_err(ApiError::internal)?);
    }
    if let Some(active) = body.active {
        model.active = Set(active);
    }
    model.updated_at = Set(now);
    let updated = category::Entity::update(model).exec(&tx).await?;
    audit::record(&tx, Entry::new(admin.user_id, "category.update", "category", &code), now).await?;
    tx.commit().await?;
    Ok(Json(updated.try_into()?))
}
