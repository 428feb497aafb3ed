//! The order store: every query on orders, their offers, their events and the capacity their
//! jobs take, the caller's standing included. It answers plain rows and its own error
//! ([`StoreError`]); what a step may do is decided by the domain
//! (`shenbian_domain::step::plan`) before the store applies it ([`write::apply`]).

pub mod capacity;
pub mod events;
pub mod intake;
pub mod list;
pub mod load;
pub mod names;
pub mod notes;
pub mod offers;
pub mod pool;
pub mod write;

use sea_orm::DbErr;

/// Why the store did not do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such order.
    #[error("no such order")]
    Missing,
    /// The order (or the offer a step closes) changed since it was read: someone else moved
    /// it first, and this step changed nothing.
    #[error("the order changed meanwhile")]
    LostRace,
    /// The provider's open jobs are at their limit.
    #[error("capacity full")]
    CapacityFull,
    /// The contract's monthly quota is used up.
    #[error("quota exhausted")]
    QuotaExhausted,
    /// The order has a rating already.
    #[error("already rated")]
    AlreadyRated,
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// A store answer.
pub type Stored<T> = Result<T, StoreError>;
