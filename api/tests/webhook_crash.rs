//! kill -9 in the middle of webhook deliveries, twice, then a restart on the same database:
//! the receiver (a real HTTP server in the test) gets every event of the log at least once,
//! none before an earlier one it had not yet got (in order per endpoint), and every
//! delivery verifies with the endpoint's secret.
//!
//! SQLite by default; PostgreSQL when `SHENBIAN_TEST_DATABASE_URL` names a server.

mod fault;

use std::collections::{BTreeSet, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use fault::district::{Api, District, district, id_of, next_phone};
use fault::pg::PgDatabase;
use fault::server::{Shenbian, Store, create_admin};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// Orders placed before each kill (each one `created` event).
const ORDERS_PER_ROUND: usize = 60;
const KILLS: usize = 2;
/// The longest wait for deliveries that should come (a bound on a failing test).
const WITHIN: Duration = Duration::from_secs(120);

/// Sequence numbers as received, in order; and whether each one verified.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(i64, bool)>>>,
    secret: Arc<Mutex<String>>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> &'static str {
    // A receiver that takes its time, so that the kill finds deliveries under way.
    tokio::time::sleep(Duration::from_millis(15)).await;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let secret = r.secret.lock().unwrap().clone();
    let key = STANDARD.decode(secret.trim_start_matches("whsec_")).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.", header("webhook-id"), header("webhook-timestamp")).as_bytes());
    mac.update(&body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    let verified = header("webhook-signature").split(' ').any(|s| s == expected);
    let seq = serde_json::from_slice::<Value>(&body).unwrap()["data"]["seq"].as_i64().unwrap();
    r.got.lock().unwrap().push((seq, verified));
    "ok"
}

async fn place_orders(api: &Api, d: &District, n: usize) {
    for i in 0..n {
        let resident = &d.residents[i % d.residents.len()];
        api.expect(201, reqwest::Method::POST, "/api/v1/orders", &resident.token, Some(&d.order_body())).await;
    }
}

/// Waits (polling the receiver, bounded) until `done` holds; whether it did.
async fn until(receiver: &Receiver, done: impl Fn(&[(i64, bool)]) -> bool) -> bool {
    let deadline = Instant::now() + WITHIN;
    loop {
        if done(&receiver.got.lock().unwrap()) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "kills the real binary twice in the middle of webhook deliveries (about 70 s); run with --ignored"]
async fn webhook_deliveries_survive_kill_9_at_least_once_and_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let pg = match fault::test_database_url() {
        Some(url) => Some(PgDatabase::create(&url).await),
        None => None,
    };
    let store = match &pg {
        Some(pg) => Store::Postgres(pg.url.clone()),
        None => Store::Sqlite(dir.path().to_owned()),
    };
    let settings = [("SHENBIAN_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")];
    let receiver = Receiver::default();
    let app = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let admin_phone = next_phone();
    create_admin(&store, &admin_phone);
    let mut server = Shenbian::start(&store, &settings);
    let api = Api::new(server.addr);
    let d = district(&api, &admin_phone, 3).await;
    let created =
        api.expect(201, reqwest::Method::POST, "/api/v1/webhooks", &d.admin.token, Some(&json!({"url": url}))).await;
    *receiver.secret.lock().unwrap() = created["secret"].as_str().unwrap().to_owned();
    let hook = id_of(&created);

    for round in 0..KILLS {
        let api = Api::new(server.addr);
        let before = receiver.got.lock().unwrap().len();
        place_orders(&api, &d, ORDERS_PER_ROUND).await;
        // The kill comes with deliveries under way: some of this round's sent, not all.
        let under_way = until(&receiver, |got| got.len() >= before + ORDERS_PER_ROUND / 4).await;
        assert!(under_way, "deliveries under way within {WITHIN:?}");
        server.kill9();
        eprintln!("webhook_crash: killed in round {round} after {} deliveries", receiver.got.lock().unwrap().len());
        server = Shenbian::start(&store, &settings);
    }

    // Every event of the log, as the admin's feed shows it.
    let api = Api::new(server.addr);
    let mut all = BTreeSet::new();
    let mut cursor = String::new();
    loop {
        let page = api
            .expect(
                200,
                reqwest::Method::GET,
                &format!("/api/v1/events?limit=100&cursor={cursor}"),
                &d.admin.token,
                None,
            )
            .await;
        let items = page["items"].as_array().unwrap();
        if items.is_empty() {
            break;
        }
        all.extend(items.iter().map(|e| e["seq"].as_i64().unwrap()));
        cursor = page["next_cursor"].as_str().unwrap().to_owned();
    }
    let first_delivered = *all.iter().find(|s| receiver.got.lock().unwrap().iter().any(|(g, _)| g == *s)).unwrap();
    // The endpoint receives what was committed after it was registered.
    let owed: BTreeSet<i64> = all.into_iter().filter(|s| *s >= first_delivered).collect();
    let all_delivered = until(&receiver, |got| {
        let seen: HashSet<i64> = got.iter().map(|(s, _)| *s).collect();
        owed.iter().all(|s| seen.contains(s))
    })
    .await;
    if !all_delivered {
        // What the endpoint and its last attempts say, for whoever reads the failure.
        let (endpoint_path, attempts_path) =
            (format!("/api/v1/webhooks/{hook}"), format!("/api/v1/webhooks/{hook}/attempts?limit=5"));
        let endpoint = api.expect(200, reqwest::Method::GET, &endpoint_path, &d.admin.token, None).await;
        let attempts = api.expect(200, reqwest::Method::GET, &attempts_path, &d.admin.token, None).await;
        let got = receiver.got.lock().unwrap().len();
        panic!(
            "every event delivered within {WITHIN:?}: {got} deliveries of {} owed; the endpoint: {endpoint}; its last attempts: {attempts}",
            owed.len()
        );
    }

    let got = receiver.got.lock().unwrap().clone();
    assert!(got.iter().all(|(_, verified)| *verified), "every delivery verifies");
    let mut seen = HashSet::new();
    for (seq, _) in &got {
        let missing: Vec<&i64> = owed.range(..*seq).filter(|s| !seen.contains(*s)).collect();
        assert!(missing.is_empty(), "event {seq} arrived before {missing:?}");
        seen.insert(*seq);
    }
    let repeats = got.len() - seen.len();
    eprintln!("webhook_crash: {} events owed, {} deliveries, {repeats} sent again after a kill", owed.len(), got.len());
    let attempts =
        api.expect(200, reqwest::Method::GET, &format!("/api/v1/webhooks/{hook}/attempts"), &d.admin.token, None).await;
    assert!(!attempts["items"].as_array().unwrap().is_empty());
    drop(server);
}
