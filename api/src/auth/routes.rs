//! `/auth/*`: register, sign in, refresh, sign out, and redeem a one-time code.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;
use shenbian_domain::{DisplayName, Password, Phone, Role, RoleSet};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::Principal;
use super::session::{self, Sessions, Tokens};
use super::throttle::{Attempt, ClientAddr};
use crate::db::begin_write;
use crate::entity::{community, one_time_code, refresh_token, session as sessions, user};
use crate::error::{ApiError, t, violates_unique};
use crate::extract::{Fields, JsonBody};
use crate::metrics::SignInFailure;
use crate::state::AppState;
use crate::views::{SignedIn, UserView};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(claim))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// Mainland mobile number; the login name.
    #[schema(example = "13812345678")]
    phone: String,
    /// 8–128 characters, not a commonly used password.
    #[schema(min_length = 8, max_length = 128)]
    password: String,
    #[schema(min_length = 1, max_length = 50)]
    display_name: String,
    /// The community the resident lives in, if known.
    home_community_id: Option<Uuid>,
}

/// Register as a resident; signs in at once.
#[utoipa::path(post, path = "/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 201, description = "registered and signed in", body = SignedIn)))]
#[tracing::instrument(skip_all)]
async fn register(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RegisterRequest>,
) -> Result<(StatusCode, Json<SignedIn>), ApiError> {
    let mut fields = Fields::default();
    let phone = fields.check("phone", Phone::parse(&body.phone));
    let password = fields.check("password", Password::parse(&body.password));
    let name = fields.check("display_name", DisplayName::parse(&body.display_name));
    let (Some(phone), Some(password), Some(name)) = (phone, password, name) else {
        return Err(fields.into_error());
    };
    let db = state.db()?;
    if let Some(community_id) = body.home_community_id
        && community::Entity::find_by_id(community_id).one(db).await?.is_none()
    {
        return Err(ApiError::validation("home_community_id", t("没有这个社区", "no such community")));
    }
    let hash = state.hasher.hash(password.expose().to_owned()).await?;
    let now = state.now();
    let tx = begin_write(db).await?;
    let new_user = user::ActiveModel {
        id: Set(Uuid::now_v7()),
        phone: Set(Some(phone.as_str().to_owned())),
        display_name: Set(name.as_str().to_owned()),
        password_hash: Set(Some(hash)),
        roles: Set(RoleSet::of([Role::Resident]).to_stored()),
        status: Set(user::UserStatus::Active),
        community_id: Set(None),
        home_community_id: Set(body.home_community_id),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let created = user::Entity::insert(new_user).exec_with_returning(&tx).await.map_err(|e| {
        if violates_unique(&e, "uq_user_phone", "users.phone") {
            ApiError::conflict(
                "phone_taken",
                t(
                    "该手机号已有账号；请直接登录，或使用收到的验证码激活",
                    "an account with this phone exists; sign in, or redeem the code you were given",
                ),
            )
        } else {
            e.into()
        }
    })?;
    let tokens = session::start(&tx, &state, created.id, now).await?;
    tx.commit().await?;
    tracing::info!(user_id = %created.id, "resident registered");
    Ok((StatusCode::CREATED, Json(SignedIn { tokens, user: created.into() })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(example = "13812345678")]
    phone: String,
    password: String,
}

/// Sign in with phone and password. A wrong password and an unknown phone get the same
/// answer in the same time. Attempts are throttled per account and address and per address
/// (429), and slowed down per account.
#[utoipa::path(post, path = "/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, description = "signed in", body = SignedIn)))]
#[tracing::instrument(skip_all)]
async fn login(
    State(state): State<AppState>,
    addr: ClientAddr,
    JsonBody(body): JsonBody<LoginRequest>,
) -> Result<Json<SignedIn>, ApiError> {
    let db = state.db()?;
    let phone = Phone::parse(&body.phone).ok();
    let account_key = phone.as_ref().map_or(body.phone.trim(), Phone::as_str);
    let attempt = Attempt::new(&state, account_key, &addr)?;
    let reservation = attempt.reserve(db, &state.settings, state.now()).await?;
    reservation.wait().await;

    let found = match &phone {
        Some(phone) => user::Entity::find().filter(user::Column::Phone.eq(phone.as_str())).one(db).await?,
        None => None,
    };
    let account = found.filter(|u| u.status == user::UserStatus::Active);
    let stored = account.as_ref().and_then(|u| u.password_hash.clone());
    if !state.hasher.verify(body.password, stored).await? {
        state.metrics.sign_in_failed(SignInFailure::Password);
        tracing::info!("sign-in refused: wrong phone or password");
        return Err(ApiError::InvalidCredentials);
    }
    let account = account.ok_or(ApiError::InvalidCredentials)?;
    let now = state.now();
    let tx = begin_write(db).await?;
    attempt.succeeded(&tx, reservation).await?;
    let tokens = session::start(&tx, &state, account.id, now).await?;
    tx.commit().await?;
    tracing::info!(user_id = %account.id, "signed in");
    Ok(Json(SignedIn { tokens, user: account.into() }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    refresh_token: String,
}

/// Exchange a refresh token for a new pair. Each refresh token works once: presenting a
/// spent one again (a replay, or a racing second refresh) ends its whole session.
#[utoipa::path(post, path = "/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, description = "a new token pair", body = Tokens)))]
#[tracing::instrument(skip_all)]
async fn refresh(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<RefreshRequest>,
) -> Result<Json<Tokens>, ApiError> {
    let db = state.db()?;
    let hash = state.keys()?.keyed_hash("refresh", &body.refresh_token);
    let now = state.now();
    let tx = begin_write(db).await?;
    // The compare-and-set: exactly one presentation of a token can spend it.
    let spent = refresh_token::Entity::update_many()
        .col_expr(refresh_token::Column::UsedAt, Expr::value(now))
        .filter(refresh_token::Column::TokenHash.eq(&hash))
        .filter(refresh_token::Column::UsedAt.is_null())
        .exec(&tx)
        .await?
        .rows_affected;
    let Some(token) = refresh_token::Entity::find().filter(refresh_token::Column::TokenHash.eq(&hash)).one(&tx).await?
    else {
        return Err(ApiError::Unauthorized);
    };
    if spent == 0 {
        let ended = session::revoke(&tx, Sessions::One(token.session_id), "refresh_token_reuse", now).await?;
        tx.commit().await?;
        if ended > 0 {
            tracing::warn!(session_id = %token.session_id, "refresh token reused; session revoked");
        }
        return Err(ApiError::Unauthorized);
    }
    let live = sessions::Entity::find_by_id(token.session_id).find_also_related(user::Entity).one(&tx).await?.filter(
        |(s, u)| {
            s.revoked_at.is_none()
                && s.expires_at > now
                && u.as_ref().is_some_and(|u| u.status == user::UserStatus::Active)
        },
    );
    let Some((live, _)) = live else {
        tx.commit().await?;
        return Err(ApiError::Unauthorized);
    };
    let tokens = session::issue(&tx, &state, live.user_id, live.id, now).await?;
    tx.commit().await?;
    Ok(Json(tokens))
}

/// Sign out: ends this session; its access and refresh tokens stop working at once.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "signed out")))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn logout(State(state): State<AppState>, principal: Principal) -> Result<StatusCode, ApiError> {
    let db = state.db()?;
    let tx = begin_write(db).await?;
    session::revoke(&tx, Sessions::One(principal.session_id), "logout", state.now()).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimRequest {
    #[schema(example = "13812345678")]
    phone: String,
    /// The one-time code from a dispatcher (claim) or an admin (reset).
    code: String,
    #[schema(min_length = 8, max_length = 128)]
    password: String,
}

/// Redeem a one-time code: set a password, end every other session, void the account's
/// other unused codes, and sign in. Throttled like sign-in.
#[utoipa::path(post, path = "/auth/claim", tag = "auth", request_body = ClaimRequest,
    responses((status = 200, description = "password set and signed in", body = SignedIn)))]
#[tracing::instrument(skip_all)]
async fn claim(
    State(state): State<AppState>,
    addr: ClientAddr,
    JsonBody(body): JsonBody<ClaimRequest>,
) -> Result<Json<SignedIn>, ApiError> {
    let password = Password::parse(&body.password).map_err(|e| ApiError::validation("password", e))?;
    let db = state.db()?;
    let phone = Phone::parse(&body.phone).ok();
    let account_key = phone.as_ref().map_or(body.phone.trim(), Phone::as_str);
    let attempt = Attempt::new(&state, account_key, &addr)?;
    let reservation = attempt.reserve(db, &state.settings, state.now()).await?;
    reservation.wait().await;
    let now = state.now();

    let account = match &phone {
        Some(phone) => user::Entity::find().filter(user::Column::Phone.eq(phone.as_str())).one(db).await?,
        None => None,
    }
    .filter(|u| matches!(u.status, user::UserStatus::Active | user::UserStatus::Unclaimed));
    let code = match &account {
        Some(account) => {
            let hash = state.keys()?.keyed_hash(&format!("code:{}", account.id), body.code.trim());
            one_time_code::Entity::find()
                .filter(one_time_code::Column::UserId.eq(account.id))
                .filter(one_time_code::Column::CodeHash.eq(hash))
                .filter(one_time_code::Column::UsedAt.is_null())
                .filter(one_time_code::Column::ExpiresAt.gt(now))
                .one(db)
                .await?
        }
        None => None,
    };
    let (Some(account), Some(code)) = (account, code) else {
        state.metrics.sign_in_failed(SignInFailure::Code);
        tracing::info!("code redemption refused: wrong phone or code");
        return Err(ApiError::InvalidCode);
    };
    let hash = state.hasher.hash(password.expose().to_owned()).await?;
    let tx = begin_write(db).await?;
    let spent = one_time_code::Entity::update_many()
        .col_expr(one_time_code::Column::UsedAt, Expr::value(now))
        .filter(one_time_code::Column::Id.eq(code.id))
        .filter(one_time_code::Column::UsedAt.is_null())
        .exec(&tx)
        .await?
        .rows_affected;
    if spent == 0 {
        return Err(ApiError::InvalidCode);
    }
    // Whatever other codes the account had die with this one: a leftover claim code must
    // not reset the password later.
    one_time_code::Entity::update_many()
        .col_expr(one_time_code::Column::UsedAt, Expr::value(now))
        .filter(one_time_code::Column::UserId.eq(account.id))
        .filter(one_time_code::Column::UsedAt.is_null())
        .exec(&tx)
        .await?;
    let updated = user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(hash))
        .col_expr(user::Column::Status, Expr::value(user::UserStatus::Active))
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::Id.eq(account.id))
        .filter(user::Column::Status.is_in([user::UserStatus::Active, user::UserStatus::Unclaimed]))
        .exec_with_returning(&tx)
        .await?;
    let Some(account) = updated.into_iter().next() else {
        return Err(ApiError::InvalidCode);
    };
    session::revoke(&tx, Sessions::AllOf(account.id), "password_reset", now).await?;
    attempt.succeeded(&tx, reservation).await?;
    let tokens = session::start(&tx, &state, account.id, now).await?;
    tx.commit().await?;
    tracing::info!(user_id = %account.id, "one-time code redeemed");
    Ok(Json(SignedIn { tokens, user: UserView::from(account) }))
}
