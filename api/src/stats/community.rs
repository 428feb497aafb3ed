//! A community's figures over a window of local dates, as staff see them: every figure's
//! query read in one snapshot, then put together by pure functions. The public figures
//! ([`super::public`]) are cut from these.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use chrono::NaiveDate;
use sea_orm::{DatabaseConnection, EntityTrait};
use serde::Serialize;
use shenbian_domain::figures::{MinCount, PERCENTILE_PRECISION, ratio, top};
use utoipa::ToSchema;
use uuid::Uuid;

use super::cells::{Day, Percentiles, Satisfaction};
use super::daily::{self, Moment};
use super::durations::{self, TimeTo};
use super::jobs::{self, Jobs};
use super::mix::{self, StatusCount};
use super::ratings::{self, Rated};
use super::sql::{count, snapshot};
use super::{DateRange, Window, window};
use crate::access::{is_staff, is_staff_of};
use crate::auth::Principal;
use crate::entity::community;
use crate::entity::enums::{OrderStatusDb, ProviderKind};
use crate::error::ApiError;
use crate::extract::{Path, Query};
use crate::state::AppState;

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct TopProvider {
    pub id: Uuid,
    pub kind: ProviderKind,
    /// The partner's name; for volunteers, their name to staff and `志愿者` to the public.
    pub name: String,
    pub completed: u64,
    pub average_stars: Option<f64>,
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

/// Whom the figures are for: staff see every provider who completed jobs; the public sees
/// partners only, those with at least the minimum count of completed jobs, each with an
/// average over at least that many ratings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Staff,
    Public(MinCount),
}

/// The wire word of an enum value (`in_progress`, `hotline_12345`).
pub fn word(v: &impl Serialize) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// Counts by wire word.
fn by_word<R>(rows: &[R], key: impl Fn(&R) -> String, n: impl Fn(&R) -> i64) -> BTreeMap<String, u64> {
    rows.iter().map(|r| (key(r), count(n(r)))).collect()
}

/// The counts by status, with the missed deadlines and their rate (over the orders not
/// cancelled), and the escalations.
struct Statuses {
    orders: u64,
    by_status: BTreeMap<String, u64>,
    sla_breaches: u64,
    sla_breach_rate: Option<f64>,
    escalations: u64,
}

impl Statuses {
    fn of(rows: &[StatusCount]) -> Self {
        let total = |f: fn(&StatusCount) -> i64| rows.iter().map(|r| count(f(r))).sum::<u64>();
        let (orders, sla_breaches) = (total(|r| r.orders), total(|r| r.late));
        let cancelled: u64 =
            rows.iter().filter(|r| r.status == OrderStatusDb::Cancelled).map(|r| count(r.orders)).sum();
        Self {
            orders,
            by_status: by_word(rows, |r| word(&r.status), |r| r.orders),
            sla_breaches,
            sla_breach_rate: ratio(sla_breaches, orders - cancelled),
            escalations: total(|r| r.escalated),
        }
    }
}

/// Those who completed the most jobs, as `audience` may see them.
fn top_providers(jobs: &[Jobs], rated: &[Rated], audience: Audience) -> Vec<TopProvider> {
    let shown = |j: &Jobs| match audience {
        Audience::Staff => j.provider_kind.is_some(),
        Audience::Public(k) => j.provider_kind == Some(ProviderKind::Partner) && k.shows(count(j.completed)),
    };
    let ratings_needed = match audience {
        Audience::Staff => 1,
        Audience::Public(k) => k.get(),
    };
    let rated: BTreeMap<Uuid, &Rated> = rated.iter().map(|r| (r.provider_id, r)).collect();
    top(jobs.to_vec(), Jobs::completed, shown)
        .into_iter()
        .filter_map(|j| {
            Some(TopProvider {
                id: j.provider_id,
                kind: j.provider_kind?,
                completed: count(j.completed),
                average_stars: rated.get(&j.provider_id).and_then(|r| r.average_over(ratings_needed)),
                name: j.name,
            })
        })
        .collect()
}

