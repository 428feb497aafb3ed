//! `/me`: the caller's own account.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use shenbian_domain::Password;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::Principal;
use crate::auth::session::{self, Sessions};
use crate::auth::throttle::{Attempt, ClientAddr};
use crate::db::begin_write;
use crate::entity::enums::{MemberRole, ProviderStatusDb};
use crate::entity::{partner, partner_member, user, volunteer};
use crate::error::{ApiError, problem_response, t};
use crate::extract::JsonBody;
use crate::state::AppState;
use crate::views::UserView;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .route("/me", axum::routing::delete(closure_moved))
        .routes(routes!(change_password))
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

/// The caller's account and everything a client needs to know what to show her: her roles,
/// the partners she is a member or admin of, and her volunteer standing.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    #[serde(flatten)]
    pub user: UserView,
    /// The partners the caller belongs to, with her role in each.
    pub partners: Vec<MembershipView>,
    /// The caller's volunteer applications, one per community, with their status.
    pub volunteers: Vec<VolunteerStanding>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipView {
    pub partner_id: Uuid,
    pub partner_name: String,
    pub partner_status: ProviderStatusDb,
    pub role: MemberRole,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VolunteerStanding {
    pub volunteer_id: Uuid,
    pub community_id: Uuid,
    pub status: ProviderStatusDb,
}

/// The signed-in account, phone unmasked (it is the caller's own), with her memberships.
#[utoipa::path(get, path = "/me", tag = "me", security(("bearer" = [])),
    responses((status = 200, description = "the caller's account, roles and memberships", body = MeView)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn me(State(state): State<AppState>, principal: Principal) -> Result<Json<MeView>, ApiError> {
    let db = state.db()?;
    let found = user::Entity::find_by_id(principal.user_id).one(db).await?.ok_or(ApiError::Unauthorized)?;
    let memberships =
        partner_member::Entity::find().filter(partner_member::Column::UserId.eq(principal.user_id)).all(db).await?;
    let ids: Vec<Uuid> = memberships.iter().map(|m| m.partner_id).collect();
    let partners = partner::Entity::find().filter(partner::Column::Id.is_in(ids)).all(db).await?;
    let partners = memberships
        .iter()
        .filter_map(|m| {
            let p = partners.iter().find(|p| p.id == m.partner_id)?;
            Some(MembershipView {
                partner_id: p.id,
                partner_name: p.name.clone(),
                partner_status: p.status,
                role: m.role,
            })
        })
        .collect();
    let volunteers = volunteer::Entity::find()
        .filter(volunteer::Column::UserId.eq(principal.user_id))
        .all(db)
        .await?
        .into_iter()
        .map(|v| VolunteerStanding { volunteer_id: v.id, community_id: v.community_id, status: v.status })
        .collect();
    Ok(Json(MeView { user: found.into(), partners, volunteers }))
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
    let attempt = Attempt::of_account(&state, &account, &addr)?;
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
