//! How long the window's orders took from one step to the next: the median and the 90th
//! percentile, exact by nearest rank. The database ranks every duration and returns only
//! the rows at the two ranks ([`Percentile::rank`], the same integer expression on both
//! sides), so that a year's tens of thousands of orders come back as two rows.

use sea_orm::sea_query::{Alias, Asterisk, Condition, Expr, ExprTrait, Func, Order, Query, WindowStatement};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};
use shenbian_domain::figures::{Percentile, minutes};
use uuid::Uuid;

use super::Window;
use super::community::Percentiles;
use super::sql::{col, count, millis, named, rows, window_orders};
use crate::entity::order;

/// The two percentiles the figures show.
const SHOWN: [Percentile; 2] = [Percentile::MEDIAN, Percentile::P90];

/// The time an order took to reach a step, from the step before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeTo {
    /// Creation to first dispatch.
    Dispatch,
    /// First dispatch to acceptance.
    Accept,
    /// Acceptance to completion.
    Complete,
}

impl TimeTo {
    /// The instants the interval runs between.
    fn bounds(self) -> (order::Column, order::Column) {
        match self {
            TimeTo::Dispatch => (order::Column::CreatedAt, order::Column::FirstDispatchedAt),
            TimeTo::Accept => (order::Column::FirstDispatchedAt, order::Column::AcceptedAt),
            TimeTo::Complete => (order::Column::AcceptedAt, order::Column::CompletedAt),
        }
    }
}

/// A duration at rank `rn` (1-based, ascending) among the `n` durations of the window.
#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct Ranked {
    pub n: i64,
    pub rn: i64,
    pub secs: i64,
}

/// The durations of the window's orders that took both steps, at the ranks of the median
/// and of the 90th percentile (one row when both ranks are the same). Whole seconds
/// (truncated) between instants read to the millisecond.
pub async fn ranked(
    db: &impl ConnectionTrait,
    community: Uuid,
    w: &Window,
    step: TimeTo,
) -> Result<Vec<Ranked>, DbErr> {
    let backend = db.get_database_backend();
    let (from, to) = step.bounds();
    let secs = millis(backend, to).sub(millis(backend, from)).div(1000);
    let durations = window_orders(community, w)
        .expr_as(secs, "secs")
        .and_where(col(from).is_not_null())
        .and_where(col(to).is_not_null())
        .to_owned();
    let ranked = Query::select()
        .expr_as(named("secs"), "secs")
        .expr_window_as(
            Func::cust("ROW_NUMBER"),
            WindowStatement::new().order_by_expr(named("secs"), Order::Asc).to_owned(),
            "rn",
        )
        .expr_window_as(Func::count(Expr::col(Asterisk)), WindowStatement::new(), "n")
        .from_subquery(durations, Alias::new("d"))
        .to_owned();
    // ⌈p·n/100⌉ = (p·n + 99) / 100, as `Percentile::rank` computes it.
    let rank = |p: Percentile| named("n").mul(i64::from(p.percent())).add(99).div(100);
    let query = Query::select()
        .exprs([named("n"), named("rn"), named("secs")])
        .from_subquery(ranked, Alias::new("r"))
        .cond_where(SHOWN.into_iter().fold(Condition::any(), |any, p| any.add(named("rn").eq(rank(p)))))
        .to_owned();
    rows(db, &query).await
}

/// The median and the 90th percentile in minutes, from the rows at their ranks.
pub fn percentiles(rows: &[Ranked]) -> Percentiles {
    let n = rows.first().map_or(0, |r| count(r.n));
    let at = |p: Percentile| {
        let rank = p.rank(n);
        rows.iter().find(|r| count(r.rn) == rank).map(|r| minutes(r.secs))
    };
    Percentiles { count: n as usize, median_minutes: at(Percentile::MEDIAN), p90_minutes: at(Percentile::P90) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_percentiles_are_read_from_the_rows_at_their_ranks() {
        // 10, 20 and 70 minutes: the median is rank 2, the 90th percentile rank 3.
        let rows = [Ranked { n: 3, rn: 2, secs: 1200 }, Ranked { n: 3, rn: 3, secs: 4200 }];
        let p = percentiles(&rows);
        assert_eq!((p.count, p.median_minutes, p.p90_minutes), (3, Some(20.0), Some(70.0)));
        // One duration is both.
        let p = percentiles(&[Ranked { n: 1, rn: 1, secs: 90 }]);
        assert_eq!((p.count, p.median_minutes, p.p90_minutes), (1, Some(1.5), Some(1.5)));
        let p = percentiles(&[]);
        assert_eq!((p.count, p.median_minutes, p.p90_minutes), (0, None, None));
    }
}
