//! Volunteers: a resident applies with skills, home community and the buildings they look
//! after; that community's dispatchers decide; eligibility says why a volunteer may not
//! be offered a job.

use serde_json::{Value, json};
use shenbian_tests::{Actor, TestApp, problem};
use uuid::Uuid;

/// A community with a dispatcher, one building and two categories.
struct Ground {
    admin: Actor,
    community: Uuid,
    dispatcher: Actor,
    building: Uuid,
}

async fn ground(app: &TestApp) -> Ground {
    let admin = app.admin().await;
    let community = app.community().await;
    let dispatcher = app.dispatcher(community).await;
    app.category(&admin, "elder_visits").await;
    app.category(&admin, "home_repair").await;
    let compound = app.compound(&dispatcher, community, "阳光花园").await;
    let building = app.building(&dispatcher, compound, "3号楼").await;
    Ground { admin, community, dispatcher, building }
}

async fn apply(app: &TestApp, ground: &Ground) -> (Actor, Uuid) {
    let resident = app.resident().await;
    let body = json!({"skills": ["elder_visits"], "community_id": ground.community, "building_ids": [ground.building], "bio": "退休教师"});
    let (status, created) = app.call(app.post("/volunteers", Some(&resident.access_token), &body)).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().parse().unwrap();
    (resident, id)
}

async fn decide(app: &TestApp, by: &Actor, volunteer: Uuid, verb: &str, reason: Option<&str>) -> (u16, Value) {
    let path = format!("/volunteers/{volunteer}/{verb}");
    let token = Some(by.access_token.as_str());
    match reason {
        Some(reason) => app.call(app.post(&path, token, &json!({"reason": reason}))).await,
        None => app.call(app.post_empty(&path, token)).await,
    }
}

#[tokio::test]
async fn a_resident_applies_and_the_community_dispatcher_approves() {
    let app = TestApp::spawn().await;
    let ground = ground(&app).await;
    let resident = app.resident().await;
    let body = json!({
        "skills": ["home_repair", "elder_visits"], "community_id": ground.community,
        "building_ids": [ground.building], "bio": "退休电工，住3号楼"
    });

    let (status, applied) = app.call(app.post("/volunteers", Some(&resident.access_token), &body)).await;
    assert_eq!(status, 201, "{applied}");
    assert_eq!(applied["status"], "pending");
    assert_eq!(applied["skills"], json!(["elder_visits", "home_repair"]));
    assert_eq!(applied["building_ids"], json!([ground.building]));
    assert_eq!(applied["max_open_jobs"], 2);
    let id = applied["id"].as_str().unwrap();

    let (_, listed) = app.call(app.get("/volunteers?status=pending", Some(&ground.dispatcher.access_token))).await;
    assert_eq!(listed["items"][0]["id"], id);
    let (status, approved) = decide(&app, &ground.dispatcher, id.parse().unwrap(), "approve", None).await;
    assert_eq!(status, 200);
    assert_eq!(approved["status"], "approved");

    // The volunteer sees their own record, and only that.
    let (status, own) = app.call(app.get(&format!("/volunteers/{id}"), Some(&resident.access_token))).await;
    assert_eq!(status, 200);
    assert_eq!(own["status"], "approved");
    let (_, mine) = app.call(app.get("/volunteers", Some(&resident.access_token))).await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    let (_, theirs) = app.call(app.get("/volunteers", Some(&app.resident().await.access_token))).await;
    assert_eq!(theirs["items"], json!([]));
}

