//! Webhooks: a partner's system and the district's receive the events they may see,
//! signed as Standard Webhooks asks (checked here by the test's own HMAC, not the server's
//! code), in log order, thin (no resident's personal data); a failing receiver gets its
//! retry, 410 switches an endpoint off with its owner told, a private target is refused,
//! a rotated secret signs beside the new one, and a replay sends events again.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Duration;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use shenbian_tests::scene::{World, partner, place, world};
use shenbian_tests::shenbian::webhooks::deliver::{Courier, deliver_due};
use shenbian_tests::{Actor, TestApp, TestClock};
use uuid::Uuid;

/// What a receiver got: one request's headers and body.
#[derive(Debug, Clone)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: Vec<u8>,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A receiver on 127.0.0.1:0: records every request, answers the scripted statuses in turn
/// (then 200).
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    answers: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    async fn start() -> (Self, String) {
        let receiver = Self::default();
        let app = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(receiver.clone());
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (receiver, url)
    }

    fn answer(&self, statuses: &[u16]) {
        self.answers.lock().unwrap().extend(statuses);
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    r.got.lock().unwrap().push(Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: body.to_vec(),
    });
    let status = r.answers.lock().unwrap().pop_front().unwrap_or(200);
    (StatusCode::from_u16(status).unwrap(), "ok")
}

/// Verifies a delivery against a secret as the specification says: some `v1,` signature in
/// the header is the base64 HMAC-SHA256, keyed with the secret's base64 key, of
/// `{id}.{timestamp}.{body}`.
fn verifies(secret: &str, r: &Received) -> bool {
    let key = STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.", r.id, r.timestamp).as_bytes());
    mac.update(&r.body);
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    r.signature.split(' ').any(|s| s.strip_prefix("v1,") == Some(expected.as_str()))
}

async fn deliver(app: &TestApp) -> u32 {
    deliver_due(&app.state, &Courier::new(true)).await.expect("a delivery pass")
}

/// An app that may deliver to the test's receiver on 127.0.0.1.
async fn app_with_private_targets(clock: Option<Arc<TestClock>>) -> TestApp {
    let allow = |s: &mut shenbian_tests::shenbian::Settings| s.webhook_allow_private_targets = true;
    match clock {
        Some(clock) => TestApp::spawn_full(allow, clock, axum::Router::new()).await,
        None => TestApp::spawn_with(allow).await,
    }
}

async fn register(owner: &Actor, body: Value) -> (Uuid, String) {
    let created: Value = owner.create("/webhooks", &body).await.expect("the webhook is registered");
    (created["id"].as_str().unwrap().parse().unwrap(), created["secret"].as_str().unwrap().to_owned())
}

/// An order dispatched to the partner, accepted, started and completed.
async fn life(w: &World, resident: &Actor, member: &Actor, partner_id: Uuid) -> Uuid {
    let order = place(w, resident).await.id;
    w.dispatcher.dispatch(order, &[partner_id]).await.unwrap();
    member.accept(order).await.unwrap();
    member.start(order).await.unwrap();
    w.started_ago(order, 60).await;
    member.complete(order, "换了水管", Some(45)).await.unwrap();
    order
}

