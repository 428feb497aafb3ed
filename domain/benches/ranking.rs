//! Ranking 1,000 candidates, as a dispatcher's candidate list or auto-dispatch does.
//! Run: `cargo bench -p shenbian-domain --bench ranking`.

use criterion::{Criterion, criterion_group, criterion_main};
use shenbian_domain::category::Urgency;
use shenbian_domain::ranking::{CandidateFacts, rank};
use uuid::Uuid;

fn providers(n: u128) -> Vec<(CandidateFacts, Result<(), Vec<shenbian_domain::eligibility::Ineligible>>)> {
    (0..n)
        .map(|i| {
            let facts = CandidateFacts {
                id: Uuid::from_u128(i),
                rating_sum: (i as u64 % 50) * 4,
                rating_count: i as u64 % 50,
                offered: i as u64 % 40,
                accepted: i as u64 % 30,
                completed: i as u64 % 25,
                completed_on_time: i as u64 % 20,
                open_jobs: (i % 5) as u32,
                max_open_jobs: 5,
                quota_left: (i % 3 == 0).then_some((i % 10) as u32),
                monthly_quota: (i % 3 == 0).then_some(10),
                looks_after_building: i % 17 == 0,
            };
            (facts, Ok(()))
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let pool = providers(1000);
    c.bench_function("rank 1000 providers", |b| b.iter(|| rank(std::hint::black_box(pool.clone()), Urgency::Urgent)));
}

criterion_group!(benches, bench);
criterion_main!(benches);
