//! Claim codes for accounts a dispatcher makes on a resident's behalf: a code is given only
//! to a dispatcher who may already see every order the account holds, a new code leaves the
//! earlier ones valid, and a repeated answer to an `Idempotency-Key` never holds the code.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use shenbian_tests::scene::{World, order_body, world};
use shenbian_tests::shenbian::entity::idempotency_key;
use shenbian_tests::{Actor, TestApp, next_phone};
use uuid::Uuid;

const PASSWORD: &str = "my-own-secret-1";

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

#[tokio::test]
async fn a_dispatcher_of_another_community_gets_no_code_and_the_first_code_still_works() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let (community_b, dispatcher_b, compound_b) = other_community(&app).await;
    let phone = next_phone();
    let first = w.dispatcher.create_order(&hotline_order(&w, w.community, w.compound, &phone)).await.unwrap();
    let code = first.claim_code.clone().expect("the first dispatcher gets a code");

    // The other community's dispatcher enters orders for the same phone, twice: an order
    // of their own community does not earn them a code either.
    let body_b = hotline_order(&w, community_b, compound_b, &phone);
    for _ in 0..2 {
        let second = dispatcher_b.create_order(&body_b).await.unwrap();
        assert_eq!(second.claim_code, None, "no code for a dispatcher who may not see every order");
    }

    // The first code still works.
    let resident = app.claim(&phone, &code, PASSWORD).await;
    assert_eq!(resident.list_orders("").await.unwrap().items.len(), 3);
}

#[tokio::test]
async fn a_dispatcher_of_the_same_community_gets_a_fresh_code_and_the_first_stays_valid() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let colleague = app.dispatcher(w.community).await;
    let phone = next_phone();
    let body = hotline_order(&w, w.community, w.compound, &phone);
    let first = w.dispatcher.create_order(&body).await.unwrap();
    let second = colleague.create_order(&body).await.unwrap();
    let code = first.claim_code.expect("a code for the first dispatcher");
    assert!(second.claim_code.is_some(), "every order of the account is in the colleague's community");

    // A new code leaves the earlier one valid.
    app.claim(&phone, &code, PASSWORD).await;
}

#[tokio::test]
async fn a_claimed_account_gets_no_code() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let body = hotline_order(&w, w.community, w.compound, &resident.phone);
    assert_eq!(w.dispatcher.create_order(&body).await.unwrap().claim_code, None);
}

#[tokio::test]
async fn a_retry_with_the_same_idempotency_key_gets_the_order_without_the_code() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let phone = next_phone();
    let body = hotline_order(&w, w.community, w.compound, &phone);
    let first = w.dispatcher.create_order_once(&body, "hotline-0001").await.unwrap();
    let code = first.claim_code.clone().expect("a code in the first answer");
    assert_eq!(first.claim_code_note, None);

    let again = w.dispatcher.create_order_once(&body, "hotline-0001").await.unwrap();
    assert_eq!(again.id, first.id, "the same order");
    assert_eq!(again.claim_code, None, "the code is shown once");
    assert!(again.claim_code_note.as_deref().is_some_and(|n| n.contains("once")), "{again:?}");

    let kept = idempotency_key::Entity::find()
        .filter(idempotency_key::Column::UserId.eq(w.dispatcher.user_id))
        .all(app.db())
        .await
        .unwrap();
    assert_eq!(kept.len(), 1);
    assert!(!kept[0].body.contains(&code), "the stored answer holds no claim code");
    assert!(kept[0].body.contains(&first.id.to_string()), "it holds the order");

    // The code given first still works.
    app.claim(&phone, &code, PASSWORD).await;
}
