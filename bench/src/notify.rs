//! `--notify`: the ways of hearing about the event log, under load.
//!
//! 1. `--streams` live streams (`GET /events/stream`, five per resident, the most one user
//!    may hold) are held open while the life-cycle load runs (closed loop, `--clients`
//!    users) and each crew's resident creates orders and times their arrival on its own
//!    stream (event to client). The resident set size is sampled throughout.
//! 2. Webhook deliveries to a receiver in this process: one endpoint, then eight, each
//!    replaying the last [`REPLAYED`] events of the log; deliveries per second until the
//!    receiver has them all.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::Client;
use serde_json::json;
use tokio::task::JoinSet;

use crate::client::Api;
use crate::load::{self, Mix};
use crate::rss::{self, mib};
use crate::stream;
use crate::target::Target;
use crate::world::{self, World};

/// Events each endpoint is sent again in the webhook part.
pub const REPLAYED: i64 = 2_000;
/// The most streams one user may hold (`orders::stream::MAX_STREAMS_PER_USER`).
const PER_USER: usize = shenbian::orders::stream::MAX_STREAMS_PER_USER;

pub async fn run(
    api: &Api,
    target: &Target,
    world: Arc<World>,
    streams: usize,
    clients: usize,
    window: Duration,
) -> Result<Vec<String>, String> {
    let warmup = Duration::from_secs(1);
    shenbian::webhooks::deliver::install_tls_provider();
    let client = Client::builder().build().map_err(|e| e.to_string())?;

    // [1] streams held open by residents of their own, idle ones (nothing is theirs).
    let started = Instant::now();
    let mut holders = JoinSet::new();
    for i in 0..streams.div_ceil(PER_USER) {
        let api = api.clone();
        holders.spawn(async move { world::resident(&api, &format!("听众{i}")).await });
    }
    let mut tokens = Vec::new();
    while let Some(done) = holders.join_next().await {
        tokens.push(done.map_err(|e| e.to_string())??.token);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let received = Arc::new(AtomicU64::new(0));
    let mut held = JoinSet::new();
    for n in 0..streams {
        let response = client
            .get(format!("{}/api/v1/events/stream", target.base))
            .bearer_auth(&tokens[n / PER_USER])
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if response.status() != 200 {
            return Err(format!("stream {n} answered {}", response.status()));
        }
        let (stop, received) = (stop.clone(), received.clone());
        held.spawn(async move {
            let mut response = response;
            while !stop.load(Ordering::Relaxed) {
                match tokio::time::timeout(Duration::from_millis(500), response.chunk()).await {
                    Ok(Ok(Some(chunk))) => {
                        received.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    }
                    Ok(_) => return false,
                    Err(_) => {}
                }
            }
            true
        });
    }
    println!(
        "\n[1] {streams} live streams held by {} residents (opened in {:.1} s), with the life-cycle load \
         ({clients} users, closed loop, {} s) and each crew's resident timing its own orders' events",
        tokens.len(),
        started.elapsed().as_secs_f64(),
        window.as_secs()
    );
    let sampler = rss::Sampler::start();
    let (mixed, delivered) = tokio::join!(
        load::closed(api, &world, Mix::StepsAndReads, clients, warmup, window),
        stream::delivery(&target.base, &world, window + warmup),
    );
    let usage = sampler.stop().await;
    let delivered = delivered?;
    stop.store(true, Ordering::Relaxed);
    let mut still_open = 0;
    while let Some(done) = held.join_next().await {
        still_open += usize::from(done.map_err(|e| e.to_string())?);
    }
    let mixed = mixed.ordered(&load::ALL);
    print!("{}", mixed.table(window));
    let life_cycle = mixed.total_ok() as f64 / window.as_secs_f64();
    let nearest = |q: f64| {
        delivered.get(((q * delivered.len() as f64).ceil() as usize).saturating_sub(1)).copied().unwrap_or(0.0)
    };
    println!(
        "  {still_open} of {streams} streams still open at the end; event to client over {} orders: p50 {:.1} ms, \
         p99 {:.1} ms; RSS peak {:.1} MiB",
        delivered.len(),
        nearest(0.5),
        nearest(0.99),
        mib(usage.peak)
    );

    // [2] webhooks.
    let (count, url) = receiver().await?;
    let mut lines = vec![
        String::new(),
        format!("streams_held={still_open}"),
        format!("requests_per_s_with_streams={life_cycle:.1}"),
        format!("stream_event_to_client_p50_ms={:.1}", nearest(0.5)),
        format!("stream_event_to_client_p99_ms={:.1}", nearest(0.99)),
        format!("rss_with_streams_mib=peak {:.1}, mean {:.1}", mib(usage.peak), mib(usage.mean)),
    ];
    println!(
        "\n[2] webhook deliveries to a receiver in this process, the last {REPLAYED} events replayed per endpoint"
    );
    let mut hooks = Vec::new();
    for endpoints in [1usize, 8] {
        while hooks.len() < endpoints {
            let answer = api.post("/webhooks", Some(&world.admin.token), &json!({"url": url})).await;
            let id = answer
                .id()
                .ok_or_else(|| format!("webhook: {} {}", answer.status, String::from_utf8_lossy(&answer.body)))?;
            hooks.push(id);
        }
        let head = last_seq(target).await?;
        let after = (head - REPLAYED).max(0);
        let wanted = (head - after) as u64 * endpoints as u64;
        let before = count.load(Ordering::Relaxed);
        let started = Instant::now();
        for id in &hooks {
            let cursor = shenbian::pagination::encode_text_cursor(&after.to_string());
            let answer =
                api.post(&format!("/webhooks/{id}/replay"), Some(&world.admin.token), &json!({"after": cursor})).await;
            if answer.status != 202 {
                return Err(format!("replay: {} {}", answer.status, String::from_utf8_lossy(&answer.body)));
            }
        }
        let deadline = started + Duration::from_secs(300);
        while count.load(Ordering::Relaxed) - before < wanted {
            if Instant::now() > deadline {
                return Err("webhook deliveries did not finish within 300 s".into());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let rate = wanted as f64 / started.elapsed().as_secs_f64();
        println!(
            "  {endpoints} endpoint(s): {wanted} deliveries in {:.2} s, {rate:.0}/s",
            started.elapsed().as_secs_f64()
        );
        lines.push(format!("webhook_deliveries_per_s_{endpoints}_endpoints={rate:.0}"));
    }
    Ok(lines)
}

/// The last sequence number given out.
async fn last_seq(target: &Target) -> Result<i64, String> {
    use sea_orm::EntityTrait;
    let db = target.state.db().map_err(|e| e.to_string())?;
    let counter = shenbian::entity::event_counter::Entity::find_by_id(1).one(db).await.map_err(|e| e.to_string())?;
    Ok(counter.map_or(0, |c| c.value))
}

/// A webhook receiver on 127.0.0.1:0 that answers 204 and counts: (the count, its URL).
async fn receiver() -> Result<(Arc<AtomicU64>, String), String> {
    let count = Arc::new(AtomicU64::new(0));
    let counted = count.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, Ordering::Relaxed);
                Ok::<_, Infallible>(axum::http::StatusCode::NO_CONTENT)
            }
        }),
    );
    let listener =
        tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.map_err(|e| e.to_string())?;
    let url = format!("http://{}/hook", listener.local_addr().map_err(|e| e.to_string())?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((count, url))
}
