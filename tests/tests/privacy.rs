//! Personal-data rights and contract performance: export holds the resident's data and
//! nobody else's; after `POST /me/close` no answer and no table holds the phone or the
//! name; a contract's monthly figures match orders whose numbers are known.

use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseBackend, EntityTrait, Statement};
use serde_json::json;
use shenbian_tests::scene::{assert_replays, order_body, partner, place, world};
use shenbian_tests::shenbian::entity::enums::MemberRole;
use shenbian_tests::shenbian::entity::partner_member;
use shenbian_tests::shenbian::orders::closing::Resolution;
use shenbian_tests::{Id, PASSWORD, TestApp, next_phone, partner_body, problem};

/// Every (table, column) whose text holds `needle`, found by scanning the whole schema.
async fn tables_holding(app: &TestApp, needle: &str) -> Vec<String> {
    let db = app.db();
    let backend = db.get_database_backend();
    let columns_sql = match backend {
        DatabaseBackend::Sqlite => {
            "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table'"
                .to_owned()
        }
        _ => "SELECT table_name::text, column_name::text FROM information_schema.columns WHERE table_schema = 'public'"
            .to_owned(),
    };
    let rows = db.query_all_raw(Statement::from_string(backend, columns_sql)).await.unwrap();
    let mut found = Vec::new();
    for row in rows {
        let (table, column): (String, String) = (row.try_get_by_index(0).unwrap(), row.try_get_by_index(1).unwrap());
        let sql = format!("SELECT COUNT(*) FROM \"{table}\" WHERE CAST(\"{column}\" AS TEXT) LIKE '%{needle}%'");
        let count: i64 =
            db.query_one_raw(Statement::from_string(backend, sql)).await.unwrap().unwrap().try_get_by_index(0).unwrap();
        if count > 0 {
            found.push(format!("{table}.{column}"));
        }
    }
    found
}

#[tokio::test]
async fn the_export_holds_the_residents_data_and_nobody_elses() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let neighbour = app.resident().await;
    let mine = place(&w, &resident).await.id;
    place(&w, &neighbour).await;
    let (status, export) = app.call(app.get("/me/export", Some(&resident.access_token))).await;
    assert_eq!(status, 200);
    assert_eq!(export["account"]["phone"], resident.phone.as_str());
    let orders = export["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0]["order"]["id"], mine.to_string());
    assert_eq!(orders[0]["events"][0]["action"], "created");
    assert!(!export.to_string().contains(&neighbour.phone));
}

#[tokio::test]
async fn after_closing_the_account_no_answer_and_no_table_holds_the_phone() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, _) = partner(&app, &w, 3, None).await;
    let order = place(&w, &resident).await.id;
    // Leave traces everywhere: an idempotent order, a failed sign-in, a rated job.
    resident.create_order_once(&order_body(&w), "k1").await.unwrap();
    assert_eq!(app.login_response(&resident.phone, "wrong-password-here").await.status(), 401);
    w.dispatcher.dispatch(order, &[partner_id]).await.unwrap();
    member.accept(order).await.unwrap();
    member.start(order).await.unwrap();
    member.complete(order, "修好了", None).await.unwrap();
    resident.rate_with(order, &json!({"stars": 5, "comment": "谢谢刘师傅"})).await.unwrap();
    assert!(!tables_holding(&app, &resident.phone).await.is_empty(), "the scan finds the phone before");

    let wrong = app.post("/me/close", Some(&resident.access_token), &json!({"password": "nope-nope-nope"}));
    assert_eq!(app.call(wrong).await.0, 422);
    let close = app.post("/me/close", Some(&resident.access_token), &json!({"password": PASSWORD}));
    let (status, _) = app.call(close).await;
    assert_eq!(status, 204);

    assert_eq!(tables_holding(&app, &resident.phone).await, Vec::<String>::new());
    assert_eq!(app.call(app.get("/me", Some(&resident.access_token))).await.0, 401, "sessions ended");
    assert_eq!(app.login_response(&resident.phone, PASSWORD).await.status(), 401);
    for (who, token) in [("dispatcher", &w.dispatcher.access_token), ("admin", &w.admin.access_token)] {
        let (status, seen) = app.call(app.get(&format!("/orders/{order}"), Some(token))).await;
        assert_eq!(status, 200);
        assert!(!seen.to_string().contains(&resident.phone), "{who}");
        assert!(!seen.to_string().contains("王秀英"), "{who}");
        assert!(!seen.to_string().contains("进门左手边"), "{who}");
        assert_eq!(seen["category_code"], w.category.as_str(), "kept for the figures");
    }
    let ratings = w.admin.ratings(partner_id).await.unwrap();
    assert_eq!(ratings.items[0].stars, 5);
    assert_eq!(ratings.items[0].comment, None);
    assert_replays(&w.admin, order).await;
    // The phone is free again: a new person may register with it.
    let again = json!({"phone": resident.phone, "password": "a-new-life-2026", "display_name": "新用户"});
    assert_eq!(app.call(app.post("/auth/register", None, &again)).await.0, 201);
}

