//! Contracts: who records and changes them, how their terms and dates are checked, how
//! they expire by the district's calendar, and what eligibility says across dates.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use serde_json::{Value, json};
use shenbian_tests::{Actor, Id, TestApp, TestClock, problem};
use uuid::Uuid;

/// The district's date (Asia/Shanghai, UTC+8 all year) at an instant.
fn district_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&FixedOffset::east_opt(8 * 3600).unwrap()).date_naive()
}

fn contract_body(partner: Uuid, community: Uuid, category: &str, from: NaiveDate, to: NaiveDate) -> Value {
    json!({
        "partner_id": partner, "title": "社区服务契约", "community_ids": [community], "category_codes": [category],
        "valid_from": from, "valid_to": to, "terms": {"pricing": "free", "max_open_jobs": 2}
    })
}

fn reason_codes(body: &Value) -> Vec<String> {
    body["reasons"].as_array().unwrap().iter().map(|r| r["code"].as_str().unwrap().to_owned()).collect()
}

fn fields(problem: &Value) -> Vec<String> {
    problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_owned()).collect()
}

/// Records a contract as `staff`, has `owner` sign it and `staff` activate it.
async fn signed_and_active(app: &TestApp, staff: &Actor, owner: &Actor, body: &Value) -> Uuid {
    let (status, created) = app.call(app.post("/contracts", Some(&staff.access_token), body)).await;
    assert_eq!(status, 201, "{created}");
    let id = created.id();
    assert_eq!(app.call(app.post_empty(&format!("/contracts/{id}/sign"), Some(&owner.access_token))).await.0, 200);
    let (status, active) =
        app.call(app.post_empty(&format!("/contracts/{id}/activate"), Some(&staff.access_token))).await;
    assert_eq!(status, 200, "{active}");
    id
}

