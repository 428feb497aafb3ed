//! Offers of an order to providers: rows of their own, so that declines in a broadcast
//! guard their own row and never collide on the order.

use sea_orm::entity::prelude::*;

use super::enums::{OfferStatus, ProviderKind};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "offers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub order_id: Uuid,
    pub provider_kind: ProviderKind,
    pub provider_id: Uuid,
    /// For a partner: the contract the job would be charged to.
    pub contract_id: Option<Uuid>,
    pub status: OfferStatus,
    pub accept_by: DateTimeUtc,
    pub reason: Option<String>,
    pub dispatched_by: Uuid,
    pub created_at: DateTimeUtc,
    pub closed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
