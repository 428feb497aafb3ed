//! kill -9 under write load, then a restart on the same database, round after round, with
//! the kill at a random moment. What the clients were told is done must be there: every
//! order whose creation or step was acknowledged is in at least that state; every order's
//! event log replays to its stored state; no order is half-moved (offers and capacity agree
//! with its state); and a creation retried with its `Idempotency-Key` exists exactly once.
//!
//! SQLite by default; PostgreSQL when `SHENBIAN_TEST_DATABASE_URL` names a server (a fresh
//! database is made there and dropped afterwards). `SHENBIAN_FAULT_SEED` replays a run.

mod fault;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fault::checks::{consistent_orders, rank, replays_over_http};
use fault::district::{Api, District, district, id_of, next_phone};
use fault::pg::PgDatabase;
use fault::server::{Shenbian, Store, create_admin};
use rand::{Rng, SeedableRng, rngs::StdRng};
use serde_json::{Value, json};
use uuid::Uuid;

const ROUNDS: usize = 24;
/// Concurrent clients, each a resident driving its orders through the life cycle.
const CLIENTS: usize = 6;

/// One client's place in the life cycle, carried across kills.
#[derive(Debug, Clone, Default)]
struct Client {
    resident: usize,
    order: Option<Uuid>,
    /// The order's state as last answered; unknown after an interrupted request.
    known: Option<String>,
    /// The key of a creation not yet answered: retried with it after the restart.
    key: Option<String>,
    /// Whether `known` was read back after an interrupted request, not answered by a step.
    reread: bool,
}

/// What the clients were told, and what they saw go wrong.
#[derive(Default)]
struct Ledger {
    /// The highest state acknowledged per order (its rank on the forward path).
    acked: HashMap<Uuid, usize>,
    /// Answers received (creations, steps and reads of an order's state).
    answers: usize,
    /// Idempotency keys used per resident.
    keys: HashMap<usize, HashSet<String>>,
    /// When the server was killed this round.
    killed_at: Option<Instant>,
    /// Requests sent before a kill and never answered: the kill caught them in flight.
    cut_off: usize,
    /// Orders found, after a restart, beyond their last acknowledged state: the kill came
    /// between the commit and the answer.
    ahead: usize,
    /// Steps refused as a lost race right after a read-back: the request the kill cut off
    /// committed after the read. On PostgreSQL a statement sent before the kill runs to its
    /// end in a backend that has not yet noticed its client is gone; the client reloads.
    late: usize,
    unexpected: Vec<String>,
}

impl Ledger {
    fn ack(&mut self, order: Uuid, status: &str) {
        self.answers += 1;
        let r = rank(status);
        let best = self.acked.entry(order).or_insert(r);
        *best = (*best).max(r);
    }
}

/// Drives one client until a request fails to get an answer (the server died).
async fn drive(api: Api, d: Arc<District>, mut c: Client, ledger: Arc<Mutex<Ledger>>) -> Client {
    let resident = &d.residents[c.resident];
    loop {
        let sent_at = Instant::now();
        let answer = match (c.order, c.known.as_deref()) {
            (None, _) => {
                let key = c.key.get_or_insert_with(|| Uuid::now_v7().to_string()).clone();
                ledger.lock().unwrap().keys.entry(c.resident).or_default().insert(key.clone());
                let request = api.client.post(format!("{}/api/v1/orders", api.base)).bearer_auth(&resident.token);
                read(request.header("idempotency-key", key).json(&d.order_body()).send().await).await
            }
            (Some(id), None) => {
                let answer = api.get(&format!("/api/v1/orders/{id}"), Some(&resident.token)).await;
                if let Ok((200, order)) = &answer {
                    let mut ledger = ledger.lock().unwrap();
                    let acked = ledger.acked.get(&id).copied().unwrap_or(0);
                    if order["status"].as_str().is_some_and(|s| rank(s) > acked) {
                        ledger.ahead += 1;
                    }
                }
                answer
            }
            (Some(_), Some("closed")) => {
                c = Client { resident: c.resident, ..Client::default() };
                continue;
            }
            (Some(id), Some(status)) => {
                let (actor, action, body) = match status {
                    "pending" => (&d.dispatcher, "dispatch", Some(json!({"provider_ids": [d.partner]}))),
                    "offered" => (&d.provider, "accept", None),
                    "accepted" => (&d.provider, "start", None),
                    "in_progress" => (&d.provider, "complete", Some(json!({"summary": "换了新的水管接头"}))),
                    "completed" => (resident, "confirm", None),
                    other => panic!("order {id} left the forward path: {other}"),
                };
                let path = format!("/api/v1/orders/{id}/{action}");
                api.send(reqwest::Method::POST, &path, Some(&actor.token), body.as_ref()).await
            }
        };
        match answer {
            Ok((200 | 201, body)) => {
                let status = body["status"].as_str().expect("an order").to_owned();
                let id = id_of(&body);
                ledger.lock().unwrap().ack(id, &status);
                c.reread = c.known.is_none() && c.order == Some(id);
                c.order = Some(id);
                c.key = None;
                c.known = Some(status);
            }
            Ok((409, body)) if c.reread && body["code"] == "invalid_transition" => {
                ledger.lock().unwrap().late += 1;
                c.known = None;
            }
            Ok((status, body)) => {
                ledger.lock().unwrap().unexpected.push(format!("{status} on {c:?}: {body}"));
                c.known = None;
                return c;
            }
            Err(_) => {
                let mut ledger = ledger.lock().unwrap();
                if ledger.killed_at.is_some_and(|killed| sent_at < killed) {
                    ledger.cut_off += 1;
                }
                c.known = None;
                return c;
            }
        }
    }
}

