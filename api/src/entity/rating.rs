//! Ratings of finished jobs, one per order (`uq_rating_order`). Stars never change; a
//! dispatcher may hide an abusive comment.

use sea_orm::entity::prelude::*;

use super::enums::ProviderKind;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "ratings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub order_id: Uuid,
    pub provider_kind: ProviderKind,
    pub provider_id: Uuid,
    pub stars: i32,
    pub timeliness: Option<i32>,
    pub attitude: Option<i32>,
    pub quality: Option<i32>,
    pub comment: Option<String>,
    pub comment_hidden: bool,
    /// `app` (the resident) or `phone` (recorded by a dispatcher after a call).
    pub source: String,
    pub rated_by: Uuid,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
