//! The community's figures (看得见): for staff, a community's record over a window of local
//! dates; the same figures for the public with partners named and volunteers only counted;
//! and a provider's own record. Percentiles are exact (nearest rank over every order in the
//! window), computed from columns of the orders themselves, found by an index on
//! (community, creation time).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use sea_orm::sea_query::Query as SqlQuery;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use shenbian_domain::order::OrderStatus;
use shenbian_domain::rating::bayesian_score;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::{is_staff, is_staff_of, membership};
use crate::auth::Principal;
use crate::entity::enums::{ContractStatusDb, OfferStatus, OrderStatusDb, ProviderKind};
use crate::entity::{community, contract, contract_usage, offer, order, partner, rating, volunteer};
use crate::error::ApiError;
use crate::extract::{Path, Query};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(community_stats)).routes(routes!(public_stats)).routes(routes!(provider_stats))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DateRange {
    /// First local date (inclusive); default 29 days before `to`.
    from: Option<NaiveDate>,
    /// Last local date (inclusive); default today.
    to: Option<NaiveDate>,
}

/// The wire word of an enum value (`in_progress`, `hotline_12345`).
fn word(v: &impl Serialize) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// A window of local dates and the instants that bound it.
struct Window {
    from: NaiveDate,
    to: NaiveDate,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

fn window(state: &AppState, range: &DateRange) -> Result<Window, ApiError> {
    let to = range.to.unwrap_or_else(|| state.today());
    let from = range.from.unwrap_or(to - Duration::days(29));
    if from > to {
        return Err(ApiError::validation("from", "must not be after to"));
    }
    if (to - from).num_days() > 400 {
        return Err(ApiError::validation("from", "a window is at most 400 days"));
    }
    let tz = state.timezone();
    let midnight = |d: NaiveDate| {
        tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default()).earliest().map(|t| t.with_timezone(&Utc))
    };
    let start = midnight(from).ok_or_else(|| ApiError::validation("from", "not a date in this time zone"))?;
    let end =
        midnight(to + Duration::days(1)).ok_or_else(|| ApiError::validation("to", "not a date in this time zone"))?;
    Ok(Window { from, to, start, end })
}

/// Median and 90th percentile of durations, in minutes.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Percentiles {
    pub count: usize,
    pub median_minutes: Option<f64>,
    pub p90_minutes: Option<f64>,
}

