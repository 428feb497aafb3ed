//! The audit log: every admin and dispatcher action on places, the catalogue, partners,
//! volunteers, contracts and staff accounts is on record with its actor and reason, holds
//! no personal data, is read by admins only and cannot be changed.

use serde_json::{Value, json};
use shenbian_tests::{Actor, Id, TestApp, next_phone, partner_body};
use uuid::Uuid;

/// One audit entry a test expects.
struct Expected {
    action: &'static str,
    object_type: &'static str,
    object_id: String,
    actor: Uuid,
    reason: Option<String>,
}

fn expect(action: &'static str, object_type: &'static str, object_id: impl ToString, actor: &Actor) -> Expected {
    Expected { action, object_type, object_id: object_id.to_string(), actor: actor.user_id, reason: None }
}

fn because(mut expected: Expected, reason: impl ToString) -> Expected {
    expected.reason = Some(reason.to_string());
    expected
}

/// A busy day in the district: every audited action of places, catalogue, partners,
/// volunteers, contracts and staff accounts, done through the API. Returns the admin, what
/// the log should hold, and every phone number the day used.
async fn a_busy_day(app: &TestApp) -> (Actor, Vec<Expected>, Vec<String>) {
    let admin = app.admin().await;
    let admin_token = Some(admin.access_token.as_str());
    let mut expected = Vec::new();
    let mut phones = vec![admin.phone.clone()];
    let ok = |status: u16, body: &Value| assert!((200..300).contains(&status), "{status}: {body}");

    // Places.
    let (status, community) = app
        .call(app.post(
            "/communities",
            admin_token,
            &json!({"code": "XFL", "name": "幸福里社区", "street": "和平街道"}),
        ))
        .await;
    ok(status, &community);
    let community = community.id();
    expected.push(expect("community.create", "community", community, &admin));
    let (status, body) = app
        .call(app.patch(
            &format!("/communities/{community}"),
            admin_token,
            &json!({"settings": {"auto_dispatch": true}}),
        ))
        .await;
    ok(status, &body);
    expected.push(expect("community.update", "community", community, &admin));

    // A staff account, made through the API.
    let dispatcher_phone = next_phone();
    let staff = json!({"phone": dispatcher_phone, "password": "initial-password-1", "display_name": "赵调度", "roles": ["dispatcher"], "community_id": community});
    let (status, created) = app.call(app.post("/users", admin_token, &staff)).await;
    ok(status, &created);
    expected.push(expect("user.create", "user", created.id(), &admin));
    let dispatcher = app.login(&dispatcher_phone, "initial-password-1").await;
    let dispatcher_token = Some(dispatcher.access_token.as_str());
    phones.push(dispatcher_phone);

    let compound = app.compound(&dispatcher, community, "阳光花园").await;
    expected.push(expect("compound.create", "compound", compound, &dispatcher));
    let building = app.building(&dispatcher, compound, "3号楼").await;
    expected.push(expect("building.create", "building", building, &dispatcher));

    // Catalogue.
    let category = app.category(&admin, "legal_aid").await;
    expected.push(expect("category.create", "category", &category, &admin));
    let (status, body) =
        app.call(app.patch("/categories/legal_aid", admin_token, &json!({"name_en": "Legal counsel"}))).await;
    ok(status, &body);
    expected.push(expect("category.update", "category", &category, &admin));

    // Partners: one approved, suspended and reinstated; one rejected.
    let owner = app.resident().await;
    phones.push(owner.phone.clone());
    let application = partner_body("仁和社区诊所", "medical");
    phones.push(application["contact_phone"].as_str().unwrap().to_owned());
    let (status, partner) = app.call(app.post("/partners", Some(&owner.access_token), &application)).await;
    ok(status, &partner);
    let partner = partner.id();
    expected.push(expect("partner.apply", "partner", partner, &owner));
    for (verb, reason) in [("approve", None), ("suspend", Some("居民投诉，核查中")), ("reinstate", None)] {
        let path = format!("/partners/{partner}/{verb}");
        let (status, body) = match reason {
            Some(reason) => app.call(app.post(&path, admin_token, &json!({"reason": reason}))).await,
            None => app.call(app.post_empty(&path, admin_token)).await,
        };
        ok(status, &body);
        let action = match verb {
            "approve" => "partner.approve",
            "suspend" => "partner.suspend",
            _ => "partner.reinstate",
        };
        let entry = expect(action, "partner", partner, &admin);
        expected.push(match reason {
            Some(reason) => because(entry, reason),
            None => entry,
        });
    }
    let hopeful = app.resident().await;
    phones.push(hopeful.phone.clone());
    let rejected = app.pending_partner(&hopeful, "finance").await;
    expected.push(expect("partner.apply", "partner", rejected, &hopeful));
    let (status, body) = app
        .call(app.post(&format!("/partners/{rejected}/reject"), admin_token, &json!({"reason": "资质材料不全"})))
        .await;
    ok(status, &body);
    expected.push(because(expect("partner.reject", "partner", rejected, &admin), "资质材料不全"));

    // Members: the partner admin invites, the invitee accepts; the reasons name the
    // invitation and the member by id only.
    let member = app.resident().await;
    phones.push(member.phone.clone());
    let invitation = app.join_partner(&owner, partner, &member, "member").await;
    expected.push(because(expect("partner.invite", "partner", partner, &owner), invitation));
    expected.push(because(expect("partner.invitation_accept", "partner", partner, &member), invitation));
    let (status, body) = app
        .call(app.delete(&format!("/partners/{partner}/members/{}", member.user_id), Some(&owner.access_token)))
        .await;
    ok(status, &body);
    expected.push(because(expect("partner.member_remove", "partner", partner, &owner), member.user_id));

    // Volunteers, decided by the community's dispatcher.
    let mut volunteers = Vec::new();
    for _ in 0..2 {
        let resident = app.resident().await;
        phones.push(resident.phone.clone());
        let body =
            json!({"skills": [category], "community_id": community, "building_ids": [building], "bio": "退休教师"});
        let (status, created) = app.call(app.post("/volunteers", Some(&resident.access_token), &body)).await;
        ok(status, &created);
        volunteers.push(created.id());
    }
    let steps = [
        (volunteers[0], "approve", "volunteer.approve", None),
        (volunteers[0], "suspend", "volunteer.suspend", Some("健康原因暂停")),
        (volunteers[0], "reinstate", "volunteer.reinstate", None),
        (volunteers[1], "reject", "volunteer.reject", Some("不在本社区居住")),
    ];
    for (volunteer, verb, action, reason) in steps {
        let path = format!("/volunteers/{volunteer}/{verb}");
        let (status, body) = match reason {
            Some(reason) => app.call(app.post(&path, dispatcher_token, &json!({"reason": reason}))).await,
            None => app.call(app.post_empty(&path, dispatcher_token)).await,
        };
        ok(status, &body);
        let entry = expect(action, "volunteer", volunteer, &dispatcher);
        expected.push(match reason {
            Some(reason) => because(entry, reason),
            None => entry,
        });
    }

    // A contract through its whole life.
    let body = json!({
        "partner_id": partner, "title": "社区医疗契约", "community_ids": [community], "category_codes": [category],
        "valid_from": "2026-01-01", "valid_to": "2030-12-31", "terms": {"pricing": "free", "max_open_jobs": 2}
    });
    let (status, contract) = app.call(app.post("/contracts", dispatcher_token, &body)).await;
    ok(status, &contract);
    let contract = contract.id();
    expected.push(expect("contract.create", "contract", contract, &dispatcher));
    let (status, body) =
        app.call(app.post_empty(&format!("/contracts/{contract}/sign"), Some(&owner.access_token))).await;
    ok(status, &body);
    expected.push(expect("contract.sign", "contract", contract, &owner));
    let (status, body) = app.call(app.post_empty(&format!("/contracts/{contract}/activate"), dispatcher_token)).await;
    ok(status, &body);
    expected.push(expect("contract.activate", "contract", contract, &dispatcher));
    for (verb, action, reason) in
        [("suspend", "contract.suspend", "服务质量整改"), ("terminate", "contract.terminate", "合作期满前终止")]
    {
        let (status, body) = app
            .call(app.post(&format!("/contracts/{contract}/{verb}"), dispatcher_token, &json!({"reason": reason})))
            .await;
        ok(status, &body);
        expected.push(because(expect(action, "contract", contract, &dispatcher), reason));
    }
    (admin, expected, phones)
}

