//! `/users`: staff accounts, made and managed by admins. Every action here is audited.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use shenbian_domain::{DisplayName, Password, Phone, Role, RoleSet};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::audit::{self, Entry};
use crate::auth::Admin;
use crate::auth::session::{self, Sessions};
use crate::crypto::keys::new_one_time_code;
use crate::db::begin_write;
use crate::entity::one_time_code::{self, CodePurpose};
use crate::entity::{community, user};
use crate::error::{ApiError, t, violates_unique};
use crate::extract::{Fields, JsonBody, Path, Query};
use crate::pagination::{PageParams, Paginated};
use crate::state::AppState;
use crate::views::{RoleName, UserView};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_user, list_users))
        .routes(routes!(deactivate_user))
        .routes(routes!(reset_code))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    #[schema(example = "13900001111")]
    phone: String,
    /// The initial password, 8–128 characters.
    #[schema(min_length = 8, max_length = 128)]
    password: String,
    #[schema(min_length = 1, max_length = 50)]
    display_name: String,
    /// A set of roles: `resident`, `dispatcher`, `admin`.
    #[schema(min_items = 1)]
    roles: Vec<RoleName>,
    /// Required for a dispatcher: the community they work for.
    community_id: Option<Uuid>,
}

/// A checked new staff account.
pub struct NewStaff {
    pub phone: Phone,
    pub password: Password,
    pub name: DisplayName,
    pub roles: RoleSet,
    pub community_id: Option<Uuid>,
}

