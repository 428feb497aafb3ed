//! Messages people can read: problems, field messages and eligibility reasons in zh-CN by
//! default and in English when `Accept-Language` prefers it; missing fields named; one
//! spelling per parameter.

use reqwest::RequestBuilder;
use serde_json::json;
use shenbian_tests::TestApp;
use shenbian_tests::scene::{order_body, partner, place, world};
use uuid::Uuid;

fn english(request: RequestBuilder) -> RequestBuilder {
    request.header("accept-language", "en-GB;q=0.9, zh-CN;q=0.5")
}

#[tokio::test]
async fn a_validation_error_is_in_chinese_by_default_and_in_english_when_asked() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let mut body = order_body(&w);
    body["title"] = json!("   ");
    let token = Some(resident.access_token.as_str());

    let (status, zh) = app.call(app.post("/orders", token, &body)).await;
    let (_, en) = app.call(english(app.post("/orders", token, &body))).await;

    assert_eq!(status, 422);
    assert_eq!(
        (zh["title"].as_str(), zh["detail"].as_str()),
        (Some("输入有误"), Some("有字段填写不正确，详见 errors"))
    );
    assert_eq!(zh["errors"], json!([{"field": "title", "message": "不能为空"}]));
    assert_eq!(en["title"], "Unprocessable Entity");
    assert_eq!(en["errors"], json!([{"field": "title", "message": "must not be empty"}]));
    assert_eq!((zh["code"].clone(), en["code"].clone()), (json!("validation_failed"), json!("validation_failed")));
}

#[tokio::test]
async fn a_state_refusal_says_what_to_do_next_in_both_languages() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let (member, partner_id, _) = partner(&app, &w, 5, None).await;
    let resident = app.resident().await;
    let order = place(&w, &resident).await.id;
    w.dispatcher.dispatch(order, &[partner_id]).await.unwrap();
    member.accept(order).await.unwrap();
    let complete = format!("/orders/{order}/complete");
    let summary = json!({"summary": "修好了"});
    let token = Some(member.access_token.as_str());

    let (status, zh) = app.call(app.post(&complete, token, &summary)).await;
    let (_, en) = app.call(english(app.post(&complete, token, &summary))).await;

    assert_eq!((status, zh["code"].clone()), (409, json!("invalid_transition")));
    assert_eq!(zh["detail"], "已受理的订单需先开始服务，才能完成");
    assert_eq!(zh["title"], "与当前状态冲突");
    assert_eq!(en["detail"], "start the order before completing it");
}

#[tokio::test]
async fn a_not_found_is_in_the_request_language() {
    let app = TestApp::spawn().await;
    let resident = app.resident().await;
    let path = format!("/orders/{}", Uuid::now_v7());
    let token = Some(resident.access_token.as_str());

    let (status, zh) = app.call(app.get(&path, token)).await;
    let (_, en) = app.call(app.get(&path, token).header("accept-language", "en-US")).await;
    let (_, other) = app.call(app.get(&path, token).header("accept-language", "fr-FR, en;q=0.8")).await;

    assert_eq!(status, 404);
    assert_eq!((zh["title"].as_str(), zh["detail"].as_str()), (Some("未找到"), Some("没有找到该对象，或你无权查看")));
    assert_eq!(en["title"], "Not Found");
    assert_eq!(en["detail"], "there is no such resource, or you may not see it");
    assert_eq!(other["detail"], zh["detail"], "only a preferred English gets English");
}

#[tokio::test]
async fn eligibility_reasons_follow_the_same_header() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let community = app.community().await;
    let category = app.category(&admin, "legal_aid").await;
    let (_, partner) = app.approved_partner(&admin).await;
    let ask = format!("/partners/{partner}/eligibility?community_id={community}&category_code={category}");
    let token = Some(admin.access_token.as_str());

    let (status, zh) = app.call(app.get(&ask, token)).await;
    let (_, en) = app.call(english(app.get(&ask, token))).await;

    assert_eq!((status, zh["eligible"].clone()), (200, json!(false)), "{zh}");
    let (zh_text, en_text) = (zh["reasons"][0]["text"].as_str().unwrap(), en["reasons"][0]["text"].as_str().unwrap());
    assert_eq!(zh["reasons"][0]["code"], en["reasons"][0]["code"]);
    assert!(zh_text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{zh_text}");
    assert!(en_text.is_ascii(), "{en_text}");
}

