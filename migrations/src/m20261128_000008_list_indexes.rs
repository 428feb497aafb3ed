//! An index for a provider's branch of the order list: the provider's orders newest first,
//! walked by keyset (`provider_id = ? AND id < ? ORDER BY id DESC`) instead of sorted.

use sea_orm_migration::prelude::*;

use crate::helpers::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_index(index("ix_order_provider_id", "orders", &["provider_id", "id"])).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("ix_order_provider_id").table("orders").to_owned()).await
    }
}
