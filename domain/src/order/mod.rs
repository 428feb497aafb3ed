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
//! [`decide`] is the one place these rules live (`table.rs` holds them as a table). It tells a role that may never take an
//! action (the HTTP layer answers 403) from a state that does not allow it now (409).

mod kinds;
mod refusal;
mod rules;
mod table;

pub use kinds::{Action, ActorRole, OrderStatus, Outcome};
pub use refusal::{action_words, status_words, wrong_state_message};
pub use rules::{Refusal, auto_confirm_due, decide, decide_as_any, replay};
pub use table::allowed_from;
