//! The database going away: on a PostgreSQL cluster of the test's own, stopped and started
//! again under a running server, requests answer 503 within the pool's acquire timeout,
//! `/readyz` 503 and `/healthz` 200; once the database is back the service recovers within
//! 10 s without a restart; a server started while it is down serves once it is up. Backends
//! killed under the pool cost at most one failed request each.
//!
//! These need the PostgreSQL server binaries (`pg_config --bindir`) and run in the
//! PostgreSQL pass of the CI (`SHENBIAN_TEST_DATABASE_URL` set); they skip otherwise.

mod fault;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fault::district::{Api, District, district, next_phone};
use fault::pg::PgCluster;
use fault::server::{Shenbian, Store, create_admin};
use futures_util::future::join_all;
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use tokio::sync::oneshot;

const ACQUIRE_TIMEOUT_MS: u64 = 1_000;
/// Time for the answer to travel once the pool has given up (a debug build, two cores).
const SLACK: Duration = Duration::from_millis(750);

fn postgres_pass() -> bool {
    let on = fault::test_database_url().is_some();
    if !on {
        eprintln!("skipped: runs in the PostgreSQL pass (set SHENBIAN_TEST_DATABASE_URL)");
    }
    on
}

/// A server on the cluster with a district, and the district.
async fn serve(cluster: &PgCluster) -> (Shenbian, Api, District) {
    let store = Store::Postgres(cluster.url("postgres"));
    let admin = next_phone();
    create_admin(&store, &admin);
    let timeout = ACQUIRE_TIMEOUT_MS.to_string();
    let server = Shenbian::start(&store, &[("SHENBIAN_DB_ACQUIRE_TIMEOUT_MS", timeout.as_str())]);
    let api = Api::new(server.addr);
    let d = district(&api, &admin, 1).await;
    (server, api, d)
}

/// One request of each kind a client makes: a public read, a signed-in read (the session is
/// read per request), a write. Returns each status and how long it took.
async fn probes(api: &Api, d: &District) -> Vec<(&'static str, u16, Duration)> {
    let resident = d.residents[0].token.as_str();
    let order = d.order_body();
    let timed = |what: &'static str, answer: fault::district::Answer, started: Instant| {
        (what, answer.map(|(status, _)| status).unwrap_or(0), started.elapsed())
    };
    let (t1, t2, t3) = (Instant::now(), Instant::now(), Instant::now());
    let (a, b, c) = tokio::join!(
        api.get("/api/v1/categories", None),
        api.get("/api/v1/me", Some(resident)),
        api.post("/api/v1/orders", Some(resident), &order),
    );
    vec![timed("GET /categories", a, t1), timed("GET /me", b, t2), timed("POST /orders", c, t3)]
}

