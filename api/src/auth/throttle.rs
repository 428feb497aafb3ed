//! Throttling of failed sign-ins, per account and per client address. Only failures are
//! counted; a correct password clears the account's count. Past the limit, attempts answer
//! 429 with `Retry-After` until the oldest failure leaves the window. The counts live in
//! the database under keyed hashes, so every instance sees the same ones and no phone or
//! address is stored.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::entity::auth_failure;
use crate::error::ApiError;
use crate::state::AppState;

/// A throttling key with its limit.
pub struct Key {
    hash: String,
    limit: u32,
}

/// The keys one sign-in attempt is counted under.
pub struct Attempt {
    pub account: Key,
    pub address: Key,
}

impl Attempt {
    pub fn new(state: &AppState, account: &str, address: &ClientAddr) -> Result<Self, ApiError> {
        let keys = state.keys()?;
        Ok(Self {
            account: Key {
                hash: keys.keyed_hash("throttle:account", account),
                limit: state.settings.login_max_failures_per_account,
            },
            address: Key {
                hash: keys.keyed_hash("throttle:address", &address.0.to_string()),
                limit: state.settings.login_max_failures_per_address,
            },
        })
    }

    /// 429 when either key has reached its limit within the window.
    pub async fn check(&self, db: &impl ConnectionTrait, now: DateTime<Utc>, window: Duration) -> Result<(), ApiError> {
        for key in [&self.account, &self.address] {
            let since = now - window;
            let recent = auth_failure::Entity::find()
                .filter(auth_failure::Column::KeyHash.eq(&key.hash))
                .filter(auth_failure::Column::At.gt(since));
            if recent.clone().count(db).await? >= u64::from(key.limit) {
                let oldest = recent.order_by_asc(auth_failure::Column::At).one(db).await?;
                let free_at = oldest.map_or(now + window, |f| f.at + window);
                let retry_after_secs = (free_at - now).num_seconds().max(1) as u64;
                return Err(ApiError::RateLimited { retry_after_secs });
            }
        }
        Ok(())
    }

    /// Counts a failure under both keys and forgets failures older than the window.
    pub async fn record_failure(
        &self,
        db: &impl ConnectionTrait,
        now: DateTime<Utc>,
        window: Duration,
    ) -> Result<(), ApiError> {
        auth_failure::Entity::delete_many()
            .filter(auth_failure::Column::KeyHash.is_in([&self.account.hash, &self.address.hash]))
            .filter(auth_failure::Column::At.lte(now - window))
            .exec(db)
            .await?;
        let rows = [&self.account, &self.address].map(|key| auth_failure::ActiveModel {
            id: Set(Uuid::now_v7()),
            key_hash: Set(key.hash.clone()),
            at: Set(now),
        });
        auth_failure::Entity::insert_many(rows).exec(db).await?;
        Ok(())
    }

    /// A success clears the account's failures (not the address's: one address may be
    /// guessing at many accounts).
    pub async fn clear_account(&self, db: &impl ConnectionTrait) -> Result<(), ApiError> {
        auth_failure::Entity::delete_many()
            .filter(auth_failure::Column::KeyHash.eq(&self.account.hash))
            .exec(db)
            .await?;
        Ok(())
    }
}

/// The client's address: the socket's peer, or the first `X-Forwarded-For` hop when the
/// service is configured to sit behind a trusted proxy.
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if state.settings.trust_forwarded_for
            && let Some(ip) = parts
                .headers
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .and_then(|v| v.trim().parse::<IpAddr>().ok())
        {
            return Ok(Self(ip));
        }
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        Ok(Self(peer.unwrap_or(IpAddr::from([0, 0, 0, 0]))))
    }
}
