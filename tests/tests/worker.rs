//! The worker, with a moved clock instead of sleeps: offers expire, overdue orders escalate
//! once, completed orders confirm themselves, auto-dispatch walks down the candidate list to
//! an escalation; two instances on one database do each thing exactly once. One slow test
//! watches a real worker expire a one-minute offer on its own.

use std::sync::Arc;

use chrono::Duration;
use futures_util::future::join_all;
use serde_json::{Value, json};
use shenbian_tests::scene::{
    World, assert_replays, dispatch, partner, partner_with_terms, place, step, volunteer, world,
};
use shenbian_tests::shenbian::RunningServer;
use shenbian_tests::shenbian::worker::tick;
use shenbian_tests::{TestApp, TestClock};
use uuid::Uuid;

fn id(v: &Value) -> Uuid {
    v["id"].as_str().unwrap().parse().unwrap()
}

async fn events(app: &TestApp, w: &World, order: Uuid) -> Vec<String> {
    let (_, e) = app.call(app.get(&format!("/orders/{order}/events?limit=100"), Some(&w.admin.access_token))).await;
    e["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect()
}

async fn order_of(app: &TestApp, w: &World, order: Uuid) -> Value {
    app.call(app.get(&format!("/orders/{order}"), Some(&w.admin.access_token))).await.1
}

#[tokio::test]
async fn a_dispatch_without_a_window_gives_the_contracts_own_accept_window() {
    let clock = TestClock::new();
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let terms = json!({"pricing": "free", "max_open_jobs": 3, "accept_within_minutes": 47});
    let (_, partner_id, _) = partner_with_terms(&app, &w, terms).await;
    let order = id(&place(&app, &w, &resident).await);
    // No window of the dispatcher's.
    dispatch(&app, &w, order, &[partner_id]).await;

    clock.advance(Duration::minutes(46));
    assert_eq!(tick(&app.state).await.unwrap().expired, 0, "open for the contract's 47 minutes");
    clock.advance(Duration::minutes(2));
    assert_eq!(tick(&app.state).await.unwrap().expired, 1, "and no longer");
    assert_eq!(order_of(&app, &w, order).await["status"], "pending");
}

#[tokio::test]
async fn an_offer_past_its_window_expires_and_the_order_returns_to_pending() {
    let clock = TestClock::new();
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, _) = partner(&app, &w, 3, None).await;
    let order = id(&place(&app, &w, &resident).await);
    let body = json!({"provider_ids": [partner_id], "accept_within_minutes": 5});
    assert_eq!(
        app.call(app.post(&format!("/orders/{order}/dispatch"), Some(&w.dispatcher.access_token), &body)).await.0,
        200
    );

    clock.advance(Duration::minutes(4));
    assert_eq!(tick(&app.state).await.unwrap().expired, 0, "not yet");
    clock.advance(Duration::minutes(2));
    assert_eq!(tick(&app.state).await.unwrap().expired, 1);
    assert_eq!(order_of(&app, &w, order).await["status"], "pending");
    assert_eq!(events(&app, &w, order).await.last().map(String::as_str), Some("expired"));
    assert_eq!(step(&app, &member, order, "accept", None).await.0, 409);
    assert_eq!(tick(&app.state).await.unwrap().expired, 0, "once");
    assert_replays(&app, &w.admin, order).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn expiry_racing_an_accept_ends_in_one_legal_outcome() {
    let clock = TestClock::new();
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, contract) = partner(&app, &w, 20, None).await;
    for _ in 0..5 {
        let order = id(&place(&app, &w, &resident).await);
        let body = json!({"provider_ids": [partner_id], "accept_within_minutes": 1});
        app.call(app.post(&format!("/orders/{order}/dispatch"), Some(&w.dispatcher.access_token), &body)).await;
        clock.advance(Duration::seconds(60));
        let (worker, (accepted, _)) = tokio::join!(tick(&app.state), step(&app, &member, order, "accept", None));
        worker.unwrap();
        let status = order_of(&app, &w, order).await["status"].as_str().unwrap().to_owned();
        match accepted {
            200 => assert_eq!(status, "accepted"),
            409 => assert_eq!(status, "pending"),
            other => panic!("unexpected {other}"),
        }
        assert_replays(&app, &w.admin, order).await;
    }
    let (_, c) = app.call(app.get(&format!("/contracts/{contract}"), Some(&w.admin.access_token))).await;
    let (_, accepted) = app.call(app.get("/orders?status=accepted", Some(&w.admin.access_token))).await;
    assert_eq!(
        c["open_jobs"].as_u64().unwrap() as usize,
        accepted["items"].as_array().unwrap().len(),
        "capacity matches"
    );
}

