//! Loads what the domain's eligibility rules need and answers "may this provider be offered
//! an order of this community and category today, and why not?" — for dispatches, and for
//! dispatchers asking ahead (`GET /partners/{id}/eligibility`).

use axum::Json;
use axum::extract::State;
use sea_orm::sea_query::{Expr, ExprTrait, IntoIden, Query as SqlQuery, QueryStatementBuilder, SelectStatement};
use sea_orm::{
    ActiveEnum, ConnectionTrait, EntityTrait, FromQueryResult, Iterable, QueryResult, QuerySelect, QueryTrait,
};
use serde::{Deserialize, Serialize};
use shenbian_domain::eligibility::{
    ContractFacts, Ineligible, VolunteerFacts, partner_eligibility, volunteer_eligibility,
};
use shenbian_domain::partner::ProviderStatus;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::{is_staff, is_staff_of};
use crate::auth::Principal;
use crate::contracts::Covered;
use crate::entity::enums::{OfferStatus, ProviderStatusDb};
use crate::entity::{
    contract, contract_category, contract_community, contract_usage, offer, partner, volunteer, volunteer_skill,
};
use crate::error::{ApiError, ReasonView};
use crate::extract::{Lang, Path, Query};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(partner_eligibility_route)).routes(routes!(volunteer_eligibility_route))
}

/// The calendar month quotas count in: the domain's [`shenbian_domain::eligibility::quota_month`].
pub use shenbian_domain::eligibility::quota_month as month_key;

/// What an eligibility question is about: a community and a category in this month's
/// quotas and, for a dispatch, the order itself (to tell a provider who declined it before).
pub struct Ask<'a> {
    pub community: Uuid,
    pub category: &'a str,
    /// The calendar month quotas count, [`month_key`].
    pub month: &'a str,
    pub order: Option<Uuid>,
}

/// A partner as eligibility sees it.
pub struct PartnerFacts {
    pub name: String,
    pub status: ProviderStatus,
    /// Its contracts, their coverage narrowed to the community and category asked about.
    pub contracts: Vec<ContractFacts>,
    /// Each contract's own accept window in minutes, where it sets one.
    accept_windows: Vec<(Uuid, Option<u32>)>,
    /// It declined the order asked about.
    pub declined: bool,
}

impl PartnerFacts {
    /// The accept window a contract of this partner sets for its offers, if any.
    pub fn accept_window(&self, contract_id: Uuid) -> Option<u32> {
        self.accept_windows.iter().find(|w| w.0 == contract_id).and_then(|w| w.1)
    }
}

/// A stored count or limit (never negative) as the domain counts it.
fn non_negative(v: i32) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

/// A scalar subquery of a statement.
fn sub(q: SelectStatement) -> Expr {
    Expr::SubQuery(None, Box::new(q.into_sub_query_statement()))
}

/// `1` when a row matches, else `NULL`: a flag as a scalar subquery.
fn flag(table: impl IntoIden, conditions: Vec<Expr>) -> Expr {
    let mut q = SqlQuery::select();
    q.expr(Expr::val(1)).from(table).limit(1);
    for c in conditions {
        q.and_where(c);
    }
    sub(q)
}

/// Whether the provider `provider` (a column) declined the order asked about.
fn declined(ask: &Ask<'_>, provider: Expr) -> Option<Expr> {
    let order = ask.order?;
    Some(flag(
        offer::Entity,
        vec![
            Expr::col((offer::Entity, offer::Column::OrderId)).eq(order),
            Expr::col((offer::Entity, offer::Column::ProviderId)).eq(provider),
            Expr::col((offer::Entity, offer::Column::Status)).eq(OfferStatus::Declined.to_value()),
        ],
    ))
}

/// A flag column of a row (`1` or `NULL`), or false when the statement did not ask.
fn flag_of(row: &QueryResult, column: &str, asked: bool) -> Result<bool, ApiError> {
    if !asked {
        return Ok(false);
    }
    let value: Option<i32> = row.try_get("", column)?;
    Ok(value.is_some())
}

