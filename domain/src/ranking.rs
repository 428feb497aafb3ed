//! Candidate ranking: which eligible providers a dispatcher (or auto-dispatch) should offer
//! an order to first.
//!
//! A score out of 100, from documented factors, with weights that follow the urgency (an
//! emergency needs someone free and quick to accept more than the best-rated):
//!
//! | factor | normal | urgent | emergency | measure |
//! | --- | --- | --- | --- | --- |
//! | rating | 30 | 25 | 15 | Bayesian average (prior 5 × 4.0), 1–5 mapped to 0–1 |
//! | acceptance | 15 | 20 | 25 | (accepted + 1) / (offered + 2) |
//! | on time | 15 | 15 | 10 | (on time + 1) / (completed + 2) |
//! | free capacity | 20 | 25 | 35 | 1 − open / max open jobs |
//! | quota left | 10 | 5 | 5 | left / quota, 1 without a quota |
//! | looks after the building | 10 | 10 | 10 | a volunteer's 包楼联户 building |
//!
//! Ties go to the provider with the smaller id, so the order is deterministic.

use serde::Serialize;
use uuid::Uuid;

use crate::category::Urgency;
use crate::eligibility::Ineligible;
use crate::rating::bayesian_score;

/// What the ranking knows of one provider.
#[derive(Debug, Clone, PartialEq)]
pub struct CandidateFacts {
    pub id: Uuid,
    pub rating_sum: u64,
    pub rating_count: u64,
    pub offered: u64,
    pub accepted: u64,
    pub completed: u64,
    pub completed_on_time: u64,
    pub open_jobs: u32,
    pub max_open_jobs: u32,
    pub quota_left: Option<u32>,
    pub monthly_quota: Option<u32>,
    /// A volunteer who looks after the order's building (包楼联户).
    pub looks_after_building: bool,
}

/// One factor's contribution, for the reasons a dispatcher reads.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Factor {
    Rating { score: f64, count: u64, points: f64 },
    Acceptance { rate: f64, points: f64 },
    OnTime { rate: f64, points: f64 },
    FreeCapacity { open: u32, max: u32, points: f64 },
    QuotaLeft { left: Option<u32>, quota: Option<u32>, points: f64 },
    NearBuilding { points: f64 },
}

impl Factor {
    pub fn code(&self) -> &'static str {
        match self {
            Factor::Rating { .. } => "rating",
            Factor::Acceptance { .. } => "acceptance",
            Factor::OnTime { .. } => "on_time",
            Factor::FreeCapacity { .. } => "free_capacity",
            Factor::QuotaLeft { .. } => "quota_left",
            Factor::NearBuilding { .. } => "near_building",
        }
    }

    pub fn text_zh(&self) -> String {
        match *self {
            Factor::Rating { score, count, .. } => format!("评分 {score:.1}（{count} 条评价）"),
            Factor::Acceptance { rate, .. } => format!("接单率 {:.0}%", rate * 100.0),
            Factor::OnTime { rate, .. } => format!("按时完成率 {:.0}%", rate * 100.0),
            Factor::FreeCapacity { open, max, .. } => format!("在办 {open}/{max}"),
            Factor::QuotaLeft { left: Some(left), quota: Some(quota), .. } => format!("本月配额剩余 {left}/{quota}"),
            Factor::QuotaLeft { .. } => "无月度配额限制".to_owned(),
            Factor::NearBuilding { .. } => "包联该楼栋的志愿者".to_owned(),
        }
    }

    pub fn text_en(&self) -> String {
        match *self {
            Factor::Rating { score, count, .. } => format!("rating {score:.1} ({count} ratings)"),
            Factor::Acceptance { rate, .. } => format!("accepts {:.0}% of offers", rate * 100.0),
            Factor::OnTime { rate, .. } => format!("{:.0}% completed on time", rate * 100.0),
            Factor::FreeCapacity { open, max, .. } => format!("{open} of {max} open jobs"),
            Factor::QuotaLeft { left: Some(left), quota: Some(quota), .. } => {
                format!("{left} of {quota} monthly quota left")
            }
            Factor::QuotaLeft { .. } => "no monthly quota".to_owned(),
            Factor::NearBuilding { .. } => "looks after this building".to_owned(),
        }
    }
}

