//! The order life cycle through HTTP: a partner's job and a volunteer's, release and
//! reassign, a dispatcher's entry with a claim code, cancellation, withdrawal, eligibility,
//! corrections, notes, masking and scoping. Every order's log replays to its state.

use serde_json::{Value, json};
use shenbian_tests::scene::{World, assert_replays, dispatch, order_body, partner, place, step, volunteer, world};
use shenbian_tests::{PASSWORD, TestApp, next_phone};
use uuid::Uuid;

fn id(v: &Value) -> Uuid {
    v["id"].as_str().unwrap().parse().unwrap()
}

async fn contract_open_jobs(app: &TestApp, w: &World, contract: Uuid) -> i64 {
    let (_, c) = app.call(app.get(&format!("/contracts/{contract}"), Some(&w.admin.access_token))).await;
    c["open_jobs"].as_i64().unwrap()
}

#[tokio::test]
async fn a_partner_takes_a_job_from_offer_to_completion_seeing_the_resident_only_while_it_holds_it() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, contract) = partner(&app, &w, 3, Some(10)).await;
    let order = place(&app, &w, &resident).await;
    let order_id = id(&order);
    assert_eq!(order["status"], "pending");
    assert_eq!(order["masked"], false);
    assert_eq!(order["contact_phone"], resident.phone.as_str());
    assert_eq!(order["channel"], "app");

    let offered = dispatch(&app, &w, order_id, &[partner_id]).await;
    assert_eq!(offered["status"], "offered");
    assert!(offered["accept_by"].is_string());

    // Offered, not yet accepted: masked phone and name, the compound only.
    let (status, seen) = app.call(app.get(&format!("/orders/{order_id}"), Some(&member.access_token))).await;
    assert_eq!(status, 200);
    assert_eq!(seen["masked"], true);
    assert_eq!(seen["contact_phone"], format!("{}****{}", &resident.phone[..3], &resident.phone[7..]));
    assert_eq!(seen["resident_name"], "王*");
    assert_eq!(seen["address"]["building_id"], Value::Null);
    assert_eq!(seen["address"]["room"], Value::Null);
    assert!(!seen.to_string().contains(&resident.phone));
    let (_, jobs) = app.call(app.get("/jobs", Some(&member.access_token))).await;
    assert_eq!(jobs["items"][0]["kind"], "offer");
    assert_eq!(jobs["items"][0]["order"]["id"], order_id.to_string());

    let (status, accepted) = step(&app, &member, order_id, "accept", None).await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(accepted["masked"], false, "the assigned provider sees the resident");
    assert_eq!(accepted["contact_phone"], resident.phone.as_str());
    assert_eq!(accepted["provider"]["id"], partner_id.to_string());
    assert_eq!(accepted["contract_id"], contract.to_string());
    assert!(accepted["complete_by"].is_string());
    assert_eq!(contract_open_jobs(&app, &w, contract).await, 1);

    assert_eq!(step(&app, &member, order_id, "start", None).await.0, 200);
    let (status, done) = step(&app, &member, order_id, "complete", Some(json!({"summary": "更换了水管接头"}))).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "completed");
    assert_eq!(done["masked"], true, "after completion the provider no longer sees the resident");
    assert_eq!(contract_open_jobs(&app, &w, contract).await, 0, "capacity given back");

    let (_, events) = app.call(app.get(&format!("/orders/{order_id}/events"), Some(&resident.access_token))).await;
    let actions: Vec<&str> =
        events["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["created", "dispatched", "accepted", "started", "completed"]);
    assert!(!events.to_string().contains(&resident.phone), "the timeline holds no personal data");
    assert_replays(&app, &w.admin, order_id).await;
}

