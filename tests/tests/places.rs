//! Places: admins keep communities; a community's dispatchers (and admins) keep its
//! compounds and buildings; anyone reads them without signing in.

use serde_json::json;
use shenbian_tests::{Id, TestApp, problem};
use uuid::Uuid;

#[tokio::test]
async fn an_admin_creates_and_edits_a_community_that_anyone_can_read() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let token = Some(admin.access_token.as_str());
    let body = json!({"code": "XFL", "name": "幸福里社区", "street": "和平街道", "settings": {"auto_dispatch": true}});

    let (status, created) = app.call(app.post("/communities", token, &body)).await;
    assert_eq!(status, 201, "{created}");
    let id = created.id();
    assert_eq!(created["code"], "XFL");
    assert_eq!(created["settings"]["auto_dispatch"], true);

    let patch = json!({"name": "幸福里新社区", "settings": {"auto_dispatch": false, "auto_dispatch_categories": {"legal_aid": true}}});
    let (status, edited) = app.call(app.patch(&format!("/communities/{id}"), token, &patch)).await;
    assert_eq!(status, 200, "{edited}");

    let (status, seen) = app.call(app.get(&format!("/communities/{id}"), None)).await;
    assert_eq!(status, 200);
    assert_eq!(seen["name"], "幸福里新社区");
    assert_eq!(seen["street"], "和平街道", "a field left out of the edit stays");
    assert_eq!(seen["settings"]["auto_dispatch"], false);
    assert_eq!(seen["settings"]["auto_dispatch_categories"]["legal_aid"], true);
    let (status, list) = app.call(app.get("/communities", None)).await;
    assert_eq!(status, 200);
    assert!(list["items"].as_array().unwrap().iter().any(|c| c["id"] == id.to_string()));
}

#[tokio::test]
async fn community_codes_are_unique() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let body = json!({"code": "HPJ", "name": "和平家园社区", "street": "和平街道"});
    assert_eq!(app.call(app.post("/communities", Some(&admin.access_token), &body)).await.0, 201);

    let response = app.post("/communities", Some(&admin.access_token), &body).send().await.unwrap();
    assert_eq!(response.status(), 409);
    assert_eq!(problem(response).await["code"], "code_taken");
}

#[tokio::test]
async fn a_community_with_bad_fields_is_refused_naming_each_field() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let token = Some(admin.access_token.as_str());

    let (status, body) = app
        .call(app.post("/communities", token, &json!({"code": "bad code!", "name": "  ", "street": "和平街道"})))
        .await;
    assert_eq!(status, 422);
    let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["code", "name"]);

    let sneaky = json!({"code": "OK1", "name": "社区", "street": "街道", "id": Uuid::now_v7()});
    assert_eq!(app.call(app.post("/communities", token, &sneaky)).await.0, 422, "unknown fields are refused");

    let good = json!({"code": "OK2", "name": "社区", "street": "街道"});
    let id = app.call(app.post("/communities", token, &good)).await.1.id();
    let (status, body) = app.call(app.patch(&format!("/communities/{id}"), token, &json!({"street": ""}))).await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"][0]["field"], "street");
    let (_, seen) = app.call(app.get(&format!("/communities/{id}"), None)).await;
    assert_eq!(seen["street"], "街道", "a refused edit changes nothing");
}

#[tokio::test]
async fn only_admins_create_or_edit_communities() {
    let app = TestApp::spawn().await;
    let community = app.community().await;
    let resident = app.resident().await;
    let dispatcher = app.dispatcher(community).await;
    let body = json!({"code": "NOPE", "name": "社区", "street": "街道"});

    for actor in [&resident, &dispatcher] {
        assert_eq!(app.call(app.post("/communities", Some(&actor.access_token), &body)).await.0, 403);
        let patch =
            app.patch(&format!("/communities/{community}"), Some(&actor.access_token), &json!({"name": "改名"}));
        assert_eq!(app.call(patch).await.0, 403);
    }
    assert_eq!(app.call(app.post("/communities", None, &body)).await.0, 401);
}

