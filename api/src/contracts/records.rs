//! Recording a contract (a draft) and reading contracts.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use sea_orm::sea_query::ExprTrait;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Deserialize;
use shenbian_domain::Role;
use shenbian_domain::contract::{ContractPeriod, Terms};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::coverage::{Covered, contract_ids_covering, with_coverage};
use super::standing::visible;
use super::view::{ContractView, TermsBody};
use crate::access::{partners_of, text_field};
use crate::audit::{self, Entry};
use crate::auth::{Principal, Staff};
use crate::categories::unknown_categories;
use crate::db::begin_write;
use crate::entity::enums::ContractStatusDb;
use crate::entity::{community, contract, contract_category, contract_community, partner};
use crate::error::{ApiError, t};
use crate::extract::{Fields, JsonBody, Path, Query};
use crate::pagination::{PageParams, Paginated};
use crate::state::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(create_contract, list_contracts)).routes(routes!(get_contract))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContract {
    partner_id: Uuid,
    #[schema(example = "2027年度法律服务进社区契约", min_length = 1, max_length = 200)]
    title: String,
    #[schema(min_items = 1, max_items = 50)]
    community_ids: Vec<Uuid>,
    #[schema(min_items = 1, max_items = 50)]
    category_codes: Vec<String>,
    valid_from: NaiveDate,
    valid_to: NaiveDate,
    terms: TermsBody,
}

