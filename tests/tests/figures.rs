//! The community's figures against orders with known times and outcomes (a moved clock);
//! scoping; the public figures carry nothing personal; CSV exports round-trip through a CSV
//! parser with Chinese text and a formula-looking cell.

use chrono::Duration;
use serde_json::{Value, json};
use shenbian_tests::scene::{World, dispatch, order_body, partner, place, step, world};
use shenbian_tests::{Actor, TestApp, TestClock};
use uuid::Uuid;

fn id(v: &Value) -> Uuid {
    v["id"].as_str().unwrap().parse().unwrap()
}

/// An order dispatched `d`, accepted `a` and completed `c` minutes after creation.
#[allow(clippy::too_many_arguments)]
async fn timed(
    app: &TestApp,
    clock: &TestClock,
    w: &World,
    resident: &Actor,
    member: &Actor,
    partner_id: Uuid,
    d: i64,
    a: i64,
    c: i64,
) -> Uuid {
    let order = id(&place(app, w, resident).await);
    clock.advance(Duration::minutes(d));
    dispatch(app, w, order, &[partner_id]).await;
    clock.advance(Duration::minutes(a - d));
    assert_eq!(step(app, member, order, "accept", None).await.0, 200);
    assert_eq!(step(app, member, order, "start", None).await.0, 200);
    clock.advance(Duration::minutes(c - a));
    assert_eq!(step(app, member, order, "complete", Some(json!({"summary": "ok"}))).await.0, 200);
    order
}

#[tokio::test]
async fn the_community_figures_match_orders_with_known_times() {
    let clock = TestClock::new();
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, _) = partner(&app, &w, 10, None).await;
    // Urgent orders: dispatch within 60, complete within 480 minutes of acceptance.
    let first = timed(&app, &clock, &w, &resident, &member, partner_id, 10, 30, 90).await;
    timed(&app, &clock, &w, &resident, &member, partner_id, 20, 25, 45).await;
    let late = timed(&app, &clock, &w, &resident, &member, partner_id, 70, 80, 100).await;
    let cancelled = id(&place(&app, &w, &resident).await);
    step(&app, &resident, cancelled, "cancel", Some(json!({"reason": "不需要了"}))).await;
    let mut hotline = order_body(&w);
    hotline["channel"] = json!("walk_in");
    hotline["on_behalf_of_phone"] = json!(shenbian_tests::next_phone());
    app.call(app.post("/orders", Some(&w.dispatcher.access_token), &hotline)).await;
    step(&app, &resident, first, "rating", Some(json!({"stars": 5}))).await;
    step(&app, &resident, late, "rating", Some(json!({"stars": 2}))).await;

    let (status, f) =
        app.call(app.get(&format!("/stats/communities/{}", w.community), Some(&w.dispatcher.access_token))).await;
    assert_eq!(status, 200, "{f}");
    assert_eq!(f["orders"], 5);
    assert_eq!(f["by_status"]["completed"], 3);
    assert_eq!(f["by_status"]["cancelled"], 1);
    assert_eq!(f["by_status"]["pending"], 1);
    assert_eq!(f["by_channel"]["app"], 4);
    assert_eq!(f["by_channel"]["walk_in"], 1);
    assert_eq!(f["by_urgency"]["urgent"], 5);
    // Dispatch: 10, 20, 70 → median 20, p90 70. Accept: 20, 5, 10 → 10, 20. Complete: 60, 20, 20 → 20, 60.
    assert_eq!(f["time_to_dispatch"]["median_minutes"], 20.0);
    assert_eq!(f["time_to_dispatch"]["p90_minutes"], 70.0);
    assert_eq!(f["time_to_accept"]["median_minutes"], 10.0);
    assert_eq!(f["time_to_complete"]["median_minutes"], 20.0);
    assert_eq!(f["time_to_complete"]["p90_minutes"], 60.0);
    // One dispatched late (70 > 60); the pending one is not late yet.
    assert_eq!(f["sla_breaches"], 1);
    assert_eq!(f["sla_breach_rate"], 0.25);
    assert_eq!(f["satisfaction"]["ratings"], 2);
    assert_eq!(f["satisfaction"]["average_stars"], 3.5);
    assert_eq!(f["satisfaction"]["share_four_or_five"], 0.5);
    assert_eq!(f["top_providers"][0]["id"], partner_id.to_string());
    assert_eq!(f["top_providers"][0]["completed"], 3);
    let daily = f["daily"].as_array().unwrap();
    assert_eq!(daily.len(), 30);
    assert_eq!(daily.iter().map(|d| d["created"].as_u64().unwrap()).sum::<u64>(), 5);

    // A window before anything happened is empty; a bad window is 422.
    let (_, old) = app
        .call(app.get(
            &format!("/stats/communities/{}?from=2020-01-01&to=2020-01-31", w.community),
            Some(&w.dispatcher.access_token),
        ))
        .await;
    assert_eq!(old["orders"], 0);
    assert_eq!(
        app.call(app.get(
            &format!("/stats/communities/{}?from=2026-02-01&to=2026-01-01", w.community),
            Some(&w.dispatcher.access_token)
        ))
        .await
        .0,
        422
    );

    // Scoping: another community's dispatcher sees nothing, a resident may never.
    let other = app.dispatcher(app.community().await).await;
    assert_eq!(
        app.call(app.get(&format!("/stats/communities/{}", w.community), Some(&other.access_token))).await.0,
        404
    );
    assert_eq!(
        app.call(app.get(&format!("/stats/communities/{}", w.community), Some(&resident.access_token))).await.0,
        403
    );

    // The provider's own record.
    let (status, p) = app.call(app.get(&format!("/stats/providers/{partner_id}"), Some(&member.access_token))).await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["completed"], 3);
    assert_eq!(p["acceptance_rate"], 1.0);
    assert_eq!(p["on_time_rate"], 1.0);
    assert_eq!(p["ratings"], 2);
    assert_eq!(app.call(app.get(&format!("/stats/providers/{partner_id}"), Some(&resident.access_token))).await.0, 404);
}

