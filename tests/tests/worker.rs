//! The worker, with a moved clock instead of sleeps: offers expire, overdue orders escalate
//! once, completed orders confirm themselves, auto-dispatch walks down the candidate list to
//! an escalation; two instances on one database do each thing exactly once. One slow test
//! watches a real worker expire a one-minute offer on its own.

use std::sync::Arc;

use chrono::Duration;
use futures_util::future::join_all;
use serde_json::{Value, json};
use shenbian_tests::scene::{World, assert_replays, partner, partner_with_terms, place, volunteer, world};
use shenbian_tests::shenbian::RunningServer;
use shenbian_tests::shenbian::orders::view::OrderView;
use shenbian_tests::shenbian::worker::tick;
use shenbian_tests::{Status, TestApp, TestClock, actions};
use uuid::Uuid;

async fn events(w: &World, order: Uuid) -> Vec<String> {
    actions(&w.admin.events(order).await.unwrap())
}

async fn order_of(w: &World, order: Uuid) -> OrderView {
    w.admin.get_order(order).await.unwrap()
}

#[tokio::test]
async fn a_dispatch_without_a_window_gives_the_contracts_own_accept_window() {
    let clock = TestClock::new();
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let terms = json!({"pricing": "free", "max_open_jobs": 3, "accept_within_minutes": 47});
    let (_, partner_id, _) = partner_with_terms(&app, &w, terms).await;
    let order = place(&w, &resident).await.id;
    // No window of the dispatcher's.
    w.dispatcher.dispatch(order, &[partner_id]).await.unwrap();

    clock.advance(Duration::minutes(46));
    assert_eq!(tick(&app.state).await.unwrap().expired, 0, "open for the contract's 47 minutes");
    clock.advance(Duration::minutes(2));
    assert_eq!(tick(&app.state).await.unwrap().expired, 1, "and no longer");
    assert_eq!(order_of(&w, order).await.status, Status::Pending);
}

#[tokio::test]
async fn an_offer_past_its_window_expires_and_the_order_returns_to_pending() {
    let clock = TestClock::new();
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, _) = partner(&app, &w, 3, None).await;
    let order = place(&w, &resident).await.id;
    w.dispatcher.dispatch_within(order, &[partner_id], 5).await.unwrap();

    clock.advance(Duration::minutes(4));
    assert_eq!(tick(&app.state).await.unwrap().expired, 0, "not yet");
    clock.advance(Duration::minutes(2));
    assert_eq!(tick(&app.state).await.unwrap().expired, 1);
    assert_eq!(order_of(&w, order).await.status, Status::Pending);
    assert_eq!(events(&w, order).await.last().map(String::as_str), Some("expired"));
    assert_eq!(member.accept(order).await.unwrap_err().status, 409);
    assert_eq!(tick(&app.state).await.unwrap().expired, 0, "once");
    assert_replays(&w.admin, order).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn expiry_racing_an_accept_ends_in_one_legal_outcome() {
    let clock = TestClock::new();
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, contract) = partner(&app, &w, 20, None).await;
    for _ in 0..5 {
        let order = place(&w, &resident).await.id;
        w.dispatcher.dispatch_within(order, &[partner_id], 1).await.unwrap();
        clock.advance(Duration::seconds(60));
        let (worker, accepted) = tokio::join!(tick(&app.state), member.accept(order));
        worker.unwrap();
        let status = order_of(&w, order).await.status;
        match accepted {
            Ok(_) => assert_eq!(status, Status::Accepted),
            Err(refused) if refused.status == 409 => assert_eq!(status, Status::Pending),
            Err(other) => panic!("unexpected {other:?}"),
        }
        assert_replays(&w.admin, order).await;
    }
    let open_jobs = w.admin.contract(contract).await.unwrap().open_jobs;
    let accepted = w.admin.list_orders("status=accepted").await.unwrap();
    assert_eq!(open_jobs as usize, accepted.items.len(), "capacity matches");
}

#[tokio::test]
async fn overdue_orders_are_escalated_once_and_listed_as_overdue() {
    let clock = TestClock::new();
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let order = place(&w, &resident).await.id;
    // An urgent order is due to be dispatched within 60 minutes.
    clock.advance(Duration::minutes(61));
    let overdue = w.dispatcher.list_orders("overdue=true").await.unwrap();
    assert_eq!(overdue.items[0].id, order);
    assert_eq!(tick(&app.state).await.unwrap().escalated, 1);
    assert_eq!(tick(&app.state).await.unwrap().escalated, 0, "once");
    let seen = order_of(&w, order).await;
    assert_eq!(seen.escalation_level, 1);
    assert_eq!(seen.status, Status::Pending);
    // The escalation changed the order: its version moved, so a step that read it before
    // finds it changed instead of answering the order without its escalation.
    assert_eq!(seen.version, 2);
    assert_eq!(events(&w, order).await, ["created", "escalated"]);
    assert_replays(&w.admin, order).await;
}

