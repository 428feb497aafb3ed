//! Virtual users. Each drives whole order life cycles through the API — the resident places
//! an order, the dispatcher offers it to the crew's partner, the partner accepts, starts and
//! completes it, the resident confirms and rates it — and, in the mixed load, reads as people
//! do between the steps: the partner looks at its jobs, the resident at the order and, at
//! the end, at their list.
//!
//! Closed loop: every user sends its next request when the last one is answered. Open loop
//! (`--rate`): requests are due at a fixed rate whatever the answers do; a request's latency
//! counts from when it was due if no user was free to send it in time (so a stall is not
//! hidden by sending less), else from when it was sent.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::task::JoinSet;
use tokio::time::Instant;
use uuid::Uuid;

use crate::client::Api;
use crate::stats::Recorder;
use crate::target::{BARE_PATH, NOOP_PATH};
use crate::world::{Crew, World, order_body};
use crate::wrk;

pub const CREATE: &str = "POST /orders";
pub const DISPATCH: &str = "POST /orders/{id}/dispatch";
pub const ACCEPT: &str = "POST /orders/{id}/accept";
pub const START: &str = "POST /orders/{id}/start";
pub const COMPLETE: &str = "POST /orders/{id}/complete";
pub const CONFIRM: &str = "POST /orders/{id}/confirm";
pub const RATE: &str = "POST /orders/{id}/rating";
pub const GET_ORDER: &str = "GET /orders/{id}";
pub const LIST: &str = "GET /orders";
pub const JOBS: &str = "GET /jobs";
pub const NOOP: &str = "GET /bench/noop";
pub const HEALTHZ: &str = "GET /healthz";
pub const BARE: &str = "GET /bench/bare";
pub const PAGE: &str = "GET /orders/{id} (page)";

/// Every endpoint of the mixed load, steps first, for the tables.
pub const ALL: [&str; 10] = [CREATE, DISPATCH, ACCEPT, START, COMPLETE, CONFIRM, RATE, JOBS, GET_ORDER, LIST];

/// The life-cycle steps, in order.
pub const STEPS: [&str; 7] = [CREATE, DISPATCH, ACCEPT, START, COMPLETE, CONFIRM, RATE];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Req {
    Create,
    Dispatch,
    Accept,
    Start,
    Complete,
    Confirm,
    Rate,
    GetOrder,
    List,
    Jobs,
    Noop,
    Healthz,
    Bare,
    Page,
}

const WITH_READS: [Req; 10] = [
    Req::Create,
    Req::Dispatch,
    Req::Jobs,
    Req::Accept,
    Req::GetOrder,
    Req::Start,
    Req::Complete,
    Req::Confirm,
    Req::Rate,
    Req::List,
];
const STEPS_ONLY: [Req; 7] =
    [Req::Create, Req::Dispatch, Req::Accept, Req::Start, Req::Complete, Req::Confirm, Req::Rate];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mix {
    /// The seven steps only: the numerator of `step_vs_raw`.
    Steps,
    /// The steps with three reads per life cycle.
    StepsAndReads,
    /// One endpoint over and over (`--endpoints`).
    Only(Single),
}

/// The endpoints `--endpoints` loads one at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Single {
    /// `GET /healthz`, through the whole middleware stack.
    Healthz,
    /// The no-op route, through the whole middleware stack.
    Noop,
    /// A route outside the middleware: the ceiling of axum and the HTTP client.
    Bare,
    /// `GET /orders/{id}` of the user's own order, by the resident.
    ReadOrder,
    /// `GET /orders?limit=20`, by the resident.
    ListPage,
    /// `POST /orders`, by the resident.
    Create,
    /// The web front's page of the user's own order, by the resident's browser.
    OrderPage,
}

impl Single {
    /// The order `--endpoints` runs them in and the names its summary gives them.
    pub const ALL: [(Single, &'static str); 7] = [
        (Single::Bare, "bare"),
        (Single::Healthz, "healthz"),
        (Single::Noop, "noop"),
        (Single::ReadOrder, "read"),
        (Single::ListPage, "list"),
        (Single::Create, "create"),
        (Single::OrderPage, "page"),
    ];

    fn req(self) -> Req {
        match self {
            Single::Healthz => Req::Healthz,
            Single::Noop => Req::Noop,
            Single::Bare => Req::Bare,
            Single::ReadOrder => Req::GetOrder,
            Single::ListPage => Req::List,
            Single::Create => Req::Create,
            Single::OrderPage => Req::Page,
        }
    }

    /// The name of its row in the tables.
    pub fn endpoint(self) -> &'static str {
        match self {
            Single::Healthz => HEALTHZ,
            Single::Noop => NOOP,
            Single::Bare => BARE,
            Single::ReadOrder => GET_ORDER,
            Single::ListPage => LIST,
            Single::Create => CREATE,
            Single::OrderPage => PAGE,
        }
    }
}

