//! Bad input of every kind is a clear problem+json 4xx and changes nothing; a panic is an
//! opaque 500 and the server lives on; every answer carries a request id.

use axum::routing::get;
use serde_json::{Value, json};
use shenbian_tests::shenbian::state::SystemClock;
use shenbian_tests::{PASSWORD, TestApp, next_phone, problem};
use std::sync::Arc;

#[tokio::test]
async fn malformed_json_is_400_and_a_wrong_shape_is_422_naming_the_field() {
    let app = TestApp::spawn().await;
    let url = app.url("/api/v1/auth/register");
    let send = |body: &'static str| app.client.post(&url).header("content-type", "application/json").body(body).send();

    let malformed = send(r#"{"phone": "139"#).await.unwrap();
    assert_eq!(malformed.status(), 400);
    assert_eq!(problem(malformed).await["code"], "malformed_request");

    let trailing = send(r#"{"phone":"1","password":"2","display_name":"3"} {}"#).await.unwrap();
    assert_eq!(trailing.status(), 400);

    let wrong_type = send(r#"{"phone": 13900000000, "password": "x", "display_name": "y"}"#).await.unwrap();
    assert_eq!(wrong_type.status(), 422);
    assert_eq!(problem(wrong_type).await["errors"][0]["field"], "phone");

    let missing = send(r#"{"phone": "13900000000"}"#).await.unwrap();
    assert_eq!(missing.status(), 422);

    let not_an_object = send("[1,2,3]").await.unwrap();
    assert_eq!(not_an_object.status(), 422);
}

#[tokio::test]
async fn unknown_fields_are_refused_so_no_one_sets_roles_by_mass_assignment() {
    let app = TestApp::spawn().await;
    let phone = next_phone();
    let body = json!({"phone": phone, "password": PASSWORD, "display_name": "张三", "roles": ["admin"]});
    let response = app.post("/auth/register", None, &body).send().await.unwrap();
    assert_eq!(response.status(), 422);
    let problem = problem(response).await;
    assert_eq!(problem["errors"][0]["field"], "roles");
    assert!(problem["errors"][0]["message"].as_str().unwrap().contains("unknown field"));
    assert_eq!(app.login_response(&phone, PASSWORD).await.status(), 401, "nothing was created");
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let app = TestApp::spawn().await;
    let url = app.url("/api/v1/auth/login");
    let form = app
        .client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("phone=1")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 415);
    assert_eq!(problem(form).await["code"], "unsupported_media_type");
    let none = app.client.post(&url).body("{}").send().await.unwrap();
    assert_eq!(none.status(), 415);
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_413() {
    let app = TestApp::spawn().await;
    let big = format!(r#"{{"phone":"{}","password":"x","display_name":"y"}}"#, "1".repeat(1024 * 1024 + 10));
    let response = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(problem(response).await["code"], "payload_too_large");
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_problems() {
    let app = TestApp::spawn().await;
    let missing = app.get("/nowhere", None).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(problem(missing).await["code"], "not_found");
    let wrong_method = app.client.delete(app.url("/api/v1/auth/login")).send().await.unwrap();
    assert_eq!(wrong_method.status(), 405);
    assert!(wrong_method.headers().contains_key("allow"));
    assert_eq!(problem(wrong_method).await["code"], "method_not_allowed");
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_keeps_the_callers() {
    let app = TestApp::spawn().await;
    for path in ["/healthz", "/api/v1/me", "/api/v1/nowhere"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        let id = response.headers().get("x-request-id").expect("x-request-id").to_str().unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{path}: {id}");
    }
    let response = app.client.get(app.url("/healthz")).header("x-request-id", "trace-me-42").send().await.unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-me-42");
}

#[tokio::test]
async fn a_panicking_handler_answers_an_opaque_500_and_the_server_lives_on() {
    let extra = axum::Router::new().route(
        "/test/panic",
        get(|| async {
            if true {
                panic!("secret internal detail");
            }
            "unreachable"
        }),
    );
    let app = TestApp::spawn_full(|_| {}, Arc::new(SystemClock), extra).await;
    let response = app.client.get(app.url("/test/panic")).send().await.unwrap();
    assert_eq!(response.status(), 500);
    let body: Value = problem(response).await;
    assert_eq!(body["code"], "internal");
    assert!(!body.to_string().contains("secret internal detail"));
    assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_request_past_the_time_limit_is_503() {
    let extra = axum::Router::new().route(
        "/test/slow",
        get(|| async {
            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
            "late"
        }),
    );
    let app = TestApp::spawn_full(|s| s.request_timeout_secs = 1, Arc::new(SystemClock), extra).await;
    let response = app.client.get(app.url("/test/slow")).send().await.unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(problem(response).await["code"], "unavailable");
}

#[tokio::test]
async fn a_missing_field_is_named() {
    let app = TestApp::spawn().await;
    let response = app.post("/auth/login", None, &json!({"phone": next_phone()})).send().await.unwrap();
    assert_eq!(response.status(), 422);
    assert_eq!(problem(response).await["errors"][0]["field"], "password");
}

#[tokio::test]
async fn a_role_that_may_never_call_a_route_is_403_whatever_the_request_says() {
    let app = TestApp::spawn().await;
    let community = app.community().await;
    let resident = app.resident().await;
    let dispatcher = app.dispatcher(community).await;
    let (res, disp) = (Some(resident.access_token.as_str()), Some(dispatcher.access_token.as_str()));
    let hide = format!("/ratings/{}/hide", uuid::Uuid::now_v7());
    let refusals = [
        ("a resident records a contract", app.post("/contracts", res, &json!({"title": ""}))),
        ("a resident hides a comment", app.post(&hide, res, &json!({"reason": " "}))),
        ("a resident exports hours", app.get("/volunteers/hours.csv?unknown=1", res)),
        ("a dispatcher applies to volunteer", app.post("/volunteers", disp, &json!({"skills": []}))),
    ];
    for (what, request) in refusals {
        let (status, answer) = app.call(request).await;
        assert_eq!((status, answer["code"].as_str()), (403, Some("forbidden")), "{what}: {answer}");
    }
}

#[tokio::test]
async fn a_nul_character_in_a_parameter_or_a_body_is_a_422_on_either_database() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let token = Some(admin.access_token.as_str());
    let (status, problem) = app.call(app.get("/orders/export.csv?category_code=a%00b", token)).await;
    assert_eq!((status, problem["errors"][0]["field"].as_str()), (422, Some("category_code")), "{problem}");
    let (status, problem) = app.call(app.get("/orders?number=%00", token)).await;
    assert_eq!(status, 422, "{problem}");
    let body = serde_json::json!({"code": "nul_test", "name_zh": "a\u{0}b", "name_en": "x", "group": "g",
        "sla": {"normal": {"dispatch": 1, "accept": 1, "complete": 1}, "urgent": {"dispatch": 1, "accept": 1, "complete": 1},
        "emergency": {"dispatch": 1, "accept": 1, "complete": 1}}});
    let (status, problem) = app.call(app.post("/categories", token, &body)).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(app.call(app.get("/categories/nul_test", None)).await.0, 404, "nothing was written");
    assert_eq!(app.call(app.get("/categories/a%00b", None)).await.0, 404);
}
