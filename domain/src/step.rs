//! A step on an order: what it requires and what it changes.
//!
//! Every step — a person's (dispatch, withdraw, accept, decline, start, complete, release,
//! reassign, cancel, confirm, dispute, resolve, rate) and the worker's (expiry, escalation,
//! auto-confirmation, the offers of a suspended provider closed) — is described as a
//! [`Step`]. [`plan`] decides it on the order as read ([`OrderFacts`]) for an [`Actor`],
//! and answers a [`Plan`]: the role it is taken in, the state it leads to, the columns it
//! sets, what happens to offers and capacity, and its event. The order store applies the
//! plan as one guarded write; it decides nothing itself, except what only the write can
//! know: whether other offers are still open when one closes ([`Plan::settled`]).

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::category::{Sla, Urgency};
use crate::message::Message;
use crate::order::{Action, ActorRole, OrderStatus, Outcome, Refusal, auto_confirm_due, decide, decide_as_any};
use crate::standing::{OfferSeen, ProviderKind, ProviderRef, Standing};

/// The longest a volunteer's job may record, in minutes (a day).
pub const MAX_MINUTES: u32 = 1440;

/// The order as a step needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderFacts {
    pub status: OrderStatus,
    pub urgency: Urgency,
    /// The provider assigned the job, if any, and the contract it works under.
    pub provider: Option<ProviderRef>,
    pub contract_id: Option<Uuid>,
    pub first_dispatched_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub escalation_level: i32,
}

/// An offer to make: to whom, under which contract (a partner's), open until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewOffer {
    pub provider: ProviderRef,
    pub contract_id: Option<Uuid>,
    pub accept_by: DateTime<Utc>,
}

/// A step, with what its actor gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Offer the order to providers already found eligible (at least one).
    Dispatch {
        offers: Vec<NewOffer>,
    },
    Withdraw {
        reason: String,
    },
    Accept,
    Decline {
        reason: String,
    },
    Start,
    Complete {
        summary: String,
        minutes: Option<u32>,
    },
    Release {
        reason: String,
    },
    Reassign {
        reason: String,
    },
    Cancel {
        reason: String,
    },
    /// A dispatcher's confirmation carries what the resident said on the follow-up call.
    Confirm {
        note: Option<String>,
    },
    Dispute {
        reason: String,
    },
    Resolve {
        close: bool,
        reason: String,
    },
    Rate,
    /// The worker: an offer's accept window passed.
    Expire {
        offer: Uuid,
        provider: Uuid,
    },
    /// The worker, or a vetting decision: an offer closes because its provider or contract
    /// may no longer take jobs.
    CloseOffer {
        offer: Uuid,
        provider: Uuid,
        reason: String,
    },
    /// The worker: an order past a deadline is raised to `level` once.
    Escalate {
        level: i32,
        reason: &'static str,
    },
    /// The worker: a completed order left alone `after_hours` confirms itself.
    AutoConfirm {
        after_hours: u32,
    },
}

/// Who takes a step: a caller with their standing on the order, or the worker.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    Caller { user_id: Uuid, standing: &'a Standing },
    System,
}

impl Actor<'_> {
    fn roles(&self) -> Vec<ActorRole> {
        match self {
            Actor::Caller { standing, .. } => standing.roles(),
            Actor::System => vec![ActorRole::System],
        }
    }

    fn user_id(&self) -> Option<Uuid> {
        match self {
            Actor::Caller { user_id, .. } => Some(*user_id),
            Actor::System => None,
        }
    }

    fn standing(&self) -> Option<&Standing> {
        match self {
            Actor::Caller { standing, .. } => Some(standing),
            Actor::System => None,
        }
    }
}

/// A column of the order a step sets besides its status, version and update time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Set {
    /// The job goes to a provider under a contract, due by `complete_by`.
    Assign {
        provider: ProviderRef,
        contract_id: Option<Uuid>,
        accepted_at: DateTime<Utc>,
        complete_by: DateTime<Utc>,
    },
    /// Provider, contract and the times of the acceptance cleared.
    Unassign,
    AcceptBy(Option<DateTime<Utc>>),
    /// The first dispatch's time, kept from the first dispatch on.
    FirstDispatchedAt(DateTime<Utc>),
    Completion {
        summary: String,
        minutes: Option<u32>,
        completed_at: DateTime<Utc>,
    },
    /// A redo: the completion's time cleared (summary and minutes stay on record).
    ClearCompletedAt,
    EscalationLevel(i32),
}