/// Creates a staff account with its initial password; used by the API and by
/// `shenbian admin create`.
pub async fn create_staff(
    state: &AppState,
    db: &sea_orm::DatabaseConnection,
    actor: Option<Uuid>,
    staff: NewStaff,
) -> Result<user::Model, ApiError> {
    if let Some(community_id) = staff.community_id
        && community::Entity::find_by_id(community_id).one(db).await?.is_none()
    {
        return Err(ApiError::validation("community_id", t("没有这个社区", "no such community")));
    }
    let hash = state.hasher.hash(staff.password.expose().to_owned()).await?;
    let now = state.now();
    let tx = begin_write(db).await?;
    let created = user::Entity::insert(user::ActiveModel {
        id: Set(Uuid::now_v7()),
        phone: Set(Some(staff.phone.as_str().to_owned())),
        display_name: Set(staff.name.as_str().to_owned()),
        password_hash: Set(Some(hash)),
        roles: Set(staff.roles.to_stored()),
        status: Set(user::UserStatus::Active),
        community_id: Set(staff.community_id),
        home_community_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_with_returning(&tx)
    .await
    .map_err(|e| {
        if violates_unique(&e, "uq_user_phone", "users.phone") {
            ApiError::conflict("phone_taken", t("该手机号已有账号", "an account with this phone exists"))
        } else {
            e.into()
        }
    })?;
    let entry =
        Entry { actor, action: "user.create", object_type: "user", object_id: created.id.to_string(), reason: None };
    audit::record(&tx, entry, now).await?;
    tx.commit().await?;
    Ok(created)
}

/// Create a staff account (admins).
#[utoipa::path(post, path = "/users", tag = "users", security(("bearer" = [])), request_body = CreateUserRequest,
    responses((status = 201, description = "account created", body = UserView)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn create_user(
    State(state): State<AppState>,
    Admin(admin): Admin,
    JsonBody(body): JsonBody<CreateUserRequest>,
) -> Result<(StatusCode, Json<UserView>), ApiError> {
    let mut fields = Fields::default();
    let phone = fields.check("phone", Phone::parse(&body.phone));
    let password = fields.check("password", Password::parse(&body.password));
    let name = fields.check("display_name", DisplayName::parse(&body.display_name));
    let roles =
        fields.check("roles", RoleSet::for_staff(body.roles.into_iter().map(Role::from), body.community_id.is_some()));
    let (Some(phone), Some(password), Some(name), Some(roles)) = (phone, password, name, roles) else {
        return Err(fields.into_error());
    };
    let staff = NewStaff { phone, password, name, roles, community_id: body.community_id };
    let created = create_staff(&state, state.db()?, Some(admin.user_id), staff).await?;
    tracing::info!(created = %created.id, "staff account created");
    Ok((StatusCode::CREATED, Json(created.into())))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UserFilter {
    /// Only accounts holding this role.
    role: Option<RoleName>,
    /// Only accounts in this status.
    status: Option<user::UserStatus>,
    /// Items per page, 1–100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// List accounts, oldest first (admins). Reading phones is audited.
#[utoipa::path(get, path = "/users", tag = "users", security(("bearer" = [])), params(UserFilter),
    responses((status = 200, description = "a page of accounts", body = Paginated<UserView>)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn list_users(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Query(filter): Query<UserFilter>,
) -> Result<Json<Paginated<UserView>>, ApiError> {
    let page = PageParams { limit: filter.limit, cursor: filter.cursor }.page()?;
    let db = state.db()?;
    let mut query = user::Entity::find().order_by_asc(user::Column::Id).limit(page.limit + 1);
    if let Some(after) = page.after {
        query = query.filter(user::Column::Id.gt(after));
    }
    if let Some(role) = filter.role {
        query = query.filter(user::Column::Roles.contains(Role::from(role).as_str()));
    }
    if let Some(status) = filter.status {
        query = query.filter(user::Column::Status.eq(status));
    }
    let rows = query.all(db).await?;
    let shown = audit::ids(rows.iter().take(page.limit as usize).map(|u| u.id));
    audit::record_read(db, admin.user_id, "user.list", "user", "*", shown, state.now()).await?;
    Ok(Json(Paginated::from_rows(rows, page, |u| u.id, UserView::from)))
}

/// Deactivate an account (admins): it can no longer sign in, and its sessions end at once.
#[utoipa::path(post, path = "/users/{id}/deactivate", tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "account id")),
    responses((status = 200, description = "deactivated", body = UserView)))]
#[tracing::instrument(skip_all, fields(user_id, target = %id))]
async fn deactivate_user(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<Uuid>,
) -> Result<Json<UserView>, ApiError> {
    if id == admin.user_id {
        return Err(ApiError::conflict(
            "cannot_deactivate_self",
            t("管理员不能停用自己的账号", "an admin cannot deactivate their own account"),
        ));
    }
    let db = state.db()?;
    let now = state.now();
    let tx = begin_write(db).await?;
    let updated = user::Entity::update_many()
        .col_expr(user::Column::Status, Expr::value(user::UserStatus::Deactivated))
        .col_expr(user::Column::UpdatedAt, Expr::value(now))
        .filter(user::Column::Id.eq(id))
        .filter(user::Column::Status.is_in([user::UserStatus::Active, user::UserStatus::Unclaimed]))
        .exec_with_returning(&tx)
        .await?;
    let Some(account) = updated.into_iter().next() else {
        return Err(refusal_for(&tx, id).await);
    };
    session::revoke(&tx, Sessions::AllOf(id), "deactivated", now).await?;
    let entry = Entry {
        actor: Some(admin.user_id),
        action: "user.deactivate",
        object_type: "user",
        object_id: id.to_string(),
        reason: None,
    };
    audit::record(&tx, entry, now).await?;
    tx.commit().await?;
    Ok(Json(account.into()))
}

/// 404 when the account does not exist, else 409: its state does not allow the action.
async fn refusal_for(db: &impl ConnectionTrait, id: Uuid) -> ApiError {
    match user::Entity::find_by_id(id).one(db).await {
        Ok(Some(_)) => ApiError::InvalidTransition(t("该账号已停用或已删除", "the account is deactivated or erased")),
        Ok(None) => ApiError::NotFound,
        Err(e) => e.into(),
    }
}

/// A one-time code, shown once.
#[derive(Serialize, ToSchema)]
pub struct OneTimeCode {
    /// Eight digits, redeemed at `POST /auth/claim`.
    pub code: String,
    pub expires_at: DateTime<Utc>,
}

/// Issue a reset code for an account (admins). Earlier unused codes stop working.
#[utoipa::path(post, path = "/users/{id}/reset-code", tag = "users", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "account id")),
    responses((status = 201, description = "the code, shown once", body = OneTimeCode)))]
#[tracing::instrument(skip_all, fields(user_id, target = %id))]
async fn reset_code(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<Uuid>,
) -> Result<(StatusCode, Json<OneTimeCode>), ApiError> {
    let db = state.db()?;
    let now = state.now();
    let tx = begin_write(db).await?;
    let target = user::Entity::find_by_id(id).one(&tx).await?.ok_or(ApiError::NotFound)?;
    if !matches!(target.status, user::UserStatus::Active | user::UserStatus::Unclaimed) {
        return Err(ApiError::InvalidTransition(t("该账号已停用或已删除", "the account is deactivated or erased")));
    }
    let code = issue_code(&tx, &state, id, CodePurpose::Reset, Some(admin.user_id), now).await?;
    let entry = Entry {
        actor: Some(admin.user_id),
        action: "user.reset_code",
        object_type: "user",
        object_id: id.to_string(),
        reason: None,
    };
    audit::record(&tx, entry, now).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(code)))
}

/// Issues a one-time code for an account. An admin's reset code retires the account's
/// earlier unused codes; a claim code leaves them valid, because a code already given to a
/// resident must go on working until one of them is redeemed.
pub async fn issue_code(
    db: &impl ConnectionTrait,
    state: &AppState,
    user_id: Uuid,
    purpose: CodePurpose,
    created_by: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<OneTimeCode, ApiError> {
    if purpose == CodePurpose::Reset {
        one_time_code::Entity::update_many()
            .col_expr(one_time_code::Column::UsedAt, Expr::value(now))
            .filter(one_time_code::Column::UserId.eq(user_id))
            .filter(one_time_code::Column::UsedAt.is_null())
            .exec(db)
            .await?;
    }
    let code = new_one_time_code();
    let expires_at = now + Duration::hours(state.settings.one_time_code_ttl_hours as i64);
    one_time_code::Entity::insert(one_time_code::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        purpose: Set(purpose),
        code_hash: Set(state.keys()?.keyed_hash(&format!("code:{user_id}"), &code)),
        created_by: Set(created_by),
        created_at: Set(now),
        expires_at: Set(expires_at),
        used_at: Set(None),
    })
    .exec(db)
    .await?;
    Ok(OneTimeCode { code, expires_at })
}
