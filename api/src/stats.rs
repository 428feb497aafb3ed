//! The community's figures (看得见): for staff, a community's record over a window of local
//! dates; the same figures for the public with partners named and volunteers only counted;
//! and a provider's own record over a window. Both are aggregated inside the database, so
//! that a year at a million orders answers with a few hundred rows: the community's in one
//! statement that reads the window's orders once (by the index on community and creation
//! time), the provider's from indexes that hold every column they count. Percentiles stay
//! exact (nearest rank over every order in the window).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Days, Duration, Months, NaiveDate, Offset, TimeZone, Utc};
use sea_orm::sea_query::{Asterisk, Expr, ExprTrait, Func};
use sea_orm::{
    ActiveEnum, ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, FromQueryResult, Iterable,
    QueryFilter, QuerySelect, Statement, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use shenbian_domain::order::OrderStatus;
use shenbian_domain::rating::bayesian_score;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::access::{is_staff, is_staff_of, membership};
use crate::auth::Principal;
use crate::dates::{EARLIEST, bounded_date, latest};
use crate::entity::enums::{Channel, ContractStatusDb, OfferStatus, OrderStatusDb, ProviderKind, UrgencyDb};
use crate::entity::{community, contract, contract_usage, offer, order, partner, rating, volunteer};
use crate::error::{ApiError, t};
use crate::extract::{Path, Query};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(community_stats)).routes(routes!(public_stats)).routes(routes!(provider_stats))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DateRange {
    /// First local date (inclusive), `YYYY-MM-DD` from 2000-01-01 to a year from today;
    /// default 29 days before `to`. A window is at most 400 days.
    from: Option<NaiveDate>,
    /// Last local date (inclusive), `YYYY-MM-DD` from 2000-01-01 to a year from today;
    /// default today.
    to: Option<NaiveDate>,
}

/// The public figures' window: a whole calendar month, or by default the last 30 days.
/// Narrower windows would single out residents, so `from` and `to` are refused here.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PublicRange {
    /// A whole local month, `YYYY-MM`, from 2000-01 to a year from today; default the last
    /// 30 days.
    #[param(pattern = r"^\d{4}-\d{2}$")]
    month: Option<String>,
    #[param(ignore)]
    from: Option<String>,
    #[param(ignore)]
    to: Option<String>,
}

/// The longest window, in days.
const MAX_WINDOW_DAYS: i64 = 400;

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
    let to = match range.to {
        Some(to) => bounded_date(state, "to", to)?,
        None => state.today(),
    };
    let from = match range.from {
        Some(from) => bounded_date(state, "from", from)?,
        None => to.checked_sub_days(Days::new(29)).map_or(EARLIEST, |d| Ord::max(d, EARLIEST)),
    };
    span(state, from, to)
}

/// The window of the public figures: a whole month, or the last 30 days.
fn public_window(state: &AppState, range: &PublicRange) -> Result<Window, ApiError> {
    let narrow = t(
        "公开数据按整月（month=YYYY-MM）或最近 30 天统计",
        "the public figures cover a whole month (month=YYYY-MM) or the last 30 days",
    );
    if range.from.is_some() {
        return Err(ApiError::validation("from", narrow.clone()));
    }
    if range.to.is_some() {
        return Err(ApiError::validation("to", narrow));
    }
    let Some(month) = &range.month else {
        return window(state, &DateRange { from: None, to: None });
    };
    let last = latest(state);
    let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
        .ok()
        .filter(|d| month.len() == 7 && *d >= EARLIEST && *d <= last)
        .ok_or_else(|| {
            let last = last.format("%Y-%m");
            ApiError::validation(
                "month",
                (format!("须为月份 YYYY-MM，从 2000-01 到 {last}"), format!("a month YYYY-MM from 2000-01 to {last}")),
            )
        })?;
    let end = first
        .checked_add_months(Months::new(1))
        .and_then(|d| d.pred_opt())
        .ok_or_else(|| ApiError::validation("month", t("须为月份 YYYY-MM，如 2026-12", "a month YYYY-MM")))?;
    span(state, first, end)
}

