//! Accounts. `phone` is null once an account is erased; `password_hash` is null until an
//! account made on a resident's behalf is claimed.

use sea_orm::entity::prelude::*;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    EnumIter,
    DeriveActiveEnum,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[sea_orm(rs_type = "String", db_type = "Text")]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    /// Signs in and acts.
    #[sea_orm(string_value = "active")]
    Active,
    /// Made by a dispatcher for a resident; waits for its claim code.
    #[sea_orm(string_value = "unclaimed")]
    Unclaimed,
    /// Switched off by an admin: no sign-in, sessions ended.
    #[sea_orm(string_value = "deactivated")]
    Deactivated,
    /// Closed by its owner: personal data erased.
    #[sea_orm(string_value = "erased")]
    Erased,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub phone: Option<String>,
    pub display_name: String,
    pub password_hash: Option<String>,
    pub roles: String,
    pub status: UserStatus,
    pub community_id: Option<Uuid>,
    pub home_community_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
