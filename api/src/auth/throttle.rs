//! Throttling of password and code attempts (sign-in, claim, password change, account
//! closure), under three keys:
//!
//! - the account from one client address: 429 past `login_max_failures_per_account_and_address`;
//! - the client address, on any accounts: 429 past `login_max_failures_per_address`;
//! - the account from all addresses: never 429, only slowed down. Past
//!   `login_slow_down_after_failures` every attempt waits before it is evaluated, the wait
//!   doubling with each failure up to a cap. Strangers elsewhere can slow the owner down by
//!   seconds, never lock her out.
//!
//! An attempt is reserved before it is evaluated: one write transaction counts the keys'
//! recent attempts and inserts the reservation, so that a burst sent at once is counted one
//! by one and at most the limit is ever evaluated. SQLite's write transactions take turns;
//! on PostgreSQL the transaction holds advisory locks on the keys, taken in a fixed order.
//! A failure leaves the reservation as the recorded failure; a success removes it and the
//! account-and-address count. The account-wide count is left to age out of the window, so
//! that an owner signing in does not reset the slow-down for whoever guesses elsewhere.
//!
//! The counts live in the database under keyed hashes, so every instance sees the same ones
//! and no phone or address is stored.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration as StdDuration;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, Statement,
};
use uuid::Uuid;

use crate::config::Settings;
use crate::db::begin_write;
use crate::entity::{auth_failure, user};
use crate::error::ApiError;
use crate::metrics::{Metrics, Throttle};
use crate::state::AppState;

/// The keys one attempt is counted under.
pub struct Attempt {
    account: String,
    account_and_address: String,
    address: String,
    metrics: Metrics,
}

/// An attempt reserved (and so far counted as a failure), with the wait it owes first.
#[must_use = "wait, then evaluate the attempt"]
pub struct Reservation {
    ids: Vec<Uuid>,
    wait: StdDuration,
}

impl Reservation {
    /// The server-side slow-down, before the password or code is evaluated.
    pub async fn wait(&self) {
        if !self.wait.is_zero() {
            tokio::time::sleep(self.wait).await;
        }
    }
}

/// The keyed hash an account's attempts are counted under (`account` is the phone as
/// typed at sign-in, or the account's phone for a signed-in caller).
pub fn account_key(state: &AppState, account: &str) -> Result<String, ApiError> {
    Ok(state.keys()?.keyed_hash("throttle:account", account))
}

impl Attempt {
    pub fn new(state: &AppState, account: &str, address: &ClientAddr) -> Result<Self, ApiError> {
        let keys = state.keys()?;
        let address = address.0.to_string();
        Ok(Self {
            account: keys.keyed_hash("throttle:account", account),
            account_and_address: keys.keyed_hash("throttle:account+address", &format!("{account}\0{address}")),
            address: keys.keyed_hash("throttle:address", &address),
            metrics: state.metrics.clone(),
        })
    }

    /// A signed-in caller's attempt (password change, closure): counted under the same
    /// account key as sign-in (the phone), so that guesses through a stolen token and
    /// through sign-in share one limit.
    pub fn of_account(state: &AppState, account: &user::Model, address: &ClientAddr) -> Result<Self, ApiError> {
        let id = account.id.to_string();
        Self::new(state, account.phone.as_deref().unwrap_or(&id), address)
    }

    /// Counts this attempt before it is evaluated: 429 when the account from this address,
    /// or this address, has reached its limit within the window; otherwise the attempt is
    /// recorded under every key, and the slow-down it owes is returned. A refusal logs at
    /// WARN and a slow-down at INFO, naming the limit (never the phone or the address).
    pub async fn reserve(
        &self,
        db: &DatabaseConnection,
        settings: &Settings,
        now: DateTime<Utc>,
    ) -> Result<Reservation, ApiError> {
        let window = Duration::seconds(settings.login_failure_window_secs as i64);
        let since = now - window;
        let keys = [&self.account, &self.account_and_address, &self.address];
        let tx = begin_write(db).await?;
        if tx.get_database_backend() == DatabaseBackend::Postgres {
            let mut locks: Vec<i64> = keys.iter().map(|k| lock_id(k)).collect();
            locks.sort_unstable();
            for lock in locks {
                let sql = Statement::from_sql_and_values(
                    DatabaseBackend::Postgres,
                    "SELECT pg_advisory_xact_lock($1)",
                    [lock.into()],
                );
                tx.execute_raw(sql).await?;
            }
        }
        auth_failure::Entity::delete_many()
            .filter(auth_failure::Column::KeyHash.is_in(keys))
            .filter(auth_failure::Column::At.lte(since))
            .exec(&tx)
            .await?;
        let limited = [
            (
                &self.account_and_address,
                settings.login_max_failures_per_account_and_address,
                Throttle::AccountAndAddress,
            ),
            (&self.address, settings.login_max_failures_per_address, Throttle::Address),
        ];
        for (key, limit, throttle) in limited {
            let recent = auth_failure::Entity::find()
                .filter(auth_failure::Column::KeyHash.eq(key))
                .filter(auth_failure::Column::At.gt(since));
            if recent.clone().count(&tx).await? >= u64::from(limit) {
                let oldest = recent.order_by_asc(auth_failure::Column::At).one(&tx).await?;
                let free_at = oldest.map_or(now + window, |f| f.at + window);
                let retry_after_secs = (free_at - now).num_seconds().max(1) as u64;
                self.metrics.throttled(throttle);
                tracing::warn!(
                    limit = throttle.as_str(),
                    retry_after_secs,
                    "sign-in attempts throttled: too many failures"
                );
                return Err(ApiError::RateLimited { retry_after_secs });
            }
        }
        let on_account = auth_failure::Entity::find()
            .filter(auth_failure::Column::KeyHash.eq(&self.account))
            .filter(auth_failure::Column::At.gt(since))
            .count(&tx)
            .await?;
        let rows: Vec<_> = keys
            .iter()
            .map(|key| auth_failure::ActiveModel {
                id: Set(Uuid::now_v7()),
                key_hash: Set((*key).clone()),
                at: Set(now),
            })
            .collect();
        let ids = rows.iter().map(|r| *r.id.as_ref()).collect();
        auth_failure::Entity::insert_many(rows).exec(&tx).await?;
        tx.commit().await?;
        let wait = slow_down(settings, on_account);
        if !wait.is_zero() {
            self.metrics.throttled(Throttle::SlowDown);
            let wait_ms = wait.as_millis() as u64;
            tracing::info!(wait_ms, failures = on_account, "sign-in attempt slowed down: many failures on the account");
        }
        Ok(Reservation { ids, wait })
    }