/// One virtual user.
struct User {
    api: Api,
    crew: Crew,
    dispatcher: String,
    sequence: &'static [Req],
    next: usize,
    order: Option<Uuid>,
    order_body: Value,
    dispatch_body: Value,
    /// The one request it sends, over and over.
    only: Option<Req>,
    /// The resident's browser cookie (the page's loads).
    cookie: String,
}

impl User {
    fn new(api: Api, world: &World, crew: Crew, mix: Mix) -> Self {
        Self {
            api,
            dispatcher: world.dispatcher.token.clone(),
            sequence: if mix == Mix::StepsAndReads { &WITH_READS } else { &STEPS_ONLY },
            next: 0,
            order: None,
            order_body: order_body(world),
            dispatch_body: json!({"provider_ids": [crew.partner]}),
            crew,
            only: match mix {
                Mix::Only(single) => Some(single.req()),
                _ => None,
            },
            cookie: String::new(),
        }
    }

    /// Sends the user's next request; returns what it was and its status. A refused step
    /// starts a new life cycle; a refused read does not.
    async fn send(&mut self) -> (&'static str, u16) {
        let req = self.only.unwrap_or(self.sequence[self.next]);
        let order = self.order.unwrap_or_default();
        let (resident, owner) = (&self.crew.resident.token, &self.crew.owner.token);
        let (name, answer) = match req {
            Req::Create => (CREATE, self.api.post("/orders", Some(resident), &self.order_body).await),
            Req::Dispatch => {
                let path = format!("/orders/{order}/dispatch");
                (DISPATCH, self.api.post(&path, Some(&self.dispatcher), &self.dispatch_body).await)
            }
            Req::Accept => (ACCEPT, self.api.post_empty(&format!("/orders/{order}/accept"), owner).await),
            Req::Start => (START, self.api.post_empty(&format!("/orders/{order}/start"), owner).await),
            Req::Complete => {
                let body = json!({"summary": "更换了水槽下的软管，已试水无渗漏"});
                (COMPLETE, self.api.post(&format!("/orders/{order}/complete"), Some(owner), &body).await)
            }
            Req::Confirm => (CONFIRM, self.api.post_empty(&format!("/orders/{order}/confirm"), resident).await),
            Req::Rate => {
                let body = json!({"stars": 5, "timeliness": 5, "attitude": 5, "quality": 4, "comment": "师傅很专业，准时上门"});
                (RATE, self.api.post(&format!("/orders/{order}/rating"), Some(resident), &body).await)
            }
            Req::GetOrder => (GET_ORDER, self.api.get(&format!("/orders/{order}"), resident).await),
            Req::List => (LIST, self.api.get("/orders?limit=20", resident).await),
            Req::Jobs => (JOBS, self.api.get("/jobs?limit=20", owner).await),
            Req::Noop => return (NOOP, self.api.get_root(NOOP_PATH).await.status),
            Req::Healthz => return (HEALTHZ, self.api.get_root("/healthz").await.status),
            Req::Bare => return (BARE, self.api.get_root(BARE_PATH).await.status),
            Req::Page => return (PAGE, self.api.page(&format!("/orders/{order}"), &self.cookie).await.status),
        };
        if self.only.is_some() {
            return (name, answer.status);
        }
        let is_step = !matches!(req, Req::GetOrder | Req::List | Req::Jobs);
        if req == Req::Create && answer.ok() {
            self.order = answer.id();
        }
        if is_step && (!answer.ok() || self.order.is_none()) {
            self.next = 0;
            self.order = None;
        } else {
            self.next = (self.next + 1) % self.sequence.len();
        }
        (name, answer.status)
    }

    /// What the user sends over and over in `Mix::Only`, for a client outside this process.
    fn request(&self) -> wrk::Request {
        let order = self.order.unwrap_or_default();
        let resident = &self.crew.resident.token;
        match self.only {
            Some(Req::Create) => {
                wrk::Request::post_json("/api/v1/orders".into(), self.order_body.to_string()).bearer(resident)
            }
            Some(Req::GetOrder) => wrk::Request::get(format!("/api/v1/orders/{order}")).bearer(resident),
            Some(Req::List) => wrk::Request::get("/api/v1/orders?limit=20".into()).bearer(resident),
            Some(Req::Healthz) => wrk::Request::get("/healthz".into()),
            Some(Req::Noop) => wrk::Request::get(NOOP_PATH.into()),
            Some(Req::Bare) => wrk::Request::get(BARE_PATH.into()),
            Some(Req::Page) => wrk::Request::get(format!("/orders/{order}")).header("Cookie", self.cookie.clone()),
            Some(other) => unreachable!("{other:?} is not one of --endpoints' loads"),
            None => unreachable!("a user of the mixed load sends a sequence"),
        }
    }
}

/// The requests `clients` users, made as [`closed`] makes them, send over and over to load
/// `single` from a client outside this process (`--client wrk`).
pub async fn requests(api: &Api, world: &World, single: Single, clients: usize) -> Vec<wrk::Request> {
    users(api, world, Mix::Only(single), clients).await.iter().map(User::request).collect()
}