#[tokio::test]
async fn the_public_figures_carry_no_personal_data_or_free_text() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, _) = partner(&app, &w, 10, None).await;
    let (person, volunteer_id) = shenbian_tests::scene::volunteer(&app, &w).await;
    let order = id(&place(&app, &w, &resident).await);
    dispatch(&app, &w, order, &[partner_id]).await;
    step(&app, &member, order, "accept", None).await;
    step(&app, &member, order, "start", None).await;
    step(&app, &member, order, "complete", Some(json!({"summary": "更换水龙头"}))).await;
    step(&app, &resident, order, "rating", Some(json!({"stars": 5, "comment": "王阿姨很满意"}))).await;
    let second = id(&place(&app, &w, &resident).await);
    dispatch(&app, &w, second, &[volunteer_id]).await;
    step(&app, &person, second, "accept", None).await;
    step(&app, &person, second, "start", None).await;
    step(&app, &person, second, "complete", Some(json!({"summary": "陪同", "minutes": 30}))).await;

    let response =
        app.client.get(app.url(&format!("/api/v1/public/communities/{}/stats", w.community))).send().await.unwrap();
    assert_eq!(response.status(), 200, "no sign-in needed");
    let body = response.text().await.unwrap();
    for secret in [
        resident.phone.as_str(),
        person.phone.as_str(),
        "王秀英",
        "进门左手边",
        "2单元",
        "厨房水管漏水",
        "水槽下面",
        "更换水龙头",
        "王阿姨很满意",
    ] {
        assert!(!body.contains(secret), "the public figures contain {secret}");
    }
    let f: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(f["top_providers"].as_array().unwrap().len(), 1, "partners named, volunteers only counted");
    assert_eq!(f["top_providers"][0]["name"], "安居维修服务社");
    assert_eq!(f["volunteers_active"], 1);
    assert_eq!(f["volunteer_minutes"], 30);
}

#[tokio::test]
async fn csv_exports_round_trip_with_chinese_text_and_defused_formulas() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let mut body = order_body(&w);
    body["title"] = json!("=HYPERLINK(\"http://evil\")");
    let (status, _) = app.call(app.post("/orders", Some(&resident.access_token), &body)).await;
    assert_eq!(status, 201);
    place(&app, &w, &resident).await;

    let response = app.get("/orders/export.csv", Some(&w.dispatcher.access_token)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.starts_with("\u{feff}".as_bytes()), "a byte-order mark for spreadsheet programs");
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let headers = reader.headers().unwrap().clone();
    let title = headers.iter().position(|h| h == "title").unwrap();
    let phone = headers.iter().position(|h| h == "contact_phone").unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(&rows[0][title], "厨房水管漏水");
    assert_eq!(&rows[1][title], "'=HYPERLINK(\"http://evil\")", "the formula is defused");
    assert_eq!(&rows[0][phone], resident.phone.as_str());
    let (_, audit) = app.call(app.get("/audit?action=order.export", Some(&w.admin.access_token))).await;
    assert_eq!(audit["items"][0]["actor"], w.dispatcher.user_id.to_string());
    assert_eq!(app.call(app.get("/orders/export.csv", Some(&resident.access_token))).await.0, 403);

    // Volunteer hours.
    let (person, volunteer_id) = shenbian_tests::scene::volunteer(&app, &w).await;
    let order = id(&place(&app, &w, &resident).await);
    dispatch(&app, &w, order, &[volunteer_id]).await;
    step(&app, &person, order, "accept", None).await;
    step(&app, &person, order, "start", None).await;
    step(&app, &person, order, "complete", Some(json!({"summary": "陪同就医", "minutes": 50}))).await;
    step(&app, &resident, order, "confirm", None).await;
    let response = app.get("/volunteers/hours.csv", Some(&w.dispatcher.access_token)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let bytes = response.bytes().await.unwrap();
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][4], "50");
    assert!(rows[0][3].contains("厨房水管漏水"));
}

