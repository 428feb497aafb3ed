//! Partner review: who sees which partners, and the admin's approve / reject / suspend /
//! reinstate decisions with their refusals.

use serde_json::{Value, json};
use shenbian_tests::{Id, TestApp, TestClock, problem};
use uuid::Uuid;

fn ids(page: &Value) -> Vec<String> {
    page["items"].as_array().expect("items").iter().map(|p| p["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn residents_see_approved_partners_and_their_own_application_only() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let (_, approved) = app.approved_partner(&admin).await;
    let applicant = app.resident().await;
    let own = app.pending_partner(&applicant, "legal").await;
    let stranger = app.resident().await;
    let someone_elses = app.pending_partner(&stranger, "education").await;

    let (status, list) = app.call(app.get("/partners", Some(&applicant.access_token))).await;
    assert_eq!(status, 200);
    assert_eq!(ids(&list), [approved.to_string(), own.to_string()]);
    let items = list["items"].as_array().unwrap();
    assert!(items[0]["contact_phone"].as_str().unwrap().contains("****"), "another's contact is masked");
    assert_eq!(items[0]["contact_name"], "陈*");
    assert!(!items[1]["contact_phone"].as_str().unwrap().contains('*'), "one's own contact is whole");
    assert_eq!(items[1]["status"], "pending");

    assert_eq!(app.call(app.get(&format!("/partners/{someone_elses}"), Some(&applicant.access_token))).await.0, 404);
    assert_eq!(app.call(app.get("/partners", None)).await.0, 401);
}

#[tokio::test]
async fn staff_see_every_partner_unmasked_and_filter_by_status_and_kind() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let dispatcher = app.dispatcher(app.community().await).await;
    let (_, approved) = app.approved_partner(&admin).await;
    let applicant = app.resident().await;
    let pending = app.pending_partner(&applicant, "legal").await;

    for staff in [&admin, &dispatcher] {
        let (_, list) = app.call(app.get("/partners", Some(&staff.access_token))).await;
        assert_eq!(ids(&list), [approved.to_string(), pending.to_string()]);
        assert!(list["items"].as_array().unwrap().iter().all(|p| !p["contact_phone"].as_str().unwrap().contains('*')));
    }
    let token = Some(dispatcher.access_token.as_str());
    assert_eq!(ids(&app.call(app.get("/partners?status=pending", token)).await.1), [pending.to_string()]);
    assert_eq!(ids(&app.call(app.get("/partners?kind=medical", token)).await.1), [approved.to_string()]);
    assert_eq!(app.call(app.get("/partners?kind=bakery", token)).await.0, 422);
}

#[tokio::test]
async fn partners_are_listed_by_the_community_and_category_their_active_contracts_cover() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let community = app.community().await;
    let elsewhere = app.community().await;
    let category = app.category(&admin, "legal_aid").await;
    app.category(&admin, "home_repair").await;
    let (owner, covering) = app.approved_partner(&admin).await;
    let (_, uncovered) = app.approved_partner(&admin).await;
    let terms = json!({"pricing": "free", "max_open_jobs": 2});
    app.active_contract(&admin, &owner, covering, community, &category, terms).await;
    let token = Some(admin.access_token.as_str());

    let both = format!("/partners?community_id={community}&category_code={category}");
    assert_eq!(ids(&app.call(app.get(&both, token)).await.1), [covering.to_string()]);
    assert_eq!(
        ids(&app.call(app.get(&format!("/partners?community_id={elsewhere}"), token)).await.1),
        Vec::<String>::new()
    );
    assert_eq!(ids(&app.call(app.get("/partners?category_code=home_repair", token)).await.1), Vec::<String>::new());
    let (_, all) = app.call(app.get("/partners", token)).await;
    assert!(ids(&all).contains(&uncovered.to_string()));
}