#[tokio::test]
async fn every_action_is_on_record_with_its_actor_and_reason() {
    let app = TestApp::spawn().await;
    let (admin, expected, _) = a_busy_day(&app).await;

    for e in &expected {
        let entries = app.audit_entries(&admin, &format!("action={}&object_id={}", e.action, e.object_id)).await;
        assert_eq!(entries.len(), 1, "{} on {}: {entries:?}", e.action, e.object_id);
        let entry = &entries[0];
        assert_eq!(entry["actor"], e.actor.to_string(), "{}", e.action);
        assert_eq!(entry["object_type"], e.object_type, "{}", e.action);
        assert_eq!(entry["reason"], json!(e.reason), "{}", e.action);
        assert!(entry["at"].as_str().is_some_and(|at| at.ends_with('Z')), "{entry}");
    }
}

#[tokio::test]
async fn the_audit_log_holds_no_personal_data() {
    let app = TestApp::spawn().await;
    let (admin, _, phones) = a_busy_day(&app).await;

    let log = Value::Array(app.audit_entries(&admin, "").await).to_string();
    for phone in &phones {
        assert!(!log.contains(phone.as_str()), "the audit log holds the phone {phone}");
    }
    assert!(!log.contains("****"), "the audit log holds a masked phone");
    for name in ["王秀英", "李卫东", "赵调度", "陈医生", "退休教师"] {
        assert!(!log.contains(name), "the audit log holds {name}");
    }
}

