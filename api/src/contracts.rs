//! Contracts (契约): staff record them, the partner admin signs, staff activate, suspend and
//! terminate. Two active contracts of one partner may not overlap in community, category and
//! dates. Also the eligibility question every dispatch asks.

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query as SqlQuery, UnionType};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};
use shenbian_domain::Role;
use shenbian_domain::contract::{ContractAction, ContractPeriod, ContractStatus, Terms};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::{ReasonBody, membership, partners_of, text_field};
use crate::audit::{self, Entry};
use crate::auth::Principal;
use crate::categories::unknown_categories;
use crate::db::begin_write;
use crate::entity::enums::{ContractStatusDb, MemberRole, PricingDb};
use crate::entity::{community, contract, contract_category, contract_community, partner};
use crate::error::{ApiError, t};
use crate::extract::{Fields, JsonBody, Path, Query};
use crate::pagination::{PageParams, Paginated};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_contract, list_contracts))
        .routes(routes!(get_contract))
        .routes(routes!(sign))
        .routes(routes!(activate))
        .routes(routes!(suspend))
        .routes(routes!(terminate))
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TermsBody {
    pricing: PricingDb,
    /// 1–99, only with `discount` pricing.
    #[schema(minimum = 1, maximum = 99)]
    discount_percent: Option<u32>,
    /// Accepts allowed per calendar month (district time); none for no limit.
    #[schema(minimum = 1, maximum = 100000)]
    monthly_quota: Option<u32>,
    /// Accepted and in-progress jobs the partner may hold at once under this contract.
    #[schema(minimum = 1, maximum = 1000)]
    max_open_jobs: u32,
    /// The accept window for offers under this contract, in minutes.
    #[schema(minimum = 1, maximum = 10080)]
    accept_within_minutes: Option<u32>,
}

impl From<TermsBody> for Terms {
    fn from(t: TermsBody) -> Self {
        Terms {
            pricing: t.pricing.into(),
            discount_percent: t.discount_percent,
            monthly_quota: t.monthly_quota,
            max_open_jobs: t.max_open_jobs,
            accept_within_minutes: t.accept_within_minutes,
        }
    }
}

#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct ContractView {
    pub id: Uuid,
    pub partner_id: Uuid,
    pub title: String,
    pub community_ids: Vec<Uuid>,
    pub category_codes: Vec<String>,
    /// First day in force (district local date).
    pub valid_from: NaiveDate,
    /// Last day in force, inclusive.
    pub valid_to: NaiveDate,
    pub terms: TermsBody,
    /// As of today: `expired` once past `valid_to`.
    pub status: ContractStatusDb,
    pub status_reason: Option<String>,
    /// Accepted and in-progress jobs charged to this contract.
    pub open_jobs: i32,
    pub signed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A contract with the communities and categories it covers.
pub struct Covered {
    pub contract: contract::Model,
    pub communities: Vec<Uuid>,
    pub categories: Vec<String>,
}

impl Covered {
    pub fn period(&self) -> ContractPeriod {
        // Stored periods were checked when recorded.
        ContractPeriod::new(self.contract.valid_from, self.contract.valid_to).unwrap_or_else(|_| {
            ContractPeriod::new(self.contract.valid_from, self.contract.valid_from).expect("one day")
        })
    }

    pub fn status_today(&self, today: NaiveDate) -> ContractStatus {
        ContractStatus::from(self.contract.status).as_of(&self.period(), today)
    }

    fn view(self, today: NaiveDate) -> ContractView {
        let status = self.status_today(today).into();
        let c = self.contract;
        ContractView {
            id: c.id,
            partner_id: c.partner_id,
            title: c.title,
            community_ids: self.communities,
            category_codes: self.categories,
            valid_from: c.valid_from,
            valid_to: c.valid_to,
            terms: TermsBody {
                pricing: c.pricing,
                discount_percent: c.discount_percent.map(|v| v as u32),
                monthly_quota: c.monthly_quota.map(|v| v as u32),
                max_open_jobs: c.max_open_jobs as u32,
                accept_within_minutes: c.accept_within_minutes.map(|v| v as u32),
            },
            status,
            status_reason: c.status_reason,
            open_jobs: c.open_jobs,
            signed_at: c.signed_at,
            created_at: c.created_at,
        }
    }
}