/// Record a contract as a draft (admins; dispatchers for their own community only).
#[utoipa::path(post, path = "/contracts", tag = "contracts", security(("bearer" = [])), request_body = NewContract,
    responses((status = 201, body = ContractView)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn create_contract(
    State(state): State<AppState>,
    Staff { principal, scope }: Staff,
    JsonBody(body): JsonBody<NewContract>,
) -> Result<(StatusCode, Json<ContractView>), ApiError> {
    let db = state.db()?;
    let communities: Vec<Uuid> = body.community_ids.iter().copied().collect::<BTreeSet<_>>().into_iter().collect();
    let categories: Vec<String> = body.category_codes.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect();
    // A contract that covers another community too is the district's to record.
    if scope.is_some_and(|own| communities.iter().any(|c| *c != own)) {
        return Err(ApiError::Forbidden);
    }
    let mut fields = Fields::default();
    let title = fields.check("title", text_field(&body.title, 1, 200));
    // The start within 2000-01-01 and a year from today; the end follows within ten years.
    let period = match crate::dates::date_problem(&state, body.valid_from) {
        Some(problem) => {
            fields.push("valid_from", problem);
            None
        }
        None => fields.check("valid_to", ContractPeriod::new(body.valid_from, body.valid_to)),
    };
    if let Err(errors) = Terms::parse(body.terms.into()) {
        for e in errors {
            fields.push(e.field(), e);
        }
    }
    if partner::Entity::find_by_id(body.partner_id).one(db).await?.is_none() {
        fields.push("partner_id", t("没有这个合作方", "no such partner"));
    }
    if communities.is_empty() || communities.len() > 50 {
        fields.push("community_ids", t("须为 1 到 50 个社区", "between 1 and 50 communities"));
    } else {
        let found = community::Entity::find().filter(community::Column::Id.is_in(communities.clone())).all(db).await?;
        if found.len() != communities.len() {
            fields.push("community_ids", t("每个社区都须存在", "every community must exist"));
        }
    }
    if categories.is_empty() || categories.len() > 50 {
        fields.push("category_codes", t("须为 1 到 50 个服务类别", "between 1 and 50 categories"));
    } else {
        let unknown = unknown_categories(db, &categories).await?;
        if !unknown.is_empty() {
            fields.push(
                "category_codes",
                (
                    format!("没有这些服务类别，或它们已停用：{}", unknown.join("、")),
                    format!("unknown or inactive categories: {}", unknown.join(", ")),
                ),
            );
        }
    }
    let (Some(title), Some(period)) = (title, period) else { return Err(fields.into_error()) };
    fields.finish()?;

    let now = state.now();
    let terms = body.terms;
    let tx = begin_write(db).await?;
    let created = contract::Entity::insert(contract::ActiveModel {
        id: Set(Uuid::now_v7()),
        partner_id: Set(body.partner_id),
        title: Set(title),
        valid_from: Set(period.valid_from()),
        valid_to: Set(period.valid_to()),
        pricing: Set(terms.pricing),
        discount_percent: Set(terms.discount_percent.map(|v| v as i32)),
        monthly_quota: Set(terms.monthly_quota.map(|v| v as i32)),
        max_open_jobs: Set(terms.max_open_jobs as i32),
        accept_within_minutes: Set(terms.accept_within_minutes.map(|v| v as i32)),
        status: Set(ContractStatusDb::Draft),
        status_reason: Set(None),
        open_jobs: Set(0),
        signed_at: Set(None),
        signed_by: Set(None),
        created_by: Set(principal.user_id),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_with_returning(&tx)
    .await?;
    contract_community::Entity::insert_many(
        communities
            .iter()
            .map(|c| contract_community::ActiveModel { contract_id: Set(created.id), community_id: Set(*c) }),
    )
    .exec(&tx)
    .await?;
    contract_category::Entity::insert_many(
        categories
            .iter()
            .map(|c| contract_category::ActiveModel { contract_id: Set(created.id), category_code: Set(c.clone()) }),
    )
    .exec(&tx)
    .await?;
    audit::record(&tx, Entry::new(principal.user_id, "contract.create", "contract", created.id), now).await?;
    tx.commit().await?;
    let covered = Covered { contract: created, communities, categories };
    Ok((StatusCode::CREATED, Json(covered.view(state.today()))))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ContractFilter {
    partner_id: Option<Uuid>,
    /// Stored status (`expired` is derived and not filterable).
    status: Option<ContractStatusDb>,
    community_id: Option<Uuid>,
    category_code: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u64>,
    cursor: Option<String>,
}

/// Contracts the caller may see: admins all, dispatchers those covering their community,
/// partner members their partner's.
#[utoipa::path(get, path = "/contracts", tag = "contracts", security(("bearer" = [])), params(ContractFilter),
    responses((status = 200, body = Paginated<ContractView>)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn list_contracts(
    State(state): State<AppState>,
    principal: Principal,
    Query(filter): Query<ContractFilter>,
) -> Result<Json<Paginated<ContractView>>, ApiError> {
    let page = PageParams { limit: filter.limit, cursor: filter.cursor }.page()?;
    let db = state.db()?;
    let mut query = contract::Entity::find().order_by_asc(contract::Column::Id).limit(page.limit + 1);
    if let Some(after) = page.after {
        query = query.filter(contract::Column::Id.gt(after));
    }
    if !principal.has(Role::Admin) {
        let own = partners_of(db, principal.user_id).await?;
        let mut scope = contract::Column::PartnerId.is_in(own.clone());
        if let (true, Some(community)) = (principal.has(Role::Dispatcher), principal.community_id) {
            let covering = contract_ids_covering(db, Some(community), None).await?;
            scope = scope.or(contract::Column::Id.is_in(covering));
        } else if own.is_empty() {
            return Err(ApiError::Forbidden);
        }
        query = query.filter(scope);
    }
    if let Some(partner) = filter.partner_id {
        query = query.filter(contract::Column::PartnerId.eq(partner));
    }
    if let Some(status) = filter.status {
        query = query.filter(contract::Column::Status.eq(status));
    }
    if filter.community_id.is_some() || filter.category_code.is_some() {
        let ids = contract_ids_covering(db, filter.community_id, filter.category_code.as_deref()).await?;
        query = query.filter(contract::Column::Id.is_in(ids));
    }
    let mut rows = query.all(db).await?;
    let more = rows.len() as u64 > page.limit;
    rows.truncate(page.limit as usize);
    let next_cursor = if more { rows.last().map(|c| crate::pagination::encode_cursor(c.id)) } else { None };
    let today = state.today();
    let items = with_coverage(db, rows).await?.into_iter().map(|c| c.view(today)).collect();
    Ok(Json(Paginated { items, next_cursor }))
}

/// One contract, as the caller may see it.
#[utoipa::path(get, path = "/contracts/{id}", tag = "contracts", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = ContractView)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn get_contract(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
) -> Result<Json<ContractView>, ApiError> {
    let (covered, _) = visible(state.db()?, &principal, id).await?;
    Ok(Json(covered.view(state.today())))
}
