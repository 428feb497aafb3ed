//! Order numbers that people can read out: the community's code, the local date and the
//! order's place in that community's day (`XFL-20261205-0042`). One counter row per community
//! and day, bumped in the statement that inserts the order.

use sea_orm_migration::{prelude::*, schema::*};

use crate::helpers::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("order_numbers")
                    .col(uuid("community_id"))
                    // The local date, `YYYYMMDD`.
                    .col(text("day"))
                    .col(integer("last"))
                    .primary_key(&mut pair_key("community_id", "day"))
                    .to_owned(),
            )
            .await?;
        // Orders placed before numbers existed keep none.
        manager.alter_table(Table::alter().table("orders").add_column(text_null("number")).to_owned()).await?;
        manager
            .create_index(Index::create().name("uq_order_number").table("orders").col("number").unique().to_owned())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("uq_order_number").table("orders").to_owned()).await?;
        manager.alter_table(Table::alter().table("orders").drop_column("number").to_owned()).await?;
        manager.drop_table(Table::drop().table("order_numbers").to_owned()).await
    }
}
