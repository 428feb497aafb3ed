//! Contracts (契约): staff record them, the partner admin signs, staff activate, suspend and
//! terminate. Two active contracts of one partner may not overlap in community, category and
//! dates.
//!
//! [`Covered`], what a contract covers, is read by dispatch's eligibility too: it depends on
//! none of the routes, and it is all this module's face names, so that reading coverage never
//! reaches the life cycle, which closes offers.

mod coverage;
mod lifecycle;
mod records;
pub mod routes;
pub mod standing;
pub mod view;

pub use coverage::Covered;