#[tokio::test]
async fn overdue_orders_are_escalated_once_and_listed_as_overdue() {
    let clock = TestClock::new();
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let order = id(&place(&app, &w, &resident).await);
    // An urgent order is due to be dispatched within 60 minutes.
    clock.advance(Duration::minutes(61));
    let (_, overdue) = app.call(app.get("/orders?overdue=true", Some(&w.dispatcher.access_token))).await;
    assert_eq!(overdue["items"][0]["id"], order.to_string());
    assert_eq!(tick(&app.state).await.unwrap().escalated, 1);
    assert_eq!(tick(&app.state).await.unwrap().escalated, 0, "once");
    let seen = order_of(&app, &w, order).await;
    assert_eq!(seen["escalation_level"], 1);
    assert_eq!(seen["status"], "pending");
    // The escalation changed the order: its version moved, so a step that read it before
    // finds it changed instead of answering the order without its escalation.
    assert_eq!(seen["version"], 2);
    assert_eq!(events(&app, &w, order).await, ["created", "escalated"]);
    assert_replays(&app, &w.admin, order).await;
}

#[tokio::test]
async fn a_completed_job_left_alone_is_confirmed_and_its_hours_count() {
    let clock = TestClock::new();
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (person, volunteer_id) = volunteer(&app, &w).await;
    let order = id(&place(&app, &w, &resident).await);
    dispatch(&app, &w, order, &[volunteer_id]).await;
    step(&app, &person, order, "accept", None).await;
    step(&app, &person, order, "start", None).await;
    step(&app, &person, order, "complete", Some(json!({"summary": "送餐到家", "minutes": 25}))).await;
    clock.advance(Duration::hours(71));
    assert_eq!(tick(&app.state).await.unwrap().confirmed, 0);
    clock.advance(Duration::hours(2));
    assert_eq!(tick(&app.state).await.unwrap().confirmed, 1);
    assert_eq!(order_of(&app, &w, order).await["status"], "closed");
    let (_, hours) = app.call(app.get(&format!("/volunteers/{volunteer_id}/hours"), Some(&person.access_token))).await;
    assert_eq!(hours["total_minutes"], 25);
    assert_replays(&app, &w.admin, order).await;
}

