//! The community's figures against orders with known times and outcomes (a moved clock);
//! scoping; the public figures carry nothing personal; CSV exports round-trip through a CSV
//! parser with Chinese text and a formula-looking cell.

use chrono::{Datelike, Duration};
use serde_json::{Value, json};
use shenbian_tests::scene::{World, order_body, partner, place, world};
use shenbian_tests::{Actor, Id, TestApp, TestClock};
use uuid::Uuid;

/// An order dispatched `d`, accepted `a` and completed `c` minutes after creation.
#[allow(clippy::too_many_arguments)]
async fn timed(
    clock: &TestClock,
    w: &World,
    resident: &Actor,
    member: &Actor,
    partner_id: Uuid,
    d: i64,
    a: i64,
    c: i64,
) -> Uuid {
    let order = place(w, resident).await.id;
    clock.advance(Duration::minutes(d));
    w.dispatcher.dispatch(order, &[partner_id]).await.unwrap();
    clock.advance(Duration::minutes(a - d));
    member.accept(order).await.unwrap();
    member.start(order).await.unwrap();
    clock.advance(Duration::minutes(c - a));
    member.complete(order, "ok", None).await.unwrap();
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
    let first = timed(&clock, &w, &resident, &member, partner_id, 10, 30, 90).await;
    timed(&clock, &w, &resident, &member, partner_id, 20, 25, 45).await;
    let late = timed(&clock, &w, &resident, &member, partner_id, 70, 80, 100).await;
    let cancelled = place(&w, &resident).await.id;
    resident.cancel(cancelled, "不需要了").await.unwrap();
    let mut hotline = order_body(&w);
    hotline["channel"] = json!("walk_in");
    hotline["on_behalf_of_phone"] = json!(shenbian_tests::next_phone());
    app.call(app.post("/orders", Some(&w.dispatcher.access_token), &hotline)).await;
    resident.rate(first, 5).await.unwrap();
    resident.rate(late, 2).await.unwrap();

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
    // Counts of one shown, to see that even then nothing personal is.
    let app = TestApp::spawn_with(|s| s.public_stats_min_count = 1).await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, _) = partner(&app, &w, 10, None).await;
    let (person, volunteer_id) = shenbian_tests::scene::volunteer(&app, &w).await;
    let order = place(&w, &resident).await.id;
    w.dispatcher.dispatch(order, &[partner_id]).await.unwrap();
    member.accept(order).await.unwrap();
    member.start(order).await.unwrap();
    member.complete(order, "更换水龙头", None).await.unwrap();
    resident.rate_with(order, &json!({"stars": 5, "comment": "王阿姨很满意"})).await.unwrap();
    let second = place(&w, &resident).await.id;
    w.dispatcher.dispatch(second, &[volunteer_id]).await.unwrap();
    person.accept(second).await.unwrap();
    person.start(second).await.unwrap();
    w.started_ago(second, 120).await;
    person.complete(second, "陪同", Some(30)).await.unwrap();

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
    place(&w, &resident).await;

    let response = app.get("/orders/export.csv", Some(&w.dispatcher.access_token)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.starts_with("\u{feff}".as_bytes()), "a byte-order mark for spreadsheet programs");
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let headers = reader.headers().unwrap().clone();
    let title = headers.iter().position(|h| h == "title").unwrap();
    let phone = headers.iter().position(|h| h == "contact_phone").unwrap();
    let (compound, building) =
        (headers.iter().position(|h| h == "compound").unwrap(), headers.iter().position(|h| h == "building").unwrap());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(&rows[0][title], "厨房水管漏水");
    assert_eq!(&rows[1][title], "'=HYPERLINK(\"http://evil\")", "the formula is defused");
    assert_eq!(&rows[0][phone], resident.phone.as_str());
    assert_eq!((&rows[0][compound], &rows[0][building]), ("阳光花园", "3号楼"));
    let (_, audit) = app.call(app.get("/audit?action=order.export", Some(&w.admin.access_token))).await;
    assert_eq!(audit["items"][0]["actor"], w.dispatcher.user_id.to_string());
    assert_eq!(app.call(app.get("/orders/export.csv", Some(&resident.access_token))).await.0, 403);

    // Volunteer hours.
    let (person, volunteer_id) = shenbian_tests::scene::volunteer(&app, &w).await;
    let order = place(&w, &resident).await.id;
    w.dispatcher.dispatch(order, &[volunteer_id]).await.unwrap();
    person.accept(order).await.unwrap();
    person.start(order).await.unwrap();
    w.started_ago(order, 120).await;
    person.complete(order, "陪同就医", Some(50)).await.unwrap();
    resident.confirm(order).await.unwrap();
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
    let old = timed(&clock, &w, &resident, &member, partner_id, 5, 10, 30).await;
    resident.rate(old, 5).await.unwrap();
    let declined = place(&w, &resident).await.id;
    w.dispatcher.dispatch(declined, &[partner_id]).await.unwrap();
    member.decline(declined, "排满了").await.unwrap();
    // Forty days later: one job done and rated 3.
    clock.advance(Duration::days(40));
    // Access tokens live minutes: sign everyone in again.
    for actor in [&mut w.dispatcher, &mut resident, &mut member] {
        *actor = app.login(&actor.phone, &actor.password).await;
    }
    let recent = timed(&clock, &w, &resident, &member, partner_id, 5, 10, 30).await;
    resident.rate(recent, 3).await.unwrap();
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