/// The partner, its contracts with this month's accepts and whether each covers the
/// community and the category, and whether it declined the order: one statement (the
/// partner left-joined to its contracts, the rest by subqueries).
pub async fn partner_facts(
    db: &impl ConnectionTrait,
    partner_id: Uuid,
    ask: &Ask<'_>,
) -> Result<Option<PartnerFacts>, ApiError> {
    let contract_id = || Expr::col((contract::Entity, contract::Column::Id));
    let used = SqlQuery::select()
        .column(contract_usage::Column::Accepted)
        .from(contract_usage::Entity)
        .and_where(Expr::col((contract_usage::Entity, contract_usage::Column::ContractId)).eq(contract_id()))
        .and_where(Expr::col((contract_usage::Entity, contract_usage::Column::Month)).eq(ask.month))
        .to_owned();
    let covers_community = flag(
        contract_community::Entity,
        vec![
            Expr::col((contract_community::Entity, contract_community::Column::ContractId)).eq(contract_id()),
            Expr::col((contract_community::Entity, contract_community::Column::CommunityId)).eq(ask.community),
        ],
    );
    let covers_category = flag(
        contract_category::Entity,
        vec![
            Expr::col((contract_category::Entity, contract_category::Column::ContractId)).eq(contract_id()),
            Expr::col((contract_category::Entity, contract_category::Column::CategoryCode)).eq(ask.category),
        ],
    );
    let mut query = SqlQuery::select();
    query
        .expr_as(Expr::col((partner::Entity, partner::Column::Name)), "partner_name")
        .expr_as(Expr::col((partner::Entity, partner::Column::Status)), "partner_status")
        .columns(contract::Column::iter().map(|c| (contract::Entity, c)))
        .expr_as(sub(used), "accepted_this_month")
        .expr_as(covers_community, "covers_community")
        .expr_as(covers_category, "covers_category")
        .from(partner::Entity)
        .left_join(
            contract::Entity,
            Expr::col((contract::Entity, contract::Column::PartnerId)).equals((partner::Entity, partner::Column::Id)),
        )
        .and_where(Expr::col((partner::Entity, partner::Column::Id)).eq(partner_id));
    if let Some(declined) = declined(ask, Expr::col((partner::Entity, partner::Column::Id))) {
        query.expr_as(declined, "declined");
    }
    let rows = db.query_all(&query).await?;
    let Some(first) = rows.first() else { return Ok(None) };
    let name: String = first.try_get("", "partner_name")?;
    let status: String = first.try_get("", "partner_status")?;
    let status = ProviderStatusDb::try_from_value(&status).map_err(ApiError::internal)?;
    let declined = flag_of(first, "declined", ask.order.is_some())?;
    let (mut contracts, mut accept_windows) = (Vec::new(), Vec::new());
    for row in &rows {
        let id: Option<Uuid> = row.try_get("", "id")?;
        if id.is_none() {
            continue; // a partner without contracts
        }
        let c = contract::Model::from_query_result(row, "")?;
        let accepted: Option<i32> = row.try_get("", "accepted_this_month")?;
        let communities = if flag_of(row, "covers_community", true)? { vec![ask.community] } else { Vec::new() };
        let categories =
            if flag_of(row, "covers_category", true)? { vec![ask.category.to_owned()] } else { Vec::new() };
        accept_windows.push((c.id, c.accept_within_minutes.map(non_negative)));
        let c = Covered { contract: c, communities, categories };
        contracts.push(ContractFacts {
            id: c.contract.id,
            status: c.contract.status.into(),
            period: c.period(),
            max_open_jobs: non_negative(c.contract.max_open_jobs),
            open_jobs: non_negative(c.contract.open_jobs),
            monthly_quota: c.contract.monthly_quota.map(non_negative),
            accepted_this_month: u32::try_from(accepted.unwrap_or(0)).unwrap_or(0),
            communities: c.communities,
            categories: c.categories,
        });
    }
    Ok(Some(PartnerFacts { name, status: status.into(), contracts, accept_windows, declined }))
}

/// A volunteer as eligibility sees them (their skills narrowed to the category asked
/// about), and whether they declined the order: one statement.
pub async fn volunteer_facts(
    db: &impl ConnectionTrait,
    volunteer_id: Uuid,
    ask: &Ask<'_>,
) -> Result<Option<(VolunteerFacts, bool)>, ApiError> {
    let skilled = flag(
        volunteer_skill::Entity,
        vec![
            Expr::col((volunteer_skill::Entity, volunteer_skill::Column::VolunteerId))
                .equals((volunteer::Entity, volunteer::Column::Id)),
            Expr::col((volunteer_skill::Entity, volunteer_skill::Column::CategoryCode)).eq(ask.category),
        ],
    );
    let mut query = volunteer::Entity::find_by_id(volunteer_id).expr_as(skilled, "skilled");
    if let Some(declined) = declined(ask, Expr::col((volunteer::Entity, volunteer::Column::Id))) {
        query = query.expr_as(declined, "declined");
    }
    let Some(row) = db.query_one(query.as_query()).await? else { return Ok(None) };
    let v = volunteer::Model::from_query_result(&row, "")?;
    let skills = if flag_of(&row, "skilled", true)? { vec![ask.category.to_owned()] } else { Vec::new() };
    let facts = VolunteerFacts {
        status: v.status.into(),
        community_id: v.community_id,
        skills,
        max_open_jobs: non_negative(v.max_open_jobs),
        open_jobs: non_negative(v.open_jobs),
    };
    Ok(Some((facts, flag_of(&row, "declined", ask.order.is_some())?)))
}