#[tokio::test]
async fn auto_dispatch_walks_down_the_candidates_then_escalates() {
    let clock = TestClock::new();
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let w = world(&app).await;
    let settings = json!({"settings": {"auto_dispatch": true}});
    assert_eq!(
        app.call(app.patch(&format!("/communities/{}", w.community), Some(&w.admin.access_token), &settings)).await.0,
        200
    );
    let mut providers = Vec::new();
    for _ in 0..4 {
        providers.push(partner(&app, &w, 3, None).await);
    }
    let resident = app.resident().await;
    let order = id(&place(&app, &w, &resident).await);

    // Offered at once to the best candidate, which is first on the dispatcher's list.
    let (_, candidates) =
        app.call(app.get(&format!("/orders/{order}/candidates"), Some(&w.dispatcher.access_token))).await;
    assert_eq!(candidates["items"].as_array().unwrap().len(), 4);
    assert!(candidates["items"][0]["reasons"][0]["text"].as_str().unwrap().contains("评分"));
    let mut declined = Vec::new();
    for round in 0..3 {
        let seen = order_of(&app, &w, order).await;
        assert_eq!(seen["status"], "offered", "round {round}");
        // Whoever holds the open offer declines it.
        let mut holder = None;
        for (m, p, _) in &providers {
            let (_, jobs) = app.call(app.get("/jobs", Some(&m.access_token))).await;
            if jobs["items"].as_array().unwrap().iter().any(|j| j["order"]["id"] == order.to_string()) {
                holder = Some((m.clone(), *p));
            }
        }
        let (m, p) = holder.expect("someone holds the offer");
        assert!(!declined.contains(&p), "never offered again to one that declined");
        assert_eq!(step(&app, &m, order, "decline", Some(json!({"reason": "排满了"}))).await.0, 200);
        declined.push(p);
        tick(&app.state).await.unwrap();
    }
    // Three failures: escalated to the dispatchers, no more automatic offers.
    let seen = order_of(&app, &w, order).await;
    assert_eq!(seen["status"], "pending");
    assert_eq!(seen["escalation_level"], 1);
    assert_eq!(events(&app, &w, order).await.last().map(String::as_str), Some("escalated"));
    tick(&app.state).await.unwrap();
    assert_eq!(order_of(&app, &w, order).await["status"], "pending");
    assert_replays(&app, &w.admin, order).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_one_database_do_each_thing_exactly_once() {
    let clock = TestClock::new();
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let second =
        RunningServer::start_with(app.state.settings.clone(), clock.clone(), axum::Router::new()).await.unwrap();
    second.state.wait_ready().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (_, partner_id, _) = partner(&app, &w, 50, None).await;
    let mut orders = Vec::new();
    for _ in 0..8 {
        let order = id(&place(&app, &w, &resident).await);
        dispatch(&app, &w, order, &[partner_id]).await;
        orders.push(order);
    }
    clock.advance(Duration::hours(3));
    let results = join_all([tick(&app.state), tick(&second.state), tick(&app.state), tick(&second.state)]).await;
    let expired: u32 = results.iter().map(|r| r.as_ref().unwrap().expired).sum();
    let escalated: u32 = results.iter().map(|r| r.as_ref().unwrap().escalated).sum();
    assert_eq!(expired, 8, "each offer expired once");
    assert_eq!(escalated, 8, "each order escalated once");
    for order in &orders {
        let actions = events(&app, &w, *order).await;
        assert_eq!(actions.iter().filter(|a| *a == "expired").count(), 1);
        assert_eq!(actions.iter().filter(|a| *a == "escalated").count(), 1);
        assert_replays(&app, &w.admin, *order).await;
    }
    second.shutdown().await;
}

#[tokio::test]
#[ignore = "slow: waits a real minute for the real worker (run by .ci/run with --ignored)"]
async fn a_one_minute_offer_expires_on_its_own_with_a_one_second_worker() {
    let app = TestApp::spawn_full(
        |s| {
            s.worker = true;
            s.worker_interval_secs = 1;
        },
        Arc::new(shenbian_tests::shenbian::state::SystemClock),
        axum::Router::new(),
    )
    .await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (_, partner_id, _) = partner(&app, &w, 3, None).await;
    let order = id(&place(&app, &w, &resident).await);
    let body = json!({"provider_ids": [partner_id], "accept_within_minutes": 1});
    app.call(app.post(&format!("/orders/{order}/dispatch"), Some(&w.dispatcher.access_token), &body)).await;
    let started = std::time::Instant::now();
    loop {
        if order_of(&app, &w, order).await["status"] == "pending" {
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(90), "the offer should have expired by now");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert!(started.elapsed() >= std::time::Duration::from_secs(55), "not before its window");
    assert_eq!(events(&app, &w, order).await.last().map(String::as_str), Some("expired"));
}
