//! The append-only ledger of volunteer hours: a `service` entry when an order is
//! confirmed, a `correction` (with a reason, by a dispatcher) instead of any edit.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "volunteer_hours")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub volunteer_id: Uuid,
    pub order_id: Option<Uuid>,
    /// Whole minutes; a correction may be negative.
    pub minutes: i32,
    /// `service` or `correction`.
    pub kind: String,
    pub reason: Option<String>,
    pub created_by: Option<Uuid>,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
