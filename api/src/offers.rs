//! Offers of orders to providers. The order life cycle brings the offers themselves; what is
//! here already is what other steps must call in their own transaction: a suspended partner
//! or contract has its open offers closed, with a reason.

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::error::ApiError;

/// Closes every open offer to a partner. No offers exist yet, so nothing to close.
pub async fn close_for_partner(
    _db: &impl ConnectionTrait,
    _partner_id: Uuid,
    _reason: &str,
    _at: DateTime<Utc>,
) -> Result<u64, ApiError> {
    Ok(0)
}

/// Closes every open offer made under a contract. No offers exist yet, so nothing to close.
pub async fn close_for_contract(
    _db: &impl ConnectionTrait,
    _contract_id: Uuid,
    _reason: &str,
    _at: DateTime<Utc>,
) -> Result<u64, ApiError> {
    Ok(0)
}

/// Closes every open offer to a volunteer. No offers exist yet, so nothing to close.
pub async fn close_for_volunteer(
    _db: &impl ConnectionTrait,
    _volunteer_id: Uuid,
    _reason: &str,
    _at: DateTime<Utc>,
) -> Result<u64, ApiError> {
    Ok(0)
}