/// Loads the coverage of contracts: communities and categories in one query.
pub async fn with_coverage(
    db: &impl ConnectionTrait,
    contracts: Vec<contract::Model>,
) -> Result<Vec<Covered>, ApiError> {
    if contracts.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = contracts.iter().map(|c| c.id).collect();
    let categories = SqlQuery::select()
        .column(contract_category::Column::ContractId)
        .expr_as(Expr::val(Option::<Uuid>::None), "community_id")
        .expr_as(Expr::col(contract_category::Column::CategoryCode), "category_code")
        .from(contract_category::Entity)
        .and_where(contract_category::Column::ContractId.is_in(ids.clone()))
        .to_owned();
    let both = SqlQuery::select()
        .column(contract_community::Column::ContractId)
        .expr_as(Expr::col(contract_community::Column::CommunityId), "community_id")
        .expr_as(Expr::val(Option::<String>::None), "category_code")
        .from(contract_community::Entity)
        .and_where(contract_community::Column::ContractId.is_in(ids))
        .union(UnionType::All, categories)
        .to_owned();
    let mut communities: BTreeMap<Uuid, Vec<Uuid>> = BTreeMap::new();
    let mut categories: BTreeMap<Uuid, Vec<String>> = BTreeMap::new();
    for row in CoverageRow::find_by_statement(db.get_database_backend().build(&both)).all(db).await? {
        match (row.community_id, row.category_code) {
            (Some(community), _) => communities.entry(row.contract_id).or_default().push(community),
            (None, Some(code)) => categories.entry(row.contract_id).or_default().push(code),
            (None, None) => {}
        }
    }
    Ok(contracts
        .into_iter()
        .map(|c| Covered {
            communities: communities.remove(&c.id).unwrap_or_default(),
            categories: categories.remove(&c.id).unwrap_or_default(),
            contract: c,
        })
        .collect())
}

#[derive(Debug, FromQueryResult)]
struct CoverageRow {
    contract_id: Uuid,
    community_id: Option<Uuid>,
    category_code: Option<String>,
}

/// How the caller stands to a contract.
pub(crate) struct Standing {
    /// Admin, or a dispatcher of the one community it covers: changes it. A contract that
    /// covers other communities too is the district's to change, not one community's.
    may_change: bool,
    /// Admin of the contract's partner: signs it.
    partner_admin: bool,
}

