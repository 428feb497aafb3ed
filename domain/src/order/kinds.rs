//! The words of the order life cycle: its states, who acts, the steps, and their outcomes.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Pending,
    Offered,
    Accepted,
    InProgress,
    Completed,
    Closed,
    Disputed,
    Cancelled,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 8] = [
        OrderStatus::Pending,
        OrderStatus::Offered,
        OrderStatus::Accepted,
        OrderStatus::InProgress,
        OrderStatus::Completed,
        OrderStatus::Closed,
        OrderStatus::Disputed,
        OrderStatus::Cancelled,
    ];

    /// Whether no step changes an order's row once it is in this state: closed and
    /// cancelled orders only gather what is recorded beside them (a rating).
    pub fn is_final(self) -> bool {
        matches!(self, OrderStatus::Closed | OrderStatus::Cancelled)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Offered => "offered",
            OrderStatus::Accepted => "accepted",
            OrderStatus::InProgress => "in_progress",
            OrderStatus::Completed => "completed",
            OrderStatus::Closed => "closed",
            OrderStatus::Disputed => "disputed",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    /// Accepted and in-progress jobs hold a unit of their provider's capacity.
    pub fn holds_capacity(self) -> bool {
        matches!(self, OrderStatus::Accepted | OrderStatus::InProgress)
    }
}

/// Who takes a step on an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorRole {
    /// The resident the order is for.
    Resident,
    /// A dispatcher of the order's community.
    Dispatcher,
    /// The provider offered or assigned the job (a partner's member or a volunteer).
    Provider,
    /// The background worker.
    System,
}

impl ActorRole {
    pub const ALL: [ActorRole; 4] =
        [ActorRole::Resident, ActorRole::Dispatcher, ActorRole::Provider, ActorRole::System];

    pub fn as_str(self) -> &'static str {
        match self {
            ActorRole::Resident => "resident",
            ActorRole::Dispatcher => "dispatcher",
            ActorRole::Provider => "provider",
            ActorRole::System => "system",
        }
    }
}

/// Every step of the life cycle, as recorded in the event log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Created,
    Updated,
    Dispatched,
    Withdrawn,
    Accepted,
    /// A provider turns its offer down; the order goes back to pending with the last open offer.
    Declined,
    /// An offer's window passed; like a decline, by the worker.
    Expired,
    Started,
    Completed,
    Released,
    Reassigned,
    Confirmed,
    Disputed,
    /// A dispatcher settles a dispute: redo (back to pending) or close.
    Resolved,
    Cancelled,
    Escalated,
    Rated,
}

impl Action {
    pub const ALL: [Action; 17] = [
        Action::Created,
        Action::Updated,
        Action::Dispatched,
        Action::Withdrawn,
        Action::Accepted,
        Action::Declined,
        Action::Expired,
        Action::Started,
        Action::Completed,
        Action::Released,
        Action::Reassigned,
        Action::Confirmed,
        Action::Disputed,
        Action::Resolved,
        Action::Cancelled,
        Action::Escalated,
        Action::Rated,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Updated => "updated",
            Action::Dispatched => "dispatched",
            Action::Withdrawn => "withdrawn",
            Action::Accepted => "accepted",
            Action::Declined => "declined",
            Action::Expired => "expired",
            Action::Started => "started",
            Action::Completed => "completed",
            Action::Released => "released",
            Action::Reassigned => "reassigned",
            Action::Confirmed => "confirmed",
            Action::Disputed => "disputed",
            Action::Resolved => "resolved",
            Action::Cancelled => "cancelled",
            Action::Escalated => "escalated",
            Action::Rated => "rated",
        }
    }
}

/// How a step ends for the order, for the steps whose outcome depends on more than the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The usual case.
    Default,
    /// A decline or expiry while other offers stay open: the order stays offered.
    OthersStillOpen,
    /// A resolution that closes the order instead of sending it back.
    Close,
}