/// The field a 422 names.
fn refused_field(status: u16, body: &Value) -> String {
    assert_eq!(status, 422, "{body}");
    body["errors"][0]["field"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn crafted_dates_are_refused_by_every_figure_instead_of_crashing() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let (member, partner_id, _) = partner(&app, &w, 10, None).await;
    let token = Some(w.dispatcher.access_token.as_str());
    let today = today(&app, &member.access_token, partner_id).await;
    let staff = [format!("/stats/communities/{}", w.community), format!("/stats/providers/{partner_id}")];
    let far = (today + Duration::days(400)).to_string();
    let long_ago = format!("from={}&to={today}", today - Duration::days(400));
    for path in &staff {
        for (query, field) in [
            ("to=-262143-01-05", "to"),
            ("to=%2B262142-12-31", "to"),
            ("from=-262143-01-01&to=-262143-01-02", "to"),
            ("from=1999-12-31&to=2000-01-01", "from"),
            (&*format!("to={far}"), "to"),
            (&*long_ago, "from"),
        ] {
            let (status, body) = app.call(app.get(&format!("{path}?{query}"), token)).await;
            assert_eq!(refused_field(status, &body), field, "{path}?{query}");
        }
        let edge = format!("{path}?from={}&to={today}", today - Duration::days(399));
        assert_eq!(app.call(app.get(&edge, token)).await.0, 200, "400 days is the longest window");
    }
    let public = format!("/public/communities/{}/stats", w.community);
    for (query, field) in [
        ("to=-262143-01-05", "to"),
        ("to=%2B262142-12-31", "to"),
        ("from=-262143-01-01&to=-262143-01-02", "from"),
        ("month=-262143-01", "month"),
        ("month=%2B262142-12", "month"),
        ("month=1999-12", "month"),
        ("month=2026-13", "month"),
    ] {
        let (status, body) = app.call(app.get(&format!("{public}?{query}"), None)).await;
        assert_eq!(refused_field(status, &body), field, "{public}?{query}");
    }
    // The order list and the export take instants: bounded the same way.
    for path in ["/orders", "/orders/export.csv"] {
        for (query, field) in [
            ("from=-262143-01-01T00:00:00Z", "from"),
            ("to=%2B262142-12-31T00:00:00Z", "to"),
            ("from=1970-01-01T00:00:00Z", "from"),
        ] {
            let (status, body) = app.call(app.get(&format!("{path}?{query}"), token)).await;
            assert_eq!(refused_field(status, &body), field, "{path}?{query}");
        }
    }
    // An order's preferred times are stored as given.
    let resident = app.resident().await;
    for (start, end) in [("-262143-01-01T00:00:00Z", "-262143-01-02T00:00:00Z"), ("1999-12-31T00:00:00Z", "")] {
        let mut body = order_body(&w);
        body["preferred_start"] = json!(start);
        if !end.is_empty() {
            body["preferred_end"] = json!(end);
        }
        let (status, body) = app.call(app.post("/orders", Some(&resident.access_token), &body)).await;
        assert_eq!(refused_field(status, &body), "preferred_start", "{start}");
    }
    // A contract's period is stored and compared with today's date.
    for (from, to) in [("-262143-01-01", "-262143-01-02"), ("+262142-01-01", "+262142-12-31")] {
        let body = json!({
            "partner_id": partner_id, "title": "远古契约", "community_ids": [w.community],
            "category_codes": [w.category], "valid_from": from, "valid_to": to,
            "terms": {"pricing": "free", "max_open_jobs": 3},
        });
        let (status, body) = app.call(app.post("/contracts", Some(&w.admin.access_token), &body)).await;
        assert_eq!(refused_field(status, &body), "valid_from", "{from}..{to}");
    }
}

/// A community with `n` orders placed by one resident, each rated one star.
async fn community_with_orders(app: &TestApp, n: usize) -> (World, Actor) {
    let w = world(app).await;
    let resident = app.resident().await;
    let (member, partner_id, _) = partner(app, &w, 10, None).await;
    let mut body = order_body(&w);
    body["urgency"] = json!("normal");
    for _ in 0..n {
        let (status, order) = app.call(app.post("/orders", Some(&resident.access_token), &body)).await;
        assert_eq!(status, 201, "{order}");
        let order = order.id();
        w.dispatcher.dispatch(order, &[partner_id]).await.unwrap();
        member.accept(order).await.unwrap();
        member.start(order).await.unwrap();
        member.complete(order, "ok", None).await.unwrap();
        resident.rate(order, 1).await.unwrap();
    }
    (w, resident)
}

async fn public_figures(app: &TestApp, community: Uuid, query: &str) -> Value {
    let (status, f) = app.call(app.get(&format!("/public/communities/{community}/stats{query}"), None)).await;
    assert_eq!(status, 200, "{f}");
    f
}

#[tokio::test]
async fn the_public_figures_of_a_community_with_one_order_show_nothing_that_singles_it_out() {
    let app = TestApp::spawn().await;
    let (w, _) = community_with_orders(&app, 1).await;

    let f = public_figures(&app, w.community, "").await;
    assert_eq!(f["min_count"], 5);
    assert_eq!(f["orders"], Value::Null);
    for map in ["by_status", "by_category", "by_channel", "by_urgency"] {
        assert_eq!(f[map], json!({}), "{map} lists nothing counted under five times");
    }
    for times in ["time_to_dispatch", "time_to_accept", "time_to_complete"] {
        assert_eq!(f[times], json!({"count": null, "median_minutes": null, "p90_minutes": null}), "{times}");
    }
    assert_eq!(f["satisfaction"], json!({"ratings": null, "average_stars": null, "share_four_or_five": null}));
    assert_eq!((f["sla_breaches"].clone(), f["sla_breach_rate"].clone()), (Value::Null, Value::Null));
    assert_eq!(f["escalations"], Value::Null);
    assert_eq!(f["top_providers"], json!([]), "a partner with one job would point at its client");
    let daily = f["daily"].as_array().unwrap();
    assert_eq!(daily.len(), 30);
    assert!(daily.iter().all(|d| d["created"].is_null() && d["completed"].is_null()), "no day stands out: {daily:?}");
    let text = f.to_string();
    for word in ["home_repair", "normal", "\"app\""] {
        assert!(!text.contains(word), "the public figures name {word}: {text}");
    }

    // The staff see the order itself.
    let path = format!("/stats/communities/{}", w.community);
    let (status, staff) = app.call(app.get(&path, Some(&w.dispatcher.access_token))).await;
    assert_eq!(status, 200, "{staff}");
    assert_eq!(staff["by_category"]["home_repair"], 1);
    assert_eq!(staff["satisfaction"]["average_stars"], 1.0);
}

#[tokio::test]
async fn the_public_figures_show_the_cells_counted_at_least_the_minimum() {
    let app = TestApp::spawn().await;
    let (w, resident) = community_with_orders(&app, 5).await;
    // One cancelled order of another urgency: its own cells stay hidden.
    let mut urgent = order_body(&w);
    urgent["urgency"] = json!("urgent");
    let (status, order) = app.call(app.post("/orders", Some(&resident.access_token), &urgent)).await;
    assert_eq!(status, 201, "{order}");
    resident.cancel(order.id(), "不需要了").await.unwrap();

    let f = public_figures(&app, w.community, "").await;
    assert_eq!(f["orders"], 6);
    assert_eq!(f["by_category"], json!({"home_repair": 6}));
    assert_eq!(f["by_urgency"], json!({"normal": 5}), "one urgent order is not shown");
    assert_eq!(f["by_status"], json!({"completed": 5}), "one cancelled order is not shown");
    assert_eq!(f["by_channel"], json!({"app": 6}));
    assert_eq!(f["time_to_complete"]["count"], 5);
    assert!(f["time_to_complete"]["median_minutes"].is_number());
    assert_eq!(f["satisfaction"]["ratings"], 5);
    assert_eq!(f["satisfaction"]["average_stars"], 1.0);
    assert_eq!(f["satisfaction"]["share_four_or_five"], 0.0);
    assert_eq!(f["sla_breach_rate"], 0.0, "over five orders not cancelled");
    assert_eq!(f["sla_breaches"], Value::Null, "no breach is under five");
    assert_eq!(f["top_providers"][0]["completed"], 5);
    assert_eq!(f["top_providers"][0]["average_stars"], 1.0);
    let busy: Vec<&Value> = f["daily"].as_array().unwrap().iter().filter(|d| !d["created"].is_null()).collect();
    assert_eq!(busy.len(), 1, "all six were made today");
    assert_eq!(busy[0]["created"], 6);
    assert_eq!(busy[0]["completed"], 5);
}

#[tokio::test]
async fn the_public_figures_take_whole_months_and_refuse_narrow_windows() {
    let app = TestApp::spawn().await;
    let (w, _) = community_with_orders(&app, 5).await;
    let f = public_figures(&app, w.community, "").await;
    let today: chrono::NaiveDate = f["to"].as_str().unwrap().parse().unwrap();
    let month = today.format("%Y-%m").to_string();

    let m = public_figures(&app, w.community, &format!("?month={month}")).await;
    assert_eq!(m["from"], format!("{month}-01"));
    assert_eq!(m["orders"], 5);
    let last = m["to"].as_str().unwrap().parse::<chrono::NaiveDate>().unwrap();
    assert_eq!(last.format("%Y-%m").to_string(), month);
    assert_ne!((last + Duration::days(1)).format("%Y-%m").to_string(), month, "the month's last day");
    assert_eq!(m["daily"].as_array().unwrap().len() as i64, (last - today.with_day0(0).unwrap()).num_days() + 1);

    // A one-day window would single out the day's orders: only staff choose windows.
    let day = format!("?from={today}&to={today}");
    let path = format!("/public/communities/{}/stats", w.community);
    for query in [day.as_str(), &format!("?from={today}"), &format!("?to={today}")] {
        let (status, body) = app.call(app.get(&format!("{path}{query}"), None)).await;
        assert_eq!(status, 422, "{query}: {body}");
        assert!(["from", "to"].contains(&body["errors"][0]["field"].as_str().unwrap()), "{body}");
    }
    let staff = format!("/stats/communities/{}{day}", w.community);
    assert_eq!(app.call(app.get(&staff, Some(&w.dispatcher.access_token))).await.0, 200);

    // The document offers the public a month only, and describes the suppression.
    let doc: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    let operation = &doc["paths"]["/api/v1/public/communities/{id}/stats"]["get"];
    let params: Vec<&str> =
        operation["parameters"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(params, ["id", "month"]);
    let text = format!("{} {}", operation["summary"], operation["description"]);
    assert!(text.contains("suppressed"), "{operation}");
    assert!(doc["components"]["schemas"]["PublicFigures"]["properties"]["min_count"].is_object());
}