async fn status_of(api: &Api, path: &str) -> u16 {
    api.get(path, None).await.map(|(status, _)| status).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the PostgreSQL server binaries; starts and stops a cluster of its own"]
async fn a_database_outage_answers_503_in_time_and_heals_without_a_restart() {
    if !postgres_pass() {
        return;
    }
    let cluster = PgCluster::start();
    let (_server, api, d) = serve(&cluster).await;
    for (what, status, _) in probes(&api, &d).await {
        assert!((200..300).contains(&status), "{what} before the outage: {status}");
    }

    cluster.stop();
    let limit = Duration::from_millis(ACQUIRE_TIMEOUT_MS) + SLACK;
    // Several rounds, the second and third with the pool's connections long gone.
    let mut slowest = Duration::ZERO;
    for _ in 0..3 {
        for (what, status, took) in probes(&api, &d).await {
            slowest = slowest.max(took);
            assert_eq!(status, 503, "{what} while the database is down");
            assert!(took <= limit, "{what} answered 503 after {took:?}, beyond the acquire timeout");
        }
    }
    let (status, body) = api.get("/api/v1/categories", None).await.unwrap();
    assert_eq!((status, body["code"].as_str()), (503, Some("unavailable")), "{body}");
    let started = Instant::now();
    assert_eq!(status_of(&api, "/readyz").await, 503);
    assert!(started.elapsed() <= limit, "readyz answered after {:?}", started.elapsed());
    let started = Instant::now();
    assert_eq!(status_of(&api, "/healthz").await, 200);
    assert!(started.elapsed() < Duration::from_millis(200), "healthz does not wait for the database");
    // Many at once do not pile up: each still answers within the acquire timeout.
    let started = Instant::now();
    let many = join_all((0..24).map(|_| api.get("/api/v1/categories", None))).await;
    assert!(many.iter().all(|a| matches!(a, Ok((503, _)))), "all 503");
    assert!(started.elapsed() <= limit, "24 requests at once answered within {:?}", started.elapsed());

    cluster.start_again();
    let back = Instant::now();
    while status_of(&api, "/readyz").await != 200 {
        assert!(back.elapsed() < Duration::from_secs(10), "ready again within 10 s of the database");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let recovered = back.elapsed();
    for (what, status, _) in probes(&api, &d).await {
        assert!((200..300).contains(&status), "{what} after the outage: {status}");
    }
    eprintln!("db_outage: 503 after at most {slowest:?} while down; ready again {recovered:?} after it came back");
}

/// Runs `total` requests from `concurrency` clients at once (reads and writes); returns the
/// statuses. `halfway` hears when half of them have been answered, the others still running.
async fn burst(
    api: &Api,
    d: &District,
    total: usize,
    concurrency: usize,
    halfway: Option<oneshot::Sender<()>>,
) -> Vec<u16> {
    let resident = d.residents[0].token.as_str();
    let order = &d.order_body();
    let answered = &AtomicUsize::new(0);
    let halfway = &std::sync::Mutex::new(halfway);
    let clients = (0..concurrency).map(|client| async move {
        let mut statuses = Vec::new();
        for i in (client..total).step_by(concurrency) {
            let answer = match i % 3 {
                0 => api.get("/api/v1/me", Some(resident)).await,
                1 => api.get("/api/v1/categories", None).await,
                _ => api.post("/api/v1/orders", Some(resident), order).await,
            };
            statuses.push(answer.map(|(status, _)| status).unwrap_or(0));
            if answered.fetch_add(1, Ordering::SeqCst) + 1 == total / 2
                && let Some(tell) = halfway.lock().unwrap().take()
            {
                let _ = tell.send(());
            }
        }
        statuses
    });
    join_all(clients).await.concat()
}

/// Ends every backend of the server's database; returns how many there were.
async fn terminate_backends(cluster: &PgCluster) -> u64 {
    let admin = sea_orm::Database::connect(cluster.url("template1")).await.expect("the cluster");
    let sql = "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
               WHERE datname = 'postgres' AND pid <> pg_backend_pid()";
    let row = admin.query_one_raw(Statement::from_string(DatabaseBackend::Postgres, sql)).await.unwrap().unwrap();
    let ended: i64 = row.try_get("", "n").unwrap();
    let _ = admin.close().await;
    ended as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the PostgreSQL server binaries; starts a cluster of its own"]
async fn backends_killed_under_the_pool_cost_at_most_one_failed_request_each() {
    if !postgres_pass() {
        return;
    }
    let cluster = PgCluster::start();
    let (_server, api, d) = serve(&cluster).await;
    let warm = burst(&api, &d, 48, 16, None).await;
    assert!(warm.iter().all(|s| (200..300).contains(s)), "{warm:?}");

    // Idle connections killed: the pool finds out before it hands them out.
    let ended = terminate_backends(&cluster).await;
    assert!(ended > 0, "the pool held connections");
    let after = burst(&api, &d, 96, 16, None).await;
    let failed: Vec<_> = after.iter().filter(|s| !(200..300).contains(*s)).collect();
    assert!(failed.len() as u64 <= ended, "{} failures for {ended} killed connections: {failed:?}", failed.len());
    assert!(failed.iter().all(|s| **s == 503), "a lost connection is 503: {failed:?}");

    // Killed while requests run on them.
    let (halfway, heard) = oneshot::channel();
    let (under_load, ended_busy) = tokio::join!(burst(&api, &d, 192, 16, Some(halfway)), async {
        heard.await.expect("halfway");
        terminate_backends(&cluster).await
    });
    let failed_busy: Vec<_> = under_load.iter().filter(|s| !(200..300).contains(*s)).collect();
    assert!(failed_busy.len() as u64 <= ended_busy, "{failed_busy:?} for {ended_busy} killed connections");
    assert!(failed_busy.iter().all(|s| **s == 503), "a lost connection is 503: {failed_busy:?}");
    let again = burst(&api, &d, 24, 8, None).await;
    assert!(again.iter().all(|s| (200..300).contains(s)), "all well afterwards: {again:?}");
    eprintln!(
        "db_outage: {ended} idle backends killed -> {} failed of 96; {ended_busy} busy ones killed -> {} failed of 192",
        failed.len(),
        failed_busy.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs the PostgreSQL server binaries; starts and stops a cluster of its own"]
async fn a_server_started_while_its_database_is_down_serves_once_the_database_is_up() {
    if !postgres_pass() {
        return;
    }
    let cluster = PgCluster::start();
    let store = Store::Postgres(cluster.url("postgres"));
    let admin = next_phone();
    create_admin(&store, &admin);
    cluster.stop();

    let timeout = ACQUIRE_TIMEOUT_MS.to_string();
    let server = Shenbian::spawn(&store, &[("SHENBIAN_DB_ACQUIRE_TIMEOUT_MS", timeout.as_str())]);
    let api = Api::new(server.addr);
    assert_eq!(status_of(&api, "/healthz").await, 200);
    assert_eq!(status_of(&api, "/readyz").await, 503);
    let login = serde_json::json!({"phone": admin, "password": fault::server::PASSWORD});
    assert_eq!(api.post("/api/v1/auth/login", None, &login).await.unwrap().0, 503);

    cluster.start_again();
    let back = Instant::now();
    while status_of(&api, "/readyz").await != 200 {
        assert!(back.elapsed() < Duration::from_secs(10), "ready within 10 s of the database");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ready = back.elapsed();
    assert_eq!(api.post("/api/v1/auth/login", None, &login).await.unwrap().0, 200);
    eprintln!("db_outage: started without its database; ready {ready:?} after it came up");
}
