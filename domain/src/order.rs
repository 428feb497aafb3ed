//! The order life cycle: who may do what from which state.
//!
//! ```text
//! pending ─dispatch→ offered ─accept→ accepted ─start→ in_progress ─complete→ completed ─confirm→ closed
//! offered ─decline (last open offer) / expire / withdraw→ pending
//! accepted | in_progress ─release (provider) / reassign (dispatcher)→ pending
//! completed ─dispute→ disputed ─resolve→ pending | closed
//! cancel: resident from pending, offered, accepted; dispatcher from any state before completed
//! ```
//!
//! [`decide`] is the one place these rules live. It tells a role that may never take an
//! action (the HTTP layer answers 403) from a state that does not allow it now (409).

use serde::{Deserialize, Serialize};

use crate::message::Message;
pub use crate::order_refusal::wrong_state_message;

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

/// Why a step is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// This role may never take this step (403).
    #[error("{role} may not {action}")]
    NotYourRole { role: &'static str, action: &'static str },
    /// The step is not allowed in the order's current state (409); [`Refusal::message`]
    /// says what to do instead.
    #[error("{}", wrong_state_message(*.action, *.from, *.role).en)]
    WrongState { action: Action, from: OrderStatus, role: ActorRole },
}

impl Refusal {
    /// The refusal as people read it, in both languages.
    pub fn message(&self) -> Message {
        match *self {
            Refusal::NotYourRole { .. } => {
                Message::new("你的角色不能对订单做这一步", "your role may not take this step on an order")
            }
            Refusal::WrongState { action, from, role } => wrong_state_message(action, from, role),
        }
    }
}

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
fn target(action: Action, from: OrderStatus, outcome: Outcome) -> OrderStatus {
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

/// Decides a step: the state it leads to, or why it is refused. (`System` withdraws the
/// offers of a partner, volunteer or contract that is suspended.)
pub fn decide(from: OrderStatus, action: Action, role: ActorRole, outcome: Outcome) -> Result<OrderStatus, Refusal> {
    let allowed = allowed_from(action, role);
    if allowed.is_empty() {
        return Err(Refusal::NotYourRole { role: role.as_str(), action: action.as_str() });
    }
    if !allowed.contains(&from) {
        return Err(Refusal::WrongState { action, from, role });
    }
    Ok(target(action, from, outcome))
}

/// Decides a step for a caller who may act in several roles (a dispatcher who is also the
/// resident): the first role allowed now wins; else 409 if some role could do it in another
/// state; else 403.
pub fn decide_as_any(
    from: OrderStatus,
    action: Action,
    roles: &[ActorRole],
    outcome: Outcome,
) -> Result<(ActorRole, OrderStatus), Refusal> {
    let mut refusal =
        Refusal::NotYourRole { role: roles.first().map_or("caller", |r| r.as_str()), action: action.as_str() };
    for role in roles {
        match decide(from, action, *role, outcome) {
            Ok(to) => return Ok((*role, to)),
            Err(wrong @ Refusal::WrongState { .. }) => refusal = wrong,
            Err(Refusal::NotYourRole { .. }) => {}
        }
    }
    Err(refusal)
}

/// Whether a completed order left alone is due to be confirmed automatically.
pub fn auto_confirm_due(
    completed_at: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
    after_hours: u32,
) -> bool {
    now >= completed_at + chrono::Duration::hours(i64::from(after_hours))
}

/// Replays an event log (the `to` state of each event) and returns the state it ends in.
pub fn replay(events: impl IntoIterator<Item = (Action, Option<OrderStatus>, OrderStatus)>) -> Option<OrderStatus> {
    let mut state: Option<OrderStatus> = None;
    for (action, from, to) in events {
        if action != Action::Created && from != state {
            return None;
        }
        state = Some(to);
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;
    use ActorRole::*;
    use OrderStatus::*;
    use proptest::prelude::*;

    #[test]
    fn completed_orders_confirm_themselves_after_the_set_time() {
        let done: chrono::DateTime<chrono::Utc> = "2026-11-01T08:00:00Z".parse().unwrap();
        assert!(!auto_confirm_due(done, done + chrono::Duration::hours(71), 72));
        assert!(auto_confirm_due(done, done + chrono::Duration::hours(72), 72));
    }

    #[test]
    fn the_happy_path() {
        let d = |from, action, role| decide(from, action, role, Outcome::Default).unwrap();
        assert_eq!(d(Pending, Action::Dispatched, Dispatcher), Offered);
        assert_eq!(d(Offered, Action::Accepted, Provider), Accepted);
        assert_eq!(d(Accepted, Action::Started, Provider), InProgress);
        assert_eq!(d(InProgress, Action::Completed, Provider), Completed);
        assert_eq!(d(Completed, Action::Confirmed, Resident), Closed);
    }

    #[test]
    fn a_role_that_may_never_is_told_apart_from_a_wrong_state() {
        assert!(matches!(
            decide(Pending, Action::Dispatched, Resident, Outcome::Default),
            Err(Refusal::NotYourRole { .. })
        ));
        assert!(matches!(
            decide(InProgress, Action::Cancelled, Resident, Outcome::Default),
            Err(Refusal::WrongState { .. })
        ));
        assert_eq!(decide(InProgress, Action::Cancelled, Dispatcher, Outcome::Default), Ok(Cancelled));
    }

    #[test]
    fn declines_return_the_order_only_with_the_last_open_offer() {
        assert_eq!(decide(Offered, Action::Declined, Provider, Outcome::OthersStillOpen), Ok(Offered));
        assert_eq!(decide(Offered, Action::Declined, Provider, Outcome::Default), Ok(Pending));
    }

    #[test]
    fn the_first_allowed_role_acts() {
        let roles = [Resident, Dispatcher];
        assert_eq!(decide_as_any(InProgress, Action::Cancelled, &roles, Outcome::Default), Ok((Dispatcher, Cancelled)));
        assert!(matches!(
            decide_as_any(Closed, Action::Cancelled, &roles, Outcome::Default),
            Err(Refusal::WrongState { .. })
        ));
        assert!(matches!(
            decide_as_any(Offered, Action::Accepted, &roles, Outcome::Default),
            Err(Refusal::NotYourRole { .. })
        ));
    }

    /// A reference model written as a plain list of edges, independent of the match above.
    fn reference(from: OrderStatus, action: Action, role: ActorRole, others_open: bool) -> Option<OrderStatus> {
        const EDGES: &[(OrderStatus, Action, ActorRole, OrderStatus)] = &[
            (Pending, Action::Updated, Resident, Pending),
            (Pending, Action::Updated, Dispatcher, Pending),
            (Pending, Action::Dispatched, Dispatcher, Offered),
            (Pending, Action::Dispatched, System, Offered),
            (Offered, Action::Withdrawn, Dispatcher, Pending),
            (Offered, Action::Withdrawn, System, Pending),
            (Offered, Action::Accepted, Provider, Accepted),
            (Accepted, Action::Started, Provider, InProgress),
            (InProgress, Action::Completed, Provider, Completed),
            (Accepted, Action::Released, Provider, Pending),
            (InProgress, Action::Released, Provider, Pending),
            (Accepted, Action::Reassigned, Dispatcher, Pending),
            (InProgress, Action::Reassigned, Dispatcher, Pending),
            (Completed, Action::Confirmed, Resident, Closed),
            (Completed, Action::Confirmed, Dispatcher, Closed),
            (Completed, Action::Confirmed, System, Closed),
            (Completed, Action::Disputed, Resident, Disputed),
            (Disputed, Action::Resolved, Dispatcher, Pending),
            (Pending, Action::Cancelled, Resident, Cancelled),
            (Offered, Action::Cancelled, Resident, Cancelled),
            (Accepted, Action::Cancelled, Resident, Cancelled),
            (Pending, Action::Cancelled, Dispatcher, Cancelled),
            (Offered, Action::Cancelled, Dispatcher, Cancelled),
            (Accepted, Action::Cancelled, Dispatcher, Cancelled),
            (InProgress, Action::Cancelled, Dispatcher, Cancelled),
        ];
        if matches!(action, Action::Declined | Action::Expired) {
            let ok = from == Offered
                && ((action == Action::Declined && role == Provider) || (action == Action::Expired && role == System));
            return ok.then_some(if others_open { Offered } else { Pending });
        }
        EDGES.iter().find(|(f, a, r, _)| *f == from && *a == action && *r == role).map(|(_, _, _, to)| *to)
    }

    fn any_action() -> impl Strategy<Value = Action> {
        prop::sample::select(
            Action::ALL
                .iter()
                .copied()
                .filter(|a| !matches!(a, Action::Created | Action::Escalated | Action::Rated | Action::Resolved))
                .collect::<Vec<_>>(),
        )
    }

    proptest! {
        /// Along any sequence of attempted steps, `decide` agrees with the reference model,
        /// refusals change nothing, and replaying the accepted steps gives the final state.
        #[test]
        fn random_sequences_follow_the_reference_model(
            steps in proptest::collection::vec((any_action(), prop::sample::select(ActorRole::ALL.to_vec()), any::<bool>()), 0..40)
        ) {
            let mut state = Pending;
            let mut log = vec![(Action::Created, None, Pending)];
            for (action, role, others_open) in steps {
                let outcome = if others_open { Outcome::OthersStillOpen } else { Outcome::Default };
                let expected = reference(state, action, role, others_open);
                match decide(state, action, role, outcome) {
                    Ok(to) => {
                        prop_assert_eq!(Some(to), expected);
                        log.push((action, Some(state), to));
                        state = to;
                    }
                    Err(_) => prop_assert_eq!(expected, None),
                }
            }
            prop_assert_eq!(replay(log), Some(state));
        }

        /// Cancelled and closed are final: nothing moves an order out of them.
        #[test]
        fn final_states_stay_final(action in any_action(), role in prop::sample::select(ActorRole::ALL.to_vec())) {
            for from in [Cancelled, Closed] {
                prop_assert!(decide(from, action, role, Outcome::Default).is_err());
            }
        }
    }
}
