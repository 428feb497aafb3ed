//! Partner organisations (红色合伙人). The contact's name and phone are personal data.

use sea_orm::entity::prelude::*;

use super::enums::{PartnerKindDb, ProviderStatusDb};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "partners")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub name: String,
    pub kind: PartnerKindDb,
    pub credit_code: String,
    pub contact_name: String,
    pub contact_phone: String,
    pub description: String,
    pub status: ProviderStatusDb,
    pub status_reason: Option<String>,
    pub created_by: Uuid,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
