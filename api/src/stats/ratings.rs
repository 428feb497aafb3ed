//! The ratings of the window's orders, per provider rated: how many, their stars, and how
//! many gave four or five. The community's satisfaction is their sum.

use sea_orm::sea_query::{Asterisk, Expr, ExprTrait, Func, JoinType};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};
use shenbian_domain::figures::ratio;
use uuid::Uuid;

use super::Window;
use super::cells::Satisfaction;
use super::sql::{count, count_if, rows, window_orders};
use crate::entity::{order, rating};

/// The ratings a provider received for the window's orders.
#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct Rated {
    pub provider_id: Uuid,
    pub ratings: i64,
    pub stars: i64,
    /// Ratings of four or five stars.
    pub high: i64,
}

impl Rated {
    /// The average stars, over at least `at_least` ratings (and at least one).
    pub fn average_over(&self, at_least: u64) -> Option<f64> {
        let n = count(self.ratings);
        ratio(count(self.stars), n).filter(|_| n >= at_least)
    }
}

/// The ratings of the window's orders, per provider rated.
pub async fn per_provider(db: &impl ConnectionTrait, community: Uuid, w: &Window) -> Result<Vec<Rated>, DbErr> {
    let stars = || Expr::col((rating::Entity, rating::Column::Stars));
    let provider = Expr::col((rating::Entity, rating::Column::ProviderId));
    let query = window_orders(community, w)
        .expr_as(provider.clone(), "provider_id")
        .expr_as(Func::count(Expr::col(Asterisk)), "ratings")
        // A SUM is a bigint on PostgreSQL and an integer on SQLite: one type on both.
        .expr_as(Func::cast_as(Func::sum(stars()), "BIGINT"), "stars")
        .expr_as(count_if(stars().gte(4)), "high")
        .join(
            JoinType::InnerJoin,
            rating::Entity,
            Expr::col((rating::Entity, rating::Column::OrderId)).equals((order::Entity, order::Column::Id)),
        )
        .add_group_by([provider])
        .to_owned();
    rows(db, &query).await
}

/// The community's satisfaction: every rating of the window's orders.
pub fn satisfaction(rated: &[Rated]) -> Satisfaction {
    let sum = |f: fn(&Rated) -> i64| rated.iter().map(|r| count(f(r))).sum::<u64>();
    let (ratings, stars, high) = (sum(|r| r.ratings), sum(|r| r.stars), sum(|r| r.high));
    Satisfaction { ratings, average_stars: ratio(stars, ratings), share_four_or_five: ratio(high, ratings) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn satisfaction_sums_every_provider_rated() {
        let rated = |ratings, stars, high| Rated { provider_id: Uuid::nil(), ratings, stars, high };
        let s = satisfaction(&[rated(1, 5, 1), rated(1, 2, 0)]);
        assert_eq!((s.ratings, s.average_stars, s.share_four_or_five), (2, Some(3.5), Some(0.5)));
        assert_eq!(satisfaction(&[]), Satisfaction { ratings: 0, average_stars: None, share_four_or_five: None });
        assert_eq!(rated(4, 16, 3).average_over(5), None);
        assert_eq!(rated(4, 16, 3).average_over(1), Some(4.0));
    }
}
