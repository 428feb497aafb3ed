//! Accounts and sign-in: register, login, refresh rotation and reuse, logout, password
//! change, and one-time codes.

use futures_util::future::join_all;
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};
use shenbian_tests::shenbian::entity::one_time_code;
use shenbian_tests::{PASSWORD, TestApp, next_phone, problem};
use uuid::Uuid;

#[tokio::test]
async fn a_resident_registers_signs_in_and_sees_their_own_account() {
    let app = TestApp::spawn().await;
    let phone = next_phone();
    let body = json!({"phone": format!("+86 {phone}"), "password": PASSWORD, "display_name": "王秀英"});
    let registered = app.post("/auth/register", None, &body).send().await.unwrap();
    assert_eq!(registered.status(), 201);

    let login = app.login_response(&phone, PASSWORD).await;
    assert_eq!(login.status(), 200);
    let login: Value = login.json().await.unwrap();
    assert_eq!(login["token_type"], "Bearer");
    assert_eq!(login["expires_in"], 900);
    assert_eq!(login["user"]["roles"], json!(["resident"]));

    let me = app.get("/me", login["access_token"].as_str()).send().await.unwrap();
    assert_eq!(me.status(), 200);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["phone"], phone.as_str(), "the phone is stored as its 11 digits and shown to its owner");
    assert_eq!(me["display_name"], "王秀英");
    assert_eq!(me["status"], "active");
}

#[tokio::test]
async fn registration_names_every_bad_field() {
    let app = TestApp::spawn().await;
    let body = json!({"phone": "12345", "password": "12345678", "display_name": " "});
    let response = app.post("/auth/register", None, &body).send().await.unwrap();
    assert_eq!(response.status(), 422);
    let problem = problem(response).await;
    assert_eq!(problem["code"], "validation_failed");
    let fields: Vec<&str> =
        problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["phone", "password", "display_name"]);

    let short = json!({"phone": next_phone(), "password": "abc", "display_name": "张三"});
    assert_eq!(app.post("/auth/register", None, &short).send().await.unwrap().status(), 422);
    let long = json!({"phone": next_phone(), "password": "x1".repeat(65), "display_name": "张三"});
    assert_eq!(app.post("/auth/register", None, &long).send().await.unwrap().status(), 422);
}

