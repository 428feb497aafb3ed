//! `/me`: the caller's own account.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Duration;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;
use shenbian_domain::Password;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Principal;
use crate::auth::session::{self, Sessions};
use crate::auth::throttle::{Attempt, ClientAddr};
use crate::db::begin_write;
use crate::entity::user;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::state::AppState;
use crate::views::UserView;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(me, crate::privacy::erase)).routes(routes!(change_password))
}

/// The signed-in account, phone unmasked (it is the caller's own).
#[utoipa::path(get, path = "/me", tag = "me", security(("bearer" = [])),
    responses((status = 200, description = "the caller's account", body = UserView)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn me(State(state): State<AppState>, principal: Principal) -> Result<Json<UserView>, ApiError> {
    let found = user::Entity::find_by_id(principal.user_id).one(state.db()?).await?;
    found.map(|u| Json(u.into())).ok_or(ApiError::Unauthorized)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    current_password: String,
    #[schema(min_length = 8, max_length = 128)]
    new_password: String,
}

/// Change the password. Needs the current one; ends every other session of the account.
#[utoipa::path(post, path = "/me/password", tag = "me", security(("bearer" = [])), request_body = ChangePasswordRequest,
    responses((status = 204, description = "password changed; other sessions ended")))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn change_password(
    State(state): State<AppState>,
    principal: Principal,
    addr: ClientAddr,
    JsonBody(body): JsonBody<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    let db = state.db()?;
    let attempt = Attempt::new(&state, &principal.user_id.to_string(), &addr)?;
    let window = Duration::seconds(state.settings.login_failure_window_secs as i64);
    attempt.check(db, state.now(), window).await?;
    let account = user::Entity::find_by_id(principal.user_id).one(db).await?.ok_or(ApiError::Unauthorized)?;
    if !state.hasher.verify(body.current_password, account.password_hash.clone()).await? {
        let tx = begin_write(db).await?;
        attempt.record_failure(&tx, state.now(), window).await?;
        tx.commit().await?;
        return Err(ApiError::validation("current_password", "is incorrect"));
    }
    let password = Password::parse(&body.new_password).map_err(|e| ApiError::validation("new_password", e))?;
    let hash = state.hasher.hash(password.expose().to_owned()).await?;
    let now = state.now();
    let tx = begin_write(db).await?;
    user::Entity::update_many()
        .col_expr(user::Column::PasswordHash, Expr::value(hash))
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::Id.eq(principal.user_id))
        .exec(&tx)
        .await?;
    session::revoke(&tx, Sessions::AllOfExcept(principal.user_id, principal.session_id), "password_changed", now)
        .await?;
    attempt.clear_account(&tx).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
