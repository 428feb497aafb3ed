//! Staff reads of unmasked personal data: every list, search, export and record a
//! dispatcher or admin reads leaves exactly one audit entry naming what was read (ids, or
//! the query with any phone hashed), never the data itself; a resident reading her own
//! orders leaves none.

use serde_json::{Value, json};
use shenbian_tests::scene::legacy::{dispatch, place, step};
use shenbian_tests::scene::{World, partner, volunteer, world};
use shenbian_tests::{Actor, TestApp};
use uuid::Uuid;

fn id(v: &Value) -> Uuid {
    v["id"].as_str().unwrap().parse().unwrap()
}

/// The audit entries `actor` left with `action`.
async fn entries(app: &TestApp, w: &World, action: &str, actor: &Actor) -> Vec<Value> {
    app.audit_entries(&w.admin, &format!("action={action}&actor={}", actor.user_id)).await
}

/// Exactly one entry, holding none of the resident's personal data.
fn the_one(entries: Vec<Value>, resident: &Actor) -> Value {
    assert_eq!(entries.len(), 1, "one entry per request: {entries:?}");
    let entry = entries.into_iter().next().unwrap();
    let text = entry.to_string();
    for personal in [resident.phone.as_str(), "王秀英", "2单元", "进门左手边", "厨房水管漏水"] {
        assert!(!text.contains(personal), "the audit entry holds {personal}: {text}");
    }
    entry
}

#[tokio::test]
async fn a_dispatcher_listing_orders_leaves_one_entry_naming_the_orders_shown() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let orders = [id(&place(&app, &w, &resident).await), id(&place(&app, &w, &resident).await)];

    let (status, page) = app.call(app.get("/orders?limit=100", Some(&w.dispatcher.access_token))).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"][0]["contact_phone"], resident.phone.as_str(), "the dispatcher sees it unmasked");

    let entry = the_one(entries(&app, &w, "order.list", &w.dispatcher).await, &resident);
    assert_eq!(entry["object_type"], "order");
    let reason = entry["reason"].as_str().unwrap();
    for order in orders {
        assert!(reason.contains(&order.to_string()), "{reason}");
    }
    assert!(reason.contains("limit=100"), "{reason}");

    // An admin's list is on record too.
    assert_eq!(app.call(app.get("/orders", Some(&w.admin.access_token))).await.0, 200);
    the_one(entries(&app, &w, "order.list", &w.admin).await, &resident);
}

#[tokio::test]
async fn a_search_by_phone_leaves_one_entry_with_the_phone_only_hashed() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let order = id(&place(&app, &w, &resident).await);
    let token = Some(w.dispatcher.access_token.as_str());

    let (status, page) = app.call(app.get(&format!("/orders?phone={}", resident.phone), token)).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let (status, _) = app.call(app.get(&format!("/orders?phone={}", resident.phone), token)).await;
    assert_eq!(status, 200);

    let found = entries(&app, &w, "order.search_phone", &w.dispatcher).await;
    assert_eq!(found.len(), 2, "one per search: {found:?}");
    let first = the_one(vec![found[0].clone()], &resident);
    let reason = first["reason"].as_str().unwrap();
    assert!(reason.contains(&order.to_string()), "{reason}");
    assert!(reason.contains("phone=phone#"), "{reason}");
    assert_eq!(found[0]["reason"], found[1]["reason"], "the same phone has the same key");
    assert!(entries(&app, &w, "order.list", &w.dispatcher).await.is_empty(), "a search is one entry, not two");
}

