//! What people type: phones and names written into an order's free text are masked for
//! whoever sees the resident masked; names that print as nothing are refused; CSV cells that
//! hide a formula behind invisible or full-width characters are defused. And a contract that
//! covers other communities too is changed by the district's admins only.

use serde_json::json;
use shenbian_tests::scene::{order_body, partner, world};
use shenbian_tests::{Id, TestApp, next_phone, problem};

#[tokio::test]
async fn phones_and_the_residents_name_in_free_text_are_masked_until_the_job_is_accepted() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (owner, partner_id, _) = partner(&app, &w, 2, None).await;
    let mut body = order_body(&w);
    body["title"] = json!("王秀英家厨房漏水");
    body["description"] = json!(format!("请打 {} 或 138-0000-1234 找王秀英", resident.phone));
    let (status, created) = app.call(app.post("/orders", Some(&resident.access_token), &body)).await;
    assert_eq!(status, 201, "{created}");
    let order = created.id();
    assert_eq!(created["description"], body["description"], "the resident sees what she wrote");
    w.dispatcher.dispatch(order, &[partner_id]).await.unwrap();

    let path = format!("/orders/{order}");
    let (status, offered) = app.call(app.get(&path, Some(&owner.access_token))).await;
    assert_eq!(status, 200);
    assert_eq!(offered["masked"], true);
    assert_eq!(offered["title"], "王*家厨房漏水");
    let shown = format!("请打 {}****{} 或 138****1234 找王*", &resident.phone[..3], &resident.phone[7..]);
    assert_eq!(offered["description"], shown);
    let (_, jobs) = app.call(app.get("/jobs", Some(&owner.access_token))).await;
    let listed = &jobs["items"][0]["order"];
    assert_eq!(listed["description"], shown, "the job list masks as the order's page does");
    assert_eq!(listed["title"], "王*家厨房漏水");
    assert_eq!(listed["resident_name"], offered["resident_name"]);
    assert_eq!(listed["resident_name"], "王*");

    let (_, staff) = app.call(app.get(&path, Some(&w.dispatcher.access_token))).await;
    assert_eq!(staff["description"], body["description"], "the community's dispatcher sees it all");
    owner.accept(order).await.unwrap();
    let (_, accepted) = app.call(app.get(&path, Some(&owner.access_token))).await;
    assert_eq!(accepted["description"], body["description"], "the accepting provider needs the phone");
}

#[tokio::test]
async fn display_names_that_print_as_nothing_or_turn_the_text_around_are_refused() {
    let app = TestApp::spawn().await;
    for name in ["\u{200B}", "\u{FEFF}\u{200B}\u{2060}", "\u{202E}英秀王", "王\u{200D}秀英"] {
        let body = json!({"phone": next_phone(), "password": "community-service-2026", "display_name": name});
        let response = app.post("/auth/register", None, &body).send().await.unwrap();
        assert_eq!(response.status(), 422, "{name:?}");
        assert_eq!(problem(response).await["errors"][0]["field"], "display_name");
    }
    let body = json!({"phone": next_phone(), "password": "community-service-2026", "display_name": "王 秀英"});
    assert_eq!(app.call(app.post("/auth/register", None, &body)).await.0, 201, "an ordinary space is fine");
}

#[tokio::test]
async fn csv_cells_hiding_a_formula_behind_invisible_or_full_width_signs_are_defused() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    for title in ["\u{200B}=HYPERLINK(\"http://evil\")", "＝HYPERLINK(\"http://evil\")"] {
        let mut body = order_body(&w);
        body["title"] = json!(title);
        let (status, created) = app.call(app.post("/orders", Some(&resident.access_token), &body)).await;
        assert_eq!(status, 201, "{created}");
    }
    let response = app.get("/orders/export.csv", Some(&w.dispatcher.access_token)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(text.contains("\"'\u{200B}=HYPERLINK(\"\"http://evil\"\")\""), "{text}");
    assert!(text.contains("\"'＝HYPERLINK(\"\"http://evil\"\")\""), "{text}");
}

#[tokio::test]
async fn a_dispatcher_cannot_change_a_contract_that_covers_other_communities() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let other = app.community().await;
    let (owner, partner_id) = app.approved_partner(&w.admin).await;
    let body = json!({
        "partner_id": partner_id, "title": "区级法律服务契约", "community_ids": [w.community, other],
        "category_codes": [w.category], "valid_from": "2026-01-01", "valid_to": "2030-12-31",
        "terms": {"pricing": "free", "max_open_jobs": 2}
    });
    let (status, created) = app.call(app.post("/contracts", Some(&w.admin.access_token), &body)).await;
    assert_eq!(status, 201, "{created}");
    let id = created.id();
    let sign = app.post_empty(&format!("/contracts/{id}/sign"), Some(&owner.access_token));
    assert_eq!(app.call(sign).await.0, 200);
    let dispatcher = Some(w.dispatcher.access_token.as_str());
    let activate = app.post_empty(&format!("/contracts/{id}/activate"), dispatcher);
    assert_eq!(app.call(activate).await.0, 403, "the district's contract is the district's to activate");
    let activate = app.post_empty(&format!("/contracts/{id}/activate"), Some(&w.admin.access_token));
    assert_eq!(app.call(activate).await.0, 200);

    assert_eq!(app.call(app.get(&format!("/contracts/{id}"), dispatcher)).await.0, 200, "she still sees it");
    for verb in ["suspend", "terminate"] {
        let response =
            app.post(&format!("/contracts/{id}/{verb}"), dispatcher, &json!({"reason": "本社区不再合作"})).send().await;
        let response = response.unwrap();
        assert_eq!(response.status(), 403, "{verb}");
        assert_eq!(problem(response).await["code"], "forbidden");
    }
    let (_, unchanged) = app.call(app.get(&format!("/contracts/{id}"), dispatcher)).await;
    assert_eq!(unchanged["status"], "active");
    let terminate =
        app.post(&format!("/contracts/{id}/terminate"), Some(&w.admin.access_token), &json!({"reason": "合作结束"}));
    assert_eq!(app.call(terminate).await.0, 200);
}

#[tokio::test]
async fn dispatchers_see_to_whom_an_offered_order_is_offered_and_others_do_not() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (_, first, _) = partner(&app, &w, 2, None).await;
    let (_, second, _) = partner(&app, &w, 2, None).await;
    let (_, created) = app.call(app.post("/orders", Some(&resident.access_token), &order_body(&w))).await;
    let order = created.id();
    let path = format!("/orders/{order}");
    let (_, pending) = app.call(app.get(&path, Some(&w.dispatcher.access_token))).await;
    assert!(pending.get("offered_to").is_none(), "nothing is offered yet: {pending}");

    w.dispatcher.dispatch(order, &[first, second]).await.unwrap();
    let (_, offered) = app.call(app.get(&path, Some(&w.dispatcher.access_token))).await;
    let to: Vec<&str> = offered["offered_to"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert_eq!(to.len(), 2, "{offered}");
    assert!(to.contains(&first.to_string().as_str()) && to.contains(&second.to_string().as_str()));
    assert_eq!(offered["offered_to"][0]["kind"], "partner");
    assert!(offered["offered_to"][0]["accept_by"].is_string());
    let (_, as_resident) = app.call(app.get(&path, Some(&resident.access_token))).await;
    assert!(as_resident.get("offered_to").is_none(), "the resident is not told: {as_resident}");
}
