//! Indexes for the worker's scans: open offers by deadline, completed orders by completion.

use sea_orm_migration::prelude::*;

use crate::helpers::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_index(index("ix_offer_status_accept_by", "offers", &["status", "accept_by"])).await?;
        manager.create_index(index("ix_order_status_completed", "orders", &["status", "completed_at"])).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("ix_order_status_completed").table("orders").to_owned()).await?;
        manager.drop_index(Index::drop().name("ix_offer_status_accept_by").table("offers").to_owned()).await
    }
}
