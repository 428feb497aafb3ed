//! [`plan`]: a step decided on the order as read, for its actor.

use chrono::{DateTime, Utc};

use super::{
    Actor, Capacity, MAX_MINUTES, MINUTES_TOLERANCE, OfferEnd, Offers, OrderFacts, Plan, Set, Step, StepRefusal,
    complete_by,
};
use crate::category::Sla;
use crate::order::{Action, ActorRole, OrderStatus, Outcome, Refusal, auto_confirm_due, decide_as_any};
use crate::standing::{OfferSeen, ProviderKind, ProviderRef, Standing};

/// Decides a step. `sla` is the order's category's service levels (an accept needs them).
pub fn plan(
    order: &OrderFacts,
    actor: Actor,
    step: Step,
    sla: Option<&Sla>,
    now: DateTime<Utc>,
) -> Result<Plan, StepRefusal> {
    let from = order.status;
    let roles = actor.roles();
    let decided = |action: Action, outcome: Outcome| decide_as_any(from, action, &roles, outcome);
    let plain = |action: Action| -> Result<Plan, StepRefusal> {
        let (role, to) = decided(action, Outcome::Default)?;
        Ok(Plan::new(action, role, &actor, from, to))
    };
    match step {
        Step::Dispatch { offers } => {
            let accept_by = offers.iter().map(|o| o.accept_by).min();
            Ok(plain(Action::Dispatched)?
                .with(Set::AcceptBy(accept_by))
                .with(Set::FirstDispatchedAt(order.first_dispatched_at.unwrap_or(now)))
                .offers(Offers::Make(offers)))
        }
        Step::Withdraw { reason } => Ok(plain(Action::Withdrawn)?
            .with(Set::AcceptBy(None))
            .offers(Offers::CloseAll { reason: "withdrawn" })
            .reason(reason)),
        Step::Accept => {
            let plan = plain(Action::Accepted)?;
            let (provider, offer) = open_offer(&actor, now, true)?;
            let sla = sla.ok_or(StepRefusal::NotDue)?;
            let due = complete_by(sla, order.urgency, now);
            Ok(plan
                .with(Set::Assign { provider, contract_id: offer.contract_id, accepted_at: now, complete_by: due })
                .offers(Offers::Spend { offer: offer.id, others_open: actor.standing().is_some_and(|s| s.others_open) })
                .capacity(Capacity::Take { provider, contract_id: offer.contract_id })
                .provider(Some(provider.id)))
        }
        Step::Decline { reason } => {
            // The role and state first (403/409), then the caller's offer; whether the order
            // goes back to pending is settled by the write (the last open offer).
            let plan = plain(Action::Declined)?;
            let (provider, offer) = open_offer(&actor, now, false)?;
            Ok(Plan { to: OrderStatus::Pending, ..plan }
                .offers(Offers::CloseOne { offer: offer.id, end: OfferEnd::Declined, reason: Some(reason.clone()) })
                .reason(reason)
                .provider(Some(provider.id)))
        }
        Step::Start => Ok(assigned(plain(Action::Started)?, &actor)?.with(Set::StartedAt(now))),
        Step::Complete { summary, minutes } => {
            let plan = assigned(plain(Action::Completed)?, &actor)?;
            match (order.provider.map(|p| p.kind), minutes) {
                (Some(ProviderKind::Volunteer), None) => return Err(StepRefusal::MinutesRequired),
                (_, Some(m)) if !(1..=MAX_MINUTES).contains(&m) => return Err(StepRefusal::MinutesOutOfRange),
                (_, Some(m)) => {
                    if let Some(started) = order.started_at {
                        let most = (now - started).num_minutes().max(0) + MINUTES_TOLERANCE;
                        if i64::from(m) > most {
                            return Err(StepRefusal::MinutesBeyondStart { most });
                        }
                    }
                }
                _ => {}
            }
            Ok(plan.with(Set::Completion { summary, minutes, completed_at: now }).capacity(Capacity::GiveBack))
        }
        Step::Release { reason } => {
            let plan = assigned(plain(Action::Released)?, &actor)?;
            Ok(unassign(plan, order).reason(reason))
        }
        Step::Reassign { reason } => Ok(unassign(plain(Action::Reassigned)?, order).reason(reason)),
        Step::Cancel { reason } => {
            let plan = plain(Action::Cancelled)?.offers(Offers::CloseAll { reason: "cancelled" }).reason(reason);
            Ok(if from.holds_capacity() { plan.capacity(Capacity::GiveBack) } else { plan })
        }
        Step::Confirm { note } => {
            let (role, to) = decided_not_as_provider(&actor, from, Action::Confirmed)?;
            let plan = Plan { count_hours: true, ..Plan::new(Action::Confirmed, role, &actor, from, to) };
            Ok(match role {
                ActorRole::Dispatcher => plan.reason(follow_up_call(note.as_deref())),
                _ => plan,
            })
        }
        Step::Dispute { reason } => Ok(plain(Action::Disputed)?.reason(reason)),
        Step::Resolve { close, reason } => {
            let outcome = if close { Outcome::Close } else { Outcome::Default };
            let (role, to) = decided(Action::Resolved, outcome)?;
            let plan = Plan::new(Action::Resolved, role, &actor, from, to)
                .reason(reason)
                .provider(order.provider.map(|p| p.id));
            Ok(if to == OrderStatus::Pending {
                plan.with(Set::Unassign).with(Set::ClearCompletedAt)
            } else {
                Plan { count_hours: true, ..plan }
            })
        }
        Step::Rate => {
            let (role, to) = decided_not_as_provider(&actor, from, Action::Rated)?;
            let provider = order.provider.ok_or(StepRefusal::NoProviderToRate)?;
            Ok(Plan::new(Action::Rated, role, &actor, from, to).provider(Some(provider.id)))
        }
        Step::Expire { offer, provider } => {
            // The offer expires whatever the order's state; the expiry is recorded only for
            // an offered order.
            let (to, recorded) =
                if from == OrderStatus::Offered { (OrderStatus::Pending, true) } else { (from, false) };
            let plan = Plan::new(Action::Expired, ActorRole::System, &actor, from, to);
            Ok(Plan { recorded_if_unmoved: recorded, ..plan }
                .offers(Offers::CloseOne {
                    offer,
                    end: OfferEnd::Expired,
                    reason: Some("accept window passed".to_owned()),
                })
                .provider(Some(provider)))
        }
        Step::CloseOffer { offer, provider, reason } => {
            // The offer closes whatever the order's state; the order is withdrawn (back to
            // pending) only when it was offered and this was its last open offer.
            let to = if from == OrderStatus::Offered { OrderStatus::Pending } else { from };
            let plan = Plan::new(Action::Withdrawn, ActorRole::System, &actor, from, to);
            Ok(Plan { recorded_if_unmoved: false, ..plan }
                .offers(Offers::CloseOne { offer, end: OfferEnd::Closed, reason: Some(reason.clone()) })
                .reason(reason)
                .provider(Some(provider)))
        }
        Step::Escalate { level, reason } => {
            let plan = plain(Action::Escalated).map_err(|_| StepRefusal::NotDue)?;
            if order.escalation_level >= level {
                return Err(StepRefusal::NotDue);
            }
            Ok(plan.with(Set::EscalationLevel(level)).reason(reason))
        }
        Step::AutoConfirm { after_hours } => {
            let plan = plain(Action::Confirmed).map_err(|_| StepRefusal::NotDue)?;
            if !order.completed_at.is_some_and(|at| auto_confirm_due(at, now, after_hours)) {
                return Err(StepRefusal::NotDue);
            }
            Ok(Plan { count_hours: true, ..plan }.reason(format!("auto_confirmed after {after_hours} h")))
        }
    }
}

