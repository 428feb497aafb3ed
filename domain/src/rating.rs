//! Ratings (监督评价): what a resident says of a finished job, and the score a provider is
//! judged by.

use serde::{Deserialize, Serialize};

use crate::message::zh_texts;

/// A score from one to five stars.
///
/// Invariant: 1..=5.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Stars(u8);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RatingError {
    #[error("must be a whole number from 1 to 5")]
    OutOfRange,
    #[error("a comment has at most 500 characters")]
    CommentTooLong,
}

zh_texts!(RatingError {
    OutOfRange => "须为 1 到 5 的整数",
    CommentTooLong => "评价内容最多 500 个字",
});

impl Stars {
    pub fn new(value: i64) -> Result<Self, RatingError> {
        if (1..=5).contains(&value) { Ok(Self(value as u8)) } else { Err(RatingError::OutOfRange) }
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

/// Checks a comment: at most 500 characters (after trimming).
pub fn check_comment(comment: &str) -> Result<String, RatingError> {
    let trimmed = comment.trim();
    if trimmed.chars().count() > 500 { Err(RatingError::CommentTooLong) } else { Ok(trimmed.to_owned()) }
}

/// The prior of the Bayesian average: a provider starts as if it had [`PRIOR_WEIGHT`]
/// ratings of [`PRIOR_MEAN`] stars, so that one five-star rating does not outrank a hundred
/// ratings averaging 4.8, and one bad rating does not sink a newcomer.
pub const PRIOR_MEAN: f64 = 4.0;
pub const PRIOR_WEIGHT: f64 = 5.0;

/// The Bayesian average of `count` ratings summing to `sum` stars: (C·m + Σ) / (C + n).
pub fn bayesian_score(sum: u64, count: u64) -> f64 {
    (PRIOR_WEIGHT * PRIOR_MEAN + sum as f64) / (PRIOR_WEIGHT + count as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn stars_are_one_to_five() {
        assert!(Stars::new(0).is_err());
        assert!(Stars::new(6).is_err());
        assert_eq!(Stars::new(5).unwrap().get(), 5);
    }

    #[test]
    fn the_prior_keeps_a_single_rating_modest() {
        assert_eq!(bayesian_score(0, 0), PRIOR_MEAN);
        assert!(bayesian_score(5, 1) < bayesian_score(480, 100));
        assert!(bayesian_score(1, 1) > 3.0);
    }

    #[test]
    fn comments_are_limited() {
        assert!(check_comment(&"好".repeat(500)).is_ok());
        assert_eq!(check_comment(&"好".repeat(501)), Err(RatingError::CommentTooLong));
    }

    proptest! {
        /// The score lies between the prior and the plain average, and within 1..=5.
        #[test]
        fn the_score_lies_between_prior_and_average(ratings in proptest::collection::vec(1u64..=5, 1..200)) {
            let sum: u64 = ratings.iter().sum();
            let n = ratings.len() as u64;
            let score = bayesian_score(sum, n);
            let average = sum as f64 / n as f64;
            let (lo, hi) = if average < PRIOR_MEAN { (average, PRIOR_MEAN) } else { (PRIOR_MEAN, average) };
            prop_assert!(score >= lo - 1e-9 && score <= hi + 1e-9);
            prop_assert!((1.0..=5.0).contains(&score));
        }
    }
}