#[tokio::test]
async fn a_phone_registers_once() {
    let app = TestApp::spawn().await;
    let resident = app.resident().await;
    let again = json!({"phone": resident.phone, "password": "another-good-one", "display_name": "冒名"});
    let response = app.post("/auth/register", None, &again).send().await.unwrap();
    assert_eq!(response.status(), 409);
    assert_eq!(problem(response).await["code"], "phone_taken");
    // The first account still signs in with its own password.
    assert_eq!(app.login_response(&resident.phone, PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn a_home_community_must_exist() {
    let app = TestApp::spawn().await;
    let community = app.community().await;
    let ok =
        json!({"phone": next_phone(), "password": PASSWORD, "display_name": "张三", "home_community_id": community});
    let response = app.post("/auth/register", None, &ok).send().await.unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user"]["home_community_id"], community.to_string());

    let unknown = json!({"phone": next_phone(), "password": PASSWORD, "display_name": "张三", "home_community_id": uuid::Uuid::now_v7()});
    let response = app.post("/auth/register", None, &unknown).send().await.unwrap();
    assert_eq!(response.status(), 422);
    assert_eq!(problem(response).await["errors"][0]["field"], "home_community_id");
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_phone_get_the_same_answer() {
    let app = TestApp::spawn().await;
    let resident = app.resident().await;
    let wrong = app.login_response(&resident.phone, "not-the-password").await;
    let unknown = app.login_response(&next_phone(), "not-the-password").await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(unknown.status(), 401);
    assert_eq!(wrong.headers().get("www-authenticate"), unknown.headers().get("www-authenticate"));
    let (wrong, unknown): (Value, Value) = (wrong.json().await.unwrap(), unknown.json().await.unwrap());
    assert_eq!(wrong, unknown);
    assert_eq!(wrong["code"], "invalid_credentials");
}

#[tokio::test]
async fn a_refresh_token_works_once_and_its_reuse_ends_the_session() {
    let app = TestApp::spawn().await;
    let resident = app.resident().await;

    let first =
        app.post("/auth/refresh", None, &json!({"refresh_token": resident.refresh_token})).send().await.unwrap();
    assert_eq!(first.status(), 200);
    let pair: Value = first.json().await.unwrap();
    let (new_access, new_refresh) = (pair["access_token"].as_str().unwrap(), pair["refresh_token"].as_str().unwrap());
    assert_ne!(new_refresh, resident.refresh_token);
    assert_eq!(app.get("/me", Some(new_access)).send().await.unwrap().status(), 200);

    // The spent token presented again: refused, and the whole family dies with it.
    let replay =
        app.post("/auth/refresh", None, &json!({"refresh_token": resident.refresh_token})).send().await.unwrap();
    assert_eq!(replay.status(), 401);
    assert_eq!(app.get("/me", Some(new_access)).send().await.unwrap().status(), 401);
    let later = app.post("/auth/refresh", None, &json!({"refresh_token": new_refresh})).send().await.unwrap();
    assert_eq!(later.status(), 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_ten_racing_refreshes_one_wins_and_its_pair_dies_with_the_family() {
    let app = TestApp::spawn().await;
    let resident = app.resident().await;
    let body = json!({"refresh_token": resident.refresh_token});
    let answers = join_all((0..10).map(|_| app.post("/auth/refresh", None, &body).send())).await;
    let mut winners = Vec::new();
    for answer in answers {
        let answer = answer.unwrap();
        match answer.status().as_u16() {
            200 => winners.push(answer.json::<Value>().await.unwrap()),
            401 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one refresh wins");
    let winner = &winners[0];
    assert_eq!(app.get("/me", winner["access_token"].as_str()).send().await.unwrap().status(), 401);
    let next = json!({"refresh_token": winner["refresh_token"]});
    assert_eq!(app.post("/auth/refresh", None, &next).send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn logout_ends_the_session_at_once() {
    let app = TestApp::spawn().await;
    let resident = app.resident().await;
    let other_device = app.login(&resident.phone, PASSWORD).await;

    let out = app.post_empty("/auth/logout", Some(&resident.access_token)).send().await.unwrap();
    assert_eq!(out.status(), 204);
    assert_eq!(app.get("/me", Some(&resident.access_token)).send().await.unwrap().status(), 401);
    let refresh = json!({"refresh_token": resident.refresh_token});
    assert_eq!(app.post("/auth/refresh", None, &refresh).send().await.unwrap().status(), 401);
    // Only that session: the other device stays signed in.
    assert_eq!(app.get("/me", Some(&other_device.access_token)).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_the_other_sessions() {
    let app = TestApp::spawn().await;
    let resident = app.resident().await;
    let other_device = app.login(&resident.phone, PASSWORD).await;
    let token = Some(resident.access_token.as_str());

    let wrong = json!({"current_password": "guess-guess-guess", "new_password": "a-brand-new-secret"});
    let response = app.post("/me/password", token, &wrong).send().await.unwrap();
    assert_eq!(response.status(), 422);
    assert_eq!(problem(response).await["errors"][0]["field"], "current_password");

    let weak = json!({"current_password": PASSWORD, "new_password": "password"});
    assert_eq!(app.post("/me/password", token, &weak).send().await.unwrap().status(), 422);

    let right = json!({"current_password": PASSWORD, "new_password": "a-brand-new-secret"});
    assert_eq!(app.post("/me/password", token, &right).send().await.unwrap().status(), 204);
    assert_eq!(app.get("/me", token).send().await.unwrap().status(), 200, "this session carries on");
    assert_eq!(app.get("/me", Some(&other_device.access_token)).send().await.unwrap().status(), 401);
    assert_eq!(app.login_response(&resident.phone, PASSWORD).await.status(), 401);
    assert_eq!(app.login_response(&resident.phone, "a-brand-new-secret").await.status(), 200);
}

#[tokio::test]
async fn a_reset_code_sets_a_new_password_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let resident = app.resident().await;

    let issued = app
        .post_empty(&format!("/users/{}/reset-code", resident.user_id), Some(&admin.access_token))
        .send()
        .await
        .unwrap();
    assert_eq!(issued.status(), 201);
    let code = issued.json::<Value>().await.unwrap()["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 8);

    let wrong_code = json!({"phone": resident.phone, "code": "00000000", "password": "fresh-start-please"});
    let wrong_code = if code == "00000000" {
        json!({"phone": resident.phone, "code": "11111111", "password": "fresh-start-please"})
    } else {
        wrong_code
    };
    assert_eq!(app.post("/auth/claim", None, &wrong_code).send().await.unwrap().status(), 401);

    let claim = json!({"phone": resident.phone, "code": code, "password": "fresh-start-please"});
    let claimed = app.post("/auth/claim", None, &claim).send().await.unwrap();
    assert_eq!(claimed.status(), 200);
    let claimed: Value = claimed.json().await.unwrap();
    assert_eq!(app.get("/me", claimed["access_token"].as_str()).send().await.unwrap().status(), 200);

    // The old session ended, the old password no longer works, the code is spent.
    assert_eq!(app.get("/me", Some(&resident.access_token)).send().await.unwrap().status(), 401);
    assert_eq!(app.login_response(&resident.phone, PASSWORD).await.status(), 401);
    assert_eq!(app.login_response(&resident.phone, "fresh-start-please").await.status(), 200);
    let again = json!({"phone": resident.phone, "code": code, "password": "yet-another-secret"});
    assert_eq!(app.post("/auth/claim", None, &again).send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn a_new_reset_code_retires_the_previous_one() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let resident = app.resident().await;
    let path = format!("/users/{}/reset-code", resident.user_id);
    let first: Value = app.post_empty(&path, Some(&admin.access_token)).send().await.unwrap().json().await.unwrap();
    let second: Value = app.post_empty(&path, Some(&admin.access_token)).send().await.unwrap().json().await.unwrap();
    if first["code"] != second["code"] {
        let old = json!({"phone": resident.phone, "code": first["code"], "password": "fresh-start-please"});
        assert_eq!(app.post("/auth/claim", None, &old).send().await.unwrap().status(), 401);
    }
    let new = json!({"phone": resident.phone, "code": second["code"], "password": "fresh-start-please"});
    assert_eq!(app.post("/auth/claim", None, &new).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn redeeming_a_code_voids_every_other_unused_code_of_the_account() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let resident = app.resident().await;
    let path = format!("/users/{}/reset-code", resident.user_id);
    let issued = app.call(app.post_empty(&path, Some(&admin.access_token))).await.1;
    let code = issued["code"].as_str().unwrap();
    // A leftover claim code given out besides, still valid (written directly: how codes are
    // issued is not what this test is about).
    let now = chrono::Utc::now();
    let leftover_hash = app.state.keys().unwrap().keyed_hash(&format!("code:{}", resident.user_id), "24681357");
    let leftover = one_time_code::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(resident.user_id),
        purpose: Set(one_time_code::CodePurpose::Claim),
        code_hash: Set(leftover_hash),
        created_by: Set(None),
        created_at: Set(now),
        expires_at: Set(now + chrono::Duration::hours(24)),
        used_at: Set(None),
    };
    one_time_code::Entity::insert(leftover).exec(app.db()).await.unwrap();

    let claim = json!({"phone": resident.phone, "code": code, "password": "fresh-start-please"});
    assert_eq!(app.post("/auth/claim", None, &claim).send().await.unwrap().status(), 200);

    let late = json!({"phone": resident.phone, "code": "24681357", "password": "taken-over-at-last"});
    let refused = app.post("/auth/claim", None, &late).send().await.unwrap();
    assert_eq!(refused.status(), 401, "the leftover code died with the redeemed one");
    assert_eq!(problem(refused).await["code"], "invalid_code");
    assert_eq!(app.login_response(&resident.phone, "fresh-start-please").await.status(), 200);
}
