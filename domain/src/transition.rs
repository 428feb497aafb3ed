//! The refusal every state machine here shares: the action is not allowed from this state.
//! The HTTP layer alone decides that this is `409 invalid_transition`.

use std::fmt;

use crate::message::Message;

/// `action` is not allowed while the object is `from`; `message` says so in both languages
/// and what to do instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrongState {
    pub action: &'static str,
    pub from: &'static str,
    pub message: Message,
}

impl fmt::Display for WrongState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message.en)
    }
}

impl std::error::Error for WrongState {}