/// Checks a window's order and length, and finds the instants that bound it.
fn span(state: &AppState, from: NaiveDate, to: NaiveDate) -> Result<Window, ApiError> {
    if from > to {
        return Err(ApiError::validation("from", t("不能晚于 to", "must not be after to")));
    }
    if (to - from).num_days() >= MAX_WINDOW_DAYS {
        return Err(ApiError::validation(
            "from",
            (format!("时间窗口最长 {MAX_WINDOW_DAYS} 天"), format!("a window is at most {MAX_WINDOW_DAYS} days")),
        ));
    }
    let tz = state.timezone();
    let midnight = |d: NaiveDate| {
        tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default()).earliest().map(|t| t.with_timezone(&Utc))
    };
    let start = midnight(from)
        .ok_or_else(|| ApiError::validation("from", t("在本时区不是有效日期", "not a date in this time zone")))?;
    let end = to
        .succ_opt()
        .and_then(midnight)
        .ok_or_else(|| ApiError::validation("to", t("在本时区不是有效日期", "not a date in this time zone")))?;
    Ok(Window { from, to, start, end })
}

/// Median and 90th percentile of durations, in minutes.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Percentiles {
    pub count: usize,
    pub median_minutes: Option<f64>,
    pub p90_minutes: Option<f64>,
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
    /// The public cut of a community's figures: every cell under `k` suppressed.
    fn suppressed(f: CommunityFigures, k: u64) -> Self {
        let k = Ord::max(k, 1);
        let cell = |n: u64| (n >= k).then_some(n);
        let map = |m: BTreeMap<String, u64>| m.into_iter().filter(|(_, n)| *n >= k).collect();
        let percentiles = |p: Percentiles| {
            let enough = p.count as u64 >= k;
            PublicPercentiles {
                count: cell(p.count as u64),
                median_minutes: p.median_minutes.filter(|_| enough),
                p90_minutes: p.p90_minutes.filter(|_| enough),
            }
        };
        let live = f.orders - f.by_status.get("cancelled").copied().unwrap_or(0);
        let rated = f.satisfaction.ratings >= k;
        let volunteers = f.volunteers_active >= k;
        Self {
            community_id: f.community_id,
            community: f.community,
            from: f.from,
            to: f.to,
            timezone: f.timezone,
            min_count: k,
            orders: cell(f.orders),
            by_status: map(f.by_status),
            by_category: map(f.by_category),
            by_channel: map(f.by_channel),
            by_urgency: map(f.by_urgency),
            time_to_dispatch: percentiles(f.time_to_dispatch),
            time_to_accept: percentiles(f.time_to_accept),
            time_to_complete: percentiles(f.time_to_complete),
            percentile_precision: f.percentile_precision,
            sla_breaches: cell(f.sla_breaches),
            sla_breach_rate: f.sla_breach_rate.filter(|_| live >= k),
            satisfaction: PublicSatisfaction {
                ratings: cell(f.satisfaction.ratings),
                average_stars: f.satisfaction.average_stars.filter(|_| rated),
                share_four_or_five: f.satisfaction.share_four_or_five.filter(|_| rated),
            },
            escalations: cell(f.escalations),
            top_providers: f.top_providers,
            volunteers_active: volunteers.then_some(f.volunteers_active),
            volunteer_minutes: volunteers.then_some(f.volunteer_minutes),
            daily: f
                .daily
                .into_iter()
                .map(|d| PublicDay { date: d.date, created: cell(d.created), completed: cell(d.completed) })
                .collect(),
        }
    }
}

/// One row of the figures statement: `what` it counts, under which `key` or `provider`, and
/// up to three numbers whose meaning depends on `what` (see [`figures_statement`]).
#[derive(Debug, FromQueryResult)]
struct Tally {
    what: String,
    key: Option<String>,
    provider: Option<Uuid>,
    n: i64,
    a: Option<i64>,
    b: Option<i64>,
}

