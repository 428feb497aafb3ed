//! Every illegal move, generated from the domain's own transition table: for each state an
//! order can reach and each step × role, a refused step answers 403 when the role may never
//! take it and 409 when the state does not allow it — and changes nothing.

use serde_json::{Value, json};
use shenbian_domain::order::{Action, ActorRole, OrderStatus, allowed_from};
use shenbian_tests::scene::{World, assert_replays, partner, place, world};
use shenbian_tests::{Actor, Status, TestApp, json_of};
use uuid::Uuid;

/// The steps with an endpoint, and a valid body for each.
fn steps(partner_id: Uuid) -> Vec<(Action, &'static str, Option<Value>)> {
    vec![
        (Action::Updated, "PATCH", Some(json!({"description": "补充说明"}))),
        (Action::Dispatched, "dispatch", Some(json!({"provider_ids": [partner_id]}))),
        (Action::Withdrawn, "withdraw", Some(json!({"reason": "r"}))),
        (Action::Accepted, "accept", None),
        (Action::Declined, "decline", Some(json!({"reason": "r"}))),
        (Action::Started, "start", None),
        (Action::Completed, "complete", Some(json!({"summary": "s"}))),
        (Action::Released, "release", Some(json!({"reason": "r"}))),
        (Action::Reassigned, "reassign", Some(json!({"reason": "r"}))),
        (Action::Cancelled, "cancel", Some(json!({"reason": "r"}))),
        (Action::Confirmed, "confirm", None),
        (Action::Disputed, "dispute", Some(json!({"reason": "r"}))),
        (Action::Resolved, "resolve", Some(json!({"outcome": "close", "reason": "r"}))),
    ]
}

/// Brings a new order to `state`, with `member`'s partner offered or assigned along the way.
async fn order_in(w: &World, resident: &Actor, member: &Actor, partner_id: Uuid, state: OrderStatus) -> Uuid {
    let order = place(w, resident).await.id;
    w.dispatcher.dispatch(order, &[partner_id]).await.unwrap();
    match state {
        // Offered once and withdrawn: the provider still sees the order.
        OrderStatus::Pending => {
            w.dispatcher.withdraw(order, "r").await.unwrap();
        }
        OrderStatus::Offered => {}
        OrderStatus::Accepted => {
            member.accept(order).await.unwrap();
        }
        OrderStatus::InProgress => {
            member.accept(order).await.unwrap();
            member.start(order).await.unwrap();
        }
        OrderStatus::Completed => {
            member.accept(order).await.unwrap();
            member.start(order).await.unwrap();
            member.complete(order, "s", None).await.unwrap();
        }
        OrderStatus::Cancelled => {
            w.dispatcher.cancel(order, "r").await.unwrap();
        }
        other => panic!("{other:?} is not reachable here"),
    }
    order
}

#[tokio::test]
async fn every_refused_step_answers_as_the_transition_table_says_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, _) = partner(&app, &w, 50, None).await;
    let roles: [(ActorRole, &Actor); 3] =
        [(ActorRole::Resident, &resident), (ActorRole::Dispatcher, &w.dispatcher), (ActorRole::Provider, &member)];
    let mut checked = 0;
    for state in [
        OrderStatus::Pending,
        OrderStatus::Offered,
        OrderStatus::Accepted,
        OrderStatus::InProgress,
        OrderStatus::Completed,
        OrderStatus::Cancelled,
    ] {
        let order = order_in(&w, &resident, &member, partner_id, state).await;
        let before = w.admin.get_order(order).await.unwrap();
        assert_eq!(before.status, Status::from(state));
        for (action, endpoint, body) in steps(partner_id) {
            for (role, actor) in roles {
                let allowed = allowed_from(action, role);
                if allowed.contains(&state) {
                    continue;
                }
                let expected = if allowed.is_empty() { 403 } else { 409 };
                let answer = if endpoint == "PATCH" {
                    actor.correct(order, body.as_ref().unwrap()).await
                } else {
                    actor.step(order, endpoint, body.as_ref()).await
                };
                let Err(refused) = answer else { panic!("{role:?} {endpoint} on {state:?} was not refused") };
                assert_eq!(refused.status, expected, "{role:?} {endpoint} on {state:?}: {refused:?}");
                checked += 1;
            }
        }
        let after = w.admin.get_order(order).await.unwrap();
        assert_eq!(after.version, before.version, "{state:?}: refusals changed nothing");
        assert_eq!(after.status, before.status);
        assert_replays(&w.admin, order).await;
    }
    assert!(checked > 100, "{checked} refusals checked");
}

#[tokio::test]
async fn personal_data_is_shown_by_role_and_state_and_masked_otherwise() {
    let app = TestApp::spawn().await;
    let w = world(&app).await;
    let resident = app.resident().await;
    let (member, partner_id, _) = partner(&app, &w, 50, None).await;
    for state in [
        OrderStatus::Pending,
        OrderStatus::Offered,
        OrderStatus::Accepted,
        OrderStatus::InProgress,
        OrderStatus::Completed,
        OrderStatus::Cancelled,
    ] {
        let order = order_in(&w, &resident, &member, partner_id, state).await;
        let provider_sees = matches!(state, OrderStatus::Accepted | OrderStatus::InProgress);
        for (who, actor, unmasked) in [
            ("resident", &resident, true),
            ("dispatcher", &w.dispatcher, true),
            ("admin", &w.admin, true),
            ("provider", &member, provider_sees),
        ] {
            let seen = actor.get_order(order).await.unwrap_or_else(|p| panic!("{who} {state:?}: {p:?}"));
            assert_eq!(seen.masked, !unmasked, "{who} {state:?}");
            let text = json_of(&seen).to_string();
            assert_eq!(text.contains(&resident.phone), unmasked, "{who} {state:?} phone");
            assert_eq!(text.contains("王秀英"), unmasked, "{who} {state:?} name");
            assert_eq!(text.contains("进门左手边"), unmasked, "{who} {state:?} address");
            if !unmasked {
                assert_eq!(seen.resident_name, "王*");
                assert!(seen.contact_phone.contains("****"));
            }
        }
        let jobs = member.jobs().await.unwrap();
        for job in jobs.items.iter().filter(|j| j.order.id == order) {
            assert_eq!(job.order.masked, !provider_sees, "{state:?}: the jobs list masks alike");
            assert_eq!(json_of(&job.order).to_string().contains(&resident.phone), provider_sees);
        }
    }
}