#[tokio::test]
async fn a_partners_system_receives_its_events_signed_in_order_and_thin() {
    let app = app_with_private_targets(None).await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, _) = partner(&app, &w, 3, None).await;
    let (receiver, url) = Receiver::start().await;
    let (hook, secret) = register(&member, json!({"url": url, "partner_id": partner_id})).await;
    assert!(secret.starts_with("whsec_"));
    // The secret is shown once.
    let shown: Value = member.get(&format!("/webhooks/{hook}")).await.unwrap();
    assert_eq!(shown.get("secret"), None);
    // Strangers see nothing of it; a district endpoint needs an admin.
    let stranger = app.resident().await;
    assert_eq!(stranger.get::<Value>(&format!("/webhooks/{hook}")).await.unwrap_err().status, 404);
    assert_eq!(w.dispatcher.get::<Value>(&format!("/webhooks/{hook}")).await.unwrap_err().status, 404);
    let list: Vec<Value> = stranger.get("/webhooks").await.unwrap();
    assert!(list.is_empty());
    assert_eq!(stranger.create::<Value>("/webhooks", &json!({"url": url})).await.unwrap_err().status, 403);
    assert_eq!(
        stranger.create::<Value>("/webhooks", &json!({"url": url, "partner_id": partner_id})).await.unwrap_err().status,
        404
    );

    let order = life(&w, &resident, &member, partner_id).await;
    // An order the partner has nothing to do with.
    place(&w, &resident).await;
    // The partner's feed: every event of its job's order (from its creation on), none of
    // the other order.
    assert_eq!(deliver(&app).await, 5);
    let got = receiver.got();
    let actions: Vec<String> = got.iter().map(|r| r.json()["data"]["action"].as_str().unwrap().to_owned()).collect();
    assert_eq!(actions, ["created", "dispatched", "accepted", "started", "completed"], "in log order");
    let seqs: Vec<i64> = got.iter().map(|r| r.json()["data"]["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|p| p[0] < p[1]));
    for r in &got {
        assert!(verifies(&secret, r), "signed: {r:?}");
        assert!(!verifies("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", r), "and not with any other key");
        let body = r.json();
        assert_eq!(body["type"], format!("order.{}", body["data"]["action"].as_str().unwrap()));
        assert_eq!(body["data"]["order_id"], json!(order));
        assert_eq!(r.id, body["data"]["event_id"].as_str().unwrap(), "webhook-id is the event's id");
        let text = String::from_utf8(r.body.clone()).unwrap();
        for personal in [resident.phone.as_str(), "王秀英", "2单元", "进门左手边", "厨房水管漏水", "水槽"]
        {
            assert!(!text.contains(personal), "nothing personal in {text}");
        }
    }
    // Nothing is sent twice.
    assert_eq!(deliver(&app).await, 0);
    assert_eq!(receiver.got().len(), 5);
    let attempts: Value = member.get(&format!("/webhooks/{hook}/attempts")).await.unwrap();
    assert_eq!(attempts["items"].as_array().unwrap().len(), 5);
    assert_eq!(attempts["items"][0]["status"], 200);
    assert_eq!(attempts["items"][0]["response_excerpt"], "ok");
}

#[tokio::test]
async fn a_failing_receiver_gets_its_retry_on_schedule_and_410_switches_it_off() {
    let clock = TestClock::new();
    let app = app_with_private_targets(Some(clock.clone())).await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (receiver, url) = Receiver::start().await;
    let (hook, secret) = register(&w.admin, json!({"url": url, "event_types": ["order.created"]})).await;
    receiver.answer(&[500]);
    let first = place(&w, &resident).await.id;
    let second = place(&w, &resident).await.id;

    assert_eq!(deliver(&app).await, 0, "the receiver failed");
    let view: Value = w.admin.get(&format!("/webhooks/{hook}")).await.unwrap();
    assert_eq!(view["failures"], 1);
    assert_eq!(deliver(&app).await, 0, "not due before its retry");
    assert_eq!(receiver.got().len(), 1);
    clock.advance(Duration::seconds(7));
    assert_eq!(deliver(&app).await, 2, "the retry, then the next event");
    let got = receiver.got();
    let orders: Vec<Value> = got.iter().map(|r| r.json()["data"]["order_id"].clone()).collect();
    assert_eq!(orders, [json!(first), json!(first), json!(second)], "in order, the failed one first");
    assert!(got.iter().all(|r| verifies(&secret, r)));
    assert_eq!(got[0].id, got[1].id, "a retry keeps its webhook-id");
    let attempts: Value = w.admin.get(&format!("/webhooks/{hook}/attempts")).await.unwrap();
    let statuses: Vec<i64> =
        attempts["items"].as_array().unwrap().iter().map(|a| a["status"].as_i64().unwrap()).collect();
    assert_eq!(statuses, [200, 200, 500], "newest first");
    assert_eq!(attempts["items"][1]["attempt"], 2);

    // 410: switched off, and its owner told.
    receiver.answer(&[410]);
    place(&w, &resident).await;
    assert_eq!(deliver(&app).await, 0);
    let view: Value = w.admin.get(&format!("/webhooks/{hook}")).await.unwrap();
    assert_eq!((view["enabled"].clone(), view["disabled_reason"].clone()), (json!(false), json!("gone")));
    let inbox: Value = w.admin.get("/me/notifications").await.unwrap();
    assert_eq!(inbox["items"][0]["kind"], "webhook.disabled");
    clock.advance(Duration::hours(1));
    assert_eq!(deliver(&app).await, 0, "nothing goes to an endpoint switched off");
    // Switched on again, it delivers from where it stopped.
    let _: Value = w.admin.patch(&format!("/webhooks/{hook}"), &json!({"enabled": true})).await.unwrap();
    assert_eq!(deliver(&app).await, 1);
}

#[tokio::test]
async fn an_endpoint_failing_for_five_days_is_switched_off() {
    let clock = TestClock::new();
    let app = app_with_private_targets(Some(clock.clone())).await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (receiver, url) = Receiver::start().await;
    let (hook, _) = register(&w.admin, json!({"url": url})).await;
    receiver.answer(&[503; 40]);
    place(&w, &resident).await;
    let mut tries = 0;
    loop {
        deliver(&app).await;
        let view: Value = w.admin.get(&format!("/webhooks/{hook}")).await.unwrap();
        if view["enabled"] == json!(false) {
            assert_eq!(view["disabled_reason"], "failing");
            break;
        }
        tries += 1;
        assert!(tries < 40, "switched off in time");
        clock.advance(Duration::hours(11));
    }
    // 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, then 10 h apart: some dozen attempts in five days.
    let got = receiver.got().len();
    assert!((10..=16).contains(&got), "{got} attempts");
    // Its creator was warned after a day, once, and told when it was switched off.
    let inbox: Value = w.admin.get("/me/notifications").await.unwrap();
    let kinds: Vec<&str> = inbox["items"].as_array().unwrap().iter().map(|n| n["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["webhook.disabled", "webhook.failing"]);
}

#[tokio::test]
async fn a_private_target_is_refused() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (receiver, url) = Receiver::start().await;
    for target in [url.clone(), "http://169.254.169.254/latest".to_owned(), "http://[::1]:8080/".to_owned()] {
        let refused = w.admin.create::<Value>("/webhooks", &json!({"url": target})).await.unwrap_err();
        assert_eq!(refused.status, 422, "{target}");
    }
    assert_eq!(
        w.admin.create::<Value>("/webhooks", &json!({"url": "ftp://example.com/"})).await.unwrap_err().status,
        422
    );
    // A name is resolved at every delivery, and refused when it leads to a private address.
    let port = url.split(':').nth(2).unwrap().split('/').next().unwrap();
    let (hook, _) = register(&w.admin, json!({"url": format!("http://localhost:{port}/hook")})).await;
    place(&w, &resident).await;
    assert_eq!(deliver_due(&app.state, &Courier::new(false)).await.unwrap(), 0);
    assert!(receiver.got().is_empty());
    let attempts: Value = w.admin.get(&format!("/webhooks/{hook}/attempts")).await.unwrap();
    assert_eq!(attempts["items"][0]["status"], Value::Null);
    assert!(attempts["items"][0]["error"].as_str().unwrap().contains("refused"), "{attempts}");
}

#[tokio::test]
async fn a_rotated_secret_signs_beside_the_new_one_and_a_replay_sends_again() {
    let app = app_with_private_targets(None).await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (receiver, url) = Receiver::start().await;
    let (hook, old) = register(&w.admin, json!({"url": url, "community_ids": [w.community]})).await;
    let first = place(&w, &resident).await.id;
    assert_eq!(deliver(&app).await, 1);

    let rotated: Value = w.admin.patch(&format!("/webhooks/{hook}"), &json!({"rotate_secret": true})).await.unwrap();
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    place(&w, &resident).await;
    assert_eq!(deliver(&app).await, 1);
    let last = receiver.got().pop().unwrap();
    assert!(verifies(&new, &last) && verifies(&old, &last), "both keys sign for 24 hours");
    assert_eq!(last.signature.split(' ').count(), 2);

    // Replay from the first event's cursor: the second again.
    let cursor = receiver.got()[0].json()["data"]["cursor"].as_str().unwrap().to_owned();
    let replayed: Value = w
        .admin
        .send(
            w.admin.request(reqwest::Method::POST, &format!("/webhooks/{hook}/replay")).json(&json!({"after": cursor})),
            202,
        )
        .await
        .unwrap();
    assert_eq!(replayed["delivered_cursor"], json!(cursor));
    assert_eq!(deliver(&app).await, 1);
    // From the start: both.
    let _: Value = w
        .admin
        .send(w.admin.request(reqwest::Method::POST, &format!("/webhooks/{hook}/replay")).json(&json!({})), 202)
        .await
        .unwrap();
    assert_eq!(deliver(&app).await, 2);
    let orders: Vec<Value> = receiver.got().iter().map(|r| r.json()["data"]["order_id"].clone()).collect();
    assert_eq!(orders.len(), 5);
    assert_eq!(orders[3], json!(first));
    let bad = w
        .admin
        .send::<Value>(
            w.admin
                .request(reqwest::Method::POST, &format!("/webhooks/{hook}/replay"))
                .json(&json!({"after": "nonsense"})),
            202,
        )
        .await
        .unwrap_err();
    assert_eq!(bad.status, 422);

    let deleted =
        w.admin.send::<Value>(w.admin.request(reqwest::Method::DELETE, &format!("/webhooks/{hook}")), 204).await;
    assert!(deleted.is_ok());
    assert_eq!(w.admin.get::<Value>(&format!("/webhooks/{hook}")).await.unwrap_err().status, 404);
}