/// Today's date in the server's time zone, as the provider record reports it.
async fn today(app: &TestApp, token: &str, provider: Uuid) -> chrono::NaiveDate {
    let (status, p) = app.call(app.get(&format!("/stats/providers/{provider}"), Some(token))).await;
    assert_eq!(status, 200, "{p}");
    p["to"].as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn the_provider_record_counts_the_last_30_days_unless_a_window_is_given() {
    let clock = TestClock::new();
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let mut w = world(&app).await;
    let mut resident = app.resident().await;
    let (mut member, partner_id, _) = partner(&app, &w, 10, None).await;
    let first_day = today(&app, &member.access_token, partner_id).await;
    // Long ago: one job done on time and rated 5, one offer declined.
    let old = timed(&app, &clock, &w, &resident, &member, partner_id, 5, 10, 30).await;
    step(&app, &resident, old, "rating", Some(json!({"stars": 5}))).await;
    let declined = id(&place(&app, &w, &resident).await);
    dispatch(&app, &w, declined, &[partner_id]).await;
    assert_eq!(step(&app, &member, declined, "decline", Some(json!({"reason": "排满了"}))).await.0, 200);
    // Forty days later: one job done and rated 3.
    clock.advance(Duration::days(40));
    // Access tokens live minutes: sign everyone in again.
    for actor in [&mut w.dispatcher, &mut resident, &mut member] {
        *actor = app.login(&actor.phone, &actor.password).await;
    }
    let recent = timed(&app, &clock, &w, &resident, &member, partner_id, 5, 10, 30).await;
    step(&app, &resident, recent, "rating", Some(json!({"stars": 3}))).await;
    let last_day = today(&app, &member.access_token, partner_id).await;
    let record = |query: String| {
        let (app, token) = (&app, member.access_token.clone());
        async move {
            let (status, p) = app.call(app.get(&format!("/stats/providers/{partner_id}{query}"), Some(&token))).await;
            assert_eq!(status, 200, "{p}");
            p
        }
    };

    let p = record(String::new()).await;
    assert_eq!(p["to"], last_day.to_string());
    assert_eq!(p["from"], (last_day - Duration::days(29)).to_string());
    assert_eq!((p["offers"].clone(), p["completed"].clone(), p["ratings"].clone()), (json!(1), json!(1), json!(1)));
    assert_eq!(p["acceptance_rate"], 1.0);
    assert_eq!(p["on_time_rate"], 1.0);
    assert_eq!(p["average_stars"], 3.0);

    let p = record(format!("?from={first_day}&to={last_day}")).await;
    assert_eq!((p["offers"].clone(), p["completed"].clone(), p["ratings"].clone()), (json!(3), json!(2), json!(2)));
    let rate = p["acceptance_rate"].as_f64().unwrap();
    assert!((rate - 2.0 / 3.0).abs() < 1e-9, "two of three offers accepted: {rate}");
    assert_eq!(p["average_stars"], 4.0);
    // The Bayesian score of the window's ratings: (5 × 4.0 + 8) / 7.
    assert!((p["score"].as_f64().unwrap() - 4.0).abs() < 1e-9);

    let p = record(format!("?from={}&to={}", first_day - Duration::days(10), first_day - Duration::days(1))).await;
    assert_eq!((p["offers"].clone(), p["completed"].clone(), p["ratings"].clone()), (json!(0), json!(0), json!(0)));
    assert_eq!(p["acceptance_rate"], Value::Null);
    assert_eq!(p["on_time_rate"], Value::Null);
    assert_eq!(p["average_stars"], Value::Null);
    assert_eq!(p["open_jobs"], 0, "the load is now, whatever the window");

    let bad = format!("/stats/providers/{partner_id}?from={last_day}&to={first_day}");
    assert_eq!(app.call(app.get(&bad, Some(&member.access_token))).await.0, 422);
}
