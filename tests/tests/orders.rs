//! The order life cycle through HTTP: a partner's job and a volunteer's, release and
//! reassign, a dispatcher's entry with a claim code, cancellation, withdrawal, eligibility,
//! corrections, notes, masking and scoping. Every order's log replays to its state.

use serde_json::{Value, json};
use shenbian_tests::scene::{World, assert_replays, order_body, partner, place, volunteer, world};
use shenbian_tests::shenbian::entity::enums::{Channel, UrgencyDb};
use shenbian_tests::shenbian::orders::feed::EventView;
use shenbian_tests::shenbian::pagination::Paginated;
use shenbian_tests::{Actor, PASSWORD, Status, TestApp, actions, json_of, next_phone};
use uuid::Uuid;

async fn contract_open_jobs(w: &World, contract: Uuid) -> i32 {
    w.admin.contract(contract).await.unwrap().open_jobs
}

#[tokio::test]
async fn a_partner_takes_a_job_from_offer_to_completion_seeing_the_resident_only_while_it_holds_it() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, contract) = partner(&app, &w, 3, Some(10)).await;
    let order = place(&w, &resident).await;
    assert_eq!(order.status, Status::Pending);
    assert!(!order.masked);
    assert_eq!(order.contact_phone, resident.phone);
    assert_eq!(order.channel, Channel::App);
    assert_eq!(order.address.compound_name, "阳光花园");
    assert_eq!(order.address.building_name.as_deref(), Some("3号楼"));

    let offered = w.dispatcher.dispatch(order.id, &[partner_id]).await.unwrap();
    assert_eq!(offered.address.building_name.as_deref(), Some("3号楼"), "the community's staff see the building");
    assert_eq!(offered.status, Status::Offered);
    assert!(offered.accept_by.is_some());

    // Offered, not yet accepted: masked phone and name, the compound only.
    let seen = member.get_order(order.id).await.unwrap();
    assert!(seen.masked);
    assert_eq!(seen.contact_phone, format!("{}****{}", &resident.phone[..3], &resident.phone[7..]));
    assert_eq!(seen.resident_name, "王*");
    assert_eq!(seen.address.building_id, None);
    assert_eq!(seen.address.building_name, None);
    assert_eq!(seen.address.compound_name, "阳光花园", "the compound is not personal");
    assert_eq!(seen.address.room, None);
    assert!(!json_of(&seen).to_string().contains(&resident.phone));
    let jobs = member.jobs().await.unwrap();
    assert_eq!(jobs.items[0].kind, "offer");
    assert_eq!(jobs.items[0].order.id, order.id);
    assert_eq!(jobs.items[0].order.address.compound_name, "阳光花园");
    assert_eq!(jobs.items[0].order.address.building_name, None);

    let accepted = member.accept(order.id).await.unwrap();
    assert_eq!(accepted.status, Status::Accepted);
    assert!(!accepted.masked, "the assigned provider sees the resident");
    assert_eq!(accepted.contact_phone, resident.phone);
    assert_eq!(accepted.address.building_name.as_deref(), Some("3号楼"));
    let listed = member.list_orders("").await.unwrap();
    assert_eq!(listed.items[0].address.building_name.as_deref(), Some("3号楼"));
    let jobs = member.jobs().await.unwrap();
    assert_eq!(jobs.items[0].order.address.building_name.as_deref(), Some("3号楼"));
    assert_eq!(accepted.provider.map(|p| p.id), Some(partner_id));
    assert_eq!(accepted.contract_id, Some(contract));
    assert!(accepted.complete_by.is_some());
    assert_eq!(contract_open_jobs(&w, contract).await, 1);
    // The partner's record counts the accept against this month's quota.
    let record: Value = member.get(&format!("/stats/providers/{partner_id}")).await.unwrap();
    assert_eq!(record["open_jobs"], 1);
    let month = chrono::Utc::now().with_timezone(&app.state.timezone()).format("%Y-%m").to_string();
    assert_eq!(record["quota_use"], json!([{"contract_id": contract, "month": month, "used": 1, "quota": 10}]));

    member.start(order.id).await.unwrap();
    let done = member.complete(order.id, "更换了水管接头", None).await.unwrap();
    assert_eq!(done.status, Status::Completed);
    assert!(done.masked, "after completion the provider no longer sees the resident");
    assert_eq!(contract_open_jobs(&w, contract).await, 0, "capacity given back");

    let events = resident.events(order.id).await.unwrap();
    assert_eq!(actions(&events), ["created", "dispatched", "accepted", "started", "completed"]);
    assert!(!json_of(&events).to_string().contains(&resident.phone), "the timeline holds no personal data");
    // Each step names who took it: the resident herself in full, others masked; a partner by
    // its organisation's name.
    let named = |events: &Paginated<EventView>| -> Vec<(Option<String>, Option<String>)> {
        events.items.iter().map(|e| (e.actor_name.clone(), e.provider_name.clone())).collect()
    };
    let (me, dispatcher, member_name, org) = (
        Some("王秀英".to_owned()),
        Some("李卫东".to_owned()),
        Some("王秀英".to_owned()),
        Some("安居维修服务社".to_owned()),
    );
    let masked = |n: &str| Some(n.to_owned());
    assert_eq!(
        named(&events),
        [
            (me.clone(), None),
            (masked("李*"), org.clone()),
            (masked("王*"), org.clone()),
            (masked("王*"), None),
            (masked("王*"), None)
        ]
    );
    let for_staff = w.dispatcher.events(order.id).await.unwrap();
    assert_eq!(
        named(&for_staff),
        [
            (me, None),
            (dispatcher, org.clone()),
            (member_name.clone(), org),
            (member_name.clone(), None),
            (member_name, None)
        ]
    );
    let feed = member.feed(None).await.unwrap();
    let accepted_by_me = feed.items.iter().find(|e| e.order_id == order.id && e.to_status == Status::Accepted);
    assert_eq!(accepted_by_me.and_then(|e| e.actor_name.as_deref()), Some("王秀英"), "the actor sees their own name");
    assert_replays(&w.admin, order.id).await;
}