#[tokio::test]
async fn a_volunteer_completes_a_job_with_the_minutes_worked() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (person, volunteer_id) = volunteer(&app, &w).await;
    let order_id = id(&place(&app, &w, &resident).await);
    dispatch(&app, &w, order_id, &[volunteer_id]).await;
    assert_eq!(step(&app, &person, order_id, "accept", None).await.0, 200);
    assert_eq!(step(&app, &person, order_id, "start", None).await.0, 200);
    let (status, problem) = step(&app, &person, order_id, "complete", Some(json!({"summary": "修好了"}))).await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "minutes");
    let (status, done) =
        step(&app, &person, order_id, "complete", Some(json!({"summary": "修好了", "minutes": 45}))).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["minutes"], 45);
    let (_, v) = app.call(app.get(&format!("/volunteers/{volunteer_id}"), Some(&w.dispatcher.access_token))).await;
    assert_eq!(v["open_jobs"], 0);
    assert_replays(&app, &w.admin, order_id).await;
}

#[tokio::test]
async fn release_and_reassign_send_the_job_back_and_give_capacity_back() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, contract) = partner(&app, &w, 3, None).await;
    let order_id = id(&place(&app, &w, &resident).await);

    dispatch(&app, &w, order_id, &[partner_id]).await;
    step(&app, &member, order_id, "accept", None).await;
    let (status, released) = step(&app, &member, order_id, "release", Some(json!({"reason": "师傅临时生病"}))).await;
    assert_eq!(status, 200, "{released}");
    assert_eq!(released["status"], "pending");
    assert_eq!(released["provider"], Value::Null);
    assert_eq!(contract_open_jobs(&app, &w, contract).await, 0);

    dispatch(&app, &w, order_id, &[partner_id]).await;
    step(&app, &member, order_id, "accept", None).await;
    step(&app, &member, order_id, "start", None).await;
    let (status, reassigned) =
        step(&app, &w.dispatcher, order_id, "reassign", Some(json!({"reason": "师傅未上门"}))).await;
    assert_eq!(status, 200, "{reassigned}");
    assert_eq!(reassigned["status"], "pending");
    assert_eq!(contract_open_jobs(&app, &w, contract).await, 0);
    // The partner no longer holds the job.
    assert_eq!(step(&app, &member, order_id, "start", None).await.0, 409);
    assert_replays(&app, &w.admin, order_id).await;
}

#[tokio::test]
async fn a_dispatcher_enters_a_hotline_order_and_the_resident_claims_the_account() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let phone = next_phone();
    let mut body = order_body(&w);
    body["channel"] = json!("hotline_12345");
    body["on_behalf_of_phone"] = json!(phone);
    body["resident_name"] = json!("赵大爷");
    let (status, order) = app.call(app.post("/orders", Some(&w.dispatcher.access_token), &body)).await;
    assert_eq!(status, 201, "{order}");
    assert_eq!(order["channel"], "hotline_12345");
    assert_eq!(order["contact_phone"], phone.as_str());
    let code = order["claim_code"].as_str().expect("a claim code for the new account").to_owned();

    // The phone alone does not make the account someone's: registering it is refused.
    let register = json!({"phone": phone, "password": "my-own-secret-1", "display_name": "赵大爷"});
    assert_eq!(app.call(app.post("/auth/register", None, &register)).await.0, 409);
    let claim = json!({"phone": phone, "code": code, "password": "my-own-secret-1"});
    let (status, signed_in) = app.call(app.post("/auth/claim", None, &claim)).await;
    assert_eq!(status, 200, "{signed_in}");
    let token = signed_in["access_token"].as_str().unwrap();
    let (_, mine) = app.call(app.get("/orders", Some(token))).await;
    assert_eq!(mine["items"][0]["id"], order["id"]);
    assert_eq!(mine["items"][0]["claim_code"], Value::Null, "the code is answered once");

    // Residents cannot enter orders for others, nor pretend to be a hotline.
    let resident = app.resident().await;
    assert_eq!(app.call(app.post("/orders", Some(&resident.access_token), &body)).await.0, 403);
    let mut hotline = order_body(&w);
    hotline["channel"] = json!("hotline_12345");
    assert_eq!(app.call(app.post("/orders", Some(&resident.access_token), &hotline)).await.0, 422);
}