/// What a step does to the order's offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Offers {
    Untouched,
    /// New open offers (a dispatch).
    Make(Vec<NewOffer>),
    /// The caller's open offer is taken; the others, if any are open, close as
    /// `accepted_by_another`.
    Spend {
        offer: Uuid,
        others_open: bool,
    },
    /// Every open offer closes with this reason.
    CloseAll {
        reason: &'static str,
    },
    /// One offer closes (declined, expired, or closed with a reason) if it is still open;
    /// the order goes back to pending if it was the last open one ([`Plan::settled`]).
    CloseOne {
        offer: Uuid,
        end: OfferEnd,
        reason: Option<String>,
    },
}

/// How one offer ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferEnd {
    Declined,
    Expired,
    Closed,
}

/// What a step does to its provider's capacity and its contract's monthly quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capacity {
    Untouched,
    Take {
        provider: ProviderRef,
        contract_id: Option<Uuid>,
    },
    /// The unit the assigned job held is given back.
    GiveBack,
}

/// A step decided: what the store writes, as one guarded transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub action: Action,
    pub role: ActorRole,
    pub actor_id: Option<Uuid>,
    pub from: OrderStatus,
    /// Where the order goes; for a step that closes one offer, where it goes if that offer
    /// was the last open one ([`Plan::settled`]).
    pub to: OrderStatus,
    pub set: Vec<Set>,
    pub offers: Offers,
    pub capacity: Capacity,
    /// A volunteer's minutes count in the hours ledger (the order closes).
    pub count_hours: bool,
    /// The event's reason and provider.
    pub reason: Option<String>,
    pub provider_id: Option<Uuid>,
    /// Whether the step is recorded when it leaves the order's state as it is (a closed
    /// offer of a suspended provider is recorded only when the order goes back to pending).
    pub recorded_if_unmoved: bool,
}

impl Plan {
    fn new(action: Action, role: ActorRole, actor: &Actor, from: OrderStatus, to: OrderStatus) -> Self {
        Self {
            action,
            role,
            actor_id: actor.user_id(),
            from,
            to,
            set: Vec::new(),
            offers: Offers::Untouched,
            capacity: Capacity::Untouched,
            count_hours: false,
            reason: None,
            provider_id: None,
            recorded_if_unmoved: true,
        }
    }

    fn with(mut self, set: Set) -> Self {
        self.set.push(set);
        self
    }

    fn offers(mut self, offers: Offers) -> Self {
        self.offers = offers;
        self
    }

    fn capacity(mut self, capacity: Capacity) -> Self {
        self.capacity = capacity;
        self
    }

    fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    fn provider(mut self, provider_id: Option<Uuid>) -> Self {
        self.provider_id = provider_id;
        self
    }

    /// Whether the order's state changes or its columns are set: the store then moves it
    /// with a compare-and-set; otherwise it holds the order as read while it writes.
    pub fn moves(&self) -> bool {
        self.to != self.from || !self.set.is_empty()
    }

    /// For a step that closes one offer: the state the order goes to, given whether other
    /// offers are still open once it closed — and the columns that go with it.
    pub fn settled(&self, others_still_open: bool) -> (OrderStatus, Vec<Set>) {
        let to = match (self.from, self.action) {
            (OrderStatus::Offered, Action::Declined | Action::Expired) => {
                let outcome = if others_still_open { Outcome::OthersStillOpen } else { Outcome::Default };
                decide(self.from, self.action, self.role, outcome).unwrap_or(self.from)
            }
            (OrderStatus::Offered, Action::Withdrawn) if !others_still_open => {
                decide(self.from, self.action, self.role, Outcome::Default).unwrap_or(self.from)
            }
            _ => self.from,
        };
        let set = if to == OrderStatus::Pending { vec![Set::AcceptBy(None)] } else { Vec::new() };
        (to, set)
    }
}