#[tokio::test]
async fn a_volunteer_completes_a_job_with_the_minutes_worked() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (person, volunteer_id) = volunteer(&app, &w).await;
    let order = place(&w, &resident).await.id;
    w.dispatcher.dispatch(order, &[volunteer_id]).await.unwrap();
    person.accept(order).await.unwrap();
    person.start(order).await.unwrap();
    let problem = person.complete(order, "修好了", None).await.unwrap_err();
    assert_eq!(problem.status, 422);
    assert_eq!(problem.errors[0].field, "minutes");
    // Just started: at most the minutes since the start, plus 15.
    let problem = person.complete(order, "修好了", Some(45)).await.unwrap_err();
    assert_eq!((problem.status, problem.errors[0].field.as_str()), (422, "minutes"));
    assert!(problem.errors[0].message.contains("最多 15 分钟"), "{problem:?}");
    w.started_ago(order, 40).await;
    let done = person.complete(order, "修好了", Some(45)).await.unwrap();
    assert!(done.started_at.is_some_and(|s| done.completed_at.unwrap() - s >= chrono::Duration::minutes(40)));
    assert_eq!(done.minutes, Some(45));
    assert_eq!(w.dispatcher.volunteer(volunteer_id).await.unwrap().open_jobs, 0);
    assert_replays(&w.admin, order).await;
}

