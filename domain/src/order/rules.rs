//! Deciding a step on the table's rules: the state it leads to, or why it is refused.

use super::kinds::{Action, ActorRole, OrderStatus, Outcome};
use super::refusal::wrong_state_message;
use super::table::{allowed_from, target};
use crate::message::Message;

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

    /// What `is_final` promises: from a final state, every step any role may take leaves the
    /// order where it is.
    #[test]
    fn final_states_are_left_only_by_steps_that_change_nothing() {
        for from in OrderStatus::ALL.into_iter().filter(|s| s.is_final()) {
            for action in Action::ALL {
                for role in ActorRole::ALL {
                    for outcome in [Outcome::Default, Outcome::OthersStillOpen, Outcome::Close] {
                        if let Ok(to) = decide(from, action, role, outcome) {
                            assert_eq!(to, from, "{action:?} by {role:?} from {from:?}");
                        }
                    }
                }
            }
        }
    }

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