fn percentiles(mut minutes: Vec<f64>) -> Percentiles {
    minutes.sort_by(f64::total_cmp);
    let rank = |p: f64| -> Option<f64> {
        if minutes.is_empty() {
            return None;
        }
        let i = ((p * minutes.len() as f64).ceil() as usize).clamp(1, minutes.len()) - 1;
        Some((minutes[i] * 10.0).round() / 10.0)
    };
    Percentiles { count: minutes.len(), median_minutes: rank(0.5), p90_minutes: rank(0.9) }
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Satisfaction {
    pub ratings: u64,
    pub average_stars: Option<f64>,
    /// Share of ratings with 4 or 5 stars.
    pub share_four_or_five: Option<f64>,
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct TopProvider {
    pub id: Uuid,
    pub kind: ProviderKind,
    /// The partner's name; for volunteers, their name to staff and `志愿者` to the public.
    pub name: String,
    pub completed: u64,
    pub average_stars: Option<f64>,
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Day {
    pub date: NaiveDate,
    pub created: u64,
    pub completed: u64,
}

/// A community's figures over a window of local dates (orders created in the window).
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct CommunityFigures {
    pub community_id: Uuid,
    pub community: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub timezone: String,
    pub orders: u64,
    pub by_status: BTreeMap<String, u64>,
    pub by_category: BTreeMap<String, u64>,
    pub by_channel: BTreeMap<String, u64>,
    pub by_urgency: BTreeMap<String, u64>,
    /// Creation to first dispatch.
    pub time_to_dispatch: Percentiles,
    /// First dispatch to acceptance.
    pub time_to_accept: Percentiles,
    /// Acceptance to completion.
    pub time_to_complete: Percentiles,
    /// How percentiles are computed.
    pub percentile_precision: String,
    /// Orders (not cancelled) that missed a deadline: dispatched or completed late, or
    /// still open past one.
    pub sla_breaches: u64,
    pub sla_breach_rate: Option<f64>,
    pub satisfaction: Satisfaction,
    /// Orders escalated to the dispatchers.
    pub escalations: u64,
    pub top_providers: Vec<TopProvider>,
    /// Volunteers who completed jobs, and their minutes.
    pub volunteers_active: u64,
    pub volunteer_minutes: i64,
    pub daily: Vec<Day>,
}

async fn figures(
    db: &impl ConnectionTrait,
    state: &AppState,
    c: &community::Model,
    w: &Window,
    public: bool,
) -> Result<CommunityFigures, ApiError> {
    let now = state.now();
    let tz = state.timezone();
    let orders = order::Entity::find()
        .filter(order::Column::CommunityId.eq(c.id))
        .filter(order::Column::CreatedAt.gte(w.start))
        .filter(order::Column::CreatedAt.lt(w.end))
        .all(db)
        .await?;
    let minutes = |a: DateTime<Utc>, b: DateTime<Utc>| (b - a).num_seconds() as f64 / 60.0;
    let mut f = CommunityFigures {
        community_id: c.id,
        community: c.name.clone(),
        from: w.from,
        to: w.to,
        timezone: state.settings.timezone.clone(),
        orders: orders.len() as u64,
        by_status: BTreeMap::new(),
        by_category: BTreeMap::new(),
        by_channel: BTreeMap::new(),
        by_urgency: BTreeMap::new(),
        time_to_dispatch: percentiles(
            orders.iter().filter_map(|o| o.first_dispatched_at.map(|d| minutes(o.created_at, d))).collect(),
        ),
        time_to_accept: percentiles(
            orders
                .iter()
                .filter_map(|o| o.first_dispatched_at.zip(o.accepted_at).map(|(d, a)| minutes(d, a)))
                .collect(),
        ),
        time_to_complete: percentiles(
            orders.iter().filter_map(|o| o.accepted_at.zip(o.completed_at).map(|(a, c)| minutes(a, c))).collect(),
        ),
        percentile_precision: "exact: nearest rank over every order in the window, to 0.1 minute".into(),
        sla_breaches: 0,
        sla_breach_rate: None,
        satisfaction: Satisfaction { ratings: 0, average_stars: None, share_four_or_five: None },
        escalations: orders.iter().filter(|o| o.escalation_level > 0).count() as u64,
        top_providers: Vec::new(),
        volunteers_active: 0,
        volunteer_minutes: 0,
        daily: Vec::new(),
    };
    let mut days: BTreeMap<NaiveDate, Day> = BTreeMap::new();
    let mut day = w.from;
    while day <= w.to {
        days.insert(day, Day { date: day, created: 0, completed: 0 });
        day += Duration::days(1);
    }
    let mut live = 0u64;
    let mut done_by: BTreeMap<Uuid, (ProviderKind, u64)> = BTreeMap::new();
    let mut volunteers: BTreeMap<Uuid, i64> = BTreeMap::new();
    for o in &orders {
        *f.by_status.entry(word(&o.status)).or_default() += 1;
        *f.by_category.entry(o.category_code.clone()).or_default() += 1;
        *f.by_channel.entry(word(&o.channel)).or_default() += 1;
        *f.by_urgency.entry(word(&o.urgency)).or_default() += 1;
        if let Some(d) = days.get_mut(&o.created_at.with_timezone(&tz).date_naive()) {
            d.created += 1;
        }
        if let Some(done) = o.completed_at
            && let Some(d) = days.get_mut(&done.with_timezone(&tz).date_naive())
        {
            d.completed += 1;
        }
        if o.status == OrderStatusDb::Cancelled {
            continue;
        }
        live += 1;
        let status = OrderStatus::from(o.status);
        let late_dispatch = match o.first_dispatched_at {
            Some(d) => d > o.dispatch_by,
            None => now > o.dispatch_by && matches!(status, OrderStatus::Pending | OrderStatus::Offered),
        };
        let late_completion = match (o.completed_at, o.complete_by) {
            (Some(done), Some(due)) => done > due,
            (None, Some(due)) => now > due && status.holds_capacity(),
            _ => false,
        };
        if late_dispatch || late_completion {
            f.sla_breaches += 1;
        }
        if let (Some(kind), Some(provider), Some(_)) = (o.provider_kind, o.provider_id, o.completed_at) {
            done_by.entry(provider).or_insert((kind, 0)).1 += 1;
            if kind == ProviderKind::Volunteer {
                *volunteers.entry(provider).or_default() += i64::from(o.minutes.unwrap_or(0));
            }
        }
    }
    f.sla_breach_rate = (live > 0).then(|| f.sla_breaches as f64 / live as f64);
    f.daily = days.into_values().collect();
    f.volunteers_active = volunteers.len() as u64;
    f.volunteer_minutes = volunteers.values().sum();

    // Ratings of the window's orders, through a subquery rather than a list of ids.
    let in_window = SqlQuery::select()
        .column(order::Column::Id)
        .from(order::Entity)
        .and_where(order::Column::CommunityId.eq(c.id))
        .and_where(order::Column::CreatedAt.gte(w.start))
        .and_where(order::Column::CreatedAt.lt(w.end))
        .to_owned();
    let ratings = rating::Entity::find().filter(rating::Column::OrderId.in_subquery(in_window)).all(db).await?;
    let n = ratings.len() as u64;
    let sum: i64 = ratings.iter().map(|r| i64::from(r.stars)).sum();
    f.satisfaction = Satisfaction {
        ratings: n,
        average_stars: (n > 0).then(|| sum as f64 / n as f64),
        share_four_or_five: (n > 0).then(|| ratings.iter().filter(|r| r.stars >= 4).count() as f64 / n as f64),
    };
    let mut stars_by: BTreeMap<Uuid, (i64, u64)> = BTreeMap::new();
    for r in &ratings {
        let e = stars_by.entry(r.provider_id).or_default();
        e.0 += i64::from(r.stars);
        e.1 += 1;
    }
    let mut top: Vec<(Uuid, ProviderKind, u64)> = done_by.into_iter().map(|(id, (kind, n))| (id, kind, n)).collect();
    top.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    for (id, kind, completed) in top.into_iter().filter(|t| !public || t.1 == ProviderKind::Partner).take(5) {
        let name = match kind {
            ProviderKind::Partner => partner::Entity::find_by_id(id).one(db).await?.map(|p| p.name).unwrap_or_default(),
            ProviderKind::Volunteer => match volunteer::Entity::find_by_id(id).one(db).await? {
                Some(v) => crate::entity::user::Entity::find_by_id(v.user_id)
                    .one(db)
                    .await?
                    .map(|u| u.display_name)
                    .unwrap_or_default(),
                None => String::new(),
            },
        };
        let average_stars = stars_by.get(&id).map(|(s, n)| *s as f64 / *n as f64);
        f.top_providers.push(TopProvider { id, kind, name, completed, average_stars });
    }
    Ok(f)
}

/// A community's figures over a window of local dates (its dispatchers, admins).
#[utoipa::path(get, path = "/stats/communities/{id}", tag = "figures", security(("bearer" = [])), params(("id" = Uuid, Path), DateRange),
    responses((status = 200, body = CommunityFigures)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn community_stats(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
    Query(range): Query<DateRange>,
) -> Result<Json<CommunityFigures>, ApiError> {
    let w = window(&state, &range)?;
    if !is_staff(&principal) {
        return Err(ApiError::Forbidden);
    }
    let db = state.db()?;
    let c = community::Entity::find_by_id(id).one(db).await?.ok_or(ApiError::NotFound)?;
    if !is_staff_of(&principal, id) {
        return Err(ApiError::NotFound);
    }
    Ok(Json(figures(db, &state, &c, &w, false).await?))
}

/// A community's public figures (信息公示; no sign-in): partners named, volunteers only
/// counted, no one's name, phone or address, no free text.
#[utoipa::path(get, path = "/public/communities/{id}/stats", tag = "figures", params(("id" = Uuid, Path), DateRange),
    responses((status = 200, body = CommunityFigures)))]
async fn public_stats(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Query(range): Query<DateRange>,
) -> Result<Json<CommunityFigures>, ApiError> {
    let w = window(&state, &range)?;
    let db = state.db()?;
    let c = community::Entity::find_by_id(id).one(db).await?.ok_or(ApiError::NotFound)?;
    Ok(Json(figures(db, &state, &c, &w, true).await?))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaUse {
    pub contract_id: Uuid,
    pub month: String,
    pub used: u64,
    pub quota: Option<i32>,
}

/// A provider's record.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderFigures {
    pub provider_id: Uuid,
    pub kind: ProviderKind,
    pub offers: u64,
    /// Accepted among offers decided (accepted, declined or expired).
    pub acceptance_rate: Option<f64>,
    pub completed: u64,
    /// Completed by the deadline, among completed.
    pub on_time_rate: Option<f64>,
    pub ratings: u64,
    pub average_stars: Option<f64>,
    /// Bayesian score (prior: five ratings of 4.0).
    pub score: f64,
    /// Accepted and in-progress jobs now, and the limit.
    pub open_jobs: i64,
    pub max_open_jobs: i64,
    /// This month's quota use per active contract (partners).
    pub quota_use: Vec<QuotaUse>,
}

/// A provider's record (staff; the partner's members; the volunteer themselves).
#[utoipa::path(get, path = "/stats/providers/{id}", tag = "figures", security(("bearer" = [])), params(("id" = Uuid, Path)),
    responses((status = 200, body = ProviderFigures)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn provider_stats(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
) -> Result<Json<ProviderFigures>, ApiError> {
    let db = state.db()?;
    let staff = is_staff(&principal);
    let (kind, open_jobs, max_open_jobs, quota_use) = if partner::Entity::find_by_id(id).one(db).await?.is_some() {
        if !staff && membership(db, principal.user_id, id).await?.is_none() {
            return Err(ApiError::NotFound);
        }
        let month = crate::eligibility::month_key(state.today());
        let active = contract::Entity::find()
            .filter(contract::Column::PartnerId.eq(id))
            .filter(contract::Column::Status.eq(ContractStatusDb::Active))
            .all(db)
            .await?;
        let mut uses = Vec::new();
        for c in &active {
            let used = contract_usage::Entity::find_by_id((c.id, month.clone()))
                .one(db)
                .await?
                .map_or(0, |u| u.accepted.max(0) as u64);
            uses.push(QuotaUse { contract_id: c.id, month: month.clone(), used, quota: c.monthly_quota });
        }
        let open: i64 = active.iter().map(|c| i64::from(c.open_jobs)).sum();
        let max: i64 = active.iter().map(|c| i64::from(c.max_open_jobs)).sum();
        (ProviderKind::Partner, open, max, uses)
    } else if let Some(v) = volunteer::Entity::find_by_id(id).one(db).await? {
        if v.user_id != principal.user_id && !is_staff_of(&principal, v.community_id) {
            return Err(ApiError::NotFound);
        }
        (ProviderKind::Volunteer, i64::from(v.open_jobs), i64::from(v.max_open_jobs), Vec::new())
    } else {
        return Err(ApiError::NotFound);
    };
    let offers = offer::Entity::find().filter(offer::Column::ProviderId.eq(id)).all(db).await?;
    let accepted = offers.iter().filter(|o| o.status == OfferStatus::Accepted).count() as u64;
    let decided = offers
        .iter()
        .filter(|o| matches!(o.status, OfferStatus::Accepted | OfferStatus::Declined | OfferStatus::Expired))
        .count() as u64;
    let done: Vec<order::Model> = order::Entity::find()
        .filter(order::Column::ProviderId.eq(id))
        .filter(order::Column::CompletedAt.is_not_null())
        .all(db)
        .await?;
    let on_time = done.iter().filter(|o| o.completed_at.zip(o.complete_by).is_some_and(|(c, d)| c <= d)).count() as u64;
    let ratings = rating::Entity::find().filter(rating::Column::ProviderId.eq(id)).all(db).await?;
    let n = ratings.len() as u64;
    let sum: u64 = ratings.iter().map(|r| r.stars.max(0) as u64).sum();
    Ok(Json(ProviderFigures {
        provider_id: id,
        kind,
        offers: offers.len() as u64,
        acceptance_rate: (decided > 0).then(|| accepted as f64 / decided as f64),
        completed: done.len() as u64,
        on_time_rate: (!done.is_empty()).then(|| on_time as f64 / done.len() as f64),
        ratings: n,
        average_stars: (n > 0).then(|| sum as f64 / n as f64),
        score: bayesian_score(sum, n),
        open_jobs,
        max_open_jobs,
        quota_use,
    }))
}