async fn read(sent: Result<reqwest::Response, reqwest::Error>) -> fault::district::Answer {
    let response = sent?;
    let status = response.status().as_u16();
    Ok((status, response.json::<Value>().await?))
}

/// Everything acknowledged so far is there, in at least that state; the database is whole.
async fn check(url: &str, ledger: &Mutex<Ledger>) -> HashMap<Uuid, String> {
    let stored = consistent_orders(url).await;
    for (order, acked) in &ledger.lock().unwrap().acked {
        let state = stored.get(order).unwrap_or_else(|| panic!("acknowledged order {order} is gone"));
        assert!(rank(state) >= *acked, "order {order} is {state}, below what was acknowledged");
    }
    stored
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "kills the real binary 24 times under write load (10-20 s); run with --ignored"]
async fn acknowledged_writes_survive_kill_9_at_random_moments() {
    let dir = tempfile::tempdir().unwrap();
    let pg = match fault::test_database_url() {
        Some(url) => Some(PgDatabase::create(&url).await),
        None => None,
    };
    let (store, url) = match &pg {
        Some(pg) => (Store::Postgres(pg.url.clone()), pg.url.clone()),
        None => (
            Store::Sqlite(dir.path().to_owned()),
            format!("sqlite://{}?mode=rw", dir.path().join("shenbian.db").display()),
        ),
    };
    let seed = std::env::var("SHENBIAN_FAULT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random);
    eprintln!("crash_restart: {store:?}, seed {seed} (SHENBIAN_FAULT_SEED)");
    let mut rng = StdRng::seed_from_u64(seed);

    let admin_phone = next_phone();
    create_admin(&store, &admin_phone);
    let mut server = Some(Shenbian::start(&store, &[]));
    let api = Api::new(server.as_ref().unwrap().addr);
    let d = Arc::new(district(&api, &admin_phone, CLIENTS).await);
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut clients: Vec<Client> = (0..CLIENTS).map(|resident| Client { resident, ..Client::default() }).collect();
    let started = Instant::now();

    for _ in 0..ROUNDS {
        let running = server.take().unwrap_or_else(|| Shenbian::start(&store, &[]));
        check(&url, &ledger).await;
        ledger.lock().unwrap().killed_at = None;
        let api = Api::new(running.addr);
        let load: Vec<_> =
            clients.drain(..).map(|c| tokio::spawn(drive(api.clone(), d.clone(), c, ledger.clone()))).collect();
        // The kill comes at a random moment of the load, not at a quiet one.
        tokio::time::sleep(Duration::from_millis(rng.random_range(20..400))).await;
        ledger.lock().unwrap().killed_at = Some(Instant::now());
        running.kill9();
        for task in load {
            clients.push(task.await.expect("client"));
        }
    }

    // The last restart: creations cut off are retried with their keys, then all is checked.
    let running = Shenbian::start(&store, &[]);
    let api = Api::new(running.addr);
    for c in clients.iter().filter(|c| c.order.is_none()) {
        let resident = &d.residents[c.resident];
        let key = c.key.clone().expect("a client between orders has a creation in flight");
        let request = api.client.post(format!("{}/api/v1/orders", api.base)).bearer_auth(&resident.token);
        let (status, body) =
            read(request.header("idempotency-key", key).json(&d.order_body()).send().await).await.unwrap();
        assert!(status == 201, "a retried creation answers as the first did: {status} {body}");
    }
    let stored = check(&url, &ledger).await;
    let ledger = std::mem::take(&mut *ledger.lock().unwrap());
    assert!(ledger.unexpected.is_empty(), "answers other than 2xx under load: {:#?}", ledger.unexpected);
    for (resident, keys) in &ledger.keys {
        let id = d.residents[*resident].id;
        let orders = fault::checks::orders_of(&url, id).await;
        assert_eq!(orders, keys.len(), "one order per idempotency key for resident {resident}");
    }
    for order in stored.keys() {
        replays_over_http(&api, &d.admin, *order).await;
    }
    assert!(ledger.cut_off >= ROUNDS, "the kills caught requests in flight: {}", ledger.cut_off);
    eprintln!(
        "crash_restart: {ROUNDS} kills in {:.1} s; {} orders, {} answers, {} requests cut off by a kill, {} steps committed but not acknowledged, {} committed after their read-back",
        started.elapsed().as_secs_f64(),
        stored.len(),
        ledger.answers,
        ledger.cut_off,
        ledger.ahead,
        ledger.late
    );
}