/// A ranked candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    pub id: Uuid,
    pub score: f64,
    pub factors: Vec<Factor>,
}

struct Weights {
    rating: f64,
    acceptance: f64,
    on_time: f64,
    capacity: f64,
    quota: f64,
    building: f64,
}

fn weights(urgency: Urgency) -> Weights {
    match urgency {
        Urgency::Normal => {
            Weights { rating: 30.0, acceptance: 15.0, on_time: 15.0, capacity: 20.0, quota: 10.0, building: 10.0 }
        }
        Urgency::Urgent => {
            Weights { rating: 25.0, acceptance: 20.0, on_time: 15.0, capacity: 25.0, quota: 5.0, building: 10.0 }
        }
        Urgency::Emergency => {
            Weights { rating: 15.0, acceptance: 25.0, on_time: 10.0, capacity: 35.0, quota: 5.0, building: 10.0 }
        }
    }
}

/// Scores one provider.
pub fn score(c: &CandidateFacts, urgency: Urgency) -> Scored {
    let w = weights(urgency);
    let rating = bayesian_score(c.rating_sum, c.rating_count);
    let acceptance = (c.accepted as f64 + 1.0) / (c.offered as f64 + 2.0);
    let on_time = (c.completed_on_time as f64 + 1.0) / (c.completed as f64 + 2.0);
    let free =
        if c.max_open_jobs == 0 { 0.0 } else { 1.0 - (f64::from(c.open_jobs) / f64::from(c.max_open_jobs)).min(1.0) };
    let quota = match (c.quota_left, c.monthly_quota) {
        (Some(left), Some(q)) if q > 0 => f64::from(left.min(q)) / f64::from(q),
        _ => 1.0,
    };
    let mut factors = vec![
        Factor::Rating { score: rating, count: c.rating_count, points: w.rating * (rating - 1.0) / 4.0 },
        Factor::Acceptance { rate: acceptance, points: w.acceptance * acceptance.min(1.0) },
        Factor::OnTime { rate: on_time, points: w.on_time * on_time.min(1.0) },
        Factor::FreeCapacity { open: c.open_jobs, max: c.max_open_jobs, points: w.capacity * free },
        Factor::QuotaLeft { left: c.quota_left, quota: c.monthly_quota, points: w.quota * quota },
    ];
    if c.looks_after_building {
        factors.push(Factor::NearBuilding { points: w.building });
    }
    let total = factors.iter().map(points).sum();
    Scored { id: c.id, score: total, factors }
}

fn points(f: &Factor) -> f64 {
    match *f {
        Factor::Rating { points, .. }
        | Factor::Acceptance { points, .. }
        | Factor::OnTime { points, .. }
        | Factor::FreeCapacity { points, .. }
        | Factor::QuotaLeft { points, .. }
        | Factor::NearBuilding { points } => points,
    }
}

