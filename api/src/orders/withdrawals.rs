//! What other steps do to offers in their own transaction: a suspended partner, volunteer or
//! contract has its open offers closed, with a reason, and orders left with no open offer go
//! back to pending ([`super::pipeline::close_offers_where`]).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::pipeline::close_offers_where;
use super::store::offers::Whose;
use crate::error::ApiError;
use sea_orm::ConnectionTrait;

/// Closes every open offer to a partner.
pub async fn close_for_partner(
    db: &impl ConnectionTrait,
    partner_id: Uuid,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<u64, ApiError> {
    close_offers_where(db, Whose::Provider(partner_id), reason, at).await
}

/// Closes every open offer made under a contract.
pub async fn close_for_contract(
    db: &impl ConnectionTrait,
    contract_id: Uuid,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<u64, ApiError> {
    close_offers_where(db, Whose::Contract(contract_id), reason, at).await
}

/// Closes every open offer to a volunteer.
pub async fn close_for_volunteer(
    db: &impl ConnectionTrait,
    volunteer_id: Uuid,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<u64, ApiError> {
    close_offers_where(db, Whose::Provider(volunteer_id), reason, at).await
}
