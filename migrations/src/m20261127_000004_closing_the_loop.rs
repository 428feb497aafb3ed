//! Ratings (one per order, by a named unique constraint) and the append-only ledger of
//! volunteer hours.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("ratings")
                    .col(pk_uuid("id"))
                    .col(uuid("order_id"))
                    .col(text("provider_kind"))
                    .col(uuid("provider_id"))
                    .col(integer("stars"))
                    .col(integer_null("timeliness"))
                    .col(integer_null("attitude"))
                    .col(integer_null("quality"))
                    .col(text_null("comment"))
                    .col(boolean("comment_hidden"))
                    .col(text("source"))
                    .col(uuid("rated_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .index(Index::create().name("uq_rating_order").col("order_id").unique())
                    .foreign_key(
                        ForeignKey::create().name("fk_rating_order").from("ratings", "order_id").to("orders", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("ix_rating_provider").table("ratings").col("provider_id").col("id").to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("volunteer_hours")
                    .col(pk_uuid("id"))
                    .col(uuid("volunteer_id"))
                    .col(uuid_null("order_id"))
                    .col(integer("minutes"))
                    .col(text("kind"))
                    .col(text_null("reason"))
                    .col(uuid_null("created_by"))
                    .col(timestamp_with_time_zone("at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_hours_volunteer")
                            .from("volunteer_hours", "volunteer_id")
                            .to("volunteers", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_hours_volunteer")
                    .table("volunteer_hours")
                    .col("volunteer_id")
                    .col("id")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("volunteer_hours").to_owned()).await?;
        manager.drop_table(Table::drop().table("ratings").to_owned()).await
    }
}