/// The caller's provider and its open offer, for an accept or a decline; an accept also
/// needs the offer's window not to have passed.
fn open_offer(actor: &Actor, now: DateTime<Utc>, in_time: bool) -> Result<(ProviderRef, OfferSeen), StepRefusal> {
    let standing = actor.standing().ok_or(StepRefusal::NotDue)?;
    let provider = acting_provider(standing)?;
    let offer = standing.open_offer.ok_or(StepRefusal::OfferClosed)?;
    if in_time && offer.accept_by <= now {
        return Err(StepRefusal::OfferExpired);
    }
    Ok((provider, offer))
}

/// The one provider the caller acts for in a provider's step.
fn acting_provider(standing: &Standing) -> Result<ProviderRef, StepRefusal> {
    if standing.ambiguous {
        return Err(StepRefusal::NameProvider);
    }
    standing.provider.ok_or(StepRefusal::Refused(Refusal::NotYourRole { role: "caller", action: "act" }))
}

/// A provider's step on an assigned job: only the assigned provider may take it.
fn assigned(plan: Plan, actor: &Actor) -> Result<Plan, StepRefusal> {
    match actor.standing() {
        Some(s) if s.assigned => Ok(plan),
        // Offered once but not assigned: the role may act, this provider may not.
        _ => Err(StepRefusal::NotAssigned),
    }
}

/// The job taken from its provider: unassigned, its capacity given back, recorded with the
/// provider it was taken from.
fn unassign(plan: Plan, order: &OrderFacts) -> Plan {
    plan.with(Set::Unassign)
        .with(Set::AcceptBy(None))
        .capacity(Capacity::GiveBack)
        .provider(order.provider.map(|p| p.id))
}

/// Confirming and rating are the resident's (in the app) or a dispatcher's (after a call),
/// never a provider's, even one who is also the resident's dispatcher or the resident.
fn decided_not_as_provider(
    actor: &Actor,
    from: OrderStatus,
    action: Action,
) -> Result<(ActorRole, OrderStatus), StepRefusal> {
    let all = actor.roles();
    let roles: Vec<ActorRole> = all.iter().copied().filter(|r| *r != ActorRole::Provider).collect();
    if roles.is_empty() {
        return Err(StepRefusal::Refused(Refusal::NotYourRole { role: "provider", action: action.as_str() }));
    }
    Ok(decide_as_any(from, action, &roles, Outcome::Default)?)
}

/// The reason a dispatcher's confirmation records: a follow-up call, with what was said.
fn follow_up_call(note: Option<&str>) -> String {
    match note.map(str::trim) {
        Some(note) if !note.is_empty() => format!("follow_up_call: {}", note.chars().take(480).collect::<String>()),
        _ => "follow_up_call".to_owned(),
    }
}