/// Builds a statement's SQL and its `$n` parameters (which SQLite reads as PostgreSQL does).
#[derive(Default)]
struct Sql {
    values: Vec<sea_orm::Value>,
}

impl Sql {
    fn bind(&mut self, v: impl Into<sea_orm::Value>) -> String {
        self.values.push(v.into());
        format!("${}", self.values.len())
    }

    fn list<T: Into<sea_orm::Value>>(&mut self, vs: impl IntoIterator<Item = T>) -> String {
        vs.into_iter().map(|v| self.bind(v)).collect::<Vec<_>>().join(", ")
    }
}

/// Milliseconds since the epoch of a timestamp column, as a bigint: the one expression the
/// two databases spell differently (SQLite keeps times as RFC 3339 text).
fn millis(backend: DbBackend, col: &str) -> String {
    match backend {
        DbBackend::Sqlite => format!("CAST(ROUND(unixepoch({col}, 'subsec') * 1000) AS BIGINT)"),
        // `date_part` is double precision, several times cheaper than `EXTRACT`'s numeric;
        // rounded to the millisecond as on SQLite.
        _ => format!("CAST(ROUND(date_part('epoch', {col}) * 1000) AS BIGINT)"),
    }
}

/// The time zone's offsets over `[start, end)`: the offset at `start`, then each change and
/// the instant it takes effect (found to the second). Most districts have one offset all year.
fn offsets(tz: chrono_tz::Tz, start: DateTime<Utc>, end: DateTime<Utc>) -> Vec<(DateTime<Utc>, i64)> {
    let at = |t: DateTime<Utc>| i64::from(tz.offset_from_utc_datetime(&t.naive_utc()).fix().local_minus_utc());
    let mut out = vec![(start, at(start))];
    let mut t = start;
    while t < end {
        let next = t + Duration::hours(1);
        let before = out.last().map_or(0, |o| o.1);
        if at(next) != before {
            // The change lies in (t, next]: halve the hour down to the second.
            let (mut lo, mut hi) = (t, next);
            while hi - lo > Duration::seconds(1) {
                let mid = lo + (hi - lo) / 2;
                if at(mid) == before { lo = mid } else { hi = mid }
            }
            out.push((hi, at(hi)));
        }
        t = next;
    }
    out
}

