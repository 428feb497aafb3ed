//! The append-only event log of orders. `seq` is global and commits in order (see
//! `orders::store::events`), so a feed cursor never skips an event that commits late. Ids,
//! actions, states and reasons only: never a phone, a name or an address.

use sea_orm::entity::prelude::*;

use super::enums::{ActionDb, ActorRoleDb, OrderStatusDb};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub seq: i64,
    pub order_id: Uuid,
    pub action: ActionDb,
    pub actor_id: Option<Uuid>,
    pub actor_role: ActorRoleDb,
    pub from_status: Option<OrderStatusDb>,
    pub to_status: OrderStatusDb,
    pub reason: Option<String>,
    /// The provider an offer event concerns.
    pub provider_id: Option<Uuid>,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
