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
use crate::order::{Action, ActorRole, OrderStatus, Outcome, Refusal, decide};
use crate::standing::{ProviderRef, Standing};

/// The longest a volunteer's job may record, in minutes (a day).
pub const MAX_MINUTES: u32 = 1440;

/// Minutes a completion may report beyond the time since the job started: a provider who
/// starts the job in the app at the door, a minute or two after beginning.
pub const MINUTES_TOLERANCE: i64 = 15;

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
    /// When the job started, while it is under way or done.
    pub started_at: Option<DateTime<Utc>>,
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
    /// Provider, contract and the times of the acceptance and the start cleared.
    Unassign,
    /// The job started.
    StartedAt(DateTime<Utc>),
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
    /// More minutes than have passed since the job started (422, `minutes`).
    #[error("more minutes than since the job started")]
    MinutesBeyondStart { most: i64 },
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
            StepRefusal::MinutesBeyondStart { most } => Message::new(
                format!("不能超过开始服务以来的时间：最多 {most} 分钟"),
                format!("cannot exceed the time since the job started: at most {most} minutes"),
            ),
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

mod plan;
#[cfg(test)]
mod tests;

pub use plan::plan;
