//! How long the window's orders took from one step to the next: the median and the 90th
//! percentile, exact by nearest rank. The database counts the durations of each length
//! (whole seconds: a few thousand lengths, however many orders) and their running total,
//! and returns only the lengths that hold the two ranks ([`Percentile::rank`], the same
//! integer expression on both sides), so that a year's tens of thousands of orders come
//! back as two rows and are never sorted one by one.

use sea_orm::sea_query::{Alias, Asterisk, Condition, Expr, ExprTrait, Func, Order, Query, WindowStatement};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};
use shenbian_domain::figures::{Percentile, minutes};
use uuid::Uuid;

use super::Window;
use super::cells::Percentiles;
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

/// The durations of one length among the `n` durations of the window: `times` of them
/// last `secs`, and `through` of them last at most that long. The durations at ranks
/// `through - times + 1 ..= through` (1-based, ascending) are these.
#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct Length {
    pub n: i64,
    pub secs: i64,
    pub times: i64,
    pub through: i64,
}

impl Length {
    fn holds(&self, rank: u64) -> bool {
        count(self.through - self.times) < rank && rank <= count(self.through)
    }
}

/// The lengths of the durations of the window's orders that took the step, that hold the
/// ranks of the median and of the 90th percentile (one row when both fall on one length).
/// Whole seconds (truncated) between instants read to the millisecond.
pub async fn lengths(
    db: &impl ConnectionTrait,
    community: Uuid,
    w: &Window,
    step: TimeTo,
) -> Result<Vec<Length>, DbErr> {
    let backend = db.get_database_backend();
    let (from, to) = step.bounds();
    let secs = millis(backend, to).sub(millis(backend, from)).div(1000);
    let durations = window_orders(community, w)
        .expr_as(secs, "secs")
        .and_where(col(from).is_not_null())
        .and_where(col(to).is_not_null())
        .to_owned();
    let lengths = Query::select()
        .expr_as(named("secs"), "secs")
        .expr_as(Func::count(Expr::col(Asterisk)), "times")
        .from_subquery(durations, Alias::new("d"))
        .add_group_by([named("secs")])
        .to_owned();
    let running = Query::select()
        .exprs([named("secs"), named("times")])
        .expr_window_as(
            Func::sum(named("times")),
            WindowStatement::new().order_by_expr(named("secs"), Order::Asc).to_owned(),
            "through",
        )
        .expr_window_as(Func::sum(named("times")), WindowStatement::new(), "n")
        .from_subquery(lengths, Alias::new("l"))
        .to_owned();
    // A SUM of counts is a numeric on PostgreSQL: bigints, for integer arithmetic.
    let big = |name: &'static str| Expr::from(Func::cast_as(named(name), "BIGINT"));
    // ⌈p·n/100⌉ = (p·n + 99) / 100, as `Percentile::rank` computes it.
    let rank = |p: Percentile| big("n").mul(i64::from(p.percent())).add(99).div(100);
    let holds = |p: Percentile| big("through").sub(named("times")).lt(rank(p)).and(big("through").gte(rank(p)));
    let query = Query::select()
        .expr_as(big("n"), "n")
        .exprs([named("secs"), named("times")])
        .expr_as(big("through"), "through")
        .from_subquery(running, Alias::new("r"))
        .cond_where(SHOWN.into_iter().fold(Condition::any(), |any, p| any.add(holds(p))))
        .to_owned();
    rows(db, &query).await
}

/// The median and the 90th percentile in minutes, from the lengths that hold their ranks.
pub fn percentiles(lengths: &[Length]) -> Percentiles {
    let n = lengths.first().map_or(0, |l| count(l.n));
    let at = |p: Percentile| {
        let rank = p.rank(n);
        lengths.iter().find(|l| l.holds(rank)).map(|l| minutes(l.secs))
    };
    Percentiles { count: n as usize, median_minutes: at(Percentile::MEDIAN), p90_minutes: at(Percentile::P90) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn length(n: i64, secs: i64, times: i64, through: i64) -> Length {
        Length { n, secs, times, through }
    }

    #[test]
    fn the_percentiles_are_read_from_the_lengths_that_hold_their_ranks() {
        // 10, 20 and 70 minutes: the median is rank 2, the 90th percentile rank 3.
        let p = percentiles(&[length(3, 1200, 1, 2), length(3, 4200, 1, 3)]);
        assert_eq!((p.count, p.median_minutes, p.p90_minutes), (3, Some(20.0), Some(70.0)));
        // Ten durations: two shorter than 90 seconds, six of 90 seconds (ranks 3 to 8, the
        // median's 5 among them), two of 600 seconds (ranks 9 and 10, the 90th percentile's 9).
        let p = percentiles(&[length(10, 90, 6, 8), length(10, 600, 2, 10)]);
        assert_eq!((p.count, p.median_minutes, p.p90_minutes), (10, Some(1.5), Some(10.0)));
        // One length holds both.
        let p = percentiles(&[length(1, 90, 1, 1)]);
        assert_eq!((p.count, p.median_minutes, p.p90_minutes), (1, Some(1.5), Some(1.5)));
        let p = percentiles(&[]);
        assert_eq!((p.count, p.median_minutes, p.p90_minutes), (0, None, None));
    }
}
