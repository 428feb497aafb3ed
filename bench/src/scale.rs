//! `--scale`: the reads that must not slow down as the tables grow — the order list (first
//! page and a deep cursor) for a resident, a dispatcher and an admin, a partner's jobs, one
//! order, the figures when they exist, and one pass of the background worker — on two
//! servers side by side: one at 1,000 orders and one bulk-seeded to the full count.
//!
//! The two are timed alternately, request by request, one request at a time and no other
//! load, so that whatever else the machine does at that moment weighs on both alike. On
//! PostgreSQL the tables are `VACUUM ANALYZE`d after the seed, which is what autovacuum does
//! to tables that grew this much; SQLite gets nothing, as in production (the server never
//! runs `ANALYZE`).

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use shenbian::pagination::encode_cursor;
use uuid::Uuid;

use crate::client::Api;
use crate::seed::{self, Plan};
use crate::stats::Recorder;
use crate::target::Target;
use crate::world::{self, World};

const WARM: usize = 5;
const TIMES: usize = 100;
/// Passes of the worker timed on each server.
const TICKS: usize = 5;
/// How deep the deep cursor points: this share of the way to the oldest order.
const DEPTH: f64 = 0.9;
/// The lists' page size.
const PAGE: usize = 20;
/// The first server's size.
pub const SMALL: u64 = 1_000;
pub const TICK: &str = "worker tick (one pass, all jobs)";

/// The target a timed read answers to at the large side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    /// A list or the jobs: p50 within 1.5x of the 1,000-order side.
    Flat,
    /// A 30-day window's figures: p99 under 100 ms.
    Figures,
    /// Timed for the record only.
    Record,
}

/// One side: a server, its district, and the ids of its seeded orders (index = `j`).
pub struct Side {
    api: Api,
    db: DatabaseConnection,
    world: World,
    plan: Plan,
    ids: Vec<Uuid>,
    /// Today in the server's time zone, for the one-year windows.
    today: NaiveDate,
}

impl Side {
    /// Makes the district on a running server and seeds `orders` orders.
    async fn seeded(target: &Target, orders: u64) -> Result<(Self, seed::Written, Duration), String> {
        let api = Api::new(&target.base, 4);
        let world = world::build(&api, &target.state, 1).await?;
        let db = shenbian::db::connect(&target.settings).await.map_err(|e| format!("seed pool: {e}"))?;
        let fail = |e: sea_orm::DbErr| format!("seed: {e}");
        let plan = seed::plan(&db, &world, 20, 1_000, 8).await.map_err(fail)?;
        let mut ids = Vec::with_capacity(orders as usize);
        let started = Instant::now();
        let written = seed::seed(&db, &plan, 0..orders, &mut ids).await.map_err(fail)?;
        let took = started.elapsed();
        settle(&db).await?;
        let today = target.state.today();
        Ok((Self { api, db, world, plan, ids, today }, written, took))
    }

    /// The id of an order about `DEPTH` of the way down a scope made of every `modulus`-th,
    /// or as far down as still leaves a full page of that scope behind it (and the one row
    /// more a list reads to know there are more): a page compares with a page of as many
    /// rows on the other side.
    fn deep(&self, modulus: usize) -> String {
        let full_page = (PAGE + 2) * modulus;
        let depth = ((self.ids.len() as f64 * DEPTH) as usize).min(self.ids.len().saturating_sub(full_page));
        let at = (depth / modulus) * modulus;
        encode_cursor(self.ids[at.min(self.ids.len() - 1)])
    }