#[tokio::test]
async fn delete_me_answers_405_pointing_to_post_me_close_and_closes_nothing() {
    let app = TestApp::spawn().await;
    let resident = app.resident().await;
    let request = app.client.delete(app.url("/api/v1/me")).bearer_auth(&resident.access_token);
    let refused = request.json(&json!({"password": PASSWORD})).send().await.unwrap();
    assert_eq!(refused.status(), 405);
    assert_eq!(refused.headers()["allow"], "GET");
    let refused = problem(refused).await;
    assert_eq!(refused["code"], "method_not_allowed");
    assert!(refused["detail"].as_str().unwrap().contains("POST /me/close"), "{refused}");
    assert_eq!(app.call(app.get("/me", Some(&resident.access_token))).await.0, 200, "still open");
    let (_, doc) = app.call(app.client.get(app.url("/openapi.json"))).await;
    let me = &doc["paths"]["/api/v1/me"];
    assert!(me["get"].is_object() && me["delete"].is_null(), "{me}");
    assert!(doc["paths"]["/api/v1/me/close"]["post"].is_object());
}

#[tokio::test]
async fn closing_the_account_redacts_its_name_and_phone_from_every_text_about_it() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let (name, phone) = ("柏雪芹", next_phone());
    let spaced = format!("{} {} {}", &phone[..3], &phone[3..7], &phone[7..]);
    let body = json!({"phone": phone, "password": PASSWORD, "display_name": name});
    assert_eq!(app.call(app.post("/auth/register", None, &body)).await.0, 201);
    let resident = app.login(&phone, PASSWORD).await;
    let token = Some(resident.access_token.as_str());
    let staff = Some(w.dispatcher.access_token.as_str());
    let (member, partner_id, _) = partner(&app, &w, 3, None).await;

    // A partner application naming the resident as its contact, left pending.
    let mut application = partner_body("雪芹家政服务社", "household");
    application["contact_name"] = json!(name);
    application["contact_phone"] = json!(phone);
    application["description"] = json!(format!("负责人{name}，电话{spaced}"));
    let (status, applied) = app.call(app.post("/partners", token, &application)).await;
    assert_eq!(status, 201, "{applied}");
    let application = applied.id();
    // A second admin takes the partner over (written directly: how members join is not what
    // this test is about), so that she may leave.
    let successor = app.resident().await;
    let takeover = partner_member::ActiveModel {
        partner_id: Set(application),
        user_id: Set(successor.user_id),
        role: Set(MemberRole::Admin),
        created_at: Set(chrono::Utc::now()),
    };
    partner_member::Entity::insert(takeover).exec(app.db()).await.unwrap();
    // An order with a completion summary, a dispute, a staff note and a resolution about her.
    let order = place(&w, &resident).await.id;
    w.dispatcher.dispatch(order, &[partner_id]).await.unwrap();
    member.accept(order).await.unwrap();
    member.start(order).await.unwrap();
    member.complete(order, &format!("已为{name}修好，回访电话{phone}"), None).await.unwrap();
    resident.dispute(order, &format!("我是{name}，还在漏水，请打{spaced}")).await.unwrap();
    w.dispatcher.add_note(order, &format!("{name}的电话是{phone}，下午在家")).await.unwrap();
    w.dispatcher.resolve(order, Resolution::Close, &format!("已电话回访{name}")).await.unwrap();
    // A neighbour's order mentioning her phone.
    let neighbour = app.resident().await;
    let mut mention = order_body(&w);
    mention["description"] = json!(format!("楼上邻居电话{phone}，可以帮忙开门"));
    let other = neighbour.create_order(&mention).await.unwrap().id;
    assert!(!tables_holding(&app, name).await.is_empty(), "the scan finds the name before");

    let (status, _) = app.call(app.post("/me/close", token, &json!({"password": PASSWORD}))).await;
    assert_eq!(status, 204);

    for needle in [name, phone.as_str(), spaced.as_str()] {
        assert_eq!(tables_holding(&app, needle).await, Vec::<String>::new(), "{needle}");
    }
    let admin = Some(w.admin.access_token.as_str());
    let reads = [
        (staff, format!("/orders/{order}")),
        (staff, format!("/orders/{order}/notes")),
        (staff, format!("/orders/{order}/events?limit=100")),
        (staff, format!("/orders/{other}")),
        (admin, format!("/partners/{application}")),
        (admin, "/partners".to_owned()),
        (admin, "/audit?limit=100".to_owned()),
        (admin, "/users".to_owned()),
    ];
    for (who, path) in reads {
        let (status, seen) = app.call(app.get(&path, who)).await;
        assert_eq!(status, 200, "{path}: {seen}");
        let seen = seen.to_string();
        assert!(!seen.contains(name) && !seen.contains(&phone) && !seen.contains(&spaced), "{path}: {seen}");
    }
    let csv = app.get("/orders/export.csv", staff).send().await.unwrap().text().await.unwrap();
    assert!(!csv.contains(name) && !csv.contains(&phone), "{csv}");
    let other = w.dispatcher.get_order(other).await.unwrap();
    assert!(other.description.contains("可以帮忙开门"), "the rest of the text stays: {other:?}");
    let notes = w.dispatcher.notes(order).await.unwrap();
    assert!(notes.items.iter().any(|n| n.body.contains("已注销用户")), "{notes:?}");
}