    /// The attempt succeeded: it is no failure, and the account from this address starts
    /// afresh. In the caller's transaction, with the success's own writes.
    pub async fn succeeded(&self, db: &impl ConnectionTrait, reservation: Reservation) -> Result<(), ApiError> {
        auth_failure::Entity::delete_many().filter(auth_failure::Column::Id.is_in(reservation.ids)).exec(db).await?;
        auth_failure::Entity::delete_many()
            .filter(auth_failure::Column::KeyHash.eq(&self.account_and_address))
            .exec(db)
            .await?;
        Ok(())
    }
}

/// The wait owed by an attempt on an account that already has `failures` recent attempts.
fn slow_down(settings: &Settings, failures: u64) -> StdDuration {
    let Some(past) = failures.checked_sub(u64::from(settings.login_slow_down_after_failures)) else {
        return StdDuration::ZERO;
    };
    let factor = 1u64.checked_shl(past.min(63) as u32).unwrap_or(u64::MAX);
    let ms = settings.login_slow_down_base_ms.saturating_mul(factor).min(settings.login_slow_down_cap_ms);
    StdDuration::from_millis(ms)
}

/// A PostgreSQL advisory lock id for a key: the first 64 bits of its (hex) keyed hash.
fn lock_id(key: &str) -> i64 {
    let prefix = key.get(..16).unwrap_or(key);
    u64::from_str_radix(prefix, 16).unwrap_or(0) as i64
}

/// The client's address: the socket's peer or, when the service sits behind proxies
/// (`trust_forwarded_for`), the right-most `X-Forwarded-For` entry that is not one of the
/// `trusted_proxies`. Entries to the left of it were written by the client and prove
/// nothing; an entry that is no address falls back to the peer.
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        let peer = peer.unwrap_or(IpAddr::from([0, 0, 0, 0]));
        if !state.settings.trust_forwarded_for {
            return Ok(Self(peer));
        }
        let forwarded = parts.headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
        let hops: Vec<&str> = forwarded.flat_map(|v| v.split(',')).map(str::trim).collect();
        Ok(Self(client_from_hops(&hops, &state.settings.trusted_proxies).unwrap_or(peer)))
    }
}

/// The right-most hop that is not a trusted proxy (the left-most if all are).
fn client_from_hops(hops: &[&str], trusted: &[crate::config::IpNet]) -> Option<IpAddr> {
    let mut client = None;
    for hop in hops.iter().rev() {
        let ip = hop.parse::<IpAddr>().ok()?.to_canonical();
        client = Some(ip);
        if !trusted.iter().any(|net| net.contains(ip)) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::IpNet;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| IpNet::try_from((*n).to_owned()).unwrap()).collect()
    }

    #[test]
    fn the_client_is_the_right_most_untrusted_hop() {
        let trusted = nets(&["10.0.0.0/8"]);
        let hops = ["1.1.1.1", "203.0.113.7", "10.0.0.2", "10.0.0.3"];
        assert_eq!(client_from_hops(&hops, &trusted), Some("203.0.113.7".parse().unwrap()));
        assert_eq!(client_from_hops(&hops, &[]), Some("10.0.0.3".parse().unwrap()));
        assert_eq!(client_from_hops(&["10.0.0.2"], &trusted), Some("10.0.0.2".parse().unwrap()));
        assert_eq!(client_from_hops(&["junk", "10.0.0.2"], &trusted), None);
        assert_eq!(client_from_hops(&[], &trusted), None);
    }

    #[test]
    fn the_slow_down_doubles_up_to_its_cap() {
        let settings = Settings {
            login_slow_down_after_failures: 3,
            login_slow_down_base_ms: 100,
            login_slow_down_cap_ms: 1_000,
            ..Settings::default()
        };
        let waits: Vec<u128> = (0..9).map(|f| slow_down(&settings, f).as_millis()).collect();
        assert_eq!(waits, [0, 0, 0, 100, 200, 400, 800, 1_000, 1_000]);
        assert_eq!(slow_down(&settings, u64::MAX).as_millis(), 1_000);
    }
}
