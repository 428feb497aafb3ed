//! Who is calling. An access token names a user and a session; the session and the user
//! are read on every request (by themselves, or in the statement a handler reads with
//! anyway: [`Bearer`]), so a logout, a deactivation or a role change takes effect at once
//! on every instance. Role guards are typed extractors, so a handler's signature says who
//! may call it.

pub mod routes;
pub mod session;
pub mod throttle;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, JoinType, Query as SqlQuery, SelectStatement};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult, IdenStatic, QueryResult};
use shenbian_domain::standing::{ProviderKind, ProviderRef, sort_providers};
use shenbian_domain::{Role, RoleSet};
use uuid::Uuid;

use crate::crypto::keys::Claims;
use crate::entity::{partner_member, session as sessions, user, volunteer};
use crate::error::ApiError;
use crate::state::AppState;
use crate::statement::{Template, Templates, backend_index};

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
        let principal = Bearer::from_request_parts(parts, state).await?.authenticate(state).await?;
        parts.extensions.insert(principal.clone());
        Ok(principal)
    }
}

/// An access token whose signature and expiry were checked, its session not yet. A handler
/// that takes one instead of a [`Principal`] reads the caller's session in the statement
/// it reads with anyway ([`join_session`]) and gets its [`Principal`] from
/// [`Bearer::principal`]: one round trip to the database fewer. Until then it knows only
/// which user and session the token names, and must act on nothing.
#[derive(Debug)]
pub struct Bearer {
    claims: Claims,
}

impl FromRequestParts<AppState> for Bearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .ok_or(ApiError::Unauthorized)?;
        // Not yet ready (the database still connecting) answers 503 before any 401.
        state.db()?;
        let claims = state.keys()?.verify_access(token.trim()).ok_or(ApiError::Unauthorized)?;
        Ok(Self { claims })
    }
}

impl Bearer {
    /// The user the token names.
    pub fn user_id(&self) -> Uuid {
        self.claims.sub
    }

    /// The session the token belongs to.
    pub fn session_id(&self) -> Uuid {
        self.claims.sid
    }

    /// The caller, from their session as a statement read it ([`CallerSession::read`]):
    /// 401 unless the session is the token's, open and unexpired, and its user active.
    pub fn principal(&self, state: &AppState, session: Option<CallerSession>) -> Result<Principal, ApiError> {
        let s = session.ok_or(ApiError::Unauthorized)?;
        let live = s.user_id == Some(self.claims.sub)
            && s.revoked_at.is_none()
            && s.expires_at.is_some_and(|at| at > state.now())
            && s.status == Some(user::UserStatus::Active);
        if !live {
            return Err(ApiError::Unauthorized);
        }
        Ok(self.checked(s.roles.as_deref(), s.community_id))
    }

    /// The caller, once a statement found their session live ([`Bearer::principal`]), with
    /// their user's stored roles and community as the statement read them.
    fn checked(&self, roles: Option<&str>, community_id: Option<Uuid>) -> Principal {
        let principal = Principal {
            user_id: self.claims.sub,
            session_id: self.claims.sid,
            roles: RoleSet::from_stored(roles.unwrap_or_default()),
            community_id,
        };
        tracing::Span::current().record("user_id", tracing::field::display(principal.user_id));
        principal
    }

    /// The caller, read in a statement of its own.
    pub async fn authenticate(&self, state: &AppState) -> Result<Principal, ApiError> {
        Ok(self.read_caller(state, false).await?.0)
    }

    /// The caller and the providers they act for, read in one statement.
    pub async fn authenticate_acting(&self, state: &AppState) -> Result<Acting, ApiError> {
        let (principal, providers) = self.read_caller(state, true).await?;
        Ok(Acting { principal, providers })
    }

    async fn read_caller(
        &self,
        state: &AppState,
        with_providers: bool,
    ) -> Result<(Principal, Vec<ProviderRef>), ApiError> {
        static TEMPLATES: Templates<6> = Templates::new();
        let db = state.reads()?;
        let backend = db.get_database_backend();
        let template = TEMPLATES.get(backend_index(backend) * 2 + usize::from(with_providers), || {
            Template::new(|[session_id]| backend.build(&caller_query(session_id, with_providers)))
        });
        let rows = db.query_all_raw(template.bind([self.claims.sid])).await?;
        let session = rows.first().map(CallerSession::read).transpose()?.flatten();
        let principal = self.principal(state, session)?;
        let mut providers = Vec::new();
        for row in rows.iter().filter(|_| with_providers) {
            let acting = Providers::from_query_result(row, "")?;
            providers.extend(acting.partner.map(|id| ProviderRef { kind: ProviderKind::Partner, id }));
            providers.extend(acting.volunteer.map(|id| ProviderRef { kind: ProviderKind::Volunteer, id }));
        }
        sort_providers(&mut providers);
        Ok((principal, providers))
    }
}

/// A signed-in caller with the providers they act for — the partners they belong to and
/// their volunteer record, whatever its state — read with their session in one statement:
/// for the handlers that scope what they show by provider (lists, jobs, the feed).
#[derive(Debug, Clone)]
pub struct Acting {
    pub principal: Principal,
    /// Partners first ([`sort_providers`]).
    pub providers: Vec<ProviderRef>,
}

