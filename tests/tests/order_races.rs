//! Races with real concurrent requests: one winner and 409s for the rest, never a 5xx, and
//! capacity never exceeded. Every order's log replays to its state afterwards.

use futures_util::future::join_all;
use serde_json::json;
use shenbian_tests::scene::{assert_replays, order_body, partner, place, volunteer, world};
use shenbian_tests::{Status, TestApp, actions, json_of, outcomes};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_twenty_providers_accepting_one_broadcast_exactly_one_wins() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let mut members = Vec::new();
    let mut partners = Vec::new();
    for _ in 0..20 {
        let (member, partner_id, _) = partner(&app, &w, 2, None).await;
        members.push(member);
        partners.push(partner_id);
    }
    let order = place(&w, &resident).await.id;
    w.dispatcher.dispatch(order, &partners).await.unwrap();

    let answers = join_all(members.iter().map(|m| m.accept(order))).await;
    let (won, refused) = outcomes(&answers);
    assert_eq!(won, 1, "{refused:?}");
    assert_eq!(refused, [409; 19]);
    let winner = answers.iter().find_map(|a| a.as_ref().ok()).and_then(|o| o.provider.as_ref()).unwrap().id;
    let stored = w.admin.get_order(order).await.unwrap();
    assert_eq!(stored.status, Status::Accepted);
    assert_eq!(stored.provider.map(|p| p.id), Some(winner));
    assert_replays(&w.admin, order).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_declines_of_a_twenty_way_broadcast_all_succeed_and_the_order_ends_pending() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let mut people = Vec::new();
    let mut volunteers = Vec::new();
    for _ in 0..20 {
        let (person, volunteer_id) = volunteer(&app, &w).await;
        people.push(person);
        volunteers.push(volunteer_id);
    }
    let order = place(&w, &resident).await.id;
    w.dispatcher.dispatch(order, &volunteers).await.unwrap();
    let answers = join_all(people.iter().map(|p| p.decline(order, "没空"))).await;
    for answer in &answers {
        assert!(answer.is_ok(), "{answer:?}");
    }
    assert_eq!(w.admin.get_order(order).await.unwrap().status, Status::Pending);
    assert_replays(&w.admin, order).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn accept_racing_cancel_or_withdraw_ends_in_one_legal_outcome() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, contract) = partner(&app, &w, 20, None).await;
    for round in 0..6 {
        let order = place(&w, &resident).await.id;
        w.dispatcher.dispatch(order, &[partner_id]).await.unwrap();
        let cancel = round % 2 == 0;
        let stop = async {
            match cancel {
                true => resident.cancel(order, "居民改约").await,
                false => w.dispatcher.withdraw(order, "居民改约").await,
            }
        };
        let (accepted, stopped) = tokio::join!(member.accept(order), stop);
        let status = w.admin.get_order(order).await.unwrap().status;
        let stopped_to = if cancel { Status::Cancelled } else { Status::Pending };
        match (&accepted, &stopped) {
            (Ok(_), Err(p)) if p.status == 409 => assert_eq!(status, Status::Accepted),
            (Err(p), Ok(_)) if p.status == 409 => assert_eq!(status, stopped_to),
            // A resident may cancel an accepted job: both can succeed, one after the other.
            (Ok(_), Ok(_)) if cancel => assert_eq!(status, Status::Cancelled),
            other => panic!("round {round}: unexpected {other:?}"),
        }
        assert_replays(&w.admin, order).await;
        if status == Status::Accepted {
            w.dispatcher.cancel(order, "测试结束").await.unwrap();
        }
    }
    let open_jobs = w.admin.contract(contract).await.unwrap().open_jobs;
    assert_eq!(open_jobs, 0, "every unit of capacity taken was given back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn capacity_is_never_exceeded_when_offers_to_one_provider_are_accepted_at_once() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, contract) = partner(&app, &w, 2, None).await;
    let mut orders = Vec::new();
    for _ in 0..6 {
        let order = place(&w, &resident).await.id;
        w.dispatcher.dispatch(order, &[partner_id]).await.unwrap();
        orders.push(order);
    }
    let answers = join_all(orders.iter().map(|o| member.accept(*o))).await;
    let (won, refused) = outcomes(&answers);
    assert_eq!(won, 2, "{answers:?}");
    assert_eq!(refused, [409; 4]);
    for problem in answers.iter().filter_map(|a| a.as_ref().err()) {
        assert_eq!(problem.code, "capacity_full", "{problem:?}");
    }
    assert_eq!(w.admin.contract(contract).await.unwrap().open_jobs, 2);
    for order in orders {
        assert_replays(&w.admin, order).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_monthly_quota_stops_accepts_when_used_up() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, _) = partner(&app, &w, 10, Some(1)).await;
    let first = place(&w, &resident).await.id;
    let second = place(&w, &resident).await.id;
    w.dispatcher.dispatch(first, &[partner_id]).await.unwrap();
    w.dispatcher.dispatch(second, &[partner_id]).await.unwrap();
    member.accept(first).await.unwrap();
    let refused = member.accept(second).await.unwrap_err();
    assert_eq!(refused.status, 409);
    assert_eq!(refused.code, "quota_exhausted");
    // And the partner is no longer offered jobs this month.
    let third = place(&w, &resident).await.id;
    let problem = w.dispatcher.dispatch(third, &[partner_id]).await.unwrap_err();
    assert_eq!(problem.status, 422);
    assert_eq!(problem.ineligible[0].reasons[0].code, "quota_exhausted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_retries_with_one_idempotency_key_make_one_order() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let body = order_body(&w);
    let key = "order-2026-11-27-001";
    let answers = join_all((0..20).map(|_| resident.create_order_once(&body, key))).await;
    let bodies: Vec<_> = answers.into_iter().map(|a| json_of(&a.unwrap())).collect();
    assert!(bodies.iter().all(|b| *b == bodies[0]), "every retry gets the first answer");
    assert_eq!(resident.list_orders("").await.unwrap().items.len(), 1, "one order");

    let mut other = body.clone();
    other["title"] = json!("另一件事");
    let problem = resident.create_order_once(&other, key).await.unwrap_err();
    assert_eq!(problem.status, 422);
    assert_eq!(problem.errors[0].field, "Idempotency-Key");
    // Keys are per user: another resident's same key is a new order.
    let someone = app.resident().await;
    someone.create_order_once(&body, key).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn suspending_a_partner_closes_its_open_offers_and_returns_lone_orders_to_pending() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, _) = partner(&app, &w, 5, None).await;
    let (_, other_partner, _) = partner(&app, &w, 5, None).await;
    let lone = place(&w, &resident).await.id;
    let shared = place(&w, &resident).await.id;
    w.dispatcher.dispatch(lone, &[partner_id]).await.unwrap();
    w.dispatcher.dispatch(shared, &[partner_id, other_partner]).await.unwrap();
    w.admin.suspend_partner(partner_id, "资质复核").await.unwrap();
    assert_eq!(w.admin.get_order(lone).await.unwrap().status, Status::Pending);
    let status = w.admin.get_order(shared).await.unwrap().status;
    assert_eq!(status, Status::Offered, "still offered to the other partner");
    assert_eq!(member.accept(shared).await.unwrap_err().status, 409);
    for order in [lone, shared] {
        assert_replays(&w.admin, order).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn accept_start_complete_confirm_and_rating_sent_ten_times_at_once_each_win_once() {
    // These steps write first and read only when their write matched nothing: the race is
    // decided by the write itself.
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, contract) = partner(&app, &w, 5, None).await;
    // Another job holds one unit of the contract's capacity throughout.
    let other = place(&w, &resident).await.id;
    w.dispatcher.dispatch(other, &[partner_id]).await.unwrap();
    member.accept(other).await.unwrap();
    let order = place(&w, &resident).await.id;
    w.dispatcher.dispatch(order, &[partner_id]).await.unwrap();
    let summary = json!({"summary": "换好了灯泡"});
    for (actor, action, body, to) in [
        (&member, "accept", None, Status::Accepted),
        (&member, "start", None, Status::InProgress),
        (&member, "complete", Some(&summary), Status::Completed),
        (&resident, "confirm", None, Status::Closed),
    ] {
        let answers = join_all((0..10).map(|_| actor.step(order, action, body))).await;
        let (won, refused) = outcomes(&answers);
        assert_eq!(won, 1, "{action}: {refused:?}");
        assert_eq!(refused, [409; 9], "{action}");
        assert_eq!(w.admin.get_order(order).await.unwrap().status, to, "{action}");
    }
    let answers = join_all((0..10).map(|_| resident.rate(order, 5))).await;
    let (won, refused) = outcomes(&answers);
    assert_eq!(won, 1, "rating: {refused:?}");
    assert_eq!(refused, [409; 9], "rating");
    let events = w.admin.events(order).await.unwrap();
    assert_eq!(actions(&events), ["created", "dispatched", "accepted", "started", "completed", "confirmed", "rated"]);
    assert_replays(&w.admin, order).await;
    let open_jobs = w.admin.contract(contract).await.unwrap().open_jobs;
    assert_eq!(open_jobs, 1, "the job's capacity was taken and given back once, the other job's kept");
}