/// The one statement behind a community's figures. The window's orders (by the index on
/// community and creation time), each with its rating, are read once into `w`; everything
/// else is aggregated from `w` inside the database, so that a year's tens of thousands of
/// orders come back as a few hundred rows:
///
/// | what | key / provider | n | a | b |
/// | --- | --- | --- | --- | --- |
/// | `completed` | kind / provider | jobs completed | minutes | |
/// | `rated` | — / provider | ratings | sum of stars | 4 or 5 stars |
/// | `status` | status | orders | SLA breaches | escalated |
/// | `category`, `channel`, `urgency` | value | orders | | |
/// | `created_on`, `completed_on` | | orders | local day (days since 1970-01-01) | |
/// | `to_dispatch`, `to_accept`, `to_complete` | | durations | rank | seconds |
///
/// The duration rows are the nearest ranks of the median and the 90th percentile: ranks
/// ⌈n/2⌉ and ⌈9n/10⌉, in integers. Durations are whole seconds (truncated) between times
/// read to the millisecond. Local days add the zone's offset, which may change in the window.
fn figures_statement(
    backend: DbBackend,
    community_id: Uuid,
    w: &Window,
    now: DateTime<Utc>,
    tz: chrono_tz::Tz,
) -> Statement {
    let mut q = Sql::default();
    let ms = |col: &str| millis(backend, &format!("o.{col}"));
    let offset = |q: &mut Sql, col: &str| {
        let zones = offsets(tz, w.start, w.end);
        let last = q.bind(zones.last().map_or(0, |z| z.1 * 1000));
        if zones.len() == 1 {
            return last;
        }
        let mut case = String::from("CASE");
        for pair in zones.windows(2) {
            case += &format!(" WHEN o.{col} < {} THEN {}", q.bind(pair[1].0), q.bind(pair[0].1 * 1000));
        }
        case + &format!(" ELSE {last} END")
    };
    let (community, start, end) = (q.bind(community_id), q.bind(w.start), q.bind(w.end));
    let (cancelled, now) = (q.bind(OrderStatusDb::Cancelled), q.bind(now));
    let waiting = q.list([OrderStatusDb::Pending, OrderStatusDb::Offered]);
    let holding = q.list(OrderStatusDb::iter().filter(|s| OrderStatus::from(*s).holds_capacity()));
    let created_offset = offset(&mut q, "created_at");
    let completed_offset = offset(&mut q, "completed_at");
    let sql = format!(
        "WITH w AS MATERIALIZED (
  SELECT o.status, o.category_code, o.channel, o.urgency, o.provider_id, o.provider_kind, o.minutes,
    o.escalation_level, r.provider_id AS rated_provider, r.stars,
    CASE WHEN o.status = {cancelled} THEN 0
      WHEN o.first_dispatched_at > o.dispatch_by
        OR (o.first_dispatched_at IS NULL AND o.dispatch_by < {now} AND o.status IN ({waiting}))
        OR o.completed_at > o.complete_by
        OR (o.completed_at IS NULL AND o.complete_by < {now} AND o.status IN ({holding}))
      THEN 1 ELSE 0 END AS late,
    ({dispatched} - {created}) / 1000 AS to_dispatch,
    ({accepted} - {dispatched}) / 1000 AS to_accept,
    ({completed} - {accepted}) / 1000 AS to_complete,
    ({created} + {created_offset}) / 86400000 AS created_day,
    ({completed} + {completed_offset}) / 86400000 AS completed_day
  FROM orders o LEFT JOIN ratings r ON r.order_id = o.id
  WHERE o.community_id = {community} AND o.created_at >= {start} AND o.created_at < {end}
), g AS MATERIALIZED (
  SELECT status, category_code, channel, urgency, provider_id, provider_kind, rated_provider, created_day,
    completed_day, COUNT(*) AS n, CAST(SUM(late) AS BIGINT) AS late,
    COUNT(CASE WHEN escalation_level > 0 THEN 1 END) AS escalated, CAST(SUM(minutes) AS BIGINT) AS minutes,
    COUNT(stars) AS ratings, CAST(SUM(stars) AS BIGINT) AS stars, COUNT(CASE WHEN stars >= 4 THEN 1 END) AS high
  FROM w GROUP BY status, category_code, channel, urgency, provider_id, provider_kind, rated_provider, created_day,
    completed_day
), d AS (
  SELECT 'to_dispatch' AS what, to_dispatch AS secs FROM w WHERE to_dispatch IS NOT NULL
  UNION ALL SELECT 'to_accept', to_accept FROM w WHERE to_accept IS NOT NULL
  UNION ALL SELECT 'to_complete', to_complete FROM w WHERE to_complete IS NOT NULL
), ranked AS (
  SELECT what, secs, ROW_NUMBER() OVER (PARTITION BY what ORDER BY secs) AS rn, COUNT(*) OVER (PARTITION BY what) AS n
  FROM d
)
SELECT 'completed' AS what, provider_kind AS key, provider_id AS provider, CAST(SUM(n) AS BIGINT) AS n,
  CAST(SUM(COALESCE(minutes, 0)) AS BIGINT) AS a, CAST(NULL AS BIGINT) AS b
  FROM g WHERE status <> {cancelled} AND completed_day IS NOT NULL AND provider_id IS NOT NULL
  GROUP BY provider_id, provider_kind
UNION ALL SELECT 'rated', CAST(NULL AS TEXT), rated_provider, CAST(SUM(ratings) AS BIGINT), CAST(SUM(stars) AS BIGINT),
  CAST(SUM(high) AS BIGINT) FROM g WHERE rated_provider IS NOT NULL GROUP BY rated_provider
UNION ALL SELECT 'status', status, NULL, CAST(SUM(n) AS BIGINT), CAST(SUM(late) AS BIGINT),
  CAST(SUM(escalated) AS BIGINT) FROM g GROUP BY status
UNION ALL SELECT 'category', category_code, NULL, CAST(SUM(n) AS BIGINT), NULL, NULL FROM g GROUP BY category_code
UNION ALL SELECT 'channel', channel, NULL, CAST(SUM(n) AS BIGINT), NULL, NULL FROM g GROUP BY channel
UNION ALL SELECT 'urgency', urgency, NULL, CAST(SUM(n) AS BIGINT), NULL, NULL FROM g GROUP BY urgency
UNION ALL SELECT 'created_on', NULL, NULL, CAST(SUM(n) AS BIGINT), created_day, NULL FROM g GROUP BY created_day
UNION ALL SELECT 'completed_on', NULL, NULL, CAST(SUM(n) AS BIGINT), completed_day, NULL FROM g
  WHERE completed_day IS NOT NULL GROUP BY completed_day
UNION ALL SELECT what, NULL, NULL, n, rn, secs FROM ranked WHERE rn = (n + 1) / 2 OR rn = (9 * n + 9) / 10",
        dispatched = ms("first_dispatched_at"),
        created = ms("created_at"),
        accepted = ms("accepted_at"),
        completed = ms("completed_at"),
    );
    Statement::from_sql_and_values(backend, sql, q.values)
}

