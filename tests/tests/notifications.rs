//! The inbox (`/me/notifications`): each person hears of what concerns them — the resident
//! of her order's progress, the partner of its offers, the dispatchers of disputes and
//! escalations — in zh-CN or English, with an unread count; the clock adds reminders, once.

use chrono::Duration;
use reqwest::Method;
use serde_json::{Value, json};
use shenbian_tests::scene::{partner, place, volunteer, world};
use shenbian_tests::shenbian::worker::tick;
use shenbian_tests::{Actor, TestApp, TestClock, outcomes};
use uuid::Uuid;

async fn inbox(who: &Actor, query: &str) -> Value {
    who.get(&format!("/me/notifications{query}")).await.expect("the inbox")
}

fn kinds(page: &Value) -> Vec<&str> {
    page["items"].as_array().unwrap().iter().map(|n| n["kind"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn each_person_hears_what_concerns_them_in_their_language() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let (resident, stranger) = (app.resident().await, app.resident().await);
    let (member, partner_id, _) = partner(&app, &w, 3, None).await;
    let order = place(&w, &resident).await;
    w.dispatcher.dispatch_within(order.id, &[partner_id], 30).await.unwrap();

    // The partner hears of the offer, with its number and its accept-by time.
    let theirs = inbox(&member, "").await;
    assert_eq!(kinds(&theirs), ["order.dispatched"]);
    assert_eq!(theirs["unread"], 1);
    let offer = &theirs["items"][0];
    let number = order.number.clone().expect("a number");
    assert_eq!(offer["order_id"], json!(order.id));
    assert_eq!(offer["order_number"], json!(number));
    let text = offer["text"].as_str().unwrap();
    assert!(text.contains(&number) && text.contains("前接单"), "{text}");
    // The resident placed the order herself and was not told of the offer.
    assert_eq!(kinds(&inbox(&resident, "").await), Vec::<&str>::new());

    member.accept(order.id).await.unwrap();
    member.start(order.id).await.unwrap();
    w.started_ago(order.id, 60).await;
    member.complete(order.id, "换了水管", Some(45)).await.unwrap();
    let hers = inbox(&resident, "").await;
    assert_eq!(kinds(&hers), ["order.completed", "order.started", "order.accepted"], "newest first");
    assert_eq!(hers["unread"], 3);
    assert!(hers["items"][0]["text"].as_str().unwrap().contains("请确认"));
    let english: Value = resident
        .send(resident.request(Method::GET, "/me/notifications").header("accept-language", "en"), 200)
        .await
        .unwrap();
    assert!(english["items"][2]["text"].as_str().unwrap().contains("was accepted"), "{english}");
    // Nobody else's inbox got them; the dispatcher is told only what needs her.
    assert_eq!(kinds(&inbox(&stranger, "").await), Vec::<&str>::new());
    assert_eq!(kinds(&inbox(&w.dispatcher, "").await), Vec::<&str>::new());

    // A dispute: the partner and the community's dispatcher hear of it.
    resident.dispute(order.id, "水管还在漏").await.unwrap();
    assert_eq!(kinds(&inbox(&w.dispatcher, "").await), ["order.disputed"]);
    assert_eq!(kinds(&inbox(&member, "").await), ["order.disputed", "order.dispatched"]);

    // Marking read: one, then all; a stranger's id changes nothing.
    let first = hers["items"][2]["id"].as_i64().unwrap();
    let left: Value = resident.post("/me/notifications/read", &json!({"ids": [first]})).await.unwrap();
    assert_eq!(left["unread"], 2);
    let theirs_id = inbox(&member, "").await["items"][0]["id"].as_i64().unwrap();
    let left: Value = resident.post("/me/notifications/read", &json!({"ids": [theirs_id]})).await.unwrap();
    assert_eq!(left["unread"], 2);
    assert_eq!(inbox(&member, "").await["unread"], 2, "the partner's notice stays unread");
    let unread = inbox(&resident, "?unread=true").await;
    assert_eq!(kinds(&unread), ["order.completed", "order.started"]);
    let left: Value = resident.post("/me/notifications/read", &json!({"all": true})).await.unwrap();
    assert_eq!(left["unread"], 0);
    assert_eq!(kinds(&inbox(&resident, "?unread=true").await), Vec::<&str>::new());
    assert_eq!(inbox(&resident, "").await["items"][0]["read"], true);

    // Paging, newest first.
    let page = inbox(&resident, "?limit=2").await;
    assert_eq!(kinds(&page), ["order.completed", "order.started"]);
    let cursor = page["next_cursor"].as_str().unwrap();
    assert_eq!(kinds(&inbox(&resident, &format!("?limit=2&cursor={cursor}")).await), ["order.accepted"]);

    // Bad requests change nothing.
    assert_eq!(resident.post::<Value>("/me/notifications/read", &json!({})).await.unwrap_err().status, 422);
    assert_eq!(inbox_status(&resident, "?limit=0").await, 422);
    assert_eq!(inbox_status(&resident, "?cursor=nonsense").await, 422);
}

async fn inbox_status(who: &Actor, query: &str) -> u16 {
    who.get::<Value>(&format!("/me/notifications{query}")).await.map_or_else(|p| p.status, |_| 200)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_step_tells_nobody() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (one, first, _) = partner(&app, &w, 3, None).await;
    let (other, second, _) = partner(&app, &w, 3, None).await;
    let order = place(&w, &resident).await.id;
    w.dispatcher.dispatch(order, &[first, second]).await.unwrap();
    let (a, b) = tokio::join!(one.accept(order), other.accept(order));
    assert_eq!(outcomes(&[a, b]), (1, vec![409]));
    // The notice is the event's: exactly one acceptance, told once.
    assert_eq!(kinds(&inbox(&resident, "").await), ["order.accepted"]);
}

#[tokio::test]
async fn the_clock_reminds_once_of_an_expiring_offer_and_of_a_rating() {
    let clock = TestClock::new();
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, _) = partner(&app, &w, 3, None).await;
    let order = place(&w, &resident).await.id;
    w.dispatcher.dispatch_within(order, &[partner_id], 30).await.unwrap();

    clock.advance(Duration::minutes(15));
    tick(&app.state).await.unwrap();
    assert_eq!(kinds(&inbox(&member, "").await), ["order.dispatched"], "not yet close");
    clock.advance(Duration::minutes(6));
    tick(&app.state).await.unwrap();
    tick(&app.state).await.unwrap();
    let theirs = inbox(&member, "").await;
    assert_eq!(kinds(&theirs), ["offer.expiring", "order.dispatched"], "once");
    assert!(theirs["items"][0]["text"].as_str().unwrap().contains("即将过期"));

    member.accept(order).await.unwrap();
    member.start(order).await.unwrap();
    w.started_ago(order, 60).await;
    member.complete(order, "换了水管", Some(45)).await.unwrap();
    resident.confirm(order).await.unwrap();
    clock.advance(Duration::hours(23));
    tick(&app.state).await.unwrap();
    assert!(!kinds(&inbox(&resident, "").await).contains(&"order.rate_reminder"), "a day to rate first");
    clock.advance(Duration::hours(2));
    tick(&app.state).await.unwrap();
    tick(&app.state).await.unwrap();
    let reminders = kinds(&inbox(&resident, "").await).iter().filter(|k| **k == "order.rate_reminder").count();
    assert_eq!(reminders, 1);
}

#[tokio::test]
async fn a_rated_order_earns_no_reminder_and_dispatchers_hear_of_volunteers() {
    let clock = TestClock::new();
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, _) = partner(&app, &w, 3, None).await;
    let order = place(&w, &resident).await.id;
    w.dispatcher.dispatch(order, &[partner_id]).await.unwrap();
    member.accept(order).await.unwrap();
    member.start(order).await.unwrap();
    w.started_ago(order, 60).await;
    member.complete(order, "换了水管", Some(45)).await.unwrap();
    resident.confirm(order).await.unwrap();
    resident.rate(order, 5).await.unwrap();
    clock.advance(Duration::hours(30));
    tick(&app.state).await.unwrap();
    assert!(!kinds(&inbox(&resident, "").await).contains(&"order.rate_reminder"));

    let (_, volunteer_id) = volunteer(&app, &w).await;
    let staff = inbox(&w.dispatcher, "").await;
    assert_eq!(kinds(&staff), ["volunteer.applied"]);
    assert_eq!(staff["items"][0]["subject_id"], json!(volunteer_id));
    assert_eq!(staff["items"][0]["order_id"], Value::Null);
    let _: Uuid = volunteer_id;
}
