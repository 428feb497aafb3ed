//! Closing the loop: confirm, dispute and resolve, the follow-up call, ratings (once, even
//! under a race), and volunteer hours that count only after confirmation.

use futures_util::future::join_all;
use serde_json::{Value, json};
use shenbian_tests::scene::{World, assert_replays, dispatch, partner, place, step, volunteer, world};
use shenbian_tests::{Actor, TestApp};
use uuid::Uuid;

fn id(v: &Value) -> Uuid {
    v["id"].as_str().unwrap().parse().unwrap()
}

/// A volunteer's job taken to completion with `minutes` worked.
async fn completed_by_volunteer(
    app: &TestApp,
    w: &World,
    resident: &Actor,
    person: &Actor,
    volunteer_id: Uuid,
    minutes: u32,
) -> Uuid {
    let order = id(&place(app, w, resident).await);
    dispatch(app, w, order, &[volunteer_id]).await;
    assert_eq!(step(app, person, order, "accept", None).await.0, 200);
    assert_eq!(step(app, person, order, "start", None).await.0, 200);
    let (status, body) =
        step(app, person, order, "complete", Some(json!({"summary": "陪同就医", "minutes": minutes}))).await;
    assert_eq!(status, 200, "{body}");
    order
}

async fn total_minutes(app: &TestApp, w: &World, volunteer_id: Uuid) -> i64 {
    let (status, record) =
        app.call(app.get(&format!("/volunteers/{volunteer_id}/hours"), Some(&w.dispatcher.access_token))).await;
    assert_eq!(status, 200, "{record}");
    record["total_minutes"].as_i64().unwrap()
}

#[tokio::test]
async fn hours_count_only_once_the_resident_confirms() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (person, volunteer_id) = volunteer(&app, &w).await;
    let order = completed_by_volunteer(&app, &w, &resident, &person, volunteer_id, 90).await;
    assert_eq!(total_minutes(&app, &w, volunteer_id).await, 0, "not before confirmation");
    assert_eq!(step(&app, &person, order, "confirm", None).await.0, 403, "a provider never confirms");
    let (status, closed) = step(&app, &resident, order, "confirm", None).await;
    assert_eq!(status, 200, "{closed}");
    assert_eq!(closed["status"], "closed");
    assert_eq!(total_minutes(&app, &w, volunteer_id).await, 90);
    assert_eq!(step(&app, &resident, order, "confirm", None).await.0, 409, "confirmed once");
    assert_eq!(total_minutes(&app, &w, volunteer_id).await, 90);

    // The record reads like a volunteer-service certificate, and the volunteer sees their own.
    let (status, record) =
        app.call(app.get(&format!("/volunteers/{volunteer_id}/hours"), Some(&person.access_token))).await;
    assert_eq!(status, 200);
    let entry = &record["items"][0];
    assert_eq!(entry["kind"], "service");
    assert_eq!(entry["minutes"], 90);
    assert!(entry["service"].as_str().unwrap().contains("厨房水管漏水"));
    assert!(entry["date"].is_string());
    assert!(!record["community"].as_str().unwrap().is_empty());
    let stranger = app.resident().await;
    assert_eq!(
        app.call(app.get(&format!("/volunteers/{volunteer_id}/hours"), Some(&stranger.access_token))).await.0,
        404
    );
    assert_replays(&app, &w.admin, order).await;
}

#[tokio::test]
async fn corrections_are_new_entries_with_a_reason_never_edits() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (person, volunteer_id) = volunteer(&app, &w).await;
    let order = completed_by_volunteer(&app, &w, &resident, &person, volunteer_id, 60).await;
    step(&app, &resident, order, "confirm", None).await;
    let path = format!("/volunteers/{volunteer_id}/hours/corrections");
    let (status, entry) = app
        .call(app.post(&path, Some(&w.dispatcher.access_token), &json!({"minutes": -15, "reason": "实际服务45分钟"})))
        .await;
    assert_eq!(status, 201, "{entry}");
    assert_eq!(entry["kind"], "correction");
    assert_eq!(total_minutes(&app, &w, volunteer_id).await, 45);
    let (_, record) =
        app.call(app.get(&format!("/volunteers/{volunteer_id}/hours"), Some(&w.dispatcher.access_token))).await;
    let minutes: Vec<i64> =
        record["items"].as_array().unwrap().iter().map(|e| e["minutes"].as_i64().unwrap()).collect();
    assert_eq!(minutes, [-15, 60], "the original entry stands beside the correction");

    assert_eq!(
        app.call(app.post(&path, Some(&w.dispatcher.access_token), &json!({"minutes": -100, "reason": "x"}))).await.0,
        422
    );
    assert_eq!(app.call(app.post(&path, Some(&w.dispatcher.access_token), &json!({"minutes": 10}))).await.0, 422);
    assert_eq!(
        app.call(app.post(&path, Some(&person.access_token), &json!({"minutes": 600, "reason": "我自己加"}))).await.0,
        403
    );
    let (_, audit) = app
        .call(app.get(
            &format!("/audit?action=volunteer.hours_correction&object_id={volunteer_id}"),
            Some(&w.admin.access_token),
        ))
        .await;
    assert_eq!(audit["items"][0]["reason"], "实际服务45分钟");
}