#[tokio::test]
async fn a_dispatcher_records_contracts_for_their_own_community_only() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let community = app.community().await;
    let other = app.community().await;
    let category = app.category(&admin, "legal_aid").await;
    let (owner, partner) = app.approved_partner(&admin).await;
    let dispatcher = app.dispatcher(community).await;
    let token = Some(dispatcher.access_token.as_str());
    let (from, to) = ("2026-01-01".parse().unwrap(), "2030-12-31".parse().unwrap());

    let response =
        app.post("/contracts", token, &contract_body(partner, other, &category, from, to)).send().await.unwrap();
    assert_eq!(response.status(), 403);
    assert_eq!(problem(response).await["code"], "forbidden");
    let mut both = contract_body(partner, community, &category, from, to);
    both["community_ids"] = json!([community, other]);
    assert_eq!(app.call(app.post("/contracts", token, &both)).await.0, 403, "a shared contract is for admins");

    let id =
        signed_and_active(&app, &dispatcher, &owner, &contract_body(partner, community, &category, from, to)).await;
    let (_, listed) = app.call(app.get("/contracts", token)).await;
    assert_eq!(listed["items"][0]["id"], id.to_string());

    // A dispatcher of the other community neither sees nor changes it.
    let outsider = app.dispatcher(other).await;
    let outside = Some(outsider.access_token.as_str());
    assert_eq!(app.call(app.get(&format!("/contracts/{id}"), outside)).await.0, 404);
    assert_eq!(app.call(app.post(&format!("/contracts/{id}/suspend"), outside, &json!({"reason": "x"}))).await.0, 404);
    assert_eq!(app.call(app.get("/contracts", outside)).await.1["items"], json!([]));
    let resident = app.resident().await;
    let (status, _) = app
        .call(app.post(
            "/contracts",
            Some(&resident.access_token),
            &contract_body(partner, community, &category, from, to),
        ))
        .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn contract_terms_are_checked_naming_each_field() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let token = Some(admin.access_token.as_str());
    let community = app.community().await;
    let category = app.category(&admin, "legal_aid").await;
    let (_, partner) = app.approved_partner(&admin).await;
    let base =
        contract_body(partner, community, &category, "2026-01-01".parse().unwrap(), "2026-12-31".parse().unwrap());
    let cases = [
        (json!({"pricing": "discount", "max_open_jobs": 2}), "terms.discount_percent"),
        (json!({"pricing": "discount", "discount_percent": 100, "max_open_jobs": 2}), "terms.discount_percent"),
        (json!({"pricing": "free", "discount_percent": 20, "max_open_jobs": 2}), "terms.discount_percent"),
        (json!({"pricing": "market", "monthly_quota": 0, "max_open_jobs": 2}), "terms.monthly_quota"),
        (json!({"pricing": "market", "max_open_jobs": 0}), "terms.max_open_jobs"),
        (json!({"pricing": "market", "max_open_jobs": 1001}), "terms.max_open_jobs"),
        (json!({"pricing": "market", "max_open_jobs": 2, "accept_within_minutes": 0}), "terms.accept_within_minutes"),
        (
            json!({"pricing": "market", "max_open_jobs": 2, "accept_within_minutes": 10081}),
            "terms.accept_within_minutes",
        ),
    ];
    for (terms, field) in cases {
        let mut body = base.clone();
        body["terms"] = terms.clone();
        let (status, refused) = app.call(app.post("/contracts", token, &body)).await;
        assert_eq!(status, 422, "{terms}");
        assert_eq!(fields(&refused), [field], "{terms}");
    }

    let mut everything_wrong = base.clone();
    everything_wrong["terms"] =
        json!({"pricing": "discount", "monthly_quota": 0, "max_open_jobs": 0, "accept_within_minutes": 0});
    let (_, refused) = app.call(app.post("/contracts", token, &everything_wrong)).await;
    assert_eq!(
        fields(&refused),
        ["terms.discount_percent", "terms.monthly_quota", "terms.max_open_jobs", "terms.accept_within_minutes"],
        "every broken rule is reported at once"
    );
    let mut wrong_type = base.clone();
    wrong_type["terms"]["max_open_jobs"] = json!(-1);
    let (status, refused) = app.call(app.post("/contracts", token, &wrong_type)).await;
    assert_eq!(status, 422);
    assert_eq!(fields(&refused), ["terms.max_open_jobs"]);
    assert_eq!(app.call(app.get("/contracts", token)).await.1["items"], json!([]), "nothing was recorded");
}

#[tokio::test]
async fn a_contract_cannot_end_before_it_begins_or_run_past_ten_years() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let token = Some(admin.access_token.as_str());
    let community = app.community().await;
    let category = app.category(&admin, "legal_aid").await;
    let (_, partner) = app.approved_partner(&admin).await;

    let backwards =
        contract_body(partner, community, &category, "2026-06-01".parse().unwrap(), "2026-05-31".parse().unwrap());
    let (status, refused) = app.call(app.post("/contracts", token, &backwards)).await;
    assert_eq!(status, 422);
    assert_eq!(fields(&refused), ["valid_to"]);

    let endless =
        contract_body(partner, community, &category, "2026-01-01".parse().unwrap(), "2040-01-01".parse().unwrap());
    assert_eq!(fields(&app.call(app.post("/contracts", token, &endless)).await.1), ["valid_to"]);

    let one_day =
        contract_body(partner, community, &category, "2026-06-01".parse().unwrap(), "2026-06-01".parse().unwrap());
    assert_eq!(app.call(app.post("/contracts", token, &one_day)).await.0, 201, "a one-day contract is fine");

    let mut bad_date = one_day.clone();
    bad_date["valid_from"] = json!("2026-02-30");
    let (status, refused) = app.call(app.post("/contracts", token, &bad_date)).await;
    assert_eq!(status, 422);
    assert_eq!(fields(&refused), ["valid_from"]);
}

