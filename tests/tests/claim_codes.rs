//! Claim codes for accounts a dispatcher makes on a resident's behalf: a code is given only
//! to a dispatcher who may already see every order the account holds, a new code leaves the
//! earlier ones valid, and a repeated answer to an `Idempotency-Key` never holds the code.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use shenbian_tests::scene::{World, order_body, world};
use shenbian_tests::shenbian::entity::idempotency_key;
use shenbian_tests::{Actor, TestApp, next_phone};
use uuid::Uuid;

/// A dispatcher's hotline entry for `phone` in `community` at `compound`.
fn hotline_order(w: &World, community: Uuid, compound: Uuid, phone: &str) -> Value {
    let mut body = order_body(w);
    body["community_id"] = json!(community);
    body["address"] = json!({"compound_id": compound, "unit": "1单元", "room": "102"});
    body["channel"] = json!("hotline_12345");
    body["on_behalf_of_phone"] = json!(phone);
    body["resident_name"] = json!("赵大爷");
    body
}

/// A second community with its own dispatcher and compound.
async fn other_community(app: &TestApp) -> (Uuid, Actor, Uuid) {
    let community = app.community().await;
    let dispatcher = app.dispatcher(community).await;
    let compound = app.compound(&dispatcher, community, "和谐家园").await;
    (community, dispatcher, compound)
}

async fn enter(app: &TestApp, dispatcher: &Actor, body: &Value) -> Value {
    let (status, order) = app.call(app.post("/orders", Some(&dispatcher.access_token), body)).await;
    assert_eq!(status, 201, "{order}");
    order
}

async fn claim(app: &TestApp, phone: &str, code: &Value) -> (u16, Value) {
    let body = json!({"phone": phone, "code": code, "password": "my-own-secret-1"});
    app.call(app.post("/auth/claim", None, &body)).await
}

#[tokio::test]
async fn a_dispatcher_of_another_community_gets_no_code_and_the_first_code_still_works() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let (community_b, dispatcher_b, compound_b) = other_community(&app).await;
    let phone = next_phone();
    let first = enter(&app, &w.dispatcher, &hotline_order(&w, w.community, w.compound, &phone)).await;
    let code = first["claim_code"].clone();
    assert!(code.is_string(), "the first dispatcher gets a code: {first}");

    // The other community's dispatcher enters orders for the same phone, twice: an order
    // of their own community does not earn them a code either.
    let body_b = hotline_order(&w, community_b, compound_b, &phone);
    for _ in 0..2 {
        let second = enter(&app, &dispatcher_b, &body_b).await;
        assert_eq!(second["claim_code"], Value::Null, "no code for a dispatcher who may not see every order");
    }

    let (status, signed_in) = claim(&app, &phone, &code).await;
    assert_eq!(status, 200, "the first code still works: {signed_in}");
    let token = signed_in["access_token"].as_str().unwrap();
    let (_, mine) = app.call(app.get("/orders", Some(token))).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn a_dispatcher_of_the_same_community_gets_a_fresh_code_and_the_first_stays_valid() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let colleague = app.dispatcher(w.community).await;
    let phone = next_phone();
    let body = hotline_order(&w, w.community, w.compound, &phone);
    let first = enter(&app, &w.dispatcher, &body).await;
    let second = enter(&app, &colleague, &body).await;
    assert!(first["claim_code"].is_string(), "{first}");
    assert!(second["claim_code"].is_string(), "every order of the account is in the colleague's community: {second}");

    let (status, signed_in) = claim(&app, &phone, &first["claim_code"]).await;
    assert_eq!(status, 200, "a new code leaves the earlier one valid: {signed_in}");
}

#[tokio::test]
async fn a_claimed_account_gets_no_code() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let order = enter(&app, &w.dispatcher, &hotline_order(&w, w.community, w.compound, &resident.phone)).await;
    assert_eq!(order["claim_code"], Value::Null);
}

#[tokio::test]
async fn a_retry_with_the_same_idempotency_key_gets_the_order_without_the_code() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let phone = next_phone();
    let body = hotline_order(&w, w.community, w.compound, &phone);
    let send =
        || app.post("/orders", Some(&w.dispatcher.access_token), &body).header("idempotency-key", "hotline-0001");
    let (status, first) = app.call(send()).await;
    assert_eq!(status, 201, "{first}");
    let code = first["claim_code"].as_str().expect("a code in the first answer").to_owned();
    assert_eq!(first.get("claim_code_note"), None);

    let (status, again) = app.call(send()).await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["id"], first["id"], "the same order");
    assert_eq!(again["claim_code"], Value::Null, "the code is shown once");
    assert!(again["claim_code_note"].as_str().is_some_and(|n| n.contains("once")), "{again}");

    let kept = idempotency_key::Entity::find()
        .filter(idempotency_key::Column::UserId.eq(w.dispatcher.user_id))
        .all(app.db())
        .await
        .unwrap();
    assert_eq!(kept.len(), 1);
    assert!(!kept[0].body.contains(&code), "the stored answer holds no claim code");
    assert!(kept[0].body.contains(first["id"].as_str().unwrap()), "it holds the order");

    let (status, _) = claim(&app, &phone, &json!(code)).await;
    assert_eq!(status, 200, "the code given first still works");
}
