//! Sessions and their tokens: starting one at sign-in, rotating its refresh token, ending
//! one or all of a user's.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::crypto::keys::new_refresh_token;
use crate::entity::{refresh_token, session};
use crate::error::ApiError;
use crate::state::AppState;

/// The token pair a sign-in, a claim or a refresh answers with.
#[derive(Debug, Serialize, ToSchema)]
pub struct Tokens {
    /// JWT (HS256) for `Authorization: Bearer`, valid `expires_in` seconds.
    pub access_token: String,
    /// Opaque; exchange once at `/auth/refresh` for a new pair.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    pub expires_in: i64,
}

/// Starts a session for a user: a new refresh-token family.
pub async fn start(
    db: &impl ConnectionTrait,
    state: &AppState,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Tokens, ApiError> {
    let session_id = Uuid::now_v7();
    let expires_at = now + Duration::days(state.settings.refresh_token_ttl_days as i64);
    session::Entity::insert(session::ActiveModel {
        id: Set(session_id),
        user_id: Set(user_id),
        created_at: Set(now),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
        revoked_reason: Set(None),
    })
    .exec(db)
    .await?;
    issue(db, state, user_id, session_id, now).await
}

/// Issues a new pair within an existing session.
pub async fn issue(
    db: &impl ConnectionTrait,
    state: &AppState,
    user_id: Uuid,
    session_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Tokens, ApiError> {
    let keys = state.keys()?;
    let refresh = new_refresh_token();
    refresh_token::Entity::insert(refresh_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        session_id: Set(session_id),
        token_hash: Set(keys.keyed_hash("refresh", &refresh)),
        created_at: Set(now),
        used_at: Set(None),
    })
    .exec(db)
    .await?;
    Ok(Tokens {
        access_token: keys.access_token(user_id, session_id, now),
        refresh_token: refresh,
        token_type: "Bearer",
        expires_in: keys.access_ttl_secs(),
    })
}

/// Which of a user's sessions to end.
pub enum Sessions {
    One(Uuid),
    AllOf(Uuid),
    AllOfExcept(Uuid, Uuid),
}

/// Ends sessions: their access tokens stop working at once, their refresh tokens too.
pub async fn revoke(
    db: &impl ConnectionTrait,
    which: Sessions,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<u64, ApiError> {
    let update = session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(now))
        .col_expr(session::Column::RevokedReason, Expr::value(reason))
        .filter(session::Column::RevokedAt.is_null());
    let update = match which {
        Sessions::One(id) => update.filter(session::Column::Id.eq(id)),
        Sessions::AllOf(user) => update.filter(session::Column::UserId.eq(user)),
        Sessions::AllOfExcept(user, keep) => {
            update.filter(session::Column::UserId.eq(user)).filter(session::Column::Id.ne(keep))
        }
    };
    Ok(update.exec(db).await?.rows_affected)
}
