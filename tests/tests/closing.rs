//! Closing the loop: confirm, dispute and resolve, the follow-up call, ratings (once, even
//! under a race), and volunteer hours that count only after confirmation.

use futures_util::future::join_all;
use serde_json::{Value, json};
use shenbian_tests::scene::{World, assert_replays, partner, place, volunteer, world};
use shenbian_tests::shenbian::entity::enums::{ActionDb, ActorRoleDb};
use shenbian_tests::{Actor, Resolution, Status, TestApp, outcomes};
use uuid::Uuid;

/// A volunteer's job taken to completion with `minutes` worked.
async fn completed_by_volunteer(w: &World, resident: &Actor, person: &Actor, volunteer_id: Uuid, minutes: u32) -> Uuid {
    let order = place(w, resident).await.id;
    w.dispatcher.dispatch(order, &[volunteer_id]).await.unwrap();
    person.accept(order).await.unwrap();
    person.start(order).await.unwrap();
    w.started_ago(order, i64::from(minutes) + 10).await;
    person.complete(order, "陪同就医", Some(minutes)).await.unwrap();
    order
}

async fn total_minutes(w: &World, volunteer_id: Uuid) -> i64 {
    w.dispatcher.hours(volunteer_id).await.unwrap().total_minutes
}

#[tokio::test]
async fn hours_count_only_once_the_resident_confirms() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (person, volunteer_id) = volunteer(&app, &w).await;
    let order = completed_by_volunteer(&w, &resident, &person, volunteer_id, 90).await;
    assert_eq!(total_minutes(&w, volunteer_id).await, 0, "not before confirmation");
    assert_eq!(person.confirm(order).await.unwrap_err().status, 403, "a provider never confirms");
    let closed = resident.confirm(order).await.unwrap();
    assert_eq!(closed.status, Status::Closed);
    assert_eq!(total_minutes(&w, volunteer_id).await, 90);
    assert_eq!(resident.confirm(order).await.unwrap_err().status, 409, "confirmed once");
    assert_eq!(total_minutes(&w, volunteer_id).await, 90);

    // The record reads like a volunteer-service certificate (each entry dated), and the
    // volunteer sees their own.
    let record = person.hours(volunteer_id).await.unwrap();
    let entry = &record.items[0];
    assert_eq!(entry.kind, "service");
    assert_eq!(entry.minutes, 90);
    assert!(entry.service.as_deref().unwrap().contains("厨房水管漏水"));
    assert!(!record.community.is_empty());
    let stranger = app.resident().await;
    assert_eq!(stranger.hours(volunteer_id).await.unwrap_err().status, 404);
    assert_replays(&w.admin, order).await;
}

#[tokio::test]
async fn corrections_are_new_entries_with_a_reason_never_edits() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (person, volunteer_id) = volunteer(&app, &w).await;
    let order = completed_by_volunteer(&w, &resident, &person, volunteer_id, 60).await;
    resident.confirm(order).await.unwrap();
    let entry = w.dispatcher.correct_hours(volunteer_id, -15, "实际服务45分钟").await.unwrap();
    assert_eq!(entry.kind, "correction");
    assert_eq!(total_minutes(&w, volunteer_id).await, 45);
    let record = w.dispatcher.hours(volunteer_id).await.unwrap();
    let minutes: Vec<i32> = record.items.iter().map(|e| e.minutes).collect();
    assert_eq!(minutes, [-15, 60], "the original entry stands beside the correction");

    assert_eq!(w.dispatcher.correct_hours(volunteer_id, -100, "x").await.unwrap_err().status, 422);
    let path = format!("/volunteers/{volunteer_id}/hours/corrections");
    let no_reason = w.dispatcher.create::<Value>(&path, &json!({"minutes": 10})).await.unwrap_err();
    assert_eq!(no_reason.status, 422);
    assert_eq!(person.correct_hours(volunteer_id, 600, "我自己加").await.unwrap_err().status, 403);
    let audit = w.admin.audit(&format!("action=volunteer.hours_correction&object_id={volunteer_id}")).await.unwrap();
    assert_eq!(audit.items[0].reason.as_deref(), Some("实际服务45分钟"));
}