#[tokio::test]
async fn cancelling_follows_who_and_when() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, contract) = partner(&app, &w, 3, None).await;
    let reason = || Some(json!({"reason": "不需要了"}));

    let first = id(&place(&app, &w, &resident).await);
    dispatch(&app, &w, first, &[partner_id]).await;
    step(&app, &member, first, "accept", None).await;
    let (status, cancelled) = step(&app, &resident, first, "cancel", reason()).await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(contract_open_jobs(&app, &w, contract).await, 0, "capacity given back");

    let second = id(&place(&app, &w, &resident).await);
    dispatch(&app, &w, second, &[partner_id]).await;
    step(&app, &member, second, "accept", None).await;
    step(&app, &member, second, "start", None).await;
    let (status, refused) = step(&app, &resident, second, "cancel", reason()).await;
    assert_eq!(status, 409, "a resident cannot cancel a job in progress");
    assert_eq!(refused["code"], "invalid_transition");
    assert_eq!(step(&app, &member, second, "cancel", reason()).await.0, 403, "a provider may never cancel");
    assert_eq!(step(&app, &w.dispatcher, second, "cancel", reason()).await.0, 200);
    assert_eq!(step(&app, &w.dispatcher, second, "cancel", reason()).await.0, 409);
    assert_eq!(step(&app, &resident, second, "cancel", Some(json!({}))).await.0, 422, "a reason is required");
    for order in [first, second] {
        assert_replays(&app, &w.admin, order).await;
    }
}

#[tokio::test]
async fn withdrawing_closes_every_open_offer() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (a, partner_a, _) = partner(&app, &w, 3, None).await;
    let (b, partner_b, _) = partner(&app, &w, 3, None).await;
    let order_id = id(&place(&app, &w, &resident).await);
    dispatch(&app, &w, order_id, &[partner_a, partner_b]).await;
    let (status, withdrawn) =
        step(&app, &w.dispatcher, order_id, "withdraw", Some(json!({"reason": "改派志愿者"}))).await;
    assert_eq!(status, 200);
    assert_eq!(withdrawn["status"], "pending");
    for member in [&a, &b] {
        assert_eq!(step(&app, member, order_id, "accept", None).await.0, 409);
        let (_, jobs) = app.call(app.get("/jobs", Some(&member.access_token))).await;
        assert_eq!(jobs["items"], json!([]));
    }
    assert_replays(&app, &w.admin, order_id).await;
}

#[tokio::test]
async fn a_dispatch_to_an_ineligible_provider_names_the_reasons_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (_, good, _) = partner(&app, &w, 3, None).await;
    let (_, no_contract) = app.approved_partner(&w.admin).await;
    let (person, volunteer_id) = volunteer(&app, &w).await;
    let order_id = id(&place(&app, &w, &resident).await);

    let body = json!({"provider_ids": [good, no_contract]});
    let (status, problem) =
        app.call(app.post(&format!("/orders/{order_id}/dispatch"), Some(&w.dispatcher.access_token), &body)).await;
    assert_eq!(status, 422);
    assert_eq!(problem["code"], "not_eligible");
    assert_eq!(problem["ineligible"][0]["provider_id"], no_contract.to_string());
    assert_eq!(problem["ineligible"][0]["reasons"][0]["code"], "no_contract");
    let (_, unchanged) = app.call(app.get(&format!("/orders/{order_id}"), Some(&resident.access_token))).await;
    assert_eq!(unchanged["status"], "pending");

    // A provider that declined this order is not offered it again.
    dispatch(&app, &w, order_id, &[volunteer_id]).await;
    let (status, _) = step(&app, &person, order_id, "decline", Some(json!({"reason": "今天没空"}))).await;
    assert_eq!(status, 200);
    let again = json!({"provider_ids": [volunteer_id]});
    let (status, problem) =
        app.call(app.post(&format!("/orders/{order_id}/dispatch"), Some(&w.dispatcher.access_token), &again)).await;
    assert_eq!(status, 422);
    assert_eq!(problem["ineligible"][0]["reasons"][0]["code"], "declined_before");

    let unknown = json!({"provider_ids": [Uuid::now_v7()]});
    let (status, problem) =
        app.call(app.post(&format!("/orders/{order_id}/dispatch"), Some(&w.dispatcher.access_token), &unknown)).await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "provider_ids[0]");
    // Residents never dispatch.
    assert_eq!(
        app.call(app.post(&format!("/orders/{order_id}/dispatch"), Some(&resident.access_token), &again)).await.0,
        403
    );
}

