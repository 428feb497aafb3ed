//! Staff accounts: only admins make and manage them; deactivation takes effect at once;
//! every admin action is audited.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use shenbian_tests::shenbian::entity::audit_log;
use shenbian_tests::{PASSWORD, TestApp, next_phone, problem};

#[tokio::test]
async fn an_admin_creates_a_dispatcher_who_can_sign_in() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let community = app.community().await;
    let phone = next_phone();
    let body = json!({"phone": phone, "password": "initial-password-1", "display_name": "赵调度", "roles": ["dispatcher"], "community_id": community});
    let created = app.post("/users", Some(&admin.access_token), &body).send().await.unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    assert_eq!(created["roles"], json!(["dispatcher"]));
    assert_eq!(created["community_id"], community.to_string());

    let dispatcher = app.login(&phone, "initial-password-1").await;
    let me: Value = app.get("/me", Some(&dispatcher.access_token)).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["roles"], json!(["dispatcher"]));

    let audited = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("user.create"))
        .filter(audit_log::Column::ObjectId.eq(created["id"].as_str().unwrap()))
        .one(app.db())
        .await
        .unwrap()
        .expect("an audit entry");
    assert_eq!(audited.actor_id, Some(admin.user_id));
}

#[tokio::test]
async fn staff_accounts_are_checked() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let token = Some(admin.access_token.as_str());
    let no_community = json!({"phone": next_phone(), "password": "initial-password-1", "display_name": "赵调度", "roles": ["dispatcher"]});
    let response = app.post("/users", token, &no_community).send().await.unwrap();
    assert_eq!(response.status(), 422);
    assert_eq!(problem(response).await["errors"][0]["field"], "roles");

    let unknown_role =
        json!({"phone": next_phone(), "password": "initial-password-1", "display_name": "赵", "roles": ["superuser"]});
    let response = app.post("/users", token, &unknown_role).send().await.unwrap();
    assert_eq!(response.status(), 422);
    assert_eq!(problem(response).await["errors"][0]["field"], "roles[0]");

    let unknown_community = json!({"phone": next_phone(), "password": "initial-password-1", "display_name": "赵", "roles": ["dispatcher"], "community_id": uuid::Uuid::now_v7()});
    assert_eq!(app.post("/users", token, &unknown_community).send().await.unwrap().status(), 422);

    let taken =
        json!({"phone": admin.phone, "password": "initial-password-1", "display_name": "赵", "roles": ["admin"]});
    assert_eq!(app.post("/users", token, &taken).send().await.unwrap().status(), 409);
}

#[tokio::test]
async fn only_admins_manage_staff() {
    let app = TestApp::spawn().await;
    let community = app.community().await;
    let resident = app.resident().await;
    let dispatcher = app.dispatcher(community).await;
    for actor in [&resident, &dispatcher] {
        let token = Some(actor.access_token.as_str());
        let body =
            json!({"phone": next_phone(), "password": "initial-password-1", "display_name": "赵", "roles": ["admin"]});
        let response = app.post("/users", token, &body).send().await.unwrap();
        assert_eq!(response.status(), 403);
        assert_eq!(problem(response).await["code"], "forbidden");
        assert_eq!(app.get("/users", token).send().await.unwrap().status(), 403);
        let path = format!("/users/{}/deactivate", resident.user_id);
        assert_eq!(app.post_empty(&path, token).send().await.unwrap().status(), 403);
    }
    assert_eq!(app.get("/users", None).send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn deactivation_takes_effect_at_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let resident = app.resident().await;
    assert_eq!(app.get("/me", Some(&resident.access_token)).send().await.unwrap().status(), 200);

    let path = format!("/users/{}/deactivate", resident.user_id);
    let response = app.post_empty(&path, Some(&admin.access_token)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["status"], "deactivated");

    assert_eq!(app.get("/me", Some(&resident.access_token)).send().await.unwrap().status(), 401);
    let refresh = json!({"refresh_token": resident.refresh_token});
    assert_eq!(app.post("/auth/refresh", None, &refresh).send().await.unwrap().status(), 401);
    assert_eq!(app.login_response(&resident.phone, PASSWORD).await.status(), 401);

    // Deactivating again is a state conflict; a reset code for it too.
    assert_eq!(app.post_empty(&path, Some(&admin.access_token)).send().await.unwrap().status(), 409);
    let reset = format!("/users/{}/reset-code", resident.user_id);
    assert_eq!(app.post_empty(&reset, Some(&admin.access_token)).send().await.unwrap().status(), 409);
    // An admin cannot lock themselves out.
    let own = format!("/users/{}/deactivate", admin.user_id);
    assert_eq!(app.post_empty(&own, Some(&admin.access_token)).send().await.unwrap().status(), 409);
}

#[tokio::test]
async fn unknown_or_malformed_ids_are_404() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let token = Some(admin.access_token.as_str());
    let unknown = format!("/users/{}/deactivate", uuid::Uuid::now_v7());
    assert_eq!(app.post_empty(&unknown, token).send().await.unwrap().status(), 404);
    let malformed = app.post_empty("/users/not-a-uuid/reset-code", token).send().await.unwrap();
    assert_eq!(malformed.status(), 404);
    assert_eq!(problem(malformed).await["code"], "not_found");
}

#[tokio::test]
async fn the_staff_list_pages_by_cursor_and_filters() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let community = app.community().await;
    for _ in 0..3 {
        app.dispatcher(community).await;
    }
    app.resident().await;
    let token = Some(admin.access_token.as_str());

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("/users?role=dispatcher&limit=2&cursor={c}"),
            None => "/users?role=dispatcher&limit=2".to_owned(),
        };
        let page: Value = app.get(&query, token).send().await.unwrap().json().await.unwrap();
        for item in page["items"].as_array().unwrap() {
            assert_eq!(item["roles"], json!(["dispatcher"]));
            seen.push(item["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 3);
    let mut unique = seen.clone();
    unique.dedup();
    assert_eq!(unique, seen, "no item twice");

    let all: Value = app.get("/users", token).send().await.unwrap().json().await.unwrap();
    assert_eq!(all["items"].as_array().unwrap().len(), 5);
    assert_eq!(all["next_cursor"], Value::Null);
    assert_eq!(app.get("/users?limit=0", token).send().await.unwrap().status(), 422);
    assert_eq!(app.get("/users?limit=101", token).send().await.unwrap().status(), 422);
    assert_eq!(app.get("/users?cursor=%%%", token).send().await.unwrap().status(), 422);
    assert_eq!(app.get("/users?status=sleeping", token).send().await.unwrap().status(), 422);
}