impl FromRequestParts<AppState> for Acting {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let acting = Bearer::from_request_parts(parts, state).await?.authenticate_acting(state).await?;
        parts.extensions.insert(acting.principal.clone());
        Ok(acting)
    }
}

/// A row's provider columns in [`caller_query`]'s statement with providers.
#[derive(FromQueryResult)]
struct Providers {
    #[sea_orm(from_alias = "acting_partner")]
    partner: Option<Uuid>,
    #[sea_orm(from_alias = "acting_volunteer")]
    volunteer: Option<Uuid>,
}

/// The caller's session and user ([`join_session`]) and, with providers, their partner
/// memberships and volunteer record, left-joined by key (a row per membership).
fn caller_query(session_id: Uuid, with_providers: bool) -> SelectStatement {
    let mut query = SqlQuery::select();
    query.from_subquery(SqlQuery::select().expr(Expr::val(1)).to_owned(), Alias::new("one"));
    join_session(&mut query, session_id);
    if with_providers {
        let (member, volunteer) = (Alias::new("acting_member"), Alias::new("acting_volunteer"));
        let user_id = (Alias::new(SESSION), sessions::Column::UserId);
        query
            .join_as(
                JoinType::LeftJoin,
                partner_member::Entity,
                member.clone(),
                Expr::col((member.clone(), partner_member::Column::UserId)).equals(user_id.clone()),
            )
            .join_as(
                JoinType::LeftJoin,
                volunteer::Entity,
                volunteer.clone(),
                Expr::col((volunteer.clone(), volunteer::Column::UserId)).equals(user_id),
            )
            .expr_as(Expr::col((member, partner_member::Column::PartnerId)), "acting_partner")
            .expr_as(Expr::col((volunteer, volunteer::Column::Id)), "acting_volunteer");
    }
    query
}

/// What authenticating a caller needs of their session and user, left-joined into another
/// statement by [`join_session`]: every column is NULL when the session does not exist.
#[derive(Debug, FromQueryResult)]
pub struct CallerSession {
    user_id: Option<Uuid>,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    status: Option<user::UserStatus>,
    roles: Option<String>,
    community_id: Option<Uuid>,
}

/// The prefix of [`CallerSession`]'s columns in a statement that [`join_session`] extended.
const CALLER: &str = "caller_";

/// The alias of the caller's session in a statement that [`join_session`] extended.
const SESSION: &str = "caller_session";

impl CallerSession {
    /// The caller's session from a row of a statement that [`join_session`] extended; `None`
    /// when there is no such session.
    pub fn read(row: &QueryResult) -> Result<Option<Self>, DbErr> {
        let session = Self::from_query_result(row, CALLER)?;
        Ok(session.user_id.is_some().then_some(session))
    }
}

/// Extends a statement with the session `session_id` and its user, left-joined (every row
/// of the statement gets them, or NULLs), as the columns [`CallerSession::read`] reads.
pub fn join_session(query: &mut SelectStatement, session_id: Uuid) {
    let (s, u) = (Alias::new(SESSION), Alias::new("caller_user"));
    query
        .join_as(
            JoinType::LeftJoin,
            sessions::Entity,
            s.clone(),
            Expr::col((s.clone(), sessions::Column::Id)).eq(session_id),
        )
        .join_as(
            JoinType::LeftJoin,
            user::Entity,
            u.clone(),
            Expr::col((u.clone(), user::Column::Id)).equals((s.clone(), sessions::Column::UserId)),
        );
    for (table, column) in [
        (&s, sessions::Column::UserId.as_str()),
        (&s, sessions::Column::ExpiresAt.as_str()),
        (&s, sessions::Column::RevokedAt.as_str()),
        (&u, user::Column::Status.as_str()),
        (&u, user::Column::Roles.as_str()),
        (&u, user::Column::CommunityId.as_str()),
    ] {
        query.expr_as(Expr::col((table.clone(), Alias::new(column))), format!("{CALLER}{column}"));
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

/// A caller with the admin or the dispatcher role. An admin works for the whole district, a
/// dispatcher for their community: `scope`. A dispatcher without a community (which
/// `RoleSet::for_staff` never makes) is refused.
pub struct Staff {
    pub principal: Principal,
    /// The community a dispatcher works for; `None` for an admin.
    pub scope: Option<Uuid>,
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let principal = Principal::from_request_parts(parts, state).await?;
        if principal.has(Role::Admin) {
            return Ok(Self { principal, scope: None });
        }
        match (principal.has(Role::Dispatcher), principal.community_id) {
            (true, Some(community_id)) => Ok(Self { principal, scope: Some(community_id) }),
            _ => Err(ApiError::Forbidden),
        }
    }
}

/// A caller with the resident role.
pub struct Resident(pub Principal);

impl FromRequestParts<AppState> for Resident {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let principal = Principal::from_request_parts(parts, state).await?;
        if principal.has(Role::Resident) { Ok(Self(principal)) } else { Err(ApiError::Forbidden) }
    }
}
