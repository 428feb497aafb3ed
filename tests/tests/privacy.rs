//! Personal-data rights and contract performance: export holds the resident's data and
//! nobody else's; after `DELETE /me` no answer and no table holds the phone; a contract's
//! monthly figures match orders whose numbers are known.

use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use serde_json::{Value, json};
use shenbian_tests::scene::{assert_replays, dispatch, partner, place, step, world};
use shenbian_tests::{PASSWORD, TestApp};
use uuid::Uuid;

fn id(v: &Value) -> Uuid {
    v["id"].as_str().unwrap().parse().unwrap()
}

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
    let mine = id(&place(&app, &w, &resident).await);
    place(&app, &w, &neighbour).await;
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
    let order = id(&place(&app, &w, &resident).await);
    // Leave traces everywhere: an idempotent order, a failed sign-in, a rated job.
    let (status, _) = app
        .call(
            app.post("/orders", Some(&resident.access_token), &shenbian_tests::scene::order_body(&w))
                .header("idempotency-key", "k1"),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(app.login_response(&resident.phone, "wrong-password-here").await.status(), 401);
    dispatch(&app, &w, order, &[partner_id]).await;
    step(&app, &member, order, "accept", None).await;
    step(&app, &member, order, "start", None).await;
    step(&app, &member, order, "complete", Some(json!({"summary": "修好了"}))).await;
    step(&app, &resident, order, "rating", Some(json!({"stars": 5, "comment": "谢谢刘师傅"}))).await;
    assert!(!tables_holding(&app, &resident.phone).await.is_empty(), "the scan finds the phone before");

    let wrong = app
        .client
        .delete(app.url("/api/v1/me"))
        .bearer_auth(&resident.access_token)
        .json(&json!({"password": "nope-nope-nope"}));
    assert_eq!(app.call(wrong).await.0, 422);
    let erase = app
        .client
        .delete(app.url("/api/v1/me"))
        .bearer_auth(&resident.access_token)
        .json(&json!({"password": PASSWORD}));
    let (status, _) = app.call(erase).await;
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
    let (_, ratings) =
        app.call(app.get(&format!("/providers/{partner_id}/ratings"), Some(&w.admin.access_token))).await;
    assert_eq!(ratings["items"][0]["stars"], 5);
    assert_eq!(ratings["items"][0]["comment"], Value::Null);
    assert_replays(&app, &w.admin, order).await;
    // The phone is free again: a new person may register with it.
    let again = json!({"phone": resident.phone, "password": "a-new-life-2026", "display_name": "新用户"});
    assert_eq!(app.call(app.post("/auth/register", None, &again)).await.0, 201);
}

#[tokio::test]
async fn contract_performance_matches_what_happened() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, contract) = partner(&app, &w, 5, Some(10)).await;
    // Three offers: one declined, two accepted; of those one completed and rated 4.
    let declined = id(&place(&app, &w, &resident).await);
    dispatch(&app, &w, declined, &[partner_id]).await;
    step(&app, &member, declined, "decline", Some(json!({"reason": "没空"}))).await;
    let done = id(&place(&app, &w, &resident).await);
    dispatch(&app, &w, done, &[partner_id]).await;
    step(&app, &member, done, "accept", None).await;
    step(&app, &member, done, "start", None).await;
    step(&app, &member, done, "complete", Some(json!({"summary": "ok"}))).await;
    step(&app, &resident, done, "rating", Some(json!({"stars": 4}))).await;
    let open = id(&place(&app, &w, &resident).await);
    dispatch(&app, &w, open, &[partner_id]).await;
    step(&app, &member, open, "accept", None).await;

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
