//! Delivering events to webhooks: the worker's loop ([`run`]) and one pass ([`deliver_due`]).

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures_util::{StreamExt, stream};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter, QuerySelect};
use shenbian_domain::notification::Kind;
use shenbian_domain::webhook::{Answer, DISABLE_AFTER, WARN_AFTER, public_address, retry_delay};
use uuid::Uuid;

use super::{Delivery, feed_of, sign, wants};
use crate::db::begin_write;
use crate::entity::{event_counter, webhook, webhook_attempt};
use crate::error::ApiError;
use crate::orders::store::list::feed;
use crate::orders::store::names::NamedEvent;
use crate::state::AppState;

/// How long an instance holds an endpoint; renewed with each event delivered. Longer than a
/// request may take, so a holder never loses it while sending.
pub const LEASE: Duration = Duration::from_secs(30);
/// A receiver that has not answered in this time has failed the attempt.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// How often the loop looks for events owed.
const POLL: Duration = Duration::from_millis(250);
/// Endpoints served at once by one instance.
const CONCURRENT: usize = 16;
/// Events read from the log at once for an endpoint.
const PAGE: u64 = 50;
/// Characters of a receiver's answer kept with the attempt.
const EXCERPT: usize = 500;

/// This process, as the holder of leases.
static INSTANCE: LazyLock<Uuid> = LazyLock::new(Uuid::now_v7);

/// The HTTP client of deliveries: no redirects followed, no proxy, 15 s per request, and a
/// resolver that drops refused addresses (so a name that resolved to a public address when
/// checked cannot connect to a private one).
#[derive(Clone)]
pub struct Courier {
    client: reqwest::Client,
    allow_private: bool,
}

/// Makes rustls on ring the process's TLS provider (once; later calls do nothing). Every
/// `reqwest` client of this build — the deliveries', and the tests' and benchmark's — needs
/// it before it is built.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Courier {
    pub fn new(allow_private: bool) -> Self {
        install_tls_provider();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("Shenbian-Webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(Guarded { allow_private }))
            .build()
            .unwrap_or_default();
        Self { client, allow_private }
    }
}

/// Resolves with the system, then keeps only the addresses a delivery may reach.
struct Guarded {
    allow_private: bool,
}

impl Resolve for Guarded {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = allowed_addresses(&host, allow_private).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The addresses `host` resolves to that a delivery may reach; an error naming the refusal
/// when there are none.
async fn allowed_addresses(
    host: &str,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, Box<dyn std::error::Error + Send + Sync>> {
    let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host, 0)).await?.collect();
    if resolved.is_empty() {
        return Err("the name resolves to no address".into());
    }
    let allowed: Vec<SocketAddr> = resolved.into_iter().filter(|a| allow_private || public_address(a.ip())).collect();
    if allowed.is_empty() {
        return Err("refused: the target is a loopback, private, link-local or metadata address".into());
    }
    Ok(allowed)
}

