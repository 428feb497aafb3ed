//! The life cycle as a table: from which states a role may take a step, and where it leads.

use super::kinds::{Action, ActorRole, OrderStatus, Outcome};

/// The states from which `role` may take `action` (empty: never).
pub fn allowed_from(action: Action, role: ActorRole) -> &'static [OrderStatus] {
    use ActorRole::*;
    use OrderStatus::*;
    match (action, role) {
        (Action::Updated, Resident | Dispatcher) => &[Pending],
        (Action::Dispatched, Dispatcher | System) => &[Pending],
        (Action::Withdrawn, Dispatcher | System) => &[Offered],
        (Action::Accepted, Provider) => &[Offered],
        (Action::Declined, Provider) => &[Offered],
        (Action::Expired, System) => &[Offered],
        (Action::Started, Provider) => &[Accepted],
        (Action::Completed, Provider) => &[InProgress],
        (Action::Released, Provider) => &[Accepted, InProgress],
        (Action::Reassigned, Dispatcher) => &[Accepted, InProgress],
        (Action::Confirmed, Resident | Dispatcher | System) => &[Completed],
        (Action::Disputed, Resident) => &[Completed],
        (Action::Resolved, Dispatcher) => &[Disputed],
        (Action::Cancelled, Resident) => &[Pending, Offered, Accepted],
        (Action::Cancelled, Dispatcher) => &[Pending, Offered, Accepted, InProgress],
        (Action::Escalated, System) => &[Pending, Offered, Accepted, InProgress],
        (Action::Rated, Resident | Dispatcher) => &[Completed, Closed],
        _ => &[],
    }
}

/// The state a step leads to from `from`.
pub(super) fn target(action: Action, from: OrderStatus, outcome: Outcome) -> OrderStatus {
    use OrderStatus::*;
    match action {
        Action::Created | Action::Withdrawn | Action::Released | Action::Reassigned => Pending,
        Action::Updated | Action::Escalated | Action::Rated => from,
        Action::Dispatched => Offered,
        Action::Accepted => Accepted,
        Action::Declined | Action::Expired => {
            if outcome == Outcome::OthersStillOpen {
                Offered
            } else {
                Pending
            }
        }
        Action::Started => InProgress,
        Action::Completed => Completed,
        Action::Confirmed => Closed,
        Action::Disputed => Disputed,
        Action::Resolved => {
            if outcome == Outcome::Close {
                Closed
            } else {
                Pending
            }
        }
        Action::Cancelled => Cancelled,
    }
}
