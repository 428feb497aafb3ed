//! A community's public figures (信息公示): the staff's figures over a whole month or the
//! last 30 days, with every cell under the minimum count suppressed (k-anonymity,
//! [`MinCount`]), partners named and volunteers only counted.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use chrono::NaiveDate;
use sea_orm::EntityTrait;
use serde::Serialize;
use shenbian_domain::figures::MinCount;
use utoipa::ToSchema;
use uuid::Uuid;

use super::cells::Percentiles;
use super::community::{Audience, CommunityFigures, TopProvider, figures, word};
use super::{PublicRange, public_window};
use crate::entity::community;
use crate::entity::enums::OrderStatusDb;
use crate::error::ApiError;
use crate::extract::{Path, Query};
use crate::state::AppState;

/// Median and 90th percentile of durations, in minutes, for the public: `null` over fewer
/// than `min_count` orders.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct PublicPercentiles {
    pub count: Option<u64>,
    pub median_minutes: Option<f64>,
    pub p90_minutes: Option<f64>,
}

/// Satisfaction for the public: `null` over fewer than `min_count` ratings.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct PublicSatisfaction {
    pub ratings: Option<u64>,
    pub average_stars: Option<f64>,
    /// Share of ratings with 4 or 5 stars.
    pub share_four_or_five: Option<f64>,
}

/// A day of the public series: each count `null` when under `min_count` (zero included).
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct PublicDay {
    pub date: NaiveDate,
    pub created: Option<u64>,
    pub completed: Option<u64>,
}

/// A community's public figures (orders created in the window), with every cell under the
/// minimum count suppressed so that no resident can be singled out: a count below
/// `min_count` (zero included) is `null`; a `by_*` map lists only the values counted at
/// least `min_count` times; medians, averages and rates are `null` unless computed over at
/// least `min_count` orders or ratings; only partners with at least `min_count` completed
/// jobs are listed, with their average over at least `min_count` ratings.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct PublicFigures {
    pub community_id: Uuid,
    pub community: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub timezone: String,
    /// The suppression threshold: no cell shows a count below it.
    pub min_count: u64,
    pub orders: Option<u64>,
    pub by_status: BTreeMap<String, u64>,
    pub by_category: BTreeMap<String, u64>,
    pub by_channel: BTreeMap<String, u64>,
    pub by_urgency: BTreeMap<String, u64>,
    /// Creation to first dispatch.
    pub time_to_dispatch: PublicPercentiles,
    /// First dispatch to acceptance.
    pub time_to_accept: PublicPercentiles,
    /// Acceptance to completion.
    pub time_to_complete: PublicPercentiles,
    /// How percentiles are computed.
    pub percentile_precision: String,
    /// Orders (not cancelled) that missed a deadline.
    pub sla_breaches: Option<u64>,
    /// Over at least `min_count` orders not cancelled.
    pub sla_breach_rate: Option<f64>,
    pub satisfaction: PublicSatisfaction,
    /// Orders escalated to the dispatchers.
    pub escalations: Option<u64>,
    /// Partners only; volunteers are counted below.
    pub top_providers: Vec<TopProvider>,
    /// Volunteers who completed jobs, and their minutes (both `null` under `min_count`
    /// volunteers).
    pub volunteers_active: Option<u64>,
    pub volunteer_minutes: Option<i64>,
    pub daily: Vec<PublicDay>,
}

impl PublicFigures {
    /// The public cut of a community's figures (whose providers were chosen for the
    /// public): every cell under `k` suppressed.
    fn suppressed(f: CommunityFigures, k: MinCount) -> Self {
        let map = |m: BTreeMap<String, u64>| m.into_iter().filter(|(_, n)| k.shows(*n)).collect();
        let percentiles = |p: Percentiles| {
            let n = p.count as u64;
            PublicPercentiles {
                count: k.cell(n),
                median_minutes: k.over(n, p.median_minutes),
                p90_minutes: k.over(n, p.p90_minutes),
            }
        };
        let live = f.orders - f.by_status.get(&word(&OrderStatusDb::Cancelled)).copied().unwrap_or(0);
        let ratings = f.satisfaction.ratings;
        let volunteers = k.shows(f.volunteers_active);
        Self {
            community_id: f.community_id,
            community: f.community,
            from: f.from,
            to: f.to,
            timezone: f.timezone,
            min_count: k.get(),
            orders: k.cell(f.orders),
            by_status: map(f.by_status),
            by_category: map(f.by_category),
            by_channel: map(f.by_channel),
            by_urgency: map(f.by_urgency),
            time_to_dispatch: percentiles(f.time_to_dispatch),
            time_to_accept: percentiles(f.time_to_accept),
            time_to_complete: percentiles(f.time_to_complete),
            percentile_precision: f.percentile_precision,
            sla_breaches: k.cell(f.sla_breaches),
            sla_breach_rate: k.over(live, f.sla_breach_rate),
            satisfaction: PublicSatisfaction {
                ratings: k.cell(ratings),
                average_stars: k.over(ratings, f.satisfaction.average_stars),
                share_four_or_five: k.over(ratings, f.satisfaction.share_four_or_five),
            },
            escalations: k.cell(f.escalations),
            top_providers: f.top_providers,
            volunteers_active: volunteers.then_some(f.volunteers_active),
            volunteer_minutes: volunteers.then_some(f.volunteer_minutes),
            daily: f
                .daily
                .into_iter()
                .map(|d| PublicDay { date: d.date, created: k.cell(d.created), completed: k.cell(d.completed) })
                .collect(),
        }
    }
}

/// A community's public figures (信息公示; no sign-in) over a whole month (`?month=YYYY-MM`)
/// or the last 30 days: partners named, volunteers only counted, no one's name, phone or
/// address, no free text. Every cell that counts fewer than `min_count` orders, ratings or
/// volunteers (the setting `public_stats_min_count`) is suppressed: a number is `null`, a
/// key of a `by_*` map is left out, a median or rate over fewer is `null`, and a partner
/// with fewer completed jobs is not listed. `from` and `to` are refused (422).
#[utoipa::path(get, path = "/public/communities/{id}/stats", tag = "figures", params(("id" = Uuid, Path), PublicRange),
    responses((status = 200, body = PublicFigures)))]
pub async fn public_stats(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Query(range): Query<PublicRange>,
) -> Result<Json<PublicFigures>, ApiError> {
    let w = public_window(&state, &range)?;
    let db = state.db()?;
    let c = community::Entity::find_by_id(id).one(db).await?.ok_or(ApiError::NotFound)?;
    let k = MinCount::new(state.settings.public_stats_min_count);
    let f = figures(db, &state, &c, &w, Audience::Public(k)).await?;
    Ok(Json(PublicFigures::suppressed(f, k)))
}
