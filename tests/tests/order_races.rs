//! Races with real concurrent requests: one winner and 409s for the rest, never a 5xx, and
//! capacity never exceeded. Every order's log replays to its state afterwards.

use futures_util::future::join_all;
use serde_json::{Value, json};
use shenbian_tests::TestApp;
use shenbian_tests::scene::{assert_replays, dispatch, order_body, partner, place, step, volunteer, world};
use uuid::Uuid;

fn id(v: &Value) -> Uuid {
    v["id"].as_str().unwrap().parse().unwrap()
}

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
    let order_id = id(&place(&app, &w, &resident).await);
    dispatch(&app, &w, order_id, &partners).await;

    let answers = join_all(members.iter().map(|m| step(&app, m, order_id, "accept", None))).await;
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 19, "{statuses:?}");
    let winner = answers.iter().find(|(s, _)| *s == 200).map(|(_, b)| b["provider"]["id"].clone()).unwrap();
    let (_, order) = app.call(app.get(&format!("/orders/{order_id}"), Some(&w.admin.access_token))).await;
    assert_eq!(order["status"], "accepted");
    assert_eq!(order["provider"]["id"], winner);
    assert_replays(&app, &w.admin, order_id).await;
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
    let order_id = id(&place(&app, &w, &resident).await);
    dispatch(&app, &w, order_id, &volunteers).await;
    let answers =
        join_all(people.iter().map(|p| step(&app, p, order_id, "decline", Some(json!({"reason": "没空"}))))).await;
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
    }
    let (_, order) = app.call(app.get(&format!("/orders/{order_id}"), Some(&w.admin.access_token))).await;
    assert_eq!(order["status"], "pending");
    assert_replays(&app, &w.admin, order_id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn accept_racing_cancel_or_withdraw_ends_in_one_legal_outcome() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, contract) = partner(&app, &w, 20, None).await;
    for round in 0..6 {
        let order_id = id(&place(&app, &w, &resident).await);
        dispatch(&app, &w, order_id, &[partner_id]).await;
        let (other, other_actor, action) =
            if round % 2 == 0 { ("cancel", &resident, "cancelled") } else { ("withdraw", &w.dispatcher, "pending") };
        let reason = Some(json!({"reason": "居民改约"}));
        let ((accepted, _), (stopped, _)) = tokio::join!(
            step(&app, &member, order_id, "accept", None),
            step(&app, other_actor, order_id, other, reason)
        );
        let (_, order) = app.call(app.get(&format!("/orders/{order_id}"), Some(&w.admin.access_token))).await;
        match (accepted, stopped) {
            (200, 409) => assert_eq!(order["status"], "accepted"),
            (409, 200) => assert_eq!(order["status"], action),
            // A resident may cancel an accepted job: both can succeed, one after the other.
            (200, 200) if other == "cancel" => assert_eq!(order["status"], "cancelled"),
            other => panic!("round {round}: unexpected {other:?}"),
        }
        assert_replays(&app, &w.admin, order_id).await;
        if order["status"] == "accepted" {
            step(&app, &w.dispatcher, order_id, "cancel", Some(json!({"reason": "测试结束"}))).await;
        }
    }
    let (_, c) = app.call(app.get(&format!("/contracts/{contract}"), Some(&w.admin.access_token))).await;
    assert_eq!(c["open_jobs"], 0, "every unit of capacity taken was given back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn capacity_is_never_exceeded_when_offers_to_one_provider_are_accepted_at_once() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, contract) = partner(&app, &w, 2, None).await;
    let mut orders = Vec::new();
    for _ in 0..6 {
        let order_id = id(&place(&app, &w, &resident).await);
        dispatch(&app, &w, order_id, &[partner_id]).await;
        orders.push(order_id);
    }
    let answers = join_all(orders.iter().map(|o| step(&app, &member, *o, "accept", None))).await;
    let won = answers.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(won, 2, "{answers:?}");
    for (status, body) in &answers {
        assert!(*status == 200 || (*status == 409 && body["code"] == "capacity_full"), "{status} {body}");
    }
    let (_, c) = app.call(app.get(&format!("/contracts/{contract}"), Some(&w.admin.access_token))).await;
    assert_eq!(c["open_jobs"], 2);
    for order_id in orders {
        assert_replays(&app, &w.admin, order_id).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_monthly_quota_stops_accepts_when_used_up() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, _) = partner(&app, &w, 10, Some(1)).await;
    let first = id(&place(&app, &w, &resident).await);
    let second = id(&place(&app, &w, &resident).await);
    dispatch(&app, &w, first, &[partner_id]).await;
    dispatch(&app, &w, second, &[partner_id]).await;
    assert_eq!(step(&app, &member, first, "accept", None).await.0, 200);
    let (status, body) = step(&app, &member, second, "accept", None).await;
    assert_eq!(status, 409);
    assert_eq!(body["code"], "quota_exhausted");
    // And the partner is no longer offered jobs this month.
    let third = id(&place(&app, &w, &resident).await);
    let (status, problem) = app
        .call(app.post(
            &format!("/orders/{third}/dispatch"),
            Some(&w.dispatcher.access_token),
            &json!({"provider_ids": [partner_id]}),
        ))
        .await;
    assert_eq!(status, 422);
    assert_eq!(problem["ineligible"][0]["reasons"][0]["code"], "quota_exhausted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_retries_with_one_idempotency_key_make_one_order() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let body = order_body(&w);
    let send = || {
        app.post("/orders", Some(&resident.access_token), &body)
            .header("idempotency-key", "order-2026-11-27-001")
            .send()
    };
    let answers = join_all((0..20).map(|_| send())).await;
    let mut bodies = Vec::new();
    for answer in answers {
        let answer = answer.unwrap();
        assert_eq!(answer.status(), 201);
        bodies.push(answer.json::<Value>().await.unwrap());
    }
    assert!(bodies.iter().all(|b| *b == bodies[0]), "every retry gets the first answer");
    let (_, mine) = app.call(app.get("/orders", Some(&resident.access_token))).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1, "one order");

    let mut other = body.clone();
    other["title"] = json!("另一件事");
    let (status, problem) = app
        .call(
            app.post("/orders", Some(&resident.access_token), &other).header("idempotency-key", "order-2026-11-27-001"),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "Idempotency-Key");
    // Keys are per user: another resident's same key is a new order.
    let someone = app.resident().await;
    let (status, _) = app
        .call(app.post("/orders", Some(&someone.access_token), &body).header("idempotency-key", "order-2026-11-27-001"))
        .await;
    assert_eq!(status, 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn suspending_a_partner_closes_its_open_offers_and_returns_lone_orders_to_pending() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, _) = partner(&app, &w, 5, None).await;
    let (_, other_partner, _) = partner(&app, &w, 5, None).await;
    let lone = id(&place(&app, &w, &resident).await);
    let shared = id(&place(&app, &w, &resident).await);
    dispatch(&app, &w, lone, &[partner_id]).await;
    dispatch(&app, &w, shared, &[partner_id, other_partner]).await;
    let (status, _) = app
        .call(app.post(
            &format!("/partners/{partner_id}/suspend"),
            Some(&w.admin.access_token),
            &json!({"reason": "资质复核"}),
        ))
        .await;
    assert_eq!(status, 200);
    let (_, o) = app.call(app.get(&format!("/orders/{lone}"), Some(&w.admin.access_token))).await;
    assert_eq!(o["status"], "pending");
    let (_, o) = app.call(app.get(&format!("/orders/{shared}"), Some(&w.admin.access_token))).await;
    assert_eq!(o["status"], "offered", "still offered to the other partner");
    assert_eq!(step(&app, &member, shared, "accept", None).await.0, 409);
    for order in [lone, shared] {
        assert_replays(&app, &w.admin, order).await;
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
    let other = id(&place(&app, &w, &resident).await);
    dispatch(&app, &w, other, &[partner_id]).await;
    assert_eq!(step(&app, &member, other, "accept", None).await.0, 200);
    let order_id = id(&place(&app, &w, &resident).await);
    dispatch(&app, &w, order_id, &[partner_id]).await;
    let summary = Some(json!({"summary": "换好了灯泡"}));
    for (actor, action, body, to) in [
        (&member, "accept", None, "accepted"),
        (&member, "start", None, "in_progress"),
        (&member, "complete", summary, "completed"),
        (&resident, "confirm", None, "closed"),
    ] {
        let answers = join_all((0..10).map(|_| step(&app, actor, order_id, action, body.clone()))).await;
        let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{action}: {statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 9, "{action}: {statuses:?}");
        let (_, order) = app.call(app.get(&format!("/orders/{order_id}"), Some(&w.admin.access_token))).await;
        assert_eq!(order["status"], to, "{action}");
    }
    let rating = Some(json!({"stars": 5}));
    let answers = join_all((0..10).map(|_| step(&app, &resident, order_id, "rating", rating.clone()))).await;
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "rating: {statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 9, "rating: {statuses:?}");
    let (_, events) = app.call(app.get(&format!("/orders/{order_id}/events"), Some(&w.admin.access_token))).await;
    let actions: Vec<&str> =
        events["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["created", "dispatched", "accepted", "started", "completed", "confirmed", "rated"]);
    assert_replays(&app, &w.admin, order_id).await;
    let (_, c) = app.call(app.get(&format!("/contracts/{contract}"), Some(&w.admin.access_token))).await;
    assert_eq!(c["open_jobs"], 1, "the job's capacity was taken and given back once, the other job's kept");
}
