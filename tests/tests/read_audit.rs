//! Staff reads of unmasked personal data: every list, search, export and record a
//! dispatcher or admin reads leaves exactly one audit entry naming what was read (ids, or
//! the query with any phone hashed), never the data itself; a resident reading her own
//! orders leaves none.

use serde_json::Value;
use shenbian_tests::scene::{World, partner, place, volunteer, world};
use shenbian_tests::shenbian::audit::routes::AuditView;
use shenbian_tests::{Actor, TestApp, json_of};

/// The audit entries `actor` left with `action`.
async fn entries(w: &World, action: &str, actor: &Actor) -> Vec<AuditView> {
    w.admin.audit_all(&format!("action={action}&actor={}", actor.user_id)).await
}

/// Exactly one entry, holding none of the resident's personal data.
fn the_one(entries: Vec<AuditView>, resident: &Actor) -> AuditView {
    assert_eq!(entries.len(), 1, "one entry per request: {entries:?}");
    let entry = entries.into_iter().next().unwrap();
    let text = json_of(&entry).to_string();
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
    let orders = [place(&w, &resident).await.id, place(&w, &resident).await.id];

    let page = w.dispatcher.list_orders("limit=100").await.unwrap();
    assert_eq!(page.items[0].contact_phone, resident.phone, "the dispatcher sees it unmasked");

    let entry = the_one(entries(&w, "order.list", &w.dispatcher).await, &resident);
    assert_eq!(entry.object_type, "order");
    let reason = entry.reason.as_deref().unwrap();
    for order in orders {
        assert!(reason.contains(&order.to_string()), "{reason}");
    }
    assert!(reason.contains("limit=100"), "{reason}");

    // An admin's list is on record too.
    w.admin.list_orders("").await.unwrap();
    the_one(entries(&w, "order.list", &w.admin).await, &resident);
}

#[tokio::test]
async fn a_search_by_phone_leaves_one_entry_with_the_phone_only_hashed() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let order = place(&w, &resident).await.id;
    let by_phone = format!("phone={}", resident.phone);

    assert_eq!(w.dispatcher.list_orders(&by_phone).await.unwrap().items.len(), 1);
    w.dispatcher.list_orders(&by_phone).await.unwrap();

    let mut found = entries(&w, "order.search_phone", &w.dispatcher).await;
    assert_eq!(found.len(), 2, "one per search: {found:?}");
    let second_reason = found.pop().unwrap().reason;
    let first = the_one(found, &resident);
    let reason = first.reason.as_deref().unwrap();
    assert!(reason.contains(&order.to_string()), "{reason}");
    assert!(reason.contains("phone=phone#"), "{reason}");
    assert_eq!(first.reason, second_reason, "the same phone has the same key");
    assert!(entries(&w, "order.list", &w.dispatcher).await.is_empty(), "a search is one entry, not two");
}

#[tokio::test]
async fn every_export_leaves_one_entry_with_its_query() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (person, volunteer_id) = volunteer(&app, &w).await;
    let order = place(&w, &resident).await.id;
    w.dispatcher.dispatch(order, &[volunteer_id]).await.unwrap();
    person.accept(order).await.unwrap();
    person.start(order).await.unwrap();
    w.started_ago(order, 120).await;
    person.complete(order, "陪同就医", Some(50)).await.unwrap();
    resident.confirm(order).await.unwrap();
    let token = Some(w.dispatcher.access_token.as_str());

    let response = app.get(&format!("/orders/export.csv?phone={}", resident.phone), token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains(&resident.phone));
    let entry = the_one(entries(&w, "order.export", &w.dispatcher).await, &resident);
    assert!(entry.reason.as_deref().unwrap().contains("phone=phone#"), "{entry:?}");

    let response = app.get("/volunteers/hours.csv", token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let entry = the_one(entries(&w, "volunteer.hours_export", &w.dispatcher).await, &person);
    assert_eq!(entry.object_id, w.community.to_string());
    assert!(!json_of(&entry).to_string().contains(&person.phone));
}

#[tokio::test]
async fn staff_reads_of_hours_accounts_and_partner_contacts_are_on_record() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (person, volunteer_id) = volunteer(&app, &w).await;
    let (owner, partner_id, _) = partner(&app, &w, 10, None).await;

    w.dispatcher.hours(volunteer_id).await.unwrap();
    let entry = the_one(entries(&w, "volunteer.hours_read", &w.dispatcher).await, &person);
    assert_eq!(entry.object_id, volunteer_id.to_string());
    person.hours(volunteer_id).await.unwrap();
    assert!(entries(&w, "volunteer.hours_read", &person).await.is_empty(), "her own hours");

    let _: Value = w.admin.get("/users?limit=100").await.unwrap();
    let entry = the_one(entries(&w, "user.list", &w.admin).await, &resident);
    assert!(entry.reason.as_deref().unwrap().contains(&w.dispatcher.user_id.to_string()), "{entry:?}");

    let _: Value = w.admin.get("/partners").await.unwrap();
    let entry = the_one(entries(&w, "partner.list", &w.admin).await, &owner);
    assert!(entry.reason.as_deref().unwrap().contains(&partner_id.to_string()), "{entry:?}");
    let _: Value = w.admin.get(&format!("/partners/{partner_id}")).await.unwrap();
    let entry = the_one(entries(&w, "partner.read", &w.admin).await, &owner);
    assert_eq!(entry.object_id, partner_id.to_string());
    let members: Value = w.admin.get(&format!("/partners/{partner_id}/members")).await.unwrap();
    assert_eq!(members["items"][0]["phone"], owner.phone.as_str(), "staff see the members' phones");
    let entry = the_one(entries(&w, "partner.members_read", &w.admin).await, &owner);
    assert!(entry.reason.as_deref().unwrap().contains(&owner.user_id.to_string()), "{entry:?}");

    // The partner's own admin reads its own contact: not a staff read.
    let _: Value = owner.get("/partners").await.unwrap();
    let _: Value = owner.get(&format!("/partners/{partner_id}")).await.unwrap();
    let own = w.admin.audit_all(&format!("actor={}&object_type=partner", owner.user_id)).await;
    assert!(own.iter().all(|e| !e.action.ends_with(".read") && e.action != "partner.list"), "{own:?}");
}

#[tokio::test]
async fn a_resident_reading_her_own_orders_leaves_no_entry() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let order = place(&w, &resident).await.id;

    resident.list_orders("limit=100").await.unwrap();
    resident.get_order(order).await.unwrap();

    let mine = w.admin.audit_all(&format!("actor={}", resident.user_id)).await;
    assert!(mine.is_empty(), "{mine:?}");
}
