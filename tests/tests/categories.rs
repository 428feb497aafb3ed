//! The service catalogue: admins keep categories and their service levels; anyone reads
//! them; an inactive category takes no new volunteers or contracts.

use serde_json::{Value, json};
use shenbian_tests::{TestApp, category_body};

#[tokio::test]
async fn an_admin_creates_and_edits_a_category_that_anyone_reads() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let token = Some(admin.access_token.as_str());
    app.category(&admin, "legal_aid").await;

    let (status, seen) = app.call(app.get("/categories/legal_aid", None)).await;
    assert_eq!(status, 200);
    assert_eq!(seen["name_zh"], "法律援助");
    assert_eq!(seen["sla"]["urgent"]["accept"], 30);
    assert_eq!(seen["active"], true);

    let faster = json!({
        "normal": {"dispatch": 120, "accept": 60, "complete": 1440},
        "urgent": {"dispatch": 30, "accept": 15, "complete": 240},
        "emergency": {"dispatch": 10, "accept": 5, "complete": 60}
    });
    let patch = json!({"name_en": "Legal counsel", "group": "法律服务", "sla": faster});
    let (status, edited) = app.call(app.patch("/categories/legal_aid", token, &patch)).await;
    assert_eq!(status, 200, "{edited}");

    let (_, seen) = app.call(app.get("/categories/legal_aid", None)).await;
    assert_eq!(seen["name_en"], "Legal counsel");
    assert_eq!(seen["name_zh"], "法律援助", "a field left out of the edit stays");
    assert_eq!(seen["group"], "法律服务");
    assert_eq!(seen["sla"], faster);
}

#[tokio::test]
async fn a_more_urgent_level_may_not_allow_more_time() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let token = Some(admin.access_token.as_str());
    let mut body = category_body("home_repair");
    body["sla"]["emergency"]["complete"] = json!(5000);

    let (status, refused) = app.call(app.post("/categories", token, &body)).await;
    assert_eq!(status, 422);
    assert_eq!(refused["errors"][0]["field"], "sla");
    assert_eq!(app.call(app.get("/categories/home_repair", None)).await.0, 404, "nothing was created");

    app.category(&admin, "home_repair").await;
    let mut slower_urgent = category_body("home_repair")["sla"].clone();
    slower_urgent["urgent"]["dispatch"] = json!(300);
    let (status, refused) = app.call(app.patch("/categories/home_repair", token, &json!({"sla": slower_urgent}))).await;
    assert_eq!(status, 422);
    assert_eq!(refused["errors"][0]["field"], "sla");
    let (_, seen) = app.call(app.get("/categories/home_repair", None)).await;
    assert_eq!(seen["sla"]["urgent"]["dispatch"], 60, "a refused edit changes nothing");

    let mut zero = category_body("elder_care");
    zero["sla"]["normal"]["accept"] = json!(0);
    assert_eq!(app.call(app.post("/categories", token, &zero)).await.0, 422);
}

#[tokio::test]
async fn category_codes_are_checked_and_unique() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let token = Some(admin.access_token.as_str());

    for bad in ["Legal", "x", "1abc", "has space"] {
        let (status, body) = app.call(app.post("/categories", token, &category_body(bad))).await;
        assert_eq!(status, 422, "{bad}");
        assert_eq!(body["errors"][0]["field"], "code");
    }
    app.category(&admin, "legal_aid").await;
    let (status, body) = app.call(app.post("/categories", token, &category_body("legal_aid"))).await;
    assert_eq!(status, 409);
    assert_eq!(body["code"], "code_taken");
}

#[tokio::test]
async fn only_admins_create_or_edit_categories() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    app.category(&admin, "legal_aid").await;
    let resident = app.resident().await;
    let dispatcher = app.dispatcher(app.community().await).await;

    for actor in [&resident, &dispatcher] {
        let token = Some(actor.access_token.as_str());
        assert_eq!(app.call(app.post("/categories", token, &category_body("house_cleaning"))).await.0, 403);
        assert_eq!(app.call(app.patch("/categories/legal_aid", token, &json!({"active": false}))).await.0, 403);
    }
    assert_eq!(app.call(app.post("/categories", None, &category_body("house_cleaning"))).await.0, 401);
    let (_, seen) = app.call(app.get("/categories/legal_aid", None)).await;
    assert_eq!(seen["active"], true);
}

