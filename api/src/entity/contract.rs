//! Contracts (契约). `open_jobs` counts the accepted and in-progress jobs charged to the
//! contract; it changes only by guarded updates.

use sea_orm::entity::prelude::*;

use super::enums::{ContractStatusDb, PricingDb};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "contracts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub partner_id: Uuid,
    pub title: String,
    pub valid_from: Date,
    pub valid_to: Date,
    pub pricing: PricingDb,
    pub discount_percent: Option<i32>,
    pub monthly_quota: Option<i32>,
    pub max_open_jobs: i32,
    pub accept_within_minutes: Option<i32>,
    pub status: ContractStatusDb,
    pub status_reason: Option<String>,
    pub open_jobs: i32,
    pub signed_at: Option<DateTimeUtc>,
    pub signed_by: Option<Uuid>,
    pub created_by: Uuid,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