#[tokio::test]
async fn release_and_reassign_send_the_job_back_and_give_capacity_back() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, contract) = partner(&app, &w, 3, None).await;
    let order = place(&w, &resident).await.id;

    w.dispatcher.dispatch(order, &[partner_id]).await.unwrap();
    member.accept(order).await.unwrap();
    let released = member.release(order, "师傅临时生病").await.unwrap();
    assert_eq!(released.status, Status::Pending);
    assert!(released.provider.is_none());
    assert_eq!(contract_open_jobs(&w, contract).await, 0);

    w.dispatcher.dispatch(order, &[partner_id]).await.unwrap();
    member.accept(order).await.unwrap();
    member.start(order).await.unwrap();
    let reassigned = w.dispatcher.reassign(order, "师傅未上门").await.unwrap();
    assert_eq!(reassigned.status, Status::Pending);
    assert_eq!(contract_open_jobs(&w, contract).await, 0);
    // The partner no longer holds the job.
    assert_eq!(member.start(order).await.unwrap_err().status, 409);
    assert_replays(&w.admin, order).await;
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
    let order = w.dispatcher.create_order(&body).await.unwrap();
    assert_eq!(order.channel, Channel::Hotline12345);
    assert_eq!(order.contact_phone, phone);
    let code = order.claim_code.clone().expect("a claim code for the new account");

    // The phone alone does not make the account someone's: registering it is refused.
    let register = json!({"phone": phone, "password": "my-own-secret-1", "display_name": "赵大爷"});
    assert_eq!(app.call(app.post("/auth/register", None, &register)).await.0, 409);
    let claimed = app.claim(&phone, &code, "my-own-secret-1").await;
    let mine = claimed.list_orders("").await.unwrap();
    assert_eq!(mine.items[0].id, order.id);
    assert_eq!(mine.items[0].claim_code, None, "the code is answered once");

    // Residents cannot enter orders for others, nor pretend to be a hotline.
    let resident = app.resident().await;
    assert_eq!(resident.create_order(&body).await.unwrap_err().status, 403);
    let mut hotline = order_body(&w);
    hotline["channel"] = json!("hotline_12345");
    assert_eq!(resident.create_order(&hotline).await.unwrap_err().status, 422);
}

#[tokio::test]
async fn cancelling_follows_who_and_when() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, contract) = partner(&app, &w, 3, None).await;
    let reason = "不需要了";

    let first = place(&w, &resident).await.id;
    w.dispatcher.dispatch(first, &[partner_id]).await.unwrap();
    member.accept(first).await.unwrap();
    let cancelled = resident.cancel(first, reason).await.unwrap();
    assert_eq!(cancelled.status, Status::Cancelled);
    assert_eq!(contract_open_jobs(&w, contract).await, 0, "capacity given back");

    let second = place(&w, &resident).await.id;
    w.dispatcher.dispatch(second, &[partner_id]).await.unwrap();
    member.accept(second).await.unwrap();
    member.start(second).await.unwrap();
    let refused = resident.cancel(second, reason).await.unwrap_err();
    assert_eq!(refused.status, 409, "a resident cannot cancel a job in progress");
    assert_eq!(refused.code, "invalid_transition");
    assert_eq!(member.cancel(second, reason).await.unwrap_err().status, 403, "a provider may never cancel");
    w.dispatcher.cancel(second, reason).await.unwrap();
    assert_eq!(w.dispatcher.cancel(second, reason).await.unwrap_err().status, 409);
    let no_reason = resident.step(second, "cancel", Some(&json!({}))).await.unwrap_err();
    assert_eq!(no_reason.status, 422, "a reason is required");
    for order in [first, second] {
        assert_replays(&w.admin, order).await;
    }
}

#[tokio::test]
async fn withdrawing_closes_every_open_offer() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (a, partner_a, _) = partner(&app, &w, 3, None).await;
    let (b, partner_b, _) = partner(&app, &w, 3, None).await;
    let order = place(&w, &resident).await.id;
    w.dispatcher.dispatch(order, &[partner_a, partner_b]).await.unwrap();
    let withdrawn = w.dispatcher.withdraw(order, "改派志愿者").await.unwrap();
    assert_eq!(withdrawn.status, Status::Pending);
    for member in [&a, &b] {
        assert_eq!(member.accept(order).await.unwrap_err().status, 409);
        assert!(member.jobs().await.unwrap().items.is_empty());
    }
    assert_replays(&w.admin, order).await;
}