#[tokio::test]
async fn a_volunteer_application_is_checked_field_by_field() {
    let app = TestApp::spawn().await;
    let ground = ground(&app).await;
    let elsewhere = app.community().await;
    let foreign_building = {
        let compound = app.compound(&ground.admin, elsewhere, "和平小区").await;
        app.building(&ground.admin, compound, "1号楼").await
    };
    let resident = app.resident().await;
    let token = Some(resident.access_token.as_str());
    let cases = [
        (json!({"skills": ["no_such_skill"], "community_id": ground.community}), "skills"),
        (json!({"skills": [], "community_id": ground.community}), "skills"),
        (json!({"skills": ["elder_visits"], "community_id": Uuid::now_v7()}), "community_id"),
        (
            json!({"skills": ["elder_visits"], "community_id": ground.community, "building_ids": [foreign_building]}),
            "building_ids",
        ),
        (json!({"skills": ["elder_visits"], "community_id": ground.community, "bio": "长".repeat(501)}), "bio"),
    ];
    for (body, field) in cases {
        let (status, refused) = app.call(app.post("/volunteers", token, &body)).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(refused["errors"][0]["field"], field, "{refused}");
    }
    let sneaky = json!({"skills": ["elder_visits"], "community_id": ground.community, "status": "approved"});
    assert_eq!(app.call(app.post("/volunteers", token, &sneaky)).await.0, 422, "no one approves themselves");

    let (_, mine) = app.call(app.get("/volunteers", token)).await;
    assert_eq!(mine["items"], json!([]), "nothing was recorded");
}

#[tokio::test]
async fn an_account_applies_to_volunteer_once() {
    let app = TestApp::spawn().await;
    let ground = ground(&app).await;
    let (resident, _) = apply(&app, &ground).await;

    let again = json!({"skills": ["home_repair"], "community_id": ground.community});
    let response = app.post("/volunteers", Some(&resident.access_token), &again).send().await.unwrap();
    assert_eq!(response.status(), 409);
    assert_eq!(problem(response).await["code"], "already_applied");
}

#[tokio::test]
async fn staff_accounts_do_not_apply_to_volunteer() {
    let app = TestApp::spawn().await;
    let ground = ground(&app).await;
    let body = json!({"skills": ["home_repair"], "community_id": ground.community});
    assert_eq!(app.call(app.post("/volunteers", Some(&ground.dispatcher.access_token), &body)).await.0, 403);
    assert_eq!(app.call(app.post("/volunteers", None, &body)).await.0, 401);
}

#[tokio::test]
async fn a_dispatcher_of_another_community_cannot_see_or_decide_on_a_volunteer() {
    let app = TestApp::spawn().await;
    let ground = ground(&app).await;
    let (_, volunteer) = apply(&app, &ground).await;
    let outsider = app.dispatcher(app.community().await).await;
    let token = Some(outsider.access_token.as_str());

    assert_eq!(app.call(app.get(&format!("/volunteers/{volunteer}"), token)).await.0, 404);
    for (verb, reason) in [("approve", None), ("reject", Some("不认识")), ("suspend", Some("x")), ("reinstate", None)]
    {
        let (status, body) = decide(&app, &outsider, volunteer, verb, reason).await;
        assert_eq!(status, 404, "{verb}");
        assert_eq!(body["code"], "not_found");
    }
    let (_, listed) = app.call(app.get("/volunteers", token)).await;
    assert_eq!(listed["items"], json!([]));
    let (_, listed) = app.call(app.get(&format!("/volunteers?community_id={}", ground.community), token)).await;
    assert_eq!(listed["items"], json!([]), "a dispatcher cannot widen their view by a filter");
    let eligibility =
        format!("/volunteers/{volunteer}/eligibility?community_id={}&category_code=elder_visits", ground.community);
    assert_eq!(app.call(app.get(&eligibility, token)).await.0, 404);

    let (_, seen) = app.call(app.get(&format!("/volunteers/{volunteer}"), Some(&ground.dispatcher.access_token))).await;
    assert_eq!(seen["status"], "pending", "nothing changed");
}

#[tokio::test]
async fn a_volunteer_cannot_decide_on_their_own_application() {
    let app = TestApp::spawn().await;
    let ground = ground(&app).await;
    let (resident, volunteer) = apply(&app, &ground).await;
    let neighbour = app.resident().await;

    assert_eq!(decide(&app, &resident, volunteer, "approve", None).await.0, 403);
    assert_eq!(decide(&app, &neighbour, volunteer, "approve", None).await.0, 404);
    assert_eq!(app.call(app.get(&format!("/volunteers/{volunteer}"), Some(&neighbour.access_token))).await.0, 404);
}