#[tokio::test]
async fn a_dispute_is_resolved_by_redo_or_close_and_a_follow_up_call_confirms() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (person, volunteer_id) = volunteer(&app, &w).await;
    let reason = |r: &str| Some(json!({"reason": r}));

    let redo = completed_by_volunteer(&app, &w, &resident, &person, volunteer_id, 30).await;
    let (status, disputed) = step(&app, &resident, redo, "dispute", reason("水管还在漏")).await;
    assert_eq!(status, 200);
    assert_eq!(disputed["status"], "disputed");
    assert_eq!(step(&app, &resident, redo, "resolve", Some(json!({"outcome": "redo", "reason": "r"}))).await.0, 403);
    let (status, again) =
        step(&app, &w.dispatcher, redo, "resolve", Some(json!({"outcome": "redo", "reason": "重新派单"}))).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["status"], "pending");
    assert_eq!(again["provider"], Value::Null);
    assert_eq!(total_minutes(&app, &w, volunteer_id).await, 0, "a redone job earns nothing");

    let close = completed_by_volunteer(&app, &w, &resident, &person, volunteer_id, 40).await;
    step(&app, &resident, close, "dispute", reason("态度不好")).await;
    let (status, closed) =
        step(&app, &w.dispatcher, close, "resolve", Some(json!({"outcome": "close", "reason": "核实已完成"}))).await;
    assert_eq!(status, 200);
    assert_eq!(closed["status"], "closed");
    assert_eq!(total_minutes(&app, &w, volunteer_id).await, 40);

    let follow_up = completed_by_volunteer(&app, &w, &resident, &person, volunteer_id, 20).await;
    let (status, confirmed) =
        step(&app, &w.dispatcher, follow_up, "confirm", Some(json!({"note": "居民电话确认满意"}))).await;
    assert_eq!(status, 200);
    assert_eq!(confirmed["status"], "closed");
    let (_, events) = app.call(app.get(&format!("/orders/{follow_up}/events"), Some(&resident.access_token))).await;
    let last = events["items"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "confirmed");
    assert_eq!(last["actor_role"], "dispatcher");
    assert!(last["reason"].as_str().unwrap().starts_with("follow_up_call"));
    for order in [redo, close, follow_up] {
        assert_replays(&app, &w.admin, order).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_is_rated_once_even_by_twenty_racing_requests() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, _) = partner(&app, &w, 3, None).await;
    let order = id(&place(&app, &w, &resident).await);
    dispatch(&app, &w, order, &[partner_id]).await;
    let rating = json!({"stars": 5, "timeliness": 5, "attitude": 4, "quality": 5, "comment": "师傅很专业"});
    assert_eq!(
        step(&app, &resident, order, "rating", Some(rating.clone())).await.0,
        409,
        "nothing to rate before completion"
    );
    step(&app, &member, order, "accept", None).await;
    step(&app, &member, order, "start", None).await;
    step(&app, &member, order, "complete", Some(json!({"summary": "修好了"}))).await;

    let answers = join_all((0..20).map(|_| step(&app, &resident, order, "rating", Some(rating.clone())))).await;
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 19, "{statuses:?}");
    let (_, page) = app.call(app.get(&format!("/providers/{partner_id}/ratings"), Some(&resident.access_token))).await;
    assert_eq!(page["summary"]["count"], 1);
    let score = page["summary"]["score"].as_f64().unwrap();
    assert!((score - (5.0 * 4.0 + 5.0) / 6.0).abs() < 1e-9, "Bayesian average with its prior: {score}");
    assert_eq!(page["items"][0]["source"], "app");

    // Bad scores are refused; a dispatcher may hide an abusive comment but not the stars.
    let bad = json!({"stars": 6});
    assert_eq!(step(&app, &resident, order, "rating", Some(bad)).await.0, 422);
    let rating_id = page["items"][0]["id"].as_str().unwrap();
    let hide = json!({"reason": "含侮辱性语言"});
    assert_eq!(
        app.call(app.post(&format!("/ratings/{rating_id}/hide"), Some(&resident.access_token), &hide)).await.0,
        403
    );
    let (status, hidden) =
        app.call(app.post(&format!("/ratings/{rating_id}/hide"), Some(&w.dispatcher.access_token), &hide)).await;
    assert_eq!(status, 200);
    assert_eq!(hidden["stars"], 5);
    let (_, public) =
        app.call(app.get(&format!("/providers/{partner_id}/ratings"), Some(&resident.access_token))).await;
    assert_eq!(public["items"][0]["comment"], Value::Null);
    assert_eq!(public["items"][0]["stars"], 5);
    assert_replays(&app, &w.admin, order).await;
}

#[tokio::test]
async fn a_dispatcher_records_a_rating_given_by_phone() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (person, volunteer_id) = volunteer(&app, &w).await;
    let order = completed_by_volunteer(&app, &w, &resident, &person, volunteer_id, 30).await;
    let (status, rated) = step(&app, &w.dispatcher, order, "rating", Some(json!({"stars": 4}))).await;
    assert_eq!(status, 201, "{rated}");
    assert_eq!(rated["source"], "phone");
    assert_eq!(step(&app, &resident, order, "rating", Some(json!({"stars": 5}))).await.0, 409);
}