/// A provider among the window's orders: what it completed, and its ratings.
#[derive(Debug, Default)]
struct Done {
    kind: Option<ProviderKind>,
    completed: u64,
    minutes: i64,
    ratings: u64,
    stars: i64,
}

/// A stored enum word as its wire word (the same words today; this keeps them apart).
fn rename<E: ActiveEnum<Value = String> + Serialize>(stored: String) -> String {
    E::try_from_value(&stored).map(|e| word(&e)).unwrap_or(stored)
}

/// A count from the database (never negative).
fn count(v: Option<i64>) -> u64 {
    v.and_then(|v| u64::try_from(v).ok()).unwrap_or(0)
}

/// Everything but the names, from the statement's rows.
fn fold(rows: Vec<Tally>, w: &Window) -> (CommunityFigures, BTreeMap<Uuid, Done>) {
    let none = Percentiles { count: 0, median_minutes: None, p90_minutes: None };
    let mut f = CommunityFigures {
        community_id: Uuid::nil(),
        community: String::new(),
        from: w.from,
        to: w.to,
        timezone: String::new(),
        orders: 0,
        by_status: BTreeMap::new(),
        by_category: BTreeMap::new(),
        by_channel: BTreeMap::new(),
        by_urgency: BTreeMap::new(),
        time_to_dispatch: none.clone(),
        time_to_accept: none.clone(),
        time_to_complete: none,
        percentile_precision: "exact: nearest rank over every order in the window, to 0.1 minute".into(),
        sla_breaches: 0,
        sla_breach_rate: None,
        satisfaction: Satisfaction { ratings: 0, average_stars: None, share_four_or_five: None },
        escalations: 0,
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
    let on = |d: Option<i64>| d.and_then(|d| DateTime::from_timestamp(d * 86_400, 0)).map(|t| t.date_naive());
    let (mut cancelled, mut ratings, mut stars, mut high) = (0u64, 0u64, 0i64, 0u64);
    let mut providers: BTreeMap<Uuid, Done> = BTreeMap::new();
    for row in rows {
        let n = count(Some(row.n));
        let key = row.key.unwrap_or_default();
        match row.what.as_str() {
            "completed" => {
                let p = providers.entry(row.provider.unwrap_or_default()).or_default();
                p.kind = ProviderKind::try_from_value(&key).ok();
                p.completed = n;
                p.minutes = row.a.unwrap_or(0);
            }
            "rated" => {
                let p = providers.entry(row.provider.unwrap_or_default()).or_default();
                (p.ratings, p.stars) = (n, row.a.unwrap_or(0));
                (ratings, stars, high) = (ratings + n, stars + p.stars, high + count(row.b));
            }
            "status" => {
                f.orders += n;
                f.sla_breaches += count(row.a);
                f.escalations += count(row.b);
                if key == OrderStatusDb::Cancelled.to_value() {
                    cancelled += n;
                }
                f.by_status.insert(rename::<OrderStatusDb>(key), n);
            }
            "category" => drop(f.by_category.insert(key, n)),
            "channel" => drop(f.by_channel.insert(rename::<Channel>(key), n)),
            "urgency" => drop(f.by_urgency.insert(rename::<UrgencyDb>(key), n)),
            "created_on" | "completed_on" => {
                if let Some(d) = on(row.a).and_then(|d| days.get_mut(&d)) {
                    if row.what == "created_on" { d.created = n } else { d.completed = n }
                }
            }
            what @ ("to_dispatch" | "to_accept" | "to_complete") => {
                let p = match what {
                    "to_dispatch" => &mut f.time_to_dispatch,
                    "to_accept" => &mut f.time_to_accept,
                    _ => &mut f.time_to_complete,
                };
                let (rank, minutes) = (row.a.unwrap_or(0), row.b.map(|s| (s as f64 / 60.0 * 10.0).round() / 10.0));
                p.count = n as usize;
                if rank == (row.n + 1) / 2 {
                    p.median_minutes = minutes;
                }
                if rank == (9 * row.n + 9) / 10 {
                    p.p90_minutes = minutes;
                }
            }
            _ => {}
        }
    }
    let live = f.orders - cancelled;
    f.sla_breach_rate = (live > 0).then(|| f.sla_breaches as f64 / live as f64);
    f.satisfaction = Satisfaction {
        ratings,
        average_stars: (ratings > 0).then(|| stars as f64 / ratings as f64),
        share_four_or_five: (ratings > 0).then(|| high as f64 / ratings as f64),
    };
    f.daily = days.into_values().collect();
    let volunteers = providers.values().filter(|p| p.kind == Some(ProviderKind::Volunteer));
    (f.volunteers_active, f.volunteer_minutes) = volunteers.fold((0, 0), |(n, m), p| (n + 1, m + p.minutes));
    (f, providers)
}

/// Runs the figures' statement. On PostgreSQL, in a transaction that gives its sorts and
/// window buffers more memory than the server's default of 4 MB, in which a year's
/// percentiles spill to disk.
async fn tallies(db: &DatabaseConnection, statement: Statement) -> Result<Vec<Tally>, ApiError> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(Tally::find_by_statement(statement).all(db).await?);
    }
    let tx = db.begin().await?;
    tx.execute_unprepared("SET LOCAL work_mem = '32MB'").await?;
    let rows = Tally::find_by_statement(statement).all(&tx).await?;
    tx.commit().await?;
    Ok(rows)
}

