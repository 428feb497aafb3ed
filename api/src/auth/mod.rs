//! Who is calling. An access token names a user and a session; the session and the user
//! are read on every request, so a logout, a deactivation or a role change takes effect
//! at once on every instance. Role guards are typed extractors, so a handler's signature
//! says who may call it.

pub mod keys;
pub mod password;
pub mod routes;
pub mod session;
pub mod throttle;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use sea_orm::EntityTrait;
use shenbian_domain::{Role, RoleSet};
use uuid::Uuid;

use crate::entity::{session as sessions, user};
use crate::error::ApiError;
use crate::state::AppState;

/// A signed-in caller, as of this request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub roles: RoleSet,
    /// The community a dispatcher works for.
    pub community_id: Option<Uuid>,
}

impl Principal {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(role)
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(principal) = parts.extensions.get::<Principal>() {
            return Ok(principal.clone());
        }
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .ok_or(ApiError::Unauthorized)?;
        let db = state.db()?;
        let claims = state.keys()?.verify_access(token.trim()).ok_or(ApiError::Unauthorized)?;
        let (session, user) =
            match sessions::Entity::find_by_id(claims.sid).find_also_related(user::Entity).one(db).await? {
                Some((session, Some(user))) => (session, user),
                _ => return Err(ApiError::Unauthorized),
            };
        let live = session.user_id == claims.sub
            && session.revoked_at.is_none()
            && session.expires_at > state.now()
            && user.status == user::UserStatus::Active;
        if !live {
            return Err(ApiError::Unauthorized);
        }
        let principal = Principal {
            user_id: user.id,
            session_id: session.id,
            roles: RoleSet::from_stored(&user.roles),
            community_id: user.community_id,
        };
        tracing::Span::current().record("user_id", tracing::field::display(principal.user_id));
        parts.extensions.insert(principal.clone());
        Ok(principal)
    }
}

/// A caller with the admin role (district staff).
pub struct Admin(pub Principal);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let principal = Principal::from_request_parts(parts, state).await?;
        if principal.has(Role::Admin) { Ok(Self(principal)) } else { Err(ApiError::Forbidden) }
    }
}

/// A caller with the dispatcher role, with the community they work for.
pub struct Dispatcher {
    pub principal: Principal,
    pub community_id: Uuid,
}

impl FromRequestParts<AppState> for Dispatcher {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let principal = Principal::from_request_parts(parts, state).await?;
        match (principal.has(Role::Dispatcher), principal.community_id) {
            (true, Some(community_id)) => Ok(Self { principal, community_id }),
            _ => Err(ApiError::Forbidden),
        }
    }
}