#[tokio::test]
async fn a_contract_must_name_a_known_partner_communities_and_categories() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let token = Some(admin.access_token.as_str());
    let community = app.community().await;
    let category = app.category(&admin, "legal_aid").await;
    let (_, partner) = app.approved_partner(&admin).await;
    let (from, to) = ("2026-01-01".parse().unwrap(), "2026-12-31".parse().unwrap());

    let mut body = contract_body(Uuid::now_v7(), Uuid::now_v7(), "no_such_category", from, to);
    let (status, refused) = app.call(app.post("/contracts", token, &body)).await;
    assert_eq!(status, 422);
    assert_eq!(fields(&refused), ["partner_id", "community_ids", "category_codes"]);

    body = contract_body(partner, community, &category, from, to);
    body["community_ids"] = json!([]);
    body["category_codes"] = json!([]);
    assert_eq!(fields(&app.call(app.post("/contracts", token, &body)).await.1), ["community_ids", "category_codes"]);
}

#[tokio::test]
async fn only_the_partner_admin_signs_its_contract() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let community = app.community().await;
    let category = app.category(&admin, "legal_aid").await;
    let (owner, partner) = app.approved_partner(&admin).await;
    let member = app.resident().await;
    app.join_partner(&owner, partner, &member, "member").await;
    let dispatcher = app.dispatcher(community).await;
    let body =
        contract_body(partner, community, &category, "2026-01-01".parse().unwrap(), "2030-12-31".parse().unwrap());
    let id = app.call(app.post("/contracts", Some(&admin.access_token), &body)).await.1.id();
    let sign = format!("/contracts/{id}/sign");

    assert_eq!(
        app.call(app.get(&format!("/contracts/{id}"), Some(&member.access_token))).await.0,
        200,
        "a member reads it"
    );
    assert_eq!(app.call(app.post_empty(&sign, Some(&member.access_token))).await.0, 403);
    assert_eq!(app.call(app.post_empty(&sign, Some(&dispatcher.access_token))).await.0, 403);
    assert_eq!(app.call(app.post_empty(&format!("/contracts/{id}/activate"), Some(&member.access_token))).await.0, 403);

    let (status, signed) = app.call(app.post_empty(&sign, Some(&owner.access_token))).await;
    assert_eq!(status, 200);
    assert_eq!(signed["status"], "signed");
    assert!(signed["signed_at"].is_string());
    let (status, again) = app.call(app.post_empty(&sign, Some(&owner.access_token))).await;
    assert_eq!(status, 409);
    assert_eq!(again["code"], "invalid_transition");
}

#[tokio::test]
async fn suspending_or_terminating_a_contract_needs_a_reason() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let community = app.community().await;
    let category = app.category(&admin, "legal_aid").await;
    let (owner, partner) = app.approved_partner(&admin).await;
    let id = app
        .active_contract(&admin, &owner, partner, community, &category, json!({"pricing": "free", "max_open_jobs": 2}))
        .await;
    let token = Some(admin.access_token.as_str());

    for verb in ["suspend", "terminate"] {
        for body in [json!({}), json!({"reason": ""})] {
            let (status, _) = app.call(app.post(&format!("/contracts/{id}/{verb}"), token, &body)).await;
            assert_eq!(status, 422, "{verb} {body}");
        }
    }
    let (_, seen) = app.call(app.get(&format!("/contracts/{id}"), token)).await;
    assert_eq!(seen["status"], "active");

    let (status, suspended) =
        app.call(app.post(&format!("/contracts/{id}/suspend"), token, &json!({"reason": "服务质量整改"}))).await;
    assert_eq!(status, 200);
    assert_eq!(suspended["status"], "suspended");
    assert_eq!(suspended["status_reason"], "服务质量整改");
}