#[tokio::test]
async fn an_order_is_corrected_before_dispatch_and_not_after() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (_, partner_id, _) = partner(&app, &w, 3, None).await;
    let order = place(&app, &w, &resident).await;
    let order_id = id(&order);
    let patch = json!({"urgency": "emergency", "description": "水管爆了，满地是水"});
    let (status, updated) =
        app.call(app.patch(&format!("/orders/{order_id}"), Some(&resident.access_token), &patch)).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["urgency"], "emergency");
    assert!(updated["dispatch_by"].as_str() < order["dispatch_by"].as_str(), "an emergency is due sooner");
    let sneaky = json!({"status": "closed"});
    assert_eq!(app.call(app.patch(&format!("/orders/{order_id}"), Some(&resident.access_token), &sneaky)).await.0, 422);

    dispatch(&app, &w, order_id, &[partner_id]).await;
    let (status, _) = app.call(app.patch(&format!("/orders/{order_id}"), Some(&resident.access_token), &patch)).await;
    assert_eq!(status, 409);
    let (_, events) = app.call(app.get(&format!("/orders/{order_id}/events"), Some(&resident.access_token))).await;
    assert_eq!(events["items"][1]["action"], "updated");
    assert_replays(&app, &w.admin, order_id).await;
}

#[tokio::test]
async fn strangers_see_nothing_and_notes_stay_internal() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let stranger = app.resident().await;
    let other_community = app.community().await;
    let other_dispatcher = app.dispatcher(other_community).await;
    let (member, partner_id, _) = partner(&app, &w, 3, None).await;
    let (outsider, _, _) = partner(&app, &w, 3, None).await;
    let order_id = id(&place(&app, &w, &resident).await);
    dispatch(&app, &w, order_id, &[partner_id]).await;

    for actor in [&stranger, &other_dispatcher, &outsider] {
        assert_eq!(app.call(app.get(&format!("/orders/{order_id}"), Some(&actor.access_token))).await.0, 404);
        assert_eq!(app.call(app.get(&format!("/orders/{order_id}/events"), Some(&actor.access_token))).await.0, 404);
        assert_eq!(step(&app, actor, order_id, "accept", None).await.0, 404);
        let (_, list) = app.call(app.get("/orders", Some(&actor.access_token))).await;
        assert_eq!(list["items"], json!([]));
    }

    let note = json!({"body": "居民家中有老人，请提前电话联系"});
    assert_eq!(
        app.call(app.post(&format!("/orders/{order_id}/notes"), Some(&w.dispatcher.access_token), &note)).await.0,
        201
    );
    assert_eq!(app.call(app.get(&format!("/orders/{order_id}/notes"), Some(&resident.access_token))).await.0, 403);
    assert_eq!(
        app.call(app.get(&format!("/orders/{order_id}/notes"), Some(&member.access_token))).await.0,
        403,
        "offered, not assigned"
    );
    step(&app, &member, order_id, "accept", None).await;
    let (status, notes) = app.call(app.get(&format!("/orders/{order_id}/notes"), Some(&member.access_token))).await;
    assert_eq!(status, 200);
    assert_eq!(notes["items"][0]["body"], "居民家中有老人，请提前电话联系");
    let (_, timeline) = app.call(app.get(&format!("/orders/{order_id}/events"), Some(&resident.access_token))).await;
    assert!(!timeline.to_string().contains("提前电话联系"));
}

