//! The window's orders per local day: created on each day, and completed on each day.
//! A local day adds the time zone's offset to an instant, and the offset may change within
//! the window (summer time), so the statement carries each change as a bound instant.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Offset, TimeZone, Utc};
use sea_orm::sea_query::{Alias, Asterisk, CaseStatement, Expr, ExprTrait, Func, Query};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};
use uuid::Uuid;

use super::Window;
use super::cells::Day;
use super::sql::{col, count, millis, named, rows, window_orders};
use crate::entity::order;

const DAY_MS: i64 = 86_400_000;

/// Orders on one local day, the day counted in days since 1970-01-01.
#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct DayCount {
    pub day: i64,
    pub orders: i64,
}

impl DayCount {
    /// The local date this row counts.
    pub fn date(&self) -> Option<NaiveDate> {
        self.day.checked_mul(86_400).and_then(|s| DateTime::from_timestamp(s, 0)).map(|t| t.date_naive())
    }
}

/// Which instant of an order places it on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    Created,
    Completed,
}

impl Moment {
    fn column(self) -> order::Column {
        match self {
            Moment::Created => order::Column::CreatedAt,
            Moment::Completed => order::Column::CompletedAt,
        }
    }
}

/// The window's orders per local day of their creation or completion (orders created in
/// the window; a completion may fall after it).
pub async fn per_day(
    db: &impl ConnectionTrait,
    community: Uuid,
    w: &Window,
    tz: chrono_tz::Tz,
    moment: Moment,
) -> Result<Vec<DayCount>, DbErr> {
    let at = moment.column();
    let local = millis(db.get_database_backend(), at).add(offset_millis(tz, w, at));
    let mut days = window_orders(community, w).expr_as(local.div(DAY_MS), "day").to_owned();
    if moment == Moment::Completed {
        days.and_where(col(at).is_not_null());
    }
    let query = Query::select()
        .expr_as(named("day"), "day")
        .expr_as(Func::count(Expr::col(Asterisk)), "orders")
        .from_subquery(days, Alias::new("d"))
        .add_group_by([named("day")])
        .to_owned();
    rows(db, &query).await
}

/// The zone's offset in milliseconds at the instant in `at`: one value when the offset is
/// the same over the whole window, else a `CASE` over its changes.
fn offset_millis(tz: chrono_tz::Tz, w: &Window, at: order::Column) -> Expr {
    let zones = offsets(tz, w.start, w.end);
    let last = Expr::val(zones.last().map_or(0, |z| z.1 * 1000));
    if zones.len() == 1 {
        return last;
    }
    let case = zones
        .windows(2)
        .fold(CaseStatement::new(), |case, pair| case.case(col(at).lt(pair[1].0), Expr::val(pair[0].1 * 1000)));
    case.finally(last).into()
}

/// The time zone's offsets over `[start, end)`, in seconds: the offset at `start`, then each
/// change and the instant it takes effect (found to the second). Most districts have one
/// offset all year.
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

/// The window's days in order, each with the orders created and completed on it (zero on a
/// day without); completions after the window are left out.
pub fn series(w: &Window, created: &[DayCount], completed: &[DayCount]) -> Vec<Day> {
    let mut days: BTreeMap<NaiveDate, Day> =
        w.dates().map(|d| (d, Day { date: d, created: 0, completed: 0 })).collect();
    for c in created {
        if let Some(day) = c.date().and_then(|d| days.get_mut(&d)) {
            day.created = count(c.orders);
        }
    }
    for c in completed {
        if let Some(day) = c.date().and_then(|d| days.get_mut(&d)) {
            day.completed = count(c.orders);
        }
    }
    days.into_values().collect()
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