#[tokio::test]
async fn a_contract_past_its_last_day_is_expired_and_cannot_be_activated() {
    let clock = TestClock::new();
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let admin = app.admin().await;
    let community = app.community().await;
    let category = app.category(&admin, "legal_aid").await;
    let (owner, partner) = app.approved_partner(&admin).await;
    let today = district_date(Utc::now());
    let body = contract_body(partner, community, &category, today - Duration::days(30), today + Duration::days(1));
    let id = signed_and_active(&app, &admin, &owner, &body).await;
    let token = Some(admin.access_token.as_str());
    app.call(app.post(&format!("/contracts/{id}/suspend"), token, &json!({"reason": "整改"}))).await;

    clock.advance(Duration::days(3));

    let (_, seen) = app.call(app.get(&format!("/contracts/{id}"), token)).await;
    assert_eq!(seen["status"], "expired");
    let (status, refused) = app.call(app.post_empty(&format!("/contracts/{id}/activate"), token)).await;
    assert_eq!(status, 409);
    assert_eq!(refused["code"], "invalid_transition");
    let eligibility = format!("/partners/{partner}/eligibility?community_id={community}&category_code={category}");
    let (_, answer) = app.call(app.get(&eligibility, token)).await;
    assert_eq!(answer["eligible"], false);
    assert_eq!(reason_codes(&answer), ["contract_not_active", "contract_not_in_force"]);
}

#[tokio::test]
async fn a_contract_dated_in_the_past_is_expired_from_the_start() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let community = app.community().await;
    let category = app.category(&admin, "legal_aid").await;
    let (owner, partner) = app.approved_partner(&admin).await;
    let body =
        contract_body(partner, community, &category, "2020-01-01".parse().unwrap(), "2020-12-31".parse().unwrap());

    let (status, created) = app.call(app.post("/contracts", Some(&admin.access_token), &body)).await;
    assert_eq!(status, 201);
    assert_eq!(created["status"], "expired");
    let id = created.id();
    assert_eq!(app.call(app.post_empty(&format!("/contracts/{id}/sign"), Some(&owner.access_token))).await.0, 409);
    let (status, refused) =
        app.call(app.post_empty(&format!("/contracts/{id}/activate"), Some(&admin.access_token))).await;
    assert_eq!(status, 409);
    assert_eq!(refused["code"], "invalid_transition");
}

#[tokio::test]
async fn a_contract_expires_at_midnight_in_the_districts_time_zone() {
    // 23:30 in the district on its last day is 15:30 UTC the same day; an hour later the
    // district has turned the date while UTC has not.
    let last_day = Utc::now().date_naive() + Duration::days(2);
    let clock = TestClock::new();
    clock.set(last_day.and_hms_opt(15, 30, 0).unwrap().and_utc());
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let admin = app.admin().await;
    let community = app.community().await;
    let category = app.category(&admin, "legal_aid").await;
    let (owner, partner) = app.approved_partner(&admin).await;
    let body = contract_body(partner, community, &category, last_day - Duration::days(10), last_day);
    let id = signed_and_active(&app, &admin, &owner, &body).await;
    let token = Some(admin.access_token.as_str());
    let eligibility = format!("/partners/{partner}/eligibility?community_id={community}&category_code={category}");
    assert_eq!(app.call(app.get(&eligibility, token)).await.1["eligible"], true);

    clock.advance(Duration::hours(1));

    let (_, seen) = app.call(app.get(&format!("/contracts/{id}"), token)).await;
    assert_eq!(seen["status"], "expired");
    let (_, answer) = app.call(app.get(&eligibility, token)).await;
    assert_eq!(answer["eligible"], false);
    assert!(reason_codes(&answer).contains(&"contract_not_in_force".to_owned()), "{answer}");
}

#[tokio::test]
async fn a_partner_whose_contract_starts_later_is_eligible_only_from_its_first_day() {
    let clock = TestClock::new();
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let admin = app.admin().await;
    let community = app.community().await;
    let category = app.category(&admin, "legal_aid").await;
    let (owner, partner) = app.approved_partner(&admin).await;
    let today = district_date(Utc::now());
    let body = contract_body(partner, community, &category, today + Duration::days(10), today + Duration::days(100));
    let id = signed_and_active(&app, &admin, &owner, &body).await;
    let token = Some(admin.access_token.as_str());
    let eligibility = format!("/partners/{partner}/eligibility?community_id={community}&category_code={category}");

    let (_, early) = app.call(app.get(&eligibility, token)).await;
    assert_eq!(early["eligible"], false);
    assert_eq!(reason_codes(&early), ["contract_not_in_force"]);
    assert_eq!(early["reasons"][0]["text"], "今天不在契约有效期内");
    assert_eq!(app.call(app.get(&format!("/contracts/{id}"), token)).await.1["status"], "active");

    clock.advance(Duration::days(11));

    let (_, in_force) = app.call(app.get(&eligibility, token)).await;
    assert_eq!(in_force["eligible"], true, "{in_force}");
    assert_eq!(in_force["contract_id"], id.to_string());
}