#[tokio::test]
async fn a_dispatch_to_an_ineligible_provider_names_the_reasons_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (_, good, _) = partner(&app, &w, 3, None).await;
    let (_, no_contract) = app.approved_partner(&w.admin).await;
    let (person, volunteer_id) = volunteer(&app, &w).await;
    let order = place(&w, &resident).await.id;

    let problem = w.dispatcher.dispatch(order, &[good, no_contract]).await.unwrap_err();
    assert_eq!(problem.status, 422);
    assert_eq!(problem.code, "not_eligible");
    assert_eq!(problem.ineligible[0].provider_id, no_contract);
    assert_eq!(problem.ineligible[0].reasons[0].code, "no_contract");
    assert_eq!(resident.get_order(order).await.unwrap().status, Status::Pending);

    // A provider that declined this order is not offered it again.
    w.dispatcher.dispatch(order, &[volunteer_id]).await.unwrap();
    person.decline(order, "今天没空").await.unwrap();
    let problem = w.dispatcher.dispatch(order, &[volunteer_id]).await.unwrap_err();
    assert_eq!(problem.status, 422);
    assert_eq!(problem.ineligible[0].reasons[0].code, "declined_before");

    let problem = w.dispatcher.dispatch(order, &[Uuid::now_v7()]).await.unwrap_err();
    assert_eq!(problem.status, 422);
    assert_eq!(problem.errors[0].field, "provider_ids[0]");
    // Residents never dispatch.
    assert_eq!(resident.dispatch(order, &[volunteer_id]).await.unwrap_err().status, 403);
}

#[tokio::test]
async fn an_order_is_corrected_before_dispatch_and_not_after() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (_, partner_id, _) = partner(&app, &w, 3, None).await;
    let order = place(&w, &resident).await;
    let patch = json!({"urgency": "emergency", "description": "水管爆了，满地是水"});
    let updated = resident.correct(order.id, &patch).await.unwrap();
    assert_eq!(updated.urgency, UrgencyDb::Emergency);
    assert!(updated.dispatch_by < order.dispatch_by, "an emergency is due sooner");
    assert_eq!(resident.correct(order.id, &json!({"status": "closed"})).await.unwrap_err().status, 422);

    w.dispatcher.dispatch(order.id, &[partner_id]).await.unwrap();
    assert_eq!(resident.correct(order.id, &patch).await.unwrap_err().status, 409);
    let events = resident.events(order.id).await.unwrap();
    assert_eq!(actions(&events)[1], "updated");
    assert_replays(&w.admin, order.id).await;
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
    let order = place(&w, &resident).await.id;
    w.dispatcher.dispatch(order, &[partner_id]).await.unwrap();

    for actor in [&stranger, &other_dispatcher, &outsider] {
        assert_eq!(actor.get_order(order).await.unwrap_err().status, 404);
        assert_eq!(actor.events(order).await.unwrap_err().status, 404);
        assert_eq!(actor.accept(order).await.unwrap_err().status, 404);
        assert!(actor.list_orders("").await.unwrap().items.is_empty());
    }

    w.dispatcher.add_note(order, "居民家中有老人，请提前电话联系").await.unwrap();
    assert_eq!(resident.notes(order).await.unwrap_err().status, 403);
    assert_eq!(member.notes(order).await.unwrap_err().status, 403, "offered, not assigned");
    member.accept(order).await.unwrap();
    let notes = member.notes(order).await.unwrap();
    assert_eq!(notes.items[0].body, "居民家中有老人，请提前电话联系");
    let timeline = resident.events(order).await.unwrap();
    assert!(!json_of(&timeline).to_string().contains("提前电话联系"));
}

#[tokio::test]
async fn dispatchers_find_orders_by_phone_and_that_read_is_audited() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let order = place(&w, &resident).await.id;
    place(&w, &app.resident().await).await;
    let by_phone = format!("phone={}", resident.phone);
    let found = w.dispatcher.list_orders(&by_phone).await.unwrap();
    assert_eq!(found.items.len(), 1);
    assert_eq!(found.items[0].id, order);
    assert_eq!(resident.list_orders(&by_phone).await.unwrap_err().status, 403);
    let audit = w.admin.audit("action=order.search_phone").await.unwrap();
    assert_eq!(audit.items[0].actor, Some(w.dispatcher.user_id));
    assert!(!json_of(&audit).to_string().contains(&resident.phone));
}