#[tokio::test]
async fn a_completed_job_left_alone_is_confirmed_and_its_hours_count() {
    let clock = TestClock::new();
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (person, volunteer_id) = volunteer(&app, &w).await;
    let order = place(&w, &resident).await.id;
    w.dispatcher.dispatch(order, &[volunteer_id]).await.unwrap();
    person.accept(order).await.unwrap();
    person.start(order).await.unwrap();
    w.started_ago(order, 120).await;
    person.complete(order, "送餐到家", Some(25)).await.unwrap();
    clock.advance(Duration::hours(71));
    assert_eq!(tick(&app.state).await.unwrap().confirmed, 0);
    clock.advance(Duration::hours(2));
    assert_eq!(tick(&app.state).await.unwrap().confirmed, 1);
    assert_eq!(order_of(&w, order).await.status, Status::Closed);
    assert_eq!(person.hours(volunteer_id).await.unwrap().total_minutes, 25);
    assert_replays(&w.admin, order).await;
}

#[tokio::test]
async fn auto_dispatch_walks_down_the_candidates_then_escalates() {
    let clock = TestClock::new();
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let w = world(&app).await;
    let settings = json!({"settings": {"auto_dispatch": true}});
    let _: Value = w.admin.patch(&format!("/communities/{}", w.community), &settings).await.unwrap();
    let mut providers = Vec::new();
    for _ in 0..4 {
        providers.push(partner(&app, &w, 3, None).await);
    }
    let resident = app.resident().await;
    let order = place(&w, &resident).await.id;

    // Offered at once to the best candidate, which is first on the dispatcher's list.
    let candidates = w.dispatcher.candidates(order).await.unwrap();
    assert_eq!(candidates.items.len(), 4);
    assert!(candidates.items[0].reasons[0].text.contains("评分"));
    let mut declined = Vec::new();
    for round in 0..3 {
        assert_eq!(order_of(&w, order).await.status, Status::Offered, "round {round}");
        // Whoever holds the open offer declines it.
        let mut holder = None;
        for (m, p, _) in &providers {
            if m.jobs().await.unwrap().items.iter().any(|j| j.order.id == order) {
                holder = Some((m.clone(), *p));
            }
        }
        let (m, p) = holder.expect("someone holds the offer");
        assert!(!declined.contains(&p), "never offered again to one that declined");
        m.decline(order, "排满了").await.unwrap();
        declined.push(p);
        tick(&app.state).await.unwrap();
    }
    // Three failures: escalated to the dispatchers, no more automatic offers.
    let seen = order_of(&w, order).await;
    assert_eq!(seen.status, Status::Pending);
    assert_eq!(seen.escalation_level, 1);
    assert_eq!(events(&w, order).await.last().map(String::as_str), Some("escalated"));
    tick(&app.state).await.unwrap();
    assert_eq!(order_of(&w, order).await.status, Status::Pending);
    assert_replays(&w.admin, order).await;
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
        let order = place(&w, &resident).await.id;
        w.dispatcher.dispatch(order, &[partner_id]).await.unwrap();
        orders.push(order);
    }
    clock.advance(Duration::hours(3));
    let results = join_all([tick(&app.state), tick(&second.state), tick(&app.state), tick(&second.state)]).await;
    let expired: u32 = results.iter().map(|r| r.as_ref().unwrap().expired).sum();
    let escalated: u32 = results.iter().map(|r| r.as_ref().unwrap().escalated).sum();
    assert_eq!(expired, 8, "each offer expired once");
    assert_eq!(escalated, 8, "each order escalated once");
    for order in &orders {
        let actions = events(&w, *order).await;
        assert_eq!(actions.iter().filter(|a| *a == "expired").count(), 1);
        assert_eq!(actions.iter().filter(|a| *a == "escalated").count(), 1);
        assert_replays(&w.admin, *order).await;
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
    let order = place(&w, &resident).await.id;
    w.dispatcher.dispatch_within(order, &[partner_id], 1).await.unwrap();
    let started = std::time::Instant::now();
    loop {
        if order_of(&w, order).await.status == Status::Pending {
            break;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(90), "the offer should have expired by now");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    assert!(started.elapsed() >= std::time::Duration::from_secs(55), "not before its window");
    assert_eq!(events(&w, order).await.last().map(String::as_str), Some("expired"));
}