#[tokio::test]
async fn the_catalogue_pages_by_cursor_in_code_order() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    for code in ["meal_help", "anti_fraud", "home_repair", "child_care", "legal_aid"] {
        app.category(&admin, code).await;
    }

    let mut codes = Vec::new();
    // The test's own group: a fresh installation has its starter catalogue too.
    let mut path = "/categories?group=测试服务&limit=2".to_owned();
    let mut pages = 0;
    loop {
        let (status, page) = app.call(app.get(&path, None)).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        codes.extend(page["items"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/categories?group=测试服务&limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(codes, ["anti_fraud", "child_care", "home_repair", "legal_aid", "meal_help"]);

    assert_eq!(app.call(app.get("/categories?limit=0", None)).await.0, 422);
    assert_eq!(app.call(app.get("/categories?limit=101", None)).await.0, 422);
    assert_eq!(app.call(app.get("/categories?cursor=%25%25%25", None)).await.0, 422);
}

#[tokio::test]
async fn inactive_categories_are_refused_as_skills_and_contract_categories() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let community = app.community().await;
    app.category(&admin, "snow_clearing").await;
    let (_owner, partner) = app.approved_partner(&admin).await;
    let (status, _) =
        app.call(app.patch("/categories/snow_clearing", Some(&admin.access_token), &json!({"active": false}))).await;
    assert_eq!(status, 200);

    let (_, inactive) = app.call(app.get("/categories?active=false", None)).await;
    assert_eq!(inactive["items"][0]["code"], "snow_clearing");
    let (_, active) = app.call(app.get("/categories?active=true&group=测试服务", None)).await;
    assert_eq!(active["items"], json!([]));

    let resident = app.resident().await;
    let application = json!({"skills": ["snow_clearing"], "community_id": community});
    let (status, body) = app.call(app.post("/volunteers", Some(&resident.access_token), &application)).await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"][0]["field"], "skills");

    let contract = json!({
        "partner_id": partner, "title": "扫雪契约", "community_ids": [community], "category_codes": ["snow_clearing"],
        "valid_from": "2026-01-01", "valid_to": "2030-12-31", "terms": {"pricing": "free", "max_open_jobs": 2}
    });
    let (status, body) = app.call(app.post("/contracts", Some(&admin.access_token), &contract)).await;
    assert_eq!(status, 422);
    assert_eq!(fields(&body), ["category_codes"]);
}

#[tokio::test]
async fn unknown_categories_are_404() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    assert_eq!(app.call(app.get("/categories/no_such_thing", None)).await.0, 404);
    let (status, body) =
        app.call(app.patch("/categories/no_such_thing", Some(&admin.access_token), &json!({"active": false}))).await;
    assert_eq!(status, 404);
    assert_eq!(body["code"], "not_found");
}

fn fields(problem: &Value) -> Vec<String> {
    problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_fresh_installation_has_a_starter_catalogue_that_admins_edit() {
    let app = TestApp::spawn().await;
    let (status, all) = app.call(app.get("/categories?limit=100", None)).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = all["items"].as_array().unwrap().iter().map(|c| c["name_zh"].as_str().unwrap()).collect();
    for service in ["家电维修", "助老助餐", "助浴", "家政保洁", "法律咨询", "心理疏导", "四点半课堂"]
    {
        assert!(names.contains(&service), "{service} in {names:?}");
    }
    let (_, bathing) = app.call(app.get("/categories/elder_bathing", None)).await;
    assert_eq!((bathing["group"].as_str(), bathing["active"].as_bool()), (Some("为老服务"), Some(true)));
    assert_eq!(bathing["sla"]["emergency"]["accept"], 10);

    let admin = app.admin().await;
    let token = Some(admin.access_token.as_str());
    let edit = json!({"name_en": "Bathing help", "sla": {
        "normal": {"dispatch": 60, "accept": 30, "complete": 240},
        "urgent": {"dispatch": 30, "accept": 15, "complete": 120},
        "emergency": {"dispatch": 10, "accept": 5, "complete": 60}
    }});
    let (status, edited) = app.call(app.patch("/categories/elder_bathing", token, &edit)).await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(
        (edited["name_en"].as_str(), edited["sla"]["normal"]["complete"].as_i64()),
        (Some("Bathing help"), Some(240))
    );
}