#[tokio::test]
async fn only_admins_read_the_audit_log() {
    let app = TestApp::spawn().await;
    let community = app.community().await;
    let dispatcher = app.dispatcher(community).await;
    let resident = app.resident().await;

    for actor in [&dispatcher, &resident] {
        let (status, body) = app.call(app.get("/audit", Some(&actor.access_token))).await;
        assert_eq!(status, 403);
        assert_eq!(body["code"], "forbidden");
    }
    assert_eq!(app.call(app.get("/audit", None)).await.0, 401);
}

#[tokio::test]
async fn no_one_can_change_the_audit_log() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let category = app.category(&admin, "legal_aid").await;
    let before = app.audit_entries(&admin, "").await;
    let entry = before.iter().find(|e| e["object_id"] == category.as_str()).expect("the category's entry").clone();
    let id = entry["id"].as_str().unwrap();
    let forged = json!({"action": "category.delete", "reason": "改写记录"});
    let collection = app.url("/api/v1/audit");

    for method in [reqwest::Method::PUT, reqwest::Method::PATCH, reqwest::Method::DELETE, reqwest::Method::POST] {
        let request = app.client.request(method.clone(), &collection).bearer_auth(&admin.access_token).json(&forged);
        let (status, body) = app.call(request).await;
        assert_eq!(status, 405, "{method}");
        assert_eq!(body["code"], "method_not_allowed", "{method}");
    }
    for method in [reqwest::Method::PUT, reqwest::Method::PATCH, reqwest::Method::DELETE] {
        let request = app
            .client
            .request(method.clone(), format!("{collection}/{id}"))
            .bearer_auth(&admin.access_token)
            .json(&forged);
        let status = app.call(request).await.0;
        assert!(status == 404 || status == 405, "{method} on one entry answered {status}");
    }

    let after = app.audit_entries(&admin, "").await;
    assert_eq!(after, before, "the log is unchanged");
}

#[tokio::test]
async fn the_audit_log_pages_by_cursor_and_filters_by_actor_and_object_type() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let community = app.community().await;
    let dispatcher = app.dispatcher(community).await;
    for code in ["anti_fraud", "child_care", "meal_help", "home_repair", "legal_aid"] {
        app.category(&admin, code).await;
    }
    let compound = app.compound(&dispatcher, community, "阳光花园").await;

    let mut seen = Vec::new();
    let mut path = "/audit?object_type=category&limit=2".to_owned();
    loop {
        let (status, page) = app.call(app.get(&path, Some(&admin.access_token))).await;
        assert_eq!(status, 200, "{page}");
        assert!(page["items"].as_array().unwrap().len() <= 2);
        seen.extend(page["items"].as_array().unwrap().iter().map(|e| e["object_id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/audit?object_type=category&limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ["anti_fraud", "child_care", "meal_help", "home_repair", "legal_aid"], "oldest first");

    let by_dispatcher = app.audit_entries(&admin, &format!("actor={}", dispatcher.user_id)).await;
    assert_eq!(by_dispatcher.len(), 1);
    assert_eq!(by_dispatcher[0]["action"], "compound.create");
    assert_eq!(by_dispatcher[0]["object_id"], compound.to_string());
    assert_eq!(app.call(app.get("/audit?actor=nobody", Some(&admin.access_token))).await.0, 422);
    assert_eq!(app.call(app.get("/audit?cursor=nonsense", Some(&admin.access_token))).await.0, 422);
}