/// A community's figures over a window, every query in one snapshot.
pub async fn figures(
    db: &DatabaseConnection,
    state: &AppState,
    c: &community::Model,
    w: &Window,
    audience: Audience,
) -> Result<CommunityFigures, ApiError> {
    let (id, tx) = (c.id, snapshot(db).await?);
    let statuses = Statuses::of(&mix::by_status(&tx, id, w, state.now()).await?);
    let categories = mix::by_category(&tx, id, w).await?;
    let channels = mix::by_channel(&tx, id, w).await?;
    let urgencies = mix::by_urgency(&tx, id, w).await?;
    let time_to_dispatch = durations::lengths(&tx, id, w, TimeTo::Dispatch).await?;
    let time_to_accept = durations::lengths(&tx, id, w, TimeTo::Accept).await?;
    let time_to_complete = durations::lengths(&tx, id, w, TimeTo::Complete).await?;
    let created = daily::per_day(&tx, id, w, state.timezone(), Moment::Created).await?;
    let completed = daily::per_day(&tx, id, w, state.timezone(), Moment::Completed).await?;
    let jobs = jobs::completed_by_provider(&tx, id, w).await?;
    let rated = ratings::per_provider(&tx, id, w).await?;
    tx.commit().await?;
    let (volunteers_active, volunteer_minutes) = jobs::volunteers(&jobs);
    Ok(CommunityFigures {
        community_id: c.id,
        community: c.name.clone(),
        from: w.from,
        to: w.to,
        timezone: state.settings.timezone.clone(),
        orders: statuses.orders,
        by_status: statuses.by_status,
        by_category: by_word(&categories, |r| r.category_code.clone(), |r| r.orders),
        by_channel: by_word(&channels, |r| word(&r.channel), |r| r.orders),
        by_urgency: by_word(&urgencies, |r| word(&r.urgency), |r| r.orders),
        time_to_dispatch: durations::percentiles(&time_to_dispatch),
        time_to_accept: durations::percentiles(&time_to_accept),
        time_to_complete: durations::percentiles(&time_to_complete),
        percentile_precision: PERCENTILE_PRECISION.into(),
        sla_breaches: statuses.sla_breaches,
        sla_breach_rate: statuses.sla_breach_rate,
        satisfaction: ratings::satisfaction(&rated),
        escalations: statuses.escalations,
        top_providers: top_providers(&jobs, &rated, audience),
        volunteers_active,
        volunteer_minutes,
        daily: daily::series(w, &created, &completed),
    })
}

/// A community's figures over a window of local dates (its dispatchers, admins).
#[utoipa::path(get, path = "/stats/communities/{id}", tag = "figures", security(("bearer" = [])), params(("id" = Uuid, Path), DateRange),
    responses((status = 200, body = CommunityFigures)))]
#[tracing::instrument(skip_all, fields(user_id))]
pub async fn community_stats(
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
    Ok(Json(figures(db, &state, &c, &w, Audience::Staff).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: OrderStatusDb, orders: i64, late: i64, escalated: i64) -> StatusCount {
        StatusCount { status, orders, late, escalated }
    }

    #[test]
    fn the_breach_rate_counts_the_orders_not_cancelled() {
        let s = Statuses::of(&[
            status(OrderStatusDb::Completed, 3, 1, 0),
            status(OrderStatusDb::Cancelled, 1, 0, 1),
            status(OrderStatusDb::InProgress, 1, 0, 0),
        ]);
        assert_eq!((s.orders, s.sla_breaches, s.sla_breach_rate, s.escalations), (5, 1, Some(0.25), 1));
        assert_eq!(s.by_status["in_progress"], 1);
        assert_eq!(Statuses::of(&[status(OrderStatusDb::Cancelled, 2, 0, 0)]).sla_breach_rate, None);
    }

    fn jobs(n: u128, kind: ProviderKind, completed: i64) -> Jobs {
        let provider_id = Uuid::from_u128(n);
        Jobs { provider_id, provider_kind: Some(kind), completed, minutes: 0, name: format!("p{n}") }
    }

    #[test]
    fn the_public_sees_busy_partners_and_averages_over_enough_ratings() {
        let done =
            [jobs(1, ProviderKind::Volunteer, 9), jobs(2, ProviderKind::Partner, 5), jobs(3, ProviderKind::Partner, 4)];
        let rated = [Rated { provider_id: Uuid::from_u128(2), ratings: 4, stars: 20, high: 4 }];
        let staff = top_providers(&done, &rated, Audience::Staff);
        assert_eq!(staff.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["p1", "p2", "p3"]);
        assert_eq!(staff[1].average_stars, Some(5.0));
        let public = top_providers(&done, &rated, Audience::Public(MinCount::new(5)));
        assert_eq!(public.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["p2"]);
        assert_eq!(public[0].average_stars, None, "four ratings are under five");
    }
}