/// A contract the caller may see (admins, dispatchers of a covered community, the
/// partner's members), with their standing; anyone else gets 404.
pub(crate) async fn visible(
    db: &impl ConnectionTrait,
    principal: &Principal,
    id: Uuid,
) -> Result<(Covered, Standing), ApiError> {
    let found = contract::Entity::find_by_id(id).one(db).await?.ok_or(ApiError::NotFound)?;
    let covered = with_coverage(db, vec![found]).await?.pop().ok_or(ApiError::NotFound)?;
    let staff = principal.has(Role::Admin)
        || (principal.has(Role::Dispatcher)
            && principal.community_id.is_some_and(|c| covered.communities.contains(&c)));
    let role = membership(db, principal.user_id, covered.contract.partner_id).await?;
    if !staff && role.is_none() {
        return Err(ApiError::NotFound);
    }
    let may_change =
        principal.has(Role::Admin) || (staff && covered.communities.iter().all(|c| principal.community_id == Some(*c)));
    Ok((covered, Standing { may_change, partner_admin: role == Some(MemberRole::Admin) }))
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
    principal: Principal,
    JsonBody(body): JsonBody<NewContract>,
) -> Result<(StatusCode, Json<ContractView>), ApiError> {
    let admin = principal.has(Role::Admin);
    let dispatcher_of = principal.community_id.filter(|_| principal.has(Role::Dispatcher));
    if !admin && dispatcher_of.is_none() {
        return Err(ApiError::Forbidden);
    }
    let db = state.db()?;
    let communities: Vec<Uuid> = body.community_ids.iter().copied().collect::<BTreeSet<_>>().into_iter().collect();
    let categories: Vec<String> = body.category_codes.iter().cloned().collect::<BTreeSet<_>>().into_iter().collect();
    if !admin && communities.iter().any(|c| Some(*c) != dispatcher_of) {
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

/// Ids of contracts covering a community and/or a category.
async fn contract_ids_covering(
    db: &impl ConnectionTrait,
    community: Option<Uuid>,
    category: Option<&str>,
) -> Result<Vec<Uuid>, ApiError> {
    let mut ids: Option<BTreeSet<Uuid>> = None;
    if let Some(community) = community {
        let rows = contract_community::Entity::find()
            .filter(contract_community::Column::CommunityId.eq(community))
            .all(db)
            .await?;
        ids = Some(rows.into_iter().map(|r| r.contract_id).collect());
    }
    if let Some(category) = category {
        let rows = contract_category::Entity::find()
            .filter(contract_category::Column::CategoryCode.eq(category))
            .all(db)
            .await?;
        let these: BTreeSet<Uuid> = rows.into_iter().map(|r| r.contract_id).collect();
        ids = Some(match ids {
            Some(before) => before.intersection(&these).copied().collect(),
            None => these,
        });
    }
    Ok(ids.unwrap_or_default().into_iter().collect())
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

/// Moves a contract with a compare-and-set on status and version, in one transaction with
/// its audit entry and, for suspensions and terminations, the closing of its open offers.
/// The `reason`'s check is answered only to a caller who may see the contract.
async fn transition(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    action: ContractAction,
    reason: Option<Result<String, ApiError>>,
) -> Result<Json<ContractView>, ApiError> {
    let now = state.now();
    let today = state.today();
    let tx = begin_write(state.db()?).await?;
    let (covered, standing) = visible(&tx, principal, id).await?;
    let reason = reason.transpose()?;
    let allowed = match action {
        ContractAction::Sign => standing.partner_admin,
        _ => standing.may_change,
    };
    if !allowed {
        return Err(ApiError::Forbidden);
    }
    let next = covered.status_today(today).apply(action).map_err(|e| ApiError::InvalidTransition(e.message))?;
    if next == ContractStatus::Active {
        // Serialise activations of one partner's contracts (a row lock on PostgreSQL; SQLite's
        // write lock is already held), then refuse an overlap with another active contract.
        partner::Entity::update_many()
            .col_expr(partner::Column::Version, Expr::col(partner::Column::Version).add(1))
            .filter(partner::Column::Id.eq(covered.contract.partner_id))
            .exec(&tx)
            .await?;
        if let Some(other) = overlapping_active(&tx, &covered, today).await? {
            return Err(ApiError::conflict(
                "overlapping_contract",
                (
                    format!("该合作方的生效合同 {other} 已覆盖相同的社区、服务类别和日期"),
                    format!("active contract {other} of this partner covers the same community, category and dates"),
                ),
            ));
        }
    }
    if matches!(action, ContractAction::Suspend | ContractAction::Terminate) {
        crate::orders::withdrawals::close_for_contract(&tx, id, "contract_suspended", now).await?;
    }
    let c = &covered.contract;
    let mut update = contract::Entity::update_many()
        .col_expr(contract::Column::Status, Expr::value(ContractStatusDb::from(next)))
        .col_expr(contract::Column::Version, Expr::value(c.version + 1))
        .col_expr(contract::Column::UpdatedAt, Expr::value(now));
    if reason.is_some() {
        update = update.col_expr(contract::Column::StatusReason, Expr::value(reason.clone()));
    }
    if action == ContractAction::Sign {
        update = update
            .col_expr(contract::Column::SignedAt, Expr::value(now))
            .col_expr(contract::Column::SignedBy, Expr::value(principal.user_id));
    }
    let updated = update
        .filter(contract::Column::Id.eq(id))
        .filter(contract::Column::Status.eq(c.status))
        .filter(contract::Column::Version.eq(c.version))
        .exec_with_returning(&tx)
        .await?;
    let Some(updated) = updated.into_iter().next() else {
        return Err(ApiError::conflict(
            "conflict",
            t("合同刚被他人修改；请刷新后重试", "the contract changed meanwhile; reload and retry"),
        ));
    };
    let verb = format!("contract.{}", action.as_str());
    let mut entry = Entry::new(principal.user_id, &verb, "contract", id);
    entry.reason = reason;
    audit::record(&tx, entry, now).await?;
    tx.commit().await?;
    let covered = Covered { contract: updated, ..covered };
    Ok(Json(covered.view(today)))
}

/// Another active, unexpired contract of the same partner sharing a community, a category
/// and some days with this one.
async fn overlapping_active(
    db: &impl ConnectionTrait,
    this: &Covered,
    today: NaiveDate,
) -> Result<Option<Uuid>, ApiError> {
    let others = contract::Entity::find()
        .filter(contract::Column::PartnerId.eq(this.contract.partner_id))
        .filter(contract::Column::Status.eq(ContractStatusDb::Active))
        .filter(contract::Column::Id.ne(this.contract.id))
        .all(db)
        .await?;
    let period = this.period();
    for other in with_coverage(db, others).await? {
        let shares = other.communities.iter().any(|c| this.communities.contains(c))
            && other.categories.iter().any(|c| this.categories.contains(c));
        if shares && other.period().overlaps(&period) && other.status_today(today) == ContractStatus::Active {
            return Ok(Some(other.contract.id));
        }
    }
    Ok(None)
}

/// Sign a draft contract (the partner's admin).
#[utoipa::path(post, path = "/contracts/{id}/sign", operation_id = "sign_contract", tag = "contracts", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = ContractView)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn sign(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
) -> Result<Json<ContractView>, ApiError> {
    transition(&state, &principal, id, ContractAction::Sign, None).await
}

/// Put a signed (or suspended) contract in force (admins; a dispatcher when it covers her
/// community only).
#[utoipa::path(post, path = "/contracts/{id}/activate", operation_id = "activate_contract", tag = "contracts", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = ContractView)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn activate(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
) -> Result<Json<ContractView>, ApiError> {
    transition(&state, &principal, id, ContractAction::Activate, None).await
}

/// Suspend an active contract, with a reason: its open offers close; accepted jobs carry on
/// (admins; a dispatcher when it covers her community only).
#[utoipa::path(post, path = "/contracts/{id}/suspend", operation_id = "suspend_contract", tag = "contracts", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = ReasonBody, responses((status = 200, body = ContractView)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn suspend(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
    JsonBody(body): JsonBody<ReasonBody>,
) -> Result<Json<ContractView>, ApiError> {
    transition(&state, &principal, id, ContractAction::Suspend, Some(body.checked())).await
}

/// End a contract for good, with a reason (admins; a dispatcher when it covers her community
/// only).
#[utoipa::path(post, path = "/contracts/{id}/terminate", operation_id = "terminate_contract", tag = "contracts", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = ReasonBody, responses((status = 200, body = ContractView)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn terminate(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
    JsonBody(body): JsonBody<ReasonBody>,
) -> Result<Json<ContractView>, ApiError> {
    transition(&state, &principal, id, ContractAction::Terminate, Some(body.checked())).await
}
