//! Loads what the domain's eligibility rules need and answers "may this provider be offered
//! an order of this community and category today, and why not?" — for dispatches, and for
//! dispatchers asking ahead (`GET /partners/{id}/eligibility`).

use axum::Json;
use axum::extract::State;
use sea_orm::sea_query::{Expr, Query as SqlQuery, QueryStatementBuilder};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QuerySelect, QueryTrait};
use serde::{Deserialize, Serialize};
use shenbian_domain::eligibility::{
    ContractFacts, Ineligible, VolunteerFacts, partner_eligibility, volunteer_eligibility,
};
use shenbian_domain::partner::ProviderStatus;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::is_staff;
use crate::auth::Principal;
use crate::contracts::with_coverage;
use crate::entity::{contract, contract_usage, partner, volunteer, volunteer_skill};
use crate::error::ApiError;
use crate::extract::{Lang, Path, Query};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(partner_eligibility_route)).routes(routes!(volunteer_eligibility_route))
}

/// The calendar month a date falls in, as quotas count it: `2026-11`.
pub fn month_key(day: chrono::NaiveDate) -> String {
    day.format("%Y-%m").to_string()
}

/// The partner's standing and its contracts, as eligibility sees them this month.
pub async fn partner_facts(
    db: &impl ConnectionTrait,
    partner_id: Uuid,
    month: &str,
) -> Result<Option<(ProviderStatus, Vec<ContractFacts>)>, ApiError> {
    let Some(found) = partner::Entity::find_by_id(partner_id).one(db).await? else { return Ok(None) };
    // The contracts with this month's accepts, by a subquery of the same statement.
    let used = {
        use sea_orm::sea_query::ExprTrait as _;
        SqlQuery::select()
            .column(contract_usage::Column::Accepted)
            .from(contract_usage::Entity)
            .and_where(
                Expr::col((contract_usage::Entity, contract_usage::Column::ContractId))
                    .equals((contract::Entity, contract::Column::Id)),
            )
            .and_where(Expr::col((contract_usage::Entity, contract_usage::Column::Month)).eq(month))
            .to_owned()
    };
    let query = contract::Entity::find()
        .filter(contract::Column::PartnerId.eq(partner_id))
        .expr_as(Expr::SubQuery(None, Box::new(used.into_sub_query_statement())), "accepted_this_month");
    let mut contracts = Vec::new();
    let mut usage = Vec::new();
    for row in db.query_all(query.as_query()).await? {
        let c = contract::Model::from_query_result(&row, "")?;
        let accepted: Option<i32> = row.try_get("", "accepted_this_month")?;
        usage.push((c.id, u32::try_from(accepted.unwrap_or(0)).unwrap_or(0)));
        contracts.push(c);
    }
    let facts = with_coverage(db, contracts)
        .await?
        .into_iter()
        .map(|c| {
            let used = usage.iter().find(|u| u.0 == c.contract.id).map_or(0, |u| u.1);
            ContractFacts {
                id: c.contract.id,
                status: c.contract.status.into(),
                period: c.period(),
                max_open_jobs: c.contract.max_open_jobs.max(0) as u32,
                open_jobs: c.contract.open_jobs.max(0) as u32,
                monthly_quota: c.contract.monthly_quota.map(|q| q.max(0) as u32),
                accepted_this_month: used,
                communities: c.communities,
                categories: c.categories,
            }
        })
        .collect();
    Ok(Some((found.status.into(), facts)))
}

/// A volunteer as eligibility sees them.
pub async fn volunteer_facts(
    db: &impl ConnectionTrait,
    volunteer_id: Uuid,
) -> Result<Option<VolunteerFacts>, ApiError> {
    let Some(v) = volunteer::Entity::find_by_id(volunteer_id).one(db).await? else { return Ok(None) };
    let skills = volunteer_skill::Entity::find().filter(volunteer_skill::Column::VolunteerId.eq(v.id)).all(db).await?;
    Ok(Some(VolunteerFacts {
        status: v.status.into(),
        community_id: v.community_id,
        skills: skills.into_iter().map(|s| s.category_code).collect(),
        max_open_jobs: v.max_open_jobs.max(0) as u32,
        open_jobs: v.open_jobs.max(0) as u32,
    }))
}

/// A reason a provider may not be offered a job.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct ReasonView {
    /// Stable, e.g. `quota_exhausted`.
    pub code: String,
    /// For people, in the language of `Accept-Language` (zh-CN by default, or en).
    pub text: String,
}

impl ReasonView {
    pub fn new(reason: Ineligible, lang: Lang) -> Self {
        let text = match lang {
            Lang::Zh => reason.text_zh(),
            Lang::En => reason.text_en(),
        };
        Self { code: reason.code().to_owned(), text: text.to_owned() }
    }
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
                reasons: reasons.into_iter().map(|r| ReasonView::new(r, lang)).collect(),
            },
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EligibilityQuery {
    community_id: Uuid,
    category: String,
}

/// May this partner be offered an order of this community and category today? (staff)
#[utoipa::path(get, path = "/partners/{id}/eligibility", tag = "contracts", security(("bearer" = [])),
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
    let (status, contracts) = partner_facts(state.db()?, id, &month_key(today)).await?.ok_or(ApiError::NotFound)?;
    let verdict = partner_eligibility(status, &contracts, query.community_id, &query.category, today);
    Ok(Json(EligibilityView::new(verdict.map(Some), lang)))
}

/// May this volunteer be offered an order of this community and category? (staff)
#[utoipa::path(get, path = "/volunteers/{id}/eligibility", tag = "contracts", security(("bearer" = [])),
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
    let facts = volunteer_facts(db, id).await?.ok_or(ApiError::NotFound)?;
    if !crate::access::is_staff_of(&principal, facts.community_id) {
        return Err(if is_staff(&principal) { ApiError::NotFound } else { ApiError::Forbidden });
    }
    let verdict = volunteer_eligibility(&facts, query.community_id, &query.category);
    Ok(Json(EligibilityView::new(verdict.map(|()| None), lang)))
}