/// Why a step is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepRefusal {
    /// A role that may never (403), or a state that does not allow it now (409).
    #[error("{0}")]
    Refused(Refusal),
    /// The caller acts for several providers here and must name one (422, `provider_id`).
    #[error("name the provider you act for")]
    NameProvider,
    #[error("your offer is closed")]
    OfferClosed,
    #[error("your offer has expired")]
    OfferExpired,
    #[error("the job is not assigned to you")]
    NotAssigned,
    /// A volunteer's completion records the minutes worked (422, `minutes`).
    #[error("a volunteer's job records the minutes worked")]
    MinutesRequired,
    #[error("minutes between 1 and 1440")]
    MinutesOutOfRange,
    #[error("the order has no provider to rate")]
    NoProviderToRate,
    /// A step of the worker's that is not due on the order as read: nothing happens.
    #[error("nothing to do")]
    NotDue,
}

impl StepRefusal {
    /// The refusal as people read it.
    pub fn message(&self) -> Message {
        match self {
            StepRefusal::Refused(r) => r.message(),
            StepRefusal::NameProvider => Message::new(
                "你在此代表多个服务方；请用 provider_id 指明一个",
                "you act for several providers here; name one",
            ),
            StepRefusal::OfferClosed => Message::new("给你的派单已关闭", "your offer is closed"),
            StepRefusal::OfferExpired => Message::new("给你的派单已过期", "your offer has expired"),
            StepRefusal::NotAssigned => Message::new("这项工作没有指派给你", "the job is not assigned to you"),
            StepRefusal::MinutesRequired => {
                Message::new("志愿者完成时须填写服务分钟数 minutes", "a volunteer's job records the minutes worked")
            }
            StepRefusal::MinutesOutOfRange => Message::new("须在 1 到 1440 之间", "between 1 and 1440"),
            StepRefusal::NoProviderToRate => {
                Message::new("这张订单没有可评价的服务方", "the order has no provider to rate")
            }
            StepRefusal::NotDue => Message::new("无需处理", "nothing to do"),
        }
    }
}

impl From<Refusal> for StepRefusal {
    fn from(r: Refusal) -> Self {
        StepRefusal::Refused(r)
    }
}

/// When an accepted job is due: the category's completion time for the order's urgency.
pub fn complete_by(sla: &Sla, urgency: Urgency, accepted_at: DateTime<Utc>) -> DateTime<Utc> {
    accepted_at + Duration::minutes(i64::from(sla.for_urgency(urgency).complete))
}

/// When an order created at `at` must be dispatched.
pub fn dispatch_by(sla: &Sla, urgency: Urgency, at: DateTime<Utc>) -> DateTime<Utc> {
    at + Duration::minutes(i64::from(sla.for_urgency(urgency).dispatch))
}

/// When an offer made at `at`, open for `minutes`, closes.
pub fn accept_by(at: DateTime<Utc>, minutes: u32) -> DateTime<Utc> {
    at + Duration::minutes(i64::from(minutes))
}

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
        Step::Start => assigned(plain(Action::Started)?, &actor),
        Step::Complete { summary, minutes } => {
            let plan = assigned(plain(Action::Completed)?, &actor)?;
            match (order.provider.map(|p| p.kind), minutes) {
                (Some(ProviderKind::Volunteer), None) => return Err(StepRefusal::MinutesRequired),
                (_, Some(m)) if !(1..=MAX_MINUTES).contains(&m) => return Err(StepRefusal::MinutesOutOfRange),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::standing::{Caller, Parties};

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
        let m = crate::category::StepMinutes { dispatch: 60, accept: 30, complete: 240 };
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
    }

    #[test]
    fn the_worker_escalates_once_and_confirms_only_when_due() {
        let now = at("2026-12-04T08:00:00Z");
        let escalate = || Step::Escalate { level: 1, reason: "dispatch_by passed" };
        assert!(plan(&facts(OrderStatus::Pending), Actor::System, escalate(), None, now).is_ok());
        let raised = OrderFacts { escalation_level: 1, ..facts(OrderStatus::Pending) };
        assert_eq!(plan(&raised, Actor::System, escalate(), None, now), Err(StepRefusal::NotDue));
        let done = OrderFacts { completed_at: Some(at("2026-12-03T08:00:00Z")), ..facts(OrderStatus::Completed) };
        assert_eq!(
            plan(&done, Actor::System, Step::AutoConfirm { after_hours: 72 }, None, now),
            Err(StepRefusal::NotDue)
        );
        assert!(plan(&done, Actor::System, Step::AutoConfirm { after_hours: 24 }, None, now).unwrap().count_hours);
    }
}