#[tokio::test]
async fn dispatchers_find_orders_by_phone_and_that_read_is_audited() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let order_id = id(&place(&app, &w, &resident).await);
    place(&app, &w, &app.resident().await).await;
    let (status, found) =
        app.call(app.get(&format!("/orders?phone={}", resident.phone), Some(&w.dispatcher.access_token))).await;
    assert_eq!(status, 200);
    let items = found["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], order_id.to_string());
    assert_eq!(
        app.call(app.get(&format!("/orders?phone={}", resident.phone), Some(&resident.access_token))).await.0,
        403
    );
    let (_, audit) = app.call(app.get("/audit?action=order.search_phone", Some(&w.admin.access_token))).await;
    assert_eq!(audit["items"][0]["actor"], w.dispatcher.user_id.to_string());
    assert!(!audit.to_string().contains(&resident.phone));
}

#[tokio::test]
async fn the_feed_gives_each_caller_their_events_in_order() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, _) = partner(&app, &w, 3, None).await;
    let order_id = id(&place(&app, &w, &resident).await);
    let (_, start) = app.call(app.get("/events", Some(&member.access_token))).await;
    assert_eq!(start["items"], json!([]));
    let cursor = start["next_cursor"].as_str().unwrap().to_owned();
    dispatch(&app, &w, order_id, &[partner_id]).await;
    step(&app, &member, order_id, "accept", None).await;
    let (_, feed) = app.call(app.get(&format!("/events?cursor={cursor}"), Some(&member.access_token))).await;
    let actions: Vec<&str> = feed["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    // Once the job is ours, its whole timeline is in our feed, in commit order.
    assert_eq!(actions, ["created", "dispatched", "accepted"]);
    let seqs: Vec<i64> = feed["items"].as_array().unwrap().iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    let (_, later) = app
        .call(app.get(&format!("/events?cursor={}", feed["next_cursor"].as_str().unwrap()), Some(&member.access_token)))
        .await;
    assert_eq!(later["items"], json!([]), "the cursor moves past what was read");
    let (_, resident_feed) = app.call(app.get("/events", Some(&resident.access_token))).await;
    assert_eq!(resident_feed["items"].as_array().unwrap().len(), 3);
    let (_, stranger_feed) = app.call(app.get("/events", Some(&app.resident().await.access_token))).await;
    assert_eq!(stranger_feed["items"], json!([]));
}

#[tokio::test]
async fn a_broadcast_logs_one_event_per_offer_numbered_in_turn() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (_, first, _) = partner(&app, &w, 3, None).await;
    let (_, second, _) = partner(&app, &w, 3, None).await;
    let order_id = id(&place(&app, &w, &resident).await);
    dispatch(&app, &w, order_id, &[first, second]).await;
    let (_, feed) = app.call(app.get("/events", Some(&resident.access_token))).await;
    let items = feed["items"].as_array().unwrap();
    let actions: Vec<&str> = items.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["created", "dispatched", "dispatched"]);
    let providers: Vec<&str> = items[1..].iter().map(|e| e["provider_id"].as_str().unwrap()).collect();
    assert_eq!(providers, [first.to_string(), second.to_string()]);
    // Nothing else happened meanwhile: the three events have the next three numbers.
    let seqs: Vec<i64> = items.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, [seqs[0], seqs[0] + 1, seqs[0] + 2]);
}