#[tokio::test]
async fn the_feed_gives_each_caller_their_events_in_order() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, _) = partner(&app, &w, 3, None).await;
    let order = place(&w, &resident).await.id;
    let start = member.feed(None).await.unwrap();
    assert!(start.items.is_empty());
    let cursor = start.next_cursor.expect("a cursor to wait at");
    w.dispatcher.dispatch(order, &[partner_id]).await.unwrap();
    member.accept(order).await.unwrap();
    let feed = member.feed(Some(&cursor)).await.unwrap();
    // Once the job is ours, its whole timeline is in our feed, in commit order.
    assert_eq!(actions(&feed), ["created", "dispatched", "accepted"]);
    let seqs: Vec<i64> = feed.items.iter().map(|e| e.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    let later = member.feed(Some(feed.next_cursor.as_deref().expect("a cursor past the page"))).await.unwrap();
    assert!(later.items.is_empty(), "the cursor moves past what was read");
    assert_eq!(resident.feed(None).await.unwrap().items.len(), 3);
    assert!(app.resident().await.feed(None).await.unwrap().items.is_empty());
}

#[tokio::test]
async fn a_broadcast_logs_one_event_per_offer_numbered_in_turn() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (_, first, _) = partner(&app, &w, 3, None).await;
    let (_, second, _) = partner(&app, &w, 3, None).await;
    let order = place(&w, &resident).await.id;
    w.dispatcher.dispatch(order, &[first, second]).await.unwrap();
    let feed = resident.feed(None).await.unwrap();
    assert_eq!(actions(&feed), ["created", "dispatched", "dispatched"]);
    let providers: Vec<Option<Uuid>> = feed.items[1..].iter().map(|e| e.provider_id).collect();
    assert_eq!(providers, [Some(first), Some(second)]);
    // Nothing else happened meanwhile: the three events have the next three numbers.
    let seqs: Vec<i64> = feed.items.iter().map(|e| e.seq).collect();
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
    let created = resident.create_order(&body).await.unwrap();
    let order = created.id;
    let stored = |actor: &Actor| {
        let actor = actor.clone();
        async move { json_of(&actor.get_order(order).await.unwrap()) }
    };
    assert_eq!(json_of(&created)["preferred_start"], format!("{day}T09:00:00.123456Z"));
    assert_eq!(json_of(&created), stored(&resident).await, "created");

    let patched = resident.correct(order, &json!({"title": "卫生间水管漏水"})).await.unwrap();
    assert_eq!(patched.title, "卫生间水管漏水");
    assert_eq!(json_of(&patched), stored(&resident).await, "patched");

    let offered = w.dispatcher.dispatch(order, &[partner_id]).await.unwrap();
    assert_eq!(json_of(&offered), stored(&w.dispatcher).await, "dispatched");
    let accepted = member.accept(order).await.unwrap();
    assert_eq!(json_of(&accepted), stored(&member).await, "accept");
    let started = member.start(order).await.unwrap();
    assert_eq!(json_of(&started), stored(&member).await, "start");
    let completed = member.complete(order, "换了两个接头", None).await.unwrap();
    assert_eq!(json_of(&completed), stored(&member).await, "complete");
    let confirmed = resident.step(order, "confirm", Some(&json!({}))).await.unwrap();
    assert_eq!(json_of(&confirmed), stored(&resident).await, "confirm");
    assert_replays(&w.admin, order).await;
}

