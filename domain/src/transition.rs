//! The refusal every state machine here shares: the action is not allowed from this state.
//! The HTTP layer alone decides that this is `409 invalid_transition`.

use std::fmt;

/// `action` is not allowed while the object is `from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrongState {
    pub action: &'static str,
    pub from: &'static str,
}

impl fmt::Display for WrongState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot {} while {}", self.action, self.from)
    }
}

impl std::error::Error for WrongState {}
