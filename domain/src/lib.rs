//! Shenbian's rules, with no I/O.
//!
//! Everything here is pure: values that can only be built valid (parse, don't validate),
//! the rules that decide who may do what, and the arithmetic the services need. The crate
//! depends on no web, database or async crate, so every rule is unit- and property-tested
//! without a server.

pub mod category;
pub mod contract;
pub mod credit_code;
pub mod eligibility;
pub mod figures;
pub mod invisible;
pub mod invitation;
pub mod message;
pub mod name;
pub mod notification;
pub mod order;
pub mod partner;
pub mod password;
pub mod phone;
pub mod ranking;
pub mod rating;
pub mod role;
pub mod standing;
pub mod step;
pub mod text;
pub mod transition;
pub mod webhook;

pub use name::DisplayName;
pub use password::Password;
pub use phone::Phone;
pub use role::{Role, RoleSet};