/// A reason a provider may not be offered a job, as people read it.
pub fn reason_view(reason: Ineligible, lang: Lang) -> ReasonView {
    let text = match lang {
        Lang::Zh => reason.text_zh(),
        Lang::En => reason.text_en(),
    };
    ReasonView { code: reason.code().to_owned(), text: text.to_owned() }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EligibilityView {
    pub eligible: bool,
    /// For a partner: the contract a job would be charged to.
    pub contract_id: Option<Uuid>,
    /// Why not, when not eligible.
    pub reasons: Vec<ReasonView>,
}

impl EligibilityView {
    /// The answer to an eligibility question: the contract to charge, or the reasons why not.
    fn new(verdict: Result<Option<Uuid>, Vec<Ineligible>>, lang: Lang) -> Self {
        match verdict {
            Ok(contract_id) => Self { eligible: true, contract_id, reasons: Vec::new() },
            Err(reasons) => Self {
                eligible: false,
                contract_id: None,
                reasons: reasons.into_iter().map(|r| reason_view(r, lang)).collect(),
            },
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EligibilityQuery {
    community_id: Uuid,
    category_code: String,
}

/// May this partner be offered an order of this community and category today? (staff)
#[utoipa::path(get, path = "/partners/{id}/eligibility", operation_id = "partner_eligibility", tag = "contracts", security(("bearer" = [])),
    params(("id" = Uuid, Path), EligibilityQuery, ("accept-language" = Option<String>, Header)),
    responses((status = 200, body = EligibilityView)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn partner_eligibility_route(
    State(state): State<AppState>,
    principal: Principal,
    lang: Lang,
    Path(id): Path<Uuid>,
    Query(query): Query<EligibilityQuery>,
) -> Result<Json<EligibilityView>, ApiError> {
    if !is_staff(&principal) {
        return Err(ApiError::Forbidden);
    }
    let today = state.today();
    let month = month_key(today);
    let ask = Ask { community: query.community_id, category: &query.category_code, month: &month, order: None };
    let facts = partner_facts(state.db()?, id, &ask).await?.ok_or(ApiError::NotFound)?;
    let verdict = partner_eligibility(facts.status, &facts.contracts, query.community_id, &query.category_code, today);
    Ok(Json(EligibilityView::new(verdict.map(Some), lang)))
}

/// May this volunteer be offered an order of this community and category? (staff)
#[utoipa::path(get, path = "/volunteers/{id}/eligibility", operation_id = "volunteer_eligibility", tag = "contracts", security(("bearer" = [])),
    params(("id" = Uuid, Path), EligibilityQuery, ("accept-language" = Option<String>, Header)),
    responses((status = 200, body = EligibilityView)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn volunteer_eligibility_route(
    State(state): State<AppState>,
    principal: Principal,
    lang: Lang,
    Path(id): Path<Uuid>,
    Query(query): Query<EligibilityQuery>,
) -> Result<Json<EligibilityView>, ApiError> {
    let db = state.db()?;
    let month = month_key(state.today());
    let ask = Ask { community: query.community_id, category: &query.category_code, month: &month, order: None };
    // Who may not see the volunteer gets 404, as for one that does not exist: only the
    // volunteer themselves and the staff of their community see them; of those, staff ask.
    let found = volunteer::Entity::find_by_id(id).one(db).await?;
    let Some(found) = found.filter(|v| v.user_id == principal.user_id || is_staff_of(&principal, v.community_id))
    else {
        return Err(ApiError::NotFound);
    };
    if !is_staff_of(&principal, found.community_id) {
        return Err(ApiError::Forbidden);
    }
    let (facts, _) = volunteer_facts(db, id, &ask).await?.ok_or(ApiError::NotFound)?;
    let verdict = volunteer_eligibility(&facts, query.community_id, &query.category_code);
    Ok(Json(EligibilityView::new(verdict.map(|()| None), lang)))
}
