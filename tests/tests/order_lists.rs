//! Seeing orders: filters and keyset pages, no mass assignment, and audited staff reads.

use serde_json::json;
use shenbian_tests::TestApp;
use shenbian_tests::scene::{order_body, place, world};
use uuid::Uuid;

#[tokio::test]
async fn the_order_list_filters_and_pages_without_repeats() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let mut placed = Vec::new();
    for i in 0..5 {
        let mut body = order_body(&w);
        body["urgency"] = json!(if i % 2 == 0 { "normal" } else { "emergency" });
        placed.push(resident.create_order(&body).await.unwrap().id);
    }
    let staff = &w.dispatcher;
    let mut seen: Vec<Uuid> = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = staff.list_orders(&format!("limit=2&cursor={cursor}")).await.unwrap();
        seen.extend(page.items.iter().map(|o| o.id));
        match page.next_cursor {
            Some(next) => cursor = next,
            None => break,
        }
    }
    placed.reverse();
    assert_eq!(seen, placed, "newest first, each once");

    assert_eq!(staff.list_orders("urgency=emergency").await.unwrap().items.len(), 2);
    let pending = staff.list_orders(&format!("status=pending&category_code={}", w.category)).await.unwrap();
    assert_eq!(pending.items.len(), 5);
    assert!(staff.list_orders("status=closed").await.unwrap().items.is_empty());
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).format("%Y-%m-%dT%H:%M:%SZ");
    assert!(staff.list_orders(&format!("from={tomorrow}")).await.unwrap().items.is_empty());
    let far = staff.list_orders("from=2099-01-01T00:00:00Z").await.unwrap_err();
    assert_eq!((far.status, far.errors[0].field.as_str()), (422, "from"), "a year ahead at most");
    assert_eq!(staff.list_orders("status=sleeping").await.unwrap_err().status, 422);
    assert_eq!(staff.list_orders("from=yesterday").await.unwrap_err().status, 422);
    assert!(staff.list_orders("overdue=true").await.unwrap().items.is_empty(), "nothing is late yet");
}

#[tokio::test]
async fn no_request_body_sets_what_the_caller_may_not_set() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    for (field, value) in [
        ("status", json!("closed")),
        ("provider_id", json!(Uuid::now_v7())),
        ("resident_id", json!(Uuid::now_v7())),
        ("version", json!(9)),
    ] {
        let mut body = order_body(&w);
        body[field] = value;
        let problem = resident.create_order(&body).await.unwrap_err();
        assert_eq!(problem.status, 422, "{field}");
        assert_eq!(problem.errors[0].field, field);
    }
    assert!(resident.list_orders("").await.unwrap().items.is_empty(), "nothing was created");
}

#[tokio::test]
async fn staff_reads_of_an_order_are_audited_and_the_residents_own_are_not() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let order = place(&w, &resident).await.id;
    let reads = format!("action=order.read&object_id={order}");
    resident.get_order(order).await.unwrap();
    assert!(w.admin.audit(&reads).await.unwrap().items.is_empty());
    w.dispatcher.get_order(order).await.unwrap();
    assert_eq!(w.admin.audit(&reads).await.unwrap().items[0].actor, Some(w.dispatcher.user_id));
}