async fn figures(
    db: &DatabaseConnection,
    state: &AppState,
    c: &community::Model,
    w: Window,
    public: bool,
) -> Result<CommunityFigures, ApiError> {
    let statement = figures_statement(db.get_database_backend(), c.id, &w, state.now(), state.timezone());
    let (mut f, providers) = fold(tallies(db, statement).await?, &w);
    f.community_id = c.id;
    f.community = c.name.clone();
    f.timezone = state.settings.timezone.clone();
    // Those who completed jobs, most first; the public sees partners only.
    let mut top: Vec<(Uuid, ProviderKind, &Done)> =
        providers.iter().filter_map(|(id, d)| d.kind.filter(|_| d.completed > 0).map(|k| (*id, k, d))).collect();
    top.sort_by(|a, b| b.2.completed.cmp(&a.2.completed).then(a.0.cmp(&b.0)));
    let k = state.settings.public_stats_min_count;
    let shown = |t: &(Uuid, ProviderKind, &Done)| !public || (t.1 == ProviderKind::Partner && t.2.completed >= k);
    for (id, kind, done) in top.into_iter().filter(shown).take(5) {
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
        let rated = if public { done.ratings >= Ord::max(k, 1) } else { done.ratings > 0 };
        let average_stars = rated.then(|| done.stars as f64 / done.ratings as f64);
        f.top_providers.push(TopProvider { id, kind, name, completed: done.completed, average_stars });
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
    Ok(Json(figures(db, &state, &c, w, false).await?))
}

/// A community's public figures (信息公示; no sign-in) over a whole month (`?month=YYYY-MM`)
/// or the last 30 days: partners named, volunteers only counted, no one's name, phone or
/// address, no free text. Every cell that counts fewer than `min_count` orders, ratings or
/// volunteers (the setting `public_stats_min_count`) is suppressed: a number is `null`, a
/// key of a `by_*` map is left out, a median or rate over fewer is `null`, and a partner
/// with fewer completed jobs is not listed. `from` and `to` are refused (422).
#[utoipa::path(get, path = "/public/communities/{id}/stats", tag = "figures", params(("id" = Uuid, Path), PublicRange),
    responses((status = 200, body = PublicFigures)))]