/// The virtual users, each already some way into its life cycle: user `i` has sent the
/// first `i` requests of its sequence (modulo its length), unrecorded, before the load
/// begins. Started together at the first step they would stay in step with each other —
/// in the open loop the tickets go round the users in turn, so every user sent the same
/// kind of request in the same few milliseconds (32 accepts, then 32 reads of an order,
/// …) — a load no neighbourhood sends, and one that put every request caught by a pause
/// of the writer on the same endpoint.
async fn users(api: &Api, world: &World, mix: Mix, clients: usize) -> Vec<User> {
    let mut starting = JoinSet::new();
    for i in 0..clients {
        let mut user = User::new(api.clone(), world, world.crews[i % world.crews.len()].clone(), mix);
        starting.spawn(async move {
            match user.only {
                // A reader reads an order of its own.
                Some(Req::GetOrder) => {
                    let answer = user.api.post("/orders", Some(&user.crew.resident.token), &user.order_body).await;
                    user.order = answer.id();
                }
                // A browser signs in and opens an order of its own.
                Some(Req::Page) => {
                    let answer = user.api.post("/orders", Some(&user.crew.resident.token), &user.order_body).await;
                    user.order = answer.id();
                    let phone = user.crew.resident.phone.clone();
                    user.cookie =
                        user.api.browser_sign_in(&phone, crate::world::PASSWORD).await.expect("the browser signs in");
                }
                Some(_) => {}
                None => {
                    for _ in 0..i % user.sequence.len() {
                        user.send().await;
                    }
                }
            }
            user
        });
    }
    let mut users = Vec::with_capacity(clients);
    while let Some(user) = starting.join_next().await {
        users.push(user.expect("a virtual user"));
    }
    users
}

/// Closed loop for `warmup + window`; records what was sent within the window.
pub async fn closed(
    api: &Api,
    world: &Arc<World>,
    mix: Mix,
    clients: usize,
    warmup: Duration,
    window: Duration,
) -> Recorder {
    let users = users(api, world, mix, clients).await;
    let measure_from = Instant::now() + warmup;
    let end = measure_from + window;
    let mut running = JoinSet::new();
    for mut user in users {
        running.spawn(async move {
            let mut recorder = Recorder::default();
            loop {
                let sent = Instant::now();
                if sent >= end {
                    return recorder;
                }
                let (name, status) = user.send().await;
                if sent >= measure_from {
                    recorder.record(name, status, sent.elapsed());
                }
            }
        });
    }
    let mut all = Recorder::default();
    while let Some(done) = running.join_next().await {
        all.merge(done.expect("a virtual user"));
    }
    all
}

/// How late a request may be sent before its latency counts from when it was due: the
/// timer's own resolution (1 ms) and a little scheduling.
const SLACK: Duration = Duration::from_millis(2);

/// What an open-loop run measured.
pub struct OpenLoop {
    pub recorder: Recorder,
    /// Requests sent later than due by more than the slack: no user was free.
    pub late: u64,
    /// From the window's start to the last answer of a request due within it: longer than
    /// the window when the server could not keep up, so that ok/s over it is what was served.
    pub span: Duration,
}

/// Open loop at `rate` requests per second in all, sent by `clients` users.
pub async fn open(
    api: &Api,
    world: &Arc<World>,
    mix: Mix,
    clients: usize,
    rate: u64,
    warmup: Duration,
    window: Duration,
) -> OpenLoop {
    let users = users(api, world, mix, clients).await;
    let start = Instant::now() + Duration::from_millis(20);
    let measure_from = start + warmup;
    let end = measure_from + window;
    let tickets = Arc::new(AtomicU64::new(0));
    let late = Arc::new(AtomicU64::new(0));
    let mut running = JoinSet::new();
    for mut user in users {
        let (tickets, late) = (tickets.clone(), late.clone());
        running.spawn(async move {
            let mut recorder = Recorder::default();
            let mut last = measure_from;
            loop {
                let ticket = tickets.fetch_add(1, Ordering::Relaxed);
                let due = start + Duration::from_secs_f64(ticket as f64 / rate as f64);
                if due >= end {
                    return (recorder, last);
                }
                tokio::time::sleep_until(due).await;
                let sent = Instant::now();
                let from = if sent.duration_since(due) > SLACK {
                    if due >= measure_from {
                        late.fetch_add(1, Ordering::Relaxed);
                    }
                    due
                } else {
                    sent
                };
                let (name, status) = user.send().await;
                if due >= measure_from {
                    recorder.record(name, status, from.elapsed());
                    last = Instant::now();
                }
            }
        });
    }
    let mut all = Recorder::default();
    let mut last = end;
    while let Some(done) = running.join_next().await {
        let (recorder, their_last) = done.expect("a virtual user");
        all.merge(recorder);
        last = last.max(their_last);
    }
    OpenLoop { recorder: all, late: late.load(Ordering::Relaxed), span: last - measure_from }
}