/// Ranks providers best first. Only the eligible are ranked: an ineligible provider never
/// appears, whatever its record.
pub fn rank(candidates: Vec<(CandidateFacts, Result<(), Vec<Ineligible>>)>, urgency: Urgency) -> Vec<Scored> {
    let mut scored: Vec<Scored> =
        candidates.into_iter().filter(|(_, eligible)| eligible.is_ok()).map(|(c, _)| score(&c, urgency)).collect();
    scored.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
    scored
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn facts(id: u128) -> CandidateFacts {
        CandidateFacts {
            id: Uuid::from_u128(id),
            rating_sum: 0,
            rating_count: 0,
            offered: 0,
            accepted: 0,
            completed: 0,
            completed_on_time: 0,
            open_jobs: 0,
            max_open_jobs: 2,
            quota_left: None,
            monthly_quota: None,
            looks_after_building: false,
        }
    }

    #[test]
    fn a_better_record_ranks_first_and_ties_are_broken_by_id() {
        let good = CandidateFacts { rating_sum: 50, rating_count: 10, ..facts(2) };
        let plain = facts(1);
        let twin = facts(3);
        let ranked = rank(vec![(plain.clone(), Ok(())), (good, Ok(())), (twin, Ok(()))], Urgency::Normal);
        let ids: Vec<u128> = ranked.iter().map(|s| s.id.as_u128()).collect();
        assert_eq!(ids, [2, 1, 3]);
    }

    #[test]
    fn an_emergency_favours_free_hands_over_stars() {
        let starred_but_busy =
            CandidateFacts { rating_sum: 100, rating_count: 20, open_jobs: 1, max_open_jobs: 4, ..facts(1) };
        let free = CandidateFacts { rating_sum: 80, rating_count: 20, max_open_jobs: 4, ..facts(2) };
        let normal = rank(vec![(starred_but_busy.clone(), Ok(())), (free.clone(), Ok(()))], Urgency::Normal);
        let emergency = rank(vec![(starred_but_busy, Ok(())), (free, Ok(()))], Urgency::Emergency);
        assert_eq!(normal[0].id.as_u128(), 1);
        assert_eq!(emergency[0].id.as_u128(), 2);
    }

    #[test]
    fn the_volunteer_of_the_building_comes_first_among_equals() {
        let near = CandidateFacts { looks_after_building: true, ..facts(9) };
        let ranked = rank(vec![(facts(1), Ok(())), (near, Ok(()))], Urgency::Normal);
        assert_eq!(ranked[0].id.as_u128(), 9);
        assert_eq!(ranked[0].factors.last().map(Factor::code), Some("near_building"));
    }

    prop_compose! {
        fn any_facts()(id in 0u128..1000, sum in 0u64..500, count in 0u64..100, offered in 0u64..50, accepted in 0u64..50,
            completed in 0u64..50, on_time in 0u64..50, open in 0u32..10, max in 1u32..10, quota in proptest::option::of(1u32..20),
            left in 0u32..20, near in any::<bool>()) -> CandidateFacts {
            CandidateFacts {
                id: Uuid::from_u128(id), rating_sum: sum.min(count * 5).max(count), rating_count: count,
                offered: offered.max(accepted), accepted, completed: completed.max(on_time), completed_on_time: on_time,
                open_jobs: open.min(max), max_open_jobs: max, quota_left: quota.map(|q| left.min(q)), monthly_quota: quota,
                looks_after_building: near,
            }
        }
    }

    fn any_urgency() -> impl Strategy<Value = Urgency> {
        prop::sample::select(Urgency::ALL.to_vec())
    }

    proptest! {
        /// An ineligible provider never appears; the eligible all do, best first.
        #[test]
        fn only_the_eligible_are_ranked_best_first(
            pool in proptest::collection::vec((any_facts(), any::<bool>()), 0..30), urgency in any_urgency()
        ) {
            let input: Vec<_> = pool.iter().map(|(f, ok)| (f.clone(), if *ok { Ok(()) } else { Err(vec![Ineligible::NoContract]) })).collect();
            let ranked = rank(input, urgency);
            prop_assert_eq!(ranked.len(), pool.iter().filter(|(_, ok)| *ok).count());
            for s in &ranked {
                prop_assert!(pool.iter().any(|(f, ok)| *ok && f.id == s.id));
            }
            prop_assert!(ranked.windows(2).all(|w| w[0].score > w[1].score || (w[0].score == w[1].score && w[0].id <= w[1].id)));
        }

        /// More load never raises a score.
        #[test]
        fn more_load_never_raises_a_score(f in any_facts(), more in 0u32..10, urgency in any_urgency()) {
            let busier = CandidateFacts { open_jobs: (f.open_jobs + more).min(f.max_open_jobs), ..f.clone() };
            prop_assert!(score(&busier, urgency).score <= score(&f, urgency).score);
        }

        /// Scores stay within 0..=100.
        #[test]
        fn scores_stay_within_bounds(f in any_facts(), urgency in any_urgency()) {
            let s = score(&f, urgency).score;
            prop_assert!((0.0..=100.0 + 1e-9).contains(&s), "{}", s);
        }
    }
}