async fn public_stats(
    State(state): State<AppState>,
    Path(id): Path<Uuid>,
    Query(range): Query<PublicRange>,
) -> Result<Json<PublicFigures>, ApiError> {
    let w = public_window(&state, &range)?;
    let db = state.db()?;
    let c = community::Entity::find_by_id(id).one(db).await?.ok_or(ApiError::NotFound)?;
    let f = figures(db, &state, &c, w, true).await?;
    Ok(Json(PublicFigures::suppressed(f, state.settings.public_stats_min_count)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaUse {
    pub contract_id: Uuid,
    pub month: String,
    pub used: u64,
    pub quota: Option<i32>,
}

/// A provider's record over a window of local dates: the offers made to it, the jobs it
/// completed and the ratings it received in the window; its load and quota use now.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProviderFigures {
    pub provider_id: Uuid,
    pub kind: ProviderKind,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub timezone: String,
    /// Offers made in the window.
    pub offers: u64,
    /// Accepted among the window's offers decided (accepted, declined or expired).
    pub acceptance_rate: Option<f64>,
    /// Jobs completed in the window.
    pub completed: u64,
    /// Completed by the deadline, among those completed.
    pub on_time_rate: Option<f64>,
    /// Ratings given in the window.
    pub ratings: u64,
    pub average_stars: Option<f64>,
    /// Bayesian score of the window's ratings (prior: five ratings of 4.0).
    pub score: f64,
    /// Accepted and in-progress jobs now, and the limit.
    pub open_jobs: i64,
    pub max_open_jobs: i64,
    /// This month's quota use per active contract (partners).
    pub quota_use: Vec<QuotaUse>,
}

/// A provider's counts over a window, each from an index that holds every column it reads
/// (`ix_offer_provider_created`, `ix_order_provider_completed`, `ix_rating_provider_created`),
/// so that a busy provider's year costs index entries, not rows.
async fn provider_counts(db: &impl ConnectionTrait, id: Uuid, w: &Window) -> Result<ProviderCounts, ApiError> {
    let all = || Func::count(Expr::col(Asterisk));
    let when = |cond: Expr| Func::count(Expr::case(cond, Expr::cust("1")));
    let (offers, accepted, decided): (i64, i64, i64) = offer::Entity::find()
        .select_only()
        .expr(all())
        .expr(when(offer::Column::Status.eq(OfferStatus::Accepted)))
        .expr(when(offer::Column::Status.is_in([OfferStatus::Accepted, OfferStatus::Declined, OfferStatus::Expired])))
        .filter(offer::Column::ProviderId.eq(id))
        .filter(offer::Column::CreatedAt.gte(w.start))
        .filter(offer::Column::CreatedAt.lt(w.end))
        .into_tuple()
        .one(db)
        .await?
        .unwrap_or_default();
    let (completed, on_time): (i64, i64) = order::Entity::find()
        .select_only()
        .expr(all())
        .expr(when(Expr::col(order::Column::CompletedAt).lte(Expr::col(order::Column::CompleteBy))))
        .filter(order::Column::ProviderId.eq(id))
        .filter(order::Column::CompletedAt.gte(w.start))
        .filter(order::Column::CompletedAt.lt(w.end))
        .into_tuple()
        .one(db)
        .await?
        .unwrap_or_default();
    // SUM of an integer column is a bigint on PostgreSQL and an integer on SQLite; the cast
    // makes it one type on both, and it is NULL when nothing was rated.
    let (ratings, stars): (i64, Option<i64>) = rating::Entity::find()
        .select_only()
        .expr(all())
        .expr(Func::cast_as(Func::sum(Expr::col(rating::Column::Stars)), "BIGINT"))
        .filter(rating::Column::ProviderId.eq(id))
        .filter(rating::Column::CreatedAt.gte(w.start))
        .filter(rating::Column::CreatedAt.lt(w.end))
        .into_tuple()
        .one(db)
        .await?
        .unwrap_or_default();
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    Ok(ProviderCounts {
        offers: n(offers),
        accepted: n(accepted),
        decided: n(decided),
        completed: n(completed),
        on_time: n(on_time),
        ratings: n(ratings),
        stars: n(stars.unwrap_or(0)),
    })
}

struct ProviderCounts {
    offers: u64,
    accepted: u64,
    decided: u64,
    completed: u64,
    on_time: u64,
    ratings: u64,
    stars: u64,
}

/// A provider's record (staff; the partner's members; the volunteer themselves). The window
/// defaults to the last 30 days, like every figure; open jobs and quota use are as of now.
#[utoipa::path(get, path = "/stats/providers/{id}", tag = "figures", security(("bearer" = [])), params(("id" = Uuid, Path), DateRange),
    responses((status = 200, body = ProviderFigures)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn provider_stats(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
    Query(range): Query<DateRange>,
) -> Result<Json<ProviderFigures>, ApiError> {
    let w = window(&state, &range)?;
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
                .map_or(0, |u| u64::try_from(u.accepted).unwrap_or(0));
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
    let c = provider_counts(db, id, &w).await?;
    let rate = |part: u64, whole: u64| (whole > 0).then(|| part as f64 / whole as f64);
    Ok(Json(ProviderFigures {
        provider_id: id,
        kind,
        from: w.from,
        to: w.to,
        timezone: state.settings.timezone.clone(),
        offers: c.offers,
        acceptance_rate: rate(c.accepted, c.decided),
        completed: c.completed,
        on_time_rate: rate(c.on_time, c.completed),
        ratings: c.ratings,
        average_stars: rate(c.stars, c.ratings),
        score: bayesian_score(c.stars, c.ratings),
        open_jobs,
        max_open_jobs,
        quota_use,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_zone_without_summer_time_has_one_offset() {
        let got = offsets(chrono_tz::Asia::Shanghai, utc("2025-12-31T16:00:00Z"), utc("2026-12-31T16:00:00Z"));
        assert_eq!(got, vec![(utc("2025-12-31T16:00:00Z"), 8 * 3600)]);
    }

    #[test]
    fn summer_time_changes_are_found_to_the_second() {
        let got = offsets(chrono_tz::Europe::Berlin, utc("2025-12-31T23:00:00Z"), utc("2026-12-31T23:00:00Z"));
        assert_eq!(
            got,
            vec![
                (utc("2025-12-31T23:00:00Z"), 3600),
                (utc("2026-03-29T01:00:00Z"), 7200),
                (utc("2026-10-25T01:00:00Z"), 3600),
            ]
        );
    }
}
