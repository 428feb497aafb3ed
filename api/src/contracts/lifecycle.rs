//! A contract's life: the partner admin signs it; staff activate, suspend and terminate it.
//! Two active contracts of one partner may not overlap in community, category and dates.

use axum::Json;
use axum::extract::State;
use chrono::NaiveDate;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use shenbian_domain::contract::{ContractAction, ContractStatus};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::coverage::{Covered, with_coverage};
use super::standing::visible;
use super::view::ContractView;
use crate::access::ReasonBody;
use crate::audit::{self, Entry};
use crate::auth::Principal;
use crate::db::begin_write;
use crate::entity::enums::ContractStatusDb;
use crate::entity::{contract, partner};
use crate::error::{ApiError, t};
use crate::extract::{JsonBody, Path};
use crate::state::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(sign))
        .routes(routes!(activate))
        .routes(routes!(suspend))
        .routes(routes!(terminate))
}

/// Moves a contract with a compare-and-set on status and version, in one transaction with
/// its audit entry and, for suspensions and terminations, the closing of its open offers.
/// The `reason`'s check is answered only to a caller who may see the contract.
async fn transition(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    action: ContractAction,
    reason: Option<Result<String, ApiError>>,
) -> Result<Json<ContractView>, ApiError> {
    let now = state.now();
    let today = state.today();
    let tx = begin_write(state.db()?).await?;
    let (covered, standing) = visible(&tx, principal, id).await?;
    let reason = reason.transpose()?;
    let allowed = match action {
        ContractAction::Sign => standing.partner_admin,
        _ => standing.may_change,
    };
    if !allowed {
        return Err(ApiError::Forbidden);
    }
    let next = covered.status_today(today).apply(action).map_err(|e| ApiError::InvalidTransition(e.message))?;
    if next == ContractStatus::Active {
        // Serialise activations of one partner's contracts (a row lock on PostgreSQL; SQLite's
        // write lock is already held), then refuse an overlap with another active contract.
        partner::Entity::update_many()
            .col_expr(partner::Column::Version, Expr::col(partner::Column::Version).add(1))
            .filter(partner::Column::Id.eq(covered.contract.partner_id))
            .exec(&tx)
            .await?;
        if let Some(other) = overlapping_active(&tx, &covered, today).await? {
            return Err(ApiError::conflict(
                "overlapping_contract",
                (
                    format!("该合作方的生效合同 {other} 已覆盖相同的社区、服务类别和日期"),
                    format!("active contract {other} of this partner covers the same community, category and dates"),
                ),
            ));
        }
    }
    if matches!(action, ContractAction::Suspend | ContractAction::Terminate) {
        crate::orders::withdrawals::close_for_contract(&tx, id, "contract_suspended", now).await?;
    }
    let c = &covered.contract;
    let mut update = contract::Entity::update_many()
        .col_expr(contract::Column::Status, Expr::value(ContractStatusDb::from(next)))
        .col_expr(contract::Column::Version, Expr::value(c.version + 1))
        .col_expr(contract::Column::UpdatedAt, Expr::value(now));
    if reason.is_some() {
        update = update.col_expr(contract::Column::StatusReason, Expr::value(reason.clone()));
    }
    if action == ContractAction::Sign {
        update = update
            .col_expr(contract::Column::SignedAt, Expr::value(now))
            .col_expr(contract::Column::SignedBy, Expr::value(principal.user_id));
    }
    let updated = update
        .filter(contract::Column::Id.eq(id))
        .filter(contract::Column::Status.eq(c.status))
        .filter(contract::Column::Version.eq(c.version))
        .exec_with_returning(&tx)
        .await?;
    let Some(updated) = updated.into_iter().next() else {
        return Err(ApiError::conflict(
            "conflict",
            t("合同刚被他人修改；请刷新后重试", "the contract changed meanwhile; reload and retry"),
        ));
    };
    let verb = format!("contract.{}", action.as_str());
    let mut entry = Entry::new(principal.user_id, &verb, "contract", id);
    entry.reason = reason;
    audit::record(&tx, entry, now).await?;
    tx.commit().await?;
    let covered = Covered { contract: updated, ..covered };
    Ok(Json(covered.view(today)))
}

/// Another active, unexpired contract of the same partner sharing a community, a category
/// and some days with this one.
async fn overlapping_active(
    db: &impl ConnectionTrait,
    this: &Covered,
    today: NaiveDate,
) -> Result<Option<Uuid>, ApiError> {
    let others = contract::Entity::find()
        .filter(contract::Column::PartnerId.eq(this.contract.partner_id))
        .filter(contract::Column::Status.eq(ContractStatusDb::Active))
        .filter(contract::Column::Id.ne(this.contract.id))
        .all(db)
        .await?;
    let period = this.period();
    for other in with_coverage(db, others).await? {
        let shares = other.communities.iter().any(|c| this.communities.contains(c))
            && other.categories.iter().any(|c| this.categories.contains(c));
        if shares && other.period().overlaps(&period) && other.status_today(today) == ContractStatus::Active {
            return Ok(Some(other.contract.id));
        }
    }
    Ok(None)
}

/// Sign a draft contract (the partner's admin).
#[utoipa::path(post, path = "/contracts/{id}/sign", operation_id = "sign_contract", tag = "contracts", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = ContractView)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn sign(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
) -> Result<Json<ContractView>, ApiError> {
    transition(&state, &principal, id, ContractAction::Sign, None).await
}

/// Put a signed (or suspended) contract in force (admins; a dispatcher when it covers her
/// community only).
#[utoipa::path(post, path = "/contracts/{id}/activate", operation_id = "activate_contract", tag = "contracts", security(("bearer" = [])),
    params(("id" = Uuid, Path)), responses((status = 200, body = ContractView)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn activate(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
) -> Result<Json<ContractView>, ApiError> {
    transition(&state, &principal, id, ContractAction::Activate, None).await
}

/// Suspend an active contract, with a reason: its open offers close; accepted jobs carry on
/// (admins; a dispatcher when it covers her community only).
#[utoipa::path(post, path = "/contracts/{id}/suspend", operation_id = "suspend_contract", tag = "contracts", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = ReasonBody, responses((status = 200, body = ContractView)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn suspend(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
    JsonBody(body): JsonBody<ReasonBody>,
) -> Result<Json<ContractView>, ApiError> {
    transition(&state, &principal, id, ContractAction::Suspend, Some(body.checked())).await
}

/// End a contract for good, with a reason (admins; a dispatcher when it covers her community
/// only).
#[utoipa::path(post, path = "/contracts/{id}/terminate", operation_id = "terminate_contract", tag = "contracts", security(("bearer" = [])),
    params(("id" = Uuid, Path)), request_body = ReasonBody, responses((status = 200, body = ContractView)))]
#[tracing::instrument(skip_all, fields(user_id))]
async fn terminate(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<Uuid>,
    JsonBody(body): JsonBody<ReasonBody>,
) -> Result<Json<ContractView>, ApiError> {
    transition(&state, &principal, id, ContractAction::Terminate, Some(body.checked())).await
}