#[tokio::test]
async fn eligibility_follows_the_partners_standing_and_the_contracts_scope() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let token = Some(admin.access_token.as_str());
    let community = app.community().await;
    let elsewhere = app.community().await;
    let category = app.category(&admin, "legal_aid").await;
    let other_category = app.category(&admin, "home_repair").await;
    let (owner, partner) = app.approved_partner(&admin).await;
    let ask = |community: Uuid, category: &str| {
        format!("/partners/{partner}/eligibility?community_id={community}&category_code={category}")
    };
    let body =
        contract_body(partner, community, &category, "2026-01-01".parse().unwrap(), "2030-12-31".parse().unwrap());

    let (_, created) = app.call(app.post("/contracts", token, &body)).await;
    let id = created.id();
    assert_eq!(reason_codes(&app.call(app.get(&ask(community, &category), token)).await.1), ["contract_not_signed"]);
    app.call(app.post_empty(&format!("/contracts/{id}/sign"), Some(&owner.access_token))).await;
    assert_eq!(reason_codes(&app.call(app.get(&ask(community, &category), token)).await.1), ["contract_not_active"]);
    app.call(app.post_empty(&format!("/contracts/{id}/activate"), token)).await;
    assert_eq!(app.call(app.get(&ask(community, &category), token)).await.1["eligible"], true);

    assert_eq!(reason_codes(&app.call(app.get(&ask(elsewhere, &category), token)).await.1), ["no_contract"]);
    assert_eq!(reason_codes(&app.call(app.get(&ask(community, &other_category), token)).await.1), ["no_contract"]);

    app.call(app.post(&format!("/partners/{partner}/suspend"), token, &json!({"reason": "核查投诉"}))).await;
    assert_eq!(reason_codes(&app.call(app.get(&ask(community, &category), token)).await.1), ["not_approved"]);
    app.call(app.post_empty(&format!("/partners/{partner}/reinstate"), token)).await;
    assert_eq!(app.call(app.get(&ask(community, &category), token)).await.1["eligible"], true);

    app.call(app.post(&format!("/contracts/{id}/terminate"), token, &json!({"reason": "合作结束"}))).await;
    assert_eq!(reason_codes(&app.call(app.get(&ask(community, &category), token)).await.1), ["contract_not_active"]);
}

#[tokio::test]
async fn only_staff_ask_whether_a_partner_is_eligible() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let community = app.community().await;
    let category = app.category(&admin, "legal_aid").await;
    let (owner, partner) = app.approved_partner(&admin).await;
    let resident = app.resident().await;
    let ask =
        |partner: Uuid| format!("/partners/{partner}/eligibility?community_id={community}&category_code={category}");

    assert_eq!(app.call(app.get(&ask(partner), Some(&resident.access_token))).await.0, 403);
    assert_eq!(app.call(app.get(&ask(partner), Some(&owner.access_token))).await.0, 403);
    assert_eq!(app.call(app.get(&ask(partner), None)).await.0, 401);
    assert_eq!(app.call(app.get(&ask(Uuid::now_v7()), Some(&admin.access_token))).await.0, 404);
    let (status, refused) = app
        .call(app.get(&format!("/partners/{partner}/eligibility?category_code={category}"), Some(&admin.access_token)))
        .await;
    assert_eq!(status, 422, "the community is required: {refused}");
}
