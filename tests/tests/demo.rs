//! `shenbian demo` on this test's own database: a believable district whose every order's
//! event log replays to its state.

use std::collections::BTreeMap;

use serde_json::Value;
use shenbian_tests::TestApp;
use shenbian_tests::scene::assert_replays;

#[tokio::test]
async fn the_demo_district_has_every_state_and_every_log_replays() {
    let app = TestApp::spawn().await;
    let accounts = shenbian_tests::shenbian::demo::run(app.state.clone()).await.expect("the demo runs");
    assert!(accounts.lines.iter().any(|l| l.starts_with("admin")));
    let admin = app.login("13900000000", shenbian_tests::shenbian::demo::DEMO_PASSWORD).await;

    let mut orders: Vec<Value> = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) =
            app.call(app.get(&format!("/orders?limit=100&cursor={cursor}"), Some(&admin.access_token))).await;
        assert_eq!(status, 200);
        orders.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert!((90..=110).contains(&orders.len()), "about a hundred orders: {}", orders.len());
    let mut by_state: BTreeMap<String, usize> = BTreeMap::new();
    for o in &orders {
        *by_state.entry(o["status"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    for state in ["pending", "offered", "accepted", "in_progress", "completed", "closed", "disputed", "cancelled"] {
        assert!(by_state.get(state).copied().unwrap_or(0) > 0, "{state} in {by_state:?}");
    }
    for o in &orders {
        assert_replays(&admin, o["id"].as_str().unwrap().parse().unwrap()).await;
    }
    let (_, partners) = app.call(app.get("/partners?status=approved&limit=100", Some(&admin.access_token))).await;
    assert_eq!(partners["items"].as_array().unwrap().len(), 12);
    let (_, volunteers) = app.call(app.get("/volunteers?status=approved&limit=100", Some(&admin.access_token))).await;
    assert_eq!(volunteers["items"].as_array().unwrap().len(), 20);
    // The document's example order names a category the demo district offers.
    let doc: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    let example = doc["components"]["schemas"]["NewOrder"]["properties"]["category_code"]["example"].as_str().unwrap();
    let (status, _) = app.call(app.get(&format!("/categories/{example}"), Some(&admin.access_token))).await;
    assert_eq!(status, 200, "the NewOrder example's category {example} exists");
    // A second run refuses rather than doubling the district.
    assert!(shenbian_tests::shenbian::demo::run(app.state.clone()).await.is_err());
}