#[tokio::test]
async fn an_admin_approves_suspends_and_reinstates_a_partner() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let token = Some(admin.access_token.as_str());
    let owner = app.resident().await;
    let partner = app.pending_partner(&owner, "household").await;

    let (status, approved) = app.call(app.post_empty(&format!("/partners/{partner}/approve"), token)).await;
    assert_eq!(status, 200);
    assert_eq!(approved["status"], "approved");
    let (status, suspended) = app
        .call(app.post(&format!("/partners/{partner}/suspend"), token, &json!({"reason": "多次投诉，核查中"})))
        .await;
    assert_eq!(status, 200);
    assert_eq!(suspended["status"], "suspended");
    assert_eq!(suspended["status_reason"], "多次投诉，核查中");

    // The partner's own admin sees the suspension and why.
    let (_, seen) = app.call(app.get(&format!("/partners/{partner}"), Some(&owner.access_token))).await;
    assert_eq!(seen["status"], "suspended");
    assert_eq!(seen["status_reason"], "多次投诉，核查中");

    let (status, reinstated) = app.call(app.post_empty(&format!("/partners/{partner}/reinstate"), token)).await;
    assert_eq!(status, 200);
    assert_eq!(reinstated["status"], "approved");
    assert_eq!(reinstated["status_reason"], Value::Null);
}

#[tokio::test]
async fn an_admin_rejects_an_application_with_a_reason() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let owner = app.resident().await;
    let partner = app.pending_partner(&owner, "finance").await;

    let reason = json!({"reason": "资质材料不全"});
    let (status, rejected) =
        app.call(app.post(&format!("/partners/{partner}/reject"), Some(&admin.access_token), &reason)).await;
    assert_eq!(status, 200);
    assert_eq!(rejected["status"], "rejected");
    let (_, seen) = app.call(app.get(&format!("/partners/{partner}"), Some(&owner.access_token))).await;
    assert_eq!(seen["status_reason"], "资质材料不全");
}

#[tokio::test]
async fn a_decision_the_partners_state_does_not_allow_is_an_invalid_transition() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let token = Some(admin.access_token.as_str());
    let owner = app.resident().await;
    let pending = app.pending_partner(&owner, "legal").await;
    let rejected = app.pending_partner(&owner, "legal").await;
    app.call(app.post(&format!("/partners/{rejected}/reject"), token, &json!({"reason": "不符合条件"}))).await;
    let (_, approved) = app.approved_partner(&admin).await;
    let reason = json!({"reason": "核查"});

    let refusals = [
        app.post_empty(&format!("/partners/{rejected}/approve"), token),
        app.post_empty(&format!("/partners/{approved}/approve"), token),
        app.post_empty(&format!("/partners/{approved}/reinstate"), token),
        app.post(&format!("/partners/{approved}/reject"), token, &reason),
        app.post(&format!("/partners/{pending}/suspend"), token, &reason),
        app.post_empty(&format!("/partners/{pending}/reinstate"), token),
    ];
    for request in refusals {
        let response = request.send().await.unwrap();
        let path = response.url().path().to_owned();
        assert_eq!(response.status(), 409, "{path}");
        assert_eq!(problem(response).await["code"], "invalid_transition", "{path}");
    }
    let (_, still) = app.call(app.get(&format!("/partners/{rejected}"), token)).await;
    assert_eq!(still["status"], "rejected");
}

