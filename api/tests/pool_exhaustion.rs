//! Pool exhaustion (PostgreSQL; SQLite has no row locks): an order's row held locked from
//! outside while many requests touch that order. They get a fast 503 (the lock timeout, or
//! the pool's acquire timeout for those that found no connection); requests about anything
//! else still succeed, delayed by at most about one lock timeout while the crowd holds the
//! pool; and everything works again once the lock is released.
//!
//! Runs in the PostgreSQL pass (`SHENBIAN_TEST_DATABASE_URL`), on a fresh database there.

mod fault;

use std::time::{Duration, Instant};

use fault::district::{Api, District, district, id_of, next_phone};
use fault::pg::PgDatabase;
use fault::server::{Shenbian, Store, create_admin};
use futures_util::future::join_all;
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement, TransactionTrait};
use serde_json::json;
use uuid::Uuid;

const POOL: usize = 8;
const ACQUIRE_TIMEOUT_MS: u64 = 1_000;
/// Requests at the locked order at once: twice the pool, so some find no connection.
const CROWD: usize = 16;
/// A fast 503 at the locked order: about one acquire timeout (measured ~1.05 s here; 3 s
/// when the lock timeout equalled the acquire timeout, see `db::connect`).
const FAST_503: Duration = Duration::from_millis(ACQUIRE_TIMEOUT_MS * 3 / 2);
/// Anything else, meanwhile: it waits for a connection about one lock timeout at most
/// (measured 0.3–0.42 s here; 0.93–1 s, or a 503 with a larger crowd, before that fix).
const STAYS_FAST: Duration = Duration::from_millis(ACQUIRE_TIMEOUT_MS * 3 / 4);

async fn place(api: &Api, d: &District, resident: usize) -> Uuid {
    let token = &d.residents[resident].token;
    id_of(&api.expect(201, reqwest::Method::POST, "/api/v1/orders", token, Some(&d.order_body())).await)
}

/// One unrelated request of each kind, timed: no database, a public read, another order's
/// read, a new order.
async fn unrelated(api: &Api, d: &District, other: Uuid) -> Vec<(&'static str, u16, Duration)> {
    let token = Some(d.residents[1].token.as_str());
    let mut out = Vec::new();
    for what in ["GET /healthz", "GET /categories", "GET /orders/{other}", "POST /orders"] {
        let started = Instant::now();
        let answer = match what {
            "GET /healthz" => api.get("/healthz", None).await,
            "GET /categories" => api.get("/api/v1/categories", None).await,
            "GET /orders/{other}" => api.get(&format!("/api/v1/orders/{other}"), token).await,
            _ => api.post("/api/v1/orders", token, &d.order_body()).await,
        };
        out.push((what, answer.map(|(s, _)| s).unwrap_or(0), started.elapsed()));
    }
    out
}

/// Sessions of this database waiting for a lock: the server's connections stuck on the row.
async fn lock_waiters(db: &sea_orm::DatabaseConnection) -> i64 {
    let sql =
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'";
    let row = db.query_one_raw(Statement::from_string(DatabaseBackend::Postgres, sql)).await.unwrap().unwrap();
    row.try_get("", "n").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "PostgreSQL only: runs in the PostgreSQL pass"]
async fn a_row_locked_elsewhere_costs_fast_503s_at_that_order_while_other_requests_succeed() {
    let Some(server_url) = fault::test_database_url() else {
        eprintln!("skipped: runs in the PostgreSQL pass (set SHENBIAN_TEST_DATABASE_URL)");
        return;
    };
    let pg = PgDatabase::create(&server_url).await;
    let store = Store::Postgres(pg.url.clone());
    let admin = next_phone();
    create_admin(&store, &admin);
    let (pool, timeout) = (POOL.to_string(), ACQUIRE_TIMEOUT_MS.to_string());
    let server = Shenbian::start(
        &store,
        &[("SHENBIAN_DB_MAX_CONNECTIONS", pool.as_str()), ("SHENBIAN_DB_ACQUIRE_TIMEOUT_MS", timeout.as_str())],
    );
    let api = Api::new(server.addr);
    let d = district(&api, &admin, 2).await;
    let locked = place(&api, &d, 0).await;
    let other = place(&api, &d, 1).await;
    let dispatch = json!({"provider_ids": [d.partner]});
    let path = format!("/api/v1/orders/{locked}/dispatch");
    api.expect(200, reqwest::Method::POST, &path, &d.dispatcher.token, Some(&dispatch)).await;
    let calm = unrelated(&api, &d, other).await;

    // Someone else holds the order's row: a long transaction, a manual fix in psql.
    let outside = sea_orm::Database::connect(&pg.url).await.unwrap();
    let holder = outside.begin().await.unwrap();
    holder.execute_unprepared(&format!("SELECT id FROM orders WHERE id = '{locked}' FOR UPDATE")).await.unwrap();

    let accept = format!("/api/v1/orders/{locked}/accept");
    let crowd = join_all((0..CROWD).map(|_| async {
        let started = Instant::now();
        let answer = api.send(reqwest::Method::POST, &accept, Some(&d.provider.token), None).await;
        let (status, body) = answer.unwrap_or_default();
        (status, body["code"].as_str().unwrap_or("").to_owned(), started.elapsed())
    }));
    let probing = async {
        // Look at everything else once the crowd holds the whole pool, waiting on the lock.
        let started = Instant::now();
        while lock_waiters(&outside).await < POOL as i64 {
            assert!(started.elapsed() < Duration::from_secs(5), "the crowd never filled the pool");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut seen = Vec::new();
        for _ in 0..3 {
            seen.extend(unrelated(&api, &d, other).await);
        }
        seen
    };
    let (crowd, during) = tokio::join!(crowd, probing);
    holder.rollback().await.unwrap();

    for (status, code, took) in &crowd {
        assert_eq!((*status, code.as_str()), (503, "unavailable"), "the locked order answers 503");
        assert!(*took <= FAST_503, "a fast 503, not after {took:?}");
    }
    for (what, status, took) in &during {
        assert!((200..300).contains(status), "{what} while another order is locked: {status}");
        assert!(*took < STAYS_FAST, "{what} stays fast, not {took:?}");
    }
    let slowest = |times: &mut dyn Iterator<Item = Duration>| times.max().unwrap_or_default();
    eprintln!(
        "pool_exhaustion: {CROWD} requests at the locked order: 503 within {:?}; unrelated ones meanwhile within {:?} (before the lock {:?})",
        slowest(&mut crowd.iter().map(|c| c.2)),
        slowest(&mut during.iter().map(|u| u.2)),
        slowest(&mut calm.iter().map(|u| u.2)),
    );

    // Released: the order moves again, and the rest is as it was.
    let body = api.expect(200, reqwest::Method::POST, &accept, &d.provider.token, None).await;
    assert_eq!(body["status"], "accepted");
    for (what, status, _) in unrelated(&api, &d, other).await {
        assert!((200..300).contains(&status), "{what} after the lock: {status}");
    }
    let _ = outside.close().await;
}
