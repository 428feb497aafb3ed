//! `/me`: the caller's own account.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
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
use crate::error::{ApiError, problem_response, t};
use crate::extract::JsonBody;
use crate::state::AppState;
use crate::views::UserView;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .route("/me", axum::routing::delete(closure_moved))
        .routes(routes!(change_password))
        .routes(routes!(crate::privacy::close))
}

/// `DELETE /me` is no way to close an account (a body on `DELETE` is dropped by some
/// clients and proxies): 405, pointing at `POST /me/close`. Not in the API document.
async fn closure_moved() -> Response {
    let error = ApiError::MethodNotAllowed(crate::error::t(
        "注销账号请用 POST /me/close，并在请求体中提供密码",
        "close the account with POST /me/close and the password in the body",
    ));
    let mut response = problem_response(&error.problem());
    response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET"));
    response
}

/// The attempts of a signed-in caller count under the same account key as sign-in (the
/// phone), so that guesses through a stolen token and through sign-in share one limit.
pub(crate) fn own_attempt(state: &AppState, account: &user::Model, addr: &ClientAddr) -> Result<Attempt, ApiError> {
    let id = account.id.to_string();
    Attempt::new(state, account.phone.as_deref().unwrap_or(&id), addr)
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

/// Change the password. Needs the current one (attempts throttled like sign-in); ends every
/// other session of the account.
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
    // Checked first: a right current password with an unusable new one is no failure.
    let password = Password::parse(&body.new_password).map_err(|e| ApiError::validation("new_password", e))?;
    let account = user::Entity::find_by_id(principal.user_id).one(db).await?.ok_or(ApiError::Unauthorized)?;
    let attempt = own_attempt(&state, &account, &addr)?;
    let reservation = attempt.reserve(db, &state.settings, state.now()).await?;
    reservation.wait().await;
    if !state.hasher.verify(body.current_password, account.password_hash.clone()).await? {
        return Err(ApiError::validation("current_password", t("不正确", "is incorrect")));
    }
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
    attempt.succeeded(&tx, reservation).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
