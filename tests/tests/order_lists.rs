//! Seeing orders: filters and keyset pages, no mass assignment, and audited staff reads.

use serde_json::{Value, json};
use shenbian_tests::TestApp;
use shenbian_tests::scene::{order_body, place, world};

#[tokio::test]
async fn the_order_list_filters_and_pages_without_repeats() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let mut placed = Vec::new();
    for i in 0..5 {
        let mut body = order_body(&w);
        body["urgency"] = json!(if i % 2 == 0 { "normal" } else { "emergency" });
        let (status, order) = app.call(app.post("/orders", Some(&resident.access_token), &body)).await;
        assert_eq!(status, 201);
        placed.push(order["id"].as_str().unwrap().to_owned());
    }
    let token = Some(w.dispatcher.access_token.as_str());
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = app.call(app.get(&format!("/orders?limit=2&cursor={cursor}"), token)).await;
        assert_eq!(status, 200);
        seen.extend(page["items"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    placed.reverse();
    assert_eq!(seen, placed, "newest first, each once");

    let (_, emergencies) = app.call(app.get("/orders?urgency=emergency", token)).await;
    assert_eq!(emergencies["items"].as_array().unwrap().len(), 2);
    let (_, pending) = app.call(app.get(&format!("/orders?status=pending&category_code={}", w.category), token)).await;
    assert_eq!(pending["items"].as_array().unwrap().len(), 5);
    let (_, none) = app.call(app.get("/orders?status=closed", token)).await;
    assert_eq!(none["items"], json!([]));
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).format("%Y-%m-%dT%H:%M:%SZ");
    let (_, future) = app.call(app.get(&format!("/orders?from={tomorrow}"), token)).await;
    assert_eq!(future["items"], json!([]));
    let (status, far) = app.call(app.get("/orders?from=2099-01-01T00:00:00Z", token)).await;
    assert_eq!((status, far["errors"][0]["field"].clone()), (422, json!("from")), "a year ahead at most");
    assert_eq!(app.call(app.get("/orders?status=sleeping", token)).await.0, 422);
    assert_eq!(app.call(app.get("/orders?from=yesterday", token)).await.0, 422);
    let (_, overdue) = app.call(app.get("/orders?overdue=true", token)).await;
    assert_eq!(overdue["items"], json!([]), "nothing is late yet");
}

#[tokio::test]
async fn no_request_body_sets_what_the_caller_may_not_set() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    for (field, value) in [
        ("status", json!("closed")),
        ("provider_id", json!(uuid::Uuid::now_v7())),
        ("resident_id", json!(uuid::Uuid::now_v7())),
        ("version", json!(9)),
    ] {
        let mut body = order_body(&w);
        body[field] = value;
        let (status, problem) = app.call(app.post("/orders", Some(&resident.access_token), &body)).await;
        assert_eq!(status, 422, "{field}");
        assert_eq!(problem["errors"][0]["field"], field);
    }
    let (_, mine) = app.call(app.get("/orders", Some(&resident.access_token))).await;
    assert_eq!(mine["items"], json!([]), "nothing was created");
}

#[tokio::test]
async fn staff_reads_of_an_order_are_audited_and_the_residents_own_are_not() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let order: Value = place(&app, &w, &resident).await;
    let id = order["id"].as_str().unwrap();
    app.call(app.get(&format!("/orders/{id}"), Some(&resident.access_token))).await;
    let (_, audit) =
        app.call(app.get(&format!("/audit?action=order.read&object_id={id}"), Some(&w.admin.access_token))).await;
    assert_eq!(audit["items"], json!([]));
    app.call(app.get(&format!("/orders/{id}"), Some(&w.dispatcher.access_token))).await;
    let (_, audit) =
        app.call(app.get(&format!("/audit?action=order.read&object_id={id}"), Some(&w.admin.access_token))).await;
    assert_eq!(audit["items"][0]["actor"], w.dispatcher.user_id.to_string());
}
