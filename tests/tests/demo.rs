//! `shenbian demo` on this test's own database: a believable district whose every order's
//! event log replays to its state.

use std::collections::HashMap;

use serde_json::Value;
use shenbian_tests::scene::assert_replays;
use shenbian_tests::shenbian::pagination::Paginated;
use shenbian_tests::shenbian::partners::PartnerView;
use shenbian_tests::shenbian::volunteers::VolunteerView;
use shenbian_tests::{Status, TestApp};

#[tokio::test]
async fn the_demo_district_has_every_state_and_every_log_replays() {
    let app = TestApp::spawn().await;
    let accounts = shenbian_tests::shenbian::demo::run(app.state.clone()).await.expect("the demo runs");
    assert!(accounts.lines.iter().any(|l| l.starts_with("admin")));
    let admin = app.login("13900000000", shenbian_tests::shenbian::demo::DEMO_PASSWORD).await;

    let mut orders = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = admin.list_orders(&format!("limit=100&cursor={cursor}")).await.unwrap();
        orders.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = next,
            None => break,
        }
    }
    assert!((90..=110).contains(&orders.len()), "about a hundred orders: {}", orders.len());
    let mut by_state: HashMap<Status, usize> = HashMap::new();
    for o in &orders {
        *by_state.entry(o.status).or_default() += 1;
    }
    for state in [
        Status::Pending,
        Status::Offered,
        Status::Accepted,
        Status::InProgress,
        Status::Completed,
        Status::Closed,
        Status::Disputed,
        Status::Cancelled,
    ] {
        assert!(by_state.get(&state).copied().unwrap_or(0) > 0, "{state:?} in {by_state:?}");
    }
    for o in &orders {
        assert_replays(&admin, o.id).await;
    }
    // Spread over the last 90 days, so that the figures show medians and trends; the newest
    // half a day old, so that the story is told before now.
    let now = chrono::Utc::now();
    let oldest = orders.iter().map(|o| o.created_at).min().unwrap();
    let newest = orders.iter().map(|o| o.created_at).max().unwrap();
    assert!((85..=91).contains(&(now - oldest).num_days()), "the oldest order is {oldest}");
    assert!((now - newest).num_hours() >= 12, "the newest order is {newest}");
    let days: std::collections::BTreeSet<_> = orders.iter().map(|o| o.created_at.date_naive()).collect();
    assert!(days.len() >= 40, "orders on {} days", days.len());
    // The printed partner can take the printed resident's pending order.
    let phone = |role: &str| {
        let line = accounts.lines.iter().find(|l| l.starts_with(role)).unwrap();
        line.split_whitespace().nth(1).unwrap().to_owned()
    };
    let password = shenbian_tests::shenbian::demo::DEMO_PASSWORD;
    let (resident, member) =
        (app.login(&phone("resident"), password).await, app.login(&phone("partner"), password).await);
    let pending = resident.list_orders("status=pending").await.unwrap();
    let me: Value = member.get("/me").await.unwrap();
    let partner = me["partners"][0]["partner_id"].as_str().unwrap().to_owned();
    let contracts: Value = member.get(&format!("/contracts?partner_id={partner}&status=active")).await.unwrap();
    let served: Vec<&str> = contracts["items"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["category_codes"].as_array().unwrap().iter().map(|code| code.as_str().unwrap()))
        .collect();
    assert!(
        pending.items.iter().any(|o| served.contains(&o.category_code.as_str())),
        "the printed partner serves {served:?}; the printed resident's pending orders: {:?}",
        pending.items.iter().map(|o| &o.category_code).collect::<Vec<_>>()
    );
    let partners: Paginated<PartnerView> = admin.get("/partners?status=approved&limit=100").await.unwrap();
    assert_eq!(partners.items.len(), 12);
    let volunteers: Paginated<VolunteerView> = admin.get("/volunteers?status=approved&limit=100").await.unwrap();
    assert_eq!(volunteers.items.len(), 20);
    // The document's example order names a category the demo district offers.
    let doc: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    let example = doc["components"]["schemas"]["NewOrder"]["properties"]["category_code"]["example"].as_str().unwrap();
    let category: Result<Value, _> = admin.get(&format!("/categories/{example}")).await;
    assert!(category.is_ok(), "the NewOrder example's category {example} exists: {category:?}");
    // A second run refuses rather than doubling the district.
    assert!(shenbian_tests::shenbian::demo::run(app.state.clone()).await.is_err());
}