#[tokio::test]
async fn a_dispatcher_keeps_the_compounds_and_buildings_of_their_own_community() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let community = app.community().await;
    let dispatcher = app.dispatcher(community).await;

    let compound = app.compound(&dispatcher, community, "阳光花园").await;
    app.building(&dispatcher, compound, "2号楼").await;
    app.building(&admin, compound, "1号楼").await;
    let other = app.compound(&admin, community, "和平小区").await;

    let (status, list) = app.call(app.get(&format!("/communities/{community}/compounds"), None)).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = list["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["阳光花园", "和平小区"]);
    let buildings: Vec<&str> =
        list["items"][0]["buildings"].as_array().unwrap().iter().map(|b| b["name"].as_str().unwrap()).collect();
    assert_eq!(buildings, ["1号楼", "2号楼"]);
    let (status, other_buildings) = app.call(app.get(&format!("/compounds/{other}/buildings"), None)).await;
    assert_eq!(status, 200);
    assert_eq!(other_buildings["items"], json!([]));
}

#[tokio::test]
async fn a_dispatcher_of_another_community_cannot_add_compounds_or_buildings() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let community = app.community().await;
    let compound = app.compound(&admin, community, "阳光花园").await;
    let elsewhere = app.dispatcher(app.community().await).await;
    let token = Some(elsewhere.access_token.as_str());

    let response = app
        .post(&format!("/communities/{community}/compounds"), token, &json!({"name": "外来小区"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(problem(response).await["code"], "forbidden");
    let (status, _) =
        app.call(app.post(&format!("/compounds/{compound}/buildings"), token, &json!({"name": "9号楼"}))).await;
    assert_eq!(status, 403);

    let (_, list) = app.call(app.get(&format!("/communities/{community}/compounds"), None)).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "nothing was added");
    assert_eq!(list["items"][0]["buildings"], json!([]));
}

#[tokio::test]
async fn a_resident_cannot_add_compounds_or_buildings() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let community = app.community().await;
    let compound = app.compound(&admin, community, "阳光花园").await;
    let resident = app.resident().await;
    let token = Some(resident.access_token.as_str());

    assert_eq!(
        app.call(app.post(&format!("/communities/{community}/compounds"), token, &json!({"name": "x"}))).await.0,
        403
    );
    assert_eq!(
        app.call(app.post(&format!("/compounds/{compound}/buildings"), token, &json!({"name": "x"}))).await.0,
        403
    );
    assert_eq!(
        app.call(app.post(&format!("/compounds/{compound}/buildings"), None, &json!({"name": "x"}))).await.0,
        401
    );
}

#[tokio::test]
async fn unknown_places_are_404() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let token = Some(admin.access_token.as_str());
    let nowhere = Uuid::now_v7();

    assert_eq!(app.call(app.get(&format!("/communities/{nowhere}"), None)).await.0, 404);
    assert_eq!(app.call(app.get("/communities/not-an-id", None)).await.0, 404);
    assert_eq!(app.call(app.get(&format!("/communities/{nowhere}/compounds"), None)).await.0, 404);
    assert_eq!(app.call(app.get(&format!("/compounds/{nowhere}/buildings"), None)).await.0, 404);
    assert_eq!(app.call(app.patch(&format!("/communities/{nowhere}"), token, &json!({"name": "无"}))).await.0, 404);
    assert_eq!(
        app.call(app.post(&format!("/communities/{nowhere}/compounds"), token, &json!({"name": "x"}))).await.0,
        404
    );
    let (status, body) =
        app.call(app.post(&format!("/compounds/{nowhere}/buildings"), token, &json!({"name": "x"}))).await;
    assert_eq!(status, 404);
    assert_eq!(body["code"], "not_found");
}

#[tokio::test]
async fn compound_and_building_names_are_unique_within_their_parent() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let token = Some(admin.access_token.as_str());
    let community = app.community().await;
    let compound = app.compound(&admin, community, "阳光花园").await;
    app.building(&admin, compound, "1号楼").await;

    let (status, body) =
        app.call(app.post(&format!("/communities/{community}/compounds"), token, &json!({"name": "阳光花园"}))).await;
    assert_eq!(status, 409);
    assert_eq!(body["code"], "name_taken");
    let (status, body) =
        app.call(app.post(&format!("/compounds/{compound}/buildings"), token, &json!({"name": "1号楼"}))).await;
    assert_eq!(status, 409);
    assert_eq!(body["code"], "name_taken");

    // The same names are fine under another parent.
    let elsewhere = app.compound(&admin, app.community().await, "阳光花园").await;
    app.building(&admin, elsewhere, "1号楼").await;
    let (status, body) =
        app.call(app.post(&format!("/compounds/{compound}/buildings"), token, &json!({"name": ""}))).await;
    assert_eq!(status, 422);
    assert_eq!(body["errors"][0]["field"], "name");
}
