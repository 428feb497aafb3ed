//! The community's figures (看得见): for staff, a community's record over a window of local
//! dates ([`community`]); the same figures for the public with every small cell suppressed,
//! partners named and volunteers only counted ([`public`]); and a provider's own record over
//! a window ([`providers`]). This module owns the routes and the windows.
//!
//! Each figure is one query aggregated inside the database and decoded into its own typed
//! row, so that a year at a million orders answers with a few hundred rows: the window's
//! orders are read from the index on community and creation time, which carries every
//! column the figures count ([`sql`]). A community's queries share one snapshot, so that
//! its figures add up. Percentiles stay exact (nearest rank over every order in the window).

mod cells;
mod community;
mod daily;
mod durations;
mod jobs;
mod mix;
mod providers;
mod public;
mod ratings;
mod sql;

use chrono::{DateTime, Days, Months, NaiveDate, TimeZone, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::dates::{EARLIEST, bounded_date, latest};
use crate::error::{ApiError, t};
use crate::state::AppState;

pub use cells::{Day, Percentiles, Satisfaction};
pub use community::{CommunityFigures, TopProvider};
pub use providers::{ProviderFigures, QuotaUse};
pub use public::{PublicDay, PublicFigures, PublicPercentiles, PublicSatisfaction};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(community::community_stats))
        .routes(routes!(public::public_stats))
        .routes(routes!(providers::provider_stats))
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

/// A window of local dates and the instants that bound it: `[start, end)` covers `from`'s
/// midnight to the midnight after `to`, in the district's time zone.
struct Window {
    from: NaiveDate,
    to: NaiveDate,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

impl Window {
    /// Every date of the window, in order.
    fn dates(&self) -> impl Iterator<Item = NaiveDate> + use<> {
        let to = self.to;
        self.from.iter_days().take_while(move |d| *d <= to)
    }
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