#[tokio::test]
async fn suspensions_and_rejections_need_a_reason() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let token = Some(admin.access_token.as_str());
    let owner = app.resident().await;
    let pending = app.pending_partner(&owner, "legal").await;
    let (_, approved) = app.approved_partner(&admin).await;

    for body in [json!({}), json!({"reason": ""}), json!({"reason": "   "})] {
        let (status, refused) = app.call(app.post(&format!("/partners/{approved}/suspend"), token, &body)).await;
        assert_eq!(status, 422, "{body}");
        assert!(refused["errors"][0].to_string().contains("reason"), "the problem names the reason: {refused}");
        let (status, _) = app.call(app.post(&format!("/partners/{pending}/reject"), token, &body)).await;
        assert_eq!(status, 422, "{body}");
    }
    let long = json!({"reason": "长".repeat(501)});
    assert_eq!(app.call(app.post(&format!("/partners/{approved}/suspend"), token, &long)).await.0, 422);

    let (_, seen) = app.call(app.get(&format!("/partners/{approved}"), token)).await;
    assert_eq!(seen["status"], "approved", "a refused suspension changes nothing");
    let (_, seen) = app.call(app.get(&format!("/partners/{pending}"), token)).await;
    assert_eq!(seen["status"], "pending");
}

#[tokio::test]
async fn only_admins_review_partners() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let owner = app.resident().await;
    let pending = app.pending_partner(&owner, "legal").await;
    let (_, approved) = app.approved_partner(&admin).await;
    let resident = app.resident().await;
    let dispatcher = app.dispatcher(app.community().await).await;
    let reason = json!({"reason": "我说了算"});

    for actor in [&resident, &dispatcher, &owner] {
        let token = Some(actor.access_token.as_str());
        assert_eq!(app.call(app.post_empty(&format!("/partners/{pending}/approve"), token)).await.0, 403);
        assert_eq!(app.call(app.post(&format!("/partners/{pending}/reject"), token, &reason)).await.0, 403);
        assert_eq!(app.call(app.post(&format!("/partners/{approved}/suspend"), token, &reason)).await.0, 403);
        assert_eq!(app.call(app.post_empty(&format!("/partners/{approved}/reinstate"), token)).await.0, 403);
    }
    assert_eq!(app.call(app.post_empty(&format!("/partners/{pending}/approve"), None)).await.0, 401);
    let (_, seen) = app.call(app.get(&format!("/partners/{pending}"), Some(&admin.access_token))).await;
    assert_eq!(seen["status"], "pending");
}

#[tokio::test]
async fn deciding_on_an_unknown_partner_is_404() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let token = Some(admin.access_token.as_str());
    let nobody = Uuid::now_v7();

    assert_eq!(app.call(app.post_empty(&format!("/partners/{nobody}/approve"), token)).await.0, 404);
    assert_eq!(app.call(app.post(&format!("/partners/{nobody}/suspend"), token, &json!({"reason": "x"}))).await.0, 404);
    assert_eq!(app.call(app.get(&format!("/partners/{nobody}"), token)).await.0, 404);
}

#[tokio::test]
async fn a_partner_whose_contract_has_expired_is_no_longer_listed_as_covering_the_community() {
    let clock = TestClock::new();
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let admin = app.admin().await;
    let community = app.community().await;
    let category = app.category(&admin, "legal_aid").await;
    let (owner, partner) = app.approved_partner(&admin).await;
    let today = chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap()).date_naive();
    let body = json!({
        "partner_id": partner, "title": "短期契约", "community_ids": [community], "category_codes": [category],
        "valid_from": today - chrono::Duration::days(30), "valid_to": today + chrono::Duration::days(1),
        "terms": {"pricing": "free", "max_open_jobs": 2}
    });
    let token = Some(admin.access_token.as_str());
    let contract = app.call(app.post("/contracts", token, &body)).await.1.id();
    app.call(app.post_empty(&format!("/contracts/{contract}/sign"), Some(&owner.access_token))).await;
    app.call(app.post_empty(&format!("/contracts/{contract}/activate"), token)).await;
    let covering = format!("/partners?community_id={community}&category_code={category}");
    assert_eq!(ids(&app.call(app.get(&covering, token)).await.1), [partner.to_string()]);

    clock.advance(chrono::Duration::days(3));

    assert_eq!(app.call(app.get(&format!("/contracts/{contract}"), token)).await.1["status"], "expired");
    assert_eq!(ids(&app.call(app.get(&covering, token)).await.1), Vec::<String>::new());
}
