//! The cells of the figures that the queries fill and the views show.

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

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
pub struct Day {
    pub date: NaiveDate,
    pub created: u64,
    pub completed: u64,
}
