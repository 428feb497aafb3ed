//! Keys and token material: the HS256 key for access tokens, opaque refresh tokens and
//! one-time codes, and the keyed hash that stores them and the throttling keys.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sea_orm::{ActiveValue::Set, DatabaseConnection, DbErr, EntityTrait};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub use super::jwt::Claims;
use crate::config::Settings;
use crate::entity::server_secret;

/// The installation's keys, loaded once the database is reachable.
pub struct Keys {
    jwt_secret: Vec<u8>,
    leeway_secs: i64,
    pepper: Vec<u8>,
    access_ttl_secs: i64,
}

impl Keys {
    /// Takes the configured JWT secret, or the one generated once and kept in the database,
    /// so that every instance on one database signs with the same key.
    pub async fn load(db: &DatabaseConnection, settings: &Settings) -> Result<Self, DbErr> {
        let jwt_secret = match &settings.jwt_secret {
            Some(secret) => secret.expose().as_bytes().to_vec(),
            None => stored_secret(db, "jwt_hs256").await?,
        };
        let pepper = stored_secret(db, "pepper").await?;
        Ok(Self {
            jwt_secret,
            leeway_secs: settings.jwt_leeway_secs as i64,
            pepper,
            access_ttl_secs: settings.access_token_ttl_secs as i64,
        })
    }

    /// Signs an access token for a session.
    pub fn access_token(&self, user_id: Uuid, session_id: Uuid, now: DateTime<Utc>) -> String {
        let claims =
            Claims { sub: user_id, sid: session_id, iat: now.timestamp(), exp: now.timestamp() + self.access_ttl_secs };
        super::jwt::sign(&claims, &self.jwt_secret)
    }

    pub fn access_ttl_secs(&self) -> i64 {
        self.access_ttl_secs
    }

    /// Verifies signature, algorithm and expiry (with the configured leeway).
    pub fn verify_access(&self, token: &str) -> Option<Claims> {
        super::jwt::verify(token, &self.jwt_secret, Utc::now().timestamp(), self.leeway_secs)
    }

    /// A keyed hash: refresh tokens, one-time codes and throttling keys are stored only so.
    pub fn keyed_hash(&self, purpose: &str, value: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.pepper).expect("HMAC takes any key length");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// A new opaque refresh token: 256 random bits.
pub fn new_refresh_token() -> String {
    format!("rt_{}", URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>()))
}

/// A new one-time code: eight digits, easy to read out over the phone. Guessing is
/// bounded by sign-in throttling and the code's expiry.
pub fn new_one_time_code() -> String {
    format!("{:08}", rand::random_range(0..100_000_000u32))
}

/// Reads a named secret, creating it first if this is the first instance to need it.
/// Insert-if-absent then read, so racing instances agree on one value.
async fn stored_secret(db: &DatabaseConnection, name: &str) -> Result<Vec<u8>, DbErr> {
    let fresh = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 64]>());
    server_secret::Entity::insert(server_secret::ActiveModel {
        name: Set(name.to_owned()),
        value: Set(fresh),
        created_at: Set(Utc::now()),
    })
    .on_conflict_do_nothing()
    .exec(db)
    .await?;
    let row = server_secret::Entity::find_by_id(name.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("server secret {name}")))?;
    Ok(Sha256::digest(row.value.as_bytes()).to_vec())
}