#[tokio::test]
async fn the_dispatcher_rejects_suspends_and_reinstates_with_reasons() {
    let app = TestApp::spawn().await;
    let ground = ground(&app).await;
    let (_, rejected) = apply(&app, &ground).await;
    let (volunteer, serving) = apply(&app, &ground).await;
    let dispatcher = &ground.dispatcher;

    let (status, body) = decide(&app, dispatcher, rejected, "reject", Some("不在本社区居住")).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "rejected");
    assert_eq!(body["status_reason"], "不在本社区居住");

    decide(&app, dispatcher, serving, "approve", None).await;
    let (status, body) = decide(&app, dispatcher, serving, "suspend", Some("健康原因暂停")).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "suspended");
    let (_, own) = app.call(app.get(&format!("/volunteers/{serving}"), Some(&volunteer.access_token))).await;
    assert_eq!(own["status_reason"], "健康原因暂停", "the volunteer learns why");
    let (status, body) = decide(&app, &ground.admin, serving, "reinstate", None).await;
    assert_eq!(status, 200, "admins may decide too");
    assert_eq!(body["status"], "approved");
}

#[tokio::test]
async fn a_decision_the_volunteers_state_does_not_allow_is_an_invalid_transition() {
    let app = TestApp::spawn().await;
    let ground = ground(&app).await;
    let (_, pending) = apply(&app, &ground).await;
    let (_, rejected) = apply(&app, &ground).await;
    let dispatcher = &ground.dispatcher;
    decide(&app, dispatcher, rejected, "reject", Some("材料不全")).await;

    for (volunteer, verb, reason) in [
        (rejected, "approve", None),
        (pending, "suspend", Some("x")),
        (pending, "reinstate", None),
        (rejected, "reject", Some("再拒一次")),
    ] {
        let (status, body) = decide(&app, dispatcher, volunteer, verb, reason).await;
        assert_eq!(status, 409, "{verb}");
        assert_eq!(body["code"], "invalid_transition");
    }
    for body in [json!({}), json!({"reason": " "})] {
        let (status, _) =
            app.call(app.post(&format!("/volunteers/{pending}/reject"), Some(&dispatcher.access_token), &body)).await;
        assert_eq!(status, 422, "a rejection needs a reason: {body}");
    }
    assert_eq!(decide(&app, dispatcher, Uuid::now_v7(), "approve", None).await.0, 404);
}

#[tokio::test]
async fn eligibility_gives_the_reasons_a_volunteer_may_not_be_offered_a_job() {
    let app = TestApp::spawn().await;
    let ground = ground(&app).await;
    let (volunteer_account, volunteer) = apply(&app, &ground).await;
    let elsewhere = app.community().await;
    let token = Some(ground.dispatcher.access_token.as_str());
    let ask = |community: Uuid, category: &str| {
        format!("/volunteers/{volunteer}/eligibility?community_id={community}&category_code={category}")
    };
    let codes = |body: &Value| -> Vec<String> {
        body["reasons"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap().to_owned()).collect()
    };

    let (status, pending) = app.call(app.get(&ask(ground.community, "elder_visits"), token)).await;
    assert_eq!(status, 200);
    assert_eq!(pending["eligible"], false);
    assert_eq!(codes(&pending), ["not_approved"]);

    decide(&app, &ground.dispatcher, volunteer, "approve", None).await;
    let (_, fine) = app.call(app.get(&ask(ground.community, "elder_visits"), token)).await;
    assert_eq!(fine["eligible"], true, "{fine}");
    let (_, away) = app.call(app.get(&ask(elsewhere, "elder_visits"), token)).await;
    assert_eq!(codes(&away), ["other_community"]);
    let (_, unskilled) =
        app.call(app.get(&ask(ground.community, "home_repair"), token).header("accept-language", "en")).await;
    assert_eq!(codes(&unskilled), ["no_skill"]);
    assert_eq!(unskilled["reasons"][0]["text"], "the volunteer has no skill in this category");

    decide(&app, &ground.dispatcher, volunteer, "suspend", Some("暂停")).await;
    let (_, suspended) = app.call(app.get(&ask(elsewhere, "home_repair"), token)).await;
    assert_eq!(codes(&suspended), ["not_approved", "other_community", "no_skill"]);

    let own = Some(volunteer_account.access_token.as_str());
    assert_eq!(app.call(app.get(&ask(ground.community, "elder_visits"), own)).await.0, 403);
}
