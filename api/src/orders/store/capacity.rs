//! Provider capacity and contract quotas, changed only by guarded updates: a provider's open
//! jobs are taken at accept (`... WHERE open_jobs < max_open_jobs`) and given back at
//! complete, cancel, release and reassign; a contract's accepts are counted per calendar
//! month (`... WHERE accepted < quota`).

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, UpdateStatement};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryTrait};
use uuid::Uuid;

use super::{StoreError, Stored};
use crate::entity::enums::ProviderKind;
use crate::entity::{contract, contract_usage, order, volunteer};

/// Takes one unit of the provider's capacity and, for a partner, one accept of the
/// contract's monthly quota. Refuses with 409 when either is used up.
pub async fn take(
    db: &impl ConnectionTrait,
    kind: ProviderKind,
    provider_id: Uuid,
    contract_id: Option<Uuid>,
    month: &str,
) -> Stored<()> {
    let full = || StoreError::CapacityFull;
    match kind {
        ProviderKind::Volunteer => {
            let taken = volunteer::Entity::update_many()
                .col_expr(volunteer::Column::OpenJobs, Expr::col(volunteer::Column::OpenJobs).add(1))
                .filter(volunteer::Column::Id.eq(provider_id))
                .filter(Expr::col(volunteer::Column::OpenJobs).lt(Expr::col(volunteer::Column::MaxOpenJobs)))
                .exec(db)
                .await?
                .rows_affected;
            if taken == 0 {
                return Err(full());
            }
        }
        ProviderKind::Partner => {
            let contract_id =
                contract_id.ok_or_else(|| sea_orm::DbErr::Custom("a partner's job without a contract".into()))?;
            // The guarded update answers the contract's quota, and the month's count is one
            // upsert guarded by it: two statements for capacity and quota together.
            let Some(taken) = contract::Entity::update_many()
                .col_expr(contract::Column::OpenJobs, Expr::col(contract::Column::OpenJobs).add(1))
                .filter(contract::Column::Id.eq(contract_id))
                .filter(Expr::col(contract::Column::OpenJobs).lt(Expr::col(contract::Column::MaxOpenJobs)))
                .exec_with_returning(db)
                .await?
                .pop()
            else {
                return Err(full());
            };
            let exhausted = || StoreError::QuotaExhausted;
            if taken.monthly_quota.is_some_and(|q| q < 1) {
                return Err(exhausted());
            }
            let mut on_conflict =
                OnConflict::columns([contract_usage::Column::ContractId, contract_usage::Column::Month]);
            on_conflict.value(
                contract_usage::Column::Accepted,
                Expr::col((contract_usage::Entity, contract_usage::Column::Accepted)).add(1),
            );
            if let Some(quota) = taken.monthly_quota {
                on_conflict
                    .action_and_where(Expr::col((contract_usage::Entity, contract_usage::Column::Accepted)).lt(quota));
            }
            let counted = contract_usage::Entity::insert(contract_usage::ActiveModel {
                contract_id: Set(contract_id),
                month: Set(month.to_owned()),
                accepted: Set(1),
            })
            .on_conflict(on_conflict)
            .exec_without_returning(db)
            .await?;
            if counted == 0 {
                return Err(exhausted());
            }
        }
    }
    Ok(())
}

/// Gives back the unit of capacity an accepted or in-progress order holds.
pub async fn give_back(db: &impl ConnectionTrait, o: &order::Model) -> Stored<()> {
    if let Some(update) = give_back_statement(o) {
        db.execute(&update).await?;
    }
    Ok(())
}

/// [`give_back`]'s `UPDATE`; none for an order that holds no capacity.
pub fn give_back_statement(o: &order::Model) -> Option<UpdateStatement> {
    match (o.provider_kind, o.provider_id, o.contract_id) {
        (Some(ProviderKind::Volunteer), Some(id), _) => Some(
            volunteer::Entity::update_many()
                .col_expr(volunteer::Column::OpenJobs, Expr::col(volunteer::Column::OpenJobs).sub(1))
                .filter(volunteer::Column::Id.eq(id))
                .filter(volunteer::Column::OpenJobs.gt(0))
                .into_query(),
        ),
        (Some(ProviderKind::Partner), _, Some(contract_id)) => Some(
            contract::Entity::update_many()
                .col_expr(contract::Column::OpenJobs, Expr::col(contract::Column::OpenJobs).sub(1))
                .filter(contract::Column::Id.eq(contract_id))
                .filter(contract::Column::OpenJobs.gt(0))
                .into_query(),
        ),
        _ => None,
    }
}