    fn probes(&self) -> Vec<Probe> {
        let crew = &self.world.crews[0];
        let (resident, dispatcher, admin) =
            (&crew.resident.token, &self.world.dispatcher.token, &self.world.admin.token);
        let list = |cursor: Option<String>| match cursor {
            Some(c) => format!("/orders?limit={PAGE}&cursor={c}"),
            None => format!("/orders?limit={PAGE}"),
        };
        let (residents, places) = (seed::RESIDENT_STRIDE, self.plan.places.len());
        let probe = |name, goal, path: String, token: &String| Probe { name, goal, path, token: token.clone() };
        let year = format!("?from={}&to={}", self.today - chrono::Duration::days(364), self.today);
        vec![
            probe("GET /orders resident, first page", Goal::Flat, list(None), resident),
            probe("GET /orders resident, deep cursor", Goal::Flat, list(Some(self.deep(residents))), resident),
            probe("GET /orders dispatcher, first page", Goal::Flat, list(None), dispatcher),
            probe("GET /orders dispatcher, deep cursor", Goal::Flat, list(Some(self.deep(places))), dispatcher),
            probe("GET /orders admin, first page", Goal::Flat, list(None), admin),
            probe("GET /orders admin, deep cursor", Goal::Flat, list(Some(self.deep(1))), admin),
            probe("GET /jobs partner", Goal::Flat, "/jobs?limit=20".to_owned(), &crew.owner.token),
            // Order 0: the resident's own, offered to the measured partner.
            probe("GET /orders/{id} resident", Goal::Record, format!("/orders/{}", self.ids[0]), resident),
            probe(
                "GET /stats/communities/{id} (30 days)",
                Goal::Figures,
                format!("/stats/communities/{}", self.world.community),
                dispatcher,
            ),
            probe(
                "GET /stats/communities/{id} (a year)",
                Goal::Record,
                format!("/stats/communities/{}{year}", self.world.community),
                dispatcher,
            ),
            probe(
                "GET /public/communities/{id}/stats",
                Goal::Record,
                format!("/public/communities/{}/stats", self.world.community),
                dispatcher,
            ),
            // The provider's record covers the last 30 days unless a window is given.
            probe(
                "GET /stats/providers/{id} (30 days)",
                Goal::Figures,
                format!("/stats/providers/{}", crew.partner),
                admin,
            ),
            probe(
                "GET /stats/providers/{id} (a year)",
                Goal::Record,
                format!("/stats/providers/{}{year}", crew.partner),
                admin,
            ),
        ]
    }
}

/// One read to time.
struct Probe {
    name: &'static str,
    goal: Goal,
    path: String,
    token: String,
}

async fn settle(db: &DatabaseConnection) -> Result<(), String> {
    if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        for table in ["orders", "offers", "order_events", "ratings", "users"] {
            db.execute_unprepared(&format!("VACUUM ANALYZE {table}")).await.map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// What a scale run measured.
pub struct Scale {
    pub small: Recorder,
    pub large: Recorder,
    pub seeded: seed::Written,
    pub seed_time: Duration,
    /// What was timed, and the target each answers to.
    pub names: Vec<(&'static str, Goal)>,
    /// Probes whose route does not exist (every answer 404 on both sides).
    pub missing: Vec<&'static str>,
}

/// Seeds `small_target` to [`SMALL`] orders and `large_target` to `total`, then times both.
pub async fn run(small_target: &Target, large_target: &Target, total: u64) -> Result<Scale, String> {
    let (small, _, _) = Side::seeded(small_target, SMALL).await?;
    let (large, seeded, seed_time) = Side::seeded(large_target, total).await?;
    println!(
        "seeded {} orders, {} offers, {} events, {} ratings in {:.1} s ({:.0} rows/s)",
        seeded.orders,
        seeded.offers,
        seeded.events,
        seeded.ratings,
        seed_time.as_secs_f64(),
        seeded.rows() as f64 / seed_time.as_secs_f64()
    );
    let (small_probes, large_probes) = (small.probes(), large.probes());
    let (mut a, mut b) = (Recorder::default(), Recorder::default());
    for (p, q) in small_probes.iter().zip(&large_probes) {
        for i in 0..WARM + TIMES {
            for (side, probe, recorder) in [(&small, p, &mut a), (&large, q, &mut b)] {
                let sent = Instant::now();
                let answer = side.api.get(&probe.path, &probe.token).await;
                if i >= WARM {
                    recorder.record(probe.name, answer.status, sent.elapsed());
                }
            }
        }
    }
    for _ in 0..TICKS {
        for (target, recorder) in [(small_target, &mut a), (large_target, &mut b)] {
            let sent = Instant::now();
            let status = match shenbian::worker::tick(&target.state).await {
                Ok(_) => 200,
                Err(_) => 500,
            };
            recorder.record(TICK, status, sent.elapsed());
        }
    }
    let (a, b) = (a.finish(), b.finish());
    let missing: Vec<&'static str> = small_probes
        .iter()
        .map(|p| p.name)
        .filter(|n| [&a, &b].iter().all(|r| r.get(n).is_some_and(|e| e.ok == 0 && e.errors.keys().all(|s| *s == 404))))
        .collect();
    let mut names: Vec<(&'static str, Goal)> =
        large_probes.iter().filter(|p| !missing.contains(&p.name)).map(|p| (p.name, p.goal)).collect();
    names.push((TICK, Goal::Record));
    println!("at {} orders (one request at a time, {TIMES} each, alternating with the other server):", small.ids.len());
    print!("{}", a.latency_table());
    println!("at {} orders:", large.ids.len());
    print!("{}", b.latency_table());
    for side in [small, large] {
        let _ = side.db.close().await;
    }
    Ok(Scale { small: a, large: b, seeded, seed_time, names, missing })
}
