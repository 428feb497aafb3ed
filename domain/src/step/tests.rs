//! The steps' plans, one example each of what a step requires and what it changes.

use super::*;
use crate::category::{StepMinutes, Urgency};
use crate::order::{ActorRole, OrderStatus};
use crate::standing::{Caller, Parties};
use crate::standing::{OfferSeen, ProviderKind, ProviderRef, Standing};

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn facts(status: OrderStatus) -> OrderFacts {
    OrderFacts {
        status,
        urgency: Urgency::Normal,
        provider: None,
        contract_id: None,
        first_dispatched_at: None,
        completed_at: None,
        started_at: None,
        escalation_level: 0,
    }
}

fn volunteer_offered(open: bool, accept_by: DateTime<Utc>) -> Standing {
    let provider = ProviderRef { kind: ProviderKind::Volunteer, id: id(7) };
    let offer = OfferSeen { id: id(70), provider, open, accept_by, contract_id: None };
    Standing::of(
        &Caller { user_id: id(1), admin: false, dispatches_for: None },
        &Parties { resident_id: id(2), community_id: id(3), provider_id: None },
        &[provider],
        &[offer],
        false,
    )
}

fn sla() -> Sla {
    let m = StepMinutes { dispatch: 60, accept: 30, complete: 240 };
    Sla { normal: m, urgent: m, emergency: m }
}

#[test]
fn an_accept_takes_the_offer_capacity_and_the_deadline() {
    let now = at("2026-12-04T08:00:00Z");
    let standing = volunteer_offered(true, at("2026-12-04T09:00:00Z"));
    let actor = Actor::Caller { user_id: id(1), standing: &standing };
    let plan = plan(&facts(OrderStatus::Offered), actor, Step::Accept, Some(&sla()), now).unwrap();
    assert_eq!((plan.from, plan.to, plan.role), (OrderStatus::Offered, OrderStatus::Accepted, ActorRole::Provider));
    assert_eq!(plan.offers, Offers::Spend { offer: id(70), others_open: false });
    assert!(plan.set.contains(&Set::Assign {
        provider: ProviderRef { kind: ProviderKind::Volunteer, id: id(7) },
        contract_id: None,
        accepted_at: now,
        complete_by: at("2026-12-04T12:00:00Z"),
    }));
}

#[test]
fn an_expired_or_closed_offer_cannot_be_accepted() {
    let now = at("2026-12-04T08:00:00Z");
    let late = volunteer_offered(true, now);
    let actor = Actor::Caller { user_id: id(1), standing: &late };
    assert_eq!(
        plan(&facts(OrderStatus::Offered), actor, Step::Accept, Some(&sla()), now),
        Err(StepRefusal::OfferExpired)
    );
    let closed = volunteer_offered(false, at("2026-12-04T09:00:00Z"));
    let actor = Actor::Caller { user_id: id(1), standing: &closed };
    assert_eq!(
        plan(&facts(OrderStatus::Offered), actor, Step::Accept, Some(&sla()), now),
        Err(StepRefusal::OfferClosed)
    );
}

#[test]
fn a_decline_goes_back_to_pending_only_with_the_last_open_offer() {
    let now = at("2026-12-04T08:00:00Z");
    let standing = volunteer_offered(true, at("2026-12-04T09:00:00Z"));
    let actor = Actor::Caller { user_id: id(1), standing: &standing };
    let step = Step::Decline { reason: "busy".into() };
    let plan = plan(&facts(OrderStatus::Offered), actor, step, None, now).unwrap();
    assert_eq!(plan.settled(true).0, OrderStatus::Offered);
    assert_eq!(plan.settled(false), (OrderStatus::Pending, vec![Set::AcceptBy(None)]));
}

#[test]
fn a_volunteer_records_minutes_within_a_day() {
    let now = at("2026-12-04T08:00:00Z");
    let provider = ProviderRef { kind: ProviderKind::Volunteer, id: id(7) };
    let standing = Standing::of(
        &Caller { user_id: id(1), admin: false, dispatches_for: None },
        &Parties { resident_id: id(2), community_id: id(3), provider_id: Some(id(7)) },
        &[provider],
        &[],
        false,
    );
    let order = OrderFacts { provider: Some(provider), ..facts(OrderStatus::InProgress) };
    let actor = Actor::Caller { user_id: id(1), standing: &standing };
    let complete = |minutes| Step::Complete { summary: "done".into(), minutes };
    assert_eq!(plan(&order, actor, complete(None), None, now), Err(StepRefusal::MinutesRequired));
    assert_eq!(plan(&order, actor, complete(Some(1441)), None, now), Err(StepRefusal::MinutesOutOfRange));
    assert!(plan(&order, actor, complete(Some(90)), None, now).is_ok());
    // Started 30 minutes ago: at most 30 + 15 minutes.
    let started = OrderFacts { started_at: Some(now - chrono::Duration::minutes(30)), ..order };
    assert_eq!(plan(&started, actor, complete(Some(46)), None, now), Err(StepRefusal::MinutesBeyondStart { most: 45 }));
    assert!(plan(&started, actor, complete(Some(45)), None, now).is_ok());
}

#[test]
fn the_worker_escalates_once_and_confirms_only_when_due() {
    let now = at("2026-12-04T08:00:00Z");
    let escalate = || Step::Escalate { level: 1, reason: "dispatch_by passed" };
    assert!(plan(&facts(OrderStatus::Pending), Actor::System, escalate(), None, now).is_ok());
    let raised = OrderFacts { escalation_level: 1, ..facts(OrderStatus::Pending) };
    assert_eq!(plan(&raised, Actor::System, escalate(), None, now), Err(StepRefusal::NotDue));
    let done = OrderFacts { completed_at: Some(at("2026-12-03T08:00:00Z")), ..facts(OrderStatus::Completed) };
    assert_eq!(plan(&done, Actor::System, Step::AutoConfirm { after_hours: 72 }, None, now), Err(StepRefusal::NotDue));
    assert!(plan(&done, Actor::System, Step::AutoConfirm { after_hours: 24 }, None, now).unwrap().count_hours);
}
