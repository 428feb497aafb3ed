//! Volunteers: residents approved to take jobs in their community, with an open-job limit.

use sea_orm::entity::prelude::*;

use super::enums::ProviderStatusDb;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "volunteers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub community_id: Uuid,
    pub bio: String,
    pub status: ProviderStatusDb,
    pub status_reason: Option<String>,
    pub max_open_jobs: i32,
    pub open_jobs: i32,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