#[tokio::test]
async fn a_session_that_ended_is_refused_where_the_order_is_read_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let other_device = app.login(&resident.phone, PASSWORD).await;
    let (_, partner_id, _) = partner(&app, &w, 3, None).await;
    let order = place(&w, &resident).await.id;
    let offered = w.dispatcher.dispatch(order, &[partner_id]).await.unwrap();

    // The resident signs out on one device; that device's token is refused everywhere an
    // order is read with the caller's session, an unknown order included (401, not 404).
    resident.sign_out().await.unwrap();
    let unknown = Uuid::now_v7();
    assert_eq!(resident.get_order(order).await.unwrap_err().status, 401);
    assert_eq!(resident.get_order(unknown).await.unwrap_err().status, 401);
    assert_eq!(resident.cancel(order, "不需要了").await.unwrap_err().status, 401);
    assert_eq!(resident.cancel(unknown, "不需要了").await.unwrap_err().status, 401);
    assert_eq!(resident.create_order(&order_body(&w)).await.unwrap_err().status, 401);

    // A deactivated dispatcher too, from the next request on.
    let _: Value = w.admin.deactivate(w.dispatcher.user_id).await.unwrap();
    assert_eq!(w.dispatcher.withdraw(order, "重新派单").await.unwrap_err().status, 401);
    assert_eq!(w.dispatcher.get_order(order).await.unwrap_err().status, 401);

    // Nothing changed: the other device sees the order as dispatched, and only that one.
    let seen = other_device.get_order(order).await.unwrap();
    assert_eq!(seen.status, Status::Offered);
    assert_eq!(seen.version, offered.version);
    assert_eq!(other_device.list_orders("").await.unwrap().items.len(), 1);
}

/// The local date (Asia/Shanghai, the default time zone) as an order number writes it.
fn local_day(at: chrono::DateTime<chrono::Utc>) -> String {
    (at + chrono::Duration::hours(8)).format("%Y%m%d").to_string()
}

#[tokio::test]
async fn orders_are_numbered_per_community_and_day_and_found_by_number() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let community = app.community().await;
    let dispatcher = app.dispatcher(community).await;
    let compound = app.compound(&dispatcher, community, "幸福里").await;
    let building = app.building(&dispatcher, compound, "1号楼").await;
    let other = World {
        admin: w.admin.clone(),
        dispatcher,
        community,
        compound,
        building,
        category: w.category.clone(),
        db: app.db().clone(),
    };
    let resident = app.resident().await;
    let neighbour = app.resident().await;
    let before = chrono::Utc::now();

    // Ten at once in one community: ten numbers in a row, none twice.
    let bodies: Vec<Value> = (0..10).map(|_| order_body(&w)).collect();
    let placed = futures_util::future::join_all(bodies.iter().map(|b| resident.create_order(b))).await;
    let days = [local_day(before), local_day(chrono::Utc::now())];
    let code = format!("C{}", w.community.simple()).to_uppercase();
    let mut numbers: Vec<String> = placed.into_iter().map(|o| o.unwrap().number.expect("a number")).collect();
    numbers.sort();
    let day = numbers[0].split('-').nth(1).unwrap().to_owned();
    assert!(days.contains(&day), "{day} is today's local date");
    let expected: Vec<String> = (1..=10).map(|n| format!("{code}-{day}-{n:04}")).collect();
    assert_eq!(numbers, expected);

    // Another community counts from one.
    let theirs = place(&other, &neighbour).await.number.unwrap();
    assert!(theirs.ends_with("-0001"), "{theirs}");

    // Found by number, in any case, among the orders the caller may see.
    let wanted = &numbers[3];
    let found = resident.list_orders(&format!("number={}", wanted.to_lowercase())).await.unwrap();
    assert_eq!(found.items.len(), 1);
    assert_eq!(found.items[0].number.as_ref(), Some(wanted));
    assert_eq!(w.dispatcher.list_orders(&format!("number={wanted}")).await.unwrap().items.len(), 1);
    assert!(neighbour.list_orders(&format!("number={wanted}")).await.unwrap().items.is_empty());
    assert_eq!(resident.get_order(found.items[0].id).await.unwrap().number.as_ref(), Some(wanted));

    let refused = resident.list_orders("number=42").await.unwrap_err();
    assert_eq!(refused.status, 422);
    assert_eq!(refused.errors[0].field, "number");
}
