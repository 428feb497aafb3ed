//! The live stream's delivery: each virtual user holds `GET /events/stream` open as its
//! resident and, in a closed loop, creates an order and waits for that order's `created`
//! event on its stream. The time from the creation's answer to the event's arrival is the
//! delivery latency; the stream looks at the log every 250 ms (`orders::stream::POLL`), so
//! half of that is the floor on the mean.

use std::time::{Duration, Instant};

use reqwest::Client;
use serde_json::Value;
use tokio::task::JoinSet;

use crate::world::{World, order_body};

/// Delivery latencies in milliseconds, of every order created in `window`, sorted.
pub async fn delivery(base: &str, world: &World, window: Duration) -> Result<Vec<f64>, String> {
    shenbian::webhooks::deliver::install_tls_provider();
    let client = Client::builder().build().map_err(|e| e.to_string())?;
    let mut users = JoinSet::new();
    for crew in &world.crews {
        let (client, base, token, body) =
            (client.clone(), base.to_owned(), crew.resident.token.clone(), order_body(world));
        users.spawn(async move { user(&client, &base, &token, &body, window).await });
    }
    let mut all = Vec::new();
    while let Some(done) = users.join_next().await {
        all.extend(done.map_err(|e| e.to_string())??);
    }
    all.sort_by(f64::total_cmp);
    Ok(all)
}

async fn user(client: &Client, base: &str, token: &str, body: &Value, window: Duration) -> Result<Vec<f64>, String> {
    let mut stream = client
        .get(format!("{base}/api/v1/events/stream"))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if stream.status() != 200 {
        return Err(format!("the stream answered {}", stream.status()));
    }
    let mut buffer = String::new();
    let mut latencies = Vec::new();
    let end = Instant::now() + window;
    while Instant::now() < end {
        let created = client
            .post(format!("{base}/api/v1/orders"))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let order: Value = created.json().await.map_err(|e| e.to_string())?;
        let answered = Instant::now();
        let id = order["id"].as_str().ok_or("no order id")?.to_owned();
        'wait: loop {
            while let Some(at) = buffer.find("\n\n") {
                let block: String = buffer.drain(..at + 2).collect();
                if block.contains(&id) && block.contains("\"created\"") {
                    latencies.push(answered.elapsed().as_secs_f64() * 1_000.0);
                    break 'wait;
                }
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), stream.chunk())
                .await
                .map_err(|_| "no event within 10 s")?
                .map_err(|e| e.to_string())?
                .ok_or("the stream ended")?;
            buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
    Ok(latencies)
}