#[tokio::test]
async fn contract_performance_matches_what_happened() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, contract) = partner(&app, &w, 5, Some(10)).await;
    // Three offers: one declined, two accepted; of those one completed and rated 4.
    let declined = place(&w, &resident).await.id;
    w.dispatcher.dispatch(declined, &[partner_id]).await.unwrap();
    member.decline(declined, "没空").await.unwrap();
    let done = place(&w, &resident).await.id;
    w.dispatcher.dispatch(done, &[partner_id]).await.unwrap();
    member.accept(done).await.unwrap();
    member.start(done).await.unwrap();
    member.complete(done, "ok", None).await.unwrap();
    resident.rate(done, 4).await.unwrap();
    let open = place(&w, &resident).await.id;
    w.dispatcher.dispatch(open, &[partner_id]).await.unwrap();
    member.accept(open).await.unwrap();

    let (status, perf) =
        app.call(app.get(&format!("/contracts/{contract}/performance"), Some(&w.dispatcher.access_token))).await;
    assert_eq!(status, 200, "{perf}");
    let months = perf["months"].as_array().unwrap();
    assert_eq!(months.len(), 1);
    let m = &months[0];
    assert_eq!((m["offered"].as_u64(), m["accepted"].as_u64(), m["declined"].as_u64()), (Some(3), Some(2), Some(1)));
    assert_eq!((m["completed"].as_u64(), m["completed_on_time"].as_u64()), (Some(1), Some(1)));
    assert_eq!(m["average_rating"], 4.0);
    assert_eq!((m["quota_used"].as_u64(), m["quota"].as_u64()), (Some(2), Some(10)));
    assert_eq!(
        app.call(app.get(&format!("/contracts/{contract}/performance?from=2020-13"), Some(&w.dispatcher.access_token)))
            .await
            .0,
        422
    );
    let (_, none) = app
        .call(app.get(&format!("/contracts/{contract}/performance?to=2020-01"), Some(&w.dispatcher.access_token)))
        .await;
    assert_eq!(none["months"], json!([]));
    assert_eq!(
        app.call(app.get(&format!("/contracts/{contract}/performance"), Some(&resident.access_token))).await.0,
        404
    );
}