/// A step answers the order as it is then stored: what the caller is told is what reading it
/// back gives, on both databases (times to the microsecond, every column the step changed,
/// and none it did not). The steps write without reading the row back, so this is what
/// keeps them honest.
#[tokio::test]
async fn every_step_answers_the_order_as_it_is_stored() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, _) = partner(&app, &w, 3, None).await;
    let mut body = order_body(&w);
    // Nanoseconds: the databases keep microseconds. A preferred time lies within a year.
    let day = (chrono::Utc::now() + chrono::Duration::days(100)).format("%Y-%m-%d").to_string();
    body["preferred_start"] = json!(format!("{day}T09:00:00.123456789Z"));
    body["preferred_end"] = json!(format!("{day}T19:30:00.987654321+08:00"));
    let (status, created) = app.call(app.post("/orders", Some(&resident.access_token), &body)).await;
    assert_eq!(status, 201, "{created}");
    let order = id(&created);
    let path = format!("/orders/{order}");
    let stored = |actor: &shenbian_tests::Actor| {
        let token = actor.access_token.clone();
        let app = &app;
        let path = path.clone();
        async move { app.call(app.get(&path, Some(&token))).await.1 }
    };
    assert_eq!(created["preferred_start"], format!("{day}T09:00:00.123456Z"));
    assert_eq!(created, stored(&resident).await, "created");

    let (status, patched) =
        app.call(app.patch(&path, Some(&resident.access_token), &json!({"title": "卫生间水管漏水"}))).await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["title"], "卫生间水管漏水");
    assert_eq!(patched, stored(&resident).await, "patched");

    let offered = dispatch(&app, &w, order, &[partner_id]).await;
    assert_eq!(offered, stored(&w.dispatcher).await, "dispatched");
    let steps: [(&shenbian_tests::Actor, &str, Option<Value>); 4] = [
        (&member, "accept", None),
        (&member, "start", None),
        (&member, "complete", Some(json!({"summary": "换了两个接头"}))),
        (&resident, "confirm", Some(json!({}))),
    ];
    for (actor, action, body) in steps {
        let (status, answered) = step(&app, actor, order, action, body).await;
        assert_eq!(status, 200, "{action}: {answered}");
        assert_eq!(answered, stored(actor).await, "{action}");
    }
    assert_replays(&app, &w.admin, order).await;
}

#[tokio::test]
async fn a_session_that_ended_is_refused_where_the_order_is_read_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let other_device = app.login(&resident.phone, PASSWORD).await;
    let (_, partner_id, _) = partner(&app, &w, 3, None).await;
    let order_id = id(&place(&app, &w, &resident).await);
    let offered = dispatch(&app, &w, order_id, &[partner_id]).await;

    // The resident signs out on one device; that device's token is refused everywhere an
    // order is read with the caller's session, an unknown order included (401, not 404).
    let out = app.post_empty("/auth/logout", Some(&resident.access_token)).send().await.unwrap();
    assert_eq!(out.status(), 204);
    let token = Some(resident.access_token.as_str());
    let path = format!("/orders/{order_id}");
    assert_eq!(app.get(&path, token).send().await.unwrap().status(), 401);
    let unknown = format!("/orders/{}", Uuid::now_v7());
    assert_eq!(app.get(&unknown, token).send().await.unwrap().status(), 401);
    let cancel = json!({"reason": "不需要了"});
    assert_eq!(app.post(&format!("{path}/cancel"), token, &cancel).send().await.unwrap().status(), 401);
    assert_eq!(app.post(&format!("{unknown}/cancel"), token, &cancel).send().await.unwrap().status(), 401);
    assert_eq!(app.post("/orders", token, &order_body(&w)).send().await.unwrap().status(), 401);

    // A deactivated dispatcher too, from the next request on.
    let deactivate = format!("/users/{}/deactivate", w.dispatcher.user_id);
    assert_eq!(app.post_empty(&deactivate, Some(&w.admin.access_token)).send().await.unwrap().status(), 200);
    let (status, _) = step(&app, &w.dispatcher, order_id, "withdraw", Some(json!({"reason": "重新派单"}))).await;
    assert_eq!(status, 401);
    let (status, _) = app.call(app.get(&path, Some(&w.dispatcher.access_token))).await;
    assert_eq!(status, 401);

    // Nothing changed: the other device sees the order as dispatched, and only that one.
    let (status, seen) = app.call(app.get(&path, Some(&other_device.access_token))).await;
    assert_eq!(status, 200);
    assert_eq!(seen["status"], "offered");
    assert_eq!(seen["version"], offered["version"]);
    let (status, list) = app.call(app.get("/orders", Some(&other_device.access_token))).await;
    assert_eq!(status, 200);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
}