#[tokio::test]
async fn a_missing_field_is_named() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let mut body = order_body(&w);
    body.as_object_mut().unwrap().remove("community_id");
    let (_, partner) = app.approved_partner(&w.admin).await;

    let (status, in_body) = app.call(app.post("/orders", Some(&resident.access_token), &body)).await;
    let in_query = format!("/partners/{partner}/eligibility?category_code={}", w.category);
    let (query_status, in_query) = app.call(english(app.get(&in_query, Some(&w.admin.access_token)))).await;

    assert_eq!(status, 422);
    assert_eq!(in_body["errors"], json!([{"field": "community_id", "message": "必须填写"}]));
    assert_eq!(query_status, 422);
    assert_eq!(in_query["errors"], json!([{"field": "community_id", "message": "is required"}]));
}

#[tokio::test]
async fn cancelling_without_a_body_says_the_reason_is_missing() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let order = place(&w, &resident).await.id;

    let (status, refused) =
        app.call(app.post_empty(&format!("/orders/{order}/cancel"), Some(&resident.access_token))).await;

    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["errors"][0]["field"], "reason");
    let (_, still) = app.call(app.get(&format!("/orders/{order}"), Some(&resident.access_token))).await;
    assert_eq!(still["status"], "pending");
}

#[tokio::test]
async fn a_body_that_is_not_json_is_still_refused_as_such() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let order = place(&w, &resident).await.id;

    let (status, refused) = app
        .call(
            app.post_empty(&format!("/orders/{order}/cancel"), Some(&resident.access_token))
                .header("content-type", "text/plain")
                .body("不想要了"),
        )
        .await;

    assert_eq!((status, refused["code"].clone()), (415, json!("unsupported_media_type")));
}

#[tokio::test]
async fn a_dispatcher_without_on_behalf_of_phone_is_told_to_give_it() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;

    let (status, refused) =
        app.call(english(app.post("/orders", Some(&w.dispatcher.access_token), &order_body(&w)))).await;

    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["errors"][0]["field"], "on_behalf_of_phone");
}

#[tokio::test]
async fn malformed_dates_say_their_format() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let token = Some(w.dispatcher.access_token.as_str());

    let (status, instant) = app.call(english(app.get("/orders?from=yesterday", token))).await;
    let (day_status, day) =
        app.call(english(app.get(&format!("/stats/communities/{}?from=2026-13-01", w.community), token))).await;

    assert_eq!((status, instant["errors"][0]["field"].clone()), (422, json!("from")));
    assert!(instant["errors"][0]["message"].as_str().unwrap().contains("RFC 3339"), "{instant}");
    assert_eq!((day_status, day["errors"][0]["field"].clone()), (422, json!("from")), "{day}");
    assert!(day["errors"][0]["message"].as_str().unwrap().contains("YYYY-MM-DD"), "{day}");
}

#[tokio::test]
async fn each_parameter_has_one_spelling() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    place(&w, &resident).await;
    let (_, partner) = app.approved_partner(&w.admin).await;
    let token = Some(w.dispatcher.access_token.as_str());
    let window = "from=2026-01-01T00:00:00Z&to=2026-12-31T00:00:00Z";
    let ask =
        |name: &str| format!("/partners/{partner}/eligibility?community_id={}&{name}={}", w.community, w.category);

    let (listed, _) = app.call(app.get(&format!("/orders?category_code={}", w.category), token)).await;
    let (windowed, _) = app.call(app.get(&format!("/orders?{window}"), token)).await;
    let (exported, csv) = app.call(app.get(&format!("/orders/export.csv?{window}"), token)).await;
    let (old_window, old) = app.call(app.get("/orders?created_from=2026-01-01T00:00:00Z", token)).await;
    let (old_category, _) = app.call(app.get(&format!("/orders?category={}", w.category), token)).await;
    let (eligibility, _) = app.call(app.get(&ask("category_code"), Some(&w.admin.access_token))).await;
    let (old_eligibility, _) = app.call(app.get(&ask("category"), Some(&w.admin.access_token))).await;

    assert_eq!((listed, windowed, exported, eligibility), (200, 200, 200, 200));
    assert!(csv.as_str().unwrap().starts_with("\u{feff}id,number,created_at,status,category_code,"), "{csv}");
    assert_eq!((old_window, old_category, old_eligibility), (422, 422, 422), "{old}");
}
