//! Orders (工单). The contact phone and the exact address are personal data, shown only to
//! those who need them (see `orders::view`). `version` guards every state change.

use sea_orm::entity::prelude::*;

use super::enums::{Channel, OrderStatusDb, ProviderKind, UrgencyDb};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub community_id: Uuid,
    pub category_code: String,
    pub resident_id: Uuid,
    pub title: String,
    pub description: String,
    pub compound_id: Uuid,
    pub building_id: Option<Uuid>,
    pub unit: String,
    pub room: String,
    pub address_detail: String,
    pub contact_phone: String,
    pub urgency: UrgencyDb,
    pub channel: Channel,
    pub preferred_start: Option<DateTimeUtc>,
    pub preferred_end: Option<DateTimeUtc>,
    pub status: OrderStatusDb,
    pub version: i32,
    pub provider_kind: Option<ProviderKind>,
    pub provider_id: Option<Uuid>,
    pub contract_id: Option<Uuid>,
    pub dispatch_by: DateTimeUtc,
    pub accept_by: Option<DateTimeUtc>,
    pub complete_by: Option<DateTimeUtc>,
    pub accepted_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    /// When the job started; cleared when the order goes back to pending.
    pub started_at: Option<DateTimeUtc>,
    pub summary: Option<String>,
    pub minutes: Option<i32>,
    pub escalation_level: i32,
    pub created_by: Uuid,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// When the order was first offered to anyone.
    pub first_dispatched_at: Option<DateTimeUtc>,
    /// The number people read out (`XFL-20261205-0042`): the community's code, the local
    /// date, the order's place in that community's day. None for orders placed before
    /// numbers existed.
    pub number: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