#[tokio::test]
async fn a_dispute_is_resolved_by_redo_or_close_and_a_follow_up_call_confirms() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (person, volunteer_id) = volunteer(&app, &w).await;

    let redo = completed_by_volunteer(&w, &resident, &person, volunteer_id, 30).await;
    let disputed = resident.dispute(redo, "水管还在漏").await.unwrap();
    assert_eq!(disputed.status, Status::Disputed);
    assert_eq!(resident.resolve(redo, Resolution::Redo, "r").await.unwrap_err().status, 403);
    let again = w.dispatcher.resolve(redo, Resolution::Redo, "重新派单").await.unwrap();
    assert_eq!(again.status, Status::Pending);
    assert!(again.provider.is_none());
    assert_eq!(total_minutes(&w, volunteer_id).await, 0, "a redone job earns nothing");

    let close = completed_by_volunteer(&w, &resident, &person, volunteer_id, 40).await;
    resident.dispute(close, "态度不好").await.unwrap();
    let closed = w.dispatcher.resolve(close, Resolution::Close, "核实已完成").await.unwrap();
    assert_eq!(closed.status, Status::Closed);
    assert_eq!(total_minutes(&w, volunteer_id).await, 40);

    let follow_up = completed_by_volunteer(&w, &resident, &person, volunteer_id, 20).await;
    let confirmed = w.dispatcher.confirm_after_call(follow_up, "居民电话确认满意").await.unwrap();
    assert_eq!(confirmed.status, Status::Closed);
    let events = resident.events(follow_up).await.unwrap();
    let last = events.items.last().unwrap();
    assert_eq!(last.action, ActionDb::Confirmed);
    assert_eq!(last.actor_role, ActorRoleDb::Dispatcher);
    assert!(last.reason.as_deref().unwrap().starts_with("follow_up_call"));
    for order in [redo, close, follow_up] {
        assert_replays(&w.admin, order).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_is_rated_once_even_by_twenty_racing_requests() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, _) = partner(&app, &w, 3, None).await;
    let order = place(&w, &resident).await.id;
    w.dispatcher.dispatch(order, &[partner_id]).await.unwrap();
    let rating = json!({"stars": 5, "timeliness": 5, "attitude": 4, "quality": 5, "comment": "师傅很专业"});
    let early = resident.rate_with(order, &rating).await.unwrap_err();
    assert_eq!(early.status, 409, "nothing to rate before completion");
    member.accept(order).await.unwrap();
    member.start(order).await.unwrap();
    member.complete(order, "修好了", None).await.unwrap();

    let answers = join_all((0..20).map(|_| resident.rate_with(order, &rating))).await;
    let (won, refused) = outcomes(&answers);
    assert_eq!(won, 1, "{refused:?}");
    assert_eq!(refused, [409; 19]);
    let page = resident.ratings(partner_id).await.unwrap();
    assert_eq!(page.summary.count, 1);
    let score = page.summary.score;
    assert!((score - (5.0 * 4.0 + 5.0) / 6.0).abs() < 1e-9, "Bayesian average with its prior: {score}");
    assert_eq!(page.items[0].source, "app");

    // Bad scores are refused; a dispatcher may hide an abusive comment but not the stars.
    assert_eq!(resident.rate(order, 6).await.unwrap_err().status, 422);
    let rating_id = page.items[0].id;
    assert_eq!(resident.hide_rating(rating_id, "含侮辱性语言").await.unwrap_err().status, 403);
    let hidden = w.dispatcher.hide_rating(rating_id, "含侮辱性语言").await.unwrap();
    assert_eq!(hidden.stars, 5);
    let public = resident.ratings(partner_id).await.unwrap();
    assert_eq!(public.items[0].comment, None);
    assert_eq!(public.items[0].stars, 5);
    assert_replays(&w.admin, order).await;
}

#[tokio::test]
async fn a_dispatcher_records_a_rating_given_by_phone() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (person, volunteer_id) = volunteer(&app, &w).await;
    let order = completed_by_volunteer(&w, &resident, &person, volunteer_id, 30).await;
    let rated = w.dispatcher.rate(order, 4).await.unwrap();
    assert_eq!(rated.source, "phone");
    assert_eq!(resident.rate(order, 5).await.unwrap_err().status, 409);
}
