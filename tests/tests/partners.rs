//! Partner organisations and contracts, end to end: apply, approve, record, sign, activate,
//! and the eligibility that dispatches will ask.

use serde_json::{Value, json};
use shenbian_tests::{TestApp, next_credit_code, next_phone};

#[tokio::test]
async fn a_partner_applies_is_approved_signs_and_becomes_eligible() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let community = app.community().await;
    let category = app.category(&admin, "legal_aid").await;
    let (owner, partner) = app.approved_partner(&admin).await;
    let dispatcher = app.dispatcher(community).await;
    let eligibility = format!("/partners/{partner}/eligibility?community_id={community}&category_code={category}");

    let (status, before) = app.call(app.get(&eligibility, Some(&dispatcher.access_token))).await;
    assert_eq!(status, 200);
    assert_eq!(before["eligible"], false);
    assert_eq!(before["reasons"][0]["code"], "no_contract");
    assert_eq!(before["reasons"][0]["text"], "没有覆盖该社区和服务类别的契约");

    let terms = json!({"pricing": "discount", "discount_percent": 30, "monthly_quota": 20, "max_open_jobs": 3});
    let contract = app.active_contract(&admin, &owner, partner, community, &category, terms).await;
    let (_, after) =
        app.call(app.get(&eligibility, Some(&dispatcher.access_token)).header("accept-language", "en")).await;
    assert_eq!(after["eligible"], true, "{after}");
    assert_eq!(after["contract_id"], contract.to_string());

    // Suspending the contract makes the partner ineligible, with the reason in English.
    let (status, _) = app
        .call(app.post(
            &format!("/contracts/{contract}/suspend"),
            Some(&dispatcher.access_token),
            &json!({"reason": "投诉核查中"}),
        ))
        .await;
    assert_eq!(status, 200);
    let (_, suspended) =
        app.call(app.get(&eligibility, Some(&dispatcher.access_token)).header("accept-language", "en-US,en")).await;
    assert_eq!(suspended["eligible"], false);
    assert_eq!(suspended["reasons"][0]["code"], "contract_not_active");
    assert!(suspended["reasons"][0]["text"].as_str().unwrap().contains("not active"));
}

#[tokio::test]
async fn credit_codes_are_checked_and_unique() {
    let app = TestApp::spawn().await;
    let resident = app.resident().await;
    let token = Some(resident.access_token.as_str());
    let apply = |code: &str| json!({"name": "某律所", "kind": "legal", "credit_code": code, "contact_name": "王律师", "contact_phone": next_phone()});
    for bad in ["91350100M000100Y44", "91350100M000100Y4", "91350100M000100X43"] {
        let (status, body) = app.call(app.post("/partners", token, &apply(bad))).await;
        assert_eq!(status, 422, "{bad}");
        assert_eq!(body["errors"][0]["field"], "credit_code");
    }
    let code = next_credit_code();
    assert_eq!(app.call(app.post("/partners", token, &apply(&code))).await.0, 201);
    let (status, body) = app.call(app.post("/partners", token, &apply(&code))).await;
    assert_eq!(status, 409);
    assert_eq!(body["code"], "credit_code_taken");
}