#[tokio::test]
async fn every_export_leaves_one_entry_with_its_query() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (person, volunteer_id) = volunteer(&app, &w).await;
    let order = id(&place(&app, &w, &resident).await);
    dispatch(&app, &w, order, &[volunteer_id]).await;
    step(&app, &person, order, "accept", None).await;
    step(&app, &person, order, "start", None).await;
    step(&app, &person, order, "complete", Some(json!({"summary": "陪同就医", "minutes": 50}))).await;
    step(&app, &resident, order, "confirm", None).await;
    let token = Some(w.dispatcher.access_token.as_str());

    let response = app.get(&format!("/orders/export.csv?phone={}", resident.phone), token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains(&resident.phone));
    let entry = the_one(entries(&app, &w, "order.export", &w.dispatcher).await, &resident);
    assert!(entry["reason"].as_str().unwrap().contains("phone=phone#"), "{entry}");

    let response = app.get("/volunteers/hours.csv", token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let entry = the_one(entries(&app, &w, "volunteer.hours_export", &w.dispatcher).await, &person);
    assert_eq!(entry["object_id"], w.community.to_string());
    assert!(!entry.to_string().contains(&person.phone));
}

#[tokio::test]
async fn staff_reads_of_hours_accounts_and_partner_contacts_are_on_record() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (person, volunteer_id) = volunteer(&app, &w).await;
    let (owner, partner_id, _) = partner(&app, &w, 10, None).await;
    let admin = Some(w.admin.access_token.as_str());

    let path = format!("/volunteers/{volunteer_id}/hours");
    assert_eq!(app.call(app.get(&path, Some(&w.dispatcher.access_token))).await.0, 200);
    let entry = the_one(entries(&app, &w, "volunteer.hours_read", &w.dispatcher).await, &person);
    assert_eq!(entry["object_id"], volunteer_id.to_string());
    assert_eq!(app.call(app.get(&path, Some(&person.access_token))).await.0, 200);
    assert!(entries(&app, &w, "volunteer.hours_read", &person).await.is_empty(), "her own hours");

    let (status, users) = app.call(app.get("/users?limit=100", admin)).await;
    assert_eq!(status, 200, "{users}");
    let entry = the_one(entries(&app, &w, "user.list", &w.admin).await, &resident);
    assert!(entry["reason"].as_str().unwrap().contains(&w.dispatcher.user_id.to_string()), "{entry}");

    let (status, partners) = app.call(app.get("/partners", admin)).await;
    assert_eq!(status, 200, "{partners}");
    let entry = the_one(entries(&app, &w, "partner.list", &w.admin).await, &owner);
    assert!(entry["reason"].as_str().unwrap().contains(&partner_id.to_string()), "{entry}");
    assert_eq!(app.call(app.get(&format!("/partners/{partner_id}"), admin)).await.0, 200);
    let entry = the_one(entries(&app, &w, "partner.read", &w.admin).await, &owner);
    assert_eq!(entry["object_id"], partner_id.to_string());
    let (status, members) = app.call(app.get(&format!("/partners/{partner_id}/members"), admin)).await;
    assert_eq!(status, 200, "{members}");
    assert_eq!(members["items"][0]["phone"], owner.phone.as_str(), "staff see the members' phones");
    let entry = the_one(entries(&app, &w, "partner.members_read", &w.admin).await, &owner);
    assert!(entry["reason"].as_str().unwrap().contains(&owner.user_id.to_string()), "{entry}");

    // The partner's own admin reads its own contact: not a staff read.
    assert_eq!(app.call(app.get("/partners", Some(&owner.access_token))).await.0, 200);
    assert_eq!(app.call(app.get(&format!("/partners/{partner_id}"), Some(&owner.access_token))).await.0, 200);
    assert!(
        app.audit_entries(&w.admin, &format!("actor={}&object_type=partner", owner.user_id))
            .await
            .iter()
            .all(|e| !e["action"].as_str().unwrap().ends_with(".read") && e["action"] != "partner.list")
    );
}

#[tokio::test]
async fn a_resident_reading_her_own_orders_leaves_no_entry() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let order = id(&place(&app, &w, &resident).await);
    let token = Some(resident.access_token.as_str());

    assert_eq!(app.call(app.get("/orders?limit=100", token)).await.0, 200);
    assert_eq!(app.call(app.get(&format!("/orders/{order}"), token)).await.0, 200);

    let mine = app.audit_entries(&w.admin, &format!("actor={}", resident.user_id)).await;
    assert!(mine.is_empty(), "{mine:?}");
}
