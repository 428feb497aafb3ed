//! What the community's figures need from orders without reading the event log: when an
//! order was first dispatched, and an index to find a community's orders by creation time.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("orders")
                    .add_column(timestamp_with_time_zone_null("first_dispatched_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_order_community_created")
                    .table("orders")
                    .col("community_id")
                    .col("created_at")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_order_provider_created")
                    .table("orders")
                    .col("provider_id")
                    .col("created_at")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("ix_order_provider_created").table("orders").to_owned()).await?;
        manager.drop_index(Index::drop().name("ix_order_community_created").table("orders").to_owned()).await?;
        manager.alter_table(Table::alter().table("orders").drop_column("first_dispatched_at").to_owned()).await
    }
}