#[tokio::test]
async fn contract_states_follow_their_rules_and_overlaps_are_refused() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let community = app.community().await;
    let category = app.category(&admin, "home_repair").await;
    let (owner, partner) = app.approved_partner(&admin).await;
    let body = json!({
        "partner_id": partner, "title": "家电维修契约", "community_ids": [community], "category_codes": [category],
        "valid_from": "2026-01-01", "valid_to": "2030-12-31", "terms": {"pricing": "free", "max_open_jobs": 2}
    });
    let (status, draft) = app.call(app.post("/contracts", Some(&admin.access_token), &body)).await;
    assert_eq!(status, 201, "{draft}");
    let id = draft["id"].as_str().unwrap();
    assert_eq!(draft["status"], "draft");
    // Staff cannot sign for the partner; the partner signs before anyone activates.
    assert_eq!(app.call(app.post_empty(&format!("/contracts/{id}/sign"), Some(&admin.access_token))).await.0, 403);
    let (status, refused) =
        app.call(app.post_empty(&format!("/contracts/{id}/activate"), Some(&admin.access_token))).await;
    assert_eq!(status, 409);
    assert_eq!(refused["code"], "invalid_transition");
    // The partner admin cannot activate.
    assert_eq!(app.call(app.post_empty(&format!("/contracts/{id}/sign"), Some(&owner.access_token))).await.0, 200);
    assert_eq!(app.call(app.post_empty(&format!("/contracts/{id}/activate"), Some(&owner.access_token))).await.0, 403);
    assert_eq!(app.call(app.post_empty(&format!("/contracts/{id}/activate"), Some(&admin.access_token))).await.0, 200);

    // A second contract over the same ground cannot be active at once.
    let (status, second) = app.call(app.post("/contracts", Some(&admin.access_token), &body)).await;
    assert_eq!(status, 201, "{second}");
    let second = second["id"].as_str().unwrap();
    app.call(app.post_empty(&format!("/contracts/{second}/sign"), Some(&owner.access_token))).await;
    let (status, refused) =
        app.call(app.post_empty(&format!("/contracts/{second}/activate"), Some(&admin.access_token))).await;
    assert_eq!(status, 409);
    assert_eq!(refused["code"], "overlapping_contract");

    let reason = json!({"reason": "合作结束"});
    assert_eq!(
        app.call(app.post(&format!("/contracts/{id}/terminate"), Some(&admin.access_token), &reason)).await.0,
        200
    );
    assert_eq!(
        app.call(app.post_empty(&format!("/contracts/{second}/activate"), Some(&admin.access_token))).await.0,
        200
    );
    let (status, _) = app.call(app.post_empty(&format!("/contracts/{id}/activate"), Some(&admin.access_token))).await;
    assert_eq!(status, 409, "terminated is final");
}

#[tokio::test]
async fn a_member_of_one_partner_cannot_see_anothers_contracts() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let community = app.community().await;
    let category = app.category(&admin, "meal_help").await;
    let (owner_a, partner_a) = app.approved_partner(&admin).await;
    let (owner_b, _partner_b) = app.approved_partner(&admin).await;
    let contract = app
        .active_contract(
            &admin,
            &owner_a,
            partner_a,
            community,
            &category,
            json!({"pricing": "free", "max_open_jobs": 2}),
        )
        .await;

    assert_eq!(app.call(app.get(&format!("/contracts/{contract}"), Some(&owner_a.access_token))).await.0, 200);
    assert_eq!(app.call(app.get(&format!("/contracts/{contract}"), Some(&owner_b.access_token))).await.0, 404);
    let (_, list) = app.call(app.get("/contracts", Some(&owner_b.access_token))).await;
    assert_eq!(list["items"], json!([]));
    let reason = json!({"reason": "x"});
    assert_eq!(
        app.call(app.post(&format!("/contracts/{contract}/suspend"), Some(&owner_b.access_token), &reason)).await.0,
        404
    );
    let resident = app.resident().await;
    assert_eq!(app.call(app.get("/contracts", Some(&resident.access_token))).await.0, 403);

    // Outsiders see an approved partner with its contact masked.
    let (_, seen) = app.call(app.get(&format!("/partners/{partner_a}"), Some(&resident.access_token))).await;
    assert!(seen["contact_phone"].as_str().unwrap().contains("****"), "{seen}");
    assert_eq!(seen["contact_name"], "陈*");
    let (_, own) = app.call(app.get(&format!("/partners/{partner_a}"), Some(&owner_a.access_token))).await;
    assert!(!own["contact_phone"].as_str().unwrap().contains('*'));
    let _: Value = own;
}