/// Delivers forever (until the task is aborted).
pub async fn run(state: AppState) {
    state.wait_ready().await;
    // Made when first needed: its TLS roots are memory an instance without webhooks keeps.
    let mut courier = None;
    loop {
        let courier = match &courier {
            Some(courier) => courier,
            None if any_enabled(&state).await => {
                courier.insert(Courier::new(state.settings.webhook_allow_private_targets))
            }
            None => {
                tokio::time::sleep(POLL * 4).await;
                continue;
            }
        };
        if let Err(err) = deliver_due(&state, courier).await {
            tracing::warn!(error = %err, "webhook delivery pass failed; will retry");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Whether any endpoint is switched on.
async fn any_enabled(state: &AppState) -> bool {
    let Ok(db) = state.db() else { return false };
    webhook::Entity::find().filter(webhook::Column::Enabled.eq(true)).one(db).await.is_ok_and(|w| w.is_some())
}

/// One pass: every enabled endpoint that is owed events, due for an attempt and not held
/// by another instance gets its events in order until one fails. Returns the events
/// delivered.
pub async fn deliver_due(state: &AppState, courier: &Courier) -> Result<u32, ApiError> {
    let db = state.db()?;
    let now = state.now();
    let head = event_counter::Entity::find_by_id(1).one(db).await?.map_or(0, |c| c.value);
    let due = webhook::Entity::find()
        .filter(webhook::Column::Enabled.eq(true))
        .filter(webhook::Column::DeliveredSeq.lt(head))
        .filter(
            Condition::any().add(webhook::Column::NextAttemptAt.is_null()).add(webhook::Column::NextAttemptAt.lte(now)),
        )
        .filter(Condition::any().add(webhook::Column::LeaseUntil.is_null()).add(webhook::Column::LeaseUntil.lt(now)))
        .limit(64)
        .all(db)
        .await?;
    let delivered: Vec<Result<u32, ApiError>> =
        stream::iter(due).map(|w| endpoint(state, courier, w)).buffer_unordered(CONCURRENT).collect().await;
    let mut total = 0;
    for d in delivered {
        total += d?;
    }
    Ok(total)
}

fn lease_end(now: DateTime<Utc>) -> DateTime<Utc> {
    now + chrono::Duration::from_std(LEASE).unwrap_or_default()
}

/// The endpoint held by this instance, still on, its cursor where this instance left it.
fn held(id: Uuid, delivered_seq: i64) -> Condition {
    Condition::all()
        .add(webhook::Column::Id.eq(id))
        .add(webhook::Column::Enabled.eq(true))
        .add(webhook::Column::LeaseOwner.eq(*INSTANCE))
        .add(webhook::Column::DeliveredSeq.eq(delivered_seq))
}

/// Takes the endpoint's lease; `false` when another instance holds it.
async fn claim(state: &AppState, id: Uuid, now: DateTime<Utc>) -> Result<bool, ApiError> {
    let tx = begin_write(state.db()?).await?;
    let taken = webhook::Entity::update_many()
        .col_expr(webhook::Column::LeaseOwner, Expr::value(*INSTANCE))
        .col_expr(webhook::Column::LeaseUntil, Expr::value(lease_end(now)))
        .filter(webhook::Column::Id.eq(id))
        .filter(webhook::Column::Enabled.eq(true))
        .filter(Condition::any().add(webhook::Column::LeaseUntil.is_null()).add(webhook::Column::LeaseUntil.lt(now)))
        .exec(&tx)
        .await?
        .rows_affected
        == 1;
    tx.commit().await?;
    Ok(taken)
}

/// Delivers an endpoint's events in order until none is owed or one fails; leaves the
/// cursor after the last event delivered or passed over, and the lease free.
async fn endpoint(state: &AppState, courier: &Courier, w: webhook::Model) -> Result<u32, ApiError> {
    if !claim(state, w.id, state.now()).await? {
        return Ok(0);
    }
    let id = w.id;
    let delivered = held_endpoint(state, courier, w).await;
    if delivered.is_err() {
        // A failed read or write (the database busy, a connection lost) leaves the endpoint
        // to the next pass at once, not to the lease's end.
        let _ = release(state, id).await;
    }
    delivered
}

/// Frees this instance's lease on an endpoint.
async fn release(state: &AppState, id: Uuid) -> Result<(), ApiError> {
    let tx = begin_write(state.db()?).await?;
    webhook::Entity::update_many()
        .col_expr(webhook::Column::LeaseOwner, Expr::value(Option::<Uuid>::None))
        .col_expr(webhook::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(webhook::Column::Id.eq(id))
        .filter(webhook::Column::LeaseOwner.eq(*INSTANCE))
        .exec(&tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// [`endpoint`], its lease taken.
async fn held_endpoint(state: &AppState, courier: &Courier, w: webhook::Model) -> Result<u32, ApiError> {
    let db = state.db()?;
    let of = feed_of(&w);
    // `cursor`: the endpoint's cursor as stored; `scanned`: the last event looked at.
    let (mut cursor, mut scanned) = (w.delivered_seq, w.delivered_seq);
    let mut failing = Failing { failures: w.failures, since: w.failing_since };
    let mut delivered = 0;
    loop {
        let page = feed(db, &of, scanned, PAGE).await?;
        if page.is_empty() {
            break;
        }
        for named in page {
            if wants(&w, &named) {
                match attempt(state, courier, &w, cursor, failing, &named).await? {
                    Some(seq) => {
                        (cursor, delivered) = (seq, delivered + 1);
                        failing = Failing { failures: 0, since: None };
                    }
                    None => return Ok(delivered),
                }
            }
            scanned = named.event.seq;
        }
    }
    let tx = begin_write(db).await?;
    webhook::Entity::update_many()
        .col_expr(webhook::Column::DeliveredSeq, Expr::value(scanned))
        .col_expr(webhook::Column::LeaseOwner, Expr::value(Option::<Uuid>::None))
        .col_expr(webhook::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(held(w.id, cursor))
        .exec(&tx)
        .await?;
    tx.commit().await?;
    Ok(delivered)
}

/// An endpoint's run of failed attempts at its next event.
#[derive(Clone, Copy)]
struct Failing {
    failures: i32,
    since: Option<DateTime<Utc>>,
}

/// What a receiver did with one request.
struct Outcome {
    status: Option<u16>,
    latency_ms: i32,
    error: Option<String>,
    excerpt: Option<String>,
    retry_after: Option<Duration>,
}

/// Sends one event and records the attempt; on success moves the cursor to it (and renews
/// the lease) and returns its sequence number; on failure schedules the next attempt or
/// switches the endpoint off, frees the lease and returns `None`. `cursor` is where this
/// instance left the endpoint: a replay or a deletion meanwhile stops it.
async fn attempt(
    state: &AppState,
    courier: &Courier,
    w: &webhook::Model,
    cursor: i64,
    failing: Failing,
    named: &NamedEvent,
) -> Result<Option<i64>, ApiError> {
    let outcome = send(state, courier, w, named).await;
    let now = state.now();
    let seq = named.event.seq;
    let db = state.db()?;
    let tx = begin_write(db).await?;
    webhook_attempt::Entity::insert(webhook_attempt::ActiveModel {
        webhook_id: Set(w.id),
        event_id: Set(named.event.id),
        seq: Set(seq),
        attempt: Set(failing.failures + 1),
        status: Set(outcome.status.map(i32::from)),
        latency_ms: Set(outcome.latency_ms),
        error: Set(outcome.error.clone()),
        response_excerpt: Set(outcome.excerpt.clone()),
        at: Set(now),
        ..Default::default()
    })
    .exec(&tx)
    .await?;
    let answer = Answer::of(outcome.status);
    let update = webhook::Entity::update_many().filter(held(w.id, cursor));
    let result = match answer {
        Answer::Delivered => {
            update
                .col_expr(webhook::Column::DeliveredSeq, Expr::value(seq))
                .col_expr(webhook::Column::Failures, Expr::value(0))
                .col_expr(webhook::Column::FailingSince, Expr::value(Option::<DateTime<Utc>>::None))
                .col_expr(webhook::Column::NextAttemptAt, Expr::value(Option::<DateTime<Utc>>::None))
                .col_expr(webhook::Column::LeaseUntil, Expr::value(lease_end(now)))
                .exec(&tx)
                .await?
        }
        Answer::Gone | Answer::Failed => {
            let failures = u32::try_from(failing.failures).unwrap_or(0) + 1;
            let since = failing.since.unwrap_or(now);
            let failing_for = (now - since).to_std().unwrap_or_default();
            let give_up = answer == Answer::Gone || failing_for >= DISABLE_AFTER;
            if !give_up && failing_for >= WARN_AFTER {
                // Once per endpoint (the inbox keeps one notice per reader, kind and subject).
                crate::notifications::tell(&tx, &[w.created_by], Kind::WebhookFailing, w.id, now).await?;
            }
            let next = now
                + chrono::Duration::from_std(retry_delay(failures, rand::random::<f64>(), outcome.retry_after))
                    .unwrap_or_default();
            let mut update = update
                .col_expr(webhook::Column::Failures, Expr::value(failures as i32))
                .col_expr(webhook::Column::FailingSince, Expr::value(since))
                .col_expr(webhook::Column::NextAttemptAt, Expr::value(next))
                .col_expr(webhook::Column::LeaseOwner, Expr::value(Option::<Uuid>::None))
                .col_expr(webhook::Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None));
            if give_up {
                let reason = if answer == Answer::Gone { "gone" } else { "failing" };
                update = update
                    .col_expr(webhook::Column::Enabled, Expr::value(false))
                    .col_expr(webhook::Column::DisabledReason, Expr::value(reason));
                crate::notifications::tell(&tx, &[w.created_by], Kind::WebhookDisabled, w.id, now).await?;
            }
            update.exec(&tx).await?
        }
    };
    tx.commit().await?;
    if answer == Answer::Delivered && result.rows_affected == 1 {
        Ok(Some(seq))
    } else {
        if answer == Answer::Delivered {
            tracing::info!(webhook_id = %w.id, "webhook changed while delivering (replayed, switched off or deleted); stopped");
        }
        Ok(None)
    }
}

/// Posts the event, signed with every secret in force.
async fn send(state: &AppState, courier: &Courier, w: &webhook::Model, named: &NamedEvent) -> Outcome {
    let started = Instant::now();
    let failed = |error: String| Outcome {
        status: None,
        latency_ms: started.elapsed().as_millis().min(i32::MAX as u128) as i32,
        error: Some(error),
        excerpt: None,
        retry_after: None,
    };
    if let Err(refused) = check_target(&w.url, courier.allow_private).await {
        return failed(refused);
    }
    let body = match serde_json::to_vec(&Delivery::of(named)) {
        Ok(body) => body,
        Err(err) => return failed(err.to_string()),
    };
    let now = state.now();
    let id = named.event.id.to_string();
    let timestamp = chrono::Utc::now().timestamp();
    let mut secrets = vec![w.secret.as_str()];
    if let (Some(previous), Some(until)) = (&w.previous_secret, w.previous_secret_until)
        && until > now
    {
        secrets.push(previous);
    }
    let signature = sign::header(&secrets, &id, timestamp, &body);
    let response = courier
        .client
        .post(&w.url)
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    let mut response = match response {
        Ok(r) => r,
        Err(err) => {
            let what = if err.is_timeout() {
                "timed out".to_owned()
            } else if err.is_connect() {
                format!("could not connect: {}", source_text(&err))
            } else {
                format!("request failed: {}", source_text(&err))
            };
            return failed(what);
        }
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let mut excerpt = Vec::new();
    while excerpt.len() < EXCERPT * 4 {
        match response.chunk().await {
            Ok(Some(chunk)) => excerpt.extend_from_slice(&chunk),
            _ => break,
        }
    }
    let excerpt: String = String::from_utf8_lossy(&excerpt).chars().take(EXCERPT).collect();
    Outcome {
        status: Some(status),
        latency_ms: started.elapsed().as_millis().min(i32::MAX as u128) as i32,
        error: None,
        excerpt: (!excerpt.is_empty()).then_some(excerpt),
        retry_after,
    }
}

/// The innermost cause of an error, for the attempt's record.
fn source_text(err: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = err;
    while let Some(next) = inner.source() {
        inner = next;
    }
    inner.to_string()
}

/// Refuses a target that is, or resolves only to, an address deliveries may not reach.
pub async fn check_target(url: &str, allow_private: bool) -> Result<(), String> {
    let url = reqwest::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    let host = url.host_str().ok_or("the URL names no host")?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return if allow_private || public_address(ip) {
            Ok(())
        } else {
            Err("refused: the target is a loopback, private, link-local or metadata address".into())
        };
    }
    allowed_addresses(host, allow_private).await.map(|_| ()).map_err(|e| e.to_string())
}
