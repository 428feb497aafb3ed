//! The arithmetic of the community's figures (看得见): exact nearest-rank percentiles,
//! rates and averages, and the minimum count under which the public figures suppress a cell
//! so that no resident can be singled out.

use uuid::Uuid;

/// A percentile by nearest rank: among `n` values sorted ascending, the value at rank
/// ⌈p·n/100⌉ (1-based), the smallest value with at least p % of the values at or below it.
/// Exact, never interpolated.
///
/// Invariant: 1..=100.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Percentile(u8);

impl Percentile {
    pub const MEDIAN: Self = Self(50);
    pub const P90: Self = Self(90);

    pub fn new(percent: u8) -> Option<Self> {
        (1..=100).contains(&percent).then_some(Self(percent))
    }

    pub fn percent(self) -> u8 {
        self.0
    }

    /// The 1-based rank of this percentile among `n` sorted values: ⌈p·n/100⌉, which is
    /// `(p·n + 99) / 100` in integers (the same expression the database evaluates). For
    /// `n = 0` it is 0: there is no such value.
    pub fn rank(self, n: u64) -> u64 {
        (u64::from(self.0) * n).div_ceil(100)
    }

    /// The percentile of `sorted` (ascending), or `None` when it is empty.
    pub fn of<T: Copy>(self, sorted: &[T]) -> Option<T> {
        let rank = usize::try_from(self.rank(sorted.len() as u64)).ok()?;
        rank.checked_sub(1).and_then(|i| sorted.get(i)).copied()
    }
}

/// How the figures' percentiles are computed, as the figures state it.
pub const PERCENTILE_PRECISION: &str = "exact: nearest rank over every order in the window, to 0.1 minute";

/// A duration in whole seconds as minutes, rounded to a tenth of a minute.
pub fn minutes(seconds: i64) -> f64 {
    (seconds as f64 / 60.0 * 10.0).round() / 10.0
}

/// `part` over `whole` (a rate, a share or an average), or `None` over nothing.
pub fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// A provider's completed jobs in a window, for the list of those who did the most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completed {
    pub provider: Uuid,
    pub jobs: u64,
}

/// How many providers the figures list.
pub const TOP_PROVIDERS: usize = 5;

/// Those who completed jobs, most first (ties to the smaller id, so that the order is
/// deterministic), at most [`TOP_PROVIDERS`] of those `shown` admits; none without a job.
pub fn top<T>(mut candidates: Vec<T>, completed: impl Fn(&T) -> Completed, shown: impl Fn(&T) -> bool) -> Vec<T> {
    candidates.retain(|c| completed(c).jobs > 0 && shown(c));
    candidates.sort_by(|a, b| {
        let (a, b) = (completed(a), completed(b));
        b.jobs.cmp(&a.jobs).then(a.provider.cmp(&b.provider))
    });
    candidates.truncate(TOP_PROVIDERS);
    candidates
}

/// The public figures' minimum count (k-anonymity): a count under it (zero included) is
/// not shown, and neither is anything computed over fewer orders, ratings or volunteers.
///
/// Invariant: at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinCount(u64);

impl MinCount {
    /// The threshold; 0 is taken as 1 (a count of zero is never shown).
    pub fn new(k: u64) -> Self {
        Self(Ord::max(k, 1))
    }

    pub fn get(self) -> u64 {
        self.0
    }

    /// Whether a count, or a figure computed over that many, may be shown.
    pub fn shows(self, n: u64) -> bool {
        n >= self.0
    }

    /// A count as the public sees it: `None` under the threshold.
    pub fn cell(self, n: u64) -> Option<u64> {
        self.shows(n).then_some(n)
    }

    /// A figure computed over `over` items, as the public sees it.
    pub fn over<T>(self, over: u64, figure: Option<T>) -> Option<T> {
        figure.filter(|_| self.shows(over))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_median_and_the_90th_percentile_take_the_nearest_rank() {
        let ranks = |p: Percentile| (0..=11).map(|n| p.rank(n)).collect::<Vec<_>>();
        assert_eq!(ranks(Percentile::MEDIAN), [0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6]);
        assert_eq!(ranks(Percentile::P90), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 10]);
        assert_eq!(Percentile::MEDIAN.of(&[10, 20, 70]), Some(20));
        assert_eq!(Percentile::P90.of(&[10, 20, 70]), Some(70));
        assert_eq!(Percentile::MEDIAN.of::<i64>(&[]), None);
        assert_eq!(Percentile::new(0), None);
        assert_eq!(Percentile::new(100).map(|p| p.of(&[1, 2, 3])), Some(Some(3)));
    }

    #[test]
    fn minutes_are_rounded_to_a_tenth() {
        assert_eq!(minutes(1200), 20.0);
        assert_eq!(minutes(59), 1.0);
        assert_eq!(minutes(62), 1.0);
        assert_eq!(minutes(64), 1.1);
        assert_eq!(minutes(0), 0.0);
    }

    #[test]
    fn a_ratio_over_nothing_is_none() {
        assert_eq!(ratio(1, 4), Some(0.25));
        assert_eq!(ratio(0, 0), None);
    }

    #[test]
    fn the_top_providers_are_the_busiest_ties_by_id_at_most_five() {
        let id = |n: u128| Uuid::from_u128(n);
        let jobs = [(7, 3), (2, 3), (9, 0), (4, 8), (5, 1), (6, 1), (1, 1), (3, 2)];
        let all: Vec<Completed> = jobs.iter().map(|&(p, n)| Completed { provider: id(p), jobs: n }).collect();
        let got: Vec<u128> = top(all.clone(), |c| *c, |_| true).iter().map(|c| c.provider.as_u128()).collect();
        assert_eq!(got, [4, 2, 7, 3, 1]);
        let got: Vec<u128> = top(all, |c| *c, |c| c.jobs >= 3).iter().map(|c| c.provider.as_u128()).collect();
        assert_eq!(got, [4, 2, 7]);
    }

    #[test]
    fn the_minimum_count_hides_small_cells_and_zero() {
        let k = MinCount::new(5);
        assert_eq!((k.cell(4), k.cell(5), k.cell(0)), (None, Some(5), None));
        assert_eq!(k.over(4, Some(1.0)), None);
        assert_eq!(k.over(5, Some(1.0)), Some(1.0));
        assert_eq!(MinCount::new(0).get(), 1);
        assert_eq!(MinCount::new(0).cell(0), None);
    }

    proptest! {
        /// The nearest rank holds at least p % of the values at or below it, and fewer below.
        #[test]
        fn the_nearest_rank_is_the_smallest_value_covering_p_percent(
            mut values in proptest::collection::vec(0i64..1_000, 1..300),
            percent in 1u8..=100,
        ) {
            values.sort_unstable();
            let p = Percentile::new(percent).unwrap();
            let v = p.of(&values).unwrap();
            let n = values.len() as u64;
            let at_or_below = values.iter().filter(|x| **x <= v).count() as u64;
            let below = values.iter().filter(|x| **x < v).count() as u64;
            prop_assert!(100 * at_or_below >= u64::from(percent) * n);
            prop_assert!(100 * below < u64::from(percent) * n);
            let rank = p.rank(n);
            prop_assert!((1..=n).contains(&rank));
        }
    }
}
